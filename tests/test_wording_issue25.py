"""Issue 25 §5 wording: a ~0 robustness value is explained, never "0.00 %"; a placebo test the time budget cut
to fewer shuffles than planned reports how many ran and gives no interval ("1 shuffles" and a 99 % CI from one
shuffle were printed before)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from causal_core import estimation as est
from causal_core.estimation import refutation, sensitivity
from causal_core.project import EstimationSpec
from causal_core.results import RefutationVerdict, SensemakrResult

SPEC = EstimationSpec(treatment="t", outcome="y", covariates=["x"])


def _frame(seed: int = 3, orthogonal: bool = False, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(float)
    y = x + 0.8 * t + rng.normal(size=n)
    if orthogonal:  # y's part explained by t (given 1, x) removed exactly: the coefficient on t is 0
        design = np.column_stack([np.ones(n), t, x])
        beta = np.linalg.lstsq(design, y, rcond=None)[0]
        y = y - beta[1] * t
    return pd.DataFrame({"t": t.astype(int), "y": y, "x": x})


def _sensemakr(frame: pd.DataFrame) -> SensemakrResult:
    design = est.build_design(frame, SPEC)
    _, info = est.regression(design, "ATE")
    return sensitivity.sensemakr_summary(design, info, "t", "y")


def test_a_zero_robustness_value_reads_below_a_hundredth_of_a_percent_and_says_what_it_means():
    summary = _sensemakr(_frame(orthogonal=True))
    assert summary.rv < sensitivity.SHARE_FLOOR and summary.rv_alpha < sensitivity.SHARE_FLOOR
    sentence = summary.rv_sentence
    assert not re.search(r"\b0\.0+ ?%", sentence), sentence
    assert sentence.count("< 0.01 %") >= 2
    assert "practically zero relative to its noise" in sentence and "not evidence of an effect" in sentence


def test_a_robust_estimate_keeps_its_percentages_and_adds_no_warning():
    summary = _sensemakr(_frame())
    assert summary.rv > 0.05
    assert f"{summary.rv:.2%}" in summary.rv_sentence
    assert sensitivity.rv_implication(summary.rv, summary.rv_alpha) == ""


@pytest.mark.parametrize(
    ("rv", "rv_alpha", "phrase"),
    [(0.00005, 0.0, "practically zero"), (0.02, 0.0, "not statistically significant even with no"),
     (0.005, 0.001, "even a weak confounder"), (0.2, 0.1, "")],
)
def test_rv_implication_by_case(rv, rv_alpha, phrase):
    text = sensitivity.rv_implication(rv, rv_alpha)
    assert (phrase in text) if phrase else text == ""


def _placebo(budget_s: float) -> list[RefutationVerdict]:
    frame = _frame()
    design = est.build_design(frame, SPEC)
    core = est.estimate_core(design, SPEC)
    items = refutation.run_refutations(design, SPEC, core, est.estimate_core, budget_s=budget_s)
    return [item for item in items if item.test == "placebo treatment"]


def test_a_cut_placebo_test_says_how_many_shuffles_ran_and_gives_no_interval():
    items = _placebo(1e-6)
    assert items
    for item in items:
        assert len(item.placebo_estimates) == refutation.MIN_PLACEBO_DRAWS == 1
        assert item.verdict == "NOT RUN" and item.observed_ci is None
        sentence = item.sentence
        assert sentence.startswith(f"NOT RUN — {item.estimator}: the refutation time budget cut this test to "
                                   "1 shuffle of 3")
        assert "1 shuffles" not in sentence and "CI" not in sentence
        assert f"{item.observed:+.3f}".replace("-", "−") in sentence
        assert "1 of 3 shuffles ran" in item.budget_note


def test_a_full_placebo_test_keeps_its_interval_and_plural():
    items = _placebo(1e6)
    for item in items:
        assert item.verdict in {"PASS", "WARN"} and len(item.observed_ci) == 2
        assert f"{refutation.PLACEBO_DRAWS} shuffles)" in item.sentence


def test_counts_agree_with_their_noun():
    assert refutation._count(1, "shuffle") == "1 shuffle"
    assert refutation._count(2, "shuffle") == "2 shuffles"
    assert refutation._count(1200, "subset") == "1,200 subsets"


# ---- overlap in context: under the ATT only the treated need overlap (issue 25 §5) -------------------------


def _rare_treatment_overlap(seed: int = 8, n: int = 20_000):
    """0.8 %-ish treated, propensity driven by x: nearly every untreated unit sits below 0.05."""
    from causal_core.audit.balance import DesignSource, propensity_overlap

    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-5.5 + 0.8 * x)))).astype(int)
    frame = pd.DataFrame({"t": t, "x": x})
    summary, _ = propensity_overlap(DesignSource(frame), frame["t"], ["x"], [], (0.05, 0.95))
    return summary, frame


def test_att_reads_the_treated_units_share_outside_not_the_alarming_overall_share():
    from causal_core.audit.balance import overlap_reading

    summary, frame = _rare_treatment_overlap()
    values = dict(zip(summary["metric"], summary["value"], strict=True))
    overall, treated = values["share outside [0.05, 0.95]"], values["treated share outside [0.05, 0.95]"]
    assert overall > 0.9 and frame["t"].mean() < 0.02  # the picture: almost everyone "outside"
    reading = overlap_reading(summary, "ATT", (0.05, 0.95))
    assert reading.startswith("Under the ATT only the treated units need comparable untreated units: "
                              f"{treated:.1%} of the treated units lie outside [0.05, 0.95]")
    assert f"{overall:.1%} of all units" in reading and f"treated are {frame['t'].mean():.1%} of rows" in reading
    ate = overlap_reading(summary, "ATE", (0.05, 0.95))
    assert ate.startswith("Under the ATE every unit needs") and "extrapolation" in ate


def test_overlap_reading_is_silent_without_a_fitted_summary():
    from causal_core.audit.balance import overlap_reading

    empty = pd.DataFrame({"metric": ["note"], "value": ["not enough complete rows"]})
    assert overlap_reading(empty, "ATT", (0.05, 0.95)) == ""


def test_the_audit_page_reads_overlap_for_the_att_on_a_rare_treatment_upload():
    """AppTest: the Data audit page puts the treated units' share (ATT) beside the alarming overall share."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from causal_core.data import project_for_upload, read_upload
    from causal_core.data.project_io import project_key
    from causal_core.estimation import run_estimation

    root = Path(__file__).resolve().parents[1]
    _, frame = _rare_treatment_overlap(n=6000, seed=2)
    frame = frame.assign(y=frame["x"] + 0.3 * frame["t"] + np.random.default_rng(1).normal(size=len(frame)))
    loaded = read_upload(frame.to_csv(index=False).encode(), "rare.csv")
    result = run_estimation(loaded.frame, EstimationSpec(treatment="t", outcome="y", covariates=["x"], estimand="ATT"),
                            sensitivity=False, refutations=False)
    project = project_for_upload(loaded).model_copy(update={"treatment": "t", "outcome": "y", "estimation": result})
    key = project_key(project)
    at = AppTest.from_file(str(root / "app.py"), default_timeout=180)
    at.session_state["cw_projects"] = {key: project}
    at.session_state["cw_frames"] = {key: loaded.frame}
    at.session_state["cw_active"] = key
    at.run()
    at.switch_page("app_pages/data_audit.py").run()
    assert not at.exception, at.exception
    readings = [i.value.replace("\\", "") for i in at.info if "Under the ATT" in i.value]
    assert len(readings) == 1 and "of the treated units lie outside [0.05, 0.95]" in readings[0]


# ---- the AI draft area: a failed draft's error ends with the next successful edit; progress within the limit ----


def test_a_failed_dag_draft_error_is_cleared_by_the_next_successful_layout():
    """AppTest: the error stayed pinned through layout/undo/import; now a successful edit clears it."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from causal_core.ui.ai import OUTCOMES_KEY

    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "app.py"), default_timeout=300).run()
    label = "Draft of the DAG failed"
    at.session_state[OUTCOMES_KEY] = {"dag": {"label": label, "state": "error", "error": "schema error", "time": "1"}}
    at.switch_page("app_pages/dag.py").run()
    assert not at.exception, at.exception
    assert any(label in status.label for status in at.status)
    at.button(key="dag_layout").click().run()
    assert not at.exception, at.exception
    assert "dag" not in (at.session_state[OUTCOMES_KEY] or {})
    assert not any(label in status.label for status in at.status)


@pytest.mark.parametrize(("eta", "elapsed", "limit", "left"), [
    (1401.0, 20.0, 180.0, "2 min 40 s"),  # the "23 min 21 s left … (limit 3 min 00 s)"
    (30.0, 20.0, 180.0, "30 s"),
    (None, 200.0, 180.0, "0 s"),
])
def test_the_progress_line_never_promises_more_than_the_time_limit(eta, elapsed, limit, left):
    from causal_core.runtime.queue import DraftProgress
    from causal_core.ui.ai import capped_progress

    progress = DraftProgress("generating", "m", tokens=10, max_new_tokens=900, tokens_per_s=0.6, eta_s=eta,
                             elapsed_s=elapsed, time_limit_s=limit)
    line = capped_progress(progress).label()
    assert f"at most {left} left" in line and "(limit 3 min 00 s)" in line
    unlimited = DraftProgress("generating", "m", eta_s=1401.0, elapsed_s=20.0, time_limit_s=None)
    assert capped_progress(unlimited).eta_s == 1401.0
