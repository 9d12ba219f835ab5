"""Facts: everything the memo says, computed once from the project."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from causal_core.dag import IdentificationError, adjustment_columns, check_adjustment_set, identify
from causal_core.display import EffectUnit, dictionary_unit, outcome_is_binary
from causal_core.estimation import ineligible_reason
from causal_core.memo.formatting import effect_phrase, plural, range_phrase
from causal_core.memo.markup import name, names
from causal_core.memo.sections import METHOD_LABELS, PRIMARY_ORDER
from causal_core.project import (
    NOT_ADJUSTABLE_TIMINGS,
    EstimateRow,
    Project,
    Timing,
)
from causal_core.question import estimand_kind
from causal_core.results import AuditBalanceRow, RefutationVerdict, SensitivityResult

if TYPE_CHECKING:
    import pandas as pd

# ---- facts: everything the memo says, computed once from the project -----------------------


@dataclass
class MemoFacts:
    """The structured inputs shared by the deterministic memo, the AI prompt and the rubric."""

    treatment: str | None
    outcome: str | None
    estimand: str
    binary: bool
    estimated: bool
    unit: EffectUnit | None = None  # display.outcome_unit: the estimate's unit on every page and export
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
    warnings: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    controllable: bool | None = None

    @property
    def direction(self) -> str:
        """negative | positive | zero-spanning | unknown — the sign the memo must agree with."""
        row = self.primary
        if row is None:
            return "unknown"
        if row.ci_low is not None and row.ci_high is not None and row.ci_low < 0 < row.ci_high:
            return "zero-spanning"
        return "negative" if row.estimate < 0 else "positive"


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
    except IdentificationError as error:  # an invalid DAG or unknown node: reported, not fatal
        return None, f"the DAG could not be checked: {error}"
    note = result.reason or ("blocks every back-door path" if result.valid else "leaves a back-door path open")
    if missing:
        note += f" (not in the DAG: {names(missing)})"
    return bool(result.valid), note


def _find_balance(project: Project) -> tuple[str, float, int, int] | None:
    """(variable, smd, n_imbalanced, n_covariates) before adjustment: the estimation's balance, else the audit's.

    Both are read by their declared fields (results.BalanceRow, results.AuditBalanceRow): a renamed column fails
    validation instead of turning into "No balance diagnostic yet".
    """
    if project.estimation and project.estimation.balance:
        return _largest_smd([(row.covariate, row.smd_before) for row in project.estimation.balance])
    if project.data_audit:
        rows = [AuditBalanceRow.model_validate(record) for record in project.data_audit.tables.get("balance", [])]
        return _largest_smd([(row.variable, row.smd) for row in rows if row.smd is not None])
    return None


def _largest_smd(pairs: list[tuple[str, float]]) -> tuple[str, float, int, int] | None:
    """The covariate with the largest |SMD|, its SMD, how many exceed 0.1 and how many there are."""
    if not pairs:
        return None
    name, value = max(pairs, key=lambda pair: abs(pair[1]))
    return name, value, sum(abs(v) > 0.1 for _, v in pairs), len(pairs)


def _key_diagnostic(project: Project, facts: MemoFacts) -> str:
    parts = []
    balance = _find_balance(project)
    if balance:
        variable, value, imbalanced, total = balance
        parts.append(
            f"Before adjustment the treated and control groups differed most on {name(variable)} "
            f"(standardised mean difference {value:.3f}); {imbalanced} of {plural(total, 'covariate column')} "
            f"had |SMD| above 0.1."
        )
    if facts.estimated and not facts.covariates:
        parts.append(
            "No covariates were adjusted for, so every estimator equals the naive difference: nothing here removes "
            "confounding."
        )
    elif facts.naive is not None and facts.primary is not None and facts.primary is not facts.naive:
        naive, best = facts.naive.estimate, facts.primary.estimate
        method = _row_name(facts.primary)
        if (naive > 0) != (best > 0):
            comparison = "so the naive comparison points in the wrong direction"
        else:
            comparison = f"so the naive comparison {'overstates' if abs(naive) > abs(best) else 'understates'} the adjusted effect"
        parts.append(
            f"The naive difference is {effect_phrase(naive, facts.binary, facts.unit)} against "
            f"{effect_phrase(best, facts.binary, facts.unit)} for the estimate “{method}”, {comparison}."
            if facts.primary.label
            else f"The naive difference is {effect_phrase(naive, facts.binary, facts.unit)} against "
            f"{effect_phrase(best, facts.binary, facts.unit)} for the {method} estimate, {comparison}."
        )
    if facts.disagreements:
        parts.append(f"The estimators disagree beyond their 95% intervals: {facts.disagreements[0]}.")
    if facts.warnings:
        parts.append(
            f"The analysis raised {plural(len(facts.warnings), 'warning')}, listed under Warnings; read them before "
            "the estimate."
        )
    return " ".join(parts) or "No balance diagnostic yet: run the data audit and the estimation."


SENSITIVITY_LABELS = {"evalue": "E-value", "sensemakr": "Robustness value (sensemakr)"}


def sensitivity_lines(sensitivity: SensitivityResult) -> list[str]:
    """The sensitivity sentences, each naming the estimate it is about: the E-value, then sensemakr's RV and bounds."""
    lines = []
    evalue = sensitivity.evalue
    if evalue is not None and evalue.sentence.strip():
        lines.append(f"{SENSITIVITY_LABELS['evalue']}: {evalue.sentence.strip()}")
    sensemakr = sensitivity.sensemakr
    if sensemakr is not None:
        bounds = sensemakr.benchmark.bounds if sensemakr.benchmark else []
        texts = [sensemakr.rv_sentence, *(bound.sentence for bound in bounds)]
        lines += [f"{SENSITIVITY_LABELS['sensemakr']}: {text.strip()}" for text in texts if text.strip()]
    return lines


def refutation_lines(refutations: list[RefutationVerdict]) -> list[str]:
    """'test: VERDICT — sentence' per verdict, the sentence's own leading verdict removed (it is said once)."""
    lines = []
    for item in refutations:
        sentence = item.sentence
        if sentence.upper().startswith(item.verdict):
            sentence = sentence[len(item.verdict) :].lstrip(" —-:")
        lines.append(f"{item.test}: {item.verdict}" + (f" — {sentence}" if sentence else ""))
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
    facts.unit = dictionary_unit(project.dictionary, facts.outcome, facts.binary)
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
        facts.disagreements = estimator_disagreements(facts.rows, facts.binary, facts.unit)
    facts.excluded = excluded_variables(project, facts.covariates)
    facts.warnings = analysis_warnings(project, facts)
    facts.controllable = treatment_controllable(project)
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
    except IdentificationError:  # identification problems are shown by the consistency panel
        return "chosen by the analyst (the DAG could not be identified)"


# ---- the app's own warnings, carried into the memo ------------------------------------------------

# Estimators that adjust for the same set; the naive difference is expected to differ and is left out.
ADJUSTED_METHODS = ("regression", "gcomp", "ipw", "aipw")


def _row_name(row: EstimateRow) -> str:
    return row.label or METHOD_LABELS.get(row.method, row.method)


def estimator_disagreements(rows: list[EstimateRow], binary: bool, unit: EffectUnit | None = None) -> list[str]:
    """Pairs of adjusted estimators whose 95% intervals do not overlap: they cannot both be right.

    Only the model-based (non-bootstrap) row of each method counts; the bootstrap row of the same estimate
    is the same number with another interval, not a second opinion.
    """
    own = [
        row
        for row in rows
        if row.method in ADJUSTED_METHODS
        and not row.se_type.startswith("bootstrap")
        and row.ci_low is not None
        and row.ci_high is not None
    ]
    found = []
    for index, first in enumerate(own):
        for second in own[index + 1 :]:
            if first.ci_high < second.ci_low or second.ci_high < first.ci_low:  # type: ignore[operator]
                found.append(
                    f"{_row_name(first)} {first.estimand} {effect_phrase(first.estimate, binary, unit)} "
                    f"(95% interval {range_phrase(first.ci_low, first.ci_high, binary, unit)}) against "  # type: ignore[arg-type]
                    f"{_row_name(second)} {second.estimand} {effect_phrase(second.estimate, binary, unit)} "
                    f"(95% interval {range_phrase(second.ci_low, second.ci_high, binary, unit)})"  # type: ignore[arg-type]
                )
    return found


def _dropped_lines(project: Project) -> list[str]:
    result = project.estimation
    if result is None:
        return []
    return [
        f"{plural(count, 'row')} dropped before estimation: {reason}."
        for reason, count in result.dropped.items()
        if count and "trimmed" not in reason  # trimming has its own statement among the estimation warnings
    ]


def _dedup_line(project: Project, facts: MemoFacts) -> str | None:
    if project.dedup == "none" or not project.unit_columns:
        return None
    rule = {"keep_first": "first row kept per unit", "average": "numeric columns averaged per unit"}[project.dedup]
    raw = project.data_source.rows if project.data_source else None
    counts = f"; the raw data had {raw:,} rows and {facts.n_used:,} were used" if raw and facts.estimated else ""
    return f"Rows were de-duplicated on {names(project.unit_columns)} ({rule}) before the analysis{counts}."


def _cluster_line(project: Project) -> str | None:
    result = project.estimation
    if result is None:
        return None
    if result.spec.cluster:
        clusters = result.diagnostics.n_clusters if result.diagnostics else 0
        count = f" ({plural(clusters, 'cluster')})" if clusters else ""
        return f"Standard errors are clustered on {name(result.spec.cluster)}{count}."
    if project.cluster_column:
        return (
            f"The project names {name(project.cluster_column)} as the cluster column, but the estimation did not "
            "cluster: the intervals may be too narrow."
        )
    return None


def _guardrail_line(project: Project) -> str | None:
    if not project.guardrails:
        return None
    one = len(project.guardrails) == 1
    return (
        f"{'The guardrail outcome' if one else 'The guardrail outcomes'} named in the brief "
        f"{'was' if one else 'were'} not estimated here: {names(project.guardrails)}. Check "
        f"{'it' if one else 'them'} before scaling the decision."
    )


def analysis_warnings(project: Project, facts: MemoFacts) -> list[str]:
    """Every warning the app itself raised, so the memo cannot look cleaner than the analysis.

    Estimation warnings (overlap, extreme weights, trimming, separation, overrides), estimator disagreement,
    rows dropped, de-duplication, clustering, unestimated guardrails and the data audit's warnings.
    """
    lines: list[str] = []
    if project.estimation:
        lines += [" ".join(str(text).split()) for text in project.estimation.warnings if str(text).strip()]
    lines += [f"Estimators disagree beyond their 95% intervals: {text}." for text in facts.disagreements]
    lines += _dropped_lines(project)
    for line in (_dedup_line(project, facts), _cluster_line(project), _guardrail_line(project)):
        if line:
            lines.append(line)
    if project.data_audit:
        lines += [f"Data audit: {' '.join(str(text).split())}" for text in project.data_audit.warnings[:8]]
    return list(dict.fromkeys(lines))


# ---- does the organisation control the treatment? (decides the recommended validation) -------------------

_NOT_CONTROLLED_RE = re.compile(
    r"\b(smok\w*|quit\w*|diet\w*|exercis\w*|lifestyle|exposure|genetic\w*|weather|pollution|self-select\w*|"
    r"chose to|choos\w+ to|voluntar\w*|government|public program|national|state-run|historical program|"
    r"job training|training program|education level|schooling|disease|illness|marriage|union membership)\b",
    re.IGNORECASE,
)
_CONTROLLED_RE = re.compile(
    r"\b(we|our|us|outreach|campaign|feature|pricing|price|discount|offer\w*|e-?mail\w*|roll-?out|launch\w*|"
    r"enabl\w*|assistant|onboarding|promotion|coupon|notification|nudge|customer-success|product change)\b",
    re.IGNORECASE,
)


def treatment_controllable(project: Project) -> bool | None:
    """True when the card/brief describe a program the organisation runs (it can run an experiment);
    False for an exposure it does not assign (smoking, a public training program); None when they do not say.

    Read from the card's treatment and control condition first, then the business question and the brief.
    """
    card = project.estimand_card
    texts = [card.treatment, card.control_condition, card.business_question] if card else []
    text = " ".join([*texts, project.brief])
    if _NOT_CONTROLLED_RE.search(text):
        return False
    if _CONTROLLED_RE.search(text):
        return True
    return None
