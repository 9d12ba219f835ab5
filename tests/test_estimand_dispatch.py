"""The estimand-specific arithmetic is exhaustive over :class:`Estimand` and refuses anything else by name.

Before, ``_ipw_weights(t, e, "att")`` returned the ATE's weights and ``aipw_scores(..., "LATE")`` the ATC's: a
stray string fell through to a default branch. The properties below hold for every estimand on generated data,
so they also pin the three weightings to one formula: weight = P(target | x) / P(own arm | x).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from causal_core.estimation.estimators import (
    _arm_weight_derivatives,
    _ipw_weights,
    _target_weights,
    bounds_note,
    effective_bounds,
)
from causal_core.methods import Estimand, MethodRegistryError

_PROBABILITIES = st.floats(min_value=0.01, max_value=0.99, allow_nan=False)
_TARGET_SHARE = {Estimand.ATE: lambda e: np.ones_like(e), Estimand.ATT: lambda e: e, Estimand.ATC: lambda e: 1 - e}


@st.composite
def _arms_and_propensities(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 40))
    t = draw(arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0])))
    e = draw(arrays(np.float64, n, elements=_PROBABILITIES))
    return t, e


@settings(max_examples=60, deadline=None)
@given(data=_arms_and_propensities(), estimand=st.sampled_from(list(Estimand)))
def test_each_arm_weight_is_the_target_share_over_the_arms_propensity(data, estimand):
    t, e = data
    w1, w0 = _ipw_weights(t, e, estimand)
    share = _TARGET_SHARE[estimand](e)
    np.testing.assert_allclose(w1 * e, t * share, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w0 * (1 - e), (1 - t) * share, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(_target_weights(t, estimand).astype(bool),
                                  {Estimand.ATE: np.ones_like(t), Estimand.ATT: t, Estimand.ATC: 1 - t}[estimand] > 0)


@settings(max_examples=60, deadline=None)
@given(data=_arms_and_propensities(), estimand=st.sampled_from(list(Estimand)))
def test_weight_derivatives_equal_the_numerical_derivative_in_logit_e(data, estimand):
    t, e = data
    step = 1e-6
    eta = np.log(e / (1 - e))
    up, down = 1 / (1 + np.exp(-(eta + step))), 1 / (1 + np.exp(-(eta - step)))
    numeric = [(a - b) / (2 * step) for a, b in zip(_ipw_weights(t, up, estimand), _ipw_weights(t, down, estimand),
                                                      strict=True)]
    for analytic, finite_difference in zip(_arm_weight_derivatives(t, e, estimand), numeric, strict=True):
        np.testing.assert_allclose(analytic, finite_difference, rtol=1e-5, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(lo=st.floats(0.0, 0.2), hi=st.floats(0.8, 1.0), estimand=st.sampled_from(list(Estimand)))
def test_bounds_bind_only_where_the_estimands_weights_explode(lo, hi, estimand):
    low, high = effective_bounds((lo, hi), estimand)
    assert low == (0.0 if estimand is Estimand.ATT else lo)
    assert high == (1.0 if estimand is Estimand.ATC else hi)
    assert bounds_note((lo, hi), estimand).startswith(f"{estimand.value}:")


@settings(max_examples=80, deadline=None)
@given(word=st.text(max_size=8).filter(lambda text: text not in {"ATE", "ATT", "ATC"}))
def test_a_stray_estimand_string_is_refused_by_every_branching_function(word):
    t, e = np.array([0.0, 1.0]), np.array([0.4, 0.6])
    for call in (lambda: _ipw_weights(t, e, word), lambda: _target_weights(t, word),
                 lambda: effective_bounds((0.01, 0.99), word), lambda: bounds_note((0.01, 0.99), word),
                 lambda: _arm_weight_derivatives(t, e, word)):
        with pytest.raises(MethodRegistryError, match="Unknown estimand"):
            call()


@pytest.mark.parametrize("word", ["att", "LATE", " ATE", "ATE "])
def test_the_near_misses_that_used_to_fall_through_are_refused(word):
    with pytest.raises(MethodRegistryError, match="ATE, ATT, ATC|one of"):
        _ipw_weights(np.array([1.0]), np.array([0.5]), word)


def test_the_estimands_names_and_target_arms_come_from_the_enum():
    from causal_core.memo.sections import ESTIMAND_NAMES

    assert [estimand.target_arm for estimand in Estimand] == [None, 1, 0]
    assert ESTIMAND_NAMES == {"ATE": "average treatment effect (ATE)",
                              "ATT": "average treatment effect on the treated (ATT)",
                              "ATC": "average treatment effect on the controls (ATC)"}
    assert [estimand.population for estimand in Estimand] == ["all units", "all treated units", "all control units"]
