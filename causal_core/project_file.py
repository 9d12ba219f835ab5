"""Project files: open and save a :class:`~causal_core.project.Project` as JSON, with limits and migrations.

Why a module of its own: ``project.py`` is the schema every stage imports; reading a file someone sent adds
size and nesting limits checked before parsing, one specific message per way a file can be wrong, and the
migrations that rewrite an older file to the current schema before validation. None of that is schema.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from causal_core.errors import WorkbenchInputError
from causal_core.limits import MAX_COLUMNS, MAX_IMPORT_EDGES, MAX_IMPORT_NODES
from causal_core.project import SCHEMA_ID, SCHEMA_VERSION, Project
from causal_core.version import current_stamp

__all__ = [
    "MAX_DAG_TEXT_CHARS",
    "MAX_LIST_ITEMS",
    "MAX_NESTING",
    "MAX_PROJECT_MB",
    "MAX_STRING_CHARS",
    "MIGRATIONS",
    "ProjectFileError",
    "check_project_bounds",
    "migrate_payload",
    "project_from_json",
    "project_to_json",
]


class ProjectFileError(WorkbenchInputError):
    """A project file that cannot be opened; the message says exactly why."""


# ---- migrations: an older file is rewritten to the current shape before validation ------------------------
def _typed_results_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 → 2: the balance table leaves ``estimation.diagnostics`` for the typed ``estimation.balance``.

    The sensitivity and refutation dicts already had the typed models' keys; the E-value gains the estimand and
    estimate it is about, read from the spec and the row it names (its sentence named them already).
    """
    estimation = payload.get("estimation")
    if not isinstance(estimation, dict):
        return payload
    estimation = dict(estimation)
    diagnostics = dict(estimation.get("diagnostics") or {})
    estimation["balance"] = diagnostics.pop("balance", None) or []
    estimation["diagnostics"] = diagnostics
    evalue = (estimation.get("sensitivity") or {}).get("evalue")
    if isinstance(evalue, dict) and evalue.get("method"):
        estimation["sensitivity"] = {**estimation["sensitivity"], "evalue": _evalue_with_row(estimation, evalue)}
    return {**payload, "estimation": estimation}


def _evalue_with_row(estimation: dict[str, Any], evalue: dict[str, Any]) -> dict[str, Any]:
    """The E-value dict with the estimand and estimate of the (analytic-SE) row it was computed on."""
    estimand = (estimation.get("spec") or {}).get("estimand", "")
    row = next((r for r in estimation.get("estimates") or [] if isinstance(r, dict) and r.get("method") ==
                evalue["method"] and r.get("estimand") == estimand and not str(r.get("se_type", "")).startswith(
                    "bootstrap")), None)
    return {**evalue, "estimand": estimand, "estimate": row.get("estimate") if row else None}


# Keys older files held that nothing reads any more: "balance" moved to ``estimation.balance`` in version 2.
_RETIRED_DIAGNOSTICS = ("balance",)


def _typed_diagnostics_v3(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 2 → 3: ``estimation.diagnostics`` becomes the typed ``EstimationDiagnostics``.

    The dict's keys were already the model's fields (the model was written from them), so the entries are kept
    as they are; an empty dict (a result saved before any run filled it) becomes None, and the retired keys in
    ``_RETIRED_DIAGNOSTICS`` (nothing reads them) are dropped. Any other unknown key still fails validation,
    so a file this code did not write is refused, not half-read. Front-door/IV results in ``designs`` already had
    their models' keys and are validated when they are read (``frontdoor.stored_design``).
    """
    estimation = payload.get("estimation")
    if not isinstance(estimation, dict):
        return payload
    diagnostics = {key: value for key, value in dict(estimation.get("diagnostics") or {}).items()
                   if key not in _RETIRED_DIAGNOSTICS}
    return {**payload, "estimation": {**estimation, "diagnostics": diagnostics or None}}


MIGRATIONS = {1: _typed_results_v2, 2: _typed_diagnostics_v3}  # from version → the step to the next version


def migrate_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Apply every step from the file's schema_version to SCHEMA_VERSION; the payload itself is not changed."""
    version = payload["schema_version"]
    while version < SCHEMA_VERSION:
        payload = {**MIGRATIONS[version](payload), "schema_version": version + 1}
        version += 1
    return payload


def project_to_json(project: Project) -> str:
    """The project file's text, stamped with the workbench that writes it."""
    return project.model_copy(update={"workbench": current_stamp()}).model_dump_json(by_alias=True, indent=2)


# ---- what a project file may hold (issue 18 §7): checked on open, before validation -------------------
# A 100 MB project crashed the DAG page (Streamlit's 25 MB widget-state limit); a deeply nested one raised
# RecursionError. The limits sit far above the worked example (about 1 MB) and keep a file from exhausting
# memory, the parser's recursion or a page.
MAX_PROJECT_MB = 20
MAX_STRING_CHARS = 1_000_000  # one prompt, raw model output or memo section
MAX_LIST_ITEMS = 50_000  # log entries, table records, edges
MAX_NESTING = 40  # the deepest real project nests about 8 levels (lab runs inside dicts)
MAX_DAG_TEXT_CHARS = 2_000_000  # every name, label and rationale of the DAG together (as an imported DAG file)


def _walk_bounds(payload: Any) -> None:
    """One iterative pass (no recursion, so depth itself cannot crash it) over strings, lists and nesting."""
    stack: list[tuple[Any, str, int]] = [(payload, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ProjectFileError(f"The project file is nested too deeply at {where or 'the top level'} "
                                   f"(more than {MAX_NESTING} levels): it is not a project this app saved.")
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            raise ProjectFileError(f"The project file's {where} holds {len(value):,} characters; the limit is "
                                   f"{MAX_STRING_CHARS:,}.")
        if isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                raise ProjectFileError(f"The project file's {where} holds {len(value):,} items; the limit is "
                                       f"{MAX_LIST_ITEMS:,}.")
            stack.extend((item, f"{where}.{index}" if where else str(index), depth + 1) for index, item in enumerate(value))
        elif isinstance(value, dict):
            stack.extend((item, f"{where}.{key}" if where else str(key), depth + 1) for key, item in value.items())


def _text_chars(value: Any) -> int:
    """Characters of text in a JSON value (iterative; the value is already depth-checked)."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return total


def _check_field_bounds(payload: dict[str, Any]) -> None:
    """Per-field limits the same as the importers': DAG nodes/edges/text, columns and dictionary rows."""
    dag = payload.get("dag")
    if isinstance(dag, dict):
        for key, limit in (("nodes", MAX_IMPORT_NODES), ("edges", MAX_IMPORT_EDGES), ("bidirected", MAX_IMPORT_EDGES)):
            items = dag.get(key)
            if isinstance(items, list) and len(items) > limit:
                raise ProjectFileError(f"The project's DAG has {len(items):,} {key}; the workbench handles at most "
                                       f"{limit:,} (as for an imported DAG file).")
        if _text_chars(dag) > MAX_DAG_TEXT_CHARS:
            raise ProjectFileError(f"The project's DAG holds more than {MAX_DAG_TEXT_CHARS:,} characters of names, "
                                   "labels and rationales.")
    source = payload.get("data_source")
    lists = [("dictionary", payload.get("dictionary"))]
    if isinstance(source, dict):
        lists.append(("data_source.columns", source.get("columns")))
    for where, items in lists:
        if isinstance(items, list) and len(items) > MAX_COLUMNS:
            raise ProjectFileError(f"The project's {where} lists {len(items):,} columns; the limit is {MAX_COLUMNS:,}.")


def check_project_bounds(payload: Any) -> None:
    """Raise ProjectFileError naming the field when a parsed project file holds more than the app will handle."""
    _walk_bounds(payload)
    if isinstance(payload, dict):
        _check_field_bounds(payload)


def project_from_json(text: str | bytes) -> Project:
    """Parse a saved project, with a specific message for each way a file can be wrong.

    Raises ProjectFileError and never returns a partially-read project.
    """
    size_mb = len(text) / 1_048_576
    if size_mb > MAX_PROJECT_MB:  # characters or bytes: either way over the limit before any parsing
        raise ProjectFileError(f"The project file is {size_mb:.1f} MB; the workbench opens project files of up to "
                               f"{MAX_PROJECT_MB} MB.")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ProjectFileError("This is not a project file: it is not UTF-8 text (is it a binary file?).") from None
    if not text.strip():
        raise ProjectFileError("The project file is empty.")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProjectFileError(
            f"The project file is corrupt: invalid JSON at line {error.lineno}, column {error.colno} ({error.msg})."
        ) from None
    except RecursionError:
        raise ProjectFileError(
            f"The project file is nested too deeply (more than {MAX_NESTING} levels): it is not a project this app saved."
        ) from None
    check_project_bounds(payload)
    if not isinstance(payload, dict):
        raise ProjectFileError("The project file is corrupt: expected a JSON object at the top level.")
    schema = payload.get("schema")
    if schema != SCHEMA_ID:
        raise ProjectFileError(
            f"This JSON file is not a Causal Workbench project (schema is {schema!r}, expected {SCHEMA_ID!r})."
        )
    version = payload.get("schema_version")
    if not isinstance(version, int):
        raise ProjectFileError("The project file has no valid integer schema_version.")
    if version > SCHEMA_VERSION:
        raise ProjectFileError(
            f"This project was saved by a newer Causal Workbench (schema_version {version}; this app reads "
            f"up to {SCHEMA_VERSION}). Update the app to open it."
        )
    if version < 1:
        raise ProjectFileError(f"Unsupported schema_version {version}.")
    payload = migrate_payload(payload)
    try:
        return Project.model_validate(payload)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise ProjectFileError(
            f"The project file does not match the schema: {location}: {first['msg']} "
            f"({error.error_count()} problem(s) in all)."
        ) from None
