"""The device queue (order, positions, ETA, Stop, timeout, unload) and early stopping (repetition, time limit).

The first half runs the queue with plain threads and no model (fast); the second half runs the bundled
SmolLM2-135M with 4 concurrent requests (small max_new_tokens so the module stays around a minute).
"""

from __future__ import annotations

import threading
import time

import pytest

from causal_core import runtime
from causal_core.ai.structured import DecodingSettings
from causal_core.runtime import queue as request_queue
from causal_core.runtime import sessions, stopping
from causal_core.runtime.queue import DeviceQueue, QueueCancelled, QueueTimeout, SessionClosed, Ticket
from causal_core.runtime.smoke import SMOKE_TASK


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class FakeStop(BaseException):
    """Stands in for Streamlit's StopException (a BaseException raised at the next st.* call)."""


# --------------------------------------------------------------------------------------- queue only


def test_requests_start_in_arrival_order_and_see_their_positions():
    queue = DeviceQueue("test-cpu")
    holder = Ticket("m", owner="first user")
    queue.acquire(holder)
    started: list[int] = []
    seen: dict[int, list[int]] = {}

    def request(index: int) -> None:
        ticket = Ticket("m", owner=f"user {index}")
        with request_queue.slot(queue, ticket, on_wait=lambda status: seen.setdefault(index, []).append(status.position)):
            started.append(index)

    threads = []
    for index in range(3):
        threads.append(threading.Thread(target=request, args=(index,)))
        threads[-1].start()
        _wait_for(lambda index=index: queue.waiting_count() == index + 1)
    assert [seen[index][0] for index in range(3)] == [1, 2, 3]
    assert queue.snapshot()["running"] == "first user"
    queue.release(holder, tokens=100, seconds=10.0)
    for thread in threads:
        thread.join(10)
    assert started == [0, 1, 2]
    assert all(positions == sorted(positions, reverse=True) for positions in seen.values())  # only moves forward


def test_eta_comes_from_measured_tokens_per_second_and_the_requests_ahead():
    queue = DeviceQueue("test-eta")
    first = Ticket("m", expected_tokens=300)
    queue.acquire(first)
    queue.release(first, tokens=100, seconds=10.0)  # measured: 10 tokens/s, 100 tokens per request
    running = Ticket("m", owner="running one", expected_tokens=300)
    queue.acquire(running)
    running.tokens_done = 40
    statuses: list[request_queue.QueueStatus] = []
    waiter = Ticket("m", expected_tokens=300)
    thread = threading.Thread(target=queue.acquire, args=(waiter,), kwargs={"on_wait": statuses.append})
    thread.start()
    _wait_for(lambda: bool(statuses))
    behind = Ticket("m", expected_tokens=300)
    late: list[request_queue.QueueStatus] = []
    second = threading.Thread(target=queue.acquire, args=(behind,), kwargs={"on_wait": late.append})
    second.start()
    _wait_for(lambda: bool(late))
    assert statuses[0].eta_s == pytest.approx(6.0)  # (100 - 40) / 10 for the running request
    assert late[0].eta_s == pytest.approx(16.0)  # + 100 / 10 for the one waiting ahead
    assert (late[0].position, late[0].running_owner) == (2, "running one")
    queue.release(running)
    thread.join(5)
    queue.release(waiter)
    second.join(5)
    queue.release(behind)


def test_stop_and_a_closed_tab_leave_the_queue_and_free_the_slot():
    queue = DeviceQueue("test-cancel")
    holder = Ticket("m")
    queue.acquire(holder)
    stop = threading.Event()
    outcomes: dict[str, BaseException] = {}

    def waiting(name: str, **options) -> None:
        try:
            queue.acquire(Ticket("m", owner=name), **options)
        except BaseException as error:  # noqa: BLE001 - recorded for the assertions
            outcomes[name] = error

    def tab_closed(_status) -> None:
        if stop.is_set():
            raise FakeStop()

    stopper = threading.Thread(target=waiting, args=("stopper",), kwargs={"should_stop": stop.is_set})
    closer = threading.Thread(target=waiting, args=("closer",), kwargs={"on_wait": tab_closed})
    stopper.start()
    closer.start()
    _wait_for(lambda: queue.waiting_count() == 2)
    stop.set()
    stopper.join(5)
    closer.join(5)
    assert isinstance(outcomes["stopper"], QueueCancelled) and "left the queue" in str(outcomes["stopper"])
    assert isinstance(outcomes["closer"], FakeStop)
    assert queue.waiting_count() == 0
    queue.release(holder)
    nxt = Ticket("m")
    queue.acquire(nxt, timeout_s=1.0)  # nobody left behind blocks the head of the line
    assert queue.running_ticket() is nxt
    queue.release(nxt)


def test_a_request_that_waits_past_the_limit_fails_with_a_clear_message(monkeypatch):
    queue = DeviceQueue("test-timeout")
    holder = Ticket("bundled", owner="estimand-card from browser session 3fa2c1")
    queue.acquire(holder)
    monkeypatch.setenv(request_queue.TIMEOUT_ENV, "0.6")
    started = time.monotonic()
    with pytest.raises(QueueTimeout) as raised:
        queue.acquire(Ticket("bundled"))
    assert 0.5 < time.monotonic() - started < 5
    message = str(raised.value)
    assert "in the queue for `bundled`" in message and "limit 1 s, set by CW_QUEUE_TIMEOUT_S" in message
    assert "1 request(s) were still ahead, the running one by estimand-card from browser session 3fa2c1" in message
    assert queue.waiting_count() == 0
    queue.release(holder)


def test_queue_timeout_setting_falls_back_on_bad_values(monkeypatch):
    for raw, expected in (("", 900.0), ("abc", 900.0), ("-5", 900.0), ("30", 30.0)):
        monkeypatch.setenv(request_queue.TIMEOUT_ENV, raw)
        assert request_queue.queue_timeout_s() == expected


def test_unloading_fails_the_sessions_queued_tickets():
    queue = DeviceQueue("test-unload")
    holder = Ticket("m", session_id=1)
    queue.acquire(holder)
    errors: list[BaseException] = []
    other = Ticket("n", session_id=2)

    def wait() -> None:
        try:
            queue.acquire(Ticket("m", session_id=1))
        except SessionClosed as error:
            errors.append(error)

    thread = threading.Thread(target=wait)
    thread.start()
    other_thread = threading.Thread(target=queue.acquire, args=(other,))
    other_thread.start()
    _wait_for(lambda: queue.waiting_count() == 2)
    assert [ticket.session_id for ticket in queue.close_session(1, "m was unloaded while this call waited")] == [1]
    thread.join(5)
    assert [str(error) for error in errors] == ["m was unloaded while this call waited"]
    queue.release(holder)
    other_thread.join(5)
    assert queue.running_ticket() is other  # another model's request is untouched
    queue.release(other)


# --------------------------------------------------------------------------------- repetition, limits


def test_repetition_period_on_synthetic_token_streams():
    edge = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]  # one 10-token list item
    assert stopping.repetition_period([1, 2, 3] + edge * 16) == 10
    assert stopping.repetition_period([1, 2, 3] + edge * 15) == 0  # 150 tokens: shorter than MIN_SPAN (160)
    assert stopping.repetition_period(edge * 4, min_span=40) == 10
    assert stopping.repetition_period(edge * 3, min_span=30) == 0  # three times is never a loop
    assert stopping.repetition_period([7] * 160) == 1
    assert stopping.repetition_period([7] * 159) == 0
    assert stopping.repetition_period(list(range(400))) == 0
    varied = [item for index in range(60) for item in (21, 22, index, 23)]  # same frame, different values
    assert stopping.repetition_period(varied) == 0
    assert stopping.repetition_period(edge * 16 + [99]) == 0  # the loop was left: not the tail any more


def test_time_limit_setting(monkeypatch):
    monkeypatch.delenv(stopping.TIME_LIMIT_ENV, raising=False)
    assert stopping.time_limit_s("cpu") == 180.0 and stopping.time_limit_s("cuda") == 600.0
    monkeypatch.setenv(stopping.TIME_LIMIT_ENV, "2.5")
    assert stopping.time_limit_s("cpu") == 2.5
    monkeypatch.setenv(stopping.TIME_LIMIT_ENV, "soon")
    assert stopping.time_limit_s("cpu") == 180.0


def test_stop_monitor_reports_progress_and_the_reason():
    reports: list[tuple[int, float]] = []
    monitor = stopping.StopMonitor(5, on_token=lambda tokens, elapsed: reports.append((tokens, elapsed)))
    assert not monitor.check([1, 2, 3])
    assert monitor.check([4, 5] * 80) and monitor.reason == "repetition" and monitor.period == 2
    assert [tokens for tokens, _ in reports] == [3, 160]
    timed = stopping.StopMonitor(0, time_limit=0.0)
    time.sleep(0.01)
    assert timed.check([1]) and timed.reason == "timeout"
    stopped = stopping.StopMonitor(0, should_stop=lambda: True, time_limit=0.0)
    assert stopped.check([1]) and stopped.reason == "stopped"  # Stop wins over the limit


# ------------------------------------------------------------------------------------- bundled model

BRIEFS = {  # marker word -> brief; each output must carry its own marker and no other
    "outreach": "Did proactive outreach reduce churn?",
    "assistant": "Did the AI support assistant reduce handled hours?",
    "discount": "Did a price discount raise renewals?",
    "shipping": "Did free shipping increase basket size?",
}
SMALL = DecodingSettings(max_new_tokens=48, repair_retry=False)


def _reset_peak_rss() -> None:
    """Start VmHWM afresh (Linux: '5' > /proc/self/clear_refs), so earlier tests' peaks in this pytest process
    are not counted against this one."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _memory_mb() -> dict[str, int]:
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[name] = int(value.split()[0]) // 1024
    return fields


@pytest.fixture(scope="module")
def bundled():
    runtime.unload("bundled", wait_s=30)
    session = sessions.get_session("bundled")
    yield session
    runtime.unload("bundled", wait_s=30)


@pytest.mark.slow
def test_realistic_looping_draft_is_caught_and_a_normal_one_is_not(bundled):
    tokenizer = bundled.tokenizer
    edge = '{"source":"treatment","target":"outcome","rationale":"treatment causes outcome"},'
    looping = tokenizer.encode('{"nodes":["treatment","outcome"],"edges":[' + edge * 12)
    assert 10 <= stopping.repetition_period(looping) <= 30
    card = tokenizer.encode('{"treatment":"proactive outreach call","outcome":"churn within 90 days",'
                            '"population":"customers with tenure under 2 years","estimand":"ATE",'
                            '"contrast":"outreach versus no outreach","time_zero":"signup",'
                            '"assumptions":["no unmeasured confounding","positivity","consistency"]}')
    assert stopping.repetition_period(card) == 0


@pytest.mark.slow
def test_four_concurrent_requests_complete_in_order_with_their_own_outputs(bundled):
    _reset_peak_rss()
    before = _memory_mb()
    results: dict[str, object] = {}
    firsts: dict[str, tuple[str, int]] = {}
    started_at: dict[str, float] = {}

    def progress(marker: str):
        def report(event: request_queue.DraftProgress) -> None:
            firsts.setdefault(marker, (event.phase, event.position))
            if event.phase == "generating":
                started_at.setdefault(marker, time.monotonic())
        return report

    threads = []
    for index, (marker, brief) in enumerate(BRIEFS.items()):
        threads.append(threading.Thread(target=lambda marker=marker, brief=brief: results.__setitem__(
            marker, runtime.run_task(SMOKE_TASK, {"brief": brief}, "bundled", SMALL, on_progress=progress(marker),
                                     owner=f"thread {marker}"))))
        threads[-1].start()
        if index == 0:
            _wait_for(lambda: "outreach" in started_at)
        else:
            _wait_for(lambda index=index: bundled.queue.waiting_count() == index)
    for thread in threads:
        thread.join(300)
    for marker, interaction in results.items():
        assert interaction.schema_valid, (marker, interaction.failure_type, interaction.error)
        text = interaction.raw_output.lower()
        assert marker in text, (marker, interaction.raw_output)
        assert not [other for other in BRIEFS if other != marker and other in text], interaction.raw_output
    assert firsts["outreach"] == ("generating", 0)
    assert [firsts[marker] for marker in list(BRIEFS)[1:]] == [("queued", 1), ("queued", 2), ("queued", 3)]
    assert sorted(started_at, key=started_at.get) == list(BRIEFS)  # served first come, first served
    after = _memory_mb()
    # One model copy is ~540 MB: the peak during 4 requests (after 1 + 4 + 4 earlier in this module at
    # most) stays far below a second copy, and nothing is retained afterwards (KV caches are freed).
    assert after["VmHWM"] - before["VmRSS"] < 250, (before, after)
    assert after["RssAnon"] - before["RssAnon"] < 150, (before, after)


@pytest.mark.slow
def test_stop_while_queued_frees_the_slot_and_timeout_is_its_own_failure(bundled, monkeypatch):
    holder = Ticket("bundled", owner="someone else's draft", session_id=id(bundled))
    bundled.queue.acquire(holder)
    stop = threading.Event()
    out: dict[str, object] = {}
    thread = threading.Thread(target=lambda: out.__setitem__("stopped", runtime.run_task(
        SMOKE_TASK, {"brief": BRIEFS["outreach"]}, "bundled", SMALL, should_stop=stop.is_set)))
    thread.start()
    _wait_for(lambda: bundled.queue.waiting_count() == 1)
    stop.set()
    thread.join(10)
    stopped = out["stopped"]
    assert (stopped.failure_type, stopped.new_tokens) == ("stopped", 0)
    assert "left the queue for `bundled`" in stopped.error
    assert bundled.queue.waiting_count() == 0
    monkeypatch.setenv(request_queue.TIMEOUT_ENV, "0.5")
    timed_out = runtime.run_task(SMOKE_TASK, {"brief": BRIEFS["discount"]}, "bundled", SMALL)
    assert timed_out.failure_type == "timeout" and not timed_out.schema_valid
    assert "CW_QUEUE_TIMEOUT_S" in timed_out.error and "someone else's draft" in timed_out.error
    bundled.queue.release(holder)
    monkeypatch.delenv(request_queue.TIMEOUT_ENV)
    assert runtime.run_task(SMOKE_TASK, {"brief": BRIEFS["shipping"]}, "bundled", SMALL).schema_valid


@pytest.mark.slow
def test_time_limit_stops_generation_with_failure_type_timeout(bundled, monkeypatch):
    monkeypatch.setenv(stopping.TIME_LIMIT_ENV, "0.05")
    interaction = runtime.run_task(SMOKE_TASK, {"brief": BRIEFS["assistant"]}, "bundled", SMALL)
    assert interaction.failure_type == "timeout" and not interaction.schema_valid
    assert "time limit" in interaction.error and "(its default is CW_DRAFT_TIME_LIMIT_S)" in interaction.error
    assert 0 < interaction.new_tokens < SMALL.max_new_tokens


@pytest.mark.slow
def test_unload_during_generation_never_blocks_and_never_runs_a_queued_request(bundled):
    results: dict[str, object] = {}
    generating = threading.Event()

    def first_progress(event: request_queue.DraftProgress) -> None:
        if event.phase == "generating":
            generating.set()

    first = threading.Thread(target=lambda: results.__setitem__("running", runtime.run_task(
        SMOKE_TASK, {"brief": BRIEFS["outreach"]}, "bundled", SMALL, on_progress=first_progress, owner="first")))
    first.start()
    _wait_for(generating.is_set)
    second = threading.Thread(target=lambda: results.__setitem__("queued", runtime.run_task(
        SMOKE_TASK, {"brief": BRIEFS["discount"]}, "bundled", SMALL)))
    second.start()
    _wait_for(lambda: bundled.queue.waiting_count() == 1)
    assert sessions.loaded_sessions()[0]["busy_with"] == "first"
    clock = time.monotonic()
    assert runtime.unload("bundled")
    assert time.monotonic() - clock < 2.0  # the old lock blocked here for the whole generation (48.5 s)
    second.join(30)
    queued = results["queued"]
    assert queued.failure_type == "model_error" and queued.new_tokens == 0
    assert queued.error == "bundled was unloaded while this call waited"
    first.join(300)
    assert results["running"].schema_valid, results["running"].error  # finished on its own references
    assert bundled.freed.wait(10) and bundled.model is None  # weights freed once it left
    assert sessions.find_session("bundled") is None


def test_sequential_and_concurrent_requests_leave_nothing_behind(tiny_model):
    """Per request only a logits processor and a KV cache are made; none survives, the grammar is compiled once."""
    import gc

    from causal_core.runtime import registry

    key = registry.path_key(tiny_model)
    session = sessions.get_session(key)
    settings = DecodingSettings(max_new_tokens=20, repair_retry=False)
    questions = ["alpha", "beta", "gamma", "delta", "epsilon"]
    compiled_before = set(session.grammars._compiled)  # the session is shared: other tests' schemas may be there
    for question in questions[:2]:
        runtime.run_task(SMOKE_TASK, {"brief": question}, key, settings)
    threads = [threading.Thread(target=runtime.run_task, args=(SMOKE_TASK, {"brief": question}, key, settings))
               for question in questions[2:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    gc.collect()
    alive = [type(item).__name__ for item in gc.get_objects()
             if type(item).__name__ in ("GrammarLogitsProcessor", "DynamicCache", "Monitor", "StopMonitor")]
    assert alive == []
    new_grammars = set(session.grammars._compiled) - compiled_before
    assert len(new_grammars) <= 1 and len(session.grammars._compiled) == len(compiled_before | new_grammars)
    # one (tokenizer, schema) pair → one compiled grammar, however many requests used it
    assert session.generations >= 5 and session.active == 0
    assert session.queue.running_ticket() is None and session.queue.waiting_count() == 0
