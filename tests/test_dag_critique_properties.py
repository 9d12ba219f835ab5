"""Generated families for the critique checks: whatever a model proposes, an accepted suggestion leaves an
acyclic DAG, a late-timed confounder is never acceptable, and a rejection always says why."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core.lab_bench import critique
from causal_core.project import DagEdge, DagNode, DagSpec, DictionaryEntry, Project, Timing

TIMINGS = [Timing.pre_treatment, Timing.post_treatment, Timing.outcome, Timing.future, Timing.unknown]


@st.composite
def projects_and_suggestions(draw):
    n = draw(st.integers(3, 7))
    names = [f"v{i}" for i in range(n)]
    pairs = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, min_size=1, max_size=len(pairs)))
    treatment, outcome = edges[0]
    timings = {name: draw(st.sampled_from(TIMINGS)) for name in names}
    timings[treatment], timings[outcome] = Timing.treatment, Timing.outcome
    spec = DagSpec(nodes=[DagNode(name=v, column=v) for v in names], edges=[DagEdge(source=s, target=t) for s, t in edges],
                   treatment=treatment, outcome=outcome)
    project = Project(name="p", dag=spec, dictionary=[DictionaryEntry(variable=v, timing=t) for v, t in timings.items()])
    pool = [*names, "hidden_cause", "Bad Name!"]
    kind = draw(st.sampled_from(critique.KINDS))
    suggestion = {"kind": kind, "node": draw(st.sampled_from(pool)), "source": draw(st.sampled_from(names)),
                  "target": draw(st.sampled_from(names)), "rationale": "generated"}
    return project, suggestion


@settings(max_examples=150, deadline=None)
@given(projects_and_suggestions())
def test_checks_hold_for_any_suggestion(case):
    project, suggestion = case
    [checked] = critique.check_critique({"suggestions": [suggestion]}, project, None)
    assert checked.acceptable != bool(checked.rejected_because)  # a rejection always carries its reason
    if suggestion["kind"] == "missing_confounder" and project.timing_of(suggestion["node"]) in critique.LATE:
        assert not checked.acceptable
    if checked.acceptable:
        after, edits = critique.proposed_spec(project.dag, critique.Suggestion(**suggestion), [])
        graph = nx.DiGraph([(e.source, e.target) for e in after.edges])
        assert nx.is_directed_acyclic_graph(graph) and edits
        assert any(line.startswith("identification:") for line in checked.evidence)
        if suggestion["kind"] == "negative_control_outcome":
            assert suggestion["node"] not in nx.descendants(nx.DiGraph([(e.source, e.target) for e in project.dag.edges]),
                                                            project.dag.treatment)
