"""DAG import/export: DAGitty, DOT and JSON round-trips keep roles and positions; bad files say why."""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path

import networkx as nx
import pytest

from causal_core import dag, dag_io
from causal_core.dag_io import DagFormatError
from causal_core.project import DagEdge, DagNode, DagSpec


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


# ---------------------------------------------------------------------------------------------
# DAGitty vocabulary (GraphParser.js): every spelling of every role
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", ["latent", "unobserved", "u", "l", "Latent"])
def test_every_latent_spelling_makes_the_confounder_unadjustable(flag):
    """The issue's new-user trial: `U [unobserved]` used to read as observed and give 'adjust for {U}'."""
    spec = dag_io.from_dagitty(f"U [{flag}]\nX [exposure]\nY [outcome]\nU -> X\nU -> Y\nX -> Y")
    assert dag.get_node(spec, "U").latent and dag.get_node(spec, "U").column is None
    result = dag.identify(spec)
    assert result.identifiable is False and result.minimal_sets == [] and result.recommended_set is None
    assert "U" in result.note


@pytest.mark.parametrize(
    ("exposure", "outcome"), [("exposure", "outcome"), ("e", "o"), ("source", "target"), ("Exposure", "OUTCOME")]
)
def test_exposure_and_outcome_spellings(exposure, outcome):
    spec = dag_io.from_dagitty(f"dag {{ X [{exposure}] Y [{outcome}] Z -> X -> Y <- Z }}")
    assert (spec.treatment, spec.outcome) == ("X", "Y")
    assert dag.identify(spec).minimal_sets == [["Z"]]


def test_adjusted_selected_and_positions_with_short_forms():
    spec = dag_io.from_dagitty(
        'dag {\n A [a, pos="-1.5,2"]\n B [adjusted]\n S [s]\n T [selected,pos=" 3 , 4 "]\n'
        " X [e]\n Y [o]\n {A B} -> X -> Y <- {A B}\n Y -> {S T}\n}"
    )
    assert spec.adjusted == ["A", "B"] and spec.selected == ["S", "T"]
    assert (dag.get_node(spec, "A").x, dag.get_node(spec, "A").y) == (-1.5, 2.0)
    assert (dag.get_node(spec, "T").x, dag.get_node(spec, "T").y) == (3.0, 4.0)


def test_attributes_may_come_before_or_after_use_and_merge():
    before = dag_io.from_dagitty('dag { X [exposure] X [pos="1,2"] Y [outcome] X -> Y }')
    after = dag_io.from_dagitty('dag { X -> Y  Y [outcome]  X [exposure,pos="1,2"] }')
    assert (before.treatment, before.outcome) == (after.treatment, after.outcome) == ("X", "Y")
    assert dag.get_node(before, "X").x == dag.get_node(after, "X").x == 1.0
    assert [n.name for n in before.nodes] == ["X", "Y"] and [n.name for n in after.nodes] == ["X", "Y"]


def test_edges_chains_groups_and_nested_statements():
    spec = dag_io.from_dagitty("dag { a -> b <- c <-> d; {e f} -> g; h <- {i j}; k -> {l -> m} }")
    assert sorted((e.source, e.target) for e in spec.edges) == sorted(
        [("a", "b"), ("c", "b"), ("e", "g"), ("f", "g"), ("i", "h"), ("j", "h"), ("l", "m"), ("k", "l"), ("k", "m")]
    )
    assert [(e.source, e.target) for e in spec.bidirected] == [("c", "d")]


def test_duplicate_edges_merge_as_in_dagitty():
    spec = dag_io.from_dagitty('dag { a -> b; a -> b [rationale="why"]; a <-> b; b <-> a }')
    assert [(e.source, e.target, e.rationale) for e in spec.edges] == [("a", "b", "why")]
    assert [(e.source, e.target) for e in spec.bidirected] == [("a", "b")]


@pytest.mark.parametrize(
    "text",
    [
        "X [exposure]\nY [outcome]\nX -> Y",  # no dag { } wrapper
        "dag { X [exposure] Y [outcome] X -> Y }",
        "dag G { X [exposure] Y [outcome] X -> Y }",
        "strict DAG { X [exposure]; Y [outcome]; X -> Y; }",
        "digraph { X [exposure] Y [outcome] Y <- X }",
        "// a comment\ndag { X [exposure] /* inline */ Y [outcome]\n# a line comment\n X -> Y // trailing\n}",
        'dag { "X" [exposure] "Y" [outcome] "X" -> "Y" }',
        'dag { X [exposure, label="The " + "exposure"] Y [outcome] X -> Y }',
    ],
)
def test_wrappers_comments_and_quotes_read_the_same_graph(text):
    spec = dag_io.from_dagitty(text)
    assert (spec.treatment, spec.outcome, [(e.source, e.target) for e in spec.edges]) == ("X", "Y", [("X", "Y")])


def test_quoted_names_with_spaces_and_dashes_round_trip():
    spec = dag_io.from_dagitty('dag { "Post outreach" [latent] "a.b" -> "Post outreach" -> "x-1" }')
    assert [n.name for n in spec.nodes] == ["Post outreach", "a.b", "x-1"]
    assert dag_io.from_dagitty(dag_io.to_dagitty(spec)) == spec
    with pytest.raises(DagFormatError, match="node name 'a \"b\"' contains characters that DAGitty/DOT cannot hold"):
        dag_io.from_dagitty(r'dag { "a \"b\"" -> c }')


def test_older_two_block_format_with_bidirected_pairs_and_matrix():
    spec = dag_io.from_dagitty("X E @1,2\nY O\nZ 1\nU U\n\nZ X Y\nX Y\nU Z\nZ U")
    assert (spec.treatment, spec.outcome, dag.get_node(spec, "X").x) == ("X", "Y", 1.0)
    assert [(e.source, e.target) for e in spec.bidirected] == [("Z", "U")]  # listed both ways = <->
    assert sorted((e.source, e.target) for e in spec.edges) == [("X", "Y"), ("Z", "X"), ("Z", "Y")]
    matrix = dag_io.from_dagitty("a E\nb O\nc 1\n\n0 1 0\n0 0 0\n1 1 0")
    assert sorted((e.source, e.target) for e in matrix.edges) == [("a", "b"), ("c", "a"), ("c", "b")]


# ---------------------------------------------------------------------------------------------
# Bad DAGitty: one specific message each, naming what and where
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dag {\n a -> b\n b -> c\n c -> a\n}", r"cycle: a → b → c → a \(edges on lines 2, 3, 4\)"),
        ("dag { a -> a }", "line 1: self-loop 'a -> a'"),
        ("dag { a <-> a }", "self-loop 'a <-> a'"),
        ("dag {\n a [exposure, colour=red, weight] }", "line 2: unknown attributes 'colour', 'weight' on node a"),
        ("dag { a [foo] }", r"node attributes are exposure \(e, source\), outcome \(o, target\), latent \(l, unob"),
        ("dag { a -> b [weight=2] }", "unknown edge attribute 'weight'"),
        ("dag { a [latent=false] }", "'latent=false' on node a: DAGitty flags take no value"),
        ("pag { a @-> b }", "'pag' graphs are not supported: a 'pag' .partial ancestral graph"),
        ("mag { a -> b }", "'mag' graphs are not supported"),
        ("graph { a -- b }", "'graph' graphs are not supported"),
        ("a @-> b", "'a @-> b' is a PAG edge"),
        ("dag {\n\n a -- b }", "line 3: 'a -- b' is an undirected edge, which a DAG cannot hold; write 'a -> b' or"),
        ("dag { {a b} -- c }", "'a -- c' is an undirected edge"),
        ("dag { X [exposure, outcome] }", "node X is marked both exposure and outcome"),
        ("dag { X [e] Y [o] Y [e] }", "node Y is marked both exposure and outcome"),
        ("dag { X [exposure] Y [outcome] Z [outcome] }", r"more than one outcome \(Y, Z\)"),
        ("dag { U [latent, exposure] }", "marked both latent and exposure"),
        ("dag {\n a -> b\n c -> d\n", "line 1: the '{' opened here is never closed"),
        ("dag { a -> { b c }", "line 1: the '{' opened here is never closed"),
        ("a -> b }", "line 1: unexpected '}': no '{' is open"),
        ("dag {\n a -> \"b\n}", "line 2: a quoted name or value opened here is never closed"),
        ("dag { a /* b -> c }", "line 1: a '/\\*' comment opened here is never closed"),
        ('dag {\n a [pos="1,2"\n b -> c }', r"line 2: the attribute list '\[' opened here is never closed"),
        ("dag { node -> x }", "a variable cannot be named 'node'"),
        ('dag { a [pos="1"] }', "not two numbers"),
        ('dag { a [pos="nan,1"] }', "must be two finite numbers"),
        ("X E\nY O\n\nX Q", "line 4: 'Q' is not a vertex listed in the first block"),
        ("X E\nY W\n\nX Y", "unknown flag 'W' for vertex Y"),
        ("a 1\nb 1\n\n0 1 0 0 1", "the adjacency matrix has 5 entries, but 2 vertices need 4"),
        ("dag { a + b }", "'\\+' only joins two quoted strings"),
        ("dag { }", "the graph has no nodes: there is nothing to import"),
        ("a -> b ->", "unexpected end of the file where a node name or '{' should follow"),
        ("x\n\ny", "line 3: 'y' is not a vertex listed in the first block .read as DAGitty's older format"),
        ("// only a comment", "the graph has no nodes"),
    ],
)
def test_bad_dagitty_names_the_problem(text, message):
    with pytest.raises(DagFormatError, match=message):
        dag_io.from_dagitty(text)


def test_deep_nesting_and_edge_blow_up_are_refused_not_crashed():
    deep = "dag { a -> " + "{" * 5_000 + "b" + "}" * 5_000 + " }"
    with pytest.raises(DagFormatError, match="groups '{ }' nested more than 50 deep"):
        dag_io.from_dagitty(deep)
    with pytest.raises(DagFormatError, match="nested more than 50 deep"):
        dag_io.from_dot("digraph { a -> " + "{" * 5_000 + "b" + "}" * 5_000 + " }")
    with pytest.raises(DagFormatError, match="subgraphs nested more than 50 deep"):
        dag_io.from_dot("digraph { " + "subgraph { " * 500 + "a" + " }" * 500 + " }")
    left = " ".join(f"a{i}" for i in range(150))
    right = " ".join(f"b{i}" for i in range(150))  # 150 × 150 = 22,500 edges from one statement
    with pytest.raises(DagFormatError, match="line 1: more than 20,000 edges"):
        dag_io.from_dagitty(f"dag {{ {{{left}}} -> {{{right}}} }}")


def test_an_impossible_adjusted_mark_is_read_and_the_engine_says_why():
    """DAGitty lets the analyst mark anything adjusted; the engine's check of that set names the problem."""
    spec = dag_io.from_dagitty("dag { X [exposure, adjusted] Y [outcome] U [latent, adjusted] U -> {X Y} X -> Y }")
    assert spec.adjusted == ["X", "U"]
    check = dag.check_adjustment_set(spec, "X", "Y", spec.adjusted)
    assert not check.valid and "cannot contain the treatment" in check.reason
    assert "latent" in dag.check_adjustment_set(spec, "X", "Y", ["U"]).reason
    assert dag_io.from_dagitty(dag_io.to_dagitty(spec)) == spec


def test_node_limit_is_stated_and_enforced_at_the_first_extra_node():
    size = dag_io.MAX_IMPORT_NODES
    chain = "dag {\n" + "\n".join(f"v{i} -> v{i + 1}" for i in range(size - 1)) + "\n}"
    assert len(dag_io.from_dagitty(chain).nodes) == size
    too_big = chain.replace("\n}", f"\nv{size - 1} -> v{size}\n}}")
    with pytest.raises(DagFormatError, match=f"line {size + 1}: more than 2,000 nodes"):
        dag_io.from_dagitty(too_big)
    with pytest.raises(DagFormatError, match="the limit is 2,000,000"):
        dag_io.from_dagitty("dag { a }" + " " * dag_io.MAX_IMPORT_CHARS)


def test_a_rejected_import_changes_nothing():
    """Reading is pure: a failing parse raises before any DagSpec exists, and the project's DAG is untouched."""
    from causal_core.project import Project

    project = Project(name="p", dag=dag.default_dag("retention"))
    before = project.model_dump_json()
    for text in ["dag { a -> b -> a }", "pag { a @-> b }", "dag { a [foo] }"]:
        with pytest.raises(DagFormatError):
            project.dag = dag_io.parse(text, "dagitty")
    assert project.model_dump_json() == before


# ---------------------------------------------------------------------------------------------
# Round trip: export writes DAGitty's own vocabulary; import → export → import is identical
# ---------------------------------------------------------------------------------------------
_NAMES = ["a", "b", "X", "Y_1", "z.2", "Post outreach", "x-1", "Ärger", "a/b", "n10", "_u"]


def _random_spec(rng: random.Random) -> DagSpec:
    """A random DAG with every feature the formats carry: roles, latents, positions, labels, columns,
    rationales, bidirected edges, adjusted and selected lists (in node order, as every reader returns them)."""
    names = rng.sample(_NAMES, rng.randint(2, len(_NAMES)))
    nodes = []
    for name in names:
        latent = rng.random() < 0.2
        column = rng.choice([None if latent else name, None, f"col_{name}"])
        position = (rng.uniform(-500, 500), round(rng.uniform(-5, 5), 3)) if rng.random() < 0.7 else None
        label = rng.choice(["", f"Label {name}", 'say "hi"\nnow', "back\\slash"])
        nodes.append(
            DagNode(name=name, label=label, latent=latent, column=column, x=position and position[0], y=position and position[1])
        )
    edges = [
        DagEdge(source=names[i], target=names[j], rationale=rng.choice(["", "because", 'a "quoted" reason']))
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if rng.random() < 0.3
    ]
    pairs = [(a, b) for a, b in itertools.combinations(names, 2) if rng.random() < 0.1]
    bidirected = [DagEdge(source=a, target=b, rationale=rng.choice(["", "shared cause"])) for a, b in pairs]
    observed = [n.name for n in nodes if not n.latent]
    treatment = outcome = None
    if len(observed) >= 2 and rng.random() < 0.8:
        treatment, outcome = rng.sample(observed, 2)
    free = [n.name for n in nodes if n.name not in (treatment, outcome)]  # a latent may be marked (DAGitty)
    adjusted = [n for n in free if rng.random() < 0.3]
    selected = [n.name for n in nodes if rng.random() < 0.15]
    return DagSpec(
        nodes=nodes, edges=edges, treatment=treatment, outcome=outcome,
        adjusted=adjusted, selected=selected, bidirected=bidirected,
    )  # fmt: skip


def test_round_trip_property_over_random_dags():
    rng = random.Random(20261201)
    for _ in range(120):
        spec = _random_spec(rng)
        text = dag_io.to_dagitty(spec)
        back = dag_io.from_dagitty(text)
        assert back == spec, text
        assert dag_io.to_dagitty(back) == text  # import → export → import: identical, roles included
        assert dag_io.from_dot(dag_io.to_dot(spec)) == spec
        assert dag_io.from_json(dag_io.to_json(spec)) == spec


def test_export_uses_dagitty_vocabulary_and_dagitty_barewords():
    spec = dag_io.from_dagitty(
        'dag { X [e, pos="0,0"] Y [o] U [u] A [a] S [s] "two words" -> X; U -> {X Y}; A -> X -> Y -> S; A <-> Y }'
    )
    text = dag_io.to_dagitty(spec)
    for line in ['  X [exposure,pos="0,0"]', "  Y [outcome]", "  U [latent]", "  A [adjusted]", "  S [selected]",
                 '  "two words" -> X', "  A <-> Y"]:  # fmt: skip
        assert line in text.splitlines()
    # Every unquoted name is a DAGitty BAREWORD ([0-9a-zA-Z_.]+), so DAGitty itself can read the export.
    unquoted = re.sub(r'"(?:\\.|[^"\\])*"', "", text)
    words = re.findall(r"[^\s{}\[\],=<>\-]+", unquoted.replace("dag {", ""))
    assert all(re.fullmatch(r"-?[0-9a-zA-Z_.]+", word) for word in words), words


def test_old_dag_json_without_the_new_fields_still_loads():
    old = {"nodes": [{"name": "X"}, {"name": "Y"}], "edges": [{"source": "X", "target": "Y"}], "treatment": "X"}
    spec = DagSpec.model_validate(old)
    assert (spec.adjusted, spec.selected, spec.bidirected) == ([], [], [])


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
        ("digraph { a -> b }\nc -> d", "line 2: unexpected 'c' after the graph's closing"),
        ("digraph { a -> a }", "self-loop 'a -> a'"),
        ('digraph { a [role=exposure, latent=true] }', "marked both latent and exposure"),
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
        ('{"nodes": [], "edges": []}', "the graph has no nodes"),
        ("[" * 100_000, "nested too deeply"),
        ("", "the JSON text is empty"),
        ('{"nodes": [{"name": "a", "latent": "maybe"}], "edges": []}', "schema at nodes.0.latent: Input should be"),
        (json.dumps({"nodes": [{"id": f"n{i}"} for i in range(2_001)], "edges": []}), "2,001 nodes"),
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
    (tmp_path / "folder.dagitty").mkdir()
    with pytest.raises(DagFormatError, match="folder.dagitty is not a file"):
        dag_io.read_file(str(tmp_path / "folder.dagitty"))
    (tmp_path / "latin1.dagitty").write_bytes("dag { caf\xe9 }".encode("latin-1"))
    with pytest.raises(DagFormatError, match="is not UTF-8 text"):
        dag_io.read_file(str(tmp_path / "latin1.dagitty"))


@pytest.mark.skipif(not dag_io.dot_available(), reason="Graphviz dot binary not installed")
def test_svg_is_rendered_in_n01_colours():
    svg = dag_io.to_svg(dag.default_dag("retention"), "Candidate DAG")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert 'fill="#fde68a"' in svg and 'fill="#fecaca"' in svg and 'fill="#ddd6fe"' in svg
    assert 'stroke="#334155"' in svg and "Helvetica" in svg
    assert "Post&#45;outreach engagement" in svg


def test_svg_without_dot_gives_a_clear_message(monkeypatch):
    from causal_core.dag import dot_binary

    monkeypatch.setattr(dot_binary, "find_dot", lambda: None)
    with pytest.raises(dag_io.DotUnavailable, match="DOT export still works"):
        dag_io.to_svg(dag.default_dag("retention"))


def test_dagitty_edge_labels_are_url_decoded_into_the_rationale():
    spec = dag_io.from_dagitty('dag { a -> b [label="shared%20cause"]; c -> d [pos="1,1", rationale="why"] }')
    assert [e.rationale for e in spec.edges] == ["shared cause", "why"]


def test_dot_reads_bidirected_edges_and_role_flags():
    spec = dag_io.from_dot(
        'digraph { x [role=exposure]; y [role=outcome]; a [adjusted=true]; s [selected="true"]; '
        'x -> y; a -> {x y}; y -> s; x -> y [dir=both, style=dashed, tooltip="hidden"] }'
    )
    assert (spec.treatment, spec.outcome, spec.adjusted, spec.selected) == ("x", "y", ["a"], ["s"])
    assert [(e.source, e.target, e.rationale) for e in spec.bidirected] == [("x", "y", "hidden")]
    assert ("x", "y") in {(e.source, e.target) for e in spec.edges}


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ({"adjusted": "a"}, "'adjusted' must be a list of node names"),
        ({"adjusted": ["zz"]}, "adjusted.*'zz'"),
        ({"selected": ["zz"]}, "selected.*'zz'"),
        ({"bidirected": [{"source": "a"}]}, "bidirected edge 1 needs a 'source' and a 'target'"),
        ({"bidirected": [{"source": "a", "target": "zz"}]}, "refers to unknown node 'zz'"),
    ],
)
def test_bad_json_role_lists_are_rejected(graph, message):
    payload = {"graph": graph, "nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"source": "a", "target": "b"}]}
    with pytest.raises(DagFormatError, match=message):
        dag_io.from_json(json.dumps(payload))


def test_windows_line_endings_and_byte_order_mark():
    spec = dag_io.from_dagitty('\ufeffdag {\r\n X [exposure,pos="1,2"]\r\n Y [outcome]\r\n X -> Y\r\n}\r\n')
    assert (spec.treatment, spec.outcome, [n.name for n in spec.nodes]) == ("X", "Y", ["X", "Y"])
    old = dag_io.from_dagitty("\ufeffX E @1,2\r\nY O\r\n\r\nX Y\r\n")
    assert (old.treatment, old.outcome, len(old.edges)) == ("X", "Y", 1)
    assert dag_io.from_dot('\ufeffdigraph {\r\n "a" -> "b";\r\n}').edges[0].target == "b"


def test_mutated_files_parse_or_raise_dagformaterror_never_anything_else():
    """Fuzz: 1,500 random edits of valid DAGitty and DOT text (dropped, doubled or inserted syntax characters).
    Whatever comes out, the reader either returns a spec or raises DagFormatError: the page's one except."""
    rng = random.Random(7)
    sources = [
        (dag_io.from_dagitty, dag_io.to_dagitty(_random_spec(random.Random(1)))),
        (dag_io.from_dagitty, (Path(__file__).parent / "fixtures" / "dagitty" / "thoemmes_2013.txt").read_text()),
        (dag_io.from_dagitty, 'dag { X [e,pos="1,2"] "a b" <-> X; {a b} -> c <- X; X -> Y [rationale="r"] Y [o] }'),
        (dag_io.from_dot, dag_io.to_dot(dag.default_dag("retention"))),
    ]
    alphabet = list('{}[]"=,;<->@+/*#\n\\ ') + ["->", "<-", "<->", "--", "/*", "//", "@->", "\ufeff", "é"]
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(1_500):
        read, text = rng.choice(sources)
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(chars) + 1)
            action = rng.random()
            if action < 0.4 and chars:
                del chars[min(position, len(chars) - 1)]
            elif action < 0.6 and chars:
                chars.insert(position, chars[min(position, len(chars) - 1)])
            else:
                chars.insert(position, rng.choice(alphabet))
        try:
            read("".join(chars))
            outcomes["parsed"] += 1
        except DagFormatError as error:
            assert str(error).strip(), "a refusal always says why"
            outcomes["refused"] += 1
    assert outcomes["parsed"] > 100 and outcomes["refused"] > 100, outcomes  # both branches were exercised


def test_positions_round_trip_exactly():
    text = 'dag { a [pos="123.456789,-0.000012345"] b [pos="1e-07,280"] c [pos="-60,0.1"] }'
    spec = dag_io.from_dagitty(text)
    assert [(n.x, n.y) for n in spec.nodes] == [(123.456789, -0.000012345), (1e-07, 280.0), (-60.0, 0.1)]
    exported = dag_io.to_dagitty(spec)
    assert 'a [pos="123.456789,-1.2345e-05"]' in exported and 'c [pos="-60,0.1"]' in exported
    assert dag_io.from_dagitty(exported) == spec
    assert dag_io.from_dot(dag_io.to_dot(spec)) == spec


def test_dag_bytes_are_utf8_or_refused_never_replaced():
    """The DAG page's import and the CLI share decode_dag_bytes: a Latin-1 file used to import a node 'caf\\ufffd'."""
    assert dag_io.decode_dag_bytes("dag { café -> y }".encode()) == "dag { café -> y }"
    assert dag_io.decode_dag_bytes(b"\xef\xbb\xbfdag { a -> b }") == "dag { a -> b }"  # BOM dropped
    with pytest.raises(DagFormatError, match=r"upload\.dagitty is not UTF-8 text \(byte 10 cannot be read\)"):
        dag_io.decode_dag_bytes(b"dag { caf\xe9 -> y }", "upload.dagitty")
    spec = dag_io.parse_bytes(b"dag { x [exposure] y [outcome] x -> y }", "g.dagitty")
    assert (spec.treatment, spec.outcome, [(e.source, e.target) for e in spec.edges]) == ("x", "y", [("x", "y")])
    with pytest.raises(DagFormatError, match="unknown DAG file type"):
        dag_io.parse_bytes(b"{}", "g.xml")


def test_deep_nesting_is_a_message_in_every_format():
    assert "nested" in _message(lambda: dag_io.parse("[" * 100_000 + "]" * 100_000, "json"))
    assert "nested more than 50 deep" in _message(lambda: dag_io.parse("dag { a -> " + "{" * 5_000 + "b" + "}" * 5_000 + " }",
                                                                         "dagitty"))
    assert "nested more than 50 deep" in _message(lambda: dag_io.parse("digraph { " + "subgraph { " * 500 + "a -> b"
                                                                         + " }" * 500 + " }", "dot"))


def _message(call) -> str:
    with pytest.raises(DagFormatError) as error:
        call()
    return str(error.value)


# ---- every export re-imports: reserved words, unicode, spaces and quotes as node names (issue 21, item 6) -----
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from causal_core.dag.graph import name_problem  # noqa: E402
from causal_core.dag_io.dagitty import RESERVED_WORDS  # noqa: E402

NODE_NAMES = st.one_of(
    st.sampled_from(sorted(RESERVED_WORDS | {"exposure", "outcome", "latent", "pos", "label", "e", "o"})),
    st.sampled_from(sorted(RESERVED_WORDS)).map(str.upper),
    st.sampled_from(['say "hi"', "a b", "Größe", "税率", "x\\y", "1x", "-3", "a->b", "a--b", "{x}", "x;y", "x=1",
                     "#x", "//x", "a\\nb", "é è", "a.b", "_"]),
    st.text(min_size=1, max_size=8),
).filter(lambda name: name_problem(name) is None)


@st.composite
def random_dags(draw) -> DagSpec:
    """A networkx random DAG (edges only from lower to higher index) with drawn node names."""
    names = draw(st.lists(NODE_NAMES, min_size=2, max_size=7, unique=True))
    seed = draw(st.integers(0, 10_000))
    graph = nx.gnp_random_graph(len(names), 0.5, seed=seed, directed=True)
    edges = [(names[a], names[b]) for a, b in graph.edges if a < b]
    treatment, outcome = (names[0], names[-1]) if draw(st.booleans()) else (None, None)
    return DagSpec(
        nodes=[DagNode(name=name, column=name) for name in names],
        edges=[DagEdge(source=a, target=b) for a, b in edges],
        treatment=treatment,
        outcome=outcome,
    )


def graph_of(spec: DagSpec) -> tuple[list[str], set[tuple[str, str]], str | None, str | None]:
    return [n.name for n in spec.nodes], {(e.source, e.target) for e in spec.edges}, spec.treatment, spec.outcome


@settings(max_examples=150, deadline=None)
@given(random_dags())
def test_every_export_reimports_to_the_same_graph(spec):
    """DAGitty and DOT, and the notebook's DAG cell (a Python literal of the DAGitty text, rebuilt by the
    notebook's own helper): node names drawn from DAGitty/DOT keywords, unicode, spaces and quotes."""
    from causal_core.notebook.api import rebuild_dag
    from causal_core.notebook.cells import text_literal

    expected = graph_of(spec)
    assert graph_of(dag_io.from_dagitty(dag_io.to_dagitty(spec))) == expected
    assert graph_of(dag_io.from_dot(dag_io.to_dot(spec))) == expected
    literal = text_literal(dag_io.to_dagitty(spec))
    cell_text = eval(compile(literal, "DAG_TEXT", "eval"))  # noqa: S307 - only a string literal, as the cell holds
    assert graph_of(rebuild_dag(cell_text)) == expected


@pytest.mark.parametrize("word", ["node", "graph", "Node", "GRAPH", "dag", "digraph", "subgraph", "edge", "strict"])
def test_a_node_named_like_a_keyword_is_quoted_in_dagitty(word):
    spec = DagSpec(nodes=[DagNode(name=word, column=word), DagNode(name="y", column="y")],
                   edges=[DagEdge(source=word, target="y")], treatment=word, outcome="y")
    text = dag_io.to_dagitty(spec)
    assert f'"{word}" -> y' in text
    assert graph_of(dag_io.from_dagitty(text)) == graph_of(spec)
