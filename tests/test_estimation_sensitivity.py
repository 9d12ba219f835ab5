"""Sensitivity (E-values, sensemakr) against published values, and refutation verdicts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from causal_core import estimation as est
from causal_core.data.datasets import simulate_retention
from causal_core.estimation import refutation, sensitivity
from causal_core.project import EstimateRow, EstimationSpec

N01_SPEC = EstimationSpec(treatment="outreach", outcome="churn", covariates=est.N01_COVARIATES)

# Cinelli & Hazlett (2020), Darfur example (sensemakr README): directlyharmed on peacefactor.
DARFUR = {"estimate": 0.09731581928495575, "se": 0.023256537809811115, "t": 4.184449984808213, "dof": 783,
          "r2dxj_x_female": 0.009081065190331078, "r2yxj_dx_female": 0.1090339154278416}


@pytest.fixture(scope="module")
def retention_result():
    frame = simulate_retention()
    return est.run_estimation(frame, N01_SPEC, true_effect=float(frame["true_individual_effect"].mean()))


# ---- E-values -----------------------------------------------------------------------------------
def test_evalue_textbook_values():
    # VanderWeele & Ding (2017): RR = 3.9 → E-value 7.26; CI lower limit 1.8 → 3.00.
    assert round(sensitivity.evalue_rr(3.9), 2) == 7.26
    assert round(sensitivity.evalue_rr(1.8), 2) == 3.00
    assert sensitivity.evalue_rr(1 / 3.9) == pytest.approx(sensitivity.evalue_rr(3.9))
    assert sensitivity.evalue_rr(1.0) == 1.0


def test_evalue_binary_outcome_uses_the_baseline_risk():
    out = sensitivity.evalue(-0.05, -0.07, -0.03, binary=True, baseline_risk=0.25)
    assert out.risk_ratio == pytest.approx(0.8)
    rr = 1 / 0.8
    assert out.evalue_estimate == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
    rr_ci = 1 / (0.22 / 0.25)  # the CI limit nearer the null: -0.03
    assert out.evalue_ci == pytest.approx(rr_ci + math.sqrt(rr_ci * (rr_ci - 1)))
    crossing = sensitivity.evalue(-0.01, -0.03, 0.01, binary=True, baseline_risk=0.25)
    assert crossing.evalue_ci == 1.0


def test_evalue_continuous_outcome_uses_exp_091_d():
    out = sensitivity.evalue(2.0, 1.0, 3.0, binary=False, outcome_sd=10.0)
    rr = math.exp(0.91 * 0.2)
    assert out.risk_ratio == pytest.approx(rr)
    assert out.evalue_estimate == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
    assert out.rr_ci[0] == pytest.approx(math.exp(0.091))


def test_retention_evalue(retention_result):
    evalue = retention_result.sensitivity.evalue
    assert evalue.method == "aipw"
    assert round(evalue.risk_ratio, 3) == 0.803
    assert round(evalue.evalue_estimate, 2) == 1.80
    assert round(evalue.evalue_ci, 2) == 1.50
    assert "at least 1.80 with both outreach and churn" in evalue.sentence


# ---- sensemakr ----------------------------------------------------------------------------------
def test_robustness_value_matches_sensemakr_darfur():
    assert round(sensitivity.robustness_value(DARFUR["t"], DARFUR["dof"]), 4) == 0.1388
    assert round(sensitivity.robustness_value(DARFUR["t"], DARFUR["dof"], alpha=0.05), 4) == 0.0763
    assert round(sensitivity.partial_r2(DARFUR["t"], DARFUR["dof"]), 4) == 0.0219
    assert sensitivity.robustness_value(0.5, 783, alpha=0.05) == 0.0


def test_benchmark_bounds_match_sensemakr_darfur():
    expected = {1: (0.0092, 0.1246, 0.0752, 0.0219), 2: (0.0183, 0.2493, 0.0529, 0.0204), 3: (0.0275, 0.3741, 0.0304, 0.0187)}
    for k, (r2dz, r2yz, adjusted, adjusted_se) in expected.items():
        bound = sensitivity.ovb_bound(DARFUR["estimate"], DARFUR["se"], DARFUR["dof"], DARFUR["r2dxj_x_female"],
                                      DARFUR["r2yxj_dx_female"], float(k))
        assert round(bound["r2dz_x"], 4) == r2dz
        assert round(bound["r2yz_dx"], 4) == r2yz
        assert round(bound["adjusted_estimate"], 4) == adjusted
        assert round(bound["adjusted_se"], 4) == adjusted_se
    assert sensitivity.ovb_bound(0.1, 0.02, 783, 0.6, 0.1, 2.0) is None  # implied R² ≥ 1: impossible


def test_benchmark_bound_whose_outcome_r2_would_exceed_one_is_impossible_not_a_zero_width_interval():
    # Support's strongest benchmark (backlog_start: 0.155 with treatment, 0.2015 with outcome) at k = 3
    # implies R²_{Y~Z|D,X} > 1; sensemakr caps it at 1 and prints a zero-width CI.
    assert sensitivity.ovb_bound(-2.97, 1.2, 3990, 0.155, 0.2015, 2.0) is not None
    assert sensitivity.ovb_bound(-2.97, 1.2, 3990, 0.155, 0.2015, 3.0) is None


def test_retention_benchmark_bias_grows_with_k_and_the_estimate_crosses_zero():
    frame = simulate_retention()
    design = est.build_design(frame, N01_SPEC)
    regression_row, info = est.regression(design, "ATE")
    summary = sensitivity.sensemakr_summary(design, info, "treatment", "outcome")
    bounds = summary.benchmark.bounds
    assert summary.benchmark.covariate == "health_score"
    assert [round(b.bias, 4) for b in bounds] == [0.0267, 0.0541, 0.0824]
    assert [round(b.adjusted_estimate, 4) for b in bounds] == [-0.0175, 0.0099, 0.0383]
    assert bounds[0].sentence.endswith("statistically indistinguishable from zero.")
    assert bounds[1].sentence.endswith("would reverse or erase the effect.")


def test_benchmark_partial_r2_from_the_gram_matrix_equals_refitting():
    frame = simulate_retention()
    design = est.build_design(frame, N01_SPEC)
    r2 = sensitivity.benchmark_r2(design)
    others = "company_size + tenure_months + usage_score + prior_tickets + C(region) + C(segment)"
    treatment_fit = smf.ols(f"outreach ~ health_score + {others}", data=frame).fit()
    t = treatment_fit.tvalues["health_score"]
    assert r2["health_score"].r2dxj_x == pytest.approx(t**2 / (t**2 + treatment_fit.df_resid), rel=1e-8)
    full = smf.ols(f"churn ~ outreach + health_score + {others}", data=frame).fit()
    reduced = smf.ols("churn ~ outreach + company_size + tenure_months + usage_score + prior_tickets + health_score"
                      " + C(segment)", data=frame).fit()
    group = (reduced.ssr - full.ssr) / reduced.ssr  # region as one group of dummies
    assert r2["region"].r2yxj_dx == pytest.approx(group, rel=1e-8)


def test_retention_sensemakr_summary(retention_result):
    summary = retention_result.sensitivity.sensemakr
    assert round(summary.rv, 4) == 0.0487
    assert round(summary.rv_alpha, 4) == 0.0243
    assert round(summary.partial_r2_treatment, 4) == 0.0025
    bench = summary.benchmark
    assert bench.covariate == "health_score"
    first, second, _ = bench.bounds
    assert round(first.adjusted_estimate, 3) == -0.018
    assert first.sentence.startswith("A confounder 1× as strong as health_score would move the estimate from −0.044 to")
    assert "statistically indistinguishable from zero" in first.sentence
    assert second.adjusted_estimate > 0 and "reverse or erase" in second.sentence


# ---- refutations --------------------------------------------------------------------------------
def test_retention_refutations_pass_with_expected_vs_observed(retention_result):
    # refutations run per estimator (refutation.py); the doubly robust row's
    verdicts = {item.test: item for item in retention_result.refutations if item.method == "aipw"}
    assert list(verdicts) == ["placebo treatment", "outcome invariance", "random common cause", "data subsets"]
    assert all(item.verdict == "PASS" and item.sentence.startswith("PASS — Doubly robust (AIPW): ")
               for item in verdicts.values())
    placebo = verdicts["placebo treatment"]
    assert placebo.expected == "≈ 0" and abs(placebo.observed) < 0.01 and len(placebo.placebo_estimates) == 3
    rcc = verdicts["random common cause"]
    assert rcc.expected_value == pytest.approx(-0.0476, abs=1e-4) and abs(rcc.change) < rcc.tolerance
    subsets = verdicts["data subsets"]
    assert len(subsets.subset_estimates) == 5 and abs(subsets.change) <= subsets.tolerance


class FakeCore:
    def __init__(self, row):
        self._row = row

    def row(self, method):
        return self._row


def test_refutations_warn_when_the_estimator_misbehaves():
    """An 'estimator' that always reports the same strong effect fails the placebo test."""
    frame = simulate_retention(800, seed=5)
    design = est.build_design(frame, N01_SPEC)
    original = EstimateRow(method="aipw", estimand="ATE", estimate=-0.05, std_error=0.01, ci_low=-0.07, ci_high=-0.03)
    stuck = EstimateRow(method="aipw", estimand="ATE", estimate=-0.05, std_error=0.01, ci_low=-0.07, ci_high=-0.03)
    rng = np.random.default_rng(0)
    placebo = refutation.placebo_treatment(design, N01_SPEC, original, lambda d, s, m: FakeCore(stuck), rng)
    assert placebo.verdict == "WARN"
    assert placebo.sentence.startswith("WARN — Doubly robust (AIPW): a randomly shuffled outreach")
    moved = EstimateRow(method="aipw", estimand="ATE", estimate=-0.02, std_error=0.01, ci_low=-0.04, ci_high=0.0)
    rcc = refutation.random_common_cause(design, N01_SPEC, original, lambda d, s, m: FakeCore(moved), rng)
    assert rcc.verdict == "WARN" and "fragile" in rcc.sentence
    subsets = refutation.data_subsets(design, N01_SPEC, original, lambda d, s, m: FakeCore(moved), rng)
    assert subsets.verdict == "WARN" and subsets.observed == pytest.approx(-0.02)


def test_random_common_cause_column_is_added_not_replacing():
    frame = pd.DataFrame({"t": [0, 1] * 50, "y": np.arange(100.0), "x": np.linspace(0, 1, 100)})
    design = est.build_design(frame, EstimationSpec(treatment="t", outcome="y", covariates=["x"]))
    augmented = design.with_column("random_common_cause", np.ones(100))
    assert augmented.names == ["x", "random_common_cause"] and augmented.X.shape == (100, 2)
    assert design.X.shape == (100, 1)


def _clustered_frame(seed: int = 5, clusters: int = 30, size: int = 40) -> pd.DataFrame:
    """Treatment assigned by cluster and a cluster random effect: classical SEs are far too small here."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(clusters), size)
    x = rng.standard_normal(g.size)
    t = rng.binomial(1, 0.5, clusters)[g]
    y = 0.3 * t + x + 2 * rng.standard_normal(clusters)[g] + rng.standard_normal(g.size)
    return pd.DataFrame({"t": t, "y": y, "x": x, "g": g})


def test_sensemakr_uses_the_cluster_robust_se_when_a_cluster_is_set():
    frame = _clustered_frame()
    roles = {"treatment": "t", "outcome": "y", "covariates": ["x"]}
    plain = est.run_estimation(frame, EstimationSpec(**roles), refutations=False).sensitivity.sensemakr
    clustered = est.run_estimation(frame, EstimationSpec(**roles, cluster="g"), refutations=False).sensitivity.sensemakr
    assert clustered.rv == pytest.approx(plain.rv)  # the point part depends on partial R² only
    assert clustered.se > 3 * plain.se and clustered.rv_alpha < plain.rv_alpha
    assert "cluster-robust SE (30 clusters" in clustered.rv_sentence
    assert "cluster-robust" not in plain.rv_sentence
    assert clustered.rv_sentence.startswith("About the regression coefficient of y on t and the covariates")


def test_sentences_name_their_estimate_and_never_print_zero_percent():
    frame = _clustered_frame(seed=6).assign(y=lambda f: f["x"] + np.random.default_rng(1).standard_normal(len(f)))
    result = est.run_estimation(frame, EstimationSpec(treatment="t", outcome="y", covariates=["x"]), refutations=False)
    sensemakr, evalue = result.sensitivity.sensemakr, result.sensitivity.evalue
    assert "0.00%" not in sensemakr.rv_sentence or sensemakr.partial_r2_treatment >= 0.0001
    if sensemakr.partial_r2_treatment < 0.0001:
        assert "< 0.01 %" in sensemakr.rv_sentence
    assert sensitivity._share(0.00001) == "< 0.01 %" and sensitivity._share(0.0123) == "1.23%"
    if evalue.sentence:
        assert evalue.sentence.startswith(f"E-value of the {evalue.method.upper()} row")


def _smoke_roles(frame: pd.DataFrame, units: list[str]):
    from causal_core.audit.helpers import Roles
    from causal_core.project import Timing

    return Roles(treatment="t", outcome="y", guardrails=[], unit_columns=units, time_column=None,
                 timing={"x": Timing.pre_treatment}, timing_label={}, role_label={}, simulation_truth=set(),
                 columns=list(frame.columns))


def test_the_smoke_test_clusters_by_unit_when_units_repeat():
    """Panel rows (30 units × 40 rows, unit-level treatment): HC3 ignores the dependence, so CR1 by unit is added."""
    from causal_core.audit.balance import DesignSource
    from causal_core.audit.smoke_test import regression_smoke_test

    frame = _clustered_frame().rename(columns={"g": "unit"})
    coded = frame["t"].astype(float)
    clustered = regression_smoke_test(DesignSource(frame), _smoke_roles(frame, ["unit"]), coded, 10)
    plain = regression_smoke_test(DesignSource(frame), _smoke_roles(frame, []), coded, 10)
    naive_c, naive_p = clustered.iloc[0], plain.iloc[0]
    assert naive_c["treatment_coef"] == pytest.approx(naive_p["treatment_coef"])
    assert naive_c["robust_se"] == pytest.approx(naive_p["robust_se"])  # N09's HC3 column is kept as published
    assert naive_c["unit_cluster_se"] > 3 * naive_p["robust_se"]
    assert naive_c["note"].startswith("30 units of unit repeat over 1,200 rows: HC3")
    assert f"{naive_c['unit_cluster_se']:.4g}" in naive_c["note"]
    assert not naive_p["note"] and pd.isna(naive_p["unit_cluster_se"])
    unique = frame.assign(unit=np.arange(len(frame)))  # a unit id that never repeats: HC3 as before
    again = regression_smoke_test(DesignSource(unique), _smoke_roles(unique, ["unit"]), coded, 10).iloc[0]
    assert pd.isna(again["unit_cluster_se"]) and not again["note"]
