"""N01 §11 exactly as the notebook computed it (the reproduction, clearly labelled)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from causal_core.estimation.design import build_design
from causal_core.estimation.estimators import naive_difference, regression
from causal_core.estimation.fitting import _with_intercept, logit
from causal_core.project import (
    EstimationSpec,
)

# ---------------------------------------------------------------------------------------------
# N01 §11 exactly as the notebook computed it (kept to prove the reproduction and explain the AIPW digit)
# ---------------------------------------------------------------------------------------------
N01_COVARIATES = ["company_size", "tenure_months", "usage_score", "prior_tickets", "health_score", "region", "segment"]
N01_CATEGORICAL = ["region", "segment"]


def _n01_features(frame: pd.DataFrame, scale_rows: np.ndarray) -> np.ndarray:
    """StandardScaler fitted on `scale_rows` for the numerics + full one-hot (sorted levels) for the categoricals."""
    numeric = frame[[c for c in N01_COVARIATES if c not in N01_CATEGORICAL]].to_numpy(dtype=float)
    mean, sd = numeric[scale_rows].mean(axis=0), numeric[scale_rows].std(axis=0)
    dummies = pd.get_dummies(frame[N01_CATEGORICAL].astype(str)).to_numpy(dtype=float)
    return _with_intercept((numeric - mean) / sd, dummies)


def n01_section11_table(frame: pd.DataFrame, clip: tuple[float, float] = (0.02, 0.98)) -> pd.DataFrame:
    """N01 §11's estimate table computed the notebook's way, quirks included.

    Differences from ``run_estimation`` (deliberate here, documented there):
    * logistic models are L2-penalised as sklearn's default (C = 1 on the summed log-loss, intercept free);
    * IPW is N01's Horvitz–Thompson form mean(t·y/e − (1−t)·y/(1−e)), labelled HT: it is not location-equivariant
      (adding a constant to y changes it), which is why ``run_estimation`` reports the normalised (Hájek) form;
    * the IPW SE is N01's 300-replicate bootstrap (seed 123) holding the propensities fixed;
    * doubly robust: N01's three Pipelines share one ColumnTransformer, and sklearn's Pipeline refits it in
      place, so the control outcome model's coefficients end up applied to features standardised on the
      *treated* rows. Reproducing that gives N01's −0.047 [−0.068, −0.026]; the correct computation
      (``run_estimation``) gives −0.048 [−0.068, −0.027].
    """
    t = frame["outreach"].to_numpy(dtype=float)
    y = frame["churn"].to_numpy(dtype=float)
    design = build_design(
        frame,
        EstimationSpec(treatment="outreach", outcome="churn", covariates=N01_COVARIATES, categorical=N01_CATEGORICAL),
    )
    naive = naive_difference(design, "ATE")
    reg, _ = regression(design, "ATE")
    everyone = np.ones(t.size, dtype=bool)
    A_all = _n01_features(frame, everyone)
    e = np.clip(expit(A_all @ logit(A_all, t, l2=1.0).beta), *clip)
    ipw_estimate = float(np.mean(t * y / e - (1 - t) * y / (1 - e)))
    rng = np.random.default_rng(123)
    draws = [rng.integers(0, t.size, t.size) for _ in range(300)]
    boot = [np.mean(t[i] * y[i] / e[i] - (1 - t[i]) * y[i] / (1 - e[i])) for i in draws]
    ipw_se = float(np.std(boot, ddof=1))
    control, treated = t == 0, t == 1
    A_control = _n01_features(frame, control)  # the shared scaler after fitting the control pipeline
    A_treated = _n01_features(frame, treated)  # ... and after fitting the treated pipeline (its final state)
    beta0 = logit(A_control[control], y[control], l2=1.0).beta
    beta1 = logit(A_treated[treated], y[treated], l2=1.0).beta
    mu0, mu1 = expit(A_treated @ beta0), expit(A_treated @ beta1)
    scores = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
    dr, dr_se = float(scores.mean()), float(scores.std(ddof=1) / np.sqrt(scores.size))
    rows = [
        ("Naive difference", naive.estimate, naive.std_error),
        ("Regression adjustment", reg.estimate, reg.std_error),
        ("IPW (Horvitz–Thompson, as N01)", ipw_estimate, ipw_se),
        ("Doubly robust", dr, dr_se),
    ]
    return pd.DataFrame(
        [
            {"method": m, "estimate": est, "std_error": se, "ci_low": est - 1.96 * se, "ci_high": est + 1.96 * se}
            for m, est, se in rows
        ]
    )
