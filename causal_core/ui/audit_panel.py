"""The audit score panel every AI artifact carries: latest score, each check, and its history.

One widget for every artifact page (estimand card, DAG, profile review, memo) so the analyst
always reads a draft's quality the same way: was the output schema-valid, did it need repair,
how it failed, which deterministic checks pass, and how the score moved across drafts and edits.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from causal_core.project import AuditRecord, Project, RubricCheck
from causal_core.safe_text import code_span, escape_markdown

# Four states, each with its own Material icon (a fresh machine has no emoji font) and plain word for tables.
# Only scored checks (severity "fail", applicable) count in the score; "warn" checks are advisory.
PASS, WARN, FAIL, NOT_APPLICABLE = "pass", "warn", "fail", "not applicable"
_ICON = {
    PASS: ":material/check_circle: pass",
    WARN: ":material/warning: warn",
    FAIL: ":material/cancel: fail",
    NOT_APPLICABLE: ":material/do_not_disturb_on: not applicable",
}
_WORD = {PASS: "pass", WARN: "warn", FAIL: "FAIL", NOT_APPLICABLE: "n/a"}


def check_state(check: RubricCheck) -> str:
    """pass / warn / fail / not applicable. A check with nothing to test against is never a pass."""
    if not check.applicable or check.reason.startswith("not required:"):  # the prefix: records saved before the field
        return NOT_APPLICABLE
    if check.passed:
        return PASS
    return WARN if check.severity == "warn" else FAIL


def is_scored(check: RubricCheck) -> bool:
    return check.severity == "fail" and check_state(check) != NOT_APPLICABLE


def tally(checks: list[RubricCheck]) -> dict[str, int]:
    """Counts that agree with the score: scored passes are the score, scored checks its maximum."""
    scored = [c for c in checks if is_scored(c)]
    advisory = [c for c in checks if not is_scored(c) and check_state(c) != NOT_APPLICABLE]
    return {
        "scored_pass": sum(check_state(c) == PASS for c in scored),
        "scored": len(scored),
        "scored_fail": sum(check_state(c) == FAIL for c in scored),
        "advisory_pass": sum(check_state(c) == PASS for c in advisory),
        "advisory_warn": sum(check_state(c) == WARN for c in advisory),
        "not_applicable": sum(check_state(c) == NOT_APPLICABLE for c in checks),
    }


def tally_line(checks: list[RubricCheck]) -> str:
    """One caption: '3 of 12 scored checks pass, 9 fail · advisory: 1 pass, 2 warn · 4 not applicable'."""
    counts = tally(checks)
    parts = [f"{counts['scored_pass']} of {counts['scored']} scored checks pass, {counts['scored_fail']} fail"]
    if counts["advisory_pass"] or counts["advisory_warn"]:
        parts.append(f"advisory (not scored): {counts['advisory_pass']} pass, {counts['advisory_warn']} warn")
    if counts["not_applicable"]:
        parts.append(f"{counts['not_applicable']} not applicable")
    return " · ".join(parts)


def check_lines(checks: list[RubricCheck]) -> str:
    """The checks as a wrapped markdown list: icon, name, one-line reason (all text escaped)."""
    return "\n".join(
        f"- {_ICON[check_state(c)]}{'' if is_scored(c) or check_state(c) == NOT_APPLICABLE else ' (advisory)'} "
        f"**{escape_markdown(c.name)}** — {escape_markdown(c.reason)}"
        for c in checks
    )


def check_rows(checks: list[RubricCheck]) -> pd.DataFrame:
    """One row per rubric check: pass / warn / FAIL / n/a, whether it is scored, and its one-line reason."""
    return pd.DataFrame(
        [{"check": c.name, "result": _WORD[check_state(c)], "scored": is_scored(c), "reason": c.reason} for c in checks],
        columns=["check", "result", "scored", "reason"],
    )


def history_rows(records: list[AuditRecord]) -> pd.DataFrame:
    """Every scoring of the artifact, newest first: who produced it (model or analyst), when, and the score."""
    return pd.DataFrame(
        [
            {
                "#": index,
                "time": r.time,
                "model": r.model_id or "—",
                "schema_valid": r.schema_valid,
                "repair_stage": r.repair_stage,
                "failure_type": r.failure_type or "—",
                "score": f"{r.score} / {r.max_score}",
            }
            for index, r in reversed(list(enumerate(records, start=1)))
        ],
        columns=["#", "time", "model", "schema_valid", "repair_stage", "failure_type", "score"],
    )


def _history_chart(records: list[AuditRecord]) -> alt.Chart:
    data = pd.DataFrame(
        [
            {"draft": i, "score": r.score, "max_score": r.max_score, "model": r.model_id or "—", "time": r.time}
            for i, r in enumerate(records, start=1)
        ]
    )
    top = max(int(data["max_score"].max()), 1)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("draft:O", title="scoring #"),
            y=alt.Y("score:Q", scale=alt.Scale(domain=[0, top]), title="score"),
            tooltip=["draft", "model", "time", "score", "max_score"],
        )
        .properties(height=140)
    )


def _failure_detail(project: Project, record: AuditRecord) -> str:
    """The logged error of the failed call, one line (from the AI log), if there is one."""
    interaction = next((i for i in reversed(project.ai_log) if i.id == record.interaction_id), None)
    if interaction is None or not interaction.error:
        return ""
    return " ".join(interaction.error.split())[:300]


def _source(project: Project, record: AuditRecord) -> str:
    """Who produced the scored artifact; a replayed recorded draft says so (model, where, when)."""
    if record.model_id == "analyst":
        return "the analyst (example, manual entry or edit)"
    interaction = next((i for i in reversed(project.ai_log) if i.id == record.interaction_id), None)
    model = code_span(record.model_id or "unknown")
    if interaction is not None and interaction.backend == "replay":
        when = interaction.decoding.get("recorded_at") or interaction.decoding.get("date_note") or "date unknown"
        return f"a recorded draft of model {model}, replayed (recorded, not generated; {escape_markdown(when)})"
    return f"model {model}"


def render_audit_panel(project: Project, artifact: str, title: str = "Audit score") -> None:
    """Show the latest audit record for ``artifact`` (schema, repair, failure, checks, k / n) and history."""
    records = project.audit_history(artifact)
    with st.container(border=True):
        st.markdown(f"**{title}**")
        if not records:
            st.caption("No audit yet: draft or load the artifact to score it.")
            return
        latest = records[-1]
        top = st.columns(2)
        top[0].metric("Score", f"{latest.score} / {latest.max_score}")
        top[1].metric("Schema valid", "yes" if latest.schema_valid else "no")
        bottom = st.columns(2)
        bottom[0].metric("Repair stage", latest.repair_stage)
        bottom[1].metric("Failure type", latest.failure_type or "—")
        st.caption(f"Latest scoring: {_source(project, latest)}, {escape_markdown(latest.time)}.")
        if not latest.schema_valid:
            detail = _failure_detail(project, latest)
            st.error(
                f"Generation failed ({latest.failure_type}): the draft scores 0 / {latest.max_score}."
                + (f" Error: {escape_markdown(detail)}" if detail else "")
            )
        if latest.checks:
            st.caption(tally_line(latest.checks))
            st.markdown(check_lines(latest.checks))
            if any(not is_scored(c) for c in latest.checks):
                st.caption("Advisory checks flag something to look at and not-applicable checks had nothing to test "
                           "against: neither is counted in the score.")
        if len(records) > 1:
            with st.expander(f"Score history ({len(records)})"):
                st.altair_chart(_history_chart(records), width="stretch")
                st.dataframe(history_rows(records), hide_index=True, width="stretch")
