"""The DAG benchmark on the Model lab's runner: calibration rows, context check, metric tables, chart.

Real models go through :func:`causal_core.lab_bench.run_lab` unchanged (fair queue, endpoints in parallel,
progress, Stop, resume; a failure scores zero and counts in reliability). The calibration rows ``oracle``
(answers the true graph) and ``empty`` (answers no edges) call no model: their records are written first,
through the lab's own ``record_from_interaction``, so the runner sees them as done and skips them.
Every metric is read from the stored drafts afterwards, so a saved run can be re-scored.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from causal_core import lab_bench as lab
from causal_core.lab_bench import metrics, simulate
from causal_core.lab_bench.cases import BenchCase, BenchError, get_case
from causal_core.lab_bench.task import DAG_BENCHMARK_TASK, DEFAULT_CONTEXT_TOKENS, TASK_NAME, needed_tokens
from causal_core.project import AIInteraction, Project
from causal_core.runtime import registry

CALIBRATION = {
    "oracle": "returns the true graph (upper bound: every share 1, SHD 0)",
    "empty": "returns no edges (lower bound: edge F1 0)",
}
PAIR_SEED = 26
SEM_SEED = 2026
SUMMARY_COLUMNS = [
    "label", "model_id", "role", "kind", "cases", "schema_reliability", "edge_precision", "edge_recall", "edge_f1",
    "skeleton_f1", "orientation_accuracy", "shd", "adjustment_valid", "adjustment_valid_focus", "adjustment_bias",
    "params",
]
RECORD_COLUMNS = [
    "label", "model_id", "case_id", "kind", "repeat", "status", "failure_type", "edge_precision", "edge_recall",
    "edge_f1", "skeleton_f1", "orientation_accuracy", "shd", "adjustment_valid", "adjustment_valid_focus",
    "adjustment_bias", "outside_nodes", "recommended_set", "error",
]


# ---------------------------------------------------------------------------------------------
# Models and cases
# ---------------------------------------------------------------------------------------------
def calibration_model(key: str) -> dict[str, Any]:
    return {"key": key, "label": key, "role": "calibration", "source": "calibration", "available": True,
            "reason": CALIBRATION[key], "fetch_command": "", "params": None}


def resolve_models(keys: list[str], known: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Calibration keys become calibration rows; every other key is resolved by the lab (unknown → LabError)."""
    wanted = list(dict.fromkeys(k.strip() for k in keys if k and k.strip()))
    if not wanted:
        raise lab.LabError("choose at least one model")
    real = [key for key in wanted if key not in CALIBRATION]
    try:
        resolved = {m["key"]: m for m in (lab.resolve_models(real, known) if real else [])}
    except lab.LabError as error:
        raise lab.LabError(f"{error}; calibration rows: {', '.join(CALIBRATION)}") from None
    models = [calibration_model(key) if key in CALIBRATION else resolved[registry.normalise_key(key)] for key in wanted]
    return list({m["key"]: m for m in models}.values())  # two spellings of one endpoint are one model


def lab_case(case: BenchCase) -> lab.LabCase:
    return lab.LabCase(case_id=case.case_id, project=case.project(), frame=None, label=case.title)


def prepare(case_ids: list[str], project: Project | None = None) -> dict[str, BenchCase]:
    """The chosen cases, in order; an unknown name raises BenchError naming the known ones."""
    if not case_ids:
        raise BenchError("choose at least one graph")
    return {case_id: get_case(case_id, project) for case_id in dict.fromkeys(case_ids)}


def context_problems(cases: dict[str, BenchCase], models: list[dict[str, Any]],
                     context_tokens: int = DEFAULT_CONTEXT_TOKENS) -> list[str]:
    """Graphs too large for a real model's context window, each with its size (calibration rows need none)."""
    if not any(m.get("role") != "calibration" and m.get("available") for m in models):
        return []
    problems = []
    for case in cases.values():
        need = needed_tokens(DAG_BENCHMARK_TASK.build_inputs(case.project(), None), len(case.edges))
        if need > context_tokens:
            problems.append(f"graph '{case.case_id}' is too large for the model's context: {len(case.variables)} "
                            f"variables and {len(case.edges)} edges need about {need:,} tokens (prompt + answer), "
                            f"more than the {context_tokens:,}-token context")
    return problems


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------
def calibration_answer(key: str, case: BenchCase) -> dict[str, Any]:
    """The oracle's answer is the true graph (latent nodes marked latent); the empty answer has no edges."""
    if key == "empty":
        return {"edges": []}
    listed = set(case.variable_names)
    return {"edges": [{"source": s, "target": t, "rationale": "true graph", "source_latent": s not in listed,
                       "target_latent": t not in listed} for s, t in case.edges]}


def calibration_records(run: dict[str, Any], cases: dict[str, BenchCase]) -> list[dict[str, Any]]:
    """A scored record per calibration model, case and repeat, through the lab's own record builder."""
    records = []
    for model in run["models"]:
        if model.get("role") != "calibration":
            continue
        for case_id, case in cases.items():
            for repeat in range(run["repeats"]):
                parsed = calibration_answer(model["key"], case)
                interaction = AIInteraction(id=f"{model['key']}-{case_id}-{repeat}", task=TASK_NAME,
                                            raw_output=json.dumps(parsed), parsed=parsed, schema_valid=True,
                                            backend="calibration", model_id=model["key"])
                records.append(lab.record_from_interaction(DAG_BENCHMARK_TASK, model, lab_case(case), repeat,
                                                           run["base_seed"] + repeat, interaction))
    return records


def run_benchmark(state: dict[str, Any] | None, run: dict[str, Any], cases: dict[str, BenchCase], **hooks: Any) -> dict[str, Any]:
    """Calibration records first, then the lab runner for the real models (``hooks``: progress, should_stop…)."""
    done = lab.done_keys(run)
    fresh = [r for r in calibration_records(run, cases) if lab.run_key(r["model_id"], r["case_id"], r["repeat"]) not in done]
    run = {**run, "records": [*run.get("records", []), *fresh]}
    return lab.run_lab(state, run, {case_id: lab_case(case) for case_id, case in cases.items()}, **hooks)


def new_run(case_ids: list[str], models: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return lab.new_run(TASK_NAME, case_ids, models, **options)


# ---------------------------------------------------------------------------------------------
# Scoring the records
# ---------------------------------------------------------------------------------------------
_PAIRS: dict[tuple, tuple[tuple[str, str], ...]] = {}
_SIMULATIONS: dict[tuple, tuple[simulate.LinearSem, pd.DataFrame]] = {}


def _case_key(case: BenchCase) -> tuple:
    """What a case's pairs and simulation depend on (the project case can change between runs)."""
    return case.case_id, case.edges, tuple(case.variable_names), case.treatment, case.outcome


def _pairs(case: BenchCase) -> tuple[tuple[str, str], ...]:
    """The case's pair and a seeded sample of identifiable pairs, computed once per process."""
    key = _case_key(case)
    if key not in _PAIRS:
        _PAIRS[key] = tuple(metrics.sample_pairs(case.spec(), case.variable_names, (case.treatment, case.outcome),
                                                 PAIR_SEED))
    return _PAIRS[key]


def _simulation(case: BenchCase) -> tuple[simulate.LinearSem, pd.DataFrame]:
    """The seeded linear-Gaussian SEM of the true graph and its simulated rows, once per process."""
    key = _case_key(case)
    if key not in _SIMULATIONS:
        spec = case.spec()
        sem = simulate.linear_sem(list(case.edges), [n.name for n in spec.nodes], SEM_SEED)
        _SIMULATIONS[key] = (sem, sem.sample(simulate.DEFAULT_N, SEM_SEED))
    return _SIMULATIONS[key]


def record_metrics(record: dict[str, Any], case: BenchCase) -> dict[str, Any]:
    """The benchmark row of one lab record: metrics of its draft, or the failure's zeros."""
    row = {"label": record["label"], "model_id": record["model_id"], "case_id": case.case_id, "kind": case.kind,
           "repeat": record["repeat"], "status": record["status"], "failure_type": record.get("failure_type", ""),
           "error": record.get("error", "")}
    if record["status"] != "ok":
        return {**row, **metrics.failed_scores(len(case.edges)), "adjustment_bias": None, "recommended_set": None}
    from causal_core.lab_bench.task import draft_edges

    edges, latent = draft_edges(record.get("parsed"))
    scores = metrics.score_draft(case.spec(), case.variable_names, edges, latent, _pairs(case))
    recommended = scores["pairs"][0]["recommended"]
    sem, data = _simulation(case)
    bias = simulate.adjustment_bias(sem, data, case.treatment, case.outcome, recommended)
    return {**row, **{k: v for k, v in scores.items() if k != "pairs"}, "adjustment_bias": bias,
            "recommended_set": recommended}


def benchmark_records(run: dict[str, Any] | None, cases: dict[str, BenchCase]) -> pd.DataFrame:
    rows = [record_metrics(r, cases[r["case_id"]]) for r in (run or {}).get("records", []) if r["case_id"] in cases]
    return pd.DataFrame(rows).reindex(columns=RECORD_COLUMNS)


def _summary_of(frame: pd.DataFrame, kind: str) -> dict[str, Any]:
    shares = ["edge_precision", "edge_recall", "edge_f1", "skeleton_f1", "orientation_accuracy", "shd",
              "adjustment_valid", "adjustment_valid_focus"]
    bias = pd.to_numeric(frame["adjustment_bias"], errors="coerce")
    return {"kind": kind, "cases": int(len(frame)), "schema_reliability": float((frame["status"] == "ok").mean()),
            **{column: float(frame[column].mean()) for column in shares},
            "adjustment_bias": float(bias.mean()) if bias.notna().any() else None}


def summarize(run: dict[str, Any] | None, cases: dict[str, BenchCase], split: bool = False) -> pd.DataFrame:
    """Per model (and per famous/novel kind with ``split``): mean metrics, failed runs counted at zero."""
    records = benchmark_records(run, cases)
    if records.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    models = {m["key"]: m for m in (run or {}).get("models", [])}
    rows = []
    for model_id, group in records.groupby("model_id", sort=False):
        base = {"label": group["label"].iloc[0], "model_id": model_id, "role": models.get(model_id, {}).get("role", ""),
                "params": models.get(model_id, {}).get("params")}
        groups = [(kind, part) for kind, part in group.groupby("kind", sort=True)] if split else [("all", group)]
        rows += [{**base, **_summary_of(part, kind)} for kind, part in groups]
    return pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)


def payload(run: dict[str, Any] | None, cases: dict[str, BenchCase]) -> dict[str, Any]:
    """The CLI's JSON and the page's download: graphs, summary, famous/novel split, per-case records, lab report."""
    def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return json.loads(frame.to_json(orient="records"))

    return {**lab.report_payload(run), "graphs": [case.summary_row() for case in cases.values()],
            "summary": rows(summarize(run, cases)), "split": rows(summarize(run, cases, split=True)),
            "records": rows(benchmark_records(run, cases)), "lab_summary": rows(lab.summarize(run).drop(columns="failure_types"))}


def size_chart(summary: pd.DataFrame, metric: str = "edge_f1") -> Any | None:
    """Score against model size (parameters) for the models that declare it; None when fewer than one does."""
    import altair as alt

    sized = summary.dropna(subset=["params"]) if "params" in summary else summary.iloc[0:0]
    if sized.empty:
        return None
    sized = sized.assign(params_b=sized["params"].astype(float) / 1e9)
    return (alt.Chart(sized, title=f"{metric} against model size").mark_line(point=True)
            .encode(x=alt.X("params_b:Q", scale=alt.Scale(type="log"), title="parameters (billions)"),
                    y=alt.Y(f"{metric}:Q", scale=alt.Scale(domain=[0, 1]), title=metric),
                    color="kind:N", tooltip=["label", "kind", "params_b", alt.Tooltip(f"{metric}:Q", format=".2f")]))


def metric_chart(summary: pd.DataFrame) -> Any | None:
    """Edge F1, orientation accuracy and adjustment validity by model (and kind): the page's main chart."""
    import altair as alt

    if summary.empty:
        return None
    long = summary.melt(id_vars=["label", "kind"], value_vars=["edge_f1", "orientation_accuracy", "adjustment_valid"],
                        var_name="metric", value_name="share")
    return (alt.Chart(long).mark_bar()
            .encode(y=alt.Y("label:N", title="model"), x=alt.X("share:Q", scale=alt.Scale(domain=[0, 1])),
                    color="kind:N", yOffset="kind:N", row=alt.Row("metric:N", title=None),
                    tooltip=["label", "kind", "metric", alt.Tooltip("share:Q", format=".2f")]))

