"""Layered auto-layout from Graphviz's ``dot``: the positions dot computes, read back into the spec.

Why dot: its layered (Sugiyama) layout orders nodes within a layer to minimise edge crossings and
spaces them by their label width, so nine confounders feeding the treatment fan out instead of
stacking in one column and drawing their edges on top of each other as a fake chain. The DAG view
draws the spec at its stored positions, so a layout is an ordinary, undoable edit.

When dot is missing, fails, or the graph is larger than :data:`MAX_DOT_NODES` (dot is super-linear;
a 2,000-node graph takes minutes), the simple left-to-right layering by causal depth is used and the
caller is told which one ran.
"""

from __future__ import annotations

import json
import subprocess

from causal_core.dag.dot_binary import run_dot
from causal_core.dag.edits import auto_layout
from causal_core.dag.graph import find_cycle, to_networkx
from causal_core.project import DagSpec

MAX_DOT_NODES = 300
DOT_TIMEOUT_S = 20.0
SCALE = 1.25  # dot points → vis-network canvas units (dot boxes are sized at the view's 18 px label font)
DOT_SPACING = {"rankdir": "LR", "nodesep": "0.35", "ranksep": "0.9"}


def _dot_source(spec: DagSpec) -> tuple[str, dict[str, str]]:
    """The graph as dot sees it: boxes sized by their label, bidirected edges as unconstrained links.
    Nodes get ids ``n0, n1, …`` (a user's name with ``:`` would be read as a dot port); returns the map back."""
    import graphviz

    ids = {node.name: f"n{index}" for index, node in enumerate(spec.nodes)}
    graph = graphviz.Digraph(graph_attr=DOT_SPACING, node_attr={"shape": "box", "fontsize": "18"})
    for node in spec.nodes:
        graph.node(ids[node.name], label=(node.label or node.name).replace("\\", "/"))  # size only
    for edge in spec.edges:
        graph.edge(ids[edge.source], ids[edge.target])
    for edge in getattr(spec, "bidirected", None) or []:
        if edge.source in ids and edge.target in ids:
            graph.edge(ids[edge.source], ids[edge.target], constraint="false", dir="none")
    return graph.source, {value: key for key, value in ids.items()}


def dot_positions(spec: DagSpec) -> dict[str, tuple[float, float]]:
    """Node centre positions from ``dot -Tjson0`` (points, y flipped to screen coordinates, scaled).
    Raises OSError / subprocess errors / ValueError when dot cannot lay the graph out."""
    source, names = _dot_source(spec)
    layout = json.loads(run_dot(source, "json0", timeout=DOT_TIMEOUT_S))
    height = float(layout["bb"].split(",")[3])
    positions: dict[str, tuple[float, float]] = {}
    for item in layout.get("objects", []):
        if "pos" not in item:
            continue
        x, y = (float(v) for v in item["pos"].split(","))
        positions[names[item["name"]]] = (round(x * SCALE, 1), round((height - y) * SCALE, 1))
    return positions


def layered_layout(spec: DagSpec, *, only_missing: bool = False) -> tuple[DagSpec, str]:
    """Every node (or, with ``only_missing``, the nodes without a position) placed by dot; the sentence says
    which layout ran. A cyclic graph is returned unchanged (there are no layers to draw)."""
    if find_cycle(to_networkx(spec, hidden_latents=False)):
        return spec, "The graph has a cycle: no layered layout (fix the cycle first)."
    if len(spec.nodes) > MAX_DOT_NODES:
        return auto_layout(spec, force=not only_missing), (
            f"Laid out by causal depth ({len(spec.nodes):,} nodes is above dot's {MAX_DOT_NODES} limit here)."
        )
    try:
        positions = dot_positions(spec)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError) as error:
        return auto_layout(spec, force=not only_missing), f"Laid out by causal depth (Graphviz dot failed: {error})."
    if only_missing:
        positions = _shifted_beside(spec, positions)
    nodes = [
        node.model_copy(update={"x": positions[node.name][0], "y": positions[node.name][1]})
        if node.name in positions and (not only_missing or node.x is None or node.y is None)
        else node
        for node in spec.nodes
    ]
    return spec.model_copy(update={"nodes": nodes}), "Laid out in layers by Graphviz dot (causes left, effects right)."


def place_new_nodes(spec: DagSpec, names: list[str]) -> DagSpec:
    """Give ``names`` (just added) dot's layer position, below the nodes already placed; others stay put."""
    cleared = spec.model_copy(update={"nodes": [
        n.model_copy(update={"x": None, "y": None}) if n.name in names else n for n in spec.nodes
    ]})
    return layered_layout(cleared, only_missing=True)[0]


def _shifted_beside(spec: DagSpec, positions: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """New nodes take dot's positions, moved so their layer order is kept but they sit below the nodes
    the analyst already placed (never on top of one)."""
    placed = [(n.x, n.y) for n in spec.nodes if n.x is not None and n.y is not None]
    missing = [n.name for n in spec.nodes if (n.x is None or n.y is None) and n.name in positions]
    if not placed or not missing:
        return positions
    top = max(y for _, y in placed) + 100.0
    lowest_new = min(positions[name][1] for name in missing)
    return {name: (x, y - lowest_new + top) if name in missing else (x, y) for name, (x, y) in positions.items()}


def overlapping_pairs(spec: DagSpec, min_dx: float = 60.0, min_dy: float = 30.0) -> int:
    """How many node pairs are drawn on top of each other (a check for tests and the bench)."""
    points = [(n.x or 0.0, n.y or 0.0) for n in spec.nodes]
    return sum(
        1
        for i, (x1, y1) in enumerate(points)
        for x2, y2 in points[i + 1:]
        if abs(x1 - x2) < min_dx and abs(y1 - y2) < min_dy
    )
