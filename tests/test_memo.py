"""Deterministic memo, MEMO_TASK and the memo rubric on hand-built projects (N01 §13)."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from causal_core import memo
from causal_core.ai.tasks import get_task
from causal_core.project import Project
from tests.test_memo_support import N01_NOTEBOOK_SENTENCE, N01_SENTENCE, retention_project, support_project

# N01 §13's memo, verbatim: the reference "good" memo the rubric must accept.
N01_MEMO = {
    "question": "Did proactive customer-success outreach reduce 90-day churn among eligible accounts?",
    "estimand": "Average treatment effect of outreach on churn risk for eligible accounts in the analysis window.",
    "design": (
        "Historical outreach was not randomized. Outreach was targeted toward riskier accounts, so the naive comparison "
        "is not credible. We used pre-treatment account characteristics to adjust for observed targeting: company size, "
        "tenure, usage before outreach, prior support tickets, account health, region, and segment."
    ),
    "key_diagnostic": (
        "Treated accounts were meaningfully higher risk before outreach. This explains why the naive comparison points "
        "in the wrong direction."
    ),
    "main_estimate": N01_NOTEBOOK_SENTENCE,
    "interpretation": (
        "Under the assumption that observed pre-treatment variables capture the important targeting logic, proactive "
        "outreach appears to reduce churn. The estimate should be interpreted as evidence from an observational design, "
        "not as strong as a randomized experiment."
    ),
    "main_limitation": (
        "If customer-success managers selected accounts using unrecorded information, residual confounding may remain."
    ),
    "recommendation": (
        "Continue the program for high-risk eligible accounts, but run a randomized holdout or phased rollout in the "
        "next cycle to validate impact with stronger design evidence."
    ),
}


@pytest.fixture(scope="module")
def project() -> Project:
    return retention_project()


def failed(checks) -> list[str]:
    return [c.name for c in checks if not c.passed]


# ---- deterministic memo ------------------------------------------------------------------------


def test_main_estimate_sentence_is_n01s(project):
    sections = memo.deterministic_memo(project)
    assert sections["main_estimate"].startswith(N01_SENTENCE)
    assert "The simulation's true ATE is -4.6 percentage points." in sections["main_estimate"]


def test_memo_has_n01_sections_and_extras(project):
    sections = memo.deterministic_memo(project)
    assert list(sections) == [k for k, _ in memo.MEMO_SECTIONS] + [k for k, _ in memo.EXTRA_SECTIONS]
    assert all(sections[key].strip() for key in sections)
    assert "Did proactive customer-success outreach reduce churn last quarter?" in sections["question"]
    assert sections["estimand"].startswith("Average treatment effect (ATE) of `outreach` on `churn`")
    assert (
        "`company_size`, `tenure_months`, `usage_score`, `prior_tickets`, `health_score`, `region`, `segment`"
        in sections["design"]
    )
    assert sections["main_limitation"] == (
        "Residual confounding may remain if customer-success managers targeted accounts using unobserved knowledge."
    )
    assert "randomized holdout or phased rollout" in sections["recommendation"]
    assert "Resolve the 1 open stakeholder question first." in sections["recommendation"]
    assert "An unmeasured confounder would need a risk ratio of 1.80." in sections["sensitivity"]
    assert sections["refutations"] == "- placebo treatment: PASS — estimate +0.001."
    assert "Were all eligible accounts logged" in sections["open_questions"]


def test_memo_numbers_equal_the_estimates(project):
    sections = memo.deterministic_memo(project)
    naive, *_, aipw = project.estimation.estimates
    assert "7.8 percentage points against -4.7 percentage points" in sections["key_diagnostic"]
    assert "naive comparison points in the wrong direction" in sections["key_diagnostic"]
    quoted = [n.value for n in memo.numbers_in(sections["main_estimate"])]
    assert quoted[:4] == [round(aipw.estimate * 100, 1), 95, round(aipw.ci_low * 100, 1), round(aipw.ci_high * 100, 1)]
    assert "6,000 units used" in sections["design"]
    table = memo.estimates_markdown(project)
    assert "| doubly robust | ATE | -4.7 pp | -6.8 to -2.6 pp | 6000 |" in table
    assert "| naive difference | ATE | 7.8 pp | 5.5 to 10.1 pp | 6000 |" in table


def test_adjustment_set_validated_against_the_dag(project):
    text = memo.deterministic_memo(project)["adjustment_set"]
    assert text.startswith("7 variables: `company_size`, `tenure_months`")
    assert "the DAG's recommended adjustment set; valid for the DAG" in text


def test_excluded_variables_have_reasons(project):
    excluded = dict(memo.excluded_variables(project, project.estimation.spec.covariates))
    assert set(excluded) == {
        "account_id",
        "propensity_true",
        "true_individual_effect",
        "p_churn_without",
        "p_churn_with",
    }
    assert "simulation truth" in excluded["propensity_true"]
    assert "identifier" in excluded["account_id"]


def test_continuous_outcome_in_plain_units():
    """The outcome's own unit (the dictionary says "Human workload hours"), never a bare number (issue 25 §5)."""
    sections = memo.deterministic_memo(support_project())
    assert sections["main_estimate"].startswith(
        "The doubly robust estimate suggests `assistant_enabled` changed `human_handled_hours` by -28.39 hours, "
        "with an approximate 95% interval from -33.12 to -23.64 hours."
    )
    assert "%" not in sections["main_estimate"].replace("95%", "")
    assert "`assistant_enabled` appears to reduce `human_handled_hours`" in sections["interpretation"]


def test_att_is_named_and_used():
    project = retention_project(estimand="ATT")
    sections = memo.deterministic_memo(project)
    assert sections["estimand"].startswith("Average treatment effect on the treated (ATT)")
    assert sections["main_estimate"].startswith(
        "The doubly robust ATT estimate suggests `outreach` changed `churn` risk by -4.7 percentage points"
    )
    assert failed(memo.score_memo(sections, project)) == []


def test_missing_pieces_say_not_yet_estimated():
    project = retention_project().model_copy(update={"estimation": None, "estimand_card": None, "card_status": "none"})
    sections = memo.deterministic_memo(project)
    assert sections["main_estimate"] == "Main estimate not yet estimated."
    assert sections["adjustment_set"] == "Adjustment set not yet estimated."
    assert sections["sensitivity"] == "Sensitivity analysis not yet estimated."
    assert sections["question"] == project.brief
    assert "No balance diagnostic yet" in sections["key_diagnostic"]


def test_zero_spanning_interval_is_not_given_a_direction():
    rows = [("naive", 0.05, 0.01, 0.03, 0.07), ("aipw", -0.01, 0.012, -0.0335, 0.0135)]
    project = retention_project(rows=rows)
    sections = memo.deterministic_memo(project)
    assert "the interval includes zero, so the direction" in sections["interpretation"]
    assert sections["recommendation"].startswith("Do not scale on this evidence alone.")
    assert failed(memo.score_memo(sections, project)) == []


def test_override_is_flagged_as_the_main_limitation():
    project = retention_project(covariates=["health_score", "propensity_true"], overrides=["propensity_true"])
    sections = memo.deterministic_memo(project)
    assert "used by override" in sections["main_limitation"]
    assert "Used by explicit override: `propensity_true`." in sections["adjustment_set"]


def test_with_deterministic_memo_is_copy_on_write(project):
    updated = memo.with_deterministic_memo(project)
    assert project.memo.deterministic == {}
    assert updated.memo.deterministic == memo.deterministic_memo(project)
    assert memo.with_deterministic_memo(updated) is updated


def test_markdown_export(project):
    text = memo.memo_markdown(project, memo.deterministic_memo(project))
    assert text.startswith("# Decision memo: retention analysis")
    assert f"**Main estimate.** {memo.to_markdown(N01_SENTENCE)}" in text
    assert "`outreach` changed `churn` risk by -4.7 percentage points" in text  # numbers read as written
    assert "### Excluded variables" in text and "## Estimates" in text


# ---- numbers --------------------------------------------------------------------------------


def test_number_parsing_and_rounding():
    numbers = memo.numbers_in("by -4.7% points, from −6.8 % to 2.6 percentage points; n = 6,000 and SMD 0.779")
    assert [(n.value, n.decimals, n.percent) for n in numbers] == [
        (-4.7, 1, True),
        (-6.8, 1, True),
        (2.6, 1, True),
        (6000.0, 0, False),
        (0.779, 3, False),
    ]
    assert numbers[0].matches(-0.0469) and numbers[0].matches(0.047)  # sign belongs to the direction check
    assert not numbers[0].matches(-0.0476)
    assert numbers[4].matches(-0.7791) and not numbers[4].matches(0.78)
    assert memo.numbers_in("N01 and 90-day")[0].value == 90.0


# ---- the rubric -----------------------------------------------------------------------------


def test_deterministic_memo_passes_the_rubric(project):
    checks = memo.score_memo(memo.deterministic_memo(project), project)
    assert [c.name for c in checks] == list(memo.MEMO_RUBRIC)
    assert failed(checks) == []


def test_n01_memo_passes_the_rubric(project):
    assert failed(memo.score_memo(N01_MEMO, project)) == []


def planted(**changes: str) -> dict[str, str]:
    return {**N01_MEMO, **changes}


PLANTED = {
    "overclaim": (
        planted(interpretation=N01_MEMO["interpretation"] + " This proves that outreach definitely reduces churn."),
        "no_overclaiming",
    ),
    "unhedged caused": (
        planted(interpretation=N01_MEMO["interpretation"] + " Outreach caused the drop in churn."),
        "no_overclaiming",
    ),
    "wrong sign": (
        planted(
            main_estimate=N01_NOTEBOOK_SENTENCE.replace("-4.7%", "+4.7%"),
            interpretation=N01_MEMO["interpretation"].replace("reduce churn", "increase churn"),
        ),
        "direction_matches_estimate",
    ),
    "invented number": (planted(main_estimate=N01_NOTEBOOK_SENTENCE.replace("-4.7%", "-9.3%")), "numbers_match_project"),
    "invented number elsewhere": (
        planted(key_diagnostic=N01_MEMO["key_diagnostic"] + " Churn among treated accounts was 61.4%."),
        "numbers_match_project",
    ),
    "no limitation": (planted(main_limitation=""), "limitation_stated"),
    "no estimand": (planted(estimand="The effect of outreach on churn for eligible accounts."), "estimand_named"),
    "no assumption": (
        planted(interpretation="Proactive outreach appears to reduce churn in this observational analysis."),
        "assumption_stated",
    ),
    "recommendation restates the estimate": (
        planted(
            recommendation="Continue the program because it cut churn by 4.7% points, and run a randomized holdout."
        ),
        "evidence_apart_from_recommendation",
    ),
    "evidence section recommends": (
        planted(design=N01_MEMO["design"] + " We recommend continuing the program."),
        "evidence_apart_from_recommendation",
    ),
    "no validation": (
        planted(recommendation="Continue the program for high-risk eligible accounts."),
        "recommends_validation",
    ),
}


@pytest.mark.parametrize("case", list(PLANTED))
def test_planted_bad_memo_fails_exactly_its_check(project, case):
    sections, expected = PLANTED[case]
    checks = memo.score_memo(sections, project)
    assert failed(checks) == [expected], [c for c in checks if not c.passed]


def test_hedged_language_is_not_an_overclaim(project):
    text = N01_MEMO["interpretation"] + " This does not prove the effect; outreach may have caused part of the drop."
    assert failed(memo.score_memo(planted(interpretation=text), project)) == []


def test_wrong_sign_for_att_on_a_continuous_outcome():
    project = support_project()
    sections = memo.deterministic_memo(project)
    bad = {**sections, "interpretation": sections["interpretation"].replace("reduce", "increase")}
    assert failed(memo.score_memo(bad, project)) == ["direction_matches_estimate"]


# ---- the AI task ----------------------------------------------------------------------------


def test_memo_task_is_registered_and_bounded():
    task = get_task("memo")
    assert task is memo.MEMO_TASK and task.artifact == "memo"
    # the eight sections, then the estimate-row references (the app writes those numbers itself)
    assert list(task.schema.model_fields) == [k for k, _ in memo.MEMO_SECTIONS] + ["main_estimate_row", "compared_rows"]
    task.schema.model_validate(N01_MEMO)
    with pytest.raises(ValidationError):
        task.schema.model_validate({**N01_MEMO, "design": "x" * 601})
    assert task.schema.model_json_schema()["properties"]["design"]["maxLength"] == 600


def test_memo_inputs_carry_preformatted_project_numbers(project):
    inputs = memo.MEMO_TASK.build_inputs(project, None)
    assert inputs["estimand"] == "ATE" and inputs["direction_of_main_estimate"] == "negative"
    assert {
        "row_id": "aipw_ATE",
        "method": "doubly robust",
        "estimand": "ATE",
        "estimate": "-4.7 percentage points",
        "interval_95": "-6.8 to -2.6 percentage points",
    } in inputs["estimates"]
    assert inputs["main_estimate_sentence"].startswith(N01_SENTENCE)
    prompt = memo.MEMO_TASK.build_user_prompt(inputs)
    assert "-4.7 percentage points" in prompt and "Copy numbers exactly" in prompt
    assert re.search(r"Never compute or invent a number", memo.MEMO_TASK.system_prompt)
    assert memo.MEMO_TASK.score(N01_MEMO, project, None)[0].passed


def test_draft_sections_cleans_parsed_output():
    assert memo.draft_sections({"question": "  Q ", "extra": "x"}) == {
        key: ("Q" if key == "question" else "") for key in memo.SECTION_KEYS
    }
    assert memo.draft_sections(None)["recommendation"] == ""
