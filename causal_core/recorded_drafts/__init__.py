"""Recorded drafts: real larger models' outputs, shipped in the repo, replayed instead of generated.

A class cannot wait minutes for a CPU model, and the bundled 135M model's drafts are too weak to
show what the audit panel catches. So each AI task can replay a stored output of a real larger
model (for now N09 §13's Qwen2.5-7B profile review of `support`). A replay goes through the
normal parser and deterministic rubric, and its AI-log entry says plainly that it was recorded,
not generated: the model id, where and when it was recorded, and backend "replay".

A recorded draft is offered only for the dataset it was made from (the same built-in, or data with
every one of its columns): scored against another dataset it would be a foreign example.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from causal_core.ai.rubric import audit_record, score_of
from causal_core.ai.tasks import get_task
from causal_core.project import AIInteraction, AuditRecord, Project
from causal_core.runtime.parsing import parse_structured

FOLDER = Path(__file__).resolve().parent
REPLAY_BACKEND = "replay"
REPLAY_NOTE = "recorded, not generated"


class RecordedDraft(BaseModel):
    """One stored model output and where it came from."""

    task: str = Field(description="Task name as in causal_core.ai.tasks (profile, estimand-card, dag, memo).")
    artifact: str
    dataset: str = Field(description="The built-in dataset the draft was made for.")
    dataset_columns: list[str]
    model_id: str
    recorded_at: str | None = Field(None, description="When the model produced it, if the source says.")
    date_note: str = ""
    source: str
    decoding: dict[str, Any] = Field(default_factory=dict)
    raw_output: str
    file: str = ""

    @property
    def label(self) -> str:
        """What the page shows next to the replay button: model, source, date, and that it is recorded."""
        when = self.recorded_at or self.date_note or "date unknown"
        return f"{self.model_id} · {self.source} · {when} · {REPLAY_NOTE}"


@lru_cache(maxsize=1)
def _all() -> tuple[RecordedDraft, ...]:
    drafts = []
    for path in sorted(FOLDER.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        drafts.append(RecordedDraft.model_validate({**data, "file": path.name}))
    return tuple(drafts)


def recorded_drafts(task: str | None = None) -> list[RecordedDraft]:
    return [d for d in _all() if task is None or d.task == task]


def _same_dataset(draft: RecordedDraft, project: Project, columns: Iterable[str] | None) -> bool:
    source = project.data_source
    if source is not None and source.kind == "builtin":
        return source.name == draft.dataset
    present = set(map(str, columns if columns is not None else (source.columns if source else [])))
    return set(draft.dataset_columns) <= present


def recorded_for(task: str, project: Project, frame: pd.DataFrame | None = None) -> RecordedDraft | None:
    """The recorded draft for ``task`` made from this project's dataset, or None (never a foreign one)."""
    columns = None if frame is None else frame.columns
    return next((d for d in recorded_drafts(task) if _same_dataset(d, project, columns)), None)


def replay_interaction(draft: RecordedDraft) -> AIInteraction:
    """The AI-log entry of a replay: the recorded raw output run through the task's normal parser."""
    task = get_task(draft.task)
    outcome = parse_structured(draft.raw_output, task.schema, task.field_aliases, task.defaults,
                               refused=task.refused_keys)
    return AIInteraction(
        id=f"replay-{uuid.uuid4().hex[:12]}",
        task=draft.task,
        system_prompt=task.system_prompt,
        raw_output=draft.raw_output,
        parsed=outcome.parsed,
        parser_notes=[f"replay of a recorded draft ({REPLAY_NOTE}): {draft.label}", *outcome.notes],
        schema_valid=outcome.ok,
        repair_stage=("parser" if outcome.notes else "none") if outcome.ok else "failed",
        failure_type=outcome.failure_type,
        error=outcome.error,
        model_id=draft.model_id,
        backend=REPLAY_BACKEND,
        device=REPLAY_NOTE,
        decoding={**draft.decoding, "replay": True, "recorded_at": draft.recorded_at, "date_note": draft.date_note,
                  "source": draft.source, "file": draft.file},
    )


@dataclass
class Replay:
    project: Project  # with the interaction logged and the audit record appended
    interaction: AIInteraction
    record: AuditRecord


def replay(draft: RecordedDraft, project: Project, frame: pd.DataFrame | None) -> Replay:
    """Replay ``draft`` against ``project``: log it, score it with the task's deterministic rubric.

    The caller stores the artifact (``interaction.parsed``) the way its page stores a model draft;
    the DAG page can call this with ``recorded_for("dag", project, frame)`` once a DAG draft is recorded.
    """
    task = get_task(draft.task)
    interaction = replay_interaction(draft)
    max_score = score_of(task.score({}, project, frame))[1] if task.score else 0
    checks = task.score(interaction.parsed, project, frame) if interaction.schema_valid and task.score else []
    record = audit_record(task.artifact, checks, interaction, max_score_if_failed=max_score)
    return Replay(project.with_interaction(interaction).with_audit(record), interaction, record)


def is_replay(interaction: AIInteraction | None) -> bool:
    return interaction is not None and interaction.backend == REPLAY_BACKEND


__all__ = [
    "FOLDER",
    "REPLAY_BACKEND",
    "REPLAY_NOTE",
    "RecordedDraft",
    "Replay",
    "is_replay",
    "recorded_drafts",
    "recorded_for",
    "replay",
    "replay_interaction",
]
