"""Every path between treatment and outcome, each marked causal or biasing and open or closed given an
adjustment set: DAGitty's classroom view, with the node that opens or closes each path named.

Why per-path rules and not only networkx's ``is_d_separator``: the analyst needs to *see* which path an
adjustment opens (a collider, or a descendant of one) or closes. The per-path verdicts are the textbook
d-separation rules; their union agrees with networkx's d-separation whenever the list is not capped (tested).

A bidirected edge ``a <-> b`` (DAGitty) stands for an unmeasured common cause: an arrowhead at both ends, so
it can make ``a`` or ``b`` a collider on a path, and it is never causal.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import networkx as nx
from pydantic import BaseModel, Field

from causal_core.dag.graph import find_cycle, format_cycle, get_node, is_observed, validate_dag
from causal_core.errors import WorkbenchInputError
from causal_core.project import DagSpec

MAX_LISTED_PATHS = 200  # paths listed between treatment and outcome (shortest first); the cap is stated

FORWARD, BACKWARD, BIDIRECTED = "->", "<-", "<->"


class DagPathError(WorkbenchInputError):
    """The paths cannot be listed (invalid graph, missing treatment/outcome, bad adjustment set)."""


class PathEdge(BaseModel):
    """One step of a path, in path order: ``a -> b``, ``a <- b`` or ``a <-> b``."""

    a: str
    b: str
    kind: str

    def arrow_into(self, node: str) -> bool:
        """Does this edge have an arrowhead at ``node``? (Decides whether a node is a collider.)"""
        if self.kind == BIDIRECTED:
            return True
        return (self.kind == FORWARD and node == self.b) or (self.kind == BACKWARD and node == self.a)

    def directed(self) -> tuple[str, str] | None:
        """The (source, target) of a directed edge as stored in the spec; None for a bidirected one."""
        if self.kind == FORWARD:
            return (self.a, self.b)
        if self.kind == BACKWARD:
            return (self.b, self.a)
        return None


class PathStatus(BaseModel):
    """One treatment–outcome path and what the adjustment set does to it."""

    nodes: list[str]
    edges: list[PathEdge]
    text: str
    causal: bool = Field(description="Every edge points from the treatment towards the outcome.")
    kind: str = Field(description="causal | biasing (non-causal)")
    open: bool
    colliders: list[str] = Field(default_factory=list)
    closed_by: list[str] = Field(default_factory=list, description="Adjusted non-colliders that block the path.")
    closed_at: list[str] = Field(default_factory=list, description="Colliders that block it (none of it adjusted).")
    opened_by: list[str] = Field(default_factory=list, description="Adjusted colliders / collider descendants.")
    reason: str = ""


class PathReport(BaseModel):
    treatment: str
    outcome: str
    adjusted: list[str]
    selected: list[str] = Field(default_factory=list)
    paths: list[PathStatus] = Field(default_factory=list)
    capped: bool = False
    limit: int = MAX_LISTED_PATHS
    post_treatment: list[str] = Field(default_factory=list, description="Adjusted descendants of the treatment.")
    summary: str = ""

    @property
    def clean(self) -> bool:
        """Every listed biasing path closed, every causal path open, nothing post-treatment adjusted."""
        causal_open, biasing_open = self.open_counts()
        return biasing_open == 0 and causal_open == sum(p.causal for p in self.paths) and not self.post_treatment

    def open_counts(self) -> tuple[int, int]:
        """(open causal paths, open biasing paths)."""
        causal = sum(1 for p in self.paths if p.open and p.causal)
        return causal, sum(1 for p in self.paths if p.open and not p.causal)


# ---------------------------------------------------------------------------------------------
# Graph access
# ---------------------------------------------------------------------------------------------
def _directed_graph(spec: DagSpec) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(node.name for node in spec.nodes)
    graph.add_edges_from((edge.source, edge.target) for edge in spec.edges)
    return graph


def _bidirected_pairs(spec: DagSpec) -> set[frozenset[str]]:
    return {frozenset((edge.source, edge.target)) for edge in getattr(spec, "bidirected", []) or []}


def _skeleton(spec: DagSpec) -> nx.Graph:
    skeleton = nx.Graph()
    skeleton.add_nodes_from(node.name for node in spec.nodes)
    skeleton.add_edges_from((edge.source, edge.target) for edge in spec.edges)
    skeleton.add_edges_from(tuple(pair) for pair in _bidirected_pairs(spec) if len(pair) == 2)
    return skeleton


def _step_kinds(graph: nx.DiGraph, bidirected: set[frozenset[str]], a: str, b: str) -> list[str]:
    """Every edge joining consecutive path nodes (a pair can hold both a → b and a ↔ b)."""
    kinds = []
    if graph.has_edge(a, b):
        kinds.append(FORWARD)
    if graph.has_edge(b, a):
        kinds.append(BACKWARD)
    if frozenset((a, b)) in bidirected:
        kinds.append(BIDIRECTED)
    return kinds


def _text(edges: Sequence[PathEdge]) -> str:
    arrows = {FORWARD: "→", BACKWARD: "←", BIDIRECTED: "↔"}
    return " ".join([edges[0].a, *(f"{arrows[e.kind]} {e.b}" for e in edges)])


def _check_inputs(spec: DagSpec, treatment: str | None, outcome: str | None, adjusted: Iterable[str]) -> list[str]:
    """The validated adjustment set; a DagPathError names the exact problem otherwise."""
    cycle = find_cycle(_directed_graph(spec))
    if cycle:
        raise DagPathError(f"the graph has a cycle ({format_cycle(cycle)}): paths are defined for acyclic graphs")
    errors = validate_dag(spec)
    if errors:
        raise DagPathError(f"the DAG is not valid: {errors[0]}")
    if not treatment or not outcome:
        raise DagPathError("choose a treatment and an outcome node to list the paths between them")
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if get_node(spec, name) is None:
            raise DagPathError(f"the {role} {name!r} is not a node of the graph")
    if treatment == outcome:
        raise DagPathError("the treatment and the outcome are the same node")
    chosen = list(dict.fromkeys(adjusted))
    for name in chosen:
        node = get_node(spec, name)
        if node is None:
            raise DagPathError(f"cannot adjust for {name!r}: it is not a node of the graph")
        if name in (treatment, outcome):
            raise DagPathError(f"cannot adjust for {name!r}: it is the {'treatment' if name == treatment else 'outcome'}")
        if not is_observed(node):
            raise DagPathError(f"cannot adjust for {name!r}: it is latent or has no data column")
    return chosen


# ---------------------------------------------------------------------------------------------
# Per-path d-separation
# ---------------------------------------------------------------------------------------------
def classify_path(
    graph: nx.DiGraph, edges: Sequence[PathEdge], conditioned: set[str], selected: Iterable[str] = ()
) -> PathStatus:
    """Open or closed given ``conditioned`` (adjusted ∪ selected), by the d-separation rules per node:
    an adjusted non-collider closes the path; a collider closes it unless it or one of its descendants is
    conditioned on, which opens it."""
    selected = set(selected)
    nodes = [edges[0].a, *(e.b for e in edges)]
    causal = all(e.kind == FORWARD for e in edges)
    status = PathStatus(nodes=nodes, edges=list(edges), text=_text(edges), causal=causal,
                        kind="causal" if causal else "biasing", open=True)
    openers: list[str] = []
    for before, node, after in zip(edges, nodes[1:-1], edges[1:], strict=False):
        if before.arrow_into(node) and after.arrow_into(node):
            status.colliders.append(node)
            if node in conditioned:
                status.opened_by.append(node)
                openers.append(f"{'selecting on' if node in selected else 'adjusting for'} the collider {node}")
                continue
            below = sorted(nx.descendants(graph, node) & conditioned)
            if below:
                status.opened_by.append(below[0])
                verb = "selecting on" if below[0] in selected else "adjusting for"
                openers.append(f"{verb} {below[0]}, a descendant of the collider {node}")
            else:
                status.closed_at.append(node)
        elif node in conditioned:
            status.closed_by.append(node)
    status.open = not status.closed_by and not status.closed_at
    status.reason = _reason(status, openers, selected)
    return status


def _add_closing_hint(status: PathStatus, closable: set[str]) -> None:
    """For an open biasing path, which adjustment would close it (observed, pre-treatment non-colliders on
    it), or that none can: the classroom question "what do I adjust for?" answered per path."""
    if status.causal or not status.open:
        return
    candidates = [n for n in status.nodes[1:-1] if n in closable and n not in status.colliders]
    if candidates:
        status.reason += f"; adjusting for {' or '.join(candidates)} would close it"
    else:
        status.reason += "; no observed pre-treatment variable on it can close it (unmeasured confounding)"


def _reason(status: PathStatus, openers: list[str], selected: set[str]) -> str:
    """One sentence naming what opens or closes the path (the classroom explanation)."""
    closers = [f"{'the selection on' if n in selected else 'adjusting for'} {n}" for n in status.closed_by]
    closers += [f"the collider {n} (not adjusted)" for n in status.closed_at]
    if status.causal:
        if status.open:
            return "open: carries part of the effect"
        return "closed by " + ", ".join(closers) + ": over-control blocks part of the effect"
    if status.open:
        return ("open: opened by " + " and ".join(openers) if openers else "open: nothing on it is adjusted for") + (
            "; it biases the estimate"
        )
    text = "closed by " + ", ".join(closers)
    if openers:
        text += ", even though " + " and ".join(openers) + " opens it at that collider"
    return text


# ---------------------------------------------------------------------------------------------
# Listing
# ---------------------------------------------------------------------------------------------
def _edge_paths(spec: DagSpec, graph: nx.DiGraph, x: str, y: str, limit: int) -> tuple[list[list[PathEdge]], bool]:
    """Simple paths on the skeleton, shortest first, expanded over parallel edges; capped at ``limit``."""
    skeleton = _skeleton(spec)
    bidirected = _bidirected_pairs(spec)
    if not nx.has_path(skeleton, x, y):
        return [], False
    found: list[list[PathEdge]] = []
    for node_path in nx.shortest_simple_paths(skeleton, x, y):
        steps = [_step_kinds(graph, bidirected, a, b) for a, b in itertools.pairwise(node_path)]
        for kinds in itertools.product(*steps):
            if len(found) >= limit:
                return found, True
            found.append([PathEdge(a=a, b=b, kind=k) for (a, b), k in zip(itertools.pairwise(node_path), kinds,
                                                                          strict=True)])
    return found, False


def list_paths(
    spec: DagSpec,
    adjusted: Iterable[str] | None = None,
    treatment: str | None = None,
    outcome: str | None = None,
    limit: int = MAX_LISTED_PATHS,
) -> PathReport:
    """Every treatment–outcome path (shortest first, at most ``limit``), each causal or biasing and open or
    closed given ``adjusted`` (default: the spec's ``adjusted``) plus the spec's selection nodes.

    Raises DagPathError with the reason for a cyclic/invalid graph, a missing treatment/outcome or an
    adjustment set that names the treatment, the outcome, an unknown or an unobserved node.
    """
    x = treatment or spec.treatment
    y = outcome or spec.outcome
    chosen = _check_inputs(spec, x, y, spec.adjusted if adjusted is None else adjusted)
    selected = [n for n in getattr(spec, "selected", []) or [] if n not in (x, y)]
    graph = _directed_graph(spec)
    conditioned = set(chosen) | set(selected)
    edge_paths, capped = _edge_paths(spec, graph, x, y, limit)
    statuses = [classify_path(graph, edges, conditioned, selected) for edges in edge_paths]
    closable = {n.name for n in spec.nodes if is_observed(n)} - nx.descendants(graph, x) - {x, y}
    for status in statuses:
        _add_closing_hint(status, closable)
    report = PathReport(treatment=x, outcome=y, adjusted=chosen, selected=selected, paths=statuses,
                        capped=capped, limit=limit)
    report.post_treatment = sorted(set(chosen) & nx.descendants(graph, x))
    report.summary = _summary(report, report.post_treatment)
    return report


def _summary(report: PathReport, post_treatment: Sequence[str] = ()) -> str:
    given = "{" + ", ".join(report.adjusted) + "}" if report.adjusted else "no adjustment"
    if report.selected:
        given += f" (and the selection on {', '.join(report.selected)})"
    if not report.paths:
        return f"No path joins {report.treatment} and {report.outcome}: the graph says they are independent."
    causal_open, biasing_open = report.open_counts()
    causal_total = sum(1 for p in report.paths if p.causal)
    shown = f"{len(report.paths)} path(s)" + (f" (the {report.limit} shortest; more exist)" if report.capped else "")
    text = (
        f"{shown} between {report.treatment} and {report.outcome} with {given}: "
        f"{causal_open} of {causal_total} causal open, {biasing_open} biasing open."
    )
    if biasing_open:
        text += " Biasing paths are open: the adjusted estimate would not be the causal effect."
    if causal_open < causal_total:
        text += " Some causal paths are closed: the estimate would be a partial (direct) effect, not the total."
    if post_treatment:
        text += (
            f" {', '.join(post_treatment)} is downstream of {report.treatment} (post-treatment): adjusting for it can "
            "bias the total effect even where every path looks right."
        )
    elif biasing_open == 0 and causal_open == causal_total:
        text += " This set closes every biasing path listed and leaves every causal path open."
    return text


def usable_adjustment(spec: DagSpec) -> tuple[list[str], list[str]]:
    """The stored ``adjusted`` set split into what can be adjusted for and why the rest cannot (an imported
    DAGitty file may mark a latent node or the treatment as adjusted); the page warns and uses the rest."""
    kept, dropped = [], []
    for name in spec.adjusted:
        node = get_node(spec, name)
        if node is None:
            dropped.append(f"{name} is not a node of the graph")
        elif name in (spec.treatment, spec.outcome):
            dropped.append(f"{name} is the {'treatment' if name == spec.treatment else 'outcome'}")
        elif not is_observed(node):
            dropped.append(f"{name} is latent or has no data column")
        else:
            kept.append(name)
    return kept, dropped


def path_edges_for_display(path: PathStatus) -> tuple[set[tuple[str, str]], set[frozenset[str]]]:
    """The directed edges (source, target) and bidirected pairs of one path, for highlighting on the graph."""
    directed = {d for d in (e.directed() for e in path.edges) if d is not None}
    bidirected = {frozenset((e.a, e.b)) for e in path.edges if e.kind == BIDIRECTED}
    return directed, bidirected
