"""Orchestration: one specification run from design to diagnostics and warnings."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from causal_core.diagnostics_models import (
    ArmMeans,
    BootstrapSummary,
    EstimationDiagnostics,
    IntervalChecks,
    IPWInfo,
    OutcomeModelInfo,
    OverlapSummary,
    PropensityModelInfo,
    RegressionInfo,
    Trimming,
    WeightSummary,
)
from causal_core.estimation.constants import MIN_ARM_ROWS, EstimationError, ProgressFn, StopFn
from causal_core.estimation.design import Design, build_design
from causal_core.estimation.diagnostics import (
    balance_table,
    interval_checks,
    overlap_summary,
    trimming_rule,
    weight_summary,
)
from causal_core.estimation.estimators import (
    ALL_METHODS,
    CoreFit,
    _ipw_weights,
    aipw,
    bounds_note,
    check_crossfit_folds,
    effective_bounds,
    exact_crossfit,
    exact_crossfit_aipw,
    exact_repetition_count,
    gcomputation,
    ipw,
    naive_difference,
    no_adjustment_labels,
    outcome_models,
    propensity,
    regression,
)
from causal_core.estimation.interval_notes import contrast_bias_warnings
from causal_core.estimation.learners import (
    check_work_bound,
    fit_with_learners,
    learner_warnings,
    uses_learners,
    with_learner_diagnostics,
)
from causal_core.estimation.resampling import bootstrap
from causal_core.methods import parse_estimand
from causal_core.project import (
    EstimateRow,
    EstimationResult,
    EstimationSpec,
)
from causal_core.results import RefutationVerdict, SensitivityResult

# ---------------------------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------------------------


IPW_SE_NOTES = {
    "influence": "influence function including the propensity-estimation step",
    "fixed_weights": "robust sandwich treating the weights as known (What If's GEE SE: wider when the propensity "
                     "model is right, no protection when it is wrong)",
}


def estimate_core(
    design: Design,
    spec: EstimationSpec,
    methods: tuple[str, ...] = ALL_METHODS,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> CoreFit:
    """Run the chosen estimators on one design (no diagnostics): the unit that refutations repeat.

    ``progress`` / ``should_stop`` reach the cross-fitted learners (one report and one stop check per fit).
    """
    estimand = spec.estimand
    core = CoreFit(rows=[])
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        core.timings[name] = now - clock
        clock = now

    if "naive" in methods:
        core.rows.append(naive_difference(design, estimand))
        lap("naive")
    if "regression" in methods:
        row, core.regression_info = regression(design, estimand)
        core.rows.append(row)
        lap("regression")
    if "gcomp" in methods:
        core.rows.append(gcomputation(design, estimand))
        lap("gcomp")
    bounds = effective_bounds(spec.clip, estimand)
    if uses_learners(spec) and ("ipw" in methods or "aipw" in methods):  # scikit-learn learners, cross-fitted
        fit_with_learners(core, design, spec, methods, progress=progress, should_stop=should_stop)
        lap("learners")
        return core
    if "ipw" in methods or "aipw" in methods:
        core.ps = propensity(design, bounds)
        w1, w0 = _ipw_weights(design.t, core.ps.clipped, estimand)
        core.ipw_weights = w1 + w0  # exactly the weights behind the IPW row (balance, ESS and summaries use them)
        lap("propensity")
    if "ipw" in methods:
        core.rows.append(ipw(design, core.ps, estimand, spec.ipw_se))
        lap("ipw")
    if "aipw" in methods:
        row = _exact_aipw(core, design, spec, bounds, estimand)
        core.rows.append(row)
        lap("aipw")
    return core


def _exact_aipw(
    core: CoreFit, design: Design, spec: EstimationSpec, bounds: tuple[float, float], estimand: str
) -> EstimateRow:
    """AIPW with the exact fits: in-sample without folds; with K ≥ 2 folds, the median over R grouped splits.

    Fills core's propensities, outcome models, arm means (and the cross-fit's spread) from the split at the
    median, so the diagnostics describe a split the reported number comes from.
    """
    if spec.crossfit_folds < 2:
        core.models = outcome_models(design)
        core.aipw_propensity = core.ps.clipped
        row, core.arm_means = aipw(design, core.ps.clipped, core.models, estimand)
        return row
    repetitions = exact_repetition_count(spec.crossfit_repetitions)
    fit = exact_crossfit(design, spec.crossfit_folds, spec.seed, repetitions)
    result = exact_crossfit_aipw(design, fit, bounds, estimand)
    core.models, core.aipw_propensity, core.arm_means = result.models, result.e, result.arm_means
    core.crossfit = result.crossfit
    return result.row


def _separation_culprits(design: Design) -> list[str]:
    """Covariate columns that alone split the arms: a category level seen in one arm only, or non-overlapping ranges."""
    culprits = []
    treated = design.t == 1
    for _label, dummies in design.reference.values():
        for j in dummies:
            present = design.X[:, j] == 1
            if present.any() and (treated[present].all() or (~treated[present]).all()):
                culprits.append(f"{design.names[j]} (all {'treated' if treated[present].all() else 'control'})")
    for name in design.scales:
        j = design.names.index(name)
        x = design.X[:, j]
        if x[treated].min() > x[~treated].max() or x[treated].max() < x[~treated].min():
            culprits.append(f"{name} (no overlap in range)")
    return culprits


def _ess_warnings(design: Design, weights: WeightSummary, estimand: str) -> list[str]:
    """Warn when a reweighted arm's effective sample size is small against the population it stands for.

    ATE reweights each arm to all rows, so its ESS is judged against the arm's own size. ATT reweights the
    controls to the treated: an ESS of 417 controls standing for 185 treated units (NSW + CPS) is ample even
    though it is 3 % of 15,992 controls, so it is judged against min(controls, treated). ATC: the mirror.
    """
    n_treated, n_control = int(design.t.sum()), int(design.n - design.t.sum())
    out = []
    for arm, info in (("treated", weights.treated), ("control", weights.control)):
        reference = info.n
        if (estimand, arm) in (("ATT", "control"), ("ATC", "treated")):
            reference = min(n_treated, n_control)
        if info.ess < 0.3 * reference:
            out.append(
                f"Extreme weights in the {arm} arm: effective sample size {info.ess:.0f} of {info.n:,} rows "
                f"({info.ess / reference:.0%} of the {reference:,} it must represent); IPW is driven by a few rows: "
                f"the largest weight carries {info.max_normalised_weight:.1%} of the arm's total weight and the "
                f"top 1 % of rows ({info.n_top1pct:,}) carry {info.top1pct_weight_share:.1%}."
            )
    return out


def overlap_warnings(
    design: Design, core: CoreFit, overlap: OverlapSummary, weights: WeightSummary, estimand: str = "ATE"
) -> list[str]:
    """Plain-language warnings naming the estimators that are unreliable and why."""
    warnings = []
    ps = core.ps
    if ps is not None and ps.fit.separated:
        culprits = _separation_culprits(design)
        named = f" ({', '.join(culprits[:5])})" if culprits else ""
        warnings.append(
            "Perfect or quasi-perfect separation in the propensity model: some covariates predict treatment "
            f"exactly{named}. IPW and AIPW are unreliable (propensities at 0 or 1, weights only bounded by clipping); "
            "regression and g-computation compare arms only by extrapolating a linear model across the gap."
        )
    extreme = overlap.target_share_extreme
    if overlap.share_clipped > 0.05 or extreme > 0.2:
        warnings.append(
            f"Poor overlap: {overlap.share_clipped:.1%} of rows have an estimated propensity outside the bounds "
            f"applied [{overlap.clip[0]:g}, {overlap.clip[1]:g}] and {extreme:.1%} {overlap.target_extreme_text}. "
            "IPW and AIPW are unreliable there (few comparable units; clipping biases the weights) and regression extrapolates. "
            "Consider trimming (Crump rule), which changes the estimand."
        )
    warnings.extend(_ess_warnings(design, weights, estimand))
    if core.models is not None and core.models.separated:
        warnings.append(
            "The AIPW outcome model separates in the " + " and ".join(core.models.separated) + " arm(s) "
            "(predicted probabilities at 0 or 1); AIPW leans on the propensity weights there."
        )
    return warnings


def interval_check_warnings(checks: IntervalChecks | None) -> list[str]:
    """One warning naming what the weighting diagnostics found and what it does to the IPW and AIPW intervals."""
    reasons = checks.reasons if checks is not None else []
    if not reasons:
        return []
    return [
        "The IPW interval is approximate and AIPW's SE is qualified: " + "; ".join(reasons) + ". A wrong propensity "
        "model biases IPW (a wider SE does not fix bias); AIPW stays consistent if its outcome model is right, but "
        "its influence-function SE assumes both models right, so compare it with the bootstrap (Bootstrap replicates)."
    ]


def run_estimation(
    frame: pd.DataFrame,
    spec: EstimationSpec,
    *,
    true_effect: float | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    sensitivity: bool = True,
    refutations: bool = True,
) -> EstimationResult:
    """Estimate the spec's estimand with every method, plus diagnostics, sensitivity and refutations.

    Pure: the frame and spec are not changed; a bad input raises EstimationError before anything is computed.
    ``progress(fraction, message)`` is called between steps; ``should_stop()`` cancels the bootstrap.
    """
    report = progress or (lambda fraction, message: None)
    check_work_bound(spec, len(frame))  # arithmetic on the spec: refuses a run too big for the cores at once
    report(0.0, "Building the design matrix")
    design = build_design(frame, spec)
    warnings: list[str] = []
    trim_info: Trimming | None = None
    if spec.trim:
        design, trim_info = _apply_trimming(design, spec)
        warnings.append(trim_info.statement)
    check_crossfit_folds(design.t, spec.crossfit_folds)
    report(0.1, "Fitting the estimators")
    core = estimate_core(design, spec, progress=_sub_progress(report, 0.1, 0.4), should_stop=should_stop)
    refuse_non_finite(core.rows)
    report(0.4, "Diagnostics")
    diagnostics = with_learner_diagnostics(_diagnostics(design, spec, core), core)
    if core.crossfit is not None:
        diagnostics.crossfit = core.crossfit
    warnings.extend(learner_warnings(core))
    diagnostics.trimming = trim_info
    warnings.extend(overlap_warnings(design, core, diagnostics.overlap, diagnostics.weights, spec.estimand))
    warnings.extend(interval_check_warnings(diagnostics.interval_checks))
    warnings.extend(
        f"Override: '{column}' is adjusted for although it is ineligible (logged in the edit log; the memo flags it)."
        for column in spec.overrides
    )
    rows = no_adjustment_labels(design, list(core.rows))
    warnings.extend(contrast_bias_warnings(rows, diagnostics))
    if spec.bootstrap > 0:
        report(0.45, f"Bootstrap ({spec.bootstrap} replicates)")
        boot = bootstrap(design, spec, core, progress=_sub_progress(report, 0.45, 0.6), should_stop=should_stop)
        rows.extend(boot.pop("rows"))
        diagnostics.bootstrap = BootstrapSummary.model_validate(boot)
        if diagnostics.bootstrap.cancelled:
            warnings.append(diagnostics.bootstrap.message or "Bootstrap cancelled.")
    result_sensitivity = SensitivityResult()
    if sensitivity:
        report(0.6, "Sensitivity analysis")
        from causal_core.estimation import sensitivity as sensitivity_module

        result_sensitivity = sensitivity_module.summarise(design, core, spec)
    result_refutations: list[RefutationVerdict] = []
    if refutations:
        from causal_core.estimation import refutation

        report(0.7, "Refutation tests")
        result_refutations = refutation.run_refutations(
            design, spec, core, estimate_core, frame,
            progress=_sub_progress(report, 0.7, 1.0), should_stop=should_stop,
        )
    report(1.0, "Done")
    return EstimationResult(
        spec=spec,
        n_used=design.n,
        dropped=design.dropped,
        estimates=rows,
        true_effect=true_effect,
        diagnostics=diagnostics,
        balance=balance_table(design, core.ipw_weights),
        sensitivity=result_sensitivity,
        refutations=result_refutations,
        warnings=warnings,
    )


def refuse_non_finite(rows: list) -> None:
    """Never hand back a NaN or infinite estimate as if it were a result (it also could not be saved and reopened)."""
    bad = [row.method for row in rows if not np.isfinite(row.estimate)]
    if bad:
        raise EstimationError(
            f"The {', '.join(bad)} estimate(s) came out as a non-finite number: the data or the specification is "
            "degenerate (check the outcome and the covariates for extreme values). Nothing was stored."
        )


def _sub_progress(report: ProgressFn, start: float, end: float) -> ProgressFn:
    """Map a step's own 0–1 progress into its slice of the overall bar."""
    return lambda fraction, message: report(start + (end - start) * fraction, message)


def _apply_trimming(design: Design, spec: EstimationSpec) -> tuple[Design, Trimming]:
    """Drop rows with extreme estimated propensities and say plainly how the estimand changed."""
    ps = propensity(design, spec.clip)
    bounds = trimming_rule(spec, ps.raw)
    rule = "Crump et al. (2009) rule" if spec.trim == "crump" else "the clip bounds"
    if bounds is None:
        return design, Trimming(
            rule=spec.trim, bounds=None, kept=design.n, dropped=0,
            statement=f"Trimming by {rule}: overlap is adequate, no rows trimmed; the estimand is unchanged.",
        )
    lo, hi = bounds
    keep = (ps.raw >= lo) & (ps.raw <= hi)
    trimmed = design.subset(keep)
    n_treated, n_control = int(trimmed.t.sum()), int(trimmed.n - trimmed.t.sum())
    _refuse_empty_target(spec.estimand, n_treated, n_control, lo, hi, design)
    if min(n_treated, n_control) < MIN_ARM_ROWS:
        raise EstimationError(
            f"Trimming to propensities in [{lo:.3f}, {hi:.3f}] leaves {n_treated} treated and {n_control} control rows;"
            f" at least {MIN_ARM_ROWS} of each are needed. Use wider bounds or no trimming."
        )
    removed = design.n - trimmed.n
    trimmed.dropped = {**design.dropped, f"trimmed (propensity outside [{lo:.3f}, {hi:.3f}])": removed}
    population = parse_estimand(spec.estimand).population
    statement = (
        f"Trimming by {rule} kept {trimmed.n:,} of {design.n:,} rows with estimated propensity in [{lo:.3f}, {hi:.3f}]: "
        f"the estimand is now the {spec.estimand} in this overlap population, not for {population}."
    )
    return trimmed, Trimming(rule=spec.trim, bounds=(lo, hi), kept=trimmed.n, dropped=removed, statement=statement)


def _refuse_empty_target(estimand: str, n_treated: int, n_control: int, lo: float, hi: float, design: Design) -> None:
    """ATT (ATC) after trimming with no treated (control) row left has no population to describe: say so."""
    value = parse_estimand(estimand).target_arm
    if value is None or (n_treated if value == 1 else n_control) > 0:
        return
    name = "treated" if value == 1 else "control"
    before = int(np.sum(design.t == value))
    raise EstimationError(
        f"Trimming to propensities in [{lo:.3f}, {hi:.3f}] removes every {name} row (all {before:,} lie outside): the "
        f"{estimand} is the effect on the {name} units, and none is left to describe. Use wider bounds, no trimming, "
        "or the ATE in the overlap population."
    )


def _diagnostics(design: Design, spec: EstimationSpec, core: CoreFit) -> EstimationDiagnostics:
    """The run's typed diagnostics (learners, cross-fit, trimming and bootstrap are added by ``run_estimation``)."""
    weights = core.ipw_weights
    fit = core.ps.fit
    return EstimationDiagnostics(
        n_treated=int(design.t.sum()),
        n_control=int(design.n - design.t.sum()),
        n_clusters=design.n_clusters,
        binary_outcome=design.binary_outcome,
        outcome_sd=float(design.y.std(ddof=1)),
        control_mean=float(design.y[design.t == 0].mean()),
        treated_mean=float(design.y[design.t == 1].mean()),
        design_columns=list(design.names),
        notes=list(design.notes),
        missing_handling=spec.missing,
        overlap=overlap_summary(design, core.ps, effective_bounds(spec.clip, spec.estimand), spec.estimand),
        ipw=IPWInfo(
            form="Hájek (weights normalised within each arm)",
            bounds=effective_bounds(spec.clip, spec.estimand),
            bounds_note=bounds_note(spec.clip, spec.estimand),
            se=spec.ipw_se,
            se_note=IPW_SE_NOTES.get(spec.ipw_se, spec.ipw_se),
        ),
        weights=weight_summary(design, weights),
        propensity_model=PropensityModelInfo(
            kind="logistic (unpenalised, Newton)", converged=fit.converged, iterations=fit.iterations,
            separated=fit.separated, parameters=int(fit.beta.size),
        ),
        outcome_model=OutcomeModelInfo(
            kind=core.models.kind, separated_arms=list(core.models.separated), crossfit_folds=spec.crossfit_folds
        ),
        regression=RegressionInfo.model_validate(core.regression_info) if core.regression_info else None,
        interval_checks=interval_checks(design, core.ps, weights, core.models, core.aipw_propensity, spec.estimand),
        arm_means=ArmMeans.model_validate(core.arm_means) if core.arm_means else None,
        timings_s={key: round(value, 4) for key, value in core.timings.items()},
    )
