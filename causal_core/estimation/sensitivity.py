"""Sensitivity to unobserved confounding: E-values (VanderWeele & Ding 2017) and sensemakr (Cinelli & Hazlett 2020).

The questions a stakeholder asks after "is the effect real?": how strong would a hidden confounder have
to be to explain it away, and is that plausible compared with what we did observe? The E-value answers
on the risk-ratio scale; the robustness value and the benchmark bounds answer in partial R² units and
compare the hidden confounder with the strongest measured covariate ("k× as strong as health_score").

The sensemakr quantities are computed from the Gram matrix of [1, X, t, y], so every partial R² (single
columns and categorical groups) comes from exact residual sums of squares without refitting on the rows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import t as student_t

from causal_core.results import (
    Benchmark,
    BenchmarkBound,
    BenchmarkR2,
    EValueResult,
    SensemakrResult,
    SensitivityResult,
)

if TYPE_CHECKING:
    from causal_core.estimation.design import Design
    from causal_core.estimation.estimators import CoreFit
    from causal_core.project import EstimationSpec

CONTINUOUS_RR_FACTOR = 0.91  # VanderWeele (2017): RR ≈ exp(0.91 × d) for a standardised mean difference d


# ---------------------------------------------------------------------------------------------
# E-values
# ---------------------------------------------------------------------------------------------
def evalue_rr(rr: float) -> float:
    """E-value of a risk ratio: RR + sqrt(RR(RR − 1)), after flipping protective ratios (RR < 1 → 1/RR)."""
    if not math.isfinite(rr) or rr <= 0:
        return float("nan")
    rr = 1.0 / rr if rr < 1 else rr
    return float(rr + math.sqrt(rr * (rr - 1.0)))


def _ci_evalue(rr_low: float, rr_high: float, rr: float) -> float:
    """E-value for the CI limit nearer the null; 1 when the interval already includes RR = 1."""
    if rr_low <= 1.0 <= rr_high:
        return 1.0
    return evalue_rr(rr_high if rr < 1 else rr_low)


def evalue(
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    binary: bool,
    baseline_risk: float | None = None,
    outcome_sd: float | None = None,
) -> EValueResult:
    """E-values for an additive effect and its 95 % CI.

    Binary outcome: the risk difference is converted to a risk ratio with the baseline (control) risk p0:
    RR = (p0 + RD) / p0. Continuous outcome: d = effect / SD(y), RR ≈ exp(0.91·d) (VanderWeele 2017).
    """
    if binary:
        if baseline_risk is None or baseline_risk <= 0:
            return EValueResult(available=False, reason="no positive baseline risk to convert the risk difference")
        p0 = baseline_risk

        def to_rr(value: float) -> float:
            return max(p0 + value, 1e-9) / p0

        scale = f"risk ratio from the risk difference with baseline risk {p0:.3f}"
    else:
        if not outcome_sd or outcome_sd <= 0:
            return EValueResult(available=False, reason="the outcome has no spread")

        def to_rr(value: float) -> float:
            try:
                return math.exp(CONTINUOUS_RR_FACTOR * value / outcome_sd)
            except OverflowError:  # d beyond ~770 SD: no finite risk ratio, said so below
                return math.inf

        scale = f"approximate risk ratio exp(0.91·d), d = effect / SD(outcome) = effect / {outcome_sd:.3g}"
    rr, rr_low, rr_high = to_rr(estimate), to_rr(ci_low), to_rr(ci_high)
    if not all(math.isfinite(value) for value in (rr, rr_low, rr_high, evalue_rr(rr))):
        return EValueResult(available=False, estimate=estimate, reason="the effect is too large against the outcome's "
                            "spread for the risk-ratio approximation (the risk ratio overflows)")
    return EValueResult(
        available=True,
        estimate=estimate,
        scale=scale,
        risk_ratio=rr,
        rr_ci=[rr_low, rr_high],
        evalue_estimate=evalue_rr(rr),
        evalue_ci=_ci_evalue(rr_low, rr_high, rr),
    )


# ---------------------------------------------------------------------------------------------
# sensemakr: robustness value, partial R², benchmark bounds
# ---------------------------------------------------------------------------------------------
def partial_r2(t_stat: float, dof: int) -> float:
    """Partial R² of the treatment with the outcome given the covariates: t² / (t² + dof)."""
    return float(t_stat**2 / (t_stat**2 + dof))


def robustness_value(t_stat: float, dof: int, q: float = 1.0, alpha: float | None = None) -> float:
    """Cinelli & Hazlett's RV_q (alpha=None) or RV_{q,α}: the partial R² a confounder needs with both
    treatment and outcome to reduce the estimate by 100·q % (or to make it insignificant at level α)."""
    fq = q * abs(t_stat / math.sqrt(dof))
    if alpha is None:
        return float(0.5 * (math.sqrt(fq**4 + 4 * fq**2) - fq**2))
    f_crit = abs(student_t.ppf(alpha / 2, dof - 1)) / math.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa < 0:
        return 0.0
    if fq > 1 / f_crit:  # the extreme case in sensemakr: the bound is reached with R²_{Y~Z|D,X} = 1
        return float((fq**2 - f_crit**2) / (1 + fq**2))
    return float(0.5 * (math.sqrt(fqa**4 + 4 * fqa**2) - fqa**2))


def ovb_bound(
    estimate: float, se: float, dof: int, r2dxj_x: float, r2yxj_dx: float, kd: float, ky: float | None = None
) -> dict[str, float] | None:
    """Adjusted estimate, SE and CI if a confounder were kd× (treatment) and ky× (outcome) as strong as a
    benchmark covariate with partial R²s r2dxj_x (with treatment) and r2yxj_dx (with outcome).

    Returns None when the implied confounder is impossible for this k: a partial R² with the treatment or
    with the outcome of 1 or more. sensemakr caps the outcome R² at 1 with a warning, which yields a
    zero-width "interval"; we report the confounder as impossible instead of printing that interval.
    """
    ky = kd if ky is None else ky
    if not (0.0 <= r2dxj_x < 1.0 and 0.0 <= r2yxj_dx < 1.0):
        # A benchmark that explains all of the residual variance (an exact fit, or rounding just past 1) implies
        # no finite confounder of k times its strength: the bound does not exist (it raised a math domain error).
        return None
    r2dz_x = kd * r2dxj_x / (1 - r2dxj_x)
    if r2dz_x >= 1 or kd * r2dxj_x >= 1:
        return None
    r2zxj_xd = kd * r2dxj_x**2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x))
    if r2zxj_xd >= 1:
        return None
    r2yz_dx = ((math.sqrt(ky) + math.sqrt(r2zxj_xd)) / math.sqrt(1 - r2zxj_xd)) ** 2 * (r2yxj_dx / (1 - r2yxj_dx))
    if r2yz_dx >= 1:
        return None
    bias = se * math.sqrt(r2yz_dx * r2dz_x / (1 - r2dz_x)) * math.sqrt(dof)
    adjusted = math.copysign(1.0, estimate) * (abs(estimate) - bias)  # towards zero, and past it if bias > |estimate|
    adjusted_se = se * math.sqrt((1 - r2yz_dx) / (1 - r2dz_x)) * math.sqrt(dof / (dof - 1))
    crit = float(student_t.ppf(0.975, dof - 1))
    return {
        "r2dz_x": r2dz_x, "r2yz_dx": r2yz_dx, "bias": bias, "adjusted_estimate": adjusted,
        "adjusted_se": adjusted_se, "adjusted_ci_low": adjusted - crit * adjusted_se,
        "adjusted_ci_high": adjusted + crit * adjusted_se,
    }


def _rss(gram: np.ndarray, target: int, regressors: list[int]) -> float:
    """Residual sum of squares of column `target` on `regressors`, from the Gram matrix alone."""
    sub = gram[np.ix_(regressors, regressors)]
    cross = gram[regressors, target]
    return float(gram[target, target] - cross @ np.linalg.lstsq(sub, cross, rcond=None)[0])


def benchmark_r2(design: Design) -> dict[str, BenchmarkR2]:
    """Partial R² of every observed covariate (a categorical as one group) with treatment and with outcome."""
    p = design.X.shape[1]
    M = np.column_stack([np.ones(design.n), design.X, design.t, design.y])
    gram = M.T @ M
    t_col, y_col = p + 1, p + 2
    all_x = list(range(p + 1))
    rss_t_full = _rss(gram, t_col, all_x)
    rss_y_full = _rss(gram, y_col, [*all_x, t_col])
    out = {}
    for covariate, columns in design.groups.items():
        if not columns:
            continue
        others = [j for j in all_x if j - 1 not in columns]
        rss_t = _rss(gram, t_col, others)
        rss_y = _rss(gram, y_col, [*others, t_col])
        out[covariate] = BenchmarkR2(
            r2dxj_x=max((rss_t - rss_t_full) / rss_t, 0.0) if rss_t > 0 else 0.0,
            r2yxj_dx=max((rss_y - rss_y_full) / rss_y, 0.0) if rss_y > 0 else 0.0,
        )
    return out


def _fmt(value: float) -> str:
    return f"{value:+.3f}".replace("-", "−")


SHARE_FLOOR = 0.0001  # below a hundredth of a percent, two decimals would print a misleading "0.00 %"


def _share(value: float) -> str:
    """A share as a percentage ("1.23%"), or "< 0.01 %" where two decimals would print a misleading "0.00 %"."""
    return f"{value:.2%}" if value >= SHARE_FLOOR else "< 0.01 %"


def rv_implication(rv: float, rv_alpha: float) -> str:
    """What the robustness values mean for a reader, so a ~0 value is an explanation, not a bare "0.0 %".

    RV at α is 0 exactly when the estimate is already not significant (no confounding is needed to make it so);
    an RV near 0 means the estimate is practically zero relative to its noise, so any confounding moves it.
    """
    if rv < SHARE_FLOOR:
        return (" An RV below 0.01 % means the estimate is already practically zero relative to its noise: "
                "confounding of any strength could erase it, so it is not evidence of an effect.")
    if rv_alpha < SHARE_FLOOR:
        return (" An RV at α below 0.01 % means the estimate is not statistically significant even with no "
                "unobserved confounding at all: the interval already includes zero.")
    if rv < 0.01:
        return (" Below 1 %, even a weak confounder would change the conclusion: compare it with the strongest "
                "observed covariate below before trusting the sign.")
    return ""


def sensemakr_summary(
    design: Design, regression_info: dict[str, Any], treatment: str, outcome: str
) -> SensemakrResult:
    """RV, RV at α = 0.05, treatment partial R², and bounds from the strongest observed covariate (k = 1, 2, 3).

    Cinelli & Hazlett's formulas assume i.i.d. rows (classical OLS SE). With a cluster column, the parts that
    depend on the SE (RV at α, the bounds' intervals) use the cluster-robust SE instead: the classical SE is
    scaled by robust/classical (a design-effect approximation, said so in the sentence); the point parts (RV for
    zero, adjusted estimates) depend only on partial R² and are unchanged.
    """
    estimate = regression_info["coefficient"]
    classical = regression_info["classical_se"]
    t_stat = regression_info["t_stat"]
    dof = int(regression_info["dof"])
    clusters = design.n_clusters if design.clusters is not None else 0
    inflation = regression_info["robust_se"] / classical if clusters and classical > 0 else 1.0
    se = classical * inflation
    rv = robustness_value(t_stat, dof)
    rv_alpha = robustness_value(t_stat / inflation, dof, alpha=0.05)
    r2 = partial_r2(t_stat, dof)
    benchmarks = benchmark_r2(design)
    strengths = {}
    for covariate, r2s in benchmarks.items():
        bound = ovb_bound(estimate, se, dof, r2s.r2dxj_x, r2s.r2yxj_dx, 1.0)
        if bound is not None:
            strengths[covariate] = bound["bias"]
    which = (f"the regression coefficient of {outcome} on {treatment} and the covariates ({_fmt(estimate)}, the "
             "constant-effect regression row)")
    se_words = (f" Significance here uses the cluster-robust SE ({clusters} clusters; sensemakr's formulas assume "
                "i.i.d. rows, so this is an approximation)." if clusters else "")
    summary = SensemakrResult(
        estimate=estimate, se=se, t_stat=t_stat, dof=dof, clusters=clusters,
        se_kind="cluster-robust (scaled)" if clusters else "classical (i.i.d.)",
        partial_r2_treatment=r2, rv=rv, rv_alpha=rv_alpha, alpha=0.05,
        benchmark_r2=benchmarks,
        rv_sentence=(
            f"About {which}: unobserved confounders explaining {_share(rv)} of the residual variance of both "
            f"{treatment} and {outcome} would bring it to zero; {_share(rv_alpha)} would make it statistically "
            f"insignificant (α = 0.05).{se_words}{rv_implication(rv, rv_alpha)} The treatment alone explains "
            f"{_share(r2)} of the outcome's residual variance: that is the partial R² with the treatment a "
            "confounder explaining all of the outcome's residual variance would need."
        ),
    )
    if not strengths:
        return summary
    strongest = max(strengths, key=strengths.get)
    rows = []
    for k in (1, 2, 3):
        bound = ovb_bound(estimate, se, dof, benchmarks[strongest].r2dxj_x, benchmarks[strongest].r2yxj_dx, float(k))
        if bound is None:
            rows.append(BenchmarkBound(k=k, possible=False,
                                       sentence=f"A confounder {k}× as strong as {strongest} is impossible: its implied "
                                       "partial R² with the treatment or the outcome would be 1 or more."))
            continue
        flips = bound["adjusted_estimate"] * estimate <= 0
        covers = bound["adjusted_ci_low"] <= 0 <= bound["adjusted_ci_high"]
        verdict = "would reverse or erase the effect" if flips else (
            "would make it statistically indistinguishable from zero" if covers else "would not change the conclusion"
        )
        rows.append(BenchmarkBound(
            k=k, possible=True, **bound,
            sentence=(
                f"A confounder {k}× as strong as {strongest} would move the estimate from {_fmt(estimate)} to "
                f"{_fmt(bound['adjusted_estimate'])} (95 % CI {_fmt(bound['adjusted_ci_low'])} to "
                f"{_fmt(bound['adjusted_ci_high'])}): it {verdict}."
            ),
        ))
    summary.benchmark = Benchmark(covariate=strongest, bounds=rows)  # validated on assignment
    return summary


def summarise(design: Design, core: CoreFit, spec: EstimationSpec) -> SensitivityResult:
    """Everything the Sensitivity section shows (E-values on the primary estimate, sensemakr on the regression)."""
    primary = core.row("aipw") or core.row("regression") or core.row("ipw")
    values: EValueResult | None = None
    if primary is not None and primary.ci_low is not None:
        baseline = core.arm_means.get("control") if primary.method == "aipw" else None
        if baseline is None:
            baseline = float(design.y[design.t == 0].mean())
        values = evalue(
            primary.estimate, primary.ci_low, primary.ci_high, binary=design.binary_outcome,
            baseline_risk=baseline, outcome_sd=float(design.y.std(ddof=1)),
        )
        values.method, values.estimand, values.estimate = primary.method, primary.estimand, primary.estimate
        if values.available:
            values.sentence = (
                f"E-value of the {primary.method.upper()} row ({primary.estimand}): to explain away its estimate "
                f"({_fmt(primary.estimate)}), an unmeasured "
                f"confounder would need a risk-ratio association of at least {values.evalue_estimate:.2f} with both "
                f"{spec.treatment} and {spec.outcome}, beyond the measured covariates; to move the 95 % CI to include "
                f"no effect, at least {values.evalue_ci:.2f}."
            )
    sensemakr = (sensemakr_summary(design, core.regression_info, spec.treatment, spec.outcome)
                 if core.regression_info else None)
    return SensitivityResult(evalue=values, sensemakr=sensemakr)
