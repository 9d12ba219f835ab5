"""An upload's first DAG, seeded from its data dictionary, and safe node names for data columns.

Why: a starter graph of only ``treatment → outcome`` makes the identification engine answer "identifiable,
no adjustment needed" — a confident, dangerous default that is true of the drawing only. When the analyst
has recorded timing in the dictionary, the graph can start from that record instead: every pre-treatment
column is drawn as a common cause of treatment and outcome (the conservative reading of "measured before
the treatment"), and every post-treatment / outcome-time / future column is drawn downstream of the
treatment, so the engine lists it as a bad control and never adjusts for it. With no timing recorded the
page says, in a warning, that the empty set is only as good as the missing graph.

Column names are data, not node names: a CSV header like ``' t '`` (spaces kept by the reader) or one with
quotes or brackets cannot be a DAGitty/DOT node, so :func:`node_name_for_column` maps it to a safe, unique
name and the node keeps the raw column in ``DagNode.column``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from causal_core.dag.constants import _FORBIDDEN_NAME_CHARS, MAX_NAME_LENGTH
from causal_core.dag.edits import add_edge, add_node, set_outcome, set_treatment
from causal_core.dag.graph import name_problem
from causal_core.project import DagSpec, Project, Timing

_FORBIDDEN = re.compile("[" + re.escape("".join(sorted(_FORBIDDEN_NAME_CHARS))) + "]+")
DOWNSTREAM_TIMINGS = (Timing.post_treatment, Timing.future)
PRE_RATIONALE = "Dictionary: pre-treatment. Drawn as a common cause of treatment and outcome until you say otherwise."
POST_RATIONALE = "Dictionary: {timing}. Drawn downstream of the treatment, so it is never adjusted for."


class SeededDag(BaseModel):
    """A starting graph and what it was built from (the page turns ``from_dictionary`` into its box)."""

    spec: DagSpec
    origin: str
    from_dictionary: bool
    pre_treatment: list[str] = []
    downstream: list[str] = []


def node_name_for_column(column: str, taken: Iterable[str] = ()) -> str:
    """A valid, unique node name for a data column: trimmed, forbidden characters folded to ``_``, cut to
    the length limit, and numbered (``name_2``) when another node already has it."""
    base = _FORBIDDEN.sub("_", " ".join(str(column).split())).strip() or "column"
    base = base[:MAX_NAME_LENGTH]
    used = set(taken)
    name, suffix = base, 2
    while name in used or name_problem(name):
        tail = f"_{suffix}"
        name = base[: MAX_NAME_LENGTH - len(tail)] + tail
        suffix += 1
    return name


def _add_column_node(spec: DagSpec, column: str, columns: Sequence[str], x: float, y: float) -> tuple[DagSpec, str]:
    name = node_name_for_column(column, (n.name for n in spec.nodes))
    label = column.strip() if name != column else ""
    spec = add_node(spec, name, label=label, column=column if column in columns else None, x=x, y=y)
    return spec, name


def starter_dag(treatment: str | None, outcome: str | None, columns: Sequence[str] = ()) -> DagSpec:
    """Just the treatment and the outcome (bound to their columns, under safe node names) and the edge."""
    spec, treatment_node = DagSpec(), None
    if treatment:
        spec, treatment_node = _add_column_node(spec, treatment, columns, 0.0, 0.0)
        spec = set_treatment(spec, treatment_node)
    if outcome and outcome != treatment:
        spec, outcome_node = _add_column_node(spec, outcome, columns, 300.0, 0.0)
        spec = set_outcome(spec, outcome_node)
        if treatment_node:
            spec = add_edge(spec, treatment_node, outcome_node, "The effect under study.")
    return spec


def seeded_dag(project: Project, columns: Sequence[str]) -> SeededDag:
    """The upload's first graph: treatment → outcome plus what the dictionary's timing says (see module)."""
    spec = starter_dag(project.treatment, project.outcome, columns)
    if not spec.treatment or not spec.outcome:
        return SeededDag(spec=spec, origin="Started with an empty graph: choose a treatment and an outcome, then "
                         "add the variables that cause them.", from_dictionary=False)
    focus = {project.treatment, project.outcome}
    pre, downstream = [], []
    for column in columns:
        timing = project.timing_of(column)
        if column in focus or timing not in (Timing.pre_treatment, *DOWNSTREAM_TIMINGS):
            continue
        if timing == Timing.pre_treatment:
            spec, name = _add_column_node(spec, column, columns, -300.0, (len(pre) - 1) * 90.0)
            spec = add_edge(spec, name, spec.treatment, PRE_RATIONALE)
            spec = add_edge(spec, name, spec.outcome, PRE_RATIONALE)
            pre.append(column)
        else:
            spec, name = _add_column_node(spec, column, columns, 150.0, 150.0 + len(downstream) * 90.0)
            spec = add_edge(spec, spec.treatment, name, POST_RATIONALE.format(timing=timing.value.replace("_", "-")))
            downstream.append(column)
    if not pre and not downstream:
        return SeededDag(
            spec=spec,
            origin="Started from the treatment and outcome only: the dictionary records no timing yet.",
            from_dictionary=False,
        )
    origin = (f"Seeded from the data dictionary: {len(pre)} pre-treatment column(s) drawn as causes of the treatment "
              f"and the outcome, {len(downstream)} post-treatment or future column(s) drawn downstream of the "
              "treatment (never adjusted for). Review every arrow: the dictionary gives timing, not causes.")
    return SeededDag(spec=spec, origin=origin, from_dictionary=True, pre_treatment=pre, downstream=downstream)


def only_focus_nodes(spec: DagSpec) -> bool:
    """True when the graph holds nothing but the treatment and the outcome: its "no adjustment needed" is
    a property of the drawing, not of the data, and must never be shown as a success."""
    others = [n for n in spec.nodes if n.name not in (spec.treatment, spec.outcome)]
    return bool(spec.treatment and spec.outcome) and not others
