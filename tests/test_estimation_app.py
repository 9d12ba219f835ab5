"""AppTest of the Estimation page on retention and support: run, override, bootstrap, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core.data.loading import rebind_data
from tests.rendered import plain
from tests.test_typed_diagnostics import direct_overlap_figures

ROOT = Path(__file__).resolve().parents[1]
PAGE = "app_pages/estimation.py"


def shown(element) -> str:
    """The element's text as the reader sees it: Markdown backslash escapes (names are escaped) removed."""
    return plain(element.value)


def open_page(dataset: str = "retention") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    if dataset != "retention":
        at.sidebar.selectbox(key="dataset_choice").set_value(dataset).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def project(at: AppTest, dataset: str = "retention"):
    return at.session_state["cw_projects"][dataset]


def test_retention_run_shows_the_n01_table_diagnostics_sensitivity_and_refutations():
    at = open_page()
    assert project(at).estimation is None
    assert any("press **Run estimation**" in shown(info) for info in at.info)
    assert at.multiselect(key="est_covariates_retention").value == [
        "company_size", "tenure_months", "usage_score", "prior_tickets", "health_score", "region", "segment"]
    at.button(key="est_run_retention").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value.set_index("method")
    assert round(table.loc["Naive difference", "estimate"], 3) == 0.078
    assert round(table.loc["Regression adjustment (OLS)", "ci_low"], 3) == -0.067
    assert round(table.loc["IPW (Hájek)", "estimate"], 4) == -0.0464  # normalised form (HT -0.045 only in the N01 table)
    assert round(table.loc["Doubly robust (AIPW)", "estimate"], 4) == -0.0476
    assert (table["n_used"] == 6000).all()
    assert any("true ATE is -0.0463" in shown(caption) for caption in at.caption)
    assert len(at.get("vega_lite_chart")) >= 4  # forest, love, overlap, weights
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["E-value (estimate)"] == "1.80" and metrics["Robustness value RV"] == "4.9%"
    # refutations run per estimator now (refutation.py, rendered by its own block on the page)
    refutations = project(at).estimation.refutations
    passed = sum(item.verdict == "PASS" for item in refutations)
    assert {item.method for item in refutations} >= {"ipw", "aipw"}
    assert any(shown(md).startswith(f"{passed} of {len(refutations)} checks pass.") for md in at.markdown)
    assert any("1× as strong as health_score" in shown(md) for md in at.markdown)
    result = project(at).estimation
    assert result.spec.covariates[-1] == "segment" and result.true_effect == pytest.approx(-0.0463, abs=1e-4)
    # the Overlap and Weights tabs read the typed diagnostics; their figures match an independent statsmodels logit
    direct = direct_overlap_figures(rebind_data(project(at)), result.spec.clip)
    lo, hi = result.spec.clip
    caption = (f"{direct['clipped']:,} rows clipped to [{lo:g}, {hi:g}]; {direct['outside']:.1%} outside [0.05, 0.95]; "
               f"{direct['above']} treated rows above the highest control propensity, {direct['below']} controls below "
               "the lowest treated one.")
    assert caption in [shown(item) for item in at.caption]
    weights = next(frame.value for frame in at.dataframe if "ess" in frame.value.columns)
    assert weights.loc["treated", "ess"] == pytest.approx(direct["ess_treated"], rel=1e-6)


def test_ineligible_covariate_needs_an_override_with_a_reason():
    at = open_page()
    assert "propensity_true (ineligible)" in at.multiselect(key="est_covariates_retention").options  # no emoji font needed
    at.multiselect(key="est_covariates_retention").select("propensity_true").run()
    assert any("propensity_true" in shown(w) and "simulation truth" in shown(w) for w in at.warning)
    at.button(key="est_run_retention").click().run()
    assert any("need an explicit override with a reason" in shown(e) for e in at.error)
    assert project(at).estimation is None and project(at).edit_log == []
    at.checkbox(key="est_override_retention").check().run()
    at.text_input(key="est_override_reason_retention").input("teaching: show the leak").run()
    at.button(key="est_run_retention").click().run()
    assert not at.exception and not at.error
    stored = project(at)
    assert stored.estimation.spec.overrides == ["propensity_true"]
    assert stored.edit_log[-1].field == "override" and "teaching: show the leak" in stored.edit_log[-1].note
    assert any("Override: 'propensity_true'" in shown(w) for w in at.warning)


def test_bootstrap_adds_rows():
    at = open_page()
    at.button(key="est_run_retention").click().run()
    at.number_input(key="est_boot_n_retention").set_value(50).run()
    at.button(key="est_bootstrap_retention").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["method"].tolist()[-2:] == ["IPW (Hájek) [bootstrap SE]", "Doubly robust (AIPW) [bootstrap SE]"]
    assert project(at).estimation.diagnostics.bootstrap.completed == 50


def test_support_run_is_clustered_by_team_and_reports_dropped_rows():
    at = open_page("support")
    assert at.selectbox(key="est_cluster_support").value == "team_id"
    at.button(key="est_run_support").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value.set_index("method")
    assert table.loc["Regression adjustment (OLS)", "se_type"] == "cluster-robust (90 clusters)"
    assert round(table.loc["Regression adjustment (OLS)", "std_error"], 3) == 1.379
    assert any("missing covariates (complete cases): 24" in shown(c) for c in at.caption)
    assert any("24 rows with a missing covariate" in shown(i) for i in at.info)
    assert project(at, "support").estimation.n_used == 1244
    assert project(at, "retention").estimation is None  # the other dataset's project is untouched


def test_non_numeric_outcome_is_refused_and_nothing_is_stored():
    at = open_page()
    at.session_state["cw_projects"]["retention"] = project(at).model_copy(update={"outcome": "region"})
    at.run()
    at.button(key="est_run_retention").click().run()
    assert not at.exception
    assert any("The outcome 'region' is not numeric" in shown(e) for e in at.error)
    assert project(at).estimation is None


# ---- NHEFS (What If ch. 12-13) from an uploaded CSV: flexibility choices and formulas -------------------
NHEFS_COVARIATES = ["sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise", "active", "wt71"]
NHEFS_TERMS = (
    "sex + race + age + I(age**2) + C(education) + smokeintensity + I(smokeintensity**2) + smokeyrs + I(smokeyrs**2)"
    " + C(exercise) + C(active) + wt71 + I(wt71**2)"
)


def open_nhefs() -> tuple[AppTest, str]:
    """NHEFS uncensored rows (n = 1,566) uploaded as a CSV, roles set, installed as the audit page tests do."""
    from causaldata import nhefs

    from causal_core.data import frame_to_csv_bytes, project_for_upload, read_upload
    from causal_core.data.project_io import project_key

    frame = nhefs.load_pandas().data
    frame = frame.loc[frame["wt82"].notna(), ["qsmk", "wt82_71", *NHEFS_COVARIATES]]
    loaded = read_upload(frame_to_csv_bytes(frame), "nhefs.csv")
    upload = project_for_upload(loaded).model_copy(update={"treatment": "qsmk", "outcome": "wt82_71"})
    key = project_key(upload)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["cw_projects"] = {key: upload}
    at.session_state["cw_frames"] = {key: loaded.frame}
    at.session_state["cw_active"] = key
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    at.multiselect(key=f"est_covariates_{key}").set_value(NHEFS_COVARIATES).run()
    at.text_input(key=f"est_interactions_{key}").input("smokeintensity").run()
    return at, key


def test_nhefs_book_numbers_from_flexibility_choices_without_typing_a_formula():
    at, key = open_nhefs()
    for column in ("age", "smokeintensity", "smokeyrs", "wt71"):
        at.selectbox(key=f"est_flex_{column}_{key}").set_value("quadratic")
    for column in ("education", "exercise", "active"):
        at.selectbox(key=f"est_flex_{column}_{key}").set_value("levels")
    at.radio(key=f"est_ipw_se_{key}").set_value("fixed_weights").run()
    at.button(key=f"est_run_{key}").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value.set_index("method")
    assert round(table.loc["IPW (Hájek)", "estimate"], 2) == 3.44
    assert [round(table.loc["IPW (Hájek)", c], 2) for c in ("ci_low", "ci_high")] == [2.41, 4.47]
    standardisation = "Regression standardisation (interactions qsmk:smokeintensity)"
    assert round(table.loc[standardisation, "estimate"], 2) == 3.52
    assert any("treating the weights as known" in shown(c) and "ATE: propensities clipped" in shown(c) for c in at.caption)
    stored = at.session_state["cw_projects"][key].estimation.spec
    assert "I(wt71 ** 2)" in stored.outcome_terms and stored.ipw_se == "fixed_weights"


def test_nhefs_formula_field_and_a_bad_formula_that_changes_nothing():
    at, key = open_nhefs()
    at.text_input(key=f"est_outcome_terms_{key}").input(NHEFS_TERMS.replace("I(wt71**2)", "I(wt7**2)")).run()
    at.button(key=f"est_run_{key}").click().run()
    assert not at.exception
    assert any("name unknown column(s): wt7." in shown(e) for e in at.error)
    assert at.session_state["cw_projects"][key].estimation is None
    at.text_input(key=f"est_outcome_terms_{key}").input(NHEFS_TERMS).run()
    at.button(key=f"est_run_{key}").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value.set_index("method")
    assert round(table.loc["IPW (Hájek)", "estimate"], 2) == 3.44
    assert table.loc["IPW (Hájek)", "se_type"] == "influence function"  # the default SE includes estimating e
    assert round(table.loc["Regression standardisation (interactions qsmk:smokeintensity)", "estimate"], 2) == 3.52


def test_a_formula_the_gate_refuses_shows_the_gates_sentence_and_keeps_the_previous_results():
    at = open_page()
    at.button(key="est_run_retention").click().run()
    before = project(at).estimation
    assert before is not None
    hostile = "company_size + I(__import__('os').system('id'))"
    at.text_input(key="est_outcome_terms_retention").input(hostile).run()
    at.button(key="est_run_retention").click().run()
    assert not at.exception
    errors = [shown(error) for error in at.error]
    assert any("the dunder name '__import__' is not allowed in formulas" in text for text in errors), errors
    assert not any("Something went wrong" in text or "validation error" in text for text in errors), errors
    assert project(at).estimation is before  # the previous results stay, untouched


def test_the_stop_button_is_gone_once_the_crossfitting_run_ends():
    at = open_page()
    at.selectbox(key="est_ps_learner_retention").set_value("logistic_cv")
    at.number_input(key="est_folds_retention").set_value(2)
    at.number_input(key="est_repetitions_retention").set_value(1)
    at.button(key="est_run_retention").click().run()
    assert not at.exception and not at.error
    assert project(at).estimation.spec.ps_learner == "logistic_cv"
    assert "est_learners_stop_retention" not in [button.key for button in at.button]
    assert not any("Stop the cross-fitting" in str(button.label) for button in at.button)
