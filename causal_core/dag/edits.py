"""Pure edits: each returns a new DagSpec or raises DagEditError, so a rejected edit changes nothing."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx

from causal_core.dag.constants import DagEditError
from causal_core.dag.graph import (
    _cycle_if_added,
    _require_node,
    edge_text,
    find_cycle,
    format_cycle,
    get_node,
    name_problem,
    node_names,
    to_networkx,
)
from causal_core.project import DagEdge, DagNode, DagSpec


# Edits (pure: new spec or DagEditError)
# ---------------------------------------------------------------------------------------------
def _next_position(spec: DagSpec) -> tuple[float, float]:
    """A free spot below the current drawing, so a new node never lands on top of another."""
    placed = [(n.x, n.y) for n in spec.nodes if n.x is not None and n.y is not None]
    if not placed:
        return 0.0, 0.0
    min_x = min(x for x, _ in placed)
    max_y = max(y for _, y in placed)
    return float(min_x), float(max_y + 90)


def add_node(
    spec: DagSpec,
    name: str,
    *,
    label: str = "",
    column: str | None = None,
    latent: bool = False,
    x: float | None = None,
    y: float | None = None,
) -> DagSpec:
    problem = name_problem(name)
    if problem:
        raise DagEditError(problem)
    if get_node(spec, name) is not None:
        raise DagEditError(f"a node called {name!r} already exists; node names must be unique")
    if column:
        holder = next((n.name for n in spec.nodes if n.column == column), None)
        if holder:
            raise DagEditError(f"column {column!r} is already measured by node {holder!r}")
    if x is None or y is None:
        x, y = _next_position(spec)
    node = DagNode(name=name, label=label, column=column or None, latent=latent, x=x, y=y)
    return spec.model_copy(update={"nodes": [*spec.nodes, node]})


def remove_node(spec: DagSpec, name: str) -> DagSpec:
    """Remove a node and its edges; the treatment and outcome must be reassigned first."""
    _require_node(spec, name)
    for role, value in (("treatment", spec.treatment), ("outcome", spec.outcome)):
        if value == name:
            raise DagEditError(f"{name!r} is the {role}; choose another {role} before removing it")
    return spec.model_copy(
        update={
            "nodes": [n for n in spec.nodes if n.name != name],
            "edges": [e for e in spec.edges if name not in (e.source, e.target)],
        }
    )


def rename_node(spec: DagSpec, old: str, new: str) -> DagSpec:
    """Rename everywhere (edges, treatment, outcome); the label follows if it was the old name."""
    node = _require_node(spec, old)
    new = new.strip() if isinstance(new, str) else new
    if new == old:
        raise DagEditError(f"{old!r} already has that name")
    problem = name_problem(new)
    if problem:
        raise DagEditError(problem)
    if get_node(spec, new) is not None:
        raise DagEditError(f"a node called {new!r} already exists; node names must be unique")
    label = new if node.label == old else node.label
    nodes = [n.model_copy(update={"name": new, "label": label}) if n.name == old else n for n in spec.nodes]

    def swap(value: str | None) -> str | None:
        return new if value == old else value

    edges = [e.model_copy(update={"source": swap(e.source), "target": swap(e.target)}) for e in spec.edges]
    return spec.model_copy(
        update={"nodes": nodes, "edges": edges, "treatment": swap(spec.treatment), "outcome": swap(spec.outcome)}
    )


def _update_node(spec: DagSpec, name: str, **changes: Any) -> DagSpec:
    _require_node(spec, name)
    nodes = [n.model_copy(update=changes) if n.name == name else n for n in spec.nodes]
    return spec.model_copy(update={"nodes": nodes})


def set_latent(spec: DagSpec, name: str, latent: bool) -> DagSpec:
    node = _require_node(spec, name)
    if latent and name in (spec.treatment, spec.outcome):
        raise DagEditError(
            f"{name!r} is the {'treatment' if name == spec.treatment else 'outcome'}; it must be observed"
        )
    if node.latent == latent:
        raise DagEditError(f"{name!r} is already {'latent' if latent else 'observed'}")
    return _update_node(spec, name, latent=latent)


def toggle_latent(spec: DagSpec, name: str) -> DagSpec:
    return set_latent(spec, name, not _require_node(spec, name).latent)


def set_label(spec: DagSpec, name: str, label: str) -> DagSpec:
    if '"' in label or "\n" in label:
        raise DagEditError("a label cannot contain double quotes or line breaks")
    return _update_node(spec, name, label=label.strip())


def set_column(spec: DagSpec, name: str, column: str | None) -> DagSpec:
    """Bind a node to a data column (None unbinds it: the node becomes unobserved for adjustment)."""
    _require_node(spec, name)
    if column:
        holder = next((n.name for n in spec.nodes if n.column == column and n.name != name), None)
        if holder:
            raise DagEditError(f"column {column!r} is already measured by node {holder!r}")
    return _update_node(spec, name, column=column or None)


def move_node(spec: DagSpec, name: str, x: float, y: float) -> DagSpec:
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (x, y)):
        raise DagEditError("a position needs two finite numbers")
    return _update_node(spec, name, x=float(x), y=float(y))


def set_treatment(spec: DagSpec, name: str | None) -> DagSpec:
    return _set_focus(spec, "treatment", name)


def set_outcome(spec: DagSpec, name: str | None) -> DagSpec:
    return _set_focus(spec, "outcome", name)


def _set_focus(spec: DagSpec, role: str, name: str | None) -> DagSpec:
    if name is not None:
        node = _require_node(spec, name)
        other = spec.outcome if role == "treatment" else spec.treatment
        if name == other:
            raise DagEditError(f"{name!r} is already the {'outcome' if role == 'treatment' else 'treatment'}")
        if node.latent:
            raise DagEditError(f"{name!r} is latent; the {role} must be an observed node")
    return spec.model_copy(update={role: name})


def add_edge(spec: DagSpec, source: str, target: str, rationale: str = "") -> DagSpec:
    """Add ``source → target`` unless it is a self-loop, a duplicate, unknown, or closes a cycle."""
    for end in (source, target):
        _require_node(spec, end)
    if source == target:
        raise DagEditError(f"self-loop {edge_text(source, target)}: a variable cannot cause itself")
    if any(e.source == source and e.target == target for e in spec.edges):
        raise DagEditError(f"the edge {edge_text(source, target)} already exists")
    path = _cycle_if_added(spec, source, target)
    if path:
        raise DagEditError(f"adding {edge_text(source, target)} closes the cycle {format_cycle(path)}")
    edge = DagEdge(source=source, target=target, rationale=rationale.strip())
    return spec.model_copy(update={"edges": [*spec.edges, edge]})


def remove_edge(spec: DagSpec, source: str, target: str) -> DagSpec:
    if not any(e.source == source and e.target == target for e in spec.edges):
        raise DagEditError(f"there is no edge {edge_text(source, target)}")
    return spec.model_copy(update={"edges": [e for e in spec.edges if (e.source, e.target) != (source, target)]})


def set_edge_rationale(spec: DagSpec, source: str, target: str, rationale: str) -> DagSpec:
    if not any(e.source == source and e.target == target for e in spec.edges):
        raise DagEditError(f"there is no edge {edge_text(source, target)}")
    edges = [
        e.model_copy(update={"rationale": rationale.strip()}) if (e.source, e.target) == (source, target) else e
        for e in spec.edges
    ]
    return spec.model_copy(update={"edges": edges})


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def replace_edges(spec: DagSpec, rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> DagSpec:
    """Bulk edit: the whole edge list at once (the page's edge table). All rows valid, or nothing changes.

    Fully blank rows (a data-editor's empty new row) are skipped; anything else must name two known nodes.
    """
    edges: list[DagEdge] = []
    seen: set[tuple[str, str]] = set()
    known = set(node_names(spec))
    for index, row in enumerate(rows, start=1):
        if isinstance(row, Mapping):
            source, target, rationale = _cell(row.get("source")), _cell(row.get("target")), _cell(row.get("rationale"))
        else:
            values = list(row) + ["", "", ""]
            source, target, rationale = _cell(values[0]), _cell(values[1]), _cell(values[2])
        if not source and not target and not rationale:
            continue
        if not source or not target:
            raise DagEditError(f"row {index}: an edge needs both a source and a target")
        for end in (source, target):
            if end not in known:
                raise DagEditError(f"row {index}: unknown node {end!r} (add the node first)")
        if source == target:
            raise DagEditError(f"row {index}: self-loop {edge_text(source, target)}: a variable cannot cause itself")
        if (source, target) in seen:
            raise DagEditError(f"row {index}: duplicate edge {edge_text(source, target)}")
        seen.add((source, target))
        edges.append(DagEdge(source=source, target=target, rationale=rationale))
    cycle = find_cycle(nx.DiGraph([(e.source, e.target) for e in edges]))
    if cycle:
        raise DagEditError(f"these edges contain the cycle {format_cycle(cycle)}")
    return spec.model_copy(update={"edges": edges})


def bind_columns(spec: DagSpec, columns: Iterable[str]) -> DagSpec:
    """Give unbound, non-latent nodes whose name is a data column that column (used after imports)."""
    available = set(columns) - {n.column for n in spec.nodes if n.column}
    nodes = []
    for node in spec.nodes:
        if not node.column and not node.latent and node.name in available:
            node = node.model_copy(update={"column": node.name})
            available.discard(node.name)
        nodes.append(node)
    return spec.model_copy(update={"nodes": nodes})


def auto_layout(spec: DagSpec, *, force: bool = False) -> DagSpec:
    """Positions for nodes that have none (all nodes when ``force``): left-to-right by causal depth.
    Hidden latent parents of bidirected edges are not drawn, so they must not push their children right."""
    graph = to_networkx(spec, hidden_latents=False)
    if find_cycle(graph):
        return spec
    generations = list(nx.topological_generations(graph))
    spots: dict[str, tuple[float, float]] = {}
    for depth, layer in enumerate(generations):
        layer = sorted(layer)
        for index, name in enumerate(layer):
            spots[name] = (depth * 220.0, (index - (len(layer) - 1) / 2) * 90.0)
    nodes = [
        n.model_copy(update={"x": spots[n.name][0], "y": spots[n.name][1]})
        if force or n.x is None or n.y is None
        else n
        for n in spec.nodes
    ]
    return spec.model_copy(update={"nodes": nodes})


# ---------------------------------------------------------------------------------------------
