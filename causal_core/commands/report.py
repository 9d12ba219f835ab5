"""``report``: bundle a saved project (memo MD/HTML, project JSON, DAG files, estimates CSV) into one ZIP."""

from __future__ import annotations

import argparse
import io
import zipfile

from causal_core.commands.common import add_format_option, emit
from causal_core.commands.project import load_project_file, write_output


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="export the project's audit-trail bundle as a ZIP")
    parser.add_argument("--project", required=True, help="project JSON file")
    parser.add_argument("--out", required=True, help="ZIP file to write")
    parser.add_argument("--html-out", help="also write the standalone HTML report here")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from causal_core.reporting.report import memo_html, report_zip

    project = load_project_file(args.project)
    bundle = report_zip(project)
    write_output(args.out, bundle)
    result = {"out": args.out, "bytes": len(bundle), "files": zipfile.ZipFile(io.BytesIO(bundle)).namelist()}
    if args.html_out:
        write_output(args.html_out, memo_html(project))
        result["html_out"] = args.html_out
    emit(result, args.format)
    return 0
