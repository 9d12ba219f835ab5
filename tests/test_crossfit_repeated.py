"""Repeated cross-fitting (issue 23 item 5): K folds × R splits with the median rule, folds that keep exact
duplicates and clusters whole, the split-to-split spread, progress and Stop across splits, boosting's label
symmetry, and the bad inputs (work bound, duplicates that starve a fold of an arm)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal_core import estimation as est
from causal_core.estimation import crossfit, learners
from causal_core.project import EstimationSpec, Project
from causal_core.project_file import project_to_json

Z = 1.959963984540054


def nonlinear_frame(n: int, seed: int) -> pd.DataFrame:
    """The learners' test design (tests/test_estimation_learners.py): treatment and outcome depend on x1²."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    e = 1 / (1 + np.exp(-(1.8 * x1**2 - 2.4 + 0.3 * x2)))
    t = rng.binomial(1, e)
    y = 1.0 * t + 3 * np.sin(1.5 * x1) ** 2 + 1.5 * x1**2 + x2 + rng.normal(0, 1, n)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})


def learner_spec(**fields) -> EstimationSpec:
    return EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], **fields)


def rows_of(result) -> dict[str, object]:
    return {row.method: row for row in result.estimates}


@pytest.fixture(scope="module")
def frame600() -> pd.DataFrame:
    return nonlinear_frame(600, seed=11)


# ---- R = 1 is the single split, to the digit ------------------------------------------------------------
# Measured with the single-split code (commit 36fb9ff, before repeated cross-fitting) on nonlinear_frame(600, 11),
# seed 7, ATE: these are the numbers a one-split run printed.
SINGLE_SPLIT = {
    ("logistic_cv", "ridge_cv"): {"ipw": (3.5130191115956655, 0.17589520200987654),
                                  "aipw": (3.4111553450762337, 0.1495681075585226)},
    ("logistic", "lasso_cv"): {"aipw": (3.414971915811709, 0.15088188554542356)},
}


@pytest.mark.parametrize(("ps_learner", "outcome_learner"), list(SINGLE_SPLIT))
def test_one_fold_split_reproduces_the_single_split_numbers(frame600, ps_learner, outcome_learner):
    spec = learner_spec(ps_learner=ps_learner, outcome_learner=outcome_learner, seed=7, crossfit_repetitions=1)
    result = est.run_estimation(frame600, spec, sensitivity=False, refutations=False)
    rows = rows_of(result)
    for method, (estimate, se) in SINGLE_SPLIT[(ps_learner, outcome_learner)].items():
        assert rows[method].estimate == pytest.approx(estimate, rel=1e-9, abs=0), method
        assert rows[method].std_error == pytest.approx(se, rel=1e-9, abs=0), method
        assert "median of" not in rows[method].se_type  # one split: nothing aggregated, nothing claimed
    assert result.diagnostics.crossfit.repetitions == 1
    assert result.diagnostics.crossfit.rows["aipw"].sentence.startswith("1 fold split: its spread is not")


# ---- the median rule, by hand -------------------------------------------------------------------------
def test_median_rule_on_textbook_numbers():
    # odd R: median 3; se² + (θ − 3)² = 5, 2, 1, 2, 50 -> median 2 -> SE √2
    theta, se = crossfit.median_aggregate(np.array([1.0, 2.0, 3.0, 4.0, 10.0]), np.ones(5))
    assert theta == 3.0 and se == pytest.approx(np.sqrt(2.0), rel=1e-15)
    # even R: median 2.5; 1 + (2.25, 0.25, 0.25, 6.25) -> median (1.25 + 3.25) / 2 = 2.25 -> SE 1.5
    theta, se = crossfit.median_aggregate(np.array([1.0, 2.0, 3.0, 5.0]), np.ones(4))
    assert theta == 2.5 and se == pytest.approx(1.5, rel=1e-15)
    assert crossfit.central_split(np.array([0.3, 0.1, 0.2])) == [2]
    assert crossfit.central_split(np.array([0.4, 0.1, 0.3, 0.2])) == [3, 2]


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.tuples(st.floats(-50, 50), st.floats(0.01, 10)), min_size=1, max_size=21),
    shift=st.floats(-100, 100),
    scale=st.floats(0.1, 10),
)
def test_median_rule_is_equivariant_and_never_narrower_than_a_typical_split(values, shift, scale):
    estimates = np.array([value for value, _ in values])
    ses = np.array([se for _, se in values])
    theta, se = crossfit.median_aggregate(estimates, ses)
    assert se >= np.median(ses) * (1 - 1e-12)  # the spread only ever adds
    moved = crossfit.median_aggregate(scale * estimates + shift, scale * ses)
    assert moved[0] == pytest.approx(scale * theta + shift, abs=1e-9 * (1 + abs(shift) + scale * 50))
    assert moved[1] == pytest.approx(scale * se, rel=1e-9)
    if len(values) == 1:
        assert (theta, se) == (estimates[0], ses[0])


def test_the_spread_in_se_units_and_the_intervals_that_exclude_zero():
    spread = crossfit.split_spread(np.array([0.1, 0.5, 0.2, 0.9, 0.3]), np.full(5, 0.2), 0.3, 5)
    assert spread["range_se"] == pytest.approx(4.0) and spread["iqr_se"] == pytest.approx(1.5)
    assert spread["min_se"] == pytest.approx(-1.0) and spread["max_se"] == pytest.approx(3.0)
    assert spread["intervals_excluding_zero"] == 2  # 0.5 and 0.9 exceed 1.96 × 0.2 = 0.392
    assert spread["sentence"] == ("5 fold splits of 5 folds: estimates range over 4.00 SE (interquartile range "
                                  "1.50 SE; SE = one split's median SE, 0.2); 2 of 5 intervals exclude 0.")


@pytest.fixture(scope="module")
def repeated(frame600):
    """R = 5 splits of the penalised learners, and the same five splits run one at a time (seed, seed + 1, …)."""
    spec = learner_spec(ps_learner="logistic_cv", outcome_learner="ridge_cv", seed=7, crossfit_repetitions=5)
    result = est.run_estimation(frame600, spec, sensitivity=False, refutations=False)
    singles = [
        rows_of(est.run_estimation(frame600, spec.model_copy(update={"seed": 7 + r, "crossfit_repetitions": 1}),
                                   sensitivity=False, refutations=False))
        for r in range(5)
    ]
    return result, singles


def test_each_split_is_the_single_split_run_with_the_next_seed_and_the_row_is_their_median(repeated):
    result, singles = repeated
    for method in ("ipw", "aipw"):
        spread = result.diagnostics.crossfit.rows[method]
        assert spread.estimates == [single[method].estimate for single in singles]
        assert spread.std_errors == [single[method].std_error for single in singles]
        ordered = sorted(zip(spread.estimates, spread.std_errors, strict=True))
        median = ordered[2][0]  # R = 5: the third of the sorted estimates
        variances = sorted(se**2 + (estimate - median) ** 2 for estimate, se in ordered)
        row = rows_of(result)[method]
        assert row.estimate == median
        assert row.std_error == pytest.approx(variances[2] ** 0.5, rel=1e-12)
        assert row.ci_low == pytest.approx(median - Z * row.std_error, rel=1e-12)
        assert "median of 5 fold splits, SE includes the split-to-split spread" in row.se_type
        singles_se = sorted(se for _, se in ordered)[2]
        assert spread.range_se == pytest.approx((ordered[-1][0] - ordered[0][0]) / singles_se, abs=1e-4)
        assert spread.iqr_se == pytest.approx((ordered[3][0] - ordered[1][0]) / singles_se, abs=1e-4)
        excluding = sum(abs(estimate) > Z * se for estimate, se in ordered)
        assert spread.intervals_excluding_zero == excluding
        assert spread.sentence.startswith(f"5 fold splits of 5 folds: estimates range over {spread.range_se:.2f} SE")
        assert spread.sentence.endswith(f"{excluding} of 5 intervals exclude 0.")
    json.dumps(result.diagnostics.crossfit.model_dump(mode="json"), allow_nan=False)  # plain JSON: saved with the project


def test_the_diagnostics_describe_the_median_split(repeated):
    result, singles = repeated
    crossfit_info = result.diagnostics.crossfit
    aipw = [single["aipw"].estimate for single in singles]
    centre = int(np.argsort(aipw)[2])
    assert crossfit_info.diagnostics_split == centre + 1 and crossfit_info.seeds == "7–11"
    arm = result.diagnostics.arm_means
    assert arm.treated - arm.control == pytest.approx(rows_of(result)["aipw"].estimate, abs=1e-12)
    assert len(result.diagnostics.learners.fits) == 5 * 5 * 3
    assert result.diagnostics.learners.repetitions == 5


def test_the_default_is_five_splits_for_a_learner_and_the_exact_fits_are_untouched(frame600):
    assert learners.repetition_count(learner_spec(outcome_learner="ridge_cv")) == learners.DEFAULT_REPETITIONS == 5
    default = est.run_estimation(frame600, learner_spec(), sensitivity=False, refutations=False)
    assert default.diagnostics.crossfit is None
    assert not any("fold splits" in row.se_type for row in default.estimates)


# ---- folds that keep copies and clusters whole ---------------------------------------------------------
@st.composite
def duplicated_frames(draw):
    """Rows drawn from a small pool of distinct rows (so exact copies are common), optionally clustered.

    Every pool row appears once, then at least 10 more copies per arm are drawn from it (the design needs 10
    rows per arm, and the first four pool rows make the outcome vary within each arm).
    """
    pool = draw(st.integers(8, 40))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    base = pd.DataFrame({
        "x1": rng.integers(0, 4, pool).astype(float), "x2": rng.normal(size=pool).round(1),
        "t": np.r_[0, 0, 1, 1, rng.integers(0, 2, pool - 4)], "y": np.r_[0, 1, 0, 1, rng.integers(0, 3, pool - 4)],
    }).astype({"y": float})
    treated, control = np.flatnonzero(base["t"] == 1), np.flatnonzero(base["t"] == 0)
    extra = np.r_[rng.choice(treated, draw(st.integers(10, 60))), rng.choice(control, draw(st.integers(10, 60)))]
    frame = base.iloc[np.r_[np.arange(pool), extra]].reset_index(drop=True)
    clusters = draw(st.sampled_from([0, 3, 12, 40]))
    if clusters:
        frame["g"] = rng.integers(0, clusters, len(frame))
    return frame, draw(st.integers(2, 5)), seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(duplicated_frames())
def test_no_copy_and_no_cluster_ever_sits_in_both_a_training_and_its_prediction_fold(case):
    frame, k, seed = case
    cluster = "g" if "g" in frame else None
    spec = learner_spec(outcome_learner="ridge_cv", cluster=cluster)
    design = est.build_design(frame, spec)
    groups = learners.design_groups(design)
    expected_copies = int(frame[["x1", "x2", "t", "y"]].duplicated(keep=False).sum())
    assert groups.duplicate_rows == expected_copies
    try:
        folds = learners.stratified_folds(design, k, seed, groups)
    except learners.LearnerError as error:
        assert groups.n_groups < k and f"use at most {groups.n_groups} folds" in str(error)
        return
    copy_id = frame.groupby(["x1", "x2", "t", "y"]).ngroup().to_numpy()
    for fold in range(k):
        test, train = folds == fold, folds != fold
        assert not set(copy_id[test]) & set(copy_id[train])
        if cluster:
            assert not set(frame["g"][test]) & set(frame["g"][train])


def test_a_run_with_copied_rows_says_how_many_were_grouped_and_keeps_them_out_of_their_own_training_folds():
    frame = nonlinear_frame(400, seed=2)
    doubled = pd.concat([frame, frame.iloc[:150]], ignore_index=True)
    spec = learner_spec(ps_learner="boosting", crossfit_repetitions=2)
    result = est.run_estimation(doubled, spec, sensitivity=False, refutations=False)
    assert result.diagnostics.crossfit.duplicate_rows_grouped == 300
    assert result.diagnostics.crossfit.duplicate_sets == 150
    assert "exact duplicate rows kept together" in result.diagnostics.crossfit.fold_scheme
    assert any(w.startswith("300 rows are exact copies of 150 distinct rows") for w in result.warnings)
    design = est.build_design(doubled, spec)
    for seed in (spec.seed, spec.seed + 1):
        folds = learners.stratified_folds(design, 5, seed)
        np.testing.assert_array_equal(folds[:150], folds[400:])  # every copy predicted with its original


def test_copies_that_starve_a_fold_of_treated_rows_are_refused_with_the_reason_and_nothing_changes():
    rng = np.random.default_rng(5)
    treated = pd.DataFrame({"t": 1, "y": np.repeat(rng.normal(size=4), 15),
                            "x1": np.repeat(rng.normal(size=4), 15), "x2": np.repeat(rng.normal(size=4), 15)})
    control = pd.DataFrame({"t": 0, "y": rng.normal(size=200), "x1": rng.normal(size=200), "x2": rng.normal(size=200)})
    frame = pd.concat([treated, control], ignore_index=True)
    project = Project(name="dups", treatment="t", outcome="y")
    before = project_to_json(project)
    spec = learner_spec(outcome_learner="ridge_cv")
    with pytest.raises(learners.LearnerError) as error:
        est.estimate_project(project, frame, spec)
    message = str(error.value)
    assert "holds 0 treated" in message and "60 rows are exact copies of 4 distinct rows" in message
    assert "remove the duplicates" in message and "Nothing was estimated" in message
    assert project_to_json(project) == before and project.estimation is None


def test_fewer_groups_of_copies_than_folds_is_refused_naming_the_groups():
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({"t": [0, 1, 0, 1], "y": [1.0, 2.0, 0.5, 3.0], "x1": rng.normal(size=4), "x2": rng.normal(size=4)})
    design = est.build_design(rows.loc[np.repeat([0, 1, 2, 3], 40)].reset_index(drop=True), learner_spec())
    with pytest.raises(learners.LearnerError, match=r"form only 4 such groups \(160 rows are copies of 4 distinct"):
        learners.stratified_folds(design, 5, 1)


# ---- progress and Stop across the splits --------------------------------------------------------------
def test_progress_counts_splits_times_folds_times_models_and_stop_during_split_two_stops(frame600):
    spec = learner_spec(outcome_learner="ridge_cv", crossfit_repetitions=3)
    design = est.build_design(frame600, spec)
    seen: list[tuple[float, str]] = []

    def record(fraction: float, message: str) -> None:
        seen.append((fraction, message))

    learners.fit_with_learners(est.CoreFit(rows=[]), design, spec, ("ipw", "aipw"), progress=record)
    fractions = [fraction for fraction, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert seen[-1][1] == "45 of 45 model fits done"  # 3 splits × 5 folds × (propensity + 2 arms)
    assert any(message == "Fold 5/5: 'ridge_cv' outcome model (treated arm), split 3/3" for _, message in seen)
    done = {"fits": 0}

    def count(fraction: float, message: str) -> None:
        done["fits"] += message.endswith("model fits done")

    with pytest.raises(learners.LearnerStopped, match=r"after 17 of 45 model fits \(next: Fold 1/5: 'ridge_cv' "
                                                      r"outcome model \(treated arm\), split 2/3\)"):
        learners.fit_with_learners(est.CoreFit(rows=[]), design, spec, ("ipw", "aipw"), progress=count,
                                   should_stop=lambda: done["fits"] >= 17)
    assert done["fits"] == 17


# ---- the work bound with R splits ---------------------------------------------------------------------
def test_the_work_bound_counts_every_split():
    spec = learner_spec(ps_learner="logistic_cv", outcome_learner="ridge_cv")
    learners.check_work_bound(spec.model_copy(update={"crossfit_repetitions": 2}), 1_000_000)  # 20 M: the limit
    with pytest.raises(learners.LearnerError, match=r"5 folds × 3 repetitions × 2 learners × 1,000,000 rows = 30 M "
                                                    r"row-fits exceeds the 20 M limit\. Use at most 2 repetition"):
        learners.check_work_bound(spec.model_copy(update={"crossfit_repetitions": 3}), 1_000_000)
    boosted = learner_spec(ps_learner="boosting", outcome_learner="boosting")
    learners.check_work_bound(boosted.model_copy(update={"crossfit_repetitions": 10}), 100_000)  # 2.0 G rounds
    with pytest.raises(learners.LearnerError, match=r"5 folds × 11 repetitions × 2 boosting learner\(s\) × 100,000 "
                                                    r"rows × 200 rounds = 2\.2 G .* Use at most 10 repetition"):
        learners.check_work_bound(boosted.model_copy(update={"crossfit_repetitions": 11}), 100_000)


# ---- boosting is label-symmetric ----------------------------------------------------------------------
def test_recoding_the_treatment_mirrors_the_boosting_propensity(frame600):
    spec = learner_spec(ps_learner="boosting", seed=3)
    e = learners.crossfit_nuisances(est.build_design(frame600, spec), spec, need_outcome=False).e
    flipped = frame600.assign(t=1 - frame600["t"])
    e_flipped = learners.crossfit_nuisances(est.build_design(flipped, spec), spec, need_outcome=False).e
    assert np.max(np.abs(e_flipped - (1 - e))) < 1e-12


# ---- the CLI and the page show the spread -------------------------------------------------------------
def test_cli_prints_each_rows_spread(tmp_path, capsys, frame600):
    from causal_core.cli import main

    path = tmp_path / "nonlinear.csv"
    frame600.to_csv(path, index=False)
    argv = ["estimate", "--data", str(path), "--treatment", "t", "--outcome", "y", "--covariates", "x1,x2",
            "--outcome-learner", "ridge_cv", "--crossfit-repetitions", "3", "--no-refute"]
    assert main([*argv, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    sentence = data["diagnostics"]["crossfit"]["rows"]["aipw"]["sentence"]
    assert sentence.startswith("3 fold splits of 5 folds: estimates range over ")
    assert main(argv) == 0
    assert f"Fold splits (aipw): {sentence}" in capsys.readouterr().out


@pytest.mark.slow  # the whole app on retention: ~30 s on the shared cores
def test_the_page_shows_the_spread_next_to_the_learner_rows():
    from tests.test_estimation_app import open_page, project, shown

    at = open_page()
    at.selectbox(key="est_outcome_learner_retention").set_value("ridge_cv")
    at.number_input(key="est_folds_retention").set_value(2)
    at.number_input(key="est_repetitions_retention").set_value(3)
    at.button(key="est_run_retention").click().run()
    assert not at.exception and not at.error
    spread = project(at).estimation.diagnostics.crossfit.rows["aipw"]
    assert spread.splits == 3 and len(spread.estimates) == 3
    assert any(shown(caption) == f"**aipw** across fold splits: {spread.sentence}" for caption in at.caption)
