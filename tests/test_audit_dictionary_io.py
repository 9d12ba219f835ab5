"""Bulk dictionary set-up on NHEFS columns: CSV import/export, synonyms, bulk timing and categorical,
the grid's delta, and every bad input (each leaves the dictionary exactly as it was)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core.audit.dictionary_io import (
    TIMING_LABELS,
    TIMING_ORDER,
    DictionaryImportError,
    apply_editor_delta,
    editor_table,
    entries_from_table,
    export_csv,
    import_csv,
    parse_timing,
    read_dictionary_csv,
    set_categorical,
    set_timing,
)
from causal_core.project import DictionaryEntry, Timing
from causal_core.safe_io import _PLAIN_NUMBER, FORMULA_STARTS


@pytest.fixture(scope="module")
def nhefs_columns() -> list[str]:
    from causaldata import nhefs

    return list(map(str, nhefs.load_pandas().data.columns))


NHEFS_CSV = """variable,description,timing,role,categorical
qsmk,quit smoking between 1971 and 1982,exposure,treatment,no
wt82_71,weight change 1971-1982 (kg),outcome window,outcome,no
age,age in 1971,baseline,confounder,no
education,education level (5 levels),pre-treatment,confounder,yes
exercise,recreational exercise (0-2),Pre Treatment,confounder,yes
active,daily activity (0-2),pre_treatment,confounder,true
smkintensity82_71,change in cigarettes per day,mediator,,
death,death by 1992,future,,
seqn,participant id,unit id,,
"""


def test_import_reads_nhefs_with_synonyms_and_categoricals(nhefs_columns):
    entries = import_csv(NHEFS_CSV.encode(), [], nhefs_columns)
    by_name = {e.variable: e for e in entries}
    assert [e.variable for e in entries][:3] == ["qsmk", "wt82_71", "age"]
    assert by_name["qsmk"].timing is Timing.treatment and by_name["qsmk"].timing_label == "exposure"
    assert by_name["wt82_71"].timing is Timing.outcome
    assert by_name["age"].timing is Timing.pre_treatment and by_name["age"].timing_label == "baseline"
    assert by_name["exercise"].timing is Timing.pre_treatment
    assert by_name["smkintensity82_71"].timing is Timing.post_treatment
    assert by_name["death"].timing is Timing.future and by_name["seqn"].timing is Timing.unit_id
    assert sorted(v for v, e in by_name.items() if e.categorical) == ["active", "education", "exercise"]


def test_export_then_import_round_trips(nhefs_columns):
    entries = import_csv(NHEFS_CSV, [], nhefs_columns)
    text = export_csv(entries)
    assert text.splitlines()[0] == '"variable","description","timing","role","categorical","simulation_truth"'
    assert '"education","education level (5 levels)","pre_treatment","confounder",True,False' in text
    again = import_csv(text, [], nhefs_columns)
    assert [(e.variable, e.timing, e.categorical, e.description, e.role) for e in again] == [
        (e.variable, e.timing, e.categorical, e.description, e.role) for e in entries
    ]


def test_import_replaces_listed_variables_and_keeps_the_rest(nhefs_columns):
    current = [DictionaryEntry(variable="sex", timing=Timing.pre_treatment, description="kept"),
               DictionaryEntry(variable="age", timing=Timing.unknown)]
    entries = import_csv("variable,timing\nage,baseline\n", current, nhefs_columns)
    assert [(e.variable, e.timing, e.description) for e in entries] == [
        ("sex", Timing.pre_treatment, "kept"), ("age", Timing.pre_treatment, "")]


BAD_FILES = [
    ("", "The dictionary file is empty."),
    ("name,timing\nage,baseline\n", "The dictionary CSV needs a 'variable' column (its header is: name, timing)."),
    ("variable,timing,units\nage,baseline,years\n", "Unknown column(s) in the dictionary CSV: units."),
    ("variable,timing\n", "The dictionary CSV has a header but no rows."),
    ("variable,timing\nage,soon\nsex,baseline\n", "Nothing was imported. Row 1 (age): unknown timing 'soon'."),
    ("variable,timing\nage,baseline\nbmi,baseline\n", "Nothing was imported. Variable(s) not in the data: bmi."),
    ("variable,timing\nage,baseline\nage,future\n", "Nothing was imported. Variable(s) listed more than once: age."),
    ("variable,categorical\neducation,maybe\n",
     "Nothing was imported. Row 1 (education): categorical must be true/false, not 'maybe'."),
    ("variable,timing\n,baseline\n", "Nothing was imported. Row 1: the variable name is empty."),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_dictionary_files_import_nothing(nhefs_columns, text, message):
    current = [DictionaryEntry(variable="age", timing=Timing.unknown, description="before")]
    snapshot = [e.model_dump() for e in current]
    with pytest.raises(DictionaryImportError) as caught:
        import_csv(text, current, nhefs_columns)
    assert str(caught.value).startswith(message)
    assert [e.model_dump() for e in current] == snapshot


def test_one_bad_timing_among_good_rows_lists_every_problem(nhefs_columns):
    with pytest.raises(DictionaryImportError) as caught:
        import_csv("variable,timing\nage,soon\nsex,later\nrace,baseline\n", [], nhefs_columns)
    assert "Row 1 (age): unknown timing 'soon'" in str(caught.value)
    assert "Row 2 (sex): unknown timing 'later'" in str(caught.value)


def test_bulk_timing_and_categorical_on_nhefs(nhefs_columns):
    current = [DictionaryEntry(variable="age", timing=Timing.unknown, timing_label="???", description="age 1971")]
    chosen = ["age", "education", "exercise", "active", "wt71"]
    entries = set_timing(current, chosen, "pre_treatment", nhefs_columns)
    assert [e.variable for e in entries] == chosen
    assert {e.timing for e in entries} == {Timing.pre_treatment}
    assert entries[0].description == "age 1971" and entries[0].timing_label == ""
    marked = set_categorical(entries, ["education", "exercise", "active"], True, nhefs_columns)
    assert [e.variable for e in marked if e.categorical] == ["education", "exercise", "active"]
    assert set_categorical(marked, ["active"], False, nhefs_columns)[3].categorical is False


@pytest.mark.parametrize(
    ("variables", "message"),
    [([], "Select at least one column first."), (["age", "bmi"], "Not columns of the data: bmi.")],
)
def test_bulk_edits_refuse_bad_selections(nhefs_columns, variables, message):
    with pytest.raises(DictionaryImportError, match=message):
        set_timing([], variables, "pre_treatment", nhefs_columns)
    with pytest.raises(DictionaryImportError, match=message):
        set_categorical([], variables, True, nhefs_columns)


def test_one_clean_vocabulary_of_eight_with_treatment_first():
    assert len(TIMING_ORDER) == 8 and set(TIMING_ORDER) == set(Timing)
    labels = [TIMING_LABELS[t] for t in TIMING_ORDER]
    # the grid's dropdown picks the first label containing what was typed
    assert next(label for label in labels if "treat" in label).startswith("treatment")
    assert parse_timing("pre-treatmnet") is None and parse_timing("") is Timing.unknown


def test_the_grid_delta_applies_every_edit_to_the_base():
    entries = [DictionaryEntry(variable=name, timing=Timing.unknown, timing_label="n/a") for name in ("a", "b", "c")]
    base = editor_table(entries)
    delta = {
        "edited_rows": {0: {"timing": "pre_treatment"}, 2: {"categorical": True}},
        "added_rows": [{"variable": "d", "timing": "future"}],
        "deleted_rows": [1],
    }
    out = entries_from_table(apply_editor_delta(base, delta), entries)
    assert [(e.variable, e.timing, e.categorical, e.timing_label) for e in out] == [
        ("a", Timing.pre_treatment, False, ""),
        ("c", Timing.unknown, True, "n/a"),
        ("d", Timing.future, False, ""),
    ]


def test_the_grid_refuses_a_repeated_variable():
    entries = [DictionaryEntry(variable="a"), DictionaryEntry(variable="b")]
    table = apply_editor_delta(editor_table(entries), {"edited_rows": {1: {"variable": "a"}}})
    with pytest.raises(DictionaryImportError, match="repeated: a"):
        entries_from_table(table, entries)


def test_editor_table_columns_are_plain_values():
    table = editor_table([DictionaryEntry(variable="x", timing=Timing.post_treatment, timing_label="mediator")])
    assert isinstance(table, pd.DataFrame)
    assert table.iloc[0][["timing", "written_as"]].tolist() == ["post_treatment", "mediator"]


NHEFS_PRE = ["sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise", "active", "wt71"]


def test_the_audit_uses_levels_for_columns_marked_categorical(nhefs_columns):
    """NHEFS education/exercise/active marked categorical: the audit's adjusted smoke test equals
    statsmodels' OLS with C(education) + C(exercise) + C(active) on the same rows; unmarked, it is linear."""
    import statsmodels.formula.api as smf
    from causaldata import nhefs

    from causal_core.audit import run_audit, table_frame
    from causal_core.data import frame_to_csv_bytes, project_for_upload, read_upload

    frame = nhefs.load_pandas().data.dropna(subset=["wt82_71"]).reset_index(drop=True)
    loaded = read_upload(frame_to_csv_bytes(frame), "nhefs.csv")
    rows = "\n".join(f"{c},baseline" for c in NHEFS_PRE)
    dictionary = import_csv(f"variable,timing\nqsmk,treatment\nwt82_71,outcome\n{rows}\n", [], nhefs_columns)
    base = project_for_upload(loaded).model_copy(update={"treatment": "qsmk", "outcome": "wt82_71", "dictionary": dictionary})
    marked = base.model_copy(update={"dictionary": set_categorical(dictionary, ["education", "exercise", "active"], True,
                                                                   nhefs_columns)})

    def adjusted(project) -> float:
        smoke = table_frame(run_audit(project, loaded.frame), "smoke_test")
        return float(smoke.loc[smoke["model"] == "pre-treatment adjustment", "treatment_coef"].iloc[0])

    linear = smf.ols("wt82_71 ~ qsmk + " + " + ".join(NHEFS_PRE), data=loaded.frame).fit().params["qsmk"]
    levels = smf.ols("wt82_71 ~ qsmk + sex + race + age + C(education) + smokeintensity + smokeyrs + C(exercise) "
                     "+ C(active) + wt71", data=loaded.frame).fit().params["qsmk"]
    assert adjusted(base) == pytest.approx(linear, abs=1e-8)
    assert adjusted(marked) == pytest.approx(levels, abs=1e-8)
    assert abs(levels - linear) > 1e-3  # the flag changes the model, not just a label


HOSTILE_CELLS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(['=HYPERLINK("http://e","x")', "+1+1", "-2+3", "-cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx",
                     "'=already", "''@x", "-0.046", "a\r\nb", 'say "hi"', "a,b", "\n", "'"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(HOSTILE_CELLS, HOSTILE_CELLS), min_size=1, max_size=6, unique_by=lambda pair: pair[0]))
def test_export_is_formula_free_and_reimports_unchanged(rows):
    """OWASP CSV injection: no exported cell starts with = + - @ TAB CR unless neutralised by a leading quote,
    and the import reads its own export back to the same variables and descriptions, CR/LF and quotes included."""
    columns = [f"v{i}" for i in range(len(rows))]
    names = {f"v{i}": name for i, (name, _) in enumerate(rows)}
    entries = [DictionaryEntry(variable=column, description=description) for column, (_, description) in
               zip(columns, rows, strict=True)]
    entries = [entry.model_copy(update={"variable": names[entry.variable]}) for entry in entries]
    text = export_csv(entries)
    for record in csv.reader(io.StringIO(text, newline="")):
        for cell in record:
            assert not cell.startswith(FORMULA_STARTS) or _PLAIN_NUMBER.fullmatch(cell), (cell, text)
    table = read_dictionary_csv(text)
    assert list(table["variable"]) == [name for name, _ in rows]
    assert list(table["description"]) == [description for _, description in rows]
