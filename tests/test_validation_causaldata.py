"""Validation on data nobody here wrote (PyPI `causaldata`): the published numbers, through the public API.

* NHEFS (Hernán & Robins, *What If*, ch. 12–13, Programs 12.x/13.x): uncensored n = 1,566; IPW 3.44 (95 % CI
  2.41 to 4.47 with the book's robust, fixed-weight SE); standardization 3.52 (outcome model + qsmk×smokeintensity).
* LaLonde's NSW experiment (`nsw_mixtape`): the experimental difference in re78 means, 1,794.34.
* NSW treated + CPS controls (`cps_mixtape`), ATT: with the linear specification the correct Hájek IPW is
  ≈ 1,180 and AIPW ≈ 1,271 (issue 12's reference figures); with the Dehejia–Wahba specification the estimates
  fall in the published DW range on CPS (≈ 1,300–1,800; see the test's docstring for the source).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from causal_core import estimation as est
from causal_core.cli import main
from causal_core.project import EstimationSpec

causaldata = pytest.importorskip("causaldata")

NHEFS_COVARIATES = ["sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise", "active", "wt71"]
NHEFS_TERMS = (
    "sex + race + age + I(age**2) + C(education) + smokeintensity + I(smokeintensity**2) + smokeyrs + "
    "I(smokeyrs**2) + C(exercise) + C(active) + wt71 + I(wt71**2)"
)
LINEAR = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
DW_TERMS = (
    "age + I(age**2) + educ + I(educ**2) + marr + nodegree + black + hisp + re74 + re75 + I(re74**2) + "
    "I(re75**2) + u74 + u75 + educ:re74"
)


@pytest.fixture(scope="module")
def nhefs() -> pd.DataFrame:
    """The book's uncensored sample: rows with wt82 observed; sex/race as 0/1 numbers, the factors as levels."""
    data = causaldata.nhefs.load_pandas().data
    data = data[data["wt82_71"].notna()].copy()
    for column in ("sex", "race"):
        data[column] = data[column].astype(int)
    for column in ("education", "exercise", "active"):
        data[column] = data[column].astype(str)
    return data[["qsmk", "wt82_71", *NHEFS_COVARIATES]].reset_index(drop=True)


@pytest.fixture(scope="module")
def nsw_cps() -> pd.DataFrame:
    nsw = causaldata.nsw_mixtape.load_pandas().data
    cps = causaldata.cps_mixtape.load_pandas().data
    frame = pd.concat([nsw[nsw["treat"] == 1], cps]).drop(columns="data_id").astype(float).reset_index(drop=True)
    return frame.assign(u74=(frame["re74"] == 0).astype(float), u75=(frame["re75"] == 0).astype(float))


def nhefs_spec(**update) -> EstimationSpec:
    spec = EstimationSpec(treatment="qsmk", outcome="wt82_71", covariates=NHEFS_COVARIATES,
                          categorical=["education", "exercise", "active"], outcome_terms=NHEFS_TERMS)
    return spec.model_copy(update=update)


def rows(result) -> dict[str, object]:
    return {row.method: row for row in result.estimates if not row.se_type.startswith("bootstrap")}


# ---- NHEFS: What If ch. 12–13 -----------------------------------------------------------------------------
def test_nhefs_ipw_is_3_44_on_the_uncensored_1566(nhefs):
    result = est.run_estimation(nhefs, nhefs_spec(), sensitivity=False, refutations=False)
    assert result.n_used == 1566
    assert round(rows(result)["ipw"].estimate, 2) == 3.44


def test_nhefs_book_robust_se_gives_2_41_to_4_47(nhefs):
    """Program 12.2's GEE robust interval treats the weights as known; the default SE includes the propensity step."""
    book = rows(est.run_estimation(nhefs, nhefs_spec(ipw_se="fixed_weights"), sensitivity=False, refutations=False))
    ipw = book["ipw"]
    assert (round(ipw.ci_low, 2), round(ipw.ci_high, 2)) == (2.41, 4.47)
    assert "fixed" in ipw.se_type.lower() or "known" in ipw.se_type.lower()
    default = rows(est.run_estimation(nhefs, nhefs_spec(), sensitivity=False, refutations=False))["ipw"]
    assert default.estimate == pytest.approx(ipw.estimate)
    assert default.std_error < ipw.std_error  # estimating the propensity makes the IPW interval a little narrower


def test_nhefs_standardization_is_3_52(nhefs):
    spec = nhefs_spec(treatment_interactions="smokeintensity")
    regression = rows(est.run_estimation(nhefs, spec, sensitivity=False, refutations=False))["regression"]
    assert round(regression.estimate, 2) == 3.52 and regression.estimand == "ATE"


def test_nhefs_book_numbers_from_the_cli(nhefs, tmp_path, capsys):
    path = tmp_path / "nhefs.csv"
    nhefs.to_csv(path, index=False)
    common = ["estimate", "--data", str(path), "--treatment", "qsmk", "--outcome", "wt82_71",
              "--covariates", ",".join(NHEFS_COVARIATES), "--categorical", "education,exercise,active",
              "--terms", NHEFS_TERMS, "--no-refute", "--format", "json"]
    assert main([*common, "--ipw-se", "fixed_weights", "--interact", "smokeintensity"]) == 0
    out = {row["method"]: row for row in json.loads(capsys.readouterr().out)["estimates"]}
    assert out["ipw"]["estimate"] == pytest.approx(3.44, abs=0.005)
    assert (round(out["ipw"]["ci_low"], 2), round(out["ipw"]["ci_high"], 2)) == (2.41, 4.47)
    assert round(out["regression"]["estimate"], 2) == 3.52


def test_nhefs_ipw_is_location_equivariant(nhefs):
    """Issue 12: adding 100 kg to every outcome moved the old Horvitz–Thompson IPW from 3.317 to 2.901."""
    shifted = nhefs.assign(wt82_71=nhefs["wt82_71"] + 100)
    before = rows(est.run_estimation(nhefs, nhefs_spec(), sensitivity=False, refutations=False))
    after = rows(est.run_estimation(shifted, nhefs_spec(), sensitivity=False, refutations=False))
    for method, row in before.items():
        assert after[method].estimate == pytest.approx(row.estimate, abs=1e-6), method


# ---- LaLonde: the experiment and NSW-CPS --------------------------------------------------------------------
def test_lalonde_experimental_difference_is_1794_34():
    nsw = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    spec = EstimationSpec(treatment="treat", outcome="re78", covariates=LINEAR)
    naive = rows(est.run_estimation(nsw, spec, sensitivity=False, refutations=False))["naive"]
    assert round(naive.estimate, 2) == 1794.34


def independent_att(frame: pd.DataFrame, ps_terms: str, outcome_terms: str) -> tuple[float, float]:
    """Hájek IPW and AIPW ATT with statsmodels (a second implementation, not the package's own fits).

    The formula columns are standardised before the logistic fit (an MLE is invariant to that; re74² is ~1e9).
    """
    import formulaic

    def matrix(terms: str) -> np.ndarray:
        X = formulaic.model_matrix(terms, frame).to_numpy(dtype=float)
        X = X[:, X.std(axis=0) > 0]
        return sm.add_constant((X - X.mean(axis=0)) / X.std(axis=0))

    t, y = frame["treat"].to_numpy(), frame["re78"].to_numpy()
    e = sm.GLM(t, matrix(ps_terms), family=sm.families.Binomial()).fit(tol=1e-12).fittedvalues
    odds = e / (1 - e)
    control = t == 0
    ipw = y[~control].mean() - np.sum(odds[control] * y[control]) / np.sum(odds[control])
    X = matrix(outcome_terms)
    m0 = X @ sm.OLS(y[control], X[control]).fit().params
    aipw = np.mean((y - m0)[~control]) - np.sum(odds[control] * (y - m0)[control]) / t.sum()
    return float(ipw), float(aipw)


def test_nsw_cps_att_with_the_linear_spec_matches_the_reference(nsw_cps):
    """Issue 12's reference: Hájek IPW ATT 1,180, AIPW 1,271 (the old code printed IPW −23,460).

    Tolerance ±5 dollars: the figures are deterministic given the data and the specification, so the only slack
    needed is the rounding of the reference and the logistic optimiser's stopping rule; a second implementation
    (statsmodels) is checked to ±1 dollar.
    """
    spec = EstimationSpec(treatment="treat", outcome="re78", covariates=LINEAR, estimand="ATT")
    result = est.run_estimation(nsw_cps, spec, sensitivity=False, refutations=False)
    out = rows(result)
    assert out["ipw"].estimate == pytest.approx(1180, abs=5) and out["ipw"].estimand == "ATT"
    assert out["aipw"].estimate == pytest.approx(1271, abs=5) and out["aipw"].estimand == "ATT"
    oracle_ipw, oracle_aipw = independent_att(nsw_cps, " + ".join(LINEAR), " + ".join(LINEAR))
    assert out["ipw"].estimate == pytest.approx(oracle_ipw, abs=1) and out["aipw"].estimate == pytest.approx(
        oracle_aipw, abs=1)
    assert result.diagnostics.weights.control.ess == pytest.approx(417, abs=1)  # not the clipped 2,538
    experimental = 1794.34
    assert out["ipw"].ci_low < experimental < out["ipw"].ci_high


def test_nsw_cps_att_with_the_dehejia_wahba_spec_is_in_the_published_range(nsw_cps):
    """Dehejia & Wahba (1999), "Causal effects in nonexperimental studies: reevaluating the evaluation of training
    programs", JASA 94(448):1053–1062, Table 3, CPS comparison group, propensity-score estimates of the ATT:
    $1,774 (stratification, SE 1,152) and $1,616 (matching, SE 751), against the experimental $1,794 (SE 633).
    These two figures are quoted from the paper as widely cited; the `search` tool found the paper (JSTOR
    2669919, NYU Wagner page) but not a readable copy of its table, so the test asserts the looser range the
    literature gives for DW-style specifications on CPS, 1,300–1,800, and that every adjusted estimator's CI
    contains the experimental 1,794. Specification: DW's (age, age², educ, educ², marr, nodegree, black, hisp,
    re74, re75, re74², re75², u74, u75, educ·re74) for both the propensity and the outcome models.
    """
    spec = EstimationSpec(treatment="treat", outcome="re78", covariates=[*LINEAR, "u74", "u75"], estimand="ATT",
                          outcome_terms=DW_TERMS)
    out = rows(est.run_estimation(nsw_cps, spec, sensitivity=False, refutations=False))
    for method in ("ipw", "aipw"):
        assert 1300 <= out[method].estimate <= 1800, (method, out[method].estimate)
        assert out[method].ci_low < 1794.34 < out[method].ci_high
    oracle_ipw, oracle_aipw = independent_att(nsw_cps, DW_TERMS, DW_TERMS)
    assert out["ipw"].estimate == pytest.approx(oracle_ipw, abs=1)
    assert out["aipw"].estimate == pytest.approx(oracle_aipw, abs=1)
    assert out["naive"].estimate < -8000  # the raw comparison has the opposite sign: confounding is large here
