"""The DAG drawing: streamlit-agraph behind ONE function (``graph_component``) so tests can patch it.

The component is view-only: it draws the spec at its stored positions (physics off, so nothing moves
between reruns) and returns only the id of a clicked node. All edits go through ``causal_core.dag``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from causal_core.dag import role_colour
from causal_core.project import DagSpec

BORDER = "#334155"
SELECTED_BORDER = "#dc2626"
EDGE_COLOUR = "#475569"


def graph_component(nodes: list, edges: list, config) -> str | None:
    """The one call into streamlit-agraph (patched in tests). Returns the clicked node's id or None."""
    from streamlit_agraph import agraph

    return agraph(nodes=nodes, edges=edges, config=config)


def _tooltip(name: str, column: str | None, latent: bool, roles: Sequence[str]) -> str:
    data = "latent" if latent else (f"column {column}" if column else "no data column")
    shown = ", ".join(r.replace("_", " ") for r in roles) or "other"
    return f"{name} — {shown} ({data})"


def render_dag(
    spec: DagSpec,
    roles: Mapping[str, Sequence[str]],
    selected: str | None = None,
    height: int = 520,
) -> str | None:
    """Draw ``spec`` coloured by derived role (N01 palette); latent nodes dashed, unmeasured ones grey text."""
    from streamlit_agraph import Config, Edge, Node

    nodes = []
    for node in spec.nodes:
        node_roles = roles.get(node.name, [])
        nodes.append(
            Node(
                id=node.name,
                label=node.label or node.name,
                title=_tooltip(node.name, node.column, node.latent, node_roles),
                shape="box",
                x=node.x if node.x is not None else 0,
                y=node.y if node.y is not None else 0,
                physics=False,
                borderWidth=3 if node.name == selected else 1,
                shapeProperties={"borderRadius": 6, "borderDashes": [5, 4] if node.latent else False},
                color={
                    "background": role_colour(node_roles),
                    "border": SELECTED_BORDER if node.name == selected else BORDER,
                },
                font={"face": "Helvetica", "color": "#64748b" if (node.latent or not node.column) else "#0f172a"},
            )
        )
    edges = [
        Edge(source=edge.source, target=edge.target, color=EDGE_COLOUR, title=edge.rationale or None)
        for edge in spec.edges
    ]
    config = Config(
        height=height,
        directed=True,
        physics=False,
        hierarchical=False,
        interaction={"dragNodes": False, "hover": True},
    )
    # Config only takes pixels; a fixed canvas wider than its page column is cropped on the right. "100%" lets
    # vis-network fill the component's iframe (the column's width) and fit the graph into it, at any width.
    config.width = "100%"
    return graph_component(nodes, edges, config)
