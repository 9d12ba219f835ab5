"""Parse/repair corpus (N09 §12, §15): malformed model outputs → parsed artifact or the exact failure class."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, StringConstraints

from causal_core.runtime import parsing
from causal_core.runtime.grammar import grammar_schema

Item = Annotated[str, StringConstraints(max_length=60)]


class Review(BaseModel):
    """A small N09-shaped schema: scalar, list and literal fields, all bounded."""

    dataset_grain: str = Field(max_length=80)
    candidate_treatment: str = Field(max_length=60)
    candidate_outcomes: list[Item] = Field(max_length=4)
    post_treatment_or_mediators: list[Item] = Field(max_length=4)
    confidence: Literal["low", "medium", "high"]


ALIASES = {  # N09 §12 PROFILE_ALIASES (subset that maps onto this schema)
    "grain": "dataset_grain",
    "unit_of_analysis": "dataset_grain",
    "treatment": "candidate_treatment",
    "outcomes": "candidate_outcomes",
    "mediators": "post_treatment_or_mediators",
    "post_treatment_variables": "post_treatment_or_mediators",
}
DEFAULTS = {"confidence": "medium"}
GOOD = {
    "dataset_grain": "team-week",
    "candidate_treatment": "assistant_enabled",
    "candidate_outcomes": ["human_handled_hours"],
    "post_treatment_or_mediators": ["agent_uses_ai", "deflection_rate"],
    "confidence": "medium",
}
GOOD_TEXT = (
    '{"dataset_grain": "team-week", "candidate_treatment": "assistant_enabled", '
    '"candidate_outcomes": ["human_handled_hours"], "post_treatment_or_mediators": ["agent_uses_ai", '
    '"deflection_rate"], "confidence": "medium"}'
)

# (case id, raw model output, expected parsed dict or None, expected failure type, expected note fragment)
CORPUS = [
    ("clean", GOOD_TEXT, GOOD, "", None),
    ("fenced json", f"```json\n{GOOD_TEXT}\n```", GOOD, "", "stripped markdown code fences"),
    ("fenced no language", f"```\n{GOOD_TEXT}\n```", GOOD, "", "stripped markdown code fences"),
    ("prose around", f"Sure! Here is the review:\n{GOOD_TEXT}\nLet me know if you need more.", GOOD, "",
     "took the first JSON object out of surrounding text"),
    ("two objects", GOOD_TEXT + ' {"other": 1}', GOOD, "", "took the first JSON object"),
    ("special tokens", GOOD_TEXT + "<|im_end|>", GOOD, "", None),
    ("think block", "<think>The grain is team-week {maybe}</think>" + GOOD_TEXT, GOOD, "", None),
    ("single quotes", GOOD_TEXT.replace('"', "'"), GOOD, "", "repaired invalid JSON with json-repair"),
    ("trailing commas", GOOD_TEXT.replace('"deflection_rate"]', '"deflection_rate",]').replace('"medium"}', '"medium",}'),
     GOOD, "", "repaired invalid JSON"),
    ("python literals and bare keys", "{dataset_grain: 'team-week', candidate_treatment: 'assistant_enabled', "
     "candidate_outcomes: ['human_handled_hours'], post_treatment_or_mediators: ['agent_uses_ai', 'deflection_rate'], "
     "confidence: 'medium'}", GOOD, "", "repaired invalid JSON"),
    ("aliased fields", '{"grain": "team-week", "treatment": "assistant_enabled", "outcomes": ["human_handled_hours"], '
     '"mediators": ["agent_uses_ai", "deflection_rate"], "confidence": "medium"}', GOOD, "",
     "mapped field alias 'grain' -> 'dataset_grain'"),
    ("capitalised keys", GOOD_TEXT.replace('"dataset_grain"', '"Dataset Grain"'), GOOD, "",
     "normalised field name 'Dataset Grain' -> 'dataset_grain'"),
    ("default filled", GOOD_TEXT.replace(', "confidence": "medium"', ""), GOOD, "",
     "filled missing 'confidence' with the task default"),
    ("literal case", GOOD_TEXT.replace('"medium"', '"Medium"'), GOOD, "", "normalised 'confidence' value 'Medium'"),
    ("string for list", GOOD_TEXT.replace('["human_handled_hours"]', '"human_handled_hours"'), GOOD, "",
     "wrapped string 'candidate_outcomes' in a list"),
    ("wrapper key", '{"DatasetProfileReview": ' + GOOD_TEXT + "}", GOOD, "", "unwrapped the object from wrapper key"),
    ("unknown extra key", GOOD_TEXT[:-1] + ', "notes": "extra"}', GOOD, "", "dropped unknown field(s): notes"),
    ("empty", "", None, "empty_output", None),
    ("whitespace only", "  \n\t ", None, "empty_output", None),
    ("only special tokens", "<|im_end|>", None, "empty_output", None),
    ("prose without json", "I cannot answer that without more data.", None, "invalid_json_or_truncated_output", None),
    ("missing field", '{"dataset_grain": "team-week", "candidate_outcomes": [], "post_treatment_or_mediators": [], '
     '"confidence": "low"}', None, "missing_required_field", None),
    ("wrong literal", GOOD_TEXT.replace('"medium"', '"certain"'), None, "wrong_field_type_or_schema", None),
    ("object for string", GOOD_TEXT.replace('"team-week"', '{"unit": "team"}'), None, "wrong_field_type_or_schema", None),
    ("list too long", GOOD_TEXT.replace('["human_handled_hours"]', '["a", "b", "c", "d", "e"]'), None,
     "wrong_field_type_or_schema", None),
    ("string too long", GOOD_TEXT.replace('"team-week"', '"' + "x" * 200 + '"'), None, "wrong_field_type_or_schema", None),
    ("object inside a list", "[" + GOOD_TEXT + "]", GOOD, "", "took the first JSON object out of surrounding text"),
    ("list of strings", '["team-week", "assistant_enabled"]', None, "invalid_json_or_truncated_output", None),
]


@pytest.mark.parametrize(("case", "raw", "expected", "failure", "note"), CORPUS, ids=[row[0] for row in CORPUS])
def test_parse_corpus(case, raw, expected, failure, note):
    outcome = parsing.parse_structured(raw, Review, ALIASES, DEFAULTS)
    assert outcome.parsed == expected, (case, outcome.error, outcome.notes)
    assert outcome.failure_type == failure
    if note:
        assert any(note in entry for entry in outcome.notes), outcome.notes
    if expected is not None and note is None:
        assert outcome.notes == []


def test_corpus_has_at_least_twenty_malformed_outputs():
    assert len([row for row in CORPUS if row[0] != "clean"]) >= 20


def test_truncated_output_is_classified_not_completed():
    """An object cut off at max_new_tokens is a truncation failure even though json-repair could close it."""
    cut = GOOD_TEXT[:70]
    truncated = parsing.parse_structured(cut, Review, ALIASES, DEFAULTS, truncated=True)
    assert truncated.parsed is None
    assert truncated.failure_type == "truncated"  # its own failure type (structured.FAILURE_TYPES)
    assert "max_new_tokens" in truncated.error
    # the same text from a model that stopped on its own is repaired, and still fails on the missing fields
    stopped = parsing.parse_structured(cut, Review, ALIASES, DEFAULTS, truncated=False)
    assert stopped.failure_type == "missing_required_field"
    assert "the JSON object was never closed" in stopped.notes


def test_complete_object_then_runaway_text_is_not_a_truncation():
    outcome = parsing.parse_structured(GOOD_TEXT + " and then the model kept talking", Review, truncated=True)
    assert outcome.parsed == GOOD


def test_braces_inside_strings_do_not_end_the_object():
    raw = GOOD_TEXT.replace('"team-week"', '"team {id} week }"')
    outcome = parsing.parse_structured("prefix " + raw + " suffix", Review)
    assert outcome.parsed["dataset_grain"] == "team {id} week }"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("empty model output"), "empty_output"),
        (ValueError("1 validation error: field required"), "missing_required_field"),
        (ValueError("Input should be 'low', 'medium' or 'high'"), "wrong_field_type_or_schema"),
        (ValueError("Expecting value: line 1 column 1"), "invalid_json_or_truncated_output"),
        (RuntimeError("something else"), "other_structured_output_error"),
    ],
)
def test_n09_classifier(error, expected):
    assert parsing.classify_failure(error) == expected


def test_grammar_schema_bounds_and_requires_every_field():
    class Loose(BaseModel):
        name: str = ""
        tags: list[str] = Field(default_factory=list)
        level: Literal["a", "b"] = "a"

    schema, notes = grammar_schema(Loose.model_json_schema())
    assert schema["required"] == ["name", "tags", "level"]
    assert schema["properties"]["name"]["maxLength"] == 400
    assert schema["properties"]["tags"]["maxItems"] == 10
    assert schema["properties"]["tags"]["items"]["maxLength"] == 400
    assert "maxLength" not in schema["properties"]["level"]  # enums are already bounded
    assert len(notes) == 3
    bounded, bounded_notes = grammar_schema(Review.model_json_schema())
    assert bounded_notes == []
    assert bounded["properties"]["candidate_outcomes"]["maxItems"] == 4
