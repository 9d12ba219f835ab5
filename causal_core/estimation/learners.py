"""Flexible nuisance models from scikit-learn, cross-fitted (DML style) for AIPW and IPW.

Why cross-fitting: a flexible learner (boosting, penalised CV) fitted and evaluated on the same rows
overfits, and the AIPW score then reuses its own noise; the influence-function SE is only valid when each
row's e(x), μ0(x), μ1(x) come from models that never saw that row (Chernozhukov et al. 2018). So every
non-default learner runs under K-fold cross-fitting, folds stratified by treatment (exact duplicate rows and,
when a cluster column is set, whole clusters kept in one fold) and seeded from the spec, and the SE comes from the
out-of-fold scores. One split is a draw, so the run repeats it R times (seeds seed, seed + 1, …) and reports the
median with the split-to-split spread in its SE (``crossfit.py``).

Why the exact fits stay the default: they are fast, reproduce N01, and their IPW SE includes the
propensity-estimation term. With a flexible propensity that term has no closed form, so the IPW row says it
treats the cross-fitted propensity as known (approximate).

Every failure a learner can have on real data is turned into a LearnerError with the learner, the model and
the fold named (never a traceback); a ConvergenceWarning becomes a result warning naming the learner.
"""

from __future__ import annotations

import time
import warnings as warnings_module
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV, LogisticRegressionCV, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from causal_core.diagnostics_models import (
    CrossfitSummary,
    EstimationDiagnostics,
    LearnerInfo,
    LearnerSeconds,
    PropensityModelInfo,
)
from causal_core.estimation.constants import EstimationError, ProgressFn, StopFn
from causal_core.estimation.crossfit import (
    MIN_FOLD_ARM_ROWS,
    FoldGroups,
    LearnerError,
    aggregate_rows,
    central_split,
    check_fold_arms,
    crossfit_entry,
    design_groups,
    fold_scheme,
    stratified_folds,
)
from causal_core.estimation.design import Design
from causal_core.estimation.estimators import (
    CoreFit,
    OutcomeModels,
    Propensity,
    _fit_arm,
    _ipw_weights,
    aipw,
    describe_se,
    effective_bounds,
    ipw,
    propensity,
)
from causal_core.estimation.fitting import LogitFit, logit
from causal_core.project import EstimateRow, EstimationSpec

PS_LEARNERS: dict[str, str] = {
    "logistic": "exact logistic regression (unpenalised, Newton)",
    "logistic_cv": "LogisticRegressionCV (L2, standardised design)",
    "boosting": "HistGradientBoostingClassifier",
}
OUTCOME_LEARNERS: dict[str, str] = {
    "linear": "exact OLS per arm (logistic for a 0/1 outcome)",
    "ridge_cv": "RidgeCV per arm (L2 LogisticRegressionCV for a 0/1 outcome), standardised design",
    "lasso_cv": "LassoCV per arm (L1 LogisticRegressionCV for a 0/1 outcome), standardised design",
    "boosting": "HistGradientBoosting per arm (regressor; classifier for a 0/1 outcome)",
}
DEFAULT_PS_LEARNER = "logistic"
DEFAULT_OUTCOME_LEARNER = "linear"
DEFAULT_FOLDS = 5
INNER_CV = 3  # the penalised learners' own CV folds (kept small: they run inside every cross-fitting fold)
CV_MAX_ITER = 1000  # iteration limit of the penalised solvers (a test lowers it to force a ConvergenceWarning)
BOOSTING_MAX_ITER = 200  # an upper bound: early stopping on a seeded 10 % validation split picks the rounds
BOOSTING_VALIDATION = 0.1  # share of each class a boosting classifier holds out for early stopping
N_PENALTIES = 10
DEFAULT_REPETITIONS = 5  # R for flexible learners: one split's noise (1.3 SE on a public set) is not an estimate
MAX_ROW_FITS = 20_000_000  # folds × repetitions × models × rows one run may fit (a class server's shared cores)
MAX_BOOSTING_ROW_ROUNDS = 2_000_000_000  # the same for boosting, times its rounds: ≈ 100 s measured on 1 core
LEARNER_THREADS: int | None = 1  # OpenMP/BLAS threads per fit (None = library default); see _guarded


class LearnerStopped(EstimationError):
    """The analyst stopped the cross-fitting between two fits; nothing was estimated or stored."""


# ---------------------------------------------------------------------------------------------
# Choices
# ---------------------------------------------------------------------------------------------
def uses_learners(spec: EstimationSpec) -> bool:
    """True when a non-default learner is chosen (the default exact fits keep their own, faster path)."""
    return spec.ps_learner != DEFAULT_PS_LEARNER or spec.outcome_learner != DEFAULT_OUTCOME_LEARNER


def fold_count(spec: EstimationSpec) -> int:
    """K for cross-fitting: the spec's folds, or 5 when the spec leaves it off (a flexible learner needs it)."""
    return spec.crossfit_folds if spec.crossfit_folds >= 2 else DEFAULT_FOLDS


def repetition_count(spec: EstimationSpec) -> int:
    """R, the fold splits a learner run fits: the spec's repetitions, or 5 when it leaves them at 0.

    Why 5 for every run on this path (it only runs with a flexible learner): a single fold split moved boosting
    AIPW by up to 1.3 SE on a public data set, so one split is a draw, not an estimate; the median over 5 splits
    with the spread in its SE (Chernozhukov et al. 2018) is DoubleML's recommendation. The exact fits keep
    their own path (no learner, no split at all unless the analyst asks for folds), so they cost nothing extra.
    """
    return spec.crossfit_repetitions if spec.crossfit_repetitions >= 1 else DEFAULT_REPETITIONS


def _model_names(spec: EstimationSpec, methods: tuple[str, ...]) -> list[str]:
    """The learners one fold fits: the propensity (IPW or AIPW) and the outcome model (both arms, AIPW only)."""
    names = [spec.ps_learner] if ("ipw" in methods or "aipw" in methods) else []
    return names + ([spec.outcome_learner] if "aipw" in methods else [])


def check_work_bound(spec: EstimationSpec, n_rows: int, methods: tuple[str, ...] = ("ipw", "aipw")) -> None:
    """Refuse, before any data is touched, a run whose folds × repetitions × learners × rows exceed the budget.

    Why a budget and not a timeout: numpy and scikit-learn cannot be interrupted inside a fit, so on a shared
    class server one student's 20 repetitions of boosting on a million rows would pin a core for an hour. The
    count is arithmetic on the spec and the row count, so the refusal takes microseconds.
    """
    models = _model_names(spec, methods)
    if not models or not uses_learners(spec):
        return
    k, r = fold_count(spec), repetition_count(spec)
    row_fits = k * r * len(models) * n_rows
    shape = f"{k} folds × {r} repetitions × {len(models)} learners × {n_rows:,} rows"
    if row_fits > MAX_ROW_FITS:
        raise LearnerError(
            f"Too much work for one run: {shape} = {_millions(row_fits)} row-fits exceeds the "
            f"{_millions(MAX_ROW_FITS)} limit. {_advice(MAX_ROW_FITS, k * len(models) * n_rows, r, n_rows, row_fits)}"
        )
    boosted = sum(1 for name in models if name == "boosting")
    rounds = k * r * boosted * n_rows * BOOSTING_MAX_ITER
    if rounds > MAX_BOOSTING_ROW_ROUNDS:
        raise LearnerError(
            f"Too much boosting for one run: {k} folds × {r} repetitions × {boosted} boosting learner(s) × "
            f"{n_rows:,} rows × {BOOSTING_MAX_ITER} rounds = {_millions(rounds)} row-rounds exceeds the "
            f"{_millions(MAX_BOOSTING_ROW_ROUNDS)} limit. "
            f"{_advice(MAX_BOOSTING_ROW_ROUNDS, k * boosted * n_rows * BOOSTING_MAX_ITER, r, n_rows, rounds)}"
        )


def _millions(count: int) -> str:
    return f"{count / 1e6:,.0f} M" if count < 1e9 else f"{count / 1e9:,.1f} G"


def _advice(limit: int, per_repetition: int, r: int, n_rows: int, total: int) -> str:
    """What fits under the limit: fewer repetitions when one repetition fits, else a smaller sample."""
    fitting = limit // per_repetition
    if 1 <= fitting < r:
        return f"Use at most {fitting} repetition(s), fewer folds, or a sample of the rows."
    return f"Use fewer folds or repetitions, or a sample of at most {int(n_rows * limit / total):,} rows."


# ---------------------------------------------------------------------------------------------
# Folds and up-front checks
# ---------------------------------------------------------------------------------------------
def check_fold_sizes(design: Design, k: int, spec: EstimationSpec) -> None:
    """Refuse before any fit when a fold is too small, saying the minimum, the counts and the largest workable K."""
    n_treated = int(design.t.sum())
    n_control = design.n - n_treated
    feasible = min(n_treated, n_control) // MIN_FOLD_ARM_ROWS
    learners = f"'{spec.ps_learner}' propensity / '{spec.outcome_learner}' outcome learners"
    if feasible < k:
        advice = f"use at most {feasible} folds" if feasible >= 2 else "use the default learners (no cross-fitting)"
        raise LearnerError(
            f"Too few rows per fold for {k}-fold cross-fitting with the {learners}: every fold needs at least "
            f"{MIN_FOLD_ARM_ROWS} treated and {MIN_FOLD_ARM_ROWS} control rows ({k * MIN_FOLD_ARM_ROWS} of each in "
            f"all), and the data have {n_treated:,} treated and {n_control:,} control rows; {advice}."
        )


def _check_spec(spec: EstimationSpec) -> None:
    if spec.bootstrap > 0:
        raise LearnerError(
            f"The bootstrap refits only the default logistic/linear models, not the '{spec.ps_learner}' / "
            f"'{spec.outcome_learner}' learners; set the bootstrap replicates to 0 (the cross-fitted rows use "
            "their influence-function SE) or choose the default learners."
        )


# ---------------------------------------------------------------------------------------------
# One model on one fold
# ---------------------------------------------------------------------------------------------
def _penalised_logistic(l1: bool, seed: int) -> BaseEstimator:
    model = LogisticRegressionCV(
        Cs=N_PENALTIES,
        cv=INNER_CV,
        l1_ratios=(1.0,) if l1 else (0.0,),
        solver="saga" if l1 else "lbfgs",
        scoring="neg_log_loss",
        max_iter=CV_MAX_ITER,
        random_state=seed,
        use_legacy_attributes=False,
    )
    return make_pipeline(StandardScaler(), model)


def _sklearn_model(name: str, classifier: bool, seed: int) -> BaseEstimator:
    """A fresh scikit-learn estimator for one fit (penalised ones on a standardised design)."""
    if name == "boosting":
        model_class = HistGradientBoostingClassifier if classifier else HistGradientBoostingRegressor
        # early stopping always on (scikit-learn turns it on only above 10,000 rows): without it 100 rounds on a
        # few thousand rows overfit the propensity towards 0/1 and the weights explode
        return model_class(max_iter=BOOSTING_MAX_ITER, early_stopping=True, random_state=seed)
    if name in ("logistic_cv", "ridge_cv") and classifier:
        return _penalised_logistic(l1=False, seed=seed)
    if name == "lasso_cv" and classifier:
        return _penalised_logistic(l1=True, seed=seed)
    if name == "ridge_cv":
        return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 4, 15)))
    if name == "lasso_cv":
        return make_pipeline(StandardScaler(), LassoCV(cv=INNER_CV, max_iter=CV_MAX_ITER, random_state=seed))
    raise LearnerError(f"Unknown learner '{name}'.")


def _tuning(model: BaseEstimator) -> dict[str, float]:
    """What the learner chose on this fold (penalty or number of boosting rounds), for the Models tab."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if hasattr(final, "C_"):
        return {"C": float(np.ravel(final.C_)[0])}
    if hasattr(final, "alpha_"):
        return {"alpha": float(final.alpha_)}
    if hasattr(final, "n_iter_"):
        return {"rounds": float(final.n_iter_)}
    return {}


@dataclass
class FitOutcome:
    prediction: np.ndarray
    seconds: float
    tuning: dict[str, float] = field(default_factory=dict)
    note: str | None = None  # a non-fatal message (convergence, single class)


def _fit_predict(
    name: str, X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, classifier: bool, seed: int
) -> FitOutcome:
    """Fit a scikit-learn learner on `train` rows and predict `test` rows, converting its failures to messages."""
    clock = time.perf_counter()
    if classifier and np.unique(y[train]).size < 2:
        value = float(y[train][0])
        return FitOutcome(np.full(test.size, value), 0.0, note=f"only outcome value {value:g} in the training rows")
    model = _sklearn_model(name, classifier, seed)
    with warnings_module.catch_warnings(record=True) as caught:
        warnings_module.simplefilter("always", ConvergenceWarning)
        if isinstance(model, HistGradientBoostingClassifier):
            held = _symmetric_validation(y[train], seed)
            fit_rows, val_rows = train[~held], train[held]
            model.fit(X[fit_rows], y[fit_rows], X_val=X[val_rows], y_val=y[val_rows])
        else:
            model.fit(X[train], y[train])
        prediction = model.predict_proba(X[test])[:, 1] if classifier else model.predict(X[test])
    convergence = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    note = f"did not converge ({convergence[0][:160]})" if convergence else None
    return FitOutcome(np.asarray(prediction, dtype=float), time.perf_counter() - clock, _tuning(model), note)


def _symmetric_validation(y: np.ndarray, seed: int) -> np.ndarray:
    """Boosting's early-stopping rows: 10 % of each class, taken in the order of one seeded permutation.

    Why not scikit-learn's own split: its stratified split depends on which class is called 1, so recoding the
    treatment (T -> 1 - T) picked other validation rows, another number of rounds, and moved e(x) by up to
    0.44 (measured on 1,500 rows; IPW moved 0.6 SE). Choosing per class from one permutation picks the same rows
    whatever the labels, and the recoded fit gives e -> 1 - e to 2e-16.
    """
    order = np.random.default_rng(seed).permutation(y.size)
    held = np.zeros(y.size, dtype=bool)
    for value in np.unique(y):
        rows = order[y[order] == value]
        held[rows[: int(np.ceil(BOOSTING_VALIDATION * rows.size))]] = True
    return held


def _ps_features(design: Design) -> np.ndarray:
    """The propensity terms (they may differ from the outcome terms), without the intercept column."""
    return design.X if design.X_ps is None else design.X_ps


def _fit_exact_propensity(design: Design, train: np.ndarray, test: np.ndarray) -> FitOutcome:
    clock = time.perf_counter()
    A = design.A1_ps
    fit = logit(A[train], design.t[train])
    note = None if fit.converged else "did not converge (Newton; separation?)"
    return FitOutcome(expit(A[test] @ fit.beta), time.perf_counter() - clock, note=note)


def _fit_exact_outcome(design: Design, rows: np.ndarray, test: np.ndarray) -> FitOutcome:
    clock = time.perf_counter()
    values, separated = _fit_arm(design.A1, design.y, rows, test, design.binary_outcome)
    note = "separates (predicted probabilities at 0 or 1)" if separated else None
    return FitOutcome(values, time.perf_counter() - clock, note=note)


def _check_classes(name: str, y: np.ndarray, rows: np.ndarray, where: str) -> None:
    """A classifier splits its training rows stratified (CV folds, or boosting's early-stopping split), so each
    outcome value present must appear often enough; a value that is absent is handled (constant prediction)."""
    counts = np.bincount(y[rows].astype(np.int64), minlength=2)
    needed, reason = (2, "its early-stopping split") if name == "boosting" else (INNER_CV, f"its inner {INNER_CV}-fold CV")
    if 0 < counts.min() < needed:
        raise LearnerError(
            f"The '{name}' outcome classifier cannot run on the {where}: it has only {int(counts.min())} row(s) with "
            f"outcome {int(np.argmin(counts))} ({reason} needs at least {needed}). Choose the 'linear' outcome "
            "learner, or use fewer folds."
        )


# ---------------------------------------------------------------------------------------------
# Cross-fitting
# ---------------------------------------------------------------------------------------------
@dataclass
class Nuisances:
    """Out-of-fold nuisance predictions plus what happened on every fit (for warnings and the Models tab)."""

    e: np.ndarray | None
    m0: np.ndarray | None
    m1: np.ndarray | None
    folds: np.ndarray
    k: int
    ps_learner: str
    outcome_learner: str
    grouped: bool = False  # folds keep whole clusters together
    fits: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)  # model label -> per-fold messages
    seed: int = 0  # the seed of this split's folds and learners
    split_index: int = 0  # which of the R splits (0-based)
    repetitions: int = 1  # splits behind ``fits`` / ``notes`` (R on the merged record of a repeated run)
    groups: FoldGroups | None = None
    spread: dict[str, Any] = field(default_factory=dict)  # method -> the split-to-split spread (repeated run)

    def seconds(self, model_prefix: str) -> float:
        return float(sum(fit["seconds"] for fit in self.fits if fit["model"].startswith(model_prefix)))


class _Ticker:
    """Progress per fit and a stop check before each one (a boosting fit on 1 M rows takes seconds)."""

    def __init__(self, total: int, progress: ProgressFn | None, should_stop: StopFn | None) -> None:
        self.total, self.done = total, 0
        self.report = progress or (lambda fraction, message: None)
        self.should_stop = should_stop or (lambda: False)

    def before(self, message: str) -> None:
        if self.should_stop():
            raise LearnerStopped(
                f"Stopped by the analyst after {self.done} of {self.total} model fits (next: {message}); "
                "no estimate was produced and the project is unchanged."
            )
        self.report(self.done / self.total, message)

    def after(self) -> None:
        self.done += 1
        self.report(self.done / self.total, f"{self.done} of {self.total} model fits done")


def _guarded(label: str, fold: int, k: int, fit: Callable[..., FitOutcome], *args: Any) -> FitOutcome:
    """Run one fit; a scikit-learn refusal (ValueError, …) becomes a LearnerError naming the model and fold.

    One thread per fit: OpenMP/BLAS threads that compete with other processes for the cores spin-wait. Measured
    on this 2-core machine under load: boosting on 160,000 rows 4.0 s on 1 thread vs 51–62 s on 2; on 1,600 rows
    0.34 s vs 6.5 s. On an idle machine 2 threads would gain less than 2×, so the safe default is 1.
    """
    try:
        with threadpool_limits(limits=LEARNER_THREADS):
            return fit(*args)
    except EstimationError:
        raise
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
        raise LearnerError(f"The {label} failed on fold {fold + 1} of {k}: {error}") from None


@dataclass
class _Split:
    """One planned fold split: its seed, fold ids and where it sits among the R splits."""

    index: int
    count: int
    seed: int
    folds: np.ndarray

    def where(self) -> str:
        """', split 2/5' for messages (nothing for a single split, whose messages stay as they always were)."""
        return "" if self.count == 1 else f", split {self.index + 1}/{self.count}"


def plan_splits(design: Design, spec: EstimationSpec, repetitions: int) -> tuple[int, FoldGroups, list[_Split]]:
    """K, the grouping and every split's folds, all checked before the first fit (seeds seed, seed + 1, …).

    Planning every split first means a grouping that leaves split 4's fold short of an arm is refused before
    minutes of fitting on splits 1–3, and the refusal changes nothing.
    """
    k = fold_count(spec)
    check_fold_sizes(design, k, spec)
    groups = design_groups(design)
    splits = []
    for index in range(repetitions):
        seed = spec.seed + index
        folds = stratified_folds(design, k, seed, groups)
        split = _Split(index, repetitions, seed, folds)
        check_fold_arms(design, folds, k, groups, split.where())
        splits.append(split)
    return k, groups, splits


def crossfit_nuisances(
    design: Design,
    spec: EstimationSpec,
    *,
    need_outcome: bool = True,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Nuisances:
    """Out-of-fold e(x) and per-arm μ0(x), μ1(x) on ONE split (the spec's seed): the first of ``repeated_nuisances``."""
    check_work_bound(spec, design.n, ("ipw", "aipw") if need_outcome else ("ipw",))
    k, groups, splits = plan_splits(design, spec, 1)
    ticker = _Ticker(k * (3 if need_outcome else 1), progress, should_stop)
    return _fit_split(design, spec, splits[0], k, groups, need_outcome, ticker)


def repeated_nuisances(
    design: Design,
    spec: EstimationSpec,
    *,
    need_outcome: bool = True,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> list[Nuisances]:
    """The out-of-fold nuisances on each of the R fold splits; progress and Stop count R × K × models fits."""
    check_work_bound(spec, design.n, ("ipw", "aipw") if need_outcome else ("ipw",))
    k, groups, splits = plan_splits(design, spec, repetition_count(spec))
    ticker = _Ticker(len(splits) * k * (3 if need_outcome else 1), progress, should_stop)
    return [_fit_split(design, spec, split, k, groups, need_outcome, ticker) for split in splits]


def _fit_split(
    design: Design, spec: EstimationSpec, split: _Split, k: int, groups: FoldGroups, need_outcome: bool,
    ticker: _Ticker,
) -> Nuisances:
    """Every fold's fits on one split: the propensity, then (AIPW) the outcome model of each arm."""
    n, folds = design.n, split.folds
    out = Nuisances(
        e=np.empty(n), m0=np.empty(n) if need_outcome else None, m1=np.empty(n) if need_outcome else None,
        folds=folds, k=k, ps_learner=spec.ps_learner, outcome_learner=spec.outcome_learner,
        grouped=design.clusters is not None, seed=split.seed, split_index=split.index, groups=groups,
    )
    ps_label = f"'{spec.ps_learner}' propensity model"
    for fold in range(k):
        test = np.flatnonzero(folds == fold)
        train = np.flatnonzero(folds != fold)
        ticker.before(f"Fold {fold + 1}/{k}: {ps_label}{split.where()}")
        fitted = _guarded(ps_label, fold, k, _propensity_fit, design, spec, train, test, split.seed)
        out.e[test] = fitted.prediction
        _record(out, ps_label, fold, fitted, split)
        ticker.after()
        if not need_outcome:
            continue
        for arm, target in ((0, out.m0), (1, out.m1)):
            arm_name = "treated" if arm else "control"
            label = f"'{spec.outcome_learner}' outcome model ({arm_name} arm)"
            rows = train[design.t[train] == arm]
            ticker.before(f"Fold {fold + 1}/{k}: {label}{split.where()}")
            fitted = _guarded(label, fold, k, _outcome_fit, design, spec, rows, test, fold, k, split.seed)
            target[test] = fitted.prediction
            _record(out, label, fold, fitted, split)
            ticker.after()
    return out


def _propensity_fit(design: Design, spec: EstimationSpec, train: np.ndarray, test: np.ndarray, seed: int) -> FitOutcome:
    if spec.ps_learner == DEFAULT_PS_LEARNER:
        return _fit_exact_propensity(design, train, test)
    return _fit_predict(spec.ps_learner, _ps_features(design), design.t, train, test, classifier=True, seed=seed)


def _outcome_fit(
    design: Design, spec: EstimationSpec, rows: np.ndarray, test: np.ndarray, fold: int, k: int, seed: int
) -> FitOutcome:
    if spec.outcome_learner == DEFAULT_OUTCOME_LEARNER:
        return _fit_exact_outcome(design, rows, test)
    if design.binary_outcome:
        arm = "treated" if design.t[rows[0]] else "control"
        _check_classes(spec.outcome_learner, design.y, rows, f"{arm} arm's training rows of fold {fold + 1} of {k}")
    return _fit_predict(
        spec.outcome_learner, design.X, design.y, rows, test, classifier=design.binary_outcome, seed=seed
    )


def _record(out: Nuisances, label: str, fold: int, fitted: FitOutcome, split: _Split) -> None:
    where = {} if split.count == 1 else {"split": split.index + 1}
    out.fits.append({"model": label, **where, "fold": fold + 1, "seconds": round(fitted.seconds, 4), **fitted.tuning})
    if fitted.note:
        out.notes.setdefault(label, []).append(f"fold {fold + 1}{split.where()}: {fitted.note}")


def nuisance_warnings(nuisances: Nuisances) -> list[str]:
    """One plain warning per model that did not converge or met a single-class fold, naming the learner; and
    how many duplicated rows the folds kept together."""
    messages = []
    fits = nuisances.k * nuisances.repetitions
    where = "" if nuisances.repetitions == 1 else f" ({nuisances.repetitions} splits × {nuisances.k} folds)"
    for label, notes in nuisances.notes.items():
        messages.append(
            f"The {label} had trouble in {len(notes)} of {fits} cross-fitting folds{where}: {'; '.join(notes[:3])}. "
            "Its out-of-fold predictions may be inaccurate; the doubly robust estimate leans on the other model."
        )
    groups = nuisances.groups
    if groups is not None and groups.duplicate_rows:
        messages.append(
            f"{groups.duplicate_rows:,} rows are exact copies of {groups.duplicate_sets:,} distinct rows (same "
            "covariates, treatment and outcome): cross-fitting kept every set of copies in one fold, so no row was "
            "predicted by a model trained on its own copy. If the copies are one unit recorded twice, remove them "
            "(Data audit: duplicates); the SEs still count them as separate units."
        )
    return messages


# ---------------------------------------------------------------------------------------------
# Estimators on the cross-fitted nuisances
# ---------------------------------------------------------------------------------------------
def propensity_bounds(spec: EstimationSpec) -> tuple[float, float]:
    """The estimand-aware bounds the default path applies, so a learner changes the model and nothing else."""
    return effective_bounds(spec.clip, spec.estimand)


def clip_propensity(e: np.ndarray, spec: EstimationSpec) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = propensity_bounds(spec)
    return np.clip(e, lo, hi), (e > lo) & (e < hi)


def learned_propensity(design: Design, spec: EstimationSpec, nuisances: Nuisances) -> Propensity:
    """A Propensity built from the cross-fitted e, so balance, overlap and weights describe the reported IPW."""
    clipped, inside = clip_propensity(nuisances.e, spec)
    converged = not any(label.endswith("propensity model") for label in nuisances.notes)
    summary = LogitFit(
        beta=np.empty(0), p=nuisances.e, converged=converged, iterations=0, separated=False, hessian=np.empty((0, 0))
    )
    return Propensity(raw=nuisances.e, clipped=clipped, inside=inside, fit=summary, A=design.A1_ps, t=design.t)


def learned_ipw(design: Design, ps: Propensity, estimand: str, nuisances: Nuisances) -> EstimateRow:
    """The default Hájek IPW evaluated at the cross-fitted propensity, with the SE that treats e as known.

    A learner's fitting step has no closed-form influence function, so the only honest analytic SE is the
    fixed-weights sandwich; the label says what it ignores (no Monte Carlo coverage is claimed for it).
    """
    row = ipw(design, ps, estimand, "fixed_weights")
    base = f"cluster-robust sandwich ({design.n_clusters} clusters)" if design.clusters is not None else "robust sandwich"
    se_type = (
        f"{base}, {nuisances.k}-fold cross-fitted '{nuisances.ps_learner}' propensity treated as known "
        "(ignores its estimation; approximate)"
    )
    label = f"IPW (Hájek, cross-fitted {PS_LEARNERS[nuisances.ps_learner]} propensity)"
    return row.model_copy(update={"se_type": se_type, "se_method": describe_se(se_type), "label": label})


def learned_outcome_models(nuisances: Nuisances, binary: bool) -> OutcomeModels:
    separated = sorted(
        "treated" if "treated" in label else "control"
        for label, notes in nuisances.notes.items()
        if "outcome model" in label and any("only outcome value" in note or "separates" in note for note in notes)
    )
    kind = f"{OUTCOME_LEARNERS[nuisances.outcome_learner]}, {nuisances.k}-fold cross-fitted"
    return OutcomeModels(m0=nuisances.m0, m1=nuisances.m1, separated=separated, kind=kind)


def learned_aipw(design: Design, spec: EstimationSpec, nuisances: Nuisances) -> tuple[EstimateRow, dict[str, float]]:
    """AIPW on one split's out-of-fold e, μ0, μ1, with the arm means of its potential outcomes."""
    e, _ = clip_propensity(nuisances.e, spec)
    models = learned_outcome_models(nuisances, design.binary_outcome)
    label = (
        f", {nuisances.k}-fold cross-fitted out-of-fold scores ({spec.ps_learner} / {spec.outcome_learner}); "
        "approximate: valid when both learners are accurate enough (DML rate conditions)"
    )
    row, arm_means = aipw(design, e, models, spec.estimand, label)
    name = f"Doubly robust (AIPW, {nuisances.k}-fold cross-fitted {spec.ps_learner} / {spec.outcome_learner})"
    return row.model_copy(update={"label": name}), arm_means


def aipw_over_splits(
    design: Design, spec: EstimationSpec, splits: list[Nuisances]
) -> tuple[EstimateRow, dict[str, Any]]:
    """The AIPW row of a repeated cross-fit (median rule over the splits) and its spread, for any estimand.

    The specification curve calls this on nuisances it fitted once per design, so its row equals the page's.
    """
    rows = [learned_aipw(design, spec, nuisances)[0] for nuisances in splits]
    return aggregate_rows(rows, splits[0].k)


def fit_with_learners(
    core: CoreFit,
    design: Design,
    spec: EstimationSpec,
    methods: tuple[str, ...],
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Nuisances:
    """IPW and AIPW rows with the chosen learners, cross-fitted on R fold splits; fills core in place.

    With the exact logistic propensity the IPW row is the default one (its SE includes the propensity step);
    with a flexible propensity it is the median of the Hájek IPW on each split's cross-fitted e. AIPW is the
    median of its out-of-fold estimates. Balance, overlap, weights and the Models tab describe the split at the
    median (of AIPW when it runs, else IPW; the lower middle one for an even R), so they show a split the
    reported number comes from; the arm means average the middle split(s), so they difference to the median.
    """
    _check_spec(spec)
    clock = time.perf_counter()
    splits = repeated_nuisances(
        design, spec, need_outcome="aipw" in methods, progress=progress, should_stop=should_stop
    )
    core.timings["crossfit"] = time.perf_counter() - clock
    flexible_ps = spec.ps_learner != DEFAULT_PS_LEARNER
    per_split: dict[str, list[EstimateRow]] = {}
    if "ipw" in methods and flexible_ps:
        per_split["ipw"] = [
            learned_ipw(design, learned_propensity(design, spec, nuisances), spec.estimand, nuisances)
            for nuisances in splits
        ]
    means: list[dict[str, float]] = []
    if "aipw" in methods:
        fitted = [learned_aipw(design, spec, nuisances) for nuisances in splits]
        per_split["aipw"], means = [row for row, _ in fitted], [arm for _, arm in fitted]
    leading = per_split.get("aipw") or per_split.get("ipw")
    centre = central_split(np.array([row.estimate for row in leading])) if leading else [0]
    chosen = splits[centre[0]]
    core.ps = learned_propensity(design, spec, chosen) if flexible_ps else propensity(design, propensity_bounds(spec))
    w1, w0 = _ipw_weights(design.t, core.ps.clipped, spec.estimand)
    core.ipw_weights = w1 + w0
    spread: dict[str, Any] = {}
    for method in ("ipw", "aipw"):
        if method not in methods:
            continue
        if method not in per_split:  # the exact logistic propensity: the default IPW row, no split involved
            core.rows.append(ipw(design, core.ps, spec.estimand, spec.ipw_se))
            continue
        rows = per_split[method]
        row, spread[method] = aggregate_rows(rows, chosen.k)
        core.rows.append(row)
    if means:
        core.models = learned_outcome_models(chosen, design.binary_outcome)
        core.arm_means = {arm: float(np.mean([means[i][arm] for i in centre])) for arm in means[0]}
    core.learners = _merged(splits, centre[0], spread)  # read back by learner_warnings / learner_diagnostics
    return core.learners


def _merged(splits: list[Nuisances], centre: int, spread: dict[str, Any]) -> Nuisances:
    """The median split's nuisances carrying every split's fits and notes (Models tab, warnings) and the spread."""
    notes: dict[str, list[str]] = {}
    for nuisances in splits:
        for label, items in nuisances.notes.items():
            notes.setdefault(label, []).extend(items)
    fits = [fit for nuisances in splits for fit in nuisances.fits]
    return replace(splits[centre], fits=fits, notes=notes, repetitions=len(splits), spread=spread)


def learner_warnings(core: CoreFit) -> list[str]:
    nuisances = getattr(core, "learners", None)
    return nuisance_warnings(nuisances) if nuisances is not None else []


def with_learner_diagnostics(diagnostics: EstimationDiagnostics, core: CoreFit) -> EstimationDiagnostics:
    """The diagnostics with the learners' entries set (a new model; unchanged without a flexible learner).

    With a flexible propensity the 'propensity_model' entry is replaced (the default one describes a Newton
    fit) and the IPW entry says which SE its row reports ('se_note', shown by the page and the CLI).
    """
    nuisances: Nuisances | None = getattr(core, "learners", None)
    if nuisances is None:
        return diagnostics
    update = learner_diagnostics(nuisances)
    if nuisances.ps_learner != DEFAULT_PS_LEARNER:
        repeated = (f"; the median of {nuisances.repetitions} fold splits, its SE widened by their spread"
                    if nuisances.repetitions > 1 else "")
        update["ipw"] = diagnostics.ipw.model_copy(update={
            "se": "fixed_weights",
            "se_note": f"robust sandwich with the {nuisances.k}-fold cross-fitted '{nuisances.ps_learner}' propensity "
            f"treated as known (ignores its estimation; approximate){repeated}",
        })
    return diagnostics.model_copy(update=update)


def learner_diagnostics(nuisances: Nuisances) -> dict[str, Any]:
    """Diagnostics fields to set (Models tab): the learners' choices, folds, per-fit seconds and tuning, under
    'crossfit' the repeated splits' spread per row, and the flexible propensity's description."""
    seconds = LearnerSeconds(
        propensity=round(nuisances.seconds(f"'{nuisances.ps_learner}' propensity"), 4),
        outcome=round(nuisances.seconds(f"'{nuisances.outcome_learner}' outcome"), 4),
    )
    out: dict[str, Any] = {
        "learners": LearnerInfo(
            ps_learner=nuisances.ps_learner,
            ps_description=PS_LEARNERS[nuisances.ps_learner],
            outcome_learner=nuisances.outcome_learner,
            outcome_description=OUTCOME_LEARNERS[nuisances.outcome_learner],
            folds=nuisances.k,
            repetitions=nuisances.repetitions,
            fold_scheme=fold_scheme(nuisances.groups, nuisances.grouped),
            seconds=seconds,
            fits=nuisances.fits,
        ),
        "crossfit": crossfit_summary(nuisances),
    }
    if nuisances.ps_learner != DEFAULT_PS_LEARNER:
        out["propensity_model"] = PropensityModelInfo(
            kind=f"{PS_LEARNERS[nuisances.ps_learner]}, {nuisances.k}-fold cross-fitted (out-of-fold e)",
            converged=not any("propensity" in label for label in nuisances.notes),
            separated=False,
            seconds=seconds.propensity,
        )
    return out


def crossfit_summary(nuisances: Nuisances) -> CrossfitSummary:
    """The repeated cross-fit's entry, in the exact path's shape (``crossfit.crossfit_entry``): one for both."""
    first_seed = nuisances.seed - nuisances.split_index
    return crossfit_entry(nuisances.repetitions, nuisances.k, first_seed, nuisances.split_index, nuisances.groups,
                          nuisances.spread)
