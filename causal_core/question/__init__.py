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
    _score_task,
    card_is_empty,
    edit_card_field,
    edit_open_questions,
    with_card,
    with_draft_result,
)
from causal_core.question.approval import (  # noqa: F401
    _guardrails,
    _unit_columns,
    approve_card,
    approve_card_with_notes,
)
from causal_core.question.card_rubric import (  # noqa: F401
    _ADJUST_PATTERNS,
    _CLAIM_CAUSED,
    _CLAIM_NUMBER,
    _CLAIM_PROOF,
    _CLAIM_VERB_BY,
    _CLAIM_VERDICT,
    _ESTIMAND_TYPES,
    _EXCHANGEABILITY,
    _FLAGGED_MISSING,
    _HEDGE,
    _NEGATED,
    _PAST_VERBS,
    _PERIOD,
    _PLACEHOLDER,
    _POPULATION_WORDS,
    _POSITIVITY,
    _UNDETERMINED,
    CHECKS,
    MAX_SCORE,
    _hedged,
    _sentences,
    _short,
    _split_phrase,
    _stated,
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
    _ANCHOR,
    _GENERIC,
    _STOP,
    CardContext,
    Match,
    Variable,
    _column_names,
    _name_pattern,
    _stem,
    tokens,
)
from causal_core.question.open_questions import (  # noqa: F401
    _QUESTION_RULES,
    _label,
    _plural,
    merge_open_questions,
    open_questions_from_card,
)
from causal_core.question.task import (  # noqa: F401
    FIELD_ALIASES,
    SYSTEM_PROMPT,
    EstimandCardDraft,
    _as_items,
    _as_text,
    _Item,
    _Items,
    _Text,
    build_inputs,
    build_user_prompt,
    card_from_draft,
    card_from_json_payload,
    normalise_keys,
)
