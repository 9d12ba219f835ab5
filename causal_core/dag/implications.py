"""Testable implications of the DAG and their conditional-independence tests on data."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from causal_core.dag.constants import MAX_IMPLICATIONS
from causal_core.dag.graph import observed_names, to_networkx, validate_dag
from causal_core.project import DagSpec


# Testable implications
# ---------------------------------------------------------------------------------------------
class Implication(BaseModel):
    x: str
    y: str
    given: list[str] = Field(default_factory=list)

    def text(self) -> str:
        given = f" | {', '.join(self.given)}" if self.given else ""
        return f"{self.x} ⊥ {self.y}{given}"


class ImplicationTest(BaseModel):
    implication: str
    x: str
    y: str
    given: list[str]
    n: int = 0
    partial_r: float | None = None
    p_value: float | None = None
    verdict: str = ""


def _selection(spec: DagSpec, graph: nx.DiGraph) -> set[str]:
    return {name for name in getattr(spec, "selected", None) or [] if name in graph}


def _separator(graph: nx.DiGraph, a: str, b: str, observed: Sequence[str], selected: set[str]) -> list[str] | None:
    """One minimal observed separating set of ``a`` and ``b``, or None. Selection nodes are always in it:
    the sample is already conditioned on them, so only independencies given them can show in the data."""
    restricted = (set(observed) | selected) - {a, b}
    separator = nx.find_minimal_d_separator(graph, a, b, included=selected or None, restricted=restricted)
    return None if separator is None else sorted(separator)


def _testable_nodes(spec: DagSpec) -> tuple[nx.DiGraph, list[str], set[str]]:
    """The graph, the observed nodes a test can use (sorted) and the selection nodes every conditioning set
    holds; an invalid DAG implies nothing and is refused with its first problem."""
    errors = validate_dag(spec)
    if errors:
        raise ValueError(f"the DAG is not valid: {errors[0]}")
    graph = to_networkx(spec)
    selected = _selection(spec, graph)
    return graph, sorted(observed_names(spec) - selected), selected


def testable_implications(spec: DagSpec, limit: int = MAX_IMPLICATIONS) -> tuple[list[Implication], bool]:
    """DAGitty-style minimal list: each non-adjacent pair of observed nodes with one minimal observed
    separating set (pairs no observed set separates imply nothing testable); selection nodes are part of
    every conditioning set. Returns (list, capped)."""
    graph, observed, selected = _testable_nodes(spec)
    order = {name: index for index, name in enumerate(nx.lexicographical_topological_sort(graph))}
    found: list[Implication] = []
    for a, b in itertools.combinations(observed, 2):
        if _adjacent(graph, a, b):
            continue
        separator = _separator(graph, a, b, observed, selected)
        if separator is None:
            continue
        first, second = sorted((a, b), key=lambda n: order[n])
        found.append(Implication(x=first, y=second, given=separator))
        if len(found) >= limit:
            return found, True
    return found, False


class ImplicationSample(BaseModel):
    """The implications a test will use; on a large graph a seeded random sample of them, said so."""

    implications: list[Implication] = Field(default_factory=list)
    sampled: bool = False
    pairs_total: int = 0
    pairs_examined: int = 0
    limit: int = MAX_IMPLICATIONS

    def note(self) -> str:
        if not self.sampled:
            return f"all {len(self.implications)} implication(s) of the graph"
        return (
            f"a random sample of {len(self.implications)} implications (seeded) from {self.pairs_examined:,} of "
            f"{self.pairs_total:,} non-adjacent observed pairs: the graph implies more than the {self.limit} tested"
        )


def _adjacent(graph: nx.DiGraph, a: str, b: str) -> bool:
    return graph.has_edge(a, b) or graph.has_edge(b, a)


def _random_pairs(observed: Sequence[str], graph: nx.DiGraph, rng: np.random.Generator, budget: int):
    """Distinct non-adjacent observed pairs in random order, drawn by index (never listing all n² pairs)."""
    seen: set[tuple[int, int]] = set()
    draws = 0
    while draws < 4 * budget and len(seen) < budget:
        i, j = sorted(int(v) for v in rng.choice(len(observed), size=2, replace=False))
        draws += 1
        if (i, j) in seen or _adjacent(graph, observed[i], observed[j]):
            continue
        seen.add((i, j))
        yield observed[i], observed[j]


def sample_implications(spec: DagSpec, limit: int = MAX_IMPLICATIONS, seed: int = 0) -> ImplicationSample:
    """Like ``testable_implications`` but, when the graph implies more than ``limit``, a seeded random sample
    over pairs (the first ``limit`` in name order would test only one corner of a large graph).

    Small graphs give exactly ``testable_implications``' list. Separator searches are bounded (at most
    ``20 × limit`` pairs examined), so a 2,000-node graph costs about as much as a 60-node one.
    """
    graph, observed, selected = _testable_nodes(spec)
    adjacent = sum(1 for a, b in graph.edges if a in observed and b in observed and not graph.has_edge(b, a))
    total = len(observed) * (len(observed) - 1) // 2 - adjacent
    found, capped = testable_implications(spec, limit) if total <= 20 * limit else ([], True)
    if not capped:
        return ImplicationSample(implications=found, pairs_total=total, pairs_examined=total, limit=limit)
    order = {name: index for index, name in enumerate(nx.lexicographical_topological_sort(graph))}
    found, examined = [], 0
    for a, b in _random_pairs(observed, graph, np.random.default_rng(seed), 20 * limit):
        if len(found) >= limit:
            break
        examined += 1
        separator = _separator(graph, a, b, observed, selected)
        if separator is not None:
            first, second = sorted((a, b), key=lambda n: order[n])
            found.append(Implication(x=first, y=second, given=separator))
    return ImplicationSample(implications=found, sampled=True, pairs_total=total, pairs_examined=examined, limit=limit)


def _design(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Numeric design matrix: numbers as is, everything else one-hot (first level dropped)."""
    parts = []
    for column in columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            parts.append(series.astype(float).rename(column))
        else:
            dummies = pd.get_dummies(series.astype(str), prefix=column, drop_first=True, dtype=float)
            parts.append(dummies)
    if not parts:
        return pd.DataFrame(index=frame.index)
    design = pd.concat(parts, axis=1)
    return design.loc[:, design.std(ddof=0) > 0]


def _residualise(target: pd.DataFrame, covariates: pd.DataFrame) -> np.ndarray:
    base = (
        np.column_stack([np.ones(len(target)), covariates.to_numpy(dtype=float)])
        if covariates.shape[1]
        else np.ones((len(target), 1))
    )
    coef, *_ = np.linalg.lstsq(base, target.to_numpy(dtype=float), rcond=None)
    return target.to_numpy(dtype=float) - base @ coef


def conditional_independence_test(frame: pd.DataFrame, x: str, y: str, given: Sequence[str]) -> dict[str, Any]:
    """Partial association of x and y given ``given`` via regression residuals.

    One-dimensional x and y: the partial correlation with its t-test (df = n − k − 2). A multi-level
    categorical (one-hot) side: the F-test that its dummies add nothing to the regression of the other
    side's residual (statsmodels OLS). Rows with a missing value in any involved column are dropped.
    """
    import statsmodels.api as sm
    from scipy import stats

    rows = frame[[x, y, *given]].dropna()
    n = len(rows)
    if n < 10:
        return {"n": n, "partial_r": None, "p_value": None, "note": "fewer than 10 complete rows"}
    dx, dy, dz = _design(rows, [x]), _design(rows, [y]), _design(rows, list(given))
    if dx.shape[1] == 0 or dy.shape[1] == 0:
        side = x if dx.shape[1] == 0 else y
        return {"n": n, "partial_r": None, "p_value": None, "note": f"{side} does not vary in the complete rows"}
    rx, ry = _residualise(dx, dz), _residualise(dy, dz)
    k = dz.shape[1]
    if dx.shape[1] == 1 and dy.shape[1] == 1:
        sx, sy = rx[:, 0], ry[:, 0]
        if sx.std() < 1e-12 or sy.std() < 1e-12:
            return {"n": n, "partial_r": None, "p_value": None, "note": "no variation left after conditioning"}
        r = float(np.corrcoef(sx, sy)[0, 1])
        dof = n - k - 2
        t_stat = r * math.sqrt(dof / max(1e-12, 1 - r * r))
        return {"n": n, "partial_r": r, "p_value": float(2 * stats.t.sf(abs(t_stat), dof)), "note": ""}
    # Put the multi-column side on the right-hand side; if both are multi-column, test each column of y.
    if dy.shape[1] > 1 and dx.shape[1] == 1:
        rx, ry = ry, rx
    p_values = []
    for j in range(ry.shape[1]):
        fit = sm.OLS(ry[:, j], sm.add_constant(rx)).fit()
        p_values.append(float(fit.f_pvalue))
    p_value = min(1.0, min(p_values) * len(p_values))  # Bonferroni over y's dummy columns
    return {"n": n, "partial_r": None, "p_value": p_value, "note": "F-test on one-hot columns"}


def test_implications(
    spec: DagSpec, frame: pd.DataFrame, implications: Sequence[Implication] | None = None, alpha: float = 0.05
) -> list[ImplicationTest]:
    """Each implied independence tested on the data, with a plain verdict at level ``alpha``."""
    if implications is None:
        implications, _ = testable_implications(spec)
    columns = {n.name: n.column for n in spec.nodes}
    results = []
    for item in implications:
        needed = [item.x, item.y, *item.given]
        missing = [name for name in needed if columns.get(name) not in frame.columns]
        row = ImplicationTest(implication=item.text(), x=item.x, y=item.y, given=item.given)
        if missing:
            row.verdict = f"not tested: no data column for {', '.join(missing)}"
            results.append(row)
            continue
        outcome = conditional_independence_test(
            frame, columns[item.x], columns[item.y], [columns[g] for g in item.given]
        )
        row.n, row.partial_r, row.p_value = outcome["n"], outcome["partial_r"], outcome["p_value"]
        if row.p_value is None:
            row.verdict = f"not tested: {outcome['note']}"
        elif row.p_value < alpha:
            row.verdict = f"contradicted by the data (p < {alpha:g}): revisit the edges between these variables"
        else:
            row.verdict = f"consistent with the data (p ≥ {alpha:g})"
        results.append(row)
    return results


test_implications.__test__ = False  # not a pytest test despite the name


# ---------------------------------------------------------------------------------------------
