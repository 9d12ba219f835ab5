"""The estimators: naive, regression, g-computation, IPW, AIPW, with their standard errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

from causal_core.diagnostics_models import CrossfitSummary
from causal_core.estimation.constants import Z95, EstimationError
from causal_core.estimation.crossfit import (
    FoldGroups,
    aggregate_rows,
    central_split,
    check_fold_arms,
    crossfit_entry,
    design_groups,
    stratified_folds,
)
from causal_core.estimation.design import Design
from causal_core.estimation.fitting import (
    LogitFit,
    OLSFit,
    _sym_inverse,
    _with_intercept,
    coefficient_se,
    logit,
    ols,
    weighted_gram,
)
from causal_core.methods import Estimand, parse_estimand
from causal_core.project import (
    EstimateRow,
)


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------
def describe_se(se_type: str) -> str:
    """The SE behind an interval in words, for every row: analytic (which formula) or bootstrap (how many draws)."""
    if not se_type:
        return "none"
    return se_type if se_type.startswith("bootstrap") else f"analytic: {se_type}"


def _row(method: str, estimand: Estimand | str, estimate: float, se: float | None, n: int, se_type: str) -> EstimateRow:
    """One result row; a non-finite estimate is refused here, by name, rather than stored (or failing validation)."""
    if not np.isfinite(estimate):
        raise EstimationError(
            f"The {method} estimate came out as a non-finite number ({estimate}): the outcome or a covariate holds "
            "values too extreme to compute with. Rescale or check them; nothing was stored."
        )
    finite = se is not None and np.isfinite(se) and np.isfinite(estimate - Z95 * se) and np.isfinite(estimate + Z95 * se)
    return EstimateRow(
        se_method=describe_se(se_type),
        method=method,
        estimand=estimand,
        estimate=float(estimate),
        std_error=float(se) if finite else None,
        ci_low=float(estimate - Z95 * se) if finite else None,
        ci_high=float(estimate + Z95 * se) if finite else None,
        n_used=int(n),
        se_type=se_type,
    )


def _if_se(
    influence: np.ndarray, clusters: np.ndarray | None, n_clusters: int, ddof: int = 1
) -> tuple[float, str]:
    """SE of a mean-type estimator from its influence values (ddof = 1, as N01; clustered sums with G/(G−1)).

    ``ddof=0`` gives the plain sandwich (what GEE software reports), for matching a textbook to the digit.
    """
    n = influence.size
    if clusters is not None:
        sums = np.bincount(clusters, weights=influence, minlength=n_clusters)
        return float(
            np.sqrt(n_clusters / (n_clusters - 1) * np.sum(sums**2)) / n
        ), f"cluster-robust IF ({n_clusters} clusters)"
    return float(np.sqrt(np.sum(influence**2) / (n - ddof)) / np.sqrt(n)), "influence function"


def naive_difference(design: Design, estimand: Estimand | str) -> EstimateRow:
    """Difference in means: what the raw comparison says (the same number for every estimand).

    Welch SE for independent rows; with a cluster column the rows of a cluster are not independent (panel
    data: the same team every week), so the SE is the cluster-robust (CR1) SE of the slope of y on [1, t],
    the same convention as the regression row.
    """
    t = design.t.astype(bool)
    y1, y0 = design.y[t], design.y[~t]
    estimate = y1.mean() - y0.mean()
    if design.clusters is not None:
        A = _with_intercept(design.t)
        se, se_type = coefficient_se(A, ols(A, design.y), 1, design.clusters, design.n_clusters)
        return _row("naive", estimand, estimate, se, design.n, se_type)
    se = np.sqrt(y1.var(ddof=1) / y1.size + y0.var(ddof=1) / y0.size)
    return _row("naive", estimand, estimate, se, design.n, "Welch")


CONSTANT_EFFECT = "constant effect"
CONSTANT_EFFECT_LABEL = "Regression coefficient: constant effect (assumes no effect heterogeneity)"


def regression(design: Design, estimand: Estimand | str) -> tuple[EstimateRow, dict[str, Any]]:
    """OLS/LPM of y on [1, t, X] (HC3 / cluster-robust SE).

    The treatment coefficient assumes one effect for everyone, so it is the same number for every estimand:
    under ATE it is N01's "regression adjustment"; under ATT/ATC it is shown as a constant-effect coefficient,
    never with an ATT/ATC label (with heterogeneous effects it estimates neither). With treatment interaction
    terms (``design.Z``) the row is regression standardisation instead (``_standardised_regression``).
    ``info`` always describes the plain coefficient model (the sensemakr bounds are derived for it).
    """
    A = _with_intercept(design.t, design.X)
    fit = ols(A, design.y)
    se, se_type = coefficient_se(A, fit, 1, design.clusters, design.n_clusters)
    sigma2 = float(fit.resid @ fit.resid / fit.dof)
    classical_se = float(np.sqrt(sigma2 * fit.inverse[1, 1]))
    info = {
        "coefficient": float(fit.beta[1]),
        "classical_se": classical_se,
        "robust_se": se,
        "t_stat": float(fit.beta[1] / classical_se),
        "dof": fit.dof,
        "model": "constant-effect coefficient of y on [1, t, X]",
    }
    if design.Z is not None and design.Z.shape[1]:
        return _standardised_regression(design, estimand), info
    row = _row("regression", estimand, fit.beta[1], se, design.n, se_type)
    if parse_estimand(estimand) is not Estimand.ATE:
        row = row.model_copy(update={"estimand": CONSTANT_EFFECT, "label": CONSTANT_EFFECT_LABEL})
    return row, info


def _standardised_regression(design: Design, estimand: Estimand | str) -> EstimateRow:
    """Regression standardisation (What If ch. 13): y ~ t + X + t·Z, effects averaged over the target rows.

    Z is centred on the target rows, so the treatment coefficient *is* the mean predicted effect there
    (ATE: all rows, ATT: treated, ATC: controls). The SE is the full influence function's
    (``_standardisation_se``): the coefficient's sampling error plus the spread of the effect over the target rows.
    """
    target = _target_weights(design.t, estimand).astype(bool)
    centred = design.Z - design.Z[target].mean(axis=0)
    A = _with_intercept(design.t, design.X, design.t[:, None] * centred)
    fit = ols(A, design.y)
    interactions = fit.beta[A.shape[1] - design.Z.shape[1]:]
    se, se_type = _standardisation_se(A, fit, design, estimand, centred, interactions)
    row = _row("regression", estimand, fit.beta[1], se, design.n, se_type)
    label = f"Regression standardisation (interactions {', '.join(design.z_names)})"
    return row.model_copy(update={"label": label})


def _standardisation_se(
    A: np.ndarray, fit: OLSFit, design: Design, estimand: Estimand | str, centred: np.ndarray, interactions: np.ndarray
) -> tuple[float, str]:
    """SE of a standardised effect τ̂ = mean over the target rows of τ̂(x) from its full influence function.

    Why not the coefficient's SE alone: the coefficient is τ̂ only at the *sample* target mean of the
    modifiers, which is itself an estimate. Holding it fixed (the old SE) leaves out the term γ'(x_i − x̄) of
    the population effect, i.e. Var(τ̂(X))/n: with τ(x) = 1 + 2·x1 g-computation covered 0.84 instead of 0.95
    (issue 23). For ATT/ATC the target mean is a ratio Σt·x/Σt, so its influence t_i(x_i − x̄_T)/p̂ carries
    both the target rows' covariate spread and the estimated treated share p̂. The coefficient's part uses the
    HC3 residual (the same small-sample correction as before); clustered designs sum both parts by cluster.
    """
    n = design.n
    row = A @ fit.inverse[:, 1]
    weights = _target_weights(design.t, estimand).astype(float)
    share = weights.mean()
    spread = weights * (centred @ interactions) / share  # γ'(x_i − x̄_T) on target rows, 0 elsewhere
    if design.clusters is not None:
        k = A.shape[1]
        influence = n * row * fit.resid * np.sqrt((n - 1) / (n - k)) + spread
        return _if_se(influence, design.clusters, design.n_clusters)[0], (
            f"cluster-robust IF ({design.n_clusters} clusters; coefficient + effect spread)")
    leverage = np.einsum("ij,ij->i", A @ fit.inverse, A)
    hc3 = fit.resid / (1.0 - np.minimum(leverage, 1 - 1e-12))
    influence = n * row * hc3 + spread
    return float(np.sqrt(np.sum(influence**2)) / n), "HC3 + effect spread (full IF)"


def _target_weights(t: np.ndarray, estimand: Estimand | str) -> np.ndarray:
    """Which rows define the target population: all (ATE), treated (ATT), controls (ATC).

    Each estimand-specific function here matches all three members after ``parse_estimand``, so a stray string
    ("att", "LATE") is refused by name instead of silently falling through to one of the branches.
    """
    match parse_estimand(estimand):
        case Estimand.ATT:
            return t
        case Estimand.ATC:
            return 1 - t
        case Estimand.ATE:
            return np.ones_like(t)


def gcomputation(design: Design, estimand: Estimand | str) -> EstimateRow:
    """Lin's fully interacted regression: y ~ t + Xc + t·Xc with X centred on the target population.

    The treatment coefficient is then the g-computation estimate of the chosen estimand (equal to
    fitting one linear model per arm and averaging the predicted differences over the target rows).
    Its SE is the full influence function's (``_standardisation_se``), so it covers the population effect.
    """
    target = _target_weights(design.t, estimand).astype(bool)
    centred = design.X - design.X[target].mean(axis=0) if design.X.shape[1] else design.X
    A = _with_intercept(design.t, centred, design.t[:, None] * centred)
    gram = weighted_gram(A)
    keep = _independent_columns(gram)
    if len(keep) < A.shape[1]:
        A, gram = A[:, keep], gram[np.ix_(keep, keep)]
    inverse = _sym_inverse(gram)
    beta = inverse @ (A.T @ design.y)
    fit = OLSFit(beta=beta, inverse=inverse, resid=design.y - A @ beta, dof=int(A.shape[0] - A.shape[1]))
    p = design.X.shape[1]
    full = np.zeros(2 + 2 * p)
    full[keep] = beta
    se, se_type = _standardisation_se(A, fit, design, estimand, centred, full[2 + p:])
    return _row("gcomp", estimand, fit.beta[1], se, design.n, se_type)


def _independent_columns(gram: np.ndarray) -> list[int]:
    """Greedy, order-preserving selection of linearly independent columns (interactions with empty cells)."""
    kept: list[int] = []
    for j in range(gram.shape[1]):
        if not kept:
            kept.append(j)
            continue
        sub, cross = gram[np.ix_(kept, kept)], gram[kept, j]
        residual = gram[j, j] - cross @ np.linalg.lstsq(sub, cross, rcond=None)[0]
        if residual > 1e-9 * max(gram[j, j], 1e-12):
            kept.append(j)
    return kept


@dataclass
class Propensity:
    raw: np.ndarray  # fitted e(x)
    clipped: np.ndarray
    inside: np.ndarray  # rows where clipping did not bind (the derivative of e wrt β is nonzero)
    fit: LogitFit
    A: np.ndarray  # [1, X]
    t: np.ndarray  # the treatment the model was fitted to


def propensity(design: Design, clip: tuple[float, float], l2: float = 0.0) -> Propensity:
    """Logistic propensity on the propensity terms; ``clip`` should be ``effective_bounds(spec.clip, estimand)``."""
    A = design.A1_ps
    fit = logit(A, design.t, l2=l2)
    lo, hi = clip
    clipped = np.clip(fit.p, lo, hi)
    inside = (fit.p > lo) & (fit.p < hi)
    return Propensity(raw=fit.p, clipped=clipped, inside=inside, fit=fit, A=A, t=design.t)


def _ipw_weights(t: np.ndarray, e: np.ndarray, estimand: Estimand | str) -> tuple[np.ndarray, np.ndarray]:
    """Arm weights (w1 for treated rows, w0 for controls) that reweight each arm to the target population."""
    match parse_estimand(estimand):
        case Estimand.ATT:
            return t, (1 - t) * e / (1 - e)
        case Estimand.ATC:
            return t * (1 - e) / e, 1 - t
        case Estimand.ATE:
            return t / e, (1 - t) / (1 - e)


def effective_bounds(clip: tuple[float, float], estimand: Estimand | str) -> tuple[float, float]:
    """The propensity bounds that apply to this estimand's weights.

    ATE weights are 1/e and 1/(1−e): both tails explode, so both bounds apply. ATT weights are 1 (treated)
    and e/(1−e) (controls): a small e gives a control a small weight, which is right (such controls resemble no
    treated unit), so a lower bound would only inflate them (NSW + CPS: 95 % of the CPS controls have e < 0.02;
    a 0.02 floor turns the ATT from +1,180 into −23,460). Only the upper bound caps a control weight
    (e ≤ 0.98 ⇒ weight ≤ 49). ATC is the mirror image (only the lower bound: treated weight (1−e)/e ≤ 49).
    """
    lo, hi = clip
    match parse_estimand(estimand):
        case Estimand.ATT:
            return 0.0, hi
        case Estimand.ATC:
            return lo, 1.0
        case Estimand.ATE:
            return lo, hi


def bounds_note(clip: tuple[float, float], estimand: Estimand | str) -> str:
    """One sentence for the page and the CLI: which bounds were applied to the IPW/AIPW weights, and why."""
    estimand = parse_estimand(estimand)
    lo, hi = effective_bounds(clip, estimand)
    if estimand is Estimand.ATT:
        cap = f"control weight e/(1−e) ≤ {hi / (1 - hi):.3g}" if hi < 1 else "so control weights are not capped"
        return (
            f"ATT: propensities capped above at {hi:g} only ({cap}); no lower bound, because a control with a tiny e "
            "should get a tiny weight (treated weights are 1)."
        )
    if estimand is Estimand.ATC:
        cap = f"treated weight (1−e)/e ≤ {(1 - lo) / lo:.3g}" if lo > 0 else "so treated weights are not capped"
        return (
            f"ATC: propensities floored at {lo:g} only ({cap}); no upper bound, because a treated unit with e near 1 "
            "should get a tiny weight (control weights are 1)."
        )
    return f"ATE: propensities clipped to [{lo:g}, {hi:g}] (weights 1/e and 1/(1−e) explode at both ends)."


def _arm_weight_derivatives(t: np.ndarray, e: np.ndarray, estimand: Estimand | str) -> tuple[np.ndarray, np.ndarray]:
    """d w / d η (η = logit e) of the treated and control weights of ``_ipw_weights``.

    A weight of 1 (the target arm's own rows under ATT/ATC) does not depend on e, hence the zero derivative.
    """
    estimand = parse_estimand(estimand)
    zero = np.zeros_like(t)
    d1 = -t * (1 - e) / e if estimand in (Estimand.ATE, Estimand.ATC) else zero
    d0 = (1 - t) * e / (1 - e) if estimand in (Estimand.ATE, Estimand.ATT) else zero
    return d1, d0


def ipw(design: Design, ps: Propensity, estimand: Estimand | str, se_method: str = "influence") -> EstimateRow:
    """Normalised (Hájek) IPW: the weighted mean of y among the treated minus that among the controls.

    Each arm's weights are divided by their own sum, so adding a constant to y moves both weighted means by
    that constant and leaves the effect unchanged (the Horvitz–Thompson form, kept only in
    ``n01_section11_table``, is not location-equivariant). ``ps.clipped`` must already carry the
    estimand's bounds (``effective_bounds``).

    SE (``se_method``): 'influence' stacks the logistic score with the two weighted-mean equations
    (M-estimation), so the step of estimating e is included (usually a little narrower, Lunceford &
    Davidian 2004); 'fixed_weights' is the robust sandwich that treats the weights as known, as What If's
    GEE does (wider when the propensity model is right; no help when it is wrong). Both are cluster-robust
    when the design has clusters.
    """
    if se_method not in ("influence", "fixed_weights"):
        raise ValueError(f"Unknown IPW SE method {se_method!r}: use 'influence' or 'fixed_weights'.")
    estimate, influence = ipw_influence(design, ps, estimand, with_propensity=se_method == "influence")
    if se_method == "influence":
        se, se_type = _if_se(influence, design.clusters, design.n_clusters)
    else:
        se, se_type = _if_se(influence, design.clusters, design.n_clusters, ddof=0)
        se_type = se_type.replace("IF", "sandwich").replace("influence function", "robust sandwich")
        se_type += ", weights treated as known (What If's GEE SE)"
    return _row("ipw", estimand, estimate, se, design.n, se_type)


def ipw_influence(
    design: Design, ps: Propensity, estimand: Estimand | str, with_propensity: bool = True
) -> tuple[float, np.ndarray]:
    """The Hájek IPW estimate and its influence values (with the propensity-estimation term unless told not).

    Kept apart from ``ipw`` so the IPW-versus-AIPW contrast (``interval_checks``) can difference the two
    influence functions row by row: both estimators share most of their noise, so the SE of their difference
    is far smaller than either SE.
    """
    t, y, e = design.t, design.y, ps.clipped
    w1, w0 = _ipw_weights(t, e, estimand)
    mean_w1, mean_w0 = w1.mean(), w0.mean()
    mu1 = float(np.sum(w1 * y) / np.sum(w1))
    mu0 = float(np.sum(w0 * y) / np.sum(w0))
    r1, r0 = y - mu1, y - mu0
    influence = w1 * r1 / mean_w1 - w0 * r0 / mean_w0
    if with_propensity:
        d1, d0 = _arm_weight_derivatives(t, e, estimand)
        inside = ps.inside.astype(float)
        gradient = ps.A.T @ (inside * (d1 * r1 / mean_w1 - d0 * r0 / mean_w0)) / design.n
        influence = influence + _propensity_influence(ps, gradient)
    return mu1 - mu0, influence


def _propensity_influence(ps: Propensity, gradient: np.ndarray) -> np.ndarray:
    """G · IF(β̂)_i with IF(β̂)_i = (A'WA/n)^-1 a_i (t_i − e_i): the first-order effect of estimating the propensity.

    Computed as (A · (H/n)^-1 G) ⊙ (t − e), an O(n·k) product instead of forming the n×k influence matrix.
    """
    direction = _sym_inverse(ps.fit.hessian / ps.A.shape[0]) @ gradient
    return (ps.A @ direction) * (ps.t - ps.raw)


@dataclass
class OutcomeModels:
    m0: np.ndarray
    m1: np.ndarray
    separated: list[str]
    kind: str


def _fit_arm(
    A: np.ndarray, y: np.ndarray, rows: np.ndarray, predict: np.ndarray, binary: bool
) -> tuple[np.ndarray, bool]:
    """One arm's outcome model, predicted on `predict` rows; a constant outcome needs no model."""
    y_arm = y[rows]
    if binary and (y_arm.min() == y_arm.max()):
        return np.full(predict.size, y_arm[0]), True
    if binary:
        fit = logit(A[rows], y_arm)
        return expit(A[predict] @ fit.beta), fit.separated
    fit = ols(A[rows], y_arm)
    return A[predict] @ fit.beta, False


def outcome_models(design: Design, folds: np.ndarray | None = None) -> OutcomeModels:
    """Per-arm outcome models (logistic for 0/1 outcomes, linear otherwise), optionally cross-fitted."""
    A = design.A1
    n = design.n
    m0, m1 = np.empty(n), np.empty(n)
    separated: set[str] = set()
    fold_ids = [None] if folds is None else list(np.unique(folds))
    for fold in fold_ids:
        predict = np.arange(n) if fold is None else np.flatnonzero(folds == fold)
        train = np.ones(n, dtype=bool) if fold is None else folds != fold
        for arm, target in ((0, m0), (1, m1)):
            rows = np.flatnonzero(train & (design.t == arm))
            values, flag = _fit_arm(A, design.y, rows, predict, design.binary_outcome)
            target[predict] = values
            if flag:
                separated.add("treated" if arm else "control")
    kind = "logistic" if design.binary_outcome else "linear"
    return OutcomeModels(m0=m0, m1=m1, separated=sorted(separated), kind=kind)


def aipw_scores(
    design: Design, e: np.ndarray, models: OutcomeModels, estimand: Estimand | str
) -> tuple[float, np.ndarray, dict[str, float]]:
    """AIPW estimate, its influence values and the arm means of the potential outcomes on the target rows."""
    estimand = parse_estimand(estimand)  # the last branch is the ATC's: nothing else may reach it
    t, y, m0, m1 = design.t, design.y, models.m0, models.m1
    if estimand is Estimand.ATE:
        mu1_i = m1 + t * (y - m1) / e
        mu0_i = m0 + (1 - t) * (y - m0) / (1 - e)
        psi = mu1_i - mu0_i
        estimate = float(psi.mean())
        return estimate, psi - estimate, {"treated": float(mu1_i.mean()), "control": float(mu0_i.mean())}
    if estimand is Estimand.ATT:
        share = t.mean()
        score = t * (y - m0) - (1 - t) * e / (1 - e) * (y - m0)
        estimate = float(score.mean() / share)
        y1 = float(np.mean(t * y) / share)
        return estimate, (score - t * estimate) / share, {"treated": y1, "control": y1 - estimate}
    share = (1 - t).mean()
    score = (1 - t) * (m1 - y) + t * (1 - e) / e * (y - m1)
    estimate = float(score.mean() / share)
    y0 = float(np.mean((1 - t) * y) / share)
    return estimate, (score - (1 - t) * estimate) / share, {"treated": y0 + estimate, "control": y0}


NO_ADJUSTMENT_FORMS = {"regression": "regression", "gcomp": "g-computation", "ipw": "IPW", "aipw": "AIPW"}


def no_adjustment_labels(design: Design, rows: list[EstimateRow]) -> list[EstimateRow]:
    """With no covariate column left, every adjusted estimator is the naive difference in disguise: say so.

    Calling such a row "Doubly robust" (a user who pressed Run with an empty set got 2.54 labelled IPW/AIPW on
    NHEFS) claims an adjustment that never happened.
    """
    if design.X.shape[1] or (design.X_ps is not None and design.X_ps.shape[1]) or design.Z is not None:
        return rows
    return [
        row if row.method == "naive" else row.model_copy(update={
            "label": f"No adjustment ({NO_ADJUSTMENT_FORMS.get(row.method, row.method)} form, no covariates: "
                     "equals the naive difference)"})
        for row in rows
    ]


def max_crossfit_folds(t: np.ndarray) -> int:
    """The most folds a cross-fit can use: every fold must hold at least 2 rows of each arm (K ≤ smaller arm / 2)."""
    return int(min(t.sum(), t.size - t.sum()) // 2)


def check_crossfit_folds(t: np.ndarray, k: int) -> None:
    """Refuse more folds than the data can fill (``--crossfit 100000`` on 600 rows was accepted and labelled)."""
    if k < 2:
        return
    limit = max_crossfit_folds(t)
    if k > limit:
        n_treated = int(t.sum())
        raise EstimationError(
            f"{k} cross-fitting folds is more than this data can fill: each fold needs at least 2 treated and 2 "
            f"control rows, and there are {n_treated:,} treated and {t.size - n_treated:,} control rows, so at most "
            f"{limit} folds (5 or 10 is usual)."
        )


EXACT_REPETITIONS = 5
"""R for the exact fits when the spec leaves it at 0: NHEFS (1,566 rows, What If's terms, K = 5) moved AIPW over
1.09 SE across 40 fold seeds (SD 0.23 SE; issue 23 measured 0.26 SE by shuffling rows); the median of 5 splits
has SD 0.13 SE. One exact split costs 0.05 s on the built-in retention (6,000 rows) and 0.2 s on NHEFS, so 5 is
cheap (a whole run on 200,000 simulated rows, 5 covariates: 2.4 s with R = 1, 4.4 s with R = 5), and it is
the learners' R, so both paths report the same kind of number."""


def exact_repetition_count(repetitions: int) -> int:
    """R for an exact cross-fit: the spec's fold splits, or ``EXACT_REPETITIONS`` when it leaves them at 0."""
    return repetitions if repetitions >= 1 else EXACT_REPETITIONS


def crossfit_folds(design: Design, k: int, seed: int, groups: FoldGroups | None = None) -> np.ndarray | None:
    """Fold ids for the exact cross-fit: the learners' folds (stratified by treatment, exact copies and clusters
    whole), so a duplicated row is never predicted by a model fitted on its copy. None when K < 2 (no cross-fit).

    Every fold must hold 2 rows of each arm, the rule ``check_crossfit_folds`` states; grouping can break it, and
    then the refusal names the grouping.
    """
    if k < 2:
        return None
    groups = design_groups(design) if groups is None else groups
    folds = stratified_folds(design, k, seed, groups)
    check_fold_arms(design, folds, k, groups, f" (seed {seed})", minimum=2)
    return folds


def crossfit_propensity(design: Design, clip: tuple[float, float], folds: np.ndarray) -> np.ndarray:
    """Out-of-fold propensity scores for cross-fitted AIPW."""
    A = design.A1_ps
    e = np.empty(design.n)
    for fold in np.unique(folds):
        train = folds != fold
        fit = logit(A[train], design.t[train])
        e[folds == fold] = expit(A[folds == fold] @ fit.beta)
    return np.clip(e, *clip)


def aipw(
    design: Design, e: np.ndarray, models: OutcomeModels, estimand: Estimand | str, label: str = ""
) -> tuple[EstimateRow, dict[str, float]]:
    estimate, influence, arm_means = aipw_scores(design, e, models, estimand)
    se, se_type = _if_se(influence, design.clusters, design.n_clusters)
    return _row("aipw", estimand, estimate, se, design.n, se_type + label), arm_means


@dataclass(frozen=True)
class ExactSplit:
    """One fold split of the exact cross-fit: its folds, out-of-fold propensities (unclipped) and outcome models."""

    folds: np.ndarray
    raw_e: np.ndarray
    models: OutcomeModels


@dataclass(frozen=True)
class ExactCrossfit:
    """The R splits of an exact cross-fit (seeds seed, seed + 1, …) and the grouping every split respected.

    Unclipped and estimand-free, so the specification curve fits it once per design and clips per estimand.
    """

    k: int
    seed: int
    groups: FoldGroups
    splits: list[ExactSplit]


def exact_crossfit(design: Design, k: int, seed: int, repetitions: int) -> ExactCrossfit:
    """Fit the exact propensity and outcome models out of fold on R seeded splits (all folds planned first)."""
    groups = design_groups(design)
    plans = [crossfit_folds(design, k, seed + index, groups) for index in range(repetitions)]
    splits = [ExactSplit(folds, crossfit_propensity(design, (0.0, 1.0), folds), outcome_models(design, folds))
              for folds in plans]
    return ExactCrossfit(k, seed, groups, splits)


@dataclass(frozen=True)
class ExactAipw:
    """The exact cross-fitted AIPW row (median rule), the split it centres on and its diagnostics entry."""

    row: EstimateRow
    e: np.ndarray  # the central split's clipped propensities (interval checks read them)
    models: OutcomeModels  # the central split's outcome models
    arm_means: dict[str, float]
    crossfit: CrossfitSummary  # diagnostics.crossfit, the same entry the learners' runs make


def exact_crossfit_aipw(design: Design, fit: ExactCrossfit, clip: tuple[float, float], estimand: Estimand | str) -> ExactAipw:
    """AIPW on each split, then the median rule; one split returns its row unchanged (no aggregation text).

    The Estimation page and the specification curve both call this, so their cross-fitted rows are the same row.
    """
    fitted = [aipw(design, np.clip(split.raw_e, *clip), split.models, estimand, f", {fit.k}-fold cross-fitted")
              for split in fit.splits]
    row, spread = aggregate_rows([row for row, _ in fitted], fit.k)
    centre = central_split(np.array([row.estimate for row, _ in fitted]))
    means = {arm: float(np.mean([fitted[i][1][arm] for i in centre])) for arm in fitted[0][1]}
    chosen = fit.splits[centre[0]]
    entry = crossfit_entry(len(fit.splits), fit.k, fit.seed, centre[0], fit.groups, {"aipw": spread})
    return ExactAipw(row, np.clip(chosen.raw_e, *clip), chosen.models, means, entry)


@dataclass
class CoreFit:
    """Everything the four estimators produced for one design (refutations reuse it)."""

    rows: list[EstimateRow]
    ps: Propensity | None = None
    models: OutcomeModels | None = None
    ipw_weights: np.ndarray | None = None
    aipw_propensity: np.ndarray | None = None  # the propensities AIPW used (out-of-fold when cross-fitted)
    regression_info: dict[str, Any] = field(default_factory=dict)
    arm_means: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    crossfit: CrossfitSummary | None = None  # the exact cross-fit's splits and spread (diagnostics)

    def row(self, method: str) -> EstimateRow | None:
        return next((row for row in self.rows if row.method == method), None)


ALL_METHODS = ("naive", "regression", "gcomp", "ipw", "aipw")
