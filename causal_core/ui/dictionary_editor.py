"""Editable data dictionary and the project's role columns (treatment, outcome, grain).

Why the grid works the way it does: ``st.data_editor`` with dynamic rows identifies its widget by
key *and* the data it was given, and its value is a delta (edited / added / deleted rows) against
that data. Feeding it the updated dictionary after each save, or changing its key, creates a new
widget while the browser still edits the old one, and every second edit was lost. So the editor
keeps one base table for as long as the dictionary is only changed through it, applies each
change in the widget's ``on_change`` callback (the project is updated before the next run starts),
and starts a new base (a new key) only when the dictionary changed elsewhere (import, bulk edit,
opening a project).

Why the grid is a fragment: each committed cell reran the whole Overview page (tables, preview,
roles), 1-2 s on a real upload, and a cell typed or clicked while that rerun was in flight was lost when its
result reached the browser: 2 of 5 fast edits in a row were dropped in Chromium. As a fragment, an edit reruns
only the grid and its messages (~50 ms), and the rest of the page catches up on its next full run.

A row added at the end (Enter on the last row) is saved once it has a variable name; until then it stays in the
grid with a warning quoting its content on every run, never dropped without a word.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from causal_core.audit.dictionary_io import (
    TIMING_ORDER,
    DictionaryImportError,
    apply_editor_delta,
    editor_table,
    entries_from_table,
    export_csv,
    import_csv,
    set_categorical,
    set_timing,
    timing_label,
)
from causal_core.project import DictionaryEntry, Project, Timing
from causal_core.safe_text import code_span, escape_markdown
from causal_core.ui import state

TIMING_CHOICES = [timing.value for timing in TIMING_ORDER]


def _prefix() -> str:
    return f"dictionary_{state.active_key()}"


def _dump(entries: list[DictionaryEntry]) -> list[dict[str, Any]]:
    return [entry.model_dump() for entry in entries]


def _editor_base(project: Project) -> tuple[pd.DataFrame, str]:
    """The base table and widget key; a new base only when the dictionary changed outside the grid."""
    prefix = _prefix()
    synced = st.session_state.get(f"{prefix}_synced")
    if synced != _dump(project.dictionary) or f"{prefix}_base" not in st.session_state:
        st.session_state[f"{prefix}_generation"] = st.session_state.get(f"{prefix}_generation", -1) + 1
        st.session_state[f"{prefix}_base"] = editor_table(project.dictionary)
        st.session_state[f"{prefix}_base_entries"] = list(project.dictionary)
        st.session_state[f"{prefix}_synced"] = _dump(project.dictionary)
    return st.session_state[f"{prefix}_base"], f"{prefix}_editor_{st.session_state[f'{prefix}_generation']}"


def _save_dictionary(entries: list[DictionaryEntry], note: str, *, from_grid: bool) -> None:
    """Log and store a new dictionary; the grid's own saves keep its base (and so its widget)."""
    project = state.get_project()
    before, after = _dump(project.dictionary), _dump(entries)
    if before == after:
        return
    updated = project.with_edit("dictionary", "rows", before, after, note=note)
    state.set_project(updated.model_copy(update={"dictionary": entries}))
    if from_grid:
        st.session_state[f"{_prefix()}_synced"] = after


CONTENT_COLUMNS = ("description", "role")


def nameless_rows(table: pd.DataFrame) -> list[str]:
    """Rows the analyst typed into without a variable name (Enter on the last row adds one): they cannot be
    saved, and dropping them silently lost their text. Returns a short quote of each row's content."""
    def cell(row: dict[str, Any], column: str) -> str:
        value = row.get(column)
        return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()

    quoted = []
    for row in table.to_dict("records"):
        if cell(row, "variable") not in ("", "None"):
            continue
        texts = [cell(row, c) for c in CONTENT_COLUMNS if cell(row, c) not in ("", "None")]
        timing = cell(row, "timing")
        if timing not in ("", "unknown", "None"):
            texts.append(f"timing {timing}")
        if texts:
            quoted.append("; ".join(texts)[:80])
    return quoted


def _on_grid_change(widget_key: str) -> None:
    """Apply the grid's whole delta to its base table and save: runs before the next script run."""
    prefix = _prefix()
    table = apply_editor_delta(st.session_state[f"{prefix}_base"], st.session_state[widget_key])
    try:
        entries = entries_from_table(table, st.session_state[f"{prefix}_base_entries"])
    except DictionaryImportError as error:
        st.session_state[f"{prefix}_message"] = ("error", str(error))
        return
    st.session_state.pop(f"{prefix}_message", None)
    _save_dictionary(entries, "dictionary grid edit", from_grid=True)


def unsaved_rows_warning(base: pd.DataFrame, delta: dict[str, Any] | None) -> str:
    """The warning for rows the grid shows but the project cannot hold (no variable name), or "": recomputed
    from the grid's own state on every run, so it stays as long as such a row does."""
    unsaved = nameless_rows(apply_editor_delta(base, delta or {}))
    if not unsaved:
        return ""
    return (f"{len(unsaved)} row(s) without a variable name are not saved ({' | '.join(unsaved)}): type the data "
            "column's name in the variable cell, or delete the row.")


def _grid(project: Project) -> None:
    base, widget_key = _editor_base(project)
    st.data_editor(
        base,
        key=widget_key,
        on_change=_on_grid_change,
        args=(widget_key,),
        num_rows="dynamic",
        width="stretch",
        column_config={
            "timing": st.column_config.SelectboxColumn(
                "timing", options=TIMING_CHOICES, format_func=timing_label, required=True, default="unknown",
                help="When the column is measured, relative to treatment: decides what may be adjusted for.",
            ),
            "categorical": st.column_config.CheckboxColumn(
                "categorical", help="Estimation uses its levels (one indicator per level), even when stored as numbers.",
            ),
            "simulation_truth": st.column_config.CheckboxColumn("simulation truth"),
            "written_as": st.column_config.TextColumn(
                "written as", disabled=True,
                help="The timing term the built-in data set's notebook uses (e.g. N09's 'treatment week'), kept "
                     "only so its audit reproduces the notebook; the timing column is what every page uses. An "
                     "imported file's terms are converted to the timing values on import, so this stays empty.",
            ),
        },
        hide_index=True,
    )
    warning = unsaved_rows_warning(base, st.session_state.get(widget_key))
    if warning:
        st.warning(escape_markdown(warning))


def _run_bulk(action: str) -> None:
    """Bulk timing / categorical edit from the selection widgets; a bad selection changes nothing."""
    prefix = _prefix()
    project = state.get_project()
    variables = list(st.session_state.get(f"{prefix}_bulk_columns") or [])
    columns = project.data_source.columns if project.data_source else [e.variable for e in project.dictionary]
    try:
        if action == "timing":
            timing = st.session_state.get(f"{prefix}_bulk_timing") or "unknown"
            entries = set_timing(project.dictionary, variables, timing, columns)
            message = f"Timing set to '{timing}' for {len(variables)} column(s)."
        else:
            entries = set_categorical(project.dictionary, variables, action == "categorical", columns)
            message = f"{len(variables)} column(s) marked {'categorical' if action == 'categorical' else 'numeric'}."
    except DictionaryImportError as error:
        st.session_state[f"{prefix}_message"] = ("error", str(error))
        return
    _save_dictionary(entries, f"bulk {action}", from_grid=False)
    st.session_state[f"{prefix}_message"] = ("success", message)


def canonical_timing_terms(
    entries: list[DictionaryEntry], previous: list[DictionaryEntry]
) -> tuple[list[DictionaryEntry], list[str]]:
    """Imported rows in the one timing vocabulary: a synonym the file used ("baseline") becomes the canonical
    value (``pre_treatment``) with no written-as label, so the DAG roles table, the prompts and the notebook say
    what the export says. Rows the import did not change keep theirs (the built-in data sets' notebook terms).
    Returns the entries and one "'baseline' → pre_treatment" line per converted term."""
    before = {entry.variable: entry for entry in previous}
    out, converted = [], []
    for entry in entries:
        if entry.timing_label and before.get(entry.variable) != entry:
            converted.append(f"'{entry.timing_label}' → {entry.timing.value}")
            entry = entry.model_copy(update={"timing_label": ""})
        out.append(entry)
    return out, list(dict.fromkeys(converted))


def _run_import(frame_columns: list[str]) -> None:
    prefix = _prefix()
    upload = st.session_state.get(f"{prefix}_import_file")
    if upload is None:
        st.session_state[f"{prefix}_message"] = ("error", "Choose a dictionary CSV first.")
        return
    project = state.get_project()
    try:
        entries = import_csv(upload.getvalue(), project.dictionary, frame_columns)
    except (DictionaryImportError, UnicodeDecodeError) as error:
        text = str(error) if isinstance(error, DictionaryImportError) else "The dictionary file is not UTF-8 text."
        st.session_state[f"{prefix}_message"] = ("error", text)
        return
    entries, converted = canonical_timing_terms(entries, project.dictionary)
    _save_dictionary(entries, f"imported {upload.name}", from_grid=False)
    terms = f" Timing terms read as the canonical values: {', '.join(converted)}." if converted else ""
    st.session_state[f"{prefix}_message"] = ("success", f"Imported {upload.name}: {len(entries)} dictionary rows.{terms}")


def _bulk_tools(project: Project, frame_columns: list[str]) -> None:
    """Import / export / bulk timing and categorical, above the grid (``project`` is the current one)."""
    prefix = _prefix()
    with st.expander("Bulk set-up: import / export a dictionary CSV, set timing or categorical for many columns"):
        left, right = st.columns(2)
        left.file_uploader(
            "Dictionary CSV (variable, description, timing, role, categorical)", type=["csv"], key=f"{prefix}_import_file"
        )
        left.button("Import the dictionary CSV", key=f"{prefix}_import", on_click=_run_import, args=(frame_columns,))
        right.download_button(
            "Export the dictionary (CSV)", data=export_csv(project.dictionary),
            file_name="dictionary.csv", mime="text/csv", key=f"{prefix}_export",
        )
        right.caption("Import accepts the notebooks' timing synonyms (baseline, mediator, outcome window…); "
                      "an unknown column, timing or variable imports nothing.")
        st.multiselect("Columns", frame_columns, key=f"{prefix}_bulk_columns")
        timing_col, *buttons = st.columns([2, 1, 1, 1])
        timing_col.selectbox("Timing", TIMING_CHOICES, format_func=timing_label, key=f"{prefix}_bulk_timing")
        buttons[0].button("Set timing", key=f"{prefix}_bulk_set_timing", on_click=_run_bulk, args=("timing",))
        buttons[1].button("Mark categorical", key=f"{prefix}_bulk_categorical", on_click=_run_bulk, args=("categorical",))
        buttons[2].button("Mark numeric", key=f"{prefix}_bulk_numeric", on_click=_run_bulk, args=("numeric",))


def render_dictionary_editor(project: Project, frame: pd.DataFrame) -> None:
    """Edit variable/description/timing/role/categorical; each saved change is logged as an analyst edit.

    ``project`` is accepted for the pages' call; the fragment reads the current project itself, because a
    fragment rerun replays the arguments of the last full run (a stale project)."""
    _dictionary_fragment([str(c) for c in frame.columns])


@st.fragment
def _dictionary_fragment(frame_columns: list[str]) -> None:
    """The editor's body: reruns on its own when a cell, an import or a bulk action changes (module docstring)."""
    _bulk_tools(state.get_project(), frame_columns)
    _grid(state.get_project())
    message = st.session_state.pop(f"{_prefix()}_message", None)  # shown once
    if message:
        show = {"error": st.error, "warning": st.warning}.get(message[0], st.success)
        show(escape_markdown(message[1]))
    documented = {e.variable for e in state.get_project().dictionary}
    undocumented = [c for c in frame_columns if c not in documented]
    absent = sorted(documented - set(frame_columns))
    if undocumented:
        st.caption("Columns without a dictionary row (timing = unknown): " + ", ".join(map(code_span, undocumented)))
    if absent:
        st.caption("Dictionary variables not in the data: " + ", ".join(map(code_span, absent)))


ROLE_TIMINGS = {"treatment": (Timing.treatment, "treatment"), "outcome": (Timing.outcome, "primary outcome")}


def roles_from_dictionary(entries: list[DictionaryEntry], columns: list[str]) -> dict[str, str]:
    """Treatment and outcome the dictionary names unambiguously (exactly one column with that timing, or one
    outcome whose role says "primary"): Overview's pickers start from them instead of "—"."""
    found: dict[str, str] = {}
    for name, (timing, _) in ROLE_TIMINGS.items():
        matches = [e for e in entries if e.timing is timing and e.variable in columns]
        if name == "outcome" and len(matches) > 1:
            matches = [e for e in matches if "primary" in e.role.lower()]
        if len(matches) == 1:
            found[name] = matches[0].variable
    return found


def dictionary_with_roles(entries: list[DictionaryEntry], roles: dict[str, str | None]) -> list[DictionaryEntry]:
    """Overview's treatment and outcome written into the dictionary where it says nothing yet (timing unknown,
    role empty), so the role column and the pickers agree; what the analyst wrote in the dictionary is kept."""
    out = []
    for entry in entries:
        for name, column in roles.items():
            if column and entry.variable == column and name in ROLE_TIMINGS:
                timing, role = ROLE_TIMINGS[name]
                update: dict[str, object] = {}
                if entry.timing is Timing.unknown:
                    update["timing"] = timing
                if not entry.role.strip():
                    update["role"] = role
                entry = entry.model_copy(update=update) if update else entry
        out.append(entry)
    return out


def render_role_columns(project: Project, frame: pd.DataFrame) -> None:
    """Treatment, outcome, guardrails, grain and cluster: defaults later pages start from."""
    columns = [str(c) for c in frame.columns]
    none = "—"
    left, right = st.columns(2)

    def pick(container, label: str, current: str | None, key: str) -> str | None:
        options = [none, *columns]
        index = options.index(current) if current in options else 0
        value = container.selectbox(label, options, index=index, key=f"{key}_{state.active_key()}")
        return None if value == none else value

    named = roles_from_dictionary(project.dictionary, columns)  # the dictionary's role column fills the pickers
    treatment = pick(left, "Treatment", project.treatment or named.get("treatment"), "role_treatment")
    outcome = pick(left, "Primary outcome", project.outcome or named.get("outcome"), "role_outcome")
    guardrails = left.multiselect(
        "Guardrail outcomes", columns, default=[g for g in project.guardrails if g in columns], key=f"role_guardrails_{state.active_key()}"
    )
    units = right.multiselect(
        "Unit grain (columns that identify one row)", columns,
        default=[u for u in project.unit_columns if u in columns], key=f"role_units_{state.active_key()}",
    )
    time_column = pick(right, "Time column", project.time_column, "role_time")
    cluster = pick(right, "Cluster column (for robust SEs)", project.cluster_column, "role_cluster")
    changes = {
        "treatment": treatment, "outcome": outcome, "guardrails": guardrails,
        "unit_columns": units, "time_column": time_column, "cluster_column": cluster,
    }
    changed = {name: value for name, value in changes.items() if getattr(project, name) != value}
    if not changed:
        return
    updated = project
    for name, value in changed.items():
        updated = updated.with_edit("project", name, getattr(project, name), value)
    dictionary = dictionary_with_roles(project.dictionary, {"treatment": treatment, "outcome": outcome})
    if dictionary != project.dictionary:  # the pickers fill the dictionary's role column (logged with them)
        changed["dictionary"] = dictionary
    state.set_project(updated.model_copy(update=changed))
