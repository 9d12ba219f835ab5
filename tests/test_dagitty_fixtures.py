"""DAGitty's own example graphs (tests/fixtures/dagitty, credited in its README) read here, and the published
answers of DAGitty's test suite reproduced by causal_core.dag wherever it claims the same criterion.

In a DAG the minimal sets of the adjustment criterion (DAGitty's default) are sets of non-descendants of the
exposure, for which it coincides with the backdoor criterion; so minimal sets and "no valid set" answers can be
compared one to one. Selection (DAGitty ``selected``) is a different criterion: there the engine must at least
not call a set valid without saying that selection is present.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import networkx as nx
import pytest

from causal_core import dag, dag_io
from causal_core.dag_io import DagFormatError

FIXTURES = Path(__file__).parent / "fixtures" / "dagitty"
ANSWERS: dict[str, dict] = json.loads((FIXTURES / "answers.json").read_text(encoding="utf-8"))


def _with(key: str) -> list[str]:
    return sorted(name for name, answer in ANSWERS.items() if key in answer)


def _load(name: str):
    return dag_io.from_dagitty((FIXTURES / name).read_text(encoding="utf-8"))


def _sorted_sets(sets) -> list[list[str]]:
    return sorted(sorted(s) for s in sets)


def test_every_fixture_file_has_a_published_answer_and_a_source():
    assert sorted(p.name for p in FIXTURES.glob("*.txt")) == sorted(ANSWERS)
    assert all(answer["from"] and answer["assertion"] for answer in ANSWERS.values())
    assert "GPL" in (FIXTURES / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [n for n in sorted(ANSWERS) if "error" not in ANSWERS[n]])
def test_fixture_is_read_with_its_roles(name):
    spec, answer = _load(name), ANSWERS[name]
    for field in ("treatment", "outcome", "adjusted", "selected"):
        if field in answer:
            assert getattr(spec, field) == answer[field], field
    if "latent" in answer:
        assert [n.name for n in spec.nodes if n.latent] == answer["latent"]
    if "bidirected" in answer:
        assert sorted(sorted((e.source, e.target)) for e in spec.bidirected) == sorted(map(sorted, answer["bidirected"]))
    if "edges" in answer:
        assert sorted((e.source, e.target) for e in spec.edges) == sorted(map(tuple, answer["edges"]))
    if "node_count" in answer:
        assert (len(spec.nodes), len(spec.edges)) == (answer["node_count"], answer["edge_count"])
    for node_name, (x, y) in answer.get("positions", {}).items():
        node = dag.get_node(spec, node_name)
        assert (node.x, node.y) == pytest.approx((x, y))


@pytest.mark.parametrize("name", _with("error"))
def test_fixture_dagitty_accepts_but_a_dag_cannot_hold_is_refused(name):
    with pytest.raises(DagFormatError, match=ANSWERS[name]["error"].replace("(", r"\(").replace(")", r"\)")):
        _load(name)


@pytest.mark.parametrize("name", _with("minimal_sets"))
def test_published_minimal_adjustment_sets(name):
    spec = _load(name).model_copy(update={"adjusted": []})  # DAGitty without any forced variable
    result = dag.identify(spec)
    assert result.identifiable and not result.capped and not result.criterion_capped
    assert _sorted_sets(result.minimal_sets) == _sorted_sets(ANSWERS[name]["minimal_sets"])  # backdoor
    assert _sorted_sets(result.criterion_sets) == _sorted_sets(ANSWERS[name]["minimal_sets"])  # DAGitty's criterion


def _minimal_valid_supersets(spec, forced: list[str]) -> list[list[str]]:
    """Brute force over the observed nodes: the inclusion-minimal valid sets that contain ``forced`` (what
    DAGitty lists when variables are marked adjusted)."""
    others = sorted(dag.observed_names(spec) - {spec.treatment, spec.outcome} - set(forced))
    found: list[set[str]] = []
    for size in range(len(others) + 1):
        for extra in itertools.combinations(others, size):
            chosen = set(forced) | set(extra)
            if any(smaller <= chosen for smaller in found):
                continue
            if dag.check_adjustment_set(spec, spec.treatment, spec.outcome, sorted(chosen)).valid:
                found.append(chosen)
    return _sorted_sets(found)


@pytest.mark.parametrize("name", _with("minimal_sets_containing_adjusted"))
def test_published_minimal_sets_that_contain_the_adjusted_variables(name):
    spec = _load(name)
    assert spec.adjusted == ANSWERS[name]["adjusted"]
    expected = _sorted_sets(ANSWERS[name]["minimal_sets_containing_adjusted"])
    assert _minimal_valid_supersets(spec, spec.adjusted) == expected
    # The engine's own check of the analyst's `adjusted` set agrees: valid exactly when DAGitty lists it alone.
    check = dag.identify(spec).adjusted_check
    assert check is not None and check.valid == (sorted(spec.adjusted) in expected), check.reason


@pytest.mark.parametrize("name", sorted(set(_with("valid_sets") + _with("invalid_sets"))))
def test_published_verdicts_on_given_sets(name):
    spec, answer = _load(name), ANSWERS[name]
    for chosen in answer.get("valid_sets", []):
        check = dag.check_adjustment_set(spec, spec.treatment, spec.outcome, chosen)
        assert check.valid, (chosen, check.reason)
    for chosen in answer.get("invalid_sets", []):
        check = dag.check_adjustment_set(spec, spec.treatment, spec.outcome, chosen)
        assert not check.valid and check.reason, chosen


def _implication_key(text: str) -> tuple[frozenset[str], frozenset[str]]:
    pair, _, given = text.partition(" | ")
    a, b = pair.split(" _||_ ")
    return frozenset((a, b)), frozenset(g for g in given.split(", ") if g)


@pytest.mark.parametrize("name", _with("implications"))
def test_published_minimal_implications(name):
    """DAGitty lists every minimal separator of each pair; the engine lists one per pair: the same pairs, and
    each of its separators must be one DAGitty lists for that pair."""
    published: dict[frozenset[str], set[frozenset[str]]] = {}
    for text in ANSWERS[name]["implications"]:
        pair, given = _implication_key(text)
        published.setdefault(pair, set()).add(given)
    implications, capped = dag.testable_implications(_load(name))
    assert not capped
    ours = {frozenset((i.x, i.y)): frozenset(i.given) for i in implications}
    assert set(ours) == set(published)
    for pair, given in ours.items():
        assert given in published[pair], (sorted(pair), sorted(given))


@pytest.mark.parametrize("name", sorted(set(_with("valid_sets_under_selection") + _with("invalid_sets_under_selection"))))
def test_selection_fixtures_are_never_called_valid_without_a_selection_warning(name):
    """Selection bias is not removable by adjustment; DAGitty's selection-aware verdicts are in answers.json.
    Until the engine implements that criterion it must flag selection wherever it judges a set."""
    spec, answer = _load(name), ANSWERS[name]
    assert spec.selected == answer["selected"]
    for chosen in answer.get("invalid_sets_under_selection", []):
        check = dag.check_adjustment_set(spec, spec.treatment, spec.outcome, chosen)
        result = dag.identify(spec)
        said = " ".join([check.reason, result.note, *result.warnings]).lower()
        assert not check.valid or "selection" in said, (chosen, check.reason)


# DAGitty's parser tests (test/test/parser.js, jslib/parser/parser-tests.js), inline: text → vertex/edge counts
@pytest.mark.parametrize(
    ("text", "vertices", "edges"),
    [
        ("dag{a->b}", 2, 1),
        (" dag { a -> b } ", 2, 1),
        ("a->b", 2, 1),
        ("map -> pop", 2, 1),
        ("dag{{x->{a b}}}", 3, 2),
        ("dag{{x->{a ; b}}}", 3, 2),
        ("dag{a;b}", 2, 0),
        ("dag{;b}", 1, 0),
        ("dag{a;}", 1, 0),
        ("dag{}", 0, 0),
        ("dag{;}", 0, 0),
        ("dag{;;;}", 0, 0),
        ("dag{ a }", 1, 0),
        ("dag{x->{a->b}}", 3, 3),
        ("dag{a->{b->{c->{d->e}}}}", 5, 10),
        ("dag{ U -> {a b c d} }", 5, 4),
        (" strict Dag { x y ; z \n q }", 4, 0),
        (" STRICT dag{ x -> m -> a b }", 4, 2),
        ('dag {\n bb = "0,0,1,1" \n}', 0, 0),
        ("digraph G { xi1 [latent]\nxi1 -> x1\nxi1 -> x3\nxi1 -> x4\nxi1 -> x5\nx5 -> x6\nx1 -> x6\nx6 -> x3 }\n", 6, 7),
    ],
)
def test_dagitty_parser_suite_counts(text, vertices, edges):
    if vertices == 0:  # DAGitty accepts an empty graph; importing one would replace the DAG with nothing
        with pytest.raises(DagFormatError, match="the graph has no nodes: there is nothing to import"):
            dag_io.from_dagitty(text)
        return
    spec = dag_io.from_dagitty(text)
    assert (len(spec.nodes), len(spec.edges)) == (vertices, edges)


def test_dagitty_parser_suite_unicode_names_and_labels():
    spec = dag_io.from_dagitty('digraph G { "ᚠᛇᚻ᛫ᛒᛦᚦ᛫ᚠᚱᚩᚠᚢᚱ᛫ᚠᛁᚱᚪ᛫ᚷᛖᚻᚹᛦᛚᚳᚢᛗ" }')
    assert [n.name for n in spec.nodes] == ["ᚠᛇᚻ᛫ᛒᛦᚦ᛫ᚠᚱᚩᚠᚢᚱ᛫ᚠᛁᚱᚪ᛫ᚷᛖᚻᚹᛦᛚᚳᚢᛗ"]
    assert dag_io.from_dagitty('digraph G { x [label="από το Άξιον Εστί"] }').nodes[0].label == "από το Άξιον Εστί"


def test_dagitty_parser_suite_spaces_inside_pos_and_old_syntax_bidirected():
    spec = dag_io.from_dagitty('dag G {\nx [ exposure , pos =" 12. , .13 "]\ny [outcome]\n}')
    node = dag.get_node(spec, "x")
    assert (spec.treatment, spec.outcome, node.x, node.y) == ("x", "y", 12.0, 0.13)
    # parser.js "old syntax still works": xi1 <-> xi2 between two latent variables
    spec = dag_io.from_dagitty(
        "digraph  { xi1 [latent]\nxi2 [latent]\nxi1 <-> xi2\nxi1 -> x1\nxi1 -> x2\nxi1 -> x3\n"
        "xi2 -> x4\nxi2 -> x5\nxi2 -> x6 } "
    )
    assert [(e.source, e.target) for e in spec.bidirected] == [("xi1", "xi2")]
    assert [n.name for n in spec.nodes if n.latent] == ["xi1", "xi2"] and len(spec.edges) == 6


def test_cli_reads_dagittys_older_format_and_gives_the_published_sets(capsys):
    """``python -m causal_core adjust --dag polzer_2012.txt``: an adjacency-matrix file straight from DAGitty."""
    from causal_core.cli import main

    code = main(["adjust", "--dag", str(FIXTURES / "polzer_2012.txt"), "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (payload["treatment"], payload["outcome"]) == ("ToothLoss", "Mortality")
    assert _sorted_sets(payload["minimal_sets"]) == _sorted_sets(ANSWERS["polzer_2012.txt"]["minimal_sets"])


def test_cli_refuses_a_pag_fixture_with_the_reason(capsys):
    from causal_core.cli import main

    code = main(["adjust", "--dag", str(FIXTURES / "pag.txt")])
    assert code == 2
    assert "'pag' graphs are not supported" in capsys.readouterr().err


@pytest.mark.parametrize("name", _with("instruments"))
def test_published_conditional_instruments(name):
    """DAGitty's conditionalInstruments / R instrumentalVariables, in its "z | w" notation."""
    found = dag.conditional_instruments(_load(name))
    assert sorted(instrument.text() for instrument in found) == sorted(ANSWERS[name]["instruments"])


@pytest.mark.parametrize("name", [n for n in sorted(ANSWERS) if "error" not in ANSWERS[n]])
def test_fixture_round_trips_through_the_export(name):
    """Import → export (DAGitty's vocabulary) → import is identical, roles, positions and <-> included; the
    older two-block files come back in the modern syntax."""
    spec = _load(name)
    text = dag_io.to_dagitty(spec)
    assert dag_io.from_dagitty(text) == spec
    assert dag_io.to_dagitty(dag_io.from_dagitty(text)) == text


# DAGitty's d-separation tests (test/test/dseparation.js), inline: text, x, y, given → d-connected?
@pytest.mark.parametrize(
    ("text", "x", "y", "given", "connected"),
    [
        ("digraph G { x <-> m -> y }", "x", "y", [], True),
        ("digraph G { x <-> m -> y }", "x", "y", ["m"], False),
        ("digraph G { x <-> m <-> b <-> y }", "x", "y", ["m"], False),
        ("digraph G { x <-> m <-> b <-> y }", "x", "y", ["m", "b"], True),
        ("digraph G { x -> m -> y }", "x", "y", [], True),
        ("digraph G { x -> m -> y }", "x", "y", ["m"], False),
        ("dag{ a->x->m<-y m->p }", "a", "y", ["m"], True),
        ("dag{ x->m<-y m->p }", "x", "y", ["m"], True),
        ("dag{ x->m<-y m->p }", "x", "y", ["p"], True),
        ("dag{ x->m<-y m->p }", "x", "y", [], False),
        ("dag{ x[e] y[o] x->m<-y m->p }", "x", "y", [], False),
    ],
)
def test_dagitty_dseparation_suite_with_bidirected_edges(text, x, y, given, connected):
    """The engine's networkx view (a <-> b as a hidden common parent) gives DAGitty's d-connection answers."""
    graph = dag.to_networkx(dag_io.from_dagitty(text))
    assert nx.is_d_separator(graph, {x}, {y}, set(given)) is not connected
