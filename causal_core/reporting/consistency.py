"""Cross-artifact consistency: do the card, DAG, estimation and memo describe the same analysis?

Each stage is checked on its own page; this panel catches the drift *between* them (a DAG edited
after estimation, a memo written before re-estimating, an ATT card estimated as an ATE). Red means
the artifacts contradict each other; amber means something is missing or needs a human look.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from causal_core.dag import node_roles
from causal_core.display import project_unit
from causal_core.memo import (
    SECTION_KEYS,
    dag_set_check,
    deterministic_memo,
    estimator_disagreements,
    memo_facts,
    names,
    numbers_in,
    outcome_is_binary,
    project_figures,
    unmatched_numbers,
)
from causal_core.project import NOT_ADJUSTABLE_TIMINGS, Project, Timing
from causal_core.question import estimand_kind
from causal_core.safe_text import clean_text

Status = Literal["green", "amber", "red"]
STATUS_ICON = {"green": "OK", "amber": "CHECK", "red": "CONFLICT"}  # plain words: no emoji font on a fresh machine
_RANK = {"green": 0, "amber": 1, "red": 2}


class ConsistencyItem(BaseModel):
    check: str
    status: Status
    detail: str


def _item(check: str, status: Status, detail: str) -> ConsistencyItem:
    return ConsistencyItem(check=check, status=status, detail=detail)


def _dag_column(project: Project, node_name: str | None) -> str | None:
    if project.dag is None or node_name is None:
        return None
    node = next((n for n in project.dag.nodes if n.name == node_name), None)
    if node is None:
        return node_name
    return node.column or node.name


def check_roles(project: Project) -> ConsistencyItem:
    """Card (approved roles), DAG and estimation must name the same treatment and outcome columns."""
    name = "Treatment and outcome agree (card = DAG = estimation)"
    sources: dict[str, tuple[str | None, str | None]] = {}
    if project.card_status == "approved":
        sources["card"] = (project.treatment, project.outcome)
    if project.dag is not None and (project.dag.treatment or project.dag.outcome):
        sources["DAG"] = (_dag_column(project, project.dag.treatment), _dag_column(project, project.dag.outcome))
    if project.estimation is not None:
        sources["estimation"] = (project.estimation.spec.treatment, project.estimation.spec.outcome)
    conflicts = []
    for index, role in enumerate(("treatment", "outcome")):
        values = {stage: pair[index] for stage, pair in sources.items() if pair[index]}
        if len(set(values.values())) > 1:
            conflicts.append(f"{role}: " + ", ".join(f"{stage} '{value}'" for stage, value in values.items()))
    if conflicts:
        return _item(name, "red", "; ".join(conflicts))
    missing = [stage for stage in ("card", "DAG", "estimation") if stage not in sources]
    if missing:
        return _item(name, "amber", f"not yet available: {', '.join(missing)} (nothing contradicts so far)")
    treatment, outcome = sources["estimation"]
    return _item(name, "green", f"all three use treatment '{treatment}' and outcome '{outcome}'")


def check_adjustment_valid(project: Project) -> ConsistencyItem:
    name = "Adjustment set used is valid for the DAG"
    if project.estimation is None:
        return _item(name, "amber", "no estimation yet")
    valid, note = dag_set_check(project, list(project.estimation.spec.covariates))
    if valid is None:
        return _item(name, "amber", note)
    covariates = names(project.estimation.spec.covariates, empty="no covariates")  # code spans, as in the memo
    return _item(name, "green" if valid else "red", f"{covariates}: {note}")


def _logged_override(project: Project, column: str) -> bool:
    if project.estimation and column in project.estimation.spec.overrides:
        return True
    return any(
        "override" in f"{edit.field} {edit.note}".lower() and column in f"{edit.before} {edit.after} {edit.note}"
        for edit in project.edit_log
    )


def _dag_downstream(project: Project) -> set[str]:
    """Columns the DAG places downstream of the treatment (mediators, descendants)."""
    if project.dag is None:
        return set()
    columns = set()
    for node, node_role_list in node_roles(project.dag).items():  # never raises, cycles included (test_dag_roles_total)
        if {"mediator", "descendant_of_treatment"} & set(node_role_list):
            columns.add(_dag_column(project, node) or node)
    return columns


def check_post_treatment(project: Project) -> ConsistencyItem:
    name = "No post-treatment variable adjusted for without a logged override"
    if project.estimation is None:
        return _item(name, "amber", "no estimation yet")
    downstream = _dag_downstream(project)
    unlogged, overridden, unknown = [], [], []
    for column in project.estimation.spec.covariates:
        entry = project.dictionary_entry(column)
        bad = column in downstream or (
            entry is not None and (entry.simulation_truth or entry.timing in NOT_ADJUSTABLE_TIMINGS)
        )
        if bad:
            (overridden if _logged_override(project, column) else unlogged).append(column)
        elif entry is None or entry.timing == Timing.unknown:
            unknown.append(column)
    if unlogged:
        return _item(
            name,
            "red",
            f"post-treatment/outcome/future variable(s) adjusted for with no override: {', '.join(unlogged)}",
        )
    if overridden:
        return _item(name, "amber", f"used by logged override (flagged in the memo): {', '.join(overridden)}")
    if unknown:
        return _item(name, "amber", f"timing unknown (not confirmed pre-treatment): {', '.join(unknown)}")
    return _item(name, "green", f"all {len(project.estimation.spec.covariates)} covariate(s) are pre-treatment")


def check_estimand(project: Project) -> ConsistencyItem:
    name = "The card's estimand is the one estimated"
    card = project.estimand_card
    if card is None:
        return _item(name, "amber", "no estimand card yet")
    wanted = estimand_kind(card.estimand) or estimand_kind(card.causal_question)
    if project.estimation is None:
        return _item(name, "amber", f"card asks for {wanted or 'an unrecognised estimand'}; nothing estimated yet")
    estimated = project.estimation.spec.estimand
    if wanted is None:
        return _item(
            name, "amber", f"the card's estimand ('{card.estimand}') does not say ATE or ATT; estimated {estimated}"
        )
    if wanted != estimated:
        return _item(name, "red", f"the card asks for the {wanted} but the estimation targets the {estimated}")
    return _item(name, "green", f"card and estimation both target the {estimated}")


def check_estimators_agree(project: Project) -> ConsistencyItem:
    """Adjusted estimators (regression, g-computation, IPW, doubly robust) must not contradict each other.

    Non-overlapping 95% intervals mean at least one model is wrong for these data (misspecification, poor
    overlap, a bug): the artifacts do not describe one answer, so this is a conflict, not a warning.
    """
    name = "Estimators agree within their 95% intervals"
    if project.estimation is None or not project.estimation.estimates:
        return _item(name, "amber", "no estimation yet")
    pairs = estimator_disagreements(project.estimation.estimates, outcome_is_binary(project), project_unit(project))
    if pairs:
        more = f" (and {len(pairs) - 1} more pair(s))" if len(pairs) > 1 else ""
        return _item(name, "red", f"intervals do not overlap: {pairs[0]}{more}")
    return _item(name, "green", "every pair of adjusted estimators has overlapping 95% intervals")


def current_memo(project: Project) -> tuple[str, dict[str, str]]:
    """The memo a reader would see: the analyst's final memo, else the deterministic one."""
    if any(project.memo.final.get(key, "").strip() for key in SECTION_KEYS):
        return "final", project.memo.final
    return "deterministic", project.memo.deterministic


def check_memo_numbers(project: Project) -> ConsistencyItem:
    name = "Memo numbers equal the estimates"
    which, sections = current_memo(project)
    if not any(str(value).strip() for value in sections.values()):
        return _item(name, "amber", "no memo yet")
    facts = memo_facts(project)
    figures = project_figures(project)
    invented = [n for key, text in sections.items() for n in unmatched_numbers(str(text), figures, key)]
    if invented:
        return _item(name, "red", f"{which} memo cites numbers that are not project figures: {', '.join(invented[:6])}")
    if facts.primary is None:
        return _item(name, "amber", f"{which} memo exists but nothing is estimated yet")
    quoted = [n for n in numbers_in(sections.get("main_estimate", "")) if n.matches(facts.primary.estimate)]
    if not quoted:
        return _item(name, "red", f"the {which} memo's main estimate does not quote the current primary estimate")
    if which == "deterministic" and deterministic_memo(project) != project.memo.deterministic:
        return _item(name, "amber", "the stored deterministic memo is out of date: regenerate it")
    return _item(name, "green", f"the {which} memo's numbers match the project's estimates")


# ---- claims against the main interval -------------------------------------------------------------------------
# A memo (or a model obeying an injected "say it is significant") can claim certainty the interval does not
# support, or deny an effect the interval shows. Claims are matched per sentence; a negator in the few words
# before a claim ("not", "no", "n't", "cannot", ...) turns a certainty claim into a null claim.
_CERTAIN = re.compile(
    r"(?<![\w-])(?:statistically\s+significant(?:ly)?|significant(?:ly)?|clearly\s+different\s+from\s+zero|"
    r"prove[sn]?|proving|certain(?:ly|ty)?|definite(?:ly)?|no\s+doubt|conclusive(?:ly)?)\b",
    re.IGNORECASE,
)
_NULL = re.compile(r"\b(?:no|zero|null)\s+(?:causal\s+)?effect\b|\b(?:in|non-?)significant\b", re.IGNORECASE)
_NEGATOR = re.compile(
    r"\b(?:not|no|never|cannot|without|nor|neither|hardly|barely|lack|lacks|fail|fails|failed)\b|n't\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# A sensitivity sentence names what *would* change the verdict ("to move the 95 % CI to include no effect",
# "2.4% would make it statistically insignificant"): a counterfactual about the interval, not a claim about it.
_HYPOTHETICAL = re.compile(
    r"\b(?:would|could|to (?:move|make|bring|push|render|turn)|enough to|needed to|needs? to)\b", re.IGNORECASE
)
_CLAUSE_START = re.compile(r"[;:]|\bbut\b|\bwhile\b|\bwhereas\b", re.IGNORECASE)
_NEGATION_WINDOW = 4  # words before a claim that can negate it ("is not statistically significant")


def _negated(sentence: str, start: int) -> bool:
    """Whether a negator sits in the few words before position ``start`` of ``sentence``."""
    before = " ".join(sentence[:start].split()[-_NEGATION_WINDOW:])
    return bool(_NEGATOR.search(before))


def _hypothetical(sentence: str, start: int) -> bool:
    """Whether the clause holding position ``start`` frames its claim as a counterfactual ("would", "to move")."""
    before = sentence[:start]
    clause = _CLAUSE_START.split(before)[-1]
    return bool(_HYPOTHETICAL.search(clause))


def claim_kinds(sentence: str) -> set[str]:
    """"certain" (an unhedged claim of significance or proof) and/or "null" (a claim of no effect or of
    non-significance) made by one sentence. "no doubt" is itself a certainty claim; a negated certainty word
    other than "significant" ("not conclusive", "does not prove") is a hedge and claims nothing, and so is a
    counterfactual ("would make it insignificant", "to move the CI to include no effect")."""
    kinds = set()
    for match in _CERTAIN.finditer(sentence):
        word = match.group().lower()
        if _hypothetical(sentence, match.start()):
            continue
        if word.startswith("no") or not _negated(sentence, match.start()):
            kinds.add("certain")
        elif "significant" in word:  # "not significant" denies an effect; "not certain" only hedges
            kinds.add("null")
    for match in _NULL.finditer(sentence):
        if not _negated(sentence, match.start()) and not _hypothetical(sentence, match.start()):
            kinds.add("null")
    return kinds


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(str(text)) if part.strip()]


def interval_claim_conflicts(sections: dict[str, str], low: float, high: float) -> list[str]:
    """Sentences whose claim the main 95% interval [low, high] contradicts, each named with the interval:
    certainty ("significant", "proves", ...) while it covers 0, or "no effect"/"not significant" while it
    excludes 0."""
    covers_zero = low <= 0 <= high
    interval = f"[{low:.4g}, {high:.4g}]"
    conflicts = []
    for text in sections.values():
        for sentence in sentences(text):
            kinds = claim_kinds(sentence)
            shown = clean_text(sentence)
            shown = shown if len(shown) <= 160 else shown[:159] + "…"
            if covers_zero and "certain" in kinds:
                conflicts.append(f"\"{shown}\" claims certainty, but the main 95% interval {interval} covers 0")
            elif not covers_zero and "null" in kinds:
                conflicts.append(f"\"{shown}\" claims no effect, but the main 95% interval {interval} excludes 0")
    return conflicts


def check_claims(project: Project) -> ConsistencyItem:
    name = "Memo claims match the main interval"
    which, sections = current_memo(project)
    if not any(str(value).strip() for value in sections.values()):
        return _item(name, "amber", "no memo yet")
    primary = memo_facts(project).primary
    if primary is None or primary.ci_low is None or primary.ci_high is None:
        return _item(name, "amber", f"the {which} memo exists but there is no main interval to check it against")
    conflicts = interval_claim_conflicts({k: str(v) for k, v in sections.items()}, primary.ci_low, primary.ci_high)
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        return _item(name, "red", f"{which} memo: {conflicts[0]}{more}")
    return _item(name, "green", f"no claim in the {which} memo contradicts the main 95% interval")


def check_audits(project: Project) -> ConsistencyItem:
    """The latest audit of each AI artifact: anything below full marks is listed until resolved."""
    name = "Unresolved audit failures"
    latest = {}
    for record in project.audits:
        latest[record.artifact] = record
    if not latest:
        return _item(name, "amber", "no artifact has been audited yet")
    problems = []
    for artifact, record in latest.items():
        if not record.schema_valid:
            problems.append(f"{artifact}: generation failed ({record.failure_type or 'unknown'})")
        elif record.score < record.max_score:
            failed = [c.name for c in record.checks if not c.passed and c.severity == "fail"]
            problems.append(f"{artifact}: {record.score}/{record.max_score} ({', '.join(failed)})")
    if problems:
        return _item(name, "amber", "; ".join(problems))
    return _item(name, "green", f"latest audits at full marks: {', '.join(sorted(latest))}")


def consistency_checks(project: Project) -> list[ConsistencyItem]:
    """All cross-artifact checks in workflow order."""
    return [
        check_roles(project),
        check_adjustment_valid(project),
        check_post_treatment(project),
        check_estimand(project),
        check_estimators_agree(project),
        check_memo_numbers(project),
        check_claims(project),
        check_audits(project),
    ]


def overall_status(items: list[ConsistencyItem]) -> Status:
    return max((item.status for item in items), key=_RANK.__getitem__, default="green")


def consistency_records(items: list[ConsistencyItem]) -> list[dict[str, str]]:
    return [{"status": f"{STATUS_ICON[i.status]} {i.status}", "check": i.check, "detail": i.detail} for i in items]
