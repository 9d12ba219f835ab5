"""The deterministic memo: every sentence from the project facts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from causal_core.memo.facts import MemoFacts, memo_facts, outcome_is_binary
from causal_core.memo.formatting import _label, effect_phrase, fmt_effect
from causal_core.memo.sections import ESTIMAND_NAMES, EXTRA_SECTIONS, MEMO_SECTIONS, METHOD_LABELS, NOT_YET
from causal_core.multiverse import memo_text as robustness
from causal_core.project import (
    Project,
    utc_now,
)
from causal_core.staleness import mark_out_of_date

if TYPE_CHECKING:
    import pandas as pd

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
    return mark_out_of_date(project, {  # out-of-date estimates are not presented as current (causal_core/staleness)
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
    })


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
