"""Size limits shared across stages: a leaf module (imports nothing from the workbench).

Why a leaf: the project schema (``causal_core.project``) checks a saved file against the same limits as the
importers and the estimation page, and it is the bottom layer; reading the limits from ``dag_io`` or ``data`` made
the project model import the stages built on it (an import cycle through the whole DAG package). The stages import
their limits from here, so a limit has one value everywhere.
"""

from __future__ import annotations

# Data (checked before any parsing work): a 100,000-column header made the app spin for minutes. 10,000 columns
# and 5 M rows are far above any dataset the pages can show.
MAX_COLUMNS = 10_000
MAX_ROWS = 5_000_000

# DAG import: a 2,000-node DAGitty file parses in about a second on the shared 2-core machine
# (bench/bench_dag_io.py), so the cap sits there; a bigger file is refused at its first extra node.
MAX_IMPORT_NODES = 2_000
MAX_IMPORT_EDGES = 20_000

# Estimation: bootstrap replicates the page, the CLI and a project file may ask for.
MAX_BOOTSTRAP = 5_000

__all__ = ["MAX_BOOTSTRAP", "MAX_COLUMNS", "MAX_IMPORT_EDGES", "MAX_IMPORT_NODES", "MAX_ROWS"]
