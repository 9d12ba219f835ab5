"""Path view: every treatment–outcome path, causal or biasing, open or closed, with the node that decides it."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from causal_core import dag
from causal_core.dag.paths import DagPathError, list_paths, path_edges_for_display
from causal_core.project import DagEdge, DagNode, DagSpec


def make(edges, latent=(), bidirected=(), treatment="X", outcome="Y", **extra) -> DagSpec:
    names = list(dict.fromkeys([*(n for e in edges for n in e), *(n for e in bidirected for n in e)]))
    return DagSpec(
        nodes=[DagNode(name=n, latent=n in latent, column=None if n in latent else n) for n in names],
        edges=[DagEdge(source=a, target=b) for a, b in edges],
        bidirected=[DagEdge(source=a, target=b) for a, b in bidirected],
        treatment=treatment,
        outcome=outcome,
        **extra,
    )


M_BIAS = make([("A", "X"), ("A", "M"), ("B", "M"), ("B", "Y"), ("X", "Y")])
BUTTERFLY = make([("A", "X"), ("A", "M"), ("B", "M"), ("B", "Y"), ("M", "X"), ("M", "Y"), ("X", "Y")])


def by_text(report) -> dict:
    return {p.text: p for p in report.paths}


def test_m_bias_adjusting_the_collider_opens_the_path():
    paths = by_text(list_paths(M_BIAS, []))
    assert set(paths) == {"X → Y", "X ← A → M ← B → Y"}
    assert paths["X → Y"].causal and paths["X → Y"].open
    m_path = paths["X ← A → M ← B → Y"]
    assert (m_path.kind, m_path.open, m_path.colliders, m_path.closed_at) == ("biasing", False, ["M"], ["M"])
    assert m_path.reason == "closed by the collider M (not adjusted)"

    opened = by_text(list_paths(M_BIAS, ["M"]))["X ← A → M ← B → Y"]
    assert opened.open and opened.opened_by == ["M"]
    assert opened.reason == (
        "open: opened by adjusting for the collider M; it biases the estimate; adjusting for A or B would close it"
    )
    report = list_paths(M_BIAS, ["M", "A"])
    closed_again = by_text(report)["X ← A → M ← B → Y"]
    assert not closed_again.open and closed_again.closed_by == ["A"] and closed_again.opened_by == ["M"]
    assert closed_again.reason == (
        "closed by adjusting for A, even though adjusting for the collider M opens it at that collider"
    )
    assert report.open_counts() == (1, 0)


def test_descendant_of_a_collider_opens_the_path_and_is_named():
    spec = make([("A", "X"), ("A", "M"), ("B", "M"), ("B", "Y"), ("X", "Y"), ("M", "D")])
    path = by_text(list_paths(spec, ["D"]))["X ← A → M ← B → Y"]
    assert path.open and path.opened_by == ["D"]
    assert "adjusting for D, a descendant of the collider M" in path.reason


def test_confounding_fork_is_closed_by_adjusting_for_the_confounder():
    spec = make([("Z", "X"), ("Z", "Y"), ("X", "Y")])
    before = list_paths(spec, [])
    assert by_text(before)["X ← Z → Y"].open and before.open_counts() == (1, 1)
    assert by_text(before)["X ← Z → Y"].reason == (
        "open: nothing on it is adjusted for; it biases the estimate; adjusting for Z would close it"
    )
    assert "Biasing paths are open" in before.summary
    after = list_paths(spec, ["Z"])
    fork = by_text(after)["X ← Z → Y"]
    assert not fork.open and fork.closed_by == ["Z"] and fork.reason == "closed by adjusting for Z"
    assert after.open_counts() == (1, 0)
    assert after.summary.endswith("This set closes every biasing path listed and leaves every causal path open.")
    assert after.clean and not before.clean


def test_mediator_chain_adjusting_the_mediator_blocks_the_effect():
    spec = make([("X", "M"), ("M", "Y")])
    chain = by_text(list_paths(spec, []))["X → M → Y"]
    assert chain.causal and chain.open
    report = list_paths(spec, ["M"])
    blocked = by_text(report)["X → M → Y"]
    assert not blocked.open and blocked.closed_by == ["M"]
    assert "over-control" in blocked.reason
    assert "Some causal paths are closed" in report.summary and "post-treatment" in report.summary
    assert report.post_treatment == ["M"] and not report.clean


def test_butterfly_needs_the_collider_and_one_parent():
    texts = set(by_text(list_paths(BUTTERFLY, [])))
    assert texts == {"X → Y", "X ← M → Y", "X ← A → M → Y", "X ← M ← B → Y", "X ← A → M ← B → Y"}
    with_m = by_text(list_paths(BUTTERFLY, ["M"]))
    assert [t for t, p in with_m.items() if p.open and not p.causal] == ["X ← A → M ← B → Y"]
    assert list_paths(BUTTERFLY, ["M", "A"]).open_counts() == (1, 0)
    assert list_paths(BUTTERFLY, ["M", "B"]).open_counts() == (1, 0)
    assert list_paths(BUTTERFLY, ["A", "B"]).open_counts() == (1, 1)  # X ← M → Y stays open


def test_bidirected_edge_is_a_latent_common_cause():
    spec = make([("X", "Y"), ("X", "Z")], bidirected=[("X", "Y")])
    paths = by_text(list_paths(spec, []))
    assert set(paths) == {"X → Y", "X ↔ Y"}  # a pair with both edges gives two paths
    assert paths["X ↔ Y"].kind == "biasing" and paths["X ↔ Y"].open
    assert paths["X ↔ Y"].reason.endswith("no observed pre-treatment variable on it can close it (unmeasured confounding)")
    collider = make([("X", "Y")], bidirected=[("X", "Z"), ("Z", "Y")])
    path = by_text(list_paths(collider, []))["X ↔ Z ↔ Y"]
    assert path.colliders == ["Z"] and not path.open
    assert by_text(list_paths(collider, ["Z"]))["X ↔ Z ↔ Y"].open
    directed, pairs = path_edges_for_display(path)
    assert directed == set() and pairs == {frozenset(("X", "Z")), frozenset(("Z", "Y"))}


def test_selection_node_conditions_every_path():
    spec = make([("X", "S"), ("Y", "S"), ("Z", "X")], selected=["S"])
    path = by_text(list_paths(spec, []))["X → S ← Y"]
    assert path.open and path.opened_by == ["S"]
    assert path.reason.startswith("open: opened by selecting on the collider S")


def test_adjustment_defaults_to_the_stored_set():
    spec = M_BIAS.model_copy(update={"adjusted": ["M"]})
    assert list_paths(spec).adjusted == ["M"] and list_paths(spec).open_counts() == (1, 1)


def _expanded(spec: DagSpec) -> nx.DiGraph:
    graph = nx.DiGraph([(e.source, e.target) for e in spec.edges])
    graph.add_nodes_from(n.name for n in spec.nodes)
    for index, edge in enumerate(spec.bidirected):
        graph.add_edges_from([(f"U{index}", edge.source), (f"U{index}", edge.target)])
    return graph


def test_paths_agree_with_networkx_d_separation_on_random_graphs():
    rng = random.Random(7)
    checked = 0
    for _ in range(150):
        size = rng.randint(3, 7)
        names = [f"V{i}" for i in range(size)]
        edges = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if rng.random() < 0.35]
        bidirected = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if rng.random() < 0.1]
        x, y = rng.sample(names, 2)
        spec = DagSpec(nodes=[DagNode(name=n, column=n) for n in names],
                       edges=[DagEdge(source=a, target=b) for a, b in edges],
                       bidirected=[DagEdge(source=a, target=b) for a, b in bidirected], treatment=x, outcome=y)
        others = [n for n in names if n not in (x, y)]
        given = rng.sample(others, rng.randint(0, len(others)))
        report = list_paths(spec, given)
        assert not report.capped
        connected = not nx.is_d_separator(_expanded(spec), {x}, {y}, set(given))
        assert any(p.open for p in report.paths) == connected, (edges, bidirected, x, y, given)
        checked += 1
    assert checked == 150


def test_cap_is_stated_and_keeps_the_shortest_paths():
    names = [f"C{i}" for i in range(8)]
    spec = make([*((c, "X") for c in names), *((c, "Y") for c in names), *zip(names, names[1:], strict=False),
                 ("X", "Y")])
    report = list_paths(spec, [], limit=5)
    assert report.capped and len(report.paths) == 5
    assert report.paths[0].text == "X → Y" and all(len(p.nodes) <= 3 for p in report.paths)
    assert "(the 5 shortest; more exist)" in report.summary


@pytest.mark.parametrize(
    ("spec", "adjusted", "message"),
    [
        (make([("X", "Y"), ("Y", "Z"), ("Z", "X")]), [], "the graph has a cycle (X → Y → Z → X)"),
        (make([("X", "Y")], treatment=None), [], "choose a treatment and an outcome node"),
        (make([("X", "Y")], outcome="X"), [], "the treatment and the outcome are the same node"),
        (make([("X", "Y"), ("U", "X")], latent=("U",)), ["U"], "cannot adjust for 'U': it is latent"),
        (make([("X", "Y")]), ["X"], "cannot adjust for 'X': it is the treatment"),
        (make([("X", "Y")]), ["Q"], "cannot adjust for 'Q': it is not a node of the graph"),
    ],
)
def test_bad_inputs_raise_a_specific_message(spec, adjusted, message):
    with pytest.raises(DagPathError) as caught:
        list_paths(spec, adjusted)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_no_path_and_retention_dag():
    apart = make([("X", "A"), ("Y", "B")])
    assert list_paths(apart, []).summary.startswith("No path joins X and Y")
    retention = dag.default_dag("retention")
    report = list_paths(retention, [])
    assert report.open_counts() == (2, 7)  # direct + via engagement; one fork per covariate
    report = list_paths(retention, [n for n, _ in dag.RETENTION_COVARIATES])
    assert report.open_counts() == (2, 0)


def test_cli_lists_paths_and_refuses_bad_sets(tmp_path, capsys):
    import json

    from causal_core.cli import main

    path = tmp_path / "m.dagitty"
    path.write_text("dag { X [exposure]; Y [outcome]; A -> {X M}; B -> {M Y}; X -> Y }")
    assert main(["paths", "--dag", str(path), "--adjust", "M", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["open_causal"], payload["open_biasing"], payload["adjusted"]) == (1, 1, ["M"])
    assert payload["paths"][1] == {"path": "X ← A → M ← B → Y", "kind": "biasing", "open": True,
                                   "reason": "open: opened by adjusting for the collider M; it biases the estimate; "
                                             "adjusting for A or B would close it",
                                   "colliders": ["M"]}
    assert main(["paths", "--dag", str(path)]) == 0
    assert "[biasing  closed] X ← A → M ← B → Y" in capsys.readouterr().out
    assert main(["paths", "--dag", str(path), "--adjust", "Y"]) == 2
    assert capsys.readouterr().err.strip() == "error: cannot adjust for 'Y': it is the outcome"


def test_a_post_treatment_proxy_off_every_path_is_still_flagged():
    """X → M → Y with M → D: adjusting for D leaves every path as it was, yet it is post-treatment (it proxies
    the mediator), which the adjustment criterion forbids; the summary must not call the set clean."""
    spec = make([("X", "M"), ("M", "Y"), ("M", "D")])
    report = list_paths(spec, ["D"])
    assert report.open_counts() == (1, 0) and report.post_treatment == ["D"] and not report.clean
    assert "D is downstream of X (post-treatment)" in report.summary
    assert "closes every biasing path" not in report.summary


def test_a_latent_fork_cannot_be_closed_and_a_mediator_is_never_suggested():
    latent = by_text(list_paths(make([("U", "X"), ("U", "Y"), ("X", "Y")], latent=("U",)), []))["X ← U → Y"]
    assert latent.open and latent.reason.endswith("(unmeasured confounding)")
    # X → M ← C → Y with M → Y: the biasing path X → M ← C → Y is closed; adjusting M opens it, and the hint
    # names C (pre-treatment), never the post-treatment M.
    spec = make([("X", "M"), ("C", "M"), ("C", "Y"), ("M", "Y")])
    opened = by_text(list_paths(spec, ["M"]))["X → M ← C → Y"]
    assert opened.open and opened.reason.endswith("adjusting for C would close it")
