"""Interval labels from the data's own diagnostics (issue 23, item 2).

Under a misspecified propensity (true model logistic in exp(x1), fitted linear-logit) IPW covered 0.52–0.91 with
SE/SD ≈ 1 and no note. The app's own weighting diagnostics (balance of x1² after weighting, the IPW–AIPW contrast,
the effective sample size) see it; these tests check that the labels now follow them, and that a correctly
specified design is not labelled by noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from causal_core import estimation as est
from causal_core.estimation.diagnostics import (
    ESS_FLOOR,
    balance_check,
    contrast_check,
    ess_check,
    specification_columns,
)
from causal_core.estimation.interval_notes import IntervalEvidence, interval_note
from causal_core.project import EstimationSpec

ROLES = {"treatment": "t", "outcome": "y", "covariates": ["x1", "x2"]}


def misspecified(seed: int, n: int = 1_000) -> pd.DataFrame:
    """Propensity logistic in exp(x1) (the fitted model is linear in x1): IPW is biased, most of all for ATT/ATC."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    t = rng.binomial(1, expit(-1 + 0.8 * np.exp(x1) + 0.3 * x2))
    y = x1 + 0.5 * x2 + t * (1 + 0.5 * x1) + rng.standard_normal(n)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})


def well_specified(seed: int, n: int = 2_000) -> pd.DataFrame:
    """Linear-logit propensity with good overlap: every check should stay quiet in most replications."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    t = rng.binomial(1, expit(0.2 + 0.5 * x1 - 0.4 * x2))
    y = x1 + 0.5 * x2 + t * (1 + 0.5 * x1) + rng.standard_normal(n)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})


def _run(frame: pd.DataFrame, estimand: str, **extra) -> est.EstimationResult:
    spec = EstimationSpec(**ROLES, estimand=estimand, **extra)
    return est.run_estimation(frame, spec, sensitivity=False, refutations=False)


def _notes(result: est.EstimationResult) -> dict[str, str | None]:
    return {row.method: interval_note(row, result.diagnostics) for row in result.estimates}


@pytest.mark.parametrize("estimand", ["ATE", "ATT"])
def test_a_misspecified_propensity_labels_ipw_and_qualifies_aipw(estimand):
    for seed in range(5):
        result = _run(misspecified(seed), estimand)
        notes = _notes(result)
        assert notes["ipw"].startswith("Approximate: ") and "propensity" in notes["ipw"], seed
        assert notes["aipw"].startswith("Approximate SE: ") and "bootstrap" in notes["aipw"], seed
        assert "x1²" in notes["ipw"] or "IPW and AIPW differ" in notes["ipw"], seed
        assert any(w.startswith("The IPW interval is approximate") for w in result.warnings), seed


def test_the_overlap_rule_alone_missed_it():
    """The misspecified fit understates extreme propensities, so the old clip-share rule cleared these rows."""
    result = _run(misspecified(0), "ATT")
    assert result.diagnostics.overlap.share_clipped < 0.01
    assert interval_note(next(r for r in result.estimates if r.method == "ipw"),
                         IntervalEvidence(share_clipped=result.diagnostics.overlap.share_clipped)) is None  # no checks


def test_a_well_specified_design_is_rarely_labelled():
    """20 replications of a linear-logit design: the checks fire by chance in few of them (≈ 5 % per contrast)."""
    labelled = 0
    for seed in range(20):
        labelled += bool(_run(well_specified(seed), "ATE").diagnostics.interval_checks.reasons)
    assert labelled <= 4, labelled


def test_a_small_sample_is_labelled_for_its_effective_sample_size():
    result = _run(well_specified(1, n=150), "ATE")
    ess = result.diagnostics.interval_checks.ess
    assert ess.fails and ess.ess < ESS_FLOOR
    assert "effective sample size" in _notes(result)["ipw"]


def test_the_contrast_se_is_the_se_of_the_difference():
    """IPW and AIPW share most noise: the SE of their difference is well below √(se_ipw² + se_aipw²)."""
    result = _run(well_specified(4), "ATE")
    rows = {row.method: row for row in result.estimates}
    contrast = result.diagnostics.interval_checks.contrast
    assert contrast.difference == pytest.approx(rows["ipw"].estimate - rows["aipw"].estimate)
    assert contrast.se < 0.6 * np.hypot(rows["ipw"].std_error, rows["aipw"].std_error)


def test_fixed_weights_note_no_longer_reassures():
    note = _notes(_run(well_specified(2), "ATT", ipw_se="fixed_weights"))["ipw"]
    assert note.startswith("Approximate") and "Conservative by construction" not in note
    assert "bias is not variance" in note or "propensity" in note


def test_gcomputation_att_note_follows_the_outcome_type():
    """Full-IF SE: continuous outcomes carry no ATT note; a 0/1 outcome keeps the linear model's bias note."""
    continuous = _run(well_specified(3), "ATT")
    assert _notes(continuous)["gcomp"] is None
    binary = well_specified(3).assign(y=lambda f: (f["y"] > f["y"].median()).astype(int))
    note = _notes(_run(binary, "ATT"))["gcomp"]
    assert note.startswith("Approximate on a 0/1 outcome")


def test_the_balance_check_finds_a_missing_square():
    """Weights from the true propensity balance x1²; weights from the linear fit do not (misspecified design)."""
    frame = misspecified(9, n=4_000)
    design = est.build_design(frame, EstimationSpec(**ROLES, estimand="ATT"))
    e_true = expit(-1 + 0.8 * np.exp(frame["x1"].to_numpy()) + 0.3 * frame["x2"].to_numpy())
    true_weights = np.where(design.t == 1, 1.0, e_true / (1 - e_true))
    fitted = est.propensity(design, (0.0, 0.98))
    fitted_weights = np.where(design.t == 1, 1.0, fitted.clipped / (1 - fitted.clipped))
    assert balance_check(design, true_weights)["n_failures"] == 0
    found = balance_check(design, fitted_weights)
    assert found["n_failures"] >= 1 and found["failures"][0]["term"] == "x1²"
    assert ess_check(design, fitted_weights, "ATT")["arm"] == "control"
    models = est.outcome_models(design)
    assert contrast_check(design, fitted, models, fitted.clipped, "ATT")["fails"]


@settings(max_examples=25, deadline=None)
@given(p=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_specification_terms_are_every_square_and_pair(p, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.standard_normal((80, p)), columns=[f"z{j}" for j in range(p)])
    frame["t"] = rng.binomial(1, 0.5, 80)
    frame.loc[:3, "t"], frame.loc[4:7, "t"] = 1, 0
    frame["y"] = rng.standard_normal(80)
    design = est.build_design(frame, EstimationSpec(treatment="t", outcome="y", covariates=[f"z{j}" for j in range(p)]))
    names = [name for name, _ in specification_columns(design)]
    assert len(names) == p + p * (p - 1) // 2 and len(set(names)) == len(names)
    uniform = balance_check(design, np.ones(design.n))
    assert uniform["n_terms"] == p + len(names)


def test_gcomputation_ate_on_a_binary_outcome_is_labelled_from_the_family():
    """The random family found the linear model's bias on 0/1 outcomes for the ATE too (0.730, 0.916)."""
    binary = well_specified(3).assign(y=lambda f: (f["y"] > f["y"].median()).astype(int))
    assert _notes(_run(binary, "ATE"))["gcomp"].startswith("Approximate on a 0/1 outcome")
    assert _notes(_run(well_specified(3), "ATE"))["gcomp"] is None
