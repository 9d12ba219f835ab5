"""Issue 25 §7: an imported synonym ("baseline") becomes the one timing vocabulary on import, so the DAG
prompt, the memo and the notebook say what the export says (``pre_treatment``), and the grid's "written as"
column is explained."""

from __future__ import annotations

import inspect

import pytest

from causal_core.audit.dictionary_io import export_csv, import_csv
from causal_core.dag_draft import build_inputs
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
