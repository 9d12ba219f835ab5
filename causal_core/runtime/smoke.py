"""A tiny structured task that proves a model loads and writes schema-valid JSON (sidebar quick test, bench)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from causal_core.ai.structured import StructuredTask


class SmokeCheck(BaseModel):
    """Bounded so constrained decoding finishes in a few dozen tokens."""

    treatment: str = Field(max_length=60)
    outcome: str = Field(max_length=60)
    design: Literal["randomised", "observational", "unclear"]


SMOKE_BRIEF = "Did proactive customer-success outreach reduce churn last quarter? Outreach was targeted at risky accounts."


def _prompt(inputs: dict[str, Any]) -> str:
    return (
        f"Brief: {inputs.get('brief') or SMOKE_BRIEF}\n"
        "Name the treatment, the outcome, and whether the design is randomised, observational or unclear. "
        "Answer as JSON with keys treatment, outcome, design."
    )


SMOKE_TASK = StructuredTask(
    name="smoke-test",
    artifact="smoke_test",
    system_prompt="You are a careful causal-inference assistant. Return valid JSON only. No markdown.",
    build_user_prompt=_prompt,
    schema=SmokeCheck,
    field_aliases={"intervention": "treatment", "exposure": "treatment", "target": "outcome"},
)
