"""Uploads: CSV/Parquet parse, and every bad file gets its own specific message."""

from __future__ import annotations

import csv
import io
import re

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


def test_utf16_csv_reads_the_same_rows_as_utf8():
    """Excel's "Unicode text" export starts with a UTF-16 BOM; it used to be refused as binary (NUL bytes)."""
    frame = pd.DataFrame({"t": [1, 0, 1], "y": [2.5, 1.0, 3.25], "région": ["Zürich", "Genève", "Köln"]})
    text = frame.to_csv(index=False)
    utf8 = read_upload(text.encode("utf-8"), "a.csv").frame
    for encoding in ("utf-16", "utf-16-be", "utf-32"):
        payload = text.encode(encoding)
        if encoding == "utf-16-be":
            payload = b"\xfe\xff" + payload
        loaded = read_upload(payload, "a.csv")
        pd.testing.assert_frame_equal(loaded.frame, utf8)
        assert loaded.notice == ""


def test_header_checks_are_linear_and_bounded():
    """10,000 distinct names (the limit) are checked at once; the old names.count() loop was quadratic."""
    import time

    names = [f"c{i}" for i in range(10_000)]
    payload = (",".join(names) + "\n" + ",".join("1" for _ in names) + "\n").encode()
    started = time.perf_counter()
    assert read_upload(payload, "wide.csv").frame.shape == (1, 10_000)
    wide = (",".join([*names, "extra"]) + "\n").encode()
    with pytest.raises(DataError, match="10,001 columns; the workbench reads at most 10,000"):
        read_upload(wide, "wider.csv")
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(
    ("header", "message"),
    [(b"t,,y", "Column 2 has no name"), (b",t,y", "Column 1 has no name"), (b"t,y, ", "Column 3 has no name"),
     (b"t,y,t,y", "Duplicate column names in the header: t, y.")],
)
def test_header_problems_name_the_column(header, message):
    with pytest.raises(DataError, match=message):
        read_upload(header + b"\n1,2,3,4\n", "a.csv")


def test_missing_values_are_fine_but_infinite_ones_are_named():
    assert read_upload(b"t,y,x\n1,,3\n0,2,\n1,NaN,4\n", "a.csv").frame["y"].isna().sum() == 2
    with pytest.raises(DataError, match=r"column 'y' has 2 infinite value\(s\) \(first: data row 2\); column 'x' has"):
        read_upload(b"t,y,x\n1,1,3\n0,inf,1e300\n1,-inf,4\n", "a.csv")


def test_builtin_size_and_seed_are_checked_before_generating():
    import time

    from causal_core.data import builtin_source

    started = time.perf_counter()
    for n, seed, message in [(3_000_000, None, "n = 3000000"), (-5, None, "n = -5"), (0, None, "n = 0"),
                             (None, -1, "seed = -1"), (None, 2**40, "seed = 1099511627776"), (True, None, "n = True")]:
        with pytest.raises(DataError, match=re.escape(message)):
            builtin_source("retention", n, seed)
    with pytest.raises(DataError, match="unknown dataset 'nope': choose one of retention, support"):
        builtin_source("nope")
    assert time.perf_counter() - started < 1  # refused before a single row is generated
    assert builtin_source("support", 3, 1).source.rows > 0


HIDDEN = ["\r", "\n", "\x00", "\x1b", "\t", "\u202e", "\u2066", "\u200b", "\ufeff", "\u2028", "\x85"]


@pytest.mark.parametrize("char", HIDDEN)
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_column_names_with_hidden_characters_are_refused_with_the_name(char, kind):
    """CSV (quoted header) and Parquet alike: the message names the column (repr) and the code point."""
    name = f"x{char}<img src=http://127.0.0.1:9/p>"
    frame = pd.DataFrame({name: [1, 2], "y": [3, 4]})
    if kind == "csv":
        payload, filename = frame.to_csv(index=False, quoting=csv.QUOTE_ALL).encode("utf-8"), "a.csv"
    else:
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        payload, filename = buffer.getvalue(), "a.parquet"
    with pytest.raises(DataError) as error:
        read_upload(payload, filename)
    message = str(error.value)
    if char == "\x00" and kind == "csv":
        assert "looks binary" in message  # a NUL byte anywhere in a CSV is refused before the header
        return
    assert repr(name.strip()) in message or repr(name) in message
    assert f"U+{ord(char):04X}" in message and "Rename the column" in message


def test_plain_unicode_column_names_still_load():
    frame = pd.DataFrame({"Größe (cm)": [1, 2], "税率": [3, 4], "a b": [5, 6]})
    loaded = read_upload(frame.to_csv(index=False).encode("utf-8"), "a.csv")
    assert loaded.source.columns == ["Größe (cm)", "税率", "a b"]
