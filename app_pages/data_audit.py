"""Data audit (N09 §4–§16): deterministic tables, evidence bundle, AI profile review, human checklist."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from causal_core.ai.rubric import audit_record, score_of
from causal_core.audit import (
    AuditInputError,
    AuditSettings,
    bundle_json,
    run_audit,
    settings_fingerprint,
    table_frame,
)
from causal_core.audit.balance import audit_estimand, overlap_reading
from causal_core.audit.profile_review import (
    PROFILE_TASK,
    ReviewError,
    checklist_from_rows,
    default_checklist,
    normalise_review,
    rubric_facts,
    score_profile_review,
)
from causal_core.data import deduplicate
from causal_core.project import ChecklistItem, DataAuditResult, Project
from causal_core.recorded_drafts import recorded_for, replay
from causal_core.safe_text import code_span, escape_markdown
from causal_core.ui import staleness as staleness_banner
from causal_core.ui import state
from causal_core.ui.ai import draft_artifact, render_last_outcome
from causal_core.ui.audit_panel import render_audit_panel

DEDUP_LABELS = {
    "none": "Keep every row",
    "keep_first": "Keep the first row per unit",
    "average": "Average numeric columns per unit",
}


@st.cache_data(show_spinner="Running the data audit…", max_entries=32)
def cached_audit(cache_key: str, settings_json: str, _project: Project, _frame: pd.DataFrame) -> DataAuditResult:
    """One audit per (data hash, roles, dictionary, settings) — ``cache_key`` — so reruns are instant."""
    return run_audit(_project, _frame, AuditSettings.model_validate_json(settings_json))


@st.cache_data(show_spinner=False, max_entries=32)
def cached_facts(cache_key: str, _project: Project, _frame: pd.DataFrame) -> dict:
    """What the rubric expects; computed once per audit key (it scans the rows for missingness and duplicates)."""
    return rubric_facts(_project, _frame).model_dump()


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Display copy: ISO midnight timestamps ('2025-01-06T00:00:00.000') shown as dates."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: v.removesuffix("T00:00:00.000") if isinstance(v, str) else v)
    return out


def table(name: str, result: DataAuditResult, **kwargs) -> pd.DataFrame:
    frame = table_frame(result, name)
    st.dataframe(readable(frame), hide_index=True, width="stretch", **kwargs)
    return frame


# ---- page --------------------------------------------------------------------------------------
st.title("Data audit")
st.caption(
    "Python measures; timing metadata maps columns to causal roles; the model reviews a compact evidence bundle; "
    "a deterministic rubric scores the review; you decide. Profiling alone never establishes identification. "
    "The section marks (N09 §4 …) follow the course notebook *Dataset profiling with AI*; docs/references.md "
    "lists what each section is about."
)
key = state.active_key()
project = state.get_project()
staleness_banner.render(project, ("estimation", "multiverse"))  # this page recomputes its own audit
frame = state.require_frame()
raw = state.get_raw_frame()

if not project.treatment or not project.outcome:
    st.info("Choose the **treatment** and **primary outcome** on the Overview page (Roles) to run the audit.")
    st.stop()

treated_key = f"audit_treated_value_{key}"
if treated_key not in st.session_state:
    stored = project.data_audit.settings.get("treated_value") if project.data_audit else None
    st.session_state[treated_key] = stored

with st.expander("Audit settings", expanded=False):
    left, right = st.columns(2)
    bounds = left.slider("Propensity overlap bounds", 0.0, 1.0, (0.05, 0.95), step=0.01, key=f"audit_bounds_{key}")
    leak_threshold = right.slider(
        "Flag post-treatment/future columns with |corr| ≥", 0.0, 1.0, 0.2, step=0.05, key=f"audit_leak_{key}"
    )
    if st.session_state[treated_key] is not None:
        st.caption(f"Treatment coded as 1 when {code_span(project.treatment)} = {code_span(st.session_state[treated_key])}.")
        if st.button("Clear the treated-value mapping", key="clear_treatment_mapping"):
            st.session_state[treated_key] = None
            st.rerun()

try:
    settings = AuditSettings(
        bounds=(float(bounds[0]), float(bounds[1])), leak_threshold=leak_threshold, treated_value=st.session_state[treated_key]
    )
except ValueError as error:
    st.error(escape_markdown(f"Invalid audit settings: {error.errors()[0]['msg'] if hasattr(error, 'errors') else error}"))
    st.stop()

try:
    cache_key = json.dumps(settings_fingerprint(project, settings), sort_keys=True, default=str)
    result = cached_audit(cache_key, settings.model_dump_json(), project, frame)
except AuditInputError as error:
    st.error(escape_markdown(error))
    if error.suggested_mapping:
        treated_guess = next(value for value, code in error.suggested_mapping.items() if code == 1)
        choice = st.radio(
            f"Which value of {code_span(project.treatment)} means treated?",
            error.values,
            index=error.values.index(treated_guess) if treated_guess in error.values else 0,
            key=f"treated_choice_{key}",
            horizontal=True,
        )
        if st.button("Use this mapping (treated = 1, other = 0)", key="apply_treatment_mapping"):
            st.session_state[treated_key] = choice
            st.rerun()
    elif st.session_state[treated_key] is not None and st.button("Clear the treated-value mapping", key="clear_mapping_error"):
        st.session_state[treated_key] = None
        st.rerun()
    st.stop()

if project.data_audit is None or project.data_audit.settings != result.settings:
    project = project.model_copy(update={"data_audit": result})
    state.set_project(project)
if not project.checklist:
    project = project.model_copy(update={"checklist": default_checklist(project)})
    state.set_project(project)

for warning in result.warnings:
    st.warning(escape_markdown(warning))

tabs = st.tabs(
    ["Grain & schema", "Types & missingness", "Balance & overlap", "Roles & leakage", "Smoke test",
     "Evidence bundle", "AI review", "Checklist"]
)

# ---- 1. grain and schema ---------------------------------------------------------------------
with tabs[0]:
    left, right = st.columns([1, 2])
    with left:
        st.markdown("**Grain and schema profile** (N09 §4)")
        schema = table_frame(result, "schema_profile")
        st.dataframe(readable(schema.astype({"value": "string"})), hide_index=True, width="stretch")
    with right:
        st.markdown("**Duplicated units** (N09 §6): range of every column that disagrees within a unit")
        if not project.unit_columns:
            st.warning("No unit grain is set: choose the unit columns on the Overview page to check duplicates.")
        duplicates = table_frame(result, "duplicate_summary")
        if not duplicates.empty:
            st.dataframe(readable(duplicates), hide_index=True, width="stretch")
        if project.unit_columns and duplicates.empty:
            st.success(f"Every {' × '.join(map(code_span, project.unit_columns))} appears once in the analysis rows.")
        elif not duplicates.empty:
            exact = int(duplicates["exact_copies"].sum())
            st.caption(
                f"{len(duplicates)} duplicated unit(s): {exact} exact copies, {len(duplicates) - exact} with conflicting "
                "values. A data owner must say whether they are duplicate extracts, records to aggregate or conflicts."
            )
    if project.unit_columns and raw is not None:
        st.markdown("**De-duplicate** (recorded in the project log; every later stage uses the result)")
        options = list(DEDUP_LABELS)
        chosen = st.radio(
            "Rows sharing the grain", options, index=options.index(project.dedup),
            format_func=DEDUP_LABELS.get, key=f"audit_dedup_{key}", horizontal=True,
        )
        if chosen != project.dedup:
            updated = project.with_edit(
                "data", "dedup", project.dedup, chosen,
                note=f"{len(raw):,} raw rows -> {len(deduplicate(raw, project.unit_columns, chosen)):,} analysis rows",
            )
            state.set_project(updated.model_copy(update={"dedup": chosen}))
            st.rerun()
        if project.dedup != "none":
            st.info(f"De-duplication **{DEDUP_LABELS[project.dedup]}** applied: {len(raw):,} raw rows → {len(frame):,} analysis rows.")

# ---- 2. types and missingness ----------------------------------------------------------------
with tabs[1]:
    st.markdown("**Type profile merged with the dictionary** (N09 §4)")
    table("type_profile", result)
    missing = table_frame(result, "missingness")
    shown = missing.loc[missing["missing_share"] > 0]
    left, right = st.columns(2)
    with left:
        st.markdown("**Missingness by variable** (N09 §5)")
        if shown.empty:
            st.success("No missing values.")
        else:
            st.altair_chart(
                alt.Chart(shown).mark_bar().encode(
                    x=alt.X("missing_share:Q", title="Missing share", axis=alt.Axis(format="%")),
                    y=alt.Y("variable:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
                    color=alt.Color("timing:N"),
                    tooltip=["variable", alt.Tooltip("missing_share:Q", format=".4f"), "missing_count", "timing"],
                ),
                width="stretch",
            )
    with right:
        st.markdown("**Missingness pattern** (rows sorted by the grain, grouped into bands)")
        pattern = table_frame(result, "missing_pattern")
        if not pattern.empty:
            st.altair_chart(
                alt.Chart(pattern).mark_rect().encode(
                    x=alt.X("row_band:O", title="Rows sorted by grain →", axis=alt.Axis(labels=False, ticks=False)),
                    y=alt.Y("variable:N", title=None, sort=list(table_frame(result, "type_profile")["variable"]),
                            axis=alt.Axis(labelLimit=260)),
                    color=alt.Color("missing_share:Q", title="missing", scale=alt.Scale(scheme="greys", domain=[0, 1])),
                    tooltip=["variable", "first_row", "last_row", alt.Tooltip("missing_share:Q", format=".2f")],
                ),
                width="stretch",
            )
    st.markdown("**Missingness by treatment group** (N09 §5)")
    st.caption(
        "Post-treatment columns missing in (almost) every untreated row are **structural**: they are not measured "
        "without treatment and must not be imputed. Missing pre-treatment covariates or outcomes are data loss."
    )
    table("missing_by_treatment", result)

# ---- 3. balance and overlap ------------------------------------------------------------------
with tabs[2]:
    balance = table_frame(result, "balance")
    st.markdown("**Standardised mean differences** (N09 §7; dashed lines at ±0.1)")
    if balance.empty:
        st.info("No documented pre-treatment columns: fill in the dictionary's timing on the Overview page.")
    else:
        bars = alt.Chart(balance).mark_bar().encode(
            x=alt.X("smd:Q", title="Standardised mean difference (treated − untreated)"),
            y=alt.Y("variable:N", sort=list(balance["variable"]), title=None, axis=alt.Axis(labelLimit=260)),
            color=alt.Color("imbalanced:N", title="|SMD| > 0.1",
                            scale=alt.Scale(domain=[True, False], range=["#d62728", "#9e9e9e"])),
            tooltip=["variable", "kind", alt.Tooltip("smd:Q", format=".3f"), alt.Tooltip("treated_mean:Q", format=".3f"),
                     alt.Tooltip("control_mean:Q", format=".3f")],
        )
        rules = alt.Chart(pd.DataFrame({"x": [-0.1, 0.1]})).mark_rule(strokeDash=[4, 4], color="gray").encode(x="x:Q")
        zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="black").encode(x="x:Q")
        st.altair_chart(bars + rules + zero, width="stretch")
        st.dataframe(balance, hide_index=True, width="stretch")
    left, right = st.columns(2)
    with left:
        st.markdown("**Propensity overlap** (logistic model on the pre-treatment candidates)")
        overlap = table_frame(result, "overlap_summary")
        st.dataframe(overlap.astype({"value": "string"}), hide_index=True, width="stretch")
        reading = overlap_reading(overlap, audit_estimand(project), tuple(settings.bounds))
        if reading:
            st.info(escape_markdown(reading), icon=":material/info:")
    with right:
        density = table_frame(result, "propensity_density")
        if not density.empty:
            density = density.assign(score=(density["bin_start"] + density["bin_end"]) / 2)
            curves = alt.Chart(density).mark_area(opacity=0.45, interpolate="step").encode(
                x=alt.X("score:Q", title="Estimated propensity score", scale=alt.Scale(domain=[0, 1])),
                y=alt.Y("density:Q", title="Density", stack=None),
                color=alt.Color("arm:N"),
                tooltip=["arm", "bin_start", "bin_end", "rows"],
            )
            limits = alt.Chart(pd.DataFrame({"x": list(settings.bounds)})).mark_rule(color="red", strokeDash=[4, 4]).encode(x="x:Q")
            st.altair_chart(curves + limits, width="stretch")
            st.caption("Red lines: the overlap bounds. Rows outside them rely on extrapolation or extreme weights.")

# ---- 4. roles and leakage --------------------------------------------------------------------
with tabs[3]:
    st.markdown("**Role scan** (N09 §8): eligibility for the total-effect adjustment set")
    if project.dag is None:
        st.caption("No DAG yet: eligibility comes from timing only. Draw the DAG to cross-check roles.")
    table("role_scan", result)
    st.markdown("**|Correlation| with the outcome** (N09 §8): predictive is not the same as adjustable")
    leakage = table("leakage", result)
    flagged = leakage.loc[leakage["flag"].fillna("").astype(str).str.len() > 0] if not leakage.empty else leakage
    if len(flagged):
        st.error("Flagged: " + "; ".join(f"{code_span(row.variable)} ({escape_markdown(row.flag)})" for row in flagged.itertuples()))

# ---- 5. regression smoke test ----------------------------------------------------------------
with tabs[4]:
    st.markdown("**Regression smoke test** (N09 §9, OLS with HC3 robust SEs) — not the final estimate")
    smoke = table("smoke_test", result, column_config={"p_value": st.column_config.NumberColumn(format="%.3g")})
    fitted = smoke.dropna(subset=["treatment_coef"])
    if not fitted.empty:
        base = alt.Chart(fitted).encode(
            y=alt.Y("model:N", sort=list(fitted["model"]), title=None, axis=alt.Axis(labelLimit=320))
        ).properties(height=50 * len(fitted) + 30)
        chart = (
            base.mark_rule().encode(x=alt.X("ci_low:Q", title=f"Coefficient on {project.treatment} (95% CI)"), x2="ci_high:Q")
            + base.mark_point(filled=True, size=80, color="#228833").encode(
                x="treatment_coef:Q",
                tooltip=["model", "rows_used", alt.Tooltip("treatment_coef:Q", format=".3f"), alt.Tooltip("robust_se:Q", format=".3f")],
            )
            + alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="black").encode(x="x:Q")
        )
        st.altair_chart(chart, width="stretch")
    for row in smoke.itertuples():
        if isinstance(row.note, str) and row.note:
            st.caption(f"**{escape_markdown(row.model)}**: {escape_markdown(row.note)}")

# ---- 6. evidence bundle ----------------------------------------------------------------------
with tabs[5]:
    st.markdown("**Evidence bundle** (N09 §10): what the model sees instead of the rows — capped tables and the warning")
    st.download_button(
        "Download evidence bundle (JSON)",
        data=bundle_json(result.evidence_bundle),
        file_name=f"{key.replace(':', '_')}_evidence_bundle.json",
        mime="application/json",
        key="download_bundle",
    )
    st.json(result.evidence_bundle, expanded=1)

# ---- 7. AI review ----------------------------------------------------------------------------
with tabs[6]:
    evidence_col, review_col = st.columns(2)
    with evidence_col:
        st.markdown("**Evidence** (the bundle the model reviews)")
        st.warning(result.evidence_bundle["explicit_warning"])
        st.json(result.evidence_bundle, expanded=1)
        with st.expander("What the rubric expects (derived from this project)"):
            st.json(cached_facts(cache_key, project, frame))
    with review_col:
        st.markdown("**AI profile review**")
        buttons = st.columns(2)
        draft = buttons[0].button("Draft profile review with the model", key="draft_profile", type="primary")
        # A recorded draft is offered only on the dataset it was made from: scored here, a foreign one would mislead.
        recorded = recorded_for(PROFILE_TASK.name, project, frame)
        sample = buttons[1].button(
            "Replay recorded draft",
            key="replay_profile", disabled=recorded is None,
            help="Loads a real larger model's stored output and scores it with the same rubric, in a second. "
                 "Nothing is generated." if recorded else "No recorded draft exists for this dataset.",
        )
        if recorded:
            st.caption(f"Recorded draft: {escape_markdown(recorded.label)}.")
        else:
            st.caption("No recorded draft for this dataset: the recorded N09 review (Qwen2.5-7B) was made from "
                       "`support`; open that dataset to replay it.")
        if not draft:  # a stopped or failed draft stays visible after the rerun that ended it
            render_last_outcome(PROFILE_TASK)
        if draft:
            max_score = score_of(score_profile_review({}, project, frame))[1]
            interaction = draft_artifact(PROFILE_TASK, {"bundle": result.evidence_bundle})
            current = state.get_project()  # now holds the logged interaction
            checks = score_profile_review(interaction.parsed, current, frame) if interaction.schema_valid else []
            record = audit_record("profile_review", checks, interaction, max_score_if_failed=max_score)
            update = {"profile_review": interaction.parsed} if interaction.schema_valid else {}
            state.set_project(current.with_audit(record).model_copy(update=update))
            if not interaction.schema_valid:
                st.error(f"The model's output could not be used ({interaction.failure_type}); the previous review is kept.")
            st.rerun()
        if sample and recorded is not None:
            replayed = replay(recorded, state.get_project(), frame)
            update = {"profile_review": replayed.interaction.parsed} if replayed.interaction.schema_valid else {}
            state.set_project(replayed.project.model_copy(update=update))
            st.rerun()
        review = project.profile_review
        if review:
            # one row per item, as plain text in a table (model text is never rendered as markdown or HTML)
            rows = [
                {"field": name, "item": str(item)}
                for name, value in review.items()
                for item in (value if isinstance(value, list) else [value])
            ]
            st.table(pd.DataFrame(rows).set_index("field"))
        else:
            st.caption("No review yet: draft one with the model selected in the sidebar, or replay a recorded draft.")
        with st.expander("Edit or paste a review (JSON) and score it"):
            text = st.text_area(
                "DatasetProfileReview JSON",
                value=json.dumps(review or {}, indent=2),
                height=260,
                key=f"review_json_{key}_{len(project.audit_history('profile_review'))}",
            )
            if st.button("Score this review", key="score_pasted_review"):
                try:
                    parsed = normalise_review(json.loads(text))
                except json.JSONDecodeError as error:
                    st.error(f"Not valid JSON (line {error.lineno}, column {error.colno}): {escape_markdown(error.msg)}")
                except ReviewError as error:
                    st.error(escape_markdown(error))
                else:
                    record = audit_record("profile_review", score_profile_review(parsed, project, frame))
                    updated = project.with_edit("profile_review", "review", project.profile_review, parsed, note="analyst edit")
                    state.set_project(updated.with_audit(record).model_copy(update={"profile_review": parsed}))
                    st.rerun()
    render_audit_panel(state.get_project(), "profile_review", "Profile review audit (field-aware rubric)")

# ---- 8. human checklist ----------------------------------------------------------------------
with tabs[7]:
    st.markdown("**Human review checklist** (N09 §16): profiling ends in a checklist, not an answer")
    project = state.get_project()
    version_key = f"checklist_version_{key}"
    version = st.session_state.setdefault(version_key, 0)
    current = pd.DataFrame([item.model_dump() for item in project.checklist], columns=list(ChecklistItem.model_fields))
    edited = st.data_editor(
        current,
        key=f"checklist_editor_{key}_{version}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "check": st.column_config.TextColumn("check", required=True),
            "status": st.column_config.SelectboxColumn("status", options=["todo", "in progress", "done", "blocked"], required=True),
            "owner": st.column_config.TextColumn("owner"),
            "evidence": st.column_config.TextColumn("evidence"),
            "notes": st.column_config.TextColumn("notes"),
        },
    )
    changed = not edited.equals(current)
    if changed:
        st.caption("Unsaved changes.")
    if st.button("Save checklist", key="save_checklist", disabled=not changed):
        try:
            items = checklist_from_rows(edited.to_dict("records"))
        except ValueError as error:
            st.error(f"The checklist was not saved: {escape_markdown(error)}")
        else:
            before = [item.model_dump() for item in project.checklist]
            after = [item.model_dump() for item in items]
            state.set_project(project.with_edit("checklist", "items", before, after).model_copy(update={"checklist": items}))
            st.session_state[version_key] = version + 1
            st.rerun()
    done = sum(item.status == "done" for item in state.get_project().checklist)
    st.progress(done / max(len(state.get_project().checklist), 1), text=f"{done} of {len(state.get_project().checklist)} done")
    if st.button("Reset to the N09 §16 template", key="reset_checklist"):
        project = state.get_project()
        template = default_checklist(project)
        updated = project.with_edit("checklist", "items", [i.model_dump() for i in project.checklist], [i.model_dump() for i in template])
        state.set_project(updated.model_copy(update={"checklist": template}))
        st.session_state[f"checklist_version_{key}"] = st.session_state.get(f"checklist_version_{key}", 0) + 1
        st.rerun()
