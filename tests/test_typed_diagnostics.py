"""Typed estimation diagnostics (issue 24 item 2): every key a real run writes is a declared field.

``EstimationResult.diagnostics`` (back-door) and ``DesignResult.diagnostics`` (IV, front-door) are pydantic models
with ``extra="forbid"``: a stray or renamed key fails where it is produced, not as a silently missing memo
sentence. The fixture tests/fixtures/schema_v2/ was written by the code before this change (commit 2f20e33,
/tmp script: the schema-1 retention project re-estimated with Crump trimming, 40 bootstrap replicates and 3-fold
cross-fitting, plus a front-door run on the smoking simulation and an IV run on the encouragement design); it
must open (migrated to version 3) and give the memo that code wrote, word for word.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from causal_core import estimation as est
from causal_core.data.datasets import simulate_retention
from causal_core.data.loading import rebind_data
from causal_core.diagnostics_models import EstimationDiagnostics, FrontdoorDiagnostics, IVDiagnostics
from causal_core.estimation import diagnostics as diagnostics_module
from causal_core.estimation import iv as iv_module
from causal_core.estimation.frontdoor import FrontdoorSpec, estimate_frontdoor, stored_design, with_design
from causal_core.estimation.iv import IVSpec, estimate_iv
from causal_core.memo.deterministic import deterministic_memo
from causal_core.memo.numbers import CITED_DIAGNOSTICS
from causal_core.project import SCHEMA_VERSION, EstimationSpec, Project
from causal_core.project_file import ProjectFileError, project_from_json, project_to_json
from tests.test_estimation_designs import continuous_sim, iv_sim, late_sim, smoking_sim

FIXTURES = Path(__file__).parent / "fixtures"
COVARIATES = ["company_size", "tenure_months", "usage_score", "prior_tickets", "health_score", "region", "segment"]


@pytest.fixture(scope="module")
def retention() -> pd.DataFrame:
    frame = simulate_retention(1500, seed=11)
    frame["team"] = np.arange(len(frame)) % 40  # 40 clusters of 37–38 accounts
    return frame


def _run(frame: pd.DataFrame, **options) -> est.EstimationResult:
    spec = EstimationSpec(treatment="outreach", outcome="churn", covariates=COVARIATES,
                          categorical=["region", "segment"], **options)
    return est.run_estimation(frame, spec, sensitivity=False, refutations=False)


def _round_trip(result):
    return project_from_json(project_to_json(Project(estimation=result))).estimation


# ---- every real back-door run validates and survives the project file ------------------------------------
BACKDOOR_RUNS = {
    "ATE exact": ({}, ()),
    "ATT trimmed + bootstrap": ({"estimand": "ATT", "trim": "crump", "bootstrap": 20}, ("trimming", "bootstrap")),
    "ATC cross-fitted": ({"estimand": "ATC", "crossfit_folds": 3}, ("crossfit",)),
    "ATE cross-validated learners": ({"ps_learner": "logistic_cv", "outcome_learner": "lasso_cv", "crossfit_folds": 3,
                                "crossfit_repetitions": 2}, ("learners", "crossfit")),
    "ATE clustered": ({"cluster": "team"}, ()),
}


@pytest.mark.parametrize("name", list(BACKDOOR_RUNS))
def test_every_backdoor_run_validates_and_round_trips(retention, name):
    options, filled = BACKDOOR_RUNS[name]
    result = _run(retention, **options)
    diagnostics = result.diagnostics
    dumped = diagnostics.model_dump(mode="json")
    assert EstimationDiagnostics.model_validate(dumped) == diagnostics  # every key it wrote is declared
    assert _round_trip(result).diagnostics == diagnostics  # identical after the project file
    assert all(dumped[part] is not None for part in filled), name
    assert diagnostics.n_treated + diagnostics.n_control == result.n_used
    if "trimming" in filled:  # the arm counts describe the rows kept
        assert result.n_used == diagnostics.trimming.kept == len(retention) - diagnostics.trimming.dropped
    else:
        assert diagnostics.n_treated == int(retention["outreach"].sum()) and result.n_used == len(retention)
    assert diagnostics.interval_checks.balance.n_terms > 0 and diagnostics.regression.dof > 0


def test_a_learner_run_rewrites_the_ipw_entry_and_the_propensity_description(retention):
    result = _run(retention, ps_learner="logistic_cv", crossfit_folds=3, crossfit_repetitions=2)
    diagnostics = result.diagnostics
    assert diagnostics.ipw.se == "fixed_weights" and "3-fold cross-fitted 'logistic_cv'" in diagnostics.ipw.se_note
    assert diagnostics.propensity_model.iterations is None and diagnostics.propensity_model.seconds >= 0
    assert diagnostics.learners.folds == 3 and diagnostics.learners.repetitions == 2
    assert len(diagnostics.learners.fits) == 3 * 2 * 3  # propensity + two outcome arms, per fold and split


def test_the_clustered_run_counts_the_clusters_of_the_data(retention):
    result = _run(retention, cluster="team")
    assert result.diagnostics.n_clusters == retention["team"].nunique() == 40
    assert _run(retention).diagnostics.n_clusters == 0


# ---- IV and front-door ------------------------------------------------------------------------------------
def _designs():
    late, *_ = late_sim(1500, 5)
    return {
        "iv over-identified": estimate_iv(iv_sim(2000, 3).assign(z2=lambda f: f["z"] + np.random.default_rng(1)
                                                                 .normal(size=len(f))),
                                          IVSpec(treatment="x", outcome="y", instruments=["z", "z2"], covariates=["w"])),
        "iv LATE": estimate_iv(late, IVSpec(treatment="enrolled", outcome="earnings", instruments=["encouraged"])),
        "frontdoor plug-in": estimate_frontdoor(smoking_sim(1500, 5), FrontdoorSpec(
            treatment="smoking", outcome="cancer", mediators=["tar"], bootstrap=50)),
        "frontdoor linear": estimate_frontdoor(continuous_sim(1500, 5), FrontdoorSpec(
            treatment="x", outcome="y", mediators=["m"], bootstrap=0)),
    }


def test_iv_and_frontdoor_runs_validate_and_round_trip():
    results = _designs()
    over, late = results["iv over-identified"].diagnostics, results["iv LATE"].diagnostics
    assert isinstance(over, IVDiagnostics) and over.tests.overidentification is not None
    assert over.first_stage.n_instruments == 2 and set(over.first_stage.coefficients) == {"z", "z2"}
    assert late.complier_share == pytest.approx(0.5, abs=0.05)  # late_sim draws 50 % compliers
    plugin, linear = results["frontdoor plug-in"].diagnostics, results["frontdoor linear"].diagnostics
    assert isinstance(plugin, FrontdoorDiagnostics) and plugin.bootstrap.completed == 50 and plugin.mediator_cells == 2
    assert linear.stage_effects[0].treatment_to_mediator == pytest.approx(2.0, abs=0.15)  # M = 1 + 2X + e
    assert linear.potential_outcome_means is None and linear.bootstrap is None
    project = Project()
    for result in results.values():
        project = with_design(project, result)
        assert type(result.diagnostics).model_validate(result.diagnostics.model_dump(mode="json")) == result.diagnostics
    reopened = project_from_json(project_to_json(project))
    assert stored_design(reopened, "iv") == results["iv LATE"]  # the later run of a design replaces the earlier
    assert stored_design(reopened, "frontdoor") == results["frontdoor linear"]


# ---- a stray or renamed key fails where it is produced ------------------------------------------------------
def test_a_backdoor_producer_that_adds_a_stray_key_fails(retention, monkeypatch):
    real = diagnostics_module.balance_check
    monkeypatch.setattr(diagnostics_module, "balance_check", lambda *args: {**real(*args), "worst_term": "x"})
    with pytest.raises(ValidationError, match="worst_term"):
        _run(retention)


def test_an_iv_producer_that_renames_a_key_fails(monkeypatch):
    real = iv_module._tests

    def renamed(*args):
        out = real(*args)
        out["endogeneity"] = {("p_value" if key == "pvalue" else key): value for key, value in out["endogeneity"].items()}
        return out

    monkeypatch.setattr(iv_module, "_tests", renamed)
    with pytest.raises(ValidationError, match="p_value"):
        estimate_iv(iv_sim(500, 3), IVSpec(treatment="x", outcome="y", instruments=["z"]))


@pytest.mark.parametrize(("old", "new"), [("n_clusters", "clusters"), ("overlap", "overlap_summary")])
def test_a_project_file_with_a_renamed_diagnostics_key_is_refused(old, new):
    payload = json.loads((FIXTURES / "schema_v2" / "retention_v2.json").read_text(encoding="utf-8"))
    diagnostics = payload["estimation"]["diagnostics"]
    diagnostics[new] = diagnostics.pop(old)
    with pytest.raises(ProjectFileError, match="estimation.diagnostics"):
        project_from_json(json.dumps(payload))


def test_every_cited_diagnostic_is_a_declared_field():
    """model_dump(include=...) skips a misspelt name silently, so the memo's list is checked here."""
    assert set(EstimationDiagnostics.model_fields) >= CITED_DIAGNOSTICS


# ---- version 1 and version 2 files written by the old code --------------------------------------------------
@pytest.mark.parametrize("version", [1, 2])
def test_an_old_project_file_opens_migrated_and_gives_the_same_memo(version):
    folder = FIXTURES / f"schema_v{version}"
    text = (folder / f"retention_v{version}.json").read_text(encoding="utf-8")
    assert json.loads(text)["schema_version"] == version and SCHEMA_VERSION == 3
    project = project_from_json(text)
    assert project.schema_version == 3 and isinstance(project.estimation.diagnostics, EstimationDiagnostics)
    frame = rebind_data(project)
    expected = json.loads((folder / f"retention_v{version}_memo.json").read_text(encoding="utf-8"))
    assert deterministic_memo(project, frame) == expected
    resaved = project_from_json(project_to_json(project))
    assert resaved.estimation == project.estimation and deterministic_memo(resaved, frame) == expected


def test_the_v2_file_keeps_its_trimming_bootstrap_crossfit_and_designs():
    project = project_from_json((FIXTURES / "schema_v2" / "retention_v2.json").read_text(encoding="utf-8"))
    diagnostics = project.estimation.diagnostics
    assert (diagnostics.trimming.kept, diagnostics.trimming.dropped) == (5743, 257)
    assert diagnostics.bootstrap.completed == 40 and diagnostics.crossfit.folds == 3
    assert round(stored_design(project, "iv").diagnostics.first_stage.f, 2) == 454.66
    assert stored_design(project, "frontdoor").diagnostics.bootstrap.usable == 50


def test_an_empty_v2_diagnostics_dict_becomes_none():
    payload = json.loads((FIXTURES / "schema_v2" / "retention_v2.json").read_text(encoding="utf-8"))
    payload["estimation"]["diagnostics"] = {}
    assert project_from_json(json.dumps(payload)).estimation.diagnostics is None


# ---- the memo's cluster sentence reads the typed field -------------------------------------------------------
def test_the_memo_cluster_sentence_counts_the_clusters_of_the_data(retention):
    result = _run(retention, cluster="team")
    project = Project(treatment="outreach", outcome="churn", cluster_column="team", estimation=result)
    warnings = deterministic_memo(project, retention)["warnings"]
    assert f"Standard errors are clustered on `team` ({retention['team'].nunique()} clusters)." in warnings


# ---- the page's overlap and weights figures against a direct statsmodels fit ---------------------------------
def direct_overlap_figures(frame: pd.DataFrame, clip: tuple[float, float]) -> dict[str, float]:
    """The Overlap and Weights tabs' figures from an independent logit (statsmodels, dummies drop-first)."""
    import statsmodels.api as sm

    X = pd.get_dummies(frame[COVARIATES], columns=["region", "segment"], drop_first=True, dtype=float)
    t = frame["outreach"].to_numpy()
    e = sm.Logit(t, sm.add_constant(X)).fit(disp=0).predict(sm.add_constant(X)).to_numpy()
    lo, hi = clip
    w = 1 / np.clip(e[t == 1], lo, hi)  # ATE weights of the treated arm (Hájek: normalised within the arm)
    return {"clipped": int(np.sum((e < lo) | (e > hi))), "outside": float(np.mean((e < 0.05) | (e > 0.95))),
            "above": int(np.sum(e[t == 1] > e[t == 0].max())), "below": int(np.sum(e[t == 0] < e[t == 1].min())),
            "ess_treated": float(w.sum() ** 2 / np.sum(w**2))}


def test_the_typed_overlap_and_weights_fields_match_a_direct_fit(retention):
    result = _run(retention)
    direct = direct_overlap_figures(retention, result.spec.clip)
    overlap, weights = result.diagnostics.overlap, result.diagnostics.weights
    assert overlap.n_below_clip + overlap.n_above_clip == direct["clipped"]
    assert overlap.share_outside_05_95 == pytest.approx(direct["outside"], abs=1e-12)
    assert (overlap.treated_above_max_control, overlap.control_below_min_treated) == (direct["above"], direct["below"])
    assert weights.treated.ess == pytest.approx(direct["ess_treated"], rel=1e-6)


# ---- the CLI prints the typed IV fields ----------------------------------------------------------------------
def test_the_design_estimate_cli_prints_the_first_stage_and_the_anderson_rubin_set(tmp_path, capsys):
    from causal_core.cli import main

    frame = iv_sim(800, 3)
    path = tmp_path / "iv.csv"
    frame.to_csv(path, index=False)
    direct = estimate_iv(frame, IVSpec(treatment="x", outcome="y", instruments=["z"], covariates=["w"]))
    argv = ["design-estimate", "--design", "iv", "--data", str(path), "--treatment", "x", "--outcome", "y",
            "--instruments", "z", "--covariates", "w"]
    assert main([*argv, "--format", "text"]) == 0
    text = capsys.readouterr().out
    first, ar = direct.diagnostics.first_stage, direct.diagnostics.anderson_rubin
    assert f"first stage: F = {first.f:.2f}, partial R² = {first.partial_r2:.4f} ({first.kind})" in text
    assert f"Anderson–Rubin 95% set ({ar.kind}): {ar.text}" in text
    assert main([*argv, "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert IVDiagnostics.model_validate(payload["diagnostics"]) == direct.diagnostics


# ---- the designs panel renders the typed IV and front-door fields ---------------------------------------------
def _panel_script() -> None:
    """Runs inside AppTest: the panel's result view for a LATE run and a linear front-door run."""
    from causal_core.estimation.frontdoor import FrontdoorSpec, estimate_frontdoor
    from causal_core.estimation.iv import IVSpec, estimate_iv
    from causal_core.ui import designs_panel
    from tests.test_estimation_designs import continuous_sim, late_sim

    designs_panel._show_result(estimate_iv(late_sim(1500, 5)[0], IVSpec(treatment="enrolled", outcome="earnings",
                                                                         instruments=["encouraged"])))
    designs_panel._show_result(estimate_frontdoor(continuous_sim(1500, 5), FrontdoorSpec(
        treatment="x", outcome="y", mediators=["m"], bootstrap=0)))


def test_the_designs_panel_shows_the_typed_iv_and_frontdoor_fields():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_panel_script, default_timeout=120).run()
    assert not at.exception
    results = _designs()
    late, linear = results["iv LATE"].diagnostics, results["frontdoor linear"].diagnostics
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["First-stage F"] == f"{late.first_stage.f:.2f}" and metrics["Anderson–Rubin set"] == "interval"
    assert f"Estimated complier share: {late.complier_share:.1%}." in [caption.value for caption in at.caption]
    stages = next(frame.value for frame in at.dataframe if "mediator_to_outcome" in frame.value.columns)
    assert stages.loc[0, "product"] == pytest.approx(linear.stage_effects[0].product, abs=1e-12)
