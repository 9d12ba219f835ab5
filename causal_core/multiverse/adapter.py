"""The one narrow door between the specification curve and the estimation/DAG packages.

Why one module: estimation and identification are being reworked while the curve is built on them. Every
call the curve makes into them goes through the functions below, so a changed signature is fixed here once,
and ``tests/test_multiverse.py`` checks that each curve row equals what the Estimation page reports for the
same specification.

Sharing (the speed target): one design per (rows, treatment, outcome, adjustment set); the cluster choice is a
view of it (clusters change SEs, not fits). One trimmed design per distinct set of kept rows, and one unclipped
propensity fit, one pair of outcome models and one cross-fit per (design, trimming), shared by IPW, AIPW and
every estimand (each estimand's clip bounds are applied to the shared scores). Nothing two specifications share
is refitted.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causal_core import dag as dag_module
from causal_core import estimation as est
from causal_core.data import analysis_frame as _analysis_frame
from causal_core.data import deduplicate
from causal_core.estimation import EstimationError  # noqa: F401 - re-exported: the curve's errors subclass it
from causal_core.estimation.analysis_spec import analysis_spec as _analysis_spec
from causal_core.estimation.analysis_spec import vary_spec
from causal_core.estimation.estimators import exact_crossfit, exact_crossfit_aipw, exact_repetition_count
from causal_core.estimation.spec import _default_candidate
from causal_core.methods import Estimand
from causal_core.project import EstimateRow, EstimationSpec, Project


class StoppedError(Exception):
    """The analyst pressed Stop inside a long fit (a learner's cross-fitting): the row is 'stopped', not failed."""


# Learner pairs for cross-fitted AIPW: name -> (propensity learner, outcome learner, label).
LEARNERS: dict[str, tuple[str, str, str]] = {
    "exact": ("logistic", "linear", "logistic / linear (exact)"),
    "penalised": ("logistic_cv", "ridge_cv", "penalised CV (logistic CV / ridge CV)"),
    "boosting": ("boosting", "boosting", "gradient boosting"),
}


# ---- project and dictionary -------------------------------------------------------------------
def analysis_frame(project: Project, raw: pd.DataFrame, dedup: str | None = None) -> pd.DataFrame:
    """The rows an analysis uses under a de-duplication rule (the project's own rule by default)."""
    if dedup is None:
        return _analysis_frame(project, raw)
    return deduplicate(raw, project.unit_columns, dedup)


def ineligible_reason(project: Project, column: str) -> str | None:
    return est.ineligible_reason(project, column)


def default_candidate(project: Project, frame: pd.DataFrame, column: str) -> bool:
    return _default_candidate(project, frame, column)


def default_covariates(project: Project, frame: pd.DataFrame) -> list[str]:
    return list(est.default_covariates(project, frame)[0])


def default_estimand(project: Project) -> str:
    return est.default_estimand(project)


def treated_value(project: Project) -> str | None:
    return est.audit_treated_value(project)


def true_effect(project: Project, frame: pd.DataFrame, estimand: str, treatment: str) -> float | None:
    return est.true_effect(project, frame, estimand, treatment)


def categorical_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    return est.categorical_columns(frame, columns)


def bad_control_columns(project: Project, frame: pd.DataFrame) -> list[str]:
    """Measured columns that are post-treatment by the dictionary or the DAG (mediators, outcome-window,
    descendants of the treatment): the classic bad controls. Simulation truth, identifiers, the treatment,
    the outcome and dates are never offered, not even as a demonstration."""
    skip = {project.treatment, project.outcome, project.time_column, *project.unit_columns}
    columns = []
    for column in frame.columns:
        entry = project.dictionary_entry(column)
        if column in skip or (entry is not None and entry.simulation_truth):
            continue
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            continue
        reason = est.ineligible_reason(project, column) or ""
        if any(word in reason for word in ("post-treatment", "outcome window", "future", "treatment period")):
            columns.append(column)
    return columns


# ---- the DAG ------------------------------------------------------------------------------------
def _usable_dag(project: Project) -> bool:
    dag = project.dag
    return dag is not None and bool(dag.treatment) and bool(dag.outcome)


def dag_minimal_sets(
    project: Project, columns: list[str]
) -> tuple[list[list[str]] | None, list[str] | None, str, list[list[str]]] | None:
    """(backdoor minimal sets, recommended set, note, adjustment-criterion minimal sets), all as columns; None
    without a DAG; minimal None when the DAG does not identify the effect by adjustment (the note says why)."""
    if not _usable_dag(project):
        return None
    dag = project.dag
    try:
        ident = dag_module.identify(dag, dag.treatment, dag.outcome)
    except ValueError as error:
        return None, None, f"The DAG could not be analysed ({error}): no set can be called valid.", []
    if not ident.identifiable or ident.recommended_set is None:
        return None, None, ident.note or "The DAG does not identify the effect by adjustment.", []
    available = set(columns)

    def as_columns(nodes: list[str]) -> list[str]:
        return [c for c in dag_module.adjustment_columns(dag, nodes) if c in available]

    minimal = [as_columns(nodes) for nodes in ident.minimal_sets]
    note = ident.note if ident.capped else ""
    criterion = [as_columns(nodes) for nodes in getattr(ident, "criterion_sets", [])]
    return minimal, as_columns(ident.recommended_set), note, criterion


def dag_adjusted_columns(project: Project) -> list[str]:
    """The DAG's `adjusted` nodes (DAGitty) as columns: the analyst's set before any estimation."""
    if project.dag is None or not project.dag.adjusted:
        return []
    return dag_module.adjustment_columns(project.dag, project.dag.adjusted)


def check_set(project: Project, columns: list[str]) -> tuple[str, str] | None:
    """('valid'|'invalid'|'unchecked', reason) by the DAG's backdoor check; None without a usable DAG.

    Columns with no DAG node are not judged (the DAG says nothing about them) and the reason says so.
    """
    if not _usable_dag(project):
        return None
    dag = project.dag
    nodes, unmodelled = [], []
    for column in columns:
        node = dag_module.node_for_column(dag, column)
        (nodes if node is not None else unmodelled).append(node or column)
    try:
        verdict = dag_module.check_adjustment_set(dag, dag.treatment, dag.outcome, nodes)
    except ValueError as error:
        return "unchecked", f"the DAG could not be checked ({error})"
    extra = f" (not in the DAG, not judged: {', '.join(unmodelled)})" if unmodelled else ""
    if not verdict.valid and getattr(verdict, "criterion_valid", None):  # complete criterion: valid adjustment
        return (
            "valid",
            "valid under the adjustment criterion (the backdoor criterion rejects it: " + verdict.reason + ")" + extra,
        )
    return ("valid" if verdict.valid else "invalid"), verdict.reason + extra


# ---- estimation ---------------------------------------------------------------------------------
def available_learners() -> dict[str, str]:
    """Learner pairs this build can cross-fit (the scikit-learn ones only once estimation offers them)."""
    names = {"exact": LEARNERS["exact"][2]}
    if _learner_module() is not None:
        names.update({name: LEARNERS[name][2] for name in ("penalised", "boosting")})
    return names


def _learner_module() -> Any:
    """The scikit-learn learners module, if this build has it (checked without importing scikit-learn)."""
    import importlib.util

    if importlib.util.find_spec("causal_core.estimation.learners") is None:
        return None
    return True


def analysis_spec(project: Project, frame: pd.DataFrame) -> EstimationSpec:
    """The project's own analysis (the Estimation page's spec, dictionary categoricals applied)."""
    return _analysis_spec(project, frame)


def make_spec(
    base: EstimationSpec,
    project: Project,
    frame: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: list[str],
    cluster: str | None,
    form: str,
    seed: int | None = None,
) -> EstimationSpec:
    """One specification as a variation of the analysis spec (never a design rebuilt from dtypes).

    ``seed`` replaces the analysis' seed only when given (a curve run before any estimation)."""
    spec = vary_spec(
        base, project, frame, treatment=treatment, outcome=outcome, covariates=covariates, cluster=cluster, form=form
    )
    return spec if seed is None else spec.model_copy(update={"seed": seed})


def build_design(frame: pd.DataFrame, spec: EstimationSpec) -> est.Design:
    return est.build_design(frame, spec)


def without_clusters(design: est.Design) -> est.Design:
    """The same rows and columns with independent-row SEs (the cluster choice only changes SEs)."""
    copy = design.subset(np.ones(design.n, dtype=bool))
    copy.clusters, copy.n_clusters = None, 0
    return copy


@dataclass
class Trimmed:
    """One trimming choice applied to a design: which rows it keeps (None = all) and the plain statement of
    what changed. ``key`` names the kept rows, so two rules keeping the same rows share one design and fit."""

    keep: np.ndarray | None
    key: str | None
    bounds: tuple[float, float] | None
    statement: str


@dataclass
class SharedFits:
    """Lazily computed, cached nuisance fits for one (design, trimming): shared by every estimand and estimator.

    ``view(design)`` gives the same fits on a copy of the design that differs only in its cluster ids, so
    the cluster choice (which changes SEs, not estimates) refits nothing.
    """

    design: est.Design
    spec: EstimationSpec
    cache: dict[str, Any] = field(default_factory=dict)
    fits: dict[str, int] = field(default_factory=lambda: {"propensity": 0, "outcome": 0, "crossfit": 0})

    def view(self, design: est.Design) -> SharedFits:
        return SharedFits(design, self.spec, self.cache, self.fits)

    def fitted_propensity(self) -> Any:
        """The propensity model, fitted once per (design, trimming): unclipped, shared by every estimand."""
        if "ps" not in self.cache:
            self.cache["ps"] = est.propensity(self.design, (0.0, 1.0))
            self.fits["propensity"] += 1
        return self.cache["ps"]

    def propensity(self, estimand: str) -> Any:
        """The shared fit clipped to this estimand's bounds (ATT: upper only, ATC: lower only, ATE: both),
        exactly as the Estimation page clips it; re-clipping refits nothing."""
        lo, hi = est.effective_bounds(self.spec.clip, estimand)
        key = f"ps:{lo}:{hi}"
        if key not in self.cache:
            ps = self.fitted_propensity()
            inside = (ps.raw > lo) & (ps.raw < hi)
            self.cache[key] = dataclasses.replace(ps, clipped=np.clip(ps.raw, lo, hi), inside=inside)
        return self.cache[key]

    def outcome_models(self) -> Any:
        if "models" not in self.cache:
            self.cache["models"] = est.outcome_models(self.design)
            self.fits["outcome"] += 1
        return self.cache["models"]

    def crossfit_exact(self, folds_k: int, estimand: str) -> EstimateRow:
        """The exact cross-fitted AIPW row: R grouped splits fitted once per design (unclipped, estimand-free),
        then clipped and aggregated per estimand by the Estimation page's own function, so the rows are equal."""
        key = f"crossfit:{folds_k}:{_fold_key(self.design)}"
        if key not in self.cache:
            repetitions = exact_repetition_count(self.spec.crossfit_repetitions)
            self.cache[key] = exact_crossfit(self.design, folds_k, self.spec.seed, repetitions)
            self.fits["crossfit"] += 1
        bounds = est.effective_bounds(self.spec.clip, estimand)
        return exact_crossfit_aipw(self.design, self.cache[key], bounds, estimand).row

    def overlap_share(self, estimand: str) -> float:
        """Share of estimated propensities beyond this estimand's bounds (what the interval notes read)."""
        lo, hi = est.effective_bounds(self.spec.clip, estimand)
        raw = self.fitted_propensity().raw
        return float(np.mean((raw < lo) | (raw > hi)))


def trim(fits: SharedFits, rule: str, estimand: str) -> Trimmed:
    """Apply a trimming rule with the untrimmed design's propensity fit (shared, not refitted)."""
    design = fits.design
    if rule == "none":
        return Trimmed(None, None, None, "")
    spec = fits.spec.model_copy(update={"trim": rule, "estimand": Estimand(estimand)})
    raw = fits.fitted_propensity().raw
    bounds = est.trimming_rule(spec, raw)
    name = "the Crump et al. (2009) rule" if rule == "crump" else "the clip bounds"
    if bounds is None:
        return Trimmed(None, None, None, f"Trimming by {name}: overlap is adequate, no rows trimmed.")
    lo, hi = bounds
    keep = (raw >= lo) & (raw <= hi)
    if keep.all():
        return Trimmed(None, None, None, f"Trimming by {name} to [{lo:.3f}, {hi:.3f}]: no row lies outside.")
    n_treated = int(design.t[keep].sum())
    n_control = int(keep.sum()) - n_treated
    refuse_empty_target = getattr(est.pipeline, "_refuse_empty_target", None)
    if refuse_empty_target is not None:  # the Estimation page's own message for an ATT/ATC with no target rows
        refuse_empty_target(estimand, n_treated, n_control, lo, hi, design)
    if min(n_treated, n_control) < est.MIN_ARM_ROWS:
        raise EstimationError(
            f"Trimming to propensities in [{lo:.3f}, {hi:.3f}] leaves {n_treated} treated and {n_control} control "
            f"rows; at least {est.MIN_ARM_ROWS} of each are needed."
        )
    statement = (
        f"Trimming by {name} kept {int(keep.sum()):,} of {design.n:,} rows (propensity in [{lo:.3f}, {hi:.3f}]): "
        "the estimand is the effect in this overlap population."
    )
    key = hashlib.blake2b(np.packbits(keep).tobytes(), digest_size=16).hexdigest()
    return Trimmed(keep, key, (float(lo), float(hi)), statement)


def estimate(
    fits: SharedFits,
    estimator: str,
    estimand: str,
    folds_k: int,
    *,
    progress: est.ProgressFn | None = None,
    should_stop: est.StopFn | None = None,
) -> EstimateRow:
    """One estimator's row on a (design, trimming), reusing the fits cached on ``fits``. ``progress`` and
    ``should_stop`` reach the scikit-learn learners' cross-fitting (one report and one check per fit)."""
    design = fits.design
    if estimator == "naive":
        return est.naive_difference(design, estimand)
    if estimator == "regression":
        return est.regression(design, estimand)[0]
    if estimator == "gcomp":
        return est.gcomputation(design, estimand)
    if estimator == "ipw":
        return est.ipw(design, fits.propensity(estimand), estimand, fits.spec.ipw_se)
    if estimator == "aipw":
        return est.aipw(design, fits.propensity(estimand).clipped, fits.outcome_models(), estimand)[0]
    if estimator.startswith("aipw_cf:"):
        learner = estimator.split(":", 1)[1]
        return _crossfit_row(fits, learner, estimand, folds_k, progress, should_stop)
    raise EstimationError(f"Unknown estimator {estimator!r}.")


def _fold_key(design: est.Design) -> str:
    """What the folds depend on besides K and the seed: the cluster ids (whole clusters share a fold).

    The cluster choice is a view of one design, so without this the unclustered view would reuse the clustered
    view's folds (or the reverse) and its cross-fitted row would differ from the Estimation page's.
    """
    if design.clusters is None:
        return "rows"
    return hashlib.blake2b(np.ascontiguousarray(design.clusters).tobytes(), digest_size=12).hexdigest()


def _crossfit_row(
    fits: SharedFits,
    learner: str,
    estimand: str,
    folds_k: int,
    progress: est.ProgressFn | None = None,
    should_stop: est.StopFn | None = None,
) -> EstimateRow:
    design = fits.design
    if learner == "exact":
        return fits.crossfit_exact(folds_k, estimand)
    if learner not in available_learners():
        raise EstimationError(f"The learner {learner!r} is not available in this build.")
    from causal_core.estimation import learners as learner_module

    ps_learner, outcome_learner, _ = LEARNERS[learner]
    spec = fits.spec.model_copy(
        update={"ps_learner": ps_learner, "outcome_learner": outcome_learner, "crossfit_folds": folds_k}
    )
    key = f"learners:{learner}:{folds_k}:{_fold_key(design)}"
    if key not in fits.cache:  # the out-of-fold e, μ0, μ1 do not depend on the estimand: fitted once per design
        try:  # R fold splits, as on the Estimation page (the spec's crossfit_repetitions)
            fits.cache[key] = learner_module.repeated_nuisances(
                design, spec, need_outcome=True, progress=progress, should_stop=should_stop
            )
        except learner_module.LearnerStopped as stopped:
            raise StoppedError(str(stopped)) from stopped
        fits.fits["crossfit"] += 1
    # the page's own row (median over the splits, same label), so the interval note matches
    return learner_module.aipw_over_splits(design, spec.model_copy(update={"estimand": Estimand(estimand)}), fits.cache[key])[0]


def interval_note(row: EstimateRow, overlap_share: float | None) -> str:
    """The Estimation page's note for this row's interval (from the measured coverage table), or ''."""
    try:
        from causal_core.estimation.interval_notes import IntervalEvidence
        from causal_core.estimation.interval_notes import interval_note as note_for
    except ImportError:
        return "Approximate: this interval's coverage has not been measured."
    return note_for(row, IntervalEvidence(share_clipped=overlap_share)) or ""
