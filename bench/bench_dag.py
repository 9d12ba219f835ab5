"""Speed figures for the DAG stage: identification, implications and their tests (prints, no asserts).

    .venv/bin/python bench/bench_dag.py          # everything
    .venv/bin/python bench/bench_dag.py page     # only the DAG page render times (issue 18 §10)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from causal_core import dag
from causal_core.data import analysis_frame, project_for_builtin
from causal_core.project import DagEdge, DagNode, DagSpec
from tests.dag_oracles import enumerate_minimal_sets, node_roles_by_d_separation


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


# ---- identification on 40-node random DAGs (helper "identification") -------------------------------------
def random_spec(seed: int, n: int = 40, degree: float = 3.0, latent_share: float = 0.15) -> DagSpec:
    """A random DAG (edge probability for the given mean degree) with some latent nodes; X early, Y last."""
    import random

    rng = random.Random(seed)
    names = [f"V{i:02d}" for i in range(n)]
    p = 2 * degree / (n - 1)
    edges = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    x, y = names[n // 3], names[-1]
    latent = {v for v in names if v not in (x, y) and rng.random() < latent_share}
    return DagSpec(
        nodes=[DagNode(name=v, latent=v in latent, column=None if v in latent else v) for v in names],
        edges=[DagEdge(source=a, target=b) for a, b in edges],
        treatment=x,
        outcome=y,
    )


def _best_of(func, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def identification_block(seeds: range = range(8), baseline_seeds: int = 4) -> None:
    """Target: the whole identification (backdoor + criterion + front-door + instruments + design sentence)
    on a 40-node random DAG in < 1 s. Baseline in the same process, on the first graphs: the exhaustive subset
    search identify() used before (capped at MAX_SUBSET_TESTS d-separation tests)."""
    from causal_core.dag import identification

    for degree in (3.0, 4.5):
        print(f"40-node random DAGs (mean degree {degree}, 15 % latent): best of 3 runs")
        worst = 0.0
        for seed in seeds:
            spec = random_spec(seed, degree=degree)
            graph = dag.to_networkx(spec)
            x, y = spec.treatment, spec.outcome
            new_identify = _best_of(lambda spec=spec: dag.identify(spec))
            design = _best_of(lambda spec=spec: dag.design_summary(spec))
            instruments = _best_of(lambda spec=spec: dag.conditional_instruments(spec))
            frontdoor = _best_of(lambda spec=spec: dag.frontdoor_search(spec))
            whole = new_identify + design + instruments + frontdoor
            worst = max(worst, whole)
            result = dag.identify(spec)
            baseline = "old subset search: n/a"
            if result.identifiable and seed < baseline_seeds and degree == 3.0:
                backdoor = identification._without_treatment_out_edges(graph, x)
                candidates = identification._candidates(graph, spec, x, y)
                old = _best_of(
                    lambda b=backdoor, x=x, y=y, c=candidates: enumerate_minimal_sets(b, x, y, c),
                    repeats=1,
                )
                baseline = f"old subset search {old:6.3f} s (×{old / max(new_identify, 1e-9):.0f})"
            print(
                f"  seed {seed}: identify {new_identify:6.3f} s ({baseline}); design {design:6.3f} s; "
                f"instruments {instruments:6.3f} s; front-door {frontdoor:6.3f} s; all {whole:6.3f} s; "
                f"{len(result.minimal_sets)} set(s), design={dag.design_summary(spec).design}"
            )
        print(f"  worst total over {len(seeds)} graphs: {worst:.3f} s (target < 1 s)")
    for n in (200, 2_000):  # bounded time on big imports (DAGitty files are accepted up to 2,000 nodes)
        spec = random_spec(1, n=n, degree=2.0)
        timed(f"{n:,}-node random DAG (mean degree 2): identify", lambda spec=spec: dag.identify(spec))
        timed(f"{n:,}-node random DAG: design summary", lambda spec=spec: dag.design_summary(spec))
        timed(f"{n:,}-node random DAG: instrument search (capped)", lambda spec=spec: dag.instrument_search(spec))
        fast = timed(f"{n:,}-node random DAG: derived roles (treks)", lambda spec=spec: dag.node_roles(spec))
        if n <= 200:  # the per-node d-separation reference, as the baseline (43 s at 1,000 nodes)
            reference = timed(f"{n:,}-node random DAG: derived roles (reference, one d-separation per node)",
                              lambda spec=spec: node_roles_by_d_separation(spec))
            print(f"    same roles: {fast == reference}")


# ---- paths and the test of the DAG against the data (helper "dag-page") ---------------------------------
def _simulated_coverage(reps: int, n: int, kind: str, seed: int = 0) -> float:
    """Share of Fisher-z 95 % intervals that cover the true partial correlation (0.3, or 0 under independence)."""
    import numpy as np
    import pandas as pd

    from causal_core.dag.falsify import CITester

    rng = np.random.default_rng(seed)
    covered = 0
    for _ in range(reps):
        z = rng.normal(size=(n, 2))
        if kind == "gaussian":
            errors = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], size=n)
            x, y, truth = z @ [1.0, -0.5] + errors[:, 0], z @ [0.3, 2.0] + errors[:, 1], 0.3
        elif kind == "binary":  # 0/1 sides, independent given z: the partial correlation is 0
            x = rng.binomial(1, 1 / (1 + np.exp(-z[:, 0])))
            y = rng.binomial(1, 1 / (1 + np.exp(-z[:, 1])))
            truth = 0.0
        else:  # skewed (lognormal) errors, independent given z
            x, y, truth = z @ [1.0, -0.5] + rng.lognormal(size=n), z @ [0.3, 2.0] + rng.lognormal(size=n), 0.0
        frame = pd.DataFrame({"X": x, "Y": y, "Z1": z[:, 0], "Z2": z[:, 1]})
        result = CITester(frame, {c: c for c in frame}).test("X", "Y", ["Z1", "Z2"])
        covered += result.ci_low <= truth <= result.ci_high
    return covered / reps


def _random_dag(seed: int, n: int = 40, p: float = 0.08) -> DagSpec:
    """Edges i → j (i < j) with probability p, every node observed."""
    import random

    rng = random.Random(seed)
    names = [f"V{i:02d}" for i in range(n)]
    edges = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if rng.random() < p]
    return DagSpec(nodes=[DagNode(name=v, column=v) for v in names],
                   edges=[DagEdge(source=a, target=b) for a, b in edges])


def _verdict_rates(spec: DagSpec, falsify, runs: int = 20) -> None:
    """How often the global verdict says "falsified" on data from the DAG itself (its false-alarm rate) and
    on data with a latent factor behind every covariate (its power), 2,000 rows each."""
    from tests.test_dag_falsify import simulate_retention  # run as `python -m bench.bench_dag` (make bench)

    started = time.perf_counter()
    for factor, label in ((0.0, "data from the DAG (false alarms)"), (1.0, "missing common cause (power)")):
        results = [falsify.falsify(spec, simulate_retention(2000, seed, factor), seed=seed) for seed in range(runs)]
        ours = sum(bool(r.falsified) for r in results)
        dowhy = sum(bool(r.p_value > r.alpha > r.p_informative) for r in results)
        print(f"    global verdict 'falsified', {label}: {ours}/{runs} (DoWhy's rule alone: {dowhy}/{runs})")
    print(f"    ({time.perf_counter() - started:.1f} s for {2 * runs} verdicts)")


def falsify_block() -> None:
    from causal_core.dag import falsify, paths
    from causal_core.dag.implications import sample_implications

    print("\npaths and the test of the DAG against the data")
    project, raw = project_for_builtin("retention")
    frame = analysis_frame(project, raw)
    spec = dag.default_dag("retention")
    start = time.perf_counter()
    old = dag.test_implications(spec, frame)
    baseline = time.perf_counter() - start
    local = timed("retention: 21 local tests + Holm, 6,000 rows (falsify, 0 relabellings)",
                  lambda: falsify.falsify(spec, frame, n_permutations=0))
    whole = timed("retention: local + global verdict, 200 relabellings (target < 2 s)",
                  lambda: falsify.falsify(spec, frame))
    print(f"    old per-row t-tests {baseline:.3f} s; new local {local.seconds:.3f} s "
          f"(×{baseline / max(local.seconds, 1e-9):.1f}); {len(old)} rows each")
    print(f"    {whole.tests_run} distinct CI tests, {whole.cache_hits:,} cache hits; p = {whole.p_value}, "
          f"same class {whole.same_class}/{whole.n_permutations}; {whole.sentence[:60]}…")
    big = raw.sample(200_000, replace=True, random_state=1)
    scaled = timed("retention: local + global verdict on 200,000 rows", lambda: falsify.falsify(spec, big))
    print(f"    {scaled.tests_run} distinct CI tests; falsified={scaled.falsified}")
    project, raw = project_for_builtin("support")
    other = timed("support: local + global verdict, 200 relabellings",
                  lambda: falsify.falsify(dag.default_dag("support"), analysis_frame(project, raw)))
    print(f"    {other.n_tested} implications, {other.tests_run} distinct CI tests, stopped={other.stopped!r}")
    layered_spec = layered(16)
    report = timed("layered graph, 16 confounders: list paths (cap 200)", lambda: paths.list_paths(layered_spec, []))
    print(f"    {len(report.paths)} paths listed, capped={report.capped}")
    wide = _random_dag(1)
    sample = timed(f"{len(wide.nodes)}-node random graph: sample implications (limit 60)",
                   lambda: sample_implications(wide))
    print(f"    {sample.note()}")
    _verdict_rates(spec, falsify)
    for kind, n in (("gaussian", 60), ("binary", 200), ("skewed", 60)):
        started = time.perf_counter()
        coverage = _simulated_coverage(1000, n, kind)
        print(f"    Fisher-z 95 % CI coverage, {kind} data, n = {n}, 1,000 runs: {coverage:.3f} "
              f"({time.perf_counter() - started:.1f} s)")


def page_block(sizes: tuple[int, ...] = (14, 500, 2000), reruns: int = 2) -> None:
    """DAG page render time (AppTest, graph component patched: server-side work only) for a random sparse DAG
    of each size installed in the retention project: the first render after the graph changes, then reruns
    that do not change it (cached). Issue 18 §10 measured 48–58 s per render at 2,000 nodes before bounding."""
    import numpy as np
    from streamlit.testing.v1 import AppTest

    from causal_core.ui import dag_view

    dag_view.graph_component = lambda nodes, edges, config: None
    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "app.py"), default_timeout=900).run()
    at.switch_page("app_pages/dag.py").run()
    project = at.session_state["cw_projects"]["retention"]
    for n in sizes:
        rng = np.random.default_rng(n)
        names = [f"v{i}" for i in range(n)]
        edges = {(names[i], names[j]) for j in range(1, n) for i in rng.choice(j, size=min(j, 2), replace=False)}
        spec = dag.auto_layout(DagSpec(nodes=[DagNode(name=x) for x in names],
                                       edges=[DagEdge(source=a, target=b) for a, b in sorted(edges)],
                                       treatment=names[min(10, n - 2)], outcome=names[-1]))
        at.session_state["cw_projects"]["retention"] = project.model_copy(update={"dag": spec})
        for attempt in range(1 + reruns):
            started = time.perf_counter()
            at.run()
            label = "first render" if attempt == 0 else f"rerun {attempt} (unchanged graph)"
            print(f"DAG page, {n:,}-node random DAG, {label:<30} {time.perf_counter() - started:8.2f} s"
                  + ("  EXCEPTION" if at.exception else ""))


if __name__ == "__main__":
    if sys.argv[1:] == ["page"]:
        page_block()
        sys.exit(0)
    main()
    identification_block()
    falsify_block()
    page_block()
