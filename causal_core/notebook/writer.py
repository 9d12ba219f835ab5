"""From one cell list to the two files: the .ipynb (nbformat, validated) and its .py twin (percent format).

Why one source: the script and the notebook must never disagree, so the script is written from the same
cells (``# %%`` code cells, ``# %% [markdown]`` cells with every line commented), the format Jupytext, VS Code
and Spyder open as cells. Writing goes through a temporary file per target and both are checked first, so a
failed export leaves neither file behind.
"""

from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from causal_core.errors import WorkbenchInputError
from causal_core.notebook.cells import build_cells
from causal_core.notebook.checks import ExportError, ExportPaths, check_writable, last_stage, stage_notice
from causal_core.notebook.student import STUDENT_BANNER, student_cells
from causal_core.project import Project

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


@dataclass(frozen=True)
class NotebookExport:
    """The notebook, its script twin, and what the export tells the analyst."""

    notebook: NotebookNode
    script: str
    last_stage: str | None
    notice: str
    student: bool

    @property
    def ipynb(self) -> str:
        return nbformat.writes(self.notebook)


def make_notebook(cells: list[NotebookNode], project: Project, student: bool) -> NotebookNode:
    notebook = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": KERNELSPEC,
            "language_info": {"name": "python"},
            "causal_workbench": {
                "project": project.name,
                "data_sha256": project.data_source.sha256 if project.data_source else None,
                "last_stage": last_stage(project),
                "student_version": student,
            },
        },
    )
    nbformat.validate(notebook)
    return notebook


def percent_script(notebook: NotebookNode) -> str:
    """The notebook as a percent-format Python script: runnable top to bottom, Markdown kept as comments."""
    parts = ["# ---\n# Causal Workbench reproducible analysis (percent format: one '# %%' per notebook cell)\n# ---"]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            body = "\n".join(f"# {line}".rstrip() for line in cell.source.splitlines())
            parts.append(f"# %% [markdown]\n{body}")
        else:
            parts.append(f"# %%\n{cell.source}")
    return "\n\n".join(parts) + "\n"


def build_export(project: Project, project_file: str, data_file: str | None = None, *, student: bool = False) -> NotebookExport:
    """The full (or student) notebook and script for a project; paths are as the notebook will see them."""
    cells = build_cells(project, project_file, data_file)
    if student:
        cells = student_cells(cells)
        cells[0] = copy.deepcopy(cells[0])
        cells[0]["source"] = f"{cells[0]['source']}\n\n{STUDENT_BANNER}"
    notebook = make_notebook(cells, project, student)
    return NotebookExport(notebook, percent_script(notebook), last_stage(project), stage_notice(project), student)


def _replace(path: Path, content: str) -> Path:
    """Write to a temporary file beside ``path``; the caller renames it into place once both are written."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(content)
    return Path(temporary)


def write_export(export: NotebookExport, paths: ExportPaths) -> None:
    """Write both files or neither (ExportError says why)."""
    check_writable(paths)
    written: list[Path] = []
    try:
        written.append(_replace(paths.notebook, export.ipynb))
        written.append(_replace(paths.script, export.script))
        os.replace(written[0], paths.notebook)
        os.replace(written[1], paths.script)
    except OSError as error:
        for temporary in written:
            temporary.unlink(missing_ok=True)
        raise ExportError(f"cannot write {paths.notebook}: {error.strerror or error}") from None


BUNDLE_README = """
analysis.ipynb     a runnable notebook that re-runs every stage from project.json (data sha256 check, DAG,
                   audit, estimation with the exact specification, sensitivity, specification curve, memo
                   numbers); an upload-backed project needs its data file beside it, under its original name
analysis.py        the same cells as a percent-format script
"""


def bundle_files(project: Project) -> dict[str, str]:
    """The notebook and its twin for the report ZIP, referring to the ZIP's own project.json (and, for an upload,
    the original file name beside it). A project that cannot be exported gets a note instead, never a failed ZIP."""
    source = project.data_source
    data_file = source.name if source is not None and source.kind == "upload" else None
    try:
        export = build_export(project, "project.json", data_file)
    except WorkbenchInputError as error:  # a project the notebook cannot reproduce: the rest of the bundle stays
        return {"notebook_unavailable.txt": f"The notebook could not be built: {error}\n"}
    return {"analysis.ipynb": export.ipynb, "analysis.py": export.script}
