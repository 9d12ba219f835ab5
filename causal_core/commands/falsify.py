"""``falsify``: test a DAG against data — local CI tests with Holm, and the node-permutation verdict.

    python -m causal_core falsify --dag FILE --data CSV [--permutations 200] [--seed 0] [--limit 60]
        [--format json|text]
    python -m causal_core falsify --dataset retention      # a built-in dataset with its default DAG
    python -m causal_core falsify --dag FILE --data CSV --test gcm --cluster team   # cluster-robust GCM

A cyclic graph, an unreadable file, a missing data file or an empty table exits with status 2 and the reason.
"""

from __future__ import annotations

import argparse
from typing import Any

from causal_core import dag, dag_io
from causal_core.commands.common import CliError, add_format_option, emit, read_data_file
from causal_core.dag import falsify


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("falsify", help="test a DAG's implied independencies on data (local + global)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dag", help="DAG file: .dagitty, .dot/.gv or .json (needs --data)")
    source.add_argument("--dataset", choices=sorted(dag.DEFAULT_DAGS), help="built-in dataset and its default DAG")
    parser.add_argument("--data", help="CSV whose columns the DAG's nodes measure (with --dag)")
    parser.add_argument("--permutations", type=int, default=falsify.N_PERMUTATIONS,
                        help="node relabellings for the global verdict (0 = local tests only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test", choices=sorted(falsify.TEST_METHODS), default="linear",
                        help="linear partial correlation (fast) or gcm: the generalised covariance measure with "
                        "spline regressions (valid for non-linear relations)")
    parser.add_argument("--cluster", help="column whose rows are not independent (default with --dataset: the "
                        "project's cluster column); the gcm test sums within its clusters (cluster-robust)")
    parser.add_argument("--limit", type=int, default=dag.MAX_IMPLICATIONS, help="implications tested (sampled beyond)")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def _inputs(args: argparse.Namespace):
    if args.dataset:
        from causal_core.data import analysis_frame, project_for_builtin

        project, raw = project_for_builtin(args.dataset)
        if getattr(args, "cluster", None) is None:
            args.cluster = project.cluster_column
        return dag.default_dag(args.dataset), analysis_frame(project, raw)
    if not args.data:
        raise CliError("--dag needs --data CSV (the rows to test the DAG against)")
    try:
        spec = dag_io.read_file(args.dag)
    except dag_io.DagFormatError as error:
        raise CliError(f"{args.dag}: {error}") from None
    frame = read_data_file(args.data).frame
    return dag.bind_to_data(spec, list(frame.columns))[0], frame


def analyse(args: argparse.Namespace) -> dict[str, Any]:
    """The command's payload (also used by tests without a subprocess)."""
    if args.permutations < 0 or args.limit < 1:
        raise CliError("--permutations must be ≥ 0 and --limit ≥ 1")
    spec, frame = _inputs(args)
    try:
        result = falsify.falsify(spec, frame, n_permutations=args.permutations, seed=args.seed, limit=args.limit,
                                 method=getattr(args, "test", "linear"), cluster=getattr(args, "cluster", None))
    except falsify.FalsifyError as error:
        raise CliError(str(error)) from None
    payload = result.model_dump(exclude={"permutation_violation_share", "local"})
    payload["local"] = [row.model_dump(exclude={"x", "y", "given"}) for row in result.local]
    return payload


def _text(payload: dict[str, Any]) -> str:
    lines = [payload["sentence"], f"Tested: {payload['implications_note']}; test: {payload['method']}."]
    for row in payload["local"]:
        estimate = "" if row["estimate"] is None else (
            f"  r = {row['estimate']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
        )
        p_value = "" if row["p_value"] is None else f"  p = {row['p_value']:.2g}"
        test = " [Wilks]" if row["test"] == falsify.WILKS else ""
        lines.append(f"  {row['implication']}{test}{estimate}{p_value}  {row['verdict']}")
    if payload["n_permutations"]:
        lines.append(
            f"Global: p = {payload['p_value']}, same independencies {payload['same_class']}/{payload['n_permutations']}, "
            f"{payload['tests_run']} distinct CI tests ({payload['cache_hits']} cached), {payload['seconds']:.2f} s"
        )
    if payload["stopped"]:
        lines.append(payload["stopped"])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    emit(analyse(args), args.format, _text)
    return 0
