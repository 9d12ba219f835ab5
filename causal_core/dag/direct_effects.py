"""Adjustment sets for the controlled direct effect (CDE) of the treatment, holding chosen mediators fixed.

The rule implemented: the CDE at mediator level m, E[Y | do(X=x, M=m)] − E[Y | do(X=x', M=m)] (Pearl 2001;
Pearl 2009 §4.5), is identified by covariate adjustment with a set Z exactly when Z satisfies the adjustment
criterion for the *joint* intervention on {X} ∪ M (van der Zander, Liśkiewicz & Textor 2019, which covers
sets of treatments). In words: Z must block every non-causal path into Y from the treatment *and* from each
mediator, and must contain no descendant of a node on a causal path from {X} ∪ M. This is why a
mediator–outcome confounder C must be adjusted for a direct effect even when the total effect needs nothing.

When a mediator–outcome confounder is itself affected by the treatment (X → L → M, L → Y), no single set
works (L would have to be both adjusted for and left alone); the sequential g-formula (Robins 1986) would
still identify the CDE, but this app does not estimate it, so the note says so instead of offering a set.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
from pydantic import BaseModel, Field

from causal_core.dag.constants import IdentificationError
from causal_core.dag.criterion import forbidden_nodes, minimal_adjustment_sets, proper_causal_nodes
from causal_core.dag.graph import observed_names
from causal_core.dag.identification import prepared_question
from causal_core.project import DagSpec


class DirectEffectResult(BaseModel):
    treatment: str
    outcome: str
    mediators: list[str]
    sets: list[list[str]] = Field(default_factory=list, description="Minimal adjustment sets for the CDE.")
    capped: bool = False
    note: str = ""


def direct_effect_sets(
    spec: DagSpec, treatment: str | None, outcome: str | None, mediators: Iterable[str]
) -> list[list[str]]:
    """Minimal adjustment sets for the controlled direct effect through ``mediators`` (rule: module doc)."""
    return direct_effect_search(spec, treatment, outcome, mediators).sets


def direct_effect_search(
    spec: DagSpec, treatment: str | None, outcome: str | None, mediators: Iterable[str]
) -> DirectEffectResult:
    """The sets plus a note (no set, a treatment-affected mediator–outcome confounder, a zero direct effect).
    Raises IdentificationError for mediators that are unknown, unobserved or on no causal path."""
    graph, x, y = prepared_question(spec, treatment, outcome)
    chosen = list(dict.fromkeys(mediators))
    _check_mediators(spec, graph, x, y, chosen)
    joint = {x, *chosen}
    sets, capped = minimal_adjustment_sets(graph, joint, y, observed_names(spec))
    notes = []
    rest = graph.copy()
    rest.remove_nodes_from(chosen)
    if not nx.has_path(rest, x, y):
        notes.append(
            f"Every causal path from {x} to {y} runs through {', '.join(chosen)}: the graph says the controlled "
            "direct effect is zero."
        )
    if not sets:
        notes.append(_why_no_set(spec, graph, x, y, chosen))
    if capped:
        notes.append("The list of sets was capped; each listed set is valid.")
    return DirectEffectResult(treatment=x, outcome=y, mediators=chosen, sets=sets, capped=capped, note=" ".join(notes))


def _check_mediators(spec: DagSpec, graph: nx.DiGraph, x: str, y: str, chosen: list[str]) -> None:
    if not chosen:
        raise IdentificationError("choose at least one mediator to hold fixed for a controlled direct effect")
    unknown = [m for m in chosen if m not in graph]
    if unknown:
        raise IdentificationError(f"unknown mediator(s): {', '.join(unknown)}")
    if x in chosen or y in chosen:
        raise IdentificationError("a mediator cannot be the treatment or the outcome")
    on_path = proper_causal_nodes(graph, x, y)
    off_path = [m for m in chosen if m not in on_path]
    if off_path:
        raise IdentificationError(
            f"{', '.join(off_path)} lie(s) on no causal path from {x} to {y}, so holding it fixed is not a mediator "
            "question"
        )
    unobserved = [m for m in chosen if m not in observed_names(spec)]
    if unobserved:
        raise IdentificationError(
            f"{', '.join(unobserved)} cannot be held fixed in the data: latent or without a data column"
        )


def _why_no_set(spec: DagSpec, graph: nx.DiGraph, x: str, y: str, chosen: list[str]) -> str:
    """Name the treatment-affected mediator–outcome confounders (the textbook reason), else say it plainly."""
    forbidden = forbidden_nodes(graph, {x, *chosen}, y)
    descendants_of_x = nx.descendants(graph, x)
    induced = sorted(
        node
        for node in descendants_of_x & forbidden
        if node not in chosen and node != y and any(nx.has_path(graph, node, m) for m in chosen)
    )
    if induced:
        return (
            f"No single adjustment set identifies the controlled direct effect: {', '.join(induced)} is affected by "
            f"{x} and confounds the mediator and {y}, so it must be both adjusted for and left alone. The "
            "sequential g-formula would identify it; this app does not estimate it."
        )
    return (
        f"No observed adjustment set identifies the controlled direct effect of {x} on {y} holding "
        f"{', '.join(chosen)} fixed: a non-causal path into {y} from the treatment or a mediator stays open."
    )
