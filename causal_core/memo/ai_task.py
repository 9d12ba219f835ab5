"""The AI memo task: prompt inputs and the bounded schema."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from causal_core.ai.structured import SchemaContext, data_block, enum_of, with_data_rule
from causal_core.display import EffectUnit
from causal_core.memo.deterministic import deterministic_memo
from causal_core.memo.facts import memo_facts
from causal_core.memo.formatting import effect_phrase, range_phrase
from causal_core.memo.sections import ESTIMAND_NAMES, METHOD_LABELS, SECTION_KEYS, SECTION_MAX_CHARS
from causal_core.multiverse import memo_text as robustness
from causal_core.project import (
    EstimateRow,
    Project,
)

if TYPE_CHECKING:
    import pandas as pd

# ---- the AI task ----------------------------------------------------------------------------


class MemoDraft(BaseModel):
    """The model's memo: N01 §13's eight sections, each bounded so constrained decoding terminates."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=SECTION_MAX_CHARS, description="The decision question in one sentence.")
    estimand: str = Field(max_length=SECTION_MAX_CHARS, description="Name the estimand (ATE/ATT) and population.")
    design: str = Field(max_length=SECTION_MAX_CHARS, description="Data, assignment, adjustment set.")
    key_diagnostic: str = Field(max_length=SECTION_MAX_CHARS, description="The diagnostic that matters most.")
    main_estimate: str = Field(max_length=SECTION_MAX_CHARS, description="The primary estimate and interval, copied.")
    interpretation: str = Field(max_length=SECTION_MAX_CHARS, description="Hedged reading, stating the assumptions.")
    main_limitation: str = Field(max_length=SECTION_MAX_CHARS, description="The most important limitation.")
    recommendation: str = Field(max_length=SECTION_MAX_CHARS, description="Decision and validation step; no numbers.")
    # The memo *references* estimates instead of typing numbers (issue 22 §1): the row ids are an enum of the
    # project's estimate rows in the per-project schema, and draft_sections writes the number, interval and
    # unit from the project. Quoting the naive row as the effect is then a visible, checkable choice.
    main_estimate_row: str = Field("", max_length=80, description="Row id of the estimate reported as the main result.")
    compared_rows: list[Annotated[str, Field(max_length=80)]] = Field(
        default_factory=list, max_length=6, description="Row ids of other estimates the memo mentions.")

    @classmethod
    def schema_context(cls, inputs: dict[str, Any]) -> SchemaContext:
        rows = inputs.get("estimates") or []
        return SchemaContext(estimate_rows=tuple(str(row["row_id"]) for row in rows if row.get("row_id")))

    @classmethod
    def constrain_json_schema(cls, schema: dict[str, Any], context: SchemaContext) -> dict[str, Any]:
        """main_estimate_row and compared_rows can only name an estimate row of this project."""
        if not context.estimate_rows:
            return schema
        properties = schema["properties"]
        properties["main_estimate_row"] = enum_of(context.estimate_rows, "The estimate row reported as the main result.")
        properties["compared_rows"]["items"] = enum_of(context.estimate_rows)
        properties["main_estimate"]["description"] = ("Context for the main estimate, without any number: the app "
                                                      "writes the number, interval and unit of main_estimate_row.")
        return schema

    @classmethod
    def column_problems(cls, parsed: dict[str, Any], context: SchemaContext) -> list[str]:
        if not context.estimate_rows:
            return []
        known = set(context.estimate_rows)
        return [f"{name}: '{row}' is not an estimate row of the project (rows: {', '.join(context.estimate_rows)})"
                for name, row in [("main_estimate_row", parsed.get("main_estimate_row", "")),
                                  *(("compared_rows", row) for row in parsed.get("compared_rows") or [])]
                if row not in known]


MEMO_SYSTEM_PROMPT = """You draft decision memos for causal analyses. You do not analyse data.
Rules:
- Use ONLY the numbers given in the inputs, copied exactly as written. Never compute or invent a number.
- Name the estimand (for example ATE or ATT) in the estimand section.
- State at least one assumption in the interpretation (for example "under the assumption that ...").
- State the main limitation honestly.
- Keep evidence and recommendation apart: evidence sections report; the recommendation section decides and contains no estimates.
- Never overclaim: do not write "proves", "definitely", "guarantees" or an unhedged "caused". Use "suggests" or "appears to".
- The direction you describe must agree with the sign of the main estimate.
- For an observational design, recommend validating with a randomized holdout, experiment or phased rollout.
- Refer to estimates by their row_id: put the row you report as the main result in main_estimate_row and any
  other row you mention in compared_rows. The app writes each row's number, interval and unit itself.
Return only JSON with the keys: question, estimand, design, key_diagnostic, main_estimate, interpretation,
main_limitation, recommendation (plain text of at most 600 characters each), main_estimate_row (a row_id)
and compared_rows (a list of row_ids)."""
MEMO_SYSTEM_PROMPT = with_data_rule(MEMO_SYSTEM_PROMPT)


def build_memo_inputs(project: Project, frame: pd.DataFrame | None = None) -> dict[str, Any]:
    """The memo's structured inputs: pre-formatted numbers so the model copies rather than computes."""
    facts = memo_facts(project, frame)
    card = project.estimand_card
    deterministic = deterministic_memo(project, frame)
    ids = estimate_row_ids(facts.rows)
    estimates = [
        {
            "row_id": row_id,
            "method": METHOD_LABELS.get(r.method, r.method),
            "estimand": r.estimand,
            "estimate": effect_phrase(r.estimate, facts.binary, facts.unit),
            "interval_95": (
                range_phrase(r.ci_low, r.ci_high, facts.binary, facts.unit)
                if r.ci_low is not None and r.ci_high is not None
                else "n/a"
            ),
        }
        for row_id, r in zip(ids, facts.rows, strict=True)
    ]
    return {
        "question": card.business_question if card else project.brief,
        "causal_question": card.causal_question if card else "",
        "estimand": facts.estimand,
        "estimand_name": ESTIMAND_NAMES.get(facts.estimand, facts.estimand),
        "target_population": card.target_population if card else "",
        "treatment": facts.treatment,
        "outcome": facts.outcome,
        "outcome_type": "binary (effects in percentage points)" if facts.binary else "continuous (outcome units)",
        "design": "observational (treatment not randomized)" if facts.observational else "randomized",
        "adjustment_set": facts.covariates,
        "excluded_variables": [name for name, _ in facts.excluded],
        "key_diagnostic": facts.diagnostic,
        "warnings_from_the_analysis": facts.warnings[:6],  # the draft must not read cleaner than the analysis
        "estimates": estimates,
        "main_estimate_sentence": deterministic["main_estimate"],
        "direction_of_main_estimate": facts.direction,
        "assumptions": list(card.required_assumptions[:3]) if card else [],
        "threats": list(card.likely_threats[:3]) if card else [],
        "sensitivity": facts.sensitivity[:2],
        "refutations": [line.split(" — ")[0] for line in facts.refutations],
        "open_questions": [q.text for q in project.open_questions if q.status == "open"][:3],
        **robustness.memo_inputs(project.multiverse, project),
    }


def build_memo_prompt(inputs: dict[str, Any]) -> str:
    return (
        "Draft the decision memo from these structured inputs. Copy numbers exactly; do not add any.\n\n"
        f"INPUTS:\n{data_block(json.dumps(inputs, indent=1, ensure_ascii=False), 'inputs')}\n\n"
        "Return the JSON memo now."
    )


def estimate_row_ids(rows: list[EstimateRow]) -> list[str]:
    """A stable id per estimate row, e.g. "aipw_ATE" ("aipw_ATE_2" for a second row of the same method)."""
    ids: list[str] = []
    for row in rows:
        base = re.sub(r"[^A-Za-z0-9]+", "_", f"{row.method}_{row.estimand}").strip("_") or "row"
        row_id, n = base, 1
        while row_id in ids:
            n += 1
            row_id = f"{base}_{n}"
        ids.append(row_id)
    return ids


def quoted_rows(memo: dict[str, Any] | None) -> list[str]:
    """The estimate rows a memo draft references, main row first (for the rubric: is it the primary row?)."""
    memo = memo or {}
    rows = [str(memo.get("main_estimate_row") or "")] + [str(row) for row in memo.get("compared_rows") or []]
    return [row for row in dict.fromkeys(rows) if row]


def rendered_estimate(row: EstimateRow, binary: bool, unit: EffectUnit | None = None) -> str:
    """A row's number, interval and unit, written by the app from the project (never typed by the model)."""
    label = row.label or METHOD_LABELS.get(row.method, row.method)
    interval = (f" (95% interval {range_phrase(row.ci_low, row.ci_high, binary, unit)})"
                if row.ci_low is not None and row.ci_high is not None else " (no interval)")
    return f"{label} ({row.estimand}): {effect_phrase(row.estimate, binary, unit)}{interval}."


def draft_sections(parsed: dict[str, Any] | None, project: Project | None = None,
                   frame: pd.DataFrame | None = None) -> dict[str, str]:
    """The eight sections of a parsed draft as clean strings (missing ones empty).

    With the project, a draft that references its main estimate by row id gets that row's number,
    interval and unit written into main_estimate by the app, before the model's own context sentence.
    """
    parsed = parsed or {}
    sections = {key: str(parsed.get(key) or "").strip() for key in SECTION_KEYS}
    row_id = str(parsed.get("main_estimate_row") or "")
    if project is None or not row_id:
        return sections
    facts = memo_facts(project, frame)
    rows = dict(zip(estimate_row_ids(facts.rows), facts.rows, strict=True))
    if row_id in rows:
        written = rendered_estimate(rows[row_id], facts.binary, facts.unit)
        sections["main_estimate"] = f"{written} {sections['main_estimate']}".strip()
    return sections
