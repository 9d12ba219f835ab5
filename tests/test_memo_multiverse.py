"""The memo's robustness paragraph comes from the curve's own figures, and the rubric catches a memo that
overstates them (robustness claimed on a fragile curve, 'every specification' when some disagree, invalid
specifications counted as support)."""

from __future__ import annotations

import pytest

from causal_core import memo
from causal_core.multiverse import summarise, with_multiverse
from causal_core.multiverse.memo_text import CHECK_NAME, check_memo
from causal_core.project import MultiverseOptions, MultiverseResult, MultiverseRow


@pytest.fixture(scope="module")
def retention(build_once):
    project, frame = build_once("retention")  # headless.build_project, built once per test run
    from causal_core.data import project_for_builtin

    _, raw = project_for_builtin("retention")
    options = MultiverseOptions(
        include_invalid=True, estimators=["regression", "ipw", "aipw"], trimming=["none", "crump"]
    )
    return with_multiverse(project, raw, options), frame


def _result(estimates: list[float]) -> MultiverseResult:
    rows = [
        MultiverseRow(
            id=i,
            choices={"estimator": f"e{i % 3}", "trimming": f"t{i % 2}"},
            estimate=v,
            ci_low=v - 0.5,
            ci_high=v + 0.5,
            validity="valid",
            is_main=i == 0,
        )
        for i, v in enumerate(estimates)
    ]
    result = MultiverseResult(rows=rows, dimensions={"estimator": ["e0", "e1", "e2"], "trimming": ["t0", "t1"]})
    return result.model_copy(update={"summary": summarise(result)})


def _check(sections: dict[str, str], result: MultiverseResult | None):
    return check_memo(sections, result)


def test_deterministic_memo_has_the_paragraph_and_passes_its_own_rubric(retention):
    project, frame = retention
    sections = memo.deterministic_memo(project, frame)
    text = sections["robustness"]
    summary = project.multiverse.summary
    assert text.startswith(f"Across {summary['valid']['n']} valid specifications, 100% have the same sign")
    assert "kept apart and not pooled" in text and "true ATE is -4.6%" in text
    checks = {c.name: c for c in memo.score_memo(sections, project, frame)}
    assert checks[CHECK_NAME].passed, checks[CHECK_NAME].reason
    assert checks["numbers_match_project"].passed, checks["numbers_match_project"].reason
    assert memo.SECTION_TITLES["robustness"] == "Robustness across specifications"
    assert "Robustness across specifications" in memo.memo_markdown(project, sections)


def test_ai_inputs_carry_the_curve_and_its_rule(retention):
    project, frame = retention
    inputs = memo.build_memo_inputs(project, frame)
    assert inputs["robustness_verdict"] == "robust"
    assert inputs["specification_curve"] == memo.deterministic_memo(project, frame)["robustness"]


def test_counting_invalid_specifications_as_support_is_an_overstatement(retention):
    project, frame = retention
    total = project.multiverse.summary["n_specifications"]
    valid = project.multiverse.summary["valid"]["n"]
    assert total > valid
    honest = {"interpretation": f"The estimate is robust across {valid} valid specifications."}
    pooled = {"interpretation": f"The estimate is robust across {total} specifications."}
    assert _check(honest, project.multiverse).passed
    failed = _check(pooled, project.multiverse)
    assert not failed.passed and f"only {valid} are valid" in failed.reason


def test_claiming_robustness_on_a_fragile_curve_fails():
    fragile = _result([-1.0, -0.8, 0.6, 0.9, -0.2, 0.4])  # half the signs disagree with the main estimate
    assert fragile.summary["valid"]["verdict"] == "fragile"
    claim = _check({"interpretation": "The result is robust to reasonable analysis choices."}, fragile)
    assert not claim.passed and "verdict is 'fragile'" in claim.reason
    honest = _check(
        {"main_limitation": "The estimate is fragile: it is not robust to the choice of estimator."}, fragile
    )
    assert honest.passed


def test_every_specification_needs_every_specification():
    mostly = _result([-1.0, -0.9, -1.1, -0.8, -1.2, -0.9, -1.0, -1.1, -0.95, 0.1])
    assert mostly.summary["valid"]["share_same_sign"] == pytest.approx(0.9)
    bad = _check({"interpretation": "Every specification agrees on the direction."}, mostly)
    assert not bad.passed and "only 90% share the sign" in bad.reason
    unanimous = _result([-1.0, -0.9, -0.3, -0.8, -1.2, -0.2])  # same sign, but two intervals cross zero
    assert _check({"interpretation": "Every specification agrees on the direction."}, unanimous).passed
    intervals = _check({"interpretation": "Across all specifications the interval excludes zero."}, unanimous)
    assert not intervals.passed and "every interval excludes zero" in intervals.reason


def test_without_a_curve_a_robustness_claim_fails_and_silence_adds_no_check(retention):
    project, frame = retention
    bare = project.model_copy(update={"multiverse": None})
    claim = _check({"interpretation": "The effect is robust across specifications."}, None)
    assert not claim.passed and "no curve was run" in claim.reason
    names = [c.name for c in memo.score_memo(memo.deterministic_memo(bare, frame), bare, frame)]
    assert names == list(memo.MEMO_RUBRIC)
    assert memo.deterministic_memo(bare, frame)["robustness"].startswith("No specification curve yet")


@pytest.mark.parametrize(
    "sentence",
    [
        "The doubly robust estimate suggests a reduction.",
        "We report cluster-robust standard errors.",
        "The robustness value is 4.9%.",
        "The result is mostly robust to the choice of estimator.",
        "The estimate is robust to moderate unmeasured confounding (E-value 1.8).",
    ],
)
def test_words_that_are_not_curve_claims_are_not_flagged(sentence):
    fragile = _result([-1.0, -0.8, 0.6, 0.9, -0.2, 0.4])
    assert _check({"interpretation": sentence}, fragile).passed, sentence


def test_a_curve_older_than_the_latest_estimation_is_marked_out_of_date(retention):
    project, frame = retention
    from causal_core import estimation

    spec = project.estimation.spec.model_copy(update={"covariates": ["health_score", "prior_tickets"]})
    rerun = project.model_copy(update={"estimation": estimation.run_estimation(frame, spec, refutations=False)})
    text = memo.deterministic_memo(rerun, frame)["robustness"]
    assert text.startswith("Out of date: the curve was computed for another main specification")
    assert not memo.deterministic_memo(project, frame)["robustness"].startswith("Out of date")


def test_a_share_of_specifications_must_be_one_the_curve_measured():
    mixed = _result([-1.0, -0.8, -0.6, -0.9, 0.2, -0.4, -0.7, -1.1, 0.3, -0.5])  # 80 % share the main sign
    assert mixed.summary["valid"]["share_same_sign"] == pytest.approx(0.8)
    quoted = _check({"interpretation": "80% of the specifications agree on the sign."}, mixed)
    assert quoted.passed, quoted.reason
    inflated = _check({"interpretation": "95% of the specifications agree on the sign."}, mixed)
    assert not inflated.passed and "quotes 95% about the specifications" in inflated.reason
