"""Parse/repair corpus (N09 §12, §15): malformed model outputs → parsed artifact or the exact failure class."""

from __future__ import annotations

import json
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
    ("invalid object then the answer", '{"other": 1} ' + GOOD_TEXT, GOOD, "", "took the JSON object at character 13"),
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


def test_unclosed_object_is_truncated_whatever_the_finish_reason():
    """An endpoint that cut the answer but said finish_reason "stop": still truncated, never repaired and scored."""
    for cut in (GOOD_TEXT[:70], GOOD_TEXT[:-1], GOOD_TEXT[:-2]):
        stopped = parsing.parse_structured(cut, Review, ALIASES, DEFAULTS, truncated=False)
        assert stopped.parsed is None
        assert stopped.failure_type == "truncated", (cut, stopped.error)
        assert "never closed" in stopped.error


def test_complete_inner_object_of_an_unclosed_wrapper_is_truncated():
    raw = '{"DatasetProfileReview": ' + GOOD_TEXT + ', "notes": "cut here'
    assert parsing.parse_structured(raw, Review, ALIASES, DEFAULTS).failure_type == "truncated"


@pytest.mark.parametrize("prose", [
    "Here is the review {as asked}: ",
    "Note: use { and } carefully. ",
    "The set {a, b} is adjusted for; the set {c is not. ",
    '{"draft": 1} was my first try; the real answer: ',
    "Braces { open here and { here, never closed. ",
])
def test_a_brace_in_the_prose_before_the_json_does_not_lose_the_answer(prose):
    outcome = parsing.parse_structured(prose + GOOD_TEXT + " Done.", Review, ALIASES, DEFAULTS)
    assert outcome.parsed == GOOD, (outcome.failure_type, outcome.error)
    assert any("out of surrounding text" in note for note in outcome.notes)


def test_meaning_changing_alias_is_refused_with_the_key_named():
    raw = GOOD_TEXT.replace('"post_treatment_or_mediators"', '"confounders"')
    refused = {"confounders": "confounders are not post-treatment variables; use post_treatment_or_mediators"}
    outcome = parsing.parse_structured(raw, Review, ALIASES, DEFAULTS, refused=refused)
    assert outcome.parsed is None
    assert outcome.failure_type == "wrong_field_type_or_schema"
    assert "'confounders'" in outcome.error and "not renamed" in outcome.error


@pytest.mark.parametrize("hidden", ["\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\x1b[31m", "\x85", "\u061c"])
def test_control_zero_width_and_bidi_characters_are_stripped(hidden):
    escaped = hidden.encode("unicode_escape").decode().replace("\\x", "\\u00")
    for raw in (GOOD_TEXT.replace("team-week", f"team{hidden}-week"),  # raw character
                GOOD_TEXT.replace("team-week", f"team{escaped}-week")):  # JSON escape, decoded by json.loads
        outcome = parsing.parse_structured(raw, Review, ALIASES, DEFAULTS)
        assert outcome.ok, outcome.error
        grain = outcome.parsed["dataset_grain"]
        assert grain in ("team-week", "team[31m-week"), repr(grain)
        assert all(ord(char) >= 32 and not 0x7F <= ord(char) <= 0x9F for char in grain)


def test_clip_for_log_keeps_head_tail_and_length():
    text = "{" + "a" * 1_380_000 + "END"
    clipped = parsing.clip_for_log(text)
    assert len(clipped) < parsing.LOG_TEXT_CHARS + 200
    assert clipped.startswith("{aaa") and clipped.endswith("aEND")
    assert "1,380,004 characters" in clipped
    assert parsing.clip_for_log("short") == "short"


def test_a_huge_answer_full_of_braces_parses_quickly():
    import time

    raw = "{" * 300_000 + GOOD_TEXT + '{"a": ' * 100_000
    started = time.perf_counter()
    outcome = parsing.parse_structured(raw, Review, ALIASES, DEFAULTS)
    assert time.perf_counter() - started < 2  # about 0.2 s alone; generous for a loaded shared machine
    assert outcome.failure_type in ("truncated", "invalid_json_or_truncated_output", "wrong_field_type_or_schema",
                                    "missing_required_field")


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


# ---- generated families: valid artifacts in prose, then cut at every position inside the JSON ---------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from causal_core.dag.draft import DagDraft  # noqa: E402
from causal_core.question.task import EstimandCardDraft  # noqa: E402

_VALUE_TEXT = st.text(alphabet=st.sampled_from(list("abc xyz_-{}[]\"':,\\é→") + ["\u00e9"]), min_size=1, max_size=12)
_PROSE = st.text(alphabet=st.sampled_from(list("Here is the answer. {}[]()-") + ["\n"]), max_size=30)


def _review_artifacts() -> st.SearchStrategy[dict]:
    items = st.lists(_VALUE_TEXT, max_size=3)
    return st.fixed_dictionaries({
        "dataset_grain": _VALUE_TEXT, "candidate_treatment": _VALUE_TEXT, "candidate_outcomes": items,
        "post_treatment_or_mediators": items, "confidence": st.sampled_from(["low", "medium", "high"]),
    })


def _card_artifacts() -> st.SearchStrategy[dict]:
    text_fields = [name for name, info in EstimandCardDraft.model_fields.items() if info.annotation is not None
                   and "list" not in str(info.annotation)]
    list_fields = [name for name in EstimandCardDraft.model_fields if name not in text_fields]
    return st.fixed_dictionaries({**{name: _VALUE_TEXT for name in text_fields},
                                  **{name: st.lists(_VALUE_TEXT, max_size=2) for name in list_fields}})


def _dag_artifacts() -> st.SearchStrategy[dict]:
    edge = st.fixed_dictionaries({"source": _VALUE_TEXT, "target": _VALUE_TEXT, "rationale": _VALUE_TEXT})
    return st.fixed_dictionaries({"edges": st.lists(edge, min_size=1, max_size=3)})


FAMILIES = [(Review, _review_artifacts()), (EstimandCardDraft, _card_artifacts()), (DagDraft, _dag_artifacts())]


@pytest.mark.parametrize(("schema", "artifacts"), FAMILIES, ids=[schema.__name__ for schema, _ in FAMILIES])
def test_generated_artifacts_in_prose_parse_and_every_cut_is_truncated(schema, artifacts):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(artifact=artifacts, before=_PROSE, after=_PROSE, indent=st.sampled_from([None, 1]),
           ascii_only=st.booleans())
    def check(artifact, before, after, indent, ascii_only):
        body = json.dumps(artifact, indent=indent, ensure_ascii=ascii_only)
        expected = schema.model_validate(artifact).model_dump(mode="json")
        whole = parsing.parse_structured(before + body + after, schema)
        assert whole.parsed == expected, (whole.failure_type, whole.error)
        for cut in range(1, len(body)):
            outcome = parsing.parse_structured(before + body[:cut], schema)
            assert outcome.parsed is None, (cut, body[:cut])
            assert outcome.failure_type == "truncated", (cut, body[:cut], outcome.error)

    check()


def test_an_exact_object_inside_a_stray_brace_pair_beats_json_repairs_guess():
    """Found by the generated family above: '{' + a valid card + '}' — json-repair's reading of the outer span
    changed the estimand '"[' into '"["'; the strictly valid inner object must win, value for value."""
    artifact = {name: ":" for name in EstimandCardDraft.model_fields}
    artifact |= {"estimand": '"[', "required_assumptions": [], "likely_threats": [], "variables_to_audit": []}
    outcome = parsing.parse_structured("{" + json.dumps(artifact, ensure_ascii=False) + "}", EstimandCardDraft)
    assert outcome.parsed == EstimandCardDraft.model_validate(artifact).model_dump(mode="json")
    assert any("character 1" in note for note in outcome.notes)
