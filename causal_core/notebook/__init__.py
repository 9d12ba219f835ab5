"""Reproducible analysis (docs/notebook.md): export a runnable notebook and its .py twin that re-run every stage.

Files follow the steps: ``checks`` (which stages are done, is the data the project's, can the files be
written) → ``text`` (the Markdown: brief, card, decisions, all escaped) → ``cells`` (code and Markdown cells
in workflow order, each with a role) → ``student`` (result cells become TODOs) → ``writer`` (nbformat
notebook, percent-format script, both-or-neither writing). ``api`` is what the exported cells call.
"""

from __future__ import annotations

from causal_core.notebook.cells import NUMBERS_TAG, build_cells  # noqa: F401
from causal_core.notebook.checks import (  # noqa: F401
    STAGES,
    ExportError,
    ExportPaths,
    check_data,
    check_writable,
    completed_stages,
    export_paths,
    last_stage,
    resolve_data_file,
    stage_notice,
)
from causal_core.notebook.student import is_result, student_cells  # noqa: F401
from causal_core.notebook.writer import NotebookExport, build_export, percent_script, write_export  # noqa: F401

__all__ = [
    "NUMBERS_TAG",
    "STAGES",
    "ExportError",
    "ExportPaths",
    "NotebookExport",
    "build_cells",
    "build_export",
    "check_data",
    "check_writable",
    "completed_stages",
    "export_paths",
    "is_result",
    "last_stage",
    "percent_script",
    "resolve_data_file",
    "stage_notice",
    "student_cells",
    "write_export",
]
