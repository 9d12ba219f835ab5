"""The decision memo (N01 §13): a deterministic memo built only from project figures, the AI-draft
task that writes prose from the same structured inputs, and the rubric that audits any memo.

Why deterministic first: every number a stakeholder reads must be traceable to a project figure.
The model may only rephrase; the rubric checks that it invented no numbers, named the estimand,
kept evidence apart from the recommendation and did not overclaim.
"""

from __future__ import annotations

from causal_core.memo.ai_task import (  # noqa: F401
    MEMO_SYSTEM_PROMPT,
    MemoDraft,
    build_memo_inputs,
    build_memo_prompt,
    draft_sections,
)
from causal_core.memo.deterministic import (  # noqa: F401
    _adjustment_text,
    _bullets,
    _checklist_text,
    _design,
    _estimand,
    _interpretation,
    _limitation,
    _main_estimate,
    _open_questions_text,
    _question,
    _recommendation,
    deterministic_memo,
    estimates_markdown,
    memo_markdown,
    with_deterministic_memo,
)
from causal_core.memo.facts import (  # noqa: F401
    SENSITIVITY_LABELS,
    MemoFacts,
    _balance_from_records,
    _dag_node_for,
    _exclusion_reason,
    _find_balance,
    _is_observational,
    _key_diagnostic,
    _number_text,
    _sentences_in,
    _set_source,
    dag_set_check,
    excluded_variables,
    memo_facts,
    outcome_is_binary,
    primary_row,
    refutation_lines,
    sensitivity_lines,
)
from causal_core.memo.formatting import (  # noqa: F401
    _label,
    effect_phrase,
    fmt_effect,
)
from causal_core.memo.memo_rubric import (  # noqa: F401
    ASSUMPTION_RE,
    CAUSED_RE,
    DOWN_RE,
    ESTIMAND_PATTERNS,
    FACT_RE,
    HEDGE_RE,
    MEMO_RUBRIC,
    MEMO_TASK,
    NEGATION_RE,
    OVERCLAIM_RE,
    RECOMMEND_RE,
    UNCERTAIN_RE,
    UP_RE,
    VALIDATION_RE,
    _check_direction,
    _check_numbers,
    _check_separation,
    _direction_counts,
    _overclaims,
    _sentences,
    score_memo,
)
from causal_core.memo.numbers import (  # noqa: F401
    CITED_DIAGNOSTICS,
    GENERIC_NUMBERS,
    NUMBER_RE,
    POINTS_RE,
    SKIPPED_FIGURE_KEYS,
    SMALL_COUNT_LIMIT,
    Figures,
    TextNumber,
    _figure_of,
    _numeric_leaves,
    _share_leaves,
    numbers_in,
    project_figures,
    project_texts,
    unmatched_numbers,
)
from causal_core.memo.sections import (  # noqa: F401
    ESTIMAND_NAMES,
    ESTIMATE_SECTIONS,
    EVIDENCE_SECTIONS,
    EXTRA_SECTIONS,
    MEMO_SECTIONS,
    METHOD_LABELS,
    NOT_YET,
    PRIMARY_ORDER,
    SECTION_KEYS,
    SECTION_MAX_CHARS,
    SECTION_TITLES,
)
