"""Approval: an approved card sets roles, guardrails and open questions."""

from __future__ import annotations

import re
from typing import Any

from causal_core.project import (
    EstimandCard,
    Project,
    Timing,
)
from causal_core.question.card_rubric import estimand_kind
from causal_core.question.constants import TEXT_FIELDS
from causal_core.question.matching import CardContext, _name_pattern, tokens
from causal_core.question.open_questions import merge_open_questions, open_questions_from_card


# ---------------------------------------------------------------------------------------------
# Approval
# ---------------------------------------------------------------------------------------------
def _unit_columns(card: EstimandCard, ctx: CardContext) -> list[str]:
    """Identifier columns the unit text names ("customer account" → account_id; "team-week" → team_id, week_start)."""
    unit_tokens = tokens(card.unit, strip_anchors=False)
    chosen = []
    for variable in ctx.variables:
        is_id = variable.timing in {Timing.unit_id, Timing.time_id} or re.search(r"(?:^|_)(?:id|key)$", variable.name)
        named = bool(variable.name_tokens & unit_tokens) or bool(_name_pattern(variable.name).search(card.unit.lower()))
        if is_id and variable.in_data and named:
            chosen.append(variable.name)
    return chosen


def _guardrails(card: EstimandCard, ctx: CardContext, outcome: str | None) -> list[str]:
    """Outcome-window columns the card calls a guardrail."""
    segments = [getattr(card, name) for name in TEXT_FIELDS] + list(card.variables_to_audit)
    found = []
    for segment in segments:
        for piece in re.split(r"[;\n]", segment):
            if "guardrail" not in piece.lower():
                continue
            for variable in ctx.variables:
                if (
                    variable.timing == Timing.outcome
                    and variable.name != outcome
                    and variable.in_data
                    and _name_pattern(variable.name).search(piece.lower())
                    and variable.name not in found
                ):
                    found.append(variable.name)
    return found


def approve_card_with_notes(project: Project, card: EstimandCard, frame: Any = None) -> tuple[Project, list[str]]:
    """Approve ``card``; set treatment / outcome / unit defaults where the card names a column clearly.

    Returns the new project and one note per default (changed, kept, or not matched) for the page.
    """
    ctx = CardContext.build(project, frame)
    notes: list[str] = []
    updates: dict[str, Any] = {}
    for role, text in (("treatment", card.treatment), ("outcome", card.outcome)):
        current = getattr(project, role)
        found = [m for m in ctx.matches(text) if m.variable.in_data]
        clear = found and (len(found) == 1 or found[0].score - found[1].score >= 0.25)
        if not found:
            notes.append(f"The card's {role} matches no data column; kept {current or 'none'}.")
        elif not clear:
            options = ", ".join(m.variable.name for m in found[:3])
            notes.append(
                f"The card's {role} could be {options}; kept {current or 'none'} (set it on the Overview page)."
            )
        elif found[0].variable.name != current:
            updates[role] = found[0].variable.name
            notes.append(f"{role.capitalize()} set to {found[0].variable.name} (was {current or 'none'}).")
        else:
            notes.append(f"{role.capitalize()} stays {current}.")
    units = _unit_columns(card, ctx)
    if units and units != project.unit_columns:
        updates["unit_columns"] = units
        notes.append(f"Unit grain set to {', '.join(units)} (was {', '.join(project.unit_columns) or 'none'}).")
    elif units:
        notes.append(f"Unit grain stays {', '.join(units)}.")
    else:
        notes.append(f"The card's unit names no identifier column; kept {', '.join(project.unit_columns) or 'none'}.")
    guardrails = [
        g for g in _guardrails(card, ctx, updates.get("outcome", project.outcome)) if g not in project.guardrails
    ]
    if guardrails:
        updates["guardrails"] = [*project.guardrails, *guardrails]
        notes.append(f"Guardrail outcome(s) added: {', '.join(guardrails)}.")
    kind = estimand_kind(card.estimand)
    notes.append(f"Estimand: {kind}." if kind else "The estimand names no type; later pages default to the ATE.")
    approved = project
    for name, value in updates.items():
        approved = approved.with_edit(
            "project", name, getattr(project, name), value, note="from the approved estimand card"
        )
    approved = approved.with_edit("estimand_card", "card_status", project.card_status, "approved")
    questions = merge_open_questions(project.open_questions, open_questions_from_card(card))
    approved = approved.model_copy(
        update={**updates, "estimand_card": card, "card_status": "approved", "open_questions": questions}
    )
    return approved, notes


def approve_card(project: Project, card: EstimandCard, frame: Any = None) -> Project:
    """Mark ``card`` approved and copy its clear column matches onto the project (see approve_card_with_notes)."""
    return approve_card_with_notes(project, card, frame)[0]
