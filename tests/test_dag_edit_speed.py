"""Issue 25 item 6: adding a node or an edge on the DAG page with a 27,178-row upload took 5–8 s.

Measured causes (bench/bench_dag_edit.py, Chromium and a profiled server): every edit re-ran the DAG's local
tests on the 27k rows (their cache was keyed on the graph's structure), and every run paid up to three full
garbage collections over ~400,000 library objects (Streamlit's post-run collect and statsmodels'
``multipletests``), 0.25–0.95 s each. These tests pin the fixes: the tests are keyed on what they read, and the
page freezes the long-lived heap.
"""

from __future__ import annotations

import functools
import gc
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import bench_dag_edit as bench
from causal_core import dag
from causal_core.dag import falsify as dag_falsify
from causal_core.project import DagSpec
from causal_core.ui import dag_checks, dag_state, dag_view
from tests.test_dag_app import FakeGraph


@pytest.fixture(scope="module")
def upload():
    return bench.upload_project()


@pytest.fixture()
def counted(monkeypatch):
    """Counts falsify calls (each one is the 27k-row test run) and draws the graph with a fake component."""
    calls: list[int] = []
    real = dag_falsify.falsify

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(dag_falsify, "falsify", counting)
    monkeypatch.setattr(dag_view, "graph_component", FakeGraph())
    dag_checks._local_tests.clear()
    return calls


@functools.cache
def _spec() -> DagSpec:
    return bench.upload_project()[0].dag


def _structure(spec: DagSpec) -> str:
    return dag_checks._structure_json(spec)


def _local_rows(at) -> list[str]:
    table = next(df.value for df in at.dataframe if "implication" in df.value.columns)
    return list(table["implication"])


def test_adding_an_unconnected_node_does_not_retest_the_upload(upload, counted):
    """Before: every add re-ran falsify on 27,178 rows (1 call per add); now the tests are reused."""
    at = bench.open_dag_page(*upload)
    assert len(counted) == 1  # the first render tests the data once
    rows = _local_rows(at)
    assert len(rows) == 18
    bench.add_latent_node(at, "Inspector_mood")
    bench.add_edge(at, "Inspector_mood", "year")  # a latent cause of one variable: no implication changes
    assert not at.exception
    assert len(counted) == 1
    assert _local_rows(at) == rows


def test_an_edge_that_changes_an_implication_retests_once(upload, counted):
    """chain ⊥ violations was implied; the edge chain → violations removes that row, in one new test run."""
    at = bench.open_dag_page(*upload)
    assert "chain ⊥ violations" in _local_rows(at)
    bench.add_edge(at, "chain", "violations")
    assert len(counted) == 2
    assert "chain ⊥ violations" not in _local_rows(at)
    assert len(_local_rows(at)) == 17


@settings(max_examples=25, deadline=None)
@given(name=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=1).flatmap(
           lambda first: st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", max_size=11).map(first.__add__)),
       latent=st.booleans(), target=st.sampled_from(bench.OBSERVED))
def test_key_ignores_a_new_node_and_its_single_edge_but_not_a_new_observed_edge(name, latent, target):
    """A generated node (observed without a column, or latent) with one arrow into a variable leaves every
    implication as it was when it is latent or has no data; an edge between two non-adjacent observed nodes
    always changes the key. The names start upper-case: the rows are ordered (and written x ⊥ y) by a
    lexicographic topological sort, so a lower-case root such as "w" can swap a row's sides, which the key
    rightly counts as a change of the table."""
    spec = _spec()
    if name in dag.node_names(spec):
        return
    base = dag_checks.implications_key(_structure(spec))
    grown = dag.add_edge(dag.add_node(spec, name, latent=latent), name, target, "")
    assert dag_checks.implications_key(_structure(grown)) == base
    changed = dag.add_edge(spec, "chain", "violations", "")
    assert dag_checks.implications_key(_structure(changed)) != base


def test_the_page_freezes_the_heap_so_a_collection_is_cheap(upload, counted):
    """Streamlit collects after every run; with the libraries frozen the collection walks only new objects."""
    gc.unfreeze()
    dag_state._FROZEN_AT["modules"] = 0
    bench.open_dag_page(*upload)
    assert gc.get_freeze_count() > 100_000  # streamlit, pandas, statsmodels, altair … are frozen
    assert len(gc.get_objects()) < gc.get_freeze_count() / 10
    assert dag_state.freeze_long_lived_heap() is False  # no new module since: no second freeze


@pytest.mark.slow
def test_a_rerun_after_an_add_is_faster_than_the_old_path_in_the_same_process(upload, monkeypatch):
    """bench/bench_dag_edit.py's comparison as a bound: measured 0.43 s → 0.14 s per add (3.2×) in AppTest."""
    monkeypatch.setattr(dag_view, "graph_component", FakeGraph())
    fixed = bench.old_path(dag_checks, dag_state)
    try:
        dag_checks._local_tests.clear()
        old = [bench.add_latent_node(bench.open_dag_page(*upload), f"old{i}") for i in range(3)]
    finally:
        bench.restore(dag_checks, dag_state, fixed)
    at = bench.open_dag_page(*upload)
    new = [bench.add_latent_node(at, f"new{i}") for i in range(3)]
    assert statistics.median(new) < 0.6 * statistics.median(old), (old, new)


def test_rebinding_a_tested_node_to_another_column_changes_the_key():
    """The key holds each tested node's column: the same graph read from other data must be re-tested."""
    spec = _spec()
    base = dag_checks.implications_key(_structure(spec))
    rebound = dag.set_column(spec, "chain", "restaurant_id")
    assert dag_checks.implications_key(_structure(rebound)) != base
    made_latent = dag.toggle_latent(spec, "chain")  # chain leaves every implication
    assert dag_checks.implications_key(_structure(made_latent)) != base


def test_a_rejected_edge_changes_nothing_and_runs_no_test(upload, counted):
    """inspection_score → weekend closes a cycle: refused by name, no new test run, the graph as it was."""
    at = bench.open_dag_page(*upload)
    before = at.session_state["cw_projects"][bench.UPLOAD].dag
    at.selectbox(key="dag_edge_source").set_value("inspection_score")
    at.selectbox(key="dag_edge_target").set_value("weekend")
    at.button(key="dag_add_edge").click().run()
    assert any("Rejected" in box.value and "unchanged" in box.value for box in at.error)
    assert at.session_state["cw_projects"][bench.UPLOAD].dag == before
    assert len(counted) == 1
