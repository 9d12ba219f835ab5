"""Smoke test of the random-family coverage benchmark (bench/coverage_family.py): a few designs × 30 replications.

Not a coverage claim (30 replications give a Monte Carlo SE of ≈ 0.04): it checks that the family draws the
stresses it promises, that every replication goes through the page's path with its labels, and that the table
has the structure docs/coverage.md reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench import coverage_family as family

REPS = 30


@pytest.fixture(scope="module")
def small_run() -> tuple[list[dict], pd.DataFrame, pd.DataFrame]:
    designs = [
        {"id": "d00", "kind": "adjust", "heterogeneity": "strong", "cluster_modifier": False, "ps_misspecified": True,
         "outcome_misspecified": False, "overlap": "good", "clusters": 0, "binary": False},
        {"id": "d01", "kind": "adjust", "heterogeneity": "mild", "cluster_modifier": True, "ps_misspecified": False,
         "outcome_misspecified": False, "overlap": "good", "clusters": 40, "binary": True},
        {"id": "d02", "kind": "iv", "instrument": "moderate"},
    ]
    truths = {design["id"]: family.truth(design, 3) for design in designs}
    draws = family.run(designs, REPS, seed=5, jobs=1)
    return designs, draws, family.summarise(draws, truths)


def test_the_family_draws_every_stress_with_a_fixed_seed():
    rng = np.random.default_rng(2026)
    designs = [family.draw_design(rng, i) for i in range(60)]
    again = [family.draw_design(np.random.default_rng(2026), 0)]
    assert again[0] == designs[0]
    adjust = [d for d in designs if d["kind"] == "adjust"]
    assert {d["clusters"] for d in adjust} == set(family.CLUSTER_CHOICES)
    assert {d["heterogeneity"] for d in adjust} == {"none", "mild", "strong"}
    for key in ("ps_misspecified", "outcome_misspecified", "binary", "cluster_modifier"):
        assert {d[key] for d in adjust} == {True, False}, key
    assert {d["overlap"] for d in adjust} == {"good", "poor"}
    assert {d["instrument"] for d in designs if d["kind"] == "iv"} == {"moderate", "strong"}


def test_truths_are_textbook_values_where_known():
    constant = {"id": "x", "kind": "adjust", "heterogeneity": "none", "cluster_modifier": False,
                "ps_misspecified": False, "outcome_misspecified": False, "overlap": "poor", "clusters": 0,
                "binary": False}
    assert family.truth(constant, 1) == {"ATE": 1.0, "ATT": 1.0, "ATC": 1.0}
    strong = family.truth({**constant, "heterogeneity": "strong"}, 1)
    assert strong["ATE"] == pytest.approx(1.0, abs=0.01) and strong["ATT"] > 1.3 > 0.7 > strong["ATC"]
    assert family.truth({"kind": "iv"}, 1) == {"IV": 2.0}


def test_the_table_has_every_row_with_labels(small_run):
    designs, draws, table = small_run
    assert set(draws["design"]) == {"d00", "d01", "d02"}
    adjusted = table[table["design"] != "d02"]
    assert set(adjusted["method"]) == {"naive", "regression", "gcomp", "ipw", "aipw"}
    assert set(adjusted["estimand"]) == {"ATE", "ATT", "ATC"}
    assert (table["reps"] <= REPS).all() and (table.loc[table["method"] == "gcomp", "reps"] == REPS).all()
    for column in ("bias", "se_sd", "coverage", "coverage_mcse", "labelled_share", "unlabelled_coverage", "flag"):
        assert column in table.columns
    assert table["labelled_share"].between(0, 1).all()
    naive = table[table["method"] == "naive"]
    assert (naive["labelled_share"] == 1.0).all()  # the raw difference always carries its note
    wrong_ps = table[(table["design"] == "d00") & (table["method"] == "ipw") & (table["estimand"] == "ATT")].iloc[0]
    assert wrong_ps["labelled_share"] >= 0.8  # a misspecified propensity is seen by the diagnostics
    iv = table[table["design"] == "d02"].iloc[0]
    assert iv["labelled_share"] == 1.0  # F ≈ 30 is below the tF bar: approximate every time
    assert np.isfinite(table["coverage"]).all()


def test_the_markdown_names_designs_and_flags(small_run):
    designs, _, table = small_run
    text = family.markdown(table, {d["id"]: family.describe(d) for d in designs})
    assert text.count("\n") == len(table) + 1
    assert "d00 τ strong, ps wrong" in text and "d02 IV, moderate instrument" in text
