"""Turn a model's raw text into a schema-valid dict, or an honest failure class (N09 §12, §15).

Pipeline: clean special tokens / think blocks / control, zero-width and bidi characters → strip code
fences → try every ``{`` as the start of the answer (a brace in the prose before the JSON must not lose a
valid answer) → ``json.loads``, else json-repair on an object that *closed* → unwrap a single wrapper key
→ refuse keys whose renaming would change a claim (``confounders`` is not ``variables_to_audit``) → map
harmless field aliases → coerce the obvious shape slips (a string where a list of strings belongs, a list
where a string belongs, "Medium" for "medium") → fill task defaults → drop unknown keys → pydantic
validation. Every change is a parser note, so the audit trail shows how much cleanup an answer needed.

An object that never closes is ``truncated`` whatever the server's finish_reason: json-repair would
invent its closing fields (a DAG once lost its treatment → outcome edge that way and scored full marks).
Raw model text is clipped where it is logged (:func:`clip_for_log`), so no answer can make a project
file too large to reopen.
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
TRUNCATED = "truncated"  # an object that never closed, or finish_reason == "length" (structured.FAILURE_TYPES)

# How much raw model text one AI-log or lab record keeps: the head and the tail, with the original length.
LOG_TEXT_CHARS = 20_000
LOG_TAIL_CHARS = 5_000
# A valid artifact is bounded by its schema (a few thousand characters); the brace matcher never looks
# further than this from one start, and never tries more starts than MAX_STARTS, so a 1.4 M-character
# answer full of braces is parsed in well under a second.
MAX_OBJECT_CHARS = 200_000
MAX_STARTS = 64
MAX_DEPTH = 32  # the task schemas nest at most 4 levels
# A '{' that opens what looks like a JSON object ('{"key"', "{'key'", '{}' or a '{' at the very end), not prose.
_JSON_LOOKING_START = re.compile(r"""\{\s*(["'}]|[A-Za-z_][A-Za-z0-9_]*\s*:|$)""")
# Zero-width, bidi-control and other invisible format characters: they reorder or hide text in the memo.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb]")

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


def strip_invisible(text: str) -> str:
    """Control (C0 except tab/newline, C1), zero-width and bidi-control characters removed; U+2028/9 → newline.

    Model text reaches the memo, Markdown and exports: a right-to-left override or a zero-width joiner
    would make the shown text differ from what the rubric read.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _INVISIBLE.sub("", text)
    return "".join(char for char in text if char in "\n\t" or (ord(char) >= 32 and not 0x7F <= ord(char) <= 0x9F))


def clean_text(raw: str | None) -> str:
    """Drop chat special tokens, <think> blocks and control, zero-width and bidi characters; trim."""
    text = raw or ""
    text = _THINK.sub("", text)
    text = _SPECIAL_TOKEN.sub("", text)
    return strip_invisible(text).strip()


def clean_values(value: Any) -> Any:
    """The same cleaning inside a parsed JSON value: a ``\\u202e`` escape survives ``clean_text`` of the raw text."""
    if isinstance(value, str):
        return strip_invisible(value)
    if isinstance(value, list):
        return [clean_values(item) for item in value]
    if isinstance(value, dict):
        return {clean_values(key) if isinstance(key, str) else key: clean_values(item) for key, item in value.items()}
    return value


def clip_for_log(text: str | None, limit: int = LOG_TEXT_CHARS, tail: int = LOG_TAIL_CHARS) -> str:
    """``text`` if it fits, else its head and tail around a marker giving the original length.

    A project file refuses any string over 1,000,000 characters, so a 1.4 M-character answer stored
    verbatim made the saved project impossible to reopen. The head shows how the answer started (the
    JSON), the tail how it ended (a loop, a cut).
    """
    text = text or ""
    if len(text) <= limit:
        return text
    marker = f"\n[… clipped for the log: the model wrote {len(text):,} characters; first {limit - tail:,} and last {tail:,} kept …]\n"
    return text[: limit - tail] + marker + text[-tail:]


def strip_code_fences(text: str) -> tuple[str, bool]:
    """The inside of the first fenced block holding a '{', else the text unchanged."""
    for match in _FENCE.finditer(text):
        inner = match.group(1)
        if "{" in inner:
            return inner.strip(), True
    return text, False


_STRUCTURAL = re.compile(r"""[{}"'\\]""")


def _match_object(text: str, start: int) -> int:
    """Index one past the '}' closing the '{' at ``start`` (braces inside strings ignored), or -1.

    Only the structural characters are visited (a regex skips the rest), and never more than
    MAX_OBJECT_CHARS, so one call is cheap even on a huge answer.
    """
    window = text[start:start + MAX_OBJECT_CHARS]
    depth, in_string, quote, escaped_at = 0, False, "", -1
    double_quote_seen = False
    for match in _STRUCTURAL.finditer(window):
        char, index = match.group(), match.start()
        if in_string:
            if index == escaped_at:  # the character right after a backslash (an escaped quote or backslash)
                continue
            if char == "\\":
                escaped_at = index + 1
            elif char == quote:
                in_string = False
            double_quote_seen = double_quote_seen or char == '"'
            continue
        if char == '"' or (char == "'" and not double_quote_seen):
            # single quotes delimit strings only in a Python-dict style object (no double quotes before them)
            double_quote_seen = double_quote_seen or char == '"'
            in_string, quote = True, char
        elif char == "{":
            depth += 1
            if depth > MAX_DEPTH:  # no artifact nests this deep: a brace flood, not an answer
                return -1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return start + index + 1
    return -1


@dataclass
class _Candidate:
    start: int
    end: int  # -1: never closed
    value: Any = None  # the strictly decoded dict, when json.loads accepted the span

    @property
    def closed(self) -> bool:
        return self.end >= 0


def json_candidates(text: str) -> list[_Candidate]:
    """Every '{' (up to MAX_STARTS) as a possible start of the answer, in order.

    ``json.JSONDecoder.raw_decode`` (C speed) decides whether a span is strict JSON; otherwise the
    string-aware brace matcher decides whether it closes (then json-repair may fix quotes or commas).
    '{' inside a strictly decoded object are not tried again: its inner objects are not answers.
    """
    decoder = json.JSONDecoder()
    candidates: list[_Candidate] = []
    covered_until = -1
    for match in re.finditer(r"\{", text):
        start = match.start()
        if start < covered_until:
            continue
        if len(candidates) >= MAX_STARTS:
            break
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            value, end = None, _match_object(text, start)
        if isinstance(value, dict):
            candidates.append(_Candidate(start, end, value))
            covered_until = end
        else:
            candidates.append(_Candidate(start, end if value is None else _match_object(text, start)))
    return candidates


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
    refused: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Aliases, simple coercions, defaults and unknown-key removal, each recorded as a note.

    A key in ``refused`` (normalised name → why) raises StructuredOutputError naming it: renaming
    ``confounders`` to ``variables_to_audit`` would change what the draft claims, not just its spelling.
    """
    fields = schema.model_fields
    names = set(fields)
    obj, notes = _unwrap(obj, names, schema.__name__)
    refused_map = {_norm(key): why for key, why in (refused or {}).items()}
    for key in obj:
        if _norm(key) in refused_map and _norm(key) not in names:
            raise StructuredOutputError(
                WRONG_TYPE, f"validation error: key '{key}' is not a field of {schema.__name__} and is not renamed: "
                            f"{refused_map[_norm(key)]}")
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
    refused: Mapping[str, str] | None = None,
) -> ParseOutcome:
    """Parse ``raw`` into ``schema``; never raises — a failure comes back classified.

    Every '{' is tried as the start of the answer; the first that validates wins. Nothing that never
    closed is ever repaired: when no closed object validates and an object-looking '{' never closes (or
    a valid one sits inside an object that never closes), the answer is ``truncated`` whatever the
    finish_reason said (``truncated=True`` only words the message after max_new_tokens).
    """
    text = clean_text(raw)
    if not text:
        return ParseOutcome(None, failure_type=EMPTY, error="empty model output")
    refused = {**getattr(schema, "REFUSED_KEYS", {}), **(refused or {})}  # a schema lists its own (ClassVar)
    notes: list[str] = []
    try:
        unfenced, fenced = strip_code_fences(text)
        if fenced:
            notes.append("stripped markdown code fences")
        return _parse_candidates(unfenced, schema, aliases, defaults, refused, truncated, notes)
    except StructuredOutputError as error:
        return ParseOutcome(None, notes=notes, failure_type=error.kind, error=str(error))
    except Exception as error:  # a parser bug must not break the page: classify and move on
        return ParseOutcome(None, notes=notes, failure_type=OTHER, error=f"{type(error).__name__}: {error}")


def _truncation_error(at_length: bool) -> StructuredOutputError:
    why = ("generation stopped at max_new_tokens before the JSON object closed" if at_length
           else "the JSON object never closed (the answer was cut off, whatever the server's finish_reason)")
    return StructuredOutputError(TRUNCATED, f"truncated output: {why}; it is not completed by json-repair")


def _open_json_starts(text: str, candidates: list[_Candidate]) -> list[int]:
    """Starts of object-looking '{' that never close (prose such as "use { here" does not count)."""
    return [c.start for c in candidates if not c.closed and _JSON_LOOKING_START.match(text, c.start)]


def _validate(candidate: _Candidate, text: str, schema: type[BaseModel], aliases: Mapping[str, str] | None,
              defaults: Mapping[str, Any] | None, refused: Mapping[str, str] | None) -> tuple[dict[str, Any], list[str]]:
    """One closed candidate → (validated dict, notes); raises StructuredOutputError."""
    notes: list[str] = []
    obj = candidate.value
    if obj is None:
        obj, notes = load_json(text[candidate.start:candidate.end])
    if not isinstance(obj, dict):
        raise StructuredOutputError(WRONG_TYPE, f"validation error: expected a JSON object, got {type(obj).__name__}")
    shaped, shape_notes = shape(clean_values(obj), schema, aliases, defaults, refused)
    try:
        model = schema.model_validate(shaped)
    except ValidationError as error:
        kind, message = validation_failure(error)
        raise StructuredOutputError(kind, message) from error
    return model.model_dump(mode="json"), notes + shape_notes


def _strict_first(closed: list[_Candidate]) -> list[_Candidate]:
    """Strictly decoded objects before the ones json-repair must fix, each group in text order.

    A repaired span is a guess: around a valid object (``{{ ... }}``, a stray brace in prose) json-repair
    can re-split the quotes and change a value (an estimand written ``"[`` came back as ``"["``), so an
    exact object inside it is the better answer; repair is the fallback when nothing strict validates.
    """
    return [c for c in closed if c.value is not None] + [c for c in closed if c.value is None]


def _parse_candidates(text: str, schema: type[BaseModel], aliases: Mapping[str, str] | None,
                      defaults: Mapping[str, Any] | None, refused: Mapping[str, str] | None, at_length: bool,
                      notes: list[str]) -> ParseOutcome:
    candidates = json_candidates(text)
    open_starts = _open_json_starts(text, candidates)
    closed = [c for c in candidates if c.closed]
    if not closed:
        if open_starts or (at_length and candidates):
            raise _truncation_error(at_length)
        raise StructuredOutputError(INVALID_JSON, "invalid JSON: no JSON object ('{') in the output")
    failures: list[tuple[int, StructuredOutputError]] = []
    for candidate in _strict_first(closed):
        index = sum(other.start < candidate.start for other in closed)
        try:
            parsed, candidate_notes = _validate(candidate, text, schema, aliases, defaults, refused)
        except StructuredOutputError as error:
            failures.append((candidate.end - candidate.start, error))
            continue
        if any(start < candidate.start for start in open_starts):
            raise _truncation_error(at_length)  # a complete inner object of an answer that never closed
        if text[:candidate.start].strip() or text[candidate.end:].strip():
            notes.append("took the first JSON object out of surrounding text" if index == 0 else
                         f"took the JSON object at character {candidate.start} out of surrounding text "
                         f"(the {index} earlier '{{' did not start a valid answer, or needed repair)")
        notes += candidate_notes
        return ParseOutcome(parsed, json.dumps(parsed, ensure_ascii=False), notes)
    if open_starts:
        raise _truncation_error(at_length)
    raise max(failures, key=lambda item: item[0])[1]  # the longest object is the most likely answer


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
