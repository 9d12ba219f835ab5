"""Memo checks that follow what the memo claims: which row it quotes, the interval and unit around the point,
certainty and significance wording against the interval, relative readings of a risk difference, whether the
memo is readable at all, and whether a field holds content.

These relate the memo's words to the project's figures (issue 22 §2): a memo quoting the naive difference as
"the effect", or "we can be certain" above an observational estimate, must lose points however it is worded.
"""

from __future__ import annotations

import re

from causal_core.ai.rubric import check
from causal_core.memo.facts import MemoFacts
from causal_core.memo.markup import strip_code_spans
from causal_core.memo.numbers import CI_LEVELS, TextNumber, numbers_in
from causal_core.project import EstimateRow, RubricCheck

NEGATED_BEFORE_RE = re.compile(
    r"\b(?:not|no|never|cannot|can't|doesn't|don't|isn't|aren't|won't|without|nor)\b[^.;:!?]{0,30}$", re.IGNORECASE
)
CERTAINTY_RE = re.compile(
    r"\bwe (?:can|could) be (?:certain|sure|confident)\b|\bsettles? the (?:question|matter|debate|issue)\b"
    r"|\bleaves? (?:no|little) (?:room for )?doubt\b|\bno doubt\b|\bit is (?:clear|certain|obvious|evident|beyond "
    r"doubt) that\b|\bprov(?:es|ed|en|ing|e)\b|\bproof\b|\bfor (?:sure|certain)\b|\bundeniabl\w*|\bbeyond (?:any |all "
    r"|reasonable )?doubt\b|\bwithout (?:a |any )?doubt\b|\bdefinitive(?:ly)?\b|\bconclusive(?:ly)?\b"
    r"|\bguarantee[sd]?\b|\bcertainly\b|\bunequivocal\w*|\bindisputabl\w*|\bno question that\b",
    re.IGNORECASE,
)
SIGNIFICANT_RE = re.compile(
    r"\b(?:statistically )?significant(?:ly)?\b|\bexclud\w* zero\b|\bdistinguishable from zero\b"
    r"|\bclear (?:effect|evidence|reduction|increase|decrease)\b",
    re.IGNORECASE,
)
NULL_RE = re.compile(
    r"\binclud\w* zero\b|\bcovers? zero\b|\binconclusive\b|\bnot (?:statistically )?significant\b"
    r"|\bcould (?:well )?be zero\b|\bno (?:clear|detectable|measurable|discernible) (?:effect|difference|change)\b"
    r"|\bmay make no difference\b|\bindistinguishable from zero\b|\bno effect\b",
    re.IGNORECASE,
)
RELATIVE_RE = re.compile(
    r"\bof (?:its|the|their) (?:current|baseline|previous|existing|original|usual|prior) (?:level|rate|value)\b"
    r"|\brelative (?:terms|reduction|decrease|increase|drop|change|effect|risk)\b|\bin relative terms\b"
    r"|\d\s?%\s+(?:lower|higher|less|more|smaller|larger|fewer) than\b|\bper ?cent (?:lower|higher) than\b",
    re.IGNORECASE,
)
BARE_PERCENT_RE = re.compile(r"(\d+(?:\.\d+)?)\s?%(?!\s*(?:points?\b|pp\b|percentage|[-–]?\s*point))", re.IGNORECASE)
BINARY_UNIT_RE = re.compile(
    r"\d\s?%|percentage[- ]points?|\bpp\b|\bpoints?\b|\bprobabilit\w*|\bper 100\b", re.IGNORECASE
)
METHOD_WORDS_RE = re.compile(
    r"\bnaive\b|\bunadjusted\b|before adjustment|\braw\b|\bregression\b|\bIPW\b|inverse[- ]probability|"
    r"\bweighting\b|\boutcome model\b|\bmatching\b|\bg-computation\b|\btrue\b|\bsimulation\b|\btruth\b",
    re.IGNORECASE,
)
TRUTH_RE = re.compile(r"\btrue (?:ATE|ATT|ATC|effect)\b|\bsimulation\b|\btruth\b", re.IGNORECASE)
INTERVAL_CUE_RE = re.compile(r"\binterval\b|\bCI\b|\bconfidence\b|\brange\b|\[", re.IGNORECASE)
PLACEHOLDER_RE = re.compile(
    r"(?:string|text|todo|tbd|n/?a|na|none|null|nil|tba|placeholder|lorem ipsum\b.*|\.{2,}|…|-+|_+|<[^<>]{0,40}>|"
    r"\{[^{}]{0,40}\}|\[[^\[\]]{0,40}\])\.?",
    re.IGNORECASE,
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENGLISH_STOPWORDS = _words(
    "the a an of to and in is are was were be been that this it for on with as by at from or not we our "
    "if would could may might should can which than its their there these those has have had will into "
    "but so because before after about under over more less"
)
FOREIGN_STOPWORDS = (
    _words(
        # French, Spanish and German function words that are not English words
        "le la les des du une est sont que qui dans pour pas sur avec ce cette nous sans aux ou "
        "el los las del es son que una por para con sin su sus como más muy se lo al esto "
        "der die das und ist sind nicht mit für von dem den ein eine auf zu wir bei ohne dass sich auch"
    )
    - ENGLISH_STOPWORDS
)
SECTION_WORDS_FOR_LANGUAGE = 6
FOREIGN_MIN = 2  # one borrowed word ('la', 'die') is not another language


def absent(text: str) -> bool:
    """True when a field holds no content: empty, a schema placeholder, or one token repeated."""
    stripped = strip_code_spans(text or "").strip().strip("\"'`*_ ")
    if not stripped or PLACEHOLDER_RE.fullmatch(stripped):
        return True
    tokens = re.findall(r"[^\W_]+", stripped.lower())
    return not tokens or (len(tokens) > 1 and len(set(tokens)) == 1)  # "ATE" is an answer; "churn churn" is not


def unreadable_section(sections: dict[str, str], keys: list[str]) -> str | None:
    """The first scored section written in another language, with its stop-word counts; None when all are English.

    A rubric built on English cues cannot audit French or German; such a memo is "not auditable", never a pass.
    """
    for key in keys:
        words = re.findall(r"[^\W\d_]+", (sections.get(key) or "").lower())
        if len(words) < SECTION_WORDS_FOR_LANGUAGE:
            continue
        english = sum(word in ENGLISH_STOPWORDS for word in words)
        foreign = sum(word in FOREIGN_STOPWORDS for word in words)
        if foreign >= FOREIGN_MIN and foreign > english:
            return f"{key} ({english} English vs {foreign} French/Spanish/German stop words in {len(words)} words)"
    return None


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;])\s+(?=[A-Z\W])|\n+", text or "") if s.strip()]


def effect_text(value: float | None, binary: bool) -> str:
    """A project figure as the rubric's reasons show it (risk differences in percentage points)."""
    if value is None:
        return "n/a"
    return f"{value * 100:+.2f} pp" if binary else f"{value:+.4g}"


def _row_text(row: EstimateRow, binary: bool) -> str:
    interval = ""
    if row.ci_low is not None and row.ci_high is not None:
        interval = f" [{effect_text(row.ci_low, binary)}, {effect_text(row.ci_high, binary)}]"
    return f"{row.method} {effect_text(row.estimate, binary)}{interval}"


def _effect_numbers(sentence: str) -> list[TextNumber]:
    """Numbers of a sentence without CI levels ("95 %", "95% CI")."""
    found = numbers_in(sentence)
    return [n for n in found if not (n.percent and n.decimals == 0 and abs(n.value) in CI_LEVELS)]


def check_primary_quoted(sections: dict[str, str], facts: MemoFacts) -> RubricCheck:
    """The main estimate must quote the primary row; another row quoted unlabelled as 'the effect' fails."""
    name = "quotes_primary_row"
    primary = facts.primary
    if primary is None:
        return check(name, True, "no estimate yet: no row to quote")
    others = [r for r in facts.rows if r is not primary and not _same_figure(r.estimate, primary.estimate)]
    quoted_primary = False
    for sentence in _sentences(sections.get("main_estimate", "")):
        for number in _effect_numbers(sentence):
            if number.matches(primary.estimate):
                quoted_primary = True
                continue
            if any(bound is not None and number.matches(bound) for bound in (primary.ci_low, primary.ci_high)):
                continue  # an end of the primary's own interval
            other = next((r for r in others if number.matches(r.estimate)), None)
            if other is not None and not METHOD_WORDS_RE.search(sentence):
                return check(
                    name,
                    False,
                    f"the main estimate quotes {number.text} ({_row_text(other, facts.binary)}) as the effect; the "
                    f"primary row is {_row_text(primary, facts.binary)}",
                )
    if not quoted_primary and _only_unmatched_numbers(sections.get("main_estimate", ""), facts):
        return check(name, True, "the main estimate's numbers match no row: numbers_match_project fails them")
    if not quoted_primary:
        return check(
            name, False, f"the main estimate does not quote the primary row ({_row_text(primary, facts.binary)})"
        )
    return check(name, True, f"quotes the primary row ({_row_text(primary, facts.binary)})")


def _only_unmatched_numbers(text: str, facts: MemoFacts) -> bool:
    """The section quotes numbers, none of them an estimate row: an invented figure, which the numbers check owns."""
    numbers = _effect_numbers(text)
    return bool(numbers) and not any(n.matches(r.estimate) for n in numbers for r in facts.rows)


def _same_figure(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12


def _unit_in(sentence: str, point: TextNumber, facts: MemoFacts) -> bool:
    """Whether the sentence gives the point a unit: percentage points for a risk difference, the outcome's
    own unit (a word right after the number) or its name for a continuous outcome."""
    plain = sentence.replace("`", "")
    if facts.binary:
        return point.percent or point.either_scale or bool(BINARY_UNIT_RE.search(plain))
    outcome = (facts.outcome or "").lower()
    if outcome and (outcome in plain.lower() or outcome.replace("_", " ") in plain.lower()):
        return True
    after = re.match(r"\s*([A-Za-z][A-Za-z-]+)", plain[plain.find(point.text) + len(point.text) :])
    return bool(after) and after.group(1).lower() not in {"to", "and", "with", "in", "on", "for", "the", "a", "an"}


def _interval_after(numbers: list[TextNumber], index: int) -> tuple[TextNumber, TextNumber] | None:
    return (numbers[index + 1], numbers[index + 2]) if index + 2 < len(numbers) else None


def _inside(point: TextNumber, low: TextNumber, high: TextNumber) -> bool:
    """Whether the point lies in the stated interval; magnitudes when the memo writes a signed point with an
    unsigned range ("-4.7 (2.6 to 6.8)"), signed values otherwise."""
    lo, hi = sorted((low.value, high.value))
    if point.value < 0 <= lo or (point.value > 0 and hi < 0):
        lo, hi = sorted((abs(low.value), abs(high.value)))
        return lo - 1e-9 <= abs(point.value) <= hi + 1e-9
    return lo - 1e-9 <= point.value <= hi + 1e-9


def check_interval_and_unit(sections: dict[str, str], facts: MemoFacts) -> RubricCheck:
    """Every point estimate in the main estimate carries its 95 % interval and a unit, and lies inside it."""
    name = "estimate_with_interval_and_unit"
    primary = facts.primary
    if primary is None or primary.ci_low is None or primary.ci_high is None:
        return check(name, True, "no estimate with an interval yet")
    points = 0
    for sentence in _sentences(sections.get("main_estimate", "")):
        if TRUTH_RE.search(sentence):
            continue  # the simulation's true effect is a reference, not an estimate
        numbers = _effect_numbers(sentence)
        index = 0
        while index < len(numbers):
            point = numbers[index]
            row = next((r for r in facts.rows if point.matches(r.estimate)), None)
            if row is None:
                index += 1
                continue
            points += 1
            interval = _interval_after(numbers, index)
            if interval is None or not INTERVAL_CUE_RE.search(sentence) and "to" not in sentence:
                return check(name, False, f"the point estimate {point.text} is given without its interval")
            if not _inside(point, *interval):
                return check(
                    name,
                    False,
                    f"the point {point.text} lies outside its own interval [{interval[0].text}, {interval[1].text}]",
                )
            if not _unit_in(sentence, point, facts):
                return check(name, False, f"the point estimate {point.text} has no unit")
            index += 3
    if not points and _only_unmatched_numbers(sections.get("main_estimate", ""), facts):
        return check(name, True, "the main estimate's numbers match no row: numbers_match_project fails them")
    if not points:
        return check(name, False, "the main estimate quotes no point estimate with its interval")
    return check(name, True, f"{points} point estimate(s) with interval and unit, each inside its interval")


def _unnegated(pattern: re.Pattern[str], text: str) -> list[str]:
    found = []
    for sentence in _sentences(text):
        for match in pattern.finditer(sentence):
            if not NEGATED_BEFORE_RE.search(sentence[: match.start()]):
                found.append(match.group(0))
    return found


def check_significance(full: str, facts: MemoFacts) -> RubricCheck:
    """Significance wording must match the interval: 'significant' over an interval covering 0 fails, and so
    does 'inconclusive' or 'includes zero' over one that excludes 0. Certainty wording is no_overclaiming's."""
    name = "significance_matches_interval"
    primary = facts.primary
    if primary is None or primary.ci_low is None or primary.ci_high is None:
        return check(name, True, "no interval yet: no significance claim to compare")
    covers_zero = primary.ci_low <= 0 <= primary.ci_high
    interval = f"[{effect_text(primary.ci_low, facts.binary)}, {effect_text(primary.ci_high, facts.binary)}]"
    significant = _unnegated(SIGNIFICANT_RE, full)
    nulls = [m.group(0) for m in NULL_RE.finditer(full)]
    if covers_zero and significant:
        return check(name, False, f"claims '{significant[0]}' but the 95 % interval {interval} covers 0")
    if not covers_zero and nulls:
        return check(name, False, f"says '{nulls[0]}' but the 95 % interval {interval} excludes 0")
    state = "covers 0" if covers_zero else "excludes 0"
    return check(name, True, f"wording agrees with the interval {interval}, which {state}")


def certainty_claims(text: str) -> list[str]:
    """Certainty paraphrases ("we can be certain", "settles the question", "it is clear that"), negation-aware."""
    return _unnegated(CERTAINTY_RE, text)


def check_absolute_reading(sections: dict[str, str], facts: MemoFacts) -> RubricCheck:
    """A risk difference is read in percentage points, never as a relative change of the outcome's level."""
    name = "risk_difference_read_absolutely"
    if not facts.binary or facts.primary is None:
        return check(name, True, "not a risk difference: no relative reading to rule out")
    text = "\n".join(sections.get(key, "") for key in ("main_estimate", "interpretation", "key_diagnostic"))
    relative = RELATIVE_RE.search(text)
    if relative:
        return check(
            name,
            False,
            f"reads the risk difference {effect_text(facts.primary.estimate, True)} as relative "
            f"('{relative.group(0)}'): it is a change in percentage points",
        )
    for match in BARE_PERCENT_RE.finditer(text):
        value = float(match.group(1))
        if abs(value - abs(facts.primary.estimate) * 100) <= 0.5 * 10 ** -len(match.group(1).partition(".")[2]) + 1e-9:
            return check(
                name,
                False,
                f"'{match.group(0).strip()}' reads the risk difference as a percent change; write "
                f"{effect_text(facts.primary.estimate, True)} (percentage points)",
            )
    return check(
        name, True, f"the risk difference is read in percentage points ({effect_text(facts.primary.estimate, True)})"
    )


LIMITATION_CUE_RE = re.compile(
    r"confound\w*|\bbias\w*|unobserved|unmeasured|\bselection\b|\boverlap\b|positivity|measure(?:ment|d)|missing\w*|"
    r"\bsample\b|generali[sz]\w*|extrapolat\w*|spill-?over|interference|leak\w*|misspecif\w*|\bnoise\b|\bpower\b|"
    r"attrition|drift|seasonal\w*|external validity|\bsmall\b|(?:not|n't|never) (?:in the data|random\w*|"
    r"record\w*|observ\w*|captur\w*|measur\w*|includ\w*|contain\w*|see[ns]?\b)|outside the data|"
    r"post-treatment|disagree\w*|\bonly\b|assum\w*|rel(?:y|ies) on",
    re.IGNORECASE,
)
LIMITATION_MIN_WORDS = 6


def check_limitation(text: str) -> RubricCheck:
    """A limitation sentence names what could make the estimate wrong, in a sentence, not five generic words."""
    name = "limitation_stated"
    words = re.findall(r"[^\W_]+", strip_code_spans(text or ""))
    cue = LIMITATION_CUE_RE.search(text or "")
    if absent(text) or len(words) < LIMITATION_MIN_WORDS:
        return check(name, False, f"the main limitation is missing or too short ({len(words)} word(s))")
    if not cue:
        return check(name, False, "the main limitation names no threat (confounding, bias, overlap, measurement, ...)")
    return check(name, True, f"states a limitation ('{cue.group(0)}', {len(words)} words)")
