"""Covariate terms written as Wilkinson formulas (formulaic): squares, interactions, splines, categorical levels.

Why formulaic and no parser of our own: the analyst writes what a statistics class writes
(``age + I(age**2) + C(education) + cr(wt71, df=4)``), formulaic evaluates it, and its stateful transforms
(spline knots, category levels) are fitted once on the analysis rows. This module only turns the result into
the dense float arrays the estimators use, and refuses, with the term named, what would silently mislead:
an unknown column, a column outside the adjustment set (that would bypass the eligibility checks), and a
singular design (which terms are collinear).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from causal_core.estimation import formula_gate
from causal_core.estimation.constants import EstimationError

FLEXIBILITY = {
    "linear": "{x}",
    "quadratic": "{x} + I({x} ** 2)",
    "spline": "cr({x}, df=4, constraints='center')",
    "levels": "C({x})",
}
"""The page's no-typing choices per numeric covariate. 'spline' is formulaic's natural cubic regression spline
(linear beyond the boundary knots, so no wild tails) with 4 degrees of freedom (knots at quantiles), centred so
that its basis is not collinear with the intercept. 'levels' treats a numeric code (education 1-5) as categories."""

_ANSI = re.compile(r"\x1b\[[0-9;]*m|[⧛⧚]")


def quote(name: str) -> str:
    """A column name as a formula token (backticks unless a plain ASCII identifier: the gate refuses bare
    non-ASCII names, which Python would NFKC-fold into other names)."""
    return name if formula_gate.is_plain_identifier(name) else f"`{name}`"


def default_terms(covariates: list[str], categorical: list[str]) -> str:
    """Every covariate linearly, categoricals by level: the formula form of the default design."""
    return " + ".join(f"C({quote(c)})" if c in categorical else quote(c) for c in covariates)


def flexibility_terms(covariates: list[str], categorical: list[str], flexibility: dict[str, str]) -> str | None:
    """The outcome formula from per-covariate choices (linear / quadratic / spline); None when all are linear."""
    unknown = {choice for choice in flexibility.values() if choice not in FLEXIBILITY}
    if unknown:
        raise EstimationError(f"Unknown flexibility {sorted(unknown)}: choose from {', '.join(FLEXIBILITY)}.")
    if all(flexibility.get(c, "linear") == "linear" for c in covariates if c not in categorical):
        return None
    parts = []
    for column in covariates:
        if column in categorical:
            parts.append(f"C({quote(column)})")
        else:
            parts.append(FLEXIBILITY[flexibility.get(column, "linear")].format(x=quote(column)))
    return " + ".join(parts)


def _clean(message: str) -> str:
    return " ".join(_ANSI.sub("", message).split())


def formula_variables(formula: str, label: str) -> list[str]:
    """The data columns a right-hand side uses, read by the formula gate (formulaic never sees refused text).

    Only the data-free part of the gate runs here (language and bounds); ``check_term_columns`` adds the
    adjustment-set membership once the data and covariates are known.
    """
    return sorted(formula_gate.check_formula_syntax(formula, label).variables)


def check_term_columns(
    formula: str, label: str, frame: pd.DataFrame, covariates: list[str], allowed_extra: tuple[str, ...] = ()
) -> list[str]:
    """Every variable of the formula must be a column of the data and a covariate of the adjustment set."""
    variables = formula_variables(formula, label)
    unknown = [v for v in variables if v not in frame.columns]
    if unknown:
        raise EstimationError(
            f"The {label} {formula!r} name unknown column(s): {', '.join(unknown)}. "
            f"The data has: {', '.join(map(str, frame.columns[:25]))}" + (" …" if frame.shape[1] > 25 else "") + "."
        )
    outside = [v for v in variables if v not in covariates and v not in allowed_extra]
    if outside:
        raise EstimationError(
            f"The {label} use column(s) that are not in the adjustment set: {', '.join(outside)}. Add them to the "
            "covariates first (so their eligibility is checked), or remove them from the formula."
        )
    formula_gate.check_design_size(formula_gate.gate_formula(formula, label, variables), frame, label)
    return variables


@dataclass
class TermMatrix:
    """One formula's model matrix without the intercept, numerics standardised for well-conditioned fits."""

    X: np.ndarray
    names: list[str]
    groups: dict[str, list[int]]  # formula term -> its columns
    scales: dict[str, tuple[float, float]] = field(default_factory=dict)  # column -> (mean, sd) removed


def term_matrix(frame: pd.DataFrame, formula: str, label: str, standardise: bool = True) -> TermMatrix:
    """Evaluate ``1 + formula`` on the analysis rows and drop the intercept (reduced-rank category coding).

    The gate runs first (every name a column of ``frame``, the design-size bound), and formulaic evaluates with
    a materializer whose namespace holds only the allowed transforms.
    """
    from formulaic import model_matrix
    from formulaic.errors import FormulaicError

    gated = formula_gate.gate_formula(formula, label, [str(c) for c in frame.columns])
    formula_gate.check_design_size(gated, frame, label)
    try:
        matrix = model_matrix(
            f"1 + {formula}", frame, na_action="ignore", output="pandas",
            materializer=formula_gate.gated_materializer(),
        )
    except (FormulaicError, ValueError, TypeError, KeyError, NameError) as error:
        raise EstimationError(f"The {label} {formula!r} could not be evaluated: {_clean(str(error))}") from error
    names = [str(c) for c in matrix.columns]
    values = matrix.to_numpy(dtype=float)
    keep = [j for j, name in enumerate(names) if name != "Intercept"]
    index = {old: new for new, old in enumerate(keep)}
    groups = {
        str(term): [index[j] for j in cols if j in index]
        for term, cols in matrix.model_spec.term_indices.items()
        if any(j in index for j in cols)
    }
    X = values[:, keep]
    names = [names[j] for j in keep]
    if not np.isfinite(X).all():
        bad = [names[j] for j in np.flatnonzero(~np.isfinite(X).all(axis=0))]
        raise EstimationError(f"The {label} give non-finite values in {', '.join(bad)} (e.g. log of 0 or a missing value).")
    scales: dict[str, tuple[float, float]] = {}
    if standardise:
        for j, name in enumerate(names):
            column = X[:, j]
            if np.isin(column, (0.0, 1.0)).all():
                continue  # dummies stay 0/1 so balance reads as shares
            mean, sd = float(column.mean()), float(column.std())
            sd = sd if sd > 0 else 1.0
            X[:, j] = (column - mean) / sd
            scales[name] = (mean, sd)
    return TermMatrix(X=X, names=names, groups=groups, scales=scales)


def collinear_terms(blocks: list[tuple[str, np.ndarray]], tolerance: float = 1e-9) -> list[tuple[str, list[str]]]:
    """Columns that are exact linear combinations of earlier ones, each with the columns it combines.

    Greedy in column order on the Gram matrix, so the first-named term is kept and the later one reported.
    """
    names = [name for name, _ in blocks]
    M = np.column_stack([values for _, values in blocks])
    gram = M.T @ M
    kept: list[int] = []
    found: list[tuple[str, list[str]]] = []
    for j in range(gram.shape[1]):
        if not kept:
            kept.append(j)
            continue
        sub, cross = gram[np.ix_(kept, kept)], gram[kept, j]
        coef = np.linalg.lstsq(sub, cross, rcond=None)[0]
        residual = gram[j, j] - cross @ coef
        if residual > tolerance * max(gram[j, j], 1e-12) and residual > 1e-10 * M.shape[0]:
            kept.append(j)
            continue
        scale = np.sqrt(np.maximum(np.diag(sub), 1e-300))
        weight = np.abs(coef) * scale
        partners = [names[kept[i]] for i in np.flatnonzero(weight > 1e-6 * max(weight.max(initial=0.0), 1e-300))]
        found.append((names[j], partners))
    return found


def _centred_scaled(values: np.ndarray) -> np.ndarray:
    """Centre and scale one column: the check is then scale-free, and a constant column becomes exactly zero."""
    centred = values - values.mean()
    norm = float(np.sqrt(centred @ centred))
    return centred / norm if norm > 1e-12 * max(1.0, float(np.abs(values).max())) else np.zeros_like(values)


def refuse_singular(label: str, blocks: list[tuple[str, np.ndarray]]) -> None:
    """Raise an EstimationError naming the collinear columns (the analyst wrote the terms, so say which).

    Columns are centred and scaled first (squares of weights in kg would otherwise swamp the tolerance), so
    the intercept is implicit: a constant column shows as constant, and "a linear combination of x" means
    of x plus a constant.
    """
    columns = [(name, _centred_scaled(values)) for name, values in blocks if name != "intercept"]
    zero = [name for name, values in columns if not values.any()]
    collinear = [(name, []) for name in zero]
    collinear += collinear_terms([(name, values) for name, values in columns if name not in zero])
    if not collinear:
        return
    described = "; ".join(
        f"{name} is constant" if not partners else f"{name} is a linear combination of {', '.join(partners)}"
        for name, partners in collinear[:5]
    )
    hint = ""
    if any(name.startswith(("cr(", "cs(", "cc(")) and "center" not in name for name, _ in collinear):
        hint = " formulaic's cr/cs/cc spline bases sum to one like the intercept: add constraints='center'."
    raise EstimationError(
        f"The {label} make the design singular: {described}. Remove or change the redundant term(s).{hint}"
    )
