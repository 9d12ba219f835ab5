"""Drafting an artifact with the sidebar's model: queue position, live progress, the raw text, the AI log.

Progress: while the request waits for the model (``runtime.queue``) its status line shows the position
and the estimated wait; while it generates, tokens so far against max_new_tokens, tokens/s and an ETA.
Each status update is a Streamlit call, and Streamlit interrupts a script at such calls when the user
presses Stop, changes a widget, or closes the tab (StopException / RerunException): the request then
leaves the queue (or generation stops at the next token), the attempt is logged as "stopped" in the
project's AI log, and its outcome is kept so the page can show it again after the rerun
(:func:`render_last_outcome`).

Time limit: next to each draft button the analyst picks how long this draft may run (:func:`render_time_limit`,
10 s .. 30 min; ``CW_DRAFT_TIME_LIMIT_S`` is the default, and in class mode the ceiling). The choice is kept
per artifact in the session and applied around the run (``stopping.chosen_time_limit``), so the expectation
line, the live progress line's "(limit …)" and the stop itself all use the same number.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

import streamlit as st

from causal_core import runtime
from causal_core.ai.structured import DecodingSettings, StructuredTask
from causal_core.project import AIInteraction
from causal_core.runtime import endpoint_policy, honesty, registry, sessions, stopping
from causal_core.runtime import generate as _generate
from causal_core.runtime.queue import DraftProgress
from causal_core.safe_text import code_span, escape_markdown
from causal_core.ui import state
from causal_core.ui.model_loading import load_model

MODEL_KEY = "cw_model_key"  # set by the sidebar model picker; "bundled" by default
DECODING_KEY = "cw_decoding"  # dict of DecodingSettings fields, set by the sidebar
OUTCOMES_KEY = "cw_draft_outcomes"  # artifact -> {"label", "state", "error"}: the last draft's outcome
UPDATE_EVERY_S = 0.4  # status line refresh (also how quickly a closed tab is noticed while queued)
LIMITS_KEY = "cw_draft_time_limits"  # artifact -> seconds the analyst chose (kept when the widget is not drawn)
LIMIT_CHOICES_S = (10, 20, 30, 45, 60, 90, 120, 180, 300, 450, 600, 900, 1200, 1800)

__all__ = ["DECODING_KEY", "LIMITS_KEY", "LIMIT_CHOICES_S", "MODEL_KEY", "OUTCOMES_KEY", "browser_session_label",
           "capped_progress", "chosen_limit", "clear_failed_outcome", "current_model_key", "current_settings",
           "draft_artifact", "draft_expectation", "last_outcome", "limit_options", "render_draft_notice",
           "render_last_outcome", "render_time_limit"]


def current_model_key() -> str:
    return st.session_state.get(MODEL_KEY, "bundled")


def current_settings() -> DecodingSettings:
    return DecodingSettings(**st.session_state.get(DECODING_KEY, {}))


def _needs_loading(model_key: str) -> bool:
    """A local model not loaded yet, with the real runtime in place (tests that patch run_task never load)."""
    return (
        runtime.run_task is _generate.run_task
        and registry.key_source(model_key) != "endpoint"
        and sessions.find_session(model_key) is None
    )


def browser_session_label() -> str:
    """A short id of this browser session, shown to other users waiting for the same model."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx(suppress_warning=True)
        return f"browser session {ctx.session_id[:6]}" if ctx is not None else "a script"
    except Exception:  # noqa: BLE001 - only a label
        return "a browser session"


def _remember(artifact: str, label: str, outcome: str, error: str = "") -> None:
    outcomes = dict(st.session_state.get(OUTCOMES_KEY) or {})
    outcomes[artifact] = {"label": label, "state": outcome, "error": error, "time": time.strftime("%H:%M:%S")}
    st.session_state[OUTCOMES_KEY] = outcomes


def clear_failed_outcome(artifact: str) -> bool:
    """Forget a failed or stopped draft's message once the analyst has moved on with a successful action on the
    same artifact (a layout, an undo, an import): the error belongs to the draft, not to the graph now shown.
    A successful draft's outcome stays. Returns whether a message was cleared."""
    outcomes = dict(st.session_state.get(OUTCOMES_KEY) or {})
    if (outcomes.get(artifact) or {}).get("state") != "error":
        return False
    del outcomes[artifact]
    st.session_state[OUTCOMES_KEY] = outcomes
    return True


def last_outcome(artifact: str) -> dict[str, str] | None:
    """The last draft's outcome for this artifact in this browser session, if any."""
    return (st.session_state.get(OUTCOMES_KEY) or {}).get(artifact)


def _device(model_key: str) -> str:
    """The loaded session's device, else "cpu" (the limit a not-yet-loaded model will most likely run under)."""
    session = sessions.find_session(model_key) if registry.key_source(model_key) != "endpoint" else None
    return session.device if session is not None else "cpu"


def _limit_text(seconds: float) -> str:
    """10 s, 1 min 30 s, 30 min: the choice as read on the control."""
    minutes, rest = divmod(int(round(seconds)), 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


def limit_options(device: str) -> list[float]:
    """The limits offered: the fixed ladder up to the ceiling, plus the default and the ceiling themselves
    (an instructor's 75 s must be choosable, and nothing above it in class mode)."""
    ceiling = stopping.limit_ceiling_s(device)
    offered = {float(c) for c in LIMIT_CHOICES_S if stopping.MIN_CHOSEN_S <= c <= ceiling}
    offered |= {ceiling, min(stopping.default_time_limit_s(device), ceiling)}
    return sorted(offered)


def chosen_limit(artifact: str, device: str) -> float:
    """The limit this artifact's next draft runs under: the analyst's choice, bounded, else the default."""
    stored = (st.session_state.get(LIMITS_KEY) or {}).get(artifact)
    return stopping.default_time_limit_s(device) if stored is None else stopping.clamp_limit(stored, device)


def render_time_limit(artifact: str) -> float:
    """The per-draft time limit control (next to the draft button); returns the chosen seconds."""
    device = _device(current_model_key())
    options = limit_options(device)
    current = chosen_limit(artifact, device)
    value = max((o for o in options if o <= current), default=options[0])
    ceiling = "the server's class-mode limit" if endpoint_policy.class_mode() else _limit_text(options[-1])
    chosen = st.select_slider(
        "Time limit for this draft", options=options, value=value, format_func=_limit_text,
        key=f"cw_draft_limit_{artifact}",
        help=f"The draft stops when this time is up (up to {ceiling}); the default "
             f"{_limit_text(stopping.default_time_limit_s(device))} comes from {stopping.TIME_LIMIT_ENV}.")
    limits = dict(st.session_state.get(LIMITS_KEY) or {})
    limits[artifact] = float(chosen)
    st.session_state[LIMITS_KEY] = limits
    return float(chosen)


def draft_expectation(model_key: str, settings: DecodingSettings) -> str:
    """Time limit and expected duration of a draft on this model, from its session's measured tokens/s."""
    if registry.key_source(model_key) == "endpoint":
        return honesty.before_draft_line(settings.max_new_tokens, 0.0, None).replace(
            "until this model's first draft", "(a remote endpoint)")
    session = sessions.find_session(model_key)
    device = session.device if session is not None else "cpu"
    speed = session.tokens_per_s if session is not None else 0.0
    return honesty.before_draft_line(settings.max_new_tokens, speed, stopping.time_limit_s(device))


def render_draft_notice(artifact: str | None = None) -> None:
    """Next to a draft button: what to expect from the selected model, said plainly before it starts, and
    (given the artifact) the control that sets this draft's time limit."""
    model_key = current_model_key()
    if honesty.is_bundled(model_key):
        st.caption(honesty.BUNDLED_DEMO)
    if artifact is not None and registry.key_source(model_key) != "endpoint":
        seconds = render_time_limit(artifact)
        with stopping.chosen_time_limit(seconds):
            st.caption(escape_markdown(draft_expectation(model_key, current_settings())))
        return
    st.caption(escape_markdown(draft_expectation(model_key, current_settings())))


def render_last_outcome(task: StructuredTask) -> None:
    """Show the last draft's outcome where the draft was started (call it next to the draft button):
    a stopped or failed draft stays visible after the rerun that interrupted it. The draft notice
    (bundled-model demo warning, time limit, expected duration) is shown here too."""
    render_draft_notice(task.artifact)
    outcome = last_outcome(task.artifact)
    if outcome is None:
        return
    with st.status(f"{outcome['label']} ({outcome['time']})", state=outcome["state"], expanded=False):
        if outcome.get("error"):
            st.caption(escape_markdown(outcome["error"]))


def _stopped_interaction(task: StructuredTask, model_key: str, settings: DecodingSettings, inputs: dict[str, Any],
                         streamed: str, tokens: int, started: float, why: str) -> AIInteraction:
    """The AI-log record of a draft the user interrupted (run_task never returned)."""
    try:
        prompt = task.build_user_prompt(inputs)
    except Exception:  # noqa: BLE001 - the record is still worth keeping without it
        prompt = ""
    record = {"id": uuid.uuid4().hex[:12], "task": task.name, "system_prompt": task.system_prompt,
              "user_prompt": prompt, "raw_output": streamed, "repair_stage": "failed", "failure_type": "stopped",
              "error": why, "model_id": model_key, "decoding": settings.model_dump(), "seed": settings.seed,
              "duration_s": round(time.perf_counter() - started, 3), "new_tokens": tokens}
    return AIInteraction(**_generate.clipped_record(record))  # a streamed runaway answer must not bloat the project


def capped_progress(progress: DraftProgress) -> DraftProgress:
    """The report with its "left" bounded by the time limit: the draft stops at the limit, so no more time than
    ``limit − elapsed`` can be left ("at most 23 min 21 s left … (limit 3 min 00 s)" was printed before)."""
    if progress.phase != "generating" or not progress.time_limit_s:
        return progress
    remaining = max(float(progress.time_limit_s) - float(progress.elapsed_s), 0.0)
    eta = remaining if progress.eta_s is None else min(float(progress.eta_s), remaining)
    return dataclasses.replace(progress, eta_s=eta)


class _Progress:
    """Turns DraftProgress reports into (throttled) status-line updates."""

    def __init__(self, status: Any, base: str) -> None:
        self.status, self.base = status, base
        self.last_update = 0.0
        self.last_phase = ""
        self.tokens = 0
        self.line = st.empty()

    def __call__(self, progress: DraftProgress) -> None:
        if progress.phase == "generating":
            self.tokens = progress.tokens
        now = time.monotonic()
        if progress.phase == self.last_phase and now - self.last_update < UPDATE_EVERY_S:
            return
        self.last_phase, self.last_update = progress.phase, now
        line = capped_progress(progress).label()
        self.status.update(label=f"{self.base} — {line}")
        self.line.caption(line)

    def streamed(self, characters: int, elapsed: float) -> None:
        """Endpoints report no tokens while streaming: show what has arrived (same throttle)."""
        now = time.monotonic()
        if self.last_phase == "generating" or now - self.last_update < UPDATE_EVERY_S:
            return
        self.last_phase, self.last_update = "streaming", now
        line = f"Receiving the draft: {characters} characters in {elapsed:.0f} s"
        self.status.update(label=f"{self.base} — {line}")
        self.line.caption(line)


def draft_artifact(task: StructuredTask, inputs: dict[str, Any]) -> AIInteraction:
    """Run ``task`` on the selected model, streaming into the page; the call is appended to the AI log.

    Never raises for model or parse failures: the interaction says what failed (see runtime.run_task).
    A model that is not loaded yet is loaded first through the sidebar's cached loader, with progress.
    Clicking Stop (or any other widget, or closing the tab) abandons the draft: it is logged as "stopped"
    and the project is otherwise left unchanged.
    """
    model_key = current_model_key()
    settings = current_settings()
    if _needs_loading(model_key):
        load_model(model_key)  # failures are shown; run_task below then records a model_error
    with stopping.chosen_time_limit(chosen_limit(task.artifact, _device(model_key))):
        return _run_draft(task, inputs, model_key, settings)


def _run_draft(task: StructuredTask, inputs: dict[str, Any], model_key: str,
               settings: DecodingSettings) -> AIInteraction:
    """draft_artifact's body, run under the chosen time limit."""
    artifact = task.artifact.replace("_", " ")
    base = f"Drafting {artifact} with {code_span(model_key)}"
    if honesty.is_bundled(model_key):
        st.caption(honesty.BUNDLED_DEMO)
    st.caption(escape_markdown(draft_expectation(model_key, settings)))
    started = time.perf_counter()
    received: list[str] = []
    with st.status(f"{base}…", expanded=True) as status:
        stops = st.session_state.get("cw_stop_counter", 0) + 1  # unique key even for two drafts in one run
        st.session_state["cw_stop_counter"] = stops
        st.button("Stop", key=f"cw_stop_{stops}", help="Abandon this draft; it is logged as stopped.")
        progress = _Progress(status, base)
        stream = st.empty()

        def show(text: str) -> None:
            received.append(text)
            stream.code("".join(received)[-4000:], language="json")
            progress.streamed(sum(len(chunk) for chunk in received), time.perf_counter() - started)

        extra: dict[str, Any] = {}
        if runtime.run_task is _generate.run_task:  # stand-ins in tests take the original arguments only
            extra = {"on_progress": progress, "owner": f"{task.name} from {browser_session_label()}"}
        try:
            interaction = runtime.run_task(task, inputs, model_key, settings, on_text=show, **extra)
        except BaseException as interrupt:  # Streamlit's Stop/Rerun (script control) or a crash: log, re-raise
            stopped = type(interrupt).__name__ in ("StopException", "RerunException")
            why = ("stopped by the analyst (Stop, another widget, or the tab closed)" if stopped
                   else f"{type(interrupt).__name__}: {interrupt}")
            record = _stopped_interaction(task, model_key, settings, inputs, "".join(received), progress.tokens,
                                          started, f"{why} after {progress.tokens} tokens")
            if not stopped:
                record = record.model_copy(update={"failure_type": "model_error"})
            state.set_project(state.get_project().with_interaction(record))
            _remember(task.artifact, f"Draft of {artifact} {'stopped' if stopped else 'failed'}", "error",
                      record.error)
            raise
        label, outcome = _final_label(interaction)
        status.update(label=label, state=outcome, expanded=not interaction.schema_valid)
        if not interaction.schema_valid and interaction.error:
            st.caption(escape_markdown(interaction.error))
    _remember(task.artifact, label, outcome, "" if interaction.schema_valid else interaction.error)
    state.set_project(state.get_project().with_interaction(interaction))
    return interaction


def _final_label(interaction: AIInteraction) -> tuple[str, str]:
    """The status line left on the page after the run, and its state."""
    if interaction.schema_valid:
        repaired = f" — repaired ({interaction.repair_stage})" if interaction.repair_stage != "none" else ""
        free = " — free text: scored strictly" if _generate.FREE_TEXT_NOTE in interaction.parser_notes else ""
        return (f"Draft ready ({interaction.duration_s:.1f} s, {interaction.new_tokens} tokens, "
                f"{interaction.tokens_per_s:.1f} tokens/s){repaired}{free}", "complete")
    return (f"The draft failed: {interaction.failure_type} after {interaction.duration_s:.1f} s, "
            f"{interaction.new_tokens} tokens", "error")
