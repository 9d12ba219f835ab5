"""Deterministic causal data audit (N09 §4–§10): Python measures, timing maps columns to roles.

Every table here is computed from the analysis rows plus the project's dictionary and roles, never
from a model. ``run_audit`` returns a ``DataAuditResult`` whose tables are JSON records (so the
project file, the CLI and the evidence bundle all carry the same numbers). The functions stay
vectorised because the audit must finish within seconds on a million rows.

Bad inputs that make an audit meaningless (no binary treatment, an outcome with no values, grain
columns that do not exist) raise ``AuditInputError`` with a message the analyst can act on; problems
that only limit it (rows with a missing treatment, undocumented columns, no grain) become warnings.
"""

from __future__ import annotations

from causal_core.audit.balance import (  # noqa: F401
    DesignSource,
    balance_table,
    design_columns,
    fit_logistic,
    propensity_overlap,
)
from causal_core.audit.column_types import (  # noqa: F401
    missing_pattern,
    missingness_tables,
    type_profile,
)
from causal_core.audit.constants import (  # noqa: F401
    BUNDLE_CAPS,
    DAG_BAD_FOR_ELIGIBLE,
    ELIGIBLE,
    EXCLUDE,
    EXCLUDED_TIMINGS,
    EXPLICIT_WARNING,
    NOT_A_CONTROL,
    NOT_ADJUSTMENT,
    SIMULATION_TRUTH,
    UNKNOWN_TIMING,
    AuditInputError,
    AuditSettings,
)
from causal_core.audit.evidence import (  # noqa: F401
    build_evidence_bundle,
    bundle_json,
)
from causal_core.audit.grain import (  # noqa: F401
    duplicate_summary,
    schema_table,
)
from causal_core.audit.helpers import (  # noqa: F401
    Roles,
    code_treatment,
    eligibility_of,
    records,
    resolve_roles,
)
from causal_core.audit.roles_leakage import (  # noqa: F401
    leakage_table,
    role_scan,
)
from causal_core.audit.run import (  # noqa: F401
    TABLE_TITLES,
    run_audit,
    settings_fingerprint,
    table_frame,
)
from causal_core.audit.smoke_test import (  # noqa: F401
    FAST_OLS_ROWS,
    OlsFit,
    ols_hc3_fast,
    ols_hc3_statsmodels,
    regression_smoke_test,
)

__all__ = [
    "BUNDLE_CAPS",
    "DAG_BAD_FOR_ELIGIBLE",
    "ELIGIBLE",
    "EXCLUDE",
    "EXCLUDED_TIMINGS",
    "EXPLICIT_WARNING",
    "FAST_OLS_ROWS",
    "NOT_ADJUSTMENT",
    "NOT_A_CONTROL",
    "SIMULATION_TRUTH",
    "TABLE_TITLES",
    "UNKNOWN_TIMING",
    "AuditInputError",
    "AuditSettings",
    "DesignSource",
    "OlsFit",
    "Roles",
    "balance_table",
    "build_evidence_bundle",
    "bundle_json",
    "code_treatment",
    "design_columns",
    "duplicate_summary",
    "eligibility_of",
    "fit_logistic",
    "leakage_table",
    "missing_pattern",
    "missingness_tables",
    "ols_hc3_fast",
    "ols_hc3_statsmodels",
    "propensity_overlap",
    "records",
    "regression_smoke_test",
    "resolve_roles",
    "role_scan",
    "run_audit",
    "schema_table",
    "settings_fingerprint",
    "table_frame",
    "type_profile",
]
