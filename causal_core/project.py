"""The Project: the single source of truth for every artifact of one causal question.

Pages and CLI commands read a Project, compute, and return a *new* Project (``model_copy``) so a
failed step never leaves it half-changed. The file on disk is this model's JSON; data rows are
never embedded, only referenced by sha256 (built-ins regenerate, uploads are asked for again).
Opening and saving that file (limits, migrations, one message per way a file can be wrong) is
:mod:`causal_core.project_file`; this module is the schema only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from causal_core.diagnostics_models import EstimationDiagnostics
from causal_core.limits import MAX_BOOTSTRAP
from causal_core.methods import Estimand
from causal_core.results import BalanceRow, RefutationVerdict, SensitivityResult
from causal_core.version import WorkbenchStamp, current_stamp

SCHEMA_ID = "causal-workbench/project"
SCHEMA_VERSION = 3  # 2: typed estimation results (causal_core.results); 3: typed diagnostics
# (causal_core.diagnostics_models); older files are migrated on open


def utc_now() -> str:
    """ISO timestamp used for every log entry (UTC, seconds precision)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Timing(StrEnum):
    """Normalised timing vocabulary: what decides whether a column may be adjusted for."""

    unit_id = "unit_id"
    time_id = "time_id"
    pre_treatment = "pre_treatment"
    treatment = "treatment"
    post_treatment = "post_treatment"
    outcome = "outcome"
    future = "future"
    unknown = "unknown"


# The notebooks' timing terms (N01, N09) and common spellings, mapped to the enum.
TIMING_SYNONYMS: dict[str, Timing] = {
    "pre-treatment": Timing.pre_treatment,
    "pre treatment": Timing.pre_treatment,
    "pretreatment": Timing.pre_treatment,
    "pre_treatment": Timing.pre_treatment,
    "baseline": Timing.pre_treatment,
    "pre-treatment within week": Timing.pre_treatment,
    "pre-treatment within period": Timing.pre_treatment,
    "treatment week": Timing.treatment,
    "treatment": Timing.treatment,
    "exposure": Timing.treatment,
    "post-treatment": Timing.post_treatment,
    "post treatment": Timing.post_treatment,
    "posttreatment": Timing.post_treatment,
    "post_treatment": Timing.post_treatment,
    "mediator": Timing.post_treatment,
    "outcome window": Timing.outcome,
    "outcome": Timing.outcome,
    "future": Timing.future,
    "unit id": Timing.unit_id,
    "unit_id": Timing.unit_id,
    "time id": Timing.time_id,
    "time_id": Timing.time_id,
    "unknown": Timing.unknown,
    "": Timing.unknown,
}

# Timings whose columns may never enter a total-effect adjustment set without an override.
NOT_ADJUSTABLE_TIMINGS = {Timing.post_treatment, Timing.outcome, Timing.future, Timing.treatment}


def normalise_timing(term: str | Timing | None) -> Timing:
    """Map a free-text timing term to the enum; anything unrecognised is ``unknown``, never guessed."""
    if isinstance(term, Timing):
        return term
    key = " ".join(str(term or "").strip().lower().replace("-", "-").split())
    if key in TIMING_SYNONYMS:
        return TIMING_SYNONYMS[key]
    try:
        return Timing(key)
    except ValueError:
        return Timing.unknown


class StrictModel(BaseModel):
    """Base for saved artifacts: unknown keys are errors so a foreign file is not half-read."""

    # allow_inf_nan=False: a NaN or inf in a float field is refused where it is made. JSON has no NaN, so a
    # stored one was written as null and the saved file could not be reopened (issue 18 §6). Free-form dicts
    # (audit tables) may still hold NaN; they are written as null and reopen as None. The diagnostics are typed
    # (causal_core.diagnostics_models) and refuse NaN where they are made.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class DictionaryEntry(StrictModel):
    variable: str
    description: str = ""
    timing: Timing = Timing.unknown
    timing_label: str = Field("", description="The timing term as the analyst wrote it.")
    role: str = ""
    simulation_truth: bool = Field(False, description="Known only inside a simulation; never a covariate.")
    categorical: bool = Field(False, description="Analyst says: treat as unordered levels in estimation, "
                                                 "even when stored as numbers (NHEFS education, exercise, active).")


class EstimandCard(StrictModel):
    """N01 §6 schema, all 12 fields."""

    business_question: str = ""
    causal_question: str = ""
    unit: str = ""
    treatment: str = ""
    control_condition: str = ""
    outcome: str = ""
    time_window: str = ""
    target_population: str = ""
    estimand: str = ""
    required_assumptions: list[str] = Field(default_factory=list)
    likely_threats: list[str] = Field(default_factory=list)
    variables_to_audit: list[str] = Field(default_factory=list)


class OpenQuestion(StrictModel):
    text: str
    source: str = Field("", description="Which card item raised it (threat / assumption / analyst).")
    status: Literal["open", "answered", "dropped"] = "open"
    answer: str = ""


class DagNode(StrictModel):
    name: str
    label: str = ""
    latent: bool = False
    column: str | None = Field(None, description="The data column this node measures, if any.")
    x: float | None = None
    y: float | None = None


class DagEdge(StrictModel):
    source: str
    target: str
    rationale: str = ""


class DagSpec(StrictModel):
    nodes: list[DagNode] = Field(default_factory=list)
    edges: list[DagEdge] = Field(default_factory=list)
    treatment: str | None = None
    outcome: str | None = None
    adjusted: list[str] = Field(
        default_factory=list,
        description="The analyst's chosen adjustment set (DAGitty `adjusted`): shown, checked, preset in Estimation.",
    )
    selected: list[str] = Field(
        default_factory=list,
        description="Selection nodes (DAGitty `selected`): the sample is conditioned on them; warn.",
    )
    bidirected: list[DagEdge] = Field(
        default_factory=list,
        description="a <-> b edges (DAGitty): an unmeasured common cause of a and b; not in `edges`.",
    )


class DataSource(StrictModel):
    kind: Literal["builtin", "upload"]
    name: str = Field(description="Built-in dataset name or uploaded file name.")
    sha256: str
    rows: int
    columns: list[str]
    n: int | None = Field(None, description="Generator size argument (built-ins only).")
    seed: int | None = Field(None, description="Generator seed (built-ins only).")

    @field_validator("name")
    @classmethod
    def _base_name_only(cls, name: str) -> str:
        """A file name, never a path: the CLI and notebook read ``name`` beside the project file (issue 21)."""
        from causal_core.safe_io import data_file_name_problem

        problem = data_file_name_problem(name)
        if problem:
            raise ValueError(problem)
        return name


class RubricCheck(StrictModel):
    name: str
    passed: bool
    reason: str = ""
    severity: Literal["fail", "warn"] = "fail"
    applicable: bool = Field(True, description="False: nothing in the project to check it against (shown, never scored).")


class AuditRecord(StrictModel):
    """One scoring of one AI artifact: the audit panel's row and its history."""

    artifact: str = Field(description="estimand_card | dag | profile_review | memo")
    model_id: str = ""
    interaction_id: str | None = None
    schema_valid: bool = False
    repair_stage: str = "none"
    failure_type: str = ""
    checks: list[RubricCheck] = Field(default_factory=list)
    score: int = 0
    max_score: int = 0
    time: str = Field(default_factory=utc_now)


class AIInteraction(StrictModel):
    """Everything needed to audit one model call after the fact (N01 §14)."""

    id: str
    task: str
    system_prompt: str = ""
    user_prompt: str = ""
    raw_output: str = ""
    repair_raw_output: str = ""
    parsed: dict[str, Any] | None = None
    parser_notes: list[str] = Field(default_factory=list)
    schema_valid: bool = False
    repair_stage: Literal["none", "parser", "model_retry", "failed"] = "none"
    failure_type: str = ""
    error: str = ""
    model_id: str = ""
    backend: str = ""
    device: str = ""
    dtype: str = ""
    quantisation: str = ""
    decoding: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    started_at: str = Field(default_factory=utc_now)
    duration_s: float = 0.0
    new_tokens: int = 0
    tokens_per_s: float = 0.0
    truncated: bool = False
    package_versions: dict[str, str] = Field(default_factory=dict)


class AnalystEdit(StrictModel):
    artifact: str
    field: str
    before: Any = None
    after: Any = None
    time: str = Field(default_factory=utc_now)
    note: str = ""


class ChecklistItem(StrictModel):
    check: str
    evidence: str = ""
    owner: str = ""
    status: Literal["todo", "in progress", "done", "blocked"] = "todo"
    notes: str = ""


class DataAuditResult(StrictModel):
    """Deterministic audit tables (records) and the settings that produced them."""

    settings: dict[str, Any] = Field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    evidence_bundle: dict[str, Any] = Field(default_factory=dict)
    created_at: str = Field(default_factory=utc_now)


class EstimationSpec(StrictModel):
    treatment: str
    outcome: str
    covariates: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    estimand: Estimand = Estimand.ATE
    cluster: str | None = None
    clip: tuple[float, float] = (0.02, 0.98)
    trim: str | None = Field(None, description="None, 'bounds' or 'crump'")
    crossfit_folds: int = 0
    bootstrap: int = 0
    seed: int = 123
    missing: Literal["complete_case", "indicator"] = "complete_case"
    overrides: list[str] = Field(default_factory=list, description="Ineligible columns used on purpose.")
    treated_value: str | None = Field(
        None, description="For a two-valued non-0/1 treatment: the value meaning treated (the data audit's mapping)."
    )
    placebo_outcome: str | None = Field(
        None,
        description="Negative control: a pre-treatment column used as the outcome; a valid analysis finds ≈ 0 effect.",
    )
    ps_learner: Literal["logistic", "logistic_cv", "boosting"] = Field(
        "logistic",
        description="Propensity model: 'logistic' = exact unpenalised logistic fit (default); 'logistic_cv' = "
        "L2-penalised LogisticRegressionCV on a standardised design; 'boosting' = HistGradientBoostingClassifier. "
        "A non-default learner is cross-fitted (crossfit_folds, 5 when 0).",
    )
    outcome_learner: Literal["linear", "ridge_cv", "lasso_cv", "boosting"] = Field(
        "linear",
        description="AIPW outcome model per arm: 'linear' = exact OLS (logistic for a 0/1 outcome; default); "
        "'ridge_cv' / 'lasso_cv' = RidgeCV / LassoCV on a standardised design (L2 / L1 LogisticRegressionCV for a "
        "0/1 outcome); 'boosting' = HistGradientBoosting regressor (classifier for a 0/1 outcome). "
        "A non-default learner is cross-fitted (crossfit_folds, 5 when 0).",
    )
    crossfit_repetitions: int = Field(
        0, ge=0, le=100,
        description="R: fold splits for the learners (0 = 5 with a flexible learner). Each split r uses seed + r; "
        "the row is the median over the R splits and its SE is sqrt(median(se_r^2 + (theta_r - median)^2)), never "
        "narrower than DoubleML's rule (causal_core.estimation.crossfit says how they differ).",
    )
    # --- model terms and the IPW standard error (est-core) ---
    outcome_terms: str | None = Field(
        None,
        description="Right-hand side of the outcome models as a formulaic formula over the covariates, e.g. "
        "'age + I(age**2) + C(education) + cr(wt71, df=4)'. None = every covariate linearly, categoricals by level.",
    )
    propensity_terms: str | None = Field(None, description="Right-hand side of the propensity model; None = outcome_terms.")
    treatment_interactions: str | None = Field(
        None,
        description="Terms interacted with the treatment in the regression row (e.g. 'smokeintensity'): the row is "
        "then the standardisation (imputation) estimate over the target rows, not a constant-effect coefficient.",
    )
    ipw_se: Literal["influence", "fixed_weights"] = Field(
        "influence",
        description="IPW SE: 'influence' = influence function including the propensity-estimation step (default); "
        "'fixed_weights' = robust sandwich treating the weights as known (What If's GEE SE; conservative).",
    )

    @field_validator("outcome_terms", "propensity_terms", "treatment_interactions")
    @classmethod
    def _formula_passes_gate(cls, value: str | None, info: Any) -> str | None:
        """A shared project file is hostile input: its formulas pass the data-free formula gate at open."""
        if value is None or not value.strip():
            return value
        from causal_core.estimation.formula_gate import check_formula_syntax

        check_formula_syntax(value, str(info.field_name).replace("_", " "))
        return value

    @field_validator("bootstrap")
    @classmethod
    def _bootstrap_within_bound(cls, value: int) -> int:
        """The same replicate cap as the page and the CLI, so a project file cannot ask for a million."""
        if value > MAX_BOOTSTRAP:
            raise ValueError(f"bootstrap asks for {value:,} replicates; the limit is {MAX_BOOTSTRAP:,}.")
        return value


class EstimateRow(StrictModel):
    method: str = Field(description="naive | regression | gcomp | ipw | aipw")
    estimand: str
    estimate: float
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n_used: int = 0
    se_type: str = ""
    label: str = Field("", description="What the row estimates when the method name alone would mislead.")
    se_method: str = Field("", description="Which standard error the row's interval uses, in words "
                           "(analytic influence function, HC3, bootstrap with its replicates): label it on every row.")


class EstimationResult(StrictModel):
    spec: EstimationSpec
    n_used: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)
    estimates: list[EstimateRow] = Field(default_factory=list)
    true_effect: float | None = None
    diagnostics: EstimationDiagnostics | None = Field(
        None,
        description="Arm counts, clusters, overlap, weights, models, interval checks, cross-fit, trimming, bootstrap "
        "and learners (causal_core.diagnostics_models); None before a run has filled them.",
    )
    balance: list[BalanceRow] = Field(default_factory=list, description="SMD before/after weighting, largest first.")
    sensitivity: SensitivityResult = Field(default_factory=SensitivityResult)
    refutations: list[RefutationVerdict] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    created_at: str = Field(default_factory=utc_now)
    inputs: dict[str, str] = Field(default_factory=dict, description="sha256 of the inputs it was computed from "
                                   "(causal_core.staleness); empty in files saved before they were recorded.")


# ---- specification curve (helper "multiverse"; logic in causal_core/multiverse) ----------------
class MultiverseOptions(StrictModel):
    """Which analysis choices the specification curve spans (the space itself is built from the project)."""

    estimators: list[str] = Field(
        default_factory=lambda: ["regression", "gcomp", "ipw", "aipw", "aipw_cf"],
        description="regression | gcomp | ipw | aipw | aipw_cf (cross-fitted AIPW with each learner below).",
    )
    learners: list[str] = Field(
        default_factory=lambda: ["exact"],
        description="Learner pairs for cross-fitted AIPW: 'exact' (logistic/linear), 'penalised', 'boosting'.",
    )
    crossfit_folds: int = 5
    trimming: list[str] = Field(default_factory=lambda: ["none", "bounds", "crump"])
    both_estimands: bool = Field(False, description="ATE and ATT side by side (else the approved card's estimand).")
    include_invalid: bool = Field(False, description="Add sets the DAG/dictionary call invalid, to show the damage.")
    max_dag_sets: int = Field(8, description="Cap on the DAG's minimal sets used (fewest variables first).")
    alt_outcomes: list[str] = Field(default_factory=list)
    alt_treatments: list[str] = Field(default_factory=list)
    extra_sets: list[list[str]] = Field(default_factory=list, description="Sets the analyst adds by hand.")
    grain: bool = Field(True, description="Make the de-duplication rule a dimension when the grain has duplicates.")
    cluster: bool = Field(True, description="Make clustering a dimension when the project has a cluster column.")
    functional_forms: bool = Field(
        False, description="Add the Estimation page's linear / quadratic / spline forms beside the analyst's own terms."
    )
    seed: int = 123


class MultiverseRow(StrictModel):
    """One specification: its choices and its estimate (or why it failed; never dropped)."""

    id: int
    choices: dict[str, str]
    covariates: list[str] = Field(default_factory=list)
    validity: Literal["valid", "invalid", "unchecked"] = "unchecked"
    validity_reason: str = ""
    status: Literal["ok", "failed", "stopped"] = "ok"
    reason: str = ""
    estimand: str = ""
    label: str = ""
    estimate: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n_used: int = 0
    se_type: str = ""
    interval_note: str = Field("", description="Why this interval is approximate (measured coverage table), if it is.")
    is_main: bool = False


class MultiverseResult(StrictModel):
    options: MultiverseOptions = Field(default_factory=MultiverseOptions)
    dimensions: dict[str, list[str]] = Field(default_factory=dict, description="Dimension -> its options.")
    rows: list[MultiverseRow] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    true_effects: dict[str, float] = Field(default_factory=dict, description="Simulation truth per estimand.")
    notes: list[str] = Field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0
    created_at: str = Field(default_factory=utc_now)
    inputs: dict[str, str] = Field(default_factory=dict, description="sha256 of the inputs it was computed from "
                                   "(causal_core.staleness); empty in files saved before they were recorded.")


class MemoState(StrictModel):
    """Memo sections keyed by section name; deterministic and AI drafts kept apart."""

    deterministic: dict[str, str] = Field(default_factory=dict)
    ai_draft: dict[str, str] = Field(default_factory=dict)
    final: dict[str, str] = Field(default_factory=dict)
    updated_at: str = Field(default_factory=utc_now)


class Project(StrictModel):
    """Single source of truth; see module docstring for the copy-on-write convention."""

    schema_id: Literal["causal-workbench/project"] = Field(SCHEMA_ID, alias="schema")
    schema_version: int = SCHEMA_VERSION
    name: str = "Untitled project"
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)
    brief: str = ""
    estimand_card: EstimandCard | None = None
    card_status: Literal["none", "draft", "approved"] = "none"
    open_questions: list[OpenQuestion] = Field(default_factory=list)
    dag: DagSpec | None = None
    data_source: DataSource | None = None
    dictionary: list[DictionaryEntry] = Field(default_factory=list)
    unit_columns: list[str] = Field(default_factory=list)
    time_column: str | None = None
    treatment: str | None = None
    outcome: str | None = None
    guardrails: list[str] = Field(default_factory=list)
    cluster_column: str | None = None
    dedup: Literal["none", "keep_first", "average"] = Field(
        "none", description="How rows sharing the unit grain are collapsed before analysis (logged)."
    )
    data_audit: DataAuditResult | None = None
    profile_review: dict[str, Any] | None = None
    checklist: list[ChecklistItem] = Field(default_factory=list)
    estimation: EstimationResult | None = None
    designs: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Front-door / IV results keyed by design (causal_core.estimation.frontdoor.DesignResult JSON); "
        "kept apart from the adjustment estimation so re-running it never drops them.",
    )
    multiverse: MultiverseResult | None = Field(None, description="Specification curve (causal_core.multiverse).")
    memo: MemoState = Field(default_factory=MemoState)
    audits: list[AuditRecord] = Field(default_factory=list)
    ai_log: list[AIInteraction] = Field(default_factory=list)
    edit_log: list[AnalystEdit] = Field(default_factory=list)
    lab: dict[str, Any] = Field(default_factory=dict, description="Model-lab runs (see causal_core.lab_bench).")
    workbench: WorkbenchStamp = Field(
        default_factory=current_stamp,
        description="The workbench version and git commit that last saved this file (project_to_json stamps it); "
        "a file from before 0.9.0 has none and opens with the running workbench's.",
    )

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True, allow_inf_nan=False)

    # ---- small helpers used by every stage -------------------------------------------
    def dictionary_entry(self, variable: str) -> DictionaryEntry | None:
        return next((entry for entry in self.dictionary if entry.variable == variable), None)

    def timing_of(self, variable: str) -> Timing:
        entry = self.dictionary_entry(variable)
        return entry.timing if entry else Timing.unknown

    def with_edit(self, artifact: str, field: str, before: Any, after: Any, note: str = "") -> Project:
        """Return a copy with one analyst edit appended to the edit log."""
        edit = AnalystEdit(artifact=artifact, field=field, before=before, after=after, note=note)
        return self.model_copy(update={"edit_log": [*self.edit_log, edit], "updated_at": utc_now()})

    def with_interaction(self, interaction: AIInteraction) -> Project:
        return self.model_copy(update={"ai_log": [*self.ai_log, interaction], "updated_at": utc_now()})

    def with_audit(self, record: AuditRecord) -> Project:
        return self.model_copy(update={"audits": [*self.audits, record], "updated_at": utc_now()})

    def audit_history(self, artifact: str) -> list[AuditRecord]:
        return [record for record in self.audits if record.artifact == artifact]
