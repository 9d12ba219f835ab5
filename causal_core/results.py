"""Typed results passed from estimation to the page, CLI, memo, report and notebook.

Why typed: these results used to travel as free-form dicts, and the memo guessed their key spellings (five for
the SMD alone). A renamed key then made the memo say "No balance diagnostic yet" instead of failing. Here every
field a producer writes is declared, unknown keys are refused (``extra="forbid"``), and consumers read attributes,
so a renamed field fails validation where it is produced.

A leaf of the package (imports nothing of ours), so that ``project`` can hold these models without an import cycle;
the specification curve's row is ``project.MultiverseRow`` and is not repeated here.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ResultModel(BaseModel):
    """Base of every stored result: the same rules as ``project.StrictModel`` (unknown keys and NaN refused)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def _finite_or_none(value: object) -> object:
    """A non-finite float becomes None: JSON has no NaN, so the saved file held null there and must reopen."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---- balance ----------------------------------------------------------------------------------------
class BalanceRow(ResultModel):
    """One covariate column's standardised mean difference before and after the IPW weights.

    Exactly what ``estimation.diagnostics.balance_table`` produces; the SMD denominator is the unweighted pooled SD
    both times, so the change is due to the means.
    """

    covariate: str
    treated_mean: float
    control_mean: float
    smd_before: float
    weighted_treated_mean: float
    weighted_control_mean: float
    smd_after: float


class AuditBalanceRow(ResultModel):
    """One row of the data audit's balance table (``audit.balance.balance_table`` as JSON records).

    The memo falls back to it when no estimation has run; the audit stores NaN as null, hence the optional SMD.
    """

    variable: str
    kind: str = ""
    treated_mean: float | None = None
    control_mean: float | None = None
    smd: float | None = None
    abs_smd: float | None = None
    imbalanced: bool = False


# ---- refutations ------------------------------------------------------------------------------------
RefutationTest = Literal[
    "placebo treatment", "outcome invariance", "random common cause", "data subsets", "placebo outcome", "stopped"
]


class RefutationVerdict(ResultModel):
    """One (test, estimator) verdict of ``estimation.refutation``, with the numbers its sentence prints.

    The verdict is a pure function of those numbers; the guide's ``detects``/``cannot_detect`` texts travel with
    it so any display can say what the test means. Fields a test does not use keep their empty default.
    """

    test: RefutationTest
    method: str = Field("", description="The estimator's method key; empty for a note that is not about one row.")
    estimator: str = ""
    original: float | None = Field(None, description="The estimator's real estimate the test is judged against.")
    verdict: Literal["PASS", "WARN", "NOT RUN"]
    sentence: str
    detects: str = ""
    cannot_detect: str = ""
    expected: str = ""
    expected_value: float | None = None
    observed: float | None = None
    observed_ci: list[float] | None = None
    ci_level: str = ""
    change: float | None = None
    tolerance: float | None = None
    transform: str = ""
    placebo_estimates: list[float] | None = None
    subset_estimates: list[float] | None = None
    placebo_outcome: str | None = None
    n_used: int | None = None
    seconds: float | None = None
    budget_note: str = ""


# ---- sensitivity ------------------------------------------------------------------------------------
class EValueResult(ResultModel):
    """The E-value of one estimate row (VanderWeele & Ding 2017); ``available`` False says why in ``reason``."""

    available: bool
    reason: str = ""
    method: str = Field("", description="The row the E-value is about (aipw, else regression, else ipw).")
    estimand: str = ""
    estimate: float | None = None
    scale: str = ""
    risk_ratio: float | None = None
    rr_ci: list[float] | None = None
    evalue_estimate: float | None = None
    evalue_ci: float | None = None
    sentence: str = ""

    _finite = field_validator("estimate", "risk_ratio", "evalue_estimate", "evalue_ci", mode="before")(
        lambda value: _finite_or_none(value)
    )


class BenchmarkR2(ResultModel):
    """Partial R² of one observed covariate with the treatment and with the outcome (Cinelli & Hazlett)."""

    r2dxj_x: float
    r2yxj_dx: float


class BenchmarkBound(ResultModel):
    """The estimate if a confounder were k× as strong as the strongest observed covariate (None: impossible)."""

    k: int
    possible: bool
    sentence: str
    r2dz_x: float | None = None
    r2yz_dx: float | None = None
    bias: float | None = None
    adjusted_estimate: float | None = None
    adjusted_se: float | None = None
    adjusted_ci_low: float | None = None
    adjusted_ci_high: float | None = None


class Benchmark(ResultModel):
    covariate: str
    bounds: list[BenchmarkBound] = Field(default_factory=list)


class SensemakrResult(ResultModel):
    """Robustness values and benchmark bounds about the regression row's coefficient (named in ``rv_sentence``)."""

    method: str = Field("regression", description="The row these figures are about: the constant-effect regression.")
    estimate: float
    se: float
    t_stat: float
    dof: int
    clusters: int = 0
    se_kind: str = ""
    partial_r2_treatment: float
    rv: float
    rv_alpha: float
    alpha: float = 0.05
    benchmark_r2: dict[str, BenchmarkR2] = Field(default_factory=dict)
    rv_sentence: str
    benchmark: Benchmark | None = None


class SensitivityResult(ResultModel):
    """Everything the Sensitivity section shows; either part is None when it was not computed."""

    evalue: EValueResult | None = None
    sensemakr: SensemakrResult | None = None


__all__ = [
    "AuditBalanceRow",
    "BalanceRow",
    "Benchmark",
    "BenchmarkBound",
    "BenchmarkR2",
    "EValueResult",
    "RefutationTest",
    "RefutationVerdict",
    "ResultModel",
    "SensemakrResult",
    "SensitivityResult",
]
