"""``lab --task dag-benchmark``: grade DAG drafts against known graphs (oracle/empty calibration rows, real models)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from causal_core import lab_bench as lab
from causal_core.ai.structured import DecodingSettings
from causal_core.commands.common import CliError, emit
from causal_core.lab_bench import endpoints as lab_endpoints
from causal_core.lab_bench import runner
from causal_core.lab_bench.cases import PROJECT_CASE, BenchError, default_case_ids
from causal_core.lab_bench.task import DEFAULT_CONTEXT_TOKENS

TEXT_COLUMNS = ["label", "kind", "cases", "schema_reliability", "edge_f1", "skeleton_f1", "orientation_accuracy",
                "shd", "adjustment_valid", "adjustment_bias"]



def decoding_settings(args: argparse.Namespace) -> DecodingSettings:
    """The decoding settings a `lab` run asked for, or CliError naming the bad one."""
    updates: dict[str, Any] = {"seed": args.seed}
    if args.temperature is not None:
        updates["temperature"] = args.temperature
    if args.max_new_tokens is not None:
        updates["max_new_tokens"] = args.max_new_tokens
    try:
        return DecodingSettings(**updates)
    except ValueError as error:
        first = error.errors()[0] if hasattr(error, "errors") else {"msg": str(error), "loc": ()}
        raise CliError(f"bad decoding setting {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def read_lab_state(path: Path | None) -> dict[str, Any]:
    """A saved lab state (to resume a run), an empty one when there is none, or CliError saying why not."""
    if path is None or not path.exists():
        return lab.empty_lab()
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CliError(f"cannot read lab state {path}: {error}") from None
    if not isinstance(state, dict) or not isinstance(state.get("runs"), list):
        raise CliError(f"{path} is not a lab state file (no 'runs' list)")
    return state


def same_plan(run: dict[str, Any], plan: dict[str, Any]) -> bool:
    """Whether a saved run is the one asked for again (then it resumes instead of starting over)."""
    keys = ("task", "case_ids", "repeats", "base_seed", "settings")
    same_models = [m["key"] for m in run.get("models", [])] == [m["key"] for m in plan["models"]]
    return same_models and all(run.get(key) == plan[key] for key in keys)


def resume_or_plan(args: argparse.Namespace, plan: dict[str, Any]) -> tuple[Path | None, dict[str, Any], dict[str, Any]]:
    """The ``--state`` file, its saved state and the run to do: an unfinished run of the same plan resumes."""
    state_path = Path(args.state) if args.state else None
    state = read_lab_state(state_path)
    previous = lab.latest_run(state)
    resumable = previous is not None and previous.get("status") != "complete" and same_plan(previous, plan)
    return state_path, state, (previous if resumable else plan)


def run_saving_progress(
    run: Callable[..., dict[str, Any]], args: argparse.Namespace, state_path: Path | None, *run_args: Any
) -> dict[str, Any] | None:
    """``run(*run_args, progress=…, on_update=…)`` with progress on stderr and the state saved after each result.

    Why one helper: the model lab and the DAG benchmark both resume from the same state file, so a Ctrl-C must
    leave it in the same shape for both. Returns None after Ctrl-C (the completed results are already saved).
    """
    def save(current: dict[str, Any]) -> None:
        if state_path is not None:
            state_path.write_text(json.dumps(current, indent=1, default=str), encoding="utf-8")

    def progress(done: int, total: int, message: str) -> None:
        if not args.quiet:
            print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)

    try:
        return run(*run_args, progress=progress, on_update=save)
    except KeyboardInterrupt:
        print("interrupted: completed runs are kept" + (f" in {state_path}; rerun to resume" if state_path else ""),
              file=sys.stderr)
        return None


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _text(payload: dict[str, Any]) -> str:
    lines = [f"task dag-benchmark · run {payload['run_id']} · {payload['status']}", "", "Graphs"]
    lines += [f"  {g['case_id']} ({g['kind']}): {g['variables']} variables, {g['edges']} edges, "
              f"{g['treatment']} -> {g['outcome']}" for g in payload["graphs"]]
    for title, key in (("Summary", "summary"), ("Famous vs novel", "split")):
        table = pd.DataFrame(payload[key]).reindex(columns=TEXT_COLUMNS)
        lines += ["", title, table.to_string(index=False, float_format=lambda v: f"{v:.3f}") if not table.empty else "(no runs)"]
    if payload["unavailable"]:
        lines += ["", "Not run (unavailable)"] + [f"  {m['model_id']}: {m['reason']}" for m in payload["unavailable"]]
    if payload["failed_runs"]:
        lines += ["", "Failed runs (scored 0)"] + [f"  {r['model_id']} · {r['case_id']}: {r['failure_type']} — {r['error'][:160]}"
                                                   for r in payload["failed_runs"]]
    return "\n".join(lines)


def _project(path: str | None) -> Any:
    if path is None:
        return None
    from causal_core.commands.project import load_project_file

    return load_project_file(path)


def run_benchmark(args: argparse.Namespace) -> int:
    """Plan, check (graph names, context sizes), run and print; every bad input is one line, exit 2."""
    if args.repeats < 1:
        raise CliError("--repeats must be at least 1")
    project = _project(args.project)
    case_ids = _split(args.cases) if args.cases else [*default_case_ids(), *([PROJECT_CASE] if project else [])]
    try:
        cases = runner.prepare(case_ids, project)
    except BenchError as error:
        raise CliError(str(error)) from None
    models = runner.resolve_models(_split(args.models))
    context = args.context_tokens or DEFAULT_CONTEXT_TOKENS
    if context < 256:
        raise CliError(f"--context-tokens must be at least 256, got {context}")
    problems = runner.context_problems(cases, models, context)
    if problems:
        raise CliError("; ".join(problems) + " (leave the graph out with --cases, or pass --context-tokens)")
    plan = runner.new_run(list(cases), models, repeats=args.repeats, base_seed=args.seed, settings=decoding_settings(args),
                          max_in_flight=args.max_in_flight or lab_endpoints.DEFAULT_IN_FLIGHT)
    state_path, state, run_plan = resume_or_plan(args, plan)
    state = run_saving_progress(runner.run_benchmark, args, state_path, state, run_plan, cases)
    if state is None:
        return 130
    emit(runner.payload(lab.latest_run(state), cases), args.format, text=_text)
    return 0
