"""Memo: the deterministic memo beside the AI draft, the analyst's final memo, consistency and exports."""

import streamlit as st

from causal_core import memo as memo_core
from causal_core.ai.rubric import audit_record
from causal_core.errors import WorkbenchInputError
from causal_core.project import utc_now
from causal_core.project_file import project_from_json, project_to_json
from causal_core.reporting.consistency import consistency_checks, consistency_records, overall_status
from causal_core.reporting.report import memo_html, project_memo_markdown, report_zip, zip_name
from causal_core.ui import staleness as staleness_banner
from causal_core.ui import state
from causal_core.ui.ai import draft_artifact, render_last_outcome
from causal_core.ui.audit_panel import render_audit_panel
from causal_core.ui.notebook_export import render_notebook_export


def md(text: str) -> str:
    """Memo text for st.markdown: names stay code spans, everything else (user, model text) is escaped."""
    return memo_core.to_markdown(text or "")


@st.cache_data(max_entries=4, show_spinner="Preparing the exports…")
def exports(project_json: str) -> tuple[str, str, bytes]:
    """Markdown, HTML and ZIP for one project state (keyed by its JSON, so any change rebuilds them)."""
    project = project_from_json(project_json)
    return project_memo_markdown(project), memo_html(project), report_zip(project)


def show_sections(sections: dict[str, str], empty: str) -> None:
    if not any(sections.get(key, "").strip() for key in memo_core.SECTION_KEYS):
        st.caption(empty)
        return
    for key, title in memo_core.MEMO_SECTIONS:
        body = " ".join(md(sections.get(key, "").strip()).splitlines())
        st.markdown(f"**{title}.** {body or '—'}")


def score_line(sections: dict[str, str], project, frame) -> None:
    checks = memo_core.score_memo(sections, project, frame)
    failed = [c for c in checks if not c.passed]
    text = f"Memo rubric: {len(checks) - len(failed)} / {len(checks)}"
    if failed:
        st.warning(text + " — " + "; ".join(f"{c.name}: {md(c.reason)}" for c in failed))  # reasons quote memo text
    else:
        st.caption(f":material/check_circle: {text}")


st.title("Decision memo")
st.markdown(
    "N01 §13: the memo separates **evidence, assumptions, limitations and recommendations**. The deterministic memo "
    "is built only from project figures; the model may draft prose from the same inputs, and the rubric checks every "
    "number, the estimand, hedging, direction and the validation step. You write the final memo."
)

project = state.get_project()
staleness_banner.render(project)  # out of date: recompute (causal_core/staleness.py)
frame = state.get_frame()
refreshed = memo_core.with_deterministic_memo(project, frame)
if refreshed is not project:
    state.set_project(refreshed)
    project = refreshed
active = state.active_key()

if project.estimation is None:
    st.info("Not yet estimated: the memo shows what is missing. Run the **Estimation** page first.")
    source = project.data_source
    if source is not None and source.kind == "builtin":
        with st.expander("Shortcut: build the worked example without a model"):
            st.caption(
                "Approves the example estimand card, adds the default DAG, runs the data audit and the estimation with "
                "the DAG's recommended adjustment set. This replaces this dataset's card, DAG, audit and estimates."
            )
            if st.button("Build the worked example", key="build_example"):
                from causal_core.headless import build_project

                with st.status("Building the worked example…", expanded=True) as status:
                    try:
                        built, _ = build_project(source.name, progress=st.write)
                    except WorkbenchInputError as error:  # shown to the analyst; the project is unchanged
                        status.update(label="The example could not be built", state="error")
                        st.error(f"Could not build the example: {error}")
                    else:
                        kept = built.model_copy(update={"ai_log": project.ai_log + built.ai_log, "name": project.name})
                        state.set_project(kept)
                        status.update(label="Worked example ready", state="complete")
                        st.rerun()

left, right = st.columns(2)
with left:
    st.subheader("Deterministic memo")
    deterministic = project.memo.deterministic
    show_sections(deterministic, "No memo yet.")
    if project.estimation is not None:
        score_line(deterministic, project, frame)
    raised = [line for line in deterministic.get("warnings", "").splitlines() if line.startswith("- ")]
    if raised:  # the analysis's own warnings travel with the memo; say so where the reader starts
        st.warning(
            f"The analysis raised {memo_core.plural(len(raised), 'warning')}; the memo lists them under "
            "**Warnings from the analysis** (Supporting detail below, and in every export).",
            icon=":material/warning:",
        )
    with st.expander(
        "Supporting detail (adjustment set, warnings, exclusions, sensitivity, refutations, questions, checklist)"
    ):
        for key, title in memo_core.EXTRA_SECTIONS:
            st.markdown(f"**{title}**")
            st.markdown(md(deterministic.get(key, "")) or "—")

with right:
    st.subheader("AI draft")
    st.caption("Drafted from the same structured inputs (pre-formatted numbers); scored by the rubric below.")
    draft_memo = st.button("Draft memo with the model", key="draft_memo", type="primary")
    if not draft_memo:  # a stopped or failed draft stays visible after the rerun that ended it
        render_last_outcome(memo_core.MEMO_TASK)
    if draft_memo:
        inputs = memo_core.MEMO_TASK.build_inputs(project, frame)
        interaction = draft_artifact(memo_core.MEMO_TASK, inputs)
        project = state.get_project()
        if interaction.schema_valid:
            sections = memo_core.draft_sections(interaction.parsed, project, frame)  # row refs → numbers
            record = audit_record("memo", memo_core.score_memo(sections, project, frame), interaction)
            memo = project.memo.model_copy(update={"ai_draft": sections, "updated_at": utc_now()})
            project = project.model_copy(update={"memo": memo}).with_audit(record)
        else:
            record = audit_record("memo", [], interaction, max_score_if_failed=len(memo_core.MEMO_RUBRIC))
            project = project.with_audit(record)
            st.error(f"The model's memo could not be used ({interaction.failure_type}); it scores 0.")
        state.set_project(project)
    show_sections(project.memo.ai_draft, "No AI draft yet.")

st.subheader("Final memo")
st.caption("Start from either memo, edit, save. Every changed section is logged (before → after) in the edit log.")
widget_keys = {key: f"final_{active}_{key}" for key in memo_core.SECTION_KEYS}
base_key = f"final_{active}_base"
start_cols = st.columns(3)
starts = {
    "deterministic": start_cols[0].button("Start from the deterministic memo", key="start_deterministic"),
    "ai_draft": start_cols[1].button(
        "Start from the AI draft", key="start_ai", disabled=not any(project.memo.ai_draft.values())
    ),
}
origin_key = f"final_{active}_origin"  # the sections the editor was last filled from
for base, clicked in starts.items():
    if clicked:
        source_sections = getattr(project.memo, base)
        for key, widget in widget_keys.items():
            st.session_state[widget] = source_sections.get(key, "")
        st.session_state[base_key] = base
        st.session_state[origin_key] = {key: source_sections.get(key, "") for key in widget_keys}
has_final = any(project.memo.final.values())
initial = {key: (project.memo.final if has_final else project.memo.deterministic).get(key, "") for key in widget_keys}
origin = st.session_state.get(origin_key)
untouched = origin is not None and all(st.session_state.get(w) == origin.get(k) for k, w in widget_keys.items())
following = st.session_state.get(base_key) != "ai_draft"  # an AI-draft start stays until edited or saved
if origin is None or (following and untouched and origin != initial):
    # Unedited editor follows the memo it came from (e.g. the deterministic memo after re-estimation).
    for key, widget in widget_keys.items():
        st.session_state[widget] = initial[key]
    st.session_state[origin_key] = initial
    st.session_state[base_key] = "final" if has_final else "deterministic"
for key, widget in widget_keys.items():
    st.session_state.setdefault(widget, initial[key])  # widgets dropped while on another page
st.session_state.setdefault(base_key, "final" if has_final else "deterministic")

with st.form(f"final_memo_form_{active}"):
    for key, title in memo_core.MEMO_SECTIONS:
        st.text_area(title, key=widget_keys[key], height=90, max_chars=4000)
    saved = st.form_submit_button("Save final memo", type="primary")
if saved:
    first_save = not any(project.memo.final.values())
    base = st.session_state[base_key]
    before_sections = getattr(project.memo, base) if first_save else project.memo.final
    after_sections = {key: st.session_state[widget].strip() for key, widget in widget_keys.items()}
    note = f"final memo started from the {base.replace('_', ' ')}" if first_save else ""
    updated = project
    for key in memo_core.SECTION_KEYS:
        if before_sections.get(key, "") != after_sections[key]:
            updated = updated.with_edit("memo", key, before_sections.get(key, ""), after_sections[key], note=note)
    if updated is project and first_save:
        updated = updated.with_edit("memo", "final", None, base, note=f"{note}, adopted unchanged")
    checks = memo_core.score_memo(after_sections, updated, frame)
    memo = updated.memo.model_copy(update={"final": after_sections, "updated_at": utc_now()})
    updated = updated.model_copy(update={"memo": memo}).with_audit(audit_record("memo", checks))
    state.set_project(updated)
    st.session_state[origin_key] = after_sections
    project = updated
    st.success(f"Final memo saved: {sum(c.passed for c in checks)} / {len(checks)} rubric checks pass.")

memo_edits = [e for e in project.edit_log if e.artifact == "memo"]
if memo_edits:
    with st.expander(f"Memo edit log ({len(memo_edits)})"):
        st.dataframe(
            [
                {"time": e.time, "section": e.field, "before": e.before, "after": e.after, "note": e.note}
                for e in memo_edits
            ],
            hide_index=True,
            width="stretch",
        )

render_audit_panel(project, "memo", "Memo audit")

st.subheader("Consistency across artifacts")
items = consistency_checks(project)
worst = overall_status(items)
{"green": st.success, "amber": st.warning, "red": st.error}[worst](
    {
        "green": "All artifacts agree.",
        "amber": "Nothing contradicts, but some items need attention.",
        "red": "Artifacts contradict each other: fix the red items before sharing the memo.",
    }[worst]
)
st.dataframe(consistency_records(items), hide_index=True, width="stretch")

st.subheader("Export")
st.caption(
    "The ZIP holds the memo (Markdown, HTML), the Project JSON (brief, prompts, AI outputs, edits, card, DAG, audit, "
    "estimation, memo), the DAG (DOT, DAGitty, SVG), the estimates CSV and a manifest of package versions."
)
project_json = project_to_json(project)
markdown_text, html_text, bundle = exports(project_json)
download_cols = st.columns(4)
download_cols[0].download_button(
    "Memo (Markdown)", markdown_text, file_name="memo.md", mime="text/markdown", key="dl_md"
)
download_cols[1].download_button("Report (HTML)", html_text, file_name="memo.html", mime="text/html", key="dl_html")
download_cols[2].download_button(
    "Project (JSON)", project_json, file_name="project.json", mime="application/json", key="dl_json"
)
download_cols[3].download_button(
    "Bundle (ZIP)", bundle, file_name=zip_name(project), mime="application/zip", key="dl_zip"
)
render_notebook_export(project)
