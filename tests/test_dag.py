"""DAG core: textbook identification battery, derived roles, every rejected edit, implications on data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_core import dag
from causal_core.dag import DagEditError
from causal_core.dag import identification as dag_identification
from causal_core.project import DagEdge, DagNode, DagSpec, Timing
from tests.dag_oracles import node_roles_by_d_separation


def make(edges, latent=(), unmeasured=(), treatment="X", outcome="Y") -> DagSpec:
    names = list(dict.fromkeys(n for edge in edges for n in edge))
    nodes = [
        DagNode(name=n, latent=n in latent, column=None if (n in latent or n in unmeasured) else n) for n in names
    ]
    return DagSpec(
        nodes=nodes, edges=[DagEdge(source=a, target=b) for a, b in edges], treatment=treatment, outcome=outcome
    )


CONFOUNDING = make([("Z", "X"), ("Z", "Y"), ("X", "Y")])
MEDIATOR = make([("X", "M"), ("M", "Y")])
M_BIAS = make([("A", "X"), ("A", "M"), ("B", "M"), ("B", "Y"), ("X", "Y")])
BUTTERFLY = make([("A", "X"), ("A", "M"), ("B", "M"), ("B", "Y"), ("M", "X"), ("M", "Y"), ("X", "Y")])
LATENT = make([("U", "X"), ("U", "Y"), ("X", "Y")], latent=("U",))
DESCENDANT = make([("Z", "X"), ("Z", "Y"), ("X", "Y"), ("X", "D")])


# ---- identification battery -------------------------------------------------------------------
def test_simple_confounding_needs_z():
    result = dag.identify(CONFOUNDING)
    assert result.identifiable is True
    assert result.minimal_sets == [["Z"]]
    assert result.recommended_set == ["Z"]
    assert result.bad_controls == []


def test_mediator_needs_nothing_and_is_a_bad_control():
    result = dag.identify(MEDIATOR)
    assert result.identifiable is True
    assert result.minimal_sets == [[]]  # the empty set, explicitly — not "nothing found"
    assert result.recommended_set == []
    assert [b.name for b in result.bad_controls] == ["M"]
    assert result.bad_controls[0].reason.startswith("mediator: on the causal path X → M → Y")
    check = dag.check_adjustment_set(MEDIATOR, "X", "Y", ["M"])
    assert not check.valid and check.open_path == ["X", "M", "Y"]


def test_m_bias_collider_is_flagged_and_adjusting_opens_the_path():
    result = dag.identify(M_BIAS)
    assert result.identifiable and result.minimal_sets == [[]]
    assert [b.name for b in result.bad_controls] == ["M"]
    assert "collider" in result.bad_controls[0].reason
    assert "X ← A → M ← B → Y" in result.bad_controls[0].reason
    check = dag.check_adjustment_set(M_BIAS, "X", "Y", ["M"])
    assert check.valid is False
    assert check.path_text == "X ← A → M ← B → Y"
    assert dag.check_adjustment_set(M_BIAS, "X", "Y", ["M", "A"]).valid is True
    assert dag.check_adjustment_set(M_BIAS, "X", "Y", []).valid is True


def test_butterfly_bias_needs_m_plus_a_or_b():
    result = dag.identify(BUTTERFLY)
    assert result.identifiable
    assert sorted(result.minimal_sets) == [["A", "M"], ["B", "M"]]
    assert result.recommended_set in (["A", "M"], ["B", "M"])
    # B also causes the outcome, so {B, M} is preferred for precision.
    assert result.recommended_set == ["B", "M"]
    assert dag.check_adjustment_set(BUTTERFLY, "X", "Y", ["M"]).valid is False
    assert set(dag.node_roles(BUTTERFLY)["M"]) == {"confounder", "collider"}


def test_latent_confounding_is_not_identifiable_by_adjustment():
    result = dag.identify(LATENT)
    assert result.identifiable is False
    assert result.minimal_sets == []
    assert result.recommended_set is None
    assert result.note.startswith("Not identifiable by adjustment")
    assert result.open_path == "X ← U → Y"
    assert "unobserved U" in result.note


def test_unmeasured_node_without_column_blocks_identification_too():
    spec = make([("W", "X"), ("W", "Y"), ("X", "Y")], unmeasured=("W",))
    result = dag.identify(spec)
    assert result.identifiable is False and result.recommended_set is None


def test_descendant_of_treatment_is_flagged():
    result = dag.identify(DESCENDANT)
    assert result.recommended_set == ["Z"]
    assert [b.name for b in result.bad_controls] == ["D"]
    assert "descendant of the treatment X" in result.bad_controls[0].reason
    check = dag.check_adjustment_set(DESCENDANT, "X", "Y", ["Z", "D"])
    assert not check.valid and "descendant of the treatment" in check.reason


def test_n01_retention_graph_recommends_the_seven_covariates():
    spec = dag.default_dag("retention")
    result = dag.identify(spec)
    covariates = ["company_size", "health_score", "prior_tickets", "region", "segment", "tenure_months", "usage_score"]
    assert result.identifiable
    assert result.minimal_sets == [covariates]
    assert result.recommended_set == covariates
    assert dag.adjustment_columns(spec, result.recommended_set) == covariates
    assert [b.name for b in result.bad_controls] == ["post_outreach_engagement"]
    assert "mediator" in result.bad_controls[0].reason
    roles = dag.node_roles(spec)
    assert roles["post_outreach_engagement"] == ["mediator", "descendant_of_treatment"]
    assert all(roles[c] == ["confounder"] for c in covariates)
    # The engagement node has no data column: it cannot be adjusted for.
    assert dag.get_node(spec, "post_outreach_engagement").column is None
    assert "post_outreach_engagement" not in dag.observed_names(spec)


def test_support_default_dag_follows_the_dictionary_roles():
    spec = dag.default_dag("support")
    result = dag.identify(spec)
    assert result.recommended_set == sorted(dag.SUPPORT_CONFOUNDERS)
    flagged = {b.name: b.reason for b in result.bad_controls}
    assert set(flagged) == {"agent_uses_ai", "deflection_rate", "customer_satisfaction_score", "next_week_backlog"}
    assert flagged["next_week_backlog"].startswith("descendant of the outcome")
    assert flagged["deflection_rate"].startswith("mediator")


def test_enumeration_cap_is_reported(monkeypatch):
    # Ten independent confounders: the only minimal set has ten members. The subset search needed 2^10
    # tests; the minimal-separator listing finds it directly, so no cap.
    edges = [(f"C{i}", "X") for i in range(10)] + [(f"C{i}", "Y") for i in range(10)] + [("X", "Y")]
    result = dag.identify(make(edges))
    assert result.capped is False and result.minimal_sets == [sorted(f"C{i}" for i in range(10))]
    # Eight confounding paths X ← A_i → B_i → Y: 2^8 minimal sets; a cap of 10 stops the list.
    edges = [edge for i in range(8) for edge in ((f"A{i}", "X"), (f"A{i}", f"B{i}"), (f"B{i}", "Y"))]
    spec = make([*edges, ("X", "Y")])
    monkeypatch.setattr(dag_identification, "MAX_MINIMAL_SETS", 10)
    result = dag.identify(spec)
    assert result.capped is True
    assert "may be incomplete" in result.note
    assert 10 <= len(result.minimal_sets) <= 11  # the networkx separator is always kept
    assert all(dag.check_adjustment_set(spec, "X", "Y", s).valid for s in result.minimal_sets)


def test_identify_rejects_unknown_nodes_and_invalid_graphs():
    with pytest.raises(ValueError, match="unknown treatment 'Q'"):
        dag.identify(CONFOUNDING, "Q", "Y")
    cyclic = CONFOUNDING.model_copy(update={"edges": [*CONFOUNDING.edges, DagEdge(source="Y", target="Z")]})
    with pytest.raises(ValueError, match="cycle"):
        dag.identify(cyclic)


def test_check_adjustment_set_bad_inputs():
    assert "unknown node" in dag.check_adjustment_set(CONFOUNDING, "X", "Y", ["nope"]).reason
    assert "cannot contain the treatment" in dag.check_adjustment_set(CONFOUNDING, "X", "Y", ["X"]).reason
    assert "latent" in dag.check_adjustment_set(LATENT, "X", "Y", ["U"]).reason
    assert dag.check_adjustment_set(CONFOUNDING, "X", "Y", []).path_text == "X ← Z → Y"


# ---- roles ---------------------------------------------------------------------------------------
def test_roles_instrument_precision_collider():
    spec = make([("I", "X"), ("P", "Y"), ("X", "Y"), ("X", "C"), ("Y", "C")])
    roles = dag.node_roles(spec)
    assert roles["I"] == ["instrument"]
    assert roles["P"] == ["precision"]
    assert roles["C"] == ["descendant_of_treatment"]
    assert dag.node_roles(M_BIAS) == {
        "A": ["instrument"],
        "X": ["treatment"],
        "M": ["collider"],
        "B": ["precision"],
        "Y": ["outcome"],
    }


def test_role_colours_follow_n01():
    assert dag.role_colour(["treatment"]) == "#fde68a"
    assert dag.role_colour(["outcome"]) == "#fecaca"
    assert dag.role_colour(["mediator", "descendant_of_treatment"]) == "#ddd6fe"
    assert dag.role_colour(["confounder"]) == "#eef2ff"


# ---- edits ---------------------------------------------------------------------------------------
def test_cycle_rejection_names_the_cycle_and_leaves_spec_unchanged():
    spec = make([("A", "B")], treatment="A", outcome="B")
    before = spec.model_dump()
    with pytest.raises(DagEditError, match=r"adding B → A closes the cycle A → B → A"):
        dag.add_edge(spec, "B", "A")
    longer = make([("A", "B"), ("B", "C")], treatment="A", outcome="C")
    with pytest.raises(DagEditError, match=r"adding C → A closes the cycle A → B → C → A"):
        dag.add_edge(longer, "C", "A")
    assert spec.model_dump() == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: dag.add_edge(s, "X", "X"), "self-loop X → X"),
        (lambda s: dag.add_edge(s, "Z", "X"), "the edge Z → X already exists"),
        (lambda s: dag.add_edge(s, "X", "nope"), "there is no node called 'nope'"),
        (lambda s: dag.add_node(s, "Z"), "a node called 'Z' already exists"),
        (lambda s: dag.add_node(s, ""), "cannot be empty"),
        (lambda s: dag.add_node(s, 'bad"name'), "cannot hold"),
        (lambda s: dag.add_node(s, "W", column="Z"), "column 'Z' is already measured by node 'Z'"),
        (lambda s: dag.rename_node(s, "Z", "Y"), "a node called 'Y' already exists"),
        (lambda s: dag.rename_node(s, "Z", "   "), "cannot be empty"),
        (lambda s: dag.rename_node(s, "nope", "Q"), "there is no node called 'nope'"),
        (lambda s: dag.remove_node(s, "X"), "'X' is the treatment"),
        (lambda s: dag.remove_node(s, "Y"), "'Y' is the outcome"),
        (lambda s: dag.remove_edge(s, "Y", "Z"), "there is no edge Y → Z"),
        (lambda s: dag.set_latent(s, "X", True), "it must be observed"),
        (lambda s: dag.set_latent(s, "Z", False), "already observed"),
        (lambda s: dag.set_treatment(s, "Y"), "already the outcome"),
        (lambda s: dag.set_column(s, "Z", "X"), "already measured by node 'X'"),
        (lambda s: dag.move_node(s, "Z", float("nan"), 0.0), "two finite numbers"),
        (lambda s: dag.replace_edges(s, [("Z", "X", ""), ("X", "Z", "")]), "cycle"),
        (lambda s: dag.replace_edges(s, [{"source": "Z", "target": "Q"}]), "row 1: unknown node 'Q'"),
        (lambda s: dag.replace_edges(s, [("Z", "X"), ("Z", "X")]), "row 2: duplicate edge Z → X"),
        (lambda s: dag.replace_edges(s, [("Z", "Z")]), "row 1: self-loop"),
        (lambda s: dag.replace_edges(s, [{"source": "Z", "target": None}]), "needs both a source and a target"),
    ],
)
def test_every_rejected_edit_raises_and_changes_nothing(edit, message):
    spec = CONFOUNDING
    before = spec.model_dump()
    with pytest.raises(DagEditError, match=message.replace("(", r"\(").replace(")", r"\)")):
        edit(spec)
    assert spec.model_dump() == before


def test_edits_return_new_specs_with_positions_kept():
    spec = dag.default_dag("retention")
    grown = dag.add_node(spec, "U", latent=True, x=100.0, y=-300.0)
    grown = dag.add_edge(grown, "U", "outreach", "hidden driver")
    assert dag.get_node(grown, "U").x == 100.0 and dag.get_node(grown, "U").latent
    assert len(grown.edges) == len(spec.edges) + 1 and dag.get_node(spec, "U") is None
    renamed = dag.rename_node(grown, "outreach", "treated")
    assert renamed.treatment == "treated"
    assert ("U", "treated") in {(e.source, e.target) for e in renamed.edges}
    assert dag.get_node(renamed, "treated").x == dag.get_node(spec, "outreach").x
    removed = dag.remove_node(renamed, "U")
    assert all("U" not in (e.source, e.target) for e in removed.edges)
    moved = dag.move_node(spec, "churn", 1.5, -2.0)
    assert (dag.get_node(moved, "churn").x, dag.get_node(moved, "churn").y) == (1.5, -2.0)
    toggled = dag.toggle_latent(spec, "region")
    assert dag.get_node(toggled, "region").latent and "region" not in dag.observed_names(toggled)
    new_node = dag.add_node(spec, "extra")  # no position given: placed below the drawing
    assert dag.get_node(new_node, "extra").y == max(n.y for n in spec.nodes) + 90


def test_replace_edges_skips_blank_rows_and_keeps_rationales():
    result = dag.replace_edges(CONFOUNDING, [("Z", "X", "why"), {"source": None, "target": None, "rationale": None}])
    assert [(e.source, e.target, e.rationale) for e in result.edges] == [("Z", "X", "why")]


def test_validate_dag_lists_each_problem():
    spec = DagSpec(
        nodes=[DagNode(name="A", column="c"), DagNode(name="A"), DagNode(name="B", column="c")],
        edges=[DagEdge(source="A", target="B"), DagEdge(source="B", target="A"), DagEdge(source="A", target="Q")],
        treatment="T",
    )
    errors = dag.validate_dag(spec)
    assert "duplicate node names: A" in errors
    assert any("column 'c' is measured by more than one node" in e for e in errors)
    assert any("unknown node 'Q'" in e for e in errors)
    assert any(e.startswith("the graph has a cycle") for e in errors)
    assert "the treatment 'T' is not a node of the graph" in errors
    assert dag.validate_dag(dag.default_dag("support")) == []


# ---- implications --------------------------------------------------------------------------------
def test_implications_m_bias_dagitty_style():
    implications, capped = dag.testable_implications(M_BIAS)
    assert [i.text() for i in implications] == ["A ⊥ B", "A ⊥ Y | X", "B ⊥ X", "M ⊥ X | A", "M ⊥ Y | A, B"]
    assert capped is False
    assert dag.testable_implications(CONFOUNDING)[0] == []  # saturated


def test_implications_skip_pairs_only_latent_sets_separate():
    spec = make([("U", "A"), ("U", "B")], latent=("U",), treatment="A", outcome="B")
    assert dag.testable_implications(spec)[0] == []


def test_implications_are_capped(monkeypatch):
    spec = make([(f"C{i}", "X") for i in range(8)] + [("X", "Y")])
    implications, capped = dag.testable_implications(spec, limit=5)
    assert len(implications) == 5 and capped


def test_implication_tests_on_simulated_data():
    rng = np.random.default_rng(0)
    n = 4000
    a = rng.normal(size=n)
    group = rng.choice(["p", "q", "r"], size=n)
    x = a + (group == "q") + rng.normal(size=n)
    y = 2 * x + rng.normal(size=n)
    b = rng.normal(size=n)
    frame = pd.DataFrame({"A": a, "G": group, "X": x, "Y": y, "B": b + 0.5 * y})
    right = make([("A", "X"), ("G", "X"), ("X", "Y")], treatment="X", outcome="Y")
    results = {r.implication: r for r in dag.test_implications(right, frame)}
    assert set(results) == {"A ⊥ G", "A ⊥ Y | X", "G ⊥ Y | X"}
    assert all(r.verdict.startswith("consistent") for r in results.values())
    assert results["A ⊥ Y | X"].n == n and abs(results["A ⊥ Y | X"].partial_r) < 0.05
    assert results["G ⊥ Y | X"].partial_r is None  # one-hot F-test
    # A wrong graph (B unconnected) implies B ⊥ Y, which the data contradict.
    wrong = make([("A", "X"), ("X", "Y"), ("B", "X")], treatment="X", outcome="Y")
    wrong_results = {r.implication: r for r in dag.test_implications(wrong, frame)}
    assert wrong_results["B ⊥ Y | X"].verdict.startswith("contradicted")
    assert wrong_results["B ⊥ Y | X"].p_value < 1e-6


def test_retention_implications_reproduce_the_simulation_story(retention):
    _, frame = retention
    results = {r.implication: r for r in dag.test_implications(dag.default_dag("retention"), frame)}
    assert len(results) == 21  # the 7 covariates pairwise
    # health_score is built from usage_score in the simulation: the N01 graph's independence is rejected.
    assert results["health_score ⊥ usage_score"].verdict.startswith("contradicted")
    assert round(results["health_score ⊥ usage_score"].partial_r, 2) == 0.76
    # region is drawn independently of tenure: consistent.
    assert results["region ⊥ tenure_months"].verdict.startswith("consistent")


def test_timing_conflicts_link_graph_and_dictionary(retention):
    project, _ = retention
    spec = dag.default_dag("retention")
    assert dag.timing_conflicts(spec, project) == []
    bad = dag.add_edge(dag.add_node(spec, "p_churn_with", column="p_churn_with"), "p_churn_with", "outreach")
    assert dag.timing_conflicts(bad, project) == [
        "p_churn_with: the dictionary says future, but the DAG draws it as a cause of the treatment outreach"
    ]


def test_initial_dag_for_builtins_and_uploads(retention):
    project, frame = retention
    spec, origin = dag.initial_dag(project, list(frame.columns))
    assert spec == dag.default_dag("retention") and "N01 §8" in origin
    upload = project.model_copy(update={"data_source": project.data_source.model_copy(update={"kind": "upload"})})
    seeded, origin = dag.initial_dag(upload, list(frame.columns))  # an upload starts from its dictionary's timing
    assert origin.startswith("Seeded from the data dictionary")
    pre = {e.variable for e in project.dictionary if e.timing == Timing.pre_treatment} - {"outreach", "churn"}
    assert {(c, t) for c in pre for t in ("outreach", "churn")} <= {(e.source, e.target) for e in seeded.edges}
    assert set(dag.identify(seeded).recommended_set) == pre
    with pytest.raises(ValueError, match="no default DAG"):
        dag.default_dag("nope")


def test_fast_roles_equal_the_d_separation_reference_on_random_graphs():
    """node_roles uses treks (marginal d-connection = a shared ancestor) instead of one networkx test per node
    (1,000 nodes: 43 s → 0.13 s); the per-node d-separation version is the oracle."""
    import random

    rng = random.Random(4)
    for _ in range(200):
        n = rng.randint(4, 12)
        names = [f"V{i}" for i in range(n)]
        edges = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.3]
        x, y = rng.sample(names, 2)
        latent = {v for v in names if v not in (x, y) and rng.random() < 0.2}
        pairs = [tuple(rng.sample(names, 2)) for _ in range(rng.randint(0, 2))]
        spec = DagSpec(
            nodes=[DagNode(name=v, latent=v in latent, column=None if v in latent else v) for v in names],
            edges=[DagEdge(source=a, target=b) for a, b in edges],
            bidirected=[DagEdge(source=a, target=b) for a, b in pairs],
            treatment=x,
            outcome=y,
        )
        assert dag.node_roles(spec) == node_roles_by_d_separation(spec)
