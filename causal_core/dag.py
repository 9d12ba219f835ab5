"""The canonical causal DAG: pure edits, validation, derived roles, identification, testable implications.

``Project.dag`` (a :class:`DagSpec`) is the one DAG every stage reads. Everything here is pure: an edit
returns a *new* spec or raises :class:`DagEditError` with a specific reason, so a rejected edit can never
leave the graph half-changed. Structural roles are *derived* from the graph (never typed), and all
d-separation questions go through ``networkx`` (``is_d_separator`` / ``find_minimal_d_separator``); the only
path walking here is to *show* an open path that networkx has already said exists.

A node is **observed** when it is not latent and measures a data column; a node without a column (N01's
"Post-outreach engagement") cannot be adjusted for, exactly like a latent one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from causal_core.project import DagEdge, DagNode, DagSpec, Project

ROLE_NAMES = (
    "treatment",
    "outcome",
    "confounder",
    "mediator",
    "collider",
    "descendant_of_treatment",
    "instrument",
    "precision",
    "other",
)
MAX_NAME_LENGTH = 80
MAX_SUBSET_TESTS = 20_000  # d-separation tests spent enumerating minimal adjustment sets
MAX_MINIMAL_SETS = 50
MAX_IMPLICATIONS = 60
MAX_PATHS_SHOWN = 5_000  # simple paths inspected when *showing* an open path
_FORBIDDEN_NAME_CHARS = set('"\n\r\t{}[];')


class DagEditError(ValueError):
    """A rejected edit; the message says why and the spec passed in is unchanged."""


# ---------------------------------------------------------------------------------------------
# Basic access
# ---------------------------------------------------------------------------------------------
def node_names(spec: DagSpec) -> list[str]:
    return [node.name for node in spec.nodes]


def get_node(spec: DagSpec, name: str) -> DagNode | None:
    return next((node for node in spec.nodes if node.name == name), None)


def is_observed(node: DagNode) -> bool:
    """Adjustable in principle: not latent and bound to a data column."""
    return not node.latent and bool(node.column)


def observed_names(spec: DagSpec) -> set[str]:
    return {node.name for node in spec.nodes if is_observed(node)}


def to_networkx(spec: DagSpec) -> nx.DiGraph:
    """A DiGraph with node attributes (label, latent, column, x, y) and edge rationales."""
    graph = nx.DiGraph()
    for node in spec.nodes:
        graph.add_node(node.name, label=node.label, latent=node.latent, column=node.column, x=node.x, y=node.y)
    for edge in spec.edges:
        graph.add_edge(edge.source, edge.target, rationale=edge.rationale)
    return graph


def edge_text(source: str, target: str) -> str:
    return f"{source} → {target}"


def format_cycle(cycle_nodes: Sequence[str]) -> str:
    """``[A, B]`` → ``A → B → A``."""
    return " → ".join([*cycle_nodes, cycle_nodes[0]])


def find_cycle(spec_or_graph: DagSpec | nx.DiGraph) -> list[str] | None:
    """The nodes of one directed cycle in order, or None if the graph is acyclic."""
    graph = spec_or_graph if isinstance(spec_or_graph, nx.DiGraph) else to_networkx(spec_or_graph)
    try:
        edges = nx.find_cycle(graph, orientation="original")
    except nx.NetworkXNoCycle:
        return None
    return [edge[0] for edge in edges]


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a node name (None = fine). Quotes and brackets would break DAGitty/DOT."""
    if not isinstance(name, str) or not name.strip():
        return "a node name cannot be empty"
    if name != name.strip():
        return f"node name {name!r} has leading or trailing spaces"
    if len(name) > MAX_NAME_LENGTH:
        return f"node name {name[:30]!r}… is longer than {MAX_NAME_LENGTH} characters"
    bad = sorted(set(name) & _FORBIDDEN_NAME_CHARS)
    if bad:
        shown = ", ".join(repr(char) for char in bad)
        return f"node name {name!r} contains characters that DAGitty/DOT cannot hold ({shown})"
    return None


def validate_dag(spec: DagSpec) -> list[str]:
    """Every problem with a whole spec (empty list = a valid DAG). Used on imports and drafts."""
    errors: list[str] = []
    names = node_names(spec)
    for name in names:
        problem = name_problem(name)
        if problem:
            errors.append(problem)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        errors.append(f"duplicate node names: {', '.join(duplicates)}")
    columns = [node.column for node in spec.nodes if node.column]
    for column in sorted({c for c in columns if columns.count(c) > 1}):
        holders = [node.name for node in spec.nodes if node.column == column]
        errors.append(f"column {column!r} is measured by more than one node ({', '.join(holders)})")
    known = set(names)
    seen: set[tuple[str, str]] = set()
    for edge in spec.edges:
        for end in (edge.source, edge.target):
            if end not in known:
                errors.append(f"edge {edge_text(edge.source, edge.target)} refers to unknown node {end!r}")
        if edge.source == edge.target:
            errors.append(f"self-loop {edge_text(edge.source, edge.target)}: a variable cannot cause itself")
        key = (edge.source, edge.target)
        if key in seen:
            errors.append(f"duplicate edge {edge_text(*key)}")
        seen.add(key)
    graph = nx.DiGraph([(e.source, e.target) for e in spec.edges if e.source != e.target])
    cycle = find_cycle(graph)
    if cycle:
        errors.append(f"the graph has a cycle: {format_cycle(cycle)}")
    for role, value in (("treatment", spec.treatment), ("outcome", spec.outcome)):
        if value is not None and value not in known:
            errors.append(f"the {role} {value!r} is not a node of the graph")
    if spec.treatment is not None and spec.treatment == spec.outcome:
        errors.append("the treatment and the outcome are the same node")
    return errors


def _require_node(spec: DagSpec, name: str) -> DagNode:
    node = get_node(spec, name)
    if node is None:
        raise DagEditError(f"there is no node called {name!r}")
    return node


def _cycle_if_added(spec: DagSpec, source: str, target: str) -> list[str] | None:
    """The cycle that adding ``source → target`` would close: an existing path target ⇝ source."""
    graph = to_networkx(spec)
    if not (graph.has_node(source) and graph.has_node(target)):
        return None
    try:
        return nx.shortest_path(graph, target, source)
    except nx.NetworkXNoPath:
        return None


# ---------------------------------------------------------------------------------------------
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
        raise DagEditError(f"{name!r} is the {'treatment' if name == spec.treatment else 'outcome'}; it must be observed")
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
    """Positions for nodes that have none (all nodes when ``force``): left-to-right by causal depth."""
    graph = to_networkx(spec)
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
# Derived roles
# ---------------------------------------------------------------------------------------------
def _without_treatment_out_edges(graph: nx.DiGraph, treatment: str) -> nx.DiGraph:
    """The backdoor graph: only non-causal paths from the treatment remain."""
    backdoor = graph.copy()
    backdoor.remove_edges_from(list(graph.out_edges(treatment)))
    return backdoor


def _d_separated(graph: nx.DiGraph, x: str | set[str], y: str | set[str], given: Iterable[str]) -> bool:
    xs = {x} if isinstance(x, str) else set(x)
    ys = {y} if isinstance(y, str) else set(y)
    return nx.is_d_separator(graph, xs, ys, set(given))


def node_roles(spec: DagSpec) -> dict[str, list[str]]:
    """Structural roles relative to the spec's treatment and outcome (derived, never typed).

    confounder: a common cause of treatment and outcome (ancestor of both, the outcome reached without
    passing through the treatment); mediator: on a causal path treatment ⇝ outcome; descendant_of_treatment:
    anything downstream of the treatment (post-treatment); collider: a common effect sitting on a non-causal
    treatment–outcome path (conditioning on it opens that path); instrument: causes the treatment and is
    independent of the outcome once the treatment's effects are cut; precision: causes the outcome only.
    """
    roles: dict[str, list[str]] = {name: [] for name in node_names(spec)}
    x, y = spec.treatment, spec.outcome
    graph = to_networkx(spec)
    if x not in graph or y not in graph or find_cycle(graph):
        for name in roles:
            roles[name] = ["treatment"] if name == x else ["outcome"] if name == y else ["other"]
        return roles
    roles[x].append("treatment")
    roles[y].append("outcome")
    desc_x = nx.descendants(graph, x)
    anc_x = nx.ancestors(graph, x)
    anc_y = nx.ancestors(graph, y)
    without_x = graph.copy()
    without_x.remove_node(x)
    anc_y_not_via_x = nx.ancestors(without_x, y)
    backdoor = _without_treatment_out_edges(graph, x)
    for name in roles:
        if name in (x, y):
            continue
        found = roles[name]
        if name in desc_x:
            if name in anc_y:
                found.append("mediator")
            found.append("descendant_of_treatment")
            continue
        if name in anc_x and name in anc_y_not_via_x:
            found.append("confounder")
        if _is_structural_collider(backdoor, name, x, y):
            found.append("collider")
        if name in anc_x and name not in anc_y_not_via_x and _d_separated(backdoor, name, y, set()):
            found.append("instrument")
        if name in anc_y_not_via_x and name not in anc_x and _d_separated(graph, name, x, set()):
            found.append("precision")
        if not found:
            found.append("other")
    return roles


def _is_structural_collider(backdoor: nx.DiGraph, node: str, x: str, y: str) -> bool:
    """Two parents of ``node`` connect (marginally, in the backdoor graph without ``node``) one to the
    treatment and the other to the outcome: ``node`` is a collider on a non-causal path (M-bias, butterfly)."""
    parents = list(backdoor.predecessors(node))
    if len(parents) < 2:
        return False
    rest = backdoor.copy()
    rest.remove_node(node)

    def linked(parent: str, end: str) -> bool:
        return parent == end or (parent in rest and not _d_separated(rest, parent, end, set()))

    return any(linked(a, x) and linked(b, y) for a, b in itertools.permutations(parents, 2))


def role_colour(roles: Sequence[str]) -> str:
    """N01 make_dag palette: treatment, outcome, post-treatment; everything else the default fill."""
    if "treatment" in roles:
        return "#fde68a"
    if "outcome" in roles:
        return "#fecaca"
    if "descendant_of_treatment" in roles or "mediator" in roles:
        return "#ddd6fe"
    return "#eef2ff"


# ---------------------------------------------------------------------------------------------
# Identification
# ---------------------------------------------------------------------------------------------
class BadControl(BaseModel):
    name: str
    reason: str


class Identification(BaseModel):
    """The total effect's identification by covariate adjustment.

    ``identifiable=True`` with ``minimal_sets=[[]]`` means *no adjustment needed*; ``identifiable=False``
    means *no observed set works* — the two are never both an empty list.
    """

    treatment: str
    outcome: str
    identifiable: bool
    minimal_sets: list[list[str]] = Field(default_factory=list)
    recommended_set: list[str] | None = None
    bad_controls: list[BadControl] = Field(default_factory=list)
    capped: bool = False
    note: str = ""
    open_path: str = Field("", description="When not identifiable: a backdoor path no observed set can block.")


class SetCheck(BaseModel):
    valid: bool
    open_path: list[str] = Field(default_factory=list, description="Nodes of the open (or blocked causal) path.")
    path_text: str = ""
    reason: str = ""


def _prepared(spec: DagSpec, treatment: str, outcome: str) -> nx.DiGraph:
    errors = validate_dag(spec)
    if errors:
        raise ValueError(f"the DAG is not valid: {errors[0]}")
    graph = to_networkx(spec)
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if name not in graph:
            known = ", ".join(sorted(graph)) or "none"
            raise ValueError(f"unknown {role} {name!r}: the DAG's nodes are {known}")
    if treatment == outcome:
        raise ValueError("the treatment and the outcome must be different nodes")
    return graph


def _path_text(graph: nx.DiGraph, path: Sequence[str]) -> str:
    parts = [path[0]]
    for a, b in itertools.pairwise(path):
        parts.append(f"→ {b}" if graph.has_edge(a, b) else f"← {b}")
    return " ".join(parts)


def find_open_path(graph: nx.DiGraph, x: str, y: str, given: Iterable[str]) -> list[str] | None:
    """One d-connecting path x … y given ``given`` (shortest first), for display after networkx has said
    the two are d-connected. None if none is found within the inspection cap."""
    given = set(given)
    skeleton = graph.to_undirected(as_view=True)
    anc_of_given = set(given)
    for node in given:
        if node in graph:
            anc_of_given |= nx.ancestors(graph, node)
    paths = nx.shortest_simple_paths(skeleton, x, y) if nx.has_path(skeleton, x, y) else iter(())
    for count, path in enumerate(paths):
        if count >= MAX_PATHS_SHOWN:
            return None
        if _path_open(graph, path, given, anc_of_given):
            return list(path)
    return None


def _path_open(graph: nx.DiGraph, path: Sequence[str], given: set[str], anc_of_given: set[str]) -> bool:
    for prev, node, nxt in zip(path, path[1:], path[2:], strict=False):
        collider = graph.has_edge(prev, node) and graph.has_edge(nxt, node)
        if collider and node not in anc_of_given:
            return False
        if not collider and node in given:
            return False
    return True


def _candidates(graph: nx.DiGraph, spec: DagSpec, x: str, y: str) -> list[str]:
    """Observed non-descendants of the treatment; minimal separators lie within An(X ∪ Y)."""
    ancestors = nx.ancestors(graph, x) | nx.ancestors(graph, y)
    allowed = observed_names(spec) & ancestors
    return sorted(allowed - nx.descendants(graph, x) - {x, y})


def _enumerate_minimal_sets(backdoor: nx.DiGraph, x: str, y: str, candidates: list[str]) -> tuple[list[list[str]], bool]:
    """All inclusion-minimal backdoor sets by increasing size (a set is minimal iff it contains no smaller
    valid set, and every smaller valid set was found first). Stops after MAX_SUBSET_TESTS tests."""
    found: list[frozenset[str]] = []
    tests = 0
    for size in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, size):
            chosen = frozenset(subset)
            if any(smaller <= chosen for smaller in found):
                continue
            if tests >= MAX_SUBSET_TESTS or len(found) >= MAX_MINIMAL_SETS:
                return [sorted(s) for s in found], True
            tests += 1
            if _d_separated(backdoor, x, y, chosen):
                found.append(chosen)
    return [sorted(s) for s in found], False


def _set_preference(graph: nx.DiGraph, y: str):
    """Fewest variables first; then more direct causes of the outcome (they also sharpen precision)."""

    def key(nodes: list[str]) -> tuple[int, int, list[str]]:
        return (len(nodes), -sum(graph.has_edge(n, y) for n in nodes), nodes)

    return key


def identify(spec: DagSpec, treatment: str | None = None, outcome: str | None = None) -> Identification:
    """Backdoor identification of the total effect of ``treatment`` on ``outcome``.

    Raises ValueError for an invalid graph or an unknown treatment/outcome (the caller shows the reason).
    """
    x = treatment or spec.treatment
    y = outcome or spec.outcome
    if not x or not y:
        raise ValueError("choose a treatment and an outcome node first")
    graph = _prepared(spec, x, y)
    backdoor = _without_treatment_out_edges(graph, x)
    candidates = _candidates(graph, spec, x, y)
    first = nx.find_minimal_d_separator(backdoor, x, y, restricted=set(candidates)) if candidates else None
    if first is None and _d_separated(backdoor, x, y, set()):
        first = set()
    notes: list[str] = []
    if not nx.has_path(graph, x, y):
        notes.append(f"There is no directed path {x} ⇝ {y}: the graph says the total effect is zero.")
    if first is None:
        path = find_open_path(backdoor, x, y, candidates)
        unobserved = [n for n in (path or [])[1:-1] if n not in observed_names(spec)]
        shown = _path_text(graph, path) if path else ""
        reason = "Not identifiable by adjustment: "
        reason += (
            f"the backdoor path {shown} stays open whatever observed variables are adjusted for"
            if path
            else "every observed adjustment set leaves a backdoor path open"
        )
        if unobserved:
            reason += f" (it runs through unobserved {', '.join(unobserved)})"
        notes.insert(0, reason + ".")
        return Identification(
            treatment=x,
            outcome=y,
            identifiable=False,
            minimal_sets=[],
            recommended_set=None,
            bad_controls=_bad_controls(spec, graph, backdoor, x, y, None),
            note=" ".join(notes),
            open_path=shown,
        )
    sets, capped = _enumerate_minimal_sets(backdoor, x, y, candidates)
    if sorted(first) not in sets:
        sets.append(sorted(first))
    sets.sort(key=_set_preference(graph, y))
    recommended = sets[0]
    if capped:
        notes.append(
            f"Enumeration stopped after {MAX_SUBSET_TESTS:,} d-separation tests or {MAX_MINIMAL_SETS} sets over "
            f"{len(candidates)} candidates: every listed set is minimal and valid, but the list may be incomplete."
        )
    if sets == [[]]:
        notes.append("No adjustment is needed: there is no open backdoor path.")
    return Identification(
        treatment=x,
        outcome=y,
        identifiable=True,
        minimal_sets=sets,
        recommended_set=recommended,
        bad_controls=_bad_controls(spec, graph, backdoor, x, y, recommended),
        capped=capped,
        note=" ".join(notes),
    )


def _causal_path_through(graph: nx.DiGraph, x: str, node: str, y: str) -> str:
    path = nx.shortest_path(graph, x, node) + nx.shortest_path(graph, node, y)[1:]
    return " → ".join(path)


def _bad_controls(
    spec: DagSpec, graph: nx.DiGraph, backdoor: nx.DiGraph, x: str, y: str, recommended: list[str] | None
) -> list[BadControl]:
    """Nodes one must not adjust for, each with the reason (latent nodes cannot be adjusted anyway)."""
    flagged: list[BadControl] = []
    desc_x = nx.descendants(graph, x)
    desc_y = nx.descendants(graph, y)
    anc_y = nx.ancestors(graph, y)
    for node in spec.nodes:
        name = node.name
        if name in (x, y) or node.latent:
            continue
        if name in desc_x:
            if name in anc_y:
                reason = (
                    f"mediator: on the causal path {_causal_path_through(graph, x, name, y)}; adjusting for it "
                    "blocks part of the total effect"
                )
            elif name in desc_y:
                reason = f"descendant of the outcome {y}: adjusting for it conditions on the outcome itself"
            else:
                reason = f"descendant of the treatment {x} (post-treatment): adjusting for it can bias the total effect"
            flagged.append(BadControl(name=name, reason=reason))
            continue
        if recommended is None or name in recommended:
            continue
        with_node = {*recommended, name}
        if not _d_separated(backdoor, x, y, with_node):
            path = find_open_path(backdoor, x, y, with_node)
            shown = f" {_path_text(graph, path)}" if path else ""
            base = f"with {{{', '.join(recommended)}}}" if recommended else "alone"
            flagged.append(
                BadControl(
                    name=name,
                    reason=f"collider: adjusting for it ({base}) opens the non-causal path{shown}",
                )
            )
    return flagged


def check_adjustment_set(spec: DagSpec, treatment: str, outcome: str, adjustment: Iterable[str]) -> SetCheck:
    """Is ``adjustment`` a valid backdoor set? If not, the open path (or the causal path it blocks)."""
    graph = _prepared(spec, treatment, outcome)
    chosen = list(dict.fromkeys(adjustment))
    unknown = [n for n in chosen if n not in graph]
    if unknown:
        return SetCheck(valid=False, reason=f"unknown node(s): {', '.join(unknown)}")
    if treatment in chosen or outcome in chosen:
        return SetCheck(valid=False, reason="the adjustment set cannot contain the treatment or the outcome")
    unobserved = [n for n in chosen if n not in observed_names(spec)]
    if unobserved:
        return SetCheck(
            valid=False,
            reason=f"{', '.join(unobserved)} cannot be adjusted for: latent or without a data column",
        )
    desc_x = nx.descendants(graph, treatment)
    post = [n for n in chosen if n in desc_x]
    if post:
        node = post[0]
        if nx.has_path(graph, node, outcome):
            path = nx.shortest_path(graph, treatment, node) + nx.shortest_path(graph, node, outcome)[1:]
            reason = f"{node} is a mediator: adjusting for it blocks the causal path"
        else:
            path = nx.shortest_path(graph, treatment, node)
            reason = f"{node} is a descendant of the treatment (post-treatment)"
        return SetCheck(valid=False, open_path=path, path_text=_path_text(graph, path), reason=reason)
    backdoor = _without_treatment_out_edges(graph, treatment)
    if _d_separated(backdoor, treatment, outcome, chosen):
        shown = "{" + ", ".join(chosen) + "}"
        return SetCheck(valid=True, reason=f"{shown} blocks every backdoor path from {treatment} to {outcome}")
    path = find_open_path(backdoor, treatment, outcome, chosen) or []
    text = _path_text(graph, path) if path else ""
    return SetCheck(
        valid=False,
        open_path=path,
        path_text=text,
        reason=f"a backdoor path stays open: {text}" if text else "a backdoor path stays open",
    )


def adjustment_columns(spec: DagSpec, node_names_: Iterable[str]) -> list[str]:
    """Node names → their data columns (nodes without a column are skipped: they cannot be adjusted for)."""
    by_name = {n.name: n for n in spec.nodes}
    columns = []
    for name in node_names_:
        node = by_name.get(name)
        if node is not None and node.column and not node.latent:
            columns.append(node.column)
    return columns


def node_for_column(spec: DagSpec, column: str) -> str | None:
    return next((n.name for n in spec.nodes if n.column == column), None)


# ---------------------------------------------------------------------------------------------
# Testable implications
# ---------------------------------------------------------------------------------------------
class Implication(BaseModel):
    x: str
    y: str
    given: list[str] = Field(default_factory=list)

    def text(self) -> str:
        given = f" | {', '.join(self.given)}" if self.given else ""
        return f"{self.x} ⊥ {self.y}{given}"


class ImplicationTest(BaseModel):
    implication: str
    x: str
    y: str
    given: list[str]
    n: int = 0
    partial_r: float | None = None
    p_value: float | None = None
    verdict: str = ""


def testable_implications(spec: DagSpec, limit: int = MAX_IMPLICATIONS) -> tuple[list[Implication], bool]:
    """DAGitty-style minimal list: each non-adjacent pair of observed nodes with one minimal observed
    separating set (pairs no observed set separates imply nothing testable). Returns (list, capped)."""
    errors = validate_dag(spec)
    if errors:
        raise ValueError(f"the DAG is not valid: {errors[0]}")
    graph = to_networkx(spec)
    observed = sorted(observed_names(spec))
    order = {name: index for index, name in enumerate(nx.lexicographical_topological_sort(graph))}
    found: list[Implication] = []
    for a, b in itertools.combinations(observed, 2):
        if graph.has_edge(a, b) or graph.has_edge(b, a):
            continue
        restricted = set(observed) - {a, b}
        separator = nx.find_minimal_d_separator(graph, a, b, restricted=restricted)
        if separator is None:
            continue
        first, second = sorted((a, b), key=lambda n: order[n])
        found.append(Implication(x=first, y=second, given=sorted(separator)))
        if len(found) >= limit:
            return found, True
    return found, False


def _design(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Numeric design matrix: numbers as is, everything else one-hot (first level dropped)."""
    parts = []
    for column in columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            parts.append(series.astype(float).rename(column))
        else:
            dummies = pd.get_dummies(series.astype(str), prefix=column, drop_first=True, dtype=float)
            parts.append(dummies)
    if not parts:
        return pd.DataFrame(index=frame.index)
    design = pd.concat(parts, axis=1)
    return design.loc[:, design.std(ddof=0) > 0]


def _residualise(target: pd.DataFrame, covariates: pd.DataFrame) -> np.ndarray:
    base = np.column_stack([np.ones(len(target)), covariates.to_numpy(dtype=float)]) if covariates.shape[1] else np.ones((len(target), 1))
    coef, *_ = np.linalg.lstsq(base, target.to_numpy(dtype=float), rcond=None)
    return target.to_numpy(dtype=float) - base @ coef


def conditional_independence_test(frame: pd.DataFrame, x: str, y: str, given: Sequence[str]) -> dict[str, Any]:
    """Partial association of x and y given ``given`` via regression residuals.

    One-dimensional x and y: the partial correlation with its t-test (df = n − k − 2). A multi-level
    categorical (one-hot) side: the F-test that its dummies add nothing to the regression of the other
    side's residual (statsmodels OLS). Rows with a missing value in any involved column are dropped.
    """
    import statsmodels.api as sm
    from scipy import stats

    rows = frame[[x, y, *given]].dropna()
    n = len(rows)
    if n < 10:
        return {"n": n, "partial_r": None, "p_value": None, "note": "fewer than 10 complete rows"}
    dx, dy, dz = _design(rows, [x]), _design(rows, [y]), _design(rows, list(given))
    if dx.shape[1] == 0 or dy.shape[1] == 0:
        side = x if dx.shape[1] == 0 else y
        return {"n": n, "partial_r": None, "p_value": None, "note": f"{side} does not vary in the complete rows"}
    rx, ry = _residualise(dx, dz), _residualise(dy, dz)
    k = dz.shape[1]
    if dx.shape[1] == 1 and dy.shape[1] == 1:
        sx, sy = rx[:, 0], ry[:, 0]
        if sx.std() < 1e-12 or sy.std() < 1e-12:
            return {"n": n, "partial_r": None, "p_value": None, "note": "no variation left after conditioning"}
        r = float(np.corrcoef(sx, sy)[0, 1])
        dof = n - k - 2
        t_stat = r * math.sqrt(dof / max(1e-12, 1 - r * r))
        return {"n": n, "partial_r": r, "p_value": float(2 * stats.t.sf(abs(t_stat), dof)), "note": ""}
    # Put the multi-column side on the right-hand side; if both are multi-column, test each column of y.
    if dy.shape[1] > 1 and dx.shape[1] == 1:
        rx, ry = ry, rx
    p_values = []
    for j in range(ry.shape[1]):
        fit = sm.OLS(ry[:, j], sm.add_constant(rx)).fit()
        p_values.append(float(fit.f_pvalue))
    p_value = min(1.0, min(p_values) * len(p_values))  # Bonferroni over y's dummy columns
    return {"n": n, "partial_r": None, "p_value": p_value, "note": "F-test on one-hot columns"}


def test_implications(
    spec: DagSpec, frame: pd.DataFrame, implications: Sequence[Implication] | None = None, alpha: float = 0.05
) -> list[ImplicationTest]:
    """Each implied independence tested on the data, with a plain verdict at level ``alpha``."""
    if implications is None:
        implications, _ = testable_implications(spec)
    columns = {n.name: n.column for n in spec.nodes}
    results = []
    for item in implications:
        needed = [item.x, item.y, *item.given]
        missing = [name for name in needed if columns.get(name) not in frame.columns]
        row = ImplicationTest(implication=item.text(), x=item.x, y=item.y, given=item.given)
        if missing:
            row.verdict = f"not tested: no data column for {', '.join(missing)}"
            results.append(row)
            continue
        outcome = conditional_independence_test(
            frame, columns[item.x], columns[item.y], [columns[g] for g in item.given]
        )
        row.n, row.partial_r, row.p_value = outcome["n"], outcome["partial_r"], outcome["p_value"]
        if row.p_value is None:
            row.verdict = f"not tested: {outcome['note']}"
        elif row.p_value < alpha:
            row.verdict = f"contradicted by the data (p < {alpha:g}): revisit the edges between these variables"
        else:
            row.verdict = f"consistent with the data (p ≥ {alpha:g})"
        results.append(row)
    return results


test_implications.__test__ = False  # not a pytest test despite the name


# ---------------------------------------------------------------------------------------------
# Default DAGs for the built-in datasets
# ---------------------------------------------------------------------------------------------
# N01 §8 node names mapped onto the retention columns (label = the notebook's wording).
RETENTION_COVARIATES = [
    ("health_score", "Account health"),
    ("prior_tickets", "Prior tickets"),
    ("usage_score", "Usage before outreach"),
    ("company_size", "Company size"),
    ("tenure_months", "Tenure"),
    ("region", "Region"),
    ("segment", "Segment"),
]
ENGAGEMENT = "post_outreach_engagement"

SUPPORT_CONFOUNDERS = [
    "region",
    "queue_type",
    "team_readiness",
    "manager_priority",
    "baseline_ticket_volume",
    "baseline_satisfaction",
    "backlog_start",
    "staffing_hours",
]


def _retention_dag() -> DagSpec:
    nodes = [
        DagNode(name=column, label=label, column=column, x=0.0, y=(index - 3) * 80.0)
        for index, (column, label) in enumerate(RETENTION_COVARIATES)
    ]
    nodes += [
        DagNode(name="outreach", label="Outreach", column="outreach", x=280.0, y=-60.0),
        DagNode(name=ENGAGEMENT, label="Post-outreach engagement", column=None, x=480.0, y=-180.0),
        DagNode(name="churn", label="Churn", column="churn", x=680.0, y=-60.0),
    ]
    edges = []
    for column, label in RETENTION_COVARIATES:
        edges.append(DagEdge(source=column, target="outreach", rationale=f"{label} guided who received outreach."))
        edges.append(DagEdge(source=column, target="churn", rationale=f"{label} also drives churn risk."))
    edges += [
        DagEdge(source="outreach", target=ENGAGEMENT, rationale="Outreach changes engagement after the call."),
        DagEdge(source=ENGAGEMENT, target="churn", rationale="Engagement after outreach affects churn (mediator)."),
        DagEdge(source="outreach", target="churn", rationale="Direct effect of outreach on churn."),
    ]
    return DagSpec(nodes=nodes, edges=edges, treatment="outreach", outcome="churn")


def _support_dag() -> DagSpec:
    """N09 dictionary roles: candidate confounders → enablement and the outcomes; usage and deflection
    mediate; next week's backlog is downstream of this week's workload (future leakage)."""
    labels = {
        "region": "Region",
        "queue_type": "Queue type",
        "team_readiness": "Team readiness",
        "manager_priority": "Manager priority",
        "baseline_ticket_volume": "Baseline ticket volume",
        "baseline_satisfaction": "Baseline satisfaction",
        "backlog_start": "Backlog at week start",
        "staffing_hours": "Planned staffing hours",
        "assistant_enabled": "Assistant enabled",
        "agent_uses_ai": "Agents using AI",
        "deflection_rate": "Deflection rate",
        "human_handled_hours": "Human-handled hours",
        "customer_satisfaction_score": "Customer satisfaction",
        "next_week_backlog": "Next week's backlog",
    }
    nodes = [
        DagNode(name=name, label=labels[name], column=name, x=0.0, y=(index - 3.5) * 80.0)
        for index, name in enumerate(SUPPORT_CONFOUNDERS)
    ]
    nodes += [
        DagNode(name="assistant_enabled", label=labels["assistant_enabled"], column="assistant_enabled", x=260.0, y=0.0),
        DagNode(name="agent_uses_ai", label=labels["agent_uses_ai"], column="agent_uses_ai", x=440.0, y=-200.0),
        DagNode(name="deflection_rate", label=labels["deflection_rate"], column="deflection_rate", x=620.0, y=-200.0),
        DagNode(name="human_handled_hours", label=labels["human_handled_hours"], column="human_handled_hours", x=800.0, y=-40.0),
        DagNode(
            name="customer_satisfaction_score",
            label=labels["customer_satisfaction_score"],
            column="customer_satisfaction_score",
            x=800.0,
            y=140.0,
        ),
        DagNode(name="next_week_backlog", label=labels["next_week_backlog"], column="next_week_backlog", x=1000.0, y=-40.0),
    ]
    outcomes = ("human_handled_hours", "customer_satisfaction_score")
    edges = []
    for name in SUPPORT_CONFOUNDERS:
        edges.append(DagEdge(source=name, target="assistant_enabled", rationale="Pre-treatment candidate confounder of rollout (N09 dictionary)."))
        for outcome in outcomes:
            edges.append(DagEdge(source=name, target=outcome, rationale="Pre-treatment driver of workload and satisfaction."))
    edges += [
        DagEdge(source="queue_type", target="baseline_ticket_volume", rationale="The queue served sets ticket volume."),
        DagEdge(source="baseline_ticket_volume", target="backlog_start", rationale="Higher volume builds backlog."),
        DagEdge(source="backlog_start", target="staffing_hours", rationale="Staffing is planned against the backlog."),
        DagEdge(source="assistant_enabled", target="agent_uses_ai", rationale="Agents can only use the assistant once enabled."),
        DagEdge(source="agent_uses_ai", target="deflection_rate", rationale="Deflection follows assistant use."),
        DagEdge(source="deflection_rate", target="human_handled_hours", rationale="Deflected contacts need no human hours."),
        DagEdge(source="deflection_rate", target="customer_satisfaction_score", rationale="Too much deflection can hurt satisfaction."),
        DagEdge(source="assistant_enabled", target="human_handled_hours", rationale="Total effect of enablement on workload."),
        DagEdge(source="assistant_enabled", target="customer_satisfaction_score", rationale="Guardrail: enablement may change satisfaction."),
        DagEdge(source="human_handled_hours", target="next_week_backlog", rationale="This week's work shapes next week's backlog (future)."),
        DagEdge(source="backlog_start", target="next_week_backlog", rationale="Backlog carries over to the next week."),
    ]
    return DagSpec(nodes=nodes, edges=edges, treatment="assistant_enabled", outcome="human_handled_hours")


DEFAULT_DAGS = {"retention": _retention_dag, "support": _support_dag}


def default_dag(dataset_name: str) -> DagSpec:
    """The starting DAG for a built-in dataset (N01 §8 for retention, N09's dictionary for support)."""
    if dataset_name not in DEFAULT_DAGS:
        raise ValueError(f"no default DAG for {dataset_name!r}: choose one of {', '.join(DEFAULT_DAGS)}")
    return DEFAULT_DAGS[dataset_name]()


def starter_dag(treatment: str | None, outcome: str | None, columns: Sequence[str] = ()) -> DagSpec:
    """For an uploaded dataset: just the treatment and outcome (bound to their columns) and the edge."""
    spec = DagSpec()
    if treatment:
        spec = add_node(spec, treatment, column=treatment if treatment in columns else None, x=0.0, y=0.0)
        spec = set_treatment(spec, treatment)
    if outcome and outcome != treatment:
        spec = add_node(spec, outcome, column=outcome if outcome in columns else None, x=300.0, y=0.0)
        spec = set_outcome(spec, outcome)
        if treatment:
            spec = add_edge(spec, treatment, outcome, "The effect under study.")
    return spec


def roles_table(spec: DagSpec, timing_of: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per node: label, column, observed, derived roles (and the dictionary timing if given)."""
    roles = node_roles(spec)
    rows = []
    for node in spec.nodes:
        row = {
            "node": node.name,
            "label": node.label,
            "column": node.column or "—",
            "observed": "latent" if node.latent else ("yes" if node.column else "no data column"),
            "roles": ", ".join(r.replace("_", " ") for r in roles.get(node.name, [])),
        }
        if timing_of is not None:
            row["timing"] = timing_of.get(node.column or "", "—") if node.column else "—"
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Links to the project (dictionary timing, starting graph)
# ---------------------------------------------------------------------------------------------
def initial_dag(project: Project, columns: Sequence[str]) -> tuple[DagSpec, str]:
    """The DAG a project starts from, and a sentence saying where it came from."""
    source = project.data_source
    if source is not None and source.kind == "builtin" and source.name in DEFAULT_DAGS:
        origin = "N01 §8" if source.name == "retention" else "N09's data dictionary"
        return default_dag(source.name), f"Started from the default DAG for {source.name} ({origin})."
    return (
        starter_dag(project.treatment, project.outcome, columns),
        "Started from the treatment and outcome only: add the variables that cause them.",
    )


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
