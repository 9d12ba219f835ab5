"""Presentation: results table, forest plot, love plot, overlap and weight charts (altair only)."""

from __future__ import annotations

import pandas as pd

from causal_core.diagnostics_models import HistogramBin
from causal_core.display import EffectUnit, format_effect, format_number
from causal_core.estimation.constants import METHOD_LABELS
from causal_core.project import (
    EstimateRow,
    EstimationResult,
)


# ---------------------------------------------------------------------------------------------
# Presentation: results table, forest plot, love plot, overlap and weight charts (altair, no streamlit)
# ---------------------------------------------------------------------------------------------
def method_label(row: EstimateRow) -> str:
    """The row's own label when it has one (a constant-effect coefficient, a standardisation), else the method's."""
    label = row.label or METHOD_LABELS.get(row.method, row.method)
    return f"{label} [bootstrap SE]" if row.se_type.startswith("bootstrap") else label


def se_method(row: EstimateRow) -> str:
    """The SE behind the row's interval in words (stored rows carry it; rows saved before it existed derive it)."""
    from causal_core.estimation.estimators import describe_se

    return row.se_method or describe_se(row.se_type)


def _unique_labels(labels: list[str]) -> list[str]:
    """Every row its own axis label: a repeated label gets ' (2)', ' (3)' (one category per row, none merged)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def estimates_table(result: EstimationResult, unit: EffectUnit | None = None) -> pd.DataFrame:
    """The results table: method, SE method, estimand, estimate, SE, 95 % CI, n used, SE type, the interval's note.

    With ``unit`` an "effect" column writes the estimate in its unit (``display.project_unit``).
    The note (interval_notes.py, from bench/coverage.py's measured table) says when an interval is approximate,
    so no interval is shown without either measured coverage or that label. The SE method is on every row so two
    IPW rows (analytic and bootstrap) are never unlabelled twins.
    """
    from causal_core.estimation.interval_notes import interval_note

    columns = ["method", "estimand", "estimate", "std_error", "ci_low", "ci_high", "se_method", "n_used", "se_type",
               "interval_note"]
    table = pd.DataFrame(
        [
            {
                "method": method_label(row),
                "estimand": row.estimand,
                "estimate": row.estimate,
                "std_error": row.std_error,
                "ci_low": row.ci_low,
                "ci_high": row.ci_high,
                "se_method": se_method(row),
                "n_used": row.n_used,
                "se_type": row.se_type,
                "interval_note": interval_note(row, result.diagnostics) or "",
            }
            for row in result.estimates
        ],
        columns=columns,
    )
    if unit is not None:  # the estimate as every page writes it: "+0.08 points", "−4.6 pp" (display.format_effect)
        table.insert(2, "effect", [format_effect(value, unit) for value in table["estimate"]])
    return table


ROW_HEIGHT = 36  # px per labelled row: the plots grow with their rows, so no label is ever dropped


def _category_axis(title: str | None = None):
    """A nominal axis that shows every label: no overlap culling, no truncation."""
    import altair as alt

    return alt.Axis(labelOverlap=False, labelLimit=0, title=title)


def empty_chart(message: str):
    """A chart that says why it is empty (altair cannot type fields of an empty frame, which raised ValueError)."""
    import altair as alt

    return (
        alt.Chart(pd.DataFrame({"message": [message]}))
        .mark_text(align="center", baseline="middle", fontSize=14, color="#475569")
        .encode(text=alt.Text("message:N"))
        .properties(height=60)
    )


APPROXIMATE_COLOUR = "#f59e0b"
MEASURED_COLOUR = "#93c5fd"
APPROXIMATE_SUFFIX = " · approx. CI"


def forest_frame(result: EstimationResult, unit: EffectUnit | None = None) -> pd.DataFrame:
    """The forest plot's rows on the unit's scale (×100 for percentage points), each with its interval kind.

    An interval the interval-note rule calls approximate (``interval_notes.interval_note``, the same rule as the
    results table) is "approximate" here too, and its axis label says so: the flag is in the plot, not only in
    a collapsed expander.
    """
    table = estimates_table(result)
    table = table[pd.notna(table["estimate"])]
    scale = 100.0 if unit is not None and unit.binary else 1.0
    approximate = table["interval_note"].astype(str).str.len() > 0
    labels = [label + (APPROXIMATE_SUFFIX if flag else "")
              for label, flag in zip(table["method"].tolist(), approximate.tolist(), strict=True)]
    return table.assign(
        row=_unique_labels(labels),
        interval=["approximate" if flag else "measured coverage" for flag in approximate],
        estimate=table["estimate"] * scale,
        ci_low=table["ci_low"] * scale,
        ci_high=table["ci_high"] * scale,
        estimate_text=[format_effect(value, unit) if unit else format_number(value, 4) for value in table["estimate"]],
    )


def forest_chart(result: EstimationResult, title: str | None = None, unit: EffectUnit | None = None):
    """Estimates with 95 % CIs in the outcome's unit, the zero line and (simulations) the true effect as a dashed
    line; approximate intervals are drawn dashed in amber and labelled "approx. CI"."""
    import altair as alt

    table = forest_frame(result, unit)
    if table.empty:
        return empty_chart("No estimates to plot.")
    order = table["row"].tolist()
    axis_title = f"Effect estimate in {unit.long} (95 % CI)" if unit else "Effect estimate (95 % CI)"
    kinds = ["measured coverage", "approximate"]
    base = alt.Chart(table).encode(y=alt.Y("row:N", sort=order, axis=_category_axis()))
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title=axis_title), x2="ci_high:Q",
        color=alt.Color("interval:N", scale=alt.Scale(domain=kinds, range=[MEASURED_COLOUR, APPROXIMATE_COLOUR]),
                        legend=alt.Legend(title="95 % interval", orient="bottom")),
        strokeDash=alt.StrokeDash("interval:N", scale=alt.Scale(domain=kinds, range=[[1, 0], [6, 3]]), legend=None),
    )
    points = base.mark_circle(size=90, color="#2563eb").encode(
        x="estimate:Q",
        tooltip=[
            alt.Tooltip("method:N"),
            alt.Tooltip("se_method:N", title="SE"),
            alt.Tooltip("estimand:N"),
            alt.Tooltip("estimate_text:N", title="estimate"),
            alt.Tooltip("ci_low:Q", format="+.4f"),
            alt.Tooltip("ci_high:Q", format="+.4f"),
            alt.Tooltip("interval:N", title="interval"),
            alt.Tooltip("n_used:Q"),
        ],
    )
    layers = [bars, points, alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#475569").encode(x="x:Q")]
    if result.true_effect is not None:
        scale = 100.0 if unit is not None and unit.binary else 1.0
        truth_text = format_effect(result.true_effect, unit) if unit else f"{result.true_effect:+.3f}"
        truth = pd.DataFrame(
            {"x": [result.true_effect * scale], "label": [f"true {result.spec.estimand} {truth_text}"]}
        )
        layers.append(alt.Chart(truth).mark_rule(color="#dc2626", strokeDash=[6, 4]).encode(
            x="x:Q", tooltip=[alt.Tooltip("label:N")]))
        layers.append(
            alt.Chart(truth)
            .mark_text(color="#dc2626", align="left", dx=4, dy=-6, baseline="bottom")
            .encode(x="x:Q", y=alt.value(0), text=alt.Text("label:N"))
        )
    chart = alt.layer(*layers).properties(height=max(160, ROW_HEIGHT * len(order)))
    return chart.properties(title=title) if title else chart


def love_plot(result: EstimationResult):
    """SMD of every covariate before and after IPW weighting, with the |SMD| = 0.1 guide lines."""
    import altair as alt

    rows = result.balance
    if not rows:
        return empty_chart("No covariates: nothing to balance (every estimate is the unadjusted comparison).")
    labels = _unique_labels([r.covariate for r in rows])
    long = pd.DataFrame(
        [{"covariate": name, "stage": "before weighting", "smd": r.smd_before} for name, r in zip(labels, rows,
                                                                                                   strict=True)]
        + [{"covariate": name, "stage": "after weighting", "smd": r.smd_after} for name, r in zip(labels, rows,
                                                                                                  strict=True)]
    )
    points = (
        alt.Chart(long)
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X("smd:Q", title="Standardised mean difference (treated − control)"),
            y=alt.Y("covariate:N", sort=labels, axis=_category_axis()),
            color=alt.Color(
                "stage:N", scale=alt.Scale(domain=["before weighting", "after weighting"], range=["#f97316", "#2563eb"])
            ),
            tooltip=[alt.Tooltip("covariate:N"), alt.Tooltip("stage:N"), alt.Tooltip("smd:Q", format="+.3f")],
        )
    )
    guides = alt.Chart(pd.DataFrame({"x": [-0.1, 0.1]})).mark_rule(strokeDash=[4, 4], color="#94a3b8").encode(x="x:Q")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#475569").encode(x="x:Q")
    return alt.layer(guides, zero, points).properties(height=max(160, ROW_HEIGHT * len(labels)))


def _binned_chart(records: list[HistogramBin], value: str, title: str, log_x: bool = False):
    import altair as alt

    if not records:
        return empty_chart(f"Nothing to plot for the {title.lower()}.")
    data = pd.DataFrame([record.model_dump() for record in records])
    scale = alt.Scale(type="log") if log_x else alt.Scale(domain=[0, 1])
    return (
        alt.Chart(data)
        .mark_area(opacity=0.4, interpolate="step-after")
        .encode(
            x=alt.X("bin_start:Q", title=title, scale=scale),
            y=alt.Y(f"{value}:Q", title="density", stack=None),
            color=alt.Color("arm:N", scale=alt.Scale(domain=["treated", "control"], range=["#dc2626", "#2563eb"])),
            tooltip=[alt.Tooltip("arm:N"), alt.Tooltip("bin_start:Q", format=".3f"),
                     alt.Tooltip("bin_end:Q", format=".3f"), alt.Tooltip("count:Q")],
        )
        .properties(height=220)
    )


def overlap_chart(result: EstimationResult):
    """Estimated propensity by arm (N01's overlap plot), with the clip bounds marked."""
    import altair as alt

    overlap = result.diagnostics.overlap if result.diagnostics else None
    if overlap is None or not overlap.histogram:
        return empty_chart("No propensity scores to plot.")
    bounds = (
        alt.Chart(pd.DataFrame({"x": list(overlap.clip)})).mark_rule(strokeDash=[4, 4], color="#475569").encode(x="x:Q")
    )
    return alt.layer(_binned_chart(overlap.histogram, "density", "Estimated probability of treatment"), bounds)


def weights_chart(result: EstimationResult):
    histogram = result.diagnostics.weights.histogram if result.diagnostics else []
    return _binned_chart(histogram, "density", "IPW weight (log scale)", log_x=True)
