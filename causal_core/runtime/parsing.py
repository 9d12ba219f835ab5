"""Turn a model's raw text into a schema-valid dict, or an honest failure class (N09 §12, §15).

Pipeline: clean special tokens / think blocks → strip code fences → take the first JSON object
(string-aware brace matching) → ``json.loads``, else json-repair → unwrap a single wrapper key → map
field aliases → coerce the obvious shape slips (a string where a list of strings belongs, a list where a
string belongs, "Medium" for "medium") → fill task defaults → drop unknown keys → pydantic validation.
Every change is a parser note, so the audit trail shows how much cleanup an answer needed.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

EMPTY = "empty_output"
MISSING = "missing_required_field"
WRONG_TYPE = "wrong_field_type_or_schema"
INVALID_JSON = "invalid_json_or_truncated_output"
OTHER = "other_structured_output_error"
TRUNCATED = "truncated"  # finish_reason == "length" (structured.FAILURE_TYPES)

_SPECIAL_TOKEN = re.compile(r"<\|[A-Za-z0-9_:\-]{1,40}\|>|</s>|<s>|<eos>|<bos>|<end_of_turn>|<start_of_turn>(model|user)?")
_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)(```|$)", re.DOTALL)


class StructuredOutputError(Exception):
    """A parse failure with its N09 class."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class ParseOutcome:
    parsed: dict[str, Any] | None
    json_text: str = ""
    notes: list[str] = field(default_factory=list)
    failure_type: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.parsed is not None


def clean_text(raw: str | None) -> str:
    """Drop chat special tokens, <think> blocks and NUL/control characters; trim."""
    text = raw or ""
    text = _THINK.sub("", text)
    text = _SPECIAL_TOKEN.sub("", text)
    text = "".join(char for char in text if char in "\n\t\r" or ord(char) >= 32)
    return text.strip()


def strip_code_fences(text: str) -> tuple[str, bool]:
    """The inside of the first fenced block holding a '{', else the text unchanged."""
    for match in _FENCE.finditer(text):
        inner = match.group(1)
        if "{" in inner:
            return inner.strip(), True
    return text, False


def first_json_object(text: str) -> tuple[str, bool]:
    """From the first '{' to its matching '}' (braces inside strings ignored); closed=False if it never closes."""
    start = text.find("{")
    if start < 0:
        return "", False
    depth, in_string, escaped = 0, False, False
    quote = ""
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                in_string = False
        elif char == '"' or (char == "'" and '"' not in text[start:index]):
            # single quotes delimit strings only in a Python-dict style object (no double quotes before them)
            in_string, quote = True, char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start:index + 1], True
    return text[start:], False


def load_json(candidate: str) -> tuple[Any, list[str]]:
    """Strict JSON first; json-repair (single quotes, trailing commas, bare keys, unclosed) second."""
    try:
        return json.loads(candidate), []
    except json.JSONDecodeError as strict_error:
        import json_repair

        repaired = json_repair.loads(candidate)
        if isinstance(repaired, list):  # "{...} {...}" comes back as a list: keep the first object
            repaired = next((item for item in repaired if isinstance(item, dict)), repaired)
        if repaired in ("", None) or not isinstance(repaired, dict):
            raise StructuredOutputError(INVALID_JSON, f"invalid JSON: {strict_error}") from strict_error
        return repaired, [f"repaired invalid JSON with json-repair ({strict_error.msg} at char {strict_error.pos})"]


# ---------------------------------------------------------------------------------------- shaping


def _norm(key: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(key).strip()).lower()


def _field_kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    """('str' | 'list_str' | 'literal' | 'other', literal values) for the coercions we dare to make."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        non_none = [arg for arg in args if arg is not type(None)]
        if len(non_none) == 1:
            return _field_kind(non_none[0])
        return "other", ()
    if origin is typing.Annotated:
        return _field_kind(args[0])
    if annotation is str:
        return "str", ()
    if origin is Literal and all(isinstance(arg, str) for arg in args):
        return "literal", tuple(args)
    if origin is list and args and (args[0] is str or typing.get_origin(args[0]) is typing.Annotated and typing.get_args(args[0])[0] is str):
        return "list_str", ()
    return "other", ()


def _unwrap(obj: dict[str, Any], names: set[str], schema_name: str) -> tuple[dict[str, Any], list[str]]:
    """{"EstimandCard": {...}} / {"properties": {...}} → the inner object, when it matches the schema better."""
    if len(obj) == 1:
        (key, inner), = obj.items()
        if isinstance(inner, dict) and _norm(key) not in names:
            outer_hits = len({_norm(k) for k in obj} & names)
            inner_hits = len({_norm(k) for k in inner} & names)
            if inner_hits > outer_hits:
                return inner, [f"unwrapped the object from wrapper key '{key}'"]
    return obj, []


def shape(
    obj: dict[str, Any],
    schema: type[BaseModel],
    aliases: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Aliases, simple coercions, defaults and unknown-key removal, each recorded as a note."""
    fields = schema.model_fields
    names = set(fields)
    obj, notes = _unwrap(obj, names, schema.__name__)
    alias_map = {_norm(alias): target for alias, target in (aliases or {}).items()}
    result: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in obj.items():
        normalised = _norm(key)
        if key in names:
            target = key
        elif normalised in names:
            target = normalised
            notes.append(f"normalised field name '{key}' -> '{target}'")
        elif normalised in alias_map and alias_map[normalised] in names:
            target = alias_map[normalised]
            if target in obj or target in result:
                dropped.append(key)
                continue
            notes.append(f"mapped field alias '{key}' -> '{target}'")
        else:
            dropped.append(key)
            continue
        if target in result:
            dropped.append(key)
            continue
        result[target] = value
    if dropped:
        notes.append(f"dropped unknown field(s): {', '.join(map(str, dropped))}")
    for name, info in fields.items():
        if name not in result:
            if defaults and name in defaults:
                result[name] = defaults[name]
                notes.append(f"filled missing '{name}' with the task default {defaults[name]!r}")
            continue
        kind, literals = _field_kind(info.annotation)
        value = result[name]
        if kind == "list_str":
            if isinstance(value, str):
                result[name] = [value] if value.strip() else []
                notes.append(f"wrapped string '{name}' in a list")
            elif value is None:
                result[name] = []
                notes.append(f"replaced null '{name}' with an empty list")
            elif isinstance(value, list) and any(isinstance(item, int | float | bool) for item in value):
                result[name] = [str(item) if isinstance(item, int | float | bool) else item for item in value]
                notes.append(f"converted numbers in '{name}' to strings")
        elif kind == "str":
            if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
                result[name] = "; ".join(str(item) for item in value)
                notes.append(f"joined list '{name}' into one string")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                result[name] = str(value)
                notes.append(f"converted number '{name}' to a string")
        elif kind == "literal" and isinstance(value, str) and value not in literals:
            match = next((option for option in literals if option.lower() == value.strip().lower()), None)
            if match is not None:
                result[name] = match
                notes.append(f"normalised '{name}' value '{value}' -> '{match}'")
    return result, notes


def validation_failure(error: ValidationError) -> tuple[str, str]:
    """N09 class for a pydantic error: any missing field → missing_required_field, else wrong type/schema."""
    problems = error.errors()
    kind = MISSING if any(problem.get("type") == "missing" for problem in problems) else WRONG_TYPE
    summary = "; ".join(
        f"{'.'.join(str(part) for part in problem.get('loc', ())) or '(root)'}: {problem.get('msg')}"
        for problem in problems[:6]
    )
    label = "field required" if kind == MISSING else "validation error"
    return kind, f"{label}: {summary}"


def parse_structured(
    raw: str | None,
    schema: type[BaseModel],
    aliases: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    truncated: bool = False,
) -> ParseOutcome:
    """Parse ``raw`` into ``schema``; never raises — a failure comes back classified."""
    notes: list[str] = []
    text = clean_text(raw)
    if not text:
        return ParseOutcome(None, failure_type=EMPTY, error="empty model output")
    try:
        unfenced, fenced = strip_code_fences(text)
        if fenced:
            notes.append("stripped markdown code fences")
        candidate, closed = first_json_object(unfenced)
        if not candidate and not truncated:
            raise StructuredOutputError(INVALID_JSON, "invalid JSON: no JSON object ('{') in the output")
        if truncated and (not candidate or not closed):
            # Never json-repair a cut-off answer into a "valid" artifact: the closing fields are invented.
            raise StructuredOutputError(
                TRUNCATED, "truncated output: generation stopped at max_new_tokens before the JSON object closed"
            )
        if unfenced[: unfenced.find("{")].strip() or unfenced[unfenced.find("{") + len(candidate):].strip():
            notes.append("took the first JSON object out of surrounding text")
        if not closed:
            notes.append("the JSON object was never closed")
        obj, repair_notes = load_json(candidate)
        notes += repair_notes
        if not isinstance(obj, dict):
            raise StructuredOutputError(WRONG_TYPE, f"validation error: expected a JSON object, got {type(obj).__name__}")
        shaped, shape_notes = shape(obj, schema, aliases, defaults)
        notes += shape_notes
        try:
            model = schema.model_validate(shaped)
        except ValidationError as error:
            kind, message = validation_failure(error)
            raise StructuredOutputError(kind, message) from error
    except StructuredOutputError as error:
        return ParseOutcome(None, notes=notes, failure_type=error.kind, error=str(error))
    except Exception as error:  # a parser bug must not break the page: classify and move on
        return ParseOutcome(None, notes=notes, failure_type=OTHER, error=f"{type(error).__name__}: {error}")
    parsed = model.model_dump(mode="json")
    return ParseOutcome(parsed, json.dumps(parsed, ensure_ascii=False), notes)


def classify_failure(error: BaseException | str) -> str:
    """N09 §15's classifier for an arbitrary error (kept for callers that only have an exception)."""
    if isinstance(error, StructuredOutputError):
        return error.kind
    if isinstance(error, ValidationError):
        return validation_failure(error)[0]
    text = repr(error).lower()
    if "empty model output" in text:
        return EMPTY
    if "field required" in text or "missing" in text:
        return MISSING
    if "input should be" in text or "validation error" in text:
        return WRONG_TYPE
    if "invalid json" in text or "expecting value" in text or "eof" in text or "jsondecodeerror" in text or "truncated" in text:
        return INVALID_JSON
    return OTHER
