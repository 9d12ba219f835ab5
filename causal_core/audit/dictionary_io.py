"""Bulk data-dictionary set-up, Streamlit-free: CSV import/export, one timing vocabulary, bulk edits.

A real dataset (NHEFS has 60+ columns) cannot be documented one grid cell at a time, so the
dictionary can be imported from a CSV, exported, and edited for several columns at once. Every
function here returns a new list of entries or raises ``DictionaryImportError`` naming what is
wrong: an import is all-or-nothing, so a file with one bad row changes nothing.

The editor table's ``timing`` column holds the 8 ``Timing`` values (shown with ``TIMING_LABELS``);
the notebooks' synonyms ("baseline", "mediator", "outcome window") are accepted on import only.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from causal_core.errors import WorkbenchInputError
from causal_core.project import TIMING_SYNONYMS, DictionaryEntry, Timing
from causal_core.safe_io import restore_frame, safe_csv_text

# Order matters in the grid's dropdown: typing "treat" + Enter picks the first match, so
# "treatment" comes before "pre-treatment" and "post-treatment".
TIMING_ORDER: list[Timing] = [
    Timing.treatment,
    Timing.outcome,
    Timing.pre_treatment,
    Timing.post_treatment,
    Timing.future,
    Timing.unit_id,
    Timing.time_id,
    Timing.unknown,
]
TIMING_LABELS: dict[Timing, str] = {
    Timing.treatment: "treatment (the intervention)",
    Timing.outcome: "outcome (measured after treatment)",
    Timing.pre_treatment: "pre-treatment (before treatment; may adjust)",
    Timing.post_treatment: "post-treatment (mediator; never adjust)",
    Timing.future: "future (after the outcome window; leakage)",
    Timing.unit_id: "unit id (identifies the unit)",
    Timing.time_id: "time id (identifies the period)",
    Timing.unknown: "unknown (not documented)",
}
EDITOR_COLUMNS = ["variable", "description", "timing", "role", "categorical", "simulation_truth", "written_as"]
EXPORT_COLUMNS = ["variable", "description", "timing", "role", "categorical", "simulation_truth"]
IMPORT_COLUMNS = {"variable", "description", "timing", "role", "initial_role", "categorical", "simulation_truth"}
_TRUE = {"true", "yes", "y", "1", "1.0"}
_FALSE = {"false", "no", "n", "0", "0.0", ""}


class DictionaryImportError(WorkbenchInputError):
    """A dictionary file or bulk edit that cannot be applied; the message names every problem."""


def timing_label(value: str | Timing | None) -> str:
    """The plain label of a timing value (the grid's dropdown text)."""
    try:
        return TIMING_LABELS[Timing(value)]
    except ValueError:
        return str(value)


def parse_timing(term: Any) -> Timing | None:
    """A written timing term as the enum, or None when it is not in the vocabulary or its synonyms.

    Unlike ``normalise_timing`` (which maps anything unknown to ``unknown``), an import must tell a
    typo ("pre-treatmnet") from a deliberate "unknown", so an unrecognised term is reported.
    """
    if term is None or (isinstance(term, float) and pd.isna(term)):
        return Timing.unknown
    key = " ".join(str(term).strip().lower().split())
    if key in TIMING_SYNONYMS:
        return TIMING_SYNONYMS[key]
    try:
        return Timing(key.replace(" ", "_").replace("-", "_"))
    except ValueError:
        return None


def _flag(value: Any) -> bool | None:
    """A yes/no cell as bool (None when it is neither)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


# ---- export ------------------------------------------------------------------------------------
def _entry_row(e: DictionaryEntry) -> dict[str, Any]:
    """One entry as a table row with the canonical timing value (shared by the export and the grid)."""
    return {
        "variable": e.variable,
        "description": e.description,
        "timing": e.timing.value,
        "role": e.role,
        "categorical": e.categorical,
        "simulation_truth": e.simulation_truth,
    }


def export_frame(entries: list[DictionaryEntry]) -> pd.DataFrame:
    """The dictionary as a table with the canonical timing values (what ``import_csv`` reads back)."""
    return pd.DataFrame([_entry_row(e) for e in entries], columns=EXPORT_COLUMNS)


def export_csv(entries: list[DictionaryEntry]) -> str:
    """The dictionary for a spreadsheet: descriptions may come from AI drafts, so formula-like cells get a
    leading ``'`` and text fields are quoted (safe_csv_text); ``import_csv`` removes that quote again."""
    return safe_csv_text(export_frame(entries))


# ---- import ------------------------------------------------------------------------------------
def read_dictionary_csv(data: bytes | str) -> pd.DataFrame:
    """The CSV as text cells (nothing inferred), with a clear message for an unreadable file."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    if not text.strip():
        raise DictionaryImportError("The dictionary file is empty.")
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DictionaryImportError(f"The dictionary file is not a readable CSV: {error}") from error
    table = restore_frame(table)  # the export's formula-neutralising quote is not part of the value
    table.columns = [str(c).strip() for c in table.columns]
    return table


def _header_problems(table: pd.DataFrame) -> list[str]:
    if "variable" not in table.columns:
        return [f"The dictionary CSV needs a 'variable' column (its header is: {', '.join(map(str, table.columns))})."]
    unknown = [c for c in table.columns if c not in IMPORT_COLUMNS]
    if unknown:
        return [f"Unknown column(s) in the dictionary CSV: {', '.join(unknown)}. "
                f"Allowed: {', '.join(sorted(IMPORT_COLUMNS))}."]
    return []


def _row_entry(row: Mapping[str, Any], number: int, problems: list[str]) -> DictionaryEntry | None:
    """One CSV row as an entry; every problem is appended to ``problems`` (row numbers are 1-based, header = 0)."""
    variable = _text(row.get("variable")).strip()
    if not variable:
        problems.append(f"Row {number}: the variable name is empty.")
        return None
    written = _text(row.get("timing")).strip()
    timing = parse_timing(written)
    if timing is None:
        problems.append(f"Row {number} ({variable}): unknown timing '{written}'. "
                        f"Use one of: {', '.join(t.value for t in TIMING_ORDER)}.")
    flags = {}
    for name in ("categorical", "simulation_truth"):
        flags[name] = _flag(row.get(name))
        if flags[name] is None:
            problems.append(f"Row {number} ({variable}): {name} must be true/false, not '{row.get(name)}'.")
    if timing is None or None in flags.values():
        return None
    return DictionaryEntry(
        variable=variable,
        description=_text(row.get("description")),
        timing=timing,
        timing_label=written if written and written != timing.value else "",
        role=_text(row.get("role", row.get("initial_role", ""))),
        categorical=bool(flags["categorical"]),
        simulation_truth=bool(flags["simulation_truth"]),
    )


def import_entries(
    table: pd.DataFrame, current: list[DictionaryEntry], data_columns: Iterable[str]
) -> list[DictionaryEntry]:
    """The current dictionary with every row of ``table`` applied (replacing that variable's entry).

    All-or-nothing: an unknown header column, an unknown timing, a bad flag, a duplicated variable
    or a variable that is not a column of the data raises with every problem listed. Variables the
    file does not mention keep their current entry.
    """
    problems = _header_problems(table)
    if problems:
        raise DictionaryImportError(" ".join(problems))
    if table.empty:
        raise DictionaryImportError("The dictionary CSV has a header but no rows.")
    columns = set(map(str, data_columns))
    imported: list[DictionaryEntry] = []
    for number, row in enumerate(table.to_dict("records"), start=1):
        entry = _row_entry(row, number, problems)
        if entry is not None:
            imported.append(entry)
    names = [e.variable for e in imported]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        problems.append(f"Variable(s) listed more than once: {', '.join(duplicated)}.")
    absent = [n for n in dict.fromkeys(names) if n not in columns]
    if absent:
        problems.append(f"Variable(s) not in the data: {', '.join(absent)}.")
    if problems:
        raise DictionaryImportError("Nothing was imported. " + " ".join(problems))
    return _merge(current, {e.variable: e for e in imported})


def import_csv(data: bytes | str, current: list[DictionaryEntry], data_columns: Iterable[str]) -> list[DictionaryEntry]:
    return import_entries(read_dictionary_csv(data), current, data_columns)


def _merge(current: list[DictionaryEntry], replacements: Mapping[str, DictionaryEntry]) -> list[DictionaryEntry]:
    """Replace entries by variable, keeping the current order; new variables go at the end."""
    merged = [replacements.get(e.variable, e) for e in current]
    known = {e.variable for e in current}
    return merged + [e for name, e in replacements.items() if name not in known]


# ---- bulk edits --------------------------------------------------------------------------------
def _check_variables(variables: list[str], data_columns: Iterable[str]) -> None:
    if not variables:
        raise DictionaryImportError("Select at least one column first.")
    absent = [v for v in variables if v not in set(map(str, data_columns))]
    if absent:
        raise DictionaryImportError(f"Not columns of the data: {', '.join(absent)}.")


def _entry_for(current: list[DictionaryEntry], variable: str) -> DictionaryEntry:
    return next((e for e in current if e.variable == variable), DictionaryEntry(variable=variable))


def set_timing(
    current: list[DictionaryEntry], variables: list[str], timing: Timing | str, data_columns: Iterable[str]
) -> list[DictionaryEntry]:
    """Every selected column gets ``timing`` (columns without an entry get one)."""
    _check_variables(variables, data_columns)
    value = Timing(timing)
    updated = {v: _entry_for(current, v).model_copy(update={"timing": value, "timing_label": ""}) for v in variables}
    return _merge(current, updated)


def set_categorical(
    current: list[DictionaryEntry], variables: list[str], categorical: bool, data_columns: Iterable[str]
) -> list[DictionaryEntry]:
    """Mark (or unmark) the selected columns as categorical: estimation then uses their levels."""
    _check_variables(variables, data_columns)
    updated = {v: _entry_for(current, v).model_copy(update={"categorical": categorical}) for v in variables}
    return _merge(current, updated)


# ---- the grid ----------------------------------------------------------------------------------
def editor_table(entries: list[DictionaryEntry]) -> pd.DataFrame:
    """The grid's table: canonical timing values; ``written_as`` keeps the term the file used."""
    return pd.DataFrame([{**_entry_row(e), "written_as": e.timing_label} for e in entries], columns=EDITOR_COLUMNS)


def apply_editor_delta(base: pd.DataFrame, delta: Mapping[str, Any]) -> pd.DataFrame:
    """Apply st.data_editor's delta (edited_rows, added_rows, deleted_rows) to the table it was given.

    The delta is always relative to the table the widget was created with, so the editor keeps one
    base table for its whole life and the project is rebuilt from base + delta on every change.
    """
    rows = base.to_dict("records")
    for index, changes in (delta.get("edited_rows") or {}).items():
        position = int(index)
        if 0 <= position < len(rows):
            rows[position] = {**rows[position], **changes}
    deleted = {int(i) for i in delta.get("deleted_rows") or []}
    rows = [row for position, row in enumerate(rows) if position not in deleted]
    blank = dict.fromkeys(EDITOR_COLUMNS, None)
    rows += [{**blank, **added} for added in delta.get("added_rows") or []]
    return pd.DataFrame(rows, columns=list(base.columns))


def entries_from_table(table: pd.DataFrame, previous: list[DictionaryEntry]) -> list[DictionaryEntry]:
    """The grid's rows as entries. Rows without a name are skipped; a duplicated name is refused.

    A row whose timing is unchanged keeps the term it was written with; a changed timing drops it.
    """
    before = {e.variable: e for e in previous}
    entries: list[DictionaryEntry] = []
    for row in table.to_dict("records"):
        variable = _text(row.get("variable")).strip()
        if not variable:
            continue
        timing = parse_timing(row.get("timing")) or Timing.unknown
        old = before.get(variable)
        kept_label = old.timing_label if old is not None and old.timing == timing else ""
        entries.append(
            DictionaryEntry(
                variable=variable,
                description=_text(row.get("description")),
                timing=timing,
                timing_label=kept_label,
                role=_text(row.get("role")),
                categorical=bool(_flag(row.get("categorical"))),
                simulation_truth=bool(_flag(row.get("simulation_truth"))),
            )
        )
    names = [e.variable for e in entries]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DictionaryImportError(f"Each variable may have one row; repeated: {', '.join(duplicated)}. Not saved.")
    return entries
