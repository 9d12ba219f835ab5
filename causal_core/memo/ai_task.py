"""The AI memo task: prompt inputs and the bounded schema."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from causal_core.memo.deterministic import deterministic_memo
from causal_core.memo.facts import memo_facts
from causal_core.memo.formatting import effect_phrase, range_phrase
from causal_core.memo.sections import ESTIMAND_NAMES, METHOD_LABELS, SECTION_KEYS, SECTION_MAX_CHARS
from causal_core.multiverse import memo_text as robustness
from causal_core.project import (
    Project,
)
from causal_core.structured import data_block, with_data_rule

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
Return only JSON with the keys: question, estimand, design, key_diagnostic, main_estimate, interpretation,
main_limitation, recommendation. Each value is plain text of at most 600 characters."""
MEMO_SYSTEM_PROMPT = with_data_rule(MEMO_SYSTEM_PROMPT)


def build_memo_inputs(project: Project, frame: pd.DataFrame | None = None) -> dict[str, Any]:
    """The memo's structured inputs: pre-formatted numbers so the model copies rather than computes."""
    facts = memo_facts(project, frame)
    card = project.estimand_card
    deterministic = deterministic_memo(project, frame)
    estimates = [
        {
            "method": METHOD_LABELS.get(r.method, r.method),
            "estimand": r.estimand,
            "estimate": effect_phrase(r.estimate, facts.binary),
            "interval_95": (
                range_phrase(r.ci_low, r.ci_high, facts.binary)
                if r.ci_low is not None and r.ci_high is not None
                else "n/a"
            ),
        }
        for r in facts.rows
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


def draft_sections(parsed: dict[str, Any] | None) -> dict[str, str]:
    """The eight sections of a parsed draft as clean strings (missing ones empty)."""
    parsed = parsed or {}
    return {key: str(parsed.get(key) or "").strip() for key in SECTION_KEYS}
