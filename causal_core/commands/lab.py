"""``lab``: run one artifact task across models on the built-in cases (N09 §15) and print the tables."""

from __future__ import annotations

import argparse
from typing import Any

from causal_core import lab_bench as lab
from causal_core.ai.tasks import task_names
from causal_core.commands.common import CliError, add_format_option, emit
from causal_core.lab_bench import endpoints as lab_endpoints
from causal_core.lab_bench.cli import decoding_settings, resume_or_plan, run_benchmark, run_saving_progress


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lab",
        help="compare models on one artifact task: schema reliability, rubric score, failures",
        description="Endpoint models run at once, at most --max-in-flight cases per server; local models one at "
        "a time (load, every case and repeat, unload). Unavailable models are listed with the reason and not run. "
        "A failed run scores zero and counts in reliability; truncated runs are counted apart.",
    )
    parser.add_argument("--task", required=True, help=f"one of: {', '.join(task_names())}")
    parser.add_argument("--models", required=True, help="comma-separated model keys (bundled, HF ids, endpoint:…)")
    parser.add_argument("--cases", default=None,
                        help="comma-separated built-in datasets (default: all built-ins); for dag-benchmark the "
                        "graph names (default: every shipped graph and built-in), 'project' with --project")
    parser.add_argument("--project", default=None,
                        help="a saved project file: the 'current' case (any task), or for dag-benchmark the 'project' graph")
    parser.add_argument("--context-tokens", type=int, default=None,
                        help="dag-benchmark: the models' context window in tokens (default 4096); larger graphs are refused")
    parser.add_argument("--repeats", type=int, default=1, help="runs per (model, case); repeat r uses seed+r")
    parser.add_argument("--seed", type=int, default=209, help="base seed (default 209)")
    parser.add_argument("--temperature", type=float, default=None, help="decoding temperature (default 0 = greedy)")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="generation budget per call")
    parser.add_argument(
        "--state", default=None,
        help="lab JSON file written after every run; rerunning the same command with it resumes an interrupted run",
    )
    parser.add_argument("--max-in-flight", type=int, default=None,
                        help="endpoint cases sent at once per server (default 4, at most 64)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def _text(payload: dict[str, Any]) -> str:
    import pandas as pd

    lines = [f"task {payload['task']} · run {payload['run_id']} · {payload['status']}"]
    columns = [*lab.SUMMARY_COLUMNS, "mean_tokens_per_s"]
    summary = pd.DataFrame(payload["summary"], columns=columns)
    lines += ["", "Summary", summary.to_string(index=False) if not summary.empty else "(no runs)"]
    if payload["unavailable"]:
        lines += ["", "Not run (unavailable)"]
        for model in payload["unavailable"]:
            fetch = f" — fetch: {model['fetch_command']}" if model["fetch_command"] else ""
            lines.append(f"  {model['model_id']}: {model['reason']}{fetch}")
    if payload["failed_runs"]:
        lines += ["", "Failed runs (scored 0)"]
        for row in payload["failed_runs"]:
            lines.append(f"  {row['model_id']} · {row['case_id']} · repeat {row['repeat']}: {row['failure_type']}"
                         f" — {row['error'][:160]}")
    stages = ", ".join(f"{row['repair_stage']}={row['cases']}" for row in payload["repair_stages"])
    lines += ["", f"Repair stages: {stages or '(none)'}"]
    return "\n".join(lines)


def _project_case(path: str) -> lab.LabCase:
    """A saved project as the 'current' case; its rows when it is a built-in (an upload's file is not at hand,
    so a task that needs rows says so through case_inputs)."""
    from causal_core.commands.project import load_project_file

    project = load_project_file(path).model_copy(update={"lab": {}})
    frame = None
    source = project.data_source
    if source is not None and source.kind == "builtin":  # a built-in regenerates; an upload's rows are not here
        from causal_core.data import analysis_frame, rebind_data

        frame = analysis_frame(project, rebind_data(project))
    return lab.LabCase(lab.CURRENT_CASE, project, frame, label=project.name)


def run(args: argparse.Namespace) -> int:
    lab.task_for(args.task)  # unknown task -> one line, exit 2, before any model work
    if args.task == "dag-benchmark":
        return run_benchmark(args)
    if args.repeats < 1:
        raise CliError("--repeats must be at least 1")
    case_ids = _split(args.cases) if args.cases else [*lab.builtin_case_ids(), *([lab.CURRENT_CASE] if args.project else [])]
    offered = [*lab.builtin_case_ids(), lab.CURRENT_CASE]
    for case_id in case_ids:
        if case_id not in offered:
            raise CliError(f"unknown case '{case_id}': choose from {', '.join(offered)} ('current' with --project)")
    if lab.CURRENT_CASE in case_ids and not args.project:
        raise CliError("case 'current' needs --project FILE (a saved project)")
    models = lab.resolve_models(_split(args.models))
    settings = decoding_settings(args)
    if args.max_in_flight is not None and not 1 <= args.max_in_flight <= lab_endpoints.MAX_IN_FLIGHT:
        raise CliError(f"--max-in-flight must be between 1 and {lab_endpoints.MAX_IN_FLIGHT}, got {args.max_in_flight}")
    plan = lab.new_run(args.task, case_ids, models, args.repeats, args.seed, settings,
                       max_in_flight=args.max_in_flight or lab_endpoints.DEFAULT_IN_FLIGHT)

    state_path, state, run_plan = resume_or_plan(args, plan)

    cases = {case_id: lab.builtin_case(case_id) for case_id in case_ids if case_id != lab.CURRENT_CASE}
    if lab.CURRENT_CASE in case_ids:
        cases[lab.CURRENT_CASE] = _project_case(args.project)
        lab.case_inputs(lab.task_for(args.task), cases[lab.CURRENT_CASE])  # a project the task cannot use: one line

    state = run_saving_progress(lab.run_lab, args, state_path, state, run_plan, cases)
    if state is None:
        return 130
    payload = lab.report_payload(lab.latest_run(state))
    emit(payload, args.format, text=_text)
    return 0
