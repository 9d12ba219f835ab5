"""The adjustment criterion (van der Zander, Liśkiewicz & Textor 2014/2019), DAGitty's default.

Why a second criterion next to the backdoor one: the backdoor criterion is sufficient but not complete. A set
may contain a descendant of the treatment that lies on no causal path (and descends from none) and still
remove all bias; the adjustment criterion accepts exactly the sets that work for *every* model of the graph.

The construction, for treatment set X and outcome set Y in a DAG G (latent nodes included):

* ``Cn(X, Y)``: nodes other than X on a *proper* causal path (a directed path X → … → Y meeting X only at its
  start);
* ``Forb(X, Y)``: X and every descendant of a node in Cn (descendants taken in G with X's incoming edges cut);
* the *proper backdoor graph*: G without the first edge of every proper causal path (edges x → v, v ∈ Cn).

Z is an adjustment set iff Z ∩ Forb = ∅ and Z d-separates X and Y in the proper backdoor graph. Minimal sets
are the minimal vertex separators of X and Y in the moral graph of the ancestors of X ∪ Y in that graph, with
latent and forbidden nodes allowed on paths but never in a set; they are listed by Takata's (2010) algorithm
with DAGitty's must/must-not extension (polynomial delay, so a 40-node graph is fast), and each listed set is
re-checked with ``networkx.is_d_separator`` before it is returned.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import networkx as nx

from causal_core.dag.constants import MAX_MINIMAL_SETS, MAX_SUBSET_TESTS, MAX_VERIFIED_SETS


def _as_set(nodes: str | Iterable[str]) -> set[str]:
    return {nodes} if isinstance(nodes, str) else set(nodes)


def _without_edges_into(graph: nx.DiGraph, nodes: Collection[str]) -> nx.DiGraph:
    """A read-only view (no copy: a 300-node graph is copied in ~20 ms, and these are called per question)."""
    return nx.restricted_view(graph, [], [edge for node in nodes for edge in graph.in_edges(node)])


def _without_edges_out_of(graph: nx.DiGraph, nodes: Collection[str]) -> nx.DiGraph:
    return nx.restricted_view(graph, [], [edge for node in nodes for edge in graph.out_edges(node)])


def proper_causal_nodes(graph: nx.DiGraph, xs: str | Iterable[str], ys: str | Iterable[str]) -> set[str]:
    """Cn(X, Y): the nodes, other than X, on a proper causal path from X to Y (Y itself included when
    reached)."""
    xs, ys = _as_set(xs), _as_set(ys)
    entering_cut = _without_edges_into(graph, xs)
    reachable: set[str] = set()
    for x in xs:
        reachable |= nx.descendants(entering_cut, x)
    leaving_cut = _without_edges_out_of(graph, xs)
    reaching = set(ys)
    for y in ys:
        reaching |= nx.ancestors(leaving_cut, y)
    return (reachable & reaching) - xs


def forbidden_nodes(graph: nx.DiGraph, xs: str | Iterable[str], ys: str | Iterable[str]) -> set[str]:
    """Forb(X, Y): X and every descendant of a node on a proper causal path. Adjusting for any of them
    blocks part of the effect or conditions on a consequence of it."""
    xs = _as_set(xs)
    causal = proper_causal_nodes(graph, xs, ys)
    entering_cut = _without_edges_into(graph, xs)
    forbidden = set(causal) | xs
    for node in causal:
        forbidden |= nx.descendants(entering_cut, node)
    return forbidden


def proper_backdoor_graph(graph: nx.DiGraph, xs: str | Iterable[str], ys: str | Iterable[str]) -> nx.DiGraph:
    """G without the first edge of every proper causal path: only non-causal X–Y paths stay open."""
    xs = _as_set(xs)
    causal = proper_causal_nodes(graph, xs, ys)
    cut = graph.copy()  # a copy, not a view: d-separation walks it many times and views filter every step
    cut.remove_edges_from([(x, v) for x in xs for v in graph.successors(x) if v in causal])
    return cut


def is_adjustment_set(
    graph: nx.DiGraph, xs: str | Iterable[str], ys: str | Iterable[str], adjustment: Iterable[str]
) -> bool:
    """The adjustment criterion itself (the definition every enumerated set is checked against)."""
    return adjustment_checker(graph, xs, ys)(adjustment)


def adjustment_checker(graph: nx.DiGraph, xs: str | Iterable[str], ys: str | Iterable[str]):
    """``is_adjustment_set`` for many sets and one question: Forb and the proper backdoor graph built once."""
    xs, ys = _as_set(xs), _as_set(ys)
    forbidden = forbidden_nodes(graph, xs, ys)
    backdoor = proper_backdoor_graph(graph, xs, ys)

    def check(adjustment: Iterable[str]) -> bool:
        chosen = set(adjustment)
        return not (chosen & forbidden) and nx.is_d_separator(backdoor, xs, ys, chosen)

    return check


def criterion_violation(
    graph: nx.DiGraph, xs: str | Iterable[str], ys: str | Iterable[str], adjustment: Iterable[str]
) -> str:
    """Why ``adjustment`` fails the criterion, in words ('' when it passes)."""
    xs, ys, chosen = _as_set(xs), _as_set(ys), set(adjustment)
    bad = sorted(chosen & forbidden_nodes(graph, xs, ys))
    if bad:
        return f"{', '.join(bad)} lie(s) on, or descend from, a causal path from the treatment to the outcome"
    if not nx.is_d_separator(proper_backdoor_graph(graph, xs, ys), xs, ys, chosen):
        return "a non-causal path from the treatment to the outcome stays open"
    return ""


def minimal_adjustment_sets(
    graph: nx.DiGraph,
    xs: str | Iterable[str],
    ys: str | Iterable[str],
    allowed: Iterable[str],
    *,
    must: Iterable[str] = (),
    max_sets: int = MAX_MINIMAL_SETS,
) -> tuple[list[list[str]], bool]:
    """All minimal adjustment sets within ``allowed`` (observed nodes), smallest first, and whether the list
    stopped at ``max_sets``. An empty list means no adjustment set exists; ``[[]]`` means none is needed."""
    xs, ys = _as_set(xs), _as_set(ys)
    allowed = set(allowed) - forbidden_nodes(graph, xs, ys)
    return minimal_d_separators(proper_backdoor_graph(graph, xs, ys), xs, ys, allowed, must=must, max_sets=max_sets)


def minimal_d_separators(
    graph: nx.DiGraph,
    xs: str | Iterable[str],
    ys: str | Iterable[str],
    allowed: Iterable[str],
    *,
    must: Iterable[str] = (),
    max_sets: int = MAX_MINIMAL_SETS,
    max_steps: int | None = None,
) -> tuple[list[list[str]], bool]:
    """Every inclusion-minimal d-separator of X and Y in ``graph`` drawn from ``allowed`` (plus ``must``),
    smallest first, and whether the listing was capped (``max_sets`` sets or ``max_steps`` search steps,
    default MAX_SUBSET_TESTS). Minimal separators lie in An(X ∪ Y), where d-separation is vertex separation
    in the moral graph (Lauritzen), so the listing runs on that undirected graph."""
    xs, ys, must = _as_set(xs), _as_set(ys), set(must)
    allowed = set(allowed) - xs - ys
    if must - allowed:
        return [], False
    if nx.find_minimal_d_separator(graph, xs, ys, included=must, restricted=allowed | must) is None:
        return [], False
    keep = set(xs) | ys | must
    for node in xs | ys | must:
        keep |= nx.ancestors(graph, node)
    moral = nx.moral_graph(graph.subgraph(keep))
    blocked = set(moral) - allowed - xs - ys
    steps = MAX_SUBSET_TESTS if max_steps is None else max_steps
    found, capped = _list_minimal_separators(moral, xs, ys, must, blocked, max_sets, steps)
    listed = sorted((sorted(s) for s in found), key=lambda s: (len(s), s))
    # Belt and braces: the smallest sets (the ones shown first and recommended) are re-checked by networkx.
    # Each check costs a full acyclicity test inside networkx, so not all 50 sets on a large graph.
    if not all(nx.is_d_separator(graph, xs, ys, set(s)) for s in listed[:MAX_VERIFIED_SETS]):
        raise AssertionError("the minimal-separator listing produced a set that does not d-separate")  # pragma: no cover
    return listed, capped


def _list_minimal_separators(
    moral: nx.Graph,
    sources: set[str],
    targets: set[str],
    must: set[str],
    must_not: set[str],
    max_sets: int,
    max_steps: int,
) -> tuple[list[set[str]], bool]:
    """Takata's listing of minimal vertex separators of sources and targets in an undirected graph, with
    nodes that must be in every separator and nodes that can never be (they are passed through instead).
    With must-not nodes a branch can end without a set, so the number of steps is bounded too."""

    adjacency = {node: sorted(moral[node]) for node in moral}  # sorted once: deterministic and fast

    def real_neighbours(region: Iterable[str]) -> list[str]:
        region = list(region)
        visited = set(region) | must
        boundary: list[str] = []
        queue = list(region)
        while queue:
            for neighbour in adjacency[queue.pop()]:
                if neighbour in visited:
                    continue
                visited.add(neighbour)
                (queue if neighbour in must_not else boundary).append(neighbour)
        return boundary

    def component(starts: Iterable[str], avoid: Iterable[str]) -> list[str]:
        starts = list(starts)
        visited = set(avoid) | set(starts)
        found, queue = list(starts), list(starts)
        while queue:
            for neighbour in adjacency[queue.pop()]:
                if neighbour not in visited:
                    visited.add(neighbour)
                    found.append(neighbour)
                    queue.append(neighbour)
        return found

    def near_separator(region: list[str]) -> list[str]:
        closest = component(targets, [*real_neighbours(region), *must])
        return real_neighbours(closest)

    results: list[set[str]] = []
    target_side = set(targets)
    for target in targets:
        target_side |= set(moral[target])
    stack: list[tuple[list[str], frozenset[str]]] = [(sorted(sources), frozenset(target_side))]
    steps = 0
    while stack:
        if len(results) >= max_sets or steps >= max_steps:
            return results, True
        steps += 1
        region, unavailable = stack.pop()
        separator = near_separator(region)
        source_side = component(sorted(sources), [*separator, *must])
        if set(source_side) & unavailable:
            continue
        extensions = [v for v in real_neighbours(source_side) if v not in unavailable]
        if not extensions:
            results.append(set(separator) | must)
            continue
        first = extensions[0]
        stack.append((source_side, unavailable | {first}))
        stack.append(([*source_side, first], unavailable))
    return results, False
