"""Grouped fold assignments are cached (the specification curve asks for the same rows' folds many times): the
cached answer must be exactly the computed one, for any treatment, groups, k and seed, and a caller that edits
its array must not change what the next caller gets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core.estimation import crossfit
from causal_core.estimation.crossfit import _assign_folds, assign_folds


@st.composite
def _grouped_rows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(2, 5))
    n_groups = draw(st.integers(4 * k, 60))
    groups = rng.integers(0, n_groups, size=draw(st.integers(n_groups, 300)))
    groups[:n_groups] = np.arange(n_groups)  # every label used
    t = (rng.random(groups.size) < 0.5).astype(float)
    t[:2] = [0.0, 1.0]
    return t, groups, k, draw(st.integers(0, 10_000))


@settings(max_examples=60, deadline=None)
@given(case=_grouped_rows())
def test_the_cached_folds_are_the_computed_folds_and_a_callers_edit_does_not_leak(case):
    t, groups, k, seed = case
    expected = _assign_folds(t, groups, k, seed)
    first = assign_folds(t, groups, k, seed)
    np.testing.assert_array_equal(first, expected)
    first[:] = -1  # the caller owns its copy
    np.testing.assert_array_equal(assign_folds(t, groups, k, seed), expected)
    for label in np.unique(groups):  # a group never straddles folds
        assert np.unique(expected[groups == label]).size == 1


def test_another_seed_or_k_is_another_entry_and_the_cache_stays_bounded(monkeypatch):
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 40, size=400)
    t = (rng.random(400) < 0.5).astype(float)
    assert not np.array_equal(assign_folds(t, groups, 5, 1), assign_folds(t, groups, 5, 2))
    assert assign_folds(t, groups, 3, 1).max() == 2
    monkeypatch.setattr(crossfit, "FOLD_CACHE_BYTES", 400 * 8 * 3)  # room for three assignments of 400 rows
    for seed in range(10):
        assign_folds(t, groups, 5, 100 + seed)
    assert sum(value.nbytes for value in crossfit._FOLD_CACHE.values()) <= 400 * 8 * 3
