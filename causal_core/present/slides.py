"""The stakeholder deck: five slides built from the project, every number taken from the memo.

Why the memo and not the estimates directly: a stakeholder who reads the memo after the walkthrough must
see the same "-4.8 percentage points" they saw on the screen. So each slide's words are the deterministic
memo's sections (the memo's own formatting functions wrote every figure), the headline figure is written by
the same `effect_phrase` / `range_phrase` the memo uses, and nothing here re-estimates or re-rounds.
A stage that has not run yet gives an honest "not done yet" slide instead of a crash or an empty chart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from causal_core.display import binary_unit
from causal_core.display import outcome_unit as display_outcome_unit
from causal_core.memo import (
    METHOD_LABELS,
    MemoFacts,
    deterministic_memo,
    effect_phrase,
    memo_facts,
    range_phrase,
)
from causal_core.present import figures
from causal_core.project import Project
from causal_core.staleness import stale

if TYPE_CHECKING:
    import pandas as pd

SlideKey = Literal["question", "dag", "estimate", "curve", "recommendation"]
NOT_DONE = "Not done yet"
# Caveats that fit beside the recommendation at ≥ 24 px on 1280×720; the rest are in the speaker notes.
MAX_WARNINGS = 2
# The memo's adjustment-set verdict (facts.set_valid, from dag.check_adjustment_set) in plain words.
SET_VERDICTS = {
    True: "The set is valid for this diagram: it blocks every backdoor path.",
    False: "The set is NOT valid for this diagram (see the speaker notes).",
    None: "The set was not checked against a diagram.",
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


class Headline(BaseModel):
    """The main estimate as the memo writes it: point, interval and the unit they are in."""

    label: str = Field(description="Which estimate and estimand, e.g. 'doubly robust estimate · ATE'.")
    point: str = Field(description="The point estimate, formatted by the memo's effect_phrase.")
    interval: str = Field(description="The 95% interval, formatted by the memo's range_phrase ('' if none).")
    unit: str = Field(description="What the numbers are in (percentage points, or the outcome's unit).")


class Slide(BaseModel):
    """One slide. Text fields are memo text (names as code spans), rendered escaped by every surface."""

    key: SlideKey
    title: str
    done: bool
    lead: str = ""
    bullets: list[str] = Field(default_factory=list)
    headline: Headline | None = None
    svg: str = Field("", description="An inline-safe SVG picture (safe_svg.safe_svg), or '' when there is none.")
    svg_caption: str = ""
    notes: str = Field("", description="Speaker notes: the memo's sections behind this slide.")


class Deck(BaseModel):
    """The walkthrough: a title and five slides in a fixed order."""

    title: str
    slides: list[Slide]


def _lines(text: str) -> list[str]:
    """A memo section's lines, '- ' bullet markers dropped (each line becomes one bullet)."""
    return [line[2:] if line.startswith("- ") else line for line in (text or "").splitlines() if line.strip()]


def _notes(sections: dict[str, str], keys: tuple[str, ...]) -> str:
    """Speaker notes: the named memo sections, one paragraph each, in the memo's words."""
    return "\n".join(" ".join(_lines(sections.get(key, ""))) for key in keys if sections.get(key, "").strip())


def first_sentences(text: str, count: int) -> str:
    """The first ``count`` sentences of memo text, verbatim (the rest stays in the speaker notes)."""
    sentences = _SENTENCE_END.split(" ".join(_lines(text)))
    return " ".join(sentences[:count])


def _not_done(key: SlideKey, title: str, what: str, notes: str = "") -> Slide:
    return Slide(key=key, title=title, done=False, lead=f"{NOT_DONE}: {what}", notes=notes)


def outcome_unit(facts: MemoFacts) -> str:
    """The unit the memo writes the effect in (display.outcome_unit, the one rule for every surface)."""
    unit = facts.unit or (binary_unit() if facts.binary else display_outcome_unit())
    return unit.long


def headline(facts: MemoFacts) -> Headline | None:
    """The memo's main estimate as a headline: the same row (primary_row), the same formatting functions."""
    row = facts.primary
    if row is None:
        return None
    method = row.label or f"{METHOD_LABELS.get(row.method, row.method)} estimate"
    interval = (
        range_phrase(row.ci_low, row.ci_high, facts.binary, facts.unit)
        if row.ci_low is not None and row.ci_high is not None
        else ""
    )
    return Headline(
        label=f"{method} · {row.estimand}",
        point=effect_phrase(row.estimate, facts.binary, facts.unit),
        interval=interval,
        unit=outcome_unit(facts),
    )


def question_slide(project: Project, sections: dict[str, str]) -> Slide:
    notes = _notes(sections, ("question", "estimand", "design"))
    if project.estimand_card is None and not project.brief.strip():
        return _not_done("question", "The question", "write a brief and approve an estimand card (Question page).")
    return Slide(
        key="question",
        title="The question",
        done=True,
        lead=sections.get("question", ""),
        bullets=[sections.get("estimand", "")],
        notes=notes,
    )


def dag_slide(project: Project, facts: MemoFacts, sections: dict[str, str], draw: bool) -> Slide:
    title = "What drives what: the causal diagram"
    notes = _notes(sections, ("adjustment_set", "key_diagnostic", "excluded_variables"))
    if project.dag is None or not project.dag.nodes:
        return _not_done("dag", title, "draw the causal diagram (DAG page).", notes)
    svg, caption = figures.dag_picture(project, facts) if draw else ("", "")
    if not facts.estimated:
        return Slide(key="dag", title=title, done=True, lead="Adjustment set not yet chosen.", svg=svg,
                     svg_caption=caption, notes=notes)
    # The set itself on the slide; the memo's restatement of why it is valid stays in the notes (room for the
    # drawing), its verdict in one sentence under the drawing.
    lead = first_sentences(sections.get("adjustment_set", ""), 1)
    verdict = SET_VERDICTS[facts.set_valid]
    return Slide(key="dag", title=title, done=True, lead=lead, svg=svg,
                 svg_caption=f"{caption} {verdict}".strip(), notes=notes)


def estimate_slide(project: Project, facts: MemoFacts, sections: dict[str, str], draw: bool) -> Slide:
    title = "The estimate, and what would move it"
    notes = _notes(sections, ("main_estimate", "interpretation", "sensitivity", "refutations"))
    figure = headline(facts)
    if figure is None:
        return _not_done("estimate", title, "run the estimation (Estimation page).", notes)
    if stale(project, "estimation"):  # the memo withholds out-of-date numbers; so does the slide
        return Slide(key="estimate", title=title, done=False, lead=sections.get("main_estimate", ""), notes=notes)
    svg, caption = figures.sensitivity_picture(project, facts) if draw else ("", "")
    return Slide(
        key="estimate",
        title=title,
        done=True,
        headline=figure,
        lead=sections.get("main_estimate", ""),
        svg=svg,
        svg_caption=caption,
        notes=notes,
    )


def curve_slide(project: Project, sections: dict[str, str], draw: bool) -> Slide:
    title = "Does it hold across reasonable choices?"
    key = "robustness"
    notes = _notes(sections, (key,))
    if project.multiverse is None or not project.multiverse.rows:
        return _not_done("curve", title, "run the specification curve (Specification curve page).", notes)
    svg, caption = figures.curve_picture(project) if draw else ("", "")
    return Slide(
        key="curve", title=title, done=True, lead=first_sentences(sections.get(key, ""), 2), svg=svg,
        svg_caption=caption, notes=notes,
    )


def recommendation_slide(facts: MemoFacts, sections: dict[str, str]) -> Slide:
    title = "Recommendation"
    notes = _notes(sections, ("recommendation", "main_limitation", "warnings", "open_questions", "checklist"))
    if facts.primary is None:
        return _not_done("recommendation", title, "no recommendation until the effect has been estimated.", notes)
    warnings = [line for line in _lines(sections.get("warnings", "")) if line.strip() != "None raised."]
    caveats = [sections.get("main_limitation", ""), *(first_sentences(line, 1) for line in warnings[:MAX_WARNINGS])]
    if len(warnings) > MAX_WARNINGS:
        more = len(warnings) - MAX_WARNINGS
        caveats.append(f"{more} more warning{'s' if more > 1 else ''} from the analysis: see the speaker notes.")
    caveats = [line for line in caveats if line.strip()]
    return Slide(
        key="recommendation",
        title=title,
        done=True,
        lead=sections.get("recommendation", ""),
        bullets=caveats,
        notes=notes,
    )


def build_deck(project: Project, frame: pd.DataFrame | None = None, draw: bool = True) -> Deck:
    """The five slides from the project and (when loaded) its analysis frame, never re-estimating.

    ``draw=False`` skips the pictures (Graphviz, vl-convert): the words and numbers are the same.
    """
    facts = memo_facts(project, frame)
    sections = deterministic_memo(project, frame)
    slides = [
        question_slide(project, sections),
        dag_slide(project, facts, sections, draw),
        estimate_slide(project, facts, sections, draw),
        curve_slide(project, sections, draw),
        recommendation_slide(facts, sections),
    ]
    return Deck(title=project.name or "Causal analysis", slides=slides)
