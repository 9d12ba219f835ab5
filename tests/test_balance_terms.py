"""Issue 25 §4: with model terms on, the balance table and love plot keep every level of a categorical.

The terms' design drops the reference level (Treatment coding), which hid Year=2000, the largest imbalance in
the issue's upload; balance describes the covariates, so it is the same with and without terms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core.estimation import run_estimation
from causal_core.estimation.charts import love_plot
from causal_core.project import EstimationSpec


def _frame(seed: int, levels: int) -> pd.DataFrame:
    """The reference level (the first, sorted as text) is the one the treatment favours: its SMD is largest."""
    rng = np.random.default_rng(seed)
    n = 500
    year = rng.integers(0, levels, n) + 2000
    size = rng.normal(size=n)
    t = (rng.uniform(size=n) < np.where(year == 2000, 0.65, 0.3)).astype(int)
    y = size + 0.5 * t + (year == 2000) + rng.normal(size=n)
    return pd.DataFrame({"t": t, "y": y, "Year": year.astype(str), "size": size})


def _balance(frame: pd.DataFrame, terms: str | None) -> dict[str, float]:
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["Year", "size"], estimand="ATT", outcome_terms=terms)
    result = run_estimation(frame, spec, sensitivity=False, refutations=False)
    return {row.covariate: row.smd_before for row in result.balance}, result


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), levels=st.integers(2, 4))
def test_terms_keep_every_level_and_the_same_smds(seed, levels):
    frame = _frame(seed, levels)
    plain, _ = _balance(frame, None)
    with_terms, result = _balance(frame, "C(Year) + size + I(size**2)")
    expected = {f"Year[{2000 + k}]" for k in range(levels) if str(2000 + k) in set(frame["Year"])}
    assert expected <= set(with_terms)
    assert with_terms == pytest.approx(plain)
    treated, control = frame[frame.t == 1], frame[frame.t == 0]
    share_t, share_c = (treated.Year == "2000").mean(), (control.Year == "2000").mean()
    pooled = np.sqrt((treated.Year.eq("2000").var(ddof=1) + control.Year.eq("2000").var(ddof=1)) / 2)
    assert with_terms["Year[2000]"] == pytest.approx((share_t - share_c) / pooled)
    spec = str(love_plot(result).to_dict())
    assert "Year[2000]" in spec
