"""The whole audit: settings fingerprint, run_audit, finding warnings."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from causal_core.audit.balance import DesignSource, balance_table, design_columns, propensity_overlap
from causal_core.audit.column_types import missing_pattern, missingness_tables, type_profile
from causal_core.audit.constants import AuditInputError, AuditSettings
from causal_core.audit.evidence import build_evidence_bundle
from causal_core.audit.grain import duplicate_summary, exact_duplicate_warning, schema_table, with_dictionary_grain
from causal_core.audit.helpers import Roles, code_treatment, records, resolve_roles
from causal_core.audit.roles_leakage import leakage_table, role_scan
from causal_core.audit.smoke_test import regression_smoke_test
from causal_core.project import DataAuditResult, Project

# ---------------------------------------------------------------------------------------------
# The whole audit
# ---------------------------------------------------------------------------------------------
TABLE_TITLES = {
    "schema_profile": "Grain and schema profile (N09 §4)",
    "duplicate_summary": "Duplicated units (N09 §6)",
    "type_profile": "Type profile with the dictionary (N09 §4)",
    "missingness": "Missingness by variable (N09 §5)",
    "missing_by_treatment": "Missingness by treatment group (N09 §5)",
    "missing_pattern": "Missingness pattern (heatmap data)",
    "balance": "Standardised mean differences (N09 §7)",
    "overlap_summary": "Propensity overlap",
    "propensity_density": "Propensity density by arm",
    "role_scan": "Role scan (N09 §8)",
    "leakage": "Correlation with the outcome (N09 §8)",
    "smoke_test": "Regression smoke test (N09 §9)",
}


def settings_fingerprint(project: Project, settings: AuditSettings) -> dict[str, Any]:
    """Everything a table depends on besides the rows: the cache key (with the data hash) and the record."""
    return {
        **settings.model_dump(mode="json"),
        "data_sha256": project.data_source.sha256 if project.data_source else "",
        "dedup": project.dedup,
        "treatment": project.treatment,
        "outcome": project.outcome,
        "guardrails": list(project.guardrails),
        "unit_columns": list(project.unit_columns),
        "time_column": project.time_column,
        "dictionary": [
            [e.variable, e.timing.value, e.timing_label, e.role, e.simulation_truth, e.categorical]
            for e in project.dictionary
        ],
        "dag": project.dag.model_dump(mode="json") if project.dag else None,
        # the evidence bundle quotes the question and estimand, so they are part of the key too
        "question": [
            project.brief,
            project.estimand_card.business_question if project.estimand_card else "",
            project.estimand_card.estimand if project.estimand_card else "",
        ],
    }


def run_audit(
    project: Project,
    frame: pd.DataFrame,
    settings: AuditSettings | dict[str, Any] | None = None,
    timings: dict[str, float] | None = None,
) -> DataAuditResult:
    """Every deterministic audit table for ``frame`` (the analysis rows) under the project's roles.

    Raises AuditInputError for unusable roles; ``timings`` (if given) receives seconds per table.
    """
    if not isinstance(settings, AuditSettings):
        settings = AuditSettings(**(settings or {}))
    frame = frame.rename(columns=str).reset_index(drop=True)  # positional index: uploads may repeat labels
    clock: dict[str, float] = timings if timings is not None else {}

    def timed(name: str, compute: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = compute()
        clock[name] = clock.get(name, 0.0) + time.perf_counter() - start
        return value

    recorded_project = project  # the fingerprint records the project as the analyst set it
    project, grain_note = with_dictionary_grain(project, frame)
    roles, warnings = timed("roles", lambda: resolve_roles(project, frame))
    if grain_note:
        warnings.insert(0, grain_note)
    duplicates_note = exact_duplicate_warning(frame)
    if duplicates_note:
        warnings.insert(0, duplicates_note)
    coded_all = timed("roles", lambda: code_treatment(frame[roles.treatment], roles.treatment, settings.treated_value))
    if frame[roles.outcome].isna().all():
        raise AuditInputError(f"The outcome '{roles.outcome}' is missing in every row: there is nothing to compare.")
    if not pd.api.types.is_numeric_dtype(frame[roles.outcome]):
        raise AuditInputError(
            f"The outcome '{roles.outcome}' is not numeric (dtype {frame[roles.outcome].dtype}): recode it as a number or 0/1."
        )
    missing_treatment = int(coded_all.isna().sum())
    schema = timed("schema_profile", lambda: schema_table(frame, roles, coded_all, missing_treatment))
    if missing_treatment:
        warnings.append(
            f"{missing_treatment:,} row(s) have a missing treatment and were excluded from every table below the schema profile."
        )
        keep = coded_all.notna().to_numpy()
        frame = frame.loc[keep].reset_index(drop=True)
        coded = coded_all.loc[keep].reset_index(drop=True)
    else:
        coded = coded_all
    if coded.nunique() < 2:
        raise AuditInputError(f"After excluding rows with a missing treatment, '{roles.treatment}' is constant.")
    if frame[roles.outcome].isna().all():
        raise AuditInputError(f"The outcome '{roles.outcome}' is missing in every row with a treatment.")
    numeric, categorical, skipped = design_columns(frame, roles.pre_treatment(), settings.max_levels, roles.categorical)
    if skipped:
        warnings.append(f"Pre-treatment columns not used in balance/propensity/regression: {', '.join(skipped)}.")
    if not roles.pre_treatment():
        warnings.append(
            "No column is documented as pre-treatment: balance, propensity and adjusted regression have no covariates. "
            "Fill in the dictionary's timing."
        )
    tables: dict[str, pd.DataFrame] = {"schema_profile": schema}
    source = DesignSource(frame)
    tables["duplicate_summary"] = timed("duplicate_summary", lambda: duplicate_summary(frame, roles))
    tables["type_profile"] = timed("type_profile", lambda: type_profile(frame, roles, source))
    by_variable, by_treatment = timed("missingness", lambda: missingness_tables(frame, roles, coded))
    tables["missingness"], tables["missing_by_treatment"] = by_variable, by_treatment
    tables["missing_pattern"] = timed(
        "missing_pattern", lambda: missing_pattern(frame, roles, settings.heatmap_bins, source)
    )
    tables["balance"] = timed(
        "balance", lambda: balance_table(source, coded, numeric, categorical, settings.smd_threshold)
    )
    overlap, density = timed(
        "propensity", lambda: propensity_overlap(source, coded, numeric, categorical, settings.bounds)
    )
    tables["overlap_summary"], tables["propensity_density"] = overlap, density
    scan, dag_warnings = timed("role_scan", lambda: role_scan(project, roles))
    tables["role_scan"] = scan
    warnings.extend(dag_warnings)
    tables["leakage"] = timed("leakage", lambda: leakage_table(frame, roles, coded, settings.leak_threshold))
    tables["smoke_test"] = timed("smoke_test", lambda: regression_smoke_test(source, roles, coded, settings.max_levels))
    warnings.extend(_finding_warnings(tables, roles))
    result = DataAuditResult(
        settings=settings_fingerprint(recorded_project, settings),
        tables={name: records(table) for name, table in tables.items()},
        warnings=warnings,
    )
    bundle = timed("evidence_bundle", lambda: build_evidence_bundle(project, result))
    return result.model_copy(update={"evidence_bundle": bundle})


def _finding_warnings(tables: dict[str, pd.DataFrame], roles: Roles) -> list[str]:
    """One-line findings the page and the memo can quote (leakage, duplicates, bad-model artefacts)."""
    notes = []
    leaky = tables["leakage"].loc[tables["leakage"]["flag"].str.startswith("LEAKAGE", na=False), "variable"].tolist()
    if leaky:
        notes.append(
            f"Post-treatment/future columns that predict the outcome (never adjust for them): {', '.join(leaky)}."
        )
    duplicates = tables["duplicate_summary"]
    if len(duplicates):
        exact = int(duplicates["exact_copies"].sum())
        notes.append(
            f"{len(duplicates)} unit(s) of the grain {' × '.join(roles.unit_columns)} appear more than once "
            f"({exact} exact copies, {len(duplicates) - exact} disagreeing): resolve or de-duplicate."
        )
    return notes


def table_frame(result: DataAuditResult, name: str) -> pd.DataFrame:
    """A stored audit table back as a DataFrame (for charts and display)."""
    return pd.DataFrame(result.tables.get(name, []))
