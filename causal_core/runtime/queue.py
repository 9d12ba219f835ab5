"""A fair, visible queue in front of local generation: one FIFO per device, one request generating at a time.

Why a queue and not the old per-model lock: a lock gives no order (threads race for it), no position, no
estimate and no way to leave. Here every local request takes a :class:`Ticket` and waits in its device's
FIFO (a model's requests form a FIFO too, since they are a subsequence of it). While waiting it is told
its position and an estimated wait, computed from the tokens/s measured on that model and the tokens the
requests ahead are expected to produce. It leaves the queue when:

* its ``should_stop()`` turns true (the page's Stop) or its ticket is cancelled;
* the code that waits raises (Streamlit raises StopException / RerunException inside the script thread at
  the next ``st.*`` call when the user presses Stop, reruns, or closes the tab; the wait loop calls the
  page's ``on_wait`` at every poll, so a closed tab leaves within one poll interval);
* it has waited longer than ``CW_QUEUE_TIMEOUT_S`` seconds (:class:`QueueTimeout`);
* its model is unloaded while it waits (:class:`SessionClosed`): a queued request never runs on a session
  that was removed.

A closed tab is detected this way only because the waiting thread keeps touching Streamlit; a caller
that passes no ``on_wait`` (CLI, tests) leaves only by ``should_stop``, cancel, timeout or unload.
Streamlit-free: the page gets plain :class:`QueueStatus` records through callbacks.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

TIMEOUT_ENV = "CW_QUEUE_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 900.0
POLL_S = 0.25
_IDS = itertools.count(1)


class QueueTimeout(Exception):
    """Waited in the queue past the limit; the message says how long, the limit, and what was ahead."""


class QueueCancelled(Exception):
    """Left the queue by Stop / cancel before generating."""


class SessionClosed(Exception):
    """The model was unloaded while this request waited for it."""


def queue_timeout_s() -> float:
    """``CW_QUEUE_TIMEOUT_S`` (seconds, > 0), else 15 minutes: a class of 30 on CPU may really wait that long."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


@dataclass
class QueueStatus:
    """What a waiting request is told at every poll."""

    position: int  # 1 = next to run (someone is generating); 0 = generating now
    ahead: int  # requests ahead of this one, the running one included
    eta_s: float | None  # estimated seconds until this request starts; None before any measurement
    waited_s: float
    running_owner: str = ""


@dataclass(eq=False)
class Ticket:
    """One request's place in a device queue."""

    model_key: str
    owner: str = ""  # who asked: shown to others ("estimand-card from browser session 3fa2c1")
    expected_tokens: int = 0  # upper bound (max_new_tokens) used until the model has a measured average
    session_id: int = 0  # id() of the session object: unloading that session fails its queued tickets
    id: int = field(default_factory=lambda: next(_IDS))
    enqueued_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    tokens_done: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    closed_reason: str = ""


@dataclass
class _Rate:
    """Measured speed of one model: exponentially weighted tokens/s and tokens per request."""

    tokens_per_s: float = 0.0
    tokens_per_request: float = 0.0
    requests: int = 0

    def record(self, tokens: int, seconds: float, weight: float = 0.5) -> None:
        if tokens <= 0 or seconds <= 0:
            return
        rate = tokens / seconds
        first = self.requests == 0
        self.tokens_per_s = rate if first else (1 - weight) * self.tokens_per_s + weight * rate
        self.tokens_per_request = tokens if first else (1 - weight) * self.tokens_per_request + weight * tokens
        self.requests += 1


class DeviceQueue:
    """FIFO of tickets for one device; at most one ticket holds the device at a time."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._cond = threading.Condition()
        self._waiting: deque[Ticket] = deque()
        self._running: Ticket | None = None
        self._rates: dict[str, _Rate] = {}
        # (ticket id, position when it joined), the last 1,000: for the bench and tests, bounded so it never grows
        self.positions_seen: deque[tuple[int, int]] = deque(maxlen=1000)

    # ------------------------------------------------------------------ estimates

    def _expected_tokens(self, ticket: Ticket) -> float:
        rate = self._rates.get(ticket.model_key)
        measured = rate.tokens_per_request if rate and rate.requests else 0.0
        return measured or float(ticket.expected_tokens)

    def _seconds_left(self, ticket: Ticket, running: bool) -> float | None:
        rate = self._rates.get(ticket.model_key)
        if not rate or rate.tokens_per_s <= 0:
            return None
        remaining = self._expected_tokens(ticket) - (ticket.tokens_done if running else 0)
        return max(remaining, 0.0) / rate.tokens_per_s

    def _status(self, ticket: Ticket) -> QueueStatus:
        ahead = list(itertools.takewhile(lambda other: other is not ticket, self._waiting))
        estimates = [self._seconds_left(other, False) for other in ahead]
        if self._running is not None:
            estimates.append(self._seconds_left(self._running, True))
        eta = None if any(value is None for value in estimates) else sum(estimates)  # type: ignore[arg-type]
        count = len(ahead) + (self._running is not None)
        return QueueStatus(position=count, ahead=count, eta_s=eta, waited_s=time.monotonic() - ticket.enqueued_at,
                           running_owner=self._running.owner if self._running else "")

    def rate(self, model_key: str) -> _Rate:
        with self._cond:
            return self._rates.setdefault(model_key, _Rate())

    def snapshot(self) -> dict[str, object]:
        """Running owner and waiting owners, for the sidebar and for a refused unload."""
        with self._cond:
            return {"running": self._running.owner if self._running else "",
                    "running_model": self._running.model_key if self._running else "",
                    "waiting": [(ticket.model_key, ticket.owner) for ticket in self._waiting]}

    # ------------------------------------------------------------------ acquire / release

    def acquire(self, ticket: Ticket, *, timeout_s: float | None = None,
                should_stop: Callable[[], bool] | None = None,
                on_wait: Callable[[QueueStatus], None] | None = None) -> None:
        """Wait in line until ``ticket`` holds the device; raises QueueTimeout / QueueCancelled / SessionClosed.

        Whatever is raised (these, or an exception from ``on_wait`` such as Streamlit's StopException), the
        ticket leaves the queue before the exception propagates, so the next request is never blocked by it.
        """
        limit = queue_timeout_s() if timeout_s is None else timeout_s
        with self._cond:
            self._waiting.append(ticket)
            first = self._status(ticket)
            self.positions_seen.append((ticket.id, first.position))
        try:
            while True:
                with self._cond:
                    if ticket.closed_reason:
                        raise SessionClosed(ticket.closed_reason)
                    if self._running is None and self._waiting and self._waiting[0] is ticket:
                        self._waiting.popleft()
                        self._running = ticket
                        ticket.started_at = time.monotonic()
                        return
                    status = self._status(ticket)
                if on_wait is not None:
                    on_wait(status)
                if ticket.cancel.is_set() or (should_stop is not None and should_stop()):
                    raise QueueCancelled(f"left the queue for `{ticket.model_key}` after {status.waited_s:.0f} s "
                                         f"at position {status.position}")
                if status.waited_s > limit:
                    raise QueueTimeout(
                        f"waited {status.waited_s:.0f} s in the queue for `{ticket.model_key}` on {self.device} "
                        f"(limit {limit:.0f} s, set by {TIMEOUT_ENV}); {status.ahead} request(s) were still ahead"
                        + (f", the running one by {status.running_owner}" if status.running_owner else "")
                        + ". Try again later, or use a smaller model or an endpoint.")
                with self._cond:
                    self._cond.wait(POLL_S)
        except BaseException:
            with self._cond:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()
            raise

    def release(self, ticket: Ticket, tokens: int = 0, seconds: float = 0.0) -> None:
        """Give the device back and record the measured speed (used by every later estimate)."""
        with self._cond:
            if self._running is ticket:
                self._running = None
            self._rates.setdefault(ticket.model_key, _Rate()).record(tokens, seconds)
            self._cond.notify_all()

    def close_session(self, session_id: int, reason: str) -> list[Ticket]:
        """Fail every waiting ticket of that session (they raise SessionClosed at their next poll)."""
        with self._cond:
            closed = [ticket for ticket in self._waiting if ticket.session_id == session_id]
            for ticket in closed:
                ticket.closed_reason = reason
            self._cond.notify_all()
        return closed

    def wait_idle(self, session_id: int, timeout_s: float) -> bool:
        """Wait until no ticket of that session is running; False if it still is after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._running is not None and self._running.session_id == session_id:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, POLL_S))
        return True

    def running_ticket(self) -> Ticket | None:
        with self._cond:
            return self._running

    def waiting_count(self) -> int:
        with self._cond:
            return len(self._waiting)


_QUEUES: dict[str, DeviceQueue] = {}
_QUEUES_LOCK = threading.Lock()


def device_queue(device: str) -> DeviceQueue:
    """The process-wide queue of a device ("cpu", "cuda", "mps"): every browser session shares it."""
    with _QUEUES_LOCK:
        if device not in _QUEUES:
            _QUEUES[device] = DeviceQueue(device)
        return _QUEUES[device]


@contextmanager
def slot(queue: DeviceQueue, ticket: Ticket, **wait_options: object) -> Iterator[Ticket]:
    """Hold the device for the body; released (and the speed recorded from ticket.tokens_done) afterwards."""
    queue.acquire(ticket, **wait_options)  # type: ignore[arg-type]
    try:
        yield ticket
    finally:
        started = ticket.started_at or time.monotonic()
        queue.release(ticket, ticket.tokens_done, time.monotonic() - started)


@dataclass
class DraftProgress:
    """One progress report of a draft, for a page's status line (queued, then generating)."""

    phase: str  # "queued" or "generating"
    model_key: str = ""
    position: int = 0  # queued: requests ahead (the running one included)
    eta_s: float | None = None  # queued: until this one starts; generating: until max_new_tokens at this speed
    waited_s: float = 0.0
    running_owner: str = ""
    tokens: int = 0
    max_new_tokens: int = 0
    tokens_per_s: float = 0.0
    elapsed_s: float = 0.0
    time_limit_s: float | None = None
    attempt: int = 1  # 2 = the repair retry

    def label(self) -> str:
        """A one-line Markdown description (names escaped): queue position and wait, or tokens and speed."""
        from causal_core.safe_text import code_span, escape_markdown

        model = code_span(self.model_key)
        if self.phase == "queued":
            wait = f"about {format_seconds(self.eta_s)}" if self.eta_s is not None else "estimating the wait"
            who = f"; now running: {escape_markdown(self.running_owner)}" if self.running_owner else ""
            return (f"Waiting in the queue for {model}: {self.position} request(s) ahead, {wait} "
                    f"(waited {format_seconds(self.waited_s)}{who})")
        retry = " (repair retry)" if self.attempt > 1 else ""
        eta = f", at most {format_seconds(self.eta_s)} left" if self.eta_s is not None else ""
        limit = f" (limit {format_seconds(self.time_limit_s)})" if self.time_limit_s else ""
        return (f"Generating{retry} with {model}: {self.tokens}/{self.max_new_tokens} tokens, "
                f"{self.tokens_per_s:.1f} tokens/s{eta}, {format_seconds(self.elapsed_s)} elapsed{limit}")


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(float(seconds), 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"
