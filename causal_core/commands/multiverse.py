"""``multiverse``: the specification curve headlessly (the Specification curve page without the browser).

    python -m causal_core multiverse (--project P.json [--data FILE] | --dataset NAME | --data FILE
        --treatment T --outcome Y --covariates a,b) [--estimators regression,gcomp,ipw,aipw,aipw_cf]
        [--learners exact,penalised,boosting] [--trimming none,bounds,crump] [--both-estimands]
        [--include-invalid] [--max-dag-sets 8] [--set a,b ...] [--alt-outcomes a,b] [--alt-treatments a,b]
        [--no-grain] [--no-cluster] [--functional-forms] [--folds 5] [--seed S] [--table OUT.csv|OUT.json] [--chart OUT.svg|OUT.png]
        [--out PROJECT.json] [--format json|text]

``--dataset`` starts from the built-in's project with its default DAG (no approved card, so the estimand is
ATE unless --both-estimands). ``--data`` alone has no DAG and no dictionary timing: validity is 'unchecked'
and the analyst's set is --covariates. ``--out`` writes the project with the curve stored (the memo reads it).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd

from causal_core.commands.common import CliError, add_format_option, emit, read_data_bytes
from causal_core.commands.project import load_project_file, write_output
from causal_core.data import builtin_names, project_for_builtin, project_for_upload, read_upload, rebind_data
from causal_core.project import EstimationSpec, MultiverseOptions, Project
from causal_core.project_file import project_to_json


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "multiverse", help="specification curve: every defensible analysis choice, its estimate and a summary"
    )
    parser.add_argument("--project", metavar="P.json", help="a saved project (its DAG, dictionary, card, estimation)")
    parser.add_argument("--dataset", choices=builtin_names(), help="a built-in dataset with its default DAG")
    parser.add_argument("--data", metavar="FILE", help="a CSV/Parquet file (alone, or the upload a --project needs)")
    parser.add_argument("--treatment", help="with --data alone: the 0/1 treatment column")
    parser.add_argument("--outcome", help="with --data alone: the outcome column")
    parser.add_argument("--covariates", metavar="a,b,c", help="with --data alone: the analyst's adjustment set")
    parser.add_argument(
        "--estimators", default="regression,gcomp,ipw,aipw,aipw_cf", metavar="LIST", help="default: all five"
    )
    parser.add_argument("--learners", default="exact", metavar="LIST", help="for aipw_cf: exact,penalised,boosting")
    parser.add_argument("--trimming", default="none,bounds,crump", metavar="LIST", help="default: none,bounds,crump")
    parser.add_argument("--both-estimands", action="store_true", help="ATE and ATT side by side")
    parser.add_argument("--include-invalid", action="store_true", help="add sets the DAG/dictionary call invalid")
    parser.add_argument("--max-dag-sets", type=int, default=8, help="cap on the DAG's minimal sets (default 8)")
    parser.add_argument("--set", action="append", default=[], metavar="a,b", help="an extra adjustment set (repeat)")
    parser.add_argument("--alt-outcomes", metavar="a,b", help="alternative outcome columns")
    parser.add_argument("--alt-treatments", metavar="a,b", help="alternative 0/1 treatment columns")
    parser.add_argument("--no-grain", action="store_true", help="do not vary the de-duplication rule")
    parser.add_argument("--no-cluster", action="store_true", help="do not vary clustering")
    parser.add_argument(
        "--functional-forms", action="store_true",
        help="add linear / quadratic / spline forms of every numeric covariate beside the analysis' own terms",
    )
    parser.add_argument("--folds", type=int, default=5, help="cross-fitting folds for aipw_cf (default 5)")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--table", metavar="OUT", help="write every specification as .csv or .json")
    parser.add_argument("--chart", metavar="OUT", help="write the curve as .svg or .png (vl-convert)")
    parser.add_argument("--out", metavar="P.json", help="write the project with the curve stored")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def _from_data_only(args: argparse.Namespace) -> tuple[Project, pd.DataFrame]:
    """An upload with roles from the arguments; the analyst's set is stored as a (not run) estimation spec."""
    if not args.treatment or not args.outcome:
        raise CliError("--treatment and --outcome are required with --data (no project to take them from).")
    if args.covariates is None:
        raise CliError("--covariates is required with --data: the analyst's adjustment set (may be empty: '').")
    payload, name = read_data_bytes(args.data)
    loaded = read_upload(payload, name, max_mb=float("inf"))
    project = project_for_upload(loaded).model_copy(update={"treatment": args.treatment, "outcome": args.outcome})
    missing = [c for c in [args.treatment, args.outcome, *_split(args.covariates)] if c not in loaded.frame.columns]
    if missing:
        raise CliError(f"column(s) not in {name}: {', '.join(missing)}")
    return _with_analyst_set(project, args.treatment, args.outcome, _split(args.covariates)), loaded.frame


def _with_analyst_set(project: Project, treatment: str, outcome: str, covariates: list[str]) -> Project:
    from causal_core.project import EstimationResult

    spec = EstimationSpec(treatment=treatment, outcome=outcome, covariates=covariates)
    return project.model_copy(update={"estimation": EstimationResult(spec=spec)})


def load(args: argparse.Namespace) -> tuple[Project, pd.DataFrame]:
    """The project and its raw rows, from whichever source the arguments name (exactly one)."""
    sources = [name for name in ("project", "dataset") if getattr(args, name)]
    if len(sources) > 1:
        raise CliError("use one of --project, --dataset or --data (with --project, --data is its upload).")
    if args.project:
        project = load_project_file(args.project)
        if project.data_source is not None and project.data_source.kind == "upload":
            if not args.data:
                raise CliError(f"this project uses the upload '{project.data_source.name}': pass it with --data FILE")
            payload, name = read_data_bytes(args.data)
            return project, rebind_data(project, payload, name)
        return project, rebind_data(project)
    if args.dataset:
        from causal_core import dag

        project, raw = project_for_builtin(args.dataset)
        return project.model_copy(update={"dag": dag.initial_dag(project, list(raw.columns))[0]}), raw
    if args.data:
        return _from_data_only(args)
    raise CliError("name the data: --project P.json, --dataset NAME or --data FILE.")


def options_from(args: argparse.Namespace) -> MultiverseOptions:
    if args.max_dag_sets < 1:
        raise CliError(f"--max-dag-sets must be at least 1 (got {args.max_dag_sets}).")
    return MultiverseOptions(
        estimators=_split(args.estimators),
        learners=_split(args.learners),
        crossfit_folds=args.folds,
        trimming=_split(args.trimming),
        both_estimands=args.both_estimands,
        include_invalid=args.include_invalid,
        max_dag_sets=args.max_dag_sets,
        alt_outcomes=_split(args.alt_outcomes),
        alt_treatments=_split(args.alt_treatments),
        extra_sets=[_split(item) for item in args.set],
        grain=not args.no_grain,
        cluster=not args.no_cluster,
        functional_forms=args.functional_forms,
        seed=args.seed,
    )


def _progress(fraction: float, message: str) -> None:
    print(f"… {fraction:4.0%} {message}", file=sys.stderr)


def _payload(result: Any, written: list[str]) -> dict[str, Any]:
    summary = {k: v for k, v in result.summary.items() if k != "sentences"}
    return {
        "specifications": len(result.rows),
        "elapsed_s": result.elapsed_s,
        "sentences": result.summary.get("sentences", []),
        "notes": result.notes,
        "summary": summary,
        "written": written,
    }


def _text(data: dict[str, Any]) -> str:
    lines = [f"{data['specifications']:,} specifications in {data['elapsed_s']:.1f} s"]
    lines += data["sentences"]
    lines += ["Note: " + note for note in data["notes"]]
    lines += ["Wrote " + path for path in data["written"]]
    return "\n".join(lines)


def _write_outputs(args: argparse.Namespace, project: Project, result: Any) -> list[str]:
    from causal_core.multiverse.export import CHART_FORMATS, TABLE_FORMATS, chart_bytes, format_of, table_bytes

    written = []
    if args.table:
        write_output(args.table, table_bytes(result, format_of(args.table, TABLE_FORMATS)))
        written.append(args.table)
    if args.chart:
        write_output(args.chart, chart_bytes(result, format_of(args.chart, CHART_FORMATS), title=project.name))
        written.append(args.chart)
    if args.out:
        write_output(args.out, project_to_json(project.model_copy(update={"multiverse": result})))
        written.append(args.out)
    return written


def run(args: argparse.Namespace) -> int:
    from causal_core.multiverse import run_multiverse
    from causal_core.multiverse.export import CHART_FORMATS, TABLE_FORMATS, format_of

    for path, allowed in ((args.table, TABLE_FORMATS), (args.chart, CHART_FORMATS)):
        if path:
            format_of(path, allowed)  # a wrong extension is refused before minutes of fitting
    project, raw = load(args)
    result = run_multiverse(project, raw, options_from(args), progress=_progress)
    emit(_payload(result, _write_outputs(args, project, result)), args.format, _text)
    return 0
