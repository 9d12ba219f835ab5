"""``score memo``: the memo rubric (claims against the project's estimates), headless.

    python -m causal_core score memo --memo MEMO.json (--dataset NAME | --project P.json) [--format json]

A memo is scored against estimates: ``--dataset`` builds the example project (card, DAG, audit, estimates,
as ``python -m causal_core project`` does); ``--project`` uses the saved project's estimates.
"""

from __future__ import annotations

import argparse

from causal_core.commands.common import CliError, add_format_option, emit
from causal_core.commands.score import (
    add_source_arguments,
    checks_payload,
    read_json_file,
    require_kind,
    text_report,
)


def register_score(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("memo", help="score a memo JSON (its sections) against the project's estimates")
    parser.add_argument("--memo", required=True, metavar="MEMO.json", help="the memo sections to score")
    add_source_arguments(parser)
    add_format_option(parser)
    parser.set_defaults(handler=run)


def _project(args: argparse.Namespace):
    if args.dataset:
        from causal_core.headless import build_project

        return build_project(args.dataset)
    from causal_core.commands.score import load_project_and_frame

    project, frame = load_project_and_frame(args)
    if project.estimation is None:
        raise CliError(f"{args.project} has no estimates: run the estimation before scoring a memo against it")
    return project, frame


def run(args: argparse.Namespace) -> int:
    from causal_core.memo import score_memo

    memo = require_kind(read_json_file(args.memo, "memo"), "memo", args.memo)
    if any(not isinstance(value, str) for value in memo.values()):
        raise CliError(f"{args.memo}: every memo section must be a string")
    project, frame = _project(args)
    emit(checks_payload(score_memo(memo, project, frame)), args.format, text=lambda payload: text_report("memo", payload))
    return 0
