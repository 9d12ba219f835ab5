"""Refutation tests with plain verdicts (the DoWhy trio, implemented on our own estimators).

Each test changes the data in a way whose effect on a *valid* analysis is known in advance and checks
that the estimate behaves as expected. A PASS is not proof of causality; a WARN is a reason to stop and look.
* placebo treatment: the treatment shuffled at random → the estimate should be ≈ 0;
* random common cause: an independent random covariate added → the estimate should be ≈ unchanged;
* data subsets: random 80 % subsets → the estimate should be ≈ unchanged on average.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from causal_core.estimation import CoreFit, Design
    from causal_core.project import EstimateRow, EstimationSpec

PLACEBO_DRAWS = 3
PLACEBO_SHARE = 0.1  # a placebo "effect" below 10 % of the real estimate cannot explain it
SUBSETS = 5
SUBSET_FRACTION = 0.8
RCC_TOLERANCE_SE = 0.25  # a random covariate may move the estimate by at most a quarter of its SE
SUBSET_TOLERANCE_SE = 0.5  # ~2.2 sd of the mean subset deviation (0.5·SE/√5) under a stable estimator


def _fmt(value: float) -> str:
    return f"{value:+.3f}".replace("-", "−")


def _primary(core: CoreFit) -> EstimateRow | None:
    return core.row("aipw") or core.row("regression")


def placebo_treatment(design: Design, spec: EstimationSpec, original: EstimateRow, estimate_fn: Callable, rng) -> dict[str, Any]:
    """Shuffle the treatment PLACEBO_DRAWS times; the mean placebo effect should be ≈ 0.

    PASS when the mean is within 1.96 of its standard error (SE/√draws) of zero, or below a tenth of the real
    estimate (a shuffled treatment that reproduces under 10 % of the effect cannot be what drives it).
    """
    rows = []
    for _ in range(PLACEBO_DRAWS):
        placebo = design.subset(np.ones(design.n, dtype=bool))
        placebo.t = rng.permutation(design.t)
        rows.append(estimate_fn(placebo, spec, (original.method,)).row(original.method))
    mean = float(np.mean([row.estimate for row in rows]))
    se = float(np.sqrt(np.mean([row.std_error**2 for row in rows])) / np.sqrt(len(rows)))
    low, high = mean - 1.96 * se, mean + 1.96 * se
    small = abs(mean) <= PLACEBO_SHARE * abs(original.estimate)
    passed = low <= 0 <= high or small
    why = "indistinguishable from zero" if low <= 0 <= high else f"under {PLACEBO_SHARE:.0%} of the real estimate"
    sentence = (
        f"PASS — with {spec.treatment} shuffled at random ({len(rows)} shuffles) the estimate averages {_fmt(mean)} "
        f"(95 % CI {_fmt(low)} to {_fmt(high)}), {why}, as expected: the method does not manufacture an effect out "
        f"of the data's structure (real estimate {_fmt(original.estimate)})."
        if passed else
        f"WARN — a randomly shuffled {spec.treatment} still shows an average 'effect' of {_fmt(mean)} (95 % CI "
        f"{_fmt(low)} to {_fmt(high)}, excluding zero; real estimate {_fmt(original.estimate)}): the estimator picks "
        "up something other than the treatment. Investigate before trusting the main estimate."
    )
    return {
        "test": "placebo treatment", "expected": "≈ 0", "expected_value": 0.0, "observed": mean,
        "observed_ci": [low, high], "placebo_estimates": [row.estimate for row in rows], "original": original.estimate,
        "verdict": "PASS" if passed else "WARN", "sentence": sentence,
    }


def random_common_cause(design: Design, spec: EstimationSpec, original: EstimateRow, estimate_fn: Callable, rng) -> dict[str, Any]:
    augmented = design.with_column("random_common_cause", rng.standard_normal(design.n))
    row = estimate_fn(augmented, spec, (original.method,)).row(original.method)
    change = row.estimate - original.estimate
    tolerance = RCC_TOLERANCE_SE * (original.std_error or 0.0)
    passed = abs(change) <= tolerance
    sentence = (
        f"PASS — adding a random variable as an extra confounder moved the estimate from {_fmt(original.estimate)} "
        f"to {_fmt(row.estimate)} (change {_fmt(change)}, within a quarter of its standard error), as expected."
        if passed else
        f"WARN — adding a purely random covariate moved the estimate from {_fmt(original.estimate)} to "
        f"{_fmt(row.estimate)} (change {_fmt(change)}, more than a quarter of its standard error): the estimate is "
        "fragile to the model specification."
    )
    return {
        "test": "random common cause", "expected": f"≈ {_fmt(original.estimate)} (unchanged)",
        "expected_value": original.estimate, "observed": row.estimate, "change": change, "tolerance": tolerance,
        "original": original.estimate, "verdict": "PASS" if passed else "WARN", "sentence": sentence,
    }


def data_subsets(design: Design, spec: EstimationSpec, original: EstimateRow, estimate_fn: Callable, rng) -> dict[str, Any]:
    size = int(round(SUBSET_FRACTION * design.n))
    estimates = []
    for _ in range(SUBSETS):
        mask = np.zeros(design.n, dtype=bool)
        mask[rng.choice(design.n, size=size, replace=False)] = True
        subset = design.subset(mask)
        if min(subset.t.sum(), subset.n - subset.t.sum()) < 10:
            continue
        estimates.append(estimate_fn(subset, spec, (original.method,)).row(original.method).estimate)
    values = np.array(estimates)
    mean = float(values.mean())
    change = mean - original.estimate
    tolerance = SUBSET_TOLERANCE_SE * (original.std_error or 0.0)
    passed = abs(change) <= tolerance
    spread = f"range {_fmt(values.min())} to {_fmt(values.max())}"
    sentence = (
        f"PASS — on {values.size} random {SUBSET_FRACTION:.0%} subsets the estimate averaged {_fmt(mean)} ({spread}), "
        f"close to the full-data {_fmt(original.estimate)}: the result does not hinge on a few rows."
        if passed else
        f"WARN — on {values.size} random {SUBSET_FRACTION:.0%} subsets the estimate averaged {_fmt(mean)} ({spread}), "
        f"away from the full-data {_fmt(original.estimate)} by more than half a standard error: a few rows drive it."
    )
    return {
        "test": "data subsets", "expected": f"≈ {_fmt(original.estimate)} (unchanged)",
        "expected_value": original.estimate, "observed": mean, "subset_estimates": values.tolist(), "change": change,
        "tolerance": tolerance, "original": original.estimate, "verdict": "PASS" if passed else "WARN",
        "sentence": sentence,
    }


def run_refutations(design: Design, spec: EstimationSpec, core: CoreFit, estimate_fn: Callable) -> list[dict[str, Any]]:
    """The three refutations of the primary (doubly robust) estimate, seeded by ``spec.seed``.

    ``estimate_fn(design, spec, methods) -> CoreFit`` is estimation.estimate_core (passed in to avoid an import cycle).
    """
    original = _primary(core)
    if original is None or original.std_error is None:
        return []
    out = []
    for offset, test in enumerate((placebo_treatment, random_common_cause, data_subsets)):
        rng = np.random.default_rng(spec.seed + 1000 * (offset + 1))
        result = test(design, spec, original, estimate_fn, rng)
        result["method"] = original.method
        out.append(result)
    return out
