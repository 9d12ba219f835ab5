"""Eligibility of covariates, the default specification and the simulation truth."""

from __future__ import annotations

import pandas as pd

from causal_core import dag as dag_module
from causal_core.estimation.constants import EstimationError
from causal_core.methods import ALL_ESTIMANDS, Estimand, parse_estimand
from causal_core.project import (
    EstimationSpec,
    Project,
    Timing,
)
from causal_core.question import estimand_kind

# ---------------------------------------------------------------------------------------------
# Eligibility and the default specification
# ---------------------------------------------------------------------------------------------
_TIMING_REASONS = {
    Timing.post_treatment: "post-treatment: measured after the treatment, so adjusting for it removes part of the "
    "effect (mediator) or opens a collider path",
    Timing.outcome: "measured in the outcome window: adjusting for an outcome-period variable biases the effect",
    Timing.future: "measured in the future (after the outcome window): adjusting for it leaks the outcome",
    Timing.treatment: "measured in the treatment period, not before it",
    Timing.unit_id: "a unit identifier, not a characteristic",
    Timing.time_id: "a time identifier, not a pre-treatment characteristic",
}


def _dag_descendant_columns(project: Project) -> set[str]:
    """Columns whose DAG node descends from the treatment node: post-treatment by the analyst's own DAG."""
    dag = project.dag
    if dag is None or not dag.treatment:
        return set()
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(node.name for node in dag.nodes)
    graph.add_edges_from((edge.source, edge.target) for edge in dag.edges)
    if dag.treatment not in graph:
        return set()
    descendants = nx.descendants(graph, dag.treatment)
    return {node.column for node in dag.nodes if node.name in descendants and node.column}


def ineligible_reason(project: Project, column: str) -> str | None:
    """Why a column may not enter a total-effect adjustment set (None = eligible).

    Choosing an ineligible column needs an explicit, logged override (see ``override_covariate``).
    Unknown timing is *not* a reason to block: it is never defaulted in, but the analyst may choose it.
    """
    if project.treatment and column == project.treatment:
        return "it is the treatment itself"
    if project.outcome and column == project.outcome:
        return "it is the outcome"
    if column in project.guardrails:
        return "it is a guardrail outcome (measured in the outcome window)"
    entry = project.dictionary_entry(column)
    if entry is not None and entry.simulation_truth:
        return "simulation truth: known only inside the simulation, never observable, never a covariate"
    if project.time_column and column == project.time_column:
        return "a time identifier, not a pre-treatment characteristic"
    if column in project.unit_columns:
        return "a unit identifier, not a characteristic"
    timing = project.timing_of(column)
    if timing in _TIMING_REASONS:
        label = f" ('{entry.timing_label}')" if entry is not None and entry.timing_label else ""
        return f"{_TIMING_REASONS[timing]}{label}"
    if column in _dag_descendant_columns(project):
        return "post-treatment by the DAG: it is a descendant of the treatment"
    return None


def _default_candidate(project: Project, frame: pd.DataFrame, column: str) -> bool:
    """Pre-treatment by the dictionary, eligible, and usable as a covariate (not a date, not an id-like text)."""
    if project.timing_of(column) != Timing.pre_treatment or ineligible_reason(project, column) is not None:
        return False
    series = frame[column]
    if pd.api.types.is_datetime64_any_dtype(series):
        return False
    return pd.api.types.is_numeric_dtype(series) or series.nunique(dropna=True) <= 50


def dag_adjustment(project: Project, frame: pd.DataFrame) -> tuple[list[str] | None, str]:
    """The DAG's recommended adjustment set as data columns, or None with the reason it is unavailable."""
    if project.dag is None or not project.dag.treatment or not project.dag.outcome:
        return None, "no DAG with a treatment and an outcome yet"
    try:
        identification = dag_module.identify(project.dag, project.dag.treatment, project.dag.outcome)
        if not identification.identifiable or identification.recommended_set is None:
            return None, f"the DAG does not identify the effect by adjustment ({identification.note or 'no valid set'})"
        columns = dag_module.adjustment_columns(project.dag, identification.recommended_set)
    except Exception as error:  # noqa: BLE001 - a broken DAG must not break estimation; fall back and say why
        return None, f"the DAG could not be analysed ({error})"
    return [column for column in columns if column in frame.columns], "the DAG's recommended adjustment set"


def analyst_adjusted_set(project: Project, frame: pd.DataFrame) -> tuple[list[str] | None, str]:
    """The DAG's ``adjusted`` nodes (the analyst's own set, DAGitty's `adjusted`) as data columns when the DAG
    says the set is valid; else None with the reason. Why first: a set the analyst chose and the graph accepts
    is the analysis they mean to defend, so Estimation starts from it rather than from the engine's pick."""
    dag = project.dag
    if dag is None or not dag.adjusted or not dag.treatment or not dag.outcome:
        return None, ""
    try:
        check = dag_module.check_adjustment_set(dag, dag.treatment, dag.outcome, dag.adjusted)
    except Exception as error:  # noqa: BLE001 - a broken DAG must not break estimation; fall back and say why
        return None, f"the DAG's adjusted set could not be checked ({error})"
    if not (check.valid or check.criterion_valid):
        return None, f"the DAG's adjusted set {{{', '.join(dag.adjusted)}}} is not valid ({check.reason})"
    columns = dag_module.adjustment_columns(dag, dag.adjusted)
    return [column for column in columns if column in frame.columns], "the DAG's adjusted set (the analyst's choice)"


def default_covariates(project: Project, frame: pd.DataFrame) -> tuple[list[str], str]:
    """Default adjustment set and where it came from: the DAG's valid `adjusted` set, else the DAG's
    recommendation, else the eligible pre-treatment columns."""
    from_analyst, analyst_note = analyst_adjusted_set(project, frame)
    from_dag, note = (from_analyst, analyst_note) if from_analyst is not None else dag_adjustment(project, frame)
    if from_analyst is None and analyst_note:
        note = f"{note}; {analyst_note}"
    if from_dag is not None:
        eligible = [column for column in from_dag if ineligible_reason(project, column) is None]
        removed = sorted(set(from_dag) - set(eligible))
        if removed:
            note += f" (ineligible columns left out: {', '.join(removed)})"
        return eligible, note
    columns = [column for column in frame.columns if _default_candidate(project, frame, column)]
    return columns, f"the dictionary's eligible pre-treatment columns ({note})"


def default_estimand(project: Project) -> Estimand:
    """The approved card's estimand, read exactly as the Question page and the memo's consistency check
    read it (one parser, so the three stages cannot disagree). CATE/LATE and unnamed estimands fall back
    to ATE: this page estimates ATE, ATT and ATC only."""
    card = project.estimand_card
    if card is None or project.card_status != "approved":
        return Estimand.ATE
    kind = estimand_kind(card.estimand)
    return Estimand(kind) if kind in ALL_ESTIMANDS else Estimand.ATE


def categorical_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Non-numeric covariates are one-hot encoded (booleans count as numeric 0/1)."""
    return [
        column
        for column in columns
        if column in frame.columns
        and not (pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]))
    ]


def project_categoricals(project: Project, frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Covariates coded as levels: the non-numeric ones, and the ones the dictionary marks categorical.

    Why the dictionary: NHEFS's education (1–5), exercise and active are stored as numbers but are unordered
    categories; entering them as one slope is a modelling claim the analyst did not make.
    """
    flagged = {entry.variable for entry in project.dictionary if entry.categorical}
    automatic = set(categorical_columns(frame, columns))
    return [column for column in columns if column in automatic or column in flagged]


def with_dictionary_categoricals(project: Project, spec: EstimationSpec) -> EstimationSpec:
    """The spec with every covariate the dictionary marks categorical in ``spec.categorical`` (order kept)."""
    flagged = {entry.variable for entry in project.dictionary if entry.categorical}
    wanted = [c for c in spec.covariates if c in flagged and c not in spec.categorical]
    return spec.model_copy(update={"categorical": [*spec.categorical, *wanted]}) if wanted else spec


def default_spec(project: Project, frame: pd.DataFrame) -> EstimationSpec:
    """The specification the page starts from: roles from the project, covariates from the DAG or dictionary."""
    treatment = project.treatment or (project.dag.treatment if project.dag else None)
    outcome = project.outcome or (project.dag.outcome if project.dag else None)
    if not treatment or not outcome:
        raise EstimationError("Set the treatment and the outcome (Question or Overview page) before estimating.")
    covariates, _ = default_covariates(project, frame)
    cluster = project.cluster_column if project.cluster_column in frame.columns else None
    return EstimationSpec(
        treatment=treatment,
        outcome=outcome,
        covariates=covariates,
        categorical=project_categoricals(project, frame, covariates),
        estimand=default_estimand(project),
        cluster=cluster,
        treated_value=audit_treated_value(project),
    )


def audit_treated_value(project: Project) -> str | None:
    """The data audit's treated-value mapping for a two-valued text treatment, if the analyst set one."""
    return project.data_audit.settings.get("treated_value") if project.data_audit else None


def override_covariate(
    project: Project, spec: EstimationSpec, column: str, reason: str
) -> tuple[Project, EstimationSpec]:
    """Add an ineligible column on purpose: logged in the edit log and kept in ``spec.overrides`` for the memo."""
    why_blocked = ineligible_reason(project, column)
    if why_blocked is None:
        raise EstimationError(f"'{column}' is eligible; no override is needed.")
    if not reason.strip():
        raise EstimationError(f"Give a reason for adjusting for '{column}' ({why_blocked}).")
    covariates = spec.covariates if column in spec.covariates else [*spec.covariates, column]
    overrides = spec.overrides if column in spec.overrides else [*spec.overrides, column]
    new_spec = spec.model_copy(update={"covariates": covariates, "overrides": overrides})
    new_project = project.with_edit(
        "estimation",
        "override",
        None,
        column,
        note=f"blocked because {why_blocked}; analyst's reason: {reason.strip()}",
    )
    return new_project, new_spec


def blocked_covariates(project: Project, spec: EstimationSpec) -> dict[str, str]:
    """Covariates in the spec that are ineligible and not overridden: the page refuses to run with these."""
    blocked = {}
    for column in spec.covariates:
        reason = ineligible_reason(project, column)
        if reason is not None and column not in spec.overrides:
            blocked[column] = reason
    return blocked


def true_effect(
    project: Project | None, frame: pd.DataFrame, estimand: str, treatment: str | None = None
) -> float | None:
    """Simulation truth for the chosen estimand (retention: mean true_individual_effect overall / treated / controls)."""
    if project is None or project.data_source is None or project.data_source.kind != "builtin":
        return None
    from causal_core.data.datasets import BUILTINS

    builtin = BUILTINS.get(project.data_source.name)
    column = builtin.true_effect_column if builtin else None
    treatment = treatment or project.treatment
    if not column or column not in frame.columns:
        return None
    effects = frame[column]
    arm = parse_estimand(estimand).target_arm
    if arm is not None and treatment in frame.columns:
        effects = effects[frame[treatment] == arm]
    return float(effects.mean())


def dag_identification_warning(project: Project) -> str | None:
    """A warning when the project's DAG says adjustment cannot identify the effect: the rows are then not the
    causal effect, whatever their intervals say (the worst defect is a confidently wrong estimate)."""
    dag = project.dag
    if dag is None or not dag.treatment or not dag.outcome:
        return None
    try:
        identification = dag_module.identify(dag, dag.treatment, dag.outcome)
    except Exception:  # noqa: BLE001 - an unusable DAG is reported on the DAG page, not here
        return None
    if identification.identifiable:
        return None
    return (
        "The DAG says no adjustment set identifies this effect "
        f"({identification.note or 'an open backdoor path cannot be blocked'}): the estimates below are "
        "associations under the chosen adjustment, not the causal effect. See the DAG page's design sentence and "
        "the front-door / IV panel."
    )
