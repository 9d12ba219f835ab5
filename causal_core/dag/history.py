"""Undo/redo for DAG edits: a bounded history of whole DagSpecs (pure; the page keeps it in session state).

Why whole specs rather than inverse edits: every edit is already a pure function returning a new spec,
so storing the spec before it is exact for every kind of edit (bulk edge table, import, layout) and
needs no per-edit inverse. The history is bounded by count and by stored characters, so a 2,000-node
graph cannot fill the session (Streamlit refuses session state above its message limit).
The history holds plain JSON strings, never model objects, like the rest of session state.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from causal_core.dag.constants import DagEditError
from causal_core.project import DagSpec

MAX_STEPS = 25
MAX_CHARS = 4_000_000  # about 4 MB of JSON across both stacks


class Step(BaseModel):
    """One remembered graph and the sentence of the edit that replaced it (shown on the button)."""

    spec_json: str
    note: str


class DagHistory(BaseModel):
    undo: list[Step] = Field(default_factory=list)  # oldest first
    redo: list[Step] = Field(default_factory=list)  # next redo last
    max_steps: int = MAX_STEPS
    max_chars: int = MAX_CHARS

    @property
    def can_undo(self) -> bool:
        return bool(self.undo)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo)


def _bounded(steps: list[Step], max_steps: int, max_chars: int) -> list[Step]:
    """Drop the oldest steps until both bounds hold (the newest step is always kept)."""
    kept = steps[-max_steps:]
    while len(kept) > 1 and sum(len(s.spec_json) for s in kept) > max_chars:
        kept = kept[1:]
    return kept


def record(history: DagHistory, before: DagSpec | None, note: str) -> DagHistory:
    """Remember ``before`` (the graph an edit replaced); a new edit clears what could be redone."""
    if before is None:
        return history
    steps = _bounded([*history.undo, Step(spec_json=before.model_dump_json(), note=note)],
                     history.max_steps, history.max_chars)
    return history.model_copy(update={"undo": steps, "redo": []})


def undo(history: DagHistory, current: DagSpec) -> tuple[DagHistory, DagSpec, str]:
    """Go back one edit: returns the new history, the graph to restore and the undone edit's note."""
    if not history.undo:
        raise DagEditError("nothing to undo")
    step = history.undo[-1]
    redo_steps = _bounded([*history.redo, Step(spec_json=current.model_dump_json(), note=step.note)],
                          history.max_steps, history.max_chars)
    updated = history.model_copy(update={"undo": history.undo[:-1], "redo": redo_steps})
    return updated, DagSpec.model_validate_json(step.spec_json), step.note


def redo(history: DagHistory, current: DagSpec) -> tuple[DagHistory, DagSpec, str]:
    """Re-apply the last undone edit: returns the new history, the graph to restore and its note."""
    if not history.redo:
        raise DagEditError("nothing to redo")
    step = history.redo[-1]
    undo_steps = _bounded([*history.undo, Step(spec_json=current.model_dump_json(), note=step.note)],
                          history.max_steps, history.max_chars)
    updated = history.model_copy(update={"undo": undo_steps, "redo": history.redo[:-1]})
    return updated, DagSpec.model_validate_json(step.spec_json), step.note
