"""Front-door and IV designs: textbook values (Pearl's Primer table, Wooldridge's Mroz examples), simulations
where adjustment or OLS fails and the design does not, the bootstrap's progress/stop, bad inputs, storage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels.datasets import mroz

from causal_core import dag as dag_module
from causal_core import estimation as est
from causal_core.estimation.constants import EstimationError
from causal_core.estimation.frontdoor import (
    FrontdoorSpec,
    _Prepared,
    design_table,
    estimate_frontdoor,
    frontdoor_bootstrap,
    frontdoor_from_dag,
    stored_design,
    with_design,
)
from causal_core.estimation.iv import TF_BAR, IVSpec, estimate_iv, format_ar_set, instruments_from_dag
from causal_core.project import DagEdge, DagNode, DagSpec, EstimationResult, EstimationSpec, Project
from causal_core.project_file import project_from_json, project_to_json


# ---- simulated and textbook data --------------------------------------------------------------
def primer_table() -> pd.DataFrame:
    """Pearl, Glymour & Jewell (2016), Causal Inference in Statistics: A Primer, §3.4, Table 3.1 (800 people)."""
    cells = [  # smoker, tar, cancer, count
        (1, 1, 0, 323), (1, 1, 1, 57), (0, 1, 0, 1), (0, 1, 1, 19),
        (1, 0, 0, 18), (1, 0, 1, 2), (0, 0, 0, 38), (0, 0, 1, 342),
    ]
    rows = [(x, m, y) for x, m, y, count in cells for _ in range(count)]
    return pd.DataFrame(rows, columns=["smoking", "tar", "cancer"])


def smoking_sim(n: int, seed: int) -> pd.DataFrame:
    """Latent genotype U → smoking and → cancer; smoking → tar → cancer. True ATE = 0.7 × 0.4 = 0.28."""
    rng = np.random.default_rng(seed)
    u = rng.binomial(1, 0.5, n)
    x = rng.binomial(1, 0.2 + 0.6 * u)
    m = rng.binomial(1, 0.1 + 0.7 * x)
    y = rng.binomial(1, 0.1 + 0.4 * m + 0.4 * u)
    return pd.DataFrame({"smoking": x, "tar": m, "cancer": y, "age_group": rng.integers(0, 3, n)})


SMOKING_ATE = 0.28


def continuous_sim(n: int, seed: int) -> pd.DataFrame:
    """Continuous mediator: M = 1 + 2X + e, Y = 1.5 M + 2U + e with U latent → X. True ATE = 3."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=n)
    x = rng.binomial(1, 1 / (1 + np.exp(-2 * u)))
    m = 1 + 2 * x + rng.normal(size=n)
    y = 1.5 * m + 2 * u + rng.normal(size=n)
    return pd.DataFrame({"x": x, "m": m, "y": y, "w": rng.normal(size=n)})


def iv_sim(n: int, seed: int, strength: float = 1.0) -> pd.DataFrame:
    """Z → X → Y with U → X and U → Y: OLS is biased upwards, 2SLS is not. True slope = 2."""
    rng = np.random.default_rng(seed)
    u, z, w = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    x = strength * z + u + 0.5 * w + rng.normal(size=n)
    y = 2 * x + 3 * u + w + rng.normal(size=n)
    return pd.DataFrame({"z": z, "x": x, "y": y, "w": w})


def late_sim(n: int, seed: int) -> tuple[pd.DataFrame, float, float, float]:
    """Randomised encouragement Z; 30 % always-takers, 20 % never-takers, 50 % compliers; effects differ by type.

    Returns the frame, the compliers' average effect (the LATE), the population ATE and the complier share.
    """
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, size=n, p=[0.3, 0.2, 0.5])  # 0 always, 1 never, 2 complier
    z = rng.binomial(1, 0.5, n)
    t = np.where(kind == 0, 1, np.where(kind == 1, 0, z))
    effect = np.array([4.0, 0.0, 1.0])[kind] + rng.normal(0, 0.5, n)
    y = 2.0 * (kind == 0) + effect * t + rng.normal(size=n)
    frame = pd.DataFrame({"encouraged": z, "enrolled": t, "earnings": y})
    return frame, float(effect[kind == 2].mean()), float(effect.mean()), 0.5


def project_with_estimation(frame: pd.DataFrame, treatment: str, outcome: str) -> Project:
    spec = EstimationSpec(treatment=treatment, outcome=outcome)
    return Project(treatment=treatment, outcome=outcome, estimation=EstimationResult(spec=spec, n_used=len(frame)))


# ---- front door: published and textbook values ------------------------------------------------
def test_plugin_formula_reproduces_the_primer_smoking_table():
    result = estimate_frontdoor(primer_table(), FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"],
                                                              bootstrap=0))
    means = result.diagnostics.potential_outcome_means
    assert means.treated == pytest.approx(0.5475, abs=1e-12)  # Primer: P(cancer | do(smoking)) = 0.5475
    assert means.control == pytest.approx(0.5025, abs=1e-12)  # Primer: P(cancer | do(no smoking)) = 0.5025
    assert result.main.estimate == pytest.approx(0.045, abs=1e-12)
    naive = result.estimates[1]
    assert naive.method == "naive" and naive.estimate == pytest.approx(59 / 400 - 361 / 400)  # −0.755
    assert result.diagnostics.method == "plugin"
    assert any("No bootstrap" in warning for warning in result.warnings) and result.main.ci_low is None


def test_frontdoor_recovers_the_truth_where_the_naive_comparison_does_not():
    frame = smoking_sim(20_000, seed=7)
    result = estimate_frontdoor(frame, FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"],
                                                     bootstrap=300, seed=1))
    row = result.main
    assert row.estimand == "ATE" and abs(row.estimate - SMOKING_ATE) < 0.02
    assert row.ci_low < SMOKING_ATE < row.ci_high and row.ci_high - row.ci_low < 0.06
    naive = result.estimates[1]
    assert naive.estimate - SMOKING_ATE > 0.15 and not naive.ci_low < SMOKING_ATE < naive.ci_high
    assert "percentile 95% CI" in row.se_type and "300 replicates" in row.se_type


def test_plugin_with_discrete_covariates_matches_the_formula_written_out():
    frame = smoking_sim(3_000, seed=3)
    result = estimate_frontdoor(frame, FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"],
                                                     covariates=["age_group"], bootstrap=0))
    expected = {0: 0.0, 1: 0.0}
    for _, cell in frame.groupby("age_group"):
        p_w = len(cell) / len(frame)
        p_x = cell["smoking"].value_counts(normalize=True)
        mu = cell.groupby(["tar", "smoking"])["cancer"].mean()
        for x in (0, 1):
            p_m = cell.loc[cell["smoking"] == x, "tar"].value_counts(normalize=True)
            expected[x] += p_w * sum(p_m[m] * sum(mu[(m, xp)] * p_x[xp] for xp in (0, 1)) for m in p_m.index)
    assert result.main.estimate == pytest.approx(expected[1] - expected[0], abs=1e-12)
    assert result.diagnostics.covariate_cells == 3


def test_linear_frontdoor_with_a_continuous_mediator_recovers_the_product_of_stages():
    frame = continuous_sim(20_000, seed=11)
    result = estimate_frontdoor(frame, FrontdoorSpec(treatment="x", outcome="y", mediators=["m"], covariates=["w"],
                                                     bootstrap=200, ci="normal"))
    assert result.diagnostics.method == "linear" and "continuous" in result.diagnostics.method_reason
    assert abs(result.main.estimate - 3.0) < 0.1 and result.main.ci_low < 3.0 < result.main.ci_high
    stage = result.diagnostics.stage_effects[0]
    assert stage.treatment_to_mediator == pytest.approx(2.0, abs=0.05)
    assert stage.mediator_to_outcome == pytest.approx(1.5, abs=0.05)
    assert result.estimates[1].estimate > 4.5  # the confounded comparison
    half = (result.main.ci_high - result.main.ci_low) / 2
    assert half == pytest.approx(est.Z95 * result.main.std_error)


@pytest.mark.parametrize("frame, spec", [
    (smoking_sim(2_000, 5), FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"], bootstrap=60)),
    (continuous_sim(2_000, 5), FrontdoorSpec(treatment="x", outcome="y", mediators=["m"], bootstrap=60)),
])
def test_frontdoor_is_location_equivariant_and_scales_with_the_outcome(frame, spec):
    base = estimate_frontdoor(frame, spec)
    shifted = estimate_frontdoor(frame.assign(**{spec.outcome: frame[spec.outcome] + 100.0}), spec)
    scaled = estimate_frontdoor(frame.assign(**{spec.outcome: frame[spec.outcome] * 3.0}), spec)
    assert shifted.main.estimate == pytest.approx(base.main.estimate, abs=1e-9)
    assert shifted.main.ci_low == pytest.approx(base.main.ci_low, abs=1e-9)  # same seed → same replicates
    assert scaled.main.estimate == pytest.approx(3 * base.main.estimate, rel=1e-9)
    assert scaled.main.std_error == pytest.approx(3 * base.main.std_error, rel=1e-9)


def test_bootstrap_is_seeded_reports_progress_and_can_be_stopped():
    frame = smoking_sim(2_000, 9)
    spec = FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"], bootstrap=200, seed=5)
    seen: list[float] = []
    first = estimate_frontdoor(frame, spec, progress=lambda fraction, message: seen.append(fraction))
    again = estimate_frontdoor(frame, spec)
    assert (first.main.ci_low, first.main.ci_high) == (again.main.ci_low, again.main.ci_high)
    other = estimate_frontdoor(frame, spec.model_copy(update={"seed": 6}))
    assert other.main.ci_low != first.main.ci_low
    assert seen == sorted(seen) and seen[-1] == 1.0
    calls = iter([False, False])  # two batches of 50, then the Stop button
    prepared = _Prepared(frame, spec)
    boot = frontdoor_bootstrap(prepared, 200, 5, should_stop=lambda: next(calls, True), max_cells=50 * 2_000)
    assert boot["cancelled"] and boot["completed"] == 100 and boot["replicates"].size == 100
    stopped_now = estimate_frontdoor(frame, spec, should_stop=lambda: True)
    assert stopped_now.diagnostics.bootstrap.completed == 0 and stopped_now.main.ci_low is None
    assert any("cancelled after 0 of 200" in warning for warning in stopped_now.warnings)


def test_clustered_bootstrap_resamples_whole_clusters():
    frame = smoking_sim(3_000, 2).assign(site=np.repeat(np.arange(60), 50))
    result = estimate_frontdoor(frame, FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"],
                                                     cluster="site", bootstrap=100))
    assert "60 clusters resampled" in result.main.se_type


# ---- front door: bad inputs ------------------------------------------------------------------
@pytest.mark.parametrize("change, message", [
    ({"mediators": []}, "needs at least one mediator"),
    ({"mediators": ["tarr"]}, "Mediator column(s) not in the data: tarr"),
    ({"mediators": ["cancer"]}, "'cancer' cannot be both the outcome and a mediator"),
    ({"treatment": "age_group"}, "The front-door estimator needs a binary treatment"),
    ({"mediators": ["constant"]}, "The mediator 'constant' has no variation"),
    ({"method": "plugin", "mediators": ["dose"]}, "needs discrete mediators"),
    ({"bootstrap": -1}, "must be 0 (no interval) or at least 50 (got -1"),
    ({"bootstrap": 10}, "must be 0 (no interval) or at least 50 (got 10"),
])
def test_frontdoor_bad_inputs_have_specific_messages(change, message):
    frame = smoking_sim(500, 1).assign(constant=1, dose=np.linspace(0, 1, 500))
    spec = FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"], bootstrap=0).model_copy(update=change)
    with pytest.raises(est.EstimationError) as error:
        estimate_frontdoor(frame, spec)
    assert message in str(error.value)


def test_plugin_positivity_failure_names_the_cell():
    frame = smoking_sim(500, 1)
    frame.loc[frame.index[:5], ["smoking", "tar"]] = [1, 2]  # mediator level 2 seen only among the treated
    with pytest.raises(est.EstimationError, match="mediator cell tar=2 has 5 row\\(s\\), all treated"):
        estimate_frontdoor(frame, FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"], bootstrap=0))


# ---- IV: published values ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def mroz_frame() -> pd.DataFrame:
    return mroz.load().dropna(subset=["lwage"])


def test_2sls_reproduces_wooldridge_example_15_1(mroz_frame):
    """Wooldridge, Introductory Econometrics, Ex. 15.1: log(wage) on educ, instrument fatheduc, n = 428:
    2SLS 0.0591 (SE 0.0351); OLS 0.109 (0.014); first stage educ on fatheduc t = 9.43 (F = 88.84)."""
    result = estimate_iv(mroz_frame, IVSpec(treatment="educ", outcome="lwage", instruments=["fatheduc"], se="unadjusted"))
    iv, ols = result.estimates
    assert (round(iv.estimate, 4), round(iv.std_error, 4)) == (0.0592, 0.0351)
    assert (round(ols.estimate, 3), round(ols.std_error, 3)) == (0.109, 0.014)
    first = result.diagnostics.first_stage
    assert round(np.sqrt(first.f), 2) == 9.43 and round(first.partial_r2, 3) == 0.173
    assert result.n_used == 428 and [w.split(" is below")[0] for w in result.warnings] == ["First-stage F = 88.84"]
    assert "approximate: first-stage F = 88.8 is below the tF bar 104.7" in result.main.se_type  # F 89 < 104.7
    assert iv.estimand == "IV slope (constant effect)"  # educ is continuous: a slope, not an ATE or LATE


def test_2sls_reproduces_wooldridge_example_15_5_with_exogenous_controls(mroz_frame):
    """Wooldridge Ex. 15.5: instruments motheduc, fatheduc; controls exper, exper²: 0.0614 (SE 0.0314);
    joint first-stage F = 55.40; Sargan over-identification statistic 0.378 (p ≈ 0.54)."""
    spec = IVSpec(treatment="educ", outcome="lwage", instruments=["motheduc", "fatheduc"],
                  covariates=["exper", "expersq"], se="unadjusted")
    result = estimate_iv(mroz_frame, spec)
    assert (round(result.main.estimate, 4), round(result.main.std_error, 4)) == (0.0614, 0.0314)
    assert round(result.diagnostics.first_stage.f, 2) == 55.40
    assert round(result.diagnostics.tests.overidentification.statistic, 3) == 0.378
    robust = estimate_iv(mroz_frame, spec.model_copy(update={"se": "robust"}))
    assert robust.main.estimate == pytest.approx(result.main.estimate) and robust.main.std_error != result.main.std_error


def test_anderson_rubin_set_inverts_the_reduced_form_f_test(mroz_frame):
    """At the AR set's limits, the F test of the instrument in a regression of y − β₀·educ is at its 5 % critical value."""
    result = estimate_iv(mroz_frame, IVSpec(treatment="educ", outcome="lwage", instruments=["fatheduc"], se="unadjusted"))
    ar = result.diagnostics.anderson_rubin
    assert ar.kind == "interval" and ar.low < result.main.estimate < ar.high
    exog = sm.add_constant(mroz_frame[["fatheduc"]])
    for beta in (ar.low, ar.high):
        fit = sm.OLS(mroz_frame["lwage"] - beta * mroz_frame["educ"], exog).fit()
        assert fit.tvalues["fatheduc"] ** 2 == pytest.approx(ar.critical_f, rel=0.02)


# ---- IV: simulations ------------------------------------------------------------------------------
def test_2sls_is_unbiased_where_ols_is_not():
    result = estimate_iv(iv_sim(20_000, 4), IVSpec(treatment="x", outcome="y", instruments=["z"], covariates=["w"]))
    iv, ols = result.estimates
    assert abs(iv.estimate - 2.0) < 0.05 and iv.ci_low < 2.0 < iv.ci_high
    assert ols.estimate - 2.0 > 0.5 and not ols.ci_low < 2.0 < ols.ci_high
    assert result.diagnostics.first_stage.f > 1000 and result.diagnostics.tests.endogeneity.pvalue < 1e-6


def test_binary_treatment_and_instrument_is_labelled_late_and_estimates_the_compliers_effect():
    frame, late, ate, share = late_sim(40_000, 8)
    result = estimate_iv(frame, IVSpec(treatment="enrolled", outcome="earnings", instruments=["encouraged"]))
    row = result.main
    assert row.estimand == "LATE (compliers)" and "not the ATE" in result.diagnostics.estimand_sentence
    assert abs(row.estimate - late) < 0.08 and row.ci_low < late < row.ci_high
    assert not row.ci_low < ate < row.ci_high  # the ATE (≈ 1.7) is a different number
    assert result.diagnostics.complier_share == pytest.approx(share, abs=0.01)


def test_weak_first_stage_is_a_warning_with_a_wide_anderson_rubin_set():
    result = estimate_iv(iv_sim(400, 3, strength=0.08), IVSpec(treatment="x", outcome="y", instruments=["z"]))
    first = result.diagnostics.first_stage
    assert first.f < 10
    weak = [w for w in result.warnings if w.startswith("Weak instrument")]
    assert weak and "Staiger–Stock" in weak[0] and "Stock–Yogo" in weak[0] and "16.38" in weak[0]
    ar = result.diagnostics.anderson_rubin
    assert ar.kind in {"unbounded", "union", "whole line"} or (ar.high - ar.low) > (result.main.ci_high - result.main.ci_low)


def test_moderate_first_stage_between_10_and_stock_yogo_gets_the_softer_warning():
    frame = iv_sim(1_000, 12, strength=0.17)
    result = estimate_iv(frame, IVSpec(treatment="x", outcome="y", instruments=["z"]))
    f_value = result.diagnostics.first_stage.f
    if not 10 <= f_value < 16.38:
        pytest.fail(f"the simulated first stage should fall between 10 and 16.38, got {f_value:.2f}")
    assert any(w.startswith("Moderately weak instrument") for w in result.warnings)


def test_cluster_robust_2sls_counts_clusters():
    frame = iv_sim(2_000, 5).assign(site=np.repeat(np.arange(40), 50))
    result = estimate_iv(frame, IVSpec(treatment="x", outcome="y", instruments=["z"], se="cluster", cluster="site"))
    assert "cluster-robust (40 clusters)" in result.main.se_type
    assert result.diagnostics.anderson_rubin.kind == "interval"


# ---- IV: bad inputs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("change, message", [
    ({"instruments": []}, "2SLS needs at least one instrument"),
    ({"instruments": ["flat"]}, "The instrument 'flat' has no variation (every complete row is 1)"),
    ({"instruments": ["z2"], "covariates": ["w"]}, "collinear with the covariates"),
    ({"instruments": ["zz"]}, "Instrument column(s) not in the data: zz"),
    ({"instruments": ["x"]}, "'x' cannot be both the treatment and a instrument"),
    ({"se": "cluster"}, "Cluster-robust SEs need a cluster column"),
    ({"treatment": "label"}, "2SLS needs a numeric or two-valued treatment"),
])
def test_iv_bad_inputs_have_specific_messages(change, message):
    frame = iv_sim(300, 1)
    frame = frame.assign(flat=1, z2=2 * frame["w"] + 1, label=np.where(frame["x"] > 0, "hi", np.where(frame["x"] > -1, "mid", "lo")))
    spec = IVSpec(treatment="x", outcome="y", instruments=["z"]).model_copy(update=change)
    with pytest.raises(est.EstimationError) as error:
        estimate_iv(frame, spec)
    assert message in str(error.value)


# ---- storage and the DAG prefill -------------------------------------------------------------------
def test_results_are_stored_copy_on_write_and_round_trip_through_json():
    frame = smoking_sim(1_000, 1)
    project = project_with_estimation(frame, "smoking", "cancer")
    before = project_to_json(project)
    fd = estimate_frontdoor(frame, FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"], bootstrap=50))
    updated = with_design(project, fd)
    assert project_to_json(project) == before and project.designs == {}
    iv = estimate_iv(iv_sim(500, 1), IVSpec(treatment="x", outcome="y", instruments=["z"]))
    updated = with_design(updated, iv)
    reloaded = project_from_json(project_to_json(updated))
    assert stored_design(reloaded, "frontdoor") == fd and stored_design(reloaded, "iv") == iv
    assert set(json.loads(project_to_json(reloaded))["designs"]) == {"frontdoor", "iv"}
    assert design_table(stored_design(reloaded, "iv"))["method"].tolist() == ["2sls", "ols"]
    assert stored_design(with_design(Project(), fd), "frontdoor") == fd  # no adjustment run needed first
    rerun = est.estimate_project(updated, frame, EstimationSpec(treatment="smoking", outcome="cancer"), refutations=False)
    assert set(rerun.designs) == {"frontdoor", "iv"}  # re-running the adjustment estimation keeps them


def graph(nodes: list[tuple[str, bool]], edges: list[tuple[str, str]], treatment: str, outcome: str) -> DagSpec:
    return DagSpec(nodes=[DagNode(name=name, latent=latent, column=None if latent else name) for name, latent in nodes],
                   edges=[DagEdge(source=s, target=t) for s, t in edges], treatment=treatment, outcome=outcome)


FRONTDOOR_DAG = graph([("smoking", False), ("tar", False), ("cancer", False), ("genotype", True)],
                      [("smoking", "tar"), ("tar", "cancer"), ("genotype", "smoking"), ("genotype", "cancer")],
                      "smoking", "cancer")
IV_DAG = graph([("z", False), ("x", False), ("y", False), ("w", False), ("u", True)],
               [("z", "x"), ("w", "z"), ("w", "y"), ("x", "y"), ("u", "x"), ("u", "y")], "x", "y")


@pytest.mark.skipif(not hasattr(dag_module, "frontdoor_sets"), reason="dag.frontdoor_sets not merged yet")
def test_frontdoor_mediators_are_prefilled_from_the_dag():
    frame = smoking_sim(200, 1)
    sets, note = frontdoor_from_dag(Project(dag=FRONTDOOR_DAG), frame)
    assert sets == [["tar"]] and "front-door set" in note
    sets, note = frontdoor_from_dag(Project(dag=IV_DAG), iv_sim(100, 1))
    assert sets == [] and "no mediator set" in note


@pytest.mark.skipif(not hasattr(dag_module, "conditional_instruments"), reason="dag.conditional_instruments not merged")
def test_conditional_instruments_are_prefilled_from_the_dag():
    options, note = instruments_from_dag(Project(dag=IV_DAG), iv_sim(100, 1))
    assert {"instruments": ["z"], "covariates": ["w"]} in options
    options, note = instruments_from_dag(Project(dag=FRONTDOOR_DAG), smoking_sim(100, 1))
    assert options == [] and note == "no conditional instrument exists in this graph"


def test_prefill_without_a_dag_says_why():
    assert frontdoor_from_dag(Project(), smoking_sim(50, 1)) == ([], "no DAG with a treatment and an outcome yet: "
                                                                     "name the mediators yourself")
    assert instruments_from_dag(Project(), iv_sim(50, 1))[1].startswith("no DAG with a treatment and an outcome yet")


def test_an_irrelevant_instrument_is_refused_with_its_f():
    """F < 1: a 2SLS number would be arbitrary and any 95 % set is unbounded; refused, by name, with the F."""
    frame = iv_sim(300, 2, strength=0.0)
    with pytest.raises(EstimationError, match=r"barely move the treatment \(first-stage F = 0\.\d\d < 1\)"):
        estimate_iv(frame, IVSpec(treatment="x", outcome="y", instruments=["z"], se="unadjusted"))


def _weak_enough_for_rays(seed_range: range):
    for seed in seed_range:
        result = estimate_iv(iv_sim(300, seed, strength=0.09), IVSpec(treatment="x", outcome="y", instruments=["z"],
                                                                     se="unadjusted"))
        if result.diagnostics.first_stage.f < result.diagnostics.anderson_rubin.critical_f:
            return result
    raise AssertionError("no replication with a first-stage F below the AR critical value")


def test_an_unbounded_anderson_rubin_set_prints_rays_not_grid_edges():
    """First-stage F below the AR critical value: the set is unbounded; its ends are ∞, never ±50 SE."""
    result = _weak_enough_for_rays(range(1, 40))
    ar = result.diagnostics.anderson_rubin
    assert ar.kind in {"unbounded", "whole line"}
    assert ar.pieces[0][0] is None and ar.pieces[-1][1] is None
    if ar.kind == "unbounded":
        assert ar.text.startswith("(−∞, ") and ar.text.endswith(", ∞)") and " ∪ " in ar.text
    else:
        assert ar.text == "the whole real line"
    assert any(ar.text in w for w in result.warnings)


def test_format_ar_set_spells_every_shape():
    assert format_ar_set({"kind": "interval", "pieces": [[0.5, 2.25]]}) == "[0.5, 2.25]"
    assert format_ar_set({"kind": "unbounded", "pieces": [[None, -1.5], [3.0, None]]}) == "(−∞, -1.5] ∪ [3, ∞)"
    assert format_ar_set({"kind": "whole line", "pieces": [[None, None]]}) == "the whole real line"
    assert format_ar_set({"kind": "empty", "pieces": []}) == "empty"


@pytest.mark.parametrize(("strength", "expected"), [(0.17, "approximate: first-stage F"), (0.3, "approximate: first"),
                                                    (1.0, "Monte Carlo coverage 0.946")])
def test_the_wald_label_is_calibrated_only_above_the_tf_bar(strength, expected):
    """Lee et al. (2022): the ±1.96 interval needs F ≥ 104.7; between 10 and that it is approximate and names AR."""
    result = estimate_iv(iv_sim(1_000, 12, strength=strength), IVSpec(treatment="x", outcome="y", instruments=["z"]))
    f_value = result.diagnostics.first_stage.f
    assert expected in result.main.se_type
    assert (f_value >= TF_BAR) == ("approximate" not in result.main.se_type), f_value
    if f_value < TF_BAR:
        assert "Anderson–Rubin" in result.main.se_type


def test_every_interval_states_its_measured_coverage_or_says_approximate():
    from causal_core.estimation.frontdoor import COVERAGE_BAND, MEASURED_COVERAGE, coverage_label

    low, high = COVERAGE_BAND
    for key, measured in MEASURED_COVERAGE.items():
        label = coverage_label(*key.split("/"))
        assert f"Monte Carlo coverage {measured['coverage']:.3f}" in label
        assert label.startswith("approximate") == (not low <= measured["coverage"] <= high)
    strong = estimate_frontdoor(smoking_sim(1_000, 1), FrontdoorSpec(treatment="smoking", outcome="cancer",
                                                                      mediators=["tar"], bootstrap=50))
    assert "Monte Carlo coverage 0.948" in strong.main.se_type and "approximate" not in strong.main.se_type
    weak = estimate_iv(iv_sim(400, 3, strength=0.08), IVSpec(treatment="x", outcome="y", instruments=["z"]))
    assert weak.main.se_type.endswith(coverage_label("iv-2sls-weak", "robust"))
    assert "approximate: Monte Carlo coverage 0.894" in weak.main.se_type
    clustered = estimate_iv(iv_sim(400, 3).assign(g=np.arange(400) % 20),
                            IVSpec(treatment="x", outcome="y", instruments=["z"], se="cluster", cluster="g"))
    assert "approximate (coverage not measured" in clustered.main.se_type


def test_prefill_refuses_a_dag_about_another_question():
    project = Project(dag=FRONTDOOR_DAG, treatment="tar", outcome="cancer")
    sets, note = frontdoor_from_dag(project, smoking_sim(100, 1))
    assert sets == [] and "the DAG's treatment node 'smoking' measures 'smoking', not the project's treatment 'tar'" in note


def test_linear_bootstrap_se_agrees_with_the_delta_method():
    """Sobel's delta-method SE of a·b (statsmodels fits of both stages) against the bootstrap SE."""
    frame = continuous_sim(5_000, 17)
    result = estimate_frontdoor(frame, FrontdoorSpec(treatment="x", outcome="y", mediators=["m"], bootstrap=1000))
    first = sm.OLS(frame["m"], sm.add_constant(frame[["x"]])).fit(cov_type="HC1")
    second = sm.OLS(frame["y"], sm.add_constant(frame[["m", "x"]])).fit(cov_type="HC1")
    a, b = first.params["x"], second.params["m"]
    sobel = np.sqrt(a**2 * second.bse["m"] ** 2 + b**2 * first.bse["x"] ** 2)
    assert result.main.estimate == pytest.approx(a * b, rel=1e-10)
    assert result.main.std_error == pytest.approx(sobel, rel=0.1)


def test_text_treatment_is_coded_by_the_treated_value_in_both_designs():
    frame = smoking_sim(2_000, 6)
    coded = frame.assign(smoking=np.where(frame["smoking"] == 1, "yes", "no"))
    spec = FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"], bootstrap=0)
    numeric = estimate_frontdoor(frame, spec)
    assert estimate_frontdoor(coded, spec.model_copy(update={"treated_value": "yes"})).main.estimate == pytest.approx(
        numeric.main.estimate)
    with pytest.raises(est.EstimationError, match="needs a binary treatment"):
        estimate_frontdoor(coded, spec)
    instrumented = coded.assign(z=frame["smoking"] + np.random.default_rng(1).normal(size=2_000))
    iv = estimate_iv(instrumented, IVSpec(treatment="smoking", outcome="cancer", instruments=["z"], treated_value="yes"))
    assert iv.main.estimand == "weighted average of LATEs"


def test_positivity_failure_within_a_covariate_cell_names_the_cell():
    frame = smoking_sim(600, 2)
    rows = frame.index[(frame["age_group"] == 2) & (frame["tar"] == 1)]
    frame.loc[rows, "smoking"] = 1
    with pytest.raises(est.EstimationError, match="mediator cell tar=1 within age_group=2 has .* all treated"):
        estimate_frontdoor(frame, FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"],
                                                covariates=["age_group"], bootstrap=0))


def test_2sls_reproduces_wooldridge_example_15_4_card_proximity_to_college():
    """Wooldridge Ex. 15.4 (Card 1995, n = 3,010): educ instrumented by nearc4 with 14 controls: 2SLS 0.132
    (SE 0.055), OLS 0.075 (0.003); first stage nearc4 0.320 (t = 3.64, so F = 13.26): above Staiger–Stock's 10,
    below Stock–Yogo's 16.38, so the softer warning applies."""
    from linearmodels.datasets import card

    controls = ["exper", "expersq", "black", "smsa", "south", "smsa66", *[f"reg66{i}" for i in range(2, 10)]]
    result = estimate_iv(card.load(), IVSpec(treatment="educ", outcome="lwage", instruments=["nearc4"],
                                             covariates=controls, se="unadjusted"))
    iv, ols = result.estimates
    assert (round(iv.estimate, 3), round(iv.std_error, 3)) == (0.132, 0.055)
    assert (round(ols.estimate, 3), round(ols.std_error, 3)) == (0.075, 0.003)
    first = result.diagnostics.first_stage
    assert round(first.coefficients["nearc4"], 3) == 0.320 and round(np.sqrt(first.f), 2) == 3.64
    assert [w.split(":")[0] for w in result.warnings] == ["Moderately weak instrument"]


def test_data_columns_named_like_internal_labels_do_not_clash():
    frame = iv_sim(1_000, 9).rename(columns={"w": "treatment"}).assign(const=1.0)
    result = estimate_iv(frame, IVSpec(treatment="x", outcome="y", instruments=["z"], covariates=["treatment", "const"]))
    assert abs(result.main.estimate - 2.0) < 0.3 and result.diagnostics.covariates == ["treatment"]
    assert any("Constant covariate column(s) dropped: const" in note for note in result.notes)


def test_a_repeated_row_index_changes_nothing():
    frame = iv_sim(600, 4).assign(site=np.repeat(np.arange(30), 20))
    repeated = frame.set_axis(np.repeat(np.arange(300), 2))
    for se in ("robust", "cluster"):
        spec = IVSpec(treatment="x", outcome="y", instruments=["z"], covariates=["w"], se=se, cluster="site")
        assert estimate_iv(repeated, spec).main == estimate_iv(frame, spec).main
    fd = FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"], bootstrap=50)
    sim = smoking_sim(600, 4)
    assert estimate_frontdoor(sim.set_axis(np.zeros(600, dtype=int)), fd).main == estimate_frontdoor(sim, fd).main
