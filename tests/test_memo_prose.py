"""Issue 17 §4 and §16: what a newcomer reads before and after estimating, in plain, grammatical prose.

§4: after an upload (no roles yet) the estimand placeholder read "ATE of the treatment on the treatment" and the
Artifacts table said "Decision memo done" before anything was estimated. §16: "percentage points", never
"% points"; user text is never re-cased ("CPS controls" stayed "cPS controls"); counts agree with their nouns;
the recommended validation follows the design (an experiment only where the organisation assigns the treatment).
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from causal_core import memo
from causal_core.audit.overview import artifact_checklist
from causal_core.data import project_for_upload, read_upload
from causal_core.project import EstimandCard, OpenQuestion
from tests.test_memo_support import N01_CARD, retention_project, support_project


@pytest.fixture(scope="module")
def uploaded():
    frame = pd.DataFrame({"treat": [0, 1] * 20, "re78": range(40), "age": range(40, 80)})
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False)
    return project_for_upload(read_upload(buffer.getvalue(), "lalonde.csv"))


def _memo_row(project) -> str:
    table = artifact_checklist(project)
    return table.loc[table["artifact"] == "Decision memo", "status"].item()


# ---- §4 -----------------------------------------------------------------------------------------


def test_upload_placeholder_names_no_fake_roles(uploaded):
    sections = memo.deterministic_memo(uploaded)
    assert "the treatment on the treatment" not in sections["estimand"]
    assert sections["estimand"] == (
        "Average treatment effect (ATE), once the treatment and the outcome are chosen (Question page: approve an "
        "estimand card, or set the roles on the Overview page)."
    )
    assert sections["main_estimate"] == "Main estimate not yet estimated."


def test_outcome_placeholder_when_only_the_treatment_is_set(uploaded):
    half = uploaded.model_copy(update={"treatment": "treat"})
    assert "once the treatment and the outcome are chosen" in memo.deterministic_memo(half)["estimand"]


def test_artifacts_table_memo_not_done_before_estimation(uploaded):
    visited = memo.with_deterministic_memo(uploaded)  # what the Memo page stores on the first visit
    assert visited.memo.deterministic  # the placeholder memo exists…
    assert _memo_row(visited) == "not yet"  # …but it is not a decision memo
    estimated = memo.with_deterministic_memo(retention_project())
    assert _memo_row(estimated) == "done"
    final = visited.model_copy(update={"memo": visited.memo.model_copy(update={"final": {"question": "Q?"}})})
    assert _memo_row(final) == "done"  # the analyst's own memo counts


# ---- §16 ----------------------------------------------------------------------------------------


def test_percentage_points_never_percent_points():
    sections = memo.deterministic_memo(retention_project())
    text = "\n".join(sections.values())
    assert "% points" not in text
    assert "by -4.7 percentage points, with an approximate 95% interval from -6.8 to -2.6 percentage points." in (
        sections["main_estimate"]
    )
    assert "% points" not in memo.estimates_markdown(retention_project())


def test_ranges_written_with_the_unit_once_still_match_the_estimates():
    numbers = memo.numbers_in("from -6.8 to -2.6 percentage points, and 12 to 14 accounts")
    assert [(n.value, n.percent) for n in numbers] == [(-6.8, True), (-2.6, True), (12, False), (14, False)]


def test_user_text_is_never_re_cased():
    card = EstimandCard(**{**N01_CARD, "likely_threats": ["CPS controls differ from NSW trainees in unmeasured ways"]})
    project = retention_project().model_copy(update={"estimand_card": card})
    limitation = memo.deterministic_memo(project)["main_limitation"]
    assert limitation == "Residual confounding may remain: CPS controls differ from NSW trainees in unmeasured ways."
    lower = EstimandCard(**{**N01_CARD, "likely_threats": ["managers targeted accounts using unobserved knowledge"]})
    limitation = memo.deterministic_memo(project.model_copy(update={"estimand_card": lower}))["main_limitation"]
    assert limitation == "Residual confounding may remain if managers targeted accounts using unobserved knowledge."


def test_fill_ins_agree_with_their_counts():
    one = retention_project(covariates=["health_score"])
    two_questions = one.model_copy(
        update={"open_questions": [OpenQuestion(text="A?"), OpenQuestion(text="B?")]}
    )
    sections = memo.deterministic_memo(two_questions)
    assert sections["adjustment_set"].startswith("1 variable: `health_score`.")
    assert "We adjusted for 1 pre-treatment variable to remove" in sections["design"]
    assert "Resolve the 2 open stakeholder questions first." in sections["recommendation"]
    assert "2 of 2 questions still open." in sections["open_questions"]
    assert "(s)" not in "\n".join(sections.values())
    assert [memo.article(w) for w in ("experiment", "holdout", "ATE", "RCT", "IPW", "estimate")] == [
        "an", "a", "an", "an", "an", "an",
    ]


def test_program_the_organisation_controls_gets_an_experiment():
    project = retention_project()  # "proactive customer-success outreach": the company decides who is contacted
    assert memo.treatment_controllable(project) is True
    recommendation = memo.deterministic_memo(project)["recommendation"]
    assert "the organisation controls this program, so run a randomized holdout or phased rollout" in recommendation
    assert next(c for c in memo.score_memo(memo.deterministic_memo(project), project) if c.name == "recommends_validation").passed


def test_exposure_it_does_not_assign_gets_better_data_or_a_quasi_experiment():
    card = EstimandCard(
        business_question="Did quitting smoking change weight gain between 1971 and 1982?",
        treatment="quitting smoking between the two NHEFS visits",
        estimand="average treatment effect (ATE)",
    )
    project = retention_project().model_copy(update={"estimand_card": card, "brief": card.business_question})
    assert memo.treatment_controllable(project) is False
    sections = memo.deterministic_memo(project)
    recommendation = sections["recommendation"]
    assert "randomized holdout" not in recommendation and "phased rollout" not in recommendation
    assert "an experiment is not available" in recommendation
    assert "better data on the confounders or a quasi-experimental design" in recommendation
    validation = next(c for c in memo.score_memo(sections, project) if c.name == "recommends_validation")
    assert validation.passed and "better data" in validation.reason


def test_unknown_control_names_both_routes():
    card = EstimandCard(business_question="What is the effect of X on Y?", estimand="ATE")
    project = support_project().model_copy(update={"estimand_card": card, "brief": ""})
    assert memo.treatment_controllable(project) is None
    recommendation = memo.deterministic_memo(project)["recommendation"]
    assert "if the organisation controls who receives the treatment, run a randomized holdout" in recommendation
    assert "if it does not, seek better data on the confounders or a quasi-experimental design" in recommendation


def test_no_covariates_is_never_called_doubly_robust():
    """Issue 17 §7 reaches the memo: with an empty set the rows are labelled "No adjustment" by the estimation,
    and the memo names the row by that label and says nothing was adjusted (NHEFS: qsmk on wt82_71, 2.54)."""
    causaldata = pytest.importorskip("causaldata")
    from causal_core.estimation import run_estimation
    from causal_core.project import EstimationSpec, Project

    data = causaldata.nhefs.load_pandas().data
    frame = data[data["wt82_71"].notna()].reset_index(drop=True)
    result = run_estimation(frame, EstimationSpec(treatment="qsmk", outcome="wt82_71"), sensitivity=False,
                            refutations=False)
    project = memo.with_deterministic_memo(Project(name="nhefs", estimation=result), frame)
    sections = project.memo.deterministic
    assert round(next(r.estimate for r in result.estimates if r.method == "aipw"), 2) == 2.54
    assert sections["main_estimate"].startswith("The estimate labelled “No adjustment")
    assert "doubly robust" not in sections["main_estimate"]
    assert "every estimator equals the naive difference" in sections["key_diagnostic"]
    assert "overstates" not in sections["key_diagnostic"] and "understates" not in sections["key_diagnostic"]
    assert [c.name for c in memo.score_memo(sections, project, frame) if not c.passed] == []


def test_ruling_an_experiment_out_is_not_a_validation_step():
    project = retention_project()
    sections = memo.deterministic_memo(project)
    for text, passes in (
        ("Keep the program; an experiment is not available here.", False),
        ("Keep the program; a randomized holdout cannot be run, so rely on this estimate.", False),
        ("An experiment is not available, so use a difference-in-differences design on the rollout dates.", True),
    ):
        check = next(c for c in memo.score_memo({**sections, "recommendation": text}, project)
                     if c.name == "recommends_validation")
        assert check.passed is passes, (text, check.reason)
