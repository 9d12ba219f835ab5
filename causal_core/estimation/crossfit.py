"""Repeated cross-fitting: which rows must share a fold, R seeded fold splits, and the median rule over them.

Why repeat: one K-fold split is a draw, not an estimate. Issue 23 measured boosting AIPW on a public data set
ranging over 1.26 SE across 20 fold seeds, with the interval's verdict on zero depending on the seed. So every
learner-based row is computed on R splits and aggregated with the median rule of Chernozhukov et al. (2018,
Section 3.4; see ``median_aggregate`` for how our SE differs from DoubleML's), and the spread is reported
beside the row.

Why group: a flexible learner trained on an exact copy of a row predicts that row from itself (a boosting
propensity near 0/1 for a duplicated unit), so the out-of-fold promise of cross-fitting fails silently. Exact
duplicates (identical covariates, treatment and outcome) and, when set, whole clusters are kept in one fold.

Everything here is arithmetic on arrays: the learners themselves live in ``learners.py``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from causal_core.diagnostics_models import CrossfitSummary, SplitSpread
from causal_core.estimation.constants import Z95, EstimationError
from causal_core.estimation.design import Design
from causal_core.project import EstimateRow

__all__ = [
    "MIN_FOLD_ARM_ROWS",
    "FoldGroups",
    "LearnerError",
    "aggregate_rows",
    "assign_folds",
    "central_split",
    "check_fold_arms",
    "crossfit_entry",
    "design_groups",
    "exact_duplicates",
    "fold_groups",
    "median_aggregate",
    "split_spread",
    "stratified_folds",
]


MIN_FOLD_ARM_ROWS = 10  # rows of each arm every fold must hold (so each training set has ≥ (K−1)·10)


class LearnerError(EstimationError):
    """A learner that cannot run on this data; the message names the learner, the model and what to change."""


# ---------------------------------------------------------------------------------------------
# Which rows must share a fold
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FoldGroups:
    """Rows that must sit in the same fold (``labels`` None = every row on its own).

    ``duplicate_rows`` counts rows that have at least one exact copy; ``duplicate_sets`` the distinct rows
    behind them (a row seen 3 times is 3 duplicate rows in 1 set).
    """

    labels: np.ndarray | None
    n_groups: int
    duplicate_rows: int = 0
    duplicate_sets: int = 0
    clustered: bool = False


def exact_duplicates(columns: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Per row the id of its distinct value (rows compared whole), the rows with a copy, and the sets of copies."""
    _, inverse, counts = np.unique(columns, axis=0, return_inverse=True, return_counts=True)
    repeated = counts > 1
    return np.asarray(inverse).ravel(), int(counts[repeated].sum()), int(repeated.sum())


def fold_groups(columns: np.ndarray, clusters: np.ndarray | None, n_clusters: int) -> FoldGroups:
    """The grouping the folds must respect: clusters, exact duplicates, or both joined.

    Without duplicates the cluster codes are returned unchanged, so a clustered run splits exactly as it did
    before duplicates were grouped. With both, a copy that appears in two clusters joins them into one group
    (connected components of the row–cluster–copy graph), so no copy can cross a fold boundary.
    """
    n = columns.shape[0]
    copies, duplicate_rows, duplicate_sets = exact_duplicates(columns)
    clustered = clusters is not None
    if duplicate_rows == 0:
        return FoldGroups(clusters, n_clusters if clustered else n, clustered=clustered)
    if not clustered:
        return FoldGroups(copies, int(copies.max()) + 1, duplicate_rows, duplicate_sets)
    size = n_clusters + int(copies.max()) + 1
    graph = coo_matrix((np.ones(n), (clusters, n_clusters + copies)), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    _, labels = np.unique(component[clusters], return_inverse=True)
    labels = np.asarray(labels).ravel()
    return FoldGroups(labels, int(labels.max()) + 1, duplicate_rows, duplicate_sets, clustered=True)


FOLD_CACHE_BYTES = 32 * 1024 * 1024  # grouped fold assignments kept for reuse (about 4 million rows in all)
_FOLD_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()
_FOLD_CACHE_LOCK = threading.Lock()


def assign_folds(t: np.ndarray, groups: np.ndarray | None, k: int, seed: int) -> np.ndarray:
    """Fold id per row: stratified by treatment; with groups, every group whole in one fold (StratifiedGroupKFold).

    Ungrouped rows use StratifiedKFold exactly as the single-split version did, so a run without clusters or
    duplicates reproduces its earlier folds for the same seed.

    Grouped assignments are remembered by (treatment, groups, k, seed): StratifiedGroupKFold's greedy search is
    Python-level work per group, and the specification curve asks for the same rows' folds again for every
    estimand and estimator (support: 750 calls took 20 of the curve's 29 s). The result is a pure function of
    those inputs, so a cached copy is the same folds; callers get their own copy.
    """
    if groups is None:
        return _assign_folds(t, None, k, seed)
    key = _fold_key(t, groups, k, seed)
    with _FOLD_CACHE_LOCK:
        cached = _FOLD_CACHE.get(key)
        if cached is not None:
            _FOLD_CACHE.move_to_end(key)
            return cached.copy()
    fold = _assign_folds(t, groups, k, seed)
    with _FOLD_CACHE_LOCK:
        _FOLD_CACHE[key] = fold.copy()
        while sum(value.nbytes for value in _FOLD_CACHE.values()) > FOLD_CACHE_BYTES and len(_FOLD_CACHE) > 1:
            _FOLD_CACHE.popitem(last=False)
    return fold


def _fold_key(t: np.ndarray, groups: np.ndarray, k: int, seed: int) -> tuple:
    """A digest of the treatment and group labels (not the arrays themselves) with k and the seed."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(t, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(groups, dtype=np.int64).tobytes())
    return digest.hexdigest(), int(t.size), int(k), int(seed)


def _assign_folds(t: np.ndarray, groups: np.ndarray | None, k: int, seed: int) -> np.ndarray:
    """The fold assignment itself (``assign_folds`` without the cache)."""
    placeholder = np.zeros((t.size, 1))
    if groups is None:
        splits = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(placeholder, t)
    else:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        splits = splitter.split(placeholder, t, groups=groups)
    fold = np.empty(t.size, dtype=np.int64)
    for index, (_, test) in enumerate(splits):
        fold[test] = index
    return fold


def design_groups(design: Design) -> FoldGroups:
    """Rows that must share a fold: exact copies (covariates, propensity terms, treatment, outcome) and clusters."""
    parts = [design.X] + ([] if design.X_ps is None else [design.X_ps]) + [design.t[:, None], design.y[:, None]]
    return fold_groups(np.column_stack(parts), design.clusters, design.n_clusters)


def stratified_folds(design: Design, k: int, seed: int, groups: FoldGroups | None = None) -> np.ndarray:
    """Fold id per row: stratified by treatment so every fold holds both arms; copies and clusters stay whole."""
    groups = design_groups(design) if groups is None else groups
    _check_group_count(groups, k, design.n)
    return assign_folds(design.t, groups.labels, k, seed)


def _check_group_count(groups: FoldGroups, k: int, n: int) -> None:
    """K groups at least, or some fold would be empty: say which grouping limits K."""
    if groups.labels is None or groups.n_groups >= k:
        return
    if not groups.duplicate_rows:
        raise LearnerError(
            f"Cross-fitting with {k} folds keeps whole clusters together, but there are only "
            f"{groups.n_groups} clusters; use at most {groups.n_groups} folds."
        )
    clusters = " and whole clusters" if groups.clustered else ""
    raise LearnerError(
        f"Cross-fitting with {k} folds keeps every exact copy of a row{clusters} in one fold, and the {n:,} rows "
        f"form only {groups.n_groups} such groups ({groups.duplicate_rows:,} rows are copies of "
        f"{groups.duplicate_sets:,} distinct rows); use at most {groups.n_groups} folds or remove the duplicates "
        "(Data audit: duplicates). Nothing was estimated."
    )


def check_fold_arms(design: Design, folds: np.ndarray, k: int, groups: FoldGroups | None = None,
                    split: str = "", minimum: int = MIN_FOLD_ARM_ROWS) -> None:
    """Grouped folds can be uneven: check the realised folds too, naming the grouping that made them uneven.

    ``minimum`` is 10 for a learner; the exact fits keep their own rule (2 of each arm per fold, as
    ``check_crossfit_folds`` promises), so grouping never refuses a K the exact path accepted before.
    """
    for fold in range(k):
        in_fold = folds == fold
        treated = int(design.t[in_fold].sum())
        control = int(in_fold.sum()) - treated
        if min(treated, control) < minimum:
            why = ""
            if groups is not None and groups.duplicate_rows:
                why = (f" {groups.duplicate_rows:,} rows are exact copies of {groups.duplicate_sets:,} distinct rows "
                       "and each set of copies stays in one fold, which leaves this fold short of one arm; remove "
                       "the duplicates (Data audit: duplicates) or")
            raise LearnerError(
                f"Fold {fold + 1} of {k}{split} holds {treated} treated and {control} control rows; every fold needs "
                f"at least {minimum} of each.{why or ''} {'use' if why else 'Use'} fewer folds. "
                "Nothing was estimated."
            )


# ---------------------------------------------------------------------------------------------
# The median rule and the spread
# ---------------------------------------------------------------------------------------------
def median_aggregate(estimates: np.ndarray, ses: np.ndarray) -> tuple[float, float]:
    """θ = median_r θ_r and SE = sqrt(median_r(se_r² + (θ_r − θ)²)): the median rule, deviation on the SE's scale.

    Why this form and not DoubleML's: Chernozhukov et al. (2018, Section 3.4) write
    σ̂² = median(σ̂_r² + (θ_r − θ)²) with σ̂ on the √n scale. DoubleML/doubleml-for-py,
    doubleml/utils/_estimation.py, ``_aggregate_coefs_and_ses`` (releases to 0.9) computes exactly that on
    the SE scale, se² + (θ_r − θ)²/n (scaling factor n; doubleml-for-r issue 94), where the spread term is
    negligible; since PR 324 (May 2025) it reports the median upper bound instead, again with no spread
    term. Issue 23 measured boosting AIPW moving 1.26 SE between fold seeds, which neither form shows, so we
    add the deviation on the estimator's own scale: conservative (never narrower than the median se_r), and
    equal to DoubleML's when the splits agree.
    """
    estimates = np.asarray(estimates, dtype=float)
    ses = np.asarray(ses, dtype=float)
    theta = float(np.median(estimates))
    return theta, float(np.sqrt(np.median(ses**2 + (estimates - theta) ** 2)))


def central_split(estimates: np.ndarray) -> list[int]:
    """The split(s) at the median: one for odd R, the two middle ones for even R (their mean is the median)."""
    order = np.argsort(np.asarray(estimates, dtype=float), kind="stable")
    r = order.size
    return [int(order[r // 2])] if r % 2 else [int(order[r // 2 - 1]), int(order[r // 2])]


def split_spread(
    estimates: np.ndarray, ses: np.ndarray, theta: float, folds: int
) -> dict[str, float | int | str | None]:
    """How much the estimate moves between fold splits, in units of one split's SE (the median se_r).

    Why that unit: it is the SE a single-split run would have printed, so "ranges over 0.41 SE" reads as "a
    different seed could have moved the estimate by 0.41 of its own interval's half-width over 1.96".
    """
    estimates = np.asarray(estimates, dtype=float)
    ses = np.asarray(ses, dtype=float)
    r = estimates.size
    unit = float(np.median(ses))
    low, high = float(estimates.min()), float(estimates.max())
    q1, q3 = (float(value) for value in np.percentile(estimates, [25, 75]))
    excluding = int(np.sum((estimates - Z95 * ses > 0) | (estimates + Z95 * ses < 0)))
    scaled = unit > 0 and np.isfinite(unit)

    def in_se(value: float) -> float | None:  # None, not NaN: the entry must stay valid JSON
        return round(value / unit, 4) if scaled else None

    spread = {
        "splits": r,
        "folds": folds,
        "median": theta,
        "min": low,
        "max": high,
        "se_unit": unit if scaled else None,
        "min_se": in_se(low - theta),
        "max_se": in_se(high - theta),
        "range_se": in_se(high - low),
        "iqr_se": in_se(q3 - q1),
        "intervals_excluding_zero": excluding,
    }
    spread["sentence"] = _spread_sentence(spread)
    return spread


def _spread_sentence(spread: dict[str, float | int | str | None]) -> str:
    r = int(spread["splits"])
    if r == 1:
        return "1 fold split: its spread is not measured (set the fold splits to 5 or more to see how much the " \
               "estimate depends on which rows share a fold)."
    if spread["range_se"] is None:
        return (f"{r} fold splits of {spread['folds']} folds: estimates range from {spread['min']:.4g} to "
                f"{spread['max']:.4g} (a split without a finite SE, so no SE units).")
    return (f"{r} fold splits of {spread['folds']} folds: estimates range over {spread['range_se']:.2f} SE "
            f"(interquartile range {spread['iqr_se']:.2f} SE; SE = one split's median SE, {spread['se_unit']:.4g}); "
            f"{spread['intervals_excluding_zero']} of {r} intervals exclude 0.")


AGGREGATION_RULE = (
    "median of the split estimates; SE = sqrt(median(se_r² + (θ_r − median)²)) (the median rule of Chernozhukov "
    "et al. 2018, §3.4, with the deviation on the SE's scale: never narrower than DoubleML's)"
)


def fold_scheme(groups: FoldGroups | None, clustered: bool) -> str:
    """How the folds were drawn, in words (the Models tab and the CLI print it)."""
    copies = ", exact duplicate rows kept together" if groups is not None and groups.duplicate_rows else ""
    return "stratified by treatment" + (", whole clusters per fold" if clustered else "") + copies


def crossfit_entry(
    repetitions: int, folds: int, first_seed: int, centre: int, groups: FoldGroups | None,
    rows: dict[str, Any] | dict[str, SplitSpread],
) -> CrossfitSummary:
    """diagnostics.crossfit (CrossfitSummary): R, K, the seeds, the rule, the split the diagnostics show, the grouping, the spread.

    One shape for the learner and the exact paths, so the page and the CLI print either the same way.
    """
    clustered = groups is not None and groups.clustered
    return CrossfitSummary.model_validate({
        "repetitions": repetitions,
        "folds": folds,
        "seeds": f"{first_seed}–{first_seed + repetitions - 1}" if repetitions > 1 else str(first_seed),
        "aggregation": AGGREGATION_RULE,
        "diagnostics_split": centre + 1,
        "fold_scheme": fold_scheme(groups, clustered),
        "duplicate_rows_grouped": groups.duplicate_rows if groups is not None else 0,
        "duplicate_sets": groups.duplicate_sets if groups is not None else 0,
        "rows": rows,
    })


def aggregate_rows(rows: list[EstimateRow], folds: int) -> tuple[EstimateRow, dict[str, Any]]:
    """One row from the same estimator on R splits (median rule), with its spread; R = 1 returns the row unchanged.

    The first row's SE text and label are kept (the interval notes read the learner and 'cross-fitted' from
    them) and the aggregation is appended to the SE text; an SE that one split could not compute leaves the
    aggregated SE empty.
    """
    estimates = np.array([row.estimate for row in rows], dtype=float)
    ses = np.array([np.nan if row.std_error is None else row.std_error for row in rows], dtype=float)
    theta, se = median_aggregate(estimates, ses)
    spread: dict[str, Any] = {**split_spread(estimates, ses, theta, folds),
                              "estimates": [float(value) for value in estimates],
                              "std_errors": [None if np.isnan(value) else float(value) for value in ses]}
    if len(rows) == 1:
        return rows[0], spread
    finite = bool(np.isfinite(se))
    se_type = (f"{rows[0].se_type}; median of {len(rows)} fold splits, SE includes the split-to-split spread "
               "(Chernozhukov et al. 2018)")
    update = {
        "estimate": theta,
        "std_error": se if finite else None,
        "ci_low": theta - Z95 * se if finite else None,
        "ci_high": theta + Z95 * se if finite else None,
        "se_type": se_type,
        "se_method": f"analytic: {se_type}",
    }
    return rows[0].model_copy(update=update), spread

