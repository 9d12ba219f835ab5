"""What a model-lab run is and where it lives: ``Project.lab``, appended record by record so a run resumes.

Kept apart from running and reporting so the page, the CLI and the benchmark agree on one layout (JSON-able)::

    {"schema": 1, "runs": [run, ...]}         # newest last, at most MAX_RUNS kept
    run = {"id", "task", "case_ids", "models": [model], "repeats", "base_seed", "settings",
           "status": "running|stopped|complete", "created_at", "updated_at", "records": [record]}
    model = {"key", "label", "role", "source", "available", "reason", "fetch_command"}
    record = one CASE_RESULT_COLUMNS row (+ full raw output and failed checks)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from causal_core.ai.structured import DecodingSettings
from causal_core.errors import WorkbenchInputError
from causal_core.lab_bench import endpoints as lab_endpoints
from causal_core.project import Project, utc_now

LAB_SCHEMA = 1
MAX_RUNS = 20
CURRENT_CASE = "current"
Progress = Callable[[int, int, str], None]


class LabError(WorkbenchInputError):
    """A lab request that cannot run (unknown task, model or case): one clear line."""


@dataclass(frozen=True)
class LabCase:
    """One input the task is run on: a project and its analysis rows."""

    case_id: str
    project: Project
    frame: pd.DataFrame | None
    label: str = ""


def empty_lab() -> dict[str, Any]:
    return {"schema": LAB_SCHEMA, "runs": []}


def runs_of(lab: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((lab or {}).get("runs", []))


def latest_run(lab: dict[str, Any] | None) -> dict[str, Any] | None:
    runs = runs_of(lab)
    return runs[-1] if runs else None


def new_run(
    task: str,
    case_ids: list[str],
    models: list[dict[str, Any]],
    repeats: int = 1,
    base_seed: int = 209,
    settings: DecodingSettings | None = None,
    load_options: dict[str, Any] | None = None,
    max_in_flight: int = lab_endpoints.DEFAULT_IN_FLIGHT,
) -> dict[str, Any]:
    """A run plan with no records yet. Repeat r uses seed base_seed + r.

    ``load_options`` (device, dtype, quantisation) are the sidebar's; empty means the runtime's auto plan.
    ``max_in_flight``: endpoint cases sent at once per server (local models always run one at a time).
    """
    if repeats < 1:
        raise LabError("repeats must be at least 1")
    if not case_ids:
        raise LabError("choose at least one case")
    settings = settings or DecodingSettings()
    now = utc_now()
    warnings = []
    if repeats > 1 and settings.temperature == 0:
        warnings.append(f"At temperature 0 decoding is greedy: the {repeats} repeats of each case are identical "
                        "(the seed has no effect), so they add no information. Raise the temperature to measure "
                        "how much drafts vary.")
    return {
        "warnings": warnings,
        "id": f"lab-{uuid.uuid4().hex[:8]}",
        "task": task,
        "case_ids": list(dict.fromkeys(case_ids)),
        "models": [dict(model) for model in models],
        "repeats": int(repeats),
        "base_seed": int(base_seed),
        "settings": settings.model_dump(mode="json"),
        "load_options": dict(load_options or {}),
        "max_in_flight": lab_endpoints.bounded_in_flight(max_in_flight),
        "status": "running",
        "created_at": now,
        "updated_at": now,
        "records": [],
    }


def with_run(lab: dict[str, Any] | None, run: dict[str, Any]) -> dict[str, Any]:
    """A new lab dict with ``run`` replacing the run of the same id (or appended), oldest dropped."""
    runs = [r for r in runs_of(lab) if r.get("id") != run["id"]]
    position = next((i for i, r in enumerate(runs_of(lab)) if r.get("id") == run["id"]), len(runs))
    runs.insert(position, run)
    return {"schema": LAB_SCHEMA, "runs": runs[-MAX_RUNS:]}


def run_key(model_key: str, case_id: str, repeat: int) -> tuple[str, str, int]:
    return (model_key, case_id, int(repeat))


def done_keys(run: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {run_key(r["model_id"], r["case_id"], r["repeat"]) for r in run.get("records", [])}


def planned_keys(run: dict[str, Any]) -> list[tuple[str, str, int]]:
    """Every (model, case, repeat) the run will do, in order: model-major (one model loaded at a time)."""
    return [
        run_key(model["key"], case_id, repeat)
        for model in run["models"]
        if model.get("available")
        for case_id in run["case_ids"]
        for repeat in range(run["repeats"])
    ]


def pending_keys(run: dict[str, Any]) -> list[tuple[str, str, int]]:
    done = done_keys(run)
    return [key for key in planned_keys(run) if key not in done]


def unavailable_models(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"label": m["label"], "model_id": m["key"], "role": m["role"], "reason": m["reason"] or "not available",
         "fetch_command": m["fetch_command"]}
        for m in run["models"]
        if not m.get("available")
    ]


def project_with_lab(project: Project, lab: dict[str, Any]) -> Project:
    """Copy-on-write: the project with its lab replaced."""
    return project.model_copy(update={"lab": lab, "updated_at": utc_now()})
