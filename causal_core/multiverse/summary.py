"""The summary in plain sentences, the variance decomposition and the curve's plot data (no chart code).

Why valid and invalid apart: a set the DAG calls invalid estimates something else (a direct effect, a
confounded contrast), so pooling it with valid sets would let the damage of a bad control read as
"robustness". Every figure below is computed over the valid (or unchecked, when there is no DAG)
specifications only; the invalid ones get their own lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from causal_core.project import MultiverseResult, MultiverseRow

ROBUST_SIGN_SHARE = 0.95
ROBUST_CI_SHARE = 0.80
MOSTLY_SIGN_SHARE = 0.80


def table(rows: list[MultiverseRow]) -> pd.DataFrame:
    """One line per specification with its choices spread into columns (the CSV/JSON export and the page)."""
    records = []
    for row in rows:
        record = {"id": row.id, **row.choices}
        record.update(
            covariates=", ".join(row.covariates),
            validity=row.validity,
            status=row.status,
            estimand_label=row.estimand + (f" ({row.label})" if row.label else ""),
            estimate=row.estimate,
            std_error=row.std_error,
            ci_low=row.ci_low,
            ci_high=row.ci_high,
            n_used=row.n_used,
            se_type=row.se_type,
            interval_note=row.interval_note,
            main=row.is_main,
            reason=row.reason,
            validity_reason=row.validity_reason,
        )
        records.append(record)
    return pd.DataFrame.from_records(records)


def _ok(rows: list[MultiverseRow], pooled: bool) -> list[MultiverseRow]:
    """Estimated rows of the valid pool (pooled=True) or of the invalid ones (pooled=False)."""
    return [r for r in rows if r.status == "ok" and r.estimate is not None and (r.validity != "invalid") == pooled]


def _excludes_zero(row: MultiverseRow) -> bool:
    return row.ci_low is not None and row.ci_high is not None and (row.ci_low > 0 or row.ci_high < 0)


def variance_decomposition(rows: list[MultiverseRow], dimensions: list[str]) -> list[dict[str, Any]]:
    """Share of the estimates' variance explained by each choice dimension alone (main-effect η²).

    η²_d = Σ_g n_g (mean_g − mean)² / Σ (est − mean)². In a complete factorial design the main effects are
    orthogonal, so the shares add up to at most 1 and the remainder is interactions; the top dimension is
    the single choice that moves the estimate most. Group means are reported so a sentence can name them.
    """
    frame = pd.DataFrame([{**r.choices, "estimate": r.estimate} for r in rows])
    if frame.empty:
        return []
    total = float(((frame["estimate"] - frame["estimate"].mean()) ** 2).sum())
    out = []
    for dimension in dimensions:
        if dimension not in frame or frame[dimension].nunique() < 2:
            continue
        groups = frame.groupby(dimension, sort=False)["estimate"].agg(["mean", "size"])
        between = float((groups["size"] * (groups["mean"] - frame["estimate"].mean()) ** 2).sum())
        out.append(
            {
                "dimension": dimension,
                "share": between / total if total > 0 else 0.0,
                "group_means": {str(k): float(v) for k, v in groups["mean"].items()},
            }
        )
    return sorted(out, key=lambda item: -item["share"])


def _pool_figures(rows: list[MultiverseRow]) -> dict[str, Any]:
    estimates = np.array([r.estimate for r in rows], dtype=float)
    return {
        "n": len(rows),
        "median": float(np.median(estimates)),
        "min": float(estimates.min()),
        "max": float(estimates.max()),
        "share_ci_excludes_zero": float(np.mean([_excludes_zero(r) for r in rows])),
        "n_approximate_intervals": sum(bool(r.interval_note) for r in rows),
    }


def _main_row(rows: list[MultiverseRow]) -> MultiverseRow | None:
    return next((r for r in rows if r.is_main), None)


def verdict(share_same_sign: float, share_excludes_zero: float) -> str:
    """robust | mostly robust | fragile: what a memo may claim (the memo rubric reads the same verdict)."""
    if share_same_sign >= ROBUST_SIGN_SHARE and share_excludes_zero >= ROBUST_CI_SHARE:
        return "robust"
    if share_same_sign >= MOSTLY_SIGN_SHARE:
        return "mostly robust"
    return "fragile"


def summarise(result: MultiverseResult, binary: bool = False) -> dict[str, Any]:
    """Every figure the page, the CLI and the memo quote, and the plain sentences that say them.

    ``binary``: a 0/1 outcome, so effects read in percent points (as the memo writes them)."""
    rows = result.rows
    varying = [d for d, options in result.dimensions.items() if len(options) > 1]
    valid = _ok(rows, pooled=True)
    invalid = _ok(rows, pooled=False)
    main = _main_row(rows)
    summary: dict[str, Any] = {
        "n_specifications": len(rows),
        "n_valid_estimated": len(valid),
        "n_invalid_estimated": len(invalid),
        "n_failed": sum(r.status == "failed" for r in rows),
        "n_stopped": sum(r.status == "stopped" for r in rows),
        "n_unchecked": sum(r.validity == "unchecked" for r in valid),
        "main": None,
        "valid": None,
        "invalid": _pool_figures(invalid) if invalid else None,
        "decomposition": [],
        "varying_dimensions": varying,
        "binary_outcome": binary,
    }
    if main is not None and main.status == "ok" and main.estimate is not None:
        summary["main"] = {
            "id": main.id,
            "estimate": main.estimate,
            "ci_low": main.ci_low,
            "ci_high": main.ci_high,
            "choices": main.choices,
            "validity": main.validity,
        }
    if valid:
        pool = _pool_figures(valid)
        main_is_valid = summary["main"] is not None and summary["main"]["validity"] != "invalid"
        reference = main.estimate if main_is_valid else pool["median"]  # an invalid main never sets the sign
        sign = np.sign(reference)
        pool["share_same_sign"] = float(np.mean([np.sign(r.estimate) == sign for r in valid])) if sign else 0.0
        pool["sign_reference"] = "main" if main_is_valid else "median"
        pool["verdict"] = verdict(pool["share_same_sign"], pool["share_ci_excludes_zero"])
        summary["valid"] = pool
        summary["decomposition"] = variance_decomposition(valid, varying)
        explained = sum(item["share"] for item in summary["decomposition"])
        summary["remainder_share"] = max(0.0, 1.0 - explained)  # interactions (and imbalance from failed rows)
    if invalid:
        summary["invalid_sets"] = _invalid_set_medians(invalid)
    summary["sentences"] = sentences(summary, result)
    return summary


def _invalid_set_medians(rows: list[MultiverseRow]) -> list[dict[str, Any]]:
    """Per invalid set: its median estimate (what the damage looks like, set by set)."""
    frame = pd.DataFrame([{"set": r.choices["adjustment set"], "estimate": r.estimate} for r in rows])
    medians = frame.groupby("set", sort=False)["estimate"].median()
    return [{"set": str(name), "median": float(value)} for name, value in medians.items()]


def _fmt(value: float, binary: bool) -> str:
    return f"{value:+.1%}" if binary else f"{value:+.3g}"



def invalid_by_design_count(result: MultiverseResult) -> int:
    """Rows invalid only because they drop the clustering the analysis uses (the rest are invalid sets).

    The memo quotes this split, so the memo's numbers check must know it too."""
    return sum(r.validity == "invalid" and r.validity_reason.startswith("invalid by design") for r in result.rows)


def sentences(summary: dict[str, Any], result: MultiverseResult) -> list[str]:
    """The summary in plain sentences; the numbers are the summary's own (the memo quotes the same)."""
    binary = bool(summary.get("binary_outcome"))
    out: list[str] = []
    valid, invalid, main = summary["valid"], summary["invalid"], summary["main"]
    if valid is None:
        out.append("No valid specification was estimated, so there is no robustness figure to report.")
    else:
        reference = "the main estimate" if valid["sign_reference"] == "main" else "the median estimate"
        out.append(
            f"Across {valid['n']} valid specifications, {valid['share_same_sign']:.0%} have the same sign as {reference}"
            f" and {valid['share_ci_excludes_zero']:.0%} have a 95% interval (approximate) that excludes zero."
        )
        out.append(
            f"The median estimate is {_fmt(valid['median'], binary)}; the estimates range from "
            f"{_fmt(valid['min'], binary)} to {_fmt(valid['max'], binary)} (verdict: {valid['verdict']})."
        )
        if main is not None and main["validity"] == "invalid":
            out.append(
                f"The main specification estimates {_fmt(main['estimate'], binary)}, but its adjustment set is invalid "
                "by the DAG or the dictionary, so the signs above are compared with the valid median instead."
            )
        elif main is not None:
            out.append(f"The main specification estimates {_fmt(main['estimate'], binary)}.")
        if valid["n_approximate_intervals"]:
            out.append(
                f"{valid['n_approximate_intervals']} of these {valid['n']} intervals are approximate (coverage not "
                "measured or off target in bench/coverage.py; each row carries its note)."
            )
        choices = [d for d in summary["decomposition"] if d["dimension"] != "estimand"]
        top = choices[0] if choices else None
        if top and top["share"] > 0:
            means = top["group_means"]
            low, high = min(means, key=means.get), max(means, key=means.get)
            out.append(
                f"The choice that moves the estimate most is the {top['dimension']}: it explains {top['share']:.0%} of "
                f"the variance across valid specifications (from {_fmt(means[low], binary)} with {low} to "
                f"{_fmt(means[high], binary)} with {high})."
            )
        estimand = next((d for d in summary["decomposition"] if d["dimension"] == "estimand"), None)
        if estimand is not None:
            out.append(
                f"The estimand explains {estimand['share']:.0%} of that variance: ATE and ATT answer different "
                "questions, so that part is not fragility."
            )
        if summary["n_unchecked"]:
            out.append(f"{summary['n_unchecked']} of them could not be checked against a DAG.")
    if invalid is not None:
        unclustered = invalid_by_design_count(result)
        if unclustered == invalid["n"]:
            what = "drop the clustering the analysis uses (invalid by design: their intervals are too narrow)"
        elif unclustered:
            what = (f"are invalid ({invalid['n'] - unclustered} by a set the DAG or the dictionary calls invalid, "
                    f"{unclustered} by dropping the clustering the analysis uses)")
        else:
            what = "use sets the DAG or the dictionary calls invalid"
        out.append(
            f"{invalid['n']} specifications {what}; they are kept apart and "
            f"not pooled (median {_fmt(invalid['median'], binary)}, range {_fmt(invalid['min'], binary)} to "
            f"{_fmt(invalid['max'], binary)})."
        )
    if summary["n_failed"]:
        out.append(f"{summary['n_failed']} specifications failed; each is kept with its reason.")
    if summary["n_stopped"]:
        out.append(f"{summary['n_stopped']} specifications were not run (stopped).")
    for estimand, truth in result.true_effects.items():
        out.append(f"The simulation's true {estimand} is {_fmt(truth, binary)}.")
    return out


# ---- plot data (the chart only encodes these columns) -----------------------------------------
def curve_data(result: MultiverseResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, indicators): valid specifications ranked by estimate, then a gap, then the invalid ones,
    so the two groups are visibly apart; failed/stopped rows are not plotted (the table lists them)."""
    rows = [r for r in result.rows if r.status == "ok" and r.estimate is not None]
    valid = sorted((r for r in rows if r.validity != "invalid"), key=lambda r: r.estimate)
    invalid = sorted((r for r in rows if r.validity == "invalid"), key=lambda r: r.estimate)
    gap = 3 if valid and invalid else 0
    ranked = [(i + 1, r) for i, r in enumerate(valid)] + [(len(valid) + gap + i + 1, r) for i, r in enumerate(invalid)]
    varying = [d for d, options in result.dimensions.items() if len(options) > 1]
    points = pd.DataFrame(
        [
            {
                "rank": rank,
                "id": r.id,
                "estimate": r.estimate,
                "ci_low": r.ci_low if r.ci_low is not None else r.estimate,
                "ci_high": r.ci_high if r.ci_high is not None else r.estimate,
                "group": "main specification"
                if r.is_main
                else ("invalid (DAG/dictionary)" if r.validity == "invalid" else "valid"),
                "specification": "; ".join(f"{d}: {r.choices[d]}" for d in varying) or "single specification",
                "estimand": r.estimand + (f" ({r.label})" if r.label else ""),
                "interval": r.interval_note or "calibrated (measured coverage on target)",
            }
            for rank, r in ranked
        ],
        columns=["rank", "id", "estimate", "ci_low", "ci_high", "group", "specification", "estimand", "interval"],
    )
    indicators = pd.DataFrame(
        [
            {
                "rank": rank,
                "id": r.id,
                "dimension": d,
                "choice": f"{d}: {r.choices[d]}",
                "group": group,
                "specification": text,
            }
            for (rank, r), group, text in zip(ranked, points["group"], points["specification"], strict=True)
            for d in varying
        ],
        columns=["rank", "id", "dimension", "choice", "group", "specification"],
    )
    return points, indicators


def reference_lines(result: MultiverseResult) -> pd.DataFrame:
    """Zero and, on simulated data, the true effect per estimand (drawn as horizontal rules)."""
    lines = [{"value": 0.0, "line": "zero"}]
    lines += [
        {"value": truth, "line": f"true {estimand} (simulation)"} for estimand, truth in result.true_effects.items()
    ]
    return pd.DataFrame(lines)
