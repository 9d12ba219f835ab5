"""Issue 25 §6: DAG labels were 6–8 px on screen after auto-layout at normal size: dot's causes-left layout of
support is 2,200 canvas units wide and vis-network fits it into a ~560 px column. Auto-layout now picks the
direction that draws labels larger, the canvas grows for a tall layout, and a graph still too wide for the
column gets the page's full width."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core import dag
from causal_core.dag.layout import (
    CANVAS_WIDTH_PX,
    FULL_WIDTH_PX,
    MIN_LABEL_PX,
    dot_positions,
    label_px_on_screen,
    layered_layout,
    needs_full_width,
    overlapping_pairs,
)
from causal_core.project import DagEdge, DagNode, DagSpec


def _page_label_px(spec: DagSpec) -> float:
    """The label size at the width the DAG page gives this graph (its column, or the full width)."""
    return label_px_on_screen(spec, width_px=FULL_WIDTH_PX if needs_full_width(spec) else CANVAS_WIDTH_PX)


def _placed(spec: DagSpec, positions) -> DagSpec:
    return spec.model_copy(update={"nodes": [
        n.model_copy(update={"x": positions[n.name][0], "y": positions[n.name][1]}) for n in spec.nodes]})


@pytest.mark.parametrize("name", ["retention", "support"])
def test_built_in_dags_are_readable_after_auto_layout(name):
    spec = dag.default_dag(name)
    laid, message = layered_layout(spec)
    assert "Graphviz dot" in message and overlapping_pairs(laid) == 0
    assert _page_label_px(laid) >= MIN_LABEL_PX


def test_support_was_unreadable_causes_left_and_now_is_laid_out_on_top():
    spec = dag.default_dag("support")
    old = _placed(spec, dot_positions(spec, "LR"))
    assert label_px_on_screen(old) < 8  # the 6–8 px
    laid, message = layered_layout(spec)
    assert "causes on top" in message and _page_label_px(laid) > 1.5 * label_px_on_screen(old)


def test_retention_keeps_causes_left():
    laid, message = layered_layout(dag.default_dag("retention"))
    assert "causes left" in message and not needs_full_width(laid)


@settings(max_examples=12, deadline=None)
@given(n=st.integers(3, 14), p=st.floats(0.1, 0.5), seed=st.integers(0, 1000))
def test_random_dags_never_draw_smaller_than_the_causes_left_layout(n, p, seed):
    graph = nx.gnp_random_graph(n, p, seed=seed, directed=True)
    edges = [(u, v) for u, v in graph.edges if u < v]
    spec = DagSpec(nodes=[DagNode(name=f"v{i}") for i in range(n)],
                   edges=[DagEdge(source=f"v{u}", target=f"v{v}") for u, v in edges])
    laid, _ = layered_layout(spec)
    old = _placed(spec, dot_positions(spec, "LR"))
    assert label_px_on_screen(laid) >= label_px_on_screen(old) - 1e-9
    assert _page_label_px(laid) >= label_px_on_screen(old) - 1e-9


def test_nodes_added_from_the_form_fill_free_space_instead_of_one_column():
    """Issue 25 §6: six nodes added one by one (no edges yet) stacked in one column below the graph."""
    from causal_core.dag.layout import FREE_DX, FREE_DY, place_new_nodes

    spec = layered_layout(dag.default_dag("retention"))[0]
    before = {n.name: (n.x, n.y) for n in spec.nodes}
    for index in range(6):
        spec = place_new_nodes(dag.add_node(spec, f"new{index}", label=f"new{index}"), [f"new{index}"])
    assert {n.name: (n.x, n.y) for n in spec.nodes if n.name in before} == before
    new = [dag.get_node(spec, f"new{i}") for i in range(6)]
    assert len({round(n.x) for n in new}) > 1  # not one column
    boxes = [(n.x, n.y) for n in spec.nodes]
    assert all(abs(a[0] - b[0]) >= FREE_DX or abs(a[1] - b[1]) >= FREE_DY
               for i, a in enumerate(boxes) for b in boxes[i + 1:] if a in [(m.x, m.y) for m in new])
    ys = [y for _, y in before.values()]
    assert all(min(ys) - 3 * FREE_DY <= n.y <= max(ys) + 3 * FREE_DY for n in new)  # beside, not far below


def test_a_new_node_with_a_placed_child_sits_left_of_it():
    from causal_core.dag.layout import place_new_nodes

    spec = layered_layout(dag.default_dag("retention"))[0]
    spec = dag.add_node(spec, "mood", latent=True)
    spec = place_new_nodes(dag.add_edge(spec, "mood", "churn"), ["mood"])
    assert dag.get_node(spec, "mood").x < dag.get_node(spec, "churn").x and overlapping_pairs(spec) == 0
