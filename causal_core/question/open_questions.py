"""Open questions for stakeholders (N01 section 6 discussion)."""

from __future__ import annotations

import re

from causal_core.project import (
    EstimandCard,
    OpenQuestion,
)
from causal_core.question.card_rubric import _short


# ---------------------------------------------------------------------------------------------
# Open questions for stakeholders (N01 §6 discussion)
# ---------------------------------------------------------------------------------------------
def _plural(unit: str) -> str:
    unit = re.sub(r"\s*\(.*?\)", "", unit or "").strip() or "unit"
    unit = unit.split(";")[0].split(",")[0].strip()
    return unit if unit.endswith("s") else unit + "s"


def _label(text: str, fallback: str) -> str:
    """A short noun phrase for a question: "receiving X during the month" → "X"."""
    text = re.sub(r"\s*\(.*?\)", "", text or "").strip()
    text = re.split(r"\s+(?:during|within|for the|after|before|in the|over|from)\s+|[;,:]", text)[0]
    text = re.sub(r"^(?:receiving|being|getting|the)\s+", "", text.strip(), flags=re.I)
    return _short(text, 60) if text else fallback


_QUESTION_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"unobserved|unmeasured|informal|notes|knowledge|target|prioriti|chose|choose|select|discretion|common cause|confound",
            re.I,
        ),
        "Did anyone choose which {units} got the treatment ({treatment}) using notes or informal knowledge not present in the dataset?",
    ),
    (
        re.compile(r"post[\s\-]|after (?:the )?\w+|mediator|controlled for|tempting|bad control", re.I),
        "Are post-treatment measurements (anything recorded after {treatment}) being mixed into the covariate table?",
    ),
    (
        re.compile(r"overlap|positiv|probability|could never|eligib", re.I),
        "Are there {units} that could never receive the treatment ({treatment}) because of staffing, geography or policy?",
    ),
    (
        re.compile(r"timing|measured before|date|recorded before|pre-treatment|before (?:\w+ )?assignment", re.I),
        "Was the eligibility date recorded before the treatment ({treatment}), and are covariates measured before it?",
    ),
    (
        re.compile(r"interfer|another|spillover|other (?:team|account|unit)s?|shared", re.I),
        "Could treating one of the {units} change another's {outcome} (shared staff, queues or routing)?",
    ),
    (
        re.compile(r"leak|future|following week|next week", re.I),
        "Which columns are measured after the outcome window, so they can be dropped from every model?",
    ),
    (
        re.compile(r"duplicat|missing|logged|logging", re.I),
        "Were all eligible {units} logged, or only treated ones, and why are some rows duplicated or missing?",
    ),
    (
        re.compile(r"consisten|same (?:way|configuration|version)|version", re.I),
        "Was the treatment ({treatment}) delivered the same way for every one of the {units}?",
    ),
]


def open_questions_from_card(card: EstimandCard) -> list[OpenQuestion]:
    """Stakeholder questions raised by the card's threats and assumptions, one per theme, deduplicated."""
    names = {
        "units": _plural(card.unit),
        "treatment": _label(card.treatment, "the treatment"),
        "outcome": _label(card.outcome, "outcome"),
    }
    questions: dict[str, OpenQuestion] = {}
    if re.search(r"eligib", card.target_population, re.I):
        text = "Were all eligible {units} logged, or only the ones that received the treatment?".format(**names)
        questions[text] = OpenQuestion(text=text, source=f"target population: {_short(card.target_population, 80)}")
    sources = [("threat", item) for item in card.likely_threats] + [
        ("assumption", item) for item in card.required_assumptions
    ]
    for kind, item in sources:
        if not item.strip():
            continue
        template = next((template for pattern, template in _QUESTION_RULES if pattern.search(item)), None)
        text = (
            template.format(**names) if template else f"Can the stakeholders confirm or rule out: {_short(item, 150)}?"
        )
        if text not in questions:
            questions[text] = OpenQuestion(text=text, source=f"{kind}: {_short(item, 80)}")
    return list(questions.values())


def merge_open_questions(existing: list[OpenQuestion], derived: list[OpenQuestion]) -> list[OpenQuestion]:
    """Keep the analyst's questions (and their answers); add derived ones not already listed."""
    known = {question.text.strip().lower() for question in existing}
    return [*existing, *(q for q in derived if q.text.strip().lower() not in known)]
