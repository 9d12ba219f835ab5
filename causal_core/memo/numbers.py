"""Numbers: every number in a memo must be a project figure."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from causal_core.memo.markup import strip_code_spans
from causal_core.memo.sections import ESTIMATE_SECTIONS
from causal_core.multiverse import memo_text as robustness
from causal_core.project import (
    Project,
)

# ---- numbers: every number in a memo must be a project figure --------------------------------

NUMBER_RE = re.compile(r"(?<![\w.])([-−+]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(\s?%)?")
POINTS_RE = re.compile(r"\s*(?:percentage[- ]points?|percent\b|pp\b)", re.IGNORECASE)
# Bare "points": percentage points for a risk difference, the outcome's own unit for a score (either scale).
BARE_POINTS_RE = re.compile(r"\s*points?\b", re.IGNORECASE)
# An interval written in brackets after its point ("-4.7 pp, 95 % CI [-6.8, -2.6]") shares the point's unit.
BRACKET_RE = re.compile(r"\s*,\s*")
CI_LEVELS = (90.0, 95.0, 99.0)
GENERIC_NUMBERS = [0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0]  # CI levels, SMD/overlap thresholds
SMALL_COUNT_LIMIT = 20


@dataclass(frozen=True)
class TextNumber:
    text: str
    value: float  # signed
    decimals: int
    percent: bool
    either_scale: bool = False  # "4.7 points": percentage points or the outcome's own points

    def matches(self, figure: float) -> bool:
        """Equal to the figure within the text's rounding; a percentage (or 'points') is the figure × 100.

        Sign is ignored here ("reduced by 4.7 points" quotes −0.047); the direction check owns the sign.
        """
        tolerance = 0.5 * 10 ** (-self.decimals) + 1e-9
        scales = (1.0, 100.0) if self.either_scale else ((100.0,) if self.percent else (1.0,))
        return any(abs(abs(self.value) - abs(figure) * scale) <= tolerance for scale in scales)


RANGE_JOIN_RE = re.compile(r"\s*(?:to|–|—|and)\s*", re.IGNORECASE)


def numbers_in(text: str) -> list[TextNumber]:
    """The numbers a text claims. Names in code spans are not claims (`wt82_71` holds no 71), and in a
    range written with its unit once ("-6.8 to -2.6 percentage points") both ends carry the unit."""
    prose = strip_code_spans(text or "")
    matches = list(NUMBER_RE.finditer(prose))
    percents = [bool(m.group(4)) or bool(POINTS_RE.match(prose, m.end())) for m in matches]
    bare = [not percents[i] and bool(BARE_POINTS_RE.match(prose, m.end())) for i, m in enumerate(matches)]
    for index in range(len(matches) - 2, -1, -1):
        joined = RANGE_JOIN_RE.fullmatch(prose, matches[index].end(), matches[index + 1].start())
        if joined and percents[index + 1] and not percents[index]:
            percents[index] = True
        if joined and bare[index + 1] and not percents[index]:
            bare[index] = True
    _bracket_units(prose, matches, percents)
    found = []
    for match, percent, points in zip(matches, percents, bare, strict=True):
        sign, whole, decimals, _ = match.groups()
        value = float(whole.replace(",", "") + (f".{decimals}" if decimals else ""))
        if sign in ("-", "−"):
            value = -value
        found.append(TextNumber(match.group(0).strip(), value, len(decimals or ""), percent, points))
    return found


def _bracket_units(prose: str, matches: list[re.Match[str]], percents: list[bool]) -> None:
    """'[A, B]' with no unit of its own takes the unit of the last point estimate before it (not the CI level)."""
    for index in range(len(matches) - 1):
        first, second = matches[index], matches[index + 1]
        if percents[index] or percents[index + 1]:
            continue
        opened = prose[: first.start()].rstrip().endswith("[")
        if not (opened and BRACKET_RE.fullmatch(prose, first.end(), second.start())):
            continue
        for previous in range(index - 1, -1, -1):
            level = matches[previous].group(4) and float(matches[previous].group(2)) in CI_LEVELS
            if not level:
                percents[index] = percents[index + 1] = percents[previous]
                break


# Fields of EstimationDiagnostics a memo may quote (model coefficients are not memo figures); a test checks
# each is a declared field, since model_dump(include=...) would skip a misspelt one silently.
CITED_DIAGNOSTICS = {
    "n_treated",
    "n_control",
    "n_clusters",
    "control_mean",
    "treated_mean",
    "outcome_sd",
    "arm_means",
    "overlap",
    "weights",
    "trimming",
    "missing_handling",
}
# The data audit's tables whose figures a memo may cite (by their names in audit.run).
AUDIT_FIGURE_TABLES = ("balance", "overlap_summary", "schema_profile")
# Plot data and timings are not figures a memo cites; leaving them out keeps invented numbers detectable.
SKIPPED_FIGURE_KEYS = {"histogram", "timings_s", "propensity_density", "missing_pattern", "design_columns"}


def _numeric_leaves(value: Any, out: list[float], cap: int = 4000) -> None:
    if len(out) >= cap:
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if not (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
            out.append(float(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            if str(key) not in SKIPPED_FIGURE_KEYS:
                _numeric_leaves(item, out, cap)
    elif isinstance(value, list | tuple):
        for item in value[:200]:
            _numeric_leaves(item, out, cap)
    elif isinstance(value, str):
        out.extend(_figure_of(number) for number in numbers_in(value))


def project_texts(project: Project) -> list[str]:
    """The analyst-approved texts whose numbers a memo may quote (card, brief, questions, checklist)."""
    texts = [project.brief]
    if project.estimand_card:
        texts.append(json.dumps(project.estimand_card.model_dump()))
    texts += [q.text + " " + q.answer for q in project.open_questions]
    texts += [f"{i.check} {i.evidence} {i.notes}" for i in project.checklist]
    texts += [entry.description for entry in project.dictionary]
    return texts


@dataclass
class Figures:
    """Figures a memo may cite. ``shares`` may also be quoted as percentages (effects, risks, shares,
    sensitivity values); ``plain`` only as written (counts, SMDs, means, E-values…). Keeping SMDs and
    quantiles out of the percent pool is what makes an invented "−6.1 %" detectable."""

    plain: list[float] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    estimates: list[float] = field(default_factory=list)  # the only figures the main-estimate section may cite

    def add(self, values: Iterable[float], share: bool = False) -> None:
        values = list(values)
        self.plain += values
        if share:
            self.shares += values

    def cites(self, number: TextNumber, section: str | None = None) -> bool:
        pool = self.estimates if section in ESTIMATE_SECTIONS else self.shares if number.percent else self.plain
        return any(number.matches(figure) for figure in pool)


def _share_leaves(value: Any, out: list[float], share: bool = False) -> None:
    """Numeric leaves under keys that name a share/proportion (``share_clipped``, ``ess_share``…)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key) not in SKIPPED_FIGURE_KEYS:
                _share_leaves(item, out, share or "share" in str(key) or str(key).endswith("_mean"))
    elif isinstance(value, list | tuple):
        for item in value[:200]:
            _share_leaves(item, out, share)
    elif share and isinstance(value, int | float) and not isinstance(value, bool):
        out.append(float(value))


def project_figures(project: Project) -> Figures:
    """All figures a memo may cite: estimates, diagnostics, sensitivity, refutations, balance, texts."""
    figures = Figures()
    figures.add(GENERIC_NUMBERS, share=True)
    figures.estimates += GENERIC_NUMBERS
    result = project.estimation
    if result:
        for row in result.estimates:
            values = [v for v in (row.estimate, row.std_error, row.ci_low, row.ci_high) if v is not None]
            figures.add(values, share=True)
            figures.add([row.n_used])
            figures.estimates += [*values, row.n_used]
        figures.add([result.n_used, *result.dropped.values()])
        figures.estimates.append(result.n_used)
        if result.true_effect is not None:
            figures.add([result.true_effect], share=True)
            figures.estimates.append(result.true_effect)
        refutations = [item.model_dump() for item in result.refutations]
        for part in (result.sensitivity.model_dump(), refutations, list(result.spec.clip)):
            leaves: list[float] = []
            _numeric_leaves(part, leaves)
            figures.add(leaves, share=True)
        cited = (result.diagnostics.model_dump(mode="json", include=CITED_DIAGNOSTICS, exclude_none=True)
                 if result.diagnostics else {})
        cited["balance"] = [row.model_dump() for row in result.balance]
        leaves = []
        _numeric_leaves(cited, leaves)
        figures.add(leaves)
        warned: list[float] = []
        _numeric_leaves(result.warnings, warned)  # the memo repeats the analysis's warnings, percentages included
        figures.add(warned, share=True)
        shares: list[float] = []
        _share_leaves(cited, shares)
        figures.add(shares, share=True)
    if project.data_audit:
        for name, records in project.data_audit.tables.items():
            if name in AUDIT_FIGURE_TABLES:
                leaves = []
                _numeric_leaves(records, leaves)
                figures.add(leaves)
                shares = []
                _share_leaves(records, shares)
                figures.add(shares, share=True)
        leaves = []
        _numeric_leaves(project.data_audit.warnings, leaves)
        figures.add(leaves)
    if project.data_source:
        figures.add([project.data_source.rows, len(project.data_source.columns)])
    for text in project_texts(project):
        for number in numbers_in(text):
            figures.add([_figure_of(number)], share=number.percent)
    counts, curve_values = robustness.figures(project.multiverse)  # the specification curve's own figures
    figures.add(counts)
    figures.add(curve_values, share=True)
    figures.estimates += counts + curve_values
    return figures


def _figure_of(number: TextNumber) -> float:
    """A number written in project text, on the figure scale (a percentage becomes a proportion)."""
    return number.value / 100.0 if number.percent else number.value


def unmatched_numbers(text: str, figures: Figures, section: str | None = None) -> list[str]:
    """Numbers in ``text`` that match no project figure within rounding (small bare counts allowed).

    In the main-estimate and interpretation sections only the estimates themselves (and n) count as figures.
    """
    bad = []
    for number in numbers_in(text):
        small_count = number.decimals == 0 and not number.percent and abs(number.value) <= SMALL_COUNT_LIMIT
        if small_count or figures.cites(number, section):
            continue
        bad.append(number.text)
    return bad
