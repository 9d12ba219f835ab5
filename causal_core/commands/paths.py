"""``paths``: every treatment–outcome path of a DAG file, causal or biasing, open or closed given a set.

    python -m causal_core paths --dag FILE [--treatment X] [--outcome Y] [--adjust A,B] [--limit 200]
        [--format json|text]

Without ``--adjust`` the file's own ``adjusted`` nodes are used. A cyclic graph, an unreadable file, an
unknown node or an adjustment for the treatment/outcome/a latent node exits with status 2 and the reason.
"""

from __future__ import annotations

import argparse
from typing import Any

from causal_core import dag_io
from causal_core.commands.common import CliError, add_format_option, emit
from causal_core.dag import paths


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("paths", help="list treatment–outcome paths: causal/biasing, open/closed")
    parser.add_argument("--dag", required=True, help="DAG file: .dagitty, .dot/.gv or .json (node-link)")
    parser.add_argument("--treatment", help="treatment node (default: the file's exposure)")
    parser.add_argument("--outcome", help="outcome node (default: the file's outcome)")
    parser.add_argument("--adjust", help="comma-separated adjustment set (default: the file's adjusted nodes)")
    parser.add_argument("--limit", type=int, default=paths.MAX_LISTED_PATHS, help="paths listed, shortest first")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def analyse(args: argparse.Namespace) -> dict[str, Any]:
    """The command's payload (also used by tests without a subprocess)."""
    try:
        spec = dag_io.read_file(args.dag)
    except dag_io.DagFormatError as error:
        raise CliError(f"{args.dag}: {error}") from None
    if args.limit < 1:
        raise CliError("--limit must be at least 1")
    adjusted = None if args.adjust is None else [name.strip() for name in args.adjust.split(",") if name.strip()]
    try:
        report = paths.list_paths(spec, adjusted, args.treatment, args.outcome, limit=args.limit)
    except paths.DagPathError as error:
        raise CliError(str(error)) from None
    causal_open, biasing_open = report.open_counts()
    return {
        "treatment": report.treatment,
        "outcome": report.outcome,
        "adjusted": report.adjusted,
        "selected": report.selected,
        "summary": report.summary,
        "open_causal": causal_open,
        "open_biasing": biasing_open,
        "capped": report.capped,
        "limit": report.limit,
        "paths": [
            {"path": p.text, "kind": p.kind, "open": p.open, "reason": p.reason, "colliders": p.colliders}
            for p in report.paths
        ],
    }


def _text(payload: dict[str, Any]) -> str:
    lines = [payload["summary"]]
    for item in payload["paths"]:
        lines.append(f"  [{item['kind']:<8} {'open' if item['open'] else 'closed':<6}] {item['path']}  — {item['reason']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    emit(analyse(args), args.format, _text)
    return 0
