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
    _missing_kind,
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
    _grain_phrase,
    _round,
    build_evidence_bundle,
    bundle_json,
)
from causal_core.audit.grain import (  # noqa: F401
    duplicate_summary,
    schema_table,
)
from causal_core.audit.helpers import (  # noqa: F401
    Roles,
    _as_numeric,
    _guess_treated,
    _is_categorical,
    code_treatment,
    eligibility_of,
    records,
    resolve_roles,
)
from causal_core.audit.roles_leakage import (  # noqa: F401
    _dag_check,
    _dag_roles,
    leakage_table,
    role_scan,
)
from causal_core.audit.run import (  # noqa: F401
    TABLE_TITLES,
    _finding_warnings,
    run_audit,
    settings_fingerprint,
    table_frame,
)
from causal_core.audit.smoke_test import (  # noqa: F401
    FAST_OLS_ROWS,
    OlsFit,
    _ols_row,
    ols_hc3_fast,
    ols_hc3_statsmodels,
    regression_smoke_test,
)
