"""``node_roles`` is total: any DagSpec a project file can hold (cycles, missing or unknown treatment/outcome,
the treatment named as the outcome, isolated nodes) gets roles, never an exception (the treatment-is-outcome case
raised a NetworkXError until hypothesis found it). The consistency panel relies on this instead of a catch-all
``except Exception`` that would also have hidden a real bug as "no downstream columns"."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core.dag import node_roles
from causal_core.project import DagEdge, DagNode, DagSpec

_NAMES = ["a", "b", "c", "d", "e", "f"]


@st.composite
def _any_spec(draw: st.DrawFn) -> DagSpec:
    names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=6, unique=True))
    pairs = [(s, t) for s in names for t in names if s != t]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=12)) if pairs else []
    ends = st.one_of(st.none(), st.sampled_from(names), st.just("not_a_node"))
    return DagSpec(nodes=[DagNode(name=name, latent=draw(st.booleans())) for name in names],
                   edges=[DagEdge(source=s, target=t) for s, t in edges],
                   treatment=draw(ends), outcome=draw(ends))


@settings(max_examples=300, deadline=None)
@given(spec=_any_spec())
def test_every_spec_gets_roles_for_exactly_its_nodes(spec):
    roles = node_roles(spec)
    assert set(roles) == {node.name for node in spec.nodes}
    assert all(isinstance(labels, list) and labels for labels in roles.values())
    if spec.treatment in roles and spec.treatment != spec.outcome:
        assert "treatment" in roles[spec.treatment]


def test_a_treatment_that_is_also_the_outcome_is_both_and_classifies_nothing_else():
    spec = DagSpec(nodes=[DagNode(name="a"), DagNode(name="b")], edges=[DagEdge(source="b", target="a")],
                   treatment="a", outcome="a")
    assert node_roles(spec) == {"a": ["treatment", "outcome"], "b": ["other"]}
