"""``audit``: the Data audit page headlessly — every deterministic table as records.

    python -m causal_core audit (--dataset NAME | --data FILE [--dictionary DICT.csv])
        --treatment T --outcome Y [--guardrail G] [--unit a,b] [--drop-exact-duplicates] [--format json]

Built-in datasets default treatment, outcome, guardrails and grain to their own. The data-selection
arguments are shared with ``score profile`` (see ``add_data_arguments`` / ``project_from_args``).
"""

from __future__ import annotations

import argparse

import pandas as pd
from pydantic import ValidationError

from causal_core.commands.common import CliError, add_format_option, emit, read_data_file
from causal_core.data import (
    DataError,
    analysis_frame,
    builtin_names,
    dictionary_from_frame,
    project_for_builtin,
    project_for_upload,
)
from causal_core.project import Project
from causal_core.safe_io import write_output


def _split(values: list[str] | None) -> list[str]:
    """Accept both repeated options and comma lists: ``--guardrail a --guardrail b`` or ``--guardrail a,b``."""
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def add_data_arguments(parser: argparse.ArgumentParser, *, project_option: bool = False) -> None:
    """Which data and roles to audit: a built-in, or a file with an optional dictionary (or, for the scorers,
    ``--project``: a saved project's roles, dictionary and rows)."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=builtin_names(), help="a built-in dataset")
    if project_option:
        source.add_argument("--project", metavar="P.json", help="a saved project (its roles, dictionary and rows)")
    source.add_argument("--data", metavar="FILE", help="a CSV or Parquet file")
    parser.add_argument("--dictionary", metavar="DICT.csv", help="data dictionary CSV (variable, description, timing, role)")
    parser.add_argument("--treatment", help="binary treatment column (built-ins: the dataset's own)")
    parser.add_argument("--outcome", help="primary outcome column (built-ins: the dataset's own)")
    parser.add_argument("--guardrail", action="append", metavar="G", help="guardrail outcome (repeat or comma-separate)")
    parser.add_argument("--unit", metavar="a,b", help="columns that identify one row (the grain)")
    parser.add_argument("--time", metavar="COL", help="time column (for ordering and first/last time)")
    parser.add_argument("--dedup", choices=["none", "keep_first", "average"], help="collapse rows sharing the grain first")


def project_from_args(args: argparse.Namespace) -> tuple[Project, pd.DataFrame]:
    """The project and analysis rows the arguments describe; CliError/DataError name what is wrong."""
    if args.dataset:
        if args.dictionary:
            raise CliError("--dictionary only applies with --data (built-ins carry their own dictionary).")
        project, frame = project_for_builtin(args.dataset)
    else:
        loaded = read_data_file(args.data)
        project, frame = project_for_upload(loaded), loaded.frame
        if args.dictionary:
            project = project.model_copy(update={"dictionary": _read_dictionary(args.dictionary)})
        if not args.treatment or not args.outcome:
            raise CliError("--treatment and --outcome are required with --data.")
    updates: dict[str, object] = {}
    if args.treatment:
        updates["treatment"] = args.treatment
    if args.outcome:
        updates["outcome"] = args.outcome
    if args.guardrail is not None:
        updates["guardrails"] = _split(args.guardrail)
    if args.unit is not None:
        updates["unit_columns"] = _split([args.unit])
    if args.time is not None:
        updates["time_column"] = args.time
    if args.dedup:
        updates["dedup"] = args.dedup
    project = project.model_copy(update=updates)
    return project, analysis_frame(project, frame)


def _read_dictionary(path_text: str) -> list:
    import io

    from causal_core.safe_io import read_input_bytes

    payload = read_input_bytes(path_text, "dictionary")
    try:
        table = pd.read_csv(io.BytesIO(payload))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"The dictionary CSV could not be read: {error}") from None
    if "simulation_truth" in table.columns and not pd.api.types.is_bool_dtype(table["simulation_truth"]):
        # "False" as text must not become True: only explicit yes-words mark simulation truth.
        table["simulation_truth"] = table["simulation_truth"].astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
    return dictionary_from_frame(table)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="run the deterministic data audit (N09 §4-§10) and print every table")
    add_data_arguments(parser)
    parser.add_argument("--bounds", default="0.05,0.95", metavar="LOW,HIGH", help="propensity overlap bounds")
    parser.add_argument("--treated-value", help="for a two-valued non-0/1 treatment: the value that means treated")
    parser.add_argument("--bundle-out", metavar="FILE", help="also write the evidence bundle (N09 §10) as JSON")
    parser.add_argument(
        "--drop-exact-duplicates", action="store_true",
        help="audit the rows without exact copies (every column equal; the first copy is kept), and say how many",
    )
    add_format_option(parser)
    parser.set_defaults(handler=run)


def _bounds(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise CliError(f"--bounds must be two numbers LOW,HIGH (got {text!r}).") from None
    return low, high


def run(args: argparse.Namespace) -> int:
    from causal_core.audit import AuditSettings, bundle_json, run_audit

    project, frame = project_from_args(args)
    try:
        settings = AuditSettings(bounds=_bounds(args.bounds), treated_value=args.treated_value)
    except ValidationError as error:
        raise CliError(error.errors()[0]["msg"].removeprefix("Value error, ")) from None
    dropped_note = ""
    if getattr(args, "drop_exact_duplicates", False):
        from causal_core.audit.grain import drop_exact_duplicates

        before = len(frame)
        frame, dropped = drop_exact_duplicates(frame)
        dropped_note = (
            f"Dropped {dropped:,} exact duplicate row(s) of {before:,} before the audit (--drop-exact-duplicates)."
        )
    result = run_audit(project, frame, settings)
    if dropped_note:
        result = result.model_copy(update={"warnings": [dropped_note, *result.warnings]})
    if args.bundle_out:
        write_output(args.bundle_out, bundle_json(result.evidence_bundle), "--bundle-out")
    payload = {
        "dataset": project.data_source.name if project.data_source else "",
        "rows": len(frame),
        "treatment": project.treatment,
        "outcome": project.outcome,
        "guardrails": project.guardrails,
        "unit_columns": project.unit_columns,
        "dedup": project.dedup,
        "warnings": result.warnings,
        "tables": result.tables,
    }
    emit(payload, args.format, text=_text)
    return 0


def _text(payload: dict) -> str:
    """Readable output: each table as an aligned grid (long tables cut at 30 rows)."""
    from causal_core.audit import TABLE_TITLES

    lines = [
        f"Data audit of {payload['dataset']} ({payload['rows']:,} rows): treatment {payload['treatment']}, "
        f"outcome {payload['outcome']}, grain {' x '.join(payload['unit_columns']) or '(none)'}",
    ]
    lines += [f"warning: {warning}" for warning in payload["warnings"]]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 60):
        for name, rows in payload["tables"].items():
            lines.append(f"\n== {TABLE_TITLES.get(name, name)} [{name}]")
            table = pd.DataFrame(rows)
            if name in ("missing_pattern", "propensity_density"):
                lines.append(f"({len(table)} rows of chart data; use --format json)")
            elif table.empty:
                lines.append("(none)")
            else:
                lines.append(table.head(30).to_string(index=False))
    return "\n".join(lines)
