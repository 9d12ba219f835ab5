"""AppTest of the Specification curve page: run on retention (the curve, the summary, the stored result), the
damage view with the DAG's invalid sets, and a refused request that leaves the project unchanged."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from causal_core import dag
from tests.rendered import plain

ROOT = Path(__file__).resolve().parents[1]
PAGE = "app_pages/specification_curve.py"


def open_page(with_dag: bool = False) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    if with_dag:
        projects = at.session_state["cw_projects"]
        projects["retention"] = projects["retention"].model_copy(update={"dag": dag.default_dag("retention")})
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def project(at: AppTest):
    return at.session_state["cw_projects"]["retention"]


def test_run_shows_the_curve_and_the_summary_and_stores_the_result():
    at = open_page()
    assert project(at).multiverse is None
    assert any("press **Run the specification curve**" in info.value for info in at.info)
    assert any(md.value.startswith("**15 specifications** (5 estimators × 3 trimming rules)") for md in at.markdown)
    at.button(key="mv_start_retention").click().run()
    assert not at.exception and not at.error
    result = project(at).multiverse
    assert result is not None and len(result.rows) == 15 and not result.cancelled
    bullets = [plain(md.value) for md in at.markdown if md.value.startswith("- ")]  # unescaped
    assert bullets[0].startswith("- Across 15 valid specifications, 100% have the same sign as the main estimate")
    assert any("true ATE is -4.6%" in b for b in bullets)
    charts = at.get("vega_lite_chart")  # the curve and its choice matrix, each fitting the column (issue 25 §6)
    assert len(charts) == 2
    assert any("Robustness across 15 specifications" in h.value for h in at.subheader)


def test_damage_view_on_retention_puts_the_dropped_health_score_apart():
    at = open_page(with_dag=True)
    at.checkbox(key="mv_invalid_retention").check().run()
    at.multiselect(key="mv_estimators_retention").set_value(["regression", "aipw"]).run()
    at.multiselect(key="mv_trimming_retention").set_value(["none"]).run()
    assert any(md.value.startswith("**16 specifications** (8 adjustment sets × 2 estimators)") for md in at.markdown)
    at.button(key="mv_start_retention").click().run()
    assert not at.exception
    result = project(at).multiverse
    dropped = [r for r in result.rows if r.choices["adjustment set"] == "drop health_score"]
    assert all(r.validity == "invalid" and r.estimate > -0.025 for r in dropped)
    assert result.summary["valid"]["n"] == 2 and result.summary["invalid"]["n"] == 14
    assert any("kept apart and not pooled" in md.value for md in at.markdown)


def test_a_refused_request_says_why_and_changes_nothing():
    at = open_page()
    at.multiselect(key="mv_estimators_retention").set_value([]).run()
    assert any("Choose at least one estimator" in e.value for e in at.error)
    assert project(at).multiverse is None and project(at).edit_log == []


def test_stop_keeps_the_finished_specifications_and_marks_the_rest():
    """A run in progress with Stop pressed (the flag the Stop button's callback sets) is finished at once."""
    from causal_core.multiverse import build_space
    from causal_core.multiverse.runner import MultiverseRun
    from causal_core.project import MultiverseOptions

    at = open_page()
    current = project(at)
    raw = at.session_state["cw_frames"]["retention"]
    options = MultiverseOptions(estimators=["regression", "aipw"], trimming=["none"], extra_sets=[["health_score"]])
    run = MultiverseRun(current, raw, build_space(current, raw, options), options)
    run.step()  # the first of two designs finished before Stop
    at.session_state["mv_run_retention"] = run
    at.session_state["mv_stop_retention"] = True
    at.run()
    assert not at.exception
    result = project(at).multiverse
    assert result is not None and result.cancelled
    assert [r.status for r in result.rows] == ["ok", "ok", "stopped", "stopped"]
    assert any("The run was stopped" in w.value for w in at.warning)
    assert "mv_run_retention" not in at.session_state


def test_a_dag_with_no_valid_set_shows_only_what_is_asked_for_labelled_invalid():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    spec = dag.add_node(dag.default_dag("retention"), "U", x=100.0, y=300.0)
    spec = dag.add_edge(dag.add_edge(dag.set_latent(spec, "U", True), "U", "outreach"), "U", "churn")
    projects = at.session_state["cw_projects"]
    projects["retention"] = projects["retention"].model_copy(update={"dag": spec})
    at.switch_page(PAGE).run()
    assert not at.exception
    assert any("No valid adjustment set" in e.value and "include invalid specifications" in e.value for e in at.error)
    assert not any(b.key == "mv_start_retention" for b in at.button)
    at.checkbox(key="mv_invalid_retention").check().run()
    at.multiselect(key="mv_estimators_retention").set_value(["aipw"]).run()
    at.multiselect(key="mv_trimming_retention").set_value(["none"]).run()
    at.button(key="mv_start_retention").click().run()
    assert not at.exception
    result = project(at).multiverse
    assert result.rows and all(r.validity == "invalid" for r in result.rows)
    assert any("No valid specification was estimated" in md.value for md in at.markdown)


def test_an_opened_curve_fills_the_choices_it_was_run_with(build_once):
    """A saved project's curve (the headless worked example: invalid sets included) reopens with its own
    choices, so the count above the Run button describes the stored curve, not the page's defaults."""
    worked, _ = build_once("retention")  # headless.build_project, built once per test run
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    at.session_state["cw_projects"]["retention"] = worked
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.checkbox(key="mv_invalid_retention").value is True
    stored = len(worked.multiverse.rows)
    assert any(md.value.startswith(f"**{stored} specifications**") for md in at.markdown)


def test_a_fresh_curve_is_never_out_of_date_with_the_pages_terms_categoricals_and_estimand():
    """The Estimation page ran ATT with a spline, an interaction and a dictionary-only categorical: the curve's
    main row is that row, so neither a fresh run nor a second one says 'Out of date … re-run the curve'."""
    from causal_core import estimation
    from causal_core.data import analysis_frame

    at = open_page()
    current = project(at)
    dictionary = [e.model_copy(update={"categorical": e.variable == "prior_tickets"}) for e in current.dictionary]
    current = current.model_copy(update={"dictionary": dictionary})
    frame = analysis_frame(current, at.session_state["cw_frames"]["retention"])
    spec = estimation.default_spec(current, frame).model_copy(update={
        "estimand": "ATT",
        "outcome_terms": "cr(tenure_months, df=4, constraints='center') + usage_score:health_score + usage_score "
        "+ health_score + company_size + C(prior_tickets) + C(region) + C(segment)",
    })
    current = estimation.estimate_project(current, frame, spec, refutations=False)
    at.session_state["cw_projects"]["retention"] = current
    at.run()
    at.multiselect(key="mv_estimators_retention").set_value(["regression", "aipw"]).run()
    at.multiselect(key="mv_trimming_retention").set_value(["none"]).run()
    for _ in range(2):
        at.button(key="mv_start_retention").click().run()
        assert not at.exception and not at.error
        assert not [w.value for w in at.warning if "Out of date" in w.value]
        result = project(at).multiverse
        main = next(r for r in result.rows if r.is_main)
        page = next(r for r in project(at).estimation.estimates if r.method == "aipw")
        assert main.estimand == "ATT" and abs(main.estimate - page.estimate) < 1e-10
