"""Exact duplicate rows are warned with count and share, with or without a unit grain, and can be dropped
(audit --drop-exact-duplicates); the dictionary's 'unit id' sets the grain."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core.audit import run_audit, table_frame
from causal_core.audit.grain import drop_exact_duplicates, exact_duplicate_count, exact_duplicate_warning
from causal_core.data import LoadedData, project_for_upload
from causal_core.project import DataSource, Timing


def inspections(n_unique: int = 27, n_copies: int = 13, seed: int = 3) -> pd.DataFrame:
    """27 distinct inspections plus 13 exact copies of some of them: 40 rows, 13 duplicated."""
    rng = np.random.default_rng(seed)
    base = pd.DataFrame({
        "restaurant": np.arange(n_unique),
        "weekend": np.tile([0, 1], n_unique)[:n_unique],
        "score": rng.normal(80, 5, n_unique).round(3),
        "age": rng.normal(10, 3, n_unique).round(3),
    })
    copies = base.sample(n_copies, random_state=seed, replace=True)
    return pd.concat([base, copies], ignore_index=True)


def upload(frame: pd.DataFrame, unit_id: bool = False):
    source = DataSource(kind="upload", name="inspections.csv", sha256="0" * 64, rows=len(frame),
                        columns=list(frame.columns))
    project = project_for_upload(LoadedData(frame, source))
    timings = {"age": Timing.pre_treatment, "restaurant": Timing.unit_id if unit_id else Timing.unknown}
    dictionary = [e.model_copy(update={"timing": timings.get(e.variable, e.timing)}) for e in project.dictionary]
    return project.model_copy(update={"treatment": "weekend", "outcome": "score", "dictionary": dictionary})


def test_thirteen_of_forty_rows_duplicated_are_warned_without_a_grain():
    frame = inspections()
    result = run_audit(upload(frame), frame)
    warning = next(w for w in result.warnings if "exact duplicates" in w)
    assert warning.startswith("13 of 40 rows (32.5%) are exact duplicates of an earlier row")
    schema = dict(zip(*table_frame(result, "schema_profile")[["metric", "value"]].T.values, strict=True))
    assert schema["exact duplicate rows"] == 13 and schema["exact duplicate share"] == pytest.approx(0.325)
    assert any(w.startswith("No unit grain is given") for w in result.warnings)


def test_the_dictionarys_unit_id_names_the_grain_and_the_duplicated_units():
    frame = inspections()
    result = run_audit(upload(frame, unit_id=True), frame)
    assert not any(w.startswith("No unit grain is given") for w in result.warnings)
    summary = table_frame(result, "duplicate_summary")
    assert len(summary) == frame["restaurant"][frame.duplicated()].nunique()
    assert summary["exact_copies"].all()


def test_no_duplicates_no_warning():
    frame = inspections(n_copies=0)
    assert exact_duplicate_warning(frame) is None
    assert not any("exact duplicates" in w for w in run_audit(upload(frame), frame).warnings)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=60))
def test_dropping_exact_duplicates_keeps_each_distinct_row_once(rows):
    frame = pd.DataFrame(rows, columns=["a", "b"])
    kept, dropped = drop_exact_duplicates(frame)
    distinct = len(set(rows))
    assert len(kept) == distinct and dropped == len(rows) - distinct == exact_duplicate_count(frame)
    assert kept.equals(frame.drop_duplicates().reset_index(drop=True))
    assert exact_duplicate_count(kept) == 0


def test_cli_drop_exact_duplicates_audits_the_distinct_rows(tmp_path, capsys):
    from causal_core.cli import main

    path = tmp_path / "inspections.csv"
    inspections().to_csv(path, index=False)
    args = ["audit", "--data", str(path), "--treatment", "weekend", "--outcome", "score", "--format", "json"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["rows"] == 40 and any(w.startswith("13 of 40 rows (32.5%)") for w in plain["warnings"])
    assert main([*args, "--drop-exact-duplicates"]) == 0
    deduplicated = json.loads(capsys.readouterr().out)
    assert deduplicated["rows"] == 27
    assert deduplicated["warnings"][0] == "Dropped 13 exact duplicate row(s) of 40 before the audit (--drop-exact-duplicates)."
    assert not any("exact duplicates of an earlier row" in w for w in deduplicated["warnings"])
