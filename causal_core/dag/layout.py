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


def _dot_source(spec: DagSpec, rankdir: str = "LR") -> tuple[str, dict[str, str]]:
    """The graph as dot sees it: boxes sized by their label, bidirected edges as unconstrained links.
    Nodes get ids ``n0, n1, …`` (a user's name with ``:`` would be read as a dot port); returns the map back."""
    import graphviz

    ids = {node.name: f"n{index}" for index, node in enumerate(spec.nodes)}
    graph = graphviz.Digraph(graph_attr={**DOT_SPACING, "rankdir": rankdir},
                             node_attr={"shape": "box", "fontsize": "18"})
    for node in spec.nodes:
        graph.node(ids[node.name], label=(node.label or node.name).replace("\\", "/"))  # size only
    for edge in spec.edges:
        graph.edge(ids[edge.source], ids[edge.target])
    for edge in getattr(spec, "bidirected", None) or []:
        if edge.source in ids and edge.target in ids:
            graph.edge(ids[edge.source], ids[edge.target], constraint="false", dir="none")
    return graph.source, {value: key for key, value in ids.items()}


def dot_positions(spec: DagSpec, rankdir: str = "LR") -> dict[str, tuple[float, float]]:
    """Node centre positions from ``dot -Tjson0`` (points, y flipped to screen coordinates, scaled).
    Raises OSError / subprocess errors / ValueError when dot cannot lay the graph out."""
    source, names = _dot_source(spec, rankdir)
    layout = json.loads(run_dot(source, "json0", timeout=DOT_TIMEOUT_S))
    height = float(layout["bb"].split(",")[3])
    positions: dict[str, tuple[float, float]] = {}
    for item in layout.get("objects", []):
        if "pos" not in item:
            continue
        x, y = (float(v) for v in item["pos"].split(","))
        positions[names[item["name"]]] = (round(x * SCALE, 1), round((height - y) * SCALE, 1))
    return positions


# The DAG page's graph column at a 1280 px window (3/5 of the wide layout's content) and the page's full width,
# and the tallest canvas it gets: vis-network fits the whole graph into the canvas, so a layout 2,200 units
# wide drew 18-unit labels at 6 px.
CANVAS_WIDTH_PX = 560.0
FULL_WIDTH_PX = 930.0
MAX_CANVAS_HEIGHT_PX = 1000.0
MIN_CANVAS_HEIGHT_PX = 500.0
NODE_PAD = 160.0  # a box's half width and height on both sides, plus vis-network's fit margin
MIN_LABEL_PX = 11.0  # the smallest label size readable on screen


def layout_extent(spec: DagSpec) -> tuple[float, float]:
    """Width and height of the drawn graph in canvas units (node centres plus a box's padding)."""
    points = [(n.x or 0.0, n.y or 0.0) for n in spec.nodes]
    if not points:
        return NODE_PAD, NODE_PAD
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return max(xs) - min(xs) + NODE_PAD, max(ys) - min(ys) + NODE_PAD / 2


def fit_zoom(spec: DagSpec, width_px: float = CANVAS_WIDTH_PX, height_px: float = MAX_CANVAS_HEIGHT_PX) -> float:
    """The zoom vis-network's fit-to-view uses for this layout (never above 1): on-screen size = units × zoom."""
    width, height = layout_extent(spec)
    return min(1.0, width_px / width, height_px / height)


def canvas_height(spec: DagSpec, minimum: float = MIN_CANVAS_HEIGHT_PX, width_px: float = CANVAS_WIDTH_PX) -> int:
    """The canvas height that lets a tall layout use the column's full width (bounded), so its labels stay
    as large as the width allows instead of shrinking to fit a fixed 500 px."""
    width, height = layout_extent(spec)
    zoom = min(1.0, width_px / width)
    return int(max(minimum, min(MAX_CANVAS_HEIGHT_PX, height * zoom)))


def label_px_on_screen(spec: DagSpec, font_units: float = 18.0, width_px: float = CANVAS_WIDTH_PX) -> float:
    """How large an 18-unit label is on screen after fit-to-view at a canvas ``width_px`` wide (height grown as
    needed, up to its bound)."""
    return font_units * fit_zoom(spec, width_px, canvas_height(spec, width_px=width_px))


def needs_full_width(spec: DagSpec) -> bool:
    """Whether the graph's labels would be below the readable size in the page's graph column, so the page
    gives the graph the full width (the node panel goes below it)."""
    return label_px_on_screen(spec) < MIN_LABEL_PX


def readable_positions(spec: DagSpec) -> tuple[dict[str, tuple[float, float]], str]:
    """dot's positions causes-left (LR) or, when that is so wide its labels would be unreadable on the page's
    canvas, causes-on-top (TB), whichever draws labels larger; returns the positions and the direction."""
    best: tuple[float, dict[str, tuple[float, float]], str] | None = None
    for rankdir in ("LR", "TB"):
        positions = dot_positions(spec, rankdir)
        placed = spec.model_copy(update={"nodes": [
            n.model_copy(update={"x": positions[n.name][0], "y": positions[n.name][1]}) if n.name in positions else n
            for n in spec.nodes
        ]})
        size = label_px_on_screen(placed)
        if best is None or size > best[0] + 0.5:
            best = (size, positions, rankdir)
        if rankdir == "LR" and size >= MIN_LABEL_PX:
            break
    assert best is not None
    return best[1], best[2]


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
        positions, rankdir = dot_positions(spec), "LR"
        if not only_missing:
            positions, rankdir = readable_positions(spec)
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
    where = "causes left, effects right" if rankdir == "LR" else "causes on top, effects below: readable labels"
    return spec.model_copy(update={"nodes": nodes}), f"Laid out in layers by Graphviz dot ({where})."


def place_new_nodes(spec: DagSpec, names: list[str]) -> DagSpec:
    """Give ``names`` (just added) a free spot near their placed neighbours (the gap nearest the graph's middle
    when they have none); others stay put."""
    cleared = spec.model_copy(update={"nodes": [
        n.model_copy(update={"x": None, "y": None}) if n.name in names else n for n in spec.nodes
    ]})
    return layered_layout(cleared, only_missing=True)[0]


FREE_DX, FREE_DY = 170.0, 70.0  # the clearance a new box needs from every placed box (an 18 px label box)


def _neighbour_centre(spec: DagSpec, name: str, placed: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """Where a new node belongs: between its placed neighbours (parents left, children right of it)."""
    parents = [placed[e.source] for e in spec.edges if e.target == name and e.source in placed]
    children = [placed[e.target] for e in spec.edges if e.source == name and e.target in placed]
    points = parents + children
    if not points:
        return None
    x = sum(p[0] for p in points) / len(points)
    if parents and not children:
        x = max(p[0] for p in parents) + FREE_DX
    elif children and not parents:
        x = min(p[0] for p in children) - FREE_DX
    return x, sum(p[1] for p in points) / len(points)


def _free_spot(preferred: tuple[float, float], taken: list[tuple[float, float]]) -> tuple[float, float]:
    """The grid point nearest ``preferred`` with room for a box (rings of growing radius; always finds one)."""
    px, py = preferred
    for ring in range(0, 60):
        candidates = [(px + i * FREE_DX / 2, py + j * FREE_DY) for i in range(-ring, ring + 1)
                      for j in range(-ring, ring + 1) if max(abs(i), abs(j)) == ring]
        candidates.sort(key=lambda c: (abs(c[0] - px) / FREE_DX) ** 2 + (abs(c[1] - py) / FREE_DY) ** 2)
        for x, y in candidates:
            if all(abs(x - tx) >= FREE_DX or abs(y - ty) >= FREE_DY for tx, ty in taken):
                return round(x, 1), round(y, 1)
    return round(px, 1), round(max(ty for _, ty in taken) + FREE_DY, 1)


def _shifted_beside(spec: DagSpec, positions: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """New nodes go to free space near their placed neighbours (or the gap nearest the graph's middle when they
    have none), never on top of a box; nodes the analyst placed stay put. Stacking every new node below the graph
    put nodes added from the form in one long column."""
    placed = {n.name: (n.x, n.y) for n in spec.nodes if n.x is not None and n.y is not None}
    missing = [n.name for n in spec.nodes if (n.x is None or n.y is None) and n.name in positions]
    if not placed or not missing:
        return positions
    xs, ys = [x for x, _ in placed.values()], [y for _, y in placed.values()]
    beside = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)  # the nearest gap to the middle of the graph
    out = dict(positions)
    for name in missing:
        preferred = _neighbour_centre(spec, name, placed) or beside
        spot = _free_spot(preferred, list(placed.values()))
        placed[name] = out[name] = spot
    return out


def overlapping_pairs(spec: DagSpec, min_dx: float = 60.0, min_dy: float = 30.0) -> int:
    """How many node pairs are drawn on top of each other (a check for tests and the bench)."""
    points = [(n.x or 0.0, n.y or 0.0) for n in spec.nodes]
    return sum(
        1
        for i, (x1, y1) in enumerate(points)
        for x2, y2 in points[i + 1:]
        if abs(x1 - x2) < min_dx and abs(y1 - y2) < min_dy
    )
