"""Estimation reads the DAG: the analyst's `adjusted` set presets the covariates when the graph accepts it,
and a graph that no adjustment set identifies puts a warning on top of every estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causal_core import estimation as est
from causal_core.project import DagEdge, DagNode, DagSpec, DictionaryEntry, EstimationSpec, Project, Timing


def _frame(n: int = 2_000, seed: int = 3, confounded: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z1, z2, p, u = (rng.normal(size=n) for _ in range(4))
    u = u if confounded else np.zeros(n)
    x = rng.binomial(1, 1 / (1 + np.exp(-(0.8 * z1 - 0.6 * z2 + 0.7 * u))))
    m = x + rng.normal(size=n)
    y = 1.5 * x + z1 + z2 + 0.5 * p + 0.8 * u + rng.normal(size=n)
    return pd.DataFrame({"x": x, "z1": z1, "z2": z2, "p": p, "m": m, "y": y})


def _project(adjusted: list[str], latent_confounder: bool = False) -> Project:
    nodes = [DagNode(name=name, column=name) for name in ("x", "z1", "z2", "p", "m", "y")]
    edges = [("z1", "x"), ("z1", "y"), ("z2", "x"), ("z2", "y"), ("p", "y"), ("x", "m"), ("m", "y")]
    if latent_confounder:
        nodes.append(DagNode(name="u", latent=True))
        edges += [("u", "x"), ("u", "y")]
    dag = DagSpec(
        nodes=nodes,
        edges=[DagEdge(source=s, target=t) for s, t in edges],
        treatment="x",
        outcome="y",
        adjusted=adjusted,
    )
    timing = {"x": Timing.treatment, "y": Timing.outcome, "m": Timing.post_treatment}
    dictionary = [
        DictionaryEntry(variable=name, timing=timing.get(name, Timing.pre_treatment))
        for name in ("x", "z1", "z2", "p", "m", "y")
    ]
    return Project(treatment="x", outcome="y", dag=dag, dictionary=dictionary)


def test_a_valid_adjusted_set_presets_the_covariates_and_says_so():
    covariates, note = est.default_covariates(_project(["z1", "z2", "p"]), _frame())
    assert sorted(covariates) == ["p", "z1", "z2"]  # the engine's own pick is the minimal {z1, z2}
    assert note == "the DAG's adjusted set (the analyst's choice)"


def test_an_invalid_adjusted_set_falls_back_to_the_recommended_set_with_the_reason():
    covariates, note = est.default_covariates(_project(["z1", "m"]), _frame())
    assert sorted(covariates) == ["z1", "z2"]  # the DAG's recommended set
    assert "the DAG's adjusted set {z1, m} is not valid" in note and "m is a mediator" in note


def test_a_graph_that_adjustment_cannot_identify_warns_above_every_estimate():
    frame = _frame()
    project = _project([], latent_confounder=True)
    updated = est.estimate_project(project, frame, EstimationSpec(treatment="x", outcome="y", covariates=["z1", "z2"]),
                                   refutations=False)
    first = updated.estimation.warnings[0]
    assert first.startswith("The DAG says no adjustment set identifies this effect")
    assert "not the causal effect" in first
    # the data really are confounded by u: the adjusted estimates miss the true 1.5 by far more than their SEs
    aipw = next(row for row in updated.estimation.estimates if row.method == "aipw")
    assert abs(aipw.estimate - 1.5) > 4 * aipw.std_error


def test_an_identified_graph_gets_no_such_warning():
    frame = _frame(confounded=False)
    updated = est.estimate_project(_project([]), frame, EstimationSpec(treatment="x", outcome="y",
                                                                        covariates=["z1", "z2"]), refutations=False)
    assert not any("no adjustment set identifies" in warning for warning in updated.estimation.warnings)
    aipw = next(row for row in updated.estimation.estimates if row.method == "aipw")
    assert aipw.ci_low <= 1.5 <= aipw.ci_high


def test_an_adjusted_set_holding_the_treatment_never_reaches_the_covariates():
    covariates, note = est.default_covariates(_project(["z1", "x"]), _frame())
    assert sorted(covariates) == ["z1", "z2"] and "is not valid" in note


def test_an_adjusted_node_missing_from_the_graph_falls_back_to_the_dictionary_and_says_why():
    covariates, note = est.default_covariates(_project(["nope"]), _frame())
    assert sorted(covariates) == ["p", "z1", "z2"]  # eligible pre-treatment columns; m is post-treatment
    assert "not a node of the graph" in note
