"""Limits and role names shared by the DAG modules, and the edit error type."""

from __future__ import annotations

ROLE_NAMES = (
    "treatment",
    "outcome",
    "confounder",
    "mediator",
    "collider",
    "descendant_of_treatment",
    "instrument",
    "precision",
    "other",
)
MAX_NAME_LENGTH = 80
MAX_SUBSET_TESTS = 20_000  # d-separation tests spent enumerating minimal adjustment sets
MAX_MINIMAL_SETS = 50
MAX_IMPLICATIONS = 60
MAX_PATHS_SHOWN = 5_000  # simple paths inspected when *showing* an open path
_FORBIDDEN_NAME_CHARS = set('"\n\r\t{}[];')


class DagEditError(ValueError):
    """A rejected edit; the message says why and the spec passed in is unchanged."""
