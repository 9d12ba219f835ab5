"""Headless CLI mirroring the pages. Each subcommand lives in ``causal_core/commands/<name>.py``.

This module only builds the parser and dispatches; what commands share (``CliError``, the data readers, the
``--format json|text`` output) is in ``causal_core/commands/common.py``. A bad input raises ``CliError`` (or another
``WorkbenchInputError``), which prints one line to stderr and exits with status 2. Any other exception is a bug:
one line saying so and how to see the traceback (``CW_TRACEBACK=1``), exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

import causal_core.commands as commands_package
from causal_core.errors import WorkbenchInputError
from causal_core.version import version_label

TRACEBACK_ENV = "CW_TRACEBACK"
# Modules of causal_core/commands/ that are not subcommands (besides the private ``_*.py``): the shared helpers.
HELPER_MODULES = frozenset({"common"})
# Names the commands' helpers had here before they moved to causal_core.commands.common (one helper module per CLI); outside code
# that still imports them from the dispatcher gets them with a DeprecationWarning.
MOVED_TO_COMMON = frozenset({"CliError", "add_format_option", "emit", "read_data_bytes", "read_data_file", "to_json"})
# What the CLI reports as the user's mistake (one line, status 2): the workbench's input errors, a pydantic
# validation of a file or argument the user gave, the file system refusing a path the user named, and input nested
# too deeply to parse. Everything else is a bug and is reported as one (status 1).
USER_INPUT_ERRORS: tuple[type[BaseException], ...] = (WorkbenchInputError, ValidationError, OSError, RecursionError)


class OneLineParser(argparse.ArgumentParser):
    """Usage errors print one line (not the whole usage block) and exit 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message}\n")


def build_parser(prog: str = "python -m causal_core") -> argparse.ArgumentParser:
    """Every subcommand module in ``causal_core/commands/`` registered under one parser; ``prog`` is the name the
    user typed (``python -m causal_core`` or the installed ``causal-workbench`` script)."""
    parser = OneLineParser(prog=prog, description="Causal Workbench, headless: the same steps as the app's pages.")
    parser.add_argument("--version", action="version", version=version_label())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(commands_package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or module_info.name in HELPER_MODULES:
            continue
        module = importlib.import_module(f"causal_core.commands.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "python -m causal_core") -> int:
    """Run one subcommand; returns the exit status (2 for a bad input, reported in one line)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        result = args.handler(args)
    except BrokenPipeError:  # `… | head`: __main__ ends quietly; not a bad input
        raise
    except USER_INPUT_ERRORS as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - a bug: said so, with how to get the traceback, never as bad input
        if os.environ.get(TRACEBACK_ENV):
            raise
        print(f"internal error (a bug in the workbench, not your input): {type(error).__name__}: "
              f"{_one_line(error)}\nRun again with {TRACEBACK_ENV}=1 for the traceback, and report it.",
              file=sys.stderr)
        return 1
    return int(result or 0)


def console_main(prog: str = "causal-workbench") -> int:
    """Entry point of the installed ``causal-workbench`` script and of ``python -m causal_core``.

    A reader that goes away (``… | head``) is the reader's choice, not a failure to report with a traceback:
    stdout is pointed at devnull so the interpreter's final flush cannot raise again, and the status is 0."""
    try:
        code = main(prog=prog)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    return code


def _one_line(error: BaseException) -> str:
    """The message a user reads: one line, and for the few errors Python words for programmers, a sentence.

    Commands route files through causal_core.safe_io and parsers guard their own recursion; this is the
    last net, so no traceback reaches a user even from a path nobody foresaw.
    """
    if isinstance(error, RecursionError):
        return "the input is nested too deeply to read"
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or error.title
        return f"{error.title}.{where}: {first['msg']}" if first["loc"] else f"{error.title}: {first['msg']}"
    if isinstance(error, OSError) and not isinstance(error, FileNotFoundError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def __getattr__(name: str) -> Any:
    """A helper that moved to :mod:`causal_core.commands.common`, with a warning (the dispatcher no longer owns it)."""
    if name not in MOVED_TO_COMMON:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"causal_core.cli.{name} moved to causal_core.commands.common.{name}", DeprecationWarning,
                  stacklevel=2)
    return getattr(importlib.import_module("causal_core.commands.common"), name)
