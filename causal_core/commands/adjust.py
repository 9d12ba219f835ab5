"""``adjust``: identification from a DAG file, like DAGitty's adjustment-set panel, headless.

    python -m causal_core adjust --dag FILE(.dagitty|.dot|.json) --treatment X --outcome Y [--format json]
        [--data CSV]   # also test the implied independencies on a CSV

A cyclic graph, an unreadable file or an unknown treatment/outcome exits with status 2 and the reason.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from causal_core import dag, dag_io
from causal_core.cli import CliError, add_format_option, emit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("adjust", help="adjustment sets, bad controls and testable implications of a DAG")
    parser.add_argument("--dag", required=True, help="DAG file: .dagitty, .dot/.gv or .json (node-link)")
    parser.add_argument("--treatment", help="treatment node (default: the file's exposure)")
    parser.add_argument("--outcome", help="outcome node (default: the file's outcome)")
    parser.add_argument("--data", help="optional CSV: test each implied independence on these rows")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def _load(path: str) -> Any:
    try:
        spec = dag_io.read_file(path)
    except dag_io.DagFormatError as error:
        raise CliError(f"{path}: {error}") from None
    return spec


def analyse(spec: Any, treatment: str | None, outcome: str | None, data_path: str | None = None) -> dict[str, Any]:
    """The command's payload (also used by tests without a subprocess)."""
    treatment = treatment or spec.treatment
    outcome = outcome or spec.outcome
    if not treatment or not outcome:
        raise CliError("name the --treatment and --outcome (the file marks no exposure/outcome)")
    names = dag.node_names(spec)
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if name not in names:
            raise CliError(f"unknown {role} {name!r}: the DAG's nodes are {', '.join(names)}")
    try:
        result = dag.identify(spec, treatment, outcome)
        implications, capped = dag.testable_implications(spec)
    except ValueError as error:
        raise CliError(str(error)) from None
    payload: dict[str, Any] = {
        "treatment": treatment,
        "outcome": outcome,
        "identifiable": result.identifiable,
        "minimal_sets": result.minimal_sets,
        "recommended_set": result.recommended_set,
        "bad_controls": [b.model_dump() for b in result.bad_controls],
        "implications": [item.text() for item in implications],
        "implications_capped": capped,
        "capped": result.capped,
        "note": result.note,
    }
    if data_path:
        from causal_core.data import DataError, read_csv_bytes

        file = Path(data_path)
        if not file.exists():
            raise CliError(f"no such data file: {data_path}")
        try:
            frame, _ = read_csv_bytes(file.read_bytes())
        except DataError as error:
            raise CliError(f"{data_path}: {error}") from None
        spec = dag.bind_to_data(spec, list(frame.columns))[0]
        tests = dag.test_implications(spec, frame, implications)
        payload["implication_tests"] = [t.model_dump(exclude={"x", "y", "given"}) for t in tests]
    return payload


def _text(payload: dict[str, Any]) -> str:
    lines = [f"Total effect of {payload['treatment']} on {payload['outcome']}"]
    if payload["identifiable"]:
        lines.append("Identifiable by adjustment.")
        lines.append("Minimal adjustment sets:")
        lines += [f"  {{{', '.join(s)}}}" if s else "  {} (no adjustment needed)" for s in payload["minimal_sets"]]
        lines.append(f"Recommended: {{{', '.join(payload['recommended_set'] or [])}}}")
    else:
        lines.append("NOT identifiable by adjustment.")
    if payload["note"]:
        lines.append(payload["note"])
    lines.append("Bad controls:" if payload["bad_controls"] else "Bad controls: none")
    lines += [f"  {b['name']}: {b['reason']}" for b in payload["bad_controls"]]
    lines.append("Testable implications:" if payload["implications"] else "Testable implications: none")
    for index, text in enumerate(payload["implications"]):
        test = (payload.get("implication_tests") or [None] * len(payload["implications"]))[index]
        suffix = f"  p={test['p_value']:.3g}  {test['verdict']}" if test and test.get("p_value") is not None else ""
        lines.append(f"  {text}{suffix}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    spec = _load(args.dag)
    payload = analyse(spec, args.treatment, args.outcome, args.data)
    emit(payload, args.format, _text)
    return 0
