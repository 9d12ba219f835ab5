"""Limits and role names shared by the DAG modules, and the edit error type."""

from __future__ import annotations

from causal_core.errors import WorkbenchInputError

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


class DagEditError(WorkbenchInputError):
    """A rejected edit; the message says why and the spec passed in is unchanged."""


class IdentificationError(DagEditError):
    """The graph cannot answer the identification question as asked (invalid graph, treatment = outcome,
    unknown node, an instrument requested where none exists); the message names the reason."""


MAX_FRONTDOOR_SETS = 20  # minimal front-door sets listed
MAX_FRONTDOOR_TESTS = 5_000  # candidate mediator sets tested for the front-door criterion
MAX_DESIGN_PROBES = 40  # latent nodes tried "as if measured" when nothing identifies the effect
NO_INSTRUMENT_MESSAGE = "no conditional instrument exists in this graph"
LARGE_GRAPH_NODES = 300  # above this, identify skips its optional per-node scans (and says so)
MAX_VERIFIED_SETS = 5  # listed minimal sets re-checked with networkx (the listing itself is brute-force tested)
LARGE_GRAPH_PATHS_SHOWN = 200  # simple paths inspected to *show* an open path in a large graph
MAX_INSTRUMENT_CANDIDATES = 150  # nodes tried as instruments (closest ancestors of the treatment first)
