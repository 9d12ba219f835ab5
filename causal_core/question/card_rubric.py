"""The estimand-card rubric: one small pure function per check."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from causal_core.ai.rubric import check
from causal_core.project import (
    NOT_ADJUSTABLE_TIMINGS,
    EstimandCard,
    Project,
    RubricCheck,
    Timing,
)
from causal_core.question.constants import CARD_FIELDS
from causal_core.question.matching import CardContext, tokens
from causal_core.question.task import card_from_draft

# ---------------------------------------------------------------------------------------------
# Rubric: one small pure function per check
# ---------------------------------------------------------------------------------------------
_PLACEHOLDER = re.compile(
    r"^\W*(?:n/?a|none|null|unknown|tbd|tbc|todo|unspecified|not specified|not stated|not applicable|string|text|"
    r"placeholder|example|lorem ipsum|x{2,}|\?+|-+|\.+)\W*$"
)
_UNDETERMINED = re.compile(
    r"cannot be determined|can't be determined|could not be determined|not determinable|undetermined|"
    r"unclear from the brief|not (?:stated|specified|given|provided) in the brief|to be confirmed"
)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _stated(text: str) -> tuple[bool, str]:
    """Is a field actually filled in (not empty, a placeholder, or flagged as undetermined)?"""
    cleaned = " ".join(str(text or "").split())
    if len(cleaned) < 2 or _PLACEHOLDER.match(cleaned.lower()):
        return False, "empty" if not cleaned else f"a placeholder ('{_short(cleaned)}')"
    if re.sub(r"[\s\-]+", "_", cleaned.lower()).strip("_<>{}[]\"'") in CARD_FIELDS:
        return False, f"a placeholder that repeats a field name ('{_short(cleaned)}')"
    if _UNDETERMINED.search(cleaned.lower()):
        return False, "flagged as not determinable from the brief: ask the stakeholder and fill it in"
    return True, f"'{_short(cleaned)}'"


def _content(text: str, ctx: CardContext) -> tuple[bool, str]:
    """Like :func:`_stated`, and a field that is only a column name or one repeated word is absent too
    (a card whose estimand, assumptions and threats all read "churn" states nothing)."""
    stated, why = _stated(text)
    if not stated:
        return stated, why
    words = re.findall(r"[a-z0-9_]+", str(text).lower())
    if len(set(words)) == 1 and (len(words) > 1 or len(words[0]) < 30):
        column = next((v.name for v in ctx.variables if v.name.lower() == words[0]), None)
        if column or len(words) > 1:
            shown = f"only the column name '{column}'" if column else f"one repeated word ('{_short(text, 40)}')"
            return False, shown
    return True, why


def check_treatment(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    name = "treatment_in_data"
    stated, why = _stated(card.treatment)
    if not stated:
        return check(name, False, f"Treatment is {why}.")
    if not ctx.variables:
        return check(name, False, "The project has no data columns or dictionary to match the treatment against.")
    variable = ctx.best(card.treatment)
    if variable is None:
        return check(
            name, False, f"Treatment '{_short(card.treatment)}' matches no data column or dictionary variable."
        )
    if variable.timing in {Timing.unit_id, Timing.time_id, Timing.outcome, Timing.future}:
        return check(
            name, False, f"Treatment matches '{variable.name}', which the dictionary times as {variable.timing.value}."
        )
    where = "data column" if variable.in_data else "dictionary variable (not in the data)"
    return check(name, True, f"Treatment matches {where} '{variable.name}'.")


def check_outcome(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    name = "outcome_in_data"
    stated, why = _stated(card.outcome)
    if not stated:
        return check(name, False, f"Outcome is {why}.")
    if not ctx.variables:
        return check(name, False, "The project has no data columns or dictionary to match the outcome against.")
    variable = ctx.best(card.outcome)
    if variable is None:
        return check(name, False, f"Outcome '{_short(card.outcome)}' matches no data column or dictionary variable.")
    treatment = ctx.best(card.treatment)
    if treatment is not None and treatment.name == variable.name:
        return check(name, False, f"Outcome and treatment both match '{variable.name}'.")
    if variable.timing in {Timing.unit_id, Timing.time_id, Timing.pre_treatment, Timing.treatment}:
        return check(
            name, False, f"Outcome matches '{variable.name}', which the dictionary times as {variable.timing.value}."
        )
    early = _before_treatment(card.outcome)
    if early:
        return check(name, False, f"Outcome '{variable.name}' is measured before the treatment ('{early}').")
    where = "data column" if variable.in_data else "dictionary variable (not in the data)"
    return check(name, True, f"Outcome matches {where} '{variable.name}'.")


def check_unit(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    stated, why = _content(card.unit, ctx)
    ids = {v.name for v in ctx.variables if v.timing in {Timing.unit_id, Timing.time_id}}
    if not stated and card.unit.strip() in ids:  # "account_id" names the unit by its identifier column
        stated, why = True, f"'{card.unit.strip()}' (the unit's identifier column)"
    return check("unit_stated", stated, f"Unit is {why}.")


_PERIOD = re.compile(
    r"\b(?:day|week|month|quarter|year|period|window|date|season|hour|annual|fy\d*|q[1-4]|h[12]|\d{4})\w*|\d+\s*(?:d|w|m)\b"
)


_BEFORE = re.compile(r"\b(?:before|prior to|preceding|ahead of|leading up to)\b")
_AFTER = re.compile(r"\b(?:after|afterwards|following|post|later|subsequent|next|then)\b")
_OUTCOME_WORDS = re.compile(r"\b(?:outcome|measured|tracked|counted|observed|recorded|follow-?up)\b")


def _before_treatment(text: str, outcome_words: set[str] | None = None) -> str:
    """The clause that places the outcome before the treatment ("churn in the 90 days before outreach"), if any."""
    for clause in re.split(r"[;\n]|,\s+(?=outcome|churn|measured)", str(text or "").lower()):
        hit = _BEFORE.search(clause)
        if not hit or _AFTER.search(clause):
            continue
        about_outcome = _OUTCOME_WORDS.search(clause) or (outcome_words and tokens(clause) & outcome_words)
        if outcome_words is None or about_outcome:
            return _short(clause.strip(), 60)
    return ""


def check_time_window(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    stated, why = _content(card.time_window, ctx)
    if not stated:
        return check("time_window_stated", False, f"Time window is {why}.")
    outcome_words = tokens(card.outcome) | {t for v in ctx.variables if v.timing == Timing.outcome for t in v.name_tokens}
    early = _before_treatment(card.time_window, outcome_words)
    if early:
        return check("time_window_stated", False, f"The outcome window lies before the treatment ('{early}').")
    if not _PERIOD.search(card.time_window.lower()):
        return check("time_window_stated", False, f"Time window {why} names no period (days, weeks, dates, quarter…).")
    return check("time_window_stated", True, f"Time window is {why}.")


_ABSENCE = re.compile(
    r"\b(?:not|no|never|non|without|absent|absence|withheld|withhold\w*|untreated|unexposed|none|usual|standard|"
    r"alone|holdout|held out|instead|other than|before (?:their|the|its) (?:rollout|start|enablement)|didn't|"
    r"wasn't|weren't|off|disabled|= ?0|== ?0|zero|placebo|delayed|later)\b"
)


def check_control(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    stated, why = _content(card.control_condition, ctx)
    if not stated:
        return check("control_condition_stated", False, f"Control condition is {why}.")
    if " ".join(card.control_condition.lower().split()) == " ".join(card.treatment.lower().split()):
        return check("control_condition_stated", False, "Control condition repeats the treatment.")
    treated = ctx.best(card.treatment)
    control = ctx.best(card.control_condition)
    if treated is not None and control is not None and control.name == treated.name \
            and not _ABSENCE.search(card.control_condition.lower()):
        return check("control_condition_stated", False,
                     f"Control condition describes the treatment again ('{treated.name}' with no 'not', 'no', "
                     f"'without' or 'usual'): '{_short(card.control_condition)}'.")
    return check("control_condition_stated", True, f"Control condition is {why}.")


def check_population(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    stated, why = _content(card.target_population, ctx)
    return check("target_population_stated", stated, f"Target population is {why}.")


# Abbreviations are matched case-sensitively ("late adopters" is not a LATE); phrases are not.
_ESTIMAND_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("CATE", re.compile(r"\bCATEs?\b|(?i:conditional average (?:treatment )?effect)")),
    (
        "ATT",
        re.compile(
            r"\bATT\b|(?i:effect (?:of (?:the )?treatment )?on the treated|(?:among|for) the treated\b(?!\s+and))"
        ),
    ),
    (
        "ATC",
        re.compile(
            r"\bAT[CU]\b|(?i:effect (?:of (?:the )?treatment )?on the (?:untreated|controls?|control group)"
            r"|(?:among|for) the (?:untreated|controls)\b(?!\s+and))"
        ),
    ),
    ("LATE", re.compile(r"\bLATE\b|(?i:local average (?:treatment )?effect|complier average)")),
    ("ATE", re.compile(r"\b[SP]?ATE\b|(?i:average (?:treatment|causal|total) effect|average effect)")),
]
_POPULATION_WORDS = re.compile(r"\b(?:population|among|eligible|across|treated|untreated|all|every)\b", re.I)


def estimand_kind(text: str) -> str | None:
    """The estimand type a card's estimand names (ATE / ATT / ATC / CATE / LATE), if any."""
    for kind, pattern in _ESTIMAND_TYPES:
        if pattern.search(text or ""):
            return kind
    return None


_UNIVERSAL = re.compile(
    r"\b(?:every|all|entire|whole|everyone|any)\b|\bor not\b|\bregardless\b|\bwhether or not\b|\bboth (?:groups|arms)\b"
)
_TREATED_REF = re.compile(r"\b(?:treated|received|receiving|got|exposed|enrolled|contacted|enabled|who were|that were|"
                          r"those who|assigned to)\b")
_UNTREATED_REF = re.compile(r"\b(?:untreated|not (?:treated|contacted|enabled|exposed)|never|controls?|unexposed|"
                            r"did not|didn't|without)\b")


def population_mismatch(kind: str, card: EstimandCard) -> str:
    """Why an ATT / ATC card's population is not the treated / untreated ("ATT … every account"), or ''."""
    if kind not in {"ATT", "ATC"}:
        return ""
    population = card.target_population.lower()
    estimand = card.estimand.lower()
    wanted = _TREATED_REF if kind == "ATT" else _UNTREATED_REF
    group = "the treated" if kind == "ATT" else "the untreated"
    mixed = re.search(r"\bor not\b|\bregardless\b|\bwhether or not\b|\bboth (?:groups|arms)\b", population + " " + estimand)
    if mixed:
        return f"{kind} averages over {group}, but the card mixes both groups ('{mixed.group(0)}')"
    if not wanted.search(population) and not (_ATT_GROUP.search(estimand) if kind == "ATT" else False):
        return f"{kind} averages over {group}, but the target population is '{_short(card.target_population, 50)}'"
    if _UNIVERSAL.search(population) and not wanted.search(population):
        return f"{kind} averages over {group}, but the target population is everyone"
    return ""


_ATT_GROUP = re.compile(r"\b(?:among|for|over) (?:the )?(?:\w+ )?(?:accounts|units|teams|users|customers|people|those)? ?"
                        r"(?:that|who) (?:actually )?(?:received|got|were)\b")


def check_estimand(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    name = "estimand_type_and_population"
    stated, why = _content(card.estimand, ctx)
    if not stated:
        return check(name, False, f"Estimand is {why}.")
    kind = estimand_kind(card.estimand)
    if kind is None:
        return check(name, False, "Estimand names no type (ATE, ATT, ATC, CATE or 'average treatment effect').")
    population_overlap = tokens(card.estimand) & (tokens(card.target_population) - {"account", "unit"})
    if not (_POPULATION_WORDS.search(card.estimand) or population_overlap):
        return check(name, False, f"Estimand names its type ({kind}) but not the population it averages over.")
    mismatch = population_mismatch(kind, card)
    if mismatch:
        return check(name, False, mismatch + ".")
    return check(name, True, f"Estimand is an {kind} over a stated population.")


_EXCHANGEABILITY = re.compile(
    r"exchangeab|unconfound|no (?:unmeasured|unobserved|hidden|omitted|residual) (?:confound|common cause)|ignorab|"
    r"conditional independence|selection on observables|no omitted variable|back-?door|"
    r"(?:common causes|confounders)\b[^.;]{0,80}\b(?:observed|measured|recorded|adjusted)",
    re.I,
)
_POSITIVITY = re.compile(
    r"positivity|overlap|common support|positive probability|non-?zero probability|"
    r"probability[^.;]{0,40}between 0 and 1|chance of (?:being|receiving)[^.;]{0,60}\band (?:of )?not",
    re.I,
)


def check_exchangeability(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    text = " | ".join(card.required_assumptions)
    hit = _EXCHANGEABILITY.search(text)
    if hit:
        return check("assumption_exchangeability", True, f"Exchangeability is stated ('{_short(hit.group(0), 50)}').")
    return check(
        "assumption_exchangeability",
        False,
        "Required assumptions do not state exchangeability / no unmeasured confounding.",
    )


def check_positivity(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    text = " | ".join(card.required_assumptions)
    hit = _POSITIVITY.search(text)
    if hit:
        return check("assumption_positivity", True, f"Positivity / overlap is stated ('{_short(hit.group(0), 50)}').")
    return check("assumption_positivity", False, "Required assumptions do not state positivity / overlap.")


def check_threats(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    threats = [item for item in card.likely_threats if _content(item, ctx)[0] and len(item.split()) >= 2]
    if threats:
        return check("likely_threats_listed", True, f"{len(threats)} likely threat(s) listed.")
    if any(item.strip() for item in card.likely_threats):
        return check("likely_threats_listed", False, "No threat is described (single words and placeholders only).")
    return check("likely_threats_listed", False, "No likely threat is listed.")


# Effect claims: an answer where a design should be. Sentences that are questions are skipped,
# and hedged verbs ("could have caused") are not claims.
_HEDGE = re.compile(r"\b(?:could|may|might|would|whether|if|not|never|no|cannot|can't|unless|to|did|does|do)\b")
_CLAIM_VERB_BY = re.compile(
    r"\b(?:reduc|lower|decreas|cut|increas|rais|improv|boost|drove|drop|lift|shrank|grew|fell|rose|sav)\w*\b"
    r"[^.;?]{0,60}?\bby\s+(?:about\s+|around\s+|roughly\s+|approximately\s+|nearly\s+|~)?[-+−]?\d[\d.,]*"
    r"(?:\s*(?:%|percent|pp|percentage points?|points?))?"
)
_CLAIM_PROOF = re.compile(r"\b(?:proves?|proved|proven|demonstrates?|demonstrated|confirms?|confirmed)\b")
_CLAIM_CAUSED = re.compile(r"\bcaused\b")
_CLAIM_NUMBER = re.compile(
    r"\b(?:effect|impact|lift|uplift|ate|att|atc|reduction|increase|decrease|difference)\b[^.;?\d]{0,25}?"
    r"(?:\bis\b|\bwas\b|\bof\b|\bequals?\b|=|:|\bestimated at\b|\babout\b|\baround\b|\bapproximately\b|\broughly\b)"
    r"\s*(?:about\s+|around\s+|approximately\s+|roughly\s+|~)?[-+−]?\d+(?:\.\d+)?(?![\d\-])"
    r"(?!\s*(?:day|week|month|year|quarter|hour)s?\b)"
)
_CLAIM_VERDICT = re.compile(
    r"\b(?:appears|is|was|were|are|proved|proven to be|shown to be)\s+(?:clearly\s+|highly\s+|very\s+)?"
    r"(?:harmful|effective|ineffective|beneficial|successful|counterproductive)\b"
)
_PAST_VERBS = r"(?:reduced|lowered|decreased|increased|raised|improved|cut|harmed|hurt|worsened|prevented)"


_CLAIM_FROM_TO = re.compile(
    r"\b(?:fell|dropped|declined|decreased|sank|shrank|rose|increased|grew|climbed|jumped|went|moved|improved|"
    r"reduced|lowered|raised|cut)\b[^.;?]{0,40}?\bfrom\s+[-+−]?\d[\d.,]*\s*(?:%|percent|pp)?\s*"
    r"(?:down\s+|up\s+)?to\s+[-+−]?\d[\d.,]*"
)


def _sentences(text: str) -> Iterable[str]:
    """Every sentence, questions included: "Since outreach cut churn by 4 pp, should we…?" claims an answer."""
    for sentence in re.split(r"(?<=[.!?;\n])\s+", text or ""):
        if sentence.strip():
            yield sentence


def _hedged(sentence: str, start: int) -> bool:
    return bool(_HEDGE.search(sentence[max(0, start - 30) : start]))


def effect_claims(card: EstimandCard, ctx: CardContext) -> list[str]:
    """Snippets where the card states an answer ("reduced churn by…", "proves", a number as the effect)."""
    outcome_tokens = tokens(card.outcome) | set().union(
        *(v.name_tokens for v in ctx.variables if v.timing == Timing.outcome)
    )
    outcome_words = "|".join(sorted(re.escape(t) for t in outcome_tokens if len(t) > 2)) or r"(?!x)x"
    past_claim = re.compile(rf"\b{_PAST_VERBS}\s+(?:the\s+|its\s+|their\s+)?(?:\w+\s+){{0,2}}?(?:{outcome_words})\w*")
    found = []
    for field_name in CARD_FIELDS:
        value = getattr(card, field_name)
        for text in value if isinstance(value, list) else [value]:
            for sentence in _sentences(str(text).lower()):
                for pattern, hedgeable in (
                    (_CLAIM_VERB_BY, True),
                    (_CLAIM_PROOF, True),
                    (_CLAIM_CAUSED, True),
                    (_CLAIM_NUMBER, False),
                    (_CLAIM_VERDICT, True),
                    (_CLAIM_FROM_TO, True),
                    (past_claim, True),
                ):
                    hit = pattern.search(sentence)
                    if hit and not (hedgeable and _hedged(sentence, hit.start())):
                        found.append(f"{field_name}: '{_short(hit.group(0), 50)}'")
                        break
    return found


def check_no_effect_claim(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    claims = effect_claims(card, ctx)
    if claims:
        return check("no_effect_claimed", False, f"The card states an answer: {'; '.join(claims[:3])}.")
    return check("no_effect_claimed", True, "No effect is claimed and no answer is given.")


_FLAGGED_MISSING = re.compile(
    r"\b(?:missing|not in (?:the )?data(?:set)?|not (?:recorded|collected|available|measured|logged)|unavailable|"
    r"if (?:available|recorded|collected|logged)|to be (?:sourced|collected)|absent)\b",
    re.I,
)


def audit_item_status(item: str, ctx: CardContext) -> tuple[bool, str]:
    """Is one variables_to_audit item in the data, flagged missing, or a post-treatment category?"""
    variable = ctx.best(item)
    if variable is not None:
        return True, f"'{_short(item, 40)}' → {variable.name}"
    if _FLAGGED_MISSING.search(item):
        return True, f"'{_short(item, 40)}' flagged as missing"
    if ctx.names_post_treatment(item):
        post = ctx.post_treatment_variables()
        listed = ", ".join(post) if post else "none in the dictionary"
        return True, f"'{_short(item, 40)}' is a post-treatment category ({listed})"
    return False, f"'{_short(item, 40)}' is not in the data or dictionary"


def check_variables_to_audit(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    name = "variables_to_audit_in_data"
    items = [item for item in card.variables_to_audit if item.strip()]
    if not items:
        return check(name, False, "No variables to audit are listed.", severity="warn")
    statuses = [audit_item_status(item, ctx) for item in items]
    missing = [reason for ok, reason in statuses if not ok]
    if missing:
        return check(
            name,
            False,
            f"{len(missing)} of {len(items)} not in the data (flag them as missing): " + "; ".join(missing[:4]),
            severity="warn",
        )
    return check(name, True, f"All {len(items)} variables to audit are in the data or flagged.", severity="warn")


_NEGATED = re.compile(
    r"\b(?:not|never|no|avoid\w*|mistaken\w*|wrong\w*|incorrect\w*|erroneous\w*|exclud\w*|without|tempting|"
    r"bad|risk\w*|don't|shouldn't|mustn't|cannot|instead of)\b"
)
_ADJUST_PATTERNS = [
    re.compile(r"\b(?:adjust|control|condition|stratif|match)\w*\s+(?:for|on|by)\s+([^.;:]+)"),
    re.compile(
        r"\b(?:include|includes|including|add|adding|use|using)\s+([^.;:]+?)\s+as\s+(?:an?\s+)?(?:covariate|control|confounder|adjustment)"
    ),
    re.compile(r"\b(?:covariates?|adjustment set|controls)\s*(?:include|includes|are|should include|=|:)\s*([^.;]+)"),
]


def proposed_adjustments(card: EstimandCard) -> list[tuple[str, str]]:
    """(field, phrase) pairs where the card proposes adjusting for something (negated uses skipped)."""
    found = []
    for field_name in CARD_FIELDS:
        value = getattr(card, field_name)
        for text in value if isinstance(value, list) else [value]:
            for sentence in re.split(r"(?<=[.!?;\n])\s+", str(text).lower()):
                for pattern in _ADJUST_PATTERNS:
                    for hit in pattern.finditer(sentence):
                        if _NEGATED.search(sentence[: hit.start()] + " " + hit.group(0)[: hit.start(1) - hit.start()]):
                            continue
                        found.append((field_name, hit.group(1).strip()))
    return found


def _split_phrase(phrase: str) -> list[str]:
    return [part.strip() for part in re.split(r",|\band\b|\bor\b|/|\+", phrase) if part.strip()]


# Timing words that put a proposed covariate after the treatment ("usage in the 30 days following").
_MEASURED_AFTER = re.compile(
    r"\b(?:after|following|afterwards|subsequent(?:ly)?|post[\s-]?\w+|in the (?:next|following) \w+)\b"
)
_MEASURED_BEFORE = re.compile(r"\b(?:before|prior to|pre[\s-]?\w+|baseline|preceding)\b")


def check_no_post_treatment_adjustment(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    name = "no_post_treatment_adjustment"
    offending = []
    for field_name, phrase in proposed_adjustments(card):
        late = _MEASURED_AFTER.search(phrase)
        if late and not _MEASURED_BEFORE.search(phrase):
            offending.append(f"{field_name}: '{_short(phrase, 50)}' (measured {late.group(0)})")
            continue
        for part in _split_phrase(phrase):
            if ctx.names_post_treatment(part):
                offending.append(f"{field_name}: '{_short(part, 40)}' (post-treatment)")
                continue
            for found in ctx.matches(part, include_truth=True)[:1]:
                variable = found.variable
                if variable.simulation_truth or variable.timing in NOT_ADJUSTABLE_TIMINGS - {Timing.treatment}:
                    label = "simulation truth" if variable.simulation_truth else variable.timing.value
                    offending.append(f"{field_name}: '{variable.name}' ({label})")
    if offending:
        return check(
            name, False, "Proposes adjusting for a variable measured after treatment: " + "; ".join(offending[:3])
        )
    return check(name, True, "No post-treatment, outcome or future variable is proposed as an adjustment.")


CHECKS = (
    check_treatment,
    check_outcome,
    check_unit,
    check_time_window,
    check_control,
    check_population,
    check_estimand,
    check_exchangeability,
    check_positivity,
    check_threats,
    check_no_effect_claim,
    check_variables_to_audit,
    check_no_post_treatment_adjustment,
)
MAX_SCORE = sum(1 for fn in CHECKS if fn is not check_variables_to_audit)  # warn-level checks are not scored


def score_estimand_card(card: dict[str, Any] | EstimandCard, project: Project, frame: Any = None) -> list[RubricCheck]:
    """Run every rubric check on a (possibly partial) card against this project's columns and dictionary."""
    parsed = card_from_draft(card)
    ctx = CardContext.build(project, frame)
    return _vacuous_card_earns_nothing(parsed, ctx, [fn(parsed, ctx) for fn in CHECKS])


# A card that states almost nothing cannot earn the "it claims nothing wrong" points (absent
# content earns no points; a card of field names scored 7/12 before).
CORE_FIELDS = ("causal_question", "unit", "treatment", "control_condition", "outcome", "time_window",
               "target_population", "estimand")
NEGATIVE_CHECKS = ("no_effect_claimed", "no_post_treatment_adjustment")


def _vacuous_card_earns_nothing(card: EstimandCard, ctx: CardContext, checks: list[RubricCheck]) -> list[RubricCheck]:
    absent = [name for name in CORE_FIELDS if not _content(getattr(card, name), ctx)[0]]
    if len(absent) < len(CORE_FIELDS) // 2:
        return checks
    reason = (f"Not assessed: {len(absent)} of {len(CORE_FIELDS)} core fields are empty, placeholders, a bare "
              f"column name or one repeated word ({', '.join(absent[:4])}{'…' if len(absent) > 4 else ''}).")
    return [c.model_copy(update={"passed": False, "reason": reason}) if c.name in NEGATIVE_CHECKS and c.passed else c
            for c in checks]
