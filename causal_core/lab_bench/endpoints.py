"""Model lab on several endpoints at once: each server's cases run concurrently, a bounded number in flight.

A course runs one vLLM server per ladder model; running their cases one after another would leave every
server but one idle. Here each server (endpoint base URL) gets its own thread pool of ``max_in_flight``
workers, so servers work in parallel and none gets more than ``max_in_flight`` requests at once (vLLM
batches those continuously). Results come back to the caller's thread, in completion order, so the lab's
records, progress and ``on_update`` stay single-threaded (Streamlit calls cannot come from a worker).

Stop: the caller's ``should_stop`` is read on the caller's thread only (it may read st.session_state)
and relayed to the workers through an Event; queued cases are never sent, in-flight ones end at their
next streamed chunk. Each worker runs under a copy of the caller's context, so an endpoint key the
analyst typed in this browser session (runtime.endpoint.use_session_keys) reaches the worker too.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from causal_core.runtime import registry

DEFAULT_IN_FLIGHT = 4
FREE_CALLS = 4  # in class mode a larger lab run (models x cases x repeats) is an instructor action
MAX_IN_FLIGHT = 64
POLL_S = 0.1
T = TypeVar("T")
Job = Callable[[Callable[[], bool]], T]


def server_of(model_key: str) -> str:
    """The server a model key talks to (its base URL), or "" for a local model."""
    if registry.key_source(model_key) != "endpoint":
        return ""
    try:
        return registry.parse_endpoint_key(model_key)[1]
    except ValueError:
        return ""


def instructor_reasons(model_keys: list[str], extra_text: str, calls: int, loaded: set[str]) -> list[str]:
    """Why a class-mode lab run needs the instructor password ([] when a student may run it).

    Adding endpoints or folders, loading a local model nobody has loaded (a lab run loads and unloads it for
    everybody), and more than FREE_CALLS calls (one student occupying the class server) are instructor actions.
    """
    reasons = []
    if extra_text.strip():
        reasons.append("it adds endpoints or folders")
    unloaded = [key for key in model_keys if registry.key_source(key) != "endpoint" and key not in loaded]
    if unloaded:
        reasons.append(f"it loads {len(unloaded)} local model(s)")
    if calls > FREE_CALLS:
        reasons.append(f"it makes {calls} calls (more than {FREE_CALLS})")
    return reasons


def bounded_in_flight(value: Any) -> int:
    """A run's per-endpoint bound, clamped to 1..MAX_IN_FLIGHT (a saved project may hold anything)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return DEFAULT_IN_FLIGHT
    return min(max(number, 1), MAX_IN_FLIGHT)


def run_concurrently(jobs: dict[str, list[Job[T]]], max_in_flight: int,
                     should_stop: Callable[[], bool]) -> Iterator[T]:
    """Run ``jobs[server]`` with at most ``max_in_flight`` at once per server; yield results as they finish.

    This thread hands out the work: a server's next case is submitted only after one of its cases came back
    and ``should_stop`` said no, so the bound is exact and nothing queued is ever sent after a stop. A job
    receives a thread-safe ``stopped()``; the ones in flight at a stop end at their next streamed chunk.
    """
    limit = bounded_in_flight(max_in_flight)
    stop_event = threading.Event()
    queues = {server: deque(server_jobs) for server, server_jobs in jobs.items()}
    executors = {server: ThreadPoolExecutor(max_workers=limit, thread_name_prefix=f"lab-endpoint-{index}")
                 for index, server in enumerate(queues)}
    running: dict[Future[T], str] = {}

    def fill() -> None:
        for server, queue in queues.items():
            while queue and sum(1 for owner in running.values() if owner == server) < limit:
                context = contextvars.copy_context()
                running[executors[server].submit(context.run, queue.popleft(), stop_event.is_set)] = server

    try:
        fill()
        while running:
            done, _ = wait(running, timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                yield future.result()
            if not stop_event.is_set() and should_stop():
                stop_event.set()
            if not stop_event.is_set():
                fill()
    finally:
        stop_event.set()
        for executor in executors.values():
            executor.shutdown(wait=True, cancel_futures=True)
