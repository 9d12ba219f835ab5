"""Exact cross-fitting (issue 23 item 5, the rest): the default logistic/linear AIPW with K >= 2 folds uses the
learners' grouped folds (copies and clusters whole) on R seeded splits, the median rule and the spread summary,
and the specification curve's aipw_cf:exact row is the page's row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal_core import estimation as est
from causal_core.estimation import crossfit
from causal_core.estimation import estimators as exact
from causal_core.project import EstimationSpec

Z = 1.959963984540054


def linear_frame(n: int, seed: int) -> pd.DataFrame:
    """A confounded linear design: x1 drives treatment and outcome, the effect is 1."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = rng.binomial(1, 1 / (1 + np.exp(-0.8 * x1)))
    y = 1.0 * t + 2 * x1 + x2 + rng.normal(size=n)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})


def exact_spec(**fields) -> EstimationSpec:
    return EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], **{"crossfit_folds": 5, **fields})


def aipw_row(frame: pd.DataFrame, spec: EstimationSpec):
    result = est.run_estimation(frame, spec, sensitivity=False, refutations=False)
    return next(row for row in result.estimates if row.method == "aipw"), result


@pytest.fixture(scope="module")
def frame500() -> pd.DataFrame:
    return linear_frame(500, seed=4)


# ---- the median rule on the exact path -------------------------------------------------------------------
def test_each_split_is_the_one_split_run_with_the_next_seed_and_the_row_is_their_median(frame500):
    spec = exact_spec(seed=9, crossfit_repetitions=5)
    row, result = aipw_row(frame500, spec)
    singles = [aipw_row(frame500, spec.model_copy(update={"seed": 9 + r, "crossfit_repetitions": 1}))[0]
               for r in range(5)]
    estimates = np.array([single.estimate for single in singles])
    ses = np.array([single.std_error for single in singles])
    assert len(set(estimates.round(12))) == 5  # five different splits, not one split five times
    theta = float(np.median(estimates))
    se = float(np.sqrt(np.median(ses**2 + (estimates - theta) ** 2)))
    assert row.estimate == pytest.approx(theta, abs=1e-12) and row.std_error == pytest.approx(se, rel=1e-12)
    assert row.ci_low == pytest.approx(theta - Z * se, rel=1e-9) and row.std_error >= np.median(ses)
    assert row.se_type == ("influence function, 5-fold cross-fitted; median of 5 fold splits, SE includes the "
                           "split-to-split spread (Chernozhukov et al. 2018)")
    spread = result.diagnostics.crossfit.rows["aipw"]
    np.testing.assert_allclose(spread.estimates, estimates, rtol=0, atol=1e-12)
    assert spread.sentence.startswith("5 fold splits of 5 folds: estimates range over ")
    assert result.diagnostics.crossfit.seeds == "9–13" and result.diagnostics.crossfit.repetitions == 5


def test_the_diagnostics_describe_the_median_split(frame500):
    spec = exact_spec(seed=3, crossfit_repetitions=3)
    row, result = aipw_row(frame500, spec)
    design = est.build_design(frame500, spec)
    fit = exact.exact_crossfit(design, 5, 3, 3)
    centre = result.diagnostics.crossfit.diagnostics_split - 1
    middle = exact.aipw(design, np.clip(fit.splits[centre].raw_e, *spec.clip), fit.splits[centre].models, "ATE")
    assert middle[0].estimate == pytest.approx(row.estimate, abs=1e-12)  # odd R: the median is one split's row
    assert result.diagnostics.crossfit.fold_scheme == "stratified by treatment"


def test_the_exact_default_is_five_splits_and_no_folds_means_no_split(frame500):
    assert exact.exact_repetition_count(0) == exact.EXACT_REPETITIONS == 5
    assert exact.exact_repetition_count(2) == 2
    row, result = aipw_row(frame500, exact_spec())
    assert result.diagnostics.crossfit.repetitions == 5 and "median of 5 fold splits" in row.se_type
    plain, plain_result = aipw_row(frame500, exact_spec(crossfit_folds=0))
    assert plain_result.diagnostics.crossfit is None and "cross-fitted" not in plain.se_type


# The new baseline. Before this change one split drew plain random folds (a permutation of 0..K-1 by the seed)
# and printed -0.047678 (SE 0.010621) on the built-in retention, K = 5, seed 123; the stratified grouped folds
# print -0.047821 (R = 1) and the median of 5 splits -0.047862, each within 0.02 SE of the old number.
def test_retention_new_baseline_and_its_measured_spread(retention):
    from causal_core import dag
    from causal_core.multiverse.adapter import analysis_frame

    project, raw = retention
    project = project.model_copy(update={"dag": dag.default_dag("retention")})
    frame = analysis_frame(project, raw)
    spec = est.default_spec(project, frame).model_copy(update={"crossfit_folds": 5})
    one, _ = aipw_row(frame, spec.model_copy(update={"crossfit_repetitions": 1}))
    assert (round(one.estimate, 6), round(one.std_error, 6)) == (-0.047821, 0.010655)
    assert one.se_type == "influence function, 5-fold cross-fitted"  # one split: no aggregation text
    five, result = aipw_row(frame, spec)
    assert (round(five.estimate, 6), round(five.std_error, 6)) == (-0.047862, 0.010656)
    spread = result.diagnostics.crossfit.rows["aipw"]
    assert spread.range_se == pytest.approx(0.13, abs=0.005) and spread.intervals_excluding_zero == 5


# ---- folds that keep copies and clusters whole ------------------------------------------------------------
@st.composite
def copied_frames(draw):
    """Rows drawn from a small pool of distinct rows (copies common), optionally in clusters."""
    pool = draw(st.integers(12, 40))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    base = pd.DataFrame({"x1": rng.integers(0, 4, pool).astype(float), "x2": rng.normal(size=pool).round(1),
                         "t": np.r_[0, 0, 1, 1, rng.integers(0, 2, pool - 4)],
                         "y": np.r_[0.0, 1.0, 0.0, 1.0, rng.integers(0, 3, pool - 4)]})
    treated, control = np.flatnonzero(base["t"] == 1), np.flatnonzero(base["t"] == 0)
    extra = np.r_[rng.choice(treated, draw(st.integers(10, 60))), rng.choice(control, draw(st.integers(10, 60)))]
    frame = base.iloc[np.r_[np.arange(pool), extra]].reset_index(drop=True)
    clusters = draw(st.sampled_from([0, 3, 12, 40]))
    if clusters:
        frame["g"] = rng.integers(0, clusters, len(frame))
    return frame, draw(st.integers(2, 5)), seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(copied_frames())
def test_the_exact_folds_never_split_a_copy_or_a_cluster(case):
    frame, k, seed = case
    cluster = "g" if "g" in frame else None
    spec = exact_spec(cluster=cluster, crossfit_folds=k)
    design = est.build_design(frame, spec)
    try:
        folds = exact.crossfit_folds(design, k, seed)
    except crossfit.LearnerError as error:  # too few groups, or a fold short of an arm: refused by name
        assert "folds" in str(error) and ("use at most" in str(error) or "fewer folds" in str(error))
        return
    assert sorted(set(folds)) == list(range(k))
    copy_id = frame.groupby(["x1", "x2", "t", "y"]).ngroup().to_numpy()
    for fold in range(k):
        test, train = folds == fold, folds != fold
        assert not set(copy_id[test]) & set(copy_id[train])
        assert min(design.t[test].sum(), (1 - design.t[test]).sum()) >= 2
        if cluster:
            assert not set(frame["g"][test]) & set(frame["g"][train])


def test_copied_rows_are_counted_and_predicted_with_their_original(frame500):
    doubled = pd.concat([frame500, frame500.iloc[:120]], ignore_index=True)
    spec = exact_spec(crossfit_repetitions=2)
    _, result = aipw_row(doubled, spec)
    entry = result.diagnostics.crossfit
    assert (entry.duplicate_rows_grouped, entry.duplicate_sets) == (240, 120)
    assert entry.fold_scheme == "stratified by treatment, exact duplicate rows kept together"
    design = est.build_design(doubled, spec)
    for seed in (spec.seed, spec.seed + 1):
        folds = exact.crossfit_folds(design, 5, seed)
        np.testing.assert_array_equal(folds[:120], folds[500:])


def test_fewer_clusters_than_folds_is_refused_naming_the_clusters(frame500):
    clustered = frame500.assign(g=np.arange(500) % 3)
    with pytest.raises(est.EstimationError, match=r"only 3 clusters; use at most 3 folds"):
        est.run_estimation(clustered, exact_spec(cluster="g"), sensitivity=False, refutations=False)


# ---- the specification curve's row is the page's row -------------------------------------------------------
def test_the_curves_exact_row_equals_the_page_with_clusters_and_without(frame500):
    """The cluster choice is a view of one design; grouped folds depend on it, so each view must fit its own."""
    from causal_core.multiverse import adapter

    frame = frame500.assign(g=np.arange(500) % 25)
    clustered = est.build_design(frame, exact_spec(cluster="g"))
    fits = adapter.SharedFits(clustered, exact_spec(cluster="g", crossfit_repetitions=3))
    plain = fits.view(adapter.without_clusters(clustered))
    for view, cluster in ((fits, "g"), (plain, None), (fits, "g")):
        row = adapter.estimate(view, "aipw_cf:exact", "ATE", 5)
        page, _ = aipw_row(frame, exact_spec(cluster=cluster, crossfit_repetitions=3))
        assert row.estimate == pytest.approx(page.estimate, abs=1e-12) and row.se_type == page.se_type
        assert row.std_error == pytest.approx(page.std_error, rel=1e-12)
    assert fits.fits["crossfit"] == 2  # one fit per fold grouping, reused on the second clustered call


def test_cli_prints_the_exact_rows_spread_and_its_help_names_the_default(tmp_path, capsys, frame500):
    from causal_core.cli import main

    path = tmp_path / "linear.csv"
    frame500.to_csv(path, index=False)
    argv = ["estimate", "--data", str(path), "--treatment", "t", "--outcome", "y", "--covariates", "x1,x2",
            "--crossfit", "4", "--crossfit-repetitions", "3", "--no-refute"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "5-fold" not in out and "4-fold cross-fitted; median of 3 fold splits" in out
    assert "Fold splits (aipw): 3 fold splits of 4 folds: estimates range over " in out
    with pytest.raises(SystemExit):
        main(["estimate", "--help"])
    assert "the median of --crossfit-repetitions splits, 5 when 0" in " ".join(capsys.readouterr().out.split())


@pytest.mark.slow  # the whole app on retention: ~30 s on the shared cores
def test_the_page_shows_the_spread_next_to_the_exact_crossfitted_row():
    from tests.test_estimation_app import open_page, project, shown

    at = open_page()
    at.number_input(key="est_folds_retention").set_value(3)
    at.number_input(key="est_repetitions_retention").set_value(3)
    at.button(key="est_run_retention").click().run()
    assert not at.exception and not at.error
    stored = project(at).estimation
    spread = stored.diagnostics.crossfit.rows["aipw"]
    assert spread.splits == 3 and spread.folds == 3 and len(spread.estimates) == 3
    aipw = next(row for row in stored.estimates if row.method == "aipw")
    assert "3-fold cross-fitted; median of 3 fold splits" in aipw.se_type
    from causal_core.estimation.learners import uses_learners

    assert not uses_learners(stored.spec)  # the default exact fits, not a learner
    assert any(shown(caption) == f"**aipw** across fold splits: {spread.sentence}" for caption in at.caption)
