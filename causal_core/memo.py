"""The decision memo (N01 §13): a deterministic memo built only from project figures, the AI-draft
task that writes prose from the same structured inputs, and the rubric that audits any memo.

Why deterministic first: every number a stakeholder reads must be traceable to a project figure.
The model may only rephrase; the rubric checks that it invented no numbers, named the estimand,
kept evidence apart from the recommendation and did not overclaim.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from causal_core.dag import adjustment_columns, check_adjustment_set, identify
from causal_core.estimation import ineligible_reason
from causal_core.multiverse import memo_text as robustness
from causal_core.project import (
    NOT_ADJUSTABLE_TIMINGS,
    EstimateRow,
    Project,
    RubricCheck,
    Timing,
    utc_now,
)
from causal_core.question import estimand_kind
from causal_core.rubric import check
from causal_core.structured import StructuredTask

if TYPE_CHECKING:
    import pandas as pd

# ---- sections -------------------------------------------------------------------------------

MEMO_SECTIONS: list[tuple[str, str]] = [
    ("question", "Question"),
    ("estimand", "Estimand"),
    ("design", "Design"),
    ("key_diagnostic", "Key diagnostic"),
    ("main_estimate", "Main estimate"),
    ("interpretation", "Interpretation"),
    ("main_limitation", "Main limitation"),
    ("recommendation", "Recommendation"),
]
EXTRA_SECTIONS: list[tuple[str, str]] = [
    ("adjustment_set", "Adjustment set"),
    ("excluded_variables", "Excluded variables"),
    ("sensitivity", "Sensitivity"),
    ("refutations", "Refutations"),
    (robustness.SECTION_KEY, robustness.SECTION_TITLE),
    ("open_questions", "Open stakeholder questions"),
    ("checklist", "Checklist status"),
]
SECTION_KEYS = [key for key, _ in MEMO_SECTIONS]
SECTION_TITLES = dict(MEMO_SECTIONS + EXTRA_SECTIONS)
EVIDENCE_SECTIONS = ("design", "key_diagnostic", "main_estimate")
# Sections that talk about the effect itself: their numbers must be the estimates, not any project figure.
ESTIMATE_SECTIONS = ("main_estimate", "interpretation")
SECTION_MAX_CHARS = 600
NOT_YET = "not yet estimated"

METHOD_LABELS = {
    "naive": "naive difference",
    "regression": "regression adjustment",
    "gcomp": "g-computation",
    "ipw": "IPW",
    "aipw": "doubly robust",
}
# Which estimate the memo leads with: the doubly robust one when present (N01 §13).
PRIMARY_ORDER = ("aipw", "regression", "gcomp", "ipw", "naive")
ESTIMAND_NAMES = {
    "ATE": "average treatment effect (ATE)",
    "ATT": "average treatment effect on the treated (ATT)",
    "ATC": "average treatment effect on the controls (ATC)",
}


# ---- formatting -----------------------------------------------------------------------------


def fmt_effect(value: float | None, binary: bool) -> str:
    """Effects on a binary outcome in percent points (N01's ``{:.1%}``); others in plain units."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1%}" if binary else f"{value:.2f}"


def effect_phrase(value: float | None, binary: bool) -> str:
    unit = " points" if binary else ""
    return f"{fmt_effect(value, binary)}{unit}"


def _label(column: str | None) -> str:
    return (column or "the treatment").replace("_", " ")


# ---- facts: everything the memo says, computed once from the project -----------------------


@dataclass
class MemoFacts:
    """The structured inputs shared by the deterministic memo, the AI prompt and the rubric."""

    treatment: str | None
    outcome: str | None
    estimand: str
    binary: bool
    estimated: bool
    primary: EstimateRow | None = None
    naive: EstimateRow | None = None
    rows: list[EstimateRow] = field(default_factory=list)
    true_effect: float | None = None
    n_used: int = 0
    covariates: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    set_source: str = ""
    set_valid: bool | None = None
    set_note: str = ""
    excluded: list[tuple[str, str]] = field(default_factory=list)
    diagnostic: str = ""
    sensitivity: list[str] = field(default_factory=list)
    refutations: list[str] = field(default_factory=list)
    observational: bool = True

    @property
    def direction(self) -> str:
        """negative | positive | zero-spanning | unknown — the sign the memo must agree with."""
        row = self.primary
        if row is None:
            return "unknown"
        if row.ci_low is not None and row.ci_high is not None and row.ci_low < 0 < row.ci_high:
            return "zero-spanning"
        return "negative" if row.estimate < 0 else "positive"


def outcome_is_binary(project: Project, frame: pd.DataFrame | None = None) -> bool:
    """A 0/1 outcome gets percent-point formatting. Data decide when available; else the estimates."""
    outcome = project.estimation.spec.outcome if project.estimation else project.outcome
    if frame is not None and outcome in getattr(frame, "columns", []):
        values = set(frame[outcome].dropna().unique().tolist())
        return bool(values) and values <= {0, 1}  # 0.0, 1.0, False and True compare equal
    diagnostics = project.estimation.diagnostics if project.estimation else {}
    for key in ("outcome_binary", "binary_outcome"):
        if isinstance(diagnostics.get(key), bool):
            return diagnostics[key]
    kind = str(diagnostics.get("outcome_type", "")).lower()
    if kind:
        return kind.startswith("binary")
    if project.estimation and project.estimation.estimates:
        bounds = [v for r in project.estimation.estimates for v in (r.estimate, r.ci_low, r.ci_high) if v is not None]
        return all(abs(v) <= 1 for v in bounds)
    return False


def primary_row(rows: list[EstimateRow], estimand: str) -> EstimateRow | None:
    for method in PRIMARY_ORDER:
        for row in rows:
            if row.method == method and row.estimand == estimand:
                return row
    return next((row for row in rows if row.method in PRIMARY_ORDER), rows[0] if rows else None)


def _exclusion_reason(project: Project, column: str) -> str | None:
    """Why a column is not adjustable: estimation's eligibility rule first, then the dictionary's timing."""
    reason = ineligible_reason(project, column)
    if reason:
        return reason
    entry = project.dictionary_entry(column)
    if entry is None:
        return "not in the data dictionary (timing unknown)"
    if entry.simulation_truth:
        return "simulation truth: known only inside the simulation, never a covariate"
    if entry.timing in NOT_ADJUSTABLE_TIMINGS:
        label = entry.timing_label or entry.timing.value
        return f"{label.replace('_', '-')}: adjusting for it would bias the total effect"
    if entry.timing in (Timing.unit_id, Timing.time_id):
        return "identifier, not a covariate"
    if entry.timing == Timing.unknown:
        return "timing unknown: not assumed pre-treatment"
    return None


def excluded_variables(project: Project, covariates: list[str]) -> list[tuple[str, str]]:
    """Every dictionary column left out of the adjustment set, with the reason it was left out."""
    skip = {project.treatment, project.outcome, *covariates}
    if project.estimation:
        skip |= {project.estimation.spec.treatment, project.estimation.spec.outcome}
    rows = []
    for entry in project.dictionary:
        if entry.variable in skip:
            continue
        reason = _exclusion_reason(project, entry.variable)
        if reason is None and entry.variable in project.guardrails:
            reason = "guardrail outcome: measured after treatment"
        rows.append(
            (
                entry.variable,
                reason or "pre-treatment but not needed: the adjustment set already blocks the back-door paths",
            )
        )
    return rows


def _dag_node_for(project: Project, column: str) -> str | None:
    if project.dag is None:
        return None
    for node in project.dag.nodes:
        if node.column == column or (node.column is None and node.name == column):
            return node.name
    return None


def dag_set_check(project: Project, covariates: list[str]) -> tuple[bool | None, str]:
    """Is the adjustment set valid for the project's DAG? (None when there is no DAG to check.)"""
    dag_spec = project.dag
    if dag_spec is None or not dag_spec.treatment or not dag_spec.outcome:
        return None, "no DAG with a treatment and an outcome to check against"
    nodes = [_dag_node_for(project, column) for column in covariates]
    missing = [column for column, node in zip(covariates, nodes, strict=True) if node is None]
    present = [node for node in nodes if node is not None]
    try:
        result = check_adjustment_set(dag_spec, dag_spec.treatment, dag_spec.outcome, present)
    except Exception as error:  # noqa: BLE001 - a DAG that cannot be checked is reported, not fatal
        return None, f"the DAG could not be checked: {error}"
    note = result.reason or ("blocks every back-door path" if result.valid else "leaves a back-door path open")
    if missing:
        note += f" (not in the DAG: {', '.join(missing)})"
    return bool(result.valid), note


def _find_balance(project: Project) -> tuple[str, float, int, int] | None:
    """(variable, smd, n_imbalanced, n_covariates) before adjustment, from the audit or diagnostics."""
    sources: list[list[dict[str, Any]]] = []
    if project.estimation:
        for key, value in project.estimation.diagnostics.items():
            if "balance" in key.lower() and isinstance(value, list):
                sources.append(value)
    if project.data_audit:
        for key, value in project.data_audit.tables.items():
            if ("balance" in key.lower() or "smd" in key.lower()) and isinstance(value, list):
                sources.append(value)
    for records in sources:
        found = _balance_from_records(records)
        if found:
            return found
    return None


def _balance_from_records(records: list[dict[str, Any]]) -> tuple[str, float, int, int] | None:
    pairs = []
    for record in records:
        if not isinstance(record, dict):
            continue
        name = record.get("variable") or record.get("covariate") or record.get("column")
        smd_key = next(
            (k for k in ("smd_before", "std_mean_difference", "smd", "smd_unweighted", "SMD") if k in record), None
        )
        value = record.get(smd_key) if smd_key else None
        if name is not None and isinstance(value, int | float) and not math.isnan(value):
            pairs.append((str(name), float(value)))
    if not pairs:
        return None
    name, value = max(pairs, key=lambda pair: abs(pair[1]))
    return name, value, sum(abs(v) > 0.1 for _, v in pairs), len(pairs)


def _key_diagnostic(project: Project, facts: MemoFacts) -> str:
    parts = []
    balance = _find_balance(project)
    if balance:
        name, value, imbalanced, total = balance
        parts.append(
            f"Before adjustment the treated and control groups differed most on {name} "
            f"(standardised mean difference {value:.3f}); {imbalanced} of {total} covariate columns had |SMD| above 0.1."
        )
    if facts.naive is not None and facts.primary is not None and facts.primary is not facts.naive:
        naive, best = facts.naive.estimate, facts.primary.estimate
        method = METHOD_LABELS.get(facts.primary.method, facts.primary.method)
        if (naive > 0) != (best > 0):
            comparison = "so the naive comparison points in the wrong direction"
        else:
            comparison = f"so the naive comparison {'overstates' if abs(naive) > abs(best) else 'understates'} the adjusted effect"
        parts.append(
            f"The naive difference is {effect_phrase(naive, facts.binary)} against "
            f"{effect_phrase(best, facts.binary)} for the {method} estimate, {comparison}."
        )
    return " ".join(parts) or "No balance diagnostic yet: run the data audit and the estimation."


def _number_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.3f}" if isinstance(value, float) else str(value)


SENSITIVITY_LABELS = {"evalue": "E-value", "sensemakr": "Robustness value (sensemakr)"}


def _sentences_in(value: Any, depth: int = 0) -> list[str]:
    """Every ``*sentence`` / ``summary`` string in a nested result, in order (bounded depth)."""
    if depth > 4:
        return []
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and (key.endswith("sentence") or key in ("summary", "verdict_sentence")):
                if item.strip():
                    found.append(item.strip())
            elif isinstance(item, dict | list):
                found += _sentences_in(item, depth + 1)
    elif isinstance(value, list):
        for item in value[:20]:
            found += _sentences_in(item, depth + 1)
    return found


def sensitivity_lines(sensitivity: dict[str, Any]) -> list[str]:
    """Readable sensitivity summary: the estimation module's sentences, else its headline numbers."""
    if not sensitivity:
        return []
    lines = [text for text in _sentences_in({k: v for k, v in sensitivity.items() if not isinstance(v, dict)})]
    for key, value in sensitivity.items():
        if isinstance(value, dict):
            label = SENSITIVITY_LABELS.get(key, key.replace("_", " "))
            lines += [f"{label}: {text}" for text in _sentences_in(value)]
    if lines:
        return lines
    scalars = [(k, v) for k, v in sensitivity.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    return [f"{k.replace('_', ' ')}: {_number_text(v)}" for k, v in scalars]


def refutation_lines(refutations: list[dict[str, Any]]) -> list[str]:
    lines = []
    for item in refutations:
        if not isinstance(item, dict):
            continue
        name = item.get("name") or item.get("test") or item.get("refuter") or "refutation"
        verdict = item.get("verdict") or item.get("status") or ""
        sentence = str(item.get("sentence") or item.get("message") or item.get("summary") or "")
        verdict = str(verdict).upper()
        if verdict and sentence.upper().startswith(verdict):
            sentence = sentence[len(verdict) :].lstrip(" —-:")
        lines.append(f"{name}: {verdict}" + (f" — {sentence}" if sentence else ""))
    return lines


def _is_observational(project: Project) -> bool:
    """Historical data are observational unless the card/brief says assignment was randomised."""
    card = project.estimand_card
    parts = [project.brief, *(str(value) for value in (card.model_dump().values() if card else []))]
    text = " ".join(parts).lower()
    for match in re.finditer(r"randomi[sz]ed (experiment|trial|assignment)|randomly assigned|\brct\b", text):
        before = text[max(0, match.start() - 25) : match.start()]
        if not re.search(r"\b(not|non|never|no|wasn't|without)\b|non-", before):
            return False
    return True


def memo_facts(project: Project, frame: pd.DataFrame | None = None) -> MemoFacts:
    """Collect the memo's inputs; missing stages leave their fields empty (the memo says so)."""
    card = project.estimand_card
    result = project.estimation
    estimand = result.spec.estimand if result else (estimand_kind(card.estimand if card else "") or "ATE")
    facts = MemoFacts(
        treatment=result.spec.treatment if result else project.treatment,
        outcome=result.spec.outcome if result else project.outcome,
        estimand=estimand,
        binary=outcome_is_binary(project, frame),
        estimated=bool(result and result.estimates),
        observational=_is_observational(project),
    )
    if result:
        facts.rows = list(result.estimates)
        facts.primary = primary_row(facts.rows, estimand)
        facts.naive = next((r for r in facts.rows if r.method == "naive" and r.estimand == estimand), None) or next(
            (r for r in facts.rows if r.method == "naive"), None
        )
        facts.true_effect = result.true_effect
        facts.n_used = result.n_used
        facts.covariates = list(result.spec.covariates)
        facts.overrides = list(result.spec.overrides)
        facts.sensitivity = sensitivity_lines(result.sensitivity)
        facts.refutations = refutation_lines(result.refutations)
        facts.set_valid, facts.set_note = dag_set_check(project, facts.covariates)
        facts.set_source = _set_source(project, facts.covariates)
    facts.excluded = excluded_variables(project, facts.covariates)
    facts.diagnostic = _key_diagnostic(project, facts)
    return facts


def _set_source(project: Project, covariates: list[str]) -> str:
    if project.dag is None or not project.dag.treatment or not project.dag.outcome:
        return "chosen from the dictionary's pre-treatment columns (no DAG)"
    try:
        ident = identify(project.dag, project.dag.treatment, project.dag.outcome)
        if ident.recommended_set is not None:
            recommended = adjustment_columns(project.dag, ident.recommended_set)
            if sorted(recommended) == sorted(covariates):
                return "the DAG's recommended adjustment set"
        return "chosen by the analyst (differs from the DAG's recommended set)"
    except Exception:  # noqa: BLE001 - identification problems are shown by the consistency panel
        return "chosen by the analyst (the DAG could not be identified)"


# ---- the deterministic memo -----------------------------------------------------------------


def _question(project: Project) -> str:
    card = project.estimand_card
    if card is None:
        return project.brief.strip() or "No question yet: write a brief and approve an estimand card."
    question = card.business_question.strip() or project.brief.strip()
    if card.causal_question.strip():
        question = f"{question} Causal question: {card.causal_question.strip()}"
    if project.card_status != "approved":
        question += " (estimand card not yet approved)"
    return question


def _estimand(project: Project, facts: MemoFacts) -> str:
    card = project.estimand_card
    name = ESTIMAND_NAMES.get(facts.estimand, facts.estimand)
    text = f"{name[0].upper()}{name[1:]} of {_label(facts.treatment)} on {_label(facts.outcome)}"
    if card and card.target_population.strip():
        text += f" for {card.target_population.strip()}"
    text += "."
    if card and card.time_window.strip():
        text += f" Window: {card.time_window.strip()}."
    if card and card.estimand.strip():
        text += f" Card: {card.estimand.strip()}."
    return text


def _design(project: Project, facts: MemoFacts) -> str:
    if not facts.estimated:
        return "Design not yet fixed: no estimation has been run."
    start = (
        f"Historical {_label(facts.treatment)} assignment was not randomized, so the naive comparison is not credible on its own."
        if facts.observational
        else f"{_label(facts.treatment).capitalize()} was randomly assigned."
    )
    if facts.covariates:
        start += (
            f" We adjusted for pre-treatment variables to remove observed confounding: {', '.join(facts.covariates)}."
        )
    else:
        start += " No covariates were adjusted for."
    methods = ", ".join(dict.fromkeys(METHOD_LABELS.get(r.method, r.method) for r in facts.rows))
    return f"{start} Estimators compared: {methods}; {facts.n_used} units used."


def _main_estimate(facts: MemoFacts) -> str:
    row = facts.primary
    if row is None:
        return f"Main estimate {NOT_YET}."
    method = METHOD_LABELS.get(row.method, row.method)
    scope = "" if row.estimand == "ATE" else f" {row.estimand}"  # the row's own label: a coefficient is never ATT/ATC
    what = f"{_label(facts.outcome)} risk" if facts.binary else _label(facts.outcome)
    sentence = f"The {method}{scope} estimate suggests {_label(facts.treatment)} changed {what} by {effect_phrase(row.estimate, facts.binary)}"
    if row.ci_low is not None and row.ci_high is not None:
        sentence += (
            f", with an approximate 95% interval from {fmt_effect(row.ci_low, facts.binary)} to "
            f"{effect_phrase(row.ci_high, facts.binary)}."
        )
    else:
        sentence += " (no interval available)."
    if facts.true_effect is not None:
        sentence += f" The simulation's true {facts.estimand} is {effect_phrase(facts.true_effect, facts.binary)}."
    return sentence


def _interpretation(facts: MemoFacts) -> str:
    if facts.primary is None:
        return f"Interpretation {NOT_YET}."
    verb = {"negative": "reduce", "positive": "increase"}.get(facts.direction)
    claim = (
        f"{_label(facts.treatment)} appears to {verb} {_label(facts.outcome)}"
        if verb
        else f"the interval includes zero, so the direction of the effect of {_label(facts.treatment)} is not established"
    )
    strength = (
        "The estimate should be interpreted as evidence from an observational design, not as strong as a randomized experiment."
        if facts.observational
        else "The estimate comes from randomized assignment."
    )
    return (
        "Under the assumption that the observed pre-treatment variables capture the important drivers of "
        f"{_label(facts.treatment)} assignment and that both groups overlap, {claim}. {strength}"
    )


def _limitation(project: Project, facts: MemoFacts) -> str:
    card = project.estimand_card
    threat = card.likely_threats[0].strip().rstrip(".") if card and card.likely_threats else ""
    if facts.overrides:
        return (
            f"The adjustment set includes variables that are not pre-treatment ({', '.join(facts.overrides)}), "
            "used by override: the estimate may be biased by post-treatment adjustment."
        )
    if threat:
        return f"Residual confounding may remain if {threat[0].lower()}{threat[1:]}."
    return "Residual confounding may remain if variables outside the data drove both treatment and outcome."


def _recommendation(project: Project, facts: MemoFacts) -> str:
    if facts.primary is None:
        return "No recommendation until the effect has been estimated."
    open_count = sum(q.status == "open" for q in project.open_questions)
    text = (
        "Treat the result as observational evidence: run a randomized holdout or phased rollout in the next cycle "
        "to validate the impact with stronger design evidence before scaling the decision."
        if facts.observational
        else "Use the randomized result, monitoring guardrail outcomes as the change scales."
    )
    if facts.direction == "zero-spanning":
        text = "Do not scale on this evidence alone. " + text
    if open_count:
        text += f" Resolve the {open_count} open stakeholder question(s) first."
    warned = [line for line in facts.refutations if "WARN" in line or "FAIL" in line]
    if warned:
        text += f" Investigate the {len(warned)} refutation warning(s)."
    return text


def _adjustment_text(facts: MemoFacts) -> str:
    if not facts.estimated:
        return f"Adjustment set {NOT_YET}."
    names = ", ".join(facts.covariates) or "none"
    validity = {True: "valid for the DAG", False: "NOT valid for the DAG", None: "not checked against a DAG"}[
        facts.set_valid
    ]
    text = f"{len(facts.covariates)} variable(s): {names}. Source: {facts.set_source}; {validity} ({facts.set_note})."
    if facts.overrides:
        text += f" Used by explicit override: {', '.join(facts.overrides)}."
    return text


def _bullets(lines: Iterable[str], empty: str) -> str:
    items = [f"- {line}" for line in lines]
    return "\n".join(items) if items else empty


def _checklist_text(project: Project) -> str:
    items = project.checklist
    if not items:
        return "No review checklist yet (Data audit page)."
    counts = {
        status: sum(item.status == status for item in items) for status in ("done", "in progress", "todo", "blocked")
    }
    head = f"{counts['done']} of {len(items)} checks done; {counts['in progress']} in progress, {counts['todo']} to do, {counts['blocked']} blocked."
    pending = [
        f"{item.check} ({item.status}{', ' + item.owner if item.owner else ''})"
        for item in items
        if item.status != "done"
    ]
    return head + ("\n" + _bullets(pending, "") if pending else "")


def _open_questions_text(project: Project) -> str:
    questions = project.open_questions
    if not questions:
        return "No open stakeholder questions recorded."
    open_items = [q.text for q in questions if q.status == "open"]
    head = f"{len(open_items)} of {len(questions)} question(s) still open."
    return head + ("\n" + _bullets(open_items, "") if open_items else "")


def deterministic_memo(project: Project, frame: pd.DataFrame | None = None) -> dict[str, str]:
    """N01 §13's memo plus the supporting detail, built only from project figures (never typed)."""
    facts = memo_facts(project, frame)
    return {
        "question": _question(project),
        "estimand": _estimand(project, facts),
        "design": _design(project, facts),
        "key_diagnostic": facts.diagnostic,
        "main_estimate": _main_estimate(facts),
        "interpretation": _interpretation(facts),
        "main_limitation": _limitation(project, facts),
        "recommendation": _recommendation(project, facts),
        "adjustment_set": _adjustment_text(facts),
        "excluded_variables": _bullets((f"{name}: {reason}" for name, reason in facts.excluded), "None."),
        "sensitivity": _bullets(facts.sensitivity, f"Sensitivity analysis {NOT_YET}."),
        "refutations": _bullets(facts.refutations, f"Refutations {NOT_YET}."),
        robustness.SECTION_KEY: robustness.robustness_text(project.multiverse, project),
        "open_questions": _open_questions_text(project),
        "checklist": _checklist_text(project),
    }


def with_deterministic_memo(project: Project, frame: pd.DataFrame | None = None) -> Project:
    """A copy whose stored deterministic memo is current (unchanged project if it already is)."""
    sections = deterministic_memo(project, frame)
    if sections == project.memo.deterministic:
        return project
    memo = project.memo.model_copy(update={"deterministic": sections, "updated_at": utc_now()})
    return project.model_copy(update={"memo": memo, "updated_at": utc_now()})


def memo_markdown(project: Project, sections: dict[str, str], title: str | None = None) -> str:
    """The memo as Markdown: N01's bold-lead paragraphs, then supporting detail and the estimate table."""
    source = project.data_source
    lines = [f"# {title or 'Decision memo'}: {project.name}", ""]
    stamp = f"_Generated {utc_now()}"
    if source:
        stamp += f" · data: {source.kind} `{source.name}`, {source.rows} rows, sha256 `{source.sha256[:16]}`"
    lines += [stamp + "_", ""]
    for key, heading in MEMO_SECTIONS:
        lines += [f"**{heading}.** {sections.get(key, '').strip() or '—'}", ""]
    extras = [(key, heading) for key, heading in EXTRA_SECTIONS if sections.get(key, "").strip()]
    if extras:
        lines += ["## Supporting detail", ""]
        for key, heading in extras:
            lines += [f"### {heading}", "", sections[key].strip(), ""]
    table = estimates_markdown(project)
    if table:
        lines += ["## Estimates", "", table, ""]
    return "\n".join(lines).rstrip() + "\n"


def estimates_markdown(project: Project) -> str:
    result = project.estimation
    if not result or not result.estimates:
        return ""
    binary = outcome_is_binary(project)
    rows = ["| method | estimand | estimate | 95% interval | n used |", "|---|---|---|---|---|"]
    for row in result.estimates:
        interval = (
            f"{fmt_effect(row.ci_low, binary)} to {fmt_effect(row.ci_high, binary)}"
            if row.ci_low is not None and row.ci_high is not None
            else "n/a"
        )
        rows.append(
            f"| {METHOD_LABELS.get(row.method, row.method)} | {row.estimand} | {fmt_effect(row.estimate, binary)} | {interval} | {row.n_used} |"
        )
    return "\n".join(rows)


# ---- numbers: every number in a memo must be a project figure --------------------------------

NUMBER_RE = re.compile(r"(?<![\w.])([-−+]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(\s?%)?")
POINTS_RE = re.compile(r"\s*(?:percentage[- ]points?|percent\b|pp\b)", re.IGNORECASE)
GENERIC_NUMBERS = [0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0]  # CI levels, SMD/overlap thresholds
SMALL_COUNT_LIMIT = 20


@dataclass(frozen=True)
class TextNumber:
    text: str
    value: float  # signed
    decimals: int
    percent: bool

    def matches(self, figure: float) -> bool:
        """Equal to the figure within the text's rounding; a percentage (or 'points') is the figure × 100.

        Sign is ignored here ("reduced by 4.7 points" quotes −0.047); the direction check owns the sign.
        """
        tolerance = 0.5 * 10 ** (-self.decimals) + 1e-9
        scale = 100.0 if self.percent else 1.0
        return abs(abs(self.value) - abs(figure) * scale) <= tolerance


def numbers_in(text: str) -> list[TextNumber]:
    found = []
    for match in NUMBER_RE.finditer(text or ""):
        sign, whole, decimals, percent = match.groups()
        value = float(whole.replace(",", "") + (f".{decimals}" if decimals else ""))
        if sign in ("-", "−"):
            value = -value
        percent = bool(percent) or bool(POINTS_RE.match(text, match.end()))
        found.append(TextNumber(match.group(0).strip(), value, len(decimals or ""), percent))
    return found


# Estimation diagnostics a memo may quote (model coefficients and plot data are not memo figures).
CITED_DIAGNOSTICS = {
    "n_treated",
    "n_control",
    "n_clusters",
    "control_mean",
    "treated_mean",
    "outcome_sd",
    "arm_means",
    "balance",
    "overlap",
    "weights",
    "trimming",
    "missing_handling",
}
# Plot data and timings are not figures a memo cites; leaving them out keeps invented numbers detectable.
SKIPPED_FIGURE_KEYS = {"histogram", "timings_s", "propensity_density", "missing_pattern", "design_columns"}


def _numeric_leaves(value: Any, out: list[float], cap: int = 4000) -> None:
    if len(out) >= cap:
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if not (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
            out.append(float(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            if str(key) not in SKIPPED_FIGURE_KEYS:
                _numeric_leaves(item, out, cap)
    elif isinstance(value, list | tuple):
        for item in value[:200]:
            _numeric_leaves(item, out, cap)
    elif isinstance(value, str):
        out.extend(_figure_of(number) for number in numbers_in(value))


def project_texts(project: Project) -> list[str]:
    """The analyst-approved texts whose numbers a memo may quote (card, brief, questions, checklist)."""
    texts = [project.brief]
    if project.estimand_card:
        texts.append(json.dumps(project.estimand_card.model_dump()))
    texts += [q.text + " " + q.answer for q in project.open_questions]
    texts += [f"{i.check} {i.evidence} {i.notes}" for i in project.checklist]
    texts += [entry.description for entry in project.dictionary]
    return texts


@dataclass
class Figures:
    """Figures a memo may cite. ``shares`` may also be quoted as percentages (effects, risks, shares,
    sensitivity values); ``plain`` only as written (counts, SMDs, means, E-values…). Keeping SMDs and
    quantiles out of the percent pool is what makes an invented "−6.1 %" detectable."""

    plain: list[float] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    estimates: list[float] = field(default_factory=list)  # the only figures the main-estimate section may cite

    def add(self, values: Iterable[float], share: bool = False) -> None:
        values = list(values)
        self.plain += values
        if share:
            self.shares += values

    def cites(self, number: TextNumber, section: str | None = None) -> bool:
        pool = self.estimates if section in ESTIMATE_SECTIONS else self.shares if number.percent else self.plain
        return any(number.matches(figure) for figure in pool)


def _share_leaves(value: Any, out: list[float], share: bool = False) -> None:
    """Numeric leaves under keys that name a share/proportion (``share_clipped``, ``ess_share``…)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key) not in SKIPPED_FIGURE_KEYS:
                _share_leaves(item, out, share or "share" in str(key) or str(key).endswith("_mean"))
    elif isinstance(value, list | tuple):
        for item in value[:200]:
            _share_leaves(item, out, share)
    elif share and isinstance(value, int | float) and not isinstance(value, bool):
        out.append(float(value))


def project_figures(project: Project) -> Figures:
    """All figures a memo may cite: estimates, diagnostics, sensitivity, refutations, balance, texts."""
    figures = Figures()
    figures.add(GENERIC_NUMBERS, share=True)
    figures.estimates += GENERIC_NUMBERS
    result = project.estimation
    if result:
        for row in result.estimates:
            values = [v for v in (row.estimate, row.std_error, row.ci_low, row.ci_high) if v is not None]
            figures.add(values, share=True)
            figures.add([row.n_used])
            figures.estimates += [*values, row.n_used]
        figures.add([result.n_used, *result.dropped.values()])
        figures.estimates.append(result.n_used)
        if result.true_effect is not None:
            figures.add([result.true_effect], share=True)
            figures.estimates.append(result.true_effect)
        for part in (result.sensitivity, result.refutations, list(result.spec.clip)):
            leaves: list[float] = []
            _numeric_leaves(part, leaves)
            figures.add(leaves, share=True)
        cited = {key: value for key, value in result.diagnostics.items() if key in CITED_DIAGNOSTICS}
        leaves = []
        _numeric_leaves([cited, result.warnings], leaves)
        figures.add(leaves)
        shares: list[float] = []
        _share_leaves(cited, shares)
        figures.add(shares, share=True)
    if project.data_audit:
        for name, records in project.data_audit.tables.items():
            if any(word in name.lower() for word in ("balance", "smd", "overlap", "schema")):
                leaves = []
                _numeric_leaves(records, leaves)
                figures.add(leaves)
                shares = []
                _share_leaves(records, shares)
                figures.add(shares, share=True)
        leaves = []
        _numeric_leaves(project.data_audit.warnings, leaves)
        figures.add(leaves)
    if project.data_source:
        figures.add([project.data_source.rows, len(project.data_source.columns)])
    for text in project_texts(project):
        for number in numbers_in(text):
            figures.add([_figure_of(number)], share=number.percent)
    counts, curve_values = robustness.figures(project.multiverse)  # the specification curve's own figures
    figures.add(counts)
    figures.add(curve_values, share=True)
    figures.estimates += counts + curve_values
    return figures


def _figure_of(number: TextNumber) -> float:
    """A number written in project text, on the figure scale (a percentage becomes a proportion)."""
    return number.value / 100.0 if number.percent else number.value


def unmatched_numbers(text: str, figures: Figures, section: str | None = None) -> list[str]:
    """Numbers in ``text`` that match no project figure within rounding (small bare counts allowed).

    In the main-estimate and interpretation sections only the estimates themselves (and n) count as figures.
    """
    bad = []
    for number in numbers_in(text):
        small_count = number.decimals == 0 and not number.percent and abs(number.value) <= SMALL_COUNT_LIMIT
        if small_count or figures.cites(number, section):
            continue
        bad.append(number.text)
    return bad


# ---- the AI task ----------------------------------------------------------------------------


class MemoDraft(BaseModel):
    """The model's memo: N01 §13's eight sections, each bounded so constrained decoding terminates."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=SECTION_MAX_CHARS, description="The decision question in one sentence.")
    estimand: str = Field(max_length=SECTION_MAX_CHARS, description="Name the estimand (ATE/ATT) and population.")
    design: str = Field(max_length=SECTION_MAX_CHARS, description="Data, assignment, adjustment set.")
    key_diagnostic: str = Field(max_length=SECTION_MAX_CHARS, description="The diagnostic that matters most.")
    main_estimate: str = Field(max_length=SECTION_MAX_CHARS, description="The primary estimate and interval, copied.")
    interpretation: str = Field(max_length=SECTION_MAX_CHARS, description="Hedged reading, stating the assumptions.")
    main_limitation: str = Field(max_length=SECTION_MAX_CHARS, description="The most important limitation.")
    recommendation: str = Field(max_length=SECTION_MAX_CHARS, description="Decision and validation step; no numbers.")


MEMO_SYSTEM_PROMPT = """You draft decision memos for causal analyses. You do not analyse data.
Rules:
- Use ONLY the numbers given in the inputs, copied exactly as written. Never compute or invent a number.
- Name the estimand (for example ATE or ATT) in the estimand section.
- State at least one assumption in the interpretation (for example "under the assumption that ...").
- State the main limitation honestly.
- Keep evidence and recommendation apart: evidence sections report; the recommendation section decides and contains no estimates.
- Never overclaim: do not write "proves", "definitely", "guarantees" or an unhedged "caused". Use "suggests" or "appears to".
- The direction you describe must agree with the sign of the main estimate.
- For an observational design, recommend validating with a randomized holdout, experiment or phased rollout.
Return only JSON with the keys: question, estimand, design, key_diagnostic, main_estimate, interpretation,
main_limitation, recommendation. Each value is plain text of at most 600 characters."""


def build_memo_inputs(project: Project, frame: pd.DataFrame | None = None) -> dict[str, Any]:
    """The memo's structured inputs: pre-formatted numbers so the model copies rather than computes."""
    facts = memo_facts(project, frame)
    card = project.estimand_card
    deterministic = deterministic_memo(project, frame)
    estimates = [
        {
            "method": METHOD_LABELS.get(r.method, r.method),
            "estimand": r.estimand,
            "estimate": effect_phrase(r.estimate, facts.binary),
            "interval_95": (
                f"{fmt_effect(r.ci_low, facts.binary)} to {effect_phrase(r.ci_high, facts.binary)}"
                if r.ci_low is not None and r.ci_high is not None
                else "n/a"
            ),
        }
        for r in facts.rows
    ]
    return {
        "question": card.business_question if card else project.brief,
        "causal_question": card.causal_question if card else "",
        "estimand": facts.estimand,
        "estimand_name": ESTIMAND_NAMES.get(facts.estimand, facts.estimand),
        "target_population": card.target_population if card else "",
        "treatment": facts.treatment,
        "outcome": facts.outcome,
        "outcome_type": "binary (effects in percentage points)" if facts.binary else "continuous (outcome units)",
        "design": "observational (treatment not randomized)" if facts.observational else "randomized",
        "adjustment_set": facts.covariates,
        "excluded_variables": [name for name, _ in facts.excluded],
        "key_diagnostic": facts.diagnostic,
        "estimates": estimates,
        "main_estimate_sentence": deterministic["main_estimate"],
        "direction_of_main_estimate": facts.direction,
        "assumptions": list(card.required_assumptions[:3]) if card else [],
        "threats": list(card.likely_threats[:3]) if card else [],
        "sensitivity": facts.sensitivity[:2],
        "refutations": [line.split(" — ")[0] for line in facts.refutations],
        "open_questions": [q.text for q in project.open_questions if q.status == "open"][:3],
        **robustness.memo_inputs(project.multiverse, project),
    }


def build_memo_prompt(inputs: dict[str, Any]) -> str:
    return (
        "Draft the decision memo from these structured inputs. Copy numbers exactly; do not add any.\n\n"
        f"INPUTS:\n{json.dumps(inputs, indent=1, ensure_ascii=False)}\n\n"
        "Return the JSON memo now."
    )


def draft_sections(parsed: dict[str, Any] | None) -> dict[str, str]:
    """The eight sections of a parsed draft as clean strings (missing ones empty)."""
    parsed = parsed or {}
    return {key: str(parsed.get(key) or "").strip() for key in SECTION_KEYS}


# ---- the rubric -----------------------------------------------------------------------------

OVERCLAIM_RE = re.compile(
    r"\b(prove[sdn]?|proving|proof|definitive(?:ly)?|definitely|guarantee[sd]?|guaranteeing|certainly|undeniabl\w*|"
    r"conclusive(?:ly)?|unquestionabl\w*|beyond (?:any )?doubt|without (?:a )?doubt)\b",
    re.IGNORECASE,
)
NEGATION_RE = re.compile(r"\b(not|no|never|cannot|can't|doesn't|don't|isn't|without)\b[\w\s]{0,20}$", re.IGNORECASE)
CAUSED_RE = re.compile(r"\bcaus(?:ed|es|ing)\b", re.IGNORECASE)
HEDGE_RE = re.compile(
    r"\b(suggest\w*|appear\w*|likely|may|might|could|estimat\w*|assum\w*|if|under|consistent with|evidence|probabl\w*)\b",
    re.IGNORECASE,
)
ASSUMPTION_RE = re.compile(
    r"\bassum\w*|\bunder the (?:condition|premise)|\bprovided that\b|\bno unmeasured\b|\bunconfounded\w*|\bignorab\w*|\bpositivity\b",
    re.IGNORECASE,
)
RECOMMEND_RE = re.compile(
    r"\b(recommend\w*|we should|should (?:continue|expand|scale|stop|launch|invest|roll|keep|adopt)|scale up|"
    r"continue the program|roll (?:it )?out to|go ahead)\b",
    re.IGNORECASE,
)
FACT_RE = re.compile(
    r"\b(the (?:data|estimate|analysis|results?) (?:shows?|proves?|confirms?|demonstrates?))\b", re.IGNORECASE
)
VALIDATION_RE = re.compile(
    r"hold-?out|experiment|randomi[sz]\w*|\bA/B\b|\bRCT\b|(?:phased|staggered|gradual) roll-?out|\bpilot\b",
    re.IGNORECASE,
)
UNCERTAIN_RE = re.compile(
    r"includes? zero|inconclusive|not (?:statistically )?significant|uncertain|could be zero|no clear|not established",
    re.IGNORECASE,
)
DOWN_RE = re.compile(
    r"\b(reduc\w*|lower\w*|decreas\w*|declin\w*|fewer|cut|cuts|drops?|dropped|fall|falls|fell|shrink\w*)\b",
    re.IGNORECASE,
)
UP_RE = re.compile(
    r"\b(increas\w*|rais\w*|higher|grow\w*|grew|rise|rises|rose|worsen\w*|boost\w*|inflat\w*)\b", re.IGNORECASE
)
ESTIMAND_PATTERNS = {
    "ATE": r"\bATE\b|average (?:treatment|causal) effect(?! on the (?:treated|controls|untreated))",
    "ATT": r"\bATT\b|(?:effect|impact) on the treated|among (?:the )?treated",
    "ATC": r"\bATC\b|(?:effect|impact) on the (?:controls|untreated)",
}
MEMO_RUBRIC = (
    "numbers_match_project",
    "estimand_named",
    "assumption_stated",
    "limitation_stated",
    "evidence_apart_from_recommendation",
    "no_overclaiming",
    "direction_matches_estimate",
    "recommends_validation",
)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;])\s+|\n+", text or "") if s.strip()]


def _overclaims(text: str) -> list[str]:
    found = []
    for match in OVERCLAIM_RE.finditer(text):
        if not NEGATION_RE.search(text[max(0, match.start() - 30) : match.start()]):
            found.append(match.group(0))
    for sentence in _sentences(text):
        for match in CAUSED_RE.finditer(sentence):
            if not HEDGE_RE.search(sentence) and not NEGATION_RE.search(
                sentence[max(0, match.start() - 30) : match.start()]
            ):
                found.append(f"unhedged '{match.group(0)}'")
    return found


def _direction_counts(memo: dict[str, str], primary: EstimateRow) -> tuple[int, int]:
    """(down, up) directional claims about the main effect in the main-estimate and interpretation."""
    down = up = 0
    for key in ("main_estimate", "interpretation"):
        for sentence in _sentences(memo.get(key, "")):
            if re.search(r"\bnaive\b|before adjustment|unadjusted", sentence, re.IGNORECASE):
                continue
            down += len(DOWN_RE.findall(sentence))
            up += len(UP_RE.findall(sentence))
            for number in numbers_in(sentence):
                if number.matches(primary.estimate) and number.text[:1] in "-−+":
                    down += number.value < 0
                    up += number.value > 0
    return down, up


def _check_direction(memo: dict[str, str], facts: MemoFacts) -> RubricCheck:
    name = "direction_matches_estimate"
    if facts.primary is None:
        return check(name, True, "no estimate yet: nothing to agree with")
    down, up = _direction_counts(memo, facts.primary)
    text = " ".join(memo.get(k, "") for k in ("main_estimate", "interpretation"))
    if facts.direction == "zero-spanning":
        if UNCERTAIN_RE.search(text):
            return check(name, True, "the interval includes zero and the memo says the direction is uncertain")
        claims = down + up
        return check(
            name, claims == 0, f"the interval includes zero but the memo claims a direction ({down} down, {up} up)"
        )
    expected_down = facts.direction == "negative"
    agree, disagree = (down, up) if expected_down else (up, down)
    sign = "negative" if expected_down else "positive"
    if disagree and disagree >= agree:
        return check(
            name, False, f"the estimate is {sign} but the memo describes the opposite direction ({down} down, {up} up)"
        )
    return check(name, True, f"the estimate is {sign}; the memo's direction agrees ({down} down, {up} up)")


def score_memo(memo: dict[str, Any], project: Project, frame: pd.DataFrame | None = None) -> list[RubricCheck]:
    """Audit a memo (AI draft, analyst edit or the deterministic one) against the project's figures."""
    sections = {key: str(value or "") for key, value in (memo or {}).items()}
    facts = memo_facts(project, frame)
    full = "\n".join(sections.get(key, "") for key in SECTION_KEYS)
    checks = [_check_numbers(sections, project)]

    pattern = ESTIMAND_PATTERNS.get(facts.estimand, ESTIMAND_PATTERNS["ATE"])
    named = re.search(pattern, full, re.IGNORECASE)
    checks.append(
        check(
            "estimand_named",
            bool(named),
            f"names the {facts.estimand} ('{named.group(0)}')"
            if named
            else f"the estimand ({facts.estimand}) is not named",
        )
    )
    assumption = ASSUMPTION_RE.search(full)
    checks.append(
        check(
            "assumption_stated",
            bool(assumption),
            f"states an assumption ('{assumption.group(0)}')" if assumption else "no assumption is stated",
        )
    )
    limitation = sections.get("main_limitation", "").strip()
    substantive = len(limitation.split()) >= 5 and not re.fullmatch(
        r"(none|n/?a|no limitations?\.?)", limitation, re.IGNORECASE
    )
    checks.append(
        check(
            "limitation_stated",
            substantive,
            "states a limitation" if substantive else "the main limitation is missing or empty",
        )
    )
    checks.append(_check_separation(sections, project))
    claims = _overclaims(full)
    checks.append(
        check(
            "no_overclaiming",
            not claims,
            "hedged language throughout" if not claims else f"overclaims: {', '.join(dict.fromkeys(claims))}",
        )
    )
    checks.append(_check_direction(sections, facts))
    if facts.observational:
        validation = VALIDATION_RE.search(sections.get("recommendation", ""))
        checks.append(
            check(
                "recommends_validation",
                bool(validation),
                f"recommends validation ('{validation.group(0)}')"
                if validation
                else "observational design, but the recommendation does not propose a holdout, experiment or phased rollout",
            )
        )
    else:
        checks.append(check("recommends_validation", True, "randomized design: no extra validation required"))
    robustness_check = robustness.check_memo(sections, project.multiverse)  # only with a curve or a claim
    if robustness_check is not None:
        checks.append(robustness_check)
    return checks


def _check_numbers(sections: dict[str, str], project: Project) -> RubricCheck:
    figures = project_figures(project)
    bad = []
    for key, text in sections.items():
        kind = "not an estimate" if key in ESTIMATE_SECTIONS else "not a project figure"
        bad += [
            f"{number} ({SECTION_TITLES.get(key, key)}: {kind})" for number in unmatched_numbers(text, figures, key)
        ]
    total = sum(len(numbers_in(text)) for text in sections.values())
    if bad:
        return check("numbers_match_project", False, f"numbers that match nothing in the project: {', '.join(bad[:6])}")
    return check("numbers_match_project", True, f"all {total} number(s) match project figures within rounding")


def _check_separation(sections: dict[str, str], project: Project) -> RubricCheck:
    problems = []
    recommending = [SECTION_TITLES[k] for k in EVIDENCE_SECTIONS if RECOMMEND_RE.search(sections.get(k, ""))]
    if recommending:
        problems.append(f"evidence sections recommend ({', '.join(recommending)})")
    recommendation = sections.get("recommendation", "")
    estimates = [
        v
        for r in (project.estimation.estimates if project.estimation else [])
        for v in (r.estimate, r.ci_low, r.ci_high)
        if v is not None
    ]
    restated = [
        n.text for n in numbers_in(recommendation) if (n.decimals or n.percent) and any(n.matches(v) for v in estimates)
    ]
    if restated:
        problems.append(f"the recommendation restates estimates ({', '.join(restated)})")
    fact = FACT_RE.search(recommendation)
    if fact:
        problems.append(f"the recommendation states evidence as fact ('{fact.group(0)}')")
    if problems:
        return check("evidence_apart_from_recommendation", False, "; ".join(problems))
    return check("evidence_apart_from_recommendation", True, "evidence sections report; the recommendation decides")


MEMO_TASK = StructuredTask(
    name="memo",
    artifact="memo",
    system_prompt=MEMO_SYSTEM_PROMPT,
    build_user_prompt=build_memo_prompt,
    schema=MemoDraft,
    field_aliases={
        "main_question": "question",
        "decision_question": "question",
        "key_diagnostics": "key_diagnostic",
        "diagnostic": "key_diagnostic",
        "diagnostics": "key_diagnostic",
        "estimate": "main_estimate",
        "main_estimates": "main_estimate",
        "limitation": "main_limitation",
        "limitations": "main_limitation",
        "recommendations": "recommendation",
        "interpretations": "interpretation",
    },
    defaults={},
    build_inputs=build_memo_inputs,
    score=score_memo,
)
