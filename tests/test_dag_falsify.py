"""Testing the DAG against data: local CI tests (Fisher z / Wilks), Holm, and the permutation verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from causal_core import dag
from causal_core.dag.falsify import FISHER, WILKS, CITester, FalsifyError, falsify, holm
from causal_core.dag.implications import sample_implications
from causal_core.project import DagEdge, DagNode, DagSpec


def make(edges, latent=(), treatment=None, outcome=None) -> DagSpec:
    names = list(dict.fromkeys(n for e in edges for n in e))
    return DagSpec(nodes=[DagNode(name=n, latent=n in latent, column=None if n in latent else n) for n in names],
                   edges=[DagEdge(source=a, target=b) for a, b in edges], treatment=treatment, outcome=outcome)


def simulate_retention(n: int, seed: int, common_factor: float = 0.0, reverse_health: bool = False) -> pd.DataFrame:
    """Data from the N01 retention DAG (seven independent covariates → outreach, churn), or from a wrong
    world: a latent factor behind every covariate (a missing common cause), or outreach → health_score."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=n)
    health = rng.normal(size=n) + common_factor * u
    usage = rng.normal(size=n) + common_factor * u
    tickets = rng.poisson(np.exp(0.5 + 0.3 * np.tanh(common_factor * u)))
    size = rng.lognormal(3, 0.5, size=n) * np.exp(0.3 * common_factor * u)
    tenure = rng.uniform(1, 60, size=n) + 5 * common_factor * u
    region = rng.choice(list("NESW"), size=n)
    segment = rng.choice(["smb", "mid", "ent"], size=n)
    if common_factor:
        region = np.where(u > 0.5, "N", region)
        segment = np.where(u < -0.5, "ent", segment)
    score = 0.5 * health - 0.4 * usage + 0.2 * tickets + 0.3 * np.log(size) - 0.01 * tenure
    score += 0.4 * (region == "N") - 0.5 * (segment == "ent")
    outreach = rng.binomial(1, 1 / (1 + np.exp(-(score - 1))))
    if reverse_health:
        health = 3.0 * outreach + rng.normal(size=n)
    churn = rng.binomial(1, 1 / (1 + np.exp(-(0.3 * score + 0.3 * health - 0.5 * outreach - 0.5))))
    return pd.DataFrame({"health_score": health, "usage_score": usage, "prior_tickets": tickets,
                         "company_size": size, "tenure_months": tenure, "region": region, "segment": segment,
                         "outreach": outreach, "churn": churn})


RETENTION = dag.default_dag("retention")


def test_data_from_the_retention_dag_do_not_falsify_it():
    result = falsify(RETENTION, simulate_retention(6000, seed=0))
    assert result.n_tested == 21 and result.violations_holm == 0
    assert result.informative and result.falsified is False
    assert result.p_value <= 0.05 and result.p_informative < 0.05
    assert result.sentence.startswith("The data do not falsify this DAG: it violates")
    assert result.tests_run == 36  # nine observed nodes: every relabelled implication is one of the 36 pairs
    assert result.cache_hits > 1000


def test_a_missing_common_cause_falsifies_the_dag():
    result = falsify(RETENTION, simulate_retention(6000, seed=0, common_factor=1.0))
    assert result.violations == result.violations_holm == 21
    assert result.falsified is True and result.p_value > 0.05
    assert result.sentence.startswith("The data falsify this DAG: it violates 21 of 21 implications")


def test_a_reversed_edge_is_flagged_locally_on_the_rows_it_breaks():
    result = falsify(RETENTION, simulate_retention(6000, seed=0, reverse_health=True))
    flagged = {row.implication for row in result.local if row.violated}
    # outreach → health_score makes health_score depend on the other covariates (through outreach): only
    # rows with health_score can break, and the strongest links do.
    assert all("health_score" in text for text in flagged) and len(flagged) >= 4
    assert {"health_score ⊥ usage_score", "health_score ⊥ prior_tickets", "health_score ⊥ segment"} <= flagged
    assert f"({len(flagged)} after Holm)" in result.sentence and result.sentence.startswith("The data falsify")
    assert result.p_value > falsify(RETENTION, simulate_retention(6000, seed=0)).p_value


def test_holm_matches_statsmodels_and_skips_untested_rows():
    result = falsify(RETENTION, simulate_retention(3000, seed=3, common_factor=0.2))
    raw = [row.p_value for row in result.local]
    expected = multipletests(raw, method="holm")[1]
    assert [row.p_holm for row in result.local] == pytest.approx(list(expected), rel=1e-12)
    assert holm([0.01, None, 0.04, 0.03]) == pytest.approx([0.03, None, 0.06, 0.06])  # textbook Holm
    assert all(row.violated == (row.p_holm < 0.05) for row in result.local)


def test_fisher_z_interval_has_nominal_coverage():
    """500 Gaussian samples with partial correlation 0.3 given two covariates (n = 60 each)."""
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(500):
        z = rng.normal(size=(60, 2))
        errors = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], size=60)
        frame = pd.DataFrame({"X": z @ [1.0, -0.5] + errors[:, 0], "Y": z @ [0.3, 2.0] + errors[:, 1],
                              "Z1": z[:, 0], "Z2": z[:, 1]})
        result = CITester(frame, {c: c for c in frame}).test("X", "Y", ["Z1", "Z2"])
        covered += result.ci_low <= 0.3 <= result.ci_high
    assert 0.92 <= covered / 500 <= 0.98


def test_wilks_test_holds_its_level_for_a_category():
    rng = np.random.default_rng(5)
    rejections = 0
    for _ in range(300):
        z = rng.normal(size=200)
        group = rng.choice(list("abcd"), size=200)
        frame = pd.DataFrame({"G": group, "Y": z + rng.normal(size=200), "Z": z})
        result = CITester(frame, {c: c for c in frame}).test("G", "Y", ["Z"])
        assert result.test == WILKS and result.df == 3
        rejections += result.p_value < 0.05
    assert 0.025 <= rejections / 300 <= 0.085


def test_tests_are_invariant_to_affine_changes_and_symmetric():
    frame = simulate_retention(2000, seed=1, common_factor=0.3)
    shifted = frame.assign(health_score=frame.health_score * 3 + 100, usage_score=frame.usage_score - 7)
    names = {c: c for c in frame}
    one, two = CITester(frame, names), CITester(shifted, names)
    for x, y, given in [("health_score", "usage_score", ["segment"]), ("region", "health_score", ["usage_score"])]:
        a, b = one.test(x, y, given), two.test(x, y, given)
        assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-300)
        assert CITester(frame, names).test(y, x, given).p_value == pytest.approx(a.p_value, rel=1e-9)
    assert one.test("health_score", "usage_score", []).test == FISHER


def test_missing_values_use_each_tests_complete_rows():
    frame = simulate_retention(1000, seed=2)
    gappy = frame.copy()
    gappy.loc[gappy.index[:300], "usage_score"] = np.nan
    names = {c: c for c in frame}
    with_gaps = CITester(gappy, names).test("usage_score", "tenure_months", ["health_score"])
    by_hand = CITester(frame.iloc[300:], names).test("usage_score", "tenure_months", ["health_score"])
    assert with_gaps.n == 700 and with_gaps.p_value == pytest.approx(by_hand.p_value, rel=1e-9)
    assert CITester(gappy, names).test("health_score", "tenure_months", []).n == 1000


def test_chain_is_not_informative_and_saturated_graph_has_nothing_to_test():
    rng = np.random.default_rng(0)
    a = rng.normal(size=500)
    frame = pd.DataFrame({"A": a, "B": a + rng.normal(size=500)})
    frame["C"] = frame.B + rng.normal(size=500)
    result = falsify(make([("A", "B"), ("B", "C")]), frame)
    assert result.exhaustive and result.n_permutations == 6  # 3! relabellings, all of them
    assert result.same_class == 2 and result.informative is False  # A → B → C and C → B → A
    assert result.sentence.startswith("The data cannot falsify this DAG: 2 of 6 (all) node relabellings")
    saturated = falsify(make([("A", "B"), ("A", "C"), ("B", "C")]), frame)
    assert saturated.n_tested == 0 and saturated.sentence.startswith("Nothing could be tested")


def test_bad_inputs_are_refused_with_the_reason():
    with pytest.raises(FalsifyError, match="the graph has a cycle: A → B → A"):
        falsify(make([("A", "B"), ("B", "A")]), pd.DataFrame({"A": [1.0], "B": [2.0]}))
    with pytest.raises(FalsifyError, match="no data rows"):
        falsify(RETENTION, pd.DataFrame())
    frame = pd.DataFrame({"A": np.arange(50.0), "C": np.arange(50.0) % 7, "ID": [f"u{i}" for i in range(50)]})
    tester = CITester(frame, {"A": "A", "C": "C", "ID": "ID", "B": None})
    assert tester.test("A", "B", []).note == "no data column for B"
    assert "more than 30" in tester.test("A", "ID", []).note
    odd = pd.DataFrame({"A": np.arange(40.0), "B": pd.array([True, False, None, True] * 10, dtype="boolean"),
                        "C": [np.inf, -np.inf] + list(np.arange(38.0))})
    odd_tester = CITester(odd, {c: c for c in odd})
    assert odd_tester.test("A", "B", []).n == 30 and odd_tester.test("A", "C", []).n == 38
    constant = CITester(frame.assign(K=1.0), {"A": "A", "K": "K"}).test("A", "K", [])
    assert constant.p_value is None and constant.note == "a side does not vary in the complete rows"


def test_large_graphs_sample_implications_and_say_so():
    names = [f"V{i:02d}" for i in range(40)]
    rng = np.random.default_rng(3)
    edges = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if rng.random() < 0.08]
    spec = make(edges)
    sample = sample_implications(spec, limit=30, seed=1)
    assert sample.sampled and len(sample.implications) == 30
    assert "random sample of 30 implications" in sample.note()
    graph = dag.to_networkx(spec)
    assert all(nx_separated(graph, item) for item in sample.implications)
    small = sample_implications(RETENTION)
    assert not small.sampled and [i.text() for i in small.implications] == [
        i.text() for i in dag.testable_implications(RETENTION)[0]
    ]


def nx_separated(graph, item) -> bool:
    import networkx as nx

    return nx.is_d_separator(graph, {item.x}, {item.y}, set(item.given))


def test_budget_and_stop_end_the_permutations_and_say_so():
    frame = simulate_retention(2000, seed=4)
    stopped = falsify(RETENTION, frame, should_stop=lambda: True)
    assert stopped.n_permutations == 0 and stopped.p_value is None
    assert stopped.stopped.startswith("stopped by the analyst after 0")
    assert stopped.sentence.startswith("No relabelling could be scored")
    budget = falsify(RETENTION, frame, max_tests=30)
    assert budget.stopped.startswith("stopped at the budget of 30 distinct CI tests")
    seen: list[float] = []
    falsify(RETENTION, frame, n_permutations=50, progress=lambda fraction, _message: seen.append(fraction))
    assert seen[-1] == 1.0


def test_retention_data_reuse_the_cache_and_reject_the_simulations_covariate_link(retention):
    """No timing assertion on a shared machine (bench/bench_dag.py prints the figure): this checks the work
    is the cached amount, 36 distinct tests for 21 implications and 200 relabellings."""
    project, raw = retention
    from causal_core.data import analysis_frame

    result = falsify(RETENTION, analysis_frame(project, raw))
    assert result.tests_run == 36 and result.n_permutations == 200
    assert result.cache_hits == (1 + 200) * 21 - 36  # every test call (local + relabelled) but the 36 first ones
    # The N01 graph omits the simulation's covariate links (health_score is built from usage_score).
    assert next(r for r in result.local if r.implication == "health_score ⊥ usage_score").violated


def test_cli_tests_a_dag_file_against_a_csv(tmp_path, capsys):
    import json

    from causal_core import dag_io
    from causal_core.cli import main

    dag_file, csv = tmp_path / "retention.dagitty", tmp_path / "rows.csv"
    dag_file.write_text(dag_io.to_dagitty(RETENTION))
    simulate_retention(3000, seed=0, common_factor=1.0).to_csv(csv, index=False)
    assert main(["falsify", "--dag", str(dag_file), "--data", str(csv), "--permutations", "50", "--format",
                 "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["falsified"] is True and payload["n_tested"] == 21 and payload["n_permutations"] == 50
    assert payload["local"][0]["implication"] == "company_size ⊥ health_score"
    assert main(["falsify", "--dataset", "retention", "--permutations", "0"]) == 0
    assert capsys.readouterr().out.startswith("Local tests only (no node relabellings run): this DAG violates")
    assert main(["falsify", "--dag", str(dag_file)]) == 2
    assert capsys.readouterr().err.strip() == "error: --dag needs --data CSV (the rows to test the DAG against)"


def test_selection_nodes_are_conditioned_on_in_every_implication():
    """A → S ← B with the sample selected on S: A and B are dependent in the data, and the graph says so."""
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=20_000), rng.normal(size=20_000)
    c = a + rng.normal(size=20_000)
    kept = a + b + rng.normal(size=20_000) > 0.5
    frame = pd.DataFrame({"A": a, "B": b, "C": c})[kept]
    spec = make([("A", "S"), ("B", "S"), ("A", "C")])
    spec = spec.model_copy(update={"nodes": [n.model_copy(update={"column": None}) if n.name == "S" else n
                                              for n in spec.nodes]})
    naive = falsify(spec, frame, n_permutations=0)
    assert {row.implication: row.violated for row in naive.local} == {"A ⊥ B": True, "B ⊥ C": True}
    selected = falsify(spec.model_copy(update={"selected": ["S"]}), frame, n_permutations=0)
    assert [(row.implication, row.violated) for row in selected.local] == [("B ⊥ C | A, S", False)]


def test_verdict_rule_follows_dowhy_and_needs_a_contradiction():
    from causal_core.dag.falsify import Falsification, decide, verdict_sentence

    assert decide(0.30, 0.01, 0.05, violations_holm=3) == (True, True)
    assert decide(0.30, 0.01, 0.05, violations_holm=0) == (True, False)  # DoWhy alone would say falsified
    assert decide(0.01, 0.01, 0.05, violations_holm=3) == (True, False)
    assert decide(0.30, 0.20, 0.05, violations_holm=3) == (False, False)
    assert decide(0.30, 0.05, 0.05, violations_holm=3) == (True, False)  # p_informative = α: DoWhy's "else"
    weak = Falsification(n_tested=21, violations=1, violations_holm=0, n_permutations=200, p_value=0.3,
                         same_class=4, p_informative=0.02, informative=True, falsified=False)
    assert verdict_sentence(weak).startswith("The data do not contradict this DAG (it violates 1 of 21")
    assert "cannot single it out" in verdict_sentence(weak)
    contradicted = weak.model_copy(update={"violations": 5, "violations_holm": 3, "p_value": 0.01})
    assert verdict_sentence(contradicted).startswith("The data contradict 3 of this DAG's 21 implications after Holm")


def test_bidirected_edge_removes_the_independence_it_contradicts():
    """A <-> C is a latent common cause: A ⊥ C is no longer implied, B ⊥ C | A still is (and holds)."""
    rng = np.random.default_rng(2)
    u = rng.normal(size=3000)
    a = u + rng.normal(size=3000)
    frame = pd.DataFrame({"A": a, "B": a + rng.normal(size=3000), "C": u + rng.normal(size=3000)})
    plain = DagSpec(nodes=[DagNode(name=n, column=n) for n in "ABC"], edges=[DagEdge(source="A", target="B")])
    assert {row.implication: row.violated for row in falsify(plain, frame, n_permutations=0).local} == {
        "A ⊥ C": True, "B ⊥ C": True}
    latent = plain.model_copy(update={"bidirected": [DagEdge(source="A", target="C")]})
    result = falsify(latent, frame, n_permutations=0)
    assert [(row.implication, row.violated) for row in result.local] == [("B ⊥ C | A", False)]


def test_forest_and_histogram_rows_carry_the_verdicts():
    from causal_core.dag import charts
    from causal_core.dag.falsify import forest_rows, permutation_rows

    result = falsify(RETENTION, simulate_retention(3000, seed=0, reverse_health=True), n_permutations=40)
    forest = forest_rows(result)
    fisher = [row for row in result.local if row.test == FISHER]
    assert list(forest["implication"]) == [row.implication for row in fisher]
    assert list(forest["status"]) == ["violated (Holm)" if row.violated else "consistent" for row in fisher]
    assert (forest["ci_low"] <= forest["estimate"]).all() and (forest["estimate"] <= forest["ci_high"]).all()
    spec = charts.implication_forest(forest).to_dict()
    assert "Fisher z, approximate" in str(spec)
    shares = permutation_rows(result)
    assert (shares["graph"] == "relabelled").sum() == 40
    assert shares.loc[shares["graph"] == "given DAG", "share_violated"].item() == result.violations / 21
    assert charts.permutation_histogram(shares).to_dict()["layer"]
