"""Benchmark: page-switch time of every page on `retention` with AppTest, uncached vs cached computations.

    .venv/bin/python bench/bench_pages.py [--repeats 3] [--pages estimation.py,dag.py]

The session holds the worked example (`python -m causal_core project --dataset retention`: approved card, DAG,
audit, estimates, specification curve, memo), so every page draws its results, as in a teacher's demo. For each
page it times `switch_page(page).run()`:
* **uncached**: `st.cache_data` / `st.cache_resource` cleared before the switch (what the first visitor pays, and
  what every switch cost before the pages cached their pure computations);
* **cached**: the median of `--repeats` switches back to the page after visiting another one.
Prints seconds per page and the ratio; the target (issue 17) is < 1 s per page with cached computations.
AppTest runs the script in-process without a browser, so the figures are the Python side of a rerun (the
browser's drawing comes on top).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PAGES = ["overview.py", "question.py", "dag.py", "data_audit.py", "estimation.py", "specification_curve.py",
         "memo.py", "model_lab.py"]
TARGET_S = 1.0


def _app_with_worked_example():
    from streamlit.testing.v1 import AppTest

    from causal_core.headless import build_project

    project, _ = build_project("retention")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    at.session_state["cw_projects"]["retention"] = project
    return at


def _switch(at, page: str) -> float:
    start = time.perf_counter()
    at.switch_page(f"app_pages/{page}").run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"{page} raised: {at.exception[0].message}")
    return elapsed


def _clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()


def measure(pages: list[str], repeats: int) -> list[tuple[str, float, float]]:
    at = _app_with_worked_example()
    rows = []
    for page in pages:
        other = "overview.py" if page != "overview.py" else "question.py"
        _switch(at, other)
        _clear_caches()
        uncached = _switch(at, page)
        cached = []
        for _ in range(repeats):
            _switch(at, other)
            cached.append(_switch(at, page))
        rows.append((page, uncached, statistics.median(cached)))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pages", default=",".join(PAGES))
    args = parser.parse_args(argv)
    pages = [p if p.endswith(".py") else f"{p}.py" for p in args.pages.split(",") if p]
    print(f"Page switch on retention (worked example), AppTest; cached = median of {args.repeats}")
    print(f"{'page':<26}{'uncached s':>12}{'cached s':>10}{'ratio':>8}  target < {TARGET_S:g} s")
    for page, uncached, cached in measure(pages, args.repeats):
        mark = "ok" if cached < TARGET_S else "SLOW"
        print(f"{page:<26}{uncached:>12.2f}{cached:>10.2f}{uncached / cached:>7.1f}×  {mark}")


if __name__ == "__main__":
    main()
