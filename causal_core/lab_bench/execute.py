"""Running the model lab (N09 §15): one artifact task across the model ladder, scored by the task's own rubric.

What comes back is *evidence from a task-specific rubric*, not a universal ranking: per model, how
often the output fit the schema (schema reliability), how much repair it needed (repair stages), the
rubric score share, and which failure types occurred. A failed run scores zero and stays in the
denominator, so a model that fails is never flattered by a NaN that drops out of a mean.

Runs go one model at a time: the first call loads the model, every (case, repeat) runs, then the model
is unloaded (N09's ``clear_loaded_model_cache`` step) so the next model has the memory. Results are
plain JSON records kept in ``Project.lab``, appended one by one, so an interrupted run resumes by
skipping every (model, case, repeat) already recorded.

The run's layout is in :mod:`causal_core.lab_bench.state`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from causal_core import runtime
from causal_core.ai.rubric import score_of
from causal_core.ai.structured import DecodingSettings, StructuredTask
from causal_core.lab_bench import endpoints as lab_endpoints
from causal_core.lab_bench.choices import case_inputs, task_for
from causal_core.lab_bench.state import (
    LabCase,
    LabError,
    Progress,
    done_keys,
    pending_keys,
    planned_keys,
    run_key,
    with_run,
)
from causal_core.project import AIInteraction, utc_now
from causal_core.runtime.parsing import clip_for_log

PREVIEW_CHARS = 500
ERROR_CHARS = 900


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
