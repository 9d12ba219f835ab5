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


def _sensemakr(frame: pd.DataFrame) -> dict:
    design = est.build_design(frame, SPEC)
    _, info = est.regression(design, "ATE")
    return sensitivity.sensemakr_summary(design, info, "t", "y")


def test_a_zero_robustness_value_reads_below_a_hundredth_of_a_percent_and_says_what_it_means():
    summary = _sensemakr(_frame(orthogonal=True))
    assert summary["rv"] < sensitivity.SHARE_FLOOR and summary["rv_alpha"] < sensitivity.SHARE_FLOOR
    sentence = summary["rv_sentence"]
    assert not re.search(r"\b0\.0+ ?%", sentence), sentence
    assert sentence.count("< 0.01 %") >= 2
    assert "practically zero relative to its noise" in sentence and "not evidence of an effect" in sentence


def test_a_robust_estimate_keeps_its_percentages_and_adds_no_warning():
    summary = _sensemakr(_frame())
    assert summary["rv"] > 0.05
    assert f"{summary['rv']:.2%}" in summary["rv_sentence"]
    assert sensitivity.rv_implication(summary["rv"], summary["rv_alpha"]) == ""


@pytest.mark.parametrize(
    ("rv", "rv_alpha", "phrase"),
    [(0.00005, 0.0, "practically zero"), (0.02, 0.0, "not statistically significant even with no"),
     (0.005, 0.001, "even a weak confounder"), (0.2, 0.1, "")],
)
def test_rv_implication_by_case(rv, rv_alpha, phrase):
    text = sensitivity.rv_implication(rv, rv_alpha)
    assert (phrase in text) if phrase else text == ""


def _placebo(budget_s: float) -> list[dict]:
    frame = _frame()
    design = est.build_design(frame, SPEC)
    core = est.estimate_core(design, SPEC)
    items = refutation.run_refutations(design, SPEC, core, est.estimate_core, budget_s=budget_s)
    return [item for item in items if item["test"] == "placebo treatment"]


def test_a_cut_placebo_test_says_how_many_shuffles_ran_and_gives_no_interval():
    items = _placebo(1e-6)
    assert items
    for item in items:
        assert len(item["placebo_estimates"]) == refutation.MIN_PLACEBO_DRAWS == 1
        assert item["verdict"] == "NOT RUN" and item["observed_ci"] is None
        sentence = item["sentence"]
        assert sentence.startswith(f"NOT RUN — {item['estimator']}: the refutation time budget cut this test to "
                                   "1 shuffle of 3")
        assert "1 shuffles" not in sentence and "CI" not in sentence
        assert f"{item['observed']:+.3f}".replace("-", "−") in sentence
        assert "1 of 3 shuffles ran" in item["budget_note"]


def test_a_full_placebo_test_keeps_its_interval_and_plural():
    items = _placebo(1e6)
    for item in items:
        assert item["verdict"] in {"PASS", "WARN"} and len(item["observed_ci"]) == 2
        assert f"{refutation.PLACEBO_DRAWS} shuffles)" in item["sentence"]


def test_counts_agree_with_their_noun():
    assert refutation._count(1, "shuffle") == "1 shuffle"
    assert refutation._count(2, "shuffle") == "2 shuffles"
    assert refutation._count(1200, "subset") == "1,200 subsets"
