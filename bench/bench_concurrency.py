"""N concurrent sessions (N = 1, 4, 8) against the bundled model locally and against a stub endpoint.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_concurrency.py [--sizes 1 4 8] [--max-new-tokens 40]
        [--stub-token-delay 0.02] [--stub-slots 2] [--skip-local] [--skip-stub]

Each "session" is a thread calling ``runtime.run_task`` (the app's path: device queue, grammar, parse)
with its own brief, all started together. Printed per N: throughput (generated tokens/s over the wall
time), p50/p95 time to first token and to completion, the queue positions the requests were first told,
peak RSS while that N ran (sampled every 20 ms), and for local N = 4 the ratio of its total time to the
mean single-request time of the same four briefs run one at a time (target ≤ 4.3: no lock convoy, no
deadlock; the briefs differ in output length, so brief 1 alone is not the baseline). The stub endpoint (tests/openai_stub.py,
vLLM behaviour) sleeps ``--stub-token-delay`` per streamed chunk and serves ``--stub-slots`` requests at
once; endpoint requests are not queued by the app (the server has its own scheduler), so they show no
positions. The machine's load average is printed: other processes on the same cores slow every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

BRIEFS = [
    "Did proactive outreach reduce churn?",
    "Did the AI support assistant reduce handled hours?",
    "Did a price discount raise renewals?",
    "Did free shipping increase basket size?",
    "Did the loyalty programme raise repeat purchases?",
    "Did onboarding emails increase activation?",
    "Did a new checkout page lift conversion?",
    "Did tutoring improve exam scores?",
]
STUB_REPLY = {"treatment": "proactive outreach", "outcome": "churn within 90 days", "design": "observational"}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakSampler:
    """Peak RSS during a block (VmHWM is process-lifetime, so it is sampled instead)."""

    def __init__(self, every_s: float = 0.02) -> None:
        self.every_s, self.peak, self._done = every_s, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_mb())
            self._done.wait(self.every_s)

    def __enter__(self) -> PeakSampler:
        self.peak = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def run_sessions(model_key: str, count: int, settings: object) -> dict[str, object]:
    """Start ``count`` run_task threads at once; per-request first-token / completion times and positions."""
    from causal_core import runtime
    from causal_core.runtime.smoke import SMOKE_TASK

    first_token: dict[int, float] = {}
    done: dict[int, float] = {}
    positions: dict[int, int] = {}
    results: dict[int, object] = {}
    start = threading.Event()
    clock: dict[str, float] = {}

    def session(index: int) -> None:
        def progress(event: object) -> None:
            if event.phase == "queued":
                positions.setdefault(index, event.position)
            elif event.tokens >= 1:
                first_token.setdefault(index, time.perf_counter() - clock["t0"])

        def text(_chunk: str) -> None:
            first_token.setdefault(index, time.perf_counter() - clock["t0"])

        start.wait()
        results[index] = runtime.run_task(SMOKE_TASK, {"brief": BRIEFS[index % len(BRIEFS)]}, model_key, settings,
                                          on_text=text, on_progress=progress, owner=f"bench session {index}")
        done[index] = time.perf_counter() - clock["t0"]

    threads = [threading.Thread(target=session, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    with PeakSampler() as sampler:
        clock["t0"] = time.perf_counter()
        start.set()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - clock["t0"]
    tokens = sum(result.new_tokens for result in results.values())
    return {
        "n": count, "wall_s": wall, "tokens": tokens, "throughput": tokens / wall if wall > 0 else 0.0,
        "ttft": [first_token.get(index, done[index]) for index in range(count)],
        "done": [done[index] for index in range(count)],
        "positions": sorted(positions.values()),
        "valid": sum(result.schema_valid for result in results.values()),
        "failures": sorted({result.failure_type for result in results.values() if result.failure_type}),
        "peak_rss_mb": sampler.peak,
    }


def serial_seconds(index: int, settings: object) -> float:
    """One brief alone (the baseline the N=4 run is compared with: same briefs, same token counts)."""
    from causal_core import runtime
    from causal_core.runtime.smoke import SMOKE_TASK

    clock = time.perf_counter()
    runtime.run_task(SMOKE_TASK, {"brief": BRIEFS[index]}, "bundled", settings)
    return time.perf_counter() - clock


def print_row(label: str, row: dict[str, object]) -> None:
    ttft, done = row["ttft"], row["done"]
    positions = ",".join(str(value) for value in row["positions"]) or "-"
    print(f"{label:<6} N={row['n']:<2} wall {row['wall_s']:7.1f} s  {row['tokens']:4d} tok  "
          f"{row['throughput']:6.2f} tok/s  TTFT p50 {percentile(ttft, .5):6.1f} p95 {percentile(ttft, .95):6.1f} s  "
          f"done p50 {percentile(done, .5):6.1f} p95 {percentile(done, .95):6.1f} s  valid {row['valid']}/{row['n']}"
          f"  positions [{positions}]  peak RSS {row['peak_rss_mb']:.0f} MB"
          + (f"  failures {row['failures']}" if row["failures"] else ""), flush=True)


def bench_local(sizes: list[int], settings: object) -> None:
    from causal_core.runtime import sessions

    before = rss_mb()
    clock = time.perf_counter()
    session = sessions.get_session("bundled")
    print(f"bundled: loaded in {time.perf_counter() - clock:.1f} s; RSS {before:.0f} → {rss_mb():.0f} MB "
          f"(model {session.memory_bytes() / 1e6:.0f} MB)", flush=True)
    run_sessions("bundled", 1, settings)  # warm-up: grammar compile, first-call allocations
    serial = [serial_seconds(index, settings) for index in range(4)]
    print(f"local serial, the 4 briefs one at a time: {', '.join(f'{value:.1f}' for value in serial)} s "
          f"(mean single request {statistics.mean(serial):.1f} s)", flush=True)
    rows = {}
    for count in sizes:
        rows[count] = run_sessions("bundled", count, settings)
        print_row("local", rows[count])
    if 4 in rows:
        ratio = rows[4]["wall_s"] / statistics.mean(serial)
        print(f"local N=4 total / mean single-request time of the same 4 briefs: {ratio:.2f} (target ≤ 4.3); "
              f"N=4 total / their serial sum: {rows[4]['wall_s'] / sum(serial):.2f}")
    peaks = [rows[count]["peak_rss_mb"] for count in sizes]
    print(f"local peak RSS by N: {', '.join(f'N={n}: {p:.0f} MB' for n, p in zip(sizes, peaks, strict=True))}; "
          f"spread {max(peaks) - min(peaks):.0f} MB vs one model copy {session.memory_bytes() / 1e6:.0f} MB")


def bench_stub(sizes: list[int], settings: object, token_delay: float, slots: int) -> None:
    from causal_core.runtime import registry
    from tests.openai_stub import start_stub

    stats: dict[str, int] = {}
    base_url, stop = start_stub(lambda _request: json.dumps(STUB_REPLY), token_delay=token_delay, slots=slots,
                                stats=stats)
    try:
        key = registry.endpoint_key("stub-model", base_url)
        print(f"stub endpoint {base_url}: {token_delay * 1000:.0f} ms per chunk, {slots} parallel slot(s)")
        for count in sizes:
            print_row("stub", run_sessions(key, count, settings))
        print(f"stub peak requests in flight: {stats.get('peak_in_flight', '?')} (slots {slots})")
    finally:
        stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--max-new-tokens", type=int, default=40)
    parser.add_argument("--stub-token-delay", type=float, default=0.02)
    parser.add_argument("--stub-slots", type=int, default=2)
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-stub", action="store_true")
    args = parser.parse_args()
    from causal_core.ai.structured import DecodingSettings

    settings = DecodingSettings(max_new_tokens=args.max_new_tokens, repair_retry=False)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"sizes {args.sizes}; max_new_tokens {args.max_new_tokens}", flush=True)
    if not args.skip_stub:
        bench_stub(args.sizes, settings, args.stub_token_delay, args.stub_slots)
    if not args.skip_local:
        bench_local(args.sizes, settings)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
