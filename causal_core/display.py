"""Number formats shared by every page, table and export, so a p-value reads the same everywhere."""

from __future__ import annotations

import math


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
