"""Scores of a drafted DAG against the true graph: pure functions over edge lists (networkx for the causal one).

Structure metrics compare edges among the case's listed variables. A draft edge that names a node outside
those variables (a misspelt or invented column) is a false positive: it is scored, never a crash. A node the
draft marks latent is an explicit unobserved cause: its edges are left out of the structure metrics (no
variable name can match it) and count only through adjustment validity.

The causal metric is **adjustment validity**: the adjustment set the workbench would recommend from the
draft (``causal_core.dag.identify`` on the drafted graph) is checked against the back-door criterion in
the TRUE graph, for the case's pair and for a seeded sample of pairs.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx

from causal_core.project import DagEdge, DagNode, DagSpec

Edge = tuple[str, str]
SAMPLED_PAIRS = 8


# ---------------------------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------------------------
def clean_edges(edges: Iterable[Sequence[str]]) -> set[Edge]:
    """Distinct (source, target) pairs, self-loops dropped (a loop is not an edge between two variables)."""
    return {(str(s), str(t)) for s, t in edges if str(s) != str(t)}


def _prf(true: set, found: set) -> tuple[float, float, float]:
    hits = len(true & found)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def skeleton(edges: Iterable[Edge]) -> set[frozenset[str]]:
    return {frozenset(edge) for edge in edges}


def directed_scores(true: Iterable[Edge], draft: Iterable[Edge]) -> tuple[float, float, float]:
    """(precision, recall, F1) of directed edges; an empty draft or an empty truth scores 0."""
    return _prf(clean_edges(true), clean_edges(draft))


def skeleton_scores(true: Iterable[Edge], draft: Iterable[Edge]) -> tuple[float, float, float]:
    """(precision, recall, F1) of adjacencies, direction ignored."""
    return _prf(skeleton(clean_edges(true)), skeleton(clean_edges(draft)))


def orientation_accuracy(true: Iterable[Edge], draft: Iterable[Edge]) -> float:
    """Of the true adjacencies the draft found, the share it drew in the true direction only.

    A pair drawn both ways is not oriented. 0 when the draft finds no true adjacency (nothing was oriented).
    """
    true_edges, draft_edges = clean_edges(true), clean_edges(draft)
    found = [edge for edge in true_edges if edge in draft_edges or edge[::-1] in draft_edges]
    if not found:
        return 0.0
    right = sum(1 for edge in found if edge in draft_edges and edge[::-1] not in draft_edges)
    return right / len(found)


def _pair_states(edges: set[Edge]) -> dict[frozenset[str], frozenset[Edge]]:
    states: dict[frozenset[str], set[Edge]] = {}
    for edge in edges:
        states.setdefault(frozenset(edge), set()).add(edge)
    return {pair: frozenset(found) for pair, found in states.items()}


def structural_hamming_distance(true: Iterable[Edge], draft: Iterable[Edge]) -> int:
    """Node pairs whose edge differs (missing, extra or reversed each cost 1): symmetric by construction."""
    a, b = _pair_states(clean_edges(true)), _pair_states(clean_edges(draft))
    return sum(1 for pair in set(a) | set(b) if a.get(pair) != b.get(pair))


# ---------------------------------------------------------------------------------------------
# Adjustment validity
# ---------------------------------------------------------------------------------------------
def satisfies_backdoor(graph: nx.DiGraph, x: str, y: str, adjustment: Iterable[str]) -> bool:
    """Pearl's back-door criterion in ``graph``: no descendant of x in Z, and Z blocks every x ← … path to y."""
    chosen = set(adjustment)
    if x not in graph or y not in graph or not chosen <= set(graph):
        return False
    if chosen & (nx.descendants(graph, x) | {x, y}):
        return False
    backdoor = graph.copy()
    backdoor.remove_edges_from(list(graph.out_edges(x)))
    return nx.is_d_separator(backdoor, {x}, {y}, chosen)


def true_graph(spec: DagSpec) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(node.name for node in spec.nodes)
    graph.add_edges_from((edge.source, edge.target) for edge in spec.edges)
    return graph


def draft_spec(draft_edges: Iterable[Edge], variables: Sequence[str], latent: Iterable[str] = (),
               treatment: str | None = None, outcome: str | None = None) -> DagSpec:
    """The draft as a DagSpec the identification code accepts.

    Every listed variable is a node (a variable the draft left out is an isolated, observed node: the analyst
    has it); any other name is unobserved (latent), so it is never recommended for adjustment.
    """
    listed = list(dict.fromkeys(variables))
    edges = sorted(clean_edges(draft_edges))
    extra = [n for n in dict.fromkeys([*latent, *(n for e in edges for n in e)]) if n not in set(listed)]
    nodes = [DagNode(name=n, column=n) for n in listed] + [DagNode(name=n, latent=True) for n in extra]
    return DagSpec(nodes=nodes, edges=[DagEdge(source=s, target=t) for s, t in edges],
                   treatment=treatment, outcome=outcome)


def recommended_set(spec: DagSpec, x: str, y: str) -> list[str] | None:
    """What the workbench would tell the analyst to adjust for in this (drafted) graph; None when it cannot.

    A cyclic draft, or one in which the effect is not identifiable by adjustment, recommends nothing.
    """
    from causal_core.dag.identification import identify

    try:
        return identify(spec, x, y).recommended_set
    except ValueError:  # cycle, unknown node: the draft gives the analyst no usable set
        return None


def identifiable_pairs(spec: DagSpec, observed: Sequence[str]) -> list[Edge]:
    """Ordered (x, y) pairs of observed variables with a directed path x ⇝ y and a back-door set in the truth."""
    graph = true_graph(spec)
    pairs = []
    for x in observed:
        for y in sorted(nx.descendants(graph, x) & set(observed)):
            if recommended_set(spec, x, y) is not None:
                pairs.append((x, y))
    return pairs


def sample_pairs(spec: DagSpec, observed: Sequence[str], focus: Edge, seed: int, k: int = SAMPLED_PAIRS) -> list[Edge]:
    """The case's own pair first, then up to ``k`` other identifiable pairs drawn with ``seed``."""
    others = [pair for pair in identifiable_pairs(spec, observed) if pair != focus]
    chosen = random.Random(seed).sample(others, min(k, len(others)))
    return [focus, *chosen]


@dataclass(frozen=True)
class PairVerdict:
    treatment: str
    outcome: str
    recommended: tuple[str, ...] | None
    valid: bool


def adjustment_verdicts(truth: DagSpec, draft: DagSpec, pairs: Sequence[Edge]) -> list[PairVerdict]:
    """For each pair, the draft's recommended set and whether the TRUE graph's back-door criterion accepts it."""
    graph = true_graph(truth)
    verdicts = []
    for x, y in pairs:
        chosen = recommended_set(draft, x, y)
        valid = chosen is not None and satisfies_backdoor(graph, x, y, chosen)
        verdicts.append(PairVerdict(x, y, tuple(chosen) if chosen is not None else None, valid))
    return verdicts


def share_valid(verdicts: Sequence[PairVerdict]) -> float:
    return sum(v.valid for v in verdicts) / len(verdicts) if verdicts else 0.0


# ---------------------------------------------------------------------------------------------
# One draft, all metrics
# ---------------------------------------------------------------------------------------------
METRIC_COLUMNS = [
    "edge_precision", "edge_recall", "edge_f1", "skeleton_precision", "skeleton_recall", "skeleton_f1",
    "orientation_accuracy", "shd", "adjustment_valid_focus", "adjustment_valid", "outside_nodes",
]


def structure_edges(edges: Iterable[Edge], variables: Iterable[str], latent: Iterable[str]) -> set[Edge]:
    """The edges the structure metrics see: both ends listed variables, or an end that is neither listed nor
    latent (an outside name, which then counts as a false positive)."""
    listed, hidden = set(variables), set(latent)
    return {e for e in clean_edges(edges) if not ({e[0], e[1]} & hidden - listed)}


def score_draft(truth: DagSpec, variables: Sequence[str], draft_edges: Iterable[Edge], draft_latent: Iterable[str],
                pairs: Sequence[Edge]) -> dict[str, float]:
    """Every metric of one draft (plain floats), the pairs' verdicts included under ``pairs``."""
    draft_edges = clean_edges(draft_edges)
    draft_latent = set(draft_latent)
    true_latent = {n.name for n in truth.nodes if n.latent}
    true_structure = structure_edges(((e.source, e.target) for e in truth.edges), variables, true_latent)
    drafted = structure_edges(draft_edges, variables, draft_latent)
    precision, recall, f1 = directed_scores(true_structure, drafted)
    s_precision, s_recall, s_f1 = skeleton_scores(true_structure, drafted)
    listed = set(variables)
    outside = {n for e in drafted for n in e if n not in listed}
    spec = draft_spec(draft_edges, variables, draft_latent, truth.treatment, truth.outcome)
    verdicts = adjustment_verdicts(truth, spec, pairs)
    return {
        "edge_precision": precision, "edge_recall": recall, "edge_f1": f1,
        "skeleton_precision": s_precision, "skeleton_recall": s_recall, "skeleton_f1": s_f1,
        "orientation_accuracy": orientation_accuracy(true_structure, drafted),
        "shd": float(structural_hamming_distance(true_structure, drafted)),
        "adjustment_valid_focus": float(verdicts[0].valid) if verdicts else 0.0,
        "adjustment_valid": share_valid(verdicts),
        "outside_nodes": float(len(outside)),
        "pairs": [{"treatment": v.treatment, "outcome": v.outcome,
                   "recommended": list(v.recommended) if v.recommended is not None else None, "valid": v.valid}
                  for v in verdicts],
    }


def failed_scores(truth_edges: int) -> dict[str, float]:
    """A failed run: every share 0, SHD = every true edge missing (the empty graph's distance)."""
    scores: dict[str, float] = {column: 0.0 for column in METRIC_COLUMNS}
    scores["shd"] = float(truth_edges)
    return scores
