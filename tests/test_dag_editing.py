"""Safe node names, the dictionary-seeded first DAG, dot layout, undo/redo and the plain-text DAG view."""

from __future__ import annotations

import pytest

from causal_core import dag
from causal_core.dag import history
from causal_core.dag.layout import MAX_DOT_NODES, dot_positions, layered_layout, overlapping_pairs
from causal_core.dag.seeding import node_name_for_column, only_focus_nodes, seeded_dag
from causal_core.project import DagEdge, DagNode, DagSpec, DataSource, DictionaryEntry, Project, Timing
from causal_core.ui import dag_view

PAYLOAD = '<img src=x onerror=alert("xss")>'


# ---------------------------------------------------------------- names from columns
@pytest.mark.parametrize(
    ("column", "expected"),
    [(" t ", "t"), ("a  b", "a b"), ('x "quoted" [1]; {2}', "x _quoted_ _1_ _2_"), ("   ", "column")],
)
def test_column_names_map_to_valid_node_names(column, expected):
    name = node_name_for_column(column)
    assert name == expected and dag.name_problem(name) is None


def test_mapped_names_are_unique_and_bounded():
    assert node_name_for_column(" t ", taken={"t"}) == "t_2"
    assert node_name_for_column("t", taken={"t", "t_2"}) == "t_3"
    long = node_name_for_column("x" * 500, taken={"x" * dag.MAX_NAME_LENGTH})
    assert len(long) == dag.MAX_NAME_LENGTH and long.endswith("_2")


def test_starter_dag_keeps_the_raw_column_behind_a_safe_name():
    spec = dag.starter_dag(" t ", " y ", [" t ", " y "])
    assert [(n.name, n.column) for n in spec.nodes] == [("t", " t "), ("y", " y ")]
    assert (spec.treatment, spec.outcome) == ("t", "y") and dag.validate_dag(spec) == []
    assert dag.adjustment_columns(spec, ["t"]) == [" t "]


# ---------------------------------------------------------------- the upload's first DAG
def upload_project(timings: dict[str, Timing]) -> Project:
    columns = ["treat", "re78", *timings]
    return Project(
        name="nsw",
        data_source=DataSource(kind="upload", name="nsw.csv", sha256="0" * 64, rows=10, columns=columns),
        treatment="treat",
        outcome="re78",
        dictionary=[DictionaryEntry(variable=c, timing=timings.get(c, Timing.unknown)) for c in columns],
    )


def test_first_dag_is_seeded_from_dictionary_timing():
    project = upload_project({"age": Timing.pre_treatment, "educ": Timing.pre_treatment,
                              "re79": Timing.future, "visits": Timing.post_treatment, "note": Timing.unknown})
    seeded = seeded_dag(project, project.data_source.columns)
    spec = seeded.spec
    assert seeded.from_dictionary and seeded.pre_treatment == ["age", "educ"]
    assert seeded.downstream == ["re79", "visits"]
    edges = {(e.source, e.target) for e in spec.edges}
    assert {("age", "treat"), ("age", "re78"), ("educ", "treat"), ("educ", "re78")} <= edges
    assert {("treat", "re79"), ("treat", "visits")} <= edges and dag.get_node(spec, "note") is None
    result = dag.identify(spec)
    assert result.recommended_set == ["age", "educ"]  # the engine adjusts for the pre-treatment columns…
    assert {b.name for b in result.bad_controls} == {"re79", "visits"}  # …and never for the later ones


def test_first_dag_without_timing_is_flagged_as_bare():
    project = upload_project({"age": Timing.unknown})
    seeded = seeded_dag(project, project.data_source.columns)
    assert not seeded.from_dictionary and only_focus_nodes(seeded.spec)
    assert "no timing" in seeded.origin
    spec, origin = dag.initial_dag(project, project.data_source.columns)
    assert only_focus_nodes(spec) and origin == seeded.origin
    assert not only_focus_nodes(dag.default_dag("retention"))


# ---------------------------------------------------------------- layout
def fan(n: int) -> DagSpec:
    """n confounders into X and Y: the case that stacked in one column with edges drawn over each other."""
    names = [f"C{i}" for i in range(n)]
    return DagSpec(
        nodes=[DagNode(name=c, column=c, x=0.0, y=0.0) for c in [*names, "X", "Y"]],
        edges=[DagEdge(source=c, target=t) for c in names for t in ("X", "Y")] + [DagEdge(source="X", target="Y")],
        treatment="X", outcome="Y",
    )


def test_dot_layout_is_layered_and_free_of_overlaps():
    spec = fan(9)
    assert overlapping_pairs(spec) == 55  # all 11 nodes on one spot
    laid, message = layered_layout(spec)
    assert "Graphviz dot" in message and overlapping_pairs(laid) == 0
    x = {n.name: n.x for n in laid.nodes}
    assert all(x[f"C{i}"] < x["X"] < x["Y"] for i in range(9))  # causes left of effects
    assert len({round(n.y) for n in laid.nodes if n.name.startswith("C")}) == 9  # fanned out, not stacked


def test_layout_of_new_nodes_keeps_placed_ones():
    spec = dag.default_dag("retention")
    spec = dag.add_edge(dag.add_node(spec, "mood", latent=True, x=None, y=None), "mood", "churn")
    spec = spec.model_copy(update={"nodes": [n.model_copy(update={"x": None, "y": None}) if n.name == "mood" else n
                                             for n in spec.nodes]})
    laid, _ = layered_layout(spec, only_missing=True)
    before = {n.name: (n.x, n.y) for n in spec.nodes if n.name != "mood"}
    assert {n.name: (n.x, n.y) for n in laid.nodes if n.name != "mood"} == before
    mood, churn = dag.get_node(laid, "mood"), dag.get_node(laid, "churn")
    assert overlapping_pairs(laid) == 0 and mood.x < churn.x  # free space left of its child, not below all


def test_dot_layout_handles_awkward_names_and_large_graphs_fall_back():
    spec = DagSpec(nodes=[DagNode(name="a:b\\x"), DagNode(name=PAYLOAD)], edges=[DagEdge(source="a:b\\x", target=PAYLOAD)])
    assert set(dot_positions(spec)) == {"a:b\\x", PAYLOAD}
    big = DagSpec(nodes=[DagNode(name=f"v{i}") for i in range(MAX_DOT_NODES + 1)])
    laid, message = layered_layout(big)
    assert "causal depth" in message and all(n.x is not None for n in laid.nodes)


# ---------------------------------------------------------------- undo / redo
def test_undo_redo_walks_the_edits_back_and_forth():
    first = dag.default_dag("retention")
    second = dag.add_node(first, "mood", latent=True)
    third = dag.add_edge(second, "mood", "churn")
    log = history.record(history.DagHistory(), first, "Added node mood.")
    log = history.record(log, second, "Added mood → churn.")
    log, restored, note = history.undo(log, third)
    assert restored == second and note == "Added mood → churn." and log.can_redo
    log, restored, _ = history.undo(log, restored)
    assert restored == first and not log.can_undo
    with pytest.raises(dag.DagEditError, match="nothing to undo"):
        history.undo(log, restored)
    log, restored, note = history.redo(log, restored)
    assert restored == second and note == "Added node mood."
    log = history.record(log, restored, "Removed mood.")  # a new edit drops the redo stack
    assert not log.can_redo
    with pytest.raises(dag.DagEditError, match="nothing to redo"):
        history.redo(log, restored)


def test_history_is_bounded_by_steps_and_size():
    spec = dag.default_dag("support")
    log = history.DagHistory(max_steps=5)
    for index in range(12):
        log = history.record(log, spec, f"edit {index}")
    assert [s.note for s in log.undo] == [f"edit {i}" for i in range(7, 12)]
    size = len(spec.model_dump_json())
    small = history.DagHistory(max_chars=size * 2 + 1)
    for index in range(6):
        small = history.record(small, spec, f"edit {index}")
    assert [s.note for s in small.undo] == ["edit 4", "edit 5"]


# ---------------------------------------------------------------- the view: plain text only
class Recorder:
    def __init__(self) -> None:
        self.drawn = None

    def __call__(self, nodes, edges, config):
        self.drawn = ([n.to_dict() for n in nodes], [e.to_dict() for e in edges], config)


def payload_spec() -> DagSpec:
    return DagSpec(
        nodes=[DagNode(name=PAYLOAD, column=PAYLOAD), DagNode(name="javascript:alert(1)//", column="y"),
               DagNode(name="m", label="<b>bold</b> & <i>x</i>")],
        edges=[DagEdge(source=PAYLOAD, target="javascript:alert(1)//", rationale=f"because {PAYLOAD} & <script>x</script>")],
        bidirected=[DagEdge(source="m", target="javascript:alert(1)//", rationale="<svg onload=alert(2)>")],
        treatment=PAYLOAD, outcome="javascript:alert(1)//",
    )


def test_every_title_is_plain_text_and_labels_are_literal(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(dag_view, "graph_component", recorder)
    spec = payload_spec()
    dag_view.render_dag(spec, dag.node_roles(spec))
    nodes, edges, _ = recorder.drawn
    titles = [n["title"] for n in nodes] + [e["title"] for e in edges]
    assert all("<" not in t and ">" not in t and "onerror" not in t.split("=")[0] for t in titles)
    assert not any("<img" in t or "<svg" in t or "<script" in t for t in titles)
    assert all(n["title"].startswith("Node ") for n in nodes)  # never a javascript: URL for window.open
    assert edges[0]["title"] == "because  &amp; x"
    assert [n["label"] for n in nodes] == [PAYLOAD, "javascript:alert(1)//", "<b>bold</b> & <i>x</i>"]
    assert all(n["font"]["multi"] is False and n["font"]["size"] >= 14 for n in nodes)


def test_presentation_size_enlarges_labels(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(dag_view, "graph_component", recorder)
    spec = dag.default_dag("retention")
    dag_view.render_dag(spec, dag.node_roles(spec), size="presentation")
    assert {n["font"]["size"] for n in recorder.drawn[0]} == {dag_view.LABEL_PX["presentation"]} == {24}
