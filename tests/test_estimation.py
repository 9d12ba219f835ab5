"""Estimation core: N01 §11 numbers, statsmodels equality, SEs vs bootstrap, coverage, ATT, clusters, eligibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from causal_core import estimation as est
from causal_core.data.datasets import simulate_retention
from causal_core.estimation.estimators import _ipw_weights, _target_weights
from causal_core.estimation.n01 import _n01_features
from causal_core.project import EstimandCard, EstimationSpec

N01_SPEC = EstimationSpec(
    treatment="outreach", outcome="churn", covariates=est.N01_COVARIATES, categorical=est.N01_CATEGORICAL
)
N01_FORMULA = (
    "churn ~ outreach + company_size + tenure_months + usage_score + prior_tickets + health_score + C(region) + C(segment)"
)


@pytest.fixture(scope="module")
def retention_frame() -> pd.DataFrame:
    return simulate_retention()


@pytest.fixture(scope="module")
def retention_result(retention_frame):
    truth = float(retention_frame["true_individual_effect"].mean())
    return est.run_estimation(retention_frame, N01_SPEC, true_effect=truth)


@pytest.fixture(scope="module")
def support_frame(support):
    from causal_core.data import analysis_frame

    project, raw = support
    return analysis_frame(project, raw)


def rows_by_method(result) -> dict[str, object]:
    return {row.method: row for row in result.estimates if not row.se_type.startswith("bootstrap")}


# ---- N01 §11 ----------------------------------------------------------------------------------
def test_n01_section11_table_reproduced_to_three_decimals(retention_frame):
    table = est.n01_section11_table(retention_frame).set_index("method").round(3)
    assert table.loc["Naive difference"].tolist() == [0.078, 0.012, 0.056, 0.101]
    assert table.loc["Regression adjustment"].tolist() == [-0.044, 0.012, -0.067, -0.021]
    assert table.loc["IPW (Horvitz–Thompson, as N01)"].tolist() == [-0.045, 0.014, -0.072, -0.018]
    assert table.loc["Doubly robust"].tolist() == [-0.047, 0.011, -0.068, -0.026]
    assert round(retention_frame["true_individual_effect"].mean(), 3) == -0.046


def test_run_estimation_matches_n01_with_its_spec(retention_result):
    rows = rows_by_method(retention_result)
    naive, reg, ipw, aipw = rows["naive"], rows["regression"], rows["ipw"], rows["aipw"]
    assert [round(v, 3) for v in (naive.estimate, naive.ci_low, naive.ci_high)] == [0.078, 0.056, 0.101]
    assert [round(v, 3) for v in (reg.estimate, reg.ci_low, reg.ci_high)] == [-0.044, -0.067, -0.021]
    # IPW is the normalised (Hájek) form: -0.0464 (truth -0.0463). N01's Horvitz-Thompson -0.045 is reproduced,
    # labelled HT, only by n01_section11_table (test above).
    assert round(ipw.estimate, 4) == -0.0464 and est.method_label(ipw) == "IPW (Hájek)"
    # The correct AIPW (per-arm models scaled consistently) is -0.0476; N01 printed -0.047 because of its
    # shared-ColumnTransformer quirk, reproduced exactly by n01_section11_table above.
    assert round(aipw.estimate, 4) == -0.0476
    assert [round(aipw.ci_low, 3), round(aipw.ci_high, 3)] == [-0.068, -0.027]
    assert abs(aipw.estimate - (-0.047)) < 0.001
    assert round(retention_result.true_effect, 3) == -0.046
    assert retention_result.n_used == 6000 and retention_result.dropped == {}
    assert {row.estimand for row in retention_result.estimates} == {"ATE"}


def test_unpenalised_and_l2_propensity_agree_to_three_decimals(retention_frame):
    design = est.build_design(retention_frame, N01_SPEC)
    plain = est.propensity(design, (0.02, 0.98))
    t, y = design.t, design.y
    features = _n01_features(retention_frame, np.ones(design.n, dtype=bool))
    penalised = np.clip(1 / (1 + np.exp(-(features @ est.logit(features, t, l2=1.0).beta))), 0.02, 0.98)
    for e in (plain.clipped, penalised):
        assert round(float(np.mean(t * y / e - (1 - t) * y / (1 - e))), 3) == -0.045


def test_balance_before_weighting_matches_n01_section9(retention_result):
    balance = {row.covariate: row for row in retention_result.balance}
    assert round(balance["health_score"].smd_before, 3) == -0.779
    assert round(balance["prior_tickets"].smd_before, 3) == 0.636
    assert round(balance["usage_score"].smd_before, 3) == -0.528
    assert round(balance["company_size"].smd_before, 3) == 0.217
    assert round(balance["tenure_months"].smd_before, 3) == -0.185
    assert round(balance["health_score"].treated_mean, 3) == 55.368
    assert all(abs(row.smd_after) < 0.05 for row in balance.values())
    assert "region[APAC]" in balance and "segment[enterprise]" in balance  # reference levels included


# ---- equality with statsmodels ----------------------------------------------------------------
def test_regression_equals_statsmodels_hc3(retention_frame, retention_result):
    reference = smf.ols(N01_FORMULA, data=retention_frame).fit(cov_type="HC3")
    row = rows_by_method(retention_result)["regression"]
    assert abs(row.estimate - reference.params["outreach"]) < 1e-8
    assert abs(row.std_error - reference.bse["outreach"]) < 1e-8
    classical = smf.ols(N01_FORMULA, data=retention_frame).fit()
    info = retention_result.diagnostics.regression
    assert abs(info.t_stat - classical.tvalues["outreach"]) < 1e-8
    assert info.dof == classical.df_resid


def test_regression_cluster_se_equals_statsmodels(support_frame):
    spec = EstimationSpec(
        treatment="assistant_enabled", outcome="human_handled_hours",
        covariates=["region", "queue_type", "team_readiness", "manager_priority", "backlog_start", "staffing_hours"],
        cluster="team_id",
    )
    design = est.build_design(support_frame, spec)
    row, _ = est.regression(design, "ATE")
    formula = ("human_handled_hours ~ assistant_enabled + C(region) + C(queue_type) + team_readiness + manager_priority"
               " + backlog_start + staffing_hours")
    groups = pd.factorize(support_frame["team_id"])[0]
    reference = smf.ols(formula, data=support_frame).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert abs(row.estimate - reference.params["assistant_enabled"]) < 1e-8
    assert abs(row.std_error - reference.bse["assistant_enabled"]) < 1e-8


def test_gcomputation_equals_per_arm_regressions(retention_frame):
    for estimand in ("ATE", "ATT", "ATC"):
        design = est.build_design(retention_frame, N01_SPEC)
        row = est.gcomputation(design, estimand)
        A = sm.add_constant(design.X)
        fits = {arm: sm.OLS(design.y[design.t == arm], A[design.t == arm]).fit() for arm in (0, 1)}
        target = _target_weights(design.t, estimand).astype(bool)
        expected = np.mean(fits[1].predict(A[target]) - fits[0].predict(A[target]))
        assert abs(row.estimate - expected) < 1e-10
    ate = est.gcomputation(est.build_design(retention_frame, N01_SPEC), "ATE")
    assert round(ate.estimate, 4) == -0.0494


def test_logit_matches_statsmodels(retention_frame):
    design = est.build_design(retention_frame, N01_SPEC)
    ours = est.logit(design.A1, design.t)
    reference = sm.Logit(design.t, design.A1).fit(disp=0)
    assert ours.converged and not ours.separated
    assert np.max(np.abs(ours.beta - reference.params)) < 1e-7


# ---- standard errors, coverage, ATT -------------------------------------------------------------
def test_analytic_ipw_and_aipw_ses_within_ten_percent_of_bootstrap(retention_frame):
    spec = N01_SPEC.model_copy(update={"bootstrap": 400})
    result = est.run_estimation(retention_frame, spec, sensitivity=False, refutations=False)
    analytic = rows_by_method(result)
    boot = result.diagnostics.bootstrap
    assert boot.completed == 400 and not boot.cancelled
    for method in ("ipw", "aipw"):
        ratio = analytic[method].std_error / getattr(boot, method).se
        assert 0.9 <= ratio <= 1.1, (method, ratio)
    bootstrap_rows = [row for row in result.estimates if row.se_type.startswith("bootstrap")]
    assert [row.method for row in bootstrap_rows] == ["ipw", "aipw"]


def test_aipw_ci_covers_the_true_ate_at_a_plausible_rate():
    covered = 0
    for seed in range(40):
        frame = simulate_retention(1500, seed=1000 + seed)
        design = est.build_design(frame, N01_SPEC)
        row = est.estimate_core(design, N01_SPEC, methods=("aipw",)).row("aipw")
        truth = frame["true_individual_effect"].mean()
        covered += row.ci_low <= truth <= row.ci_high
    assert 0.8 <= covered / 40 <= 1.0


def test_att_on_retention_recovers_the_true_att(retention_frame):
    spec = N01_SPEC.model_copy(update={"estimand": "ATT"})
    truth = float(retention_frame.loc[retention_frame["outreach"] == 1, "true_individual_effect"].mean())
    result = est.run_estimation(retention_frame, spec, true_effect=truth, sensitivity=False, refutations=False)
    rows = rows_by_method(result)
    assert round(truth, 4) == -0.0598
    assert round(rows["aipw"].estimate, 4) == -0.0594
    assert rows["aipw"].ci_low <= truth <= rows["aipw"].ci_high
    assert rows["gcomp"].ci_low <= truth <= rows["gcomp"].ci_high
    assert rows["ipw"].ci_low <= truth <= rows["ipw"].ci_high
    assert result.true_effect == truth


def test_att_and_atc_on_a_simulation_with_known_effects():
    """y = x + t·(1 + x) + noise, e(x) = expit(x): ATT = 1 + E[x | t=1] ≈ 1.41, ATC = 1 + E[x | t=0] ≈ 0.59 (Stein: E[x | t=1] = 2·E[e(1−e)])."""
    rng = np.random.default_rng(7)
    n = 100_000
    x = rng.normal(size=n)
    t = rng.binomial(1, 1 / (1 + np.exp(-x)))
    y = x + t * (1 + x) + rng.normal(size=n)
    frame = pd.DataFrame({"t": t, "y": y, "x": x})
    for estimand, mask in (("ATT", t == 1), ("ATC", t == 0), ("ATE", np.ones(n, dtype=bool))):
        truth = 1 + x[mask].mean()
        spec = EstimationSpec(treatment="t", outcome="y", covariates=["x"], estimand=estimand)
        rows = rows_by_method(est.run_estimation(frame, spec, sensitivity=False, refutations=False))
        for method in ("gcomp", "ipw", "aipw"):
            assert abs(rows[method].estimate - truth) < 4 * rows[method].std_error, (estimand, method)
        assert abs(rows["aipw"].estimate - truth) < 0.03
    assert round(1 + x[t == 1].mean(), 2) == 1.41


def test_crossfitted_aipw_is_close_to_the_plain_one(retention_frame):
    spec = N01_SPEC.model_copy(update={"crossfit_folds": 5})
    row = rows_by_method(est.run_estimation(retention_frame, spec, sensitivity=False, refutations=False))["aipw"]
    assert "5-fold cross-fitted" in row.se_type
    assert abs(row.estimate - (-0.0476)) < 0.003


def test_clustered_ses_on_support_are_larger_than_hc3(support_frame, support):
    project, _ = support
    spec = est.default_spec(project, support_frame)
    assert spec.cluster == "team_id"
    clustered = rows_by_method(est.run_estimation(support_frame, spec, sensitivity=False, refutations=False))
    plain = rows_by_method(est.run_estimation(support_frame, spec.model_copy(update={"cluster": None}),
                                              sensitivity=False, refutations=False))
    assert clustered["regression"].se_type == "cluster-robust (90 clusters)"
    assert plain["regression"].se_type == "HC3"
    assert round(clustered["regression"].estimate, 2) == -28.39
    assert round(plain["regression"].std_error, 3) == 1.258
    assert round(clustered["regression"].std_error, 3) == 1.379
    assert round(plain["aipw"].std_error, 3) == 1.329
    assert round(clustered["aipw"].std_error, 3) == 1.523
    # Hájek IPW (the Horvitz-Thompson form gave -37.3 with a cluster SE of 7.86)
    assert round(clustered["ipw"].estimate, 1) == -27.6
    assert round(clustered["ipw"].std_error, 2) == 1.91
    for method in ("regression", "ipw", "aipw"):
        assert clustered[method].std_error > plain[method].std_error
        assert clustered[method].estimate == plain[method].estimate


def test_cluster_bootstrap_resamples_teams(support_frame, support):
    project, _ = support
    spec = est.default_spec(project, support_frame).model_copy(update={"bootstrap": 100})
    result = est.run_estimation(support_frame, spec, sensitivity=False, refutations=False)
    boot = result.diagnostics.bootstrap
    assert boot.clustered and boot.completed == 100
    analytic = rows_by_method(result)["aipw"].std_error
    assert 0.7 < boot.aipw.se / analytic < 1.3


def test_bootstrap_can_be_cancelled_and_reports_progress(retention_frame):
    design = est.build_design(retention_frame, N01_SPEC)
    spec = N01_SPEC.model_copy(update={"bootstrap": 400})
    core = est.estimate_core(design, spec)
    calls: list[float] = []
    batch = 10 * design.n * design.A1.shape[1]  # 10 replicates per vectorised batch
    out = est.bootstrap(design, spec, core, progress=lambda f, m: calls.append(f), should_stop=lambda: len(calls) >= 1,
                        max_cells=batch)
    assert out["cancelled"] and out["completed"] == 10
    assert out["rows"] == [] and out["message"] == (
        "Bootstrap cancelled after 10 of 400 replicates; too few replicates for a bootstrap SE.")
    assert calls == [10 / 400]
    calls.clear()
    kept = est.bootstrap(design, spec, core, progress=lambda f, m: calls.append(f), should_stop=lambda: len(calls) >= 6,
                         max_cells=batch)
    assert kept["completed"] == 60 and [row.se_type for row in kept["rows"]] == ["bootstrap (60 replicates)"] * 2
    assert kept["message"].endswith("SEs use the completed replicates.")


# ---- missing data, trimming, diagnostics --------------------------------------------------------
def test_missing_outcome_treatment_and_covariates_are_dropped_and_counted(retention_frame):
    frame = retention_frame.copy()
    frame.loc[:9, "churn"] = np.nan
    frame.loc[10:14, "outreach"] = np.nan
    frame.loc[20:39, "health_score"] = np.nan
    frame.loc[40:44, "region"] = None
    result = est.run_estimation(frame, N01_SPEC, sensitivity=False, refutations=False)
    assert result.dropped == {"missing outcome": 10, "missing treatment": 5, "missing covariates (complete cases)": 25}
    assert result.n_used == 6000 - 40
    assert "25 rows with a missing covariate" in result.diagnostics.notes[0]

    indicator = est.run_estimation(frame, N01_SPEC.model_copy(update={"missing": "indicator"}),
                                   sensitivity=False, refutations=False)
    assert indicator.n_used == 6000 - 15
    assert "health_score__missing" in indicator.diagnostics.design_columns
    assert "region[(missing)]" in indicator.diagnostics.design_columns
    assert "Missing indicators" in indicator.diagnostics.notes[0]


def test_crump_rule_trims_and_states_the_changed_estimand(retention_frame):
    design = est.build_design(retention_frame, N01_SPEC)
    e = est.propensity(design, (0.02, 0.98)).raw
    alpha = est.crump_alpha(e)
    g = 1 / (e * (1 - e))
    assert g.max() > 2 * g.mean() and 0 < alpha < 0.2
    kept = g[g <= 1 / (alpha * (1 - alpha)) + 1e-9]
    assert abs(1 / (alpha * (1 - alpha)) - 2 * kept.mean()) < 0.05 * (1 / (alpha * (1 - alpha)))
    assert est.crump_alpha(np.full(100, 0.5)) == 0.0

    result = est.run_estimation(retention_frame, N01_SPEC.model_copy(update={"trim": "crump"}),
                                sensitivity=False, refutations=False)
    trimming = result.diagnostics.trimming
    assert trimming.kept == result.n_used < 6000 and trimming.dropped == 6000 - result.n_used
    assert "the estimand is now the ATE in this overlap population, not for all units" in trimming.statement
    assert trimming.statement in result.warnings
    assert any(reason.startswith("trimmed (propensity outside") for reason in result.dropped)

    bounds = est.run_estimation(retention_frame, N01_SPEC.model_copy(update={"trim": "bounds", "clip": (0.1, 0.9)}),
                                sensitivity=False, refutations=False)
    assert bounds.diagnostics.trimming.bounds == (0.1, 0.9)
    assert bounds.n_used == int(np.sum((e >= 0.1) & (e <= 0.9)))


def test_overlap_and_weight_diagnostics(retention_result):
    overlap = retention_result.diagnostics.overlap
    weights = retention_result.diagnostics.weights
    assert overlap.n_below_clip + overlap.n_above_clip == round(overlap.share_clipped * 6000)
    assert len(overlap.histogram) == 80
    assert weights.treated.n == 2038 and weights.control.n == 3962
    assert round(weights.treated.ess) == 1466
    assert 0 < weights.treated.ess_share < 1
    assert retention_result.warnings == []


# ---- bad inputs ---------------------------------------------------------------------------------
def small_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({
        "t": rng.binomial(1, 0.5, n), "y": rng.normal(size=n) + x, "x": x,
        "group": rng.choice(["a", "b", "c"], n), "day": pd.date_range("2024-01-01", periods=n, freq="D"),
    })


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"covariates": ["x", "nope"]}, "Unknown column(s): nope."),
        ({"outcome": "group"}, "The outcome 'group' is not numeric"),
        ({"treatment": "y", "outcome": "x", "covariates": []}, "must be coded 0/1; found other values"),
        ({"treatment": "group"}, "must be coded 0/1; found non-numeric values"),
        ({"covariates": ["x", "t"]}, "'t' is the treatment; it cannot also be a covariate."),
        ({"covariates": ["day"]}, "Date column(s) cannot be covariates as is: day."),
        ({"clip": (0.6, 0.9)}, "Clip bounds must satisfy"),
        ({"cluster": "const"}, "has a single value; clustering needs ≥ 2"),
    ],
)
def test_bad_specifications_are_refused_with_a_specific_message(change, message):
    frame = small_frame().assign(const=1)
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x"]).model_copy(update=change)
    with pytest.raises(est.EstimationError) as error:
        est.run_estimation(frame, spec)
    assert message in str(error.value)


def test_fewer_than_ten_rows_in_an_arm_is_refused_with_the_counts():
    frame = small_frame()
    frame["t"] = 0
    frame.loc[:6, "t"] = 1
    with pytest.raises(est.EstimationError) as error:
        est.run_estimation(frame, EstimationSpec(treatment="t", outcome="y", covariates=["x"]))
    assert "7 treated and 393 control rows remain" in str(error.value)
    assert "at least 10 of each" in str(error.value)
    frame.loc[:20, "t"] = 1
    frame.loc[:15, "y"] = np.nan
    with pytest.raises(est.EstimationError, match=r"5 treated and 379 control rows .*\(missing outcome: 16\)"):
        est.run_estimation(frame, EstimationSpec(treatment="t", outcome="y", covariates=["x"]))


def test_perfect_separation_warns_naming_the_unreliable_estimators():
    frame = small_frame()
    frame["t"] = (frame["x"] > 0).astype(int)
    result = est.run_estimation(frame, EstimationSpec(treatment="t", outcome="y", covariates=["x", "group"]),
                                sensitivity=False, refutations=False)
    text = " ".join(result.warnings)
    assert "separation in the propensity model" in text
    assert "x (no overlap in range)" in text
    assert "IPW and AIPW are unreliable" in text
    assert "regression and g-computation" in text
    assert result.diagnostics.propensity_model.separated is True


def test_category_seen_in_one_arm_only_is_named():
    frame = small_frame(seed=3)
    frame.loc[frame["group"] == "c", "t"] = 1
    result = est.run_estimation(frame, EstimationSpec(treatment="t", outcome="y", covariates=["x", "group"]),
                                sensitivity=False, refutations=False)
    assert "group[c] (all treated)" in " ".join(result.warnings)


def test_poor_overlap_warns():
    rng = np.random.default_rng(11)
    x = rng.normal(size=3000)
    t = rng.binomial(1, 1 / (1 + np.exp(-4 * x)))
    frame = pd.DataFrame({"t": t, "y": x + t + rng.normal(size=3000), "x": x})
    result = est.run_estimation(frame, EstimationSpec(treatment="t", outcome="y", covariates=["x"]),
                                sensitivity=False, refutations=False)
    overlap_warning = next(w for w in result.warnings if w.startswith("Poor overlap"))
    assert "IPW and AIPW are unreliable" in overlap_warning and "Crump" in overlap_warning
    assert result.diagnostics.overlap.share_clipped > 0.05


# ---- eligibility and defaults -------------------------------------------------------------------
def test_ineligible_reasons(retention, support):
    project, _ = retention
    assert est.ineligible_reason(project, "health_score") is None
    assert "simulation truth" in est.ineligible_reason(project, "true_individual_effect")
    assert "simulation truth" in est.ineligible_reason(project, "propensity_true")
    assert est.ineligible_reason(project, "outreach") == "it is the treatment itself"
    assert est.ineligible_reason(project, "churn") == "it is the outcome"
    assert "unit identifier" in est.ineligible_reason(project, "account_id")
    support_project, _ = support
    assert est.ineligible_reason(support_project, "agent_uses_ai").startswith("post-treatment")
    assert est.ineligible_reason(support_project, "next_week_backlog").startswith("measured in the future")
    assert "guardrail" in est.ineligible_reason(support_project, "customer_satisfaction_score")
    assert "time identifier" in est.ineligible_reason(support_project, "week_start")
    assert "unit identifier" in est.ineligible_reason(support_project, "team_id")


def test_default_spec_from_dictionary_and_from_the_dag(retention, support):
    project, frame = retention
    spec = est.default_spec(project, frame)
    assert spec.covariates == est.N01_COVARIATES and spec.categorical == ["region", "segment"]
    assert spec.estimand == "ATE" and spec.cluster is None and spec.clip == (0.02, 0.98)
    support_project, support_raw = support
    support_spec = est.default_spec(support_project, support_raw)
    assert support_spec.cluster == "team_id"
    assert set(support_spec.covariates) == {
        "region", "queue_type", "baseline_ticket_volume", "baseline_satisfaction", "team_readiness",
        "manager_priority", "backlog_start", "staffing_hours",
    }
    from causal_core import dag

    with_dag = project.model_copy(update={"dag": dag.default_dag("retention")})
    covariates, note = est.default_covariates(with_dag, frame)
    identification = dag.identify(with_dag.dag, with_dag.dag.treatment, with_dag.dag.outcome)
    assert covariates == dag.adjustment_columns(with_dag.dag, identification.recommended_set)
    assert note == "the DAG's recommended adjustment set"
    assert set(covariates) == set(est.N01_COVARIATES)


def test_default_estimand_follows_the_approved_card(retention):
    project, _ = retention
    card = EstimandCard(estimand="Average treatment effect on the treated (ATT) accounts")
    assert est.default_estimand(project.model_copy(update={"estimand_card": card, "card_status": "approved"})) == "ATT"
    assert est.default_estimand(project.model_copy(update={"estimand_card": card, "card_status": "draft"})) == "ATE"
    ate_card = EstimandCard(estimand="ATE on 90-day churn risk among eligible accounts")
    assert est.default_estimand(project.model_copy(update={"estimand_card": ate_card, "card_status": "approved"})) == "ATE"


@pytest.mark.parametrize(
    ("estimand", "expected"),
    [
        # the old keyword rule read "untreated" as ATC and "treated" as ATT here; the Question page says ATE
        ("Average treatment effect among all eligible treated and untreated accounts", "ATE"),
        ("Average effect of outreach among the treated accounts", "ATT"),
        ("ATC: the effect for the controls", "ATC"),
        ("CATE of outreach by plan tier", "ATE"),  # not estimated on this page: falls back to ATE
        ("the effect of outreach", "ATE"),
    ],
)
def test_estimation_reads_the_card_as_the_question_page_and_the_memo_do(retention, estimand, expected):
    from causal_core import question
    from causal_core.memo import facts as memo_facts
    from causal_core.reporting import consistency

    project, _ = retention
    approved = project.model_copy(update={"estimand_card": EstimandCard(estimand=estimand), "card_status": "approved"})
    assert est.default_estimand(approved) == expected
    assert consistency.estimand_kind is memo_facts.estimand_kind is question.estimand_kind  # one parser, three stages
    if question.estimand_kind(estimand) in {"ATE", "ATT", "ATC"}:
        assert question.estimand_kind(estimand) == expected


def test_override_is_required_logged_and_kept_in_the_spec(retention):
    project, frame = retention
    spec = N01_SPEC.model_copy(update={"covariates": [*est.N01_COVARIATES, "propensity_true"]})
    with pytest.raises(est.EstimationError, match="need an explicit override with a reason — propensity_true"):
        est.estimate_project(project, frame, spec, refutations=False)
    assert project.estimation is None and project.edit_log == []
    updated = est.estimate_project(project, frame, spec, override_reason="show the leak", refutations=False)
    assert updated.estimation.spec.overrides == ["propensity_true"]
    edit = updated.edit_log[-1]
    assert (edit.artifact, edit.field, edit.after) == ("estimation", "override", "propensity_true")
    assert "show the leak" in edit.note and "simulation truth" in edit.note
    assert any("Override: 'propensity_true'" in w for w in updated.estimation.warnings)
    assert project.estimation is None  # copy-on-write
    assert round(updated.estimation.true_effect, 4) == -0.0463


def test_missing_indicator_choice_is_logged(retention):
    project, frame = retention
    updated = est.estimate_project(project, frame, N01_SPEC.model_copy(update={"missing": "indicator"}), refutations=False)
    edit = updated.edit_log[-1]
    assert (edit.field, edit.before, edit.after) == ("missing", "complete_case", "indicator")


def test_add_bootstrap_replaces_earlier_bootstrap_rows(retention):
    project, frame = retention
    updated = est.estimate_project(project, frame, N01_SPEC, refutations=False)
    once = est.add_bootstrap(updated, frame, 60)
    twice = est.add_bootstrap(once, frame, 80)
    labels = [row.se_type for row in twice.estimation.estimates if row.se_type.startswith("bootstrap")]
    assert labels == ["bootstrap (80 replicates)", "bootstrap (80 replicates)"]
    assert twice.estimation.diagnostics.bootstrap.completed == 80
    with pytest.raises(est.EstimationError, match="Run the estimation before the bootstrap"):
        est.add_bootstrap(project, frame, 50)


def test_charts_and_table_build(retention_result):
    table = est.estimates_table(retention_result)
    assert table["method"].tolist()[0] == "Naive difference" and list(table.columns)[:3] == ["method", "estimand", "estimate"]
    forest = est.forest_chart(retention_result).to_dict()
    assert any(layer.get("mark", {}).get("strokeDash") for layer in forest["layer"])  # true-effect line
    for chart in (est.love_plot, est.overlap_chart, est.weights_chart):
        assert chart(retention_result).to_dict()


def test_result_survives_a_project_file_round_trip(support, support_frame):
    from causal_core.project_file import project_from_json, project_to_json

    project, _ = support
    spec = est.default_spec(project, support_frame).model_copy(update={"bootstrap": 20, "trim": "crump"})
    stored = est.estimate_project(project, support_frame, spec)
    reopened = project_from_json(project_to_json(stored))
    assert reopened.estimation == stored.estimation
    assert reopened.estimation.diagnostics.bootstrap.completed == 20


def test_default_spec_takes_the_data_audits_treated_value_and_codes_the_text_treatment(retention):
    from causal_core.audit import AuditSettings, run_audit

    project, frame = retention
    text_frame = frame.assign(outreach=np.where(frame["outreach"] == 1, "contacted", "not contacted"))
    audited = project.model_copy(
        update={"data_audit": run_audit(project, text_frame, AuditSettings(treated_value="contacted"))}
    )
    spec = est.default_spec(audited, text_frame)
    assert spec.treated_value == "contacted"
    assert est.default_spec(project, frame).treated_value is None
    text_rows = est.run_estimation(text_frame, spec, refutations=False).estimates
    coded_rows = est.run_estimation(frame, spec.model_copy(update={"treated_value": None}), refutations=False).estimates
    assert [round(r.estimate, 10) for r in text_rows] == [round(r.estimate, 10) for r in coded_rows]
    assert round(text_rows[0].estimate, 3) == 0.078  # N01's naive risk difference, through the mapping


# ---- Hájek IPW, estimand-aware bounds, honest rows, formula terms (issue 12) ---------------------
NSW_COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
NHEFS_COVARIATES = ["sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise", "active", "wt71"]
NHEFS_TERMS = (
    "sex + race + age + I(age**2) + C(education) + smokeintensity + I(smokeintensity**2) + smokeyrs + I(smokeyrs**2)"
    " + C(exercise) + C(active) + wt71 + I(wt71**2)"
)
NHEFS_SPEC = EstimationSpec(
    treatment="qsmk", outcome="wt82_71", covariates=NHEFS_COVARIATES, outcome_terms=NHEFS_TERMS,
    treatment_interactions="smokeintensity",
)


@pytest.fixture(scope="module")
def nsw_cps() -> pd.DataFrame:
    from causaldata import cps_mixtape, nsw_mixtape

    nsw = nsw_mixtape.load_pandas().data
    return pd.concat([nsw[nsw["treat"] == 1], cps_mixtape.load_pandas().data], ignore_index=True)


@pytest.fixture(scope="module")
def nhefs_frame() -> pd.DataFrame:
    from causaldata import nhefs

    frame = nhefs.load_pandas().data
    return frame[frame["wt82"].notna()].reset_index(drop=True)


def quick(frame, spec):
    return est.run_estimation(frame, spec, sensitivity=False, refutations=False)


def test_nsw_cps_att_with_default_settings_is_right(nsw_cps):
    """Issue 12's headline: the old symmetric clip + Horvitz-Thompson form printed -23,460; Hájek 1,180, AIPW 1,271."""
    spec = EstimationSpec(treatment="treat", outcome="re78", covariates=NSW_COVARIATES, estimand="ATT")
    result = quick(nsw_cps, spec)
    rows = rows_by_method(result)
    assert round(rows["ipw"].estimate) == 1180 and round(rows["aipw"].estimate) == 1271
    assert rows["ipw"].ci_low < 1794 < rows["ipw"].ci_high  # the experimental benchmark
    ipw_info = result.diagnostics.ipw
    assert ipw_info.bounds == (0.0, 0.98) and "no lower bound" in ipw_info.bounds_note
    # diagnostics use exactly the weights behind the estimate: control ESS 417 (the clipped weights said 2,538)
    assert round(result.diagnostics.weights.control.ess) == 417
    # the constant-effect coefficient never carries the ATT label
    assert rows["regression"].estimand == est.CONSTANT_EFFECT and "no effect heterogeneity" in rows["regression"].label
    assert {row.estimand for row in result.estimates if row.method != "regression"} == {"ATT"}
    assert not any("Extreme weights in the control arm" in w for w in result.warnings)  # 417 controls stand for 185
    # what the old code did, computed by hand from the same propensities: floor at 0.02 and divide by n1
    design = est.build_design(nsw_cps, spec)
    e = np.clip(est.propensity(design, (0.0, 1.0)).raw, 0.02, 0.98)
    t, y = design.t, design.y
    old = (np.sum(t * y) - np.sum((1 - t) * e / (1 - e) * y)) / t.sum()
    assert round(old, -1) == -23460


def test_nhefs_reproduces_what_if_chapters_12_and_13(nhefs_frame):
    """Hernán & Robins: IPW 3.44 (robust 95 % CI 2.41 to 4.47), standardisation 3.52 (qsmk × smokeintensity)."""
    book = rows_by_method(quick(nhefs_frame, NHEFS_SPEC.model_copy(update={"ipw_se": "fixed_weights"})))
    assert len(nhefs_frame) == 1566
    assert round(book["ipw"].estimate, 2) == 3.44
    assert [round(book["ipw"].ci_low, 2), round(book["ipw"].ci_high, 2)] == [2.41, 4.47]
    assert "weights treated as known" in book["ipw"].se_type
    assert round(book["regression"].estimate, 2) == 3.52 and book["regression"].estimand == "ATE"
    assert book["regression"].label == "Regression standardisation (interactions qsmk:smokeintensity)"
    default = rows_by_method(quick(nhefs_frame, NHEFS_SPEC))
    assert default["ipw"].estimate == book["ipw"].estimate
    assert default["ipw"].se_type == "influence function"
    assert default["ipw"].std_error < book["ipw"].std_error  # estimating e makes the IF SE a little narrower
    assert round(default["ipw"].std_error, 3) == 0.487 and round(book["ipw"].std_error, 3) == 0.525


def test_fixed_weight_ipw_se_equals_the_weighted_regression_sandwich(nhefs_frame):
    import statsmodels.formula.api as smf_

    design = est.build_design(nhefs_frame, NHEFS_SPEC)
    ps = est.propensity(design, (0.02, 0.98))
    row = est.ipw(design, ps, "ATE", se_method="fixed_weights")
    weights = np.where(design.t == 1, 1 / ps.clipped, 1 / (1 - ps.clipped))
    data = pd.DataFrame({"y": design.y, "t": design.t})
    reference = smf_.wls("y ~ t", data, weights=weights).fit(cov_type="HC0")
    assert abs(row.estimate - reference.params["t"]) < 1e-10
    assert abs(row.std_error - reference.bse["t"]) < 1e-8


def test_adding_a_constant_to_the_outcome_changes_no_estimate(nhefs_frame, support_frame, support):
    project, _ = support
    cases = [(nhefs_frame, NHEFS_SPEC), (support_frame, est.default_spec(project, support_frame))]
    for frame, spec in cases:
        for estimand in ("ATE", "ATT", "ATC"):
            spec_e = spec.model_copy(update={"estimand": estimand})
            base = quick(frame, spec_e).estimates
            shifted = quick(frame.assign(**{spec.outcome: frame[spec.outcome] + 100}), spec_e).estimates
            for a, b in zip(base, shifted, strict=True):
                assert abs(a.estimate - b.estimate) < 1e-7, (a.method, estimand)
                assert abs(a.std_error - b.std_error) < 1e-7, (a.method, estimand)


def test_support_hajek_ipw_and_the_clustered_naive_row(support_frame, support):
    project, _ = support
    spec = est.default_spec(project, support_frame)
    rows = rows_by_method(quick(support_frame, spec))
    assert round(rows["ipw"].estimate, 1) == -27.6  # Horvitz-Thompson gave -37.3
    design = est.build_design(support_frame, spec)
    data = pd.DataFrame({"y": design.y, "t": design.t})
    reference = smf.ols("y ~ t", data).fit(cov_type="cluster", cov_kwds={"groups": design.clusters})
    assert abs(rows["naive"].estimate - reference.params["t"]) < 1e-10
    assert abs(rows["naive"].std_error - reference.bse["t"]) < 1e-10
    assert rows["naive"].se_type == "cluster-robust (90 clusters)"
    welch = rows_by_method(quick(support_frame, spec.model_copy(update={"cluster": None})))["naive"]
    assert welch.se_type == "Welch" and rows["naive"].std_error > welch.std_error


def test_bounds_follow_the_estimand():
    assert est.effective_bounds((0.02, 0.98), "ATE") == (0.02, 0.98)
    assert est.effective_bounds((0.02, 0.98), "ATT") == (0.0, 0.98)
    assert est.effective_bounds((0.02, 0.98), "ATC") == (0.02, 1.0)
    assert "≤ 49" in est.bounds_note((0.02, 0.98), "ATT") and "≤ 49" in est.bounds_note((0.02, 0.98), "ATC")
    assert "not capped" in est.bounds_note((0.0, 1.0), "ATT") and "not capped" in est.bounds_note((0.0, 1.0), "ATC")


def test_swapping_the_treatment_labels_swaps_att_and_atc():
    rng = np.random.default_rng(5)
    n = 4000
    x = rng.normal(size=n)
    t = rng.binomial(1, 1 / (1 + np.exp(-1.5 * x)))
    frame = pd.DataFrame({"t": t, "s": 1 - t, "y": x + t * (1 + x) + rng.normal(size=n), "x": x})
    for estimand, mirror in (("ATT", "ATC"), ("ATC", "ATT"), ("ATE", "ATE")):
        rows = rows_by_method(quick(frame, EstimationSpec(treatment="t", outcome="y", covariates=["x"], estimand=estimand)))
        swapped = rows_by_method(quick(frame, EstimationSpec(treatment="s", outcome="y", covariates=["x"], estimand=mirror)))
        for method in ("naive", "gcomp", "ipw", "aipw"):
            assert abs(rows[method].estimate + swapped[method].estimate) < 1e-8, (estimand, method)
            assert abs(rows[method].std_error - swapped[method].std_error) < 1e-8, (estimand, method)


def test_interactions_make_the_regression_row_the_imputation_estimate_over_the_target(nhefs_frame):
    fit = smf.ols(f"wt82_71 ~ qsmk + qsmk:smokeintensity + {NHEFS_TERMS}", nhefs_frame).fit()
    design = est.build_design(nhefs_frame, NHEFS_SPEC)
    for estimand, rows_ in (("ATE", slice(None)), ("ATT", nhefs_frame["qsmk"] == 1), ("ATC", nhefs_frame["qsmk"] == 0)):
        target = nhefs_frame[rows_]
        expected = float((fit.predict(target.assign(qsmk=1)) - fit.predict(target.assign(qsmk=0))).mean())
        row, info = est.regression(design, estimand)
        assert abs(row.estimate - expected) < 1e-8 and row.estimand == estimand
        assert abs(info["coefficient"] - 3.52) > 0.05  # the plain coefficient is a different number (sensemakr's)


def test_a_formula_of_the_default_terms_gives_the_default_numbers(retention_frame, retention_result):
    terms = est.default_terms(est.N01_COVARIATES, est.N01_CATEGORICAL)
    assert terms == ("company_size + tenure_months + usage_score + prior_tickets + health_score + C(region) + "
                     "C(segment)")
    formula = rows_by_method(quick(retention_frame, N01_SPEC.model_copy(update={"outcome_terms": terms})))
    for method, row in rows_by_method(retention_result).items():
        assert abs(formula[method].estimate - row.estimate) < 1e-9, method
        assert abs(formula[method].std_error - row.std_error) < 1e-9, method


def test_propensity_terms_change_only_the_weighting_estimators(retention_frame, retention_result):
    spline = "cr(usage_score, df=4, constraints='center')"
    spec = N01_SPEC.model_copy(update={"propensity_terms": f"health_score + {spline} + C(region)"})
    result = quick(retention_frame, spec)
    rows, base = rows_by_method(result), rows_by_method(retention_result)
    for method in ("naive", "regression", "gcomp"):
        assert rows[method].estimate == base[method].estimate
    assert abs(rows["ipw"].estimate - base["ipw"].estimate) > 1e-4
    assert result.diagnostics.propensity_model.parameters == 1 + 1 + 4 + 3
    assert any("propensity model uses the terms" in note for note in result.diagnostics.notes)


def test_flexibility_choices_become_formula_terms(nhefs_frame):
    choices = {"age": "quadratic", "smokeintensity": "quadratic", "smokeyrs": "quadratic", "wt71": "quadratic"}
    categorical = ["education", "exercise", "active"]
    terms = est.flexibility_terms(NHEFS_COVARIATES, categorical, choices)
    assert terms == ("sex + race + age + I(age ** 2) + C(education) + smokeintensity + I(smokeintensity ** 2) + "
                     "smokeyrs + I(smokeyrs ** 2) + C(exercise) + C(active) + wt71 + I(wt71 ** 2)")
    assert est.flexibility_terms(NHEFS_COVARIATES, categorical, {}) is None  # all linear = the default design
    rows = rows_by_method(quick(nhefs_frame, NHEFS_SPEC.model_copy(update={"outcome_terms": terms})))
    assert round(rows["ipw"].estimate, 2) == 3.44
    spline = est.flexibility_terms(["age", "wt71"], [], {"age": "spline"})
    assert spline == "cr(age, df=4, constraints='center') + wt71"
    splined = rows_by_method(quick(nhefs_frame, NHEFS_SPEC.model_copy(update={"outcome_terms": est.flexibility_terms(
        NHEFS_COVARIATES, categorical, {**choices, "wt71": "spline"})})))
    assert abs(splined["ipw"].estimate - 3.44) < 0.3  # a flexible weight term moves the estimate only a little
    with pytest.raises(est.EstimationError, match="Unknown flexibility"):
        est.flexibility_terms(["age"], [], {"age": "cubic"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outcome_terms": "x + I(xx**2)"}, "The outcome terms 'x + I(xx**2)' name unknown column(s): xx."),
        ({"propensity_terms": "x + nope"}, "The propensity terms 'x + nope' name unknown column(s): nope."),
        ({"outcome_terms": "x + z"}, "use column(s) that are not in the adjustment set: z."),
        ({"outcome_terms": "x + t:x"}, "The treatment 't' cannot appear in the outcome terms"),
        ({"outcome_terms": "x +* group"}, "are not a valid formula"),
        ({"outcome_terms": "y ~ x"}, "take only the right-hand side"),
        ({"outcome_terms": "x + I(2 * x)"},
         "The outcome terms make the design singular: I(2 * x) is a linear combination of x."),
        ({"propensity_terms": "x + I(x + 1)"},
         "The propensity terms make the design singular: I(x + 1) is a linear combination of x."),
        ({"outcome_terms": "cr(x, df=4)"}, "cr(x, df=4)[4] is a linear combination of cr(x, df=4)[1], cr(x, df=4)[2], "
         "cr(x, df=4)[3]. Remove or change the redundant term(s). formulaic's cr/cs/cc spline bases sum to one"),
        ({"outcome_terms": "x + I(x * 0 + 3)"}, "I(x * 0 + 3) is constant"),
        ({"outcome_terms": "log(x)"}, "non-finite values in log(x)"),
    ],
)
@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
def test_bad_formulas_are_refused_naming_the_term(change, message):
    frame = small_frame().assign(z=1.0)
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x", "group"]).model_copy(update=change)
    with pytest.raises(est.EstimationError) as error:
        est.run_estimation(frame, spec)
    assert message in str(error.value)


def test_bad_inputs_leave_the_project_unchanged(retention):
    project, frame = retention
    bad = N01_SPEC.model_copy(update={"outcome_terms": "health_score + I(health_scor**2)"})
    with pytest.raises(est.EstimationError, match=r"unknown column\(s\): health_scor"):
        est.estimate_project(project, frame, bad, refutations=False)
    assert project.estimation is None and project.edit_log == []
    constant = frame.assign(churn=np.where(frame["outreach"] == 1, frame["churn"], 0))
    with pytest.raises(est.EstimationError) as error:
        est.estimate_project(project, constant, N01_SPEC, refutations=False)
    assert str(error.value).startswith("The outcome 'churn' is constant in the control arm (every one of its 3,962 "
                                       "rows is 0)")
    assert project.estimation is None


def test_outcome_constant_in_the_treated_arm_is_refused():
    frame = small_frame()
    frame.loc[frame["t"] == 1, "y"] = 2.5
    with pytest.raises(est.EstimationError, match=r"constant in the treated arm \(every one of its \d+ rows is 2.5\)"):
        est.run_estimation(frame, EstimationSpec(treatment="t", outcome="y", covariates=["x"]))


def test_att_with_no_treated_rows_after_trimming_is_refused():
    rng = np.random.default_rng(2)
    t = np.repeat([1, 0], [100, 500])
    x = np.where(t == 1, rng.uniform(1, 3, 600), rng.uniform(-2, 0, 600))  # every treated unit has e near 1
    frame = pd.DataFrame({"t": t, "y": x + t + rng.normal(size=600), "x": x})
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x"], estimand="ATT", trim="bounds", clip=(0.02, 0.55))
    design = est.build_design(frame, spec)
    assert est.propensity(design, (0, 1)).raw[design.t == 1].min() > 0.55
    with pytest.raises(est.EstimationError) as error:
        est.run_estimation(frame, spec)
    assert str(error.value).startswith(
        f"Trimming to propensities in [0.000, 0.550] removes every treated row (all {int(t.sum())} lie outside): "
        "the ATT is the effect on the treated units, and none is left to describe.")


def test_missing_indicators_with_formula_terms_are_refused():
    frame = small_frame()
    frame.loc[:5, "x"] = np.nan
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x"], missing="indicator", outcome_terms="x + I(x**2)")
    with pytest.raises(est.EstimationError, match="Missing indicators cannot be combined with formula terms"):
        est.run_estimation(frame, spec)


def test_results_table_carries_each_intervals_note(retention_result):
    from causal_core.estimation.interval_notes import interval_note

    table = est.estimates_table(retention_result)
    notes = dict(zip(table["method"], table["interval_note"], strict=True))
    for row in retention_result.estimates:
        assert notes[est.method_label(row)] == (interval_note(row, retention_result.diagnostics) or "")
    assert notes["IPW (Hájek)"] == ""  # measured on target (0.944 on retention), so no note
    assert notes["Regression adjustment (OLS)"].startswith("Approximate as an effect interval")


def test_bootstrap_refits_the_propensity_on_its_own_terms():
    """With different propensity terms the bootstrap must refit e on them (and the outcome models on theirs)."""
    spec = N01_SPEC.model_copy(update={"propensity_terms": "health_score + I(health_score**2) + prior_tickets + "
                                       "usage_score + C(region)", "bootstrap": 100})
    result = est.run_estimation(simulate_retention(2000, seed=3), spec, sensitivity=False, refutations=False)
    analytic, boot = rows_by_method(result), result.diagnostics.bootstrap
    assert boot.completed == 100
    for method in ("ipw", "aipw"):
        assert 0.8 < analytic[method].std_error / getattr(boot, method).se < 1.25, method


@pytest.mark.parametrize("estimand", ["ATE", "ATT", "ATC"])
def test_hajek_if_se_equals_the_stacked_m_estimation_sandwich(estimand):
    """The IPW SE stacks the logistic score with the two weighted-mean equations; check it against a sandwich
    built from a numerical Jacobian of those stacked estimating equations (no clipping binds here)."""
    from scipy.special import expit as expit_

    rng = np.random.default_rng(4)
    n = 600
    x = rng.normal(size=(n, 2))
    t = rng.binomial(1, expit_(0.3 + x @ np.array([0.8, -0.5])))
    y = 1 + x @ np.array([1.0, 0.5]) + t * (1 + x[:, 0]) + rng.normal(size=n)
    frame = pd.DataFrame({"t": t, "y": y, "x1": x[:, 0], "x2": x[:, 1]})
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], estimand=estimand, clip=(0.0, 1.0))
    design = est.build_design(frame, spec)
    ps = est.propensity(design, (0.0, 1.0))
    row = est.ipw(design, ps, estimand)
    A = ps.A

    def psi(theta: np.ndarray) -> np.ndarray:
        beta, mu1, mu0 = theta[:-2], theta[-2], theta[-1]
        e = expit_(A @ beta)
        w1, w0 = _ipw_weights(design.t, e, estimand)
        return np.column_stack([A * (design.t - e)[:, None], w1 * (design.y - mu1), w0 * (design.y - mu0)])

    w1, w0 = _ipw_weights(design.t, ps.raw, estimand)
    theta = np.r_[ps.fit.beta, np.sum(w1 * design.y) / w1.sum(), np.sum(w0 * design.y) / w0.sum()]
    assert np.abs(psi(theta).mean(axis=0)).max() < 1e-8  # the stacked equations hold at the estimates
    step = 1e-6
    jacobian = np.column_stack([
        (psi(theta + step * unit).mean(axis=0) - psi(theta - step * unit).mean(axis=0)) / (2 * step)
        for unit in np.eye(theta.size)
    ])
    scores = psi(theta)
    bread = np.linalg.inv(jacobian)
    covariance = bread @ (scores.T @ scores / n) @ bread.T / n
    contrast = np.r_[np.zeros(theta.size - 2), 1.0, -1.0]
    sandwich_se = float(np.sqrt(contrast @ covariance @ contrast))
    assert abs(row.estimate - (theta[-2] - theta[-1])) < 1e-10
    assert row.std_error == pytest.approx(sandwich_se * np.sqrt(n / (n - 1)), rel=1e-5)  # ours uses ddof = 1
    fixed = est.ipw(design, ps, estimand, se_method="fixed_weights")
    assert fixed.std_error != pytest.approx(row.std_error, rel=1e-3)  # the propensity step matters here


def test_clustered_hajek_if_se_equals_the_clustered_stacked_sandwich():
    from scipy.special import expit as expit_

    rng = np.random.default_rng(8)
    n, groups = 800, 40
    cluster = rng.integers(0, groups, n)
    shock = rng.normal(size=groups)[cluster]
    x = rng.normal(size=n) + 0.5 * shock
    t = rng.binomial(1, expit_(0.5 * x))
    y = x + t * (1 + 0.5 * x) + shock + rng.normal(size=n)
    frame = pd.DataFrame({"t": t, "y": y, "x": x, "g": cluster})
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x"], estimand="ATT", cluster="g", clip=(0.0, 1.0))
    design = est.build_design(frame, spec)
    ps = est.propensity(design, (0.0, 1.0))
    row = est.ipw(design, ps, "ATT")
    assert row.se_type == f"cluster-robust IF ({groups} clusters)"
    A, e = ps.A, ps.raw
    w0 = (1 - design.t) * e / (1 - e)
    mu1, mu0 = design.y[design.t == 1].mean(), np.sum(w0 * design.y) / w0.sum()
    scores = np.column_stack([A * (design.t - e)[:, None], design.t * (design.y - mu1), w0 * (design.y - mu0)])
    k = A.shape[1]
    jacobian = np.zeros((k + 2, k + 2))
    jacobian[:k, :k] = -(A * (e * (1 - e))[:, None]).T @ A / n
    jacobian[k, k] = -design.t.mean()
    jacobian[k + 1, :k] = (A * (w0 * (design.y - mu0))[:, None]).mean(axis=0)  # d w0 / d eta = w0
    jacobian[k + 1, k + 1] = -w0.mean()
    sums = np.stack([np.bincount(design.clusters, weights=scores[:, j], minlength=groups) for j in range(k + 2)], 1)
    bread = np.linalg.inv(jacobian)
    covariance = bread @ (sums.T @ sums) @ bread.T / n**2 * groups / (groups - 1)
    contrast = np.r_[np.zeros(k), 1.0, -1.0]
    assert row.std_error == pytest.approx(float(np.sqrt(contrast @ covariance @ contrast)), rel=1e-8)
