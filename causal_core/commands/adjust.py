"""``adjust``: identification from a DAG file, like DAGitty's adjustment-set panel, headless.

    python -m causal_core adjust --dag FILE(.dagitty|.dot|.json) --treatment X --outcome Y [--format json]
        [--data CSV]          # also test the implied independencies on a CSV
        [--check A B ...]     # is this adjustment set valid (backdoor and adjustment criterion)?
        [--mediator M ...]    # adjustment sets for the controlled direct effect holding M fixed
        [--instruments]       # require a conditional instrument (exit 2 if the graph has none)

Every run prints the design the graph supports (adjustment / front-door / IV / none) in one sentence, the
minimal sets under the backdoor and the adjustment criterion, front-door sets and conditional instruments.
A cyclic graph, treatment = outcome, an unreadable file, an unknown node or a requested instrument that does
not exist exits with status 2 and the reason.
"""

from __future__ import annotations

import argparse
from typing import Any

from causal_core import dag, dag_io
from causal_core.commands.common import CliError, add_format_option, emit, read_data_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("adjust", help="adjustment sets, bad controls and testable implications of a DAG")
    parser.add_argument("--dag", required=True, help="DAG file: .dagitty, .dot/.gv or .json (node-link)")
    parser.add_argument("--treatment", help="treatment node (default: the file's exposure)")
    parser.add_argument("--outcome", help="outcome node (default: the file's outcome)")
    parser.add_argument("--data", help="optional CSV: test each implied independence on these rows")
    parser.add_argument(
        "--check", nargs="*", metavar="NODE", help="check this adjustment set (backdoor and adjustment criterion)"
    )
    parser.add_argument(
        "--mediator",
        action="append",
        metavar="NODE",
        help="controlled direct effect holding this mediator fixed (repeat for several); lists its adjustment sets",
    )
    parser.add_argument(
        "--instruments",
        action="store_true",
        help=f"require a conditional instrument: exit 2 with '{dag.NO_INSTRUMENT_MESSAGE}' when there is none",
    )
    add_format_option(parser)
    parser.set_defaults(handler=run)


def _load(path: str) -> Any:
    try:
        spec = dag_io.read_file(path)
    except dag_io.DagFormatError as error:
        raise CliError(f"{path}: {error}") from None
    return spec


def analyse(
    spec: Any,
    treatment: str | None,
    outcome: str | None,
    data_path: str | None = None,
    *,
    check: list[str] | None = None,
    mediators: list[str] | None = None,
    require_instrument: bool = False,
) -> dict[str, Any]:
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
        beyond = _beyond_adjustment(spec, treatment, outcome, check, mediators, require_instrument)
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
        "criterion_sets": result.criterion_sets,
        "criterion_capped": result.criterion_capped,
        "criterion_note": result.criterion_note,
        "adjusted_check": result.adjusted_check.model_dump() if result.adjusted_check else None,
        "warnings": result.warnings,
        **beyond,
    }
    if data_path:
        frame = read_data_file(data_path).frame
        spec = dag.bind_to_data(spec, list(frame.columns))[0]
        payload["implication_tests"] = _local_tests(spec, frame, implications)
    return payload


def _local_tests(spec: Any, frame: Any, implications: list) -> list[dict[str, Any]]:
    """The DAG page's local tests (partial correlation with a Fisher-z CI, Wilks for categories, Holm-corrected
    verdicts), so the CLI and the page give one verdict per implication (``falsify`` adds the global one)."""
    from causal_core.dag.falsify import CITester, local_tests

    tester = CITester(frame, {node.name: node.column for node in spec.nodes if not node.latent},
                      selected=frozenset(spec.selected))
    keep = {"test", "n", "estimate", "ci_low", "ci_high", "p_value", "p_holm", "violated", "verdict"}
    return [row.model_dump(include=keep) for row in local_tests(tester, implications)]


def _beyond_adjustment(
    spec: Any,
    treatment: str,
    outcome: str,
    check: list[str] | None,
    mediators: list[str] | None,
    require_instrument: bool,
) -> dict[str, Any]:
    """Design sentence, front-door, instruments and the optional set check / direct effect (ValueErrors
    propagate to ``analyse``, which turns them into one-line CLI errors)."""
    design = dag.design_summary(spec, treatment, outcome)
    frontdoor = dag.frontdoor_search(spec, treatment, outcome)
    if require_instrument:
        dag.require_instruments(spec, treatment, outcome)
    search = dag.instrument_search(spec, treatment, outcome)
    instruments = search.instruments
    payload: dict[str, Any] = {
        "design": design.model_dump(),
        "frontdoor_sets": frontdoor.sets,
        "frontdoor_capped": frontdoor.capped,
        "frontdoor_note": frontdoor.note,
        "instruments": [item.model_dump() for item in instruments],
        "instrument_note": search.note,
        "instruments_capped": search.capped,
    }
    if check is not None:
        payload["check"] = {"set": check, **dag.check_adjustment_set(spec, treatment, outcome, check).model_dump()}
    if mediators:
        payload["direct_effect"] = dag.direct_effect_search(spec, treatment, outcome, mediators).model_dump()
    return payload


def _sets_text(sets: list[list[str]]) -> list[str]:
    return [f"  {{{', '.join(s)}}}" if s else "  {} (no adjustment needed)" for s in sets]


def _design_lines(payload: dict[str, Any]) -> list[str]:
    design = payload["design"]
    lines = [f"Design: {design['design']}. {design['sentence']}"]
    lines += [f"  What would identify it: {item}" for item in design["what_would_identify"][1:]]
    lines += [f"Warning: {warning}" for warning in payload["warnings"]]
    return lines


def _beyond_lines(payload: dict[str, Any]) -> list[str]:
    lines = ["Minimal sets under the adjustment criterion:" if payload["criterion_sets"] else
             "Adjustment criterion: no valid set."]
    lines += _sets_text(payload["criterion_sets"])
    if payload["criterion_note"]:
        lines.append(f"  {payload['criterion_note']}")
    if payload.get("adjusted_check"):
        check = payload["adjusted_check"]
        lines.append(f"The file's adjusted set: {'valid' if check['valid'] else 'INVALID'}: {check['reason']}")
    if payload["frontdoor_sets"]:
        lines.append("Front-door sets:")
        lines += [f"  {{{', '.join(s)}}}" for s in payload["frontdoor_sets"]]
    else:
        lines.append(f"Front-door: none. {payload['frontdoor_note']}".rstrip())
    if payload["frontdoor_capped"]:
        lines.append(f"  {payload['frontdoor_note']}")
    if payload["instruments"]:
        lines.append("Conditional instruments:")
        for item in payload["instruments"]:
            given = f" | {', '.join(item['conditioning'])}" if item["conditioning"] else ""
            lines.append(f"  {item['instrument']}{given}")
    if not payload["instruments"] or payload["instruments_capped"]:
        lines.append(f"Instruments: {payload['instrument_note']}".rstrip(".") + ".")
    if "check" in payload:
        check = payload["check"]
        verdict = "valid" if check["valid"] else "INVALID"
        criterion = "valid" if check.get("criterion_valid") else "invalid"
        lines.append(
            f"Check {{{', '.join(check['set'])}}}: {verdict} (backdoor); {criterion} (adjustment criterion): "
            f"{check['reason']}"
        )
    if "direct_effect" in payload:
        direct = payload["direct_effect"]
        lines.append(f"Controlled direct effect holding {', '.join(direct['mediators'])} fixed:")
        lines += _sets_text(direct["sets"]) if direct["sets"] else ["  no single adjustment set"]
        if direct["note"]:
            lines.append(f"  {direct['note']}")
    return lines


def _text(payload: dict[str, Any]) -> str:
    lines = [f"Total effect of {payload['treatment']} on {payload['outcome']}", *_design_lines(payload)]
    if payload["identifiable"]:
        lines.append("Identifiable by adjustment.")
        lines.append("Minimal adjustment sets (backdoor):")
        lines += _sets_text(payload["minimal_sets"])
        lines.append(f"Recommended: {{{', '.join(payload['recommended_set'] or [])}}}")
    else:
        lines.append("NOT identifiable by adjustment.")
    if payload["note"]:
        lines.append(payload["note"])
    lines += _beyond_lines(payload)
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
    payload = analyse(
        spec,
        args.treatment,
        args.outcome,
        args.data,
        check=args.check,
        mediators=args.mediator,
        require_instrument=args.instruments,
    )
    emit(payload, args.format, _text)
    return 0
