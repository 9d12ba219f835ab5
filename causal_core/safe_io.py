"""The one guarded reader and writer every CLI command uses for the files a user names.

Why one place: a directory given as ``--dag``, ``--data``, ``--out``, ``--bundle-out`` or ``--dictionary-out``
raised ``IsADirectoryError`` tracebacks, and a deeply nested file raised ``RecursionError`` in whichever parser
met it first. Each helper here turns those into one sentence naming the argument's file, so commands only
say *what* the file is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class InputFileError(ValueError):
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
