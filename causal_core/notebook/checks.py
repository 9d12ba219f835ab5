"""Before anything is written: which stages the project has completed, where its data is, where the files go.

Why a pre-flight step: a notebook that fails in its second cell (missing upload, other data) or an export that
leaves one of its two files behind is worse than none, so every check runs first and a failure writes nothing.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from causal_core.data import DataError
from causal_core.errors import WorkbenchInputError
from causal_core.project import Project

# Workflow order: (key, what the reader is told).
STAGES = (
    ("data", "the data check"),
    ("question", "the estimand card"),
    ("dag", "the DAG"),
    ("audit", "the data audit"),
    ("estimation", "the estimation and sensitivity analysis"),
    ("multiverse", "the specification curve"),
    ("memo", "the memo's numbers"),
)
STAGE_TEXT = dict(STAGES)


class ExportError(WorkbenchInputError):
    """The export cannot be written; the message says why and nothing was written."""


def completed_stages(project: Project) -> list[str]:
    """The stages whose artifacts the project holds (the memo's numbers need an estimation)."""
    done = {
        "data": project.data_source is not None,
        "question": project.estimand_card is not None,
        "dag": project.dag is not None and bool(project.dag.nodes),
        "audit": project.data_audit is not None,
        "estimation": project.estimation is not None,
        "multiverse": project.multiverse is not None,
        "memo": project.estimation is not None,
    }
    return [key for key, _ in STAGES if done[key]]


def last_stage(project: Project) -> str | None:
    """The last completed stage in workflow order (None for a project with nothing in it)."""
    stages = completed_stages(project)
    return stages[-1] if stages else None


def stage_notice(project: Project) -> str:
    """'' for a complete analysis, else the sentence the CLI, the page and the notebook all show."""
    if project.estimation is not None:
        return ""
    last = last_stage(project)
    done = STAGE_TEXT[last] if last else "the project's text"
    missing = [STAGE_TEXT[key] for key, _ in STAGES if key not in completed_stages(project) and key != "multiverse"]
    return (
        f"This project has no estimation yet, so the notebook stops after {done}; not yet done: "
        f"{', '.join(missing)}. Run the Estimation page (or `python -m causal_core estimate`) and export again."
    )


# ---- data ------------------------------------------------------------------------------------
def resolve_data_file(project: Project, data: str | None, project_file: str | Path | None) -> Path | None:
    """Where an upload's rows are: ``--data`` when given, else the recorded file name beside the project file."""
    source = project.data_source
    if source is None or source.kind == "builtin":
        return None
    if data:
        return Path(data)
    return _beside_project(source.name, Path(project_file).parent if project_file else Path.cwd())


def _beside_project(name: str, folder: Path) -> Path:
    """The recorded data file inside the project's folder, never elsewhere: the name must be a base name (a
    project file is hostile input) and the file, symlinks followed, must resolve inside that folder."""
    from causal_core.safe_io import data_file_name_problem

    problem = data_file_name_problem(name)
    if problem:
        raise DataError(f"The project's data file cannot be read: {problem}. Pass the file with --data.")
    candidate = folder / name
    if candidate.exists() and candidate.resolve().parent != folder.resolve():
        raise DataError(f"The project's data file {name!r} is a link that leads outside the project's folder; "
                        "pass the file with --data.")
    return candidate


def check_data(project: Project, data_file: Path | None) -> None:
    """Raise DataError unless the data regenerate (built-in) or the file's sha256 matches (upload)."""
    from causal_core.notebook.api import load_checked_data

    if project.data_source is None:
        return
    load_checked_data(project, data_file)


# ---- output paths ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportPaths:
    notebook: Path
    script: Path


def export_paths(out: str | Path) -> ExportPaths:
    """The .ipynb and its .py twin beside it (same stem)."""
    target = Path(out)
    if target.suffix.lower() != ".ipynb":
        raise ExportError(f"cannot write {out}: the notebook's file name must end in .ipynb")
    return ExportPaths(target, target.with_suffix(".py"))


def _probe(folder: Path) -> str | None:
    """Why nothing can be created in ``folder`` (None when a file can): a real attempt, since permission bits
    say nothing for root or a read-only mount."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".cw-probe-"):
            return None
    except OSError as error:
        return error.strerror or type(error).__name__


def check_writable(paths: ExportPaths) -> None:
    """Raise ExportError when either file cannot be written: a directory in the way, no folder, no permission."""
    for path in (paths.notebook, paths.script):
        if path.is_dir():
            raise ExportError(f"cannot write {path}: it is a directory")
        parent = path.parent
        if not parent.is_dir():
            raise ExportError(f"cannot write {path}: folder {parent} does not exist")
        if path.exists() and not os.access(path, os.W_OK):
            raise ExportError(f"cannot write {path}: the file is read-only")
        problem = _probe(parent)
        if problem:
            raise ExportError(f"cannot write {path}: folder {parent} is not writable ({problem})")


__all__ = ["DataError", "ExportError", "ExportPaths", "STAGES", "check_data", "check_writable",
           "completed_stages", "export_paths", "last_stage", "resolve_data_file", "stage_notice"]
