"""Registry of the artifact tasks, imported lazily so the CLI starts fast."""

from __future__ import annotations

import importlib

from causal_core.ai.structured import StructuredTask
from causal_core.errors import WorkbenchInputError

TASK_LOCATIONS = {
    "estimand-card": "causal_core.question:ESTIMAND_TASK",
    "dag": "causal_core.dag.draft:DAG_TASK",
    "profile": "causal_core.audit.profile_review:PROFILE_TASK",
    "memo": "causal_core.memo:MEMO_TASK",
    "dag-benchmark": "causal_core.lab_bench.task:DAG_BENCHMARK_TASK",
    "dag-critique": "causal_core.lab_bench.critique:CRITIQUE_TASK",
}


def task_names() -> list[str]:
    return list(TASK_LOCATIONS)


def get_task(name: str) -> StructuredTask:
    """The task called ``name``; an unknown name lists the valid ones."""
    if name not in TASK_LOCATIONS:
        raise WorkbenchInputError(f"unknown task '{name}': choose one of {', '.join(TASK_LOCATIONS)}")
    module_name, attribute = TASK_LOCATIONS[name].split(":")
    return getattr(importlib.import_module(module_name), attribute)
