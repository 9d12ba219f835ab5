"""The memo sections (N01 section 13) and their order."""

from __future__ import annotations

from causal_core.methods import Estimand
from causal_core.methods import labels as method_labels
from causal_core.multiverse import memo_text as robustness

# ---- sections -------------------------------------------------------------------------------

MEMO_SECTIONS: list[tuple[str, str]] = [
    ("question", "Question"),
    ("estimand", "Estimand"),
    ("design", "Design"),
    ("key_diagnostic", "Key diagnostic"),
    ("main_estimate", "Main estimate"),
    ("interpretation", "Interpretation"),
    ("main_limitation", "Main limitation"),
    ("recommendation", "Recommendation"),
]
EXTRA_SECTIONS: list[tuple[str, str]] = [
    ("adjustment_set", "Adjustment set"),
    ("warnings", "Warnings from the analysis"),
    ("excluded_variables", "Excluded variables"),
    ("sensitivity", "Sensitivity"),
    ("refutations", "Refutations"),
    (robustness.SECTION_KEY, robustness.SECTION_TITLE),
    ("open_questions", "Open stakeholder questions"),
    ("checklist", "Checklist status"),
]
SECTION_KEYS = [key for key, _ in MEMO_SECTIONS]
SECTION_TITLES = dict(MEMO_SECTIONS + EXTRA_SECTIONS)
EVIDENCE_SECTIONS = ("design", "key_diagnostic", "main_estimate")
# Sections that talk about the effect itself: their numbers must be the estimates, not any project figure.
ESTIMATE_SECTIONS = ("main_estimate", "interpretation")
SECTION_MAX_CHARS = 600
NOT_YET = "not yet estimated"

METHOD_LABELS = method_labels(memo=True)  # the memo's phrases, from the one method registry (causal_core.methods)
# Which estimate the memo leads with: the doubly robust one when present (N01 §13).
PRIMARY_ORDER = ("aipw", "regression", "gcomp", "ipw", "naive")
ESTIMAND_NAMES = {estimand.value: estimand.long_name for estimand in Estimand}  # the memo's names, one source
