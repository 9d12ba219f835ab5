"""Speed figures for the DAG stage: identification, implications and their tests (prints, no asserts).

    .venv/bin/python bench/bench_dag.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from causal_core import dag  # noqa: E402
from causal_core.data import analysis_frame, project_for_builtin  # noqa: E402
from causal_core.project import DagEdge, DagNode, DagSpec  # noqa: E402


def timed(label: str, func):
    start = time.perf_counter()
    result = func()
    print(f"{label:<62} {time.perf_counter() - start:8.3f} s")
    return result


def layered(n_confounders: int) -> DagSpec:
    """Confounders in a chain-linked layer, each into X and Y, plus a mediator and an M-bias collider."""
    names = [f"C{i}" for i in range(n_confounders)]
    edges = [(c, "X") for c in names] + [(c, "Y") for c in names]
    edges += [(a, b) for a, b in zip(names, names[1:], strict=False)]
    edges += [("X", "M"), ("M", "Y"), ("X", "Y"), ("A", "X"), ("A", "K"), ("B", "K"), ("B", "Y")]
    nodes = {n for e in edges for n in e}
    return DagSpec(
        nodes=[DagNode(name=n, column=n) for n in sorted(nodes)],
        edges=[DagEdge(source=a, target=b) for a, b in edges],
        treatment="X",
        outcome="Y",
    )


def main() -> None:
    for dataset in ("retention", "support"):
        project, raw = project_for_builtin(dataset)
        frame = analysis_frame(project, raw)
        spec = dag.default_dag(dataset)
        result = timed(f"{dataset}: identify ({len(spec.nodes)} nodes)", lambda spec=spec: dag.identify(spec))
        print(f"    recommended set size {len(result.recommended_set or [])}, bad controls {len(result.bad_controls)}")
        implications = timed(f"{dataset}: testable implications", lambda spec=spec: dag.testable_implications(spec))[0]
        timed(
            f"{dataset}: test {len(implications)} implications on {len(frame):,} rows",
            lambda spec=spec, frame=frame, implications=implications: dag.test_implications(spec, frame, implications),
        )
    for size in (8, 12, 16):
        spec = layered(size)
        result = timed(f"layered graph, {size} confounders: identify", lambda spec=spec: dag.identify(spec))
        print(f"    {len(result.minimal_sets)} minimal set(s), capped={result.capped}")
    project, raw = project_for_builtin("retention")
    big = raw.sample(200_000, replace=True, random_state=1)
    spec = dag.default_dag("retention")
    timed("retention: 21 implication tests on 200,000 rows", lambda: dag.test_implications(spec, big))


if __name__ == "__main__":
    main()
