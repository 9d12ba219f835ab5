"""Model lab (N09 §15): one artifact task across the model ladder, scored by the task's own rubric.

What comes back is *evidence from a task-specific rubric*, not a universal ranking: per model, how
often the output fit the schema (schema reliability), how much repair it needed (repair stages), the
rubric score share, and which failure types occurred. A failed run scores zero and stays in the
denominator, so a model that fails is never flattered by a NaN that drops out of a mean.

Runs go one model at a time: the first call loads the model, every (case, repeat) runs, then the model
is unloaded (N09's ``clear_loaded_model_cache`` step) so the next model has the memory. Results are
plain JSON records kept in ``Project.lab``, appended one by one, so an interrupted run resumes by
skipping every (model, case, repeat) already recorded.

``Project.lab`` layout (JSON-able)::

    {"schema": 1, "runs": [run, ...]}         # newest last, at most MAX_RUNS kept
    run = {"id", "task", "case_ids", "models": [model], "repeats", "base_seed", "settings",
           "status": "running|stopped|complete", "created_at", "updated_at", "records": [record]}
    model = {"key", "label", "role", "source", "available", "reason", "fetch_command"}
    record = one CASE_RESULT_COLUMNS row (+ full raw output and failed checks)
"""

from __future__ import annotations

import contextlib
import functools
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from causal_core import lab_endpoints, runtime
from causal_core.ai import tasks
from causal_core.ai.rubric import score_of
from causal_core.ai.structured import DecodingSettings, StructuredTask
from causal_core.errors import WorkbenchInputError
from causal_core.project import AIInteraction, Project, utc_now
from causal_core.runtime import registry
from causal_core.runtime.parsing import clip_for_log
from causal_core.safe_io import safe_csv_text

LAB_SCHEMA = 1
MAX_RUNS = 20
PREVIEW_CHARS = 500
ERROR_CHARS = 900
CURRENT_CASE = "current"

# N09 §15's tables, generalised from the profile task to any artifact task (profile_score -> score).
SUMMARY_COLUMNS = [
    "label", "model_id", "role", "cases", "schema_valid_cases", "schema_repaired_cases",
    "schema_reliability", "mean_score", "failure_types",
]
SUMMARY_EXTRA_COLUMNS = ["truncated_cases", "mean_tokens_per_s", "mean_duration_s"]
CASE_RESULT_COLUMNS = [
    "label", "model_id", "role", "case_id", "repeat", "seed", "status", "schema_valid", "repair_used",
    "repair_stage", "failure_type", "score", "max_score", "score_share", "tokens_per_s", "new_tokens",
    "duration_s", "error", "raw_output_preview",
]
FAILED_COLUMNS = ["label", "model_id", "case_id", "repeat", "status", "failure_type", "error", "raw_output_preview"]
REPAIR_STAGES = ("none", "parser", "model_retry", "failed")

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


# ---------------------------------------------------------------------------------------------
# Choosing what to run
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# Lab state in Project.lab
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# One (model, case, repeat)
# ---------------------------------------------------------------------------------------------
def _clip(text: Any, limit: int) -> str:
    return str(text or "").replace("\x00", "").strip()[:limit]


def measured_speed(interaction: AIInteraction) -> tuple[str, float]:
    """(where the token count came from, tokens/s) — 0.0 when the count is not real tokens.

    An endpoint's tokens/s is only meaningful from the server's ``usage`` (completion_tokens): a stream
    without usage counts chunks, and a count far above the characters received is not a token count at all
    (the lab once showed 4,283,908 tokens/s). Those runs show 0 and say why, rather than a number.
    """
    speed = float(interaction.tokens_per_s or 0.0)
    if interaction.backend != "openai_endpoint":
        return ("local" if interaction.backend else "unknown"), speed
    if any("counted from stream chunks" in note for note in interaction.parser_notes):
        return "stream chunks (no usage): tokens/s unknown", 0.0
    if interaction.new_tokens <= 0:
        return "no usage reported: tokens/s unknown", 0.0
    received = len(interaction.raw_output or "") + len(interaction.repair_raw_output or "")
    clipped = any("clipped for the log" in note for note in interaction.parser_notes)
    if not clipped and interaction.new_tokens > 2 * received + 16:
        return f"usage implausible ({interaction.new_tokens} tokens for {received} characters)", 0.0
    return "usage", speed


def max_score_for(task: StructuredTask, case: LabCase) -> int:
    """How many scored checks a failed run is out of: the rubric applied to the task's empty defaults.

    N09 scores an empty review for the same reason: a failure is "0 of n", not "0 of nothing".
    """
    if task.score is None:
        return 0
    try:
        return score_of(task.score(dict(task.defaults), case.project, case.frame))[1]
    except Exception:  # a rubric that needs real fields; the success runs supply n later
        return 0


def _base_record(model: dict[str, Any], case: LabCase, repeat: int, seed: int, task: str) -> dict[str, Any]:
    return {
        "task": task,
        "label": model["label"],
        "model_id": model["key"],
        "role": model["role"],
        "case_id": case.case_id,
        "repeat": int(repeat),
        "seed": int(seed),
    }


def record_from_interaction(
    task: StructuredTask,
    model: dict[str, Any],
    case: LabCase,
    repeat: int,
    seed: int,
    interaction: AIInteraction,
    failed_max_score: int = 0,
) -> dict[str, Any]:
    """Score one interaction into an N09 case-result row. Failures score 0 (share 0.0), never NaN."""
    record = _base_record(model, case, repeat, seed, task.name)
    tokens_source, speed = measured_speed(interaction)
    record.update(
        tokens_per_s=speed,
        tokens_source=tokens_source,
        new_tokens=int(interaction.new_tokens or 0),
        duration_s=float(interaction.duration_s or 0.0),
        truncated=bool(interaction.truncated),
        raw_output_preview=_clip(interaction.raw_output, PREVIEW_CHARS),
        # clipped like the AI log (head and tail, length noted): a lab record must not make the project unreopenable
        raw_output=clip_for_log(interaction.raw_output),
        repair_raw_output=clip_for_log(interaction.repair_raw_output),
        parser_notes=list(interaction.parser_notes),
        backend=interaction.backend,
        finished_at=utc_now(),
    )
    checks = None
    error = ""
    if interaction.schema_valid and interaction.parsed is not None:
        try:
            checks = task.score(interaction.parsed, case.project, case.frame) if task.score else []
        except Exception as exc:  # a rubric crash must not lose the run: it is recorded as a failure
            error = f"scoring failed: {type(exc).__name__}: {exc}"
    if checks is not None:
        score, max_score = score_of(checks)
        record.update(
            status="ok", schema_valid=True, repair_stage=interaction.repair_stage,
            repair_used=interaction.repair_stage in ("parser", "model_retry"), failure_type="",
            score=int(score), max_score=int(max_score),
            score_share=float(score / max_score) if max_score else 0.0, error="",
            failed_checks=[c.name for c in checks if c.severity == "fail" and not c.passed],
            parsed=interaction.parsed,  # the artifact itself, so a run can be re-scored (the DAG benchmark's metrics)
        )
        return record
    failure = interaction.failure_type or ("other_structured_output_error" if not error else "scoring_error")
    if interaction.schema_valid and interaction.parsed is None and not error:
        error = "schema_valid without a parsed artifact"
    record.update(
        status="failed", schema_valid=False, repair_stage="failed", repair_used=False,
        failure_type=failure, score=0, max_score=int(failed_max_score), score_share=0.0,
        error=_clip(error or interaction.error, ERROR_CHARS), failed_checks=[],
    )
    return record


def failure_record(
    task: StructuredTask, model: dict[str, Any], case: LabCase, repeat: int, seed: int, error: BaseException | str,
    failed_max_score: int = 0,
) -> dict[str, Any]:
    """A run whose call raised or was never attempted (model could not load): zero credit, model_error."""
    record = _base_record(model, case, repeat, seed, task.name)
    record.update(
        status="failed", schema_valid=False, repair_stage="failed", repair_used=False, failure_type="model_error",
        score=0, max_score=int(failed_max_score), score_share=0.0, tokens_per_s=0.0, new_tokens=0, duration_s=0.0,
        truncated=False, error=_clip(error if isinstance(error, str) else f"{type(error).__name__}: {error}", ERROR_CHARS), raw_output_preview="",
        raw_output="", repair_raw_output="", parser_notes=[], failed_checks=[], backend="", finished_at=utc_now(),
    )
    return record


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------
def _run_one(
    task: StructuredTask,
    model: dict[str, Any],
    case: LabCase,
    repeat: int,
    seed: int,
    inputs: dict[str, Any],
    settings: DecodingSettings,
    load_options: dict[str, Any],
    max_score: int,
    on_text: Callable[[str], None] | None,
    stop: Callable[[], bool],
) -> dict[str, Any] | None:
    """One call, scored. None when a stop cut a failing call short; ``_load_failure`` marks a model that never loaded."""
    extra = {"load_options": load_options} if load_options else {}
    try:
        interaction = runtime.run_task(task, inputs, model["key"], settings, on_text=on_text, should_stop=stop,
                                       **extra)
    except Exception as error:  # run_task should not raise, but a broken backend must not end the lab
        return failure_record(task, model, case, repeat, seed, error, max_score)
    if stop() and not interaction.schema_valid:
        return None
    record = record_from_interaction(task, model, case, repeat, seed, interaction, max_score)
    # The runtime fills ``device`` once the backend exists; a model_error without one is a load failure.
    if interaction.failure_type == "model_error" and not interaction.device and not interaction.raw_output:
        record["_load_failure"] = _clip(interaction.error, 300) or "load failed"
    return record


def run_lab(
    lab: dict[str, Any] | None,
    run: dict[str, Any],
    cases: dict[str, LabCase],
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_update: Callable[[dict[str, Any]], None] | None = None,
    on_text: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) ``run`` and return the new lab dict; ``on_update(lab)`` fires after every record.

    One model at a time: its first call loads it, all its pending (case, repeat) pairs run, then it
    is unloaded. (model, case, repeat) already in ``run["records"]`` are skipped, so calling this
    again after an interruption completes the run without duplicates. A call cut short by
    ``should_stop`` that failed is discarded (it is the stop, not the model) and runs again on resume.
    """
    task = task_for(run["task"])
    missing = [case_id for case_id in run["case_ids"] if case_id not in cases]
    if missing:
        raise LabError(f"cases not prepared: {', '.join(missing)}")
    stop = should_stop or (lambda: False)
    run = {**run, "records": list(run.get("records", [])), "status": "running", "updated_at": utc_now()}
    lab = with_run(lab, run)
    plan = planned_keys(run)
    total = len(plan)
    done = done_keys(run)
    inputs = {case_id: case_inputs(task, cases[case_id]) for case_id in run["case_ids"]}
    max_scores = {case_id: max_score_for(task, cases[case_id]) for case_id in run["case_ids"]}
    base = DecodingSettings(**run.get("settings", {}))

    def report(message: str) -> None:
        if progress is not None:
            progress(len(done), total, message)

    def keep(record: dict[str, Any], model: dict[str, Any], case_id: str, repeat: int) -> None:
        nonlocal lab
        run["records"].append(record)
        done.add(run_key(model["key"], case_id, repeat))
        run["updated_at"] = utc_now()
        lab = with_run(lab, run)
        if on_update is not None:
            on_update(lab)
        report(f"{model['label']} · {case_id} · repeat {repeat + 1}: {record['status']}")

    available = [m for m in run["models"] if m.get("available")]
    remote = [m for m in available if lab_endpoints.server_of(m["key"])]
    stopped = False
    if remote:
        report(f"Running {len(remote)} endpoint model(s) concurrently, "
               f"at most {lab_endpoints.bounded_in_flight(run.get('max_in_flight', lab_endpoints.DEFAULT_IN_FLIGHT))}"
               " in flight per server…")
        stopped = _run_endpoints(task, run, remote, cases, inputs, max_scores, base, plan, done, stop, keep)
    for model in [m for m in available if m not in remote] if not stopped else []:
        todo = [key for key in plan if key[0] == model["key"] and key not in done]
        if not todo:
            continue
        if stop():
            stopped = True
            break
        shown = model["label"] if model["key"] in model["label"] else f"{model['label']} ({model['key']})"
        report(f"Loading {shown}…")
        try:
            load_failure = ""
            for _, case_id, repeat in todo:
                if stop():
                    stopped = True
                    break
                case = cases[case_id]
                seed = run["base_seed"] + repeat
                report(f"{model['label']} · {case_id} · repeat {repeat + 1}/{run['repeats']}")
                if load_failure:  # do not reload a model that could not load: same zero credit, no wasted minutes
                    record = failure_record(task, model, case, repeat, seed,
                                            f"not attempted: the model failed to load earlier: {load_failure}",
                                            max_scores[case_id])
                else:
                    settings = base.model_copy(update={"seed": seed})
                    record = _run_one(task, model, case, repeat, seed, inputs[case_id], settings,
                                      run.get("load_options") or {}, max_scores[case_id], on_text, stop)
                    if record is None:  # cut short by the stop: not the model's failure, runs again on resume
                        stopped = True
                        break
                    load_failure = record.pop("_load_failure", "")
                    if record["status"] == "ok" and not max_scores[case_id]:
                        max_scores[case_id] = record["max_score"]
                keep(record, model, case_id, repeat)
        finally:
            report(f"Unloading {model['label']}…")
            _unload(model["key"])
        if stopped:
            break
    _fill_failed_max_scores(run)
    order = {key: index for index, key in enumerate(plan)}  # concurrent endpoints finish in any order
    run["records"].sort(key=lambda r: order.get(run_key(r["model_id"], r["case_id"], r["repeat"]), len(order)))
    run["status"] = "complete" if not pending_keys(run) else "stopped"
    run["updated_at"] = utc_now()
    lab = with_run(lab, run)
    if on_update is not None:
        on_update(lab)
    report("Run complete." if run["status"] == "complete" else "Run stopped: resume to finish it.")
    return lab


def _run_endpoints(task: StructuredTask, run: dict[str, Any], models: list[dict[str, Any]], cases: dict[str, LabCase],
                   inputs: dict[str, dict[str, Any]], max_scores: dict[str, int], base: DecodingSettings,
                   plan: list[tuple[str, str, int]], done: set[tuple[str, str, int]], stop: Callable[[], bool],
                   keep: Callable[[dict[str, Any], dict[str, Any], str, int], None]) -> bool:
    """Every pending endpoint case at once, bounded per server (lab_endpoints); True when stopped."""
    by_key = {model["key"]: model for model in models}
    jobs: dict[str, list[Callable[[Callable[[], bool]], Any]]] = {}
    for model_key, case_id, repeat in plan:
        if model_key not in by_key or (model_key, case_id, repeat) in done:
            continue
        model = by_key[model_key]
        seed = run["base_seed"] + repeat

        def job(stopped: Callable[[], bool], model: dict[str, Any] = model, case_id: str = case_id,
                repeat: int = repeat, seed: int = seed) -> tuple[dict[str, Any], str, int, dict[str, Any] | None]:
            if stopped():  # the stop came while this case waited for a slot: never sent
                return model, case_id, repeat, None
            settings = base.model_copy(update={"seed": seed})
            record = _run_one(task, model, cases[case_id], repeat, seed, inputs[case_id], settings, {},
                              max_scores[case_id], None, stopped)
            return model, case_id, repeat, record

        jobs.setdefault(lab_endpoints.server_of(model_key), []).append(job)
    limit = run.get("max_in_flight", lab_endpoints.DEFAULT_IN_FLIGHT)
    for model, case_id, repeat, record in lab_endpoints.run_concurrently(jobs, limit, stop):
        if record is None:  # cut short by the stop: runs again on resume
            continue
        record.pop("_load_failure", None)
        if record["status"] == "ok" and not max_scores[case_id]:
            max_scores[case_id] = record["max_score"]
        keep(record, model, case_id, repeat)
    return stop()


def _unload(model_key: str) -> None:
    """N09's clear-cache step; a failed unload is not worth losing the results over."""
    with contextlib.suppress(Exception):
        runtime.unload(model_key)


def _fill_failed_max_scores(run: dict[str, Any]) -> None:
    """Give failed runs the rubric size seen in a successful run of the same case (0 of n, not 0 of 0)."""
    sizes = {r["case_id"]: r["max_score"] for r in run["records"] if r["status"] == "ok" and r["max_score"]}
    for record in run["records"]:
        if record["status"] != "ok" and not record["max_score"] and record["case_id"] in sizes:
            record["max_score"] = sizes[record["case_id"]]


def project_with_lab(project: Project, lab: dict[str, Any]) -> Project:
    """Copy-on-write: the project with its lab replaced."""
    return project.model_copy(update={"lab": lab, "updated_at": utc_now()})


# ---------------------------------------------------------------------------------------------
# Tables (N09 §15)
# ---------------------------------------------------------------------------------------------
def case_results(run: dict[str, Any] | None) -> pd.DataFrame:
    """The case-result table: one row per (model, case, repeat), failures included with score 0."""
    records = (run or {}).get("records", [])
    if not records:
        return pd.DataFrame(columns=CASE_RESULT_COLUMNS)
    return pd.DataFrame(records).reindex(columns=CASE_RESULT_COLUMNS)


def summarize(run: dict[str, Any] | None) -> pd.DataFrame:
    """Per-model summary: reliability = valid / all runs; mean_score = mean share with failures at 0."""
    results = case_results(run)
    columns = SUMMARY_COLUMNS + SUMMARY_EXTRA_COLUMNS
    if results.empty:
        return pd.DataFrame(columns=columns)
    summary = results.groupby(["label", "model_id", "role"], as_index=False, sort=False).agg(
        cases=("case_id", "size"),
        schema_valid_cases=("schema_valid", "sum"),
        schema_repaired_cases=("repair_used", "sum"),
        mean_score=("score_share", "mean"),
        failure_types=("failure_type", lambda values: sorted({v for v in values if v})),
        truncated_cases=("failure_type", lambda values: int(sum(value == "truncated" for value in values))),
        mean_tokens_per_s=("tokens_per_s", lambda values: float(values[values > 0].mean()) if (values > 0).any() else 0.0),
        mean_duration_s=("duration_s", "mean"),
    )
    summary["cases"] = summary["cases"].astype(int)
    summary["schema_valid_cases"] = summary["schema_valid_cases"].astype(int)
    summary["schema_repaired_cases"] = summary["schema_repaired_cases"].astype(int)
    summary["schema_reliability"] = summary["schema_valid_cases"] / summary["cases"]
    # A model whose outputs were cut off is never ranked level with (or above) one whose outputs were not.
    summary = summary.assign(_clean=summary["truncated_cases"] == 0)
    summary = summary.sort_values(["_clean", "mean_score", "schema_reliability"], ascending=False, kind="stable")
    return summary[columns].reset_index(drop=True)


def failed_runs(run: dict[str, Any] | None) -> pd.DataFrame:
    results = case_results(run)
    if results.empty:
        return pd.DataFrame(columns=FAILED_COLUMNS)
    return results.loc[~results["schema_valid"].astype(bool), FAILED_COLUMNS].reset_index(drop=True)


def repair_stage_counts(run: dict[str, Any] | None, by_model: bool = False) -> pd.DataFrame:
    """How much cleanup the outputs needed: runs per repair stage (optionally per model)."""
    results = case_results(run)
    keys = ["label", "repair_stage"] if by_model else ["repair_stage"]
    if results.empty:
        return pd.DataFrame(columns=[*keys, "cases"])
    results = results.assign(repair_stage=results["repair_stage"].fillna("none"))
    counts = results.groupby(keys, as_index=False).agg(cases=("case_id", "size"))
    order = {stage: i for i, stage in enumerate(REPAIR_STAGES)}
    counts = counts.assign(_order=counts["repair_stage"].map(order).fillna(len(order)))
    sort_keys = (["label", "_order"] if by_model else ["_order"])
    return counts.sort_values(sort_keys).drop(columns="_order").reset_index(drop=True)


def report_payload(run: dict[str, Any] | None) -> dict[str, Any]:
    """Everything the CLI prints and the JSON download holds: summary, cases, failures, repairs, plan."""
    run = run or {}
    summary = summarize(run)
    cases = case_results(run)
    return {
        "run_id": run.get("id"),
        "task": run.get("task"),
        "status": run.get("status"),
        "case_ids": run.get("case_ids", []),
        "repeats": run.get("repeats"),
        "base_seed": run.get("base_seed"),
        "settings": run.get("settings", {}),
        "summary": summary.to_dict(orient="records"),
        "cases": cases.to_dict(orient="records"),
        "failed_runs": failed_runs(run).to_dict(orient="records"),
        "repair_stages": repair_stage_counts(run).to_dict(orient="records"),
        "unavailable": unavailable_models(run) if run else [],
        "warnings": list(run.get("warnings", [])),
        "pending": len(pending_keys(run)) if run else 0,
    }


def summary_csv(run: dict[str, Any] | None) -> bytes:
    summary = summarize(run)
    summary = summary.assign(failure_types=summary["failure_types"].map(lambda v: ";".join(v)))
    return safe_csv_text(summary).encode("utf-8")  # model ids and failure text: formula-like cells neutralised


def cases_csv(run: dict[str, Any] | None) -> bytes:
    return safe_csv_text(case_results(run)).encode("utf-8")


def run_json(run: dict[str, Any] | None) -> str:
    """The JSON download: the report plus the plan's models (with unavailability reasons)."""
    payload = {**report_payload(run), "models": (run or {}).get("models", [])}
    return json.dumps(payload, indent=2, default=str)


def run_label(run: dict[str, Any]) -> str:
    """How a stored run is named in the run picker."""
    done, planned = len(run.get("records", [])), len(planned_keys(run))
    return f"{run['task']} · {run['created_at'][:16].replace('T', ' ')} · {run['status']} ({done}/{planned})"


# ---------------------------------------------------------------------------------------------
# Charts (altair; Streamlit-free so they can be tested and exported)
# ---------------------------------------------------------------------------------------------
def _bar(summary: pd.DataFrame, field: str, title: str, domain: tuple[float, float] | None, fmt: str) -> Any:
    import altair as alt

    scale = alt.Scale(domain=list(domain)) if domain else alt.Undefined
    return (
        alt.Chart(summary, title=title)
        .mark_bar()
        .properties(height=alt.Step(32))
        .encode(
            y=alt.Y("label:N", sort="-x", title="model", axis=alt.Axis(labelLimit=320)),
            x=alt.X(f"{field}:Q", scale=scale, title=title),
            tooltip=["label", "model_id", "role", alt.Tooltip(f"{field}:Q", format=fmt), "cases"],
        )
    )


def lab_charts(run: dict[str, Any] | None) -> dict[str, Any]:
    """Score (mean share, with every run as a dot), schema reliability and tokens/s by model."""
    import altair as alt

    summary = summarize(run)
    if summary.empty:
        return {}
    summary = summary.drop(columns="failure_types")
    runs = case_results(run)[["label", "case_id", "repeat", "score_share", "status"]]
    score_bars = _bar(summary, "mean_score", "mean rubric score share", (0.0, 1.0), ".2f")
    dots = (
        alt.Chart(runs)
        .mark_point(filled=True, size=60, color="black", opacity=0.6)
        .encode(
            y=alt.Y("label:N", sort=alt.EncodingSortField("score_share", op="mean", order="descending"),
                    axis=alt.Axis(labelLimit=320)),
            x="score_share:Q",
            shape=alt.Shape("status:N", scale=alt.Scale(domain=["ok", "failed"], range=["circle", "cross"])),
            tooltip=["label", "case_id", "repeat", "status", alt.Tooltip("score_share:Q", format=".2f")],
        )
    )
    return {
        "score": alt.layer(score_bars, dots),
        "reliability": _bar(summary, "schema_reliability", "schema reliability", (0.0, 1.0), ".2f"),
        "tokens_per_s": _bar(summary, "mean_tokens_per_s", "tokens / s (mean)", None, ".1f"),
    }
