"""The one guarded reader and writer every CLI command uses for the files a user names.

Why one place: a directory given as ``--dag``, ``--data``, ``--out``, ``--bundle-out`` or ``--dictionary-out``
raised ``IsADirectoryError`` tracebacks, and a deeply nested file raised ``RecursionError`` in whichever parser
met it first. Each helper here turns those into one sentence naming the argument's file, so commands only
say *what* the file is.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from causal_core.errors import WorkbenchInputError

T = TypeVar("T")


class InputFileError(WorkbenchInputError):
    """A file that cannot be read or written; the message names it and says why (CLI exit status 2)."""


def read_input_bytes(path: str, what: str = "input", max_bytes: int | None = None) -> bytes:
    """A file's bytes, or InputFileError for a missing path, a directory, an over-size file or an OS error."""
    file = Path(path)
    if not file.exists():
        raise InputFileError(f"{what} file not found: {path}")
    if file.is_dir():
        raise InputFileError(f"{what} path is a directory, not a file: {path}")
    if not file.is_file():
        raise InputFileError(f"{what} path is not a regular file: {path}")
    if max_bytes is not None and file.stat().st_size > max_bytes:
        raise InputFileError(
            f"{what} file {path} is {file.stat().st_size / 1_048_576:.1f} MB; the limit is {max_bytes / 1_048_576:g} MB"
        )
    try:
        return file.read_bytes()
    except OSError as error:
        raise InputFileError(f"cannot read {what} file {path}: {error.strerror or error}") from None


def write_output(path: str, content: str | bytes, what: str = "output") -> None:
    """Write a file whole; a directory, a missing folder or a permission problem is one InputFileError line."""
    target = Path(path)
    if target.is_dir():
        raise InputFileError(f"cannot write {what} {path}: it is a directory (give a file name)")
    if not target.parent.exists():
        raise InputFileError(f"cannot write {what} {path}: folder {target.parent} does not exist")
    try:
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    except OSError as error:
        raise InputFileError(f"cannot write {what} {path}: {error.strerror or error}") from None


def parse_guarded(parse: Callable[[], T], what: str, error_type: type[Exception] = InputFileError) -> T:
    """Run a parser; a RecursionError (a file nested thousands of levels deep) becomes a message, not a crash."""
    try:
        return parse()
    except RecursionError:
        raise error_type(f"the {what} is nested too deeply to read (is it a file this app or DAGitty wrote?)") from None


# ---- CSV exports a spreadsheet opens (OWASP "CSV injection") -------------------------------------------------
# A cell starting with one of these is a formula to Excel/LibreOffice/Sheets (=HYPERLINK(...), -cmd|...).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _formula_like(text: str) -> bool:
    """Whether a spreadsheet would read this text as a formula. Leading quotes are looked through, so a value
    that already starts with ``'=`` is prefixed once more and the round trip stays exact."""
    core = text.lstrip("'")
    if not core.startswith(FORMULA_STARTS):
        return False
    return not (core == text and _PLAIN_NUMBER.fullmatch(text))  # "-0.046" is data; "-2+3" is a formula


def neutralise_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: ``'`` before anything formula-like; numbers (and numeric text such
    as ``-0.046``) and every other value unchanged."""
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


def restore_cell(value: Any) -> Any:
    """neutralise_cell undone: the leading ``'`` removed exactly where neutralise_cell put one (a value it
    left alone never starts with ``'`` followed by formula-like text, so nothing else changes)."""
    if isinstance(value, str) and value.startswith("'") and _formula_like(value[1:]):
        return value[1:]
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell and column name neutralised; numeric columns untouched."""
    safe = frame.copy()
    safe.columns = [neutralise_cell(str(name)) for name in frame.columns]
    for column in safe.columns[[not pd.api.types.is_numeric_dtype(dtype) for dtype in safe.dtypes]]:
        safe[column] = safe[column].map(neutralise_cell)
    return safe


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A table read back from safe_csv_text, with the neutralising quote removed from names and text cells."""
    restored = frame.copy()
    restored.columns = [restore_cell(str(name)) for name in frame.columns]
    for column in restored.columns[[not pd.api.types.is_numeric_dtype(dtype) for dtype in restored.dtypes]]:
        restored[column] = restored[column].map(restore_cell)
    return restored


def safe_csv_text(frame: pd.DataFrame) -> str:
    """CSV for a spreadsheet or a re-import: formula-like text neutralised, every text field quoted (so a CR
    or LF inside a name or a description survives the round trip), numbers left bare and numeric."""
    return neutralise_frame(frame).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")


# ---- a project's data file: a base name, never a path ---------------------------------------------------------
MAX_FILE_NAME_CHARS = 255
_DRIVE = re.compile(r"^[A-Za-z]:")


def data_file_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a project's data file name (None when it can). The CLI and the notebook look for
    the file beside the project file, so a name that is a path (``../x``, ``/etc/passwd``, ``C:\\x``) would
    read, hash and echo a file the user never named."""
    from causal_core.safe_text import hidden_characters

    shown = repr(name[:80]) + ("…" if len(name) > 80 else "")
    if not name.strip():
        return "the data file name is empty"
    if len(name) > MAX_FILE_NAME_CHARS:
        return f"the data file name is {len(name):,} characters long; the limit is {MAX_FILE_NAME_CHARS}"
    if "\x00" in name or hidden_characters(name):
        return f"the data file name {shown} holds control or invisible characters"
    if "/" in name or "\\" in name:
        return f"the data file name {shown} is a path; it must be a file name only (no '/' or '\\')"
    if ".." in name or name == ".":
        return f"the data file name {shown} contains '..'; it must be a plain file name"
    if _DRIVE.match(name):
        return f"the data file name {shown} starts with a drive letter; it must be a file name only"
    return None
