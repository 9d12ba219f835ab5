"""A generated family of degenerate-but-legal data sets: every run either returns finite, saveable results or
refuses with a WorkbenchInputError that names the problem. Never a bare ValueError, ZeroDivisionError, a NaN in
a stored figure, or a pydantic error from the typed diagnostics.

Found by this family: an outcome that is an exact linear function of the treatment and a covariate made the
sensemakr benchmark bound take the square root of a negative number ("math domain error").
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from causal_core import estimation as est
from causal_core.errors import WorkbenchInputError
from causal_core.project import EstimationResult, EstimationSpec

_OUTCOMES = ["exact linear", "exact with an interaction", "noisy", "integer counts", "binary", "rare binary"]
_COVARIATES = ["normal", "constant", "duplicate of another", "collinear", "perfectly predicts treatment", "binary"]


@st.composite
def _degenerate_design(draw: st.DrawFn) -> tuple[pd.DataFrame, EstimationSpec]:
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.sampled_from([40, 120, 400]))
    share = draw(st.sampled_from([0.05, 0.3, 0.5, 0.9]))
    t = (rng.random(n) < share).astype(int)
    t[:2], t[2:4] = 1, 0  # both arms present
    columns: dict[str, np.ndarray] = {"t": t}
    names = []
    for j, kind in enumerate(draw(st.lists(st.sampled_from(_COVARIATES), min_size=1, max_size=3))):
        name = f"x{j}"
        base = rng.normal(size=n)
        previous = columns[names[-1]] if names else base
        columns[name] = {"normal": base, "constant": np.full(n, 3.0), "duplicate of another": previous.copy(),
                         "collinear": 2.0 * previous + 1.0, "perfectly predicts treatment": t * 1.0,
                         "binary": (base > 0).astype(float)}[kind]
        names.append(name)
    scale = draw(st.sampled_from([1e-9, 1.0, 1e9]))
    signal = 2.0 * t + columns[names[0]]
    outcome = draw(st.sampled_from(_OUTCOMES))
    y = {"exact linear": signal, "exact with an interaction": signal + t * columns[names[0]],
         "noisy": signal + rng.normal(size=n), "integer counts": rng.poisson(np.exp(0.3 * t), size=n) * 1.0,
         "binary": (rng.random(n) < 0.3 + 0.2 * t).astype(float),
         "rare binary": (rng.random(n) < 0.02).astype(float)}[outcome]
    columns["y"] = y * (scale if outcome not in ("binary", "rare binary") else 1.0)
    estimand = draw(st.sampled_from(["ATE", "ATT", "ATC"]))
    spec = EstimationSpec(treatment="t", outcome="y", covariates=names, estimand=estimand)
    return pd.DataFrame(columns), spec


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_degenerate_design(), refute=st.booleans())
def test_a_degenerate_design_gives_finite_saveable_results_or_a_named_refusal(case, refute):
    frame, spec = case
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = est.run_estimation(frame, spec, sensitivity=True, refutations=refute)
    except WorkbenchInputError as error:
        assert str(error).strip(), "a refusal must say why"
        event(f"refused: {str(error)[:60]}")
        return
    event("estimated")
    assert result.estimates
    for row in result.estimates:
        assert np.isfinite(row.estimate)
        assert row.std_error is None or np.isfinite(row.std_error)
    assert EstimationResult.model_validate_json(result.model_dump_json()) == result  # saveable and reopens the same
