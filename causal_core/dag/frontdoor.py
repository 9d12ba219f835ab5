"""Pearl's front-door criterion: identification through mediators when adjustment fails.

A set M of observed nodes satisfies the front-door criterion relative to (X, Y) (Pearl 2009, Def. 3.3.3) if

1. M intercepts every directed path from X to Y;
2. there is no unblocked backdoor path from X to any node of M (X ⊥ M in G with X's outgoing edges cut);
3. every backdoor path from M to Y is blocked by X (M ⊥ Y | X in G with M's outgoing edges cut).

Then P(y | do(x)) = Σ_m P(m | x) Σ_x' P(y | m, x') P(x'), whatever latent confounds X and Y. This is the
classical criterion, not the conditional front-door of Jeong, Tian & Bareinboim (2022); a set that needs
covariates to satisfy 2 or 3 is not found here.

Candidates are the observed nodes on causal paths (mediators) that pass condition 2 on their own; sets are
tried by increasing size, so each listed set is inclusion-minimal, and the search is capped (and says so).
"""

from __future__ import annotations

import itertools

import networkx as nx
from pydantic import BaseModel, Field

from causal_core.dag.constants import MAX_FRONTDOOR_SETS, MAX_FRONTDOOR_TESTS
from causal_core.dag.criterion import proper_causal_nodes
from causal_core.dag.graph import observed_names
from causal_core.dag.identification import prepared_question
from causal_core.project import DagSpec


class FrontdoorResult(BaseModel):
    treatment: str
    outcome: str
    sets: list[list[str]] = Field(default_factory=list, description="Minimal front-door sets, smallest first.")
    capped: bool = False
    note: str = ""


def satisfies_frontdoor(graph: nx.DiGraph, x: str, y: str, mediators: set[str]) -> bool:
    """Pearl's three conditions, each one d-separation (or path) question to networkx."""
    if not mediators or x in mediators or y in mediators:
        return False
    rest = graph.copy()
    rest.remove_nodes_from(mediators)
    if nx.has_path(rest, x, y):
        return False
    x_out_cut = graph.copy()
    x_out_cut.remove_edges_from(list(graph.out_edges(x)))
    if not nx.is_d_separator(x_out_cut, {x}, mediators, set()):
        return False
    m_out_cut = graph.copy()
    m_out_cut.remove_edges_from([edge for m in mediators for edge in graph.out_edges(m)])
    return nx.is_d_separator(m_out_cut, mediators, {y}, {x})


def frontdoor_search(
    spec: DagSpec,
    treatment: str | None = None,
    outcome: str | None = None,
    *,
    max_sets: int = MAX_FRONTDOOR_SETS,
    max_tests: int = MAX_FRONTDOOR_TESTS,
) -> FrontdoorResult:
    """Minimal observed front-door sets with the cap stated. Raises IdentificationError for a bad question."""
    graph, x, y = prepared_question(spec, treatment, outcome)
    sets, capped = frontdoor_sets_in(graph, x, y, observed_names(spec), max_sets=max_sets, max_tests=max_tests)
    if not nx.has_path(graph, x, y):
        note = f"There is no directed path {x} ⇝ {y}, so there is nothing for a front-door set to carry."
    elif not sets:
        note = (
            f"No set of observed mediators satisfies the front-door criterion for {x} → {y} "
            "(each must carry every causal path, share no open backdoor path with the treatment, and have "
            "its paths to the outcome blocked by the treatment)."
        )
    else:
        note = ""
    if capped:
        note = (
            f"The front-door search stopped after {max_tests:,} tested sets or {max_sets} sets found: each listed "
            "set satisfies the criterion, but the list may be incomplete."
        )
    return FrontdoorResult(treatment=x, outcome=y, sets=sets, capped=capped, note=note)


def frontdoor_sets(spec: DagSpec, treatment: str | None = None, outcome: str | None = None) -> list[list[str]]:
    """Observed mediator sets satisfying Pearl's front-door criterion (minimal ones, capped: see
    ``frontdoor_search`` for the cap flag and note)."""
    return frontdoor_search(spec, treatment, outcome).sets


def frontdoor_sets_in(
    graph: nx.DiGraph,
    x: str,
    y: str,
    observed: set[str],
    *,
    max_sets: int = MAX_FRONTDOOR_SETS,
    max_tests: int = MAX_FRONTDOOR_TESTS,
) -> tuple[list[list[str]], bool]:
    """The search on a prepared graph (also used by the design summary's "what if measured" probes)."""
    if not nx.has_path(graph, x, y):
        return [], False
    x_out_cut = graph.copy()
    x_out_cut.remove_edges_from(list(graph.out_edges(x)))
    mediators = sorted((proper_causal_nodes(graph, x, y) - {y}) & observed)
    candidates = [m for m in mediators if nx.is_d_separator(x_out_cut, {x}, {m}, set())]
    found: list[frozenset[str]] = []
    tests = 0
    for size in range(1, len(candidates) + 1):
        for subset in itertools.combinations(candidates, size):
            chosen = frozenset(subset)
            if any(smaller <= chosen for smaller in found):
                continue
            if tests >= max_tests or len(found) >= max_sets:
                return [sorted(s) for s in found], True
            tests += 1
            if satisfies_frontdoor(graph, x, y, set(chosen)):
                found.append(chosen)
    return [sorted(s) for s in found], False
