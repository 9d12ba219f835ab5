"""A complete project without any model: the worked example walked end to end in code.

Why: the CLI, the tests and CI need a reproducible project (N01's analysis on ``retention``) whose
memo numbers can be checked against the notebook; the app's pages produce the same artifacts by hand.
Steps: example card approved → default DAG → data audit (+ review checklist) → estimates with the
DAG's recommended set → specification curve → deterministic memo, scored by the memo rubric.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from causal_core.data import analysis_frame, project_for_builtin
from causal_core.memo import score_memo, with_deterministic_memo
from causal_core.profile_review import default_checklist
from causal_core.project import Project
from causal_core.rubric import audit_record

Progress = Callable[[str], None]


def _checklist(project: Project) -> Project:
    """N09 §16's human-review checklist, so the headless project carries it like the app's does."""
    return project.model_copy(update={"checklist": default_checklist(project)})


def build_project(dataset_name: str, progress: Progress | None = None) -> tuple[Project, pd.DataFrame]:
    """Build the example project for a built-in dataset; returns it with its analysis rows.

    Raises ValueError for an unknown dataset (the message lists the valid names).
    """
    from causal_core import audit, dag, estimation, question
    from causal_core.multiverse import with_multiverse
    from causal_core.project import MultiverseOptions

    say = progress or (lambda message: None)
    project, raw = project_for_builtin(dataset_name)
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
    truth = estimation.true_effect(project, frame, spec.estimand, spec.treatment)
    project = project.model_copy(update={"estimation": estimation.run_estimation(frame, spec, true_effect=truth)})
    say("Running the specification curve (invalid sets included, kept apart)")
    project = with_multiverse(project, raw, MultiverseOptions(include_invalid=True))
    say("Writing the deterministic memo")
    project = with_deterministic_memo(project, frame)
    record = audit_record("memo", score_memo(project.memo.deterministic, project, frame))
    project = project.with_audit(record.model_copy(update={"model_id": "deterministic"}))
    return project, frame
