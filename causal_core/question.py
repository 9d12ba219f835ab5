"""The Question stage (N01 §5–7): a stakeholder brief becomes an approved EstimandCard.

The model is asked for a design artifact, never an answer. Everything after the draft is
deterministic: the rubric below scores any card against the project's own columns and data
dictionary (token overlap and dictionary timing, nothing hard-coded to one dataset), approval
copies the card's treatment / outcome / unit onto the project only where the match is clear,
and the card's threats and assumptions become stakeholder questions (N01 §6 discussion).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from causal_core.project import (
    NOT_ADJUSTABLE_TIMINGS,
    AIInteraction,
    EstimandCard,
    OpenQuestion,
    Project,
    RubricCheck,
    Timing,
)
from causal_core.rubric import audit_record, check
from causal_core.structured import StructuredTask

CARD_FIELDS = tuple(EstimandCard.model_fields)
LIST_FIELDS = ("required_assumptions", "likely_threats", "variables_to_audit")
TEXT_FIELDS = tuple(name for name in CARD_FIELDS if name not in LIST_FIELDS)

# Bounds for constrained decoding: every string and list is finite so a grammar-guided decode
# always terminates. Eight list items admit the N01 §6 card (seven variables to audit).
MAX_TEXT = 300
MAX_ITEM = 200
MAX_ITEMS = 8

# ---------------------------------------------------------------------------------------------
# The task: prompts, bounded draft schema, conversion to the project's EstimandCard
# ---------------------------------------------------------------------------------------------
SYSTEM_PROMPT = """You are helping an analyst draft a causal design document. Do not estimate the answer.
Do not say whether the treatment worked, do not quote any effect size, and do not write that anything
"proves" or "caused" a result: the data has not been analysed yet.

Return only one JSON object, an estimand card with exactly these 12 fields:
business_question, causal_question, unit, treatment, control_condition, outcome, time_window,
target_population, estimand (strings) and required_assumptions, likely_threats, variables_to_audit
(lists of short strings).

- Name the treatment and the outcome with the dataset's column names where one fits.
- The estimand names its type (ATE, ATT, ATC or CATE) and the population it averages over.
- required_assumptions: no unmeasured confounding (exchangeability), positivity (overlap),
  consistency, no interference, covariates measured before treatment.
- likely_threats: how units were chosen for treatment, post-treatment variables that are tempting
  controls, timing and logging problems.
- variables_to_audit: dataset column names; write "(not in data)" after anything the data lacks.
- Never propose adjusting for a post-treatment, outcome or future variable.
- Flag anything that cannot be determined from the brief: write
  "cannot be determined from the brief: <what to ask the stakeholder>" in that field."""

FIELD_ALIASES: dict[str, str] = {
    "question": "business_question",
    "stakeholder_question": "business_question",
    "research_question": "causal_question",
    "causal_query": "causal_question",
    "unit_of_analysis": "unit",
    "analysis_unit": "unit",
    "units": "unit",
    "intervention": "treatment",
    "exposure": "treatment",
    "treatment_definition": "treatment",
    "control": "control_condition",
    "comparison": "control_condition",
    "comparison_condition": "control_condition",
    "counterfactual": "control_condition",
    "primary_outcome": "outcome",
    "outcome_definition": "outcome",
    "time_period": "time_window",
    "window": "time_window",
    "timeframe": "time_window",
    "time_frame": "time_window",
    "population": "target_population",
    "study_population": "target_population",
    "target_estimand": "estimand",
    "causal_estimand": "estimand",
    "assumptions": "required_assumptions",
    "identification_assumptions": "required_assumptions",
    "threats": "likely_threats",
    "threats_to_validity": "likely_threats",
    "risks": "likely_threats",
    "variables": "variables_to_audit",
    "audit_variables": "variables_to_audit",
    "variables_to_check": "variables_to_audit",
    "confounders": "variables_to_audit",
    "likely_confounders": "variables_to_audit",
}

_Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
_Item = Annotated[str, StringConstraints(max_length=MAX_ITEM)]
_Items = Annotated[list[_Item], Field(max_length=MAX_ITEMS)]


class EstimandCardDraft(BaseModel):
    """What the model must emit (N01 §6, all 12 fields), bounded for constrained decoding."""

    model_config = ConfigDict(extra="forbid")

    business_question: _Text = Field(description="The stakeholder's question, in their words.")
    causal_question: _Text = Field(description="The question as a causal contrast, without an answer.")
    unit: _Text = Field(description="The unit of analysis (one row of the analysis).")
    treatment: _Text = Field(description="The intervention, named with the data column where one fits.")
    control_condition: _Text = Field(description="What the comparison units did instead.")
    outcome: _Text = Field(description="The outcome, named with the data column where one fits.")
    time_window: _Text = Field(description="When treatment happened and when the outcome is measured.")
    target_population: _Text = Field(description="Which units the answer is about.")
    estimand: _Text = Field(description="ATE, ATT, ATC or CATE, and the population it averages over.")
    required_assumptions: _Items = Field(description="Identification assumptions.")
    likely_threats: _Items = Field(description="Ways the design could mislead.")
    variables_to_audit: _Items = Field(description="Data columns to check; '(not in data)' if missing.")


def build_inputs(project: Project, frame: Any = None) -> dict[str, Any]:
    """Prompt inputs: the brief plus the columns and dictionary (simulation-truth columns left out)."""
    columns = _column_names(project, frame)
    entries = {entry.variable: entry for entry in project.dictionary}
    rows = []
    for name in dict.fromkeys([*columns, *entries]):
        entry = entries.get(name)
        if entry is not None and entry.simulation_truth:
            continue
        rows.append(
            {
                "variable": name,
                "timing": (entry.timing_label or entry.timing.value) if entry else "unknown",
                "description": entry.description if entry else "",
                "in_data": name in columns,
            }
        )
    source = project.data_source
    return {
        "brief": project.brief.strip(),
        "dataset": source.name if source else "",
        "rows": int(len(frame)) if frame is not None else (source.rows if source else 0),
        "columns": rows,
    }


def build_user_prompt(inputs: dict[str, Any]) -> str:
    """The brief and a compact dictionary table; no data values, so nothing can be 'estimated'."""
    lines = [
        "Stakeholder brief:",
        str(inputs.get("brief", "")).strip() or "(empty)",
        "",
        f"Dataset: {inputs.get('dataset') or 'unnamed'} ({inputs.get('rows', 0)} rows).",
        "Columns (name | timing | description):",
    ]
    for row in inputs.get("columns", []):
        missing = "" if row.get("in_data", True) else " [dictionary only, not in the data]"
        lines.append(f"- {row['variable']} | {row.get('timing') or 'unknown'} | {row.get('description', '')}{missing}")
    lines += ["", "Return the estimand card JSON now. Do not estimate anything."]
    return "\n".join(lines)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_as_text(item) for item in value if _as_text(item))
    return " ".join(str(value).split())


def _as_items(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"\n|;", value)
    if not isinstance(value, list):
        value = [value]
    return [text for text in (_as_text(item) for item in value) if text]


def normalise_keys(payload: dict[str, Any]) -> dict[str, Any]:
    """Rename synonym keys (``assumptions`` → ``required_assumptions``) to the card's field names."""
    renamed: dict[str, Any] = {}
    for key, value in payload.items():
        canonical = str(key).strip().lower().replace(" ", "_").replace("-", "_")
        canonical = FIELD_ALIASES.get(canonical, canonical)
        if canonical in renamed and not value:
            continue
        renamed[canonical] = value
    return renamed


def card_from_draft(payload: dict[str, Any] | EstimandCard | None) -> EstimandCard:
    """A lenient conversion of a parsed draft: aliases applied, lists split, unknown keys dropped.

    Scoring must never raise on a partial or oddly-typed draft (the lab scores empty defaults).
    """
    if isinstance(payload, EstimandCard):
        return payload
    data = normalise_keys(payload or {})
    values: dict[str, Any] = {name: _as_text(data.get(name)) for name in TEXT_FIELDS}
    values |= {name: _as_items(data.get(name)) for name in LIST_FIELDS}
    return EstimandCard(**values)


def card_from_json_payload(payload: Any) -> EstimandCard:
    """Strict reading of a card file (CLI): aliases allowed, unknown keys and wrong types are errors."""
    if isinstance(payload, dict) and isinstance(payload.get("estimand_card"), dict):
        payload = payload["estimand_card"]
    if not isinstance(payload, dict):
        raise ValueError("the card must be a JSON object with the 12 estimand-card fields")
    try:
        return EstimandCard.model_validate(normalise_keys(payload))
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "card"
        raise ValueError(
            f"the card does not match the estimand-card schema: {location}: {first['msg']} "
            f"({error.error_count()} problem(s) in all)"
        ) from None


# ---------------------------------------------------------------------------------------------
# Example cards (work without any model)
# ---------------------------------------------------------------------------------------------
N01_CARD: dict[str, Any] = {
    "business_question": "Did proactive customer-success outreach reduce churn last quarter?",
    "causal_question": "What was the average causal effect of proactive outreach on 90-day churn among eligible SaaS accounts?",
    "unit": "customer account",
    "treatment": "receiving proactive customer-success outreach during the intervention month",
    "control_condition": "not receiving proactive outreach during the same eligibility window",
    "outcome": "churn within 90 days after the outreach eligibility date",
    "time_window": "accounts eligible during the prior quarter; outcome measured over the following 90 days",
    "target_population": "eligible active SaaS accounts that could have received proactive outreach",
    "estimand": "average treatment effect on churn risk for the eligible-account population",
    "required_assumptions": [
        "all common causes of outreach assignment and churn are observed and adjusted for",
        "each account has a positive probability of receiving and not receiving outreach conditional on covariates",
        "pre-treatment covariates are measured before outreach assignment",
        "outreach for one account does not materially affect another account churn outcome",
    ],
    "likely_threats": [
        "customer-success managers targeted accounts using unobserved knowledge",
        "usage changes after outreach could be mistakenly controlled for",
        "enterprise accounts may have different overlap than small accounts",
        "churn timing could overlap with outreach timing for some accounts",
    ],
    "variables_to_audit": [
        "account health score",
        "prior support tickets",
        "usage before outreach",
        "company size",
        "tenure",
        "region",
        "post-outreach engagement variables",
    ],
}

# Written from N09 §3 and the §10 evidence bundle: treatment assistant_enabled, primary outcome
# human_handled_hours, guardrail customer_satisfaction_score, team-week grain, total effect.
SUPPORT_CARD: dict[str, Any] = {
    "business_question": (
        "Did enabling the AI support assistant reduce human-handled workload without harming customer experience?"
    ),
    "causal_question": (
        "What was the average total effect of enabling the AI support assistant on weekly human-handled hours "
        "per team-week, with customer satisfaction as a guardrail outcome?"
    ),
    "unit": "support team-week (team_id by week_start)",
    "treatment": "AI support assistant enabled for the team during the week (assistant_enabled = 1)",
    "control_condition": (
        "assistant not enabled for the team in that week (assistant_enabled = 0): teams before their rollout "
        "week and teams never enabled"
    ),
    "outcome": "human-handled workload hours during the team-week (human_handled_hours)",
    "time_window": (
        "14 reporting weeks starting 2025-01-06 during the staggered rollout; workload measured within the same week"
    ),
    "target_population": (
        "support teams in the billing, technical and retention queues (Americas, EMEA, APAC) that were "
        "candidates for assistant enablement during the rollout"
    ),
    "estimand": (
        "average treatment effect (ATE, total effect) of assistant enablement on weekly human-handled hours "
        "across eligible team-weeks; the same contrast for the guardrail customer_satisfaction_score"
    ),
    "required_assumptions": [
        "no unmeasured confounding: rollout timing depends only on recorded pre-treatment factors "
        "(manager priority, readiness, baseline volume, region, queue, backlog, staffing)",
        "positivity / overlap: every team-week had a real chance of being enabled and of not being enabled "
        "given those factors",
        "consistency: enablement means the same assistant configuration for every team and week",
        "no interference: one team's enablement does not change another team's workload (shared queues or routing)",
        "covariates are measured before enablement; agent_uses_ai and deflection_rate are post-treatment and "
        "stay out of the total-effect adjustment set",
    ],
    "likely_threats": [
        "leadership prioritized ready, high-volume teams for early enablement (manager_priority, team_readiness)",
        "post-treatment mediators (agent_uses_ai, deflection_rate) are tempting controls that would remove part "
        "of the effect",
        "next_week_backlog leaks information from the following week",
        "duplicated team-weeks and missing baseline volume or satisfaction that depend on region, readiness "
        "and queue load",
        "seasonal backlog pressure coincides with the staggered rollout weeks",
    ],
    "variables_to_audit": [
        "team_id by week_start grain (duplicated team-weeks)",
        "baseline_ticket_volume missingness (APAC, low-readiness teams)",
        "customer_satisfaction_score missingness in busy technical queues (guardrail outcome)",
        "manager_priority and team_readiness balance between enabled and not-enabled weeks",
        "backlog_start and staffing_hours measured at the start of the week",
        "agent_uses_ai and deflection_rate (post-treatment: audit, never adjust)",
        "next_week_backlog (future leakage)",
    ],
}

EXAMPLE_CARDS = {"retention": N01_CARD, "support": SUPPORT_CARD}


def example_card(dataset_name: str) -> EstimandCard:
    """The worked example card for a built-in dataset (N01 §6 verbatim for ``retention``)."""
    if dataset_name not in EXAMPLE_CARDS:
        raise ValueError(f"no example card for '{dataset_name}': choose one of {', '.join(EXAMPLE_CARDS)}")
    return EstimandCard.model_validate(EXAMPLE_CARDS[dataset_name])


# ---------------------------------------------------------------------------------------------
# Matching card text to data columns (token overlap weighted by rarity, plus dictionary text)
# ---------------------------------------------------------------------------------------------
_STOP = frozenset(
    ["a", "an", "the", "of", "on", "in", "for", "to", "and", "or", "by", "with", "during", "within", "after", "before", "is", "was", "are", "were", "be", "been", "being", "that", "this", "these", "those", "at", "from", "per", "each", "whether", "not", "no", "its", "their", "as", "any", "all", "who", "which", "same", "than", "over", "under", "into", "if", "it", "they", "them", "there", "we", "our", "has", "have", "had", "do", "does", "did", "can", "could", "may", "might", "would", "should", "will", "vs", "versus", "via"]  # noqa: SIM905
)
_GENERIC = frozenset({"id", "identifier", "key", "idx"})
# Temporal anchors ("before outreach", "post-rollout") say *when*, not *what*: they are removed
# before matching so "usage before outreach" is about usage, not outreach.
_ANCHOR = re.compile(
    r"\b(?:before|after|prior to|following|post|pre|during|since|until|ahead of)[\s\-]+(?:the\s+|a\s+|an\s+)?[a-z0-9]+"
)


def _stem(word: str) -> str:
    for suffixes in (("ments", "ment"), ("ings", "ing", "ed", "es", "s"), ("e",)):
        for suffix in suffixes:
            if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
    return word


def tokens(text: str, *, strip_anchors: bool = True) -> set[str]:
    """Content tokens of a phrase: lower-cased, stop words dropped, lightly stemmed."""
    lowered = str(text or "").lower()
    if strip_anchors:
        lowered = _ANCHOR.sub(" ", lowered)
    return {_stem(word) for word in re.findall(r"[a-z0-9]+", lowered) if word not in _STOP}


@dataclass(frozen=True)
class Variable:
    """One candidate column: data column and/or dictionary entry."""

    name: str
    description: str = ""
    timing: Timing = Timing.unknown
    simulation_truth: bool = False
    in_data: bool = True
    name_tokens: frozenset[str] = frozenset()
    desc_tokens: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    variable: Variable
    score: float
    exact: bool


def _column_names(project: Project, frame: Any) -> list[str]:
    if frame is not None:
        return [str(column) for column in frame.columns]
    if project.data_source is not None:
        return list(project.data_source.columns)
    return []


def _name_pattern(name: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in re.split(r"[_\W]+", name.lower()) if part]
    return re.compile(r"(?<![a-z0-9])" + r"[\s_\-]*".join(parts) + r"(?![a-z0-9])")


@dataclass
class CardContext:
    """The project facts every check needs: candidate variables and how rare each token is."""

    variables: list[Variable]
    treatment_tokens: set[str] = field(default_factory=set)
    idf: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, project: Project, frame: Any = None) -> CardContext:
        columns = _column_names(project, frame)
        entries = {entry.variable: entry for entry in project.dictionary}
        variables = []
        for name in dict.fromkeys([*columns, *entries]):
            entry = entries.get(name)
            name_tokens = tokens(name.replace("_", " "), strip_anchors=False) - _GENERIC
            variables.append(
                Variable(
                    name=name,
                    description=entry.description if entry else "",
                    timing=entry.timing if entry else Timing.unknown,
                    simulation_truth=bool(entry and entry.simulation_truth),
                    in_data=name in columns,
                    name_tokens=frozenset(name_tokens or tokens(name.replace("_", " "), strip_anchors=False)),
                    desc_tokens=frozenset(tokens(entry.description) if entry else ()),
                )
            )
        document_frequency: dict[str, int] = {}
        for variable in variables:
            for token in variable.name_tokens | variable.desc_tokens:
                document_frequency[token] = document_frequency.get(token, 0) + 1
        count = max(len(variables), 1)
        idf = {token: math.log(1 + count / df) for token, df in document_frequency.items()}
        treatment_tokens = {"treatment", "intervention", "rollout", "enablement", "enabl", "launch", "exposure"}
        if project.treatment:
            treatment_tokens |= tokens(project.treatment.replace("_", " "), strip_anchors=False)
        return cls(variables=variables, treatment_tokens=treatment_tokens, idf=idf)

    def weight(self, token: str) -> float:
        return self.idf.get(token, math.log(1 + max(len(self.variables), 1)))

    def matches(self, text: str, *, include_truth: bool = False) -> list[Match]:
        """Variables the phrase names, best first; a match needs the column name or clear overlap."""
        text_tokens = tokens(text)
        stripped = _ANCHOR.sub(" ", str(text or "").lower())
        if not text_tokens:
            return []
        text_weight = sum(self.weight(t) for t in text_tokens)
        found = []
        for variable in self.variables:
            if variable.simulation_truth and not include_truth:
                continue
            exact = bool(_name_pattern(variable.name).search(stripped))
            name_weight = sum(self.weight(t) for t in variable.name_tokens) or 1.0
            name_cov = sum(self.weight(t) for t in variable.name_tokens & text_tokens) / name_weight
            text_cov = sum(self.weight(t) for t in text_tokens & (variable.name_tokens | variable.desc_tokens)) / text_weight
            subset = text_tokens <= variable.name_tokens
            if exact or subset or (name_cov >= 0.999 and text_cov >= 0.3) or (name_cov >= 0.5 and text_cov >= 0.5):
                found.append(Match(variable, name_cov + text_cov + (1.0 if exact else 0.0), exact))
        return sorted(found, key=lambda m: m.score, reverse=True)

    def best(self, text: str) -> Variable | None:
        found = self.matches(text)
        return found[0].variable if found else None

    def names_post_treatment(self, text: str) -> bool:
        """Does the phrase describe post-treatment measurements ("post-outreach usage", "after rollout")?"""
        lowered = str(text or "").lower()
        for anchor in re.finditer(r"\b(post|after|following)[\s\-]+(?:the\s+)?([a-z0-9]+)", lowered):
            if _stem(anchor.group(2)) in self.treatment_tokens or anchor.group(2) in self.treatment_tokens:
                return True
        return bool(re.search(r"\bpost[\s\-]?treatment\b|\bmediators?\b", lowered))

    def post_treatment_variables(self) -> list[str]:
        return [v.name for v in self.variables if v.timing == Timing.post_treatment and not v.simulation_truth]


# ---------------------------------------------------------------------------------------------
# Rubric: one small pure function per check
# ---------------------------------------------------------------------------------------------
_PLACEHOLDER = re.compile(
    r"^\W*(?:n/?a|none|null|unknown|tbd|tbc|todo|unspecified|not specified|not stated|not applicable|\?+|-+|\.+)\W*$"
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


def check_treatment(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    name = "treatment_in_data"
    stated, why = _stated(card.treatment)
    if not stated:
        return check(name, False, f"Treatment is {why}.")
    if not ctx.variables:
        return check(name, False, "The project has no data columns or dictionary to match the treatment against.")
    variable = ctx.best(card.treatment)
    if variable is None:
        return check(name, False, f"Treatment '{_short(card.treatment)}' matches no data column or dictionary variable.")
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
    where = "data column" if variable.in_data else "dictionary variable (not in the data)"
    return check(name, True, f"Outcome matches {where} '{variable.name}'.")


def check_unit(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    stated, why = _stated(card.unit)
    return check("unit_stated", stated, f"Unit is {why}.")


_PERIOD = re.compile(
    r"\b(?:day|week|month|quarter|year|period|window|date|season|hour|annual|fy\d*|q[1-4]|h[12]|\d{4})\w*|\d+\s*(?:d|w|m)\b"
)


def check_time_window(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    stated, why = _stated(card.time_window)
    if not stated:
        return check("time_window_stated", False, f"Time window is {why}.")
    if not _PERIOD.search(card.time_window.lower()):
        return check("time_window_stated", False, f"Time window {why} names no period (days, weeks, dates, quarter…).")
    return check("time_window_stated", True, f"Time window is {why}.")


def check_control(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    stated, why = _stated(card.control_condition)
    if not stated:
        return check("control_condition_stated", False, f"Control condition is {why}.")
    if " ".join(card.control_condition.lower().split()) == " ".join(card.treatment.lower().split()):
        return check("control_condition_stated", False, "Control condition repeats the treatment.")
    return check("control_condition_stated", True, f"Control condition is {why}.")


def check_population(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    stated, why = _stated(card.target_population)
    return check("target_population_stated", stated, f"Target population is {why}.")


# Abbreviations are matched case-sensitively ("late adopters" is not a LATE); phrases are not.
_ESTIMAND_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("CATE", re.compile(r"\bCATEs?\b|(?i:conditional average (?:treatment )?effect)")),
    ("ATT", re.compile(r"\bATT\b|(?i:effect (?:of (?:the )?treatment )?on the treated|(?:among|for) the treated\b(?!\s+and))")),
    ("ATC", re.compile(
        r"\bAT[CU]\b|(?i:effect (?:of (?:the )?treatment )?on the (?:untreated|controls?|control group)"
        r"|(?:among|for) the (?:untreated|controls)\b(?!\s+and))"
    )),
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


def check_estimand(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    name = "estimand_type_and_population"
    stated, why = _stated(card.estimand)
    if not stated:
        return check(name, False, f"Estimand is {why}.")
    kind = estimand_kind(card.estimand)
    if kind is None:
        return check(name, False, "Estimand names no type (ATE, ATT, ATC, CATE or 'average treatment effect').")
    population_overlap = tokens(card.estimand) & (tokens(card.target_population) - {"account", "unit"})
    if not (_POPULATION_WORDS.search(card.estimand) or population_overlap):
        return check(name, False, f"Estimand names its type ({kind}) but not the population it averages over.")
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
        "assumption_exchangeability", False,
        "Required assumptions do not state exchangeability / no unmeasured confounding.",
    )


def check_positivity(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    text = " | ".join(card.required_assumptions)
    hit = _POSITIVITY.search(text)
    if hit:
        return check("assumption_positivity", True, f"Positivity / overlap is stated ('{_short(hit.group(0), 50)}').")
    return check("assumption_positivity", False, "Required assumptions do not state positivity / overlap.")


def check_threats(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    threats = [item for item in card.likely_threats if _stated(item)[0] and len(item.split()) >= 2]
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


def _sentences(text: str) -> Iterable[str]:
    for sentence in re.split(r"(?<=[.!?;\n])\s+", text or ""):
        if sentence.strip() and not sentence.strip().endswith("?"):
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
                    (_CLAIM_VERB_BY, True), (_CLAIM_PROOF, True), (_CLAIM_CAUSED, True),
                    (_CLAIM_NUMBER, False), (_CLAIM_VERDICT, True), (past_claim, True),
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
            name, False, f"{len(missing)} of {len(items)} not in the data (flag them as missing): "
            + "; ".join(missing[:4]), severity="warn",
        )
    return check(name, True, f"All {len(items)} variables to audit are in the data or flagged.", severity="warn")


_NEGATED = re.compile(
    r"\b(?:not|never|no|avoid\w*|mistaken\w*|wrong\w*|incorrect\w*|erroneous\w*|exclud\w*|without|tempting|"
    r"bad|risk\w*|don't|shouldn't|mustn't|cannot|instead of)\b"
)
_ADJUST_PATTERNS = [
    re.compile(r"\b(?:adjust|control|condition|stratif|match)\w*\s+(?:for|on|by)\s+([^.;:]+)"),
    re.compile(r"\b(?:include|includes|including|add|adding|use|using)\s+([^.;:]+?)\s+as\s+(?:an?\s+)?(?:covariate|control|confounder|adjustment)"),
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


def check_no_post_treatment_adjustment(card: EstimandCard, ctx: CardContext) -> RubricCheck:
    name = "no_post_treatment_adjustment"
    offending = []
    for field_name, phrase in proposed_adjustments(card):
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
        return check(name, False, "Proposes adjusting for a variable measured after treatment: " + "; ".join(offending[:3]))
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
    return [fn(parsed, ctx) for fn in CHECKS]


# ---------------------------------------------------------------------------------------------
# Open questions for stakeholders (N01 §6 discussion)
# ---------------------------------------------------------------------------------------------
def _plural(unit: str) -> str:
    unit = re.sub(r"\s*\(.*?\)", "", unit or "").strip() or "unit"
    unit = unit.split(";")[0].split(",")[0].strip()
    return unit if unit.endswith("s") else unit + "s"


def _label(text: str, fallback: str) -> str:
    """A short noun phrase for a question: "receiving X during the month" → "X"."""
    text = re.sub(r"\s*\(.*?\)", "", text or "").strip()
    text = re.split(r"\s+(?:during|within|for the|after|before|in the|over|from)\s+|[;,:]", text)[0]
    text = re.sub(r"^(?:receiving|being|getting|the)\s+", "", text.strip(), flags=re.I)
    return _short(text, 60) if text else fallback


_QUESTION_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"unobserved|unmeasured|informal|notes|knowledge|target|prioriti|chose|choose|select|discretion|common cause|confound", re.I),
     "Did anyone choose which {units} got the treatment ({treatment}) using notes or informal knowledge not present in the dataset?"),
    (re.compile(r"post[\s\-]|after (?:the )?\w+|mediator|controlled for|tempting|bad control", re.I),
     "Are post-treatment measurements (anything recorded after {treatment}) being mixed into the covariate table?"),
    (re.compile(r"overlap|positiv|probability|could never|eligib", re.I),
     "Are there {units} that could never receive the treatment ({treatment}) because of staffing, geography or policy?"),
    (re.compile(r"timing|measured before|date|recorded before|pre-treatment|before (?:\w+ )?assignment", re.I),
     "Was the eligibility date recorded before the treatment ({treatment}), and are covariates measured before it?"),
    (re.compile(r"interfer|another|spillover|other (?:team|account|unit)s?|shared", re.I),
     "Could treating one of the {units} change another's {outcome} (shared staff, queues or routing)?"),
    (re.compile(r"leak|future|following week|next week", re.I),
     "Which columns are measured after the outcome window, so they can be dropped from every model?"),
    (re.compile(r"duplicat|missing|logged|logging", re.I),
     "Were all eligible {units} logged, or only treated ones, and why are some rows duplicated or missing?"),
    (re.compile(r"consisten|same (?:way|configuration|version)|version", re.I),
     "Was the treatment ({treatment}) delivered the same way for every one of the {units}?"),
]


def open_questions_from_card(card: EstimandCard) -> list[OpenQuestion]:
    """Stakeholder questions raised by the card's threats and assumptions, one per theme, deduplicated."""
    names = {
        "units": _plural(card.unit),
        "treatment": _label(card.treatment, "the treatment"),
        "outcome": _label(card.outcome, "outcome"),
    }
    questions: dict[str, OpenQuestion] = {}
    if re.search(r"eligib", card.target_population, re.I):
        text = "Were all eligible {units} logged, or only the ones that received the treatment?".format(**names)
        questions[text] = OpenQuestion(text=text, source=f"target population: {_short(card.target_population, 80)}")
    sources = [("threat", item) for item in card.likely_threats] + [
        ("assumption", item) for item in card.required_assumptions
    ]
    for kind, item in sources:
        if not item.strip():
            continue
        template = next((template for pattern, template in _QUESTION_RULES if pattern.search(item)), None)
        text = template.format(**names) if template else f"Can the stakeholders confirm or rule out: {_short(item, 150)}?"
        if text not in questions:
            questions[text] = OpenQuestion(text=text, source=f"{kind}: {_short(item, 80)}")
    return list(questions.values())


def merge_open_questions(existing: list[OpenQuestion], derived: list[OpenQuestion]) -> list[OpenQuestion]:
    """Keep the analyst's questions (and their answers); add derived ones not already listed."""
    known = {question.text.strip().lower() for question in existing}
    return [*existing, *(q for q in derived if q.text.strip().lower() not in known)]


# ---------------------------------------------------------------------------------------------
# Approval
# ---------------------------------------------------------------------------------------------
def _unit_columns(card: EstimandCard, ctx: CardContext) -> list[str]:
    """Identifier columns the unit text names ("customer account" → account_id; "team-week" → team_id, week_start)."""
    unit_tokens = tokens(card.unit, strip_anchors=False)
    chosen = []
    for variable in ctx.variables:
        is_id = variable.timing in {Timing.unit_id, Timing.time_id} or re.search(r"(?:^|_)(?:id|key)$", variable.name)
        named = bool(variable.name_tokens & unit_tokens) or bool(_name_pattern(variable.name).search(card.unit.lower()))
        if is_id and variable.in_data and named:
            chosen.append(variable.name)
    return chosen


def _guardrails(card: EstimandCard, ctx: CardContext, outcome: str | None) -> list[str]:
    """Outcome-window columns the card calls a guardrail."""
    segments = [getattr(card, name) for name in TEXT_FIELDS] + list(card.variables_to_audit)
    found = []
    for segment in segments:
        for piece in re.split(r"[;\n]", segment):
            if "guardrail" not in piece.lower():
                continue
            for variable in ctx.variables:
                if (
                    variable.timing == Timing.outcome and variable.name != outcome and variable.in_data
                    and _name_pattern(variable.name).search(piece.lower()) and variable.name not in found
                ):
                    found.append(variable.name)
    return found


def approve_card_with_notes(project: Project, card: EstimandCard, frame: Any = None) -> tuple[Project, list[str]]:
    """Approve ``card``; set treatment / outcome / unit defaults where the card names a column clearly.

    Returns the new project and one note per default (changed, kept, or not matched) for the page.
    """
    ctx = CardContext.build(project, frame)
    notes: list[str] = []
    updates: dict[str, Any] = {}
    for role, text in (("treatment", card.treatment), ("outcome", card.outcome)):
        current = getattr(project, role)
        found = [m for m in ctx.matches(text) if m.variable.in_data]
        clear = found and (len(found) == 1 or found[0].score - found[1].score >= 0.25)
        if not found:
            notes.append(f"The card's {role} matches no data column; kept {current or 'none'}.")
        elif not clear:
            options = ", ".join(m.variable.name for m in found[:3])
            notes.append(f"The card's {role} could be {options}; kept {current or 'none'} (set it on the Overview page).")
        elif found[0].variable.name != current:
            updates[role] = found[0].variable.name
            notes.append(f"{role.capitalize()} set to {found[0].variable.name} (was {current or 'none'}).")
        else:
            notes.append(f"{role.capitalize()} stays {current}.")
    units = _unit_columns(card, ctx)
    if units and units != project.unit_columns:
        updates["unit_columns"] = units
        notes.append(f"Unit grain set to {', '.join(units)} (was {', '.join(project.unit_columns) or 'none'}).")
    elif units:
        notes.append(f"Unit grain stays {', '.join(units)}.")
    else:
        notes.append(f"The card's unit names no identifier column; kept {', '.join(project.unit_columns) or 'none'}.")
    guardrails = [g for g in _guardrails(card, ctx, updates.get("outcome", project.outcome)) if g not in project.guardrails]
    if guardrails:
        updates["guardrails"] = [*project.guardrails, *guardrails]
        notes.append(f"Guardrail outcome(s) added: {', '.join(guardrails)}.")
    kind = estimand_kind(card.estimand)
    notes.append(f"Estimand: {kind}." if kind else "The estimand names no type; later pages default to the ATE.")
    approved = project
    for name, value in updates.items():
        approved = approved.with_edit("project", name, getattr(project, name), value, note="from the approved estimand card")
    approved = approved.with_edit("estimand_card", "card_status", project.card_status, "approved")
    questions = merge_open_questions(project.open_questions, open_questions_from_card(card))
    approved = approved.model_copy(
        update={**updates, "estimand_card": card, "card_status": "approved", "open_questions": questions}
    )
    return approved, notes


def approve_card(project: Project, card: EstimandCard, frame: Any = None) -> Project:
    """Mark ``card`` approved and copy its clear column matches onto the project (see approve_card_with_notes)."""
    return approve_card_with_notes(project, card, frame)[0]


# ---------------------------------------------------------------------------------------------
# Page actions (Streamlit-free so they are tested directly): each returns a new Project
# ---------------------------------------------------------------------------------------------
def card_is_empty(card: EstimandCard | None) -> bool:
    return card is None or not any(getattr(card, name) for name in CARD_FIELDS)


def with_card(
    project: Project, card: EstimandCard, frame: Any = None, *, interaction: AIInteraction | None = None,
    source: str = "analyst",
) -> Project:
    """Install a new draft card (model draft, example or empty card) and record its audit.

    A card it replaces is kept in the edit log, so replacing an approved card loses nothing.
    """
    updated = project
    if project.estimand_card is not None and project.estimand_card != card:
        updated = updated.with_edit(
            "estimand_card", "card", project.estimand_card.model_dump(), card.model_dump(), note=f"replaced by {source}"
        )
    record = audit_record("estimand_card", score_estimand_card(card, project, frame), interaction)
    return updated.model_copy(update={"estimand_card": card, "card_status": "draft"}).with_audit(record)


def with_draft_result(project: Project, interaction: AIInteraction, frame: Any = None) -> Project:
    """Apply a model draft: a valid one becomes the card; a failure is audited (0 / n) and the card kept."""
    if interaction.schema_valid and interaction.parsed is not None:
        return with_card(project, card_from_draft(interaction.parsed), frame, interaction=interaction, source="model draft")
    failed = interaction if not interaction.schema_valid else interaction.model_copy(update={"schema_valid": False})
    return project.with_audit(audit_record("estimand_card", [], failed, max_score_if_failed=MAX_SCORE))


def edit_card_field(project: Project, field_name: str, value: Any, frame: Any = None) -> Project:
    """One analyst edit: logged (field, before, after), re-scored; an approved card goes back to draft."""
    if field_name not in CARD_FIELDS:
        raise ValueError(f"unknown estimand-card field '{field_name}'")
    card = project.estimand_card or EstimandCard()
    value = _as_items(value) if field_name in LIST_FIELDS else _as_text(value)
    before = getattr(card, field_name)
    if before == value:
        return project
    edited = card.model_copy(update={field_name: value})
    updated = project.with_edit("estimand_card", field_name, before, value)
    if project.card_status == "approved":
        updated = updated.with_edit("estimand_card", "card_status", "approved", "draft", note="edited after approval")
    record = audit_record("estimand_card", score_estimand_card(edited, project, frame))
    return updated.model_copy(update={"estimand_card": edited, "card_status": "draft"}).with_audit(record)


def edit_open_questions(project: Project, rows: list[dict[str, Any]]) -> Project:
    """Replace the open-question list from an edited table (blank rows dropped); the change is logged."""
    questions = []
    for row in rows:
        text = _as_text(row.get("text"))
        if not text or text.lower() == "nan":
            continue
        status = _as_text(row.get("status")) or "open"
        if status not in {"open", "answered", "dropped"}:
            raise ValueError(f"open question status must be open, answered or dropped (got '{status}')")
        answer = _as_text(row.get("answer"))
        source = _as_text(row.get("source"))
        questions.append(
            OpenQuestion(
                text=text, source="" if source.lower() == "nan" else source or "analyst", status=status,
                answer="" if answer.lower() == "nan" else answer,
            )
        )
    if questions == project.open_questions:
        return project
    before = [question.model_dump() for question in project.open_questions]
    updated = project.with_edit("open_questions", "rows", before, [question.model_dump() for question in questions])
    return updated.model_copy(update={"open_questions": questions})


def _score_task(artifact: dict[str, Any], project: Project, frame: Any = None) -> list[RubricCheck]:
    return score_estimand_card(artifact, project, frame)


ESTIMAND_TASK = StructuredTask(
    name="estimand-card",
    artifact="estimand_card",
    system_prompt=SYSTEM_PROMPT,
    build_user_prompt=build_user_prompt,
    schema=EstimandCardDraft,
    field_aliases=FIELD_ALIASES,
    defaults={name: [] for name in LIST_FIELDS},
    build_inputs=build_inputs,
    score=_score_task,
)
