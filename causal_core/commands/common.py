"""What every subcommand shares: the bad-input error, the data-file readers and the ``--format json|text`` output.

Kept apart from ``causal_core/cli.py`` (which only builds the parser and dispatches) so a command module imports its
helpers without importing the dispatcher that discovers it. Not a subcommand itself: it defines no ``register``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from causal_core.errors import WorkbenchInputError

if TYPE_CHECKING:
    from causal_core.data import LoadedData

__all__ = ["CliError", "add_format_option", "emit", "read_data_bytes", "read_data_file", "to_json"]


class CliError(WorkbenchInputError):
    """A bad input: printed as one line, exit status 2."""


def read_data_bytes(path: str) -> tuple[bytes, str]:
    """A data file's bytes and name through the one guarded reader (missing file, directory, OS error)."""
    from causal_core.safe_io import read_input_bytes

    return read_input_bytes(path, "data"), Path(path).name


def read_data_file(path: str) -> LoadedData:
    """A CSV or Parquet file parsed exactly as the app parses an upload (never executed), without the
    upload size cap: the CLI is for files too large for a browser."""
    from causal_core.data import read_upload

    payload, name = read_data_bytes(path)
    return read_upload(payload, name, max_mb=float("inf"))


def add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["json", "text"], default="text", help="output format (default text)")


def _jsonable(value: Any) -> Any:
    """Make numpy/pandas scalars and NaN JSON-safe (NaN becomes null, never a bare NaN token)."""
    if hasattr(value, "model_dump"):
        return _jsonable(value.model_dump(mode="json"))
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def to_json(payload: Any) -> str:
    return json.dumps(_jsonable(payload), indent=2, default=str)


def _text_lines(payload: Any, indent: int = 0) -> list[str]:
    pad = "  " * indent
    if isinstance(payload, dict):
        lines = []
        for key, value in payload.items():
            if isinstance(value, dict | list) and value:
                lines.append(f"{pad}{key}:")
                lines.extend(_text_lines(value, indent + 1))
            else:
                lines.append(f"{pad}{key}: {value}")
        return lines
    if isinstance(payload, list):
        lines = []
        for item in payload:
            if isinstance(item, dict):
                lines.append(pad + "- " + ", ".join(f"{k}={v}" for k, v in item.items()))
            else:
                lines.append(f"{pad}- {item}")
        return lines
    return [f"{pad}{payload}"]


def emit(payload: Any, fmt: str, text: Callable[[Any], str] | None = None) -> None:
    """Print a result as JSON, or as readable text (a custom renderer or an indented outline)."""
    if fmt == "json":
        print(to_json(payload))
    else:
        print(text(payload) if text else "\n".join(_text_lines(_jsonable(payload))))
