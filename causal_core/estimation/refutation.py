"""Refutation tests, run on every estimator row shown and worded for what each test can and cannot detect.

Each test changes the data in a way whose effect on a *valid* analysis is known in advance, and checks, per
estimator, that the estimate behaves as expected. A PASS is not support for a causal reading: none of these
tests can detect an unmeasured confounder (the sensitivity section says how strong one would have to be).
A WARN is a reason to stop and look at that estimator.

* placebo treatment: the treatment shuffled at random → every estimate should be ≈ 0;
* outcome invariance: a constant added to the outcome (0/1 outcomes: 1 − y) → every effect unchanged (negated);
* random common cause: an independent random covariate added → the estimate should be ≈ unchanged;
* data subsets: random 80 % subsets → the estimate should be ≈ unchanged on average;
* placebo outcome (negative control, optional): a pre-treatment column as the outcome → the "effect" should be ≈ 0.

Why every verdict is a pure function of the numbers printed next to it: a sentence that says "PASS … as
expected" while its own interval excludes zero teaches the analyst to ignore the test. The placebo intervals
are Bonferroni-widened over the estimators tested, so running the test on five rows does not multiply the
false alarms by five; the level is stated in the sentence.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from causal_core.estimation.constants import METHOD_LABELS, EstimationError, ProgressFn, StopFn
from causal_core.estimation.design import build_design
from causal_core.results import RefutationVerdict

if TYPE_CHECKING:
    from causal_core.estimation.design import Design
    from causal_core.estimation.estimators import CoreFit
    from causal_core.project import EstimateRow, EstimationSpec, Project

EstimateFn = Callable[..., Any]  # estimate_core(design, spec, methods) -> CoreFit

PLACEBO_DRAWS = 3
SUBSETS = 5
SUBSET_FRACTION = 0.8
MIN_PLACEBO_DRAWS = 1
MIN_SUBSETS = 2
RCC_TOLERANCE_SE = 0.25  # a random covariate may move the estimate by at most a quarter of its SE
SUBSET_TOLERANCE_SE = 0.5  # ~2.2 sd of the mean subset deviation (0.5·SE/√5) under a stable estimator
INVARIANCE_TOLERANCE_SE = 0.01  # a location-equivariant estimator moves by rounding error only
FAMILY_ALPHA = 0.05  # placebo intervals: Bonferroni over the estimators tested
REFUTATION_BUDGET_S = 30.0  # planned refits beyond this are reduced (fewer shuffles / subsets), and the text says so

SENSITIVITY_POINTER = (
    "None of these tests can detect an unmeasured confounder: see the sensitivity section (E-value, robustness "
    "value) for how strong one would have to be to change the conclusion."
)
GUIDE: dict[str, dict[str, str]] = {
    "placebo treatment": {
        "detects": "an estimator or pipeline that manufactures an effect (or reports too small an SE) when the "
        "treatment is pure noise: coding bugs, outcome leakage through the row order, a broken variance formula",
        "cannot_detect": "confounding of the real treatment, a bad control, or a wrong model: a shuffled treatment "
        "is unconfounded by construction",
    },
    "outcome invariance": {
        "detects": "an estimator that is not location-equivariant (e.g. Horvitz–Thompson IPW, whose weights do not "
        "sum to the sample size): its effect depends on where the outcome's zero is, which no effect should",
        "cannot_detect": "anything about the data or the causal assumptions: it checks the estimator's algebra",
    },
    "random common cause": {
        "detects": "an estimate that is fragile to the specification: near-separation, extreme weights or "
        "overfitting that an irrelevant covariate can tip",
        "cannot_detect": "a missing real confounder or a bad control: the added column is unrelated to everything",
    },
    "data subsets": {
        "detects": "an estimate driven by a few rows (extreme weights, outliers, a small arm)",
        "cannot_detect": "bias shared by every subset, which includes every kind of confounding",
    },
    "placebo outcome": {
        "detects": "an imbalance between the arms in a pre-treatment column that the adjustment did not remove: if "
        "that column shares causes with the outcome, the same residual confounding would bias the estimate",
        "cannot_detect": "confounders unrelated to the chosen column; and a column the treatment can affect "
        "(not truly pre-treatment) makes a non-zero result expected",
    },
}


class RefutationError(EstimationError):
    """A refutation that cannot run as asked (e.g. an unusable placebo outcome); the message says what to change."""


# ---------------------------------------------------------------------------------------------
# Formatting and shared pieces
# ---------------------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    return f"{value:+.3f}".replace("-", "−")


def _label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def _family_z(n_methods: int) -> tuple[float, str]:
    """The two-sided critical value for a Bonferroni family of placebo intervals, and the level in words."""
    m = max(int(n_methods), 1)
    level = 1 - FAMILY_ALPHA / m
    return float(norm.ppf(1 - FAMILY_ALPHA / (2 * m))), f"{100 * level:.4g} % CI"


def _item(test: str, original: EstimateRow, verdict: str, sentence: str, **numbers: Any) -> RefutationVerdict:
    """One (test, estimator) result; the guide's texts travel with it so any display can say what it means."""
    return RefutationVerdict(
        test=test,
        method=original.method,
        estimator=_label(original.method),
        original=original.estimate,
        verdict=verdict,
        sentence=_named(sentence, _label(original.method)),
        **GUIDE[test],
        **numbers,
    )


def _named(sentence: str, estimator: str) -> str:
    """'PASS — text' → 'PASS — Estimator: text': the verdict stays first (the memo strips it), the estimator next."""
    verdict, _, rest = sentence.partition(" — ")
    return f"{verdict} — {estimator}: {rest}"


def _rows_for(core: Any, originals: list[EstimateRow]) -> list[EstimateRow | None]:
    return [core.row(original.method) for original in originals]


def shuffled_treatment(design: Design, rng: np.random.Generator) -> np.ndarray:
    """A random permutation of the treatment; cluster-level when the treatment is constant within clusters.

    Why: on panel data the treatment is assigned per cluster (team); shuffling rows would give a placebo
    design no real analysis could have, and its cluster-robust SE would be judged on the wrong structure.
    """
    t = design.t
    clusters = design.clusters
    if clusters is not None:
        first = np.zeros(design.n_clusters)
        first[clusters] = t
        if np.array_equal(first[clusters], t):
            return rng.permutation(first)[clusters]
    return rng.permutation(t)


# ---------------------------------------------------------------------------------------------
# The tests (each runs the estimator once or a few times and judges every original row)
# ---------------------------------------------------------------------------------------------
def placebo_treatment_rows(
    design: Design, spec: EstimationSpec, originals: list[EstimateRow], estimate_fn: EstimateFn, rng, draws: int
) -> list[RefutationVerdict]:
    """Shuffle the treatment ``draws`` times; per estimator, the mean placebo effect must be ≈ 0.

    PASS exactly when the stated interval (mean ± z·SE/√draws, z Bonferroni over the estimators) contains 0.
    """
    methods = tuple(original.method for original in originals)
    fits = []
    for _ in range(draws):
        placebo = design.subset(np.ones(design.n, dtype=bool))
        placebo.t = shuffled_treatment(design, rng)
        fits.append(_rows_for(estimate_fn(placebo, spec, methods), originals))
    z, level = _family_z(len(originals))
    out = []
    for index, original in enumerate(originals):
        rows = [fit[index] for fit in fits if fit[index] is not None and fit[index].std_error is not None]
        if not rows:
            continue
        mean = float(np.mean([row.estimate for row in rows]))
        if len(rows) < PLACEBO_DRAWS:
            out.append(_cut_placebo_item(spec, original, mean, [row.estimate for row in rows]))
            continue
        se = float(np.sqrt(np.mean([row.std_error**2 for row in rows])) / np.sqrt(len(rows)))
        low, high = mean - z * se, mean + z * se
        passed = bool(low <= 0 <= high)
        numbers = f"{_fmt(mean)} ({level} {_fmt(low)} to {_fmt(high)}; {_count(len(rows), 'shuffle')})"
        sentence = (
            f"PASS — with {spec.treatment} shuffled at random the estimate averages {numbers}, an interval that "
            f"contains zero, as a valid estimator should give (real estimate {_fmt(original.estimate)})."
            if passed
            else f"WARN — a randomly shuffled {spec.treatment} still shows an average 'effect' of {numbers}, an "
            f"interval that excludes zero (real estimate {_fmt(original.estimate)}): this estimator finds an effect "
            "where there is none, or understates its SE. Investigate before trusting its row."
        )
        out.append(
            _item(
                "placebo treatment", original, "PASS" if passed else "WARN", sentence,
                expected="≈ 0", expected_value=0.0, observed=mean, observed_ci=[low, high], ci_level=level,
                placebo_estimates=[row.estimate for row in rows],
            )
        )
    return out


def _count(count: int, noun: str) -> str:
    """"1 shuffle", "3 shuffles": a count agrees with its noun."""
    return f"{count:,} {noun if count == 1 else noun + 's'}"


def _cut_placebo_item(
    spec: EstimationSpec, original: EstimateRow, mean: float, estimates: list[float]
) -> RefutationVerdict:
    """The time budget left fewer shuffles than planned: no interval and no verdict from so few placebo fits.

    An interval around one or two shuffled estimates would look like evidence it is not, so the sentence says
    the test was cut, how many shuffles ran, what they gave, and how to get the full test.
    """
    ran = _count(len(estimates), "shuffle")
    what = "its placebo estimate is" if len(estimates) == 1 else "their placebo estimates average"
    sentence = (
        f"NOT RUN — the refutation time budget cut this test to {ran} of {PLACEBO_DRAWS} ({what} "
        f"{_fmt(mean)}); that is too few for an interval, so the test gives no verdict. Re-run with fewer "
        "estimators or on a smaller sample to get the full test."
    )
    return _item("placebo treatment", original, "NOT RUN", sentence, expected="≈ 0", expected_value=0.0,
                 observed=mean, observed_ci=None, ci_level="", placebo_estimates=estimates)


def _invariance_transform(design: Design) -> tuple[np.ndarray, float, str]:
    """y + c for a numeric outcome (expected: effects unchanged); 1 − y for a 0/1 outcome (expected: negated).

    A 0/1 outcome is flipped rather than shifted so that its logistic outcome models stay logistic.
    """
    y = design.y
    if design.binary_outcome:
        return 1.0 - y, -1.0, "the 0/1 outcome flipped (1 − y)"
    shift = float(10 * (abs(y.mean()) + y.std()) or 10.0)
    return y + shift, 1.0, f"{shift:,.4g} added to the outcome"


def outcome_invariance_rows(
    design: Design, spec: EstimationSpec, originals: list[EstimateRow], estimate_fn: EstimateFn
) -> list[RefutationVerdict]:
    """Every causal effect is a difference of potential-outcome means, so moving the outcome's zero changes none."""
    methods = tuple(original.method for original in originals)
    shifted = design.subset(np.ones(design.n, dtype=bool))
    shifted.y, sign, how = _invariance_transform(design)
    rows = _rows_for(estimate_fn(shifted, spec, methods), originals)
    out = []
    for original, row in zip(originals, rows, strict=True):
        if row is None:
            continue
        expected = sign * original.estimate
        change = row.estimate - expected
        tolerance = INVARIANCE_TOLERANCE_SE * (original.std_error or 0.0) + 1e-9
        passed = bool(abs(change) <= tolerance)
        sentence = (
            f"PASS — with {how} the estimate is {_fmt(row.estimate)}, as expected ({_fmt(expected)}): the effect "
            "does not depend on where the outcome's zero is."
            if passed
            else f"WARN — with {how} the estimate became {_fmt(row.estimate)} instead of {_fmt(expected)} (off by "
            f"{abs(change) / (original.std_error or 1):.2f} SE): this estimator is not location-equivariant, so its "
            "number depends on the outcome's units, not only on the effect. Do not report this row."
        )
        out.append(
            _item(
                "outcome invariance", original, "PASS" if passed else "WARN", sentence,
                expected=f"{_fmt(expected)} ({'negated' if sign < 0 else 'unchanged'})", expected_value=expected,
                observed=row.estimate, change=change, tolerance=tolerance, transform=how,
            )
        )
    return out


def random_common_cause_rows(
    design: Design, spec: EstimationSpec, originals: list[EstimateRow], estimate_fn: EstimateFn, rng
) -> list[RefutationVerdict]:
    """Add one independent N(0, 1) covariate; an estimate that moves by more than a quarter SE is fragile."""
    targets = [original for original in originals if original.method != "naive"]  # naive adjusts for nothing
    if not targets:
        return []
    augmented = design.with_column("random_common_cause", rng.standard_normal(design.n))
    rows = _rows_for(estimate_fn(augmented, spec, tuple(o.method for o in targets)), targets)
    out = []
    for original, row in zip(targets, rows, strict=True):
        if row is None:
            continue
        change = row.estimate - original.estimate
        tolerance = RCC_TOLERANCE_SE * (original.std_error or 0.0)
        passed = bool(abs(change) <= tolerance)
        sentence = (
            f"PASS — adding a random variable as an extra confounder moved the estimate from "
            f"{_fmt(original.estimate)} to {_fmt(row.estimate)} (change {_fmt(change)}, within a quarter of its "
            "standard error), as expected."
            if passed
            else f"WARN — adding a purely random covariate moved the estimate from {_fmt(original.estimate)} to "
            f"{_fmt(row.estimate)} (change {_fmt(change)}, more than a quarter of its standard error): the estimate "
            "is fragile to the model specification."
        )
        out.append(
            _item(
                "random common cause", original, "PASS" if passed else "WARN", sentence,
                expected=f"≈ {_fmt(original.estimate)} (unchanged)", expected_value=original.estimate,
                observed=row.estimate, change=change, tolerance=tolerance,
            )
        )
    return out


def data_subsets_rows(
    design: Design, spec: EstimationSpec, originals: list[EstimateRow], estimate_fn: EstimateFn, rng, subsets: int
) -> list[RefutationVerdict]:
    """Re-estimate on random 80 % subsets; the mean must stay within half an SE of the full-data estimate."""
    size = int(round(SUBSET_FRACTION * design.n))
    methods = tuple(original.method for original in originals)
    fits = []
    for _ in range(subsets):
        mask = np.zeros(design.n, dtype=bool)
        mask[rng.choice(design.n, size=size, replace=False)] = True
        subset = design.subset(mask)
        if min(subset.t.sum(), subset.n - subset.t.sum()) < 10:
            continue
        fits.append(_rows_for(estimate_fn(subset, spec, methods), originals))
    out = []
    for index, original in enumerate(originals):
        values = np.array([fit[index].estimate for fit in fits if fit[index] is not None])
        if not values.size:
            continue
        mean = float(values.mean())
        change = mean - original.estimate
        tolerance = SUBSET_TOLERANCE_SE * (original.std_error or 0.0)
        passed = bool(abs(change) <= tolerance)
        spread = f"range {_fmt(values.min())} to {_fmt(values.max())}"
        sentence = (
            f"PASS — on {values.size} random {SUBSET_FRACTION:.0%} subsets the estimate averaged {_fmt(mean)} "
            f"({spread}), within half a standard error of the full-data {_fmt(original.estimate)}: the result does "
            "not hinge on a few rows."
            if passed
            else f"WARN — on {values.size} random {SUBSET_FRACTION:.0%} subsets the estimate averaged {_fmt(mean)} "
            f"({spread}), away from the full-data {_fmt(original.estimate)} by more than half a standard error: a "
            "few rows drive it."
        )
        out.append(
            _item(
                "data subsets", original, "PASS" if passed else "WARN", sentence,
                expected=f"≈ {_fmt(original.estimate)} (unchanged)", expected_value=original.estimate,
                observed=mean, subset_estimates=values.tolist(), change=change, tolerance=tolerance,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Placebo (negative-control) outcome
# ---------------------------------------------------------------------------------------------
def placebo_outcome_problem(frame: pd.DataFrame, spec: EstimationSpec, project: Project | None = None) -> str | None:
    """Why ``spec.placebo_outcome`` cannot serve as a negative-control outcome (None = it can)."""
    from causal_core.project import Timing

    column = spec.placebo_outcome
    if not column:
        return None
    if column not in frame.columns:
        available = ", ".join(map(str, frame.columns[:25])) + (" …" if frame.shape[1] > 25 else "")
        return f"The placebo outcome '{column}' is not a column of the data. The data has: {available}."
    roles = {spec.outcome: "the outcome itself", spec.treatment: "the treatment", spec.cluster: "the cluster id"}
    if column in roles:
        return f"The placebo outcome '{column}' is {roles[column]}; pick a pre-treatment column the treatment cannot affect."
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        return f"The placebo outcome '{column}' is not numeric ({series.dtype}); it must be a number or a 0/1 flag."
    if series.nunique(dropna=True) < 2:
        return f"The placebo outcome '{column}' is constant; an effect on a constant is zero by arithmetic, not a test."
    if project is not None:
        entry = project.dictionary_entry(column)
        if entry is not None and entry.simulation_truth:
            return f"'{column}' is simulation truth (never observable); it cannot be a placebo outcome."
        timing = project.timing_of(column)
        if timing not in (Timing.pre_treatment, Timing.unknown):
            return (
                f"The dictionary times '{column}' as {timing.value.replace('_', ' ')}: the treatment can affect it, so a "
                "non-zero 'effect' on it would be expected, not a warning sign. Pick a pre-treatment column."
            )
    return None


def check_placebo_outcome(frame: pd.DataFrame, spec: EstimationSpec, project: Project | None = None) -> None:
    """Raise RefutationError (an EstimationError the page and CLI catch) for an unusable placebo outcome."""
    problem = placebo_outcome_problem(frame, spec, project)
    if problem:
        raise RefutationError(problem)


def placebo_outcome_candidates(project: Project, frame: pd.DataFrame, spec: EstimationSpec) -> list[str]:
    """Columns the page offers as a negative-control outcome: numeric, pre-treatment by the dictionary, observable."""
    from causal_core.project import Timing

    out = []
    for column in frame.columns:
        if project.timing_of(column) != Timing.pre_treatment or column in project.unit_columns:
            continue
        if placebo_outcome_problem(frame, spec.model_copy(update={"placebo_outcome": column}), project) is None:
            out.append(column)
    return out


def placebo_outcome_design(frame: pd.DataFrame, design: Design, spec: EstimationSpec) -> tuple[Design, EstimationSpec]:
    """The analysis's own rows (after missing-value drops and trimming) with the placebo column as the outcome.

    The placebo column leaves the adjustment set: adjusting for a column while using it as the outcome gives
    zero by arithmetic. Rows where it is missing are dropped (the design says how many).
    """
    check_placebo_outcome(frame, spec)
    column = spec.placebo_outcome
    terms = {
        name: _drop_terms_naming(getattr(spec, name), column)
        for name in ("outcome_terms", "propensity_terms", "treatment_interactions")
        if hasattr(spec, name)
    }
    placebo_spec = spec.model_copy(
        update={
            **terms,
            "outcome": column,
            "covariates": [c for c in spec.covariates if c != column],
            "categorical": [c for c in spec.categorical if c != column],
            "overrides": [c for c in spec.overrides if c != column],
            "trim": None,
            "bootstrap": 0,
            "placebo_outcome": None,
        }
    )
    rows = frame.iloc[design.kept] if design.kept is not None else frame
    try:
        placebo = build_design(rows.reset_index(drop=True), placebo_spec)
    except EstimationError as error:
        raise RefutationError(f"The placebo outcome '{column}' cannot be analysed: {error}") from error
    return placebo, placebo_spec


def _top_level_terms(formula: str) -> list[str]:
    """The '+'-separated terms of a right-hand side, ignoring '+' inside parentheses (I(a + b), cr(x, df=4))."""
    terms, depth, start = [], 0, 0
    for index, char in enumerate(formula):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "+" and depth == 0:
            terms.append(formula[start:index])
            start = index + 1
    terms.append(formula[start:])
    return [term.strip() for term in terms if term.strip()]


def _drop_terms_naming(formula: str | None, column: str) -> str | None:
    """The formula without the terms that use ``column`` (it is the outcome of the placebo run); None if none left."""
    if not formula:
        return formula
    pattern = re.compile(rf"(?<![\w.]){re.escape(column)}(?![\w])")
    kept = [term for term in _top_level_terms(formula) if not pattern.search(term)]
    return " + ".join(kept) or None


def placebo_outcome_rows(
    frame: pd.DataFrame, design: Design, spec: EstimationSpec, originals: list[EstimateRow], estimate_fn: EstimateFn
) -> list[RefutationVerdict]:
    """Each estimator's 'effect' of the treatment on a pre-treatment column: PASS when its interval contains 0."""
    placebo, placebo_spec = placebo_outcome_design(frame, design, spec)
    column = spec.placebo_outcome
    rows = _rows_for(estimate_fn(placebo, placebo_spec, tuple(o.method for o in originals)), originals)
    z, level = _family_z(len(originals))
    removed = " (taken out of the adjustment set for this test)" if column in spec.covariates else ""
    out = []
    for original, row in zip(originals, rows, strict=True):
        if row is None or row.std_error is None:
            continue
        low, high = row.estimate - z * row.std_error, row.estimate + z * row.std_error
        passed = bool(low <= 0 <= high)
        numbers = f"{_fmt(row.estimate)} ({level} {_fmt(low)} to {_fmt(high)}, n = {placebo.n:,})"
        sentence = (
            f"PASS — the 'effect' of {spec.treatment} on the pre-treatment column {column}{removed} is {numbers}, an "
            "interval that contains zero, as it must be for a column the treatment cannot affect."
            if passed
            else f"WARN — the 'effect' of {spec.treatment} on the pre-treatment column {column}{removed} is {numbers}, "
            f"an interval that excludes zero: the arms still differ in {column} after this adjustment. If {column} "
            "shares causes with the outcome, the main estimate carries the same residual confounding."
        )
        out.append(
            _item(
                "placebo outcome", original, "PASS" if passed else "WARN", sentence,
                expected="≈ 0", expected_value=0.0, observed=row.estimate, observed_ci=[low, high], ci_level=level,
                placebo_outcome=column, n_used=placebo.n,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Orchestration: every estimator row shown, within a time budget, with progress and stop
# ---------------------------------------------------------------------------------------------
def refutable_rows(core: CoreFit) -> list[EstimateRow]:
    """The analytic-SE rows the page shows, one per estimator (bootstrap rows repeat an estimator)."""
    seen: dict[str, EstimateRow] = {}
    for row in core.rows:
        if row.std_error is not None and not row.se_type.startswith("bootstrap") and row.method not in seen:
            seen[row.method] = row
    return list(seen.values())


def plan_draws(fit_seconds: float, budget_s: float = REFUTATION_BUDGET_S, extra_fits: int = 3) -> tuple[int, int]:
    """Placebo shuffles and subsets that fit the budget (one fit ≈ the main fit); the minimum always runs."""
    draws, subsets = PLACEBO_DRAWS, SUBSETS
    while fit_seconds * (draws + subsets + extra_fits) > budget_s and (draws > MIN_PLACEBO_DRAWS or subsets > MIN_SUBSETS):
        if subsets > MIN_SUBSETS:
            subsets -= 1
        if draws > MIN_PLACEBO_DRAWS and fit_seconds * (draws + subsets + extra_fits) > budget_s:
            draws -= 1
    return draws, subsets


def run_refutations(
    design: Design,
    spec: EstimationSpec,
    core: CoreFit,
    estimate_fn: EstimateFn,
    frame: pd.DataFrame | None = None,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    budget_s: float = REFUTATION_BUDGET_S,
) -> list[RefutationVerdict]:
    """Every refutation on every estimator row with an analytic SE, seeded by ``spec.seed``.

    ``estimate_fn(design, spec, methods) -> CoreFit`` is estimation.estimate_core (passed in to avoid an import
    cycle). The placebo-outcome test needs the input ``frame`` (the column is not in the design). Raises
    RefutationError for an unusable placebo outcome before any refit.
    """
    originals = refutable_rows(core)
    if not originals:
        return []
    if spec.placebo_outcome and frame is not None:
        check_placebo_outcome(frame, spec)
    report = progress or (lambda fraction, message: None)
    stop = should_stop or (lambda: False)
    draws, subsets = plan_draws(sum(getattr(core, "timings", {}).values()) or 0.0, budget_s, 3 + bool(spec.placebo_outcome))
    steps: list[tuple[str, Callable[[np.random.Generator], list[RefutationVerdict]]]] = [
        ("placebo treatment", lambda rng: placebo_treatment_rows(design, spec, originals, estimate_fn, rng, draws)),
        ("outcome invariance", lambda rng: outcome_invariance_rows(design, spec, originals, estimate_fn)),
        ("random common cause", lambda rng: random_common_cause_rows(design, spec, originals, estimate_fn, rng)),
        ("data subsets", lambda rng: data_subsets_rows(design, spec, originals, estimate_fn, rng, subsets)),
    ]
    if spec.placebo_outcome:
        steps.append(("placebo outcome", lambda rng: _placebo_outcome_or_note(frame, design, spec, originals, estimate_fn)))
    out: list[RefutationVerdict] = []
    for offset, (name, step) in enumerate(steps):
        if stop():
            out.append(_stopped_note(offset, len(steps)))
            break
        report(offset / len(steps), f"Refutation: {name}")
        clock = time.perf_counter()
        items = step(np.random.default_rng(spec.seed + 1000 * (offset + 1)))
        seconds = time.perf_counter() - clock
        for item in items:
            item.seconds = round(seconds, 4)
            item.budget_note = item.budget_note or _budget_note(name, draws, subsets, budget_s)
        out.extend(items)
    report(1.0, "Refutations done")
    return out


def _placebo_outcome_or_note(frame, design, spec, originals, estimate_fn) -> list[RefutationVerdict]:
    if frame is None:
        return [RefutationVerdict(
            test="placebo outcome", verdict="NOT RUN", expected="≈ 0",
            sentence="NOT RUN — the placebo outcome needs the input data, which this run was not given.",
            **GUIDE["placebo outcome"],
        )]
    return placebo_outcome_rows(frame, design, spec, originals, estimate_fn)


def _budget_note(name: str, draws: int, subsets: int, budget_s: float) -> str:
    if name == "placebo treatment" and draws < PLACEBO_DRAWS:
        return f"{draws} of {PLACEBO_DRAWS} shuffles ran, to stay within the {budget_s:g} s refutation budget"
    if name == "data subsets" and subsets < SUBSETS:
        return f"{subsets} of {SUBSETS} subsets ran, to stay within the {budget_s:g} s refutation budget"
    return ""


def _stopped_note(done: int, total: int) -> RefutationVerdict:
    return RefutationVerdict(
        test="stopped", verdict="NOT RUN",
        sentence=f"NOT RUN — stopped by the analyst after {done} of {total} refutation tests; the rest did not run.",
    )


# ---------------------------------------------------------------------------------------------
# Single-estimator forms (one row in, one verdict out) and what a page shows
# ---------------------------------------------------------------------------------------------
def placebo_treatment(design, spec, original, estimate_fn, rng, draws: int = PLACEBO_DRAWS) -> RefutationVerdict:
    """One estimator's placebo-treatment verdict (95 % interval: a family of one)."""
    return placebo_treatment_rows(design, spec, [original], estimate_fn, rng, draws)[0]


def random_common_cause(design, spec, original, estimate_fn, rng) -> RefutationVerdict:
    return random_common_cause_rows(design, spec, [original], estimate_fn, rng)[0]


def data_subsets(design, spec, original, estimate_fn, rng, subsets: int = SUBSETS) -> RefutationVerdict:
    return data_subsets_rows(design, spec, [original], estimate_fn, rng, subsets)[0]


def outcome_invariance(design, spec, original, estimate_fn) -> RefutationVerdict:
    return outcome_invariance_rows(design, spec, [original], estimate_fn)[0]


def summary_table(refutations: list[RefutationVerdict]) -> list[RefutationVerdict]:
    """One line per (test, estimator) for the page's table: what was expected, what came out, the verdict."""
    return [
        {
            "test": item.test,
            "estimator": item.estimator,
            "expected": item.expected,
            "observed": None if item.observed is None else round(item.observed, 4),
            "interval": (
                f"{item.observed_ci[0]:+.4f} to {item.observed_ci[1]:+.4f} ({item.ci_level})" if item.observed_ci else ""
            ),
            "verdict": item.verdict,
        }
        for item in refutations
    ]


def guide_table(refutations: list[RefutationVerdict]) -> list[dict[str, str]]:
    """What each test that ran can and cannot detect (the page's explainer, from the same texts as the results)."""
    names = list(dict.fromkeys(item.test for item in refutations if item.test in GUIDE))
    return [{"test": name, "can detect": GUIDE[name]["detects"], "cannot detect": GUIDE[name]["cannot_detect"]}
            for name in names]
