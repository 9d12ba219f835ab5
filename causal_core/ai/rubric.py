"""Turning rubric checks into audit records: failures score zero, never NaN."""

from __future__ import annotations

from causal_core.project import AIInteraction, AuditRecord, RubricCheck


def check(name: str, passed: bool, reason: str, severity: str = "fail", applicable: bool = True) -> RubricCheck:
    """One rubric line; ``reason`` is a one-line explanation either way."""
    return RubricCheck(name=name, passed=bool(passed), reason=reason, severity=severity, applicable=applicable)


def score_of(checks: list[RubricCheck]) -> tuple[int, int]:
    """Score k / n over the scored checks (warn-level checks are shown but not counted)."""
    scored = [c for c in checks if c.severity == "fail" and c.applicable]
    return sum(c.passed for c in scored), len(scored)


def audit_record(
    artifact: str,
    checks: list[RubricCheck],
    interaction: AIInteraction | None = None,
    max_score_if_failed: int = 0,
) -> AuditRecord:
    """An audit-panel record. A failed generation (no parsed artifact) scores 0 / n with n kept."""
    if interaction is not None and not interaction.schema_valid:
        return AuditRecord(
            artifact=artifact,
            model_id=interaction.model_id,
            interaction_id=interaction.id,
            schema_valid=False,
            repair_stage=interaction.repair_stage,
            failure_type=interaction.failure_type or "other_structured_output_error",
            checks=[],
            score=0,
            max_score=max_score_if_failed,
        )
    score, max_score = score_of(checks)
    return AuditRecord(
        artifact=artifact,
        model_id=interaction.model_id if interaction else "analyst",
        interaction_id=interaction.id if interaction else None,
        schema_valid=True,
        repair_stage=interaction.repair_stage if interaction else "none",
        failure_type="",
        checks=checks,
        score=score,
        max_score=max_score,
    )
