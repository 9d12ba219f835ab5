"""Issue 25 §7: an imported synonym ("baseline") becomes the one timing vocabulary on import, so the DAG
prompt, the memo and the notebook say what the export says (``pre_treatment``), and the grid's "written as"
column is explained."""

from __future__ import annotations

import inspect

import pytest

from causal_core.audit.dictionary_io import export_csv, import_csv
from causal_core.dag.draft import build_inputs
from causal_core.data import project_for_builtin
from causal_core.ui.dictionary_editor import canonical_timing_terms

SYNONYMS = [("baseline", "pre_treatment"), ("mediator", "post_treatment"), ("outcome window", "outcome")]


@pytest.fixture(scope="module")
def retention():
    return project_for_builtin("retention")[0]


@pytest.mark.parametrize(("written", "canonical"), SYNONYMS)
def test_an_imported_synonym_is_the_canonical_value_everywhere(retention, written, canonical):
    columns = retention.data_source.columns
    text = f"variable,description,timing,role\nusage_score,Usage before outreach,{written},confounder\n"
    imported = import_csv(text, retention.dictionary, columns)
    entries, converted = canonical_timing_terms(imported, retention.dictionary)
    entry = next(e for e in entries if e.variable == "usage_score")
    assert entry.timing.value == canonical and entry.timing_label == ""
    assert converted == [f"'{written}' → {canonical}"]
    project = retention.model_copy(update={"dictionary": entries})
    prompt = next(v for v in build_inputs(project)["variables"] if v["name"] == "usage_score")
    assert prompt["timing"] == canonical
    assert f'"usage_score","Usage before outreach","{canonical}",' in export_csv(entries)
    untouched = {e.variable: e for e in entries if e.variable != "usage_score"}
    assert all(untouched[e.variable] == e for e in retention.dictionary if e.variable in untouched)


def test_rows_the_import_did_not_change_keep_the_notebook_terms(retention):
    entries, converted = canonical_timing_terms(retention.dictionary, retention.dictionary)
    assert entries == retention.dictionary and converted == []
    assert any(e.timing_label for e in entries)  # N09's verbatim terms stay for the built-in audit


def test_the_written_as_column_is_explained():
    from causal_core.ui import dictionary_editor

    source = inspect.getsource(dictionary_editor)
    assert "The timing term the file used." not in source
    assert "converted to the timing values on import" in source


# ---- Overview's roles and the dictionary's role column fill each other (issue 25 §7) -------------------------


def _overview_with(dictionary_update):
    from pathlib import Path

    import numpy as np
    import pandas as pd
    from streamlit.testing.v1 import AppTest

    from causal_core.data import project_for_upload, read_upload
    from causal_core.data.project_io import project_key
    from causal_core.project import Timing

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"weekend": rng.integers(0, 2, 60), "score": rng.normal(size=60), "size": rng.normal(size=60)})
    loaded = read_upload(frame.to_csv(index=False).encode(), "inspections.csv")
    project = project_for_upload(loaded)
    project = project.model_copy(update={"treatment": None, "outcome": None, "dictionary": [
        e.model_copy(update=dictionary_update.get(e.variable, {"timing": Timing.unknown, "role": ""}))
        for e in project.dictionary]})
    key = project_key(project)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180)
    at.session_state["cw_projects"] = {key: project}
    at.session_state["cw_frames"] = {key: loaded.frame}
    at.session_state["cw_active"] = key
    at.run()
    assert not at.exception, at.exception
    return at, key


def test_the_dictionary_role_column_fills_overviews_pickers():
    from causal_core.project import Timing

    at, key = _overview_with({"weekend": {"timing": Timing.treatment, "role": "treatment"},
                              "score": {"timing": Timing.outcome, "role": "primary outcome"}})
    project = at.session_state["cw_projects"][key]
    assert (project.treatment, project.outcome) == ("weekend", "score")


def test_overviews_pickers_fill_an_empty_dictionary_role_column():
    from causal_core.project import Timing

    at, key = _overview_with({})
    treatment = next(s for s in at.selectbox if s.label == "Treatment")
    treatment.set_value("weekend").run()
    next(s for s in at.selectbox if s.label == "Primary outcome").set_value("score").run()
    assert not at.exception, at.exception
    entries = {e.variable: e for e in at.session_state["cw_projects"][key].dictionary}
    assert (entries["weekend"].timing, entries["weekend"].role) == (Timing.treatment, "treatment")
    assert (entries["score"].timing, entries["score"].role) == (Timing.outcome, "primary outcome")
    assert (entries["size"].timing, entries["size"].role) == (Timing.unknown, "")


def test_pickers_never_overwrite_what_the_dictionary_says():
    from causal_core.project import DictionaryEntry, Timing
    from causal_core.ui.dictionary_editor import dictionary_with_roles, roles_from_dictionary

    entries = [DictionaryEntry(variable="a", timing=Timing.pre_treatment, role="confounder"),
               DictionaryEntry(variable="y1", timing=Timing.outcome, role="guardrail"),
               DictionaryEntry(variable="y2", timing=Timing.outcome, role="primary outcome")]
    assert dictionary_with_roles(entries, {"treatment": "a", "outcome": None}) == entries
    assert roles_from_dictionary(entries, ["a", "y1", "y2"]) == {"outcome": "y2"}
    assert roles_from_dictionary(entries, ["a", "y1"]) == {"outcome": "y1"}


def test_a_typed_row_without_a_variable_name_is_reported_not_silently_dropped(retention):
    """Enter on the last row adds a row; text typed there had no name and vanished without a word."""
    from causal_core.audit.dictionary_io import apply_editor_delta, editor_table, entries_from_table
    from causal_core.ui.dictionary_editor import nameless_rows

    base = editor_table(retention.dictionary)
    delta = {"added_rows": [{"description": "Inspector <b>id</b>", "timing": "pre_treatment"}, {}, {"variable": None}],
             "edited_rows": {}, "deleted_rows": []}
    table = apply_editor_delta(base, delta)
    assert len(entries_from_table(table, retention.dictionary)) == len(retention.dictionary)  # still not saved
    assert nameless_rows(table) == ["Inspector <b>id</b>; timing pre_treatment"]  # escaped where it is shown
    assert nameless_rows(base) == []
