"""'Critique my DAG': recorded model answers, each suggestion checked (timing, cycle, data, identification)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causal_core import dag, runtime
from causal_core.ai import structured
from causal_core.lab_bench import critique
from causal_core.project import DagEdge, DagNode, DagSpec, DictionaryEntry, Project, Timing


def _project_and_frame(seed: int = 7, n: int = 3000):
    """z confounds x -> y but the analyst's DAG forgot it; m is a mediator; w is unrelated to x (a negative control
    that shares the confounder z with y)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    x = 0.8 * z + rng.standard_normal(n)
    m = 0.5 * x + rng.standard_normal(n)
    y = 1.0 * m + 0.5 * x + 1.5 * z + rng.standard_normal(n)
    w = 0.9 * z + rng.standard_normal(n)
    frame = pd.DataFrame({"z": z, "x": x, "m": m, "y": y, "w": w})
    spec = DagSpec(nodes=[DagNode(name=c, column=c) for c in ("x", "m", "y")],
                   edges=[DagEdge(source="x", target="m"), DagEdge(source="m", target="y"), DagEdge(source="x", target="y")],
                   treatment="x", outcome="y")
    timings = {"z": Timing.pre_treatment, "x": Timing.treatment, "m": Timing.post_treatment, "y": Timing.outcome,
               "w": Timing.pre_treatment}
    dictionary = [DictionaryEntry(variable=c, timing=t, description=f"variable {c}") for c, t in timings.items()]
    return Project(name="critique", dag=spec, dictionary=dictionary, treatment="x", outcome="y"), frame


RECORDED = {"suggestions": [
    {"kind": "missing_confounder", "node": "z", "source": "", "target": "", "rationale": "z drives both"},
    {"kind": "missing_confounder", "node": "m", "source": "", "target": "", "rationale": "m looks like a cause"},
    {"kind": "suspicious_edge", "node": "", "source": "m", "target": "y", "rationale": "maybe no effect"},
    {"kind": "negative_control_outcome", "node": "w", "source": "", "target": "", "rationale": "x cannot move w"},
    {"kind": "suspicious_edge", "node": "", "source": "y", "target": "x", "rationale": "not in the DAG"},
]}


def test_each_recorded_suggestion_carries_its_evidence():
    project, frame = _project_and_frame()
    checked = {c.title: c for c in critique.check_critique(RECORDED, project, frame)}
    confounder = checked["missing confounder: z"]
    assert confounder.acceptable and confounder.edits == ["add node z", "add z → x", "add z → y"]
    assert confounder.set_before == [] and confounder.set_after == ["z"]
    # the confounded estimate is 0.5 + 0.5 + 1.5*0.8/1.64 ≈ 1.73; adjusting for z gives the truth, 1.0
    assert confounder.estimate_before == pytest.approx(1.0 + 1.5 * 0.8 / 1.64, abs=0.08)
    assert confounder.estimate_after == pytest.approx(1.0, abs=0.06)
    assert any("dependent" in line and "z vs x" in line for line in confounder.evidence)

    late = checked["missing confounder: m"]
    assert not late.acceptable and "post-treatment" in late.rejected_because[0]
    assert any("downstream of x" in reason for reason in late.rejected_because)

    edge = checked["suspicious edge m → y"]
    assert edge.acceptable and edge.edits == ["remove m → y"]
    assert any("m vs y given x" in line and "dependent" in line for line in edge.evidence)  # the data keep the edge

    control = checked["negative control outcome: w"]
    assert control.acceptable and any("x vs w" in line for line in control.evidence)

    missing = checked["suspicious edge y → x"]
    assert not missing.acceptable and "not an edge of the DAG" in missing.rejected_because[0]


def test_a_confounder_that_closes_a_cycle_is_rejected_with_the_cycle():
    project, frame = _project_and_frame()
    # the analyst's DAG has y -> w; "w confounds x and y" would close y -> w -> y
    spec = dag.add_edge(dag.add_node(project.dag, "w", column="w"), "y", "w")
    project = project.model_copy(update={"dag": spec})
    suggestion = {"suggestions": [{"kind": "missing_confounder", "node": "w", "source": "", "target": "",
                                   "rationale": "w"}]}
    [checked] = critique.check_critique(suggestion, project, frame)
    assert not checked.acceptable
    assert any("cycle" in reason for reason in checked.rejected_because)


def test_unknown_names_and_malformed_items_are_rejected_not_dropped():
    project, frame = _project_and_frame()
    parsed = {"suggestions": [{"kind": "missing_confounder", "node": "Not A Column!", "rationale": "r"},
                              {"kind": "wizardry", "rationale": "r"}]}
    first, second = critique.check_critique(parsed, project, frame)
    assert not first.acceptable and "neither a DAG node" in first.rejected_because[0]
    assert not second.acceptable and second.rejected_because[0].startswith("not a valid suggestion")


def test_rubric_scores_the_critique():
    project, frame = _project_and_frame()
    checks = {c.name: c for c in critique.score_critique(RECORDED, project, frame)}
    assert checks["most suggestions survive their checks"].passed  # 3 of 5
    assert not checks["no post-treatment confounders"].passed
    assert not checks["no cycles"].passed and "missing confounder: m" in checks["no cycles"].reason  # m -> x closes x -> m -> x
    assert checks["distinct suggestions"].passed


def test_schema_is_grammar_constrained_to_known_names():
    project, frame = _project_and_frame()
    inputs = critique.build_inputs(project, frame)
    schema = structured.schema_for(critique.CRITIQUE_TASK, critique.DagCritique.schema_context(inputs).columns)
    item = schema["$defs"]["Suggestion"]["properties"]
    assert set(item["source"]["enum"]) == {"x", "m", "y", "z", "w", ""}
    assert item["kind"]["enum"] == list(critique.KINDS)
    prompt = critique.build_user_prompt(inputs)
    assert "x → m" in prompt and "<data" in prompt


def test_the_task_runs_on_a_stubbed_model(monkeypatch):
    project, frame = _project_and_frame()

    def run_task(task, inputs, model_key, settings=None, **kwargs):
        from causal_core.project import AIInteraction

        return AIInteraction(id="c1", task=task.name, raw_output=json.dumps(RECORDED), parsed=RECORDED,
                             schema_valid=True, model_id=model_key)

    monkeypatch.setattr(runtime, "run_task", run_task, raising=False)
    interaction = runtime.run_task(critique.CRITIQUE_TASK, critique.build_inputs(project, frame), "stub")
    assert len(critique.check_critique(interaction.parsed, project, frame)) == 5
