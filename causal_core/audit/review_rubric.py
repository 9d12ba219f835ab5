"""The profile review's claims checked against the audit's measured facts, not only which columns it mentions.

``profile_review.score_profile_review`` checks that each field *names* the right columns. A review can name
them and say the opposite ("next_week_backlog is NOT a leakage risk, keep it in the adjustment set"), invent
columns, claim randomisation the data contradicts, deny measured missingness, describe the wrong grain while
naming the grain columns, or negate the treatment. This module reads the words around the names and turns a
contradiction into a failure of the check that owns the claim (so the score keeps its 13 checks), with the
evidence in the reason: the offending text and the measured fact.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from causal_core.audit.review_fields import PROFILE_LIST_FIELDS, PROFILE_SCALAR_FIELDS, mentions
from causal_core.project import Project, RubricCheck, Timing

TOKEN = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![A-Za-z0-9_])")
COLUMN_FIELDS = ("candidate_outcomes", "pre_treatment_covariates", "post_treatment_or_mediators",
                 "recommended_exclusions_from_adjustment")
# Which check owns a field's claims (fields without a check of their own fall to the questions check).
FIELD_CHECK = {
    "dataset_grain": "names the grain",
    "candidate_treatment": "names the treatment",
    "candidate_outcomes": "names the primary outcome",
    "pre_treatment_covariates": "lists pre-treatment covariates",
    "post_treatment_or_mediators": "flags post-treatment variables",
    "leakage_risks": "flags future leakage",
    "missingness_risks": "flags missingness",
    "unit_integrity_risks": "flags duplicate/unit risk",
    "recommended_exclusions_from_adjustment": "excludes every post-treatment/outcome/future variable from adjustment",
}
FALLBACK_CHECK = "asks domain/design questions"
IDENTIFICATION = "does not claim identification"

_NEGATION = re.compile(r"\b(?:not|no|never|non|isn't|aren't|wasn't|weren't|without|nor|cannot|can't|unlikely)\b")
_HEDGE = re.compile(r"\b(?:whether|if|check|verify|confirm|ask|unclear|unknown|may|might|could|possibly|appears?)\b")
_SAFE = re.compile(
    r"\bnot (?:a |an )?(?:leak\w*|risk\w*|future|post-?treatment|a concern)|\bno (?:leak\w*|risk)\b|"
    r"\bsafe to (?:adjust|use|include|control|keep)|\bkeep (?:it|them|this|\w+) (?:in|among|as)\b|"
    r"\bcan (?:safely )?be (?:used|adjusted|included|kept|controlled)|\bfine to (?:adjust|use|include|keep)|"
    r"\bshould be (?:adjusted for|included|kept|controlled for)|\bis (?:a |measured )?pre-?treatment\b|"
    r"\bmeasured before (?:the )?(?:treatment|enablement|rollout)"
)
_RANDOM = re.compile(
    r"\b(?:was|were|is|are|been|being)\s+(?:\w+\s+)?(?:randomly assigned|randomi[sz]ed|assigned at random|"
    r"allocated at random|as good as random|random)\b|"
    r"\brandom(?:i[sz]ed)? (?:assignment|experiment|allocation|rollout|trial)\b|\ba/b test\b|\brandomly (?:assigned|chosen|enabled)\b"
)
_IDENTIFIED = re.compile(
    r"\bno (?:unmeasured |hidden |residual |remaining )?confounding (?:remains|is present|exists|is left)\b|"
    r"\brules? out (?:all |any )?confounding\b|\bunbiased (?:causal )?(?:effect|estimate)\b|"
    r"\b(?:fully|completely) (?:controls?|accounts?|adjusts?) for (?:all )?confounding\b|"
    r"\b(?:the )?(?:effect|difference|estimate|comparison) (?:is|will be) (?:therefore |thus )?(?:causal|identified)\b|"
    r"\bidentif(?:ies|ied|y) the (?:treatment |causal |true )?effect\b|\bgives the causal effect\b|"
    r"\bread (?:it |the difference |the estimate )?as (?:the |a )?causal\b"
)
_DENIED_MISSING = re.compile(
    r"\bno (?:missing(?:ness| values| data| rows)?|gaps|nulls?)\b|\bnothing is missing\b|\bfully observed\b|"
    r"\bdata (?:are|is) complete\b|\bwithout (?:any )?missing\b|\bnone (?:are |is )?missing\b|"
    r"\bmissingness is (?:negligible|not a concern|absent|not an issue)\b|\bcomplete for every (?:row|column)\b"
)
_GRAIN_STOP = frozenset({"a", "an", "the", "and", "one", "single", "each", "every", "x", "by", "per", "row", "rows",
                         "combination", "pair", "unique", "distinct", "of", "is", "in", "with"})


def _items(review: dict[str, Any], field: str) -> list[str]:
    value = review.get(field)
    return [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!;])\s+|\n", text) if s.strip()]


def _claims(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Sentences that assert ``pattern``: not questions, not negated or hedged just before the match."""
    found = []
    for sentence in _sentences(text.lower()):
        if sentence.rstrip().endswith("?"):
            continue
        hit = pattern.search(sentence)
        if hit and not _NEGATION.search(sentence[max(0, hit.start() - 25):hit.start()]) \
                and not _HEDGE.search(sentence[:hit.start()]):
            found.append(sentence.strip()[:120])
    return found


# ---------------------------------------------------------------------------------------------
# Problems per check
# ---------------------------------------------------------------------------------------------
def invented_columns(review: dict[str, Any], known: set[str]) -> dict[str, list[str]]:
    """Field → identifier-like tokens (snake_case, or a bare one-word item of a column list) that are not columns."""
    lowered = {k.lower() for k in known}
    found: dict[str, list[str]] = {}
    for field in [*FIELD_CHECK, "identification_questions", "next_checks"]:
        tokens = [t for item in _items(review, field) for t in TOKEN.findall(item)]
        if field in COLUMN_FIELDS:
            tokens += [item.strip() for item in _items(review, field) if re.fullmatch(r"\s*[A-Za-z]\w*\s*", item)]
        bad = list(dict.fromkeys(t for t in tokens if t.lower() not in lowered))
        if bad:
            found[field] = bad
    return found


def leakage_polarity(review: dict[str, Any], facts: Any, project: Project) -> dict[str, list[str]]:
    """Check name → sentences calling a future / post-treatment / outcome column safe to adjust for."""
    late = list(dict.fromkeys([*facts.future, *facts.must_exclude]))
    found: dict[str, list[str]] = {}
    for field in [*FIELD_CHECK, "identification_questions", "next_checks"]:
        for item in _items(review, field):
            for sentence in _sentences(item):
                named = [c for c in late if mentions(sentence, c)]
                if named and _SAFE.search(sentence.lower()):
                    timing = project.timing_of(named[0])
                    owner = "flags future leakage" if timing == Timing.future else \
                        "excludes every post-treatment/outcome/future variable from adjustment"
                    found.setdefault(owner, []).append(
                        f"'{sentence.strip()[:100]}' but the dictionary times {named[0]} as {timing.value}")
    return found


def randomisation_claims(review: dict[str, Any], project: Project, frame: pd.DataFrame | None) -> list[str]:
    """Randomisation asserted while pre-treatment columns predict the treatment in the data."""
    if frame is None or not project.treatment or project.treatment not in frame.columns:
        return []
    text = "\n".join(item for field in review for item in _items(review, field) if field != "confidence")
    claims = _claims(text, _RANDOM)
    if not claims:
        return []
    from causal_core.dag.draft_rubric import cached_predictors

    predictors = [c for c, _ in cached_predictors(project, frame)]
    if not predictors:
        return []
    return [f"'{claims[0]}' but {', '.join(predictors[:4])} predict {project.treatment} in the data (p < 0.01)"]


def identification_claims(review: dict[str, Any]) -> list[str]:
    text = "\n".join(item for field in review for item in _items(review, field) if field != "confidence")
    return [f"claims identification in other words: '{c}'" for c in _claims(text, _IDENTIFIED)[:1]]


def missingness_denied(review: dict[str, Any], facts: Any) -> list[str]:
    measured = list(dict.fromkeys([*facts.data_loss_missing, *facts.structural_missing]))
    if not measured:
        return []
    text = "\n".join(item for field in review for item in _items(review, field) if field != "confidence")
    claims = _claims(text, _DENIED_MISSING)
    return [f"'{claims[0]}' but the audit measured missing values in {', '.join(measured[:4])}"] if claims else []


def _grain_words(unit_columns: list[str]) -> set[str]:
    parts = {c.lower() for c in unit_columns}
    for column in unit_columns:
        parts |= {p for p in re.split(r"[_\W]+", column.lower()) if p and p not in {"id", "start", "date", "key"}}
    return parts


def grain_problem(review: dict[str, Any], unit_columns: list[str]) -> str:
    """'one row per ticket, with team_id and week_start' names the columns but describes another grain."""
    text = str(review.get("dataset_grain") or "").lower()
    if not unit_columns or not text:
        return ""
    allowed = _grain_words(unit_columns)
    described: set[str] = set()
    for phrase in re.findall(r"\b(?:per|for each|for every|each row is|one row is|rows? (?:are|is))\s+([^.;,(]+)", text):
        words = [w.rstrip("s") if w.rstrip("s") in allowed else w for w in re.findall(r"[a-z][a-z0-9_]*", phrase)]
        described |= {w for w in re.split(r"[\s-]+", " ".join(words)) if w and w not in _GRAIN_STOP}
    if not described:
        return ""
    stray = sorted(w for w in described if w not in allowed)
    nouns = {p for p in allowed if "_" not in p}
    covered = {w for w in described if w in nouns} | {p for w in described for p in w.split("_") if p in nouns}
    if stray or not nouns <= covered:
        return (f"dataset_grain describes one row per {' × '.join(sorted(described))}, but the audit's grain is "
                f"{' × '.join(unit_columns)}")
    return ""


def treatment_negated(review: dict[str, Any]) -> str:
    text = str(review.get("candidate_treatment") or "").lower()
    if _NEGATION.search(text) or re.search(r"\brather than\b|\binstead of\b|=\s*0\b|^\s*[!~]", text):
        return f"candidate_treatment {review.get('candidate_treatment')!r} negates or replaces the treatment"
    return ""


# ---------------------------------------------------------------------------------------------
# Applying the problems to the field checks
# ---------------------------------------------------------------------------------------------
def review_problems(review: dict[str, Any], project: Project, frame: pd.DataFrame | None, facts: Any) -> dict[str, list[str]]:
    """Check name → the reasons it must fail (each naming the text and the measured fact)."""
    known = {str(c) for c in frame.columns} if frame is not None else set()
    known |= {e.variable for e in project.dictionary}
    # The review's own vocabulary is not an invented column: its field names and the dictionary's timings.
    known |= {*PROFILE_LIST_FIELDS, *PROFILE_SCALAR_FIELDS, *(t.value for t in Timing)}
    if project.data_source is not None:
        known |= set(project.data_source.columns)
    problems: dict[str, list[str]] = {}
    for field, tokens in invented_columns(review, known).items():
        owner = FIELD_CHECK.get(field, FALLBACK_CHECK)
        problems.setdefault(owner, []).append(f"{field} names {', '.join(tokens[:4])}, not a column of the data")
    for owner, reasons in leakage_polarity(review, facts, project).items():
        problems.setdefault(owner, []).extend(reasons)
    problems.setdefault(IDENTIFICATION, []).extend(randomisation_claims(review, project, frame))
    problems[IDENTIFICATION].extend(identification_claims(review))
    problems.setdefault("flags missingness", []).extend(missingness_denied(review, facts))
    grain = grain_problem(review, facts.unit_columns)
    if grain:
        problems.setdefault("names the grain", []).append(grain)
    negated = treatment_negated(review)
    if negated:
        problems.setdefault("names the treatment", []).append(negated)
    return {k: v for k, v in problems.items() if v}


CONTENT_FIELDS = ("dataset_grain", "candidate_treatment", "candidate_outcomes", "pre_treatment_covariates",
                  "post_treatment_or_mediators", "leakage_risks", "identification_questions",
                  "recommended_exclusions_from_adjustment")
NEGATIVE_CHECKS = (IDENTIFICATION, "no post-treatment/outcome/future variable among pre-treatment covariates")


def vacuous_review(review: dict[str, Any]) -> list[str]:
    """The content fields a review leaves empty, when they are half or more of them (else [])."""
    empty = [f for f in CONTENT_FIELDS if not any(item.strip() for item in _items(review, f))]
    return empty if len(empty) >= len(CONTENT_FIELDS) // 2 else []


def apply_review_problems(checks: list[RubricCheck], review: dict[str, Any], project: Project,
                          frame: pd.DataFrame | None, facts: Any) -> list[RubricCheck]:
    """Fail each check whose claims contradict the audit; a check that was not required becomes required.
    A review that states almost nothing earns no "claims nothing wrong" points either."""
    problems = review_problems(review, project, frame, facts)
    empty = vacuous_review(review)
    if empty:
        for name in NEGATIVE_CHECKS:
            problems.setdefault(name, []).append(
                f"not assessed: {len(empty)} of {len(CONTENT_FIELDS)} content fields are empty ({', '.join(empty[:4])}…)")
    names = {c.name for c in checks}
    if any(owner not in names for owner in problems):  # a check this project does not run: the questions check
        for owner in [o for o in problems if o not in names]:
            problems.setdefault(FALLBACK_CHECK, []).extend(problems.pop(owner))
    updated = []
    for item in checks:
        reasons = problems.get(item.name)
        if reasons:
            item = item.model_copy(update={"passed": False, "severity": "fail", "applicable": True,
                                           "reason": "; ".join(reasons[:3])})
        updated.append(item)
    return updated
