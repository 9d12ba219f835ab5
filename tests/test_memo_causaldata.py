"""The deterministic memo passes its own rubric on data nobody here wrote (PyPI `causaldata`), and fails exactly
one check where the analysis itself is not ready: NSW treated + CPS controls under the ATE, whose regression
(699) and IPW (−7,111) intervals do not overlap, so `estimators_agree` fails for every memo, this one included."""

from __future__ import annotations

import pandas as pd
import pytest

from causal_core import memo
from causal_core.estimation import run_estimation
from causal_core.project import EstimationSpec, Project

causaldata = pytest.importorskip("causaldata")
LINEAR = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
NHEFS = ["sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise", "active", "wt71"]


def _nsw() -> pd.DataFrame:
    return causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)


def _nsw_cps() -> pd.DataFrame:
    nsw, cps = causaldata.nsw_mixtape.load_pandas().data, causaldata.cps_mixtape.load_pandas().data
    return pd.concat([nsw[nsw["treat"] == 1], cps]).drop(columns="data_id").astype(float).reset_index(drop=True)


def _nhefs() -> pd.DataFrame:
    data = causaldata.nhefs.load_pandas().data
    return data[data["wt82_71"].notna()][["qsmk", "wt82_71", *NHEFS]].astype(float).reset_index(drop=True)


CASES = {  # name: (frame, treatment, outcome, covariates, estimand, checks expected to fail)
    "nsw-experiment-ATE": (_nsw, "treat", "re78", LINEAR, "ATE", []),
    "nsw-cps-ATT": (_nsw_cps, "treat", "re78", LINEAR, "ATT", []),
    "nsw-cps-ATE": (_nsw_cps, "treat", "re78", LINEAR, "ATE", ["estimators_agree"]),
    "nhefs-ATE": (_nhefs, "qsmk", "wt82_71", NHEFS, "ATE", []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_deterministic_memo_passes_its_own_rubric_on_outside_data(case):
    load, treatment, outcome, covariates, estimand, expected_failures = CASES[case]
    frame = load()
    spec = EstimationSpec(treatment=treatment, outcome=outcome, covariates=covariates, estimand=estimand)
    result = run_estimation(frame, spec, sensitivity=True, refutations=False)
    project = memo.with_deterministic_memo(
        Project(name=case, brief="Did the programme work?", treatment=treatment, outcome=outcome, estimation=result),
        frame,
    )
    checks = memo.score_memo(project.memo.deterministic, project, frame)
    assert [c.name for c in checks if not c.passed] == expected_failures, [
        (c.name, c.reason) for c in checks if not c.passed
    ]
    assert len(checks) >= 14
