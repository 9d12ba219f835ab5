"""The DAG drawing: streamlit-agraph behind ONE function (``graph_component``) so tests can patch it.

The component is view-only: it draws the spec at its stored positions (physics off, so nothing moves
between reruns) and returns only the id of a clicked node. All edits go through ``causal_core.dag``.
One path can be highlighted (the path list's selected row); adjusted and selection nodes get their own
borders, bidirected edges are dashed double arrows.

Security (docs/security.md). Node and column names come from CSV headers and shared project files, edge
rationales from a model: all untrusted. The installed streamlit-agraph frontend (frontend/build,
``htmlTitle``) runs ``div.innerHTML = node.title`` for every node as soon as the graph renders, no hover
needed, and Streamlit's component iframe is sandboxed ``allow-scripts allow-same-origin`` (hard-coded in
Streamlit's IFrameUtil; the component API offers no way to tighten it), so a script there reaches the
parent page. Therefore:

- every ``title`` (node and edge) is :func:`causal_core.safe_text.plain_text`: tags stripped, the rest
  HTML-escaped, so innerHTML can only ever produce text;
- a node title starts with the fixed word "Node", never with the name: the same frontend's double-click
  handler calls ``window.open(title)``, and a title starting ``javascript:`` would be a script URL;
- labels are drawn by vis-network on the canvas, as text, as long as ``font.multi`` is off (with
  ``multi: "html"`` vis-network would parse ``<b>``-style tags); :func:`node_font` sets ``multi=False``
  explicitly and a test checks it, so labels are the raw names, shown literally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from causal_core.dag import role_colour
from causal_core.dag.layout import CANVAS_WIDTH_PX, canvas_height
from causal_core.project import DagSpec
from causal_core.safe_text import plain_text

BORDER = "#334155"
SELECTED_BORDER = "#dc2626"
EDGE_COLOUR = "#475569"
DIMMED_EDGE = "#cbd5e1"
ADJUSTED_BORDER = "#0f172a"
SELECTION_BORDER = "#d97706"
PATH_COLOUR = "#dc2626"  # a biasing path; causal paths are drawn in CAUSAL_COLOUR
CAUSAL_COLOUR = "#16a34a"
LABEL_PX = {"normal": 18, "presentation": 24}  # canvas units; fit-to-view zoom scales them on screen
TITLE_LIMIT = 300  # characters of a tooltip (a rationale is one line; a pasted essay is cut)


def graph_component(nodes: list, edges: list, config) -> str | None:
    """The one call into streamlit-agraph (patched in tests). Returns the clicked node's id or None."""
    from streamlit_agraph import agraph

    return agraph(nodes=nodes, edges=edges, config=config)


def _tooltip(name: str, column: str | None, latent: bool, roles: Sequence[str], extra: str = "") -> str:
    """Plain text only (see the module docstring): the frontend writes it with innerHTML."""
    data = "latent" if latent else (f"column {column}" if column else "no data column")
    shown = ", ".join(r.replace("_", " ") for r in roles) or "other"
    return plain_text(f"Node {name} — {shown} ({data}){extra}", limit=TITLE_LIMIT)


def _edge_title(rationale: str | None) -> str | None:
    """A model-drafted rationale as plain text (None: no tooltip)."""
    return plain_text(rationale, limit=TITLE_LIMIT) if rationale else None


def node_font(dimmed: bool, size: str = "normal") -> dict:
    """Canvas-drawn label font. ``multi`` stays False so vis-network never parses markup in a label."""
    return {"face": "Helvetica", "size": LABEL_PX.get(size, LABEL_PX["normal"]), "multi": False,
            "color": "#64748b" if dimmed else "#0f172a"}


def _edge_style(highlighted: bool, dimmed: bool, colour: str) -> dict:
    if highlighted:
        return {"color": colour, "width": 4}
    return {"color": DIMMED_EDGE if dimmed else EDGE_COLOUR, "width": 1}


def render_dag(
    spec: DagSpec,
    roles: Mapping[str, Sequence[str]],
    selected: str | None = None,
    height: int = 520,
    highlight: tuple[set[tuple[str, str]], set[frozenset[str]]] | None = None,
    highlight_colour: str = PATH_COLOUR,
    adjusted: Sequence[str] | None = None,
    size: str = "normal",
    width_px: float = CANVAS_WIDTH_PX,
) -> str | None:
    """Draw ``spec`` coloured by derived role (N01 palette); latent nodes dashed, unmeasured ones grey text.

    ``adjusted`` nodes (default: the spec's) get a thick black border, selection nodes an amber one;
    bidirected edges are dashed double arrows (a latent common cause). ``highlight`` = (directed edges,
    bidirected pairs) of one path: drawn thick in ``highlight_colour``, every other edge dimmed.
    """
    from streamlit_agraph import Config, Edge, Node

    adjusted_set = set(spec.adjusted if adjusted is None else adjusted)
    selection = set(getattr(spec, "selected", None) or [])
    directed_lit, bidirected_lit = highlight or (set(), set())
    dimmed = bool(directed_lit or bidirected_lit)
    nodes = []
    for node in spec.nodes:
        node_roles = roles.get(node.name, [])
        border = SELECTED_BORDER if node.name == selected else (
            ADJUSTED_BORDER if node.name in adjusted_set else SELECTION_BORDER if node.name in selection else BORDER
        )
        width = 3 if node.name == selected else 4 if node.name in adjusted_set | selection else 1
        nodes.append(
            Node(
                id=node.name,
                label=node.label or node.name,
                title=_tooltip(
                    node.name, node.column, node.latent, node_roles,
                    (" · adjusted" if node.name in adjusted_set else "")
                    + (" · selection node (the sample is conditioned on it)" if node.name in selection else ""),
                ),
                shape="box",
                x=node.x if node.x is not None else 0,
                y=node.y if node.y is not None else 0,
                physics=False,
                borderWidth=width,
                shapeProperties={"borderRadius": 6, "borderDashes": [5, 4] if node.latent else False},
                color={"background": role_colour(node_roles), "border": border},
                font=node_font(node.latent or not node.column, size),
            )
        )
    edges = [
        Edge(source=edge.source, target=edge.target, title=_edge_title(edge.rationale),
             **_edge_style((edge.source, edge.target) in directed_lit, dimmed, highlight_colour))
        for edge in spec.edges
    ]
    for edge in getattr(spec, "bidirected", None) or []:
        lit = frozenset((edge.source, edge.target)) in bidirected_lit
        edges.append(
            Edge(source=edge.source, target=edge.target,
                 title=_edge_title(edge.rationale or "latent common cause (a double arrow)"),
                 arrows={"to": {"enabled": True}, "from": {"enabled": True}}, dashes=True,
                 smooth={"enabled": True, "type": "curvedCW", "roundness": 0.3},
                 **_edge_style(lit, dimmed, highlight_colour))
        )
    config = Config(
        height=canvas_height(spec, minimum=height, width_px=width_px),  # a tall layout gets the height it needs
        directed=True,
        physics=False,
        hierarchical=False,
        interaction={"dragNodes": False, "hover": True},
    )
    # Config only takes pixels; a fixed canvas wider than its page column is cropped on the right. "100%" lets
    # vis-network fill the component's iframe (the column's width) and fit the graph into it, at any width.
    config.width = "100%"
    return graph_component(nodes, edges, config)
