"""Estimation (N01 §9–11): a package whose files follow the steps: spec → design → fitting → estimators →
diagnostics → pipeline → resampling (bootstrap) → charts (no logic) → project steps.

Why this module is plain numpy: the page must stay interactive on real data and the benchmark asks
for 1,000,000 rows in seconds, so every model is a closed-form OLS or a Newton/IRLS logistic fit
on a dense float64 design matrix, and every standard error is an explicit sandwich or influence
function (no per-row Python, no pandas in the hot path). statsmodels is the reference the tests
compare against, never the engine.

Conventions that reproduce N01 §11 on ``retention``:
* naive difference in means with a Welch SE (cluster-robust with a cluster column) and a ±1.96·SE interval;
* regression = linear probability model with HC3 SEs (constant-effect coefficient on treatment; under ATT/ATC it
  is labelled "constant effect", never ATT/ATC; with treatment interactions it is regression standardisation);
* IPW = normalised (Hájek) weighted means per arm, propensities bounded per estimand (ATE [0.02, 0.98], ATT only
  e ≤ 0.98, ATC only e ≥ 0.02); N01's Horvitz–Thompson row lives only in ``n01_section11_table`` (labelled HT);
* AIPW = per-arm outcome models (logistic for 0/1 outcomes) plugged into the efficient score.
The propensity model is an unpenalised logistic regression on standardised numerics + one-hot
categoricals (N01 used sklearn's L2, C = 1; at n = 6,000 the two agree to 3 decimals, see tests).
Outcome and propensity terms may be formulas (terms.py, formulaic): squares, interactions, splines, C(x).
"""

from __future__ import annotations

from causal_core.estimation.charts import (  # noqa: F401
    empty_chart,
    estimates_table,
    forest_chart,
    love_plot,
    method_label,
    overlap_chart,
    weights_chart,
)
from causal_core.estimation.constants import (  # noqa: F401
    METHOD_LABELS,
    MIN_ARM_ROWS,
    Z95,
    EstimationError,
    ProgressFn,
    StopFn,
)
from causal_core.estimation.design import (  # noqa: F401
    Design,
    balance_columns,
    build_design,
    check_outcome_varies,
)
from causal_core.estimation.diagnostics import (  # noqa: F401
    balance_table,
    crump_alpha,
    overlap_summary,
    trimming_rule,
    weight_summary,
)
from causal_core.estimation.estimators import (  # noqa: F401
    CONSTANT_EFFECT,
    CONSTANT_EFFECT_LABEL,
    OutcomeModels,
    Propensity,
    aipw,
    aipw_scores,
    bounds_note,
    check_crossfit_folds,
    crossfit_folds,
    crossfit_propensity,
    describe_se,
    effective_bounds,
    gcomputation,
    ipw,
    max_crossfit_folds,
    naive_difference,
    no_adjustment_labels,
    outcome_models,
    propensity,
    regression,
)
from causal_core.estimation.fitting import (  # noqa: F401
    LogitFit,
    OLSFit,
    coefficient_se,
    logit,
    ols,
    weighted_gram,
)
from causal_core.estimation.n01 import (  # noqa: F401
    N01_CATEGORICAL,
    N01_COVARIATES,
    n01_section11_table,
)
from causal_core.estimation.pipeline import (  # noqa: F401
    ALL_METHODS,
    CoreFit,
    estimate_core,
    overlap_warnings,
    run_estimation,
)
from causal_core.estimation.project_steps import (  # noqa: F401
    add_bootstrap,
    estimate_project,
)
from causal_core.estimation.resampling import (  # noqa: F401
    bootstrap,
)
from causal_core.estimation.spec import (  # noqa: F401
    analyst_adjusted_set,
    audit_treated_value,
    blocked_covariates,
    categorical_columns,
    dag_adjustment,
    dag_identification_warning,
    default_covariates,
    default_estimand,
    default_spec,
    ineligible_reason,
    override_covariate,
    project_categoricals,
    true_effect,
    with_dictionary_categoricals,
)
from causal_core.estimation.terms import (  # noqa: F401
    FLEXIBILITY,
    TermMatrix,
    collinear_terms,
    default_terms,
    flexibility_terms,
    formula_variables,
    term_matrix,
)

__all__ = [
    "ALL_METHODS",
    "CONSTANT_EFFECT",
    "CONSTANT_EFFECT_LABEL",
    "FLEXIBILITY",
    "METHOD_LABELS",
    "MIN_ARM_ROWS",
    "N01_CATEGORICAL",
    "N01_COVARIATES",
    "Z95",
    "CoreFit",
    "Design",
    "EstimationError",
    "LogitFit",
    "OLSFit",
    "OutcomeModels",
    "ProgressFn",
    "Propensity",
    "StopFn",
    "TermMatrix",
    "add_bootstrap",
    "aipw",
    "aipw_scores",
    "analyst_adjusted_set",
    "audit_treated_value",
    "balance_columns",
    "balance_table",
    "blocked_covariates",
    "bootstrap",
    "bounds_note",
    "build_design",
    "categorical_columns",
    "check_crossfit_folds",
    "check_outcome_varies",
    "coefficient_se",
    "collinear_terms",
    "crossfit_folds",
    "crossfit_propensity",
    "crump_alpha",
    "dag_adjustment",
    "dag_identification_warning",
    "default_covariates",
    "default_estimand",
    "default_spec",
    "default_terms",
    "describe_se",
    "effective_bounds",
    "empty_chart",
    "estimate_core",
    "estimate_project",
    "estimates_table",
    "flexibility_terms",
    "forest_chart",
    "formula_variables",
    "gcomputation",
    "ineligible_reason",
    "ipw",
    "logit",
    "love_plot",
    "max_crossfit_folds",
    "method_label",
    "n01_section11_table",
    "naive_difference",
    "no_adjustment_labels",
    "ols",
    "outcome_models",
    "overlap_chart",
    "overlap_summary",
    "overlap_warnings",
    "override_covariate",
    "project_categoricals",
    "propensity",
    "regression",
    "run_estimation",
    "term_matrix",
    "trimming_rule",
    "true_effect",
    "weight_summary",
    "weighted_gram",
    "weights_chart",
    "with_dictionary_categoricals",
]
