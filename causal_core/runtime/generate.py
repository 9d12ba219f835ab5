"""``run_task``: one structured artifact from one model, returned as a fully filled AIInteraction.

Flow (N09 §12–§15): build the prompt → (local: wait in the device queue, see runtime.queue) → generate (local: under the schema's JSON grammar; endpoint: with
its json_schema response_format) → parse/repair → if still invalid, one model retry with the task's
repair prompt → classify. It never raises for a model or parse failure; the interaction records what
happened (failure_type from structured.FAILURE_TYPES, zero credit downstream).
"""

from __future__ import annotations

import contextlib
import logging
import platform
import time
import uuid
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib import metadata
from typing import Any

from causal_core.ai import structured
from causal_core.ai.structured import DecodingSettings, StructuredTask
from causal_core.project import AIInteraction, utc_now
from causal_core.runtime import devices, endpoint, grammar, parsing, registry, sessions, stopping
from causal_core.runtime import queue as request_queue
from causal_core.runtime.queue import DraftProgress
from causal_core.runtime.types import GenerationOutput, ModelUnavailable

logger = logging.getLogger(__name__)
PACKAGES = ("torch", "transformers", "xgrammar", "json_repair", "pydantic", "huggingface_hub", "accelerate", "gguf")
MODEL_ERROR = "model_error"
REPAIR_SEPARATOR = "\n\n[repair retry]\n"


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = "not installed"
    return versions


class _SafeFormat(dict):
    """str.format_map helper: a template placeholder the runtime does not know stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def repair_prompt(task: StructuredTask, error_message: str, raw_output: str) -> str:
    return task.repair_prompt_template.format_map(_SafeFormat(
        schema_name=task.schema.__name__,
        error_message=parsing.clean_text(error_message)[:1200],
        raw_output=parsing.clean_text(raw_output)[:7000],
    ))


class _Backend:
    """Local session or endpoint behind one ``call(messages, schema, on_text, should_stop)``.

    A local backend must be inside ``reserved()`` (its place at the head of the device queue) to call.
    """

    def __init__(self, model_key: str, load_options: dict[str, Any]) -> None:
        self.model_key = model_key
        self.source = registry.key_source(model_key)
        self.session: sessions.Session | None = None
        self.ticket: request_queue.Ticket | None = None
        self.on_progress: Callable[[DraftProgress], None] | None = None
        self.attempt = 0
        if self.source == "endpoint":
            self.endpoint_model, self.base_url = registry.parse_endpoint_key(model_key)
            self.name, self.device, self.dtype, self.quantisation = "openai_endpoint", "remote", "", ""
        else:
            self.session = sessions.session_for(model_key, **load_options)
            self.name = "transformers"
            self.device, self.dtype, self.quantisation = self.session.plan.session_fields

    @contextlib.contextmanager
    def reserved(self, settings: DecodingSettings, owner: str, should_stop: Callable[[], bool] | None,
                 on_progress: Callable[[DraftProgress], None] | None) -> Iterator[None]:
        """Wait for this request's turn on the device (local only) and hold it for the first call and the retry.

        Raises QueueTimeout / QueueCancelled / SessionClosed from the wait, ModelUnavailable if the session
        was unloaded between being found and this request's turn.
        """
        self.on_progress = on_progress
        session = self.session
        if session is None:
            yield
            return
        ticket = request_queue.Ticket(self.model_key, owner=owner, session_id=id(session),
                                      expected_tokens=settings.max_new_tokens)

        def waiting(status: request_queue.QueueStatus) -> None:
            if on_progress is not None:
                on_progress(DraftProgress("queued", self.model_key, status.position, status.eta_s, status.waited_s,
                                          status.running_owner, max_new_tokens=settings.max_new_tokens))

        with request_queue.slot(session.queue, ticket, should_stop=should_stop, on_wait=waiting):
            if not session.enter():
                raise ModelUnavailable("unloaded", f"{self.model_key} was unloaded while this call waited")
            self.ticket = ticket
            try:
                yield
            finally:
                self.ticket = None
                session.leave()

    def call(self, messages: list[dict[str, str]], settings: DecodingSettings, schema: dict | None,
             schema_name: str, on_text: Callable[[str], None] | None,
             should_stop: Callable[[], bool] | None) -> GenerationOutput:
        self.attempt += 1
        if self.session is None:
            return endpoint.chat(self.base_url, self.endpoint_model, messages, settings, schema, schema_name,
                                 on_text, should_stop)
        from causal_core.runtime import local_hf

        session, ticket, attempt = self.session, self.ticket, self.attempt
        if ticket is None:
            raise RuntimeError("a local call must hold its place in the device queue (Backend.reserved)")
        limit = stopping.time_limit_s(session.device)
        done_before = ticket.tokens_done

        def on_token(tokens: int, elapsed: float) -> None:
            ticket.tokens_done = done_before + tokens
            if self.on_progress is not None:
                speed = tokens / elapsed if elapsed > 0 else 0.0
                left = (settings.max_new_tokens - tokens) / speed if speed > 0 else None
                self.on_progress(DraftProgress("generating", self.model_key, tokens=tokens,
                                               max_new_tokens=settings.max_new_tokens, tokens_per_s=speed,
                                               eta_s=left, elapsed_s=elapsed, time_limit_s=limit, attempt=attempt))

        sampling = settings.temperature > 0
        with sessions.SAMPLING_LOCK if sampling else contextlib.nullcontext():
            output = local_hf.generate(session, messages, settings, schema, on_text, should_stop, on_token, limit)
        ticket.tokens_done = done_before + output.new_tokens
        session.generations += 1
        if output.seconds > 0 and output.new_tokens > 0:  # the next draft's expected duration comes from this
            session.tokens_per_s = output.new_tokens / output.seconds
        return output


LOGGED_TEXT_FIELDS = ("raw_output", "repair_raw_output")
PROMPT_CHARS = 200_000  # a prompt is built from bounded project fields; this only guards the project file
ERROR_CHARS = 2_000


def clipped_record(record: dict[str, Any]) -> dict[str, Any]:
    """The AI-log record with raw model text clipped (head and tail kept, the length noted).

    The parser saw the full text; the project file only keeps what it can reopen (a string over
    1,000,000 characters makes the saved project unreadable).
    """
    clipped = dict(record)
    notes = list(clipped.get("parser_notes") or [])
    for name in LOGGED_TEXT_FIELDS:
        text = clipped.get(name) or ""
        if len(text) > parsing.LOG_TEXT_CHARS:
            clipped[name] = parsing.clip_for_log(text)
            notes.append(f"{name} clipped for the log: the model wrote {len(text):,} characters "
                         f"(first {parsing.LOG_TEXT_CHARS - parsing.LOG_TAIL_CHARS:,} and last "
                         f"{parsing.LOG_TAIL_CHARS:,} kept)")
    for name, limit in (("user_prompt", PROMPT_CHARS), ("system_prompt", PROMPT_CHARS), ("error", ERROR_CHARS)):
        if len(clipped.get(name) or "") > limit:
            clipped[name] = parsing.clip_for_log(clipped[name], limit, min(limit // 4, parsing.LOG_TAIL_CHARS))
    clipped["parser_notes"] = notes
    return clipped


def _early_stop_failure(output: GenerationOutput, settings: DecodingSettings) -> tuple[str, str] | None:
    """(failure_type, error) for a run cut short by Stop, the time limit or a repetition loop; else None."""
    if output.cancelled or output.stop_reason == "stopped":
        return "stopped", f"cancelled by the analyst after {output.new_tokens} tokens"
    if output.stop_reason == "timeout":
        return "timeout", (f"stopped at the time limit after {output.new_tokens} tokens in {output.seconds:.0f} s; "
                           f"raise 'Time limit for this draft' (its default is {stopping.TIME_LIMIT_ENV}) or lower "
                           "max_new_tokens "
                           f"({settings.max_new_tokens})")
    if output.stop_reason == "repetition":
        return "repetition", (f"stopped after {output.new_tokens} of {settings.max_new_tokens} tokens: the model was "
                              "repeating itself (a loop). Try another model, a higher temperature or a "
                              "repetition penalty.")
    return None


def run_task(
    task: StructuredTask,
    inputs: dict[str, Any],
    model_key: str,
    settings: DecodingSettings | None = None,
    on_text: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    load_options: dict[str, Any] | None = None,
    on_progress: Callable[[DraftProgress], None] | None = None,
    owner: str = "",
) -> AIInteraction:
    """Run a structured task on a model; always returns an AIInteraction (see module docstring).

    ``on_progress`` gets a DraftProgress while queued (position, estimated wait) and after every token
    (count, tokens/s, ETA); ``owner`` names this request to others in the queue and to a refused unload.
    """
    settings = settings or DecodingSettings()
    started_at, clock = utc_now(), time.perf_counter()
    record: dict[str, Any] = {
        "id": uuid.uuid4().hex[:12],
        "task": task.name,
        "system_prompt": task.system_prompt,
        "model_id": model_key,
        "decoding": settings.model_dump(),
        "seed": settings.seed,
        "started_at": started_at,
        "package_versions": package_versions(),
    }

    def finish(**fields: Any) -> AIInteraction:
        record.update(fields)
        record["duration_s"] = round(time.perf_counter() - clock, 3)
        return AIInteraction(**clipped_record(record))

    try:
        record["user_prompt"] = task.build_user_prompt(inputs)
    except Exception as error:  # noqa: BLE001 - a bad input for the prompt is a recorded failure, not a crash
        return finish(repair_stage="failed", failure_type="other_structured_output_error",
                      error=f"could not build the prompt from the inputs: {type(error).__name__}: {error}")
    try:
        backend = _Backend(model_key, dict(load_options or {}))
    except (ModelUnavailable, devices.LoadPlanError, ValueError) as error:
        return finish(repair_stage="failed", failure_type=MODEL_ERROR, error=str(error),
                      backend="openai_endpoint" if registry.key_source(model_key) == "endpoint" else "transformers")
    record |= {"backend": backend.name, "device": backend.device, "dtype": backend.dtype,
               "quantisation": backend.quantisation}
    schema = None
    context = structured.context_from_inputs(task, inputs)
    if settings.constrained:  # built per project: column fields are enums of this dataset's columns
        project_schema = structured.schema_for(task, context.columns, context.estimate_rows)
        schema, bound_notes = grammar.grammar_schema(project_schema)
        if bound_notes:
            logger.warning("task %s schema is not fully bounded; grammar adds: %s", task.name, "; ".join(bound_notes))
    messages = [{"role": "system", "content": task.system_prompt}, {"role": "user", "content": record["user_prompt"]}]
    outputs: list[GenerationOutput] = []

    def call(prompt_messages: list[dict[str, str]]) -> GenerationOutput:
        output = backend.call(prompt_messages, settings, schema, task.schema.__name__, on_text, should_stop)
        outputs.append(output)
        return output

    def totals() -> dict[str, Any]:
        tokens = sum(output.new_tokens for output in outputs)
        seconds = sum(output.seconds for output in outputs)
        used = next((output.decoding for output in outputs if output.decoding), None)
        if used:  # what generate() actually used, next to what the sidebar asked for
            record["decoding"] = {**settings.model_dump(), "used": used}
        return {"new_tokens": tokens, "tokens_per_s": round(tokens / seconds, 2) if seconds > 0 else 0.0,
                "truncated": any(output.truncated for output in outputs)}

    try:
        with backend.reserved(settings, owner or task.name, should_stop, on_progress):
            return _generate_and_parse(task, settings, schema, messages, call, totals, record, finish, on_text,
                                       context)
    except request_queue.QueueTimeout as error:
        return finish(repair_stage="failed", failure_type="timeout", error=str(error), **totals())
    except request_queue.QueueCancelled as error:
        return finish(repair_stage="failed", failure_type="stopped", error=str(error), **totals())
    except request_queue.SessionClosed as error:
        return finish(repair_stage="failed", failure_type=MODEL_ERROR, error=str(error), **totals())
    except (ModelUnavailable, endpoint.EndpointHTTPError) as error:
        return finish(repair_stage="failed", failure_type=MODEL_ERROR, error=str(error), **totals())
    except Exception as error:  # noqa: BLE001 - e.g. CUDA OOM mid-generation: recorded, page keeps running
        return finish(repair_stage="failed", failure_type=MODEL_ERROR, error=f"{type(error).__name__}: {error}"[:600],
                      **totals())


def _generate_and_parse(task: StructuredTask, settings: DecodingSettings, schema: dict | None,
                        messages: list[dict[str, str]], call: Callable[[list[dict[str, str]]], GenerationOutput],
                        totals: Callable[[], dict[str, Any]], record: dict[str, Any],
                        finish: Callable[..., AIInteraction], on_text: Callable[[str], None] | None,
                        context: structured.SchemaContext | None = None) -> AIInteraction:
    """First call → parse → (one repair retry) → classify; model errors of the first call propagate."""
    context = context or structured.SchemaContext()
    first = call(messages)
    record["raw_output"] = first.text
    notes = [f"generation: {note}" for note in first.notes]
    early = _early_stop_failure(first, settings)
    if early is not None:  # a cut-short output is never completed by json-repair and scored as valid
        return finish(parser_notes=notes, repair_stage="failed", failure_type=early[0], error=early[1], **totals())
    outcome = parsing.parse_structured(first.text, task.schema, task.field_aliases, task.defaults, first.truncated,
                                       task.refused_keys)
    outcome = strict_columns(task, outcome, context)
    if not first.constrained:
        notes.append(FREE_TEXT_NOTE)
    if outcome.ok:
        return finish(parsed=outcome.parsed, parser_notes=notes + outcome.notes, schema_valid=True,
                      repair_stage="parser" if outcome.notes else "none", **totals())
    if first.truncated:
        notes.append(f"first output stopped at max_new_tokens={settings.max_new_tokens}")
    if not settings.repair_retry:
        return finish(parser_notes=notes + outcome.notes, repair_stage="failed",
                      failure_type=_failure_type(outcome.failure_type, first), error=outcome.error, **totals())
    if on_text is not None:
        on_text(REPAIR_SEPARATOR)
    retry_messages = [{"role": "system", "content": task.system_prompt},
                      {"role": "user", "content": repair_prompt(task, outcome.error, first.text)}]
    try:
        second = call(retry_messages)
    except Exception as error:  # noqa: BLE001
        return finish(parser_notes=notes + outcome.notes, repair_stage="failed", failure_type=outcome.failure_type,
                      error=f"{outcome.error}; repair retry failed: {type(error).__name__}: {error}"[:800], **totals())
    record["repair_raw_output"] = second.text
    early = _early_stop_failure(second, settings)
    if early is not None:
        return finish(parser_notes=notes + [f"first_parse_error: {outcome.failure_type}"], repair_stage="failed",
                      failure_type=early[0], error=f"repair retry: {early[1]} (first attempt: {outcome.error})"[:1200],
                      **totals())
    retry = parsing.parse_structured(second.text, task.schema, task.field_aliases, task.defaults, second.truncated,
                                     task.refused_keys)
    retry = strict_columns(task, retry, context)
    notes.append(f"first_parse_error: {outcome.failure_type}")
    if retry.ok:
        return finish(parsed=retry.parsed, parser_notes=notes + retry.notes, schema_valid=True,
                      repair_stage="model_retry", error=f"first attempt: {outcome.error}", **totals())
    return finish(parser_notes=notes + retry.notes, repair_stage="failed",
                  failure_type=_failure_type(retry.failure_type, second),
                  error=f"{retry.error} (first attempt: {outcome.error})"[:1200], **totals())


FREE_TEXT_NOTE = "free text: scored strictly (the model was not held to the per-project schema)"


def strict_columns(task: StructuredTask, outcome: parsing.ParseOutcome,
                   context: structured.SchemaContext) -> parsing.ParseOutcome:
    """Note every place a parsed artifact breaks the per-project schema (a non-column, an unknown row).

    Under the grammar or an endpoint's json_schema this cannot happen. A free-text answer (or a server that
    ignored the schema) is not refused here: the notes name each problem and the rubric scores the draft
    strictly; refusing it outright would also refuse the worked example's prose card.
    """
    if not outcome.ok:
        return outcome
    problems = structured.column_problems(task, outcome.parsed, context)
    if problems:
        outcome.notes.append("outside the per-project schema (scored strictly): " + "; ".join(problems[:6])
                             + (f" (+{len(problems) - 6} more)" if len(problems) > 6 else ""))
    return outcome


def _failure_type(parse_failure: str, output: GenerationOutput) -> str:
    """A run that used every max_new_tokens without valid JSON is "truncated", whatever the parser saw."""
    return "truncated" if output.truncated else parse_failure
