"""N09 §10 evidence bundle: the numbers a model reviewer may see."""

from __future__ import annotations

import json
import math
from typing import Any

from causal_core.audit.constants import BUNDLE_CAPS, EXPLICIT_WARNING
from causal_core.project import DataAuditResult, Project


# ---------------------------------------------------------------------------------------------
# §10 evidence bundle
# ---------------------------------------------------------------------------------------------
def _round(value: Any) -> Any:
    """Six significant digits keep the bundle compact and stable across platforms."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _round(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_round(item) for item in value]
    return value


def _grain_phrase(unit_columns: list[str]) -> str:
    return "-".join(c.removesuffix("_id").removesuffix("_start") for c in unit_columns) or "row"


def build_evidence_bundle(project: Project, result: DataAuditResult) -> dict[str, Any]:
    """N09 §10: the compact, capped, deterministic evidence an LLM reviews instead of the raw rows."""
    card = project.estimand_card
    treatment, outcome = project.treatment or "", project.outcome or ""
    estimand = (card.estimand if card and card.estimand else "") or (
        f"Total effect of {treatment} on {outcome} at the {_grain_phrase(project.unit_columns)} level."
    )
    tables = result.tables
    dictionary = [
        {
            "variable": e.variable,
            "description": e.description,
            "timing": e.timing_label or e.timing.value,
            "initial_role": e.role,
        }
        for e in project.dictionary
    ]
    selected = {
        "schema_profile": tables.get("schema_profile", []),
        "data_dictionary": dictionary,
        "type_profile_top_missing": tables.get("type_profile", []),
        "missing_by_treatment": tables.get("missing_by_treatment", []),
        "duplicate_summary": tables.get("duplicate_summary", []),
        "balance_table": tables.get("balance", []),
        "overlap_summary": tables.get("overlap_summary", []),
        "role_scan": tables.get("role_scan", []),
        "leakage_correlations": tables.get("leakage", []),
        "regression_smoke_test": tables.get("smoke_test", []),
    }
    bundle: dict[str, Any] = {
        "business_question": (card.business_question if card and card.business_question else "") or project.brief,
        "intended_estimand": estimand,
        "intended_row_grain": list(project.unit_columns),
        "treatment": treatment,
        "primary_outcome": outcome,
        "guardrail_outcome": project.guardrails[0] if len(project.guardrails) == 1 else list(project.guardrails),
    }
    truncated = {}
    for key, rows in selected.items():
        cap = BUNDLE_CAPS[key]
        bundle[key] = _round(rows[:cap])
        if len(rows) > cap:
            truncated[key] = f"first {cap} of {len(rows)} rows"
    bundle["data_warnings"] = list(result.warnings)
    bundle["truncated_tables"] = truncated
    bundle["explicit_warning"] = EXPLICIT_WARNING
    return bundle


def bundle_json(bundle: dict[str, Any]) -> str:
    """The bundle as stable, human-readable JSON (what the page shows and offers for download)."""
    return json.dumps(bundle, indent=2, ensure_ascii=False)
