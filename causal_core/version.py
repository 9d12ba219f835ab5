"""Which workbench produced a result: the package version and, in a source checkout, the git commit.

Why both: the version names a release, but most users run a clone of ``main`` between releases; the short
commit says exactly which code computed the numbers in a project file, a memo or a notebook. The commit is
read at run time (``git rev-parse --short HEAD``, with a timeout) and only when the package sits in a git
checkout of this project itself; an installed wheel inside some other repository's virtualenv records none
rather than that repository's commit.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from causal_core import __version__

GIT_TIMEOUT_S = 2.0
PACKAGE_ROOT = Path(__file__).resolve().parent


def _checkout_root(package_dir: Path = PACKAGE_ROOT) -> Path | None:
    """The project folder when the package is its source tree (``<root>/causal_core`` with ``<root>/.git``)."""
    root = package_dir.parent
    return root if (root / ".git").exists() else None


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The short commit of the checkout the package runs from, or None (no checkout, no git, git too slow)."""
    root = _checkout_root()
    if root is None:
        return None
    try:
        completed = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = completed.stdout.strip()
    return commit if commit.isalnum() else None


class WorkbenchStamp(BaseModel):
    """The workbench that wrote a file: stored in project files (``Project.workbench``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(max_length=64)
    commit: str | None = Field(None, max_length=64)


def version_info() -> dict[str, str | None]:
    """``{"version": "0.9.0", "commit": "abc1234" | None}``: what project files and manifests store."""
    return {"version": __version__, "commit": git_commit()}


def current_stamp() -> WorkbenchStamp:
    """This running workbench as a stamp (the default of a new project, and what a save writes)."""
    return WorkbenchStamp(**version_info())


def version_label() -> str:
    """One line for footers and notebook cells: ``Causal Workbench 0.9.0 (commit abc1234)``."""
    commit = git_commit()
    suffix = f" (commit {commit})" if commit else ""
    return f"Causal Workbench {__version__}{suffix}"
