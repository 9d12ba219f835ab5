"""The AI dataset-profile review (N09 §12–§16): schema, prompt, field-aware rubric, checklist.

The model only ever sees the deterministic evidence bundle (``causal_core.audit``) and answers in a
bounded ``DatasetProfileReview``. The rubric is derived from the project — its dictionary, grain,
treatment, outcomes and the duplicates and missingness actually found in the rows — and checks
*which field* names a variable, not just whether the name appears somewhere (N09 exercise 5: a
post-treatment, outcome or future variable listed as a pre-treatment covariate, or missing from the
recommended exclusions, fails whatever else the text says).
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from causal_core.ai.rubric import check
from causal_core.ai.structured import SchemaContext, StructuredTask, data_block, enum_of, not_a_column, with_data_rule
from causal_core.audit.review_fields import PROFILE_LIST_FIELDS, PROFILE_SCALAR_FIELDS, mentions
from causal_core.audit.review_rubric import apply_review_problems
from causal_core.errors import WorkbenchInputError
from causal_core.project import ChecklistItem, Project, RubricCheck, Timing

# Bounds make constrained decoding terminate; they are generous for a human-written review too.
MAX_ITEMS = 16
Item = Annotated[str, Field(max_length=300)]


def _text(description: str, max_length: int = 300) -> Any:
    return Field(description=description, max_length=max_length)


def _items(description: str) -> Any:
    return Field(description=description, max_length=MAX_ITEMS)


class DatasetProfileReview(BaseModel):
    """N09 §12: the structured review, with bounded strings and lists for constrained decoding."""

    dataset_grain: str = _text("The inferred observational unit and time grain.")
    candidate_treatment: str = _text("The treatment or exposure variable.", 120)
    candidate_outcomes: list[Item] = _items("Primary and guardrail outcomes.")
    pre_treatment_covariates: list[Item] = _items("Variables that appear eligible as pre-treatment adjustment candidates.")
    post_treatment_or_mediators: list[Item] = _items("Variables affected by treatment or measured after treatment.")
    leakage_risks: list[Item] = _items("Variables or dataset patterns that may leak future or outcome information.")
    missingness_risks: list[Item] = _items("Missingness patterns that could threaten the analysis.")
    unit_integrity_risks: list[Item] = _items("Duplicate, grain, join, or aggregation risks.")
    identification_questions: list[Item] = _items("Questions for domain owners before causal estimation.")
    recommended_exclusions_from_adjustment: list[Item] = _items(
        "Variables that should not be adjusted for in the primary total-effect model."
    )
    next_checks: list[Item] = _items("Concrete profiling or design checks to run next.")
    confidence: Literal["low", "medium", "high"] = Field(description="Confidence in the profile given the evidence bundle.")

    model_config = ConfigDict(extra="forbid")
    REFUSED_KEYS: ClassVar[dict[str, str]] = {}  # filled below (PROFILE_REFUSED_KEYS)


PROFILE_ALIASES = {
    "unit_of_analysis": "dataset_grain",
    "grain": "dataset_grain",
    "treatment": "candidate_treatment",
    "outcomes": "candidate_outcomes",
    "covariates": "pre_treatment_covariates",  # kept: the rubric checks each listed column's timing anyway
    "pre_treatment_controls": "pre_treatment_covariates",
    "mediators": "post_treatment_or_mediators",
    "post_treatment_variables": "post_treatment_or_mediators",
    "excluded_controls": "recommended_exclusions_from_adjustment",
}
PROFILE_DEFAULTS = {"confidence": "medium"}
# Not renamed: "confounders" adds a causal claim the review does not make, and an
# "adjustment_set" mixes inclusions and exclusions. The parser refuses these keys, naming them. ("covariates"
# stays an alias of pre_treatment_covariates, N09's own: the rubric checks every listed column's timing.)
PROFILE_REFUSED_KEYS: dict[str, str] = {
    "confounders": "confounding is a causal claim the review does not make; list pre-treatment columns under "
                   "pre_treatment_covariates",
    "adjustment_set": "list pre-treatment columns under pre_treatment_covariates and exclusions under "
                      "recommended_exclusions_from_adjustment",
}
DatasetProfileReview.REFUSED_KEYS = PROFILE_REFUSED_KEYS
# Column-valued fields: in the per-project schema each is an enum of the dataset's columns.
PROFILE_COLUMN_SCALARS = ("candidate_treatment",)
PROFILE_COLUMN_LISTS = ("candidate_outcomes", "pre_treatment_covariates", "post_treatment_or_mediators",
                        "recommended_exclusions_from_adjustment")


def _profile_context(inputs: dict[str, Any]) -> SchemaContext:
    """The dataset's columns from the evidence bundle (role scan rows in the data, else the dictionary)."""
    bundle = inputs.get("bundle") or {}
    scan = [row for row in bundle.get("role_scan") or [] if isinstance(row, dict)]
    names = [row.get("variable") for row in scan if row.get("in_data", True)]
    if not names:
        names = [row.get("variable") for row in bundle.get("data_dictionary") or [] if isinstance(row, dict)]
    return SchemaContext(tuple(str(name) for name in names if name))


def _profile_constrain(schema: dict[str, Any], context: SchemaContext) -> dict[str, Any]:
    """Treatment and the column lists can only name columns of this dataset."""
    if not context.columns:
        return schema
    properties = schema["properties"]
    for name in PROFILE_COLUMN_SCALARS:
        properties[name] = enum_of(context.columns, properties[name].get("description", ""))
    for name in PROFILE_COLUMN_LISTS:
        properties[name]["items"] = enum_of(context.columns)
    return schema


def _profile_column_problems(parsed: dict[str, Any], context: SchemaContext) -> list[str]:
    if not context.columns:
        return []
    columns = set(context.columns)
    problems = [not_a_column(name, parsed.get(name, ""), context.columns)
                for name in PROFILE_COLUMN_SCALARS if parsed.get(name, "") not in columns]
    for name in PROFILE_COLUMN_LISTS:
        problems += [not_a_column(name, item, context.columns) for item in parsed.get(name) or [] if item not in columns]
    return problems


DatasetProfileReview.schema_context = staticmethod(_profile_context)
DatasetProfileReview.constrain_json_schema = staticmethod(_profile_constrain)
DatasetProfileReview.column_problems = staticmethod(_profile_column_problems)

SYSTEM_PROFILE_MESSAGE = (
    "You are a careful causal inference data profiler.\n"
    "Rules:\n"
    "- Use only the evidence in the provided profiling bundle.\n"
    "- Return valid JSON only. No markdown. No preamble.\n"
    "- Do not claim that the dataset identifies a causal effect.\n"
    "- Do not invent randomization, instruments, policy rules, or unobserved variables.\n"
    "- Distinguish pre-treatment covariates from post-treatment variables, mediators, outcomes, and leakage risks.\n"
    "- If timing is ambiguous, put the issue in identification_questions or next_checks.\n"
    "- Be concise but specific. Use variable names from the bundle whenever possible."
)
SYSTEM_PROFILE_MESSAGE = with_data_rule(SYSTEM_PROFILE_MESSAGE)

SCHEMA_HINT = {
    "dataset_grain": "string",
    "candidate_treatment": "string",
    "candidate_outcomes": ["string"],
    "pre_treatment_covariates": ["string"],
    "post_treatment_or_mediators": ["string"],
    "leakage_risks": ["string"],
    "missingness_risks": ["string"],
    "unit_integrity_risks": ["string"],
    "identification_questions": ["string"],
    "recommended_exclusions_from_adjustment": ["string"],
    "next_checks": ["string"],
    "confidence": "low | medium | high",
}


def _columnar(value: Any) -> Any:
    """A list of records as {columns, rows}: the same numbers in about half the tokens."""
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        columns = list(dict.fromkeys(key for item in value for key in item))
        return {"columns": columns, "rows": [[item.get(column) for column in columns] for item in value]}
    return value


def build_profile_prompt(inputs: dict[str, Any]) -> str:
    """N09 §12's prompt: the schema hint, then the profiling bundle.

    ``inputs["bundle"]`` is the evidence bundle. By default its tables are written as
    {"columns", "rows"} on one line to fit small local models' context; ``inputs["bundle_format"] =
    "records"`` reproduces N09's indented records exactly.
    """
    bundle = inputs["bundle"]
    if inputs.get("bundle_format") == "records":
        body = json.dumps(bundle, indent=2)
        note = ""
    else:
        body = json.dumps({key: _columnar(value) for key, value in bundle.items()}, separators=(",", ":"))
        note = "Tables are given as {\"columns\": [...], \"rows\": [[...]]}.\n"
    return textwrap.dedent(
        """
        Produce a DatasetProfileReview JSON object using this schema:
        {schema}

        {note}Profiling bundle:
        {body}
        """
    ).strip().format(schema=json.dumps(SCHEMA_HINT, indent=2), note=note, body=data_block(body, "profiling bundle"))


# ---------------------------------------------------------------------------------------------
# N09 §13: the sample review (Qwen 2.5 7B, temperature 0), which must score full marks on support
# ---------------------------------------------------------------------------------------------
N09_SAMPLE_MODEL = "Qwen/Qwen2.5-7B-Instruct (N09 §13 sample)"
N09_SAMPLE_REVIEW: dict[str, Any] = {
    "dataset_grain": "team_id, week_start",
    "candidate_treatment": "assistant_enabled",
    "candidate_outcomes": ["human_handled_hours"],
    "pre_treatment_covariates": [
        "region",
        "queue_type",
        "baseline_ticket_volume",
        "baseline_satisfaction",
        "team_readiness",
        "manager_priority",
        "backlog_start",
        "staffing_hours",
    ],
    "post_treatment_or_mediators": ["agent_uses_ai", "deflection_rate"],
    "leakage_risks": ["next_week_backlog"],
    "missingness_risks": ["deflection_rate", "agent_uses_ai", "customer_satisfaction_score"],
    "unit_integrity_risks": ["duplicated rows by intended grain"],
    "identification_questions": [
        "Is there a valid comparison group for teams that did not have the AI assistant enabled?",
        "Are there any time-varying confounders that were not captured?",
        "Does the treatment assignment appear to be random or quasi-random?",
    ],
    "recommended_exclusions_from_adjustment": [
        "agent_uses_ai",
        "deflection_rate",
        "human_handled_hours",
        "customer_satisfaction_score",
        "next_week_backlog",
    ],
    "next_checks": [
        "Verify the causal relationships between the treatment and the mediators and outcomes.",
        "Check for any omitted variable bias due to unmeasured confounders.",
        "Ensure that the treatment was applied consistently across all teams.",
    ],
    "confidence": "medium",
}


# ---------------------------------------------------------------------------------------------
# Normalising a review that did not come through the runtime (CLI file, pasted JSON)
# ---------------------------------------------------------------------------------------------
class ReviewError(WorkbenchInputError):
    """A review that is not a DatasetProfileReview; the message names the field and the problem."""


def normalise_review(raw: dict[str, Any]) -> dict[str, Any]:
    """Apply N09's aliases and defaults, coerce scalars/lists, then validate against the schema."""
    if not isinstance(raw, dict):
        raise ReviewError("The review must be a JSON object with DatasetProfileReview fields.")
    review: dict[str, Any] = {}
    for key, value in raw.items():
        name = PROFILE_ALIASES.get(key, key)
        review.setdefault(name, value)
    for key, value in PROFILE_DEFAULTS.items():
        review.setdefault(key, value)
    for name in PROFILE_LIST_FIELDS:
        value = review.get(name, [])
        review[name] = [value] if isinstance(value, str) else [str(item) for item in (value or [])]
    for name in PROFILE_SCALAR_FIELDS:
        value = review.get(name, "")
        if isinstance(value, list):
            review[name] = ", ".join(map(str, value))
    if isinstance(review.get("confidence"), str):
        review["confidence"] = review["confidence"].strip().lower()
    try:
        return DatasetProfileReview.model_validate(review).model_dump()
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "review"
        raise ReviewError(
            f"The review does not match DatasetProfileReview: {location}: {first['msg']} ({error.error_count()} problem(s))."
        ) from None


# ---------------------------------------------------------------------------------------------
# The field-aware rubric (N09 §14 generalised + exercise 5)
# ---------------------------------------------------------------------------------------------
IDENTIFICATION_CLAIMS = [
    "identifies the causal effect",
    "proves the causal effect",
    "establishes causality",
    "proves causality",
    "causal effect is identified",
    "effect is identified",
    "establishes the causal effect",
    "confirms the causal effect",
    "is a valid causal estimate",
]
DUPLICATE_TERMS = ["duplicate", "duplicated", "unit integrity", "grain", "de-dup", "dedup", "repeated"]


def _in_field(review: dict[str, Any], field: str, name: str) -> bool:
    value = review.get(field)
    items = value if isinstance(value, list) else [value or ""]
    return any(mentions(str(item), name) for item in items)


def _grain_parts(unit_columns: list[str]) -> list[str]:
    return [c.removesuffix("_id").removesuffix("_start").removesuffix("_date").lower() for c in unit_columns]


def _names_grain(text: str, unit_columns: list[str]) -> bool:
    """All grain columns named, or every grain noun (team-week, 'team per week', 'account')."""
    if all(mentions(text, column) for column in unit_columns):
        return True
    return all(re.search(r"(?<![a-z])" + re.escape(part) + r"s?(?![a-z])", text.lower()) for part in _grain_parts(unit_columns))


def _listing(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


class RubricFacts(BaseModel):
    """What the rubric expects, derived from the project and the rows (shown in the page and CLI)."""

    treatment: str | None
    outcome: str | None
    guardrails: list[str]
    unit_columns: list[str]
    pre_treatment: list[str]
    post_treatment: list[str]
    future: list[str]
    outcome_window: list[str]
    must_exclude: list[str]
    data_loss_missing: list[str]
    structural_missing: list[str]
    duplicated_units: int | None


def rubric_facts(project: Project, frame: pd.DataFrame | None) -> RubricFacts:
    """Expected answers from the dictionary/roles and the rows (None where there is no data to check)."""
    columns = [str(c) for c in frame.columns] if frame is not None else [e.variable for e in project.dictionary]
    entries = {e.variable: e for e in project.dictionary}
    roles = {project.treatment, project.outcome, *project.guardrails, *project.unit_columns, project.time_column}

    def timed(timing: Timing) -> list[str]:
        return [c for c in columns if c in entries and entries[c].timing == timing]

    pre = [c for c in timed(Timing.pre_treatment) if c not in roles and not entries[c].simulation_truth]
    post = [c for c in timed(Timing.post_treatment) if c not in roles]
    future = [c for c in timed(Timing.future) if c not in roles]
    outcomes = [c for c in [project.outcome, *project.guardrails] if c and c in columns]
    outcome_window = [c for c in timed(Timing.outcome) if c not in outcomes and c != project.treatment]
    must_exclude = list(dict.fromkeys([*post, *outcomes, *outcome_window, *future]))
    data_loss: list[str] = []
    structural: list[str] = []
    duplicated: int | None = None
    if frame is not None and len(frame):
        frame = frame.rename(columns=str)
        share = frame.isna().mean()
        treatment = project.treatment
        untreated = frame[treatment].eq(0) if treatment in frame.columns else None
        for column in columns:
            if share[column] == 0:
                continue
            is_post = column in entries and entries[column].timing == Timing.post_treatment
            if is_post and untreated is not None and untreated.any():
                untreated_missing = frame.loc[untreated, column].isna().mean()
                treated_missing = frame.loc[~untreated, column].isna().mean() if (~untreated).any() else 0.0
                if untreated_missing >= 0.95:
                    structural.append(column)
                    if treated_missing > 0:
                        data_loss.append(column)
                    continue
            data_loss.append(column)
        if project.unit_columns and all(c in frame.columns for c in project.unit_columns):
            duplicated = int(frame.duplicated(project.unit_columns, keep=False).sum())
    return RubricFacts(
        treatment=project.treatment,
        outcome=project.outcome,
        guardrails=[g for g in project.guardrails if g in columns],
        unit_columns=list(project.unit_columns),
        pre_treatment=pre,
        post_treatment=post,
        future=future,
        outcome_window=outcome_window,
        must_exclude=must_exclude,
        data_loss_missing=data_loss,
        structural_missing=structural,
        duplicated_units=duplicated,
    )


def _not_required(name: str, reason: str) -> RubricCheck:
    """Shown for completeness but not scored: the project gives nothing to check it against."""
    return check(name, True, f"not required: {reason}", severity="warn", applicable=False)


def score_profile_review(review: dict[str, Any], project: Project, frame: pd.DataFrame | None) -> list[RubricCheck]:
    """N09 §14's 11 checks generalised to the project, plus exercise 5's two field checks (13 scored)."""
    review = {**{name: [] for name in PROFILE_LIST_FIELDS}, **(review or {})}
    facts = rubric_facts(project, frame)
    blob = json.dumps(review, sort_keys=True, ensure_ascii=False).lower()
    checks: list[RubricCheck] = []

    # 1. grain
    grain_text = str(review.get("dataset_grain") or "")
    if facts.unit_columns:
        passed = _names_grain(grain_text, facts.unit_columns)
        checks.append(check(
            "names the grain", passed,
            f"dataset_grain names {' × '.join(facts.unit_columns)}" if passed
            else f"dataset_grain {grain_text!r} does not name the grain {' × '.join(facts.unit_columns)}",
        ))
    else:
        checks.append(_not_required("names the grain", "the project has no unit grain (set the unit columns)"))

    # 2-4. treatment and outcomes
    if facts.treatment:
        passed = mentions(str(review.get("candidate_treatment") or ""), facts.treatment)
        checks.append(check(
            "names the treatment", passed,
            f"candidate_treatment is {facts.treatment}" if passed
            else f"candidate_treatment {review.get('candidate_treatment')!r} is not {facts.treatment}",
        ))
    if facts.outcome:
        passed = _in_field(review, "candidate_outcomes", facts.outcome)
        checks.append(check(
            "names the primary outcome", passed,
            f"{facts.outcome} is in candidate_outcomes" if passed else f"{facts.outcome} is missing from candidate_outcomes",
        ))
    if facts.guardrails:
        missing = [
            g for g in facts.guardrails
            if not (_in_field(review, "candidate_outcomes", g) or _in_field(review, "recommended_exclusions_from_adjustment", g))
        ]
        checks.append(check(
            "names the guardrail outcome", not missing,
            "guardrail(s) named as outcomes or excluded from adjustment" if not missing
            else f"guardrail(s) {', '.join(missing)} neither in candidate_outcomes nor excluded from adjustment",
        ))
    else:
        checks.append(_not_required("names the guardrail outcome", "the project has no guardrail outcome"))

    # 5. pre-treatment covariates
    if facts.pre_treatment:
        listed = [c for c in facts.pre_treatment if _in_field(review, "pre_treatment_covariates", c)]
        needed = math.ceil(len(facts.pre_treatment) / 2)
        checks.append(check(
            "lists pre-treatment covariates", len(listed) >= needed,
            f"{len(listed)} of {len(facts.pre_treatment)} documented pre-treatment columns listed (need ≥ {needed})",
        ))
    else:
        checks.append(_not_required("lists pre-treatment covariates", "the dictionary documents no pre-treatment column"))

    # 6. post-treatment
    if facts.post_treatment:
        missing = [c for c in facts.post_treatment if not _in_field(review, "post_treatment_or_mediators", c)]
        checks.append(check(
            "flags post-treatment variables", not missing,
            f"post_treatment_or_mediators lists {_listing(facts.post_treatment)}" if not missing
            else f"post_treatment_or_mediators misses {_listing(missing)}",
        ))
    else:
        checks.append(_not_required("flags post-treatment variables", "the dictionary has no post-treatment column"))

    # 7. future leakage
    if facts.future:
        missing = [c for c in facts.future if not _in_field(review, "leakage_risks", c)]
        checks.append(check(
            "flags future leakage", not missing,
            f"leakage_risks lists {_listing(facts.future)}" if not missing else f"leakage_risks misses {_listing(missing)}",
        ))
    else:
        checks.append(_not_required("flags future leakage", "the dictionary has no future column"))

    # 8. missingness actually found
    if frame is None:
        checks.append(_not_required("flags missingness", "no data rows to check against"))
    elif facts.data_loss_missing or facts.structural_missing:
        expected = facts.data_loss_missing or facts.structural_missing
        named = [c for c in expected if _in_field(review, "missingness_risks", c)]
        kind = "data-loss" if facts.data_loss_missing else "structural"
        checks.append(check(
            "flags missingness", bool(named),
            f"missingness_risks names {kind} missing column(s) {_listing(named)}" if named
            else f"missingness_risks names none of the {kind} missing columns {_listing(expected)}",
        ))
    else:
        checks.append(_not_required("flags missingness", "no column has missing values"))

    # 9. duplicates / unit integrity, only when duplicates exist
    if facts.duplicated_units:
        text = " ".join(review.get("unit_integrity_risks") or []).lower()
        passed = bool(text) and (
            any(term in text for term in DUPLICATE_TERMS) or any(mentions(text, c) for c in facts.unit_columns)
        )
        checks.append(check(
            "flags duplicate/unit risk", passed,
            f"unit_integrity_risks flags the {facts.duplicated_units} rows in duplicated units" if passed
            else f"{facts.duplicated_units} rows share a unit of the grain but unit_integrity_risks does not flag duplicates",
        ))
    else:
        reason = "no unit grain given" if facts.duplicated_units is None else "no duplicated units in the data"
        checks.append(_not_required("flags duplicate/unit risk", reason))

    # 10-11. claims and questions
    claims = [phrase for phrase in IDENTIFICATION_CLAIMS if phrase in blob]
    checks.append(check(
        "does not claim identification", not claims,
        "no claim that profiling identifies the effect" if not claims else f"claims identification: {claims[0]!r}",
    ))
    questions = review.get("identification_questions") or []
    checks.append(check(
        "asks domain/design questions", len(questions) >= 2, f"{len(questions)} identification question(s) (need ≥ 2)",
    ))

    # 12-13. N09 exercise 5: field-level misuse of post-treatment, outcome and future variables
    bad_controls = [c for c in [*facts.must_exclude, facts.treatment] if c]
    misused = [c for c in bad_controls if _in_field(review, "pre_treatment_covariates", c)]
    checks.append(check(
        "no post-treatment/outcome/future variable among pre-treatment covariates", not misused,
        "pre_treatment_covariates contains no post-treatment, outcome, future or treatment column" if not misused
        else f"pre_treatment_covariates lists {_listing(misused)}, which may not be adjusted for",
    ))
    if facts.must_exclude:
        not_excluded = [c for c in facts.must_exclude if not _in_field(review, "recommended_exclusions_from_adjustment", c)]
        checks.append(check(
            "excludes every post-treatment/outcome/future variable from adjustment", not not_excluded,
            f"recommended_exclusions_from_adjustment covers {_listing(facts.must_exclude)}" if not not_excluded
            else f"recommended_exclusions_from_adjustment misses {_listing(not_excluded)}",
        ))
    else:
        checks.append(_not_required(
            "excludes every post-treatment/outcome/future variable from adjustment", "nothing in the data must be excluded"
        ))

    # Unscored: covariates whose timing is undocumented are guesses, never pre-treatment by default.
    entries = {e.variable: e for e in project.dictionary}
    columns = set(map(str, frame.columns)) if frame is not None else set(entries)
    guessed = [
        c for c in columns
        if (c not in entries or entries[c].timing == Timing.unknown) and _in_field(review, "pre_treatment_covariates", c)
    ]
    checks.append(check(
        "pre-treatment covariates have documented timing", not guessed,
        "every listed covariate has documented pre-treatment timing" if not guessed
        else f"timing unknown for {_listing(sorted(guessed))}: ask the data owner before adjusting",
        severity="warn",
    ))
    return apply_review_problems(checks, review, project, frame, facts)


# ---------------------------------------------------------------------------------------------
# The task the runtime, the page and the model lab run
# ---------------------------------------------------------------------------------------------
def build_profile_inputs(project: Project, frame: pd.DataFrame | None) -> dict[str, Any]:
    """The evidence bundle of the project's stored audit if it matches the current roles, else a fresh one."""
    from causal_core.audit import AuditSettings, run_audit, settings_fingerprint

    stored = project.data_audit
    if stored is not None and stored.evidence_bundle:
        known = {k: v for k, v in stored.settings.items() if k in AuditSettings.model_fields}
        try:
            current = settings_fingerprint(project, AuditSettings(**known))
        except ValidationError:
            current = None
        if current == stored.settings:
            return {"bundle": stored.evidence_bundle}
    if frame is None:
        raise WorkbenchInputError("The profile review needs the data audit: no audit is stored and no data rows were given.")
    return {"bundle": run_audit(project, frame).evidence_bundle}


PROFILE_TASK = StructuredTask(
    name="profile",
    artifact="profile_review",
    system_prompt=SYSTEM_PROFILE_MESSAGE,
    build_user_prompt=build_profile_prompt,
    schema=DatasetProfileReview,
    field_aliases=PROFILE_ALIASES,
    defaults=PROFILE_DEFAULTS,
    build_inputs=build_profile_inputs,
    score=score_profile_review,
)


# ---------------------------------------------------------------------------------------------
# N09 §16: the human review checklist
# ---------------------------------------------------------------------------------------------
def default_checklist(project: Project) -> list[ChecklistItem]:
    """N09 §16's eight checks, with the evidence column naming this project's own columns."""
    entries = project.dictionary
    treatment = project.treatment or "the treatment"
    outcomes = " and ".join([c for c in [project.outcome, *project.guardrails] if c]) or "the outcomes"
    grain = " + ".join(project.unit_columns) or "the unit grain (not set yet)"
    excluded = [e.variable for e in entries if e.timing in {Timing.post_treatment, Timing.future} and not e.simulation_truth]
    truth = [e.variable for e in entries if e.timing in {Timing.post_treatment, Timing.future} and e.simulation_truth]
    if excluded:
        excluded_text = ", ".join(excluded) + " scan"
    elif truth:  # say what the dictionary holds: later columns exist, but only as simulation truth
        excluded_text = (f"no usable post-treatment or future column: the {len(truth)} future/post-treatment "
                         f"column(s) are simulation truth ({', '.join(truth)}), never covariates")
    else:
        excluded_text = "post-treatment and future columns (none documented)"
    rows = [
        ("Row grain is verified", f"{grain} duplicate check", "analyst + data engineer"),
        ("Treatment timing is documented", f"{treatment} and data dictionary timing", "domain owner"),
        ("Outcome window is after treatment", f"{outcomes} timing", "analyst"),
        ("Pre-treatment covariates are separated from mediators", "role_scan and data dictionary", "analyst"),
        ("Post-treatment and future variables are excluded from total-effect adjustment", excluded_text, "analyst"),
        ("Missingness mechanism is investigated", "missingness by treatment and timing", "analyst + data owner"),
        ("Treatment imbalance is profiled", "standardized mean differences", "analyst"),
        ("AI review is audited", "structured output score and failure metadata", "analyst"),
    ]
    return [ChecklistItem(check=name, evidence=evidence, owner=owner) for name, evidence, owner in rows]


def checklist_from_rows(rows: list[dict[str, Any]]) -> list[ChecklistItem]:
    """Edited checklist rows back to items: blank cells become '', a blank status 'todo', blank checks dropped.

    Raises ValueError (pydantic) for an unknown status, so a bad edit is refused as a whole.
    """
    items = []
    for row in rows:
        clean = {
            name: "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
            for name, value in row.items()
            if name in ChecklistItem.model_fields
        }
        if not clean.get("check", "").strip():
            continue
        clean["status"] = clean.get("status") or "todo"
        items.append(ChecklistItem(**clean))
    return items
