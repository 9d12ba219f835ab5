"""AppTest of the DAG page with the graph component patched (it only reports clicks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core import dag, runtime
from causal_core.project import AIInteraction, DagEdge, DagNode, DagSpec
from causal_core.ui import dag_view
from tests.rendered import plain

ROOT = Path(__file__).resolve().parents[1]


PAGE = "app_pages/dag.py"


class FakeGraph:
    """Stands in for streamlit-agraph: records what was drawn, returns a scripted click."""

    def __init__(self) -> None:
        self.click: str | None = None
        self.drawn: list[tuple[list, list]] = []

    def __call__(self, nodes, edges, config):
        self.drawn.append((nodes, edges))
        return self.click

    def colours(self) -> dict[str, str]:
        nodes, _ = self.drawn[-1]
        return {node.id: node.to_dict()["color"]["background"] for node in nodes}


@pytest.fixture()
def graph(monkeypatch) -> FakeGraph:
    fake = FakeGraph()
    monkeypatch.setattr(dag_view, "graph_component", fake)
    return fake


def open_page(dataset: str = "retention") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    if dataset != "retention":
        at.sidebar.selectbox(key="dataset_choice").set_value(dataset).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def table_with(at: AppTest, column: str):
    """The first dataframe on the page that has ``column`` (tables are found by content, not position)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def identification_message(at: AppTest) -> str:
    """The backdoor result's box (other panels add their own success boxes after it)."""
    return next(plain(box.value) for box in at.success if plain(box.value).startswith("Identifiable by adjustment"))


def spec_of(at: AppTest, dataset: str = "retention"):
    return at.session_state["cw_projects"][dataset].dag


def test_page_starts_from_n01_dag_with_derived_roles(graph):
    at = open_page()
    assert spec_of(at) == dag.default_dag("retention")
    assert any("N01 §8" in plain(info.value) for info in at.info)
    assert identification_message(at).startswith("Identifiable by adjustment. Recommended set (7)")
    colours = graph.colours()
    assert colours["outreach"] == "#fde68a" and colours["churn"] == "#fecaca"
    assert colours["post_outreach_engagement"] == "#ddd6fe" and colours["region"] == "#eef2ff"
    roles = table_with(at, "roles").set_index("node")["roles"]
    assert roles["post_outreach_engagement"] == "mediator, descendant of treatment"
    assert roles["health_score"] == "confounder"
    bad = table_with(at, "reason")
    assert bad["name"].tolist() == ["post_outreach_engagement"]
    assert table_with(at, "minimal adjustment set")["size"].tolist() == [7]
    implications = table_with(at, "implication")
    assert len(implications) == 21 and "p_value" in implications.columns


def test_click_selects_a_node_for_the_side_panel(graph):
    at = open_page()
    assert at.selectbox(key="dag_node_picker_retention").value == "outreach"
    graph.click = "region"
    at.run()
    assert at.session_state["dag_selected_node_retention"] == "region"
    assert at.selectbox(key="dag_node_picker_retention").value == "region"
    at.button(key="dag_toggle_latent").click().run()
    assert dag.get_node(spec_of(at), "region").latent is True
    assert "Recommended set" not in " ".join(plain(s.value) for s in at.success)
    assert plain(at.error[0].value).startswith("Not identifiable by adjustment")  # region is now a latent confounder


def test_add_and_remove_node_and_edge(graph):
    at = open_page()
    at.radio(key="dag_add_kind").set_value("Free name").run()
    at.text_input(key="dag_add_name").set_value("Competitor offer").run()
    at.checkbox(key="dag_add_latent").check().run()
    at.button(key="dag_add_free_node").click().run()
    node = dag.get_node(spec_of(at), "Competitor offer")
    assert node is not None and node.latent and node.column is None
    assert plain(at.success[0].value) == "Added latent node Competitor offer (no data column)."

    at.selectbox(key="dag_edge_source").set_value("Competitor offer").run()
    at.selectbox(key="dag_edge_target").set_value("churn").run()
    at.text_input(key="dag_edge_rationale").set_value("offers lure accounts away").run()
    at.button(key="dag_add_edge").click().run()
    edges = {(e.source, e.target): e.rationale for e in spec_of(at).edges}
    assert edges[("Competitor offer", "churn")] == "offers lure accounts away"
    assert at.session_state["cw_projects"]["retention"].edit_log[-1].after == "Competitor offer → churn"
    # A latent cause of the outcome only: still identifiable with the same seven covariates.
    assert identification_message(at).startswith("Identifiable by adjustment. Recommended set (7)")

    at.selectbox(key="dag_remove_edge_choice").set_value("Competitor offer → churn").run()
    at.button(key="dag_remove_edge").click().run()
    assert ("Competitor offer", "churn") not in {(e.source, e.target) for e in spec_of(at).edges}

    at.selectbox(key="dag_node_picker_retention").set_value("Competitor offer").run()
    at.button(key="dag_remove_node").click().run()
    assert dag.get_node(spec_of(at), "Competitor offer") is None
    assert spec_of(at) == dag.default_dag("retention")


def test_cycle_and_duplicate_rejected_with_reason_and_graph_unchanged(graph):
    at = open_page()
    before = spec_of(at)
    at.selectbox(key="dag_edge_source").set_value("churn").run()
    at.selectbox(key="dag_edge_target").set_value("outreach").run()
    at.button(key="dag_add_edge").click().run()
    assert not at.exception
    assert plain(at.error[0].value) == (
        "Rejected — adding churn → outreach closes the cycle outreach → churn → outreach. The graph is unchanged."
    )
    assert spec_of(at) == before
    at.selectbox(key="dag_edge_source").set_value("outreach").run()
    at.selectbox(key="dag_edge_target").set_value("churn").run()
    at.button(key="dag_add_edge").click().run()
    assert "already exists" in plain(at.error[0].value) and spec_of(at) == before
    at.button(key="dag_remove_node").click().run()  # outreach is selected: it is the treatment
    assert "'outreach' is the treatment" in plain(at.error[0].value) and spec_of(at) == before
    at.text_input(key="dag_rename_to").set_value("churn").run()
    at.button(key="dag_rename").click().run()
    assert "a node called 'churn' already exists" in plain(at.error[0].value) and spec_of(at) == before


def test_rename_and_state_kept_across_pages(graph):
    at = open_page()
    at.text_input(key="dag_rename_to").set_value("proactive_outreach").run()
    at.button(key="dag_rename").click().run()
    assert spec_of(at).treatment == "proactive_outreach"
    assert dag.get_node(spec_of(at), "proactive_outreach").column == "outreach"
    at.switch_page("app_pages/overview.py").run()
    assert not at.exception
    at.switch_page(PAGE).run()
    assert not at.exception
    assert spec_of(at).treatment == "proactive_outreach"
    assert at.session_state["dag_selected_node_retention"] == "proactive_outreach"
    assert graph.colours()["proactive_outreach"] == "#fde68a"


def test_check_set_shows_open_path(graph):
    at = open_page()
    at.multiselect(key="dag_check_set").set_value(["health_score", "post_outreach_engagement"]).run()
    at.button(key="dag_check").click().run()
    assert any("cannot be adjusted for" in plain(e.value) for e in at.error)
    at.multiselect(key="dag_check_set").set_value(["health_score"]).run()
    at.button(key="dag_check").click().run()
    message = next(plain(e.value) for e in at.error if plain(e.value).startswith("Invalid"))
    assert "a backdoor path stays open: outreach ←" in message


def test_example_draft_scored_and_ai_draft_accepted(graph, monkeypatch):
    at = open_page()
    at.button(key="dag_example_draft").click().run()
    record = at.session_state["cw_projects"]["retention"].audits[-1]
    assert (record.artifact, record.score, record.max_score) == ("dag", 9, 9)

    parsed = {
        "edges": [
            {"source": "Usage before outreach", "target": "Account health", "rationale": "usage feeds health"},
            {"source": "churn", "target": "health_score", "rationale": "reverse"},
            {"source": "outreach", "target": "churn", "rationale": "effect"},
        ]
    }

    def fake_run_task(task, inputs, model_key, settings=None, on_text=None, should_stop=None):
        assert task.name == "dag" and inputs["treatment"] == "outreach"
        if on_text:
            on_text("{...}")
        return AIInteraction(id="fake-1", task="dag", parsed=parsed, schema_valid=True, model_id="fake-model")

    monkeypatch.setattr(runtime, "run_task", fake_run_task)
    at.button(key="dag_draft_ai").click().run()
    assert not at.exception
    project = at.session_state["cw_projects"]["retention"]
    assert project.ai_log[-1].id == "fake-1"
    record = project.audits[-1]
    assert record.model_id == "fake-model" and record.max_score == 9
    failed = {c.name for c in record.checks if not c.passed}
    assert failed == {"pre-treatment predictors of treatment appear", "no outcome → pre-treatment edge",
                      "implied estimate matches the recommended DAG"}
    review = table_with(at, "acceptable")
    assert review["status"].tolist() == ["new", "rejected", "in current DAG"]
    assert "reverse edge health_score → churn" in review["note"].iloc[1]
    at.button(key="dag_accept_0").click().run()
    assert ("usage_score", "health_score") in {(e.source, e.target) for e in spec_of(at).edges}
    assert "dag_accept_1" not in [b.key for b in at.button]  # the reversed edge cannot be accepted


def test_failed_ai_draft_scores_zero_and_keeps_dag(graph, monkeypatch):
    at = open_page()

    def failing(task, inputs, model_key, settings=None, on_text=None, should_stop=None):
        return AIInteraction(id="bad", task="dag", schema_valid=False, failure_type="invalid_json_or_truncated_output",
                             repair_stage="failed", model_id="fake")

    monkeypatch.setattr(runtime, "run_task", failing)
    at.button(key="dag_draft_ai").click().run()
    record = at.session_state["cw_projects"]["retention"].audits[-1]
    assert (record.score, record.max_score, record.schema_valid) == (0, 6, False)
    assert spec_of(at) == dag.default_dag("retention")
    assert any("could not be used" in plain(e.value) for e in at.error)


def test_import_rejects_bad_text_and_accepts_dagitty(graph):
    at = open_page()
    at.text_area(key="dag_import_text").set_value("dag { A -> B -> A }").run()
    at.button(key="dag_import").click().run()
    message = plain(at.error[0].value)
    assert message.startswith("Import rejected — ") and "the graph has a cycle: A → B → A" in message
    assert spec_of(at) == dag.default_dag("retention")
    at.text_area(key="dag_import_text").set_value(
        "dag { health_score -> {outreach churn}; outreach -> churn; mood [latent]; mood -> churn }"
    ).run()
    at.button(key="dag_import").click().run()
    spec = spec_of(at)
    assert (spec.treatment, spec.outcome) == ("outreach", "churn")  # taken from the project
    assert dag.get_node(spec, "mood").latent and dag.get_node(spec, "health_score").column == "health_score"
    assert identification_message(at).startswith("Identifiable by adjustment. Recommended set (1): `health_score`")


def test_support_page_uses_dictionary_roles(graph):
    at = open_page("support")
    spec = spec_of(at, "support")
    assert spec == dag.default_dag("support")
    bad = table_with(at, "reason")
    assert set(bad["name"]) == {"agent_uses_ai", "deflection_rate", "customer_satisfaction_score", "next_week_backlog"}
    assert graph.colours()["deflection_rate"] == "#ddd6fe"


def drawn_edges(graph: FakeGraph) -> dict[tuple[str, str], dict]:
    _, edges = graph.drawn[-1]
    return {(edge.source, edge.to): edge.to_dict() for edge in edges}


def test_adjust_toggles_update_the_paths_and_a_picked_path_is_highlighted(graph):
    at = open_page()
    paths = table_with(at, "why")
    assert len(paths) == 9 and sorted(paths["kind"].value_counts().items()) == [("biasing", 7), ("causal", 2)]
    assert set(paths.loc[paths["kind"] == "biasing", "status"]) == {"open"}
    assert any("Biasing paths are open" in plain(w.value) for w in at.warning)

    at.toggle(key="dag_adjust_health_score_retention").set_value(True).run()
    project = at.session_state["cw_projects"]["retention"]
    assert project.dag.adjusted == ["health_score"]
    assert (project.edit_log[-1].field, project.edit_log[-1].after) == ("dag.adjusted", ["health_score"])
    paths = table_with(at, "why").set_index("path")
    assert paths.loc["outreach ← health_score → churn", "status"] == "closed"
    assert paths.loc["outreach ← health_score → churn", "why"] == "closed by adjusting for health_score"
    assert graph.drawn[-1][0][[n.id for n in graph.drawn[-1][0]].index("health_score")].to_dict()["borderWidth"] == 4

    row = list(table_with(at, "why")["path"]).index("outreach ← region → churn")
    at.session_state["dag_paths_table_retention"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    edges = drawn_edges(graph)
    assert edges[("region", "outreach")]["color"] == dag_view.PATH_COLOUR and edges[("region", "outreach")]["width"] == 4
    assert edges[("region", "churn")]["width"] == 4 and edges[("outreach", "churn")]["color"] == dag_view.DIMMED_EDGE

    at.toggle(key="dag_adjust_health_score_retention").set_value(False).run()
    assert at.session_state["cw_projects"]["retention"].dag.adjusted == []


def test_local_tests_forest_plot_and_global_verdict(graph):
    at = open_page()
    local = table_with(at, "p_holm")
    assert len(local) == 21 and set(local["test"]) == {dag.falsify.FISHER, dag.falsify.WILKS}
    assert local.set_index("implication").loc["health_score ⊥ usage_score", "verdict"].startswith("violated")
    forest = [c for c in at.get("vega_lite_chart") if "Fisher z, approximate" in c.proto.spec]
    assert len(forest) == 1
    assert any(plain(m.value).startswith("Local tests only (no node relabellings run): this DAG violates 9 of 21")
               for m in at.markdown)
    at.button(key="dag_global_run").click().run()
    assert not at.exception
    verdict = next(plain(e.value) for e in at.error if "falsify this DAG" in plain(e.value))
    assert verdict.startswith("The data falsify this DAG: it violates 9 of 21 implications")
    assert {m.label: plain(m.value) for m in at.metric}["Same independencies"].endswith("/ 200")
    assert any("Share of implications violated" in c.proto.spec for c in at.get("vega_lite_chart"))


def test_page_keeps_working_on_cyclic_empty_and_focus_less_graphs(graph):
    at = open_page()
    project = at.session_state["cw_projects"]["retention"]
    cyclic = DagSpec(nodes=[DagNode(name=n, column=None) for n in "ABC"],
                     edges=[DagEdge(source=a, target=b) for a, b in ("AB", "BC", "CA")], treatment="A", outcome="C")
    for spec, message in [
        (cyclic, "No path view: the graph has a cycle (A → B → C → A)"),
        (DagSpec(), "No path view: choose a treatment and an outcome node"),
        (dag.default_dag("retention").model_copy(update={"treatment": None}), "No path view: choose a treatment"),
    ]:
        at.session_state["cw_projects"]["retention"] = project.model_copy(update={"dag": spec})
        at.run()
        assert not at.exception
        assert any(plain(info.value).startswith(message) for info in at.info), [plain(i.value) for i in at.info]
    assert at.session_state["cw_projects"]["retention"].dag.treatment is None  # nothing was rewritten
    # An imported adjusted set naming a node without data: warned, the rest used, the stored set kept.
    stored = dag.default_dag("retention").model_copy(update={"adjusted": ["post_outreach_engagement", "region"]})
    at.session_state["cw_projects"]["retention"] = project.model_copy(update={"dag": stored})
    at.run()
    assert any(plain(w.value) == "The stored adjusted set is not used in full: post_outreach_engagement is latent or has "
               "no data column." for w in at.warning)
    paths = table_with(at, "why").set_index("path")
    assert paths.loc["outreach ← region → churn", "status"] == "closed"
    assert at.session_state["cw_projects"]["retention"].dag.adjusted == ["post_outreach_engagement", "region"]


def test_view_draws_bidirected_edges_adjusted_and_selection_nodes(graph):
    from causal_core.dag.paths import list_paths, path_edges_for_display

    spec = DagSpec(
        nodes=[DagNode(name=n, column=n) for n in ("X", "M", "Y", "S")],
        edges=[DagEdge(source="X", target="M"), DagEdge(source="M", target="Y"), DagEdge(source="Y", target="S")],
        bidirected=[DagEdge(source="X", target="Y")],
        treatment="X", outcome="Y", adjusted=["M"], selected=["S"],
    )
    causal = next(p for p in list_paths(spec, []).paths if p.causal)
    dag_view.render_dag(spec, dag.node_roles(spec), highlight=path_edges_for_display(causal),
                        highlight_colour=dag_view.CAUSAL_COLOUR)
    nodes, edges = graph.drawn[-1]
    borders = {n.id: (n.to_dict()["color"]["border"], n.to_dict()["borderWidth"]) for n in nodes}
    assert borders["M"] == (dag_view.ADJUSTED_BORDER, 4) and borders["S"] == (dag_view.SELECTION_BORDER, 4)
    assert borders["X"] == (dag_view.BORDER, 1)
    bidirected = [e.to_dict() for e in edges if e.to_dict().get("dashes")]
    assert len(bidirected) == 1 and bidirected[0]["arrows"] == {"to": {"enabled": True}, "from": {"enabled": True}}
    drawn = {(e.source, e.to): e.to_dict() for e in edges if not e.to_dict().get("dashes")}
    assert drawn[("X", "M")]["color"] == drawn[("M", "Y")]["color"] == dag_view.CAUSAL_COLOUR
    assert drawn[("Y", "S")]["color"] == dag_view.DIMMED_EDGE and bidirected[0]["color"] == dag_view.DIMMED_EDGE


def test_the_non_linear_test_can_be_chosen_on_the_page(graph):
    at = open_page()
    at.radio(key="dag_test_method").set_value("gcm").run()
    assert not at.exception
    local = table_with(at, "p_holm")
    tested = local[local["p_value"].notna()]
    assert len(tested) > 0 and set(tested["test"]) == {dag.falsify.GCM}
    assert any(plain(c.value).startswith("Test: generalised covariance measure") for c in at.caption)
