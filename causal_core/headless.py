"""A complete project without any model: the worked example walked end to end in code.

Why: the CLI, the tests and CI need a reproducible project (N01's analysis on ``retention``) whose
memo numbers can be checked against the notebook; the app's pages produce the same artifacts by hand.
Steps: example card approved → default DAG → data audit (+ review checklist) → estimates with the
DAG's recommended set → specification curve → deterministic memo, scored by the memo rubric.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from causal_core.ai.rubric import audit_record
from causal_core.audit.profile_review import default_checklist
from causal_core.data import LoadedData, analysis_frame, builtin_source, project_for_builtin, project_for_upload
from causal_core.memo import score_memo, with_deterministic_memo
from causal_core.project import Project

Progress = Callable[[str], None]


def _checklist(project: Project) -> Project:
    """N09 §16's human-review checklist, so the headless project carries it like the app's does."""
    return project.model_copy(update={"checklist": default_checklist(project)})


def _builtin_rows(dataset_name: str, n: int | None) -> tuple[Project, pd.DataFrame]:
    """A fresh project on a built-in dataset, at the generator's default size or ``n`` (same seed)."""
    project, raw = project_for_builtin(dataset_name)
    if n is None:
        return project, raw
    loaded = builtin_source(dataset_name, n)
    return project.model_copy(update={"data_source": loaded.source}), loaded.frame


def build_project(
    dataset_name: str, progress: Progress | None = None, n: int | None = None
) -> tuple[Project, pd.DataFrame]:
    """Build the example project for a built-in dataset; returns it with its analysis rows.

    ``n`` is the generator's size argument (rows for retention, teams for support): tests use a smaller one to
    stay fast, and the project records it so the data regenerate. Raises ValueError for an unknown dataset.
    """
    from causal_core import audit, dag, estimation, question
    from causal_core.multiverse import with_multiverse
    from causal_core.project import MultiverseOptions

    say = progress or (lambda message: None)
    project, raw = _builtin_rows(dataset_name, n)
    say("Approving the example estimand card")
    card = question.example_card(dataset_name)
    project = question.with_card(project, card, raw, source="example card")  # scored like the page's example button
    project = question.approve_card(project, card, raw)
    say("Adding the default DAG")
    project = project.model_copy(update={"dag": dag.default_dag(dataset_name)})
    frame = analysis_frame(project, raw)
    say("Running the data audit")
    project = project.model_copy(update={"data_audit": audit.run_audit(project, frame)})
    project = _checklist(project)
    say("Estimating with the DAG's recommended adjustment set")
    spec = estimation.default_spec(project, frame)
    project = estimation.estimate_project(project, frame, spec)  # records its inputs (causal_core/staleness.py)
    say("Running the specification curve (invalid sets included, kept apart)")
    project = with_multiverse(project, raw, MultiverseOptions(include_invalid=True))
    say("Writing the deterministic memo")
    project = with_deterministic_memo(project, frame)
    record = audit_record("memo", score_memo(project.memo.deterministic, project, frame))
    project = project.with_audit(record.model_copy(update={"model_id": "deterministic"}))
    return project, frame


def _confounder_dag(treatment: str, outcome: str, covariates: list[str], columns: list[str]):
    """The starter DAG plus every covariate as a common cause of treatment and outcome (the analyst's claim)."""
    from causal_core import dag

    spec = dag.starter_dag(treatment, outcome, columns)
    for index, column in enumerate(covariates):
        spec = dag.add_node(spec, column, column=column, x=150.0, y=100.0 + 60 * index)
        spec = dag.add_edge(spec, column, treatment, "Assumed common cause.")
        spec = dag.add_edge(spec, column, outcome, "Assumed common cause.")
    return spec


def build_upload_project(
    loaded: LoadedData,
    *,
    treatment: str,
    outcome: str,
    covariates: list[str],
    categorical: list[str] | None = None,
    spec_fields: dict | None = None,
    progress: Progress | None = None,
) -> tuple[Project, pd.DataFrame]:
    """A complete project on an uploaded file without a model: roles, dictionary timing, a DAG in which every
    covariate confounds, the audit, the estimation (``spec_fields`` sets terms, learners, trimming, …) and the
    deterministic memo. Why: the CLI and tests need an upload-backed project built exactly as the pages do.
    Raises DataError/EstimationError/AuditInputError naming the bad input.
    """
    from causal_core import audit, estimation
    from causal_core.project import EstimationSpec, Timing

    say = progress or (lambda message: None)
    categorical = list(categorical or [])
    timing = {treatment: Timing.treatment, outcome: Timing.outcome} | {c: Timing.pre_treatment for c in covariates}
    project = project_for_upload(loaded)
    dictionary = [
        entry.model_copy(update={"timing": timing.get(entry.variable, entry.timing),
                                 "categorical": entry.variable in categorical})
        for entry in project.dictionary
    ]
    project = project.model_copy(update={"dictionary": dictionary, "treatment": treatment, "outcome": outcome})
    say("Adding a DAG in which every covariate is a common cause")
    project = project.model_copy(
        update={"dag": _confounder_dag(treatment, outcome, covariates, loaded.source.columns)}
    )
    frame = analysis_frame(project, loaded.frame)
    say("Running the data audit")
    project = project.model_copy(update={"data_audit": audit.run_audit(project, frame)})
    say("Estimating")
    spec = EstimationSpec(treatment=treatment, outcome=outcome, covariates=covariates,
                          categorical=sorted(set(categorical) | set(estimation.categorical_columns(frame, covariates))),
                          **(spec_fields or {}))
    project = estimation.estimate_project(project, frame, spec)
    say("Writing the deterministic memo")
    return with_deterministic_memo(project, frame), frame
