"""The specification curve as one altair chart: encodings only, every number comes from summary.curve_data."""

from __future__ import annotations

from typing import Any

from causal_core.display import EffectUnit
from causal_core.multiverse.summary import curve_data, reference_lines
from causal_core.project import MultiverseResult

GROUP_COLOURS = {
    "valid": "#2563eb",
    "main specification": "#f97316",
    "invalid (DAG/dictionary)": "#9ca3af",
}
LINE_COLOURS = {"zero": "#111827"}
TRUTH_COLOUR = "#16a34a"
MAX_WIDTH = 900


def _width(n_points: int) -> int:
    return int(min(MAX_WIDTH, max(360, 6 * n_points)))


def _on_unit_scale(frame: Any, columns: tuple[str, ...], unit: EffectUnit | None) -> Any:
    """Percentage points for a binary outcome's risk differences (×100), the outcome's own scale otherwise."""
    if unit is None or not unit.binary:
        return frame
    return frame.assign(**{column: frame[column] * 100.0 for column in columns if column in frame})


MATRIX_ROW_PX = 18  # per choice row: every label gets its own line (14 px let Vega drop every other label)


def specification_curve(result: MultiverseResult, title: str | None = None, unit: EffectUnit | None = None) -> Any:
    """Top: sorted estimates with approximate 95 % CIs (main highlighted, zero and the true effect drawn) in the
    estimate's unit (``display.project_unit``, the rule the Estimation page and the memo use);
    bottom: which choice each specification made. Hover shows the whole specification. A fixed width: the
    exported chart file has no page column to fit."""
    import altair as alt

    top, matrix = curve_views(result, title, unit, width=None)
    return alt.vconcat(top, matrix, spacing=6).resolve_scale(x="shared", color="independent")


def curve_views(result: MultiverseResult, title: str | None = None, unit: EffectUnit | None = None,
                width: int | str | None = "container") -> tuple[Any, Any]:
    """The curve and its choice matrix as two charts with the same x scale, for a page column: ``"container"``
    width fits the column (a concatenated chart cannot, and overflowed it), ``None`` a width from the count."""
    import altair as alt

    points, indicators = curve_data(result)
    points = _on_unit_scale(points, ("estimate", "ci_low", "ci_high"), unit)
    lines = _on_unit_scale(reference_lines(result), ("value",), unit)
    y_title = f"Estimate in {unit.long} (approximate 95% CI)" if unit else "Estimate (approximate 95% CI)"
    width = _width(len(points)) if width is None else width
    bounds = [float(points["rank"].min()), float(points["rank"].max())] if len(points) else [0.0, 1.0]
    ranks = alt.Scale(domain=bounds, nice=False, zero=False)  # both views share it, so dots sit over their choices
    domain = list(GROUP_COLOURS)
    scale = alt.Scale(domain=domain, range=[GROUP_COLOURS[g] for g in domain])
    colour = alt.Color("group:N", scale=scale, legend=alt.Legend(title="Specification", orient="right"))
    tooltip = [
        alt.Tooltip("specification:N"),
        alt.Tooltip("estimand:N"),
        alt.Tooltip("estimate:Q", format="+.4f"),
        alt.Tooltip("ci_low:Q", format="+.4f", title="95% CI low (approx.)"),
        alt.Tooltip("ci_high:Q", format="+.4f", title="95% CI high (approx.)"),
        alt.Tooltip("interval:N", title="interval"),
        alt.Tooltip("group:N"),
    ]
    x = alt.X("rank:Q", title=None, scale=ranks, axis=alt.Axis(labels=False, ticks=False, grid=False))
    base = alt.Chart(points).encode(x=x)
    intervals = base.mark_rule(opacity=0.5).encode(
        y=alt.Y("ci_low:Q", title=y_title),
        y2="ci_high:Q",
        color=colour,
        tooltip=tooltip,
    )
    dots = base.mark_circle(size=36, opacity=1).encode(y="estimate:Q", color=colour, tooltip=tooltip)
    main = (
        base.transform_filter(alt.datum.group == "main specification")
        .mark_point(size=160, shape="diamond", filled=True, color=GROUP_COLOURS["main specification"])
        .encode(y="estimate:Q", tooltip=tooltip)
    )
    names = lines["line"].tolist()
    rules = (
        alt.Chart(lines)
        .mark_rule(strokeDash=[6, 3], strokeWidth=1.5)
        .encode(
            y="value:Q",
            color=alt.Color(
                "line:N",
                scale=alt.Scale(domain=names, range=[LINE_COLOURS.get(n, TRUTH_COLOUR) for n in names]),
                legend=alt.Legend(title="Reference", orient="right"),
            ),
            tooltip=[alt.Tooltip("line:N"), alt.Tooltip("value:Q", format="+.4f")],
        )
    )
    estimates = alt.layer(intervals, dots, main)
    top = (
        alt.layer(rules, estimates)
        .resolve_scale(color="independent")
        .resolve_legend(color="independent")
        .properties(width=width, height=260, title=title or "Specification curve")
    )
    matrix = (
        alt.Chart(indicators)
        .mark_square(size=30)
        .encode(
            x=alt.X(
                "rank:Q",
                title="Specifications, sorted by estimate (valid first, then invalid)",
                scale=ranks,
                axis=alt.Axis(labels=False, ticks=False),
            ),
            y=alt.Y("choice:N", title=None, sort=alt.EncodingSortField("dimension"),
                    axis=alt.Axis(labelLimit=360, labelOverlap=False)),
            color=alt.Color("group:N", scale=scale, legend=None),
            tooltip=[alt.Tooltip("choice:N"), alt.Tooltip("specification:N")],
        )
        .properties(width=width, height=max(80, MATRIX_ROW_PX * indicators["choice"].nunique()))
    )
    return top, matrix
