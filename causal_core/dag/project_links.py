"""Links to the project: dictionary timing, the starting graph, binding to data columns."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from causal_core.dag.defaults import DEFAULT_DAGS, default_dag
from causal_core.dag.edits import auto_layout, bind_columns
from causal_core.dag.graph import find_cycle, get_node, to_networkx
from causal_core.dag.identification import node_for_column
from causal_core.dag.layout import layered_layout
from causal_core.dag.seeding import seeded_dag
from causal_core.project import DagSpec, Project


# Links to the project (dictionary timing, starting graph)
# ---------------------------------------------------------------------------------------------
def initial_dag(project: Project, columns: Sequence[str]) -> tuple[DagSpec, str]:
    """The DAG a project starts from, and a sentence saying where it came from.

    Built-ins start from their notebook's DAG; an upload from its dictionary's timing (see
    :mod:`causal_core.dag.seeding`), laid out in layers, never from a bare ``treatment → outcome``
    presented as if it were an answer."""
    source = project.data_source
    if source is not None and source.kind == "builtin" and source.name in DEFAULT_DAGS:
        origin = "N01 §8" if source.name == "retention" else "N09's data dictionary"
        return default_dag(source.name), f"Started from the default DAG for {source.name} ({origin})."
    seeded = seeded_dag(project, columns)
    spec = layered_layout(seeded.spec)[0] if seeded.from_dictionary else seeded.spec
    return spec, seeded.origin


def timing_conflicts(spec: DagSpec, project: Project) -> list[str]:
    """Where the graph and the dictionary's timing disagree (the dictionary is the analyst's record).

    A column the dictionary calls post-treatment/outcome/future must not be drawn as a cause of the
    treatment, and a pre-treatment column must not be drawn downstream of the treatment.
    """
    from causal_core.project import NOT_ADJUSTABLE_TIMINGS, Timing

    if not spec.treatment or find_cycle(spec) or get_node(spec, spec.treatment) is None:
        return []
    graph = to_networkx(spec)
    ancestors = nx.ancestors(graph, spec.treatment)
    descendants = nx.descendants(graph, spec.treatment)
    problems = []
    for node in spec.nodes:
        if not node.column or node.name in (spec.treatment, spec.outcome):
            continue
        timing = project.timing_of(node.column)
        if timing in NOT_ADJUSTABLE_TIMINGS and node.name in ancestors:
            problems.append(
                f"{node.name}: the dictionary says {timing.value.replace('_', '-')}, but the DAG draws it as a cause "
                f"of the treatment {spec.treatment}"
            )
        if timing == Timing.pre_treatment and node.name in descendants:
            problems.append(
                f"{node.name}: the dictionary says pre-treatment, but the DAG draws it downstream of the treatment "
                f"{spec.treatment}"
            )
    return problems


def bind_to_data(
    spec: DagSpec, columns: Sequence[str], treatment: str | None = None, outcome: str | None = None
) -> tuple[DagSpec, list[str]]:
    """Fit an imported DAG to the loaded data: columns that do not exist are unbound (the node becomes
    unobserved), nodes named like a column are bound to it, and a missing treatment/outcome is taken from
    the project when a node measures that column. Returns the spec and what was changed."""
    notes: list[str] = []
    available = set(columns)
    nodes = []
    for node in spec.nodes:
        if node.column and node.column not in available:
            notes.append(f"{node.name}: no column {node.column!r} in the data, so it is unobserved here")
            node = node.model_copy(update={"column": None})
        nodes.append(node)
    spec = bind_columns(spec.model_copy(update={"nodes": nodes}), columns)
    for role, wanted in (("treatment", treatment), ("outcome", outcome)):
        if getattr(spec, role) is None and wanted:
            name = node_for_column(spec, wanted)
            if name is not None and name != (spec.outcome if role == "treatment" else spec.treatment):
                spec = spec.model_copy(update={role: name})
                notes.append(f"the file names no {role}; using {name} (the project's {role})")
    return auto_layout(spec), notes
