"""Charts for the DAG page (altair only, no logic): the forest plot of the local CI tests and the
permutation histogram of the global verdict. The data frames come from ``causal_core.dag.falsify``."""

from __future__ import annotations

import pandas as pd

STATUS_COLOURS = {"violated (Holm)": "#dc2626", "consistent": "#2563eb"}


def implication_forest(rows: pd.DataFrame, confidence: float = 0.95):
    """Partial correlation per implied independence with its approximate Fisher-z CI; zero = independence."""
    import altair as alt

    order = rows["implication"].tolist()
    colour = alt.Color("status:N", scale=alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values())),
                       title="Verdict")
    axis = alt.Axis(labelLimit=420, labelOverlap=False)
    base = alt.Chart(rows).encode(y=alt.Y("implication:N", sort=order, title=None, axis=axis))
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title=f"Partial correlation ({confidence:.0%} CI, Fisher z, approximate)"),
        x2="ci_high:Q",
        color=colour,
    )
    points = base.mark_circle(size=70).encode(
        x="estimate:Q",
        color=colour,
        tooltip=[
            "implication",
            "test",
            "n",
            alt.Tooltip("estimate:Q", format="+.3f"),
            alt.Tooltip("ci_low:Q", format="+.3f"),
            alt.Tooltip("ci_high:Q", format="+.3f"),
            alt.Tooltip("p_value:Q", format=".2g"),
            alt.Tooltip("p_holm:Q", format=".2g", title="Holm p"),
        ],
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#64748b", strokeDash=[4, 3]).encode(x="x:Q")
    return (bars + points + zero).properties(height=max(140, 32 * len(rows)))


def permutation_histogram(rows: pd.DataFrame):
    """Share of implications violated by each relabelled graph; the given DAG as a red line."""
    import altair as alt

    relabelled = rows[rows["graph"] == "relabelled"]
    given = rows[rows["graph"] == "given DAG"]
    bars = alt.Chart(relabelled).mark_bar(color="#94a3b8").encode(
        x=alt.X("share_violated:Q", bin=alt.Bin(step=0.05), title="Share of implications violated (p < 0.05)",
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("count():Q", title="Relabelled graphs"),
    )
    line = alt.Chart(given).mark_rule(color="#dc2626", strokeWidth=3).encode(
        x="share_violated:Q", tooltip=[alt.Tooltip("share_violated:Q", format=".2f", title="given DAG")]
    )
    return (bars + line).properties(height=180)
