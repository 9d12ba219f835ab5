"""Structural roles derived from the graph (never typed): confounder, mediator, collider, ..."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import networkx as nx

from causal_core.dag.graph import find_cycle, node_names, to_networkx
from causal_core.project import DagSpec


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
