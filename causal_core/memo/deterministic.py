"""The deterministic memo: every sentence from the project facts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from causal_core.display import dictionary_unit, outcome_is_binary
from causal_core.memo.facts import MemoFacts, memo_facts
from causal_core.memo.formatting import _label, effect_phrase, fmt_effect, plural, range_phrase
from causal_core.memo.markup import escape_prose, names, to_markdown
from causal_core.memo.sections import ESTIMAND_NAMES, EXTRA_SECTIONS, MEMO_SECTIONS, METHOD_LABELS, NOT_YET
from causal_core.multiverse import memo_text as robustness
from causal_core.project import (
    EstimateRow,
    Project,
    utc_now,
)
from causal_core.safe_text import code_span, escape_markdown
from causal_core.staleness import mark_out_of_date, stale
from causal_core.version import version_label

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
    if not facts.treatment or not facts.outcome:
        return (
            f"{name[0].upper()}{name[1:]}, once the treatment and the outcome are chosen (Question page: approve "
            "an estimand card, or set the roles on the Overview page)."
        )
    text = f"{name[0].upper()}{name[1:]} of {_label(facts.treatment)} on {_label(facts.outcome, 'the outcome')}"
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
        f"Historical assignment of {_label(facts.treatment)} was not randomized, so the naive comparison is not "
        "credible on its own."
        if facts.observational
        else f"The treatment {_label(facts.treatment)} was randomly assigned."
    )
    if facts.covariates:
        start += (
            f" We adjusted for {plural(len(facts.covariates), 'pre-treatment variable')} to remove observed "
            f"confounding: {names(facts.covariates)}."
        )
    else:
        start += " No covariates were adjusted for."
    methods = ", ".join(dict.fromkeys(METHOD_LABELS.get(r.method, r.method) for r in facts.rows))
    return f"{start} Estimators compared: {methods}; {plural(facts.n_used, 'unit')} used."


def _main_estimate(facts: MemoFacts) -> str:
    row = facts.primary
    if row is None:
        return f"Main estimate {NOT_YET}."
    method = METHOD_LABELS.get(row.method, row.method)
    scope = "" if row.estimand == "ATE" else f" {row.estimand}"  # the row's own label: a coefficient is never ATT/ATC
    what = f"{_label(facts.outcome, 'the outcome')} risk" if facts.binary else _label(facts.outcome, "the outcome")
    # A row with its own label (no adjustment, a constant-effect coefficient) is named by it, verbatim.
    subject = f"The estimate labelled “{row.label}”" if row.label else f"The {method}{scope} estimate"
    change = effect_phrase(row.estimate, facts.binary, facts.unit)
    sentence = f"{subject} suggests {_label(facts.treatment)} changed {what} by {change}"
    if row.ci_low is not None and row.ci_high is not None:
        sentence += (
            ", with an approximate 95% interval from "
            f"{range_phrase(row.ci_low, row.ci_high, facts.binary, facts.unit)}."
        )
    else:
        sentence += " (no interval available)."
    if facts.true_effect is not None:
        truth = effect_phrase(facts.true_effect, facts.binary, facts.unit)
        sentence += f" The simulation's true {facts.estimand} is {truth}."
    return sentence


def _interpretation(facts: MemoFacts) -> str:
    if facts.primary is None:
        return f"Interpretation {NOT_YET}."
    verb = {"negative": "reduce", "positive": "increase"}.get(facts.direction)
    claim = (
        f"{_label(facts.treatment)} appears to {verb} {_label(facts.outcome, 'the outcome')}"
        if verb
        else f"the interval includes zero, so the direction of the effect of {_label(facts.treatment)} is not established"
    )
    strength = (
        "The estimate should be interpreted as evidence from an observational design, not as strong as a randomized experiment."
        if facts.observational
        else "The estimate comes from randomized assignment."
    )
    caveat = (
        " The estimators disagree beyond their intervals, so no single number here should be read as the effect."
        if facts.disagreements
        else ""
    )
    return (
        "Under the assumption that the observed pre-treatment variables capture the important drivers of "
        f"assignment to {_label(facts.treatment)} and that both groups overlap, {claim}. {strength}{caveat}"
    )


def _limitation(project: Project, facts: MemoFacts) -> str:
    card = project.estimand_card
    threat = card.likely_threats[0].strip().rstrip(".") if card and card.likely_threats else ""
    if facts.overrides:
        return (
            f"The adjustment set includes variables that are not pre-treatment ({names(facts.overrides)}), "
            "used by override: the estimate may be biased by post-treatment adjustment."
        )
    if facts.disagreements:
        return (
            "The estimators disagree beyond their 95% intervals, which points to model misspecification or poor "
            "overlap; residual confounding may also remain."
        )
    if threat:  # the card's words, never re-cased ("CPS controls" stays "CPS controls")
        joiner = " if " if threat[:1].islower() else ": "
        return f"Residual confounding may remain{joiner}{threat}."
    return "Residual confounding may remain if variables outside the data drove both treatment and outcome."


def _recommendation(project: Project, facts: MemoFacts) -> str:
    if facts.primary is None:
        return "No recommendation until the effect has been estimated."
    open_count = sum(q.status == "open" for q in project.open_questions)
    text = _validation_step(facts) if facts.observational else (
        "Use the randomized result, monitoring guardrail outcomes as the change scales."
    )
    if facts.disagreements:
        text = "Do not act on a single estimate: the estimators disagree beyond their intervals. " + text
    elif facts.direction == "zero-spanning":
        text = "Do not scale on this evidence alone. " + text
    if open_count:
        text += f" Resolve the {plural(open_count, 'open stakeholder question')} first."
    warned = [line for line in facts.refutations if "WARN" in line or "FAIL" in line]
    if warned:
        text += f" Investigate the {plural(len(warned), 'refutation warning')}."
    return text


def _validation_step(facts: MemoFacts) -> str:
    """The next step follows the design: an experiment only where the organisation assigns the treatment."""
    if facts.controllable is True:
        return (
            "Treat the result as observational evidence: the organisation controls this program, so run a "
            "randomized holdout or phased rollout in the next cycle to validate the impact before scaling the "
            "decision."
        )
    if facts.controllable is False:
        return (
            "Treat the result as observational evidence: the organisation does not assign this treatment, so an "
            "experiment is not available; strengthen the evidence with better data on the confounders or a "
            "quasi-experimental design (a natural experiment, difference-in-differences or an instrument) before "
            "relying on it."
        )
    return (
        "Treat the result as observational evidence: if the organisation controls who receives the treatment, run "
        "a randomized holdout or phased rollout before scaling the decision; if it does not, seek better data on "
        "the confounders or a quasi-experimental design."
    )


def _adjustment_text(facts: MemoFacts) -> str:
    if not facts.estimated:
        return f"Adjustment set {NOT_YET}."
    validity = {True: "valid for the DAG", False: "NOT valid for the DAG", None: "not checked against a DAG"}[
        facts.set_valid
    ]
    text = (
        f"{plural(len(facts.covariates), 'variable')}: {names(facts.covariates)}. Source: {facts.set_source}; "
        f"{validity} ({facts.set_note})."
    )
    if facts.overrides:
        text += f" Used by explicit override: {names(facts.overrides)}."
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
    head = f"{counts['done']} of {plural(len(items), 'check')} done; {counts['in progress']} in progress, {counts['todo']} to do, {counts['blocked']} blocked."
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
    head = f"{len(open_items)} of {plural(len(questions), 'question')} still open."
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
        "warnings": _bullets(facts.warnings, "None raised."),
        "excluded_variables": _bullets((f"{names([name])}: {reason}" for name, reason in facts.excluded), "None."),
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
    """The memo as Markdown: N01's bold-lead paragraphs, then supporting detail and the estimate table.

    Every piece of user or model text is escaped (names stay code spans), so the export holds no live
    tag, image or link that came from a brief, a card, a column name or a draft.
    """
    source = project.data_source
    lines = [f"# {title or 'Decision memo'}: {escape_markdown(project.name)}", ""]  # the title is ours
    stamp = f"_Generated {utc_now()}"
    if source:
        stamp += (
            f" · data: {escape_markdown(source.kind)} {code_span(source.name)}, {source.rows} rows, "
            f"sha256 {code_span(source.sha256[:16])}"
        )
    lines += [stamp + "_", ""]
    for key, heading in MEMO_SECTIONS:
        body = " ".join(to_markdown(sections.get(key, "")).splitlines()).strip()
        lines += [f"**{heading}.** {body or '—'}", ""]
    extras = [(key, heading) for key, heading in EXTRA_SECTIONS if sections.get(key, "").strip()]
    if extras:
        lines += ["## Supporting detail", ""]
        for key, heading in extras:
            lines += [f"### {heading}", "", to_markdown(sections[key]) or "—", ""]
    table = estimates_markdown(project)
    if table:
        out_of_date = stale(project, "estimation")  # the numbers stay, labelled, never as the current answer
        heading = "## Estimates (out of date)" if out_of_date else "## Estimates"
        lines += [heading, "", *([f"_{out_of_date.sentence}_", ""] if out_of_date else []), table, ""]
    lines += ["---", "", f"_{version_label()}_"]  # which code produced these numbers (our text, no user input)
    return "\n".join(lines).rstrip() + "\n"


def row_label(row: EstimateRow) -> str:
    """The row's name with its SE type, so a bootstrap row never reads as a second, unlabelled IPW."""
    base = row.label or METHOD_LABELS.get(row.method, row.method)
    described = row.se_method if row.se_method and row.se_method != "none" else ""  # estimation's own words
    kind = described or row.se_type or ("no SE" if row.std_error is None else "")
    return f"{base} · {kind}" if kind else base


def estimates_markdown(project: Project) -> str:
    result = project.estimation
    if not result or not result.estimates:
        return ""
    binary = outcome_is_binary(project)
    unit = dictionary_unit(project.dictionary, result.spec.outcome, binary)
    rows = ["| method · SE type | estimand | estimate | 95% interval | n used |", "|---|---|---|---|---|"]
    for row in result.estimates:
        interval = (
            range_phrase(row.ci_low, row.ci_high, binary, unit).replace(" percentage points", " pp")
            if row.ci_low is not None and row.ci_high is not None
            else "n/a"
        )
        rows.append(
            f"| {escape_prose(row_label(row))} | {escape_prose(row.estimand)} | {fmt_effect(row.estimate, binary, unit)} "
            f"| {interval} | {row.n_used} |"
        )
    return "\n".join(rows)
