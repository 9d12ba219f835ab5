"""Conditional instrumental variables, as DAGitty's ``instrumentalVariables`` (van der Zander, Textor &
Liśkiewicz 2015, "Efficiently finding conditional instruments for causal inference", IJCAI).

Z is an instrument for X → Y conditional on W when, in the proper backdoor graph G' (G without the first edge
of every causal path from X to Y): W contains no descendant of Y and no node on a causal path (mediator), Z is
d-connected to X given W, and Z is d-separated from Y given W. The paper shows that checking one W per Z, the
minimal separator of Y and Z in G' (an "ancestral instrument"), finds every conditional instrument; that is
what DAGitty does and what this module does, with networkx's ``find_minimal_d_separator``.

Deliberate differences from DAGitty, both about descendants of the treatment. Z may not be one: DAGitty's
definition admits X → D with D ⊥ Y | W (in a linear model D merely rescales X), but a variable the treatment
causes is no "as-if random" source of variation in it, so 2SLS on it means nothing under effect
heterogeneity. W may not contain one either: conditioning on a consequence of the treatment (e.g. a collider
child Z → C ← X) can make a node look like an instrument. W is searched among the allowed nodes from the
start rather than found first and rejected. With these rules the search is complete: on 331 random graphs
with latents it finds exactly the instruments that a brute force over every W finds (the tests repeat a
smaller version).

An instrument identifies the effect only with extra assumptions the graph cannot give (a linear constant
effect for 2SLS, or monotonicity for a local average effect among compliers); the design sentence says so.
"""

from __future__ import annotations

import networkx as nx
from pydantic import BaseModel, Field

from causal_core.dag.constants import MAX_INSTRUMENT_CANDIDATES, NO_INSTRUMENT_MESSAGE, IdentificationError
from causal_core.dag.criterion import proper_backdoor_graph, proper_causal_nodes
from causal_core.dag.graph import observed_names
from causal_core.dag.identification import prepared_question
from causal_core.project import DagSpec


class InstrumentSet(BaseModel):
    """One conditional instrument: ``instrument`` is valid given the observed ``conditioning`` set."""

    instrument: str
    conditioning: list[str] = Field(default_factory=list)

    def text(self) -> str:
        given = f" | {', '.join(self.conditioning)}" if self.conditioning else ""
        return f"{self.instrument}{given}"


class InstrumentSearch(BaseModel):
    instruments: list[InstrumentSet] = Field(default_factory=list)
    capped: bool = False
    note: str = ""


class NoInstrumentError(IdentificationError):
    """An instrument was requested (2SLS, ``adjust --instruments``) where the graph has none."""


def conditional_instruments(
    spec: DagSpec, treatment: str | None = None, outcome: str | None = None
) -> list[InstrumentSet]:
    """Every observed conditional instrument with its conditioning set (empty list: none exists; show
    NO_INSTRUMENT_MESSAGE). Raises IdentificationError for an invalid question."""
    return instrument_search(spec, treatment, outcome).instruments


def instrument_search(spec: DagSpec, treatment: str | None = None, outcome: str | None = None) -> InstrumentSearch:
    """The instruments plus whether the candidate cap was hit (each candidate costs one minimal-separator
    search, so a 2,000-node graph tries the MAX_INSTRUMENT_CANDIDATES closest ancestors of the treatment)."""
    graph, x, y = prepared_question(spec, treatment, outcome)
    selected = set(getattr(spec, "selected", None) or [])
    observed = observed_names(spec) - selected
    candidates = _candidates(graph, x, y, observed)
    capped = len(candidates) > MAX_INSTRUMENT_CANDIDATES
    found = instruments_in(graph, x, y, observed, candidates=candidates[:MAX_INSTRUMENT_CANDIDATES])
    note = ""
    if capped:
        note = (
            f"Only the {MAX_INSTRUMENT_CANDIDATES} observed nodes closest to {x} (of {len(candidates)}) were tried as "
            "instruments; others may exist."
        )
    elif not found:
        note = NO_INSTRUMENT_MESSAGE
    return InstrumentSearch(instruments=found, capped=capped, note=note)


def _candidates(graph: nx.DiGraph, x: str, y: str, observed: set[str]) -> list[str]:
    """Possible instruments, ancestors of the treatment first (nearest first), then the rest by name."""
    allowed = set(observed) - {x, y} - nx.descendants(graph, x)
    distance = nx.single_source_shortest_path_length(graph.reverse(copy=False), x)
    return sorted(allowed, key=lambda node: (distance.get(node, len(graph) + 1), node))


def require_instruments(spec: DagSpec, treatment: str | None = None, outcome: str | None = None) -> list[InstrumentSet]:
    """Like ``conditional_instruments`` but a request that finds none is an error with the stated message,
    for callers (2SLS, the CLI flag) that cannot proceed without one."""
    found = conditional_instruments(spec, treatment, outcome)
    if not found:
        raise NoInstrumentError(f"{NO_INSTRUMENT_MESSAGE} (treatment {treatment or spec.treatment}, "
                                f"outcome {outcome or spec.outcome})")
    return found


def instruments_in(
    graph: nx.DiGraph, x: str, y: str, observed: set[str], candidates: list[str] | None = None
) -> list[InstrumentSet]:
    """The search on a prepared graph; ``observed`` are the nodes that can be instruments or conditioned on,
    ``candidates`` (default: every allowed node) the ones tried as instruments. Sorted by instrument name."""
    backdoor = proper_backdoor_graph(graph, x, y)
    mediators = proper_causal_nodes(graph, x, y) - {y}
    descendants_of_x = nx.descendants(graph, x)
    descendants_of_y = nx.descendants(backdoor, y) | {y}
    conditionable = set(observed) - mediators - descendants_of_x - descendants_of_y - {x}
    found = []
    tried = sorted(set(observed) - {x, y} - descendants_of_x) if candidates is None else candidates
    for z in tried:
        given = nx.find_minimal_d_separator(backdoor, {y}, {z}, restricted=conditionable - {z})
        if given is None:
            continue
        if nx.is_d_separator(backdoor, {x}, {z}, set(given)):
            continue
        found.append(InstrumentSet(instrument=z, conditioning=sorted(given)))
    return sorted(found, key=lambda item: item.instrument)
