"""The notebook's Markdown: the brief, the approved card, the analyst's decisions where they were made.

Every piece of user or model text (project name, brief, card fields, edit notes, node and column names) goes
through causal_core.safe_text, because a notebook renders Markdown and HTML just as the app does: a shared
project file must not be able to put an image beacon or a script into a reviewer's Jupyter.
"""

from __future__ import annotations

import json
from typing import Any

from causal_core.project import AnalystEdit, EstimationSpec, Project
from causal_core.safe_text import code_span, escape_markdown

CARD_FIELDS = (
    ("business_question", "Business question"),
    ("causal_question", "Causal question"),
    ("unit", "Unit"),
    ("treatment", "Treatment"),
    ("control_condition", "Control condition"),
    ("outcome", "Outcome"),
    ("time_window", "Time window"),
    ("target_population", "Target population"),
    ("estimand", "Estimand"),
    ("required_assumptions", "Required assumptions"),
    ("likely_threats", "Likely threats"),
    ("variables_to_audit", "Variables to audit"),
)
# Which stage an edit-log artifact belongs to, so each decision is written down where it was made.
EDIT_STAGES = {
    "estimand_card": "question", "open_questions": "question", "project": "question",
    "dictionary": "audit", "roles": "audit", "profile_review": "audit", "checklist": "audit", "data": "audit",
    "dag": "dag", "estimation": "estimation", "multiverse": "multiverse", "memo": "memo",
}
# Which stage an AI task's recorded interactions belong to.
TASK_STAGES = {"estimand-card": "question", "dag": "dag", "profile": "audit", "memo": "memo"}
AI_NOTE = (
    "*Recorded, not regenerated.* The model's prompt, raw output and audit score below are read from the project "
    "file as they were logged. Re-running a model would give different text; a model's text is never causal "
    "evidence, so the notebook only shows what the analyst reviewed."
)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(escape_markdown(item) for item in value) or "—"
    return escape_markdown(value) or "—"


def header(project: Project, notice: str) -> str:
    """Title, provenance and how to run; the stage notice when the analysis is incomplete."""
    source = project.data_source
    if source is None:
        data = "no dataset yet"
    elif source.kind == "builtin":
        data = f"built-in dataset {code_span(source.name)} (n = {source.n}, seed {source.seed}), {source.rows:,} rows"
    else:
        data = f"uploaded file {code_span(source.name)}, {source.rows:,} rows"
    lines = [
        f"# Reproducible analysis: {escape_markdown(project.name)}",
        "",
        f"Exported from Causal Workbench. Data: {data}"
        + (f", sha256 {code_span(source.sha256)}." if source else "."),
        "",
        "Each section re-runs one stage of the analysis from the project file with `causal_core`'s public API, in "
        "the app's order: data check → DAG → data audit → estimation → sensitivity → specification curve → memo. "
        "Run it with the Causal Workbench checkout importable (start Jupyter from the repository, or set "
        "`PYTHONPATH`). The last cell prints every re-computed estimate and interval as JSON, with the stored memo sentence beside "
        "the rebuilt one; each stage also says whether it matches the project.",
    ]
    if notice:
        lines += ["", f"> **Incomplete analysis.** {notice}"]  # our sentence: stage names only, no user text
    return "\n".join(lines)


def question(project: Project) -> str:
    """The brief, the estimand card (with its approval status) and the open questions."""
    lines = ["## The question", "", f"**Brief.** {escape_markdown(project.brief) or '—'}", ""]
    card = project.estimand_card
    if card is None:
        lines.append("No estimand card yet.")
    else:
        status = "approved" if project.card_status == "approved" else f"{project.card_status} (not approved)"
        lines += [f"**Estimand card** ({status}):", "", "| field | value |", "|---|---|"]
        lines += [f"| {label} | {_value(getattr(card, key))} |" for key, label in CARD_FIELDS]
    lines += ["", "**Open questions.**", ""]
    questions = project.open_questions
    lines += [f"- [{item.status}] {escape_markdown(item.text)}"
              + (f" — answer: {escape_markdown(item.answer)}" if item.answer else "") for item in questions]
    if not questions:
        lines.append("None recorded.")
    return "\n".join(lines)


def _edit_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    if len(text) > 160:
        text = text[:159] + "…"
    return code_span(text)


def edits(entries: list[AnalystEdit]) -> str:
    """The analyst's edits for one stage, from the edit log (what changed, from what, to what, why)."""
    lines = ["**Analyst decisions at this stage** (from the edit log):", ""]
    for entry in entries:
        note = f" — {escape_markdown(entry.note)}" if entry.note else ""
        lines.append(
            f"- {entry.time}: {code_span(entry.artifact)}.{code_span(entry.field)} "
            f"{_edit_value(entry.before)} → {_edit_value(entry.after)}{note}"
        )
    return "\n".join(lines)


def edits_by_stage(project: Project) -> dict[str, list[AnalystEdit]]:
    grouped: dict[str, list[AnalystEdit]] = {}
    for entry in project.edit_log:
        grouped.setdefault(EDIT_STAGES.get(entry.artifact, "question"), []).append(entry)
    return grouped


def dag_decisions(project: Project) -> str:
    """The edges with their rationales and the analyst's adjusted set."""
    spec = project.dag
    lines = [
        "## The DAG",
        "",
        f"Treatment {code_span(spec.treatment or '—')}, outcome {code_span(spec.outcome or '—')}; "
        f"{len(spec.nodes)} nodes, {len(spec.edges)} edges. The DAGitty text below is the project's DAG; the cell "
        "rebuilds it with the DAG page's reader and prints the adjustment sets.",
        "",
    ]
    lines += [f"- {code_span(edge.source)} → {code_span(edge.target)}"
              + (f": {escape_markdown(edge.rationale)}" if edge.rationale else "") for edge in spec.edges[:60]]
    if len(spec.edges) > 60:
        lines.append(f"- … and {len(spec.edges) - 60} more edges (all in the DAGitty text).")
    adjusted = ", ".join(code_span(name) for name in spec.adjusted) or "none chosen"
    lines += ["", f"Analyst's adjustment set (`adjusted`): {adjusted}."]
    return "\n".join(lines)


def audit_intro(project: Project) -> str:
    settings = project.data_audit.settings if project.data_audit else {}
    shown = {key: settings.get(key) for key in ("bounds", "smd_threshold", "leak_threshold", "max_levels")}
    lines = [
        "## The data audit",
        "",
        f"Grain {', '.join(code_span(c) for c in project.unit_columns) or '—'}, de-duplication "
        f"{code_span(project.dedup)}; settings {code_span(json.dumps(shown))}. The tables are re-computed and "
        "compared with the project's stored ones.",
    ]
    if project.checklist:
        lines += ["", "**Human review checklist** (as recorded):", ""]
        lines += [f"- [{item.status}] {escape_markdown(item.check)}" for item in project.checklist]
    return "\n".join(lines)


SPEC_ROWS = (
    ("covariates", "Adjustment set"), ("categorical", "Categorical covariates"), ("estimand", "Estimand"),
    ("outcome_terms", "Outcome-model terms"), ("propensity_terms", "Propensity terms"),
    ("treatment_interactions", "Treatment interactions"), ("ps_learner", "Propensity learner"),
    ("outcome_learner", "Outcome learner"), ("crossfit_folds", "Cross-fitting folds"), ("clip", "Propensity clip"),
    ("trim", "Trimming"), ("cluster", "Cluster column"), ("missing", "Missing covariates"),
    ("bootstrap", "Bootstrap replicates"), ("seed", "Seed"), ("ipw_se", "IPW SE"), ("overrides", "Overrides"),
    ("placebo_outcome", "Placebo outcome"),
)


def estimation_intro(spec: EstimationSpec) -> str:
    """The specification as a table: every choice that decides the numbers."""
    lines = [
        "## Estimation",
        "",
        f"Effect of {code_span(spec.treatment)} on {code_span(spec.outcome)}, with exactly the project's "
        "specification (the cell below writes it out in full):",
        "",
        "| choice | value |",
        "|---|---|",
    ]
    for key, label in SPEC_ROWS:
        value = getattr(spec, key)
        shown = ", ".join(code_span(v) for v in value) if isinstance(value, list) and value else (
            code_span(value) if value not in (None, [], "") else "—")
        lines.append(f"| {label} | {shown} |")
    return "\n".join(lines)


def ai_section(project: Project, stage: str) -> list[tuple[str, str]]:
    """(interaction id, one-line Markdown) for the stage's recorded model calls."""
    rows = []
    for item in project.ai_log:
        if TASK_STAGES.get(item.task, "memo") != stage:
            continue
        status = "schema-valid" if item.schema_valid else f"failed ({escape_markdown(item.failure_type or 'invalid')})"
        rows.append((item.id, f"**AI interaction** {code_span(item.task)} by {code_span(item.model_id or '?')}, "
                              f"{item.started_at}: {status}, repair {code_span(item.repair_stage)}."))
    return rows


def final_memo(project: Project) -> str:
    """The analyst's final memo as written (recorded text, not re-computed)."""
    from causal_core.memo import MEMO_SECTIONS

    lines = ["**The analyst's final memo** (as written in the app):", ""]
    lines += [f"- **{title}.** {escape_markdown(project.memo.final.get(key, '')) or '—'}" for key, title in MEMO_SECTIONS]
    return "\n".join(lines)
