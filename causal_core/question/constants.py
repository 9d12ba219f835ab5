"""Shared constants of the Question stage."""

from __future__ import annotations

from causal_core.project import (
    EstimandCard,
)

CARD_FIELDS = tuple(EstimandCard.model_fields)
LIST_FIELDS = ("required_assumptions", "likely_threats", "variables_to_audit")
TEXT_FIELDS = tuple(name for name in CARD_FIELDS if name not in LIST_FIELDS)

# Bounds for constrained decoding: every string and list is finite so a grammar-guided decode
# always terminates. Eight list items admit the N01 §6 card (seven variables to audit).
MAX_TEXT = 300
MAX_ITEM = 200
MAX_ITEMS = 8
