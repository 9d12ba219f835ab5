"""Stale results (issue 17 §2): every artifact records the sha256 of its inputs; an edit elsewhere marks it out of
date, the pages say so and hide it, and the memo does not present its numbers as current."""

from __future__ import annotations

import hashlib
import json

import pytest

from causal_core import estimation as est
from causal_core import staleness
from causal_core.project import DagEdge, DagNode, DagSpec
from causal_core.project_file import project_from_json, project_to_json


@pytest.fixture(scope="module")
def estimated(retention):
    """Retention estimated with the page's defaults (no refutations: they do not matter for provenance)."""
    from causal_core.dag import default_dag

    project, frame = retention
    project = project.model_copy(update={"dag": default_dag("retention")})
    spec = est.default_spec(project, frame)
    return est.estimate_project(project, frame, spec, refutations=False), frame


def test_fingerprint_is_the_sha256_of_canonical_json_whatever_the_key_order():
    expected = hashlib.sha256(b'{"a":1,"b":[2,"\xc3\xa9"]}').hexdigest()
    assert staleness.fingerprint({"b": [2, "é"], "a": 1}) == expected
    assert staleness.fingerprint({"a": 1, "b": [2, "é"]}) == expected
    assert staleness.fingerprint({"a": 1, "b": [2, "e"]}) != expected


def test_estimation_records_its_inputs_and_is_current(estimated):
    project, _ = estimated
    recorded = project.estimation.inputs
    assert set(recorded) == {"data", "dedup", "roles", "dictionary", "dag"}
    assert all(len(value) == 64 for value in recorded.values())
    assert recorded == staleness.inputs_for(project, "estimation")
    assert staleness.stale(project, "estimation") is None


def _dag_with_extra_edge(dag: DagSpec) -> DagSpec:
    extra = DagNode(name="new_cause", column=None, latent=True)
    edges = [*dag.edges, DagEdge(source="new_cause", target=dag.outcome)]
    return dag.model_copy(update={"nodes": [*dag.nodes, extra], "edges": edges})


def test_a_dag_edit_marks_the_estimates_stale_but_moving_a_node_does_not(estimated):
    project, _ = estimated
    moved = project.dag.model_copy(update={"nodes": [n.model_copy(update={"x": 999.0, "y": -5.0}) for n in project.dag.nodes]})
    assert staleness.stale(project.model_copy(update={"dag": moved}), "estimation") is None
    edited = project.model_copy(update={"dag": _dag_with_extra_edge(project.dag)})
    item = staleness.stale(edited, "estimation")
    assert item.changed == ("dag",)
    assert item.sentence.startswith("Out of date: the estimates were computed before the DAG changed.")
    assert "Estimation page" in item.sentence


def test_dedup_and_dictionary_edits_are_named(estimated):
    project, _ = estimated
    deduped = project.model_copy(update={"dedup": "keep_first"})
    assert staleness.stale(deduped, "estimation").changed == ("dedup",)
    entry = project.dictionary[0].model_copy(update={"categorical": not project.dictionary[0].categorical})
    recoded = project.model_copy(update={"dictionary": [entry, *project.dictionary[1:]]})
    assert staleness.stale(recoded, "estimation").changed == ("dictionary",)
    described = project.dictionary[0].model_copy(update={"description": "a new description"})
    assert staleness.stale(project.model_copy(update={"dictionary": [described, *project.dictionary[1:]]}),
                           "estimation") is None
    both = deduped.model_copy(update={"dictionary": recoded.dictionary})
    assert "the de-duplication rule, the data dictionary" in staleness.stale(both, "estimation").sentence


def test_a_file_saved_before_fingerprints_opens_and_is_not_called_stale(estimated):
    project, _ = estimated
    payload = json.loads(project_to_json(project))
    del payload["estimation"]["inputs"]  # as written by the app before this field existed
    reopened = project_from_json(json.dumps(payload))
    assert reopened.estimation.inputs == {} and staleness.stale(reopened, "estimation") is None
    assert project_from_json(project_to_json(project)).estimation.inputs == project.estimation.inputs


def test_the_bootstrap_refuses_an_out_of_date_estimation_and_changes_nothing(estimated):
    project, frame = estimated
    edited = project.model_copy(update={"dag": _dag_with_extra_edge(project.dag)})
    with pytest.raises(est.EstimationError, match="the DAG changed.*run the estimation first"):
        est.add_bootstrap(edited, frame, 20)
    assert edited.estimation == project.estimation


def test_the_memo_does_not_present_out_of_date_estimates_as_current(estimated):
    from causal_core.memo import deterministic_memo

    project, frame = estimated
    aipw = next(row for row in project.estimation.estimates if row.method == "aipw")
    current = deterministic_memo(project, frame)
    assert "Out of date" not in current["main_estimate"]
    assert f"{abs(aipw.estimate) * 100:.1f}" in current["main_estimate"]  # −4.8 percentage points
    stale_memo = deterministic_memo(project.model_copy(update={"dedup": "keep_first"}), frame)
    for section in ("main_estimate", "interpretation"):
        assert stale_memo[section].startswith("Out of date: the estimates were computed before the de-duplication")
        assert f"{abs(aipw.estimate) * 100:.1f}" not in stale_memo[section]
    assert stale_memo["question"] == current["question"]


def test_the_specification_curve_records_the_estimation_spec_and_a_bootstrap_does_not_stale_it(estimated):
    from causal_core import multiverse as mv
    from causal_core.multiverse.runner import run_space
    from causal_core.project import MultiverseOptions

    project, frame = estimated
    options = MultiverseOptions(estimators=["regression"], trimming=["none"], learners=["exact"])
    space = mv.build_space(project, frame, options)
    curve = run_space(project, frame, space, options)
    with_curve = project.model_copy(update={"multiverse": curve})
    assert curve.inputs["spec"] == staleness.spec_fingerprint(project.estimation.spec)
    assert staleness.stale_artifacts(with_curve) == []
    booted = est.add_bootstrap(with_curve, frame, 20)
    assert staleness.stale(booted, "multiverse") is None  # more rows, same main estimates
    other = booted.model_copy(update={"estimation": booted.estimation.model_copy(update={
        "spec": booted.estimation.spec.model_copy(update={"estimand": "ATT"})})})
    assert staleness.stale(other, "multiverse").changed == ("spec",)
    dag_edit = booted.model_copy(update={"dag": _dag_with_extra_edge(booted.dag)})
    assert [item.artifact for item in staleness.stale_artifacts(dag_edit)] == ["estimation", "multiverse"]


def test_the_memo_robustness_paragraph_says_the_curve_is_out_of_date_after_a_dag_edit(estimated):
    from causal_core import multiverse as mv
    from causal_core.multiverse import memo_text
    from causal_core.multiverse.runner import run_space
    from causal_core.project import MultiverseOptions

    project, frame = estimated
    options = MultiverseOptions(estimators=["regression"], trimming=["none"], learners=["exact"])
    curve = run_space(project, frame, mv.build_space(project, frame, options), options)
    with_curve = project.model_copy(update={"multiverse": curve})
    assert not memo_text.robustness_text(curve, with_curve).startswith("Out of date")
    edited = with_curve.model_copy(update={"dag": _dag_with_extra_edge(project.dag)})
    assert memo_text.robustness_text(curve, edited).startswith(
        "Out of date: the curve was computed before the DAG changed; re-run it.")
