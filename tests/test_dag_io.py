"""DAG import/export: DAGitty, DOT and JSON round-trips keep roles and positions; bad files say why."""

from __future__ import annotations

import json
import shutil

import networkx as nx
import pytest

from causal_core import dag, dag_io
from causal_core.dag_io import DagFormatError


@pytest.mark.parametrize("dataset", ["retention", "support"])
@pytest.mark.parametrize(
    ("write", "read"),
    [(dag_io.to_dagitty, dag_io.from_dagitty), (dag_io.to_dot, dag_io.from_dot), (dag_io.to_json, dag_io.from_json)],
)
def test_round_trip_is_exact(dataset, write, read):
    spec = dag.default_dag(dataset)
    assert read(write(spec)) == spec  # nodes, labels, latent, columns, positions, edges + rationales, roles


def test_round_trip_keeps_latent_and_unmeasured_nodes():
    spec = dag.default_dag("retention")
    spec = dag.add_edge(dag.add_node(spec, "U", latent=True, x=-1.5, y=2.25), "U", "churn", 'says "hi"')
    for write, read in [(dag_io.to_dagitty, dag_io.from_dagitty), (dag_io.to_dot, dag_io.from_dot)]:
        back = read(write(spec))
        assert back == spec
        assert dag.get_node(back, "U").latent and dag.get_node(back, "post_outreach_engagement").column is None


def test_dagitty_export_is_dagitty_syntax():
    text = dag_io.to_dagitty(dag.default_dag("retention"))
    assert text.startswith("dag {\n")
    assert '  outreach [exposure,pos="280,-60",label="Outreach"]' in text
    assert '  churn [outcome,pos="680,-60",label="Churn"]' in text
    assert 'post_outreach_engagement [pos="480,-180",label="Post-outreach engagement",column=""]' in text
    assert "  outreach -> churn" in text


def test_dagitty_issue_example_keeps_bidirected_edge_as_latent_common_cause():
    spec = dag_io.from_dagitty('dag { X [exposure,pos="0,0"]; Y [outcome]; U [latent]; A -> {X Y}; X <-> Y }')
    assert (spec.treatment, spec.outcome) == ("X", "Y")
    assert dag.get_node(spec, "X").x == 0.0 and dag.get_node(spec, "X").y == 0.0
    assert dag.get_node(spec, "U").latent and dag.get_node(spec, "U").column is None
    assert {(e.source, e.target) for e in spec.edges} == {("A", "X"), ("A", "Y")}
    assert [(e.source, e.target) for e in spec.bidirected] == [("X", "Y")]
    assert dag.identify(spec).identifiable is False  # X <-> Y: an unmeasured common cause nobody can adjust for


def test_dagitty_chains_groups_reverse_arrows_and_newlines():
    spec = dag_io.from_dagitty(
        'dag {\n bb="0,0,1,1"\n "Post outreach" [latent]\n A -> B -> C\n C <- {D E}\n'
        ' A -> C [rationale="direct"]\n X [exposure]\n Y [outcome]\n X -> Y }'
    )
    edges = {(e.source, e.target): e.rationale for e in spec.edges}
    assert edges == {("A", "B"): "", ("B", "C"): "", ("D", "C"): "", ("E", "C"): "", ("A", "C"): "direct", ("X", "Y"): ""}
    assert dag.get_node(spec, "Post outreach").latent


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("dag { A -> B -> A }", "cycle: A → B → A"),
        ("dag { A -- B }", "'A -- B' is an undirected edge, which a DAG cannot hold"),
        ("pdag { A -> B }", "'pdag' graphs are not supported"),
        ("dag { A -> }", "expected a node name"),
        ("dag { A -> B", "line 1: the '{' opened here is never closed"),
        ("dag { X [exposure]; Y [exposure] }", "more than one exposure"),
        ('dag { A [pos="a,b"] }', "not two numbers"),
        ("dag { A -> A }", "self-loop"),
        ("dag { A -> B } extra", "after the graph's closing"),
    ],
)
def test_bad_dagitty_is_rejected_with_reason(text, message):
    with pytest.raises(DagFormatError, match=message.replace("(", r"\(")):
        dag_io.from_dagitty(text)


def test_dot_export_has_the_n01_make_dag_look():
    text = dag_io.to_dot(dag.default_dag("retention"), "Candidate DAG for proactive retention outreach")
    assert 'rankdir="LR"' in text
    assert 'node [shape="box", style="rounded,filled", color="#334155", fontname="Helvetica"]' in text
    assert 'edge [color="#475569", arrowsize="0.8"]' in text
    assert '"outreach" [label="Outreach", fillcolor="#fde68a", role="exposure"' in text
    assert '"churn" [label="Churn", fillcolor="#fecaca", role="outcome"' in text
    assert '"post_outreach_engagement" [label="Post-outreach engagement", fillcolor="#ddd6fe"' in text
    assert '"health_score" [label="Account health", fillcolor="#eef2ff"' in text
    assert 'label="Candidate DAG for proactive retention outreach", labelloc="t"' in text


def test_dot_reader_handles_common_graphviz_files():
    spec = dag_io.from_dot(
        '/* comment */ strict digraph G { rankdir=LR; node [shape=box]; "a b" -> c [tooltip="why"];\n'
        '# a comment line\n c [role=outcome, pos="1,2!"]; subgraph s { d -> c } t [role=exposure]; t -> c }'
    )
    assert spec.outcome == "c" and spec.treatment == "t"
    assert (dag.get_node(spec, "c").x, dag.get_node(spec, "c").y) == (1.0, 2.0)
    assert {(e.source, e.target): e.rationale for e in spec.edges} == {("a b", "c"): "why", ("d", "c"): "", ("t", "c"): ""}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("graph { a -- b }", "undirected 'graph'"),
        ("digraph { a -> b -> a }", "cycle"),
        ("digraph { a -- b }", "not a directed edge"),
        ("dag { a -> b }", "starts with 'digraph'"),
        ("", "empty"),
    ],
)
def test_bad_dot_is_rejected_with_reason(text, message):
    with pytest.raises(DagFormatError, match=message):
        dag_io.from_dot(text)


def test_json_is_networkx_node_link():
    spec = dag.default_dag("support")
    graph = nx.node_link_graph(json.loads(dag_io.to_json(spec)), edges="edges")
    assert graph.is_directed() and graph.graph["treatment"] == "assistant_enabled"
    assert graph.number_of_edges() == len(spec.edges)
    assert graph.nodes["deflection_rate"]["column"] == "deflection_rate"
    # The older "links" key and a plain DagSpec dump are accepted too.
    payload = json.loads(dag_io.to_json(spec))
    payload["links"] = payload.pop("edges")
    assert dag_io.from_json(json.dumps(payload)) == spec
    assert dag_io.from_json(spec.model_dump_json()) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"edges": []}', "no 'nodes' list"),
        ('{"nodes": [{"label": "x"}], "edges": []}', "node 1 has no 'id'"),
        ('{"nodes": [{"id": "a"}], "edges": [{"source": "a"}]}', "edge 1 needs"),
        ('{"nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}]}', "cycle"),
        ('{"nodes": [{"id": "a", "x": "left"}], "edges": []}', "not a number"),
    ],
)
def test_bad_json_is_rejected_with_reason(text, message):
    with pytest.raises(DagFormatError, match=message):
        dag_io.from_json(text)


def test_file_types_by_name(tmp_path):
    path = tmp_path / "g.gv"
    path.write_text(dag_io.to_dot(dag.default_dag("retention")))
    assert dag_io.read_file(str(path)) == dag.default_dag("retention")
    with pytest.raises(DagFormatError, match="unknown DAG file type"):
        dag_io.format_for("graph.png")
    with pytest.raises(DagFormatError, match="no such file"):
        dag_io.read_file(str(tmp_path / "missing.dagitty"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot binary not installed")
def test_svg_is_rendered_in_n01_colours():
    svg = dag_io.to_svg(dag.default_dag("retention"), "Candidate DAG")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert 'fill="#fde68a"' in svg and 'fill="#fecaca"' in svg and 'fill="#ddd6fe"' in svg
    assert 'stroke="#334155"' in svg and "Helvetica" in svg
    assert "Post&#45;outreach engagement" in svg


def test_svg_without_dot_gives_a_clear_message(monkeypatch):
    import graphviz

    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(("dot",))

    monkeypatch.setattr(graphviz.Source, "pipe", missing)
    with pytest.raises(dag_io.DotUnavailable, match="DOT export still works"):
        dag_io.to_svg(dag.default_dag("retention"))
