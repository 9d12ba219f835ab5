"""scikit-learn nuisance learners under cross-fitting: recovery where linear AIPW is biased, agreement with the
exact fits, the spec round trip, progress and stop, and every bad input with its message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_core import estimation as est
from causal_core.data.datasets import simulate_retention
from causal_core.estimation import learners
from causal_core.project import EstimationSpec, Project
from causal_core.project_file import project_from_json, project_to_json

N01_SPEC = EstimationSpec(
    treatment="outreach", outcome="churn", covariates=est.N01_COVARIATES, categorical=est.N01_CATEGORICAL
)
TRUE_EFFECT = 1.0


def nonlinear_frame(n: int, seed: int) -> pd.DataFrame:
    """Treatment and outcome both depend on x1² (symmetric), which a linear-in-x model cannot see at all.

    Treated units have large |x1|, and so a higher baseline outcome: a linear propensity and a linear
    outcome model are both wrong, so linear AIPW is close to the naive difference and far from the truth.
    """
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    e = 1 / (1 + np.exp(-(1.8 * x1**2 - 2.4 + 0.3 * x2)))
    t = rng.binomial(1, e)
    y = TRUE_EFFECT * t + 3 * np.sin(1.5 * x1) ** 2 + 1.5 * x1**2 + x2 + rng.normal(0, 1, n)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})


def fit(frame: pd.DataFrame, spec: EstimationSpec, **kwargs) -> est.CoreFit:
    core = est.CoreFit(rows=[])
    learners.fit_with_learners(core, est.build_design(frame, spec), spec, ("ipw", "aipw"), **kwargs)
    return core


def rows_by_method(result) -> dict[str, object]:
    return {row.method: row for row in result.estimates if not row.se_type.startswith("bootstrap")}


@pytest.fixture(scope="module")
def nonlinear() -> pd.DataFrame:
    return nonlinear_frame(2000, seed=3)


@pytest.fixture(scope="module")
def retention_frame() -> pd.DataFrame:
    return simulate_retention()


@pytest.fixture(scope="module")
def boosted(nonlinear) -> est.EstimationResult:
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], ps_learner="boosting",
                          outcome_learner="boosting")
    return est.run_estimation(nonlinear, spec, true_effect=TRUE_EFFECT, sensitivity=False, refutations=False)


# ---- recovery where the linear models are biased ---------------------------------------------
def test_boosting_with_crossfitting_recovers_the_ate_where_linear_aipw_is_biased(nonlinear, boosted):
    linear = rows_by_method(est.run_estimation(
        nonlinear, EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"]),
        sensitivity=False, refutations=False,
    ))["aipw"]
    assert not linear.ci_low <= TRUE_EFFECT <= linear.ci_high  # the linear AIPW misses badly (≈ +3.3)
    assert linear.estimate - TRUE_EFFECT > 1.5
    flexible = rows_by_method(boosted)["aipw"]
    assert flexible.ci_low <= TRUE_EFFECT <= flexible.ci_high
    assert abs(flexible.estimate - TRUE_EFFECT) < 0.3
    assert "5-fold cross-fitted" in flexible.se_type and "boosting / boosting" in flexible.se_type
    assert flexible.label == "Doubly robust (AIPW, 5-fold cross-fitted boosting / boosting)"


def test_flexible_ipw_uses_the_crossfitted_propensity_and_says_what_its_se_ignores(boosted):
    row = rows_by_method(boosted)["ipw"]
    assert "cross-fitted 'boosting' propensity treated as known" in row.se_type and "approximate" in row.se_type
    assert abs(row.estimate - TRUE_EFFECT) < 0.5  # boosting e removes most of the +2.3 bias of the linear IPW
    info = boosted.diagnostics.learners
    assert info.ps_learner == "boosting" and info.folds == 5
    assert len(info.fits) == 15 * learners.DEFAULT_REPETITIONS and all(fit["seconds"] >= 0 for fit in info.fits)
    assert boosted.diagnostics.propensity_model.kind.startswith("HistGradientBoostingClassifier")


def test_weights_and_overlap_describe_the_crossfitted_propensity(nonlinear):
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], ps_learner="boosting")
    design = est.build_design(nonlinear, spec)
    core = est.CoreFit(rows=[])
    nuisances = learners.fit_with_learners(core, design, spec, ("ipw",))
    np.testing.assert_array_equal(core.ps.raw, nuisances.e)
    lo, hi = learners.propensity_bounds(spec)
    e = np.clip(nuisances.e, lo, hi)
    expected = np.where(design.t == 1, 1 / e, 1 / (1 - e))
    np.testing.assert_allclose(core.ipw_weights, expected)
    assert nuisances.m0 is None  # IPW alone fits no outcome model
    w1, w0 = design.t / e, (1 - design.t) / (1 - e)  # the Hájek form by hand
    hajek = np.sum(w1 * design.y) / w1.sum() - np.sum(w0 * design.y) / w0.sum()
    assert core.row("ipw").estimate == pytest.approx(hajek, rel=1e-12)


def test_att_with_boosting_uses_only_the_upper_bound_and_recovers_the_effect(nonlinear):
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], estimand="ATT",
                          ps_learner="boosting", outcome_learner="boosting", crossfit_folds=3)
    assert learners.propensity_bounds(spec) == (0.0, 0.98)
    core = fit(nonlinear, spec)
    aipw = core.row("aipw")
    assert aipw.estimand == "ATT" and aipw.ci_low <= TRUE_EFFECT <= aipw.ci_high  # constant effect: ATT = 1
    treated = core.ps.t == 1
    assert np.all(core.ipw_weights[treated] == 1.0)  # ATT: treated rows weigh 1, controls e/(1−e)


def test_adding_a_constant_to_the_outcome_changes_no_flexible_estimate(nonlinear):
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], ps_learner="logistic_cv",
                          outcome_learner="boosting", crossfit_folds=3)
    small = nonlinear.iloc[:1000]
    original, shifted = fit(small, spec), fit(small.assign(y=small["y"] + 100.0), spec)
    for method in ("ipw", "aipw"):
        a, b = original.row(method), shifted.row(method)
        assert b.estimate == pytest.approx(a.estimate, abs=1e-8), method
        assert b.std_error == pytest.approx(a.std_error, rel=1e-8), method


# ---- agreement with the exact fits on retention -------------------------------------------------
def test_crossfitted_default_learners_agree_with_the_existing_aipw(retention_frame):
    design = est.build_design(retention_frame, N01_SPEC)
    plain = est.estimate_core(design, N01_SPEC, methods=("aipw",)).row("aipw")
    core = est.CoreFit(rows=[])
    learners.fit_with_learners(core, design, N01_SPEC, ("aipw",))  # exact logistic / logistic, 5 folds
    crossfitted = core.row("aipw")
    assert abs(plain.estimate - (-0.047)) < 0.001
    assert abs(crossfitted.estimate - plain.estimate) < 0.1 * plain.std_error
    assert crossfitted.std_error == pytest.approx(plain.std_error, rel=0.03)


@pytest.mark.heavy  # 12 s: CV-chosen penalties in 15 fits x 5 repetitions on 6,000 rows; docs/testing.md
def test_penalised_cv_learners_agree_with_the_exact_fits_on_retention(retention_frame):
    spec = N01_SPEC.model_copy(update={"ps_learner": "logistic_cv", "outcome_learner": "ridge_cv"})
    rows = fit(retention_frame, spec)
    aipw = rows.row("aipw")
    assert abs(aipw.estimate - (-0.047)) < 0.3 * aipw.std_error  # n = 6,000: the CV picks a weak penalty
    assert aipw.ci_low <= -0.046 <= aipw.ci_high  # the simulation's true ATE
    chosen = [fit_["C"] for fit_ in rows.__dict__["learners"].fits if "C" in fit_]
    assert len(chosen) == 15 * learners.DEFAULT_REPETITIONS and min(chosen) > 0


def test_boosting_classifier_outcome_on_a_binary_outcome_gives_probabilities(retention_frame):
    spec = N01_SPEC.model_copy(update={"outcome_learner": "boosting", "crossfit_folds": 3})
    design = est.build_design(retention_frame, spec)
    core = est.CoreFit(rows=[])
    nuisances = learners.fit_with_learners(core, design, spec, ("ipw", "aipw"))
    for values in (nuisances.m0, nuisances.m1):
        assert values.min() >= 0 and values.max() <= 1
    assert core.row("ipw").se_type == "influence function"  # exact logistic propensity: the default IPW row
    assert abs(core.row("aipw").estimate - (-0.046)) < 3 * core.row("aipw").std_error


# ---- the choice is recorded and round-trips ----------------------------------------------------
def test_learner_choice_is_recorded_in_the_project_and_round_trips_through_json(nonlinear, boosted):
    project = Project(name="learners", treatment="t", outcome="y").model_copy(update={"estimation": boosted})
    loaded = project_from_json(project_to_json(project))
    assert loaded.estimation.spec.ps_learner == "boosting"
    assert loaded.estimation.spec.outcome_learner == "boosting"
    assert loaded.estimation.diagnostics.learners.folds == 5
    old = EstimationSpec.model_validate({"treatment": "t", "outcome": "y"})  # a spec saved before the fields
    assert (old.ps_learner, old.outcome_learner) == ("logistic", "linear")
    assert not learners.uses_learners(old)


def test_the_seed_decides_the_folds_and_the_folds_are_stratified(nonlinear):
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], ps_learner="logistic_cv", seed=5)
    design = est.build_design(nonlinear, spec)
    a, b = learners.stratified_folds(design, 5, 5), learners.stratified_folds(design, 5, 5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, learners.stratified_folds(design, 5, 6))
    treated_share = design.t.mean()
    for fold in range(5):
        assert abs(design.t[a == fold].mean() - treated_share) < 0.01


def test_clustered_folds_keep_whole_clusters_together(nonlinear):
    frame = nonlinear.assign(g=np.arange(len(nonlinear)) % 40)
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], cluster="g", ps_learner="logistic_cv")
    design = est.build_design(frame, spec)
    folds = learners.stratified_folds(design, 5, 1)
    per_cluster = pd.Series(folds).groupby(design.clusters).nunique()
    assert per_cluster.max() == 1


# ---- progress and stop --------------------------------------------------------------------------
def test_progress_is_reported_per_fit_and_stop_ends_between_fits(nonlinear):
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], outcome_learner="ridge_cv")
    seen: list[tuple[float, str]] = []
    fit(nonlinear, spec, progress=lambda fraction, message: seen.append((fraction, message)))
    fractions = [fraction for fraction, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("Fold 5/5: 'ridge_cv' outcome model (treated arm)" in message for _, message in seen)
    done = {"fits": 0}

    def count(fraction: float, message: str) -> None:
        done["fits"] += message.endswith("model fits done")

    with pytest.raises(learners.LearnerStopped, match=r"after 4 of 75 model fits .*project is unchanged"):
        fit(nonlinear, spec, progress=count, should_stop=lambda: done["fits"] >= 4)
    assert done["fits"] == 4


def test_a_stopped_run_leaves_the_project_unchanged(nonlinear):
    project = Project(name="p", treatment="t", outcome="y")
    before = project_to_json(project)
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], ps_learner="boosting")
    with pytest.raises(est.EstimationError, match="Stopped by the analyst"):
        est.estimate_project(project, nonlinear, spec, should_stop=lambda: True)
    assert project_to_json(project) == before and project.estimation is None


# ---- bad inputs ----------------------------------------------------------------------------------
def test_too_few_rows_per_fold_names_the_minimum_and_the_counts():
    frame = nonlinear_frame(400, seed=1)
    treated = frame.index[frame["t"] == 1][:30]
    small = pd.concat([frame[frame["t"] == 0], frame.loc[treated]])
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], ps_learner="logistic_cv")
    with pytest.raises(learners.LearnerError) as error:
        fit(small, spec)
    message = str(error.value)
    assert "at least 10 treated and 10 control rows (50 of each in all)" in message
    assert "30 treated" in message and "use at most 3 folds" in message
    with pytest.raises(learners.LearnerError, match="use the default learners"):
        fit(small.drop(treated[15:]), spec)  # 15 treated rows: not even 2 folds of 10


def test_a_penalised_learner_with_more_folds_than_rows_is_refused(nonlinear):
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], outcome_learner="lasso_cv",
                          crossfit_folds=10)
    tiny = nonlinear.groupby("t").head(40)
    with pytest.raises(learners.LearnerError, match=r"10-fold cross-fitting .* 40 treated and 40 control rows"):
        fit(tiny, spec)


def test_fewer_clusters_than_folds_is_refused(nonlinear):
    frame = nonlinear.assign(g=np.arange(len(nonlinear)) % 3)
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], cluster="g", ps_learner="boosting")
    with pytest.raises(learners.LearnerError, match="only 3 clusters; use at most 3 folds"):
        fit(frame, spec)


def test_a_cv_classifier_with_a_too_rare_outcome_in_a_fold_is_refused(nonlinear):
    frame = nonlinear.assign(y=0)
    treated = frame.index[frame["t"] == 1]
    frame.loc[treated[:4], "y"] = 1  # 4 treated rows with outcome 1: some training fold has < 3
    frame.loc[frame.index[frame["t"] == 0][:200], "y"] = 1
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], outcome_learner="ridge_cv")
    with pytest.raises(learners.LearnerError, match=r"'ridge_cv' outcome classifier cannot run on the treated arm"):
        fit(frame, spec)


def test_a_single_outcome_class_in_a_training_fold_predicts_it_and_warns(nonlinear):
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], outcome_learner="boosting",
                          crossfit_folds=3, crossfit_repetitions=1)  # one split: the folds below are its folds
    frame = nonlinear.iloc[:1200].assign(y=0)
    folds = learners.stratified_folds(est.build_design(nonlinear.iloc[:1200], spec), 3, spec.seed)
    in_fold_1 = np.flatnonzero((folds == 0) & (frame["t"].to_numpy() == 1))
    frame.iloc[in_fold_1[:3], frame.columns.get_loc("y")] = 1  # fold 1's training rows: no treated y = 1
    frame.iloc[np.flatnonzero(frame["t"].to_numpy() == 0)[:200], frame.columns.get_loc("y")] = 1
    result = est.run_estimation(frame, spec, sensitivity=False, refutations=False)
    warning = next(w for w in result.warnings if "'boosting' outcome model (treated arm)" in w)
    assert "in 1 of 3 cross-fitting folds: fold 1: only outcome value 0 in the training rows" in warning
    assert np.isfinite(rows_by_method(result)["aipw"].estimate)
    assert "treated" in result.diagnostics.outcome_model.separated_arms


def test_boosting_classifier_with_a_single_row_of_a_class_is_refused(nonlinear):
    frame = nonlinear.iloc[:1200].assign(y=0)
    frame.iloc[np.flatnonzero(frame["t"].to_numpy() == 1)[:1], frame.columns.get_loc("y")] = 1
    frame.iloc[np.flatnonzero(frame["t"].to_numpy() == 0)[:200], frame.columns.get_loc("y")] = 1
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], outcome_learner="boosting",
                          crossfit_folds=3)
    with pytest.raises(learners.LearnerError, match=r"only 1 row\(s\) with outcome 1 \(its early-stopping split"):
        fit(frame, spec)


def test_a_learner_that_does_not_converge_is_a_warning_naming_it(nonlinear, monkeypatch):
    monkeypatch.setattr(learners, "CV_MAX_ITER", 1)
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], outcome_learner="lasso_cv")
    result = est.run_estimation(nonlinear, spec, sensitivity=False, refutations=False)
    warning = next(w for w in result.warnings if "'lasso_cv' outcome model" in w)
    assert "did not converge" in warning and "of 25 cross-fitting folds (5 splits × 5 folds)" in warning


def test_a_learner_that_raises_becomes_a_learner_error_naming_model_and_fold(nonlinear, monkeypatch):
    class Broken:
        def fit(self, X, y):
            raise ValueError("Input X contains infinity")

    monkeypatch.setattr(learners, "_sklearn_model", lambda name, classifier, seed: Broken())
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], ps_learner="boosting")
    with pytest.raises(learners.LearnerError, match=r"'boosting' propensity model failed on fold 1 of 5: .*infinity"):
        fit(nonlinear, spec)


def test_bootstrap_with_a_flexible_learner_is_refused_with_the_reason(nonlinear):
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], ps_learner="boosting", bootstrap=50)
    with pytest.raises(learners.LearnerError, match="bootstrap refits only the default"):
        est.run_estimation(nonlinear, spec, sensitivity=False, refutations=False)


def test_an_unknown_learner_name_is_refused_by_the_spec():
    with pytest.raises(ValueError, match="ps_learner"):
        EstimationSpec(treatment="t", outcome="y", ps_learner="random_forest")


# ---- CLI ----------------------------------------------------------------------------------------
def test_cli_flags_choose_the_learners_and_report_progress_on_stderr(capsys, tmp_path, nonlinear):
    import json

    from causal_core.cli import main

    path = tmp_path / "nonlinear.csv"
    nonlinear.to_csv(path, index=False)
    argv = ["estimate", "--data", str(path), "--treatment", "t", "--outcome", "y", "--covariates", "x1,x2",
            "--ps-learner", "boosting", "--outcome-learner", "boosting", "--crossfit", "3", "--no-refute"]
    assert main([*argv, "--format", "json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    aipw = next(row for row in out["estimates"] if row["method"] == "aipw")
    assert aipw["ci_low"] <= TRUE_EFFECT <= aipw["ci_high"] and "3-fold cross-fitted" in aipw["se_type"]
    assert out["diagnostics"]["learners"]["folds"] == 3
    assert "Fold 3/3: 'boosting' outcome model (treated arm)" in captured.err
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "cross-fitted 'boosting' propensity treated as known (ignores its estimation; approximate)" in text


def test_cli_refuses_too_small_folds_in_one_line(capsys, tmp_path, nonlinear):
    from causal_core.cli import main

    path = tmp_path / "small.csv"
    nonlinear.groupby("t").head(25).to_csv(path, index=False)
    argv = ["estimate", "--data", str(path), "--treatment", "t", "--outcome", "y", "--covariates", "x1,x2",
            "--outcome-learner", "ridge_cv", "--no-refute"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Too few rows per fold for 5-fold cross-fitting" in err and "25 treated and 25 control rows" in err


# ---- page ---------------------------------------------------------------------------------------
@pytest.mark.slow  # the whole app plus refutations on cross-fitted learners: ~30 s on the shared 2 cores
def test_page_runs_boosting_learners_records_them_and_refuses_the_bootstrap_with_its_reason():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "app.py"), default_timeout=240).run()
    at.switch_page("app_pages/estimation.py").run()
    assert at.selectbox(key="est_ps_learner_retention").value == "logistic"  # default: today's exact fit
    at.selectbox(key="est_ps_learner_retention").set_value("boosting")
    at.selectbox(key="est_outcome_learner_retention").set_value("boosting")
    at.number_input(key="est_folds_retention").set_value(2)
    at.button(key="est_run_retention").click().run()
    assert not at.exception and not at.error
    result = at.session_state["cw_projects"]["retention"].estimation
    assert (result.spec.ps_learner, result.spec.outcome_learner, result.spec.crossfit_folds) == ("boosting", "boosting", 2)
    rows = rows_by_method(result)
    assert "2-fold cross-fitted 'boosting' propensity treated as known" in rows["ipw"].se_type
    assert rows["aipw"].ci_low <= result.true_effect <= rows["aipw"].ci_high
    assert any("'boosting' propensity treated as known" in caption.value for caption in at.caption)
    at.button(key="est_bootstrap_retention").click().run()
    assert any("bootstrap refits only the default" in error.value for error in at.error)
    assert at.session_state["cw_projects"]["retention"].estimation.diagnostics.bootstrap is None


# ---- the work bound: folds × repetitions × learners × rows (and boosting's rounds) -----------------
@pytest.fixture(scope="module")
def million() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 1_000_000
    return pd.DataFrame({"t": rng.integers(0, 2, n), "y": rng.normal(size=n), "x1": rng.normal(size=n)})


def test_a_run_over_the_row_fit_budget_is_refused_in_well_under_a_second_naming_the_numbers(million):
    import time

    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1"], ps_learner="logistic_cv",
                          outcome_learner="ridge_cv")
    clock = time.perf_counter()
    with pytest.raises(learners.LearnerError) as error:
        est.run_estimation(million, spec, sensitivity=False, refutations=False)
    assert time.perf_counter() - clock < 0.25
    message = str(error.value)
    assert "5 folds × 5 repetitions × 2 learners × 1,000,000 rows = 50 M row-fits exceeds the 20 M limit" in message
    assert "at most 2 repetition(s)" in message  # 5 × 2 × 2 × 1 M = 20 M fits the limit exactly


def test_boosting_rounds_count_against_their_own_budget_and_the_cli_says_so(million, tmp_path, capsys):
    from causal_core.cli import main

    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1"], ps_learner="boosting",
                          outcome_learner="boosting", crossfit_repetitions=2)
    rows = 300_000  # 5 × 2 × 2 × 300k = 6 M row-fits (inside) × 200 rounds = 1.2 G row-rounds (inside)
    learners.check_work_bound(spec, rows)
    with pytest.raises(learners.LearnerError, match=r"× 200 rounds = 3\.0 G row-rounds exceeds the 2\.0 G limit"):
        learners.check_work_bound(spec.model_copy(update={"crossfit_repetitions": 5}), rows)
    only_ipw = spec.model_copy(update={"crossfit_repetitions": 5})  # IPW alone fits one learner per fold
    learners.check_work_bound(only_ipw, rows, ("ipw",))
    path = tmp_path / "million.csv"
    million.iloc[:500_000].to_csv(path, index=False)
    argv = ["estimate", "--data", str(path), "--treatment", "t", "--outcome", "y", "--covariates", "x1",
            "--ps-learner", "boosting", "--outcome-learner", "boosting", "--crossfit-repetitions", "3", "--no-refute"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Too much boosting for one run: 5 folds × 3 repetitions × 2 boosting learner(s) × 500,000 rows" in err
    assert "Use at most 2 repetition(s)" in err  # 5 × 2 × 2 × 500k × 200 = 2.0 G: exactly the limit


def test_the_default_exact_fits_are_never_bounded_by_the_learner_budget(million):
    learners.check_work_bound(EstimationSpec(treatment="t", outcome="y", crossfit_folds=10), len(million) * 10)


def test_repetitions_outside_zero_to_hundred_are_refused_by_the_spec():
    with pytest.raises(ValueError, match="crossfit_repetitions"):
        EstimationSpec(treatment="t", outcome="y", crossfit_repetitions=-1)
    with pytest.raises(ValueError, match="crossfit_repetitions"):
        EstimationSpec(treatment="t", outcome="y", crossfit_repetitions=10**6)
