"""Number and text formatting shared by every memo part."""

from __future__ import annotations

import math

# ---- formatting -----------------------------------------------------------------------------


def fmt_effect(value: float | None, binary: bool) -> str:
    """Effects on a binary outcome in percent points (N01's ``{:.1%}``); others in plain units."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1%}" if binary else f"{value:.2f}"


def effect_phrase(value: float | None, binary: bool) -> str:
    unit = " points" if binary else ""
    return f"{fmt_effect(value, binary)}{unit}"


def _label(column: str | None) -> str:
    return (column or "the treatment").replace("_", " ")
