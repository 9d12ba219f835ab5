"""Estimand-card core: the N01 card, planted-bad cards, the task contract, approval and open questions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from causal_core import question as q
from causal_core.ai.rubric import audit_record, score_of
from causal_core.project import DictionaryEntry, EstimandCard, Timing

ALL_CHECKS = {
    "treatment_in_data",
    "outcome_in_data",
    "unit_stated",
    "time_window_stated",
    "control_condition_stated",
    "target_population_stated",
    "estimand_type_and_population",
    "assumption_exchangeability",
    "assumption_positivity",
    "likely_threats_listed",
    "no_effect_claimed",
    "variables_to_audit_in_data",
    "no_post_treatment_adjustment",
}


def failed(card: dict, dataset) -> set[str]:
    project, frame = dataset
    return {c.name for c in q.score_estimand_card(card, project, frame) if not c.passed}


def n01(**changes) -> dict:
    return {**q.N01_CARD, **changes}


def support_card(**changes) -> dict:
    return {**q.SUPPORT_CARD, **changes}


# ---- the reference cards ---------------------------------------------------------------------
def test_n01_card_passes_every_check_on_retention(retention):
    checks = q.score_estimand_card(q.example_card("retention"), *retention)
    assert {c.name for c in checks} == ALL_CHECKS
    assert [c.name for c in checks if not c.passed] == []
    assert score_of(checks) == (12, 12) == (q.MAX_SCORE, q.MAX_SCORE)
    reasons = {c.name: c.reason for c in checks}
    assert reasons["treatment_in_data"] == "Treatment matches data column 'outreach'."
    assert reasons["outcome_in_data"] == "Outcome matches data column 'churn'."
    assert reasons["estimand_type_and_population"] == "Estimand is an ATE over a stated population."


def test_example_retention_card_is_n01_verbatim():
    card = q.example_card("retention")
    assert card.business_question == "Did proactive customer-success outreach reduce churn last quarter?"
    assert card.estimand == "average treatment effect on churn risk for the eligible-account population"
    assert len(card.required_assumptions) == 4 and len(card.likely_threats) == 4
    assert card.variables_to_audit[-1] == "post-outreach engagement variables"


def test_support_example_card_scores_full_marks_on_support(support):
    checks = q.score_estimand_card(q.example_card("support"), *support)
    assert [c.name for c in checks if not c.passed] == []
    assert score_of(checks) == (12, 12)


def test_example_card_unknown_dataset_names_choices():
    with pytest.raises(ValueError, match="choose one of retention, support"):
        q.example_card("sales")


def test_n01_audit_items_map_to_the_right_columns(retention):
    ctx = q.CardContext.build(*retention)
    mapped = {item: ctx.best(item).name if ctx.best(item) else None for item in q.N01_CARD["variables_to_audit"]}
    assert mapped == {
        "account health score": "health_score",
        "prior support tickets": "prior_tickets",
        "usage before outreach": "usage_score",
        "company size": "company_size",
        "tenure": "tenure_months",
        "region": "region",
        "post-outreach engagement variables": None,
    }
    ok, reason = q.audit_item_status("post-outreach engagement variables", ctx)
    assert ok and "post-treatment category (none in the dictionary)" in reason


# ---- planted-bad cards fail exactly the checks they should -----------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        {"causal_question": "Outreach reduced churn by 4 percentage points among eligible accounts."},
        {"estimand": "the ATE for eligible accounts was -0.04"},
        {"likely_threats": ["none: the data proves outreach works"]},
        {"outcome": "churn, which outreach caused to fall"},
        {"target_population": "eligible accounts; the program appears harmful for them"},
        {"causal_question": "Proactive outreach lowered churn among eligible SaaS accounts."},
    ],
)
def test_effect_claims_fail_only_no_effect_claimed(retention, changes):
    assert failed(n01(**changes), retention) == {"no_effect_claimed"}


@pytest.mark.parametrize(
    "text",
    [
        "Did outreach reduce churn by 5% last quarter?",  # a question, not a claim
        "managers' notes could have caused both targeting and churn",  # hedged
        "churn within 90 days after the outreach eligibility date",  # a number that is a window
    ],
)
def test_questions_hedges_and_windows_are_not_claims(retention, text):
    card = n01(likely_threats=[*q.N01_CARD["likely_threats"], text])
    assert failed(card, retention) == set()


def test_no_assumptions_fails_both_assumption_checks(retention):
    assert failed(n01(required_assumptions=[]), retention) == {"assumption_exchangeability", "assumption_positivity"}


def test_assumptions_without_positivity_fail_only_positivity(retention):
    card = n01(required_assumptions=["no unmeasured confounding given the pre-treatment covariates"])
    assert failed(card, retention) == {"assumption_positivity"}


def test_treatment_not_in_data_fails_only_treatment(retention):
    card = n01(treatment="a loyalty discount voucher emailed to the account")
    assert failed(card, retention) == {"treatment_in_data"}
    reason = next(c.reason for c in q.score_estimand_card(card, *retention) if c.name == "treatment_in_data")
    assert reason.startswith("Treatment 'a loyalty discount voucher")
    assert "matches no data column" in reason


def test_adjusting_for_a_mediator_fails_only_post_treatment_check(support):
    card = support_card(
        required_assumptions=[*q.SUPPORT_CARD["required_assumptions"][:4], "adjust for deflection_rate and region"]
    )
    assert failed(card, support) == {"no_post_treatment_adjustment"}
    reason = next(c.reason for c in q.score_estimand_card(card, *support) if c.name == "no_post_treatment_adjustment")
    assert "deflection_rate' (post_treatment)" in reason


def test_adjusting_for_future_and_post_outreach_text_fails(support, retention):
    card = support_card(likely_threats=["controlling for next week backlog removes noise"])
    assert failed(card, support) == {"no_post_treatment_adjustment"}
    card = n01(required_assumptions=[*q.N01_CARD["required_assumptions"], "we condition on post-outreach usage"])
    assert failed(card, retention) == {"no_post_treatment_adjustment"}


def test_warning_against_a_bad_control_is_not_an_adjustment(support):
    card = support_card(likely_threats=["deflection_rate should not be adjusted for; avoid controlling for agent_uses_ai"])
    assert failed(card, support) == set()


def test_empty_strings_fail_every_text_check(retention):
    card = n01(**{name: "" for name in q.TEXT_FIELDS})
    assert failed(card, retention) == {
        "treatment_in_data",
        "outcome_in_data",
        "unit_stated",
        "time_window_stated",
        "control_condition_stated",
        "target_population_stated",
        "estimand_type_and_population",
        # issue 22: a card that states nothing earns no "claims nothing wrong" points either
        "no_effect_claimed",
        "no_post_treatment_adjustment",
    }


def test_completely_empty_card_scores_zero_of_twelve_on_scored_checks(retention):
    """Issue 22: the two negative checks used to pass vacuously (2 / 12); an empty card now earns nothing."""
    checks = q.score_estimand_card({}, *retention)
    assert score_of(checks) == (0, 12)
    reasons = {c.name: c.reason for c in checks}
    assert reasons["no_effect_claimed"].startswith("Not assessed: 8 of 8 core fields are empty")


def test_a_card_of_one_column_name_earns_only_its_treatment(retention):
    card = {name: ["outreach"] if isinstance(value, list) else "outreach" for name, value in q.N01_CARD.items()}
    checks = q.score_estimand_card(card, *retention)
    assert [c.name for c in checks if c.passed and c.severity == "fail"] == ["treatment_in_data"]
    assert q.score_estimand_card(n01(unit="account_id"), *retention)[2].passed  # the unit's id column is a unit


def test_placeholders_and_undetermined_flags_are_not_stated(retention):
    card = n01(unit="N/A", time_window="cannot be determined from the brief: ask when accounts became eligible")
    assert failed(card, retention) == {"unit_stated", "time_window_stated"}


def test_estimand_without_type_or_population(retention):
    assert failed(n01(estimand="the effect of outreach on churn"), retention) == {"estimand_type_and_population"}
    reason = next(
        c.reason for c in q.score_estimand_card(n01(estimand="ATE"), *retention) if c.name == "estimand_type_and_population"
    )
    assert reason == "Estimand names its type (ATE) but not the population it averages over."


def test_hallucinated_audit_variable_is_a_warning_not_a_score_loss(retention):
    card = n01(variables_to_audit=["account health score", "customer lifetime value"])
    checks = q.score_estimand_card(card, *retention)
    assert {c.name for c in checks if not c.passed} == {"variables_to_audit_in_data"}
    warn = next(c for c in checks if c.name == "variables_to_audit_in_data")
    assert warn.severity == "warn" and "'customer lifetime value' is not in the data" in warn.reason
    assert score_of(checks) == (12, 12)
    flagged = n01(variables_to_audit=["account health score", "customer lifetime value (not in data)"])
    assert failed(flagged, retention) == set()


def test_outcome_that_is_a_pre_treatment_column_fails(retention):
    assert failed(n01(outcome="account health score"), retention) == {"outcome_in_data"}


def test_rubric_follows_the_project_dictionary_not_a_fixed_case(retention):
    """Rename the treatment column in the dictionary: the same card now misses it."""
    project, frame = retention
    renamed = frame.rename(columns={"outreach": "cs_contact"})
    dictionary = [
        entry if entry.variable != "outreach" else DictionaryEntry(variable="cs_contact", description="CSM call made.",
                                                                   timing=Timing.treatment)
        for entry in project.dictionary
    ]
    moved = project.model_copy(update={"dictionary": dictionary, "treatment": "cs_contact"})
    assert "treatment_in_data" in failed(q.N01_CARD, (moved, renamed))
    # "post-outreach" no longer names a post-treatment category: the audit item becomes a warning
    assert failed(n01(treatment="a CSM contact call (cs_contact)"), (moved, renamed)) == {"variables_to_audit_in_data"}


def test_rubric_without_a_frame_uses_data_source_columns(retention):
    project, _ = retention
    assert [c.name for c in q.score_estimand_card(q.N01_CARD, project, None) if not c.passed] == []


# ---- the task contract -----------------------------------------------------------------------
def test_task_contract_and_bounded_schema(retention):
    task = q.ESTIMAND_TASK
    assert (task.name, task.artifact) == ("estimand-card", "estimand_card")
    schema = task.schema.model_json_schema()
    assert set(schema["required"]) == set(EstimandCard.model_fields) and len(schema["required"]) == 12
    for name, prop in schema["properties"].items():
        if prop["type"] == "string":
            assert prop["maxLength"] == 300, name
        else:
            assert prop["maxItems"] == 8 and prop["items"]["maxLength"] == 200, name
    # both example cards fit the bounds the model decodes under
    task.schema.model_validate(q.N01_CARD)
    task.schema.model_validate(q.SUPPORT_CARD)
    with pytest.raises(ValidationError):
        task.schema.model_validate(n01(unit="x" * 301))


def test_prompts_ask_for_artifacts_not_answers(retention):
    project, frame = retention
    inputs = q.ESTIMAND_TASK.build_inputs(project, frame)
    assert inputs["brief"] == "Did proactive customer-success outreach reduce churn last quarter?"
    names = [row["variable"] for row in inputs["columns"]]
    assert names[:3] == ["account_id", "outreach", "churn"] and "propensity_true" not in names
    prompt = q.ESTIMAND_TASK.build_user_prompt(inputs)
    assert "- outreach | treatment week | Received proactive customer-success outreach" in prompt
    assert "Do not estimate the answer" in q.ESTIMAND_TASK.system_prompt
    assert "cannot be determined from the brief" in q.ESTIMAND_TASK.system_prompt


def test_aliases_and_lenient_conversion():
    card = q.card_from_draft(
        {"question": "Q?", "assumptions": "positivity\nexchangeability", "threats": ["a", ""], "population": ["x", "y"]}
    )
    assert card.business_question == "Q?"
    assert card.required_assumptions == ["positivity", "exchangeability"]
    assert card.likely_threats == ["a"]
    assert card.target_population == "x; y"
    assert q.ESTIMAND_TASK.field_aliases["threats"] == "likely_threats"


def test_strict_card_reading_for_files():
    assert q.card_from_json_payload({"estimand_card": q.N01_CARD}).unit == "customer account"
    with pytest.raises(ValueError, match="the card does not match the estimand-card schema: colour"):
        q.card_from_json_payload({**q.N01_CARD, "colour": "blue"})
    with pytest.raises(ValueError, match="required_assumptions"):
        q.card_from_json_payload({**q.N01_CARD, "required_assumptions": "one string"})
    with pytest.raises(ValueError, match="JSON object"):
        q.card_from_json_payload([1, 2])


def test_failed_generation_scores_zero_of_twelve():
    from causal_core.project import AIInteraction

    failure = AIInteraction(id="x", task="estimand-card", schema_valid=False, failure_type="empty_output")
    record = audit_record("estimand_card", [], failure, max_score_if_failed=q.MAX_SCORE)
    assert (record.score, record.max_score, record.failure_type) == (0, 12, "empty_output")


# ---- approval and open questions -------------------------------------------------------------
def test_approve_n01_card_keeps_matching_defaults(retention):
    project, frame = retention
    approved, notes = q.approve_card_with_notes(project, q.example_card("retention"), frame)
    assert approved.card_status == "approved" and approved.estimand_card == q.example_card("retention")
    assert (approved.treatment, approved.outcome, approved.unit_columns) == ("outreach", "churn", ["account_id"])
    assert notes == ["Treatment stays outreach.", "Outcome stays churn.", "Unit grain stays account_id.", "Estimand: ATE."]
    assert approved.edit_log[-1].field == "card_status" and approved.edit_log[-1].after == "approved"
    assert project.card_status == "none"  # copy-on-write


def test_approve_sets_defaults_from_the_card(support):
    project, frame = support
    blank = project.model_copy(update={"treatment": None, "outcome": None, "unit_columns": [], "guardrails": []})
    approved, notes = q.approve_card_with_notes(blank, q.example_card("support"), frame)
    assert approved.treatment == "assistant_enabled"
    assert approved.outcome == "human_handled_hours"
    assert approved.unit_columns == ["team_id", "week_start"]
    assert approved.guardrails == ["customer_satisfaction_score"]
    assert "Treatment set to assistant_enabled (was none)." in notes
    assert {e.field for e in approved.edit_log} == {"treatment", "outcome", "unit_columns", "guardrails", "card_status"}


def test_approve_keeps_defaults_when_the_card_is_unclear(retention):
    project, frame = retention
    card = q.example_card("retention").model_copy(update={"treatment": "a loyalty voucher", "unit": "thing"})
    approved, notes = q.approve_card_with_notes(project, card, frame)
    assert approved.treatment == "outreach" and approved.unit_columns == ["account_id"]
    assert "The card's treatment matches no data column; kept outreach." in notes
    assert "The card's unit names no identifier column; kept account_id." in notes


def test_open_questions_follow_n01_discussion():
    questions = q.open_questions_from_card(q.example_card("retention"))
    texts = [question.text for question in questions]
    assert texts[0] == "Were all eligible customer accounts logged, or only the ones that received the treatment?"
    assert (
        "Did anyone choose which customer accounts got the treatment (proactive customer-success outreach) using notes "
        "or informal knowledge not present in the dataset?" in texts
    )
    assert any("post-treatment measurements" in text and "covariate table" in text for text in texts)
    assert any("could never receive the treatment" in text for text in texts)
    assert len(texts) == len(set(texts)) == 6
    assert all(question.status == "open" and question.source for question in questions)


def test_reapproval_keeps_analyst_questions_and_answers(retention):
    project, frame = retention
    first = q.approve_card(project, q.example_card("retention"), frame)
    answered = first.open_questions[0].model_copy(update={"status": "answered", "answer": "All logged."})
    own = first.open_questions[1].model_copy(update={"text": "Who owns the CRM export?", "source": "analyst"})
    edited = first.model_copy(update={"open_questions": [answered, own]})
    again = q.approve_card(edited, q.example_card("retention"), frame)
    assert again.open_questions[0].answer == "All logged."
    assert again.open_questions[1].text == "Who owns the CRM export?"
    assert len(again.open_questions) == 7  # the 6 derived (one already answered) + the analyst's


# ---- page actions (Streamlit-free) -----------------------------------------------------------
def test_with_draft_result_valid_and_failed(retention):
    from causal_core.project import AIInteraction

    project, frame = retention
    good = AIInteraction(id="a", task="estimand-card", parsed=q.N01_CARD, schema_valid=True, model_id="m")
    drafted = q.with_draft_result(project, good, frame)
    assert drafted.estimand_card == q.example_card("retention") and drafted.card_status == "draft"
    assert (drafted.audits[-1].score, drafted.audits[-1].model_id, drafted.audits[-1].interaction_id) == (12, "m", "a")
    bad = AIInteraction(id="b", task="estimand-card", schema_valid=False, failure_type="empty_output", model_id="m")
    failed_project = q.with_draft_result(drafted, bad, frame)
    assert failed_project.estimand_card == drafted.estimand_card  # the card survives a failed draft
    record = failed_project.audits[-1]
    assert (record.score, record.max_score, record.failure_type, record.schema_valid) == (0, 12, "empty_output", False)
    odd = AIInteraction(id="c", task="estimand-card", schema_valid=True, parsed=None)
    assert q.with_draft_result(drafted, odd, frame).audits[-1].failure_type == "other_structured_output_error"


def test_replacing_an_approved_card_keeps_it_in_the_edit_log(retention):
    project, frame = retention
    approved = q.approve_card(project, q.example_card("retention"), frame)
    replaced = q.with_card(approved, EstimandCard(business_question="new"), frame, source="empty card")
    assert replaced.card_status == "draft" and replaced.estimand_card.business_question == "new"
    edit = replaced.edit_log[-1]
    assert (edit.field, edit.note, edit.before["unit"]) == ("card", "replaced by empty card", "customer account")


def test_edit_card_field_logs_rescored_and_unapproves(retention):
    project, frame = retention
    approved = q.approve_card(project, q.example_card("retention"), frame)
    same = q.edit_card_field(approved, "unit", "customer  account", frame)  # whitespace only: no edit
    assert same is approved
    edited = q.edit_card_field(approved, "likely_threats", "only one threat\n\n", frame)
    assert edited.estimand_card.likely_threats == ["only one threat"]
    assert edited.card_status == "draft"
    assert [(e.field, e.after) for e in edited.edit_log[-2:]] == [
        ("likely_threats", ["only one threat"]), ("card_status", "draft")
    ]
    assert edited.audits[-1].model_id == "analyst" and edited.audits[-1].score == 12
    with pytest.raises(ValueError, match="unknown estimand-card field 'colour'"):
        q.edit_card_field(approved, "colour", "blue", frame)


def test_edit_open_questions(retention):
    project, frame = retention
    approved = q.approve_card(project, q.example_card("retention"), frame)
    rows = [question.model_dump() for question in approved.open_questions]
    rows[0] |= {"status": "answered", "answer": "Yes, all eligible accounts are in the CRM export."}
    rows.append({"text": "Who decides outreach capacity?", "source": None, "status": None, "answer": None})
    rows.append({"text": "", "source": "", "status": "open", "answer": ""})  # a blank row is dropped
    edited = q.edit_open_questions(approved, rows)
    assert len(edited.open_questions) == 7
    assert edited.open_questions[0].status == "answered"
    assert edited.open_questions[-1].model_dump() == {
        "text": "Who decides outreach capacity?", "source": "analyst", "status": "open", "answer": ""
    }
    assert edited.edit_log[-1].artifact == "open_questions" and len(edited.edit_log[-1].after) == 7
    assert q.edit_open_questions(edited, [question.model_dump() for question in edited.open_questions]) is edited
    with pytest.raises(ValueError, match="status must be open, answered or dropped"):
        q.edit_open_questions(approved, [{"text": "x", "status": "maybe"}])


def test_what_the_bundled_model_actually_wrote_scores_low(retention):
    """SmolLM2-135M's real draft for the retention brief (seed 209): field-name echoes are not content."""
    draft = {
        "business_question": "Did proactive customer-success outreach reduce churn last quarter?",
        "causal_question": "Did proactive customer-success outreach reduce churn last quarter?",
        "unit": "account_id", "treatment": "treatment_week", "control_condition": "treatment_week",
        "outcome": "outcome_month", "time_window": "treatment_week", "target_population": "target_population",
        "estimand": "estimand", "required_assumptions": ["pre-treatment"], "likely_threats": ["churn"],
        "variables_to_audit": ["churn_month_pre_treatment_month_pre_treatment_pre_treatment"],
    }
    checks = q.score_estimand_card(draft, *retention)
    assert {c.name for c in checks if c.passed} == {
        "unit_stated", "no_effect_claimed", "variables_to_audit_in_data", "no_post_treatment_adjustment",
    }
    assert score_of(checks) == (3, 12)  # the warn-level audit check is not scored
    reasons = {c.name: c.reason for c in checks}
    assert reasons["target_population_stated"] == (
        "Target population is a placeholder that repeats a field name ('target_population')."
    )
    assert reasons["likely_threats_listed"] == "No threat is described (single words and placeholders only)."
    assert reasons["control_condition_stated"] == "Control condition repeats the treatment."


# ---- issue 22: the card rubric relates facts -------------------------------------------------------
def _reason(card: dict, dataset, name: str) -> str:
    project, frame = dataset
    return next(c.reason for c in q.score_estimand_card(card, project, frame) if c.name == name)


def test_att_needs_the_treated_as_its_population(retention):
    bad = n01(estimand="ATT of outreach on churn across every account", target_population="every active account")
    assert failed(bad, retention) == {"estimand_type_and_population"}
    assert "ATT averages over the treated" in _reason(bad, retention, "estimand_type_and_population")
    good = n01(estimand="ATT: the churn change among accounts that received outreach",
               target_population="accounts that received proactive outreach last quarter")
    assert failed(good, retention) == set()


def test_covariates_measured_in_the_days_following_are_post_treatment(retention):
    bad = n01(likely_threats=[*q.N01_CARD["likely_threats"], "control for product usage in the 30 days following"])
    assert failed(bad, retention) == {"no_post_treatment_adjustment"}
    assert "measured following" in _reason(bad, retention, "no_post_treatment_adjustment")


def test_effect_claims_inside_questions_and_from_to(retention):
    for change in ({"business_question": "Since outreach reduced churn by 3 points, should we expand it?"},
                   {"likely_threats": ["Churn fell from 22 % to 18 % among contacted accounts."]}):
        assert "no_effect_claimed" in failed(n01(**change), retention)
    assert "no_effect_claimed" not in failed(n01(business_question="Did outreach reduce churn?"), retention)


def test_control_reworded_window_before_and_column_only_fields(retention):
    assert failed(n01(control_condition="accounts that got proactive outreach from customer success"),
                  retention) == {"control_condition_stated"}
    assert failed(n01(time_window="churn measured over the 90 days before outreach"), retention) == {"time_window_stated"}
    assert failed(n01(outcome="churn in the 90 days before the outreach date"), retention) == {"outcome_in_data"}
    column_only = n01(estimand="churn", control_condition="churn", target_population="churn churn churn")
    assert {"estimand_type_and_population", "control_condition_stated", "target_population_stated"} <= failed(
        column_only, retention)
    assert "only the column name 'churn'" in _reason(column_only, retention, "control_condition_stated")


def test_a_treatment_in_the_dictionary_s_words_matches_its_column(retention):
    card = n01(treatment="the account was contacted proactively by customer success in the intervention month")
    assert _reason(card, retention, "treatment_in_data") == "Treatment matches data column 'outreach'."


@pytest.mark.parametrize("proposal", [
    "we adjust for the share of agents actively using the assistant",
    "control for how many contacts were deflected by the assistant",
    "covariates include assistant adoption among agents and the deflection share",
])
def test_mediators_named_in_the_dictionary_s_words_are_post_treatment(support, proposal):
    card = support_card(likely_threats=[*q.SUPPORT_CARD["likely_threats"], proposal])
    assert failed(card, support) == {"no_post_treatment_adjustment"}
    assert "(post_treatment)" in _reason(card, support, "no_post_treatment_adjustment")
