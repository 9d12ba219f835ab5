"""``design-estimate``: the Estimation page's "Other identification strategies" panel, headless.

    python -m causal_core design-estimate --design frontdoor|iv
        (--dataset NAME | --data FILE | --project P.json [--data FILE for an uploaded dataset])
        [--treatment T] [--outcome Y] [--mediators m1,m2] [--instruments z1,z2] [--covariates a,b]
        [--method auto|plugin|linear] [--bootstrap N] [--ci percentile|normal] [--seed S]
        [--se robust|unadjusted|cluster] [--cluster C] [--treated-value V] [--out P2.json] [--format json]

Mediators (front door) and instruments with their conditioning set (IV) default to what the project's DAG
supports (a built-in's default DAG with --dataset); with --out the result is stored in the project's
estimation result (the input file is never rewritten). Bad inputs exit 2 with one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from causal_core.commands.common import CliError, add_format_option, emit, read_data_file
from causal_core.data import (
    analysis_frame,
    builtin_names,
    project_for_builtin,
    project_for_upload,
    rebind_data,
)
from causal_core.diagnostics_models import IVDiagnostics
from causal_core.estimation.frontdoor import FrontdoorSpec, estimate_frontdoor, frontdoor_from_dag, with_design
from causal_core.estimation.iv import IVSpec, estimate_iv, instruments_from_dag


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("design-estimate",
                                   help="front-door (binary treatment, bootstrap CI) or 2SLS (first-stage F) estimates")
    parser.add_argument("--design", required=True, choices=["frontdoor", "iv"])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=builtin_names(), help="a built-in dataset (its default DAG prefills)")
    source.add_argument("--project", metavar="P.json", help="a saved project (its DAG prefills)")
    parser.add_argument("--data", metavar="FILE", help="a CSV or Parquet file (alone, or the upload a --project uses)")
    parser.add_argument("--treatment", help="treatment column (default: the project's)")
    parser.add_argument("--outcome", help="outcome column (default: the project's)")
    parser.add_argument("--mediators", metavar="m1,m2", help="front door: mediator columns (default: the DAG's set)")
    parser.add_argument("--instruments", metavar="z1,z2", help="IV: instrument columns (default: the DAG's)")
    parser.add_argument("--covariates", metavar="a,b", help="covariates (IV default: the DAG's conditioning set)")
    parser.add_argument("--method", choices=["auto", "plugin", "linear"], default="auto", help="front-door estimator")
    parser.add_argument("--bootstrap", type=int, default=500, metavar="N", help="front door: replicates (default 500)")
    parser.add_argument("--ci", choices=["percentile", "normal"], default="percentile", help="front door: interval")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--se", choices=["robust", "unadjusted", "cluster"], default="robust", help="IV: SE type")
    parser.add_argument("--cluster", metavar="C", help="cluster column (IV with --se cluster; front door: resampled)")
    parser.add_argument("--treated-value", help="for a two-valued non-0/1 treatment: the value meaning treated")
    parser.add_argument("--out", metavar="P2.json", help="write the project with this result stored")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def load(args: argparse.Namespace):
    """The project and its analysis rows, from a built-in, a data file, or a saved project."""
    from causal_core.commands.project import load_project_file

    if args.project:
        project = load_project_file(args.project)
        payload = None
        if args.data:
            from causal_core.safe_io import read_input_bytes

            payload = read_input_bytes(args.data, "data")
        raw = rebind_data(project, payload, Path(args.data).name if args.data else None)
        return project, analysis_frame(project, raw)
    if args.dataset:
        from causal_core.dag import DEFAULT_DAGS, default_dag

        project, raw = project_for_builtin(args.dataset)
        if args.dataset in DEFAULT_DAGS:  # the DAG the DAG page starts from; other built-ins have none
            project = project.model_copy(update={"dag": default_dag(args.dataset)})
        return project, analysis_frame(project, raw)
    if not args.data:
        raise CliError("give --dataset, --project or --data")
    loaded = read_data_file(args.data)
    return project_for_upload(loaded), loaded.frame


def _roles(args: argparse.Namespace, project) -> tuple[str, str]:
    treatment = args.treatment or project.treatment
    outcome = args.outcome or project.outcome
    if not treatment or not outcome:
        raise CliError("--treatment and --outcome are required (the project names none)")
    return treatment, outcome


def build_spec(args: argparse.Namespace, project, frame) -> tuple[FrontdoorSpec | IVSpec, str]:
    """The design's spec from the flags, the DAG filling what is left unsaid; also says where defaults came from."""
    treatment, outcome = _roles(args, project)
    project = project.model_copy(update={"treatment": treatment, "outcome": outcome})  # the DAG prefill checks these
    covariates = _split(args.covariates)
    common = {"treatment": treatment, "outcome": outcome, "cluster": args.cluster, "treated_value": args.treated_value}
    if args.design == "frontdoor":
        mediators = _split(args.mediators)
        source = "--mediators"
        if mediators is None:
            sets, source = frontdoor_from_dag(project, frame)
            if not sets:
                raise CliError(f"no mediators given and none from the DAG ({source}); pass --mediators")
            mediators = sets[0]
        return FrontdoorSpec(**common, mediators=mediators, covariates=covariates or [], method=args.method,
                             bootstrap=args.bootstrap, ci=args.ci, seed=args.seed), source
    instruments = _split(args.instruments)
    source = "--instruments"
    if instruments is None:
        options, source = instruments_from_dag(project, frame)
        if not options:
            raise CliError(f"no instruments given and none from the DAG ({source}); pass --instruments")
        instruments = options[0]["instruments"]
        covariates = options[0]["covariates"] if covariates is None else covariates
    return IVSpec(**common, instruments=instruments, covariates=covariates or [], se=args.se), source


def _text(payload: dict[str, Any]) -> str:
    lines = [f"{payload['design']}: n = {payload['n_used']:,} rows" + (
        f"; dropped {', '.join(f'{k}: {v:,}' for k, v in payload['dropped'].items())}" if payload["dropped"] else "")
        + f" (inputs from {payload['defaults_from']})"]
    lines.append(f"{'method':<10}{'estimand':<40}{'estimate':>11}{'SE':>10}{'95% CI':>24}")
    for row in payload["estimates"]:
        ci = f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]" if row["ci_low"] is not None else "—"
        se = f"{row['std_error']:.4f}" if row["std_error"] is not None else "—"
        lines.append(f"{row['method']:<10}{row['estimand']:<40}{row['estimate']:>+11.4f}{se:>10}{ci:>24}")
        lines.append(f"{'':<10}interval: {row['se_type']}")
    if payload["design"] == "iv":  # read back through the model: a renamed key fails here, not silently
        diagnostics = IVDiagnostics.model_validate(payload["diagnostics"])
        first, ar = diagnostics.first_stage, diagnostics.anderson_rubin
        lines.append(f"first stage: F = {first.f:.2f}, partial R² = {first.partial_r2:.4f} ({first.kind})")
        pieces = ar.text or " ∪ ".join(f"[{lo:+.4f}, {hi:+.4f}]" for lo, hi in ar.pieces) or "empty"
        lines.append(f"Anderson–Rubin 95% set ({ar.kind}): {pieces}")
    lines.extend("Warning: " + warning for warning in payload["warnings"])
    lines.extend("Note: " + note for note in payload["notes"])
    if payload.get("out"):
        lines.append(f"Project with the result written to {payload['out']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from causal_core.commands.project import write_output
    from causal_core.estimation.constants import MAX_BOOTSTRAP
    from causal_core.project_file import project_to_json

    if args.bootstrap > MAX_BOOTSTRAP:  # before the data is read: refused in microseconds
        raise CliError(f"--bootstrap {args.bootstrap:,} exceeds the limit of {MAX_BOOTSTRAP:,} replicates.")
    project, frame = load(args)
    spec, source = build_spec(args, project, frame)
    result = estimate_frontdoor(frame, spec) if isinstance(spec, FrontdoorSpec) else estimate_iv(frame, spec)
    payload = {**result.model_dump(mode="json"), "defaults_from": source, "out": args.out}
    if args.out:
        write_output(args.out, project_to_json(with_design(project, result)))
    emit(payload, args.format, _text)
    return 0
