"""Question: a stakeholder brief becomes an approved estimand card (N01 §5–7).

Ask the model for an artifact, not an answer; edit the draft; let the deterministic rubric score
every version; approve it so later pages start from its treatment, outcome, unit and estimand.
"""

import pandas as pd
import streamlit as st

from causal_core import question as q
from causal_core.project import EstimandCard
from causal_core.recorded_drafts import recorded_for, replay
from causal_core.safe_text import code_span, escape_markdown
from causal_core.ui import state
from causal_core.ui.ai import current_model_key, draft_artifact, render_last_outcome
from causal_core.ui.audit_panel import render_audit_panel

FIELD_LABELS = {
    "business_question": "Business question",
    "causal_question": "Causal question",
    "unit": "Unit",
    "treatment": "Treatment",
    "control_condition": "Control condition",
    "outcome": "Outcome",
    "time_window": "Time window",
    "target_population": "Target population",
    "estimand": "Estimand",
    "required_assumptions": "Required assumptions (one per line)",
    "likely_threats": "Likely threats (one per line)",
    "variables_to_audit": "Variables to audit (one per line)",
}
LONG_FIELDS = {"business_question", "causal_question", "estimand"}

st.title("Question: estimand card")
st.caption(
    "Ask for artifacts, not answers: the model drafts a causal design card from the brief and never estimates. "
    "The rubric beside the card checks it against this dataset's columns and dictionary; you edit and approve."
)

active = state.active_key()
frame = state.get_frame()
version_key = f"cw_card_version_{active}"
notes_key = f"cw_card_notes_{active}"
st.session_state.setdefault(version_key, 0)


def new_card_installed(notes: list[str] | None = None) -> None:
    """A different card replaced the form: new widget keys so every field shows the new values."""
    st.session_state[version_key] += 1
    st.session_state[notes_key] = notes or []


left, right = st.columns([11, 9], gap="large")

# ---- brief and the three ways to start a card ---------------------------------------------------
with left:
    project = state.get_project()
    # Refill the brief widget when the dataset changed or the project's brief changed elsewhere (opened file).
    if (
        st.session_state.get("cw_brief_owner") != active
        or "brief" not in st.session_state
        or st.session_state.get("cw_brief_basis") != project.brief
    ):
        st.session_state["brief"] = project.brief
        st.session_state["cw_brief_owner"] = active
    brief = st.text_area(
        "Stakeholder brief",
        key="brief",
        height=100,
        help="The stakeholder's question in their words. Built-in datasets start with the notebook's business question.",
    )
    if brief != project.brief:
        project = project.with_edit("project", "brief", project.brief, brief).model_copy(update={"brief": brief})
        state.set_project(project)
    st.session_state["cw_brief_basis"] = project.brief

    source = project.data_source
    has_example = bool(source and source.kind == "builtin" and source.name in q.EXAMPLE_CARDS)
    b1, b2, b3 = st.columns(3)
    draft_clicked = b1.button("Draft with model", key="draft_card", type="primary", width="stretch")
    example_clicked = b2.button(
        "Start from example", key="example_card", disabled=not has_example, width="stretch",
        help="The worked card from the notebooks (N01 §6 for retention, N09 for support)."
        if has_example else "Example cards exist for the built-in datasets only.",
    )
    empty_clicked = b3.button("Start an empty card", key="empty_card", width="stretch")
    st.caption(f"Drafts use the model {code_span(current_model_key())} (change it in the sidebar). Nothing is estimated.")
    recorded = recorded_for(q.ESTIMAND_TASK.name, state.get_project(), frame)
    if recorded is not None:
        # A real larger model's stored card, replayed through the same parser and rubric (nothing generated).
        if st.button("Replay recorded draft", key="replay_card", help=recorded.label):
            replayed = replay(recorded, state.get_project(), frame)
            state.set_project(q.with_draft_result(replayed.project, replayed.interaction, frame))
            new_card_installed()
        st.caption(f"Recorded draft: {escape_markdown(recorded.label)}.")
    else:
        st.caption("No recorded estimand-card draft ships for this dataset: the notebooks' N01 card is a simulated "
                   "output, not a real model's, so it is offered as the example card instead.")

    if not draft_clicked:  # a stopped or failed draft stays visible after the rerun that ended it
        render_last_outcome(q.ESTIMAND_TASK)
    if draft_clicked:
        if not brief.strip():
            st.warning("The brief is empty: write the stakeholder's question first. The model was not called.")
        else:
            inputs = q.ESTIMAND_TASK.build_inputs(state.get_project(), frame)
            interaction = draft_artifact(q.ESTIMAND_TASK, inputs)
            state.set_project(q.with_draft_result(state.get_project(), interaction, frame))
            if interaction.schema_valid:
                new_card_installed()
            else:
                st.error(
                    f"The model's output could not be used ({interaction.failure_type or 'other_structured_output_error'})"
                    + (f": {escape_markdown(interaction.error[:300])}" if interaction.error else "")
                    + ". The card was left as it was; try again, another model, or start from the example."
                )
    if example_clicked and has_example:
        state.set_project(q.with_card(state.get_project(), q.example_card(source.name), frame, source="example card"))
        new_card_installed()
    if empty_clicked:
        state.set_project(q.with_card(state.get_project(), EstimandCard(business_question=brief.strip()), frame,
                                      source="empty card"))
        new_card_installed()

    with st.expander("Prompt sent to the model"):
        inputs = q.ESTIMAND_TASK.build_inputs(state.get_project(), frame)
        st.code(q.ESTIMAND_TASK.system_prompt, language="text")
        st.code(q.ESTIMAND_TASK.build_user_prompt(inputs), language="text")
    last = next((i for i in reversed(state.get_project().ai_log) if i.task == q.ESTIMAND_TASK.name), None)
    if last is not None:
        with st.expander(f"Last model output ({escape_markdown(last.model_id or 'model')}, {escape_markdown(last.started_at)})"):
            st.code(last.raw_output or "(no output)", language="json")

# ---- the editable card ----------------------------------------------------------------------------
with left:
    project = state.get_project()
    card = project.estimand_card
    st.subheader("Estimand card")
    if card is None:
        st.info("No card yet: draft one with the model, start from the example, or start an empty card.")
    else:
        status = {"draft": "Draft (not approved)", "approved": ":material/check_circle: Approved", "none": "Draft"}[project.card_status]
        st.markdown(f"**Status:** {status}")
        # The widgets mirror the card they were filled from; if the card changed anywhere else (a project
        # opened from file, another page), fresh widgets are filled from it instead of overwriting it.
        basis_key = f"cw_card_basis_{active}"
        if st.session_state.get(basis_key) != card.model_dump():
            st.session_state[version_key] += 1
            st.session_state[basis_key] = card.model_dump()
        version = st.session_state[version_key]
        for field_name, label in FIELD_LABELS.items():
            widget_key = f"card_{field_name}_{active}_{version}"
            current = getattr(card, field_name)
            if widget_key not in st.session_state:
                st.session_state[widget_key] = "\n".join(current) if field_name in q.LIST_FIELDS else current
            if field_name in q.LIST_FIELDS:
                value = st.text_area(label, key=widget_key, height=130)
            elif field_name in LONG_FIELDS:
                value = st.text_area(label, key=widget_key, height=80)
            else:
                value = st.text_input(label, key=widget_key)
            updated = q.edit_card_field(state.get_project(), field_name, value, frame)
            if updated is not state.get_project():
                if state.get_project().card_status == "approved":
                    st.session_state[notes_key] = ["The card was edited after approval: approve it again."]
                state.set_project(updated)
                st.session_state[basis_key] = updated.estimand_card.model_dump()

        project = state.get_project()
        failing = [c.name for c in q.score_estimand_card(project.estimand_card, project, frame) if not c.passed
                   and c.severity == "fail"]
        if st.button("Approve card", key="approve_card", type="primary"):
            if q.card_is_empty(project.estimand_card):
                st.error("Nothing to approve: the card is empty. Fill in at least the treatment and outcome.")
            else:
                approved, notes = q.approve_card_with_notes(project, project.estimand_card, frame)
                state.set_project(approved)
                if failing:
                    notes = [f"Approved with {len(failing)} failing check(s): {', '.join(failing)}.", *notes]
                st.session_state[notes_key] = notes
                st.rerun()  # redraw the status line and the audit panel with the approved card
        notes = st.session_state.get(notes_key, [])
        if notes:
            st.caption("\n".join(f"- {escape_markdown(note)}" for note in notes))

        project = state.get_project()
        if project.card_status == "approved":
            approved_card = project.estimand_card
            st.success("Approved. Later pages start from these defaults (change them on the Overview page).")
            st.dataframe(
                pd.DataFrame(
                    [
                        {"default": "treatment", "column": project.treatment or "—", "card": approved_card.treatment},
                        {"default": "outcome", "column": project.outcome or "—", "card": approved_card.outcome},
                        {"default": "unit", "column": ", ".join(project.unit_columns) or "—", "card": approved_card.unit},
                        {"default": "estimand", "column": q.estimand_kind(approved_card.estimand) or "ATE (default)",
                         "card": approved_card.estimand},
                    ]
                ),
                hide_index=True,
                width="stretch",
            )

with right:
    render_audit_panel(state.get_project(), "estimand_card", "Estimand card audit")

# ---- open questions ------------------------------------------------------------------------------
st.subheader("Open questions for stakeholders")
st.caption(
    "The card's threats and assumptions, turned into questions to ask before estimating (N01 §6). "
    "Approval adds them; edit, answer or drop them here. They are exported with the memo."
)
project = state.get_project()
questions_version_key = f"cw_questions_version_{active}"
st.session_state.setdefault(questions_version_key, 0)
if st.button("Add questions from the current card", key="derive_questions", disabled=project.estimand_card is None):
    derived = q.open_questions_from_card(project.estimand_card)
    merged = q.merge_open_questions(project.open_questions, derived)
    added = len(merged) - len(project.open_questions)
    if added:
        before = [question.model_dump() for question in project.open_questions]
        project = project.with_edit("open_questions", "rows", before, [question.model_dump() for question in merged])
        state.set_project(project.model_copy(update={"open_questions": merged}))
        st.session_state[questions_version_key] += 1
    st.caption(f"{added} question(s) added." if added else "No new questions: every derived question is listed.")

project = state.get_project()
table = pd.DataFrame(
    [question.model_dump() for question in project.open_questions], columns=["text", "source", "status", "answer"]
)
edited = st.data_editor(
    table,
    key=f"open_questions_{active}_{st.session_state[questions_version_key]}",
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    column_config={
        "text": st.column_config.TextColumn("question", width="large", required=True),
        "source": st.column_config.TextColumn("raised by", width="medium"),
        "status": st.column_config.SelectboxColumn("status", options=["open", "answered", "dropped"], required=True),
        "answer": st.column_config.TextColumn("answer", width="medium"),
    },
)
if not edited.equals(table):
    try:
        updated = q.edit_open_questions(project, edited.fillna("").to_dict("records"))
    except ValueError as error:
        st.error(escape_markdown(error))
    else:
        if updated is not project:
            state.set_project(updated)
            st.session_state[questions_version_key] += 1
            st.rerun()
