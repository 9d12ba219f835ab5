"""The drafting task: prompts, the bounded draft schema, conversion to the project EstimandCard."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from causal_core.ai.structured import SchemaContext, data_block, enum_of, not_a_column, with_data_rule
from causal_core.errors import WorkbenchInputError
from causal_core.project import (
    EstimandCard,
    Project,
)
from causal_core.question.constants import LIST_FIELDS, MAX_ITEM, MAX_ITEMS, MAX_TEXT, TEXT_FIELDS
from causal_core.question.matching import _column_names

# ---------------------------------------------------------------------------------------------
# The task: prompts, bounded draft schema, conversion to the project's EstimandCard
# ---------------------------------------------------------------------------------------------
SYSTEM_PROMPT = """You are helping an analyst draft a causal design document. Do not estimate the answer.
Do not say whether the treatment worked, do not quote any effect size, and do not write that anything
"proves" or "caused" a result: the data has not been analysed yet.

Return only one JSON object, an estimand card with exactly these 12 fields:
business_question, causal_question, unit, treatment, control_condition, outcome, time_window,
target_population, estimand (strings) and required_assumptions, likely_threats, variables_to_audit
(lists of short strings).

- Name the treatment and the outcome with the dataset's column names where one fits.
- The estimand names its type (ATE, ATT, ATC or CATE) and the population it averages over.
- required_assumptions: no unmeasured confounding (exchangeability), positivity (overlap),
  consistency, no interference, covariates measured before treatment.
- likely_threats: how units were chosen for treatment, post-treatment variables that are tempting
  controls, timing and logging problems.
- variables_to_audit: dataset column names; write "(not in data)" after anything the data lacks.
- Never propose adjusting for a post-treatment, outcome or future variable.
- Flag anything that cannot be determined from the brief: write
  "cannot be determined from the brief: <what to ask the stakeholder>" in that field."""
SYSTEM_PROMPT = with_data_rule(SYSTEM_PROMPT)

FIELD_ALIASES: dict[str, str] = {
    "question": "business_question",
    "stakeholder_question": "business_question",
    "research_question": "causal_question",
    "causal_query": "causal_question",
    "unit_of_analysis": "unit",
    "analysis_unit": "unit",
    "units": "unit",
    "intervention": "treatment",
    "exposure": "treatment",
    "treatment_definition": "treatment",
    "control": "control_condition",
    "comparison": "control_condition",
    "comparison_condition": "control_condition",
    "counterfactual": "control_condition",
    "primary_outcome": "outcome",
    "outcome_definition": "outcome",
    "time_period": "time_window",
    "window": "time_window",
    "timeframe": "time_window",
    "time_frame": "time_window",
    "population": "target_population",
    "study_population": "target_population",
    "target_estimand": "estimand",
    "causal_estimand": "estimand",
    "assumptions": "required_assumptions",
    "identification_assumptions": "required_assumptions",
    "threats": "likely_threats",
    "threats_to_validity": "likely_threats",
    "risks": "likely_threats",
    "variables": "variables_to_audit",
    "audit_variables": "variables_to_audit",
    "variables_to_check": "variables_to_audit",
}
# Keys a model writes that are *not* renamed: each would change what the card claims. A list of
# "confounders" is a causal claim (these variables cause both treatment and outcome); the card's
# variables_to_audit only says "check these columns". Renaming one to the other silently turned the
# claim into a warn-level field, so the parser refuses the draft, naming the key.
REFUSED_KEYS: dict[str, str] = {
    "confounders": "a list of confounders is a causal claim, variables_to_audit only lists columns to check; "
                   "write the columns under variables_to_audit",
    "likely_confounders": "a list of confounders is a causal claim, variables_to_audit only lists columns to "
                          "check; write the columns under variables_to_audit",
    "covariates": "the card has no adjustment set; write the columns to check under variables_to_audit",
    "adjustment_set": "the card has no adjustment set; write the columns to check under variables_to_audit",
    "effect": "the card must not state an effect",
    "effect_size": "the card must not state an effect",
}

_Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
_Item = Annotated[str, StringConstraints(max_length=MAX_ITEM)]
_Items = Annotated[list[_Item], Field(max_length=MAX_ITEMS)]


class EstimandCardDraft(BaseModel):
    """What the model must emit (N01 §6, all 12 fields), bounded for constrained decoding."""

    model_config = ConfigDict(extra="forbid")
    REFUSED_KEYS: ClassVar[dict[str, str]] = REFUSED_KEYS

    business_question: _Text = Field(description="The stakeholder's question, in their words.")
    causal_question: _Text = Field(description="The question as a causal contrast, without an answer.")
    unit: _Text = Field(description="The unit of analysis (one row of the analysis).")
    treatment: _Text = Field(description="The intervention, named with the data column where one fits.")
    control_condition: _Text = Field(description="What the comparison units did instead.")
    outcome: _Text = Field(description="The outcome, named with the data column where one fits.")
    time_window: _Text = Field(description="When treatment happened and when the outcome is measured.")
    target_population: _Text = Field(description="Which units the answer is about.")
    estimand: _Text = Field(description="ATE, ATT, ATC or CATE, and the population it averages over.")
    required_assumptions: _Items = Field(description="Identification assumptions.")
    likely_threats: _Items = Field(description="Ways the design could mislead.")
    variables_to_audit: _Items = Field(description="Data columns to check; '(not in data)' if missing.")

    # ---- per-project schema (structured.schema_for): column-valued fields are enums of the columns ----
    @classmethod
    def schema_context(cls, inputs: dict[str, Any]) -> SchemaContext:
        """The dataset's columns, from the prompt inputs (dictionary-only variables are not columns)."""
        rows = inputs.get("columns") or []
        return SchemaContext(tuple(str(row["variable"]) for row in rows if row.get("in_data", True)))

    @classmethod
    def constrain_json_schema(cls, schema: dict[str, Any], context: SchemaContext) -> dict[str, Any]:
        """treatment, outcome and variables_to_audit can only name a column of this dataset."""
        if not context.columns:
            return schema
        properties = schema["properties"]
        for name, description in COLUMN_FIELDS.items():
            properties[name] = enum_of(context.columns, description)
        audit = properties["variables_to_audit"]
        audit["items"] = enum_of(context.columns)
        audit["description"] = "Data columns to check."
        return schema

    @classmethod
    def column_problems(cls, parsed: dict[str, Any], context: SchemaContext) -> list[str]:
        """A draft that names a non-column where a column belongs (only a free-text answer can)."""
        if not context.columns:
            return []
        columns = set(context.columns)
        problems = [not_a_column(name, parsed.get(name, ""), context.columns)
                    for name in COLUMN_FIELDS if parsed.get(name, "") not in columns]
        problems += [not_a_column("variables_to_audit", item, context.columns)
                     for item in parsed.get("variables_to_audit") or [] if item not in columns]
        return problems


# Column-valued fields (plus every item of variables_to_audit) and what the per-project schema tells the model.
COLUMN_FIELDS = {"treatment": "The treatment column of the dataset.", "outcome": "The outcome column of the dataset."}


def build_inputs(project: Project, frame: Any = None) -> dict[str, Any]:
    """Prompt inputs: the brief plus the columns and dictionary (simulation-truth columns left out)."""
    columns = _column_names(project, frame)
    entries = {entry.variable: entry for entry in project.dictionary}
    rows = []
    for name in dict.fromkeys([*columns, *entries]):
        entry = entries.get(name)
        if entry is not None and entry.simulation_truth:
            continue
        rows.append(
            {
                "variable": name,
                "timing": (entry.timing_label or entry.timing.value) if entry else "unknown",
                "description": entry.description if entry else "",
                "in_data": name in columns,
            }
        )
    source = project.data_source
    return {
        "brief": project.brief.strip(),
        "dataset": source.name if source else "",
        "rows": int(len(frame)) if frame is not None else (source.rows if source else 0),
        "columns": rows,
    }


def build_user_prompt(inputs: dict[str, Any]) -> str:
    """The brief and a compact dictionary table; no data values, so nothing can be 'estimated'."""
    table = []
    for row in inputs.get("columns", []):
        missing = "" if row.get("in_data", True) else " [dictionary only, not in the data]"
        table.append(f"- {row['variable']} | {row.get('timing') or 'unknown'} | {row.get('description', '')}{missing}")
    lines = [
        "Stakeholder brief:",
        data_block(str(inputs.get("brief", "")).strip() or "(empty)", "brief"),
        "",
        f"Dataset: {data_block(inputs.get('dataset') or 'unnamed', 'dataset')} ({inputs.get('rows', 0)} rows).",
        "Columns (name | timing | description):",
        data_block("\n".join(table), "dictionary"),
    ]
    lines += ["", "Return the estimand card JSON now. Do not estimate anything."]
    return "\n".join(lines)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_as_text(item) for item in value if _as_text(item))
    return " ".join(str(value).split())


def _as_items(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"\n|;", value)
    if not isinstance(value, list):
        value = [value]
    return [text for text in (_as_text(item) for item in value) if text]


def normalise_keys(payload: dict[str, Any]) -> dict[str, Any]:
    """Rename synonym keys (``assumptions`` → ``required_assumptions``) to the card's field names."""
    renamed: dict[str, Any] = {}
    for key, value in payload.items():
        canonical = str(key).strip().lower().replace(" ", "_").replace("-", "_")
        canonical = FIELD_ALIASES.get(canonical, canonical)
        if canonical in renamed and not value:
            continue
        renamed[canonical] = value
    return renamed


def card_from_draft(payload: dict[str, Any] | EstimandCard | None) -> EstimandCard:
    """A lenient conversion of a parsed draft: aliases applied, lists split, unknown keys dropped.

    Scoring must never raise on a partial or oddly-typed draft (the lab scores empty defaults).
    """
    if isinstance(payload, EstimandCard):
        return payload
    data = normalise_keys(payload or {})
    values: dict[str, Any] = {name: _as_text(data.get(name)) for name in TEXT_FIELDS}
    values |= {name: _as_items(data.get(name)) for name in LIST_FIELDS}
    return EstimandCard(**values)


def card_from_json_payload(payload: Any) -> EstimandCard:
    """Strict reading of a card file (CLI): aliases allowed, unknown keys and wrong types are errors."""
    if isinstance(payload, dict) and isinstance(payload.get("estimand_card"), dict):
        payload = payload["estimand_card"]
    if not isinstance(payload, dict):
        raise WorkbenchInputError("the card must be a JSON object with the 12 estimand-card fields")
    try:
        return EstimandCard.model_validate(normalise_keys(payload))
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "card"
        raise WorkbenchInputError(
            f"the card does not match the estimand-card schema: {location}: {first['msg']} "
            f"({error.error_count()} problem(s) in all)"
        ) from None
