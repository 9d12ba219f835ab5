"""``memo``: write a saved project's decision memo as Markdown."""

from __future__ import annotations

import argparse

from causal_core.commands.common import add_format_option, emit
from causal_core.commands.project import load_project_file, write_output


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("memo", help="write the project's decision memo as Markdown")
    parser.add_argument("--project", required=True, help="project JSON file")
    parser.add_argument("--out", required=True, help="Markdown file to write ('-' prints it)")
    parser.add_argument(
        "--which",
        choices=["auto", "final", "deterministic"],
        default="auto",
        help="auto = the analyst's final memo when written, else the deterministic memo (default)",
    )
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from causal_core.commands.common import CliError
    from causal_core.memo import SECTION_KEYS, deterministic_memo, memo_markdown, score_memo
    from causal_core.reporting.report import project_memo_markdown

    project = load_project_file(args.project)
    if args.which == "auto":
        markdown = project_memo_markdown(project)
        sections = (
            project.memo.final if any(project.memo.final.get(k) for k in SECTION_KEYS) else deterministic_memo(project)
        )
    elif args.which == "final":
        if not any(project.memo.final.get(key) for key in SECTION_KEYS):
            raise CliError("this project has no final memo yet (use --which deterministic)")
        sections = project.memo.final
        markdown = memo_markdown(project, sections, title="Decision memo (analyst final)")
    else:
        sections = deterministic_memo(project)
        markdown = memo_markdown(project, sections, title="Decision memo (deterministic)")
    if args.out == "-":
        print(markdown)
        return 0
    write_output(args.out, markdown)
    checks = score_memo(sections, project)
    emit(
        {
            "out": args.out,
            "memo": "final" if sections is project.memo.final else "deterministic",
            "score": f"{sum(c.passed for c in checks)}/{len(checks)}",
            "failed_checks": [c.name for c in checks if not c.passed],
        },
        args.format,
    )
    return 0
