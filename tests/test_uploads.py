"""Uploads: CSV/Parquet parse, and every bad file gets its own specific message."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from causal_core.data import DataError, dictionary_from_frame, read_upload
from causal_core.project import Timing


@pytest.mark.parametrize(
    ("payload", "name", "message"),
    [
        (b"", "a.csv", "The file is empty."),
        (b"   \n", "a.csv", "The file is empty."),
        (b"t,y\n", "a.csv", "header but no data rows"),
        (b"t,y,t\n1,2,3\n", "a.csv", "Duplicate column names in the header: t"),
        (b"only\n1\n2\n", "a.csv", "has 1 column(s); a causal analysis needs at least 2"),
        (b"t,y\n1,2\n", "a.xlsx", "Unsupported file type 'a.xlsx'"),
        (b"PK\x03\x04\x00\x00binary", "a.csv", "looks binary"),
        (b"not parquet", "a.parquet", "The Parquet file could not be read"),
    ],
)
def test_bad_uploads_have_specific_messages(payload, name, message):
    with pytest.raises(DataError) as error:
        read_upload(payload, name)
    assert message in str(error.value)


def test_file_over_the_size_limit_is_refused_before_parsing():
    payload = b"t,y\n" + b"1,2\n" * 300_000  # about 1.1 MB
    with pytest.raises(DataError, match=r"is 1\.1 MB, over the 1 MB limit"):
        read_upload(payload, "big.csv", max_mb=1)


def test_latin1_file_is_read_with_a_notice():
    payload = "région,churn\nAmérique,1\nEurope,0\n".encode("latin-1")
    loaded = read_upload(payload, "latin.csv")
    assert loaded.frame.columns.tolist() == ["région", "churn"]
    assert loaded.frame["région"].tolist() == ["Amérique", "Europe"]
    assert "read as Latin-1" in loaded.notice


def test_utf8_csv_semicolon_and_parquet_parse():
    loaded = read_upload(b"t;y\n1;2,5\n0;3\n", "semi.csv")
    assert loaded.frame.columns.tolist() == ["t", "y"]
    assert loaded.notice == ""
    buffer = io.BytesIO()
    pd.DataFrame({"t": [1, 0, 1], "y": [0.5, 1.5, 2.5]}).to_parquet(buffer)
    parquet = read_upload(buffer.getvalue(), "x.parquet")
    assert parquet.frame["y"].sum() == pytest.approx(4.5)
    assert parquet.source.rows == 3 and parquet.source.kind == "upload"
    assert len(parquet.source.sha256) == 64


def test_dictionary_timing_vocabulary_maps_notebook_terms():
    table = pd.DataFrame(
        {
            "variable": ["a", "b", "c", "d", "e", "f", "g", "h", "i"],
            "timing": [
                "pre-treatment", "pre-treatment within week", "treatment week", "post-treatment",
                "outcome window", "future", "unit id", "time id", "sometime",
            ],
        }
    )
    timings = [entry.timing for entry in dictionary_from_frame(table)]
    assert timings == [
        Timing.pre_treatment, Timing.pre_treatment, Timing.treatment, Timing.post_treatment,
        Timing.outcome, Timing.future, Timing.unit_id, Timing.time_id, Timing.unknown,
    ]


def test_dictionary_without_variable_column_is_refused():
    with pytest.raises(DataError, match="needs a 'variable' column"):
        dictionary_from_frame(pd.DataFrame({"name": ["a"]}))
