"""DAG page (AppTest, graph component patched): uploads with awkward or hostile column names, the first DAG
of an upload, undo/redo and auto-layout, the keyed section bar and stopped drafts, strict DAG imports, and a
large graph rendered within bounds."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from causal_core import dag, runtime
from causal_core.dag.layout import overlapping_pairs
from causal_core.data import frame_to_csv_bytes, project_for_upload, read_upload
from causal_core.project import AIInteraction, DagEdge, DagNode, DagSpec, Timing
from causal_core.ui import dag_state, dag_view
from tests.test_dag_app import FakeGraph, open_page, plain, spec_of

ROOT = Path(__file__).resolve().parents[1]
PAGE = "app_pages/dag.py"
PAYLOAD = "<img src=x onerror=alert(document.domain)>"
RAW_TAG = re.compile(r"(?<!\\)<(?!-)")  # a "<" Markdown would parse (escaped ones are "\<"; "<-" is an arrow)
HEX = re.compile(r"#[0-9a-fA-F]{6}\b")


@pytest.fixture()
def graph(monkeypatch) -> FakeGraph:
    fake = FakeGraph()
    monkeypatch.setattr(dag_view, "graph_component", fake)
    return fake


def upload_frame(columns: list[str], n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    data = {c: rng.normal(size=n) for c in columns}
    data[columns[0]] = rng.integers(0, 2, n)
    return pd.DataFrame(data)


def open_upload(frame: pd.DataFrame, timings: dict[str, Timing] | None = None) -> tuple[AppTest, str]:
    """An uploaded CSV installed in session state (the keys causal_core/ui/state.py uses), treatment and
    outcome the first two columns as the reader kept them, optional dictionary timings."""
    loaded = read_upload(frame_to_csv_bytes(frame), "payload.csv")
    columns = loaded.source.columns
    project = project_for_upload(loaded).model_copy(update={"treatment": columns[0], "outcome": columns[1]})
    if timings:
        project = project.model_copy(update={"dictionary": [
            entry.model_copy(update={"timing": timings.get(entry.variable, entry.timing)})
            for entry in project.dictionary
        ]})
    key = "upload:payload.csv"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["cw_projects"] = {key: project}
    at.session_state["cw_frames"] = {key: loaded.frame}
    at.session_state["cw_active"] = key
    at.run()
    at.switch_page(PAGE).run()
    return at, key


# ---------------------------------------------------------------- hostile and awkward names
def test_columns_with_spaces_and_markup_render_as_plain_text(graph):
    """Old code: DagEditError "node name ' t ' has leading or trailing spaces" crashed the page."""
    at, key = open_upload(upload_frame([" t ", " y ", PAYLOAD]), {PAYLOAD: Timing.pre_treatment})
    assert not at.exception, at.exception
    spec = at.session_state["cw_projects"][key].dag
    columns = {n.name: n.column for n in spec.nodes}
    assert columns["t"] == " t " and columns["y"] == " y " and (spec.treatment, spec.outcome) == ("t", "y")
    assert columns[PAYLOAD] == PAYLOAD  # a payload name is valid text: kept, and drawn only as text
    nodes, edges = graph.drawn[-1]
    titles = [n.to_dict()["title"] for n in nodes] + [e.to_dict().get("title") or "" for e in edges]
    assert titles and not any("<" in t or ">" in t for t in titles)
    assert {n.to_dict()["font"]["multi"] for n in nodes} == {False}
    at.selectbox(key=f"dag_node_picker_{key}").set_value(PAYLOAD).run()
    selected = next(m.value for m in at.markdown if "— roles:" in m.value)
    assert not RAW_TAG.search(selected) and r"\<img src=x onerror=alert\(document\.domain\)\>" in selected
    assert plain(selected).startswith(f"**{PAYLOAD}** — roles:")
    shown = " ".join(m.value for m in [*at.markdown, *at.caption, *at.success, *at.warning, *at.info, *at.error])
    toggle = at.toggle(key=f"dag_adjust_{PAYLOAD}_{key}")  # widget labels render Markdown images and links
    assert not RAW_TAG.search(toggle.label) and plain(toggle.label) == PAYLOAD
    outside_code = re.sub(r"(`+).*?\1", "", shown)  # a code span shows its text literally
    assert not RAW_TAG.search(outside_code)  # all other Markdown on the page carries the payload escaped


def test_adding_a_spaced_column_as_a_node_maps_its_name(graph):
    at, key = open_upload(upload_frame(["treat", "re78", " age "]))
    at.selectbox(key="dag_add_column").set_value(" age ").run()
    at.button(key="dag_add_node").click().run()
    assert not at.exception
    node = dag.get_node(at.session_state["cw_projects"][key].dag, "age")
    assert node is not None and node.column == " age "


# ---------------------------------------------------------------- the upload's first DAG
def test_bare_upload_dag_warns_instead_of_a_success_box(graph):
    """Old code: a green "Identifiable … the empty set — no adjustment needed" on treatment → outcome."""
    at, key = open_upload(upload_frame(["treat", "re78", "age"]))
    assert not at.exception
    assert [(e.source, e.target) for e in at.session_state["cw_projects"][key].dag.edges] == [("treat", "re78")]
    assert not [s.value for s in at.success if "Identifiable" in s.value]
    warnings = [plain(w.value) for w in at.warning]
    assert any("the empty set is only as good as the missing DAG" in w for w in warnings)
    assert any(w.startswith("Started from the treatment and outcome only") for w in warnings)


def test_upload_dag_is_seeded_from_the_dictionary(graph):
    at, key = open_upload(upload_frame(["treat", "re78", "age", "educ", "re79"]),
                          {"age": Timing.pre_treatment, "educ": Timing.pre_treatment, "re79": Timing.future})
    spec = at.session_state["cw_projects"][key].dag
    assert {("age", "treat"), ("educ", "re78"), ("treat", "re79")} <= {(e.source, e.target) for e in spec.edges}
    box = next(plain(s.value) for s in at.success if s.value.startswith("Identifiable"))
    assert box == "Identifiable by adjustment. Recommended set (2): `age`, `educ`"
    assert any(plain(i.value).startswith("Seeded from the data dictionary: 2 pre-treatment") for i in at.info)
    assert overlapping_pairs(spec) == 0  # laid out by dot, not stacked


# ---------------------------------------------------------------- undo / redo, layout, label size, captions
def test_undo_and_redo_the_last_edits(graph):
    at = open_page()
    assert at.button(key="dag_undo").disabled
    at.radio(key="dag_add_kind").set_value("Free name").run()
    at.text_input(key="dag_add_name").set_value("mood").run()
    at.button(key="dag_add_free_node").click().run()
    at.selectbox(key="dag_edge_source").set_value("mood").run()
    at.selectbox(key="dag_edge_target").set_value("churn").run()
    at.button(key="dag_add_edge").click().run()
    assert ("mood", "churn") in {(e.source, e.target) for e in spec_of(at).edges}
    at.button(key="dag_undo").click().run()
    assert plain(at.success[0].value) == "Undid: Added mood → churn."
    assert ("mood", "churn") not in {(e.source, e.target) for e in spec_of(at).edges}
    at.button(key="dag_undo").click().run()
    assert spec_of(at) == dag.default_dag("retention") and at.button(key="dag_undo").disabled
    at.button(key="dag_redo").click().run()
    assert dag.get_node(spec_of(at), "mood") is not None
    assert at.session_state["cw_projects"]["retention"].edit_log[-1].note == "Redid: Added node mood (no data column)."


def test_auto_layout_on_demand_is_undoable(graph):
    at = open_page()
    at.button(key="dag_layout").click().run()
    laid = spec_of(at)
    assert laid != dag.default_dag("retention") and overlapping_pairs(laid) == 0
    assert plain(at.success[0].value).startswith("Laid out in layers by Graphviz dot")
    x = {n.name: n.x for n in laid.nodes}
    assert all(x[c] < x["outreach"] < x["churn"] for c, _ in dag.RETENTION_COVARIATES)
    at.button(key="dag_undo").click().run()
    assert spec_of(at) == dag.default_dag("retention")


def test_presentation_labels_and_no_hex_codes_in_captions(graph):
    at = open_page()
    assert {n.to_dict()["font"]["size"] for n in graph.drawn[-1][0]} == {18}
    at.segmented_control(key="dag_label_size_retention").set_value("presentation").run()
    assert {n.to_dict()["font"]["size"] for n in graph.drawn[-1][0]} == {24}
    assert not [c.value for c in at.caption if HEX.search(c.value)]


# ---------------------------------------------------------------- the AI draft stays where it was started
def test_section_bar_keeps_the_ai_draft_section_across_reruns(graph):
    at = open_page()
    at.session_state["dag_section_retention"] = "AI draft"
    at.run()
    at.button(key="dag_example_draft").click().run()
    assert not at.exception
    assert at.session_state["dag_section_retention"] == "AI draft"
    assert len(at.tabs) >= 4 and [t.label for t in at.tabs[:4]] == ["Add / remove", "Edge table", "AI draft",
                                                                    "Import / export"]


def test_stopped_and_interrupted_drafts_say_what_happened(graph, monkeypatch):
    at = open_page()

    def stopped(task, inputs, model_key, settings=None, on_text=None, should_stop=None, **kwargs):
        return AIInteraction(id="s1", task="dag", schema_valid=False, failure_type="stopped", model_id="fake")

    monkeypatch.setattr(runtime, "run_task", stopped)
    at.button(key="dag_draft_ai").click().run()
    assert any(plain(e.value) == "The draft was stopped before it finished (stopped); the DAG is unchanged."
               for e in at.error)
    assert at.session_state["cw_projects"]["retention"].audits[-1].schema_valid is False
    assert spec_of(at) == dag.default_dag("retention")
    at.session_state["dag_draft_running_retention"] = True  # a run cut off mid-generation by a Stop click
    at.run()
    assert any("stopped before it finished: no edge was proposed" in plain(w.value) for w in at.warning)
    at.run()
    assert not any("stopped before it finished" in plain(w.value) for w in at.warning)  # said once


# ---------------------------------------------------------------- imports
def test_non_utf8_dagitty_upload_is_refused(graph):
    at = open_page()
    at.file_uploader(key="dag_import_file").set_value(("bad.dagitty", "dag { caf\xe9 -> churn }".encode("latin-1"),
                                                        "text/plain"))
    at.run()
    at.button(key="dag_import").click().run()
    message = plain(at.error[0].value)
    assert message.startswith("Import rejected — bad.dagitty is not UTF-8 text (byte 10 cannot be read): save it as UTF-8")
    assert spec_of(at) == dag.default_dag("retention")


# ---------------------------------------------------------------- a large graph stays bounded
def random_dag(n: int, seed: int = 0) -> DagSpec:
    rng = np.random.default_rng(seed)
    names = [f"v{i}" for i in range(n)]
    edges = {(names[i], names[j]) for j in range(1, n) for i in rng.choice(j, size=min(j, 2), replace=False)}
    spec = DagSpec(nodes=[DagNode(name=x) for x in names],
                   edges=[DagEdge(source=a, target=b) for a, b in sorted(edges)], treatment="v10", outcome=names[-10])
    return dag.auto_layout(spec)


def test_two_thousand_node_graph_defers_its_listings(graph):
    at = open_page()
    project = at.session_state["cw_projects"]["retention"]
    at.session_state["cw_projects"]["retention"] = project.model_copy(update={"dag": random_dag(2000)})
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    assert not at.exception
    skipped = [c.value for c in at.caption if "skipped for speed: this graph has 2,000 nodes" in c.value]
    assert len(skipped) == 4  # roles table, identification panel, path list, implied independences
    assert any("SVG is built here up to 300 nodes" in c.value for c in at.caption)
    assert seconds < 60  # measured 77–213 s before on this machine; see bench/bench_dag.py for the figures
    assert len(graph.drawn[-1][0]) == 2000
    assert dag_state.LARGE_PAGE_NODES < 2000
