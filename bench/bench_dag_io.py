"""Speed of the DAGitty reader on large files, and of refusing a file above the node limit.

The import limit (``dag_io.MAX_IMPORT_NODES`` = 2,000) must be reachable in bounded time: this builds a random
sparse DAG with N nodes (each node gets up to 3 parents among earlier nodes, positions, a few latents and
bidirected edges), writes it as DAGitty text, then times parse (best of 3) at N = 200 (the baseline, same
process) and N = 2,000, prints the ratio (≈ 10 means linear), times the older two-block format at 2,000, and
the refusal of a 2,001-node file. Run: ``.venv/bin/python bench/bench_dag_io.py``.
"""

from __future__ import annotations

import random
import time

from causal_core import dag_io
from causal_core.project import DagEdge, DagNode, DagSpec


def random_spec(size: int, seed: int = 1) -> DagSpec:
    rng = random.Random(seed)
    names = [f"v{i}" for i in range(size)]
    nodes = [DagNode(name=n, latent=rng.random() < 0.05, x=float(i % 50), y=float(i // 50)) for i, n in enumerate(names)]
    for node in nodes:
        node.column = None if node.latent else node.name
    edges = [
        DagEdge(source=names[j], target=names[i])
        for i in range(1, size)
        for j in sorted(rng.sample(range(i), min(i, rng.randint(1, 3))))
    ]
    bidirected = [DagEdge(source=names[i], target=names[i + 1]) for i in range(0, size - 1, 97)]
    observed = [n.name for n in nodes if not n.latent]
    return DagSpec(nodes=nodes, edges=edges, bidirected=bidirected, treatment=observed[0], outcome=observed[-1])


def legacy_text(spec: DagSpec) -> str:
    """The older DAGitty format: vertex lines, a blank line, adjacency lines."""
    flags = {spec.treatment: "E", spec.outcome: "O"}
    vertices = [f"{n.name} {'U' if n.latent else flags.get(n.name, '1')} @{n.x:g},{n.y:g}" for n in spec.nodes]
    children: dict[str, list[str]] = {}
    for edge in spec.edges:
        children.setdefault(edge.source, []).append(edge.target)
    adjacency = [" ".join([source, *targets]) for source, targets in children.items()]
    return "\n".join(vertices) + "\n\n" + "\n".join(adjacency) + "\n"


def best_of(function, text: str, repeats: int = 3) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(text)
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    baseline_text = dag_io.to_dagitty(random_spec(200))
    big = random_spec(dag_io.MAX_IMPORT_NODES)
    big_text = dag_io.to_dagitty(big)
    baseline = best_of(dag_io.from_dagitty, baseline_text)
    large = best_of(dag_io.from_dagitty, big_text)
    assert dag_io.from_dagitty(big_text) == big  # the bench parses what it claims to
    print(f"200 nodes:   {baseline * 1000:8.1f} ms  ({len(baseline_text):,} characters)")
    print(
        f"2,000 nodes: {large * 1000:8.1f} ms  ({len(big_text):,} characters, {len(big.edges):,} edges, "
        f"{len(big.bidirected)} bidirected)  ratio {large / baseline:.1f}x for 10x the nodes"
    )
    from causal_core.dag import validate_dag

    validation = best_of(lambda _text: validate_dag(big), "")
    print(f"  of which causal_core.dag.validate_dag on the result: {validation * 1000:8.1f} ms")
    old = legacy_text(big)
    print(f"2,000 nodes, older two-block format: {best_of(dag_io.from_dagitty, old) * 1000:8.1f} ms")
    over = big_text.replace("\n}", f"\n  extra_node_{dag_io.MAX_IMPORT_NODES + 1}\n}}")
    start = time.perf_counter()
    try:
        dag_io.from_dagitty(over)
    except dag_io.DagFormatError as error:
        print(f"2,001 nodes refused in {(time.perf_counter() - start) * 1000:.1f} ms: {error}")
    else:
        raise SystemExit("a file above the node limit was accepted")


if __name__ == "__main__":
    main()
