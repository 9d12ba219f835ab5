"""DAG benchmark: shipped cases, metric properties on random DAGs, the linear SEM, runner and CLI."""

from __future__ import annotations

import json
import random

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core import lab_bench as lab
from causal_core import runtime
from causal_core.cli import main as cli_main
from causal_core.lab_bench import cases, metrics, runner, simulate
from causal_core.lab_bench.task import DAG_BENCHMARK_TASK, build_inputs, draft_edges
from causal_core.project import AIInteraction, DagEdge, DagNode, DagSpec

# ---------------------------------------------------------------------------------------------
# Random DAGs
# ---------------------------------------------------------------------------------------------


@st.composite
def random_dags(draw, min_nodes: int = 3, max_nodes: int = 8):
    """(names, edges) of a DAG: edges only go forward in a random order, so there is never a cycle."""
    n = draw(st.integers(min_nodes, max_nodes))
    names = [f"v{i}" for i in range(n)]
    order = draw(st.permutations(names))
    pairs = [(order[i], order[j]) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, min_size=1, max_size=len(pairs)))
    return names, chosen


def _spec(names, edges, treatment=None, outcome=None) -> DagSpec:
    return DagSpec(nodes=[DagNode(name=n, column=n) for n in names], edges=[DagEdge(source=s, target=t) for s, t in edges],
                   treatment=treatment, outcome=outcome)


def _focus(names, edges):
    graph = nx.DiGraph(edges)
    return edges[0] if nx.has_path(graph, *edges[0]) else (names[0], names[1])


@settings(max_examples=120, deadline=None)
@given(random_dags())
def test_the_true_graph_scores_perfectly(dag):
    names, edges = dag
    spec = _spec(names, edges, *edges[0])
    pairs = metrics.sample_pairs(spec, names, edges[0], seed=1)
    scores = metrics.score_draft(spec, names, edges, [], pairs)
    assert scores["edge_f1"] == 1.0 and scores["skeleton_f1"] == 1.0
    assert scores["orientation_accuracy"] == 1.0
    assert scores["shd"] == 0.0
    assert scores["adjustment_valid"] == 1.0


@settings(max_examples=120, deadline=None)
@given(random_dags())
def test_the_empty_graph_scores_zero_edges_and_every_true_edge_missing(dag):
    names, edges = dag
    spec = _spec(names, edges, *edges[0])
    scores = metrics.score_draft(spec, names, [], [], [edges[0]])
    assert scores["edge_f1"] == 0.0 and scores["skeleton_f1"] == 0.0 and scores["orientation_accuracy"] == 0.0
    assert scores["shd"] == len(edges)


@settings(max_examples=150, deadline=None)
@given(random_dags(), random_dags(), st.integers(0, 10_000))
def test_metrics_are_shares_and_shd_is_symmetric(true_dag, draft_dag, seed):
    names, true_edges = true_dag
    _, draft = draft_dag
    draft = [(s, t) for s, t in draft if s in names and t in names] + [("v0", "not_a_variable")]
    spec = _spec(names, true_edges, *true_edges[0])
    pairs = metrics.sample_pairs(spec, names, true_edges[0], seed)
    scores = metrics.score_draft(spec, names, draft, [], pairs)
    for key in ("edge_precision", "edge_recall", "edge_f1", "skeleton_f1", "orientation_accuracy", "adjustment_valid"):
        assert 0.0 <= scores[key] <= 1.0, key
    assert scores["outside_nodes"] == 1.0  # scored as a false positive, never a crash
    assert metrics.structural_hamming_distance(true_edges, draft) == metrics.structural_hamming_distance(draft, true_edges)


def test_reversing_one_edge_costs_one_in_shd_and_halves_orientation_of_two():
    true = [("a", "b"), ("b", "c")]
    assert metrics.structural_hamming_distance(true, [("b", "a"), ("b", "c")]) == 1
    assert metrics.orientation_accuracy(true, [("b", "a"), ("b", "c")]) == 0.5
    assert metrics.skeleton_scores(true, [("b", "a"), ("b", "c")]) == (1.0, 1.0, 1.0)
    assert metrics.directed_scores(true, [("b", "a"), ("b", "c")]) == (0.5, 0.5, 0.5)


def test_backdoor_textbook_confounder_and_mediator():
    # z -> x -> m -> y, z -> y: {z} is valid, {} and {m} are not (open back door, blocked causal path)
    graph = nx.DiGraph([("z", "x"), ("x", "m"), ("m", "y"), ("z", "y")])
    assert metrics.satisfies_backdoor(graph, "x", "y", {"z"})
    assert not metrics.satisfies_backdoor(graph, "x", "y", set())
    assert not metrics.satisfies_backdoor(graph, "x", "y", {"z", "m"})
    assert not metrics.satisfies_backdoor(graph, "x", "y", {"outside"})


def test_a_draft_missing_the_confounder_recommends_an_invalid_set():
    truth = _spec(["z", "x", "y"], [("z", "x"), ("z", "y"), ("x", "y")], "x", "y")
    missing = metrics.score_draft(truth, ["z", "x", "y"], [("x", "y")], [], [("x", "y")])
    assert missing["adjustment_valid"] == 0.0 and missing["pairs"][0]["recommended"] == []
    cyclic = metrics.score_draft(truth, ["z", "x", "y"], [("x", "y"), ("y", "x")], [], [("x", "y")])
    assert cyclic["adjustment_valid"] == 0.0 and cyclic["pairs"][0]["recommended"] is None


def test_a_latent_confounder_in_the_draft_is_left_out_of_structure_but_counts_for_validity():
    truth = _spec(["z", "x", "y"], [("z", "x"), ("z", "y"), ("x", "y")], "x", "y")
    draft = [("u", "x"), ("u", "y"), ("x", "y")]
    scores = metrics.score_draft(truth, ["z", "x", "y"], draft, ["u"], [("x", "y")])
    assert scores["edge_precision"] == 1.0 and scores["outside_nodes"] == 0.0
    assert scores["adjustment_valid"] == 0.0  # u is unobserved: no adjustment set exists in the draft


# ---------------------------------------------------------------------------------------------
# Linear SEM
# ---------------------------------------------------------------------------------------------
def test_total_effect_is_the_sum_over_paths_and_ols_recovers_it_only_with_a_valid_set():
    sem = simulate.LinearSem(("z", "x", "m", "y"), {("z", "x"): 1.0, ("x", "m"): 0.5, ("m", "y"): 2.0,
                                                  ("x", "y"): 0.25, ("z", "y"): 1.5})
    assert sem.total_effect("x", "y") == pytest.approx(0.25 + 0.5 * 2.0)
    data = sem.sample(20_000, seed=3)
    assert simulate.adjustment_bias(sem, data, "x", "y", ["z"]) < 0.05
    assert simulate.adjustment_bias(sem, data, "x", "y", []) > 0.5  # confounding by z: 1.5 * 1 / 2
    assert simulate.adjustment_bias(sem, data, "x", "y", None) is None


def test_linear_sem_is_seeded_and_refuses_a_cycle():
    a = simulate.linear_sem([("a", "b")], ["a", "b"], seed=5)
    assert a == simulate.linear_sem([("a", "b")], ["a", "b"], seed=5)
    assert simulate.COEF_LOW <= abs(a.coefficients[("a", "b")]) <= simulate.COEF_HIGH
    with pytest.raises(ValueError, match="acyclic"):
        simulate.linear_sem([("a", "b"), ("b", "a")], ["a", "b"], seed=5)


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------
def test_at_least_eight_cases_each_credited_acyclic_and_sized_as_published(build_once, monkeypatch):
    monkeypatch.setattr("causal_core.headless.build_project", build_once)  # builtin_* cases: one build per run
    ids = cases.known_case_ids()
    assert len(ids) >= 8
    kinds = {cases.get_case(case_id).kind for case_id in ids}
    assert kinds == {"famous", "novel"}
    for case_id, case in cases.shipped_cases().items():
        assert case.source and case.licence and case.reference, case_id
        assert len(case.variables) == case.extra["expected"]["n_nodes"], case_id
        assert len(case.edges) == case.extra["expected"]["n_edges"], case_id
        graph = nx.DiGraph(list(case.edges))
        assert nx.is_directed_acyclic_graph(graph)
        assert nx.has_path(graph, case.treatment, case.outcome), case_id


def test_the_prompt_inputs_never_carry_the_true_edges():
    case = cases.get_case("sachs")
    inputs = build_inputs(case.project())
    text = json.dumps(inputs)
    assert {row["name"] for row in inputs["variables"]} == set(case.variable_names)
    assert "edges" not in inputs and "PKC -> PKA" not in text and "true graph" not in text


def test_unknown_graph_names_the_known_ones():
    with pytest.raises(cases.BenchError, match="unknown graph 'nope': choose from asia, cancer"):
        cases.get_case("nope")
    with pytest.raises(cases.BenchError, match="needs an open project"):
        cases.get_case("project")


def test_the_open_project_is_a_case(build_once):
    project, _ = build_once("retention")  # headless.build_project, built once per test run
    case = cases.get_case("project", project)
    assert case.kind == "novel" and case.case_id == "project" and (case.treatment, case.outcome) == ("outreach", "churn")
    assert "post_outreach_engagement" in case.latent  # a DAG node without data stays unobserved in the truth
    assert "propensity_true" not in case.variable_names and "account_id" not in case.variable_names
    bare = project.model_copy(update={"dag": project.dag.model_copy(update={"edges": []})})
    with pytest.raises(cases.BenchError, match="no DAG with edges"):
        cases.get_case("project", bare)


def test_draft_edges_reads_latent_objects_and_skips_junk():
    parsed = {"edges": [{"source": {"name": "u", "latent": True}, "target": "x"}, "junk", {"source": 3, "target": "y"},
                        {"from": "a", "to": "b"}]}
    assert draft_edges(parsed) == ([("u", "x"), ("a", "b")], ["u"])
    assert draft_edges(None) == ([], [])


# ---------------------------------------------------------------------------------------------
# Runner and CLI
# ---------------------------------------------------------------------------------------------
def test_cli_oracle_and_empty_bound_every_metric(capsys):
    assert cli_main(["lab", "--task", "dag-benchmark", "--models", "oracle,empty", "--format", "json", "--quiet"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["graphs"]) >= 8
    rows = {row["label"]: row for row in payload["summary"]}
    assert rows["oracle"]["edge_f1"] == 1.0 and rows["oracle"]["orientation_accuracy"] == 1.0
    assert rows["oracle"]["shd"] == 0.0 and rows["oracle"]["adjustment_valid"] == 1.0
    assert rows["empty"]["edge_f1"] == 0.0 and rows["empty"]["orientation_accuracy"] == 0.0
    shipped = {g["case_id"]: g["edges"] for g in payload["graphs"] if not g["case_id"].startswith("builtin_")}
    for record in payload["records"]:
        if record["label"] == "empty" and record["case_id"] in shipped:
            assert record["shd"] == shipped[record["case_id"]]  # every true edge missing
    assert 0.0 <= rows["empty"]["adjustment_valid"] < 1.0
    assert {(r["label"], r["kind"]) for r in payload["split"]} == {(m, k) for m in ("oracle", "empty")
                                                                  for k in ("famous", "novel")}
    assert len(payload["records"]) == 2 * len(payload["graphs"])


def test_cli_benchmark_ctrl_c_keeps_every_saved_record_and_the_rerun_completes(capsys, tmp_path, monkeypatch):
    """The benchmark shares the model lab's save-and-interrupt helper: Ctrl-C after a save loses no record."""
    original = runner.run_benchmark

    def interrupt_after_first_save(state, run, cases_, **hooks):
        def save_then_stop(current):
            hooks["on_update"](current)
            raise KeyboardInterrupt

        return original(state, run, cases_, **{**hooks, "on_update": save_then_stop})

    monkeypatch.setattr(runner, "run_benchmark", interrupt_after_first_save)
    state = tmp_path / "bench.json"
    argv = ["lab", "--task", "dag-benchmark", "--models", "oracle", "--cases", "asia,sachs", "--state", str(state),
            "--format", "json", "--quiet"]
    assert cli_main(argv) == 130
    assert f"completed runs are kept in {state}; rerun to resume" in capsys.readouterr().err
    saved = json.loads(state.read_text())["runs"][0]  # written before the interrupt, so nothing is lost
    assert sorted(record["case_id"] for record in saved["records"]) == ["asia", "sachs"]
    monkeypatch.setattr(runner, "run_benchmark", original)
    assert cli_main(argv) == 0
    payload = json.loads(capsys.readouterr().out)
    assert sorted(record["case_id"] for record in payload["records"]) == ["asia", "sachs"]


def test_cli_unknown_graph_exits_2_with_the_list(capsys):
    assert cli_main(["lab", "--task", "dag-benchmark", "--models", "oracle", "--cases", "asia,nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown graph 'nope'" in err and "sachs" in err and "builtin_support" in err


def _stub_runtime(monkeypatch, answer):
    calls = []

    def run_task(task, inputs, model_key, settings=None, on_text=None, should_stop=None, load_options=None):
        calls.append((model_key, inputs["treatment"]))
        parsed = answer(inputs)
        if parsed is None:
            return AIInteraction(id="x", task=task.name, schema_valid=False, repair_stage="failed",
                                 failure_type="invalid_json_or_truncated_output", error="Expecting value")
        return AIInteraction(id="x", task=task.name, raw_output=json.dumps(parsed), parsed=parsed, schema_valid=True)

    models = [{"key": "tiny", "label": "Tiny", "role": "test", "source": "ladder", "available": True, "params": 5e8}]
    monkeypatch.setattr(runtime, "run_task", run_task, raising=False)
    monkeypatch.setattr(runtime, "list_models", lambda extra_keys=None, probe_endpoints=True: models, raising=False)
    monkeypatch.setattr(runtime, "unload", lambda key: True, raising=False)
    return calls


def test_a_real_model_runs_through_the_lab_and_failures_score_zero(monkeypatch):
    def answer(inputs):  # a model that invents a node on cancer and fails on earthquake
        if inputs["treatment"] == "Alarm":
            return None
        return {"edges": [{"source": "Smoker", "target": "Cancer", "rationale": "r"},
                          {"source": "Cancer", "target": "Dyspnoea", "rationale": "r"},
                          {"source": "Genes", "target": "Cancer", "rationale": "invented"}]}

    calls = _stub_runtime(monkeypatch, answer)
    chosen = runner.prepare(["cancer", "earthquake"])
    models = runner.resolve_models(["oracle", "tiny"])
    state = runner.run_benchmark(lab.empty_lab(), runner.new_run(list(chosen), models), chosen)
    run = lab.latest_run(state)
    assert run["status"] == "complete" and [c[0] for c in calls] == ["tiny", "tiny"]  # the oracle calls no model
    records = runner.benchmark_records(run, chosen).set_index(["model_id", "case_id"])
    cancer = records.loc[("tiny", "cancer")]
    assert cancer["edge_precision"] == pytest.approx(2 / 3) and cancer["edge_recall"] == pytest.approx(2 / 4)
    assert cancer["outside_nodes"] == 1.0
    failed = records.loc[("tiny", "earthquake")]
    assert failed["status"] == "failed" and failed["edge_f1"] == 0.0 and failed["adjustment_valid"] == 0.0
    summary = runner.summarize(run, chosen).set_index("model_id")
    assert summary.loc["tiny", "schema_reliability"] == 0.5
    assert summary.loc["tiny", "edge_f1"] == pytest.approx(cancer["edge_f1"] / 2)
    assert summary.loc["tiny", "params"] == 5e8 and runner.size_chart(summary.reset_index()) is not None


def test_a_graph_too_large_for_the_context_is_refused_with_its_size(monkeypatch, capsys):
    _stub_runtime(monkeypatch, lambda inputs: None)
    problems = runner.context_problems(runner.prepare(["polzer_2012"]), runner.resolve_models(["tiny"]), 1024)
    assert len(problems) == 1 and "14 variables and 69 edges need about" in problems[0] and "1,024-token" in problems[0]
    assert runner.context_problems(runner.prepare(["polzer_2012"]), runner.resolve_models(["oracle"]), 1024) == []
    assert cli_main(["lab", "--task", "dag-benchmark", "--models", "tiny", "--cases", "polzer_2012",
                     "--context-tokens", "1024"]) == 2
    assert "too large for the model's context" in capsys.readouterr().err


def test_the_benchmark_task_is_registered_for_the_lab():
    assert lab.task_for("dag-benchmark") is DAG_BENCHMARK_TASK


def test_pair_sample_is_seeded_and_starts_with_the_focus_pair():
    case = cases.get_case("asia")
    a = metrics.sample_pairs(case.spec(), case.variable_names, ("lung", "dysp"), seed=4)
    assert a == metrics.sample_pairs(case.spec(), case.variable_names, ("lung", "dysp"), seed=4)
    assert a[0] == ("lung", "dysp") and len(set(a)) == len(a)
    graph = nx.DiGraph(list(case.edges))
    assert all(nx.has_path(graph, x, y) for x, y in a)
    state = random.getstate()
    metrics.sample_pairs(case.spec(), case.variable_names, ("lung", "dysp"), seed=4)
    assert random.getstate() == state  # the sample uses its own Random, never the global one
