"""Brute-force reference implementations the fast DAG code is tested (and benchmarked) against.

They lived in the production modules as private functions nothing there called; a test oracle belongs with the
tests. ``bench/bench_dag.py`` times them as the baseline (``make bench`` runs the scripts from the project folder).
"""

from __future__ import annotations

import itertools

import networkx as nx

from causal_core.dag.constants import MAX_MINIMAL_SETS, MAX_SUBSET_TESTS
from causal_core.dag.roles import _classify_roles, _d_separated
from causal_core.project import DagSpec

__all__ = ["enumerate_minimal_sets", "node_roles_by_d_separation"]


def enumerate_minimal_sets(
    backdoor: nx.DiGraph, x: str, y: str, candidates: list[str]
) -> tuple[list[list[str]], bool]:
    """All inclusion-minimal backdoor sets by increasing size (a set is minimal iff it contains no smaller
    valid set, and every smaller valid set was found first). Stops after MAX_SUBSET_TESTS tests.

    Not used by ``identify`` (exponential: 7.8 s on a 40-node DAG): the brute-force oracle that the
    polynomial-delay listing (``criterion.minimal_d_separators``) is tested against."""
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


def node_roles_by_d_separation(spec: DagSpec) -> dict[str, list[str]]:
    """The reference implementation of ``node_roles`` (one networkx d-separation test per node and role),
    the test oracle for the fast version.

    confounder: a common cause of treatment and outcome (ancestor of both, the outcome reached without
    passing through the treatment); mediator: on a causal path treatment ⇝ outcome; descendant_of_treatment:
    anything downstream of the treatment (post-treatment); collider: a common effect sitting on a non-causal
    treatment–outcome path (conditioning on it opens that path); instrument: causes the treatment and is
    independent of the outcome once the treatment's effects are cut; precision: causes the outcome only.
    """
    return _classify_roles(
        spec,
        lambda graph, backdoor, x, y: (
            lambda n: _is_structural_collider(backdoor, n, x, y),
            lambda n: _d_separated(backdoor, n, y, set()),
            lambda n: _d_separated(graph, n, x, set()),
        ),
    )


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
