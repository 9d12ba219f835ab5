"""Basic access and validation of a DagSpec (names, observed nodes, networkx view, cycles)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import networkx as nx

from causal_core.dag.constants import _FORBIDDEN_NAME_CHARS, MAX_NAME_LENGTH, DagEditError
from causal_core.project import DagNode, DagSpec


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


def hidden_parent_name(a: str, b: str) -> str:
    """The hidden latent parent standing for ``a <-> b``. Square brackets can never occur in a node name
    (see ``name_problem``), so this name cannot collide with a user's node."""
    first, second = sorted((a, b))
    return f"[{first} <-> {second}]"


def is_hidden(name: str) -> bool:
    """A latent parent made from a bidirected edge: never adjustable, never drawn, never listed."""
    return name.startswith("[") and " <-> " in name


def bidirected_edges(spec: DagSpec) -> list[tuple[str, str]]:
    """``a <-> b`` pairs (a field added by the DAGitty importer; older specs have none)."""
    return [(edge.source, edge.target) for edge in getattr(spec, "bidirected", None) or []]


def to_networkx(spec: DagSpec, *, hidden_latents: bool = True) -> nx.DiGraph:
    """A DiGraph with node attributes (label, latent, column, x, y) and edge rationales.

    Each bidirected edge ``a <-> b`` becomes a hidden latent parent of both ends (``hidden=True``), so every
    d-separation question sees the unmeasured common cause without the user ever seeing it as a node.
    ``hidden_latents=False`` is for layout and drawing only.
    """
    graph = nx.DiGraph()
    for node in spec.nodes:
        graph.add_node(node.name, label=node.label, latent=node.latent, column=node.column, x=node.x, y=node.y)
    for edge in spec.edges:
        graph.add_edge(edge.source, edge.target, rationale=edge.rationale)
    if hidden_latents:
        for a, b in bidirected_edges(spec):
            if a == b:
                continue
            hidden = hidden_parent_name(a, b)
            graph.add_node(hidden, label="", latent=True, column=None, x=None, y=None, hidden=True)
            graph.add_edge(hidden, a, rationale="latent common cause (<->)")
            graph.add_edge(hidden, b, rationale="latent common cause (<->)")
    return graph


def edge_text(source: str, target: str) -> str:
    return f"{source} → {target}"


def format_cycle(cycle_nodes: Sequence[str]) -> str:
    """``[A, B]`` → ``A → B → A``."""
    return " → ".join([*cycle_nodes, cycle_nodes[0]])


def find_cycle(spec_or_graph: DagSpec | nx.DiGraph) -> list[str] | None:
    """The nodes of one directed cycle in order, or None if the graph is acyclic."""
    graph = spec_or_graph if isinstance(spec_or_graph, nx.DiGraph) else to_networkx(spec_or_graph)
    if nx.is_directed_acyclic_graph(graph):  # a topological sort: ~20x faster than the edge DFS on big DAGs
        return None
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
    name_counts = Counter(names)  # linear: a 2,000-node import must not spend seconds counting names
    duplicates = sorted(name for name, count in name_counts.items() if count > 1)
    if duplicates:
        errors.append(f"duplicate node names: {', '.join(duplicates)}")
    columns = [node.column for node in spec.nodes if node.column]
    for column in sorted(column for column, count in Counter(columns).items() if count > 1):
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
    errors += _bidirected_and_role_list_problems(spec, known)
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


def _bidirected_and_role_list_problems(spec: DagSpec, known: set[str]) -> list[str]:
    """Bidirected edges and the adjusted/selected lists must name existing nodes (a typo would otherwise
    silently drop a latent confounder or a selection warning)."""
    errors: list[str] = []
    for a, b in bidirected_edges(spec):
        for end in (a, b):
            if end not in known:
                errors.append(f"bidirected edge {a} <-> {b} refers to unknown node {end!r}")
        if a == b:
            errors.append(f"bidirected self-loop {a} <-> {b}: a latent common cause needs two different nodes")
    for field in ("adjusted", "selected"):
        for name in getattr(spec, field, None) or []:
            if name not in known:
                errors.append(f"the {field} node {name!r} is not a node of the graph")
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
