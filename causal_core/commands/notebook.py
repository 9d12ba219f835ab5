"""``notebook``: export a saved project as a runnable Jupyter notebook and its .py twin.

    python -m causal_core notebook --project P.json [--data FILE] --out analysis.ipynb [--student]

The notebook re-runs every stage from the project file (data check, DAG, audit, estimation with the exact
specification, sensitivity, specification curve, memo numbers). Before anything is written the data are
checked (a built-in regenerates to the recorded sha256; an upload's file, --data or the recorded name beside
the project file, must have the recorded sha256) and both output files are checked writable: any failure
writes nothing. A project without an estimation is exported up to its last completed stage, and the
message says so.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from causal_core.commands.common import CliError, add_format_option, emit
from causal_core.commands.project import load_project_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("notebook", help="export a runnable notebook (.ipynb + .py) that re-runs the analysis")
    parser.add_argument("--project", required=True, help="project JSON file")
    parser.add_argument("--data", metavar="FILE", help="an upload-backed project's data file (default: the recorded "
                                                       "file name beside the project file)")
    parser.add_argument("--out", required=True, help="notebook to write (.ipynb); the .py twin goes beside it")
    parser.add_argument("--student", action="store_true", help="student version: result cells become TODO cells")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def notebook_relative(path: Path, notebook: Path) -> str:
    """A path as the notebook sees it: relative to the notebook's folder (Jupyter's working directory)."""
    return os.path.relpath(path.resolve(), notebook.resolve().parent)


def run(args: argparse.Namespace) -> int:
    from causal_core.notebook import (
        ExportError,
        build_export,
        check_data,
        check_writable,
        export_paths,
        resolve_data_file,
        write_export,
    )

    project = load_project_file(args.project)
    try:
        paths = export_paths(args.out)
        check_writable(paths)
    except ExportError as error:
        raise CliError(str(error)) from None
    data_file = resolve_data_file(project, args.data, args.project)
    check_data(project, data_file)  # DataError (a ValueError) → one line, exit 2, nothing written
    export = build_export(
        project,
        notebook_relative(Path(args.project), paths.notebook),
        notebook_relative(data_file, paths.notebook) if data_file else None,
        student=args.student,
    )
    try:
        write_export(export, paths)
    except ExportError as error:
        raise CliError(str(error)) from None
    emit(
        {
            "out": str(paths.notebook),
            "script": str(paths.script),
            "student_version": args.student,
            "cells": len(export.notebook.cells),
            "last_stage": export.last_stage,
            "notice": export.notice or "complete: every stage up to the memo's numbers",
        },
        args.format,
    )
    return 0
