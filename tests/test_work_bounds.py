"""Bounds on work: each oversized request is refused in well under a second, with the limit named.

On a shared class server one student must not pin a core for minutes: ``bs(x, df=2000)`` ran past 120 s and
713 MB, and ``--bootstrap 1000000`` had no cap on the CLI. These tests time the refusals.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from causal_core import estimation as est
from causal_core.cli import main
from causal_core.estimation import formula_gate, terms
from causal_core.estimation.constants import (
    MAX_BOOTSTRAP,
    MAX_DESIGN_COLUMNS,
    MAX_POLY_DEGREE,
    MAX_SPLINE_DF,
    MAX_WILKINSON_POWER,
    EstimationError,
)
from causal_core.estimation.frontdoor import FrontdoorSpec, estimate_frontdoor
from causal_core.project import EstimationSpec


def frame(n: int = 20_000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({
        "t": rng.binomial(1, 0.5, n), "y": rng.normal(size=n) + x, "x": x, "w": rng.normal(size=n),
        "m": rng.binomial(1, 0.5, n), "id": np.arange(n).astype(str), "group": rng.choice(list("abcdefghij"), n),
    })


def refused_quickly(call, match: str, error=EstimationError) -> None:
    """``call()`` raises ``error`` matching ``match`` in under a second."""
    start = time.perf_counter()
    with pytest.raises(error, match=match):
        call()
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("formula", "match"),
    [
        ("bs(x, df=2000)", f"outside 1..{MAX_SPLINE_DF}"),
        ("cr(x, df=21, constraints='center')", f"outside 1..{MAX_SPLINE_DF}"),
        ("poly(x, degree=50)", f"outside 1..{MAX_POLY_DEGREE}"),
        ("bs(x, knots=[" + ", ".join(str(k / 100) for k in range(40)) + "])", f"limit of {MAX_SPLINE_DF}"),
        ("(x + w + C(group))**4", f"from 1 to {MAX_WILKINSON_POWER}"),
        ("x + " * 25_000 + "w", "limit is 2,000 characters"),
        ("C(id)", f"more than {MAX_DESIGN_COLUMNS} design columns"),
        ("C(group):bs(x, df=20):poly(w, degree=6)", f"more than {MAX_DESIGN_COLUMNS} design columns"),
    ],
)
def test_oversized_formulas_are_refused_fast_with_the_limit_named(formula, match):
    data = frame()
    refused_quickly(lambda: terms.term_matrix(data, formula, "outcome terms"), match)
    refused_quickly(lambda: terms.check_term_columns(formula, "outcome terms", data, list(data.columns)), match)


def test_the_design_column_estimate_bounds_the_real_width():
    data = frame(2_000)
    for formula in ("C(group):x", "C(group)*bs(x, df=5)", "(x + w + C(group))**2", "poly(x, degree=3):w"):
        gated = formula_gate.gate_formula(formula, "outcome terms", list(data.columns))
        width = terms.term_matrix(data, formula, "outcome terms").X.shape[1]
        assert width <= formula_gate.estimate_design_columns(gated, data) <= MAX_DESIGN_COLUMNS


def test_the_largest_allowed_spline_still_runs():
    matrix = terms.term_matrix(frame(5_000), f"bs(x, df={MAX_SPLINE_DF})", "outcome terms")
    assert matrix.X.shape == (5_000, MAX_SPLINE_DF)


@pytest.mark.parametrize("command", ["estimate", "design-estimate"])
def test_cli_bootstrap_above_the_cap_exits_2_fast(command, capsys, tmp_path):
    data = tmp_path / "data.csv"
    frame(500).to_csv(data, index=False)
    argv = [command, "--data", str(data), "--treatment", "t", "--outcome", "y", "--bootstrap", "1000000"]
    argv += ["--covariates", "x"] if command == "estimate" else ["--design", "frontdoor", "--mediators", "m"]
    start = time.perf_counter()
    assert main(argv) == 2
    assert time.perf_counter() - start < 1.0
    assert f"limit of {MAX_BOOTSTRAP:,}" in capsys.readouterr().err


def test_a_hostile_cli_formula_exits_2_before_the_data_is_read(tmp_path, capsys):
    start = time.perf_counter()
    code = main(["estimate", "--data", str(tmp_path / "never-read.csv"), "--treatment", "t", "--outcome", "y",
                 "--covariates", "x", "--terms", "bs(x, df=2000)"])
    assert code == 2 and time.perf_counter() - start < 1.0
    assert f"outside 1..{MAX_SPLINE_DF}" in capsys.readouterr().err


def test_spec_and_estimators_refuse_bootstrap_above_the_cap():
    refused_quickly(lambda: EstimationSpec(treatment="t", outcome="y", bootstrap=MAX_BOOTSTRAP + 1),
                    f"limit is {MAX_BOOTSTRAP:,}", ValidationError)
    assert EstimationSpec(treatment="t", outcome="y", bootstrap=MAX_BOOTSTRAP).bootstrap == MAX_BOOTSTRAP
    data = frame(400)
    hostile = EstimationSpec(treatment="t", outcome="y", covariates=["x"]).model_copy(update={"bootstrap": 10**6})
    with pytest.raises(EstimationError, match=f"limit is {MAX_BOOTSTRAP:,}"):
        est.run_estimation(data, hostile, refutations=False)
    front = FrontdoorSpec(treatment="t", outcome="y", mediators=["m"], bootstrap=10**6)
    refused_quickly(lambda: estimate_frontdoor(data, front), f"limit is {MAX_BOOTSTRAP:,}")
