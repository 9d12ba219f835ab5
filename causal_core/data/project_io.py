"""Opening a saved project: parse, then find its data, all before anything is replaced."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from causal_core.data.loading import DataError, rebind_data
from causal_core.project import Project
from causal_core.project_file import project_from_json


@dataclass
class OpenedProject:
    project: Project
    frame: pd.DataFrame | None
    message: str


def open_project_bytes(payload: bytes) -> OpenedProject:
    """Parse a project file and regenerate built-in data; raises ProjectFileError/DataError.

    For an upload-backed project the frame is None and the message asks for the file again.
    The caller installs the result only after this returns, so a bad file changes nothing.
    """
    project = project_from_json(payload)
    source = project.data_source
    if source is None:
        return OpenedProject(project, None, f"Opened '{project.name}' (no dataset yet).")
    if source.kind == "builtin":
        frame = rebind_data(project)
        return OpenedProject(project, frame, f"Opened '{project.name}' on built-in dataset '{source.name}'.")
    return OpenedProject(
        project,
        None,
        f"Opened '{project.name}'. Its data came from the upload '{source.name}': upload that file again "
        f"(sha256 {source.sha256[:12]}…) to continue.",
    )


def project_key(project: Project) -> str:
    """Session key for a project: built-ins by dataset name, uploads by file name and hash."""
    source = project.data_source
    if source is None:
        return f"project:{project.name}"
    if source.kind == "builtin":
        return source.name
    return f"upload:{source.name}:{source.sha256[:12]}"


__all__ = ["DataError", "OpenedProject", "open_project_bytes", "project_key"]
