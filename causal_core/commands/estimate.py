"""``estimate``: the Estimation page headlessly.

    python -m causal_core estimate (--dataset NAME | --data FILE) --treatment T --outcome Y
        --covariates a,b,c [--categorical a,b] [--estimand ATE|ATT|ATC] [--cluster C] [--clip LO,HI]
        [--trim bounds|crump] [--crossfit K] [--missing complete_case|indicator] [--bootstrap N] [--seed S]
        [--terms FORMULA] [--propensity-terms FORMULA] [--interact FORMULA] [--ipw-se influence|fixed_weights]
        [--ps-learner logistic|logistic_cv|boosting] [--outcome-learner linear|ridge_cv|lasso_cv|boosting]
        [--no-refute] [--format json]

Built-ins default treatment, outcome, cluster and covariates to the project's defaults (the dictionary's
eligible pre-treatment columns) and report the simulation's true effect. Covariates are taken as given:
the CLI trusts the analyst's list (the page is where ineligible columns are blocked), but it names any
ineligible column it can recognise in the warnings.
"""

from __future__ import annotations

import argparse
from typing import Any

from causal_core import estimation
from causal_core.commands.common import CliError, add_format_option, emit, read_data_file
from causal_core.data import analysis_frame, builtin_names, project_for_builtin, project_for_upload
from causal_core.diagnostics_models import EstimationDiagnostics
from causal_core.estimation.interval_notes import interval_note
from causal_core.estimation.refutation import SENSITIVITY_POINTER
from causal_core.methods import ALL_ESTIMANDS, Estimand
from causal_core.project import EstimationSpec


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _clip(value: str) -> tuple[float, float]:
    parts = _split(value)
    try:
        lo, hi = (float(part) for part in parts)
    except ValueError:
        raise CliError(f"--clip must be two numbers 'LO,HI' (got {value!r}).") from None
    return lo, hi


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("estimate", help="naive, regression, IPW and doubly robust estimates with diagnostics")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=builtin_names(), help="a built-in dataset")
    source.add_argument("--data", metavar="FILE", help="a CSV or Parquet file")
    parser.add_argument("--treatment", help="binary 0/1 treatment column (built-ins: the dataset's own)")
    parser.add_argument("--outcome", help="numeric outcome column (built-ins: the dataset's own)")
    parser.add_argument("--covariates", metavar="a,b,c", help="adjustment set (built-ins: eligible pre-treatment columns)")
    parser.add_argument("--categorical", metavar="a,b", help="covariates to one-hot encode (text columns always are)")
    parser.add_argument("--treated-value", help="for a two-valued non-0/1 treatment ('yes'/'no'): the value meaning treated")
    parser.add_argument("--estimand", choices=[str(e) for e in ALL_ESTIMANDS], default=None, help="default ATE")
    parser.add_argument("--cluster", metavar="C", help="cluster column for cluster-robust SEs (built-ins: their own)")
    parser.add_argument("--no-cluster", action="store_true", help="ignore the built-in's cluster column")
    parser.add_argument("--clip", metavar="LO,HI", default="0.02,0.98", help="propensity clip bounds (default 0.02,0.98)")
    parser.add_argument("--trim", choices=["bounds", "crump"], help="drop rows with extreme propensities (changes the estimand)")
    parser.add_argument("--crossfit", type=int, default=0, metavar="K", help="cross-fit AIPW with K folds (0 = off; "
                        "the median of --crossfit-repetitions splits, 5 when 0)")
    parser.add_argument("--missing", choices=["complete_case", "indicator"], default="complete_case")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="N", help="bootstrap replicates for IPW/AIPW SEs")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--no-refute", action="store_true", help="skip the refutation tests")
    add_refutation_options(parser)
    add_terms_options(parser)
    add_learner_options(parser)
    add_format_option(parser)
    parser.set_defaults(handler=run)


def _load(args: argparse.Namespace):
    if args.dataset:
        project, raw = project_for_builtin(args.dataset)
        return project, analysis_frame(project, raw)
    loaded = read_data_file(args.data)
    return project_for_upload(loaded), loaded.frame


def build_spec(args: argparse.Namespace, project, frame) -> EstimationSpec:
    """The spec from the arguments, with the project's defaults filling what a built-in leaves unsaid."""
    treatment = args.treatment or project.treatment
    outcome = args.outcome or project.outcome
    if not treatment or not outcome:
        raise CliError("--treatment and --outcome are required with --data.")
    project = project.model_copy(update={"treatment": treatment, "outcome": outcome})
    if args.covariates is not None:
        covariates = _split(args.covariates)
    elif args.dataset:
        covariates, _ = estimation.default_covariates(project, frame)
    else:
        raise CliError("--covariates is required with --data (comma-separated adjustment set).")
    cluster = None if args.no_cluster else (args.cluster or (project.cluster_column if args.dataset else None))
    if args.bootstrap < 0 or args.crossfit < 0 or args.crossfit == 1:
        raise CliError("--bootstrap must be ≥ 0 and --crossfit 0 or ≥ 2.")
    categorical = _split(args.categorical)
    unknown_categorical = [c for c in categorical if c not in covariates]
    if unknown_categorical:
        raise CliError(f"--categorical names columns that are not covariates: {', '.join(unknown_categorical)}")
    known = [c for c in covariates if c in frame.columns]
    return EstimationSpec(
        treatment=treatment, outcome=outcome, covariates=covariates,
        categorical=sorted(set(categorical) | set(estimation.categorical_columns(frame, known))),
        estimand=args.estimand or Estimand.ATE, cluster=cluster, clip=_clip(args.clip), trim=args.trim,
        crossfit_folds=args.crossfit, bootstrap=args.bootstrap, seed=args.seed, missing=args.missing,
        treated_value=args.treated_value, **terms_fields(args), **learner_fields(args),
    )


def add_terms_options(parser: argparse.ArgumentParser) -> None:
    """Model terms as formulas (formulaic) and the IPW SE, mirroring the page's 'Model terms' expander."""
    parser.add_argument("--terms", metavar="FORMULA",
                        help="outcome-model terms, e.g. 'age + I(age**2) + C(education) + cr(wt71, df=4)'")
    parser.add_argument("--propensity-terms", metavar="FORMULA", help="propensity-model terms (default: --terms)")
    parser.add_argument("--interact", metavar="FORMULA",
                        help="terms interacted with the treatment: the regression row becomes standardisation")
    parser.add_argument("--ipw-se", choices=["influence", "fixed_weights"], default="influence",
                        help="IPW SE: influence function incl. the propensity step (default) or What If's "
                        "fixed-weight robust sandwich")


def terms_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "outcome_terms": getattr(args, "terms", None) or None,
        "propensity_terms": getattr(args, "propensity_terms", None) or None,
        "treatment_interactions": getattr(args, "interact", None) or None,
        "ipw_se": getattr(args, "ipw_se", "influence"),
    }


def payload(result, ineligible: dict[str, str]) -> dict[str, Any]:
    """JSON-ready summary: the binned plot data are left out, the tables kept."""
    plot_data = {"overlap": {"histogram"}, "weights": {"histogram"}}
    diagnostics = result.diagnostics.model_dump(mode="json", exclude=plot_data) if result.diagnostics else None
    warnings = list(result.warnings) + [f"'{c}' is ineligible as a covariate: {why}." for c, why in ineligible.items()]
    return {
        "n_used": result.n_used,
        "dropped": result.dropped,
        "estimand": result.spec.estimand,
        "covariates": result.spec.covariates,
        "cluster": result.spec.cluster,
        "true_effect": result.true_effect,
        "estimates": [
            {key: getattr(row, key) for key in ("method", "estimand", "estimate", "std_error", "ci_low", "ci_high", "se_type", "n_used", "label")}
            | {"interval_note": interval_note(row, result.diagnostics)}
            for row in result.estimates
        ],
        "warnings": warnings,
        "diagnostics": diagnostics,
        "balance": [row.model_dump() for row in result.balance],
        "sensitivity": result.sensitivity.model_dump(),
        "refutations": [item.model_dump() for item in result.refutations],
    }


def _text(data: dict[str, Any]) -> str:
    lines = [f"{data['estimand']} with n = {data['n_used']:,} rows" + (
        f"; dropped {', '.join(f'{k}: {v:,}' for k, v in data['dropped'].items())}" if data["dropped"] else "")]
    lines.append(f"{'method':<12}{'estimate':>11}{'SE':>10}{'95% CI':>24}  SE type")
    for row in data["estimates"]:
        ci = f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]" if row["ci_low"] is not None else "—"
        se = f"{row['std_error']:.4f}" if row["std_error"] is not None else "—"
        label = f"  ({row['label']})" if row.get("label") else ""
        lines.append(f"{row['method']:<12}{row['estimate']:>+11.4f}{se:>10}{ci:>24}  {row['se_type']}{label}")
    if data["true_effect"] is not None:
        lines.append(f"true {data['estimand']} (simulation): {data['true_effect']:+.4f}")
    if data["diagnostics"] is not None:  # read back through the model: a renamed key fails here, not silently
        diagnostics = EstimationDiagnostics.model_validate(data["diagnostics"])
        ipw_info = diagnostics.ipw
        lines.append(f"IPW: {ipw_info.form}. {ipw_info.bounds_note} SE: {ipw_info.se_note or ipw_info.se}.")
        rows = diagnostics.crossfit.rows if diagnostics.crossfit else {}
        lines.extend(f"Fold splits ({method}): {spread.sentence}" for method, spread in rows.items())
    sensitivity = data["sensitivity"]
    if (sensitivity["evalue"] or {}).get("sentence"):
        lines.append("E-value: " + sensitivity["evalue"]["sentence"])
    if sensitivity.get("sensemakr"):
        lines.append("Robustness: " + sensitivity["sensemakr"]["rv_sentence"])
        bench = sensitivity["sensemakr"].get("benchmark")
        if bench:
            lines.extend("Benchmark: " + row["sentence"] for row in bench["bounds"])
    lines.extend(f"Interval ({row['method']}): {row['interval_note']}" for row in data["estimates"] if row.get("interval_note"))
    lines.extend("Refutation: " + item["sentence"] for item in data["refutations"])
    if data["refutations"]:
        lines.append("Refutations: " + SENSITIVITY_POINTER)
    lines.extend("Warning: " + warning for warning in data["warnings"])
    return "\n".join(lines)


def check_bounded_inputs(args: argparse.Namespace) -> None:
    """Refuse an unbounded bootstrap and any formula the gate refuses before the data is even read.

    On a shared server the flags are hostile input: this costs microseconds and nothing is evaluated.
    """
    from causal_core.estimation.constants import MAX_BOOTSTRAP
    from causal_core.estimation.formula_gate import check_formula_syntax

    if args.bootstrap > MAX_BOOTSTRAP:
        raise CliError(f"--bootstrap {args.bootstrap:,} exceeds the limit of {MAX_BOOTSTRAP:,} replicates.")
    for flag, label in (("terms", "outcome terms"), ("propensity_terms", "propensity terms"),
                        ("interact", "treatment interactions")):
        text = getattr(args, flag, None)
        if text and text.strip():
            check_formula_syntax(text, label)


def run(args: argparse.Namespace) -> int:
    check_bounded_inputs(args)
    project, frame = _load(args)
    spec = build_spec(args, project, frame)
    project = project.model_copy(update={"treatment": spec.treatment, "outcome": spec.outcome})
    spec = with_placebo_outcome(args, spec, project, frame)
    ineligible = {
        column: why for column in spec.covariates
        if column in frame.columns and (why := estimation.ineligible_reason(project, column)) is not None
    }
    truth = estimation.true_effect(project, frame, spec.estimand, spec.treatment)
    result = estimation.run_estimation(
        frame, spec, true_effect=truth, refutations=not args.no_refute, progress=learner_progress(spec)
    )
    emit(payload(result, ineligible), args.format, _text)
    return 0


# ---- refutation options (refute-validate) ------------------------------------------------------
def add_refutation_options(parser: argparse.ArgumentParser) -> None:
    """The negative-control outcome, mirroring the page's placebo-outcome picker."""
    parser.add_argument("--placebo-outcome", metavar="COLUMN",
                        help="a pre-treatment column used as a placebo outcome: every estimator should find ≈ 0")


def with_placebo_outcome(args: argparse.Namespace, spec: EstimationSpec, project, frame) -> EstimationSpec:
    """The spec with the placebo outcome, refused before any estimation when it cannot serve (says why)."""
    column = getattr(args, "placebo_outcome", None)
    if not column:
        return spec
    if args.no_refute:
        raise CliError("--placebo-outcome is a refutation test: drop --no-refute to run it.")
    from causal_core.estimation.refutation import check_placebo_outcome

    spec = spec.model_copy(update={"placebo_outcome": column})
    check_placebo_outcome(frame, spec, project if args.dataset else None)
    return spec


# ---- nuisance learners (learners) --------------------------------------------------------------
def add_learner_options(parser: argparse.ArgumentParser) -> None:
    """The propensity and outcome learners, mirroring the page's two learner selectboxes."""
    from causal_core.estimation.learners import OUTCOME_LEARNERS, PS_LEARNERS

    parser.add_argument("--ps-learner", choices=list(PS_LEARNERS), default="logistic",
                        help="propensity model: " + "; ".join(f"{k} = {v}" for k, v in PS_LEARNERS.items())
                        + ". A non-default learner is cross-fitted (--crossfit K, 5 when 0).")
    parser.add_argument("--outcome-learner", choices=list(OUTCOME_LEARNERS), default="linear",
                        help="AIPW outcome model: " + "; ".join(f"{k} = {v}" for k, v in OUTCOME_LEARNERS.items())
                        + ". A non-default learner is cross-fitted (--crossfit K, 5 when 0).")
    parser.add_argument("--crossfit-repetitions", type=int, default=0, metavar="R",
                        help="fold splits for a non-default learner or --crossfit K (0 = 5): the cross-fitted rows are "
                        "the median over R seeded splits, the SE includes their spread, and the output says how far "
                        "the splits disagree")


def learner_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "ps_learner": getattr(args, "ps_learner", "logistic"),
        "outcome_learner": getattr(args, "outcome_learner", "linear"),
        "crossfit_repetitions": getattr(args, "crossfit_repetitions", 0),
    }


def learner_progress(spec: EstimationSpec):
    """With a flexible learner (minutes on 1 M rows) each fit is announced on stderr; stdout stays the result."""
    from causal_core.estimation.learners import uses_learners

    if not uses_learners(spec):
        return None
    import sys

    def announce(fraction: float, message: str) -> None:
        if message.startswith("Fold "):  # one line per model fit; the other steps take well under a second
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    return announce
