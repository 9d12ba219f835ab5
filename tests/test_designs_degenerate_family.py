"""The IV and front-door estimators on a generated family of degenerate-but-legal data: finite, saveable results
or a WorkbenchInputError that names the problem. Never a bare numerical exception or a pydantic error from the
typed diagnostics (IVDiagnostics / FrontdoorDiagnostics refuse NaN and unknown keys where they are made).

The family: irrelevant, weak, perfect, constant and duplicated instruments; an exact-fit outcome; constant,
binary and collinear covariates; one-level, two-level and continuous mediators; tiny arms; scales 1e-9..1e9.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from causal_core.errors import WorkbenchInputError
from causal_core.estimation.frontdoor import MIN_COMPLETED_REPLICATES, FrontdoorSpec, estimate_frontdoor
from causal_core.estimation.iv import IVSpec, estimate_iv

_INSTRUMENTS = ["relevant", "weak", "irrelevant", "perfect", "constant", "duplicate"]
_MEDIATORS = ["binary", "three levels", "one level", "continuous", "equals treatment"]
_COVARIATE = ["none", "normal", "constant", "binary", "collinear with the instrument"]


def _covariate(kind: str, rng: np.random.Generator, n: int, anchor: np.ndarray) -> np.ndarray | None:
    return {"none": None, "normal": rng.normal(size=n), "constant": np.full(n, 2.0),
            "binary": (rng.random(n) < 0.5).astype(float), "collinear with the instrument": 3.0 * anchor}[kind]


@st.composite
def _iv_case(draw: st.DrawFn) -> tuple[pd.DataFrame, IVSpec]:
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    n = draw(st.sampled_from([30, 200, 800]))
    u = rng.normal(size=n)
    z = rng.normal(size=n)
    kinds = draw(st.lists(st.sampled_from(_INSTRUMENTS), min_size=1, max_size=2))
    columns: dict[str, np.ndarray] = {}
    strength = {"relevant": 1.0, "weak": 0.05, "irrelevant": 0.0, "perfect": 1.0, "constant": 0.0, "duplicate": 1.0}
    d = strength[kinds[0]] * z + (0.0 if kinds[0] == "perfect" else 1.0) * u + rng.normal(size=n) * 0.1
    for j, kind in enumerate(kinds):
        own = z + 0.7 * rng.normal(size=n) if j else z  # a second relevant instrument is related, not a copy
        columns[f"z{j}"] = np.full(n, 1.0) if kind == "constant" else (z.copy() if kind == "duplicate" else own)
    binary = draw(st.booleans())
    treatment = (d > np.median(d)).astype(float) if binary else d
    scale = draw(st.sampled_from([1e-9, 1.0, 1e9]))
    exact = draw(st.booleans())
    columns["d"] = treatment
    columns["y"] = scale * (2.0 * treatment + (0.0 if exact else u + rng.normal(size=n)))
    covariate = _covariate(draw(st.sampled_from(_COVARIATE)), rng, n, z)
    covariates = []
    if covariate is not None:
        columns["x"] = covariate
        covariates = ["x"]
    spec = IVSpec(treatment="d", outcome="y", instruments=[f"z{j}" for j in range(len(kinds))],
                  covariates=covariates, se=draw(st.sampled_from(["robust", "unadjusted"])))
    return pd.DataFrame(columns), spec


@st.composite
def _frontdoor_case(draw: st.DrawFn) -> tuple[pd.DataFrame, FrontdoorSpec]:
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    n = draw(st.sampled_from([30, 200, 800]))
    share = draw(st.sampled_from([0.05, 0.5]))
    t = (rng.random(n) < share).astype(int)
    t[:2], t[2:4] = 1, 0
    kind = draw(st.sampled_from(_MEDIATORS))
    m = {"binary": ((t + rng.random(n)) > 0.8).astype(int), "three levels": np.clip(t + rng.integers(0, 2, n), 0, 2),
         "one level": np.zeros(n, dtype=int), "continuous": t + rng.normal(size=n), "equals treatment": t.copy()}[kind]
    exact = draw(st.booleans())
    y = 1.5 * m + (0.0 if exact else rng.normal(size=n))
    columns = {"t": t, "m": m, "y": y * draw(st.sampled_from([1e-9, 1.0, 1e9]))}
    covariate = _covariate(draw(st.sampled_from(_COVARIATE[:4])), rng, n, m.astype(float))
    covariates = []
    if covariate is not None:
        columns["w"] = covariate
        covariates = ["w"]
    spec = FrontdoorSpec(treatment="t", outcome="y", mediators=["m"], covariates=covariates,
                         method=draw(st.sampled_from(["auto", "plugin", "linear"])),
                         bootstrap=draw(st.sampled_from([0, MIN_COMPLETED_REPLICATES])))
    return pd.DataFrame(columns), spec


def _run_or_refuse(estimate, frame: pd.DataFrame, spec) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = estimate(frame, spec)
    except WorkbenchInputError as error:
        assert str(error).strip(), "a refusal must say why"
        event(f"refused: {str(error)[:50]}")
        return
    event("estimated")
    for row in result.estimates:
        assert np.isfinite(row.estimate)
        assert row.std_error is None or np.isfinite(row.std_error)
        assert row.ci_low is None or row.ci_low <= row.estimate <= row.ci_high
    assert type(result).model_validate_json(result.model_dump_json()) == result


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_iv_case())
def test_iv_on_a_degenerate_design_estimates_or_refuses_by_name(case):
    _run_or_refuse(estimate_iv, *case)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_frontdoor_case())
def test_frontdoor_on_a_degenerate_design_estimates_or_refuses_by_name(case):
    _run_or_refuse(estimate_frontdoor, *case)
