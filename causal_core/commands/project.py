"""``project``: build a complete example project headlessly (no model), and shared project-file loading."""

from __future__ import annotations

import argparse
import sys

from causal_core.commands.common import add_format_option, emit
from causal_core.data import builtin_names
from causal_core.project import Project
from causal_core.project_file import project_from_json, project_to_json
from causal_core.safe_io import read_input_bytes
from causal_core.safe_io import write_output as safe_write_output


def load_project_file(path: str) -> Project:
    """Read a saved project through the guarded reader; a missing, unreadable, over-size or corrupt file is
    one clear InputFileError/ProjectFileError (the size limit is checked before the file is read)."""
    from causal_core.project_file import MAX_PROJECT_MB

    payload = read_input_bytes(path, "project", max_bytes=MAX_PROJECT_MB * 1_048_576)
    return project_from_json(payload)


def write_output(path: str, content: str | bytes) -> None:
    """Write an output file through the guarded writer (a directory, a missing folder, permissions)."""
    safe_write_output(path, content)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "project", help="build a complete example project without a model (card, DAG, audit, estimates, memo)"
    )
    parser.add_argument("--dataset", required=True, choices=builtin_names())
    parser.add_argument("--out", required=True, help="project JSON file to write")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from causal_core.headless import build_project
    from causal_core.reporting.consistency import consistency_checks

    project, _ = build_project(args.dataset, progress=lambda message: print(f"… {message}", file=sys.stderr))
    write_output(args.out, project_to_json(project))
    memo_audit = project.audit_history("memo")[-1] if project.audit_history("memo") else None
    emit(
        {
            "dataset": args.dataset,
            "out": args.out,
            "estimand": project.estimation.spec.estimand if project.estimation else None,
            "covariates": project.estimation.spec.covariates if project.estimation else [],
            "estimates": [row.model_dump() for row in project.estimation.estimates] if project.estimation else [],
            "main_estimate": project.memo.deterministic.get("main_estimate", ""),
            "memo_score": f"{memo_audit.score}/{memo_audit.max_score}" if memo_audit else None,
            "consistency": {item.check: item.status for item in consistency_checks(project)},
        },
        args.format,
    )
    return 0
