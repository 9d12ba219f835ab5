"""The contract between artifact stages and the model runtime.

A *task* is (system prompt, user-prompt builder, bounded pydantic schema) plus how to build its
inputs from a project and how to score its artifact. Stage modules define one task each
(question, dag_draft, profile_review, memo); the runtime runs any of them; the model lab loops them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pandas as pd

    from causal_core.project import Project, RubricCheck

# N09 §15's failure classes, plus model_error for a model that could not be loaded or called.
FAILURE_TYPES = (
    "empty_output",
    "missing_required_field",
    "wrong_field_type_or_schema",
    "invalid_json_or_truncated_output",
    "other_structured_output_error",
    "model_error",
    # The JSON object never closed (whatever the finish_reason), or the generation stopped at max_new_tokens:
    # never completed by json-repair and scored as valid.
    "truncated",
    # The model looped (the same span over and over) and was stopped early.
    "repetition",
    # The generation hit its wall-clock limit, or waited in a model's queue past its limit.
    "timeout",
    # The analyst pressed Stop (or closed the tab) before the draft finished.
    "stopped",
)

DEFAULT_REPAIR_PROMPT = (
    "Your previous answer could not be parsed as the required {schema_name} JSON schema.\n"
    "Convert the previous answer into valid JSON only. Do not add new causal claims.\n\n"
    "Parser error:\n{error_message}\n\nPrevious answer:\n{raw_output}"
)


class DecodingSettings(BaseModel):
    """Decoding knobs shown in the sidebar and logged with every call (temperature 0 = greedy)."""

    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_new_tokens: int = Field(700, ge=16, le=8192)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    repetition_penalty: float = Field(1.0, ge=1.0, le=2.0)
    seed: int = 209
    constrained: bool = Field(True, description="Decode under the schema's JSON grammar (local models).")
    repair_retry: bool = Field(True, description="One model retry with a repair prompt if parsing fails.")


@dataclass(frozen=True)
class StructuredTask:
    name: str  # CLI/lab name, e.g. "estimand-card"
    artifact: str  # audit-panel artifact key, e.g. "estimand_card"
    system_prompt: str
    build_user_prompt: Callable[[dict[str, Any]], str]
    schema: type[BaseModel]  # bounded (maxLength / maxItems) so constrained decoding terminates
    # Harmless spellings only ("threats" for likely_threats). A key whose renaming would change what the
    # draft claims goes in ``refused_keys`` (key → why): the parser refuses it, naming the key.
    field_aliases: Mapping[str, str] = field(default_factory=dict)
    refused_keys: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    repair_prompt_template: str = DEFAULT_REPAIR_PROMPT
    # Build the prompt inputs from a project (and its analysis rows when the task needs data).
    build_inputs: Callable[[Project, pd.DataFrame | None], dict[str, Any]] | None = None
    # Score a parsed artifact against the project: one RubricCheck per rule.
    score: Callable[[dict[str, Any], Project, pd.DataFrame | None], list[RubricCheck]] | None = None
