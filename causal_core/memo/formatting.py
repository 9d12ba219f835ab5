"""Number and text formatting shared by every memo part."""

from __future__ import annotations

import math

from causal_core.display import EffectUnit, binary_unit, outcome_unit
from causal_core.memo.markup import name

# ---- formatting -----------------------------------------------------------------------------


def _unit_word(binary: bool, unit: EffectUnit | None, long: bool) -> str:
    """The unit after the number: percentage points for a binary outcome, the dictionary's unit otherwise
    (``display.outcome_unit``: the one rule every page, chart, memo, report and notebook uses)."""
    chosen = binary_unit() if binary else unit or outcome_unit()
    return chosen.long if long else chosen.short


def fmt_effect(value: float | None, binary: bool, unit: EffectUnit | None = None) -> str:
    """A bare effect with its short unit: "-4.7 pp" on a binary outcome, "0.08 points" on a score."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{fmt_points(value, binary)} {_unit_word(binary, unit, long=False)}"


def fmt_points(value: float | None, binary: bool) -> str:
    """The number alone (no unit): the left end of a range whose unit is written once, after the right end."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value * 100:.1f}" if binary else f"{value:.2f}"


def effect_phrase(value: float | None, binary: bool, unit: EffectUnit | None = None) -> str:
    """An effect in prose: "-4.7 percentage points" on a binary outcome (never "% points"), "0.08 points" on a
    score, the dictionary's unit (or "units") on any other outcome: never a bare number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{fmt_points(value, binary)} {_unit_word(binary, unit, long=True)}"


def range_phrase(low: float, high: float, binary: bool, unit: EffectUnit | None = None) -> str:
    """"-6.8 to -2.6 percentage points": the unit once, after the range."""
    return f"{fmt_points(low, binary)} to {effect_phrase(high, binary, unit)}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """"1 variable", "2 variables": fill-ins agree with their count."""
    return f"{count:,} {singular if count == 1 else plural_form or singular + 's'}"


def article(word: str) -> str:
    """"a" or "an" for the word that follows (by its first letter; acronyms read by their letter name)."""
    first = word.strip().lstrip("`")[:1]
    if not first:
        return "a"
    acronym = word.strip().lstrip("`").split(" ")[0].isupper() and len(word.strip().split(" ")[0]) > 1
    vowel_sound = first.lower() in "aeiou" or (acronym and first.upper() in "AEFHILMNORSX")
    return "an" if vowel_sound else "a"


def _label(column: str | None, missing: str = "the treatment") -> str:
    """A column for memo prose: its name in a code span (untouched), or a placeholder when not chosen yet."""
    return name(column) if column else missing
