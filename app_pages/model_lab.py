"""Model lab (N09 §15): one artifact task across models — schema reliability, rubric score, failures."""

from __future__ import annotations

import json

import streamlit as st

from causal_core import lab_bench as lab
from causal_core import runtime
from causal_core.ai.tasks import task_names
from causal_core.data.datasets import BUILTINS
from causal_core.errors import WorkbenchInputError
from causal_core.lab_bench import cases as bench_cases
from causal_core.lab_bench import endpoints as lab_endpoints
from causal_core.lab_bench import runner as bench
from causal_core.runtime.endpoint_policy import class_mode
from causal_core.safe_text import escape_markdown
from causal_core.ui import state
from causal_core.ui.ai import current_settings
from causal_core.ui.unload_guard import instructor_allows

TASK_LABELS = {
    "estimand-card": "Estimand card (Question)",
    "dag": "DAG draft",
    "profile": "Dataset profile review (Data audit)",
    "memo": "Decision memo",
    "dag-benchmark": "DAG benchmark (known graphs)",
}
BENCH = "dag-benchmark"

st.title("Model lab")
st.markdown(
    "Run the **same artifact task** across models and compare what comes back: schema reliability, "
    "how much repair the output needed, the task rubric's score and the failure types. This is evidence "
    "from a task-specific rubric, not a universal ranking. A failed run scores **zero** and stays in the "
    "denominator — never NaN, never dropped."
)

project = state.get_project()


def _load_registry() -> list[dict] | None:
    try:
        return lab.available_models()
    except Exception as error:  # the runtime is missing or its registry scan failed: say so, keep the app up
        st.error(escape_markdown(f"The model registry could not be read: {type(error).__name__}: {error}"))
        return None


def _case_label(case_id: str) -> str:
    if case_id == lab.CURRENT_CASE:
        return f"current project — {project.name}"
    return case_id


def _model_label(models: dict[str, dict], key: str) -> str:
    model = models.get(key, {})
    suffix = "" if model.get("available", True) else " (unavailable — not run)"
    role = f" · {model['role']}" if model.get("role") else ""
    return f"{model.get('label', key)}{role}{suffix}"


def _prepare_cases(task, case_ids: list[str]) -> tuple[dict[str, lab.LabCase], list[str]]:
    """Build every chosen case and check the task can use it; problems are returned, nothing runs."""
    cases: dict[str, lab.LabCase] = {}
    problems: list[str] = []
    for case_id in case_ids:
        try:
            if case_id == lab.CURRENT_CASE:
                current = state.get_project().model_copy(update={"lab": {}})
                case = lab.LabCase(lab.CURRENT_CASE, current, state.get_frame(), label=current.name)
            else:
                with st.spinner(f"Building the {case_id} case (example card, default DAG, audit, estimates)…"):
                    case = lab.builtin_case(case_id)
            lab.case_inputs(task, case)
        except WorkbenchInputError as error:  # a bug is not a bad case: it reaches the page guard with its trace
            problems.append(str(error) if isinstance(error, lab.LabError) else
                            f"case '{case_id}' could not be built: {error}")
            continue
        cases[case_id] = case
    return cases, problems


def _bench_cases(case_ids: list[str]) -> tuple[dict, list[str]]:
    """The benchmark's graphs ('project' is the open project's DAG); a bad one is a problem, nothing runs."""
    try:
        with st.spinner("Preparing the benchmark graphs…"):
            return bench.prepare(case_ids, state.get_project()), []
    except WorkbenchInputError as error:  # unknown graph, unusable project DAG
        return {}, [str(error)]


def _execute(run: dict) -> None:
    """Run or resume ``run``; every finished (model, case, repeat) is saved in the project at once."""
    task = lab.task_for(run["task"])
    is_bench = run["task"] == BENCH
    cases, problems = _bench_cases(run["case_ids"]) if is_bench else _prepare_cases(task, run["case_ids"])
    if problems:
        for problem in problems:
            st.error(escape_markdown(problem))
        st.info("Nothing was run. Choose other cases, or complete the current project's earlier stages first.")
        return
    st.button("Stop", key="lab_stop", help="Stops after the current call; finished runs are kept and can be resumed.")
    bar = st.progress(0.0, text="Starting…")
    with st.status("Running the model lab…", expanded=True) as status:
        line = st.empty()
        stream = st.empty()
        received: list[str] = []

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{done}/{total} · {message}")
            line.caption(message)
            received.clear()

        def show(text: str) -> None:
            # Streaming also keeps Stop responsive: Streamlit can interrupt the script at each update.
            received.append(text)
            stream.code("".join(received)[-1500:], language="json", wrap_lines=True)

        def save(lab_state: dict) -> None:
            state.set_project(lab.project_with_lab(state.get_project(), lab_state))

        runner = bench.run_benchmark if is_bench else lab.run_lab
        result = runner(state.get_project().lab, run, cases, progress=progress, on_update=save, on_text=show)
        final = lab.latest_run(result)
        complete = final is not None and final["status"] == "complete"
        status.update(label="Model lab run complete" if complete else "Model lab run stopped — resume to finish",
                      state="complete" if complete else "error", expanded=False)
    done = len(final["records"]) if final else 0
    st.session_state["lab_notice"] = f"Lab run {'complete' if complete else 'stopped'}: {done} run(s) recorded."
    st.session_state["lab_run_choice"] = run["id"]  # show the run just made
    st.rerun()  # redraw the buttons (Resume / Clear) and the results from the saved project


# ---- setup ------------------------------------------------------------------------------------
registry = _load_registry()
st.subheader("Set up a run")
left, right = st.columns(2)
with left:
    task_name = st.selectbox("Task", task_names(), format_func=lambda name: TASK_LABELS.get(name, name), key="lab_task")
    if task_name == BENCH:
        graph_ids = bench_cases.known_case_ids()
        case_ids = st.multiselect(
            "Graphs", [*graph_ids, bench_cases.PROJECT_CASE], default=graph_ids, key="lab_bench_cases",
            format_func=lambda cid: f"open project — {project.name}" if cid == bench_cases.PROJECT_CASE else cid,
            help="Famous graphs (pgmpy/bnlearn networks, DAGitty gallery) a model may have memorised, and novel ones "
                 "(the built-in simulations, your open project's DAG) it cannot have. Each model sees only the variable "
                 "names, timings and descriptions; its draft is graded against the true graph.",
        )
    else:
        case_options = [*BUILTINS, lab.CURRENT_CASE]
        case_ids = st.multiselect(
            "Cases", case_options, default=list(BUILTINS), format_func=_case_label, key="lab_cases",
            help="Built-ins are complete example projects (approved card, default DAG, audit, estimates; no model): "
            + "; ".join(f"{name} = {spec.title}" for name, spec in BUILTINS.items()) + ". 'current' is this project as it is now.",
        )
    c1, c2 = st.columns(2)
    repeats = c1.number_input("Repeats per case", min_value=1, max_value=20, value=1, step=1, key="lab_repeats")
    base_seed = c2.number_input("Base seed (repeat r uses seed + r)", min_value=0, value=209, step=1, key="lab_seed")
with right:
    models = {model["key"]: model for model in registry or []}
    default_models = [key for key in models if key == "bundled" and models[key]["available"]]
    if task_name == BENCH:  # calibration rows: no model, they bound every metric
        models = {**{key: bench.calibration_model(key) for key in bench.CALIBRATION}, **models}
        default_models = [*bench.CALIBRATION, *default_models]
    chosen = st.multiselect("Models", list(models), default=default_models,
                            format_func=lambda key: _model_label(models, key),
                            key="lab_bench_models" if task_name == BENCH else "lab_models")
    if task_name == BENCH:
        context_tokens = st.number_input("Model context window (tokens)", min_value=256, value=4096, step=256,
                                         key="lab_bench_context",
                                         help="A graph whose prompt and answer need more is refused with its size.")
    extra = st.text_input("Add endpoints or local folders (optional, comma-separated)", key="lab_extra_model",
                          placeholder="endpoint:qwen2.5-7b-instruct@http://127.0.0.1:8000/v1  or  path:/models/my-model")
    in_flight = st.number_input("Cases in flight per endpoint server", min_value=1, max_value=lab_endpoints.MAX_IN_FLIGHT,
                                value=lab_endpoints.DEFAULT_IN_FLIGHT, step=1, key="lab_in_flight",
                                help="Endpoint models run at the same time, one thread pool per server; this bounds "
                                     "how many of a server's cases are sent at once (vLLM batches them).")
    settings = current_settings()
    st.caption(
        f"Decoding (sidebar): temperature {settings.temperature}, max new tokens {settings.max_new_tokens}, "
        f"constrained {'on' if settings.constrained else 'off'}, repair retry {'on' if settings.repair_retry else 'off'}. "
        "At temperature 0 decoding is greedy, so repeats of a local model repeat the same output; raise the "
        "temperature in the sidebar to measure run-to-run variation. Local models load with the sidebar's "
        "load options; each model is unloaded after its cases, including one loaded in the sidebar."
    )

if registry:
    with st.expander(f"Model registry ({sum(m['available'] for m in registry)} of {len(registry)} available)"):
        st.dataframe(
            [{k: m[k] for k in ("label", "key", "role", "source", "available", "reason", "fetch_command")} for m in registry],
            hide_index=True, width="stretch",
        )

if notice := st.session_state.pop("lab_notice", None):
    st.success(notice)

lab_state = project.lab
latest = lab.latest_run(lab_state)
resumable = latest is not None and latest["status"] != "complete" and bool(lab.pending_keys(latest))
b1, b2, b3 = st.columns(3)
start = b1.button("Run", key="lab_run", type="primary", width="stretch")
resume = b2.button("Resume the interrupted run", key="lab_resume", disabled=not resumable, width="stretch")
clear = b3.button("Clear lab results", key="lab_clear", disabled=not lab.runs_of(lab_state), width="stretch")
st.caption("Endpoint models run at once (one per server, a bounded number of cases in flight each); local models "
           "go one at a time: load, every case and repeat, unload. Clicking Stop (or leaving the page) "
           "interrupts; finished runs stay in the project and **Resume** completes the rest without repeating them.")

if clear:
    state.set_project(lab.project_with_lab(state.get_project(), lab.empty_lab()))
    st.rerun()

def _instructor_ok(model_keys: list[str], extra_text: str, calls: int) -> bool:
    """Class mode: a run that adds, loads or is large asks for the sidebar's instructor password."""
    if not class_mode():
        return True
    loaded = {row["model_key"] for row in runtime.loaded_sessions()}
    reasons = lab_endpoints.instructor_reasons(model_keys, extra_text, calls, loaded)
    return not reasons or instructor_allows(f"This Model lab run ({'; '.join(reasons)})")


model_calls = [key for key in chosen if task_name != BENCH or key not in bench.CALIBRATION]  # calibration: no model
if start and _instructor_ok(model_calls, extra, len(model_calls) * len(case_ids) * int(repeats)):
    try:
        if registry is None:
            raise lab.LabError("no model registry: see the error above")
        if not case_ids:
            raise lab.LabError("choose at least one case")
        keys = [*chosen, *(key.strip() for key in extra.split(",") if key.strip())]
        if task_name == BENCH:
            planned_models = bench.resolve_models(keys, registry)
            too_large = bench.context_problems(bench.prepare(case_ids, project), planned_models, int(context_tokens))
            if too_large:
                raise lab.LabError("; ".join(too_large))
        else:
            planned_models = lab.resolve_models(keys, registry)
        plan = lab.new_run(task_name, case_ids, planned_models, int(repeats), int(base_seed),
                           settings, st.session_state.get("cw_load_options"), max_in_flight=int(in_flight))
        lab.task_for(task_name)
    except WorkbenchInputError as error:  # a bad choice (unknown model, task or case); a bug reaches the page guard
        st.error(escape_markdown(str(error)))
    else:
        if not any(model["available"] for model in plan["models"]):
            st.warning("None of the chosen models is available, so nothing runs; see the reasons below.")
        _execute(plan)
elif resume and resumable and _instructor_ok([m["key"] for m in latest["models"] if m.get("role") != "calibration"],
                                           "", len(lab.pending_keys(latest))):
    _execute(latest)

# ---- results ----------------------------------------------------------------------------------
runs = lab.runs_of(state.get_project().lab)
if not runs:
    st.info("No lab runs in this project yet.")
    st.stop()

st.subheader("Results")
run_ids = [run["id"] for run in reversed(runs)]
by_id = {run["id"]: run for run in runs}
if st.session_state.get("lab_run_choice") not in run_ids:  # cleared, or another dataset's project
    st.session_state.pop("lab_run_choice", None)
run_id = st.selectbox("Run", run_ids, format_func=lambda rid: lab.run_label(by_id[rid]), key="lab_run_choice")
run = by_id.get(run_id, runs[-1])
pending = lab.pending_keys(run)
if pending:
    st.warning(f"This run is incomplete: {len(pending)} of {len(lab.planned_keys(run))} (model, case, repeat) runs "
               "are still to do. Resume it above (the latest run) to finish without repeating finished ones.")
st.caption(f"Task **{run['task']}** · cases {', '.join(run['case_ids'])} · {run['repeats']} repeat(s) · "
           f"base seed {run['base_seed']} · temperature {run['settings'].get('temperature')}")

unavailable = lab.unavailable_models(run)
if unavailable:
    st.markdown("**Not run (unavailable)**")
    st.dataframe(unavailable, hide_index=True, width="stretch")

if run["task"] == BENCH:
    bench_graphs, bench_problems = _bench_cases(run["case_ids"])
    for problem in bench_problems:
        st.error(escape_markdown(f"The benchmark cannot be scored: {problem}"))
    if bench_graphs:
        with st.container(border=True):
            st.markdown("**DAG benchmark** — metrics per model against the true graphs; a failed run scores 0 and "
                        "counts. adjustment_valid: share of (pair) questions where the set the workbench would "
                        "recommend from the draft satisfies the back-door criterion in the TRUE graph; bias: "
                        "|OLS estimate − true effect| on a seeded linear-Gaussian simulation of the true graph.")
            st.caption("Famous graphs are published and likely memorised; novel ones cannot be. A gap between the two "
                       "rows of a model is memorisation, not reasoning. The open project is scored against its "
                       "current DAG.")
            bench_summary = bench.summarize(run, bench_graphs)
            bench_split = bench.summarize(run, bench_graphs, split=True)
            all_tab, split_tab, graphs_tab, records_tab = st.tabs(["Summary", "Famous vs novel", "Graphs", "Per case"])
            all_tab.dataframe(bench_summary, hide_index=True, width="stretch")
            split_tab.dataframe(bench_split, hide_index=True, width="stretch")
            graphs_tab.dataframe([g.summary_row() for g in bench_graphs.values()], hide_index=True, width="stretch")
            records_tab.dataframe(bench.benchmark_records(run, bench_graphs), hide_index=True, width="stretch")
            if (chart := bench.metric_chart(bench_split)) is not None:
                st.altair_chart(chart, width="stretch")
            size = bench.size_chart(bench_split)
            if size is not None:
                st.altair_chart(size, width="stretch")
            else:
                st.caption("No chosen model declares its size, so there is no score-against-size chart.")
            st.download_button("DAG benchmark (JSON)", json.dumps(bench.payload(run, bench_graphs), indent=1),
                               f"dag_benchmark_{run['id']}.json", "application/json", key="lab_dl_bench")

summary = lab.summarize(run)
st.markdown("**Summary by model** — reliability = schema-valid runs / all runs; mean score = mean rubric share, "
            "failed runs counted as 0; truncated = runs stopped at max new tokens (finish_reason length), "
            "counted apart and never repaired into a valid artifact")
st.dataframe(
    summary, hide_index=True, width="stretch",
    column_config={
        "model_id": st.column_config.TextColumn(width="small"),
        "role": st.column_config.TextColumn(width="small"),
        "schema_reliability": st.column_config.NumberColumn(format="%.2f"),
        "mean_score": st.column_config.NumberColumn(format="%.3f"),
        "mean_tokens_per_s": st.column_config.NumberColumn(format="%.1f"),
        "mean_duration_s": st.column_config.NumberColumn(format="%.1f"),
    },
)

charts = lab.lab_charts(run)
if charts:
    score_tab, reliability_tab, speed_tab = st.tabs(["Rubric score", "Schema reliability", "Tokens / s"])
    score_tab.altair_chart(charts["score"], width="stretch")
    score_tab.caption("Bars: mean score share per model (failed runs at 0). Dots: each run; crosses are failures.")
    reliability_tab.altair_chart(charts["reliability"], width="stretch")
    speed_tab.altair_chart(charts["tokens_per_s"], width="stretch")
    speed_tab.caption("Mean generated tokens per second (load time excluded); endpoints report their own speed.")

st.markdown("**Case results** (raw output preview: first 500 characters)")
st.dataframe(lab.case_results(run), hide_index=True, width="stretch")

left, right = st.columns([2, 1])
with left:
    st.markdown("**Failed runs** (zero credit)")
    failed = lab.failed_runs(run)
    if failed.empty:
        st.caption("No failed runs.")
    else:
        st.dataframe(failed, hide_index=True, width="stretch")
with right:
    st.markdown("**Repair stages**")
    st.dataframe(lab.repair_stage_counts(run), hide_index=True, width="stretch")
    with st.expander("Repair stages by model"):
        st.dataframe(lab.repair_stage_counts(run, by_model=True), hide_index=True, width="stretch")

records = run.get("records", [])
if records:
    with st.expander("Inspect one run's full output"):
        index = st.selectbox(
            "Run", range(len(records)), key="lab_record_choice",
            format_func=lambda i: f"{records[i]['label']} · {records[i]['case_id']} · repeat {records[i]['repeat']}"
            f" · {records[i]['status']}",
        )
        record = records[index]
        st.caption(f"Status {record['status']} · repair stage {record['repair_stage']} · "
                   f"failure {record['failure_type'] or '—'} · score {record['score']}/{record['max_score']}")
        if record.get("failed_checks"):
            st.caption("Failed checks: " + ", ".join(record["failed_checks"]))
        st.code(record.get("raw_output") or "(empty output)", language="json", wrap_lines=True)
        if record.get("repair_raw_output"):
            st.markdown("Repair retry output")
            st.code(record["repair_raw_output"], language="json", wrap_lines=True)

d1, d2, d3 = st.columns(3)
stem = f"model_lab_{run['task']}_{run['id']}"
d1.download_button("Summary (CSV)", lab.summary_csv(run), f"{stem}_summary.csv", "text/csv", key="lab_dl_summary")
d2.download_button("Case results (CSV)", lab.cases_csv(run), f"{stem}_cases.csv", "text/csv", key="lab_dl_cases")
d3.download_button("Everything (JSON)", lab.run_json(run), f"{stem}.json", "application/json", key="lab_dl_json")
