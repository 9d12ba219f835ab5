"""Why a local generation stops early: the analyst's Stop, a wall-clock limit, or a repetition loop.

The bundled 135M model's DAG draft ran to its 700-token limit writing the same ``treatment → outcome``
edge over and over: minutes of CPU for an output that can only fail. :func:`repetition_period` spots
such a loop from the generated token ids alone (the tail is one block of tokens repeated back to back),
and :class:`StopMonitor` checks it, the time limit and the Stop flag after every token, reporting
progress (tokens so far, tokens/s) on the way. Streamlit-free; transformers is imported lazily.

The limit is chosen per draft (:func:`chosen_time_limit`, set by the page's control around one draft) within
:data:`MIN_CHOSEN_S` .. :data:`MAX_CHOSEN_S`; ``CW_DRAFT_TIME_LIMIT_S`` is the default, and in class mode the
ceiling an instructor set: a student cannot choose a longer draft than the server allows.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from causal_core.runtime.endpoint_policy import class_mode

__all__ = ["DEFAULT_ACCELERATOR_LIMIT_S", "DEFAULT_CPU_LIMIT_S", "MAX_CHOSEN_S", "MIN_CHOSEN_S", "TIME_LIMIT_ENV",
           "StopMonitor", "chosen_time_limit", "clamp_limit", "default_time_limit_s", "limit_ceiling_s",
           "repetition_period", "time_limit_s"]

TIME_LIMIT_ENV = "CW_DRAFT_TIME_LIMIT_S"
DEFAULT_CPU_LIMIT_S = 180.0  # a class on CPU: 3 minutes, then the draft is a "timeout"
DEFAULT_ACCELERATOR_LIMIT_S = 600.0
MAX_PERIOD = 64  # longest repeated block looked for (tokens); one JSON list item is ~10-30 tokens
MIN_REPEATS = 4  # the block must occur this many times back to back ...
# ... and the repeated run must cover at least this many tokens. 160 is longer than a whole maxLength-400
# string of sub-word junk (~130 tokens): a loop inside one bounded string, which the grammar ends by itself
# (the bundled model's estimand card writes "_pre_treatment" over and over in one field, then finishes a
# valid card), is let run; a loop across list items (its DAG draft) stops after ~160 tokens, not 700.
MIN_SPAN = 160
MIN_CHOSEN_S = 10.0  # shorter than this, even the bundled model cannot finish a card: a choice that only fails
MAX_CHOSEN_S = 1800.0  # 30 min: past this a draft on CPU is better run from the CLI or the Model lab
_CHOSEN: contextvars.ContextVar[float | None] = contextvars.ContextVar("cw_draft_time_limit", default=None)


def default_time_limit_s(device: str) -> float:
    """``CW_DRAFT_TIME_LIMIT_S`` seconds if set (> 0), else 3 minutes on CPU and 10 minutes on a GPU."""
    raw = os.environ.get(TIME_LIMIT_ENV, "").strip()
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        value = 0.0
    if value > 0:
        return value
    return DEFAULT_CPU_LIMIT_S if device == "cpu" else DEFAULT_ACCELERATOR_LIMIT_S


def limit_ceiling_s(device: str) -> float:
    """The longest limit an analyst may choose: 30 min (or the server's default if that is longer), and in class
    mode the server's own limit (the instructor's ``CW_DRAFT_TIME_LIMIT_S``, else the device default), so one
    student cannot hold a shared model for longer than the class allows."""
    default = default_time_limit_s(device)
    return default if class_mode() else max(MAX_CHOSEN_S, default)


def clamp_limit(seconds: float, device: str) -> float:
    """``seconds`` inside ``MIN_CHOSEN_S .. limit_ceiling_s(device)``; the ceiling wins if it is lower than the
    floor (an instructor's 5 s limit stays 5 s)."""
    ceiling = limit_ceiling_s(device)
    return min(max(float(seconds), MIN_CHOSEN_S), ceiling)


@contextlib.contextmanager
def chosen_time_limit(seconds: float | None) -> Iterator[None]:
    """Within this block, :func:`time_limit_s` is the analyst's choice (bounded by :func:`clamp_limit` where the
    device is known); ``None`` keeps the default. A context variable, so a draft running in one browser
    session never sees another session's choice."""
    token = _CHOSEN.set(float(seconds) if seconds is not None and seconds > 0 else None)
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def time_limit_s(device: str) -> float:
    """The limit a draft on ``device`` stops at: the choice in effect (:func:`chosen_time_limit`), bounded,
    else the default (:func:`default_time_limit_s`)."""
    chosen = _CHOSEN.get()
    return default_time_limit_s(device) if chosen is None else clamp_limit(chosen, device)


def repetition_period(tokens: Sequence[int], max_period: int = MAX_PERIOD, min_repeats: int = MIN_REPEATS,
                      min_span: int = MIN_SPAN) -> int:
    """The length of the block the sequence ends by repeating (≥ ``min_repeats`` times, ≥ ``min_span``
    tokens in all), or 0 if its tail is not such a loop. The shortest such period is returned."""
    size = len(tokens)
    if size < 2:
        return 0
    last = tokens[-1]
    for period in range(1, max_period + 1):
        if period >= size or tokens[-1 - period] != last:  # cheap filter: most periods fail here
            continue
        repeats = max(min_repeats, -(-min_span // period))  # enough copies to cover min_span
        span = period * repeats
        if span > size:
            continue
        tail = tokens[size - span:]
        block = tail[-period:]
        if all(tail[start:start + period] == block for start in range(0, span - period, period)):
            return period
    return 0


class StopMonitor:
    """Checked by generate after every token; records why it stopped (``reason``) and reports progress."""

    def __init__(self, prompt_length: int, *, should_stop: Callable[[], bool] | None = None,
                 time_limit: float | None = None,
                 on_token: Callable[[int, float], None] | None = None, detect_repetition: bool = True) -> None:
        self.prompt_length = prompt_length
        self.should_stop = should_stop
        self.time_limit = time_limit
        self.on_token = on_token
        self.detect_repetition = detect_repetition
        self.started = time.perf_counter()
        self.reason = ""  # "", "stopped", "timeout" or "repetition"
        self.period = 0

    def check(self, generated: list[int]) -> bool:
        """True when generation must stop now; ``generated`` is the new tokens so far."""
        elapsed = time.perf_counter() - self.started
        if self.on_token is not None:
            self.on_token(len(generated), elapsed)  # may raise (Streamlit's StopException): generate unwinds
        if self.should_stop is not None and self.should_stop():
            self.reason = "stopped"
        elif self.time_limit is not None and elapsed > self.time_limit:
            self.reason = "timeout"
        elif self.detect_repetition and (period := repetition_period(generated)):
            self.reason, self.period = "repetition", period
        return bool(self.reason)

    def criteria(self) -> Any:
        """This monitor as a transformers StoppingCriteria (one sequence at a time)."""
        import torch
        from transformers import StoppingCriteria

        monitor = self

        class Monitor(StoppingCriteria):
            def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **_: Any) -> torch.BoolTensor:
                stop = monitor.check(input_ids[0, monitor.prompt_length:].tolist())
                return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

        return Monitor()
