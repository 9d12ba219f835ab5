"""The data audit is an artifact too: its warnings feed the memo, so an edit after the audit marks it out of date.

The audit records every input it read in its settings record (audit.run.settings_fingerprint); staleness compares
that record with the project as it is now, the DAG by causal content only.
"""

from __future__ import annotations

from causal_core import staleness
from causal_core.audit import run_audit
from causal_core.dag import default_dag
from causal_core.project import DagEdge, DagNode


def _audited(retention):
    project, frame = retention
    project = project.model_copy(update={"dag": default_dag("retention")})
    return project.model_copy(update={"data_audit": run_audit(project, frame)})


def test_a_fresh_audit_is_current_and_a_moved_node_changes_nothing(retention):
    project = _audited(retention)
    assert staleness.stale(project, "data_audit") is None
    moved = project.dag.model_copy(update={"nodes": [n.model_copy(update={"x": 5.0}) for n in project.dag.nodes]})
    assert staleness.stale(project.model_copy(update={"dag": moved}), "data_audit") is None


def test_dictionary_dedup_dag_and_brief_edits_are_named(retention):
    project = _audited(retention)
    entry = project.dictionary[0].model_copy(update={"categorical": True})
    recoded = project.model_copy(update={"dictionary": [entry, *project.dictionary[1:]]})
    assert staleness.stale(recoded, "data_audit").changed == ("dictionary",)
    assert staleness.stale(project.model_copy(update={"dedup": "keep_first"}), "data_audit").changed == ("dedup",)
    extra = project.dag.model_copy(update={
        "nodes": [*project.dag.nodes, DagNode(name="u", latent=True)],
        "edges": [*project.dag.edges, DagEdge(source="u", target=project.dag.outcome)],
    })
    item = staleness.stale(project.model_copy(update={"dag": extra}), "data_audit")
    assert item.changed == ("dag",)
    assert item.sentence.startswith("Out of date: the data audit tables and warnings were computed before the DAG")
    assert "Data audit page" in item.sentence
    assert staleness.stale(project.model_copy(update={"brief": "A new question"}), "data_audit").changed == ("question",)


def test_no_audit_or_an_empty_record_is_never_called_stale(retention):
    project, _ = retention
    assert staleness.stale(project, "data_audit") is None
    assert [item.artifact for item in staleness.stale_artifacts(project)] == []


def test_memo_exports_label_an_out_of_date_estimates_table(retention):
    """The MD and HTML exports keep the numbers but head them 'out of date' with the reason, never as current."""
    from causal_core import estimation as est
    from causal_core.memo import deterministic_memo, memo_markdown
    from causal_core.reporting.report import memo_html

    project, frame = retention
    project = project.model_copy(update={"dag": default_dag("retention")})
    project = est.estimate_project(project, frame, est.default_spec(project, frame), refutations=False)
    current = memo_markdown(project, deterministic_memo(project, frame))
    assert "## Estimates\n" in current and "out of date" not in current
    edited = project.model_copy(update={"dedup": "keep_first"})
    markdown = memo_markdown(edited, deterministic_memo(edited, frame))
    assert "## Estimates (out of date)" in markdown and "the de-duplication rule changed" in markdown
    html = memo_html(edited)
    assert "<h2>Estimates (out of date)</h2>" in html and "<h2>Estimates</h2>" not in html
