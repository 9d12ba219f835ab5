"""The Question stage (N01 §5–7): a stakeholder brief becomes an approved EstimandCard.

The model is asked for a design artifact, never an answer. Everything after the draft is
deterministic: the rubric below scores any card against the project's own columns and data
dictionary (token overlap and dictionary timing, nothing hard-coded to one dataset), approval
copies the card's treatment / outcome / unit onto the project only where the match is clear,
and the card's threats and assumptions become stakeholder questions (N01 §6 discussion).
"""

from __future__ import annotations

from causal_core.question.actions import (  # noqa: F401
    ESTIMAND_TASK,
    card_is_empty,
    edit_card_field,
    edit_open_questions,
    with_card,
    with_draft_result,
)
from causal_core.question.approval import (  # noqa: F401
    approve_card,
    approve_card_with_notes,
)
from causal_core.question.card_rubric import (  # noqa: F401
    CHECKS,
    MAX_SCORE,
    audit_item_status,
    check_control,
    check_estimand,
    check_exchangeability,
    check_no_effect_claim,
    check_no_post_treatment_adjustment,
    check_outcome,
    check_population,
    check_positivity,
    check_threats,
    check_time_window,
    check_treatment,
    check_unit,
    check_variables_to_audit,
    effect_claims,
    estimand_kind,
    proposed_adjustments,
    score_estimand_card,
)
from causal_core.question.constants import (  # noqa: F401
    CARD_FIELDS,
    LIST_FIELDS,
    MAX_ITEM,
    MAX_ITEMS,
    MAX_TEXT,
    TEXT_FIELDS,
)
from causal_core.question.examples import (  # noqa: F401
    EXAMPLE_CARDS,
    N01_CARD,
    SUPPORT_CARD,
    example_card,
)
from causal_core.question.matching import (  # noqa: F401
    CardContext,
    Match,
    Variable,
    tokens,
)
from causal_core.question.open_questions import (  # noqa: F401
    merge_open_questions,
    open_questions_from_card,
)
from causal_core.question.task import (  # noqa: F401
    FIELD_ALIASES,
    SYSTEM_PROMPT,
    EstimandCardDraft,
    build_inputs,
    build_user_prompt,
    card_from_draft,
    card_from_json_payload,
    normalise_keys,
)

__all__ = [
    "CARD_FIELDS",
    "CHECKS",
    "ESTIMAND_TASK",
    "EXAMPLE_CARDS",
    "FIELD_ALIASES",
    "LIST_FIELDS",
    "MAX_ITEM",
    "MAX_ITEMS",
    "MAX_SCORE",
    "MAX_TEXT",
    "N01_CARD",
    "SUPPORT_CARD",
    "SYSTEM_PROMPT",
    "TEXT_FIELDS",
    "CardContext",
    "EstimandCardDraft",
    "Match",
    "Variable",
    "approve_card",
    "approve_card_with_notes",
    "audit_item_status",
    "build_inputs",
    "build_user_prompt",
    "card_from_draft",
    "card_from_json_payload",
    "card_is_empty",
    "check_control",
    "check_estimand",
    "check_exchangeability",
    "check_no_effect_claim",
    "check_no_post_treatment_adjustment",
    "check_outcome",
    "check_population",
    "check_positivity",
    "check_threats",
    "check_time_window",
    "check_treatment",
    "check_unit",
    "check_variables_to_audit",
    "edit_card_field",
    "edit_open_questions",
    "effect_claims",
    "estimand_kind",
    "example_card",
    "merge_open_questions",
    "normalise_keys",
    "open_questions_from_card",
    "proposed_adjustments",
    "score_estimand_card",
    "tokens",
    "with_card",
    "with_draft_result",
]
