"""Typed estimation diagnostics: what the back-door, IV and front-door runs measured besides the estimates.

Why typed: the diagnostics used to be a free-form dict read by exact string key in the page, CLI, memo and
notebook, so a renamed key silently became "missing" (the memo would drop its cluster sentence) instead of
failing a test. Every key a producer writes is declared here and unknown keys are refused (``extra="forbid"``),
so a stray or renamed key fails where it is produced; consumers read attributes.

A leaf of the package next to ``results`` (imports only ``results``): ``project`` holds ``EstimationResult``
and sits below ``estimation`` in the layering, so the models cannot live in the estimation package.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from causal_core.results import ResultModel

__all__ = [
    "AndersonRubinSet",
    "ArmMeans",
    "ArmQuantiles",
    "ArmWeights",
    "BalanceCheck",
    "BalanceTerm",
    "BootstrapMethod",
    "BootstrapSummary",
    "ContrastCheck",
    "CrossfitSummary",
    "EssCheck",
    "EstimationDiagnostics",
    "FirstStage",
    "FrontdoorBootstrap",
    "FrontdoorDiagnostics",
    "HistogramBin",
    "IPWInfo",
    "IVDiagnostics",
    "IVTest",
    "IVTests",
    "IntervalChecks",
    "LearnerInfo",
    "LearnerSeconds",
    "OutcomeModelInfo",
    "OverlapQuantiles",
    "OverlapSummary",
    "PotentialOutcomeMeans",
    "PropensityModelInfo",
    "RegressionInfo",
    "SplitSpread",
    "StageEffect",
    "Trimming",
    "WeightSummary",
]

Arm = Literal["treated", "control"]
# A learner fit's record: model label, fold, seconds and the learner's own tuning parameters, whose names
# differ by learner (penalty C for the penalised logistic, depth and rounds for boosting), so a scalar map.
FitRecord = dict[str, str | int | float | bool | None]


# ---- overlap and weights -------------------------------------------------------------------------------
class HistogramBin(ResultModel):
    """One bin of a per-arm density (propensity or IPW weight) for the page's plot."""

    arm: Arm
    bin_start: float
    bin_end: float
    density: float
    count: int


class ArmQuantiles(ResultModel):
    """Quantiles of the estimated propensity within one arm (q00 = minimum, q100 = maximum)."""

    q00: float
    q01: float
    q05: float
    q25: float
    q50: float
    q75: float
    q95: float
    q99: float
    q100: float


class OverlapQuantiles(ResultModel):
    treated: ArmQuantiles
    control: ArmQuantiles


class OverlapSummary(ResultModel):
    """Propensity distribution by arm, how many rows clipping touched, and the binned density."""

    quantiles: OverlapQuantiles
    clip: tuple[float, float]
    n_below_clip: int
    n_above_clip: int
    share_clipped: float
    share_outside_05_95: float
    target_share_extreme: float = Field(description="Share of the estimand's target group with extreme propensity.")
    target_extreme_text: str
    treated_above_max_control: int
    control_below_min_treated: int
    histogram: list[HistogramBin] = Field(default_factory=list)


class ArmWeights(ResultModel):
    """One arm's IPW weights: Kish effective sample size and how much the largest rows carry."""

    n: int
    ess: float
    ess_share: float
    max_weight: float
    max_normalised_weight: float
    n_top1pct: int
    mean_weight: float
    top1pct_weight_share: float


class WeightSummary(ResultModel):
    treated: ArmWeights
    control: ArmWeights
    histogram: list[HistogramBin] = Field(default_factory=list)


class IPWInfo(ResultModel):
    """Which IPW form, bounds and standard error the IPW row reports, in words."""

    form: str
    bounds: tuple[float, float]
    bounds_note: str
    se: str
    se_note: str


# ---- models ----------------------------------------------------------------------------------------------
class PropensityModelInfo(ResultModel):
    """The Newton logistic fit (iterations, parameters) or a cross-fitted learner (seconds)."""

    kind: str
    converged: bool
    separated: bool
    iterations: int | None = None
    parameters: int | None = None
    seconds: float | None = None


class OutcomeModelInfo(ResultModel):
    kind: str
    separated_arms: list[str] = Field(default_factory=list)
    crossfit_folds: int = 0


class RegressionInfo(ResultModel):
    """The constant-effect regression coefficient with both SEs (sensemakr reads the classical one)."""

    coefficient: float
    classical_se: float
    robust_se: float
    t_stat: float
    dof: int
    model: str


class ArmMeans(ResultModel):
    """AIPW's estimated mean potential outcome of each arm in the target population."""

    treated: float
    control: float


class LearnerSeconds(ResultModel):
    propensity: float
    outcome: float


class LearnerInfo(ResultModel):
    """The flexible learners' choices, folds and per-fit seconds (Models tab)."""

    ps_learner: str
    ps_description: str
    outcome_learner: str
    outcome_description: str
    folds: int
    repetitions: int
    fold_scheme: str
    seconds: LearnerSeconds
    fits: list[FitRecord] = Field(default_factory=list)


# ---- interval checks ----------------------------------------------------------------------------------
class BalanceTerm(ResultModel):
    term: str
    smd: float
    z: float


class BalanceCheck(ResultModel):
    """Weighted |SMD| of the covariates, their squares and pairwise products; failures worst first (≤ 5)."""

    n_terms: int
    z_bar: float
    worst: BalanceTerm
    failures: list[BalanceTerm] = Field(default_factory=list)
    n_failures: int = 0


class EssCheck(ResultModel):
    arm: Arm
    ess: float
    target_n: int
    fails: bool


class ContrastCheck(ResultModel):
    """IPW − AIPW over the SE of their difference (Hausman-type)."""

    difference: float
    se: float
    z: float
    fails: bool
    aipw_se: float


class IntervalChecks(ResultModel):
    """The data's own evidence against the IPW/AIPW intervals; one sentence per failed check in ``reasons``."""

    balance: BalanceCheck | None = None
    ess: EssCheck | None = None
    contrast: ContrastCheck | None = None
    reasons: list[str] = Field(default_factory=list)


# ---- cross-fitting, trimming, bootstrap -----------------------------------------------------------------
class SplitSpread(ResultModel):
    """How much one row's estimate moved between fold splits, in units of one split's SE (None: not scalable)."""

    splits: int
    folds: int
    median: float
    min: float
    max: float
    se_unit: float | None = None
    min_se: float | None = None
    max_se: float | None = None
    range_se: float | None = None
    iqr_se: float | None = None
    intervals_excluding_zero: int
    sentence: str
    estimates: list[float] = Field(default_factory=list)
    std_errors: list[float | None] = Field(default_factory=list)


class CrossfitSummary(ResultModel):
    """R splits of K folds, the aggregation rule, the split the diagnostics show and each row's spread."""

    repetitions: int
    folds: int
    seeds: str
    aggregation: str
    diagnostics_split: int
    fold_scheme: str
    duplicate_rows_grouped: int = 0
    duplicate_sets: int = 0
    rows: dict[str, SplitSpread] = Field(default_factory=dict, description="Keyed by method id (ipw, aipw).")


class Trimming(ResultModel):
    rule: str
    bounds: tuple[float, float] | None = None
    kept: int
    dropped: int
    statement: str


class BootstrapMethod(ResultModel):
    se: float
    percentile_ci: tuple[float, float]


class BootstrapSummary(ResultModel):
    """The back-door bootstrap of IPW and AIPW (its rows are in the estimates)."""

    requested: int
    completed: int
    cancelled: bool
    clustered: bool = False
    message: str | None = None
    ipw: BootstrapMethod | None = None
    aipw: BootstrapMethod | None = None


# ---- the back-door (adjustment) run ----------------------------------------------------------------------
class EstimationDiagnostics(ResultModel):
    """Everything the adjustment estimation measured besides the rows: ``EstimationResult.diagnostics``."""

    n_treated: int
    n_control: int
    n_clusters: int = Field(0, description="Clusters in the SEs (0: no cluster column).")
    binary_outcome: bool
    outcome_sd: float | None = None
    control_mean: float
    treated_mean: float
    design_columns: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    missing_handling: str = "complete_case"
    overlap: OverlapSummary
    ipw: IPWInfo
    weights: WeightSummary
    propensity_model: PropensityModelInfo
    outcome_model: OutcomeModelInfo
    regression: RegressionInfo | None = None
    interval_checks: IntervalChecks | None = None
    arm_means: ArmMeans | None = None
    timings_s: dict[str, float] = Field(default_factory=dict, description="Seconds per step, keyed by step name.")
    learners: LearnerInfo | None = None
    crossfit: CrossfitSummary | None = None
    trimming: Trimming | None = None
    bootstrap: BootstrapSummary | None = None


# ---- instrumental variables -------------------------------------------------------------------------------
class FirstStage(ResultModel):
    """The excluded instruments' F (with the chosen SE type), partial R² and coefficients."""

    f: float
    f_pvalue: float
    partial_r2: float
    reference: str
    n_instruments: int
    coefficients: dict[str, float] = Field(default_factory=dict, description="Keyed by instrument column.")
    kind: str = ""


class AndersonRubinSet(ResultModel):
    """The 95 % Anderson–Rubin set: pieces [low, high] with None for an infinite end."""

    kind: str
    low: float | None = None
    high: float | None = None
    pieces: list[tuple[float | None, float | None]] = Field(default_factory=list)
    critical_f: float
    text: str = ""
    coverage: str = ""


class IVTest(ResultModel):
    name: str
    statistic: float
    pvalue: float


class IVTests(ResultModel):
    endogeneity: IVTest
    overidentification: IVTest | None = None


class IVDiagnostics(ResultModel):
    first_stage: FirstStage
    anderson_rubin: AndersonRubinSet
    tests: IVTests
    estimand_sentence: str
    instruments: list[str]
    covariates: list[str] = Field(default_factory=list)
    se: str
    complier_share: float | None = None


# ---- front-door -------------------------------------------------------------------------------------------
class PotentialOutcomeMeans(ResultModel):
    treated: float
    control: float


class StageEffect(ResultModel):
    """Linear front-door: treatment → mediator (a), mediator → outcome given treatment (b), and a·b."""

    mediator: str
    treatment_to_mediator: float
    mediator_to_outcome: float
    product: float


class FrontdoorBootstrap(ResultModel):
    requested: int
    completed: int
    usable: int
    undefined: int
    cancelled: bool


class FrontdoorDiagnostics(ResultModel):
    """Plug-in runs fill the cell counts and potential-outcome means; linear runs the stage effects."""

    method: str
    method_reason: str
    mediators: list[str]
    covariates: list[str] = Field(default_factory=list)
    mediator_cells: int | None = None
    covariate_cells: int | None = None
    potential_outcome_means: PotentialOutcomeMeans | None = None
    mediator_columns: list[str] | None = None
    stage_effects: list[StageEffect] | None = None
    bootstrap: FrontdoorBootstrap | None = None
    notes: list[str] = Field(default_factory=list)
