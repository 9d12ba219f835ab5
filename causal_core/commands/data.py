"""``data``: export a built-in dataset (and its dictionary) exactly as the app uses it."""

from __future__ import annotations

import argparse

from causal_core.commands.common import add_format_option, emit
from causal_core.data import builtin_names, builtin_source, dictionary_to_frame, frame_to_csv_bytes
from causal_core.data.datasets import get_builtin
from causal_core.safe_io import InputFileError, safe_csv_text, write_output


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="export a built-in dataset as CSV")
    parser.add_argument("--dataset", required=True, choices=builtin_names())
    parser.add_argument("--out", required=True, help="CSV file to write")
    parser.add_argument("--dictionary-out", help="also write the data dictionary as CSV")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.dictionary_out:  # both targets checked before either is written, so a bad one writes nothing
        _check_target(args.dictionary_out, "--dictionary-out")
    _check_target(args.out, "--out")
    loaded = builtin_source(args.dataset)
    write_output(args.out, frame_to_csv_bytes(loaded.frame), "--out")
    result = {
        "dataset": args.dataset,
        "out": args.out,
        "rows": loaded.source.rows,
        "columns": len(loaded.source.columns),
        "sha256": loaded.source.sha256,
    }
    if args.dictionary_out:
        table = safe_csv_text(dictionary_to_frame(get_builtin(args.dataset).dictionary()))
        write_output(args.dictionary_out, table, "--dictionary-out")
        result["dictionary_out"] = args.dictionary_out
    emit(result, args.format)
    return 0


def _check_target(path: str, flag: str) -> None:
    from pathlib import Path

    if Path(path).is_dir():
        raise InputFileError(f"cannot write {flag} {path}: it is a directory (give a file name)")
