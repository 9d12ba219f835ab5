"""Loading data into a project: built-ins, uploads (CSV/Parquet), hashing and dictionaries.

Uploads are parsed as data only (pandas CSV / pyarrow Parquet), never unpickled or executed.
Every rejection is a ``DataError`` whose message tells the analyst what to fix.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from causal_core.data.datasets import BUILTINS, check_generator_args, get_builtin, load_builtin
from causal_core.errors import WorkbenchInputError
from causal_core.limits import MAX_COLUMNS, MAX_ROWS  # checked before any parsing work
from causal_core.project import DataSource, DictionaryEntry, Project, normalise_timing
from causal_core.safe_io import data_file_name_problem
from causal_core.safe_text import hidden_characters

DEFAULT_MAX_UPLOAD_MB = 200.0
MAX_COLUMN_NAME_CHARS = 1_000
# A magnitude whose square overflows a float (1.8e308) turns every regression into NaN; 1e150 is that line.
MAX_ABS_VALUE = 1e150


class DataError(WorkbenchInputError):
    """A dataset that cannot be used; the message is shown to the analyst as is."""


@dataclass
class LoadedData:
    """Rows plus the notice (if any) the analyst should see about how they were read."""

    frame: pd.DataFrame
    source: DataSource
    notice: str = ""


def sha256_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """Content hash of a frame via its canonical CSV: stable across runs and platforms."""
    return sha256_bytes(frame.to_csv(index=False, date_format="%Y-%m-%d").encode("utf-8"))


def frame_to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, date_format="%Y-%m-%d").encode("utf-8")


def builtin_source(name: str, n: int | None = None, seed: int | None = None) -> LoadedData:
    """Regenerate a built-in; an unknown name or an out-of-range n/seed is a DataError naming it."""
    try:
        spec = get_builtin(name)
        check_generator_args(name, n, seed)
    except ValueError as error:
        raise DataError(str(error)) from None
    frame = load_builtin(name, n, seed)
    source = DataSource(
        kind="builtin",
        name=name,
        sha256=frame_sha256(frame),
        rows=len(frame),
        columns=list(frame.columns),
        n=n or spec.default_n,
        seed=spec.default_seed if seed is None else seed,
    )
    return LoadedData(frame=frame, source=source)


_UNICODE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _decode_text(payload: bytes) -> tuple[str, str]:
    """A UTF-16/32 file by its BOM (Excel's "Unicode text"); else UTF-8 (with or without BOM), then Latin-1
    with a notice. Binary files are refused: NUL bytes without a UTF-16/32 BOM."""
    for bom, encoding in _UNICODE_BOMS:
        if payload.startswith(bom):
            try:
                return payload.decode(encoding), ""
            except UnicodeDecodeError:
                raise DataError(f"The file starts with a {encoding.upper()} byte-order mark but is not valid "
                                f"{encoding.upper()} text. Save it again as UTF-8 CSV.") from None
    if b"\x00" in payload[:65536]:
        raise DataError("The file could not be decoded as text: it looks binary (NUL bytes). Upload a CSV or Parquet file.")
    try:
        return payload.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    return payload.decode("latin-1"), "The file is not valid UTF-8; it was read as Latin-1. Check accented characters."


def _sniff_delimiter(first_line: str) -> str:
    """Only the usual separators are considered (the csv sniffer alone may pick a letter)."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def check_column_names(names: list[str], where: str = "the header") -> None:
    """Bounded, then linear: count, empty names (by position), over-long names, duplicates (one Counter)."""
    if len(names) > MAX_COLUMNS:
        raise DataError(f"The file has {len(names):,} columns; the workbench reads at most {MAX_COLUMNS:,}.")
    for position, name in enumerate(names, start=1):
        if not name:
            raise DataError(f"Column {position} has no name in {where}. Name every column and upload again.")
        if len(name) > MAX_COLUMN_NAME_CHARS:
            raise DataError(f"Column {position}'s name is {len(name):,} characters long; the limit is "
                            f"{MAX_COLUMN_NAME_CHARS:,}.")
        _refuse_hidden_characters(name, position, where)
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        shown = ", ".join(duplicates[:10]) + (f" and {len(duplicates) - 10:,} more" if len(duplicates) > 10 else "")
        raise DataError(f"Duplicate column names in {where}: {shown}. Rename them and upload again.")


def _refuse_hidden_characters(name: str, position: int, where: str) -> None:
    """A column name is shown, exported and typed into formulas: a line break, control character, bidi
    override or zero-width character in it would change what a reader (or a Markdown renderer) sees."""
    hidden = hidden_characters(name)
    if hidden:
        codes = ", ".join(f"U+{ord(char):04X}" for char in hidden)
        raise DataError(
            f"Column {position} in {where}, {name!r}, holds invisible or control characters ({codes}): "
            "line breaks, tabs, control, bidi-override and zero-width characters are not allowed in column names. "
            "Rename the column and upload again."
        )


def _check_header(first_line: str, delimiter: str) -> None:
    if first_line.count(delimiter) >= MAX_COLUMNS:  # before the csv module splits a huge line
        raise DataError(
            f"The file has {first_line.count(delimiter) + 1:,} columns; the workbench reads at most {MAX_COLUMNS:,}."
        )
    try:
        header = next(csv.reader([first_line], delimiter=delimiter), [])
    except csv.Error:  # a CR inside a quoted name: pandas splits it right and the parsed names are checked after
        return
    check_column_names([name.strip() for name in header])


def check_finite_values(frame: pd.DataFrame, columns: list[str] | None = None) -> None:
    """Refuse infinite or overflowing numbers in numeric columns, naming the column and the row count.

    Why up front: one ``inf`` in an outcome made every estimate NaN with exit status 0, and the saved
    project could then not be reopened. Missing values (empty cells, NaN) are fine: every stage handles them.
    Used by every upload (app and CLI) and by the CLI's estimation commands for the chosen columns.
    """
    wanted = set(frame.columns) if columns is None else set(columns)
    dtypes = frame.dtypes  # read once: frame[column] per column took seconds on a 10,000-column file
    numeric = [column for column, dtype in dtypes.items() if column in wanted
               and pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)]
    if not numeric:
        return
    # float matrices of a few million cells each: a per-column loop took seconds on a 10,000-column file, and
    # one matrix of every column would double the memory of a long file
    width = max(1, 4_000_000 // max(len(frame), 1))
    problems = []
    for start in range(0, len(numeric), width):
        problems += _non_finite_problems(frame, numeric[start:start + width])
    if problems:
        raise DataError(
            "Non-finite numbers would turn every estimate into NaN: column " + "; column ".join(problems[:5])
            + (f"; and {len(problems) - 5} more column(s)" if len(problems) > 5 else "")
            + ". Replace them with real numbers or leave the cells empty (missing), then upload again."
        )


def _non_finite_problems(frame: pd.DataFrame, numeric: list[str]) -> list[str]:
    values = frame[numeric].to_numpy(dtype="float64", na_value=np.nan)
    infinite = np.isinf(values)
    huge = np.abs(np.where(np.isfinite(values), values, 0.0)) > MAX_ABS_VALUE
    problems = []
    for index in np.flatnonzero((infinite | huge).any(axis=0)):
        n_infinite, n_huge = int(infinite[:, index].sum()), int(huge[:, index].sum())
        first_row = int(np.flatnonzero(infinite[:, index] | huge[:, index])[0]) + 1
        kinds = " and ".join(
            part
            for part in (f"{n_infinite:,} infinite value(s)" if n_infinite else "",
                         f"{n_huge:,} value(s) larger than 1e150" if n_huge else "")
            if part
        )
        problems.append(f"'{numeric[index]}' has {kinds} (first: data row {first_row:,})")
    return problems


def read_csv_bytes(payload: bytes) -> tuple[pd.DataFrame, str]:
    text, notice = _decode_text(payload)
    if not text.strip():
        raise DataError("The file is empty.")
    first_line = text.lstrip("\n\r").split("\n", 1)[0].rstrip("\r")
    delimiter = _sniff_delimiter(first_line)
    _check_header(first_line, delimiter)
    if text.count("\n") > MAX_ROWS:
        raise DataError(f"The file has more than {MAX_ROWS:,} rows; the workbench reads at most {MAX_ROWS:,}.")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter)
    except pd.errors.EmptyDataError:
        raise DataError("The file is empty.") from None
    except (pd.errors.ParserError, csv.Error) as error:
        raise DataError(f"The CSV could not be parsed: {error}") from None
    return frame, notice


def read_parquet_bytes(payload: bytes) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(payload))
    except Exception as error:  # pyarrow raises several types for a bad file
        raise DataError(f"The Parquet file could not be read: {error}") from None
    check_column_names([str(name).strip() for name in table.column_names], where="the Parquet file")
    if table.num_rows > MAX_ROWS:
        raise DataError(f"The file has {table.num_rows:,} rows; the workbench reads at most {MAX_ROWS:,}.")
    _refuse_nested_columns(table.schema)
    try:
        return table.to_pandas()
    except Exception as error:  # an extension type pandas cannot hold
        raise DataError(f"The Parquet file could not be converted to a table: {error}") from None


def _refuse_nested_columns(schema) -> None:
    """Lists, structs and maps cannot be a treatment, outcome or covariate, and pandas cannot hash them
    (the TypeError 'unhashable type' in every later stage): refuse them by name."""
    import pyarrow as pa

    nested = [f"'{field.name}' ({field.type})" for field in schema if pa.types.is_nested(field.type)]
    if nested:
        raise DataError(
            f"Column(s) {', '.join(nested[:5])}{' …' if len(nested) > 5 else ''} hold nested values (lists, structs "
            "or maps); the workbench needs one plain value per cell. Flatten or drop them and upload again."
        )


def read_upload(payload: bytes, filename: str, max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> LoadedData:
    """Parse an uploaded CSV or Parquet file into a frame, or raise DataError saying why not."""
    size_mb = len(payload) / 1_048_576
    if size_mb > max_mb:
        raise DataError(f"The file is {size_mb:.1f} MB, over the {max_mb:g} MB limit (server.maxUploadSize / CW_MAX_UPLOAD_MB).")
    if not payload:
        raise DataError("The file is empty.")
    name_problem = data_file_name_problem(filename)
    if name_problem:
        raise DataError(f"The upload cannot be used: {name_problem}. Rename the file and upload again.")
    lower = filename.lower()
    notice = ""
    if lower.endswith((".parquet", ".pq")):
        frame = read_parquet_bytes(payload)
    elif lower.endswith((".csv", ".txt", ".tsv")):
        frame, notice = read_csv_bytes(payload)
    else:
        raise DataError(f"Unsupported file type '{filename}': upload a .csv or .parquet file.")
    check_column_names([str(name) for name in frame.columns], where="the parsed header")  # quoted names may hold CR/LF
    if frame.shape[1] < 2:
        raise DataError(f"The file has {frame.shape[1]} column(s); a causal analysis needs at least 2 (treatment and outcome).")
    if frame.empty:
        raise DataError("The file has a header but no data rows.")
    check_finite_values(frame)
    source = DataSource(
        kind="upload", name=filename, sha256=sha256_bytes(payload), rows=len(frame), columns=[str(c) for c in frame.columns]
    )
    return LoadedData(frame=frame, source=source, notice=notice)


def blank_dictionary(columns: list[str]) -> list[DictionaryEntry]:
    """A dictionary skeleton for an upload: timing 'unknown' until the analyst says otherwise."""
    return [DictionaryEntry(variable=str(column)) for column in columns]


def dictionary_from_frame(table: pd.DataFrame) -> list[DictionaryEntry]:
    """Read a dictionary table (variable, description, timing, role[/initial_role]) from CSV or an editor."""
    if "variable" not in table.columns:
        raise DataError("The dictionary needs a 'variable' column.")
    role_column = "role" if "role" in table.columns else ("initial_role" if "initial_role" in table.columns else None)
    entries = []
    for _, row in table.iterrows():
        variable = str(row["variable"]).strip()
        if not variable or variable == "nan":
            continue
        timing_label = "" if pd.isna(row.get("timing", "")) else str(row.get("timing", ""))
        entries.append(
            DictionaryEntry(
                variable=variable,
                description="" if pd.isna(row.get("description", "")) else str(row.get("description", "")),
                timing=normalise_timing(timing_label),
                timing_label=timing_label,
                role="" if role_column is None or pd.isna(row[role_column]) else str(row[role_column]),
                simulation_truth=bool(row.get("simulation_truth", False)) if not pd.isna(row.get("simulation_truth", False)) else False,
            )
        )
    return entries


def dictionary_to_frame(entries: list[DictionaryEntry]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "variable": entry.variable,
                "description": entry.description,
                "timing": entry.timing_label or entry.timing.value,
                "timing_normalised": entry.timing.value,
                "role": entry.role,
                "simulation_truth": entry.simulation_truth,
            }
            for entry in entries
        ],
        columns=["variable", "description", "timing", "timing_normalised", "role", "simulation_truth"],
    )


def project_for_builtin(name: str, project_name: str | None = None) -> tuple[Project, pd.DataFrame]:
    """A fresh project bound to a built-in dataset, with its dictionary and default roles."""
    spec = get_builtin(name)
    loaded = builtin_source(name)
    project = Project(
        name=project_name or f"{name} analysis",
        brief=spec.brief,
        data_source=loaded.source,
        dictionary=spec.dictionary(),
        unit_columns=list(spec.unit_columns),
        time_column=spec.time_column,
        treatment=spec.treatment,
        outcome=spec.outcome,
        guardrails=list(spec.guardrails),
        cluster_column=spec.cluster_column,
    )
    return project, loaded.frame


def project_for_upload(loaded: LoadedData, project_name: str | None = None) -> Project:
    return Project(
        name=project_name or f"{loaded.source.name} analysis",
        data_source=loaded.source,
        dictionary=blank_dictionary(loaded.source.columns),
    )


def rebind_data(project: Project, payload: bytes | None = None, filename: str | None = None) -> pd.DataFrame:
    """Recover the rows an opened project refers to, checking the hash.

    Built-ins regenerate; uploads need the same file again (``payload``). A different file is
    refused so the project's results are never silently paired with other data.
    """
    source = project.data_source
    if source is None:
        raise DataError("The project has no dataset yet.")
    if source.kind == "builtin":
        try:
            frame = builtin_source(source.name, source.n, source.seed).frame
        except DataError as error:  # say which part of the file is wrong
            raise DataError(f"This project's data_source cannot be regenerated: {error}.") from None
        if frame_sha256(frame) != source.sha256:
            raise DataError(
                f"The built-in dataset '{source.name}' regenerated with a different hash than the project recorded "
                "(different package versions?). Results may not match."
            )
        return frame
    if payload is None:
        raise DataError(f"This project uses the uploaded file '{source.name}': upload it again to continue.")
    if sha256_bytes(payload) != source.sha256:
        raise DataError(
            f"'{filename or 'This file'}' is not the file this project was built on (sha256 differs from "
            f"{source.sha256[:12]}…). Upload the original '{source.name}'."
        )
    return read_upload(payload, filename or source.name, max_mb=float("inf")).frame


def builtin_names() -> list[str]:
    return list(BUILTINS)


def deduplicate(frame: pd.DataFrame, unit_columns: list[str], how: str) -> pd.DataFrame:
    """Collapse rows that share the unit grain: keep the first, or average numeric columns.

    'average' keeps the first value of non-numeric columns (they should agree within a unit).
    """
    if how == "none" or not unit_columns:
        return frame
    missing = [column for column in unit_columns if column not in frame.columns]
    if missing:
        raise DataError(f"Cannot de-duplicate: grain column(s) not in the data: {', '.join(missing)}.")
    if how == "keep_first":
        return frame.drop_duplicates(subset=unit_columns, keep="first").reset_index(drop=True)
    if how == "average":
        numeric = [c for c in frame.columns if c not in unit_columns and pd.api.types.is_numeric_dtype(frame[c])]
        other = [c for c in frame.columns if c not in unit_columns and c not in numeric]
        grouped = frame.groupby(unit_columns, sort=False, dropna=False)
        collapsed = grouped[numeric].mean().join(grouped[other].first()).reset_index()
        return collapsed[list(frame.columns)]
    raise DataError(f"Unknown de-duplication rule '{how}' (use none, keep_first or average).")


def analysis_frame(project: Project, raw: pd.DataFrame) -> pd.DataFrame:
    """The rows every analysis stage uses: the raw data after the project's logged preparation."""
    return deduplicate(raw, project.unit_columns, project.dedup)
