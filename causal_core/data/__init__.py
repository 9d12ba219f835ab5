"""The data stage: the files follow its steps: datasets (built-in simulations and their dictionaries) → loading
(uploads, hashing, dictionaries, the analysis frame) → project_io (opening a saved project and re-binding its data).

Importers use ``from causal_core.data import X`` for the loading API below; the simulations and project files are
read from their modules (``causal_core.data.datasets``, ``causal_core.data.project_io``) so that this package's
surface stays the upload/analysis-frame contract the pages and CLI share.
"""

from __future__ import annotations

from causal_core.data.datasets import BUILTINS, get_builtin, load_builtin
from causal_core.data.loading import (
    DEFAULT_MAX_UPLOAD_MB,
    MAX_ABS_VALUE,
    MAX_COLUMN_NAME_CHARS,
    MAX_COLUMNS,
    MAX_ROWS,
    DataError,
    LoadedData,
    analysis_frame,
    blank_dictionary,
    builtin_names,
    builtin_source,
    check_column_names,
    check_finite_values,
    deduplicate,
    dictionary_from_frame,
    dictionary_to_frame,
    frame_sha256,
    frame_to_csv_bytes,
    project_for_builtin,
    project_for_upload,
    read_csv_bytes,
    read_parquet_bytes,
    read_upload,
    rebind_data,
    sha256_bytes,
)

__all__ = [
    "BUILTINS",
    "DEFAULT_MAX_UPLOAD_MB",
    "MAX_ABS_VALUE",
    "MAX_COLUMNS",
    "MAX_COLUMN_NAME_CHARS",
    "MAX_ROWS",
    "DataError",
    "LoadedData",
    "analysis_frame",
    "blank_dictionary",
    "builtin_names",
    "builtin_source",
    "check_column_names",
    "check_finite_values",
    "deduplicate",
    "dictionary_from_frame",
    "dictionary_to_frame",
    "frame_sha256",
    "frame_to_csv_bytes",
    "get_builtin",
    "load_builtin",
    "project_for_builtin",
    "project_for_upload",
    "read_csv_bytes",
    "read_parquet_bytes",
    "read_upload",
    "rebind_data",
    "sha256_bytes",
]
