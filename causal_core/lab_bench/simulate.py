"""The bias a drafted adjustment set leaves, measured on data simulated from the TRUE graph.

Most benchmark graphs are known only as structures (the published networks are discrete, the DAGitty
graphs have no parameters), so each true graph gets a seeded linear-Gaussian parametrisation: every edge a
coefficient drawn from ±[0.5, 1.5], every node unit-variance noise. There the true total effect of x on y
is the sum over directed paths of the products of coefficients, and the OLS coefficient of x in
``y ~ x + Z`` estimates it without bias exactly when Z satisfies the back-door criterion. The bias of the
draft's set is |estimate − truth| on ``n`` simulated rows, so even the oracle shows the sampling floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

DEFAULT_N = 4000
COEF_LOW, COEF_HIGH = 0.5, 1.5


@dataclass(frozen=True)
class LinearSem:
    """A linear-Gaussian SEM on a DAG: ``coefficients[(u, v)]`` is the direct effect of u on v."""

    order: tuple[str, ...]
    coefficients: dict[tuple[str, str], float]

    def total_effect(self, x: str, y: str) -> float:
        """Sum over directed paths x ⇝ y of the product of edge coefficients (0 when there is no path)."""
        effect = {x: 1.0}
        for node in self.order[self.order.index(x) + 1:]:
            effect[node] = sum(effect.get(u, 0.0) * c for (u, v), c in self.coefficients.items() if v == node)
        return effect.get(y, 0.0)

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        data: dict[str, np.ndarray] = {}
        for node in self.order:
            value = rng.standard_normal(n)
            for (u, v), c in self.coefficients.items():
                if v == node:
                    value = value + c * data[u]
            data[node] = value
        return pd.DataFrame(data)


def linear_sem(edges: Sequence[tuple[str, str]], nodes: Sequence[str], seed: int) -> LinearSem:
    """A seeded parametrisation of the graph (raises ValueError on a cycle)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    if not nx.is_directed_acyclic_graph(graph):
        raise ValueError("a linear SEM needs an acyclic graph")
    rng = np.random.default_rng(seed)
    coefficients = {}
    for edge in sorted(graph.edges):
        coefficients[edge] = float(rng.uniform(COEF_LOW, COEF_HIGH) * rng.choice([-1.0, 1.0]))
    return LinearSem(tuple(nx.lexicographical_topological_sort(graph)), coefficients)


def ols_effect(data: pd.DataFrame, x: str, y: str, adjustment: Sequence[str]) -> float:
    """The coefficient of x in the least-squares fit of y on x, the adjustment set and an intercept."""
    columns = [x, *[z for z in adjustment if z != x]]
    design = np.column_stack([np.ones(len(data)), data[columns].to_numpy()])
    solution, *_ = np.linalg.lstsq(design, data[y].to_numpy(), rcond=None)
    return float(solution[1])


def adjustment_bias(sem: LinearSem, data: pd.DataFrame, x: str, y: str, adjustment: Sequence[str] | None) -> float | None:
    """|OLS estimate with the set − true total effect|; None when there is no set (nothing was estimated)."""
    if adjustment is None or any(z not in data for z in adjustment):
        return None
    return abs(ols_effect(data, x, y, adjustment) - sem.total_effect(x, y))
