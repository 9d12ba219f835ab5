"""The deck's pictures as inline-safe SVG: the DAG with its adjustment set, the sensitivity picture, the curve.

Why SVG rendered here (Graphviz, vl-convert) and sanitised by safe_svg.safe_svg (an XML allow-list): the deck must open
offline with no script from a CDN and nothing that fetches or runs. Each function returns (svg, caption) and
never raises: a picture that cannot be drawn becomes a caption saying why, and the slide's words carry the
same numbers. Chart labels are our own words; user names (columns, nodes) appear only in the escaped HTML
caption or, for the DAG, in Graphviz's XML-escaped node text.
"""

from __future__ import annotations

from typing import Any

from causal_core import dag_io
from causal_core.dag import dot_binary
from causal_core.dag_io.dot import _dot_escape, to_dot
from causal_core.memo import MemoFacts
from causal_core.memo.facts import _dag_node_for
from causal_core.memo.markup import name
from causal_core.project import Project
from causal_core.reporting.report import chart_svg
from causal_core.safe_svg import safe_svg

ADJUSTED_FILL = "#bbf7d0"
ADJUSTED_BORDER = "#15803d"
DAG_CAPTION = "Green with a thick border: the adjustment set, the variables the estimate holds fixed."


def _failed(what: str, error: Exception) -> tuple[str, str]:
    return "", f"The {what} could not be drawn ({error}); the words on this slide carry the same figures."


def adjusted_nodes(project: Project, facts: MemoFacts) -> list[str]:
    """The DAG nodes the estimation adjusted for (the memo's covariates mapped to nodes), else the DAG's own set."""
    if project.dag is None:
        return []
    mapped = [node for node in (_dag_node_for(project, column) for column in facts.covariates) if node]
    return list(dict.fromkeys(mapped or project.dag.adjusted))


def highlighted_dot(project: Project, facts: MemoFacts) -> str:
    """The DAG's DOT (dag_io.to_dot, N01's look) with the adjustment set re-declared green and bold.

    A later node statement in DOT updates that node's attributes, so the shared drawing code stays untouched.
    """
    assert project.dag is not None
    base = to_dot(project.dag).rstrip().removesuffix("}")
    overrides = [
        f'  "{_dot_escape(node)}" [fillcolor="{ADJUSTED_FILL}", color="{ADJUSTED_BORDER}", penwidth="3"];'
        for node in adjusted_nodes(project, facts)
    ]
    return "\n".join([base.rstrip(), *overrides, "}"]) + "\n"


def dag_picture(project: Project, facts: MemoFacts) -> tuple[str, str]:
    """The DAG drawn by Graphviz with the adjustment set highlighted."""
    if project.dag is None or not project.dag.nodes:
        return "", "No DAG yet."
    if not dag_io.dot_available():
        return "", "Graphviz's dot is not installed, so the diagram is not drawn here (the DAG page shows it)."
    try:
        svg = dot_binary.run_dot(highlighted_dot(project, facts), "svg").decode("utf-8")
    except Exception as error:  # noqa: BLE001 - a drawing failure must not lose the deck
        return _failed("diagram", error)
    drawing = safe_svg(svg)
    if not drawing:
        return "", "The diagram could not be drawn; the words on this slide name the adjustment set."
    return drawing, DAG_CAPTION if adjusted_nodes(project, facts) else "No adjustment set was used."


def _benchmark_rows(project: Project, facts: MemoFacts) -> tuple[list[dict[str, Any]], str] | None:
    """Points for the sensitivity picture: the regression row as estimated, then the sensemakr bounds for a
    confounder k times as strong as the strongest measured covariate (stored figures, never recomputed)."""
    estimation = project.estimation
    summary = estimation.sensitivity.sensemakr if estimation else None
    benchmark = summary.benchmark if summary is not None else None
    regression = next((r for r in facts.rows if r.method == "regression" and r.ci_low is not None), None)
    if benchmark is None or regression is None:
        return None
    scale = 100.0 if facts.binary else 1.0
    rows = [
        {"what": "as estimated", "estimate": regression.estimate * scale,
         "low": regression.ci_low * scale, "high": regression.ci_high * scale}  # type: ignore[operator]
    ]
    for bound in benchmark.bounds:
        if not bound.possible or bound.adjusted_ci_low is None:
            continue
        rows.append({
            "what": f"{bound.k}× confounder",
            "estimate": bound.adjusted_estimate * scale,  # type: ignore[operator]
            "low": bound.adjusted_ci_low * scale,
            "high": bound.adjusted_ci_high * scale,  # type: ignore[operator]
        })
    return (rows, benchmark.covariate) if len(rows) > 1 else None


def sensitivity_chart(rows: list[dict[str, Any]], binary: bool, unit_label: str = "") -> Any:
    """Estimate and 95% interval as estimated and under ever stronger hypothetical confounders, zero marked."""
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(rows)
    unit = f" ({unit_label})" if unit_label else ""  # display.outcome_unit's short form: pp, hours, points
    axis_format = ".1f" if binary else ".2f"
    base = alt.Chart(frame).encode(y=alt.Y("what:N", sort=None, title=None, axis=alt.Axis(labelFontSize=16, labelLimit=400)))
    x_axis = alt.Axis(format=axis_format, labelFontSize=14, titleFontSize=16)
    bars = base.mark_rule(strokeWidth=4).encode(x=alt.X("low:Q", title=f"Effect{unit}, 95% interval", axis=x_axis), x2="high:Q")
    points = base.mark_point(filled=True, size=220, color="#1d4ed8").encode(x="estimate:Q")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#b91c1c", strokeDash=[6, 4]).encode(x="x:Q")
    return alt.layer(bars, points, zero).properties(width=480, height=56 * len(frame) + 20, padding={"left": 40, "top": 5, "right": 10, "bottom": 5})


def sensitivity_picture(project: Project, facts: MemoFacts) -> tuple[str, str]:
    """What would change the estimate, in one picture: the sensemakr benchmark bounds (when stored)."""
    found = _benchmark_rows(project, facts)
    if found is None:
        return "", ""
    rows, covariate = found
    try:
        svg = safe_svg(chart_svg(sensitivity_chart(rows, facts.binary, facts.unit.short if facts.unit else "")))
    except Exception as error:  # noqa: BLE001
        return _failed("sensitivity picture", error)
    caption = (
        f"If an unmeasured confounder were 1, 2 or 3 times as strong as {name(covariate)} (the strongest measured "
        "covariate), the regression estimate would move as drawn; the red dashed line is no effect."
    )
    return svg, caption


def curve_picture(project: Project) -> tuple[str, str]:
    """The specification curve exactly as the Specification curve page draws it."""
    from causal_core.multiverse.charts import specification_curve

    if project.multiverse is None:
        return "", ""
    try:
        svg = safe_svg(chart_svg(specification_curve(project.multiverse, title="")))
    except Exception as error:  # noqa: BLE001
        return _failed("specification curve", error)
    return svg, "Each dot is one defensible way to run the analysis; orange diamond: the main specification."
