"""Shared constants and the error type of the estimation stage."""

from __future__ import annotations

from collections.abc import Callable

from scipy.stats import norm

from causal_core import limits
from causal_core.errors import WorkbenchInputError
from causal_core.methods import labels as method_labels

Z95 = float(norm.ppf(0.975))
MIN_ARM_ROWS = 10
ProgressFn = Callable[[float, str], None]
StopFn = Callable[[], bool]
METHOD_LABELS = method_labels()
"""The page's row names, read from the one method registry (causal_core.methods) so the stages cannot drift."""


class EstimationError(WorkbenchInputError):
    """A specification or dataset that cannot be estimated; the message says what to change."""


# Bounds on the work one request may ask for (issue 21): a shared class server must refuse, in well under a
# second and with the limit named, anything that would pin a core for minutes. The page widgets use the same
# numbers as their maximum values, so the page, the CLI, project files and the multiverse agree.
MAX_FORMULA_CHARS = 2_000
"""Longest formula text accepted (a 100 kB formula is refused before it is parsed)."""
MAX_FORMULA_DEPTH = 20
"""Deepest nesting of calls, parentheses and operators in one formula."""
MAX_SPLINE_DF = 20
"""Largest spline df (bs/cr/cs/cc) and most explicit knots: bs(x, df=2000) ran for minutes on 713 MB."""
MAX_POLY_DEGREE = 6
"""Highest degree of poly(x, degree=...) and of bs(..., degree=...)."""
MAX_WILKINSON_POWER = 3
"""Largest n in (a + b + c)**n, the all-interactions-up-to-order-n operator."""
MAX_ARITHMETIC_EXPONENT = 10
"""Largest |exponent| inside I(...) (x**2 is common; 2**10**10 would never finish)."""
MAX_DESIGN_COLUMNS = 500
"""Most model-matrix columns one formula may expand to, estimated from levels × interactions before building it."""
MAX_BOOTSTRAP = limits.MAX_BOOTSTRAP
"""Most bootstrap replicates on every path (page, CLI, project files, front door); the value lives in limits."""
