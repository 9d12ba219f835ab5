"""The ``dag-benchmark`` structured task: the DAG draft task's prompt and grammar on a benchmark case.

The prompt is exactly the DAG draft's (so the benchmark measures the task the app runs), built only from
the case's dictionary and its treatment–outcome pair; the true graph's edges and its unobserved nodes are
never in the inputs. Node names are constrained to the listed variables (or explicit latents) by the same
per-project grammar as the DAG task.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from causal_core.ai.rubric import check
from causal_core.ai.structured import StructuredTask
from causal_core.dag import draft as dag_draft
from causal_core.project import Project, RubricCheck

TASK_NAME = "dag-benchmark"
CHARS_PER_TOKEN = 3.5  # a conservative rule of thumb for English text in BPE tokenisers
TOKENS_PER_EDGE = 40  # one {"source", "target", "rationale"} object of the answer
DEFAULT_CONTEXT_TOKENS = 4096


def build_inputs(project: Project, frame: pd.DataFrame | None = None) -> dict[str, Any]:
    """Variables (name, timing, description) and the focus pair; nothing from the true graph's edges."""
    spec = project.dag
    variables = [
        {"name": entry.variable, "timing": entry.timing_label or entry.timing.value, "role": entry.role,
         "description": entry.description, "in_data": True}
        for entry in project.dictionary
    ]
    # Benchmark cases carry no card; a project that has one (a lab run on any project) shows it as data.
    card = project.estimand_card.model_dump() if project.estimand_card is not None else None
    return {"card": card, "card_status": project.card_status if card else "", "treatment": spec.treatment if spec else project.treatment,
            "outcome": spec.outcome if spec else project.outcome, "guardrails": [], "variables": variables,
            "unobserved_nodes": []}


def draft_edges(parsed: dict[str, Any] | None) -> tuple[list[tuple[str, str]], list[str]]:
    """(edges, names marked latent) of a parsed draft; lenient about key spellings, never raises."""
    edges, latent = [], []
    for item in (parsed or {}).get("edges") or []:
        if not isinstance(item, dict):
            continue
        source, target = item.get("source", item.get("from")), item.get("target", item.get("to"))
        for end, flag in ((source, "source_latent"), (target, "target_latent")):
            if isinstance(end, dict) and end.get("latent") is True:
                latent.append(str(end.get("name", "")))
            elif item.get(flag) and isinstance(end, str):
                latent.append(end)
        source = source.get("name") if isinstance(source, dict) else source
        target = target.get("name") if isinstance(target, dict) else target
        if isinstance(source, str) and isinstance(target, str) and source.strip() and target.strip():
            edges.append((source.strip(), target.strip()))
    return edges, latent


def score(parsed: dict[str, Any], project: Project, frame: pd.DataFrame | None = None) -> list[RubricCheck]:
    """The lab's generic rubric share for this task: four checks read off the benchmark metrics."""
    from causal_core.lab_bench import metrics

    truth = project.dag
    if truth is None:
        return [check("true graph", False, "the case carries no true graph")]
    variables = [entry.variable for entry in project.dictionary]
    edges, latent = draft_edges(parsed)
    scores = metrics.score_draft(truth, variables, edges, latent, [(truth.treatment, truth.outcome)])
    return [
        check("edges found", scores["edge_f1"] >= 0.5, f"directed edge F1 {scores['edge_f1']:.2f} (pass at 0.5)"),
        check("orientation", scores["orientation_accuracy"] >= 0.75,
              f"orientation accuracy {scores['orientation_accuracy']:.2f} on the true skeleton (pass at 0.75)"),
        check("adjustment identifies the effect", bool(scores["adjustment_valid_focus"]),
              "the recommended set satisfies the back-door criterion in the true graph"
              if scores["adjustment_valid_focus"] else "the recommended set fails the back-door criterion in the true graph"),
        check("only listed variables", scores["outside_nodes"] == 0,
              f"{int(scores['outside_nodes'])} node name(s) outside the case's variables"),
    ]


def prompt_tokens(inputs: dict[str, Any]) -> int:
    """Estimated tokens of the system + user prompt for these inputs."""
    text = dag_draft.SYSTEM_PROMPT + dag_draft.build_user_prompt(inputs)
    return int(len(text) / CHARS_PER_TOKEN) + 1


def needed_tokens(inputs: dict[str, Any], true_edges: int) -> int:
    """Prompt plus an answer as long as the true graph (the least a complete draft needs)."""
    return prompt_tokens(inputs) + TOKENS_PER_EDGE * max(true_edges, 1)


DAG_BENCHMARK_TASK = StructuredTask(
    name=TASK_NAME,
    artifact="dag_benchmark",
    system_prompt=dag_draft.SYSTEM_PROMPT,
    build_user_prompt=dag_draft.build_user_prompt,
    schema=dag_draft.DagDraft,
    field_aliases=dag_draft.FIELD_ALIASES,
    build_inputs=build_inputs,
    score=score,
)
