"""Recorded drafts and the audit panel: replay on the dataset a draft was made from (and only there),
four distinct check states whose counts agree with the score, true smoke-test wording, escaped flags."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from causal_core.ai.rubric import check, score_of
from causal_core.audit.profile_review import (
    N09_SAMPLE_REVIEW,
    default_checklist,
    normalise_review,
    score_profile_review,
)
from causal_core.data.datasets import support_dictionary
from causal_core.recorded_drafts import recorded_drafts, recorded_for, replay
from causal_core.ui.audit_panel import check_lines, check_rows, check_state, tally, tally_line
from tests.test_audit_page import SUPPORT_ROLES, install_upload, open_page, plain, project_of


# ---------------------------------------------------------------- recorded drafts, no app
def test_the_shipped_profile_draft_is_n09s_qwen_7b_output(support):
    (draft,) = recorded_drafts("profile")
    assert (draft.model_id, draft.dataset, draft.recorded_at) == ("Qwen/Qwen2.5-7B-Instruct", "support", None)
    assert "run date not stated" in draft.label and draft.label.endswith("recorded, not generated")
    project, frame = support
    result = replay(draft, project, frame)
    assert result.interaction.schema_valid and result.interaction.parsed == normalise_review(N09_SAMPLE_REVIEW)
    assert (result.record.score, result.record.max_score, result.record.model_id) == (13, 13, "Qwen/Qwen2.5-7B-Instruct")
    assert result.project.ai_log[-1].backend == "replay" and result.project.ai_log[-1].decoding["temperature"] == 0.0
    assert project.ai_log == [] and project.audits == []  # the input project is untouched


def test_a_recorded_draft_is_never_offered_on_another_dataset(retention, support):
    assert recorded_for("profile", *retention) is None
    assert recorded_for("profile", *support) is not None
    assert recorded_for("estimand-card", *support) is None  # N01's card is simulated, not a model's
    assert recorded_for("dag", *support) is None


# ---------------------------------------------------------------- audit panel states
def test_four_states_and_counts_that_agree_with_the_score(support):
    project, frame = support
    bare = project.model_copy(update={"guardrails": [], "unit_columns": []})
    checks = score_profile_review(normalise_review(N09_SAMPLE_REVIEW), bare, frame)
    states = {c.name: check_state(c) for c in checks}
    assert states["names the grain"] == states["names the guardrail outcome"] == "not applicable"
    counts = tally(checks)
    assert (counts["scored_pass"], counts["scored"]) == score_of(checks)
    assert counts["not_applicable"] == 3 and states["flags duplicate/unit risk"] == "not applicable"
    lines = check_lines(checks).splitlines()
    grain = next(line for line in lines if "names the grain" in line)
    assert grain.startswith("- :material/do_not_disturb_on: not applicable") and "check_circle" not in grain
    mixed = [check("a", True, "ok"), check("b", False, "bad"), check("c", False, "look", severity="warn"),
             check("d", True, "fine", severity="warn"), check("e", True, "not required: nothing", "warn", False)]
    assert [check_state(c) for c in mixed] == ["pass", "fail", "warn", "pass", "not applicable"]
    assert tally_line(mixed) == ("1 of 2 scored checks pass, 1 fail · advisory (not scored): 1 pass, 1 warn · "
                                 "1 not applicable")
    assert check_rows(mixed)["result"].tolist() == ["pass", "FAIL", "warn", "pass", "n/a"]
    assert score_of(mixed) == (1, 2)


def test_the_panel_shows_not_applicable_checks_in_the_app():
    at = open_page("support")
    project = project_of(at)
    at.session_state["cw_projects"]["support"] = project.model_copy(update={"guardrails": [], "unit_columns": []})
    at.run()
    at.button(key="replay_profile").click().run()
    assert not at.exception
    record = project_of(at).audit_history("profile_review")[-1]
    assert (record.score, record.max_score) == (10, 10)
    panel = next(m.value for m in at.markdown if "names the grain" in m.value)
    grain = next(line for line in panel.splitlines() if "names the grain" in line)
    assert ":material/do_not_disturb_on: not applicable" in grain and ":material/check_circle:" not in grain
    captions = [c.value for c in at.caption]
    assert "10 of 10 scored checks pass, 0 fail · advisory (not scored): 1 pass, 0 warn · 3 not applicable" in captions
    assert any("a recorded draft of model `Qwen/Qwen2.5-7B-Instruct`, replayed (recorded, not generated" in c
               for c in captions)
    assert any(m.value == "10 / 10" for m in at.metric)


@pytest.fixture(scope="module")
def retention_page() -> AppTest:
    """One Data audit page on retention for the read-only checks below (each page open costs seconds)."""
    return open_page("retention")


# ---------------------------------------------------------------- §10: never a foreign review
def test_retention_offers_no_foreign_review_and_stores_nothing(retention_page):
    at = retention_page
    button = at.button(key="replay_profile")
    assert button.disabled
    with pytest.raises(Exception, match="Cannot update a disabled button"):
        button.click()
    after = project_of(at, "retention")
    assert after.profile_review is None and after.audit_history("profile_review") == [] and after.ai_log == []
    assert any("the recorded N09 review (Qwen2.5-7B) was made from `support`" in c.value for c in at.caption)


# ---------------------------------------------------------------- §11: wording true to the dictionary
def test_retention_smoke_test_and_checklist_name_the_four_future_columns(retention_page):
    at = retention_page
    project = project_of(at, "retention")
    bad = project.data_audit.tables["smoke_test"][2]
    future = ["propensity_true", "true_individual_effect", "p_churn_without", "p_churn_with"]
    assert bad["note"] == (
        "the dictionary has 4 post-treatment/future column(s), all excluded here: 4 simulation-truth column(s), "
        f"never covariates ({', '.join(future)}). No column is left to misuse."
    )
    assert "no post-treatment or future columns in the dictionary" not in bad["note"]
    item = next(i for i in default_checklist(project) if i.check.startswith("Post-treatment and future"))
    assert item.evidence == ("no usable post-treatment or future column: the 4 future/post-treatment column(s) are "
                             f"simulation truth ({', '.join(future)}), never covariates")
    assert any(plain(c.value).replace("**", "").startswith("bad post-treatment/leaky adjustment: the dictionary has 4")
               for c in at.caption)


# ---------------------------------------------------------------- issue 18 §3: flagged names stay text
@pytest.mark.parametrize("name", ["![](http://127.0.0.1:8999/x.png)", "<img src=x onerror=alert(1)>", "**bold**_x"])
def test_flagged_column_names_are_code_spans(support, name):
    _, frame = support
    hostile = frame.rename(columns={"next_week_backlog": name})
    dictionary = [e.model_copy(update={"variable": name}) if e.variable == "next_week_backlog" else e
                  for e in support_dictionary()]
    at, key = install_upload(hostile, dictionary=dictionary, **SUPPORT_ROLES)
    flagged = next(e.value for e in at.error if e.value.startswith("Flagged:"))
    assert flagged.startswith(f"Flagged: `{name}` (LEAKAGE RISK")
    assert project_of(at, key).data_audit is not None
