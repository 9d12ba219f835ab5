"""Odd inputs on the Estimation stage (issue 17 §7, §8, §12, §18; issue 18 §6, §8, §12) and dictionary categoricals.

Every odd upload of issue 18 §8 gets a clear result or a clear refusal, and every chart builds, including with no
covariates (the default on an upload, where the love plot raised altair's "Unable to determine data type for the
field 'covariate'")."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal_core import estimation as est
from causal_core.data import project_for_upload, read_upload
from causal_core.project import EstimationSpec

ROOT = Path(__file__).resolve().parents[1]
CHARTS = (est.forest_chart, est.love_plot, est.overlap_chart, est.weights_chart)


def _base(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    return pd.DataFrame({"t": t, "y": x + t + rng.normal(size=n), "x": x})


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _cases() -> dict[str, tuple[bytes, str, str, str, list[str]]]:
    base = _base()
    treat_nan = base.astype({"t": float})
    treat_nan.loc[:20, "t"] = np.nan
    mixed = base.astype({"y": object})
    mixed.loc[:5, "y"] = "abc"
    rng = np.random.default_rng(1)
    return {
        "bom": (b"\xef\xbb\xbf" + _csv(base), "bom.csv", "t", "y", ["x"]),
        "all_nan_column": (_csv(base.assign(empty=np.nan)), "nan.csv", "t", "y", ["x", "empty"]),
        "treatment_with_nans": (_csv(treat_nan), "tn.csv", "t", "y", ["x"]),
        "perfect_separation": (_csv(base.assign(s=base["t"] * 10.0 + rng.normal(size=len(base)) * 0.1)), "sep.csv",
                               "t", "y", ["x", "s"]),
        "collinear": (_csv(base.assign(x2=2 * base["x"])), "col.csv", "t", "y", ["x", "x2"]),
        "names_spaces_unicode_html": (
            _csv(base.rename(columns={"x": "my var ü <b>x</b>", "t": "tr eat", "y": "out cöme"})), "names.csv",
            "tr eat", "out cöme", ["my var ü <b>x</b>"]),
        "very_long_name": (_csv(base.rename(columns={"x": "x" * 300})), "long.csv", "t", "y", ["x" * 300]),
        "tz_parquet_datetime": (
            _parquet(base.assign(when=pd.date_range("2024-01-01", periods=len(base), freq="h", tz="Europe/Berlin"))),
            "tz.parquet", "t", "y", ["x", "when"]),
        "mixed_text_outcome": (_csv(mixed), "mixed.csv", "t", "y", ["x"]),
        "two_columns": (_csv(base[["t", "y"]]), "two.csv", "t", "y", []),
    }


# what the run with the listed covariates must do: a refusal's message, or a result's note/warning/dropped count
EXPECTED = {
    "bom": ("ok", None),
    "all_nan_column": ("refused", "Covariate(s) with no values at all (every row is missing): empty."),
    "treatment_with_nans": ("ok", "dropped missing treatment: 21"),
    "perfect_separation": ("ok", "Perfect or quasi-perfect separation in the propensity model"),
    "collinear": ("ok", "Dropped constant or collinear column(s): x2."),
    "names_spaces_unicode_html": ("ok", None),
    "very_long_name": ("ok", None),
    "tz_parquet_datetime": ("refused", "Date column(s) cannot be covariates as is: when."),
    "mixed_text_outcome": ("refused", "The outcome 'y' mixes numbers and text: 6 of 300 non-empty rows are not "
                                      "numbers (e.g. 'abc')."),
    "two_columns": ("ok", None),
}


def _upload(name: str):
    payload, filename, treatment, outcome, covariates = _cases()[name]
    loaded = read_upload(payload, filename)
    project = project_for_upload(loaded).model_copy(update={"treatment": treatment, "outcome": outcome})
    return project, loaded.frame, covariates


def _spec(project, frame, covariates):
    return est.default_spec(project, frame).model_copy(
        update={"covariates": covariates, "categorical": est.categorical_columns(frame, covariates)})


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_odd_upload_gives_a_result_or_a_clear_refusal_and_every_chart_builds(name):
    project, frame, covariates = _upload(name)
    outcome, text = EXPECTED[name]
    if name == "mixed_text_outcome":  # the outcome itself is refused, whatever the covariates
        with pytest.raises(est.EstimationError, match=re.escape(text)):
            est.estimate_project(project, frame, _spec(project, frame, []), refutations=False)
    else:
        bare = est.estimate_project(project, frame, _spec(project, frame, []), refutations=False)  # upload default
        for chart in CHARTS:
            assert chart(bare.estimation).to_dict()
        assert all("No adjustment" in row.label for row in bare.estimation.estimates if row.method != "naive")
    if outcome == "refused":
        with pytest.raises(est.EstimationError) as error:
            est.estimate_project(project, frame, _spec(project, frame, covariates), refutations=False)
        assert text in str(error.value)
        assert project.estimation is None
        return
    result = est.estimate_project(project, frame, _spec(project, frame, covariates), refutations=False).estimation
    for chart in CHARTS:
        assert chart(result).to_dict()
    said = " ".join([*result.warnings, *result.diagnostics.notes,
                     *(f"dropped {k}: {v}" for k, v in result.dropped.items())])
    assert text is None or text in said
    labels = {row.covariate for row in result.balance}
    assert set(covariates) - {"x2", "s"} <= labels  # names reach the love plot untouched (escaping is the page's)


def test_no_covariates_on_the_page_labels_no_adjustment_and_renders_every_section():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("app_pages/estimation.py").run()
    at.multiselect(key="est_covariates_retention").set_value([]).run()
    at.button(key="est_run_retention").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    naive = table.loc[table["method"] == "Naive difference", "estimate"].item()
    others = table[table["method"] != "Naive difference"]
    assert len(others) == 4 and np.allclose(others["estimate"], naive)
    assert all(m.startswith("No adjustment (") and "equals the naive difference" in m for m in others["method"])
    assert not any("Doubly robust" in m for m in table["method"])
    headers = [s.value for s in at.subheader]
    assert {"Diagnostics", "Sensitivity to unobserved confounding", "Refutation tests"} <= set(headers)
    assert any("No covariates were adjusted for" in i.value for i in at.info)
    assert len(at.get("vega_lite_chart")) >= 4


@pytest.mark.parametrize("name", ["two_columns", "bom", "tz_parquet_datetime"])
def test_an_odd_upload_on_the_estimation_page_runs_without_a_traceback(name):
    from streamlit.testing.v1 import AppTest

    from causal_core.data.project_io import project_key

    project, frame, _ = _upload(name)
    key = project_key(project)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["cw_projects"] = {key: project}
    at.session_state["cw_frames"] = {key: frame}
    at.session_state["cw_active"] = key
    at.run()
    at.switch_page("app_pages/estimation.py").run()
    at.button(key=f"est_run_{key}").click().run()
    assert not at.exception and not at.error
    assert any("No covariates were adjusted for" in i.value for i in at.info)
    assert at.session_state["cw_projects"][key].estimation.n_used == 300


# ---- forest and love plots: one label per row, at any count ---------------------------------------------------
def _y_axis_and_rows(spec: dict, field: str) -> tuple[dict, list[str]]:
    layers = spec.get("layer", [spec])
    encodings = [layer["encoding"]["y"] for layer in layers if "y" in layer.get("encoding", {})
                 and layer["encoding"]["y"].get("field") == field]
    values = [record[field] for data in spec["datasets"].values() for record in data if field in record]
    return encodings[0], list(dict.fromkeys(values))


@pytest.fixture(scope="module")
def retention_with_bootstrap(retention):
    project, frame = retention
    estimated = est.estimate_project(project, frame, est.default_spec(project, frame), refutations=False)
    return est.add_bootstrap(estimated, frame, 40), frame


def test_forest_plot_labels_every_row_including_both_ipw_rows_after_a_bootstrap(retention_with_bootstrap):
    project, _ = retention_with_bootstrap
    result = project.estimation
    spec = est.forest_chart(result).to_dict()
    axis_y, rows = _y_axis_and_rows(spec, "row")
    assert len(result.estimates) == 7 and len(rows) == 7  # 5 methods + 2 bootstrap rows, none merged
    assert axis_y["axis"]["labelOverlap"] is False and axis_y["axis"]["labelLimit"] == 0
    assert axis_y["sort"] == rows
    assert spec["height"] == 36 * 7
    table = est.estimates_table(result)
    ipw = table[table["method"].str.startswith("IPW")]
    assert ipw["se_method"].tolist() == ["analytic: influence function", "bootstrap (40 replicates)"]
    assert table["se_method"].str.len().gt(0).all()
    assert {row.se_method for row in result.estimates if row.method == "aipw"} == {
        "analytic: influence function", "bootstrap (40 replicates)"}


def test_love_plot_labels_every_covariate_and_grows_with_them(retention_with_bootstrap):
    project, _ = retention_with_bootstrap
    result = project.estimation
    balance = result.balance
    spec = est.love_plot(result).to_dict()
    axis_y, rows = _y_axis_and_rows(spec, "covariate")
    assert len(balance) > 10 and rows == [r.covariate for r in balance]
    assert axis_y["axis"]["labelOverlap"] is False and spec["height"] == 36 * len(balance)
    few = result.model_copy(update={"balance": balance[:2]})
    assert est.love_plot(few).to_dict()["height"] == 160


# ---- weights: the normalised maximum and the top 1 % share (NSW + CPS) ----------------------------------------
LINEAR = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def nsw_cps() -> pd.DataFrame:
    import causaldata

    nsw = causaldata.nsw_mixtape.load_pandas().data
    cps = causaldata.cps_mixtape.load_pandas().data
    return pd.concat([nsw[nsw["treat"] == 1], cps]).drop(columns="data_id").astype(float).reset_index(drop=True)


def _independent_weights(frame: pd.DataFrame, estimand: str) -> tuple[np.ndarray, np.ndarray]:
    """statsmodels' logit on the raw covariates, bounded as the estimand's weights are: the oracle's weights."""
    import statsmodels.api as sm

    fit = sm.Logit(frame["treat"], sm.add_constant(frame[LINEAR])).fit(disp=0, maxiter=200)
    e = fit.predict(sm.add_constant(frame[LINEAR])).to_numpy()
    t = frame["treat"].to_numpy()
    if estimand == "ATT":
        e = np.minimum(e, 0.98)
        return np.ones(int(t.sum())), (e / (1 - e))[t == 0]
    e = np.maximum(e, 0.02)
    return ((1 - e) / e)[t == 1], np.ones(int((1 - t).sum()))


def _shares(w: np.ndarray) -> tuple[float, float, int]:
    top = np.sort(w)[::-1][: int(np.ceil(0.01 * w.size))]
    return float(w.max() / w.sum()), float(top.sum() / w.sum()), int(top.size)


def test_weight_summary_reports_the_normalised_maximum_and_the_top_1pct_share_on_nsw_cps(nsw_cps):
    spec = EstimationSpec(treatment="treat", outcome="re78", covariates=LINEAR, estimand="ATT")
    weights = est.run_estimation(nsw_cps, spec, sensitivity=False, refutations=False).diagnostics.weights
    _, w0 = _independent_weights(nsw_cps, "ATT")
    max_share, top_share, n_top = _shares(w0)
    control = weights.control
    assert control.max_weight < 1  # the raw maximum looks harmless …
    assert control.top1pct_weight_share == pytest.approx(top_share, abs=1e-4)  # … yet 160 rows carry 55 %
    assert control.top1pct_weight_share == pytest.approx(0.547, abs=0.001) and control.n_top1pct == n_top == 160
    assert control.max_normalised_weight == pytest.approx(max_share, abs=1e-5)


def test_the_extreme_weight_warning_states_shares_not_a_raw_maximum(nsw_cps):
    spec = EstimationSpec(treatment="treat", outcome="re78", covariates=LINEAR, estimand="ATC")
    result = est.run_estimation(nsw_cps, spec, sensitivity=False, refutations=False)
    warning = next(w for w in result.warnings if w.startswith("Extreme weights in the treated arm"))
    w1, _ = _independent_weights(nsw_cps, "ATC")
    max_share, top_share, n_top = _shares(w1)
    assert f"the largest weight carries {max_share:.1%} of the arm's total weight" in warning
    assert f"the top 1 % of rows ({n_top}) carry {top_share:.1%}" in warning
    assert "max weight" not in warning


# ---- cross-fitting folds, non-finite values -------------------------------------------------------------------
def test_more_folds_than_rows_is_refused_with_the_limit():
    frame = _base(600)
    n_treated = int(frame["t"].sum())
    limit = min(n_treated, 600 - n_treated) // 2
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x"], crossfit_folds=100000)
    with pytest.raises(est.EstimationError, match=rf"100000 cross-fitting folds .* so at most {limit} folds"):
        est.run_estimation(frame, spec, sensitivity=False, refutations=False)
    ok = est.run_estimation(frame, spec.model_copy(update={"crossfit_folds": limit}), sensitivity=False,
                            refutations=False)
    assert f"{limit}-fold cross-fitted" in ok.estimates[-1].se_type


def test_the_cli_refuses_100000_folds_on_600_rows(tmp_path):
    path = tmp_path / "six_hundred.csv"
    _base(600).to_csv(path, index=False)
    run = subprocess.run(
        [sys.executable, "-m", "causal_core", "estimate", "--data", str(path), "--treatment", "t", "--outcome", "y",
         "--covariates", "x", "--crossfit", "100000"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "100000 cross-fitting folds is more than this data can fill" in run.stderr
    assert "100000-fold cross-fitted" not in run.stdout


@pytest.mark.parametrize(("column", "role"), [("y", "outcome"), ("x", "covariate"), ("t", "treatment")])
def test_infinite_values_are_refused_up_front_with_the_column_and_row_count(retention, column, role):
    frame = _base().astype(float)
    frame.loc[[3, 7, 11], column] = [np.inf, -np.inf, np.inf]
    project, _ = retention
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x"])
    with pytest.raises(est.EstimationError, match=re.escape(f"the {role} '{column}' in 3 rows")):
        est.estimate_project(project, frame, spec, refutations=False)
    assert project.estimation is None


def test_an_estimate_that_overflows_is_refused_never_returned_as_nan(retention):
    rng = np.random.default_rng(1)
    t = (rng.random(200) < 0.5).astype(int)
    frame = pd.DataFrame({"t": t, "y": np.where(t == 1, 1.5e308, -1.5e308) * rng.uniform(0.5, 1, 200),
                          "x": rng.normal(size=200)})
    project, _ = retention
    with np.errstate(all="ignore"), pytest.raises(est.EstimationError, match="came out as a non-finite number"):
        est.estimate_project(project, frame, EstimationSpec(treatment="t", outcome="y", covariates=["x"]))
    assert project.estimation is None


# ---- dictionary categoricals (NHEFS education) --------------------------------------------------------------
def test_a_dictionary_categorical_enters_as_levels_in_both_models():
    from causaldata import nhefs

    from causal_core.data import frame_to_csv_bytes

    data = nhefs.load_pandas().data
    data = data.loc[data["wt82"].notna(), ["qsmk", "wt82_71", "age", "wt71", "education"]]
    loaded = read_upload(frame_to_csv_bytes(data), "nhefs.csv")
    project = project_for_upload(loaded).model_copy(update={"treatment": "qsmk", "outcome": "wt82_71"})
    spec = EstimationSpec(treatment="qsmk", outcome="wt82_71", covariates=["age", "wt71", "education"])
    numeric = est.estimate_project(project, loaded.frame, spec, refutations=False).estimation
    assert "education" in numeric.diagnostics.design_columns
    flagged = project.model_copy(update={"dictionary": [
        entry.model_copy(update={"categorical": entry.variable == "education"}) for entry in project.dictionary]})
    levels = est.estimate_project(flagged, loaded.frame, spec, refutations=False).estimation
    columns = levels.diagnostics.design_columns
    assert [c for c in columns if c.startswith("education")] == [f"education[{k}]" for k in (2, 3, 4, 5)]
    assert levels.spec.categorical == ["education"]
    assert levels.diagnostics.propensity_model.parameters == numeric.diagnostics.propensity_model.parameters + 3  # 4 dummies instead of one slope, in the propensity model too
    ipw = {r.method: r.estimate for r in levels.estimates}["ipw"]
    assert abs(ipw - {r.method: r.estimate for r in numeric.estimates}["ipw"]) > 1e-3
    assert est.project_categoricals(flagged, loaded.frame, ["age", "education"]) == ["education"]


# ---- p-values: one formatter on the Estimation stage's pages --------------------------------------------------
def test_no_hand_formatted_p_values_on_the_estimation_stage():
    """Raw float formats print "0" or "2e-11"; display.format_p_value prints "< 0.001" / 3 significant digits."""
    pattern = re.compile(r"p\s*=\s*\{[^}]*(pvalue|p_value)[^}]*:[^}]*\}")
    files = ["app_pages/estimation.py", "app_pages/specification_curve.py", "causal_core/ui/designs_panel.py",
             "causal_core/estimation/refutation.py", "causal_core/estimation/sensitivity.py",
             "causal_core/estimation/charts.py"]
    offenders = [f for f in files if pattern.search((ROOT / f).read_text(encoding="utf-8"))]
    assert offenders == []
    from causal_core.display import format_p_value

    assert [format_p_value(p) for p in (0.0, 2e-11, 0.0412345, 0.5)] == ["< 0.001", "< 0.001", "0.0412", "0.5"]
