"""The profile review's fields and the one rule for "this text names that column".

Shared by the review task (``causal_core.audit.profile_review``) and its rubric of claims
(``causal_core.audit.review_rubric``), so neither imports the other to read them.
"""

from __future__ import annotations

import re

__all__ = ["PROFILE_LIST_FIELDS", "PROFILE_SCALAR_FIELDS", "mentions"]

PROFILE_SCALAR_FIELDS = ["dataset_grain", "candidate_treatment", "confidence"]
PROFILE_LIST_FIELDS = [
    "candidate_outcomes",
    "pre_treatment_covariates",
    "post_treatment_or_mediators",
    "leakage_risks",
    "missingness_risks",
    "unit_integrity_risks",
    "identification_questions",
    "recommended_exclusions_from_adjustment",
    "next_checks",
]


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` names ``name`` as a whole identifier (``backlog_start`` ≠ ``next_week_backlog``)."""
    pattern = r"(?<![a-z0-9_])" + re.escape(name.lower()) + r"(?![a-z0-9_])"
    return re.search(pattern, text.lower()) is not None
