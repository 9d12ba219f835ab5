"""The memo rubric: overclaims, unsupported numbers, missing sections."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from causal_core.ai.rubric import check
from causal_core.ai.structured import StructuredTask
from causal_core.memo.ai_task import MEMO_SYSTEM_PROMPT, MemoDraft, build_memo_inputs, build_memo_prompt
from causal_core.memo.facts import MemoFacts, memo_facts
from causal_core.memo.markup import strip_code_spans
from causal_core.memo.memo_claims import (
    absent,
    certainty_claims,
    check_absolute_reading,
    check_interval_and_unit,
    check_limitation,
    check_primary_quoted,
    check_significance,
    unreadable_section,
)
from causal_core.memo.numbers import numbers_in, project_figures, unmatched_numbers
from causal_core.memo.sections import ESTIMATE_SECTIONS, EVIDENCE_SECTIONS, SECTION_KEYS, SECTION_TITLES
from causal_core.multiverse import memo_text as robustness
from causal_core.project import (
    EstimateRow,
    Project,
    RubricCheck,
)

if TYPE_CHECKING:
    import pandas as pd

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
    r"\bassum\w*|\bunder the (?:condition|premise)|\bprovided that\b|\bno unmeasured\b|\bunconfounded\w*|\bignorab\w*|\bpositivity\b"
    r"|\bif (?:the|all|no|our|every)\b|\bas long as\b|\brel(?:y|ies|ying) on\b|\bonly if\b",
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
    r"hold-?out|experiment|randomi[sz]\w*|\bA/B\b|\bRCT\b|(?:phased|staggered|gradual) roll-?out|\bpilot\b|"
    r"quasi-?experiment\w*|natural experiment|difference-in-differences|regression discontinuity|instrument\w*|"
    r"better data|\bhold (?:[\w-]+ ){0,4}?out\b|\brandomi[sz]e\b|\brandom (?:slice|sample|subset|share|group|half)\b",
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
    robustness.CHECK_NAME,
    "sections_written",
    "quotes_primary_row",
    "estimate_with_interval_and_unit",
    "significance_matches_interval",
    "risk_difference_read_absolutely",
)
# Sections no other check reads: an empty one fails sections_written (the others fail their own check).
UNCHECKED_SECTIONS = ("question", "estimand", "design", "key_diagnostic", "interpretation", "recommendation")
# The app's own fact listings: copied from the project, not claims the memo makes about the curve.
FACT_LIST_SECTIONS = ("refutations", "sensitivity", "excluded_variables", "checklist", "open_questions")


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
    return found + certainty_claims(text)


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
    sections = {key: "" if absent(str(value or "")) else str(value) for key, value in (memo or {}).items()}
    facts = memo_facts(project, frame)
    unreadable = unreadable_section(sections, SECTION_KEYS)
    if unreadable:
        return _not_auditable(unreadable, facts)
    checks = [_check_numbers(sections, project)]  # numbers_in already skips names in code spans
    raw_sections = sections  # the unit check reads the outcome's name, which sits in a code span
    # A name is not prose: `cut_rate` or `drop` in a code span is neither a direction nor an overclaim.
    sections = {key: strip_code_spans(text) for key, text in sections.items()}
    full = "\n".join(sections.get(key, "") for key in SECTION_KEYS)

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
    checks.append(check_limitation(sections.get("main_limitation", "")))
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
        validation = _proposed_validation(sections.get("recommendation", ""))
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
    claims = {key: text for key, text in sections.items() if key not in FACT_LIST_SECTIONS}
    robustness_check = robustness.check_memo(claims, project.multiverse)
    checks.append(robustness_check or check(robustness.CHECK_NAME, True, "no curve and no robustness claim"))
    missing = [SECTION_TITLES.get(key, key) for key in UNCHECKED_SECTIONS if not sections.get(key, "").strip()]
    checks += [
        check(
            "sections_written",
            not missing,
            f"empty, placeholder or one repeated word: {', '.join(missing)}"
            if missing
            else "every section has content",
        ),
        check_primary_quoted(sections, facts),
        check_interval_and_unit(raw_sections, facts),
        check_significance(full, facts),
        check_absolute_reading(sections, facts),
    ]
    if facts.disagreements:  # only when the estimators contradict each other: then no memo gets full marks
        checks.append(_check_agreement(facts))
    return checks


_RULED_OUT_RE = re.compile(
    r"\s*(?:[\w-]+\s+){0,2}?(?:(?:is|are|was|were|would be|seems?)\s+(?:not|never|unnecessary|needless|"
    r"not needed)\b|isn't|aren't|cannot|can't|can not|unnecessary)",
    re.I,
)
# "we do not recommend an experiment", "no need for a holdout", "rather than a pilot": named only to dismiss it.
_DISMISSED_BEFORE_RE = re.compile(
    r"\b(?:not|no|never|n't|without|against|rather than|instead of|skip|forgo|avoid)\b[^.;:,!?]{0,40}$", re.I
)


def _not_auditable(unreadable: str, facts: MemoFacts) -> list[RubricCheck]:
    """Every check fails: a memo the rubric cannot read is not auditable, never a pass."""
    names = [*MEMO_RUBRIC, "estimators_agree"] if facts.disagreements else list(MEMO_RUBRIC)
    reason = f"not auditable: the memo is not in English ({unreadable}); the rubric cannot read it"
    return [check(name, False, reason) for name in names]


def _proposed_validation(text: str) -> re.Match[str] | None:
    """The first validation the recommendation proposes; "an experiment is not available" or "a randomized
    holdout cannot be run" proposes none (the two words after the match may sit before the negation)."""
    return next(
        (
            m
            for m in VALIDATION_RE.finditer(text)
            if not _RULED_OUT_RE.match(text, m.end()) and not _DISMISSED_BEFORE_RE.search(text[: m.start()])
        ),
        None,
    )


def _check_agreement(facts: MemoFacts) -> RubricCheck:
    """Estimators whose 95% intervals do not overlap cannot both be right: the analysis is not ready to share.

    Fails for every memo, deterministic included (which reports the disagreement): a memo cannot reach full
    marks, nor the consistency panel green, on estimates that contradict each other (issue 17 §15).
    """
    more = f" (and {len(facts.disagreements) - 1} more pair(s))" if len(facts.disagreements) > 1 else ""
    return check(
        "estimators_agree",
        False,
        f"estimators disagree beyond their 95% intervals: {facts.disagreements[0]}{more}; fix the specification "
        "or overlap before presenting a single estimate",
    )


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
