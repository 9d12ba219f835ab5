"""Page actions (Streamlit-free so they are tested directly): each returns a new Project."""

from __future__ import annotations

from typing import Any

from causal_core.ai.rubric import audit_record
from causal_core.ai.structured import StructuredTask
from causal_core.errors import WorkbenchInputError
from causal_core.project import (
    AIInteraction,
    EstimandCard,
    OpenQuestion,
    Project,
    RubricCheck,
)
from causal_core.question.card_rubric import MAX_SCORE, score_estimand_card
from causal_core.question.constants import CARD_FIELDS, LIST_FIELDS
from causal_core.question.task import (
    FIELD_ALIASES,
    SYSTEM_PROMPT,
    EstimandCardDraft,
    _as_items,
    _as_text,
    build_inputs,
    build_user_prompt,
    card_from_draft,
)


# ---------------------------------------------------------------------------------------------
# Page actions (Streamlit-free so they are tested directly): each returns a new Project
# ---------------------------------------------------------------------------------------------
def card_is_empty(card: EstimandCard | None) -> bool:
    return card is None or not any(getattr(card, name) for name in CARD_FIELDS)


def with_card(
    project: Project,
    card: EstimandCard,
    frame: Any = None,
    *,
    interaction: AIInteraction | None = None,
    source: str = "analyst",
) -> Project:
    """Install a new draft card (model draft, example or empty card) and record its audit.

    A card it replaces is kept in the edit log, so replacing an approved card loses nothing.
    """
    updated = project
    if project.estimand_card is not None and project.estimand_card != card:
        updated = updated.with_edit(
            "estimand_card", "card", project.estimand_card.model_dump(), card.model_dump(), note=f"replaced by {source}"
        )
    record = audit_record("estimand_card", score_estimand_card(card, project, frame), interaction)
    return updated.model_copy(update={"estimand_card": card, "card_status": "draft"}).with_audit(record)


def with_draft_result(project: Project, interaction: AIInteraction, frame: Any = None) -> Project:
    """Apply a model draft: a valid one becomes the card; a failure is audited (0 / n) and the card kept."""
    if interaction.schema_valid and interaction.parsed is not None:
        return with_card(
            project, card_from_draft(interaction.parsed), frame, interaction=interaction, source="model draft"
        )
    failed = interaction if not interaction.schema_valid else interaction.model_copy(update={"schema_valid": False})
    return project.with_audit(audit_record("estimand_card", [], failed, max_score_if_failed=MAX_SCORE))


def edit_card_field(project: Project, field_name: str, value: Any, frame: Any = None) -> Project:
    """One analyst edit: logged (field, before, after), re-scored; an approved card goes back to draft."""
    if field_name not in CARD_FIELDS:
        raise WorkbenchInputError(f"unknown estimand-card field '{field_name}'")
    card = project.estimand_card or EstimandCard()
    value = _as_items(value) if field_name in LIST_FIELDS else _as_text(value)
    before = getattr(card, field_name)
    if before == value:
        return project
    edited = card.model_copy(update={field_name: value})
    updated = project.with_edit("estimand_card", field_name, before, value)
    if project.card_status == "approved":
        updated = updated.with_edit("estimand_card", "card_status", "approved", "draft", note="edited after approval")
    record = audit_record("estimand_card", score_estimand_card(edited, project, frame))
    return updated.model_copy(update={"estimand_card": edited, "card_status": "draft"}).with_audit(record)


def edit_open_questions(project: Project, rows: list[dict[str, Any]]) -> Project:
    """Replace the open-question list from an edited table (blank rows dropped); the change is logged."""
    questions = []
    for row in rows:
        text = _as_text(row.get("text"))
        if not text or text.lower() == "nan":
            continue
        status = _as_text(row.get("status")) or "open"
        if status not in {"open", "answered", "dropped"}:
            raise WorkbenchInputError(f"open question status must be open, answered or dropped (got '{status}')")
        answer = _as_text(row.get("answer"))
        source = _as_text(row.get("source"))
        questions.append(
            OpenQuestion(
                text=text,
                source="" if source.lower() == "nan" else source or "analyst",
                status=status,
                answer="" if answer.lower() == "nan" else answer,
            )
        )
    if questions == project.open_questions:
        return project
    before = [question.model_dump() for question in project.open_questions]
    updated = project.with_edit("open_questions", "rows", before, [question.model_dump() for question in questions])
    return updated.model_copy(update={"open_questions": questions})


def _score_task(artifact: dict[str, Any], project: Project, frame: Any = None) -> list[RubricCheck]:
    return score_estimand_card(artifact, project, frame)


ESTIMAND_TASK = StructuredTask(
    name="estimand-card",
    artifact="estimand_card",
    system_prompt=SYSTEM_PROMPT,
    build_user_prompt=build_user_prompt,
    schema=EstimandCardDraft,
    field_aliases=FIELD_ALIASES,
    defaults={name: [] for name in LIST_FIELDS},
    build_inputs=build_inputs,
    score=_score_task,
)
