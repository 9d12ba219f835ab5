"""Choosing what a model-lab run compares: the task, the models and the cases.

Models come from the registry, an ad-hoc endpoint (``endpoint:<name>@<url>``) or a folder (``path:``); cases are the
built-in datasets' complete headless projects, built once per process. A name that matches nothing is a LabError
that lists the valid ones, so a typo never silently runs a different comparison.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import pandas as pd

from causal_core import runtime
from causal_core.ai import tasks
from causal_core.ai.structured import StructuredTask
from causal_core.lab_bench.state import (
    LabCase,
    LabError,
)
from causal_core.project import Project
from causal_core.runtime import registry


def task_for(name: str) -> StructuredTask:
    """The registered task, or a LabError naming the valid ones."""
    try:
        return tasks.get_task(name)
    except ValueError as error:
        raise LabError(str(error)) from None


def _info_dict(info: Any) -> dict[str, Any]:
    """A ModelInfo (pydantic) or mapping reduced to the plain fields the lab stores."""
    data = info.model_dump(mode="json") if hasattr(info, "model_dump") else dict(info)
    return {
        "key": str(data.get("key", "")),
        "label": str(data.get("label") or data.get("key", "")),
        "role": str(data.get("role") or ""),
        "source": str(data.get("source") or ""),
        "available": bool(data.get("available", False)),
        "reason": str(data.get("reason") or ""),
        "fetch_command": str(data.get("fetch_command") or ""),
        "params": data.get("params"),  # declared size, for the score-against-size chart (None when unknown)
    }


def available_models() -> list[dict[str, Any]]:
    """Every model the runtime knows (ladder, bundled, local cache, endpoints) as plain dicts."""
    return [_info_dict(info) for info in runtime.list_models()]


def _ad_hoc_model(key: str) -> dict[str, Any] | None:
    """An endpoint or local-folder key not in the registry listing; the runtime reports call failures."""
    if key.startswith("endpoint:"):
        name, _, base_url = key.removeprefix("endpoint:").partition("@")
        if not name or not base_url.startswith(("http://", "https://")):
            raise LabError(f"bad endpoint key '{registry.strip_credentials(key)}': "
                           "use endpoint:<model_name>@http(s)://host:port/v1")
        return {"key": key, "label": name, "role": "endpoint", "source": "endpoint", "available": True,
                "reason": "", "fetch_command": ""}
    if key.startswith("path:"):
        from pathlib import Path

        folder = Path(key.removeprefix("path:"))
        exists = folder.is_dir()
        return {"key": key, "label": folder.name or key, "role": "local folder", "source": "path",
                "available": exists, "reason": "" if exists else f"folder {folder} does not exist",
                "fetch_command": ""}
    return None


def _describe_extra(keys: list[str]) -> dict[str, dict[str, Any]]:
    """Ask the runtime about keys outside its default listing (endpoints are probed, folders checked).

    Only endpoint/folder keys and ``org/name`` repo ids are described: a bare word that is not in the
    registry is a typo, not a model.
    """
    describable = [k for k in keys if k.startswith(("endpoint:", "path:")) or "/" in k]
    for key in describable:
        _ad_hoc_model(key)  # a malformed endpoint key is a LabError before any network probe
    if not describable:
        return {}
    try:
        rows = runtime.list_models(extra_keys=describable)
    except TypeError:  # a runtime without extra_keys: fall back to the lab's own reading of the key
        return {}
    described = {model["key"]: model for model in map(_info_dict, rows)}
    return {key: described[key] for key in describable if key in described}


def resolve_models(keys: Iterable[str], known: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Model dicts for ``keys`` in the given order; unavailable ones stay in the list (not run).

    An unknown key raises LabError listing what the registry offers.
    """
    # endpoint keys lose any user:pass@ in their URL here: the key is stored in the run and shown in tables
    wanted = list(dict.fromkeys(registry.normalise_key(k.strip()) for k in keys if k and k.strip()))
    if not wanted:
        raise LabError("choose at least one model")
    known = available_models() if known is None else known
    by_key = {model["key"]: model for model in known}
    by_key.update(_describe_extra([key for key in wanted if key not in by_key]))
    resolved: list[dict[str, Any]] = []
    for key in wanted:
        model = by_key.get(key) or _ad_hoc_model(key)
        if model is None:
            offered = ", ".join(m["key"] for m in known) or "none"
            raise LabError(f"unknown model '{key}': choose from {offered} (or endpoint:<name>@<url>, path:/folder)")
        resolved.append(model)
    return resolved


@functools.lru_cache(maxsize=8)
def _builtin_case(name: str) -> tuple[Project, pd.DataFrame | None]:
    """The complete headless project of a built-in dataset, built once per process (deterministic)."""
    from causal_core import headless

    return headless.build_project(name)


def builtin_case_ids() -> list[str]:
    from causal_core.data.datasets import BUILTINS

    return list(BUILTINS)


def builtin_case(name: str) -> LabCase:
    """A built-in dataset as a case: the example card, default DAG, audit and estimates, no model."""
    if name not in builtin_case_ids():
        raise LabError(f"unknown case '{name}': choose from {', '.join(builtin_case_ids())}")
    project, frame = _builtin_case(name)
    return LabCase(case_id=name, project=project, frame=frame, label=name)


def case_inputs(task: StructuredTask, case: LabCase) -> dict[str, Any]:
    """The task's prompt inputs for one case; a case the task cannot use raises LabError with why."""
    if task.build_inputs is None:
        return {}
    try:
        return task.build_inputs(case.project, case.frame)
    except Exception as error:  # a stage's builder rejecting an incomplete project
        raise LabError(f"case '{case.case_id}' cannot be used for task '{task.name}': {error}") from None
