"""Times the memo stage on the headless retention and support projects (no model).

Prints: build_project (card → DAG → audit → estimation → memo), deterministic memo, rubric,
consistency panel, HTML report and ZIP bundle, each the best of a few repeats.
"""

from __future__ import annotations

import time

from causal_core.headless import build_project
from causal_core.memo import deterministic_memo, score_memo
from causal_core.reporting.consistency import consistency_checks
from causal_core.reporting.report import memo_html, report_zip


def best_of(function, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_dataset(dataset: str) -> None:
    start = time.perf_counter()
    project, frame = build_project(dataset)
    build = time.perf_counter() - start
    sections = project.memo.deterministic
    print(f"{dataset}: build_project {build:.2f} s")
    print(f"  deterministic memo  {best_of(lambda: deterministic_memo(project, frame)) * 1000:7.1f} ms")
    print(f"  memo rubric         {best_of(lambda: score_memo(sections, project, frame)) * 1000:7.1f} ms")
    print(f"  consistency panel   {best_of(lambda: consistency_checks(project)) * 1000:7.1f} ms")
    print(f"  HTML report         {best_of(lambda: memo_html(project)) * 1000:7.1f} ms")
    zip_time = best_of(lambda: report_zip(project), repeats=3)
    print(f"  ZIP bundle          {zip_time * 1000:7.1f} ms ({len(report_zip(project)) / 1024:.0f} KiB)")


def main() -> None:
    for dataset in ("retention", "support"):
        bench_dataset(dataset)


if __name__ == "__main__":
    main()
