"""Per-project schemas (structured.schema_for): a column-valued field can only name a column of the dataset.

Generated column sets → the enum equals the columns; the xgrammar grammar compiled from the schema accepts a
draft naming columns and rejects one naming anything else (checked character by character with the grammar
matcher, which is what masks the logits during decoding); a free-text answer is held to the same rule.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
import xgrammar as xgr
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core.ai.structured import SchemaContext, column_problems, context_from_inputs, schema_for
from causal_core.ai.tasks import get_task
from causal_core.runtime import generate, grammar, parsing

COLUMN = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
COLUMNS = st.lists(COLUMN, min_size=2, max_size=8, unique=True)


def _matcher(schema: dict) -> xgr.GrammarMatcher:
    bounded, _ = grammar.grammar_schema(schema)
    info = xgr.TokenizerInfo(["{", "}", '"', "a", "<eos>"], stop_token_ids=[4])
    compiled = xgr.GrammarCompiler(info).compile_json_schema(json.dumps(bounded), any_whitespace=False,
                                                             strict_mode=True)
    return xgr.GrammarMatcher(compiled)


def _grammar_accepts(schema: dict, draft: dict) -> bool:
    matcher = _matcher(schema)
    return bool(matcher.accept_string(json.dumps(draft)))


def _card(treatment: str, outcome: str, audit: list[str]) -> dict:
    return {"business_question": "x", "causal_question": "x", "unit": "x",
            "treatment": treatment, "control_condition": "x", "outcome": outcome, "time_window": "x",
            "target_population": "x", "estimand": "x", "required_assumptions": ["x"], "likely_threats": ["x"],
            "variables_to_audit": audit}


@settings(max_examples=25, deadline=None)
@given(columns=COLUMNS)
def test_card_schema_enums_equal_the_columns_and_the_grammar_refuses_others(columns):
    task = get_task("estimand-card")
    schema = schema_for(task, columns)
    properties = schema["properties"]
    assert properties["treatment"]["enum"] == columns
    assert properties["outcome"]["enum"] == columns
    assert properties["variables_to_audit"]["items"]["enum"] == columns
    good = _card(columns[0], columns[1], columns[:2])
    jsonschema.validate(good, schema)
    assert _grammar_accepts(schema, good)
    stranger = columns[0] + "_x"
    for bad in (_card(stranger, columns[1], []), _card(columns[0], stranger, []), _card(columns[0], columns[1], [stranger])):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        assert not _grammar_accepts(schema, bad)
        assert column_problems(task, bad, SchemaContext(tuple(columns)))


@settings(max_examples=25, deadline=None)
@given(columns=COLUMNS, latent=st.from_regex(r"u_[a-z]{1,8}", fullmatch=True))
def test_dag_names_are_columns_or_explicit_latents(columns, latent):
    task = get_task("dag")
    schema = schema_for(task, columns)
    edge = schema["$defs"]["DraftEdge"]["properties"]["source"]["anyOf"]
    assert edge[0]["enum"] == columns
    latent_node = {"name": latent, "latent": True}
    good = {"edges": [{"source": columns[0], "target": columns[1], "rationale": "r"},
                      {"source": latent_node, "target": columns[0], "rationale": "r"}]}
    assert _grammar_accepts(schema, good)
    jsonschema.validate(good, schema)
    bad = {"edges": [{"source": columns[0] + "_x", "target": columns[1], "rationale": "r"}]}
    assert not _grammar_accepts(schema, bad)
    context = SchemaContext(tuple(columns))
    parsed = parsing.parse_structured(json.dumps(good), task.schema)
    assert parsed.ok, parsed.error
    assert parsed.parsed["edges"][1]["source"] == latent and parsed.parsed["edges"][1]["source_latent"] is True
    assert column_problems(task, parsed.parsed, context) == []
    # free text: a latent that is really a column, and a plain non-column, are both refused
    disguised = {"edges": [{"source": {"name": columns[0], "latent": True}, "target": columns[1], "rationale": "r"}]}
    disguised_parsed = parsing.parse_structured(json.dumps(disguised), task.schema).parsed
    assert any("marked latent but is a column" in p for p in column_problems(task, disguised_parsed, context))
    plain = parsing.parse_structured(json.dumps(bad), task.schema).parsed
    assert any("is not a column" in p for p in column_problems(task, plain, context))


@settings(max_examples=15, deadline=None)
@given(columns=COLUMNS)
def test_profile_column_lists_are_enums(columns):
    task = get_task("profile")
    schema = schema_for(task, columns)
    assert schema["properties"]["candidate_treatment"]["enum"] == columns
    for name in ("candidate_outcomes", "pre_treatment_covariates", "post_treatment_or_mediators",
                 "recommended_exclusions_from_adjustment"):
        assert schema["properties"][name]["items"]["enum"] == columns


def test_context_comes_from_the_prompt_inputs_and_no_columns_means_free_text():
    task = get_task("estimand-card")
    inputs = {"columns": [{"variable": "offer", "in_data": True}, {"variable": "churn", "in_data": True},
                          {"variable": "dictionary_only", "in_data": False}]}
    assert context_from_inputs(task, inputs).columns == ("offer", "churn")
    assert "enum" not in schema_for(task, [])["properties"]["treatment"]


def test_free_text_answer_naming_a_non_column_is_flagged_in_run_task(monkeypatch):
    """An endpoint that ignored the schema (free text) is flagged "scored strictly", each non-column named."""
    from causal_core.ai.structured import DecodingSettings
    from causal_core.runtime import endpoint
    from causal_core.runtime.types import GenerationOutput

    task = get_task("estimand-card")
    answer = json.dumps(_card("retention_offer_sent", "churn", ["churn"]))
    monkeypatch.setattr(endpoint, "chat", lambda *a, **k: GenerationOutput(answer, 50, 1.0, constrained=False))
    inputs = {"brief": "b", "columns": [{"variable": "offer", "in_data": True}, {"variable": "churn", "in_data": True}]}
    result = generate.run_task(task, inputs, "endpoint:m@http://127.0.0.1:9/v1", DecodingSettings(repair_retry=False))
    assert generate.FREE_TEXT_NOTE in result.parser_notes
    flagged = [note for note in result.parser_notes if note.startswith("outside the per-project schema")]
    assert flagged and "'retention_offer_sent' is not a column" in flagged[0]
    good = json.dumps(_card("offer", "churn", ["churn"]))
    monkeypatch.setattr(endpoint, "chat", lambda *a, **k: GenerationOutput(good, 50, 1.0, constrained=True))
    clean = generate.run_task(task, inputs, "endpoint:m@http://127.0.0.1:9/v1", DecodingSettings())
    assert clean.schema_valid and generate.FREE_TEXT_NOTE not in clean.parser_notes
    assert not any(note.startswith("outside the per-project schema") for note in clean.parser_notes)


def test_logits_processor_is_fresh_per_generate():
    """The grammar matcher carries state: local_hf.generate must build a new processor for every call."""
    import inspect

    from causal_core.runtime import local_hf

    source = inspect.getsource(local_hf.generate)
    assert "grammar.make_logits_processor(compiled" in source  # built inside generate(), once per call


def test_memo_references_estimate_rows_and_the_app_writes_the_numbers(build_once, monkeypatch):
    """The memo names a row id (an enum of the project's rows); the number, interval and unit come from the project."""
    from causal_core import lab_bench as lab
    from causal_core import memo
    from causal_core.memo.ai_task import estimate_row_ids, quoted_rows

    monkeypatch.setattr("causal_core.headless.build_project", build_once)  # the run's one worked example
    case = lab.builtin_case("retention")
    inputs = memo.MEMO_TASK.build_inputs(case.project, case.frame)
    rows = case.project.estimation.estimates
    ids = estimate_row_ids(rows)
    assert [row["row_id"] for row in inputs["estimates"]] == ids and len(set(ids)) == len(ids)
    context = context_from_inputs(memo.MEMO_TASK, inputs)
    schema = schema_for(memo.MEMO_TASK, context.columns, context.estimate_rows)
    assert schema["properties"]["main_estimate_row"]["enum"] == ids
    assert schema["properties"]["compared_rows"]["items"]["enum"] == ids
    sections = {key: "Text without numbers." for key in memo.SECTION_KEYS}
    naive = next(row_id for row_id, row in zip(ids, rows, strict=True) if row.method == "naive")
    draft = {**sections, "main_estimate_row": naive, "compared_rows": [ids[-1]]}
    jsonschema.validate(draft, schema)
    assert _grammar_accepts(schema, draft)
    assert not _grammar_accepts(schema, {**draft, "main_estimate_row": "aipw_effect"})
    assert quoted_rows(draft) == [naive, ids[-1]]  # quoting the naive row is visible
    written = memo.draft_sections(draft, case.project, case.frame)["main_estimate"]
    row = rows[ids.index(naive)]
    binary = True
    from causal_core.memo.formatting import effect_phrase, range_phrase

    assert effect_phrase(row.estimate, binary) in written
    assert range_phrase(row.ci_low, row.ci_high, binary) in written
    assert written.endswith("Text without numbers.")
    assert memo.draft_sections(draft)["main_estimate"] == "Text without numbers."  # no project: nothing rendered
    problems = column_problems(memo.MEMO_TASK, {**draft, "main_estimate_row": "made_up"}, context)
    assert problems and "'made_up' is not an estimate row" in problems[0]
