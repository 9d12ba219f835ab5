"""The specification curve (docs/methods.md): how fragile is the answer across every defensible analysis choice?

Files follow the steps: ``space`` (the choices, built from the project) → ``runner`` (every specification,
fits shared, progress and stop) → ``summary`` (plain sentences, variance decomposition, plot data) →
``charts`` (altair, no logic) → ``export`` (CSV/JSON, SVG/PNG) → ``memo_text`` (the memo paragraph and
its rubric check). ``adapter`` is the only module that calls the estimation and DAG packages.
"""

from __future__ import annotations

from causal_core.multiverse.space import (  # noqa: F401
    MAX_SPECIFICATIONS,
    AdjustmentSet,
    ChoiceSpace,
    MultiverseError,
    build_space,
    size_text,
    specifications,
)
from causal_core.multiverse.steps import run_multiverse, with_multiverse  # noqa: F401
from causal_core.multiverse.summary import curve_data, summarise, table, variance_decomposition  # noqa: F401

__all__ = [
    "MAX_SPECIFICATIONS",
    "AdjustmentSet",
    "ChoiceSpace",
    "MultiverseError",
    "build_space",
    "curve_data",
    "run_multiverse",
    "size_text",
    "specifications",
    "summarise",
    "table",
    "variance_decomposition",
    "with_multiverse",
]
