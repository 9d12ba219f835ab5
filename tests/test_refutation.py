"""Refutations per estimator: verdicts follow their own numbers, broken estimators get WARN, placebo outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from causal_core import estimation as est
from causal_core.data import analysis_frame, project_for_builtin
from causal_core.data.datasets import simulate_retention
from causal_core.estimation import refutation
from causal_core.project import EstimateRow, EstimationSpec
from tests.rendered import plain

N01_SPEC = EstimationSpec(treatment="outreach", outcome="churn", covariates=est.N01_COVARIATES)
PLACEBO_TESTS = ("placebo treatment", "placebo outcome")


@pytest.fixture(scope="module")
def retention():
    return simulate_retention(2_000, seed=11)


@pytest.fixture(scope="module")
def support():
    project, raw = project_for_builtin("support")
    frame = analysis_frame(project, raw)
    return project, frame, est.default_spec(project, frame)


def assert_verdicts_follow_numbers(items: list[dict]) -> None:
    """The rule each sentence states is the rule that set its verdict (no 'PASS … as expected' beside a CI off 0)."""
    for item in items:
        if item.verdict == "NOT RUN":
            continue
        if item.test in PLACEBO_TESTS:
            low, high = item.observed_ci
            assert (item.verdict == "PASS") == (low <= 0 <= high), item.sentence
        else:
            assert (item.verdict == "PASS") == (abs(item.change) <= item.tolerance), item.sentence
        assert item.sentence.startswith(f"{item.verdict} — {item.estimator}: ")


# ---- every estimator, named, with what the test can and cannot detect ----------------------------
def test_every_estimator_row_is_refuted_and_named(retention):
    spec = N01_SPEC.model_copy(update={"placebo_outcome": "usage_score"})
    result = est.run_estimation(retention, spec, sensitivity=False)
    shown = [row.method for row in result.estimates if row.std_error is not None]
    by_test: dict[str, list[str]] = {}
    for item in result.refutations:
        by_test.setdefault(item.test, []).append(item.method)
    assert list(by_test) == ["placebo treatment", "outcome invariance", "random common cause", "data subsets",
                             "placebo outcome"]
    for test, methods in by_test.items():
        expected = [m for m in shown if m != "naive"] if test == "random common cause" else shown
        assert methods == expected, test
    assert_verdicts_follow_numbers(result.refutations)
    for item in result.refutations:
        assert item.detects and item.cannot_detect and item.seconds >= 0
    assert "confound" in refutation.GUIDE["placebo treatment"]["cannot_detect"]
    assert "unmeasured confounder" in refutation.SENSITIVITY_POINTER and "sensitivity" in refutation.SENSITIVITY_POINTER
    guide = refutation.guide_table(result.refutations)
    assert [row["test"] for row in guide] == list(by_test)


def test_support_placebo_verdicts_follow_their_intervals(support):
    """Issue 12: on support the old placebo said 'PASS … as expected' while its CI (−3.18 to −0.18) excluded 0."""
    _, frame, spec = support
    result = est.run_estimation(frame, spec, sensitivity=False)
    assert_verdicts_follow_numbers(result.refutations)
    placebo = [item for item in result.refutations if item.test == "placebo treatment"]
    assert len(placebo) == 5 and all("99 % CI" in item.sentence for item in placebo)  # Bonferroni over 5 rows


class OffsetCore:
    """What estimate_core returns, with one estimator's row replaced (a broken estimator in a working pipeline)."""

    def __init__(self, core, method: str, replace):
        self.rows = [replace(row) if row.method == method else row for row in core.rows]

    def row(self, method):
        return next((row for row in self.rows if row.method == method), None)


def test_a_small_placebo_effect_whose_interval_excludes_zero_is_a_warn(retention):
    """The old rule passed any placebo mean under 10 % of the real estimate, whatever its interval said."""
    design = est.build_design(retention, N01_SPEC)
    original = EstimateRow(method="ipw", estimand="ATE", estimate=-27.6, std_error=1.3)
    small = EstimateRow(method="ipw", estimand="ATE", estimate=-1.68, std_error=1.3)  # 6 % of the estimate
    item = refutation.placebo_treatment(design, N01_SPEC, original, lambda d, s, m: OffsetCore(
        type("C", (), {"rows": [small]})(), "none", None), np.random.default_rng(0))
    low, high = item.observed_ci
    assert high < 0 and item.verdict == "WARN" and item.sentence.startswith("WARN — IPW (Hájek): a randomly shuffled")


def test_an_estimator_that_adds_a_constant_bias_warns_on_placebo_only_for_itself(retention):
    def biased(design, spec, methods):
        return OffsetCore(est.estimate_core(design, spec, methods), "ipw",
                          lambda row: row.model_copy(update={"estimate": row.estimate + 0.08}))

    design = est.build_design(retention, N01_SPEC)
    core = est.estimate_core(design, N01_SPEC)
    items = refutation.run_refutations(design, N01_SPEC, biased(design, N01_SPEC, est.ALL_METHODS), biased)
    placebo = {item.method: item.verdict for item in items if item.test == "placebo treatment"}
    assert placebo["ipw"] == "WARN" and {v for m, v in placebo.items() if m != "ipw"} == {"PASS"}
    assert core.row("ipw").estimate != pytest.approx(core.row("ipw").estimate + 0.08)
    assert_verdicts_follow_numbers(items)


def horvitz_thompson_core(design, spec, methods):
    """estimate_core with its IPW row replaced by the Horvitz–Thompson form (N01 §11), weights not normalised."""
    core = est.estimate_core(design, spec, methods)
    A = np.column_stack([np.ones(design.n), design.X])
    beta = np.linalg.lstsq(A, np.log((design.t + 0.5) / (1.5 - design.t)), rcond=None)[0]  # start value only
    for _ in range(25):  # plain Newton logistic fit, independent of the package's own
        p = expit(A @ beta)
        beta += np.linalg.solve(A.T @ (A * (p * (1 - p))[:, None]), A.T @ (design.t - p))
    e = np.clip(expit(A @ beta), 0.02, 0.98)
    t, y = design.t, design.y
    ht = float(np.mean(t * y / e - (1 - t) * y / (1 - e)))
    return OffsetCore(core, "ipw", lambda row: row.model_copy(update={"estimate": ht}))


def test_horvitz_thompson_ipw_fails_outcome_invariance_and_the_others_pass(support):
    """Issue 12: HT IPW is not location-equivariant (support: −37.3 vs Hájek −27.6); the invariance test catches it."""
    _, frame, spec = support
    design = est.build_design(frame, spec)
    core = horvitz_thompson_core(design, spec, est.ALL_METHODS)
    items = refutation.outcome_invariance_rows(design, spec, refutation.refutable_rows(core), horvitz_thompson_core)
    verdicts = {item.method: item.verdict for item in items}
    assert verdicts == {"naive": "PASS", "regression": "PASS", "gcomp": "PASS", "ipw": "WARN", "aipw": "PASS"}
    ipw = next(item for item in items if item.method == "ipw")
    assert ipw.original == pytest.approx(-37.3, abs=0.1) and "not location-equivariant" in ipw.sentence
    assert_verdicts_follow_numbers(items)


def test_binary_outcome_invariance_flips_the_outcome_and_negates_every_effect(retention):
    design = est.build_design(retention, N01_SPEC)
    core = est.estimate_core(design, N01_SPEC)
    items = refutation.outcome_invariance_rows(design, N01_SPEC, refutation.refutable_rows(core), est.estimate_core)
    for item in items:
        assert item.verdict == "PASS" and item.observed == pytest.approx(-item.original, abs=1e-6)
        assert "flipped" in item.sentence


# ---- placebo (negative-control) outcome ---------------------------------------------------------
def test_placebo_outcome_detects_a_confounder_left_out_of_the_adjustment(retention):
    """Issue 12: adjusting retention for tenure_months alone is badly confounded and the old trio all passed.

    health_score drives both outreach and churn; as a placebo outcome it shows the arms still differ.
    usage_score only acts through health_score and prior_tickets, so with those adjusted it is balanced.
    """
    weak = EstimationSpec(treatment="outreach", outcome="churn", covariates=["tenure_months"],
                          placebo_outcome="health_score")
    items = est.run_estimation(retention, weak, sensitivity=False).refutations
    placebo = [item for item in items if item.test == "placebo outcome"]
    assert {item.verdict for item in placebo} == {"WARN"}
    assert all(item.observed_ci[1] < 0 for item in placebo)  # outreach targets low-health accounts
    good = N01_SPEC.model_copy(update={"placebo_outcome": "usage_score"})
    items = est.run_estimation(retention, good, sensitivity=False).refutations
    verdicts = {item.method: item.verdict for item in items if item.test == "placebo outcome"}
    assert verdicts["naive"] == "WARN"  # the raw arms do differ in usage
    assert {verdicts[m] for m in ("regression", "gcomp", "ipw", "aipw")} == {"PASS"}
    note = next(item for item in items if item.test == "placebo outcome" and item.method == "aipw")
    assert "taken out of the adjustment set" in note.sentence and note.placebo_outcome == "usage_score"


def test_placebo_outcome_uses_the_analysis_rows_and_drops_its_own_terms():
    frame = simulate_retention(600, seed=3)
    frame.loc[:49, "usage_score"] = np.nan
    covariates = [c for c in est.N01_COVARIATES if c != "usage_score"]
    spec = N01_SPEC.model_copy(update={"placebo_outcome": "usage_score", "covariates": covariates})
    design = est.build_design(frame, spec)
    placebo, placebo_spec = refutation.placebo_outcome_design(frame, design, spec)
    assert placebo.n == 600 - 50 and design.n == 600
    assert placebo_spec.covariates == covariates and placebo_spec.outcome == "usage_score"
    with_it = N01_SPEC.model_copy(update={"placebo_outcome": "health_score"})
    _, placebo_spec = refutation.placebo_outcome_design(frame, est.build_design(frame, with_it), with_it)
    assert "health_score" not in placebo_spec.covariates and placebo_spec.outcome == "health_score"
    assert refutation._drop_terms_naming("age + I(age**2) + cr(wt71, df=4) + I(age + wt71)", "wt71") == (
        "age + I(age**2)")
    assert refutation._drop_terms_naming("wt71", "wt71") is None


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("no_such_column", "The placebo outcome 'no_such_column' is not a column of the data. The data has: account_id"),
        ("churn", "The placebo outcome 'churn' is the outcome itself; pick a pre-treatment column"),
        ("outreach", "The placebo outcome 'outreach' is the treatment;"),
        ("region", "The placebo outcome 'region' is not numeric ("),
        ("constant", "The placebo outcome 'constant' is constant;"),
        ("propensity_true", "'propensity_true' is simulation truth (never observable)"),
    ],
)
def test_unusable_placebo_outcomes_are_refused_with_a_specific_message(column, message):
    project, raw = project_for_builtin("retention")
    frame = analysis_frame(project, raw).head(400).assign(constant=1.0)
    spec = N01_SPEC.model_copy(update={"placebo_outcome": column})
    with pytest.raises(refutation.RefutationError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        refutation.check_placebo_outcome(frame, spec, project)
    assert issubclass(refutation.RefutationError, est.EstimationError)


def test_a_post_treatment_placebo_outcome_is_refused_and_the_project_is_unchanged(support):
    project, frame, spec = support
    bad = spec.model_copy(update={"placebo_outcome": "agent_uses_ai"})
    with pytest.raises(refutation.RefutationError, match="times 'agent_uses_ai' as post treatment"):
        refutation.check_placebo_outcome(frame, bad, project)
    retention_project, raw = project_for_builtin("retention")
    frame = analysis_frame(retention_project, raw).head(500)
    before = retention_project.model_dump_json()
    with pytest.raises(est.EstimationError, match="is not a column"):
        est.estimate_project(retention_project, frame, N01_SPEC.model_copy(update={"placebo_outcome": "nope"}))
    assert retention_project.model_dump_json() == before


def test_placebo_candidates_are_observable_numeric_pre_treatment_columns():
    project, raw = project_for_builtin("retention")
    frame = analysis_frame(project, raw).head(300)
    candidates = refutation.placebo_outcome_candidates(project, frame, N01_SPEC)
    assert candidates == ["company_size", "tenure_months", "usage_score", "prior_tickets", "health_score"]


# ---- time budget, progress, stop, cluster-level shuffles ----------------------------------------
def test_budget_reduces_shuffles_and_subsets_and_says_so(retention):
    assert refutation.plan_draws(0.01) == (refutation.PLACEBO_DRAWS, refutation.SUBSETS)
    assert refutation.plan_draws(3.0, budget_s=30.0) == (3, 4)
    assert refutation.plan_draws(100.0) == (refutation.MIN_PLACEBO_DRAWS, refutation.MIN_SUBSETS)
    design = est.build_design(retention, N01_SPEC)
    core = est.estimate_core(design, N01_SPEC)
    items = refutation.run_refutations(design, N01_SPEC, core, est.estimate_core, budget_s=1e-6)
    placebo = next(item for item in items if item.test == "placebo treatment")
    subsets = next(item for item in items if item.test == "data subsets")
    assert len(placebo.placebo_estimates) == 1 and len(subsets.subset_estimates) == 2
    assert "1 of 3 shuffles" in placebo.budget_note and "2 of 5 subsets" in subsets.budget_note


def test_progress_is_reported_and_stop_leaves_a_note(retention):
    design = est.build_design(retention, N01_SPEC)
    core = est.estimate_core(design, N01_SPEC)
    seen: list[float] = []
    calls = iter(range(100))
    items = refutation.run_refutations(design, N01_SPEC, core, est.estimate_core,
                                       progress=lambda fraction, message: seen.append(fraction),
                                       should_stop=lambda: next(calls) >= 2)
    assert seen == sorted(seen) and seen[0] == 0.0
    assert [item.test for item in items][-1] == "stopped" and items[-1].verdict == "NOT RUN"
    assert {item.test for item in items[:-1]} == {"placebo treatment", "outcome invariance"}
    assert "stopped by the analyst after 2 of 4" in items[-1].sentence


def test_cluster_level_treatment_is_shuffled_by_cluster():
    rng = np.random.default_rng(1)
    cluster = np.repeat(np.arange(40), 5)
    t = np.repeat(rng.integers(0, 2, 40), 5)
    frame = pd.DataFrame({"t": t, "y": rng.normal(size=200), "x": rng.normal(size=200), "g": cluster})
    design = est.build_design(frame, EstimationSpec(treatment="t", outcome="y", covariates=["x"], cluster="g"))
    shuffled = refutation.shuffled_treatment(design, np.random.default_rng(2))
    per_cluster = pd.Series(shuffled).groupby(design.clusters).nunique()
    assert (per_cluster == 1).all() and shuffled.sum() == t.sum() and not np.array_equal(shuffled, design.t)


# ---- CLI: --placebo-outcome --------------------------------------------------------------------
def test_cli_placebo_outcome_runs_on_every_estimator(capsys):
    import json

    from causal_core.cli import main

    assert main(["estimate", "--dataset", "retention", "--placebo-outcome", "usage_score", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    placebo = [item for item in out["refutations"] if item["test"] == "placebo outcome"]
    assert [item["method"] for item in placebo] == ["naive", "regression", "gcomp", "ipw", "aipw"]
    assert all(item["placebo_outcome"] == "usage_score" for item in placebo)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "support", "--placebo-outcome", "agent_uses_ai"], "error: The dictionary times 'agent_uses_ai'"),
        (["--dataset", "retention", "--placebo-outcome", "churn"], "error: The placebo outcome 'churn' is the outcome"),
        (["--dataset", "retention", "--placebo-outcome", "usage_score", "--no-refute"],
         "error: --placebo-outcome is a refutation test: drop --no-refute"),
    ],
)
def test_cli_refuses_a_bad_placebo_outcome_before_estimating(capsys, argv, message):
    from causal_core.cli import main

    assert main(["estimate", *argv]) == 2
    assert capsys.readouterr().err.startswith(message)


# ---- page: placebo-outcome picker and per-estimator verdicts -------------------------------------
@pytest.mark.slow  # a full app start: ≈ 20 s on the shared machine
def test_page_offers_pre_treatment_placebo_outcomes_and_names_each_estimator():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "app.py"), default_timeout=180).run()
    at.switch_page("app_pages/estimation.py").run()
    picker = at.selectbox(key="est_placebo_outcome_retention")
    assert picker.options == ["None", "company_size", "tenure_months", "usage_score", "prior_tickets", "health_score"]
    at.multiselect(key="est_covariates_retention").set_value(["tenure_months"]).run()
    at.selectbox(key="est_placebo_outcome_retention").set_value("health_score").run()
    at.button(key="est_run_retention").click().run()
    assert not at.exception and not at.error
    result = at.session_state["cw_projects"]["retention"].estimation
    assert result.spec.placebo_outcome == "health_score"
    shown = [plain(w.value) for w in at.warning]  # the page escapes names
    warnings = [w for w in shown if "pre-treatment column health_score" in w]
    assert {w.removeprefix("WARN — ").split(":")[0] for w in warnings} == {item.estimator for item in result.refutations
                                                  if item.test == "placebo outcome"}
    assert any(caption.value == refutation.SENSITIVITY_POINTER for caption in at.caption)


def test_run_estimation_passes_progress_and_stop_to_the_refutations(retention):
    seen: list[tuple[float, str]] = []
    result = est.run_estimation(retention, N01_SPEC, sensitivity=False,
                                progress=lambda fraction, message: seen.append((fraction, message)),
                                should_stop=lambda: any(m.startswith("Refutation: outcome") for _, m in seen))
    messages = [m for _, m in seen]
    assert "Refutation: placebo treatment" in messages and "Refutation: outcome invariance" in messages
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    assert result.refutations[-1].test == "stopped" and result.estimates  # the estimates are kept
