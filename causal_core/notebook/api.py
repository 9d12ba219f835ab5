"""The public functions an exported notebook calls: each stage of the project re-run from its stored settings.

Why a module of its own: the notebook must call ``causal_core``'s public API only, and some steps were awkward
from a notebook (the audit's settings live inside a fingerprint, the estimation's true effect and DAG warning
are added by the page, an upload's hash check needs the file's bytes). Rather than putting that logic into
cells, where a reader would copy it and it would drift, each step is one documented function here; the CLI's
pre-flight check uses the same ``load_checked_data``, so the notebook and the export refuse the same files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from causal_core.data import DataError, analysis_frame, rebind_data, sha256_bytes
from causal_core.project import DagSpec, DataAuditResult, EstimationResult, EstimationSpec, MultiverseResult, Project
from causal_core.project_file import project_from_json

# The audit tables a reader looks at first (the rest stay in ``DataAuditResult.tables``).
AUDIT_TABLES_SHOWN = ("schema_profile", "duplicate_summary", "missingness", "balance", "overlap_summary", "leakage")
ESTIMATE_FIELDS = ("method", "estimand", "estimate", "std_error", "ci_low", "ci_high", "n_used", "se_type")
NUMBER_FIELDS = ("estimate", "std_error", "ci_low", "ci_high")


# ---- project and data ------------------------------------------------------------------------
def load_project(path: str | Path) -> Project:
    """Read a saved project file (raises ProjectFileError with the reason for a bad file)."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"Project file not found: {file}.")
    return project_from_json(file.read_bytes())


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes: what the project records for an upload."""
    return sha256_bytes(Path(path).read_bytes())


def load_checked_data(project: Project, data_file: str | Path | None = None) -> pd.DataFrame:
    """The raw rows the project was built on, refused unless their sha256 matches the project's.

    Built-ins regenerate from (name, n, seed); an upload is read from ``data_file`` and its bytes hashed.
    Raises DataError saying which file is missing or differs, so no number is ever paired with other data.
    """
    source = project.data_source
    if source is None:
        raise DataError("The project has no dataset yet: there is nothing to reproduce.")
    if source.kind == "builtin":
        return rebind_data(project)
    if data_file is None:
        raise DataError(
            f"This project was built on the uploaded file '{source.name}' (sha256 {source.sha256[:12]}…): "
            "give its path (DATA_FILE in the notebook, --data on the command line)."
        )
    file = Path(data_file)
    if not file.is_file():
        raise DataError(
            f"The data file {file} does not exist. This project was built on the upload '{source.name}' "
            f"(sha256 {source.sha256[:12]}…): put that file there or pass its path."
        )
    payload = file.read_bytes()
    if sha256_bytes(payload) != source.sha256:
        raise DataError(
            f"{file} is not the file this project was built on: its sha256 is {sha256_bytes(payload)[:12]}…, "
            f"the project recorded {source.sha256[:12]}… for '{source.name}'."
        )
    return rebind_data(project, payload, file.name)


def analysis_rows(project: Project, raw: pd.DataFrame) -> pd.DataFrame:
    """The rows every stage analyses: the raw data after the project's logged de-duplication rule."""
    return analysis_frame(project, raw)


# ---- DAG -------------------------------------------------------------------------------------
def rebuild_dag(dagitty_text: str) -> DagSpec:
    """The DAG from its DAGitty text (the same reader as the DAG page's import)."""
    from causal_core import dag_io

    return dag_io.from_dagitty(dagitty_text)


def adjustment_summary(spec: DagSpec) -> dict[str, Any]:
    """What the DAG page says about identification: the design sentence and every adjustment set."""
    from causal_core import dag

    identification = dag.identify(spec, spec.treatment, spec.outcome)
    summary = dag.design_summary(spec, spec.treatment, spec.outcome)
    return {
        "design": summary.sentence,
        "identifiable": identification.identifiable,
        "minimal_backdoor_sets": identification.minimal_sets,
        "adjustment_criterion_sets": identification.criterion_sets,
        "recommended_set": identification.recommended_set,
        "analyst_adjusted": list(spec.adjusted),
        "adjusted_set_valid": identification.adjusted_check.valid if identification.adjusted_check else None,
        "warnings": list(identification.warnings),
    }


# ---- data audit ------------------------------------------------------------------------------
def audit_settings(project: Project):
    """The AuditSettings the stored audit ran with (read back from its fingerprint; defaults if never run)."""
    from causal_core.audit.constants import AuditSettings

    stored = project.data_audit.settings if project.data_audit else {}
    known = {key: stored[key] for key in AuditSettings.model_fields if key in stored}
    return AuditSettings(**known)


def rerun_audit(project: Project, frame: pd.DataFrame) -> DataAuditResult:
    """Every deterministic audit table again, with the stored settings."""
    from causal_core.audit.run import run_audit

    return run_audit(project, frame, audit_settings(project))


def audit_tables(result: DataAuditResult, names: tuple[str, ...] = AUDIT_TABLES_SHOWN) -> dict[str, pd.DataFrame]:
    """The named audit tables as DataFrames, in order, skipping any the audit did not produce."""
    from causal_core.audit.run import table_frame

    return {name: table_frame(result, name) for name in names if name in result.tables}


def audit_matches(stored: DataAuditResult | None, reproduced: DataAuditResult) -> bool:
    """Whether every audit table came out as stored (records compared exactly, through their JSON)."""
    if stored is None:
        return False
    return json.dumps(stored.tables, sort_keys=True, default=str) == json.dumps(
        reproduced.tables, sort_keys=True, default=str
    )


# ---- estimation, sensitivity, specification curve ----------------------------------------------
def stored_spec(project: Project) -> EstimationSpec:
    """The exact EstimationSpec the project's estimates came from (seed, terms, learners, trimming, clusters)."""
    if project.estimation is None:
        raise DataError("The project has no estimation yet.")
    return project.estimation.spec


def rerun_estimation(project: Project, frame: pd.DataFrame, spec: EstimationSpec) -> EstimationResult:
    """The Estimation page's run for ``spec``: every estimator, diagnostics, sensitivity, refutations when the
    stored run had them, the simulation's true effect and the DAG's identification warning, as the page adds."""
    from causal_core import estimation

    truth = estimation.true_effect(project, frame, spec.estimand, spec.treatment)
    refute = bool(project.estimation and project.estimation.refutations)
    result = estimation.run_estimation(frame, spec, true_effect=truth, refutations=refute)
    warning = estimation.dag_identification_warning(project)
    if warning:
        result = result.model_copy(update={"warnings": [warning, *result.warnings]})
    return result


def estimates_table(result: EstimationResult | None) -> pd.DataFrame:
    """One row per estimator: estimate, SE, 95 % interval, rows used, SE type."""
    rows = result.estimates if result else []
    return pd.DataFrame([{key: getattr(row, key) for key in ESTIMATE_FIELDS} for row in rows], columns=list(ESTIMATE_FIELDS))


def _difference(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None if a is None and b is None else math.inf
    return abs(a - b)


def compare_estimates(stored: EstimationResult | None, reproduced: EstimationResult) -> pd.DataFrame:
    """Per estimator row: the largest absolute difference between stored and re-run numbers (0 = identical)."""
    stored_rows = {(r.method, r.estimand, r.se_type): r for r in (stored.estimates if stored else [])}
    records = []
    for row in reproduced.estimates:
        before = stored_rows.get((row.method, row.estimand, row.se_type))
        gaps = [_difference(getattr(before, f) if before else None, getattr(row, f)) for f in NUMBER_FIELDS]
        finite = [gap for gap in gaps if gap is not None]
        records.append({"method": row.method, "estimand": row.estimand, "se_type": row.se_type,
                        "max_abs_difference": max(finite) if finite else 0.0, "in_project": before is not None})
    return pd.DataFrame(records)


def sensitivity_lines(result: EstimationResult) -> list[str]:
    """The sensitivity sentences the memo quotes (E-value, robustness value, benchmarks), then the refutations."""
    from causal_core.memo import refutation_lines
    from causal_core.memo import sensitivity_lines as memo_sensitivity_lines

    return memo_sensitivity_lines(result.sensitivity) + refutation_lines(result.refutations)


def rerun_multiverse(project: Project, raw: pd.DataFrame) -> MultiverseResult | None:
    """The specification curve again with its stored options (None when the project never ran one)."""
    if project.multiverse is None:
        return None
    from causal_core.multiverse import run_multiverse

    return run_multiverse(project, raw, project.multiverse.options)


# ---- memo ------------------------------------------------------------------------------------
def reproduced_project(project: Project, **stages: Any) -> Project:
    """The project with the re-run stages in place (data_audit=, estimation=, multiverse=); None keeps the stored."""
    return project.model_copy(update={key: value for key, value in stages.items() if value is not None})


def memo_numbers(project: Project, frame: pd.DataFrame) -> dict[str, str]:
    """The deterministic memo's sections, built only from the project's figures."""
    from causal_core.memo import deterministic_memo

    return deterministic_memo(project, frame)


# ---- recorded AI interactions ------------------------------------------------------------------
def recorded_interaction(project: Project, interaction_id: str) -> dict[str, Any]:
    """One stored model call exactly as logged (prompt, raw output, parsed JSON, repair) with its audit score.

    Never re-generated: a model's text is an artifact of the analysis, not something a notebook can recompute.
    """
    interaction = next((item for item in project.ai_log if item.id == interaction_id), None)
    if interaction is None:
        raise DataError(f"No AI interaction with id {interaction_id!r} in this project.")
    audits = [record for record in project.audits if record.interaction_id == interaction_id]
    fields = ("task", "model_id", "backend", "system_prompt", "user_prompt", "raw_output", "repair_raw_output",
              "parsed", "schema_valid", "repair_stage", "failure_type", "decoding", "seed", "started_at")
    return {
        **{key: getattr(interaction, key) for key in fields},
        "audit_score": [f"{record.score}/{record.max_score}" for record in audits],
        "failed_checks": [check.name for record in audits for check in record.checks if not check.passed],
    }


# ---- the machine-readable summary ---------------------------------------------------------------
def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def reproduction_numbers(
    project: Project, reproduced: EstimationResult | None = None, sections: dict[str, str] | None = None
) -> dict[str, Any]:
    """Every re-computed estimate, interval and the memo's main-estimate sentence, as JSON-ready values.

    The notebook's last cell prints this; a test (or a reviewer) compares it with the project file.
    """
    rows = reproduced.estimates if reproduced else []
    return {
        "project": project.name,
        "data_sha256": project.data_source.sha256 if project.data_source else None,
        "estimand": reproduced.spec.estimand if reproduced else None,
        "true_effect": _json_number(reproduced.true_effect) if reproduced else None,
        "estimates": [{key: _json_number(getattr(row, key)) for key in ESTIMATE_FIELDS} for row in rows],
        "main_estimate": (sections or {}).get("main_estimate"),
        "stored_main_estimate": project.memo.deterministic.get("main_estimate"),
    }


def print_json(payload: Any) -> None:
    """Print a payload as JSON (full float precision), the notebook's machine-readable output."""
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str))
