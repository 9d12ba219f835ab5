"""Shared constants and the error type of the estimation stage."""

from __future__ import annotations

from collections.abc import Callable

from scipy.stats import norm

Z95 = float(norm.ppf(0.975))
MIN_ARM_ROWS = 10
ProgressFn = Callable[[float, str], None]
StopFn = Callable[[], bool]
METHOD_LABELS = {
    "naive": "Naive difference",
    "regression": "Regression adjustment (OLS)",
    "gcomp": "G-computation (interactions)",
    "ipw": "IPW (Hájek)",
    "aipw": "Doubly robust (AIPW)",
}


class EstimationError(ValueError):
    """A specification or dataset that cannot be estimated; the message says what to change."""
