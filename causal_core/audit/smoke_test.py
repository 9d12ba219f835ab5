"""N09 §9 regression smoke test (HC3; normal equations above 200k rows; plus a cluster-robust SE by unit when units repeat)."""

from __future__ import annotations

import warnings as pywarnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from causal_core.audit.balance import DesignSource, design_columns
from causal_core.audit.helpers import Roles
from causal_core.project import Timing

# ---------------------------------------------------------------------------------------------
# §9 regression smoke test
# ---------------------------------------------------------------------------------------------
# Above this many rows the smoke test uses the normal-equations path (same estimator, same HC3
# formula, ~6x faster); tests check it against statsmodels to 1e-8, including the rank-deficient case.
FAST_OLS_ROWS = 200_000


@dataclass
class OlsFit:
    """The few numbers the smoke test reports for one coefficient of an OLS fit with HC3 errors."""

    coef: float
    se: float
    p_value: float
    r_squared: float
    rank_deficient: bool


def ols_hc3_statsmodels(y: np.ndarray, x: np.ndarray, column: int) -> OlsFit:
    """statsmodels OLS (pinv, as N09's formula fit) with HC3 robust standard errors."""
    import statsmodels.api as sm

    with pywarnings.catch_warnings():  # rank deficiency is reported in ``note`` instead
        pywarnings.simplefilter("ignore")
        fitted = sm.OLS(y, x).fit(cov_type="HC3")
    return OlsFit(
        coef=float(fitted.params[column]),
        se=float(fitted.bse[column]),
        p_value=float(fitted.pvalues[column]),
        r_squared=float(fitted.rsquared),
        rank_deficient=bool(fitted.model.rank < x.shape[1]),
    )


def ols_hc3_fast(y: np.ndarray, x: np.ndarray, column: int) -> OlsFit:
    """The same estimator through X'X: pinv(X'X)X'y is the minimum-norm least-squares solution that
    statsmodels' pinv fit returns, and HC3 is pinv(X'X) X' diag(e²/(1-h)²) X pinv(X'X) with leverage h."""
    from scipy.stats import norm

    # Scaling the covariates (not the intercept or the reported column) improves conditioning without
    # changing fitted values, leverage, or the reported coefficient — nor the min-norm split between
    # an intercept and a constant treatment.
    scale = np.ones(x.shape[1])
    others = [j for j in range(x.shape[1]) if j not in (0, column)]
    spread = x[:, others].std(axis=0)
    scale[others] = np.where(spread > 0, spread, 1.0)
    x = x / scale
    xtx = x.T @ x
    eigenvalues = np.linalg.eigvalsh(xtx)
    inverse = np.linalg.pinv(xtx, rcond=1e-15, hermitian=True)
    beta = inverse @ (x.T @ y)
    residual = y - x @ beta
    leverage = np.einsum("ij,jk,ik->i", x, inverse, x)
    weight = (residual / (1 - leverage)) ** 2
    covariance = inverse @ ((x.T * weight) @ x) @ inverse
    se = float(np.sqrt(covariance[column, column]))
    coef = float(beta[column])
    centred = y - y.mean()
    return OlsFit(
        coef=coef,
        se=se,
        p_value=float(2 * norm.sf(abs(coef / se))) if se > 0 else float("nan"),
        r_squared=float(1 - residual @ residual / (centred @ centred)),
        rank_deficient=bool(eigenvalues.min() <= eigenvalues.max() * 1e-12),
    )


def ols_cluster(y: np.ndarray, x: np.ndarray, column: int, groups: np.ndarray) -> OlsFit:
    """statsmodels OLS with cluster-robust (CR1) SEs: rows of one unit are not independent, HC3 would be too narrow."""
    import statsmodels.api as sm

    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        fitted = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups})
    return OlsFit(
        coef=float(fitted.params[column]),
        se=float(fitted.bse[column]),
        p_value=float(fitted.pvalues[column]),
        r_squared=float(fitted.rsquared),
        rank_deficient=bool(fitted.model.rank < x.shape[1]),
    )


def repeated_units(source: DesignSource, roles: Roles, rows: np.ndarray) -> np.ndarray | None:
    """Integer unit codes of the rows when the dictionary's unit columns repeat there (panel data), else None."""
    columns = [c for c in roles.unit_columns if c in source.frame.columns]
    if not columns:
        return None
    units = source.frame.loc[rows, columns].astype(str).agg("\x1f".join, axis=1)
    codes = pd.factorize(units)[0]
    return codes if 1 < codes.max() + 1 < codes.size else None


def _ols_row(
    label: str,
    source: DesignSource,
    rows: np.ndarray,
    roles: Roles,
    treatment: np.ndarray,
    numeric: list[str],
    categorical: list[str],
) -> dict:
    covariates = [*numeric, *categorical]
    count = int(np.count_nonzero(rows))
    base = {"model": label, "covariates": ", ".join(covariates) if covariates else "none", "rows_used": count}
    arm = treatment[rows]
    if count <= len(covariates) + 2:
        return {**base, "note": "too few complete rows to fit"}
    covariate_matrix = source.matrix(rows, numeric, categorical)
    # the intercept is always added, as a formula does, even if the treatment is constant here
    x = np.column_stack([np.ones(count), arm, covariate_matrix])
    y = source.numeric(roles.outcome)[rows]
    fit = (ols_hc3_fast if count > FAST_OLS_ROWS else ols_hc3_statsmodels)(y, x, 1)
    units = repeated_units(source, roles, rows)
    cluster_se, se_note = None, ""
    if units is not None:
        cluster_se = ols_cluster(y, x, 1, units).se
        se_note = (f"{units.max() + 1:,} units of {', '.join(roles.unit_columns)} repeat over {count:,} rows: HC3 "
                   f"(N09's SE) assumes independent rows; the cluster-robust SE by unit is {cluster_se:.4g}")
    note = ""
    if np.unique(arm).size < 2:
        which = "treated" if arm[0] == 1 else "untreated"
        note = (
            f"the treatment is constant in this sample (all rows {which}): its coefficient is not identified and "
            "only splits the intercept — an artefact of the bad adjustment, not an effect"
        )
    elif fit.rank_deficient:
        note = "the design is rank-deficient (collinear covariates): coefficients are not unique"
    note = "; ".join(part for part in (note, se_note) if part)
    return {
        **base,
        "treatment_coef": fit.coef,
        "robust_se": fit.se,
        "unit_cluster_se": cluster_se,
        "p_value": fit.p_value,
        "ci_low": fit.coef - 1.96 * fit.se,
        "ci_high": fit.coef + 1.96 * fit.se,
        "r_squared": fit.r_squared,
        "note": note,
    }


def _nothing_to_misuse_note(roles: Roles) -> str:
    """Why the bad model was not fitted, true to the dictionary: which post-treatment/future columns exist and why none is used."""
    later = [c for c in roles.columns if roles.timing.get(c) in {Timing.post_treatment, Timing.future}]
    if not later:
        return "no post-treatment or future columns in the dictionary: nothing to misuse"
    truth = [c for c in later if c in roles.simulation_truth]
    kept = [c for c in later if c not in truth]
    reasons = []
    if truth:
        reasons.append(f"{len(truth)} simulation-truth column(s), never covariates ({', '.join(truth)})")
    if kept:
        reasons.append(f"{len(kept)} treatment/outcome/guardrail column(s) ({', '.join(kept)})")
    return (f"the dictionary has {len(later)} post-treatment/future column(s), all excluded here: "
            f"{'; '.join(reasons)}. No column is left to misuse.")


def regression_smoke_test(source: DesignSource, roles: Roles, coded: pd.Series, max_levels: int) -> pd.DataFrame:
    """N09 §9: naive, pre-treatment adjustment and a deliberately bad (post-treatment + future) model.

    The analysis sample is complete cases on the outcome and the pre-treatment candidates, as in N09;
    the bad model additionally drops rows missing its post-treatment/future columns.
    """
    frame = source.frame
    pre_numeric, pre_categorical, _ = design_columns(frame, roles.pre_treatment(), max_levels, roles.categorical)
    bad_extra = [
        c
        for c in roles.columns
        if roles.timing.get(c) in {Timing.post_treatment, Timing.future}
        and c not in roles.simulation_truth
        and c not in (roles.treatment, roles.outcome)
        and c not in roles.guardrails
    ]
    bad_numeric, bad_categorical, _ = design_columns(frame, bad_extra, max_levels, roles.categorical)
    treatment = coded.to_numpy(dtype=float)
    sample = ~np.isnan(treatment) & source.complete([roles.outcome, *pre_numeric, *pre_categorical])
    rows = [
        _ols_row("naive", source, sample, roles, treatment, [], []),
        _ols_row("pre-treatment adjustment", source, sample, roles, treatment, pre_numeric, pre_categorical),
    ]
    bad_label = "bad post-treatment/leaky adjustment"
    if bad_numeric or bad_categorical:
        bad_sample = sample & source.complete([*bad_numeric, *bad_categorical])
        rows.append(
            _ols_row(
                bad_label,
                source,
                bad_sample,
                roles,
                treatment,
                [*pre_numeric, *bad_numeric],
                [*pre_categorical, *bad_categorical],
            )
        )
    else:
        rows.append(
            {
                "model": bad_label,
                "covariates": "none",
                "rows_used": 0,
                "note": _nothing_to_misuse_note(roles),
            }
        )
    columns = [
        "model",
        "rows_used",
        "treatment_coef",
        "robust_se",
        "unit_cluster_se",
        "p_value",
        "ci_low",
        "ci_high",
        "r_squared",
        "covariates",
        "note",
    ]
    return pd.DataFrame(rows).reindex(columns=columns)
