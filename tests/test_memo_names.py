"""Issue 17 §14: every column name of outside data prints verbatim, and the rubric never fails the app's own memo.

`wt82_71` used to print as "wt82 71"; the rubric then read "71" as an invented number and the consistency
panel turned red about the deterministic memo. Names now travel in code spans and numbers inside code spans
are not claims. Swept over every column of NHEFS and LaLonde's NSW (experimental) and NSW + CPS samples
(PyPI `causaldata`): each usable column as the outcome, and the columns in blocks as adjustment sets.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from causal_core import memo
from causal_core.data import project_for_upload, read_upload
from causal_core.estimation import EstimationError, run_estimation
from causal_core.project import EstimationSpec, Project
from causal_core.reporting.consistency import check_memo_numbers

causaldata = pytest.importorskip("causaldata")

# Allowed to fail only when the estimators really contradict each other (issue 17 §15), never for a name.
DISAGREEMENT = "estimators_agree"


def _upload(frame: pd.DataFrame, filename: str, brief: str) -> tuple[Project, pd.DataFrame]:
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False)
    loaded = read_upload(buffer.getvalue(), filename)
    return project_for_upload(loaded).model_copy(update={"brief": brief}), loaded.frame


@pytest.fixture(scope="module")
def nhefs() -> tuple[Project, pd.DataFrame]:
    data = causaldata.nhefs.load_pandas().data
    return _upload(data, "nhefs.csv", "Did quitting smoking change weight gain between 1971 and 1982?")


@pytest.fixture(scope="module")
def nsw() -> tuple[Project, pd.DataFrame]:
    data = causaldata.nsw_mixtape.load_pandas().data
    return _upload(data, "nsw.csv", "Did the NSW job training program raise 1978 earnings?")


@pytest.fixture(scope="module")
def nsw_cps() -> tuple[Project, pd.DataFrame]:
    nsw = causaldata.nsw_mixtape.load_pandas().data
    cps = causaldata.cps_mixtape.load_pandas().data
    data = pd.concat([nsw[nsw["treat"] == 1], cps]).reset_index(drop=True)
    return _upload(data, "nsw_cps.csv", "Did the NSW job training program raise 1978 earnings, against CPS controls?")


def _estimated(project: Project, frame: pd.DataFrame, spec: EstimationSpec) -> Project | None:
    try:
        result = run_estimation(frame, spec, sensitivity=False, refutations=False)
    except EstimationError:
        return None  # e.g. a constant outcome: refused with a message, nothing to write a memo about
    estimated = project.model_copy(
        update={"treatment": spec.treatment, "outcome": spec.outcome, "estimation": result}
    )
    return memo.with_deterministic_memo(estimated, frame)


def _assert_memo_clean(project: Project, frame: pd.DataFrame, names: list[str]) -> None:
    sections = project.memo.deterministic
    checks = memo.score_memo(sections, project, frame)
    failed = {c.name: c.reason for c in checks if not c.passed}
    failed.pop(DISAGREEMENT, None)
    assert failed == {}, (project.estimation.spec.outcome, failed)
    assert check_memo_numbers(project).status == "green", check_memo_numbers(project).detail
    text = "\n".join(sections.values())
    exported = memo.memo_markdown(project, sections)
    for column in names:
        assert f"`{column}`" in text, column  # verbatim, in a code span
        assert f"`{column}`" in exported, column
        if "_" in column:
            assert column.replace("_", " ") not in text.replace(f"`{column}`", ""), column


def _numeric_outcomes(frame: pd.DataFrame, treatment: str) -> list[str]:
    return [
        c
        for c in frame.columns
        if c != treatment and pd.api.types.is_numeric_dtype(frame[c]) and frame[c].nunique(dropna=True) > 1
    ]


def _sweep_outcomes(project, frame, treatment, covariates, expect_min):
    built = 0
    for outcome in _numeric_outcomes(frame, treatment):
        spec = EstimationSpec(
            treatment=treatment, outcome=outcome, covariates=[c for c in covariates if c != outcome]
        )
        estimated = _estimated(project, frame, spec)
        if estimated is None:
            continue
        built += 1
        _assert_memo_clean(estimated, frame, list(frame.columns))
    assert built >= expect_min


def test_every_nhefs_column_as_the_outcome(nhefs):
    project, frame = nhefs
    assert "wt82_71" in frame.columns and len(frame.columns) == 67
    _sweep_outcomes(project, frame, "qsmk", ["sex", "age", "wt71"], expect_min=55)


def test_nhefs_columns_as_adjustment_sets(nhefs):
    project, frame = nhefs
    candidates = [c for c in _numeric_outcomes(frame, "qsmk") if c not in ("wt82_71", "wt82")]
    blocks = [candidates[i : i + 6] for i in range(0, len(candidates), 6)]
    built = 0
    for block in blocks:
        estimated = _estimated(project, frame, EstimationSpec(treatment="qsmk", outcome="wt82_71", covariates=block))
        if estimated is not None:
            built += 1
            _assert_memo_clean(estimated, frame, list(frame.columns))
    assert built >= len(blocks) - 2


def test_wt82_71_reads_as_itself_in_the_main_estimate(nhefs):
    project, frame = nhefs
    spec = EstimationSpec(treatment="qsmk", outcome="wt82_71", covariates=["sex", "age", "wt71", "smokeintensity"])
    estimated = _estimated(project, frame, spec)
    sentence = estimated.memo.deterministic["main_estimate"]
    assert "`qsmk` changed `wt82_71` by" in sentence and "wt82 71" not in sentence
    assert [n.text for n in memo.numbers_in(sentence) if n.text in ("71", "82")] == []


def test_every_lalonde_nsw_column(nsw):
    project, frame = nsw
    assert list(frame.columns) == [
        "data_id", "treat", "age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "re78",
    ]
    _sweep_outcomes(project, frame, "treat", ["age", "educ", "black"], expect_min=9)


def test_every_lalonde_nsw_cps_column(nsw_cps):
    project, frame = nsw_cps
    _sweep_outcomes(project, frame, "treat", ["age", "educ", "re74", "re75"], expect_min=9)
