"""The model lab: one artifact task across models, scored by the task's rubric, and the DAG-drafting benchmark.

Its steps are its files: ``choices`` (task, models, cases) → ``state`` (the run in ``Project.lab``) → ``execute``
(one call per model, case and repeat; ``endpoints`` runs endpoint cases in parallel) → ``tables`` (summary, failures,
charts). The DAG-drafting benchmark (docs/dag_benchmark.md) adds known graphs (``cases``, ``simulate``), ``metrics``, its ``task`` and
``critique``, a ``runner`` and the command's helpers (``cli``). The names below are the lab's API for the page and
the CLI (``from causal_core import lab_bench as lab``).
"""

from causal_core.lab_bench.choices import (
    available_models,
    builtin_case,
    builtin_case_ids,
    case_inputs,
    resolve_models,
    task_for,
)
from causal_core.lab_bench.execute import (
    ERROR_CHARS,
    PREVIEW_CHARS,
    failure_record,
    max_score_for,
    measured_speed,
    record_from_interaction,
    run_lab,
)
from causal_core.lab_bench.state import (
    CURRENT_CASE,
    LAB_SCHEMA,
    MAX_RUNS,
    LabCase,
    LabError,
    Progress,
    done_keys,
    empty_lab,
    latest_run,
    new_run,
    pending_keys,
    planned_keys,
    project_with_lab,
    run_key,
    runs_of,
    unavailable_models,
    with_run,
)
from causal_core.lab_bench.tables import (
    CASE_RESULT_COLUMNS,
    FAILED_COLUMNS,
    REPAIR_STAGES,
    SUMMARY_COLUMNS,
    SUMMARY_EXTRA_COLUMNS,
    case_results,
    cases_csv,
    failed_runs,
    lab_charts,
    repair_stage_counts,
    report_payload,
    run_json,
    run_label,
    summarize,
    summary_csv,
)

__all__ = [
    "CASE_RESULT_COLUMNS", "CURRENT_CASE", "ERROR_CHARS", "FAILED_COLUMNS", "LAB_SCHEMA", "MAX_RUNS", "PREVIEW_CHARS",
    "REPAIR_STAGES", "SUMMARY_COLUMNS", "SUMMARY_EXTRA_COLUMNS", "LabCase", "LabError", "Progress",
    "available_models", "builtin_case", "builtin_case_ids", "case_inputs", "case_results", "cases_csv", "done_keys",
    "empty_lab", "failed_runs", "failure_record", "lab_charts", "latest_run", "max_score_for", "measured_speed",
    "new_run", "pending_keys", "planned_keys", "project_with_lab", "record_from_interaction", "repair_stage_counts",
    "report_payload", "resolve_models", "run_json", "run_key", "run_label", "run_lab", "runs_of", "summarize",
    "summary_csv", "task_for", "unavailable_models", "with_run",
]
