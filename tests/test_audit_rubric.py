"""Profile review: the N09 schema/prompt/task, the field-aware rubric (sample = full marks, each planted
flaw fails exactly its check), failed generations scoring zero, and the N09 §16 checklist."""

from __future__ import annotations

import copy
import json
import typing

import pytest

from causal_core.ai.rubric import audit_record, score_of
from causal_core.audit import run_audit
from causal_core.audit.profile_review import (
    N09_SAMPLE_REVIEW,
    PROFILE_ALIASES,
    PROFILE_TASK,
    SYSTEM_PROFILE_MESSAGE,
    DatasetProfileReview,
    ReviewError,
    build_profile_prompt,
    checklist_from_rows,
    default_checklist,
    normalise_review,
    rubric_facts,
    score_profile_review,
)
from causal_core.project import AIInteraction

SCORED = [
    "names the grain",
    "names the treatment",
    "names the primary outcome",
    "names the guardrail outcome",
    "lists pre-treatment covariates",
    "flags post-treatment variables",
    "flags future leakage",
    "flags missingness",
    "flags duplicate/unit risk",
    "does not claim identification",
    "asks domain/design questions",
    "no post-treatment/outcome/future variable among pre-treatment covariates",
    "excludes every post-treatment/outcome/future variable from adjustment",
]


def failed(checks) -> set[str]:
    return {c.name for c in checks if c.severity == "fail" and not c.passed}


def sample() -> dict:
    return copy.deepcopy(N09_SAMPLE_REVIEW)


# ---------------------------------------------------------------- schema, prompt, task
def test_task_contract_matches_n09_section_12():
    assert (PROFILE_TASK.name, PROFILE_TASK.artifact) == ("profile", "profile_review")
    assert PROFILE_TASK.schema is DatasetProfileReview
    assert list(DatasetProfileReview.model_fields) == [
        "dataset_grain", "candidate_treatment", "candidate_outcomes", "pre_treatment_covariates",
        "post_treatment_or_mediators", "leakage_risks", "missingness_risks", "unit_integrity_risks",
        "identification_questions", "recommended_exclusions_from_adjustment", "next_checks", "confidence",
    ]
    assert typing.get_args(DatasetProfileReview.model_fields["confidence"].annotation) == ("low", "medium", "high")
    assert dict(PROFILE_TASK.field_aliases) == PROFILE_ALIASES
    assert PROFILE_ALIASES["grain"] == "dataset_grain" and PROFILE_ALIASES["excluded_controls"] == "recommended_exclusions_from_adjustment"
    assert dict(PROFILE_TASK.defaults) == {"confidence": "medium"}
    assert PROFILE_TASK.score is score_profile_review


def test_schema_is_bounded_for_constrained_decoding():
    schema = DatasetProfileReview.model_json_schema()
    assert schema["properties"]["dataset_grain"]["maxLength"] == 300
    for name in ["candidate_outcomes", "next_checks", "recommended_exclusions_from_adjustment"]:
        assert schema["properties"][name]["maxItems"] == 16
        assert schema["properties"][name]["items"]["maxLength"] == 300
    assert set(schema["required"]) == set(DatasetProfileReview.model_fields)
    assert schema["properties"]["confidence"]["enum"] == ["low", "medium", "high"]


def test_task_registry_resolves_profile():
    from causal_core.ai.tasks import get_task

    assert get_task("profile") is PROFILE_TASK


def test_system_prompt_carries_n09_rules():
    for rule in [
        "Use only the evidence in the provided profiling bundle.",
        "Return valid JSON only. No markdown. No preamble.",
        "Do not claim that the dataset identifies a causal effect.",
        "Do not invent randomization, instruments, policy rules, or unobserved variables.",
        "If timing is ambiguous, put the issue in identification_questions or next_checks.",
    ]:
        assert f"- {rule}" in SYSTEM_PROFILE_MESSAGE
    assert PROFILE_TASK.system_prompt == SYSTEM_PROFILE_MESSAGE


def _bundle_block(prompt: str) -> str:
    """The bundle JSON inside its <data> block (project text is delimited as data; entities undone)."""
    import html

    block = prompt.split("Profiling bundle:\n", 1)[1]
    return html.unescape(block.split("\n", 1)[1].rsplit("\n</data>", 1)[0])


def test_prompt_builder_embeds_schema_hint_and_bundle(support):
    project, frame = support
    inputs = PROFILE_TASK.build_inputs(project, frame)
    prompt = build_profile_prompt(inputs)
    assert prompt.startswith("Produce a DatasetProfileReview JSON object using this schema:")
    assert '"confidence": "low | medium | high"' in prompt
    body = json.loads(_bundle_block(prompt))
    assert body["treatment"] == "assistant_enabled"
    assert body["balance_table"]["columns"][:2] == ["variable", "kind"]
    assert body["balance_table"]["rows"][0][:2] == ["backlog_start", "numeric"]
    assert body["explicit_warning"].startswith("Dataset profiling can identify risks")
    n09 = build_profile_prompt({**inputs, "bundle_format": "records"})
    assert json.loads(_bundle_block(n09)) == inputs["bundle"]
    assert len(prompt) < 0.6 * len(n09)  # the compact form fits small models' context


def test_build_inputs_reuses_the_stored_audit_only_while_it_matches(support):
    project, frame = support
    result = run_audit(project, frame)
    stored = project.model_copy(update={"data_audit": result})
    assert PROFILE_TASK.build_inputs(stored, None)["bundle"] is result.evidence_bundle
    changed = stored.model_copy(update={"guardrails": []})  # roles changed -> stale audit is not reused
    with pytest.raises(ValueError, match="needs the data audit"):
        PROFILE_TASK.build_inputs(changed, None)
    assert PROFILE_TASK.build_inputs(changed, frame)["bundle"]["guardrail_outcome"] == []


def test_normalise_review_applies_aliases_defaults_and_coercion():
    raw = {"grain": "team_id, week_start", "treatment": "assistant_enabled", "outcomes": "human_handled_hours",
           "covariates": ["region"], "mediators": ["agent_uses_ai"], "excluded_controls": ["agent_uses_ai"]}
    review = normalise_review(raw)
    assert review["dataset_grain"] == "team_id, week_start"
    assert review["candidate_outcomes"] == ["human_handled_hours"]
    assert review["recommended_exclusions_from_adjustment"] == ["agent_uses_ai"]
    assert review["confidence"] == "medium"
    assert review["next_checks"] == []
    with pytest.raises(ReviewError, match="confidence"):
        normalise_review({**N09_SAMPLE_REVIEW, "confidence": "certain"})
    with pytest.raises(ReviewError, match="JSON object"):
        normalise_review(["not", "an", "object"])


# ---------------------------------------------------------------- rubric: the N09 sample
def test_n09_sample_review_scores_full_marks_on_support(support):
    project, frame = support
    checks = score_profile_review(sample(), project, frame)
    assert [c.name for c in checks if c.severity == "fail"] == SCORED
    assert score_of(checks) == (13, 13)
    record = audit_record("profile_review", checks)
    assert (record.score, record.max_score, record.schema_valid) == (13, 13, True)


def test_rubric_facts_come_from_the_project_and_the_rows(support):
    project, frame = support
    facts = rubric_facts(project, frame)
    assert facts.unit_columns == ["team_id", "week_start"]
    assert facts.post_treatment == ["agent_uses_ai", "deflection_rate"]
    assert facts.future == ["next_week_backlog"]
    assert facts.must_exclude == ["agent_uses_ai", "deflection_rate", "human_handled_hours",
                                  "customer_satisfaction_score", "next_week_backlog"]
    assert facts.data_loss_missing == ["baseline_ticket_volume", "customer_satisfaction_score"]
    assert facts.structural_missing == ["agent_uses_ai", "deflection_rate"]
    assert facts.duplicated_units == 16
    assert len(facts.pre_treatment) == 8


# ---------------------------------------------------------------- rubric: planted flaws
def _set(field, value):
    def mutate(review):
        review[field] = value
    return mutate


def _drop(field, name):
    def mutate(review):
        review[field] = [item for item in review[field] if item != name]
    return mutate


def _add(field, item):
    def mutate(review):
        review[field] = [*review[field], item]
    return mutate


PLANTED = [
    ("grain names only the team", _set("dataset_grain", "one row per team"), {"names the grain"}),
    ("wrong treatment", _set("candidate_treatment", "agent_uses_ai"), {"names the treatment"}),
    ("primary outcome not an outcome", _set("candidate_outcomes", ["customer_satisfaction_score"]), {"names the primary outcome"}),
    ("too few covariates", _set("pre_treatment_covariates", ["region", "queue_type"]), {"lists pre-treatment covariates"}),
    ("mediator not flagged", _drop("post_treatment_or_mediators", "deflection_rate"), {"flags post-treatment variables"}),
    ("future leak not flagged", _set("leakage_risks", ["possible target leakage"]), {"flags future leakage"}),
    ("only structural missingness", _set("missingness_risks", ["agent_uses_ai", "deflection_rate"]), {"flags missingness"}),
    ("duplicates ignored", _set("unit_integrity_risks", []), {"flags duplicate/unit risk"}),
    ("claims identification", _add("next_checks", "The regression identifies the causal effect of enablement."),
     {"does not claim identification"}),
    ("one question only", _set("identification_questions", ["Was rollout random?"]), {"asks domain/design questions"}),
    # N09 exercise 5: field-level misuse, whatever the rest of the text says
    ("future column as covariate", _add("pre_treatment_covariates", "next_week_backlog"),
     {"no post-treatment/outcome/future variable among pre-treatment covariates"}),
    ("mediator as covariate", _add("pre_treatment_covariates", "agent_uses_ai"),
     {"no post-treatment/outcome/future variable among pre-treatment covariates"}),
    ("primary outcome not excluded", _drop("recommended_exclusions_from_adjustment", "human_handled_hours"),
     {"excludes every post-treatment/outcome/future variable from adjustment"}),
    ("mediator not excluded though mentioned elsewhere", _drop("recommended_exclusions_from_adjustment", "agent_uses_ai"),
     {"excludes every post-treatment/outcome/future variable from adjustment"}),
    ("future column not excluded", _drop("recommended_exclusions_from_adjustment", "next_week_backlog"),
     {"excludes every post-treatment/outcome/future variable from adjustment"}),
    # a guardrail absent from both outcomes and exclusions is necessarily also a missing exclusion
    ("guardrail dropped", _drop("recommended_exclusions_from_adjustment", "customer_satisfaction_score"),
     {"names the guardrail outcome", "excludes every post-treatment/outcome/future variable from adjustment"}),
]


@pytest.mark.parametrize(("label", "mutate", "expected"), PLANTED, ids=[p[0] for p in PLANTED])
def test_each_planted_flaw_fails_exactly_its_check(support, label, mutate, expected):
    project, frame = support
    review = sample()
    mutate(review)
    checks = score_profile_review(review, project, frame)
    assert failed(checks) == expected
    assert score_of(checks) == (13 - len(expected), 13)


def test_similar_names_are_not_confused(support):
    """backlog_start in the exclusions does not count as excluding next_week_backlog."""
    project, frame = support
    review = sample()
    review["recommended_exclusions_from_adjustment"] = [
        x if x != "next_week_backlog" else "backlog_start" for x in review["recommended_exclusions_from_adjustment"]
    ]
    assert "excludes every post-treatment/outcome/future variable from adjustment" in failed(
        score_profile_review(review, project, frame)
    )


def test_guessed_covariate_timing_is_a_warning(support):
    project, frame = support
    unknown = project.model_copy(update={"dictionary": [e for e in project.dictionary if e.variable != "staffing_hours"]})
    checks = {c.name: c for c in score_profile_review(sample(), unknown, frame)}
    warning = checks["pre-treatment covariates have documented timing"]
    assert (warning.passed, warning.severity) == (False, "warn")
    assert "staffing_hours" in warning.reason


# ---------------------------------------------------------------- rubric generalises to the project
def test_rubric_is_derived_from_another_project(retention):
    project, frame = retention
    checks = score_profile_review(sample(), project, frame)
    assert failed(checks) == {
        "names the grain", "names the treatment", "names the primary outcome", "lists pre-treatment covariates",
        "flags future leakage", "excludes every post-treatment/outcome/future variable from adjustment",
        # issue 22: support's columns are invented columns on retention, even in fields retention does not require
        "flags post-treatment variables", "flags missingness",
    }
    reasons = {c.name: c.reason for c in checks}
    assert reasons["flags post-treatment variables"] == (
        "post_treatment_or_mediators names agent_uses_ai, deflection_rate, not a column of the data")
    not_required = {c.name for c in checks if c.reason.startswith("not required")}
    assert not_required == {"names the guardrail outcome", "flags duplicate/unit risk"}
    assert score_of(checks) == (3, 11)


def test_duplicate_check_only_required_when_duplicates_exist(support):
    from causal_core.data import analysis_frame

    project, frame = support
    deduped = project.model_copy(update={"dedup": "keep_first"})
    review = sample()
    review["unit_integrity_risks"] = []
    checks = {c.name: c for c in score_profile_review(review, deduped, analysis_frame(deduped, frame))}
    assert checks["flags duplicate/unit risk"].severity == "warn"
    assert checks["flags duplicate/unit risk"].reason == "not required: no duplicated units in the data"


def test_failed_generation_scores_zero_of_the_project_maximum(support):
    project, frame = support
    max_score = score_of(score_profile_review({}, project, frame))[1]
    interaction = AIInteraction(id="x1", task="profile", schema_valid=False, repair_stage="failed",
                                failure_type="invalid_json_or_truncated_output", model_id="bundled")
    record = audit_record("profile_review", [], interaction, max_score_if_failed=max_score)
    assert (record.score, record.max_score, record.schema_valid, record.failure_type) == (
        0, 13, False, "invalid_json_or_truncated_output")


def test_empty_review_fails_every_content_check(support):
    project, frame = support
    checks = score_profile_review({}, project, frame)
    assert failed(checks) == set(SCORED)  # issue 22: the two negative checks no longer pass vacuously
    assert score_of(checks) == (0, 13)
    reason = next(c.reason for c in checks if c.name == "does not claim identification")
    assert reason.startswith("not assessed: 8 of 8 content fields are empty")


# ---------------------------------------------------------------- N09 §16 checklist
def test_default_checklist_is_n09_section_16_with_project_evidence(support):
    project, _ = support
    items = default_checklist(project)
    assert [i.check for i in items] == [
        "Row grain is verified",
        "Treatment timing is documented",
        "Outcome window is after treatment",
        "Pre-treatment covariates are separated from mediators",
        "Post-treatment and future variables are excluded from total-effect adjustment",
        "Missingness mechanism is investigated",
        "Treatment imbalance is profiled",
        "AI review is audited",
    ]
    assert items[0].evidence == "team_id + week_start duplicate check"
    assert items[1].evidence == "assistant_enabled and data dictionary timing"
    assert items[2].evidence == "human_handled_hours and customer_satisfaction_score timing"
    assert items[4].evidence == "agent_uses_ai, deflection_rate, next_week_backlog scan"
    assert [i.owner for i in items][:2] == ["analyst + data engineer", "domain owner"]
    assert {i.status for i in items} == {"todo"}


def test_checklist_rows_round_trip_and_refuse_bad_status():
    rows = [
        {"check": "Row grain is verified", "evidence": "dup check", "owner": "Ana", "status": "done", "notes": None},
        {"check": "New check", "evidence": float("nan"), "owner": "", "status": None, "notes": "added"},
        {"check": "  ", "evidence": "", "owner": "", "status": "todo", "notes": ""},
    ]
    items = checklist_from_rows(rows)
    assert [(i.check, i.owner, i.status, i.notes) for i in items] == [
        ("Row grain is verified", "Ana", "done", ""), ("New check", "", "todo", "added"),
    ]
    with pytest.raises(ValueError, match="status"):
        checklist_from_rows([{"check": "x", "status": "finished"}])


# ---------------------------------------------------------------- issue 22: claims against the audit's facts
CLAIMS = [
    ("future column called safe", _add("leakage_risks", "next_week_backlog is NOT a leakage risk; keep it in the adjustment set"),
     "flags future leakage", "the dictionary times next_week_backlog as future"),
    ("invented column", _add("pre_treatment_covariates", "agent_tenure_months"),
     "lists pre-treatment covariates", "names agent_tenure_months, not a column of the data"),
    ("invented randomisation", _add("next_checks", "The assistant was randomly assigned to teams."),
     "does not claim identification", "predict assistant_enabled in the data"),
    ("identification in other words", _add("next_checks", "Adjusting for these covariates rules out confounding."),
     "does not claim identification", "claims identification in other words"),
    ("missingness denied", _add("next_checks", "There is no missing data in this dataset."),
     "flags missingness", "the audit measured missing values in baseline_ticket_volume"),
    ("wrong grain naming the grain columns", _set("dataset_grain", "one row per ticket, with team_id and week_start"),
     "names the grain", "describes one row per"),
    ("negated treatment", _set("candidate_treatment", "not assistant_enabled"),
     "names the treatment", "negates or replaces the treatment"),
]


@pytest.mark.parametrize(("label", "mutate", "name", "evidence"), CLAIMS, ids=[c[0] for c in CLAIMS])
def test_claims_contradicting_the_audit_fail_their_check(support, label, mutate, name, evidence):
    project, frame = support
    review = sample()
    mutate(review)
    checks = score_profile_review(review, project, frame)
    assert failed(checks) == {name}
    assert evidence in next(c.reason for c in checks if c.name == name)
    assert score_of(checks) == (12, 13)


def test_a_question_about_randomisation_is_not_a_claim(support):
    review = sample()
    review["identification_questions"].append("Was enablement randomized, or chosen by managers?")
    review["next_checks"].append("Check whether the rollout was randomly assigned.")
    assert failed(score_profile_review(review, *support)) == set()


def test_the_review_s_own_vocabulary_is_not_an_invented_column(support):
    review = sample()
    review["next_checks"].append("Move agent_uses_ai from pre_treatment to post_treatment in the leakage_risks notes.")
    assert failed(score_profile_review(review, *support)) == set()
    review["next_checks"].append("Check agent_tenure_months.")
    checks = score_profile_review(review, *support)
    assert failed(checks) == {"asks domain/design questions"}
    assert "next_checks names agent_tenure_months, not a column" in next(
        c.reason for c in checks if c.name == "asks domain/design questions")
