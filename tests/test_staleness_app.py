"""Stale results on the pages (issue 17 §2): AppTests of the NHEFS story (build the DAG after a first run) and of
de-duplication after estimating on `support`."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from causal_core.project import DagEdge, DagNode, DagSpec

ROOT = Path(__file__).resolve().parents[1]
PAGE = "app_pages/estimation.py"
NHEFS_CONFOUNDERS = ["sex", "age", "wt71", "smokeintensity"]


def _nhefs_app() -> tuple[AppTest, str]:
    from causaldata import nhefs

    from causal_core.data import frame_to_csv_bytes, project_for_upload, read_upload
    from causal_core.data.project_io import project_key

    frame = nhefs.load_pandas().data
    frame = frame.loc[frame["wt82"].notna(), ["qsmk", "wt82_71", *NHEFS_CONFOUNDERS]]
    loaded = read_upload(frame_to_csv_bytes(frame), "nhefs.csv")
    bare = DagSpec(nodes=[DagNode(name="qsmk", column="qsmk"), DagNode(name="wt82_71", column="wt82_71")],
                   edges=[DagEdge(source="qsmk", target="wt82_71")], treatment="qsmk", outcome="wt82_71")
    upload = project_for_upload(loaded).model_copy(update={"treatment": "qsmk", "outcome": "wt82_71", "dag": bare})
    key = project_key(upload)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["cw_projects"] = {key: upload}
    at.session_state["cw_frames"] = {key: loaded.frame}
    at.session_state["cw_active"] = key
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at, key


def _confounded_dag() -> DagSpec:
    nodes = [DagNode(name=c, column=c) for c in ["qsmk", "wt82_71", *NHEFS_CONFOUNDERS]]
    edges = [DagEdge(source="qsmk", target="wt82_71")]
    edges += [DagEdge(source=c, target=t) for c in NHEFS_CONFOUNDERS for t in ("qsmk", "wt82_71")]
    return DagSpec(nodes=nodes, edges=edges, treatment="qsmk", outcome="wt82_71")


def test_building_the_dag_after_a_run_resets_the_set_and_hides_the_old_estimates():
    at, key = _nhefs_app()
    assert at.multiselect(key=f"est_covariates_{key}").value == []
    at.button(key=f"est_run_{key}").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value.set_index("method")
    naive = table.loc["Naive difference", "estimate"]
    assert round(naive, 2) == 2.54  # the unadjusted figure the issue saw labelled as IPW/AIPW
    assert not any(label.startswith(("IPW", "Doubly robust")) for label in table.index)

    projects = at.session_state["cw_projects"]
    projects[key] = projects[key].model_copy(update={"dag": _confounded_dag()})
    at.run()
    assert not at.exception
    assert sorted(at.multiselect(key=f"est_covariates_{key}").value) == sorted(NHEFS_CONFOUNDERS)
    assert any("adjustment set was reset to the new default" in info.value for info in at.info)
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Out of date: the estimates were computed before the DAG changed.") for w in warnings)
    assert not any(sub.value == "Results" for sub in at.subheader)  # the old numbers are not on screen
    at.toggle(key=f"est_show_stale_{key}").set_value(True).run()
    assert any(sub.value == "Results" for sub in at.subheader)

    at.button(key=f"est_run_{key}").click().run()
    assert not at.exception and not at.error
    assert not any(w.startswith("Out of date") for w in (w.value for w in at.warning))
    table = at.dataframe[0].value.set_index("method")
    assert abs(table.loc["IPW (Hájek)", "estimate"] - naive) > 0.5  # adjusted now, and labelled as such
    assert at.session_state["cw_projects"][key].estimation.spec.covariates == at.multiselect(
        key=f"est_covariates_{key}").value

    projects = at.session_state["cw_projects"]
    projects[key] = projects[key].model_copy(update={"dag": _confounded_dag().model_copy(update={"edges": []})})
    at.switch_page("app_pages/dag.py").run()
    assert any(w.value.startswith("Out of date: the estimates were computed before the DAG changed.")
               for w in at.warning)


def test_deduplicating_after_a_run_marks_the_support_estimates_out_of_date():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.sidebar.selectbox(key="dataset_choice").set_value("support").run()
    at.switch_page(PAGE).run()
    at.button(key="est_run_support").click().run()
    assert not at.exception and not at.error
    assert any(sub.value == "Results" for sub in at.subheader)
    projects = at.session_state["cw_projects"]
    before = projects["support"].estimation
    projects["support"] = projects["support"].model_copy(update={"dedup": "keep_first"})
    at.run()
    assert not at.exception
    assert any("computed before the de-duplication rule changed" in w.value for w in at.warning)
    assert not any(sub.value == "Results" for sub in at.subheader)
    assert at.session_state["cw_projects"]["support"].estimation == before  # nothing lost, only labelled
    at.button(key="est_run_support").click().run()
    assert not at.exception and not at.error
    assert at.session_state["cw_projects"]["support"].estimation.n_used < before.n_used
    assert not any("Out of date" in w.value for w in at.warning)
