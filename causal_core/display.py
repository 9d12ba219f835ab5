"""Number formats shared by every page, table and export, so a p-value reads the same everywhere."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def format_p_value(p: float | None) -> str:
    """`< 0.001` below a thousandth, else 3 significant digits; "—" when there is no p-value.

    Never "0" (a p-value is never exactly zero) and never a float's raw digits.
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    value = float(p)
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3g}"


def format_number(value: float | None, digits: int = 3) -> str:
    """A statistic with `digits` significant digits (thousands separated); "—" for missing or non-finite."""
    if value is None or not math.isfinite(float(value)):
        return "—"
    number = float(value)
    if number != 0 and abs(number) >= 10 ** digits:
        return f"{number:,.0f}"
    return f"{number:,.{digits}g}"


# ---- the estimate's unit: one rule for every page, chart, memo, report and notebook -------------------------

BINARY_UNIT_SHORT = "pp"
BINARY_UNIT_LONG = "percentage points"
SCORE_UNIT = "points"
FALLBACK_UNIT = "units"
MAX_UNIT_LENGTH = 24
# "unit: kg", "units = hours", "measured in minutes" (the analyst names it in the dictionary).
_EXPLICIT_UNIT_RE = re.compile(r"\bunits?\s*[:=]\s*([^\s.;,()\[\]][^.;,()\[\]]{0,30}?)\s*(?:[.;,)\]]|$)", re.I)
_MEASURED_IN_RE = re.compile(r"\b(?:measured|expressed|recorded|given)\s+in\s+([A-Za-z$€£%][\w$€£%/ -]{0,30}?)"
                             r"\s*(?:[.;,)\]]|$)", re.I)
# Unit words a description may carry on their own ("Human workload hours during the week"); first match wins.
_UNIT_WORDS = (
    ("hours", "hours"), ("hour", "hours"), ("minutes", "minutes"), ("seconds", "seconds"), ("days", "days"),
    ("weeks", "weeks"), ("months", "months"), ("years", "years"), ("kg", "kg"), ("kilograms", "kg"),
    ("dollars", "dollars"), ("usd", "USD"), ("eur", "EUR"), ("euros", "EUR"), ("points", SCORE_UNIT),
    ("score", SCORE_UNIT), ("rating", SCORE_UNIT),
)


@dataclass(frozen=True)
class EffectUnit:
    """The unit an effect estimate is written in: percentage points for a risk difference (a binary outcome),
    the outcome's own unit otherwise. ``short`` sits after a number in tables and charts ("−4.6 pp"),
    ``long`` in prose ("−4.6 percentage points")."""

    short: str
    long: str
    binary: bool = False


def binary_unit() -> EffectUnit:
    return EffectUnit(BINARY_UNIT_SHORT, BINARY_UNIT_LONG, binary=True)


def _clean_unit(text: str) -> str:
    """A unit as text, never markup: letters, digits, currency, %, '/', spaces; bounded length."""
    kept = re.sub(r"[^\w$€£%/ -]", "", text).strip(" -")
    return kept[:MAX_UNIT_LENGTH].strip()


def outcome_unit(description: str = "", outcome: str = "", binary: bool = False) -> EffectUnit:
    """The unit of an effect on this outcome.

    A binary outcome's effect is a risk difference, so it is in percentage points whatever the dictionary says.
    Otherwise the dictionary's description names it ("unit: kg", "measured in minutes"), or a unit word in the
    description or the outcome's name does ("workload hours", "inspection_score" → points); else "units", so no
    estimate is ever printed as a bare number.
    """
    if binary:
        return binary_unit()
    text = description or ""
    for pattern in (_EXPLICIT_UNIT_RE, _MEASURED_IN_RE):
        match = pattern.search(text)
        if match and _clean_unit(match.group(1)):
            unit = _clean_unit(match.group(1))
            return EffectUnit(unit, unit)
    words = re.findall(r"[a-z]+", f"{text} {outcome.replace('_', ' ')}".lower())
    for word, unit in _UNIT_WORDS:
        if word in words:
            return EffectUnit(unit, unit)
    return EffectUnit(FALLBACK_UNIT, FALLBACK_UNIT)


def dictionary_unit(entries: Iterable[Any], outcome: str | None, binary: bool) -> EffectUnit:
    """The unit for ``outcome`` from the project's dictionary entries (anything with ``variable``/``description``)."""
    description = next((str(e.description) for e in entries if getattr(e, "variable", None) == outcome), "")
    return outcome_unit(description, outcome or "", binary)


def effect_value(value: float, unit: EffectUnit, digits: int = 2, signed: bool = False) -> str:
    """The number alone on the unit's scale: ×100 for percentage points; a true minus sign; no unit."""
    scaled = value * 100 if unit.binary else value
    places = 1 if unit.binary else digits
    text = f"{scaled:+.{places}f}" if signed else f"{scaled:.{places}f}"
    return text.replace("-", "−") if signed else text


def format_effect(value: float | None, unit: EffectUnit, digits: int = 2, signed: bool = True) -> str:
    """An effect with its unit for tables and charts: "+0.08 points", "−4.6 pp"; "—" when missing."""
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{effect_value(float(value), unit, digits, signed)} {unit.short}"


def outcome_is_binary(project: Any, frame: Any = None) -> bool:
    """A 0/1 outcome gets percent-point formatting. Data decide when available; else the estimates.

    It lives here, not in the memo, because every unit (pages, charts, report, memo) is decided by it and the
    estimation charts must not import the memo.
    """
    outcome = project.estimation.spec.outcome if project.estimation else project.outcome
    if frame is not None and outcome in getattr(frame, "columns", []):
        values = set(frame[outcome].dropna().unique().tolist())
        return bool(values) and values <= {0, 1}  # 0.0, 1.0, False and True compare equal
    diagnostics = project.estimation.diagnostics if project.estimation else None
    if diagnostics is not None:
        return diagnostics.binary_outcome
    if project.estimation and project.estimation.estimates:
        bounds = [v for r in project.estimation.estimates for v in (r.estimate, r.ci_low, r.ci_high) if v is not None]
        return all(abs(v) <= 1 for v in bounds)
    return False


def project_unit(project: Any, frame: Any = None) -> EffectUnit:
    """The unit of ``project``'s estimates: its outcome's type (binary → percentage points) and dictionary entry.

    Pages, charts, the report and the memo call this (or ``dictionary_unit`` with the same inputs), so one
    estimate reads "0.08 points" everywhere.
    """
    result = getattr(project, "estimation", None)
    outcome = result.spec.outcome if result else getattr(project, "outcome", None)
    return dictionary_unit(project.dictionary, outcome, outcome_is_binary(project, frame))
