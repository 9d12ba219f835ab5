"""Project-level steps (copy-on-write): what the page and the headless build call."""

from __future__ import annotations

import pandas as pd

from causal_core.diagnostics_models import BootstrapSummary
from causal_core.estimation.constants import EstimationError, ProgressFn, StopFn
from causal_core.estimation.design import build_design
from causal_core.estimation.pipeline import _apply_trimming, estimate_core, run_estimation
from causal_core.estimation.resampling import bootstrap
from causal_core.estimation.spec import (
    blocked_covariates,
    dag_identification_warning,
    override_covariate,
    true_effect,
    with_dictionary_categoricals,
)
from causal_core.project import (
    EstimationSpec,
    Project,
    utc_now,
)
from causal_core.staleness import inputs_for, stale


# ---------------------------------------------------------------------------------------------
# Project-level steps (copy-on-write): what the page and the headless build call
# ---------------------------------------------------------------------------------------------
def estimate_project(
    project: Project,
    frame: pd.DataFrame,
    spec: EstimationSpec,
    *,
    override_reason: str = "",
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    refutations: bool = True,
) -> Project:
    """Run the estimation and return a new project holding it; the input project is never changed.

    Ineligible covariates need ``override_reason``: each is logged as an "override" edit and kept in
    ``spec.overrides``. Choosing missing indicators is logged too. Raises EstimationError (nothing stored).
    """
    new_project = project
    spec = spec.model_copy(update={"overrides": [c for c in spec.overrides if c in spec.covariates]})
    spec = with_dictionary_categoricals(project, spec)
    blocked = blocked_covariates(project, spec)
    if blocked and not override_reason.strip():
        listed = "; ".join(f"{column}: {why}" for column, why in blocked.items())
        raise EstimationError(f"Ineligible covariate(s) need an explicit override with a reason — {listed}.")
    for column in blocked:
        new_project, spec = override_covariate(new_project, spec, column, override_reason)
    previous = project.estimation.spec.missing if project.estimation else "complete_case"
    if spec.missing != previous:
        new_project = new_project.with_edit(
            "estimation",
            "missing",
            previous,
            spec.missing,
            note="missing covariates: "
            + (
                "indicator columns + mean/level fill"
                if spec.missing == "indicator"
                else "complete cases (rows dropped and counted)"
            ),
        )
    truth = true_effect(project, frame, spec.estimand, spec.treatment)
    result = run_estimation(
        frame, spec, true_effect=truth, progress=progress, should_stop=should_stop, refutations=refutations
    )
    not_identified = dag_identification_warning(project)
    if not_identified:
        result = result.model_copy(update={"warnings": [not_identified, *result.warnings]})
    result = result.model_copy(update={"inputs": inputs_for(project, "estimation")})
    return new_project.model_copy(update={"estimation": result, "updated_at": result.created_at})


def add_bootstrap(
    project: Project,
    frame: pd.DataFrame,
    replicates: int,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Project:
    """Bootstrap SEs for IPW and AIPW added to the stored result (earlier bootstrap rows replaced)."""
    if project.estimation is None:
        raise EstimationError("Run the estimation before the bootstrap.")
    out_of_date = stale(project, "estimation")
    if out_of_date is not None:
        raise EstimationError(f"{out_of_date.sentence} The bootstrap would mix two analyses; run the estimation first.")
    if replicates < 2:
        raise EstimationError("The bootstrap needs at least 2 replicates (use 200 or more for a stable SE).")
    result = project.estimation
    spec = result.spec.model_copy(update={"bootstrap": int(replicates)})
    design = build_design(frame, spec)
    if spec.trim:
        design, _ = _apply_trimming(design, spec)
    core = estimate_core(design, spec, methods=("ipw", "aipw"))
    boot = bootstrap(design, spec, core, progress=progress, should_stop=should_stop)
    rows = [row for row in result.estimates if not row.se_type.startswith("bootstrap")] + boot.pop("rows")
    warnings = [w for w in result.warnings if not w.startswith("Bootstrap cancelled")]
    if boot["cancelled"]:
        warnings.append(boot["message"])
    updated = result.model_copy(
        update={
            "spec": spec,
            "estimates": rows,
            "warnings": warnings,
            "diagnostics": result.diagnostics.model_copy(update={"bootstrap": BootstrapSummary.model_validate(boot)})
            if result.diagnostics is not None else None,
        }
    )
    return project.model_copy(update={"estimation": updated, "updated_at": utc_now()})
