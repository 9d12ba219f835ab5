"""Which data columns a DAG draft may name, how a draft's spelling maps to them, and which columns predict the
treatment.

Shared by the draft's review (``causal_core.dag.draft``) and its rubric (``causal_core.dag.draft_rubric``); kept in
the DAG stage so the two read the same names without importing each other.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import pandas as pd

from causal_core.project import DagSpec, Project, Timing

__all__ = ["PREDICTOR_ALPHA", "NameMap", "normalise_name", "treatment_predictors", "usable_columns"]

PREDICTOR_ALPHA = 0.01


def usable_columns(project: Project, frame: pd.DataFrame | None) -> list[str]:
    """Data columns a DAG node may measure: simulation-truth columns are never variables of the story."""
    columns = list(frame.columns) if frame is not None else (project.data_source.columns if project.data_source else [])
    truth = {e.variable for e in project.dictionary if e.simulation_truth}
    return [c for c in columns if c not in truth]


def normalise_name(text: str) -> str:
    """A name's comparison key: lower case, every run of other characters one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


class NameMap:
    """Draft names → canonical names: the DAG's node names, else data columns (which become new nodes)."""

    def __init__(self, spec: DagSpec | None, columns: Sequence[str]):
        self.targets: dict[str, str] = {}  # normalised key → canonical name
        self.columns = set(columns)
        nodes = spec.nodes if spec else []
        for node in nodes:
            for key in (node.name, node.label, node.column):
                if key:
                    self.targets.setdefault(normalise_name(key), node.name)
        column_owner = {n.column: n.name for n in nodes if n.column}
        for column in columns:
            self.targets.setdefault(normalise_name(column), column_owner.get(column, column))
        self.node_names = {n.name for n in nodes}

    def map(self, raw: str) -> tuple[str | None, str]:
        """(canonical name or None, how it was matched)."""
        raw = str(raw).strip()
        if raw in self.node_names:
            return raw, "exact"
        if raw in self.columns:
            return self.targets.get(normalise_name(raw), raw), "column"
        key = normalise_name(raw)
        if key in self.targets:
            return self.targets[key], f"'{raw}' matched '{self.targets[key]}'"
        close = difflib.get_close_matches(key, list(self.targets), n=1, cutoff=0.85)
        if close:
            return self.targets[close[0]], f"'{raw}' read as '{self.targets[close[0]]}' (close spelling)"
        return None, f"'{raw}' is not a node or a data column"

    def is_new_node(self, name: str) -> bool:
        return name not in self.node_names


def treatment_predictors(project: Project, frame: pd.DataFrame | None, alpha: float = PREDICTOR_ALPHA) -> list[tuple[str, float]]:
    """Pre-treatment dictionary columns associated with the treatment in the data (p < alpha).

    A quick bivariate test: chi-square for categorical columns, Welch t for numeric ones (binary
    treatment), Pearson correlation for a numeric treatment. Simulation-truth columns are skipped.
    """
    from scipy import stats

    treatment = project.treatment
    if frame is None or not treatment or treatment not in frame.columns:
        return []
    found = []
    treat = frame[treatment]
    binary = treat.dropna().nunique() == 2
    for entry in project.dictionary:
        column = entry.variable
        if entry.simulation_truth or entry.timing != Timing.pre_treatment or column not in frame.columns:
            continue
        rows = frame[[treatment, column]].dropna()
        if len(rows) < 10 or rows[column].nunique() < 2:
            continue
        values = rows[column]
        try:
            if not pd.api.types.is_numeric_dtype(values) or values.nunique() <= 10:
                table = pd.crosstab(values, rows[treatment] if binary else pd.qcut(rows[treatment], 4, duplicates="drop"))
                p_value = float(stats.chi2_contingency(table)[1])
            elif binary:
                levels = sorted(rows[treatment].unique())
                p_value = float(
                    stats.ttest_ind(values[rows[treatment] == levels[0]], values[rows[treatment] == levels[1]], equal_var=False).pvalue
                )
            else:
                p_value = float(stats.pearsonr(values, rows[treatment]).pvalue)
        except ValueError:
            continue
        if p_value < alpha:
            found.append((column, p_value))
    return found
