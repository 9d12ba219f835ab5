"""Which design the graph supports (adjustment → front-door → instrument → none), in one sentence, what
would identify the effect when nothing does, and the estimand card's open questions that follow from it.

The order is the order of assumptions added: adjustment needs only the graph; the front-door formula also
needs the mediators to carry the whole effect; an instrument needs assumptions beyond the graph (a linear
constant effect for 2SLS, or monotonicity for a local effect among compliers), so the sentence says what an
IV estimate estimates rather than calling it the total effect.
"""

from __future__ import annotations

from typing import Literal

import networkx as nx
from pydantic import BaseModel, Field

from causal_core.dag.constants import MAX_DESIGN_PROBES
from causal_core.dag.criterion import forbidden_nodes, proper_backdoor_graph
from causal_core.dag.frontdoor import frontdoor_search, frontdoor_sets_in
from causal_core.dag.graph import get_node, is_hidden, observed_names
from causal_core.dag.identification import display_name, identify, prepared_question
from causal_core.dag.instruments import InstrumentSet, instrument_search
from causal_core.project import DagSpec, OpenQuestion, Project

Design = Literal["adjustment", "frontdoor", "iv", "none"]
OPEN_QUESTION_SOURCE = "DAG identification"  # the open questions update_open_questions owns


class DesignSummary(BaseModel):
    treatment: str
    outcome: str
    design: Design
    sentence: str = Field(description="One plain sentence: which design identifies the effect, and how.")
    what_would_identify: list[str] = Field(
        default_factory=list, description="When nothing identifies the effect: which unmeasured node, if measured, would."
    )
    to_measure: list[str] = Field(
        default_factory=list, description="The unmeasured nodes behind what_would_identify, named for a stakeholder."
    )
    adjustment_set: list[str] | None = None
    frontdoor_set: list[str] | None = None
    instrument: InstrumentSet | None = None
    instruments: list[InstrumentSet] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Caps and other caveats of the searches.")


def _braces(nodes: list[str]) -> str:
    return "{" + ", ".join(nodes) + "}"


def design_summary(spec: DagSpec, treatment: str | None = None, outcome: str | None = None) -> DesignSummary:
    """The design the graph supports for the total effect. Raises IdentificationError for a bad question
    (cycle, treatment = outcome, unknown node), so the page shows the reason and changes nothing.

    Selection nodes put a caution into the sentence itself: pages may show only the sentence, and a design
    that reads as sound while the sample is selected would be confidently wrong."""
    summary = _design_summary(spec, treatment, outcome)
    selected = list(getattr(spec, "selected", None) or [])
    if selected:
        summary.sentence += (
            f" Caution: the sample is selected on {', '.join(selected)}, and no design here removes selection bias."
        )
    return summary


def _design_summary(spec: DagSpec, treatment: str | None, outcome: str | None) -> DesignSummary:
    graph, x, y = prepared_question(spec, treatment, outcome)
    result = identify(spec, x, y)
    base = {"treatment": x, "outcome": y, "warnings": list(result.warnings)}
    notes = [note for note in (result.note if result.capped else "", result.criterion_note) if note]
    if result.identifiable:
        chosen = result.recommended_set or []
        how = f"adjusting for {_braces(chosen)}" if chosen else "comparing treated and untreated directly (no adjustment needed)"
        sentence = f"The graph supports adjustment: {how} identifies the total effect of {x} on {y}."
        if not nx.has_path(graph, x, y):
            sentence += f" The graph itself says that effect is zero: there is no directed path from {x} to {y}."
        return DesignSummary(**base, design="adjustment", sentence=sentence, adjustment_set=chosen, notes=notes)
    frontdoor = frontdoor_search(spec, x, y)
    notes += [frontdoor.note] if frontdoor.capped else []
    if frontdoor.sets:
        chosen = frontdoor.sets[0]
        sentence = (
            f"Adjustment cannot identify the effect of {x} on {y}, but the front-door criterion can, through the "
            f"mediator{'s' if len(chosen) > 1 else ''} {_braces(chosen)}."
        )
        return DesignSummary(**base, design="frontdoor", sentence=sentence, frontdoor_set=chosen, notes=notes)
    search = instrument_search(spec, x, y)
    instruments = search.instruments
    notes += [search.note] if search.capped else []
    if instruments:
        first = instruments[0]
        given = f" conditional on {_braces(first.conditioning)}" if first.conditioning else ""
        sentence = (
            f"Neither adjustment nor the front-door criterion identifies the effect of {x} on {y}; {first.instrument} "
            f"is an instrument{given}, so 2SLS estimates it only under extra assumptions (a linear constant effect, or "
            "monotonicity for a local effect among compliers)."
        )
        return DesignSummary(
            **base, design="iv", sentence=sentence, instrument=first, instruments=instruments, notes=notes
        )
    probes, to_measure, probe_notes = _what_would_identify(spec, graph, x, y)
    sentence = (
        f"Nothing in this graph identifies the effect of {x} on {y}: no adjustment set, front-door set or "
        "conditional instrument exists."
    )
    if probes:
        sentence += f" {probes[0][0].upper()}{probes[0][1:]}."
    return DesignSummary(
        **base,
        design="none",
        sentence=sentence,
        what_would_identify=probes,
        to_measure=to_measure,
        notes=notes + probe_notes,
    )


def _unmeasured(spec: DagSpec, graph: nx.DiGraph) -> list[str]:
    """Latent nodes, nodes without a data column, and the hidden common causes of bidirected edges."""
    observed = observed_names(spec)
    return sorted(n for n in graph if n not in observed)


def _identifies_with(graph: nx.DiGraph, x: str, y: str, observed: set[str]) -> str | None:
    """'adjustment' / 'front-door' when that observed set would identify the effect, else None."""
    backdoor = proper_backdoor_graph(graph, x, y)
    allowed = observed - forbidden_nodes(graph, x, y) - {x, y}
    if nx.find_minimal_d_separator(backdoor, {x}, {y}, restricted=allowed) is not None:
        return "adjustment"
    if frontdoor_sets_in(graph, x, y, observed, max_tests=500)[0]:
        return "front-door"
    return None


def _measure_text(spec: DagSpec, name: str) -> str:
    if is_hidden(name):
        first, second = name[1:-1].split(" <-> ")
        return f"measuring the common cause of {first} and {second} (drawn as {first} <-> {second})"
    node = get_node(spec, name)
    if node is not None and not node.latent:
        return f"giving {name} a data column"
    return f"measuring {name}"


def _what_would_identify(
    spec: DagSpec, graph: nx.DiGraph, x: str, y: str
) -> tuple[list[str], list[str], list[str]]:
    """Try each unmeasured node as if measured (then all of them at once); say which would identify."""
    observed = observed_names(spec)
    unmeasured = [n for n in _unmeasured(spec, graph) if n not in (x, y)]
    notes = []
    if len(unmeasured) > MAX_DESIGN_PROBES:
        notes.append(f"Only the first {MAX_DESIGN_PROBES} of {len(unmeasured)} unmeasured nodes were tried as if measured.")
    found, names = [], []
    for name in unmeasured[:MAX_DESIGN_PROBES]:
        design = _identifies_with(graph, x, y, observed | {name})
        if design:
            found.append(f"{_measure_text(spec, name)} would make the effect identifiable by {design}")
            names.append(display_name(name).removeprefix("a latent "))
    if not found and len(unmeasured) > 1:
        design = _identifies_with(graph, x, y, observed | set(unmeasured))
        if design:
            shown = ", ".join(display_name(n) for n in unmeasured)
            found.append(f"measuring all of {shown} together would make the effect identifiable by {design}")
    return found, names, notes


# ---------------------------------------------------------------------------------------------
# The estimand card's open questions that follow from the design
# ---------------------------------------------------------------------------------------------
def design_questions(summary: DesignSummary, spec: DagSpec) -> list[str]:
    """The questions a stakeholder must answer for this design to hold (texts, in display order)."""
    x, y = summary.treatment, summary.outcome
    questions: list[str] = []
    if summary.design == "adjustment":
        shown = _braces(summary.adjustment_set or [])
        questions.append(f"Is every common cause of {x} and {y} in the DAG? The adjustment set {shown} relies on it.")
    elif summary.design == "frontdoor":
        shown = _braces(summary.frontdoor_set or [])
        questions.append(f"Does every effect of {x} on {y} pass through {shown}?")
        questions.append(f"Is there no unmeasured common cause of {shown} and {y}, nor of {x} and {shown}?")
    elif summary.design == "iv" and summary.instrument is not None:
        z = summary.instrument.instrument
        given = f", once {_braces(summary.instrument.conditioning)} is accounted for" if summary.instrument.conditioning else ""
        questions.append(
            f"Does {z} affect {y} only through {x}{given}? The data cannot test this exclusion restriction."
        )
        questions.append(f"Is {z} a strong enough cause of {x} (first-stage F well above 10)?")
    else:
        for name in summary.to_measure:
            questions.append(f"Can {name} be measured?")
        if not questions:
            questions.append(f"Which measured variable could block the confounding of {x} and {y}?")
    for name in getattr(spec, "selected", None) or []:
        questions.append(f"How were the units selected on {name}? Adjustment cannot remove selection bias.")
    return questions


def update_open_questions(project: Project) -> Project:
    """A copy of ``project`` whose open questions follow the DAG's design, replacing only the questions this
    function owns (source OPEN_QUESTION_SOURCE). An owned question the analyst answered or dropped keeps its
    answer; the analyst's and the card's questions are never touched. No DAG question → project unchanged."""
    spec = project.dag
    if spec is None or not spec.treatment or not spec.outcome:
        return project
    try:
        summary = design_summary(spec)
    except ValueError:
        return project
    previous = {q.text: q for q in project.open_questions if q.source == OPEN_QUESTION_SOURCE}
    wanted = design_questions(summary, spec)
    owned = [previous.get(text) or OpenQuestion(text=text, source=OPEN_QUESTION_SOURCE) for text in wanted]
    kept_answers = [q for text, q in previous.items() if text not in wanted and q.status != "open"]
    others = [q for q in project.open_questions if q.source != OPEN_QUESTION_SOURCE]
    questions = [*others, *owned, *kept_answers]
    if questions == project.open_questions:
        return project
    before = [q.text for q in project.open_questions if q.source == OPEN_QUESTION_SOURCE]
    updated = project.with_edit(
        "open_questions", OPEN_QUESTION_SOURCE, before, wanted, note=f"design: {summary.design}"
    )
    return updated.model_copy(update={"open_questions": questions})
