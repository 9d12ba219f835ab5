"""One analysis spec drives the curve: its main row is the Estimation page's row (to 1e-10) on retention, support,
an upload with a dictionary-only categorical, formula terms and a cluster, and on generated DGPs; functional form
is a dimension; 'cluster: none' is invalid by design when the analysis clusters; a fresh curve is never stale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from causal_core import dag, estimation
from causal_core.data import LoadedData, analysis_frame, project_for_builtin, project_for_upload
from causal_core.estimation.analysis_spec import analysis_spec, restrict_terms, split_terms
from causal_core.estimation.spec import with_dictionary_categoricals
from causal_core.estimation.terms import flexibility_terms
from causal_core.multiverse import memo_text, run_multiverse, with_multiverse
from causal_core.project import DataSource, EstimationSpec, MultiverseOptions, Timing
from causal_core.staleness import stale

PAGE_METHODS = ["regression", "gcomp", "ipw", "aipw"]
SPLINE_AND_INTERACTION = "C(Year) + cr(age, df=4, constraints='center') + size + age:size"


def upload_like(n: int = 400, seed: int = 7) -> pd.DataFrame:
    """An inspection-like upload: Year integer-coded (categorical only by the dictionary), a cluster column."""
    rng = np.random.default_rng(seed)
    restaurant = rng.integers(0, 40, n)
    year = rng.choice([2000, 2001, 2002, 2003], n)
    age = rng.normal(40, 10, n)
    size = rng.gamma(2.0, 2.0, n)
    year_effect = {2000: 1.5, 2001: -0.5, 2002: 0.8, 2003: 0.0}
    logit = -1.0 + 0.6 * (year == 2000) + 0.02 * (age - 40)
    treated = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    effect_year = np.vectorize(year_effect.get)(year)
    score = 2 + 0.5 * treated + effect_year + 0.03 * (age - 40) ** 2 / 10 + 0.2 * size + rng.normal(size=n)
    score += rng.normal(size=40)[restaurant]
    return pd.DataFrame(
        {"score": score, "weekend": treated, "Year": year, "age": age, "size": size, "restaurant": restaurant}
    )


def upload_project(frame: pd.DataFrame, categorical: tuple[str, ...] = ("Year",), cluster: str | None = "restaurant"):
    source = DataSource(kind="upload", name="inspections.csv", sha256="0" * 64, rows=len(frame),
                        columns=list(frame.columns))
    project = project_for_upload(LoadedData(frame, source))
    dictionary = [
        entry.model_copy(update={"timing": Timing.pre_treatment, "categorical": entry.variable in categorical})
        if entry.variable in ("Year", "age", "size", "x1", "x2", "x3", "code")
        else entry
        for entry in project.dictionary
    ]
    treatment = "weekend" if "weekend" in frame.columns else "T"
    outcome = "score" if "score" in frame.columns else "Y"
    return project.model_copy(
        update={"treatment": treatment, "outcome": outcome, "dictionary": dictionary, "cluster_column": cluster}
    )


def with_estimation(project, frame: pd.DataFrame, spec: EstimationSpec):
    """What the Estimation page stores (estimate_project applies the dictionary's categoricals the same way)."""
    spec = with_dictionary_categoricals(project, spec)
    result = estimation.run_estimation(frame, spec, sensitivity=False, refutations=False)
    return project.model_copy(update={"estimation": result})


def main_row(result):
    rows = [row for row in result.rows if row.is_main]
    assert len(rows) == 1
    return rows[0]


def page_row(project, method: str):
    return next(row for row in project.estimation.estimates if row.method == method)


def assert_same_row(curve_row, page) -> None:
    assert curve_row.status == "ok", curve_row.reason
    assert curve_row.estimate == pytest.approx(page.estimate, abs=1e-10)
    assert curve_row.std_error == pytest.approx(page.std_error, abs=1e-10)
    assert curve_row.n_used == page.n_used


def test_upload_main_row_is_the_estimation_pages_aipw_with_categorical_terms_and_cluster():
    frame = upload_like()
    project = upload_project(frame)
    spec = EstimationSpec(treatment="weekend", outcome="score", covariates=["Year", "age", "size"],
                          estimand="ATT", cluster="restaurant", outcome_terms=SPLINE_AND_INTERACTION)
    project = with_estimation(project, frame, spec)
    assert project.estimation.spec.categorical == ["Year"]  # flagged only in the dictionary (stored as int)
    result = run_multiverse(project, frame, MultiverseOptions(estimators=PAGE_METHODS, trimming=["none"]))
    main = main_row(result)
    assert main.choices["estimator"] == "aipw" and main.choices["cluster"] == "restaurant"
    assert main.choices["functional form"] == "as specified"
    assert_same_row(main, page_row(project, "aipw"))
    for method in PAGE_METHODS:  # every estimator on the main choices, not only the lead
        row = next(r for r in result.rows if r.choices == {**main.choices, "estimator": method})
        assert_same_row(row, page_row(project, method))
    assert memo_text.stale_reason(with_multiverse(project, frame, MultiverseOptions(
        estimators=PAGE_METHODS, trimming=["none"]))) == ""


def test_year_as_one_slope_would_have_given_another_number():
    """The defect this fixes: Year entered as one slope (dtype rule) moves the estimate, so equality is not luck."""
    frame = upload_like()
    project = upload_project(frame)
    spec = EstimationSpec(treatment="weekend", outcome="score", covariates=["Year", "age", "size"], estimand="ATT")
    levels = with_estimation(project, frame, spec)
    slope = estimation.run_estimation(frame, spec, sensitivity=False, refutations=False)
    curve = run_multiverse(levels, frame, MultiverseOptions(estimators=["aipw"], trimming=["none"], cluster=False))
    aipw_slope = next(r for r in slope.estimates if r.method == "aipw").estimate
    assert abs(main_row(curve).estimate - aipw_slope) > 0.05
    assert_same_row(main_row(curve), page_row(levels, "aipw"))


@pytest.mark.parametrize("name", ["retention", "support"])
@pytest.mark.parametrize("stored", [False, True])
def test_builtin_main_row_is_the_estimation_pages_row(name, stored):
    project, raw = project_for_builtin(name)
    project = project.model_copy(update={"dag": dag.default_dag(name)})
    frame = analysis_frame(project, raw)
    spec = estimation.default_spec(project, frame)
    estimated = with_estimation(project, frame, spec)
    curve_input = estimated if stored else project
    result = run_multiverse(curve_input, raw, MultiverseOptions(estimators=PAGE_METHODS, trimming=["none"]))
    assert_same_row(main_row(result), page_row(estimated, "aipw"))


def test_functional_form_is_a_dimension_and_each_form_is_the_pages_flexibility_choice():
    frame = upload_like()
    project = with_estimation(upload_project(frame, cluster=None), frame, EstimationSpec(
        treatment="weekend", outcome="score", covariates=["Year", "age", "size"], outcome_terms=SPLINE_AND_INTERACTION))
    options = MultiverseOptions(estimators=["regression", "aipw"], trimming=["none"], functional_forms=True)
    result = run_multiverse(project, frame, options)
    assert result.dimensions["functional form"] == ["as specified", "linear", "quadratic", "spline"]
    base = project.estimation.spec
    for form in ("linear", "quadratic", "spline"):
        terms = flexibility_terms(base.covariates, base.categorical, {"age": form, "size": form})
        page = estimation.run_estimation(frame, base.model_copy(update={"outcome_terms": terms}),
                                         sensitivity=False, refutations=False)
        for method in ("regression", "aipw"):
            row = next(r for r in result.rows if r.choices["functional form"] == form
                       and r.choices["estimator"] == method and set(r.covariates) == set(base.covariates))
            assert_same_row(row, next(p for p in page.estimates if p.method == method))
    assert "functional form" in [d["dimension"] for d in result.summary.get("decomposition", [])]


def test_no_cluster_rows_are_invalid_by_design_when_the_analysis_clusters():
    frame = upload_like()
    project = with_estimation(upload_project(frame), frame, EstimationSpec(
        treatment="weekend", outcome="score", covariates=["Year", "age", "size"], cluster="restaurant"))
    result = run_multiverse(project, frame, MultiverseOptions(estimators=["aipw"], trimming=["none"]))
    unclustered = [r for r in result.rows if r.choices["cluster"] == "none"]
    clustered = [r for r in result.rows if r.choices["cluster"] == "restaurant"]
    assert unclustered and clustered
    assert all(r.validity == "invalid" and "clustered by restaurant" in r.validity_reason for r in unclustered)
    assert all(r.validity != "invalid" for r in clustered) and main_row(result).choices["cluster"] == "restaurant"
    assert any("invalid by design" in note for note in result.notes)
    assert any(s.startswith("1 specifications drop the clustering the analysis uses (invalid by design")
               for s in result.summary["sentences"])
    assert result.summary["valid"]["n"] == len(clustered) == 1  # 'unchecked' (no DAG) counts as defensible
    assert result.summary["invalid"]["n"] == len(unclustered) == 1


def test_no_cluster_stays_defensible_when_the_analysis_does_not_cluster():
    frame = upload_like()
    project = with_estimation(upload_project(frame), frame, EstimationSpec(
        treatment="weekend", outcome="score", covariates=["Year", "age", "size"], cluster=None))
    result = run_multiverse(project, frame, MultiverseOptions(estimators=["aipw"], trimming=["none"]))
    assert main_row(result).choices["cluster"] == "none" and main_row(result).validity != "invalid"


def test_a_fresh_curve_is_current_and_a_second_run_too():
    frame = upload_like()
    project = with_estimation(upload_project(frame), frame, EstimationSpec(
        treatment="weekend", outcome="score", covariates=["Year", "age", "size"], cluster="restaurant",
        outcome_terms=SPLINE_AND_INTERACTION))
    options = MultiverseOptions(estimators=["aipw"], trimming=["none"])
    once = with_multiverse(project, frame, options)
    twice = with_multiverse(once, frame, options)
    for current in (once, twice):
        assert stale(current, "multiverse") is None and memo_text.stale_reason(current) == ""


def test_terms_follow_the_adjustment_set():
    formula = "C(Year) + cr(age, df=4, constraints='center') + age:size + size"
    assert split_terms(formula) == ["C(Year)", "cr(age, df=4, constraints='center')", "age:size", "size"]
    assert restrict_terms(formula, ["Year", "age", "size"], ["Year"], "outcome terms") == formula
    assert restrict_terms(formula, ["Year", "age"], ["Year"], "outcome terms") == (
        "C(Year) + cr(age, df=4, constraints='center')"
    )
    assert restrict_terms(formula, ["Year", "age", "size", "code"], ["Year", "code"], "outcome terms") == (
        formula + " + C(code)"
    )
    assert restrict_terms(None, ["a"], [], "outcome terms") is None


def test_analysis_spec_is_the_stored_spec_or_the_pages_default():
    frame = upload_like()
    project = upload_project(frame)
    default = analysis_spec(project, frame)
    assert default.categorical == ["Year"] and default.cluster == "restaurant"
    stored = with_estimation(project, frame, EstimationSpec(treatment="weekend", outcome="score",
                                                            covariates=["age", "Year"], estimand="ATC"))
    assert analysis_spec(stored, frame) == stored.estimation.spec


def generated_frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=n), rng.uniform(-1, 1, n), rng.normal(size=n)
    code = rng.integers(1, 4, n)
    treated = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.5 * x1 - 0.3 * (code == 2))))).astype(int)
    outcome = 1 + 0.7 * treated + x1 + x2**2 + 0.5 * code + rng.normal(size=n)
    return pd.DataFrame({"Y": outcome, "T": treated, "x1": x1, "x2": x2, "x3": x3, "code": code,
                         "cluster": rng.integers(0, 25, n)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(150, 300),
    code_categorical=st.booleans(),
    forms=st.fixed_dictionaries({"x1": st.sampled_from(["linear", "quadratic", "spline"]),
                                 "x2": st.sampled_from(["linear", "quadratic"])}),
    interaction=st.booleans(),
    cluster=st.sampled_from([None, "cluster"]),
    estimand=st.sampled_from(["ATE", "ATT", "ATC"]),
)
def test_main_curve_row_equals_run_estimation(seed, n, code_categorical, forms, interaction, cluster, estimand):
    frame = generated_frame(seed, n)
    project = upload_project(frame, categorical=("code",) if code_categorical else (), cluster=cluster)
    covariates = ["x1", "x2", "x3", "code"]
    categorical = ["code"] if code_categorical else []
    terms = flexibility_terms(covariates, categorical, forms)
    if interaction:
        terms = (terms or " + ".join(covariates)) + " + x1:x3"
    spec = EstimationSpec(treatment="T", outcome="Y", covariates=covariates, estimand=estimand, cluster=cluster,
                          outcome_terms=terms)
    try:
        project = with_estimation(project, frame, spec)
    except estimation.EstimationError:
        assume(False)
    result = run_multiverse(project, frame, MultiverseOptions(estimators=PAGE_METHODS, trimming=["none"]))
    main = main_row(result)
    assert main.choices["estimand"] == estimand
    assert_same_row(main, page_row(project, "aipw"))


def test_another_adjustment_set_keeps_the_analysts_terms_it_can_and_equals_the_page():
    frame = upload_like()
    project = with_estimation(upload_project(frame, cluster=None), frame, EstimationSpec(
        treatment="weekend", outcome="score", covariates=["Year", "age", "size"], outcome_terms=SPLINE_AND_INTERACTION))
    options = MultiverseOptions(estimators=["regression", "aipw"], trimming=["none"], extra_sets=[["Year", "age"]])
    result = run_multiverse(project, frame, options)
    page = estimation.run_estimation(frame, project.estimation.spec.model_copy(update={
        "covariates": ["Year", "age"], "outcome_terms": "C(Year) + cr(age, df=4, constraints='center')"}),
        sensitivity=False, refutations=False)
    for method in ("regression", "aipw"):
        row = next(r for r in result.rows if r.choices["adjustment set"] == "extra #1" and r.choices["estimator"] == method)
        assert_same_row(row, next(p for p in page.estimates if p.method == method))


def test_memo_main_estimate_and_the_curves_main_row_agree_on_the_upload():
    """The contradiction of issue 25 (memo printing +0.341 from the curve beside +0.083 from Estimation) is gone:
    the memo's primary row is the curve's main row, and the robustness paragraph says nothing is out of date."""
    from causal_core.memo.deterministic import deterministic_memo
    from causal_core.memo.facts import memo_facts

    frame = upload_like()
    project = with_estimation(upload_project(frame), frame, EstimationSpec(
        treatment="weekend", outcome="score", covariates=["Year", "age", "size"], estimand="ATT",
        cluster="restaurant", outcome_terms=SPLINE_AND_INTERACTION))
    project = with_multiverse(project, frame, MultiverseOptions(estimators=PAGE_METHODS, trimming=["none"]))
    primary = memo_facts(project, frame).primary
    main = main_row(project.multiverse)
    assert primary is not None and primary.method == main.choices["estimator"]
    assert main.estimate == pytest.approx(primary.estimate, abs=1e-10)
    robustness = " ".join(deterministic_memo(project, frame).values())
    assert "Out of date" not in robustness
    memo = deterministic_memo(project, frame)
    assert f"The main specification estimates {main.estimate:+.2f}." in memo["robustness"]
    assert f"changed `score` by {primary.estimate:.2f} points," in memo["main_estimate"]  # display.outcome_unit
