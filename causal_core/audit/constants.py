"""Eligibility wording, role vocabulary and the audit input error shared by every audit step."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from causal_core.errors import WorkbenchInputError
from causal_core.project import Timing

EXPLICIT_WARNING = (
    "Dataset profiling can identify risks and questions, but it does not by itself establish causal identification."
)

# N09 §8's eligibility wording, plus the cases N09's example never needed (unknown timing, simulation truth).
ELIGIBLE = "eligible candidate, subject to causal graph review"
NOT_A_CONTROL = "not a control: treatment"
EXCLUDE = "exclude from primary adjustment set"
NOT_ADJUSTMENT = "not an adjustment variable"
UNKNOWN_TIMING = "timing unknown: not eligible until its timing is documented"
SIMULATION_TRUTH = "simulation truth: never a covariate"

EXCLUDED_TIMINGS = {Timing.post_treatment, Timing.outcome, Timing.future}
DAG_BAD_FOR_ELIGIBLE = {"mediator", "collider", "descendant_of_treatment", "outcome", "treatment"}

# N09 §10's caps: the bundle is intentionally lossy.
BUNDLE_CAPS = {
    "schema_profile": 20,
    "data_dictionary": 30,
    "type_profile_top_missing": 20,
    "missing_by_treatment": 16,
    "duplicate_summary": 8,
    "balance_table": 12,
    "overlap_summary": 20,
    "role_scan": 25,
    "leakage_correlations": 12,
    "regression_smoke_test": 10,
}


class AuditInputError(WorkbenchInputError):
    """A dataset/role combination the audit cannot use; the message says what to change.

    ``values`` lists the treatment values found and ``suggested_mapping`` (value -> 0/1) is set when a
    two-valued treatment could be recoded, so the page can offer a one-click mapping.
    """

    def __init__(self, message: str, values: list[str] | None = None, suggested_mapping: dict[str, int] | None = None):
        super().__init__(message)
        self.values = values or []
        self.suggested_mapping = suggested_mapping


class AuditSettings(BaseModel):
    """Analyst-adjustable knobs; part of the cache key together with the data hash and roles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bounds: tuple[float, float] = Field((0.05, 0.95), description="Propensity overlap bounds.")
    treated_value: str | None = Field(
        None, description="For a two-valued non-0/1 treatment: the value meaning treated."
    )
    smd_threshold: float = Field(0.1, gt=0)
    leak_threshold: float = Field(0.2, ge=0, le=1, description="|corr| above which a non-adjustable column is flagged.")
    heatmap_bins: int = Field(200, ge=10, le=2000)
    max_levels: int = Field(30, ge=2, description="Categoricals with more levels are not one-hot encoded.")

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"propensity bounds must satisfy 0 <= low < high <= 1, got {value}")
        return value
