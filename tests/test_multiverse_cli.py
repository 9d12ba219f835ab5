"""``python -m causal_core multiverse``: the table (CSV/JSON), the chart (SVG/PNG), the stored project, and every
bad input as one line with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causal_core.cli import main
from causal_core.project_file import project_from_json

SMALL = ["--estimators", "regression,aipw", "--trimming", "none,crump"]


def run_json(capsys, *argv: str) -> dict:
    assert main(["multiverse", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def run_error(capsys, *argv: str) -> str:
    assert main(["multiverse", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ")
    return err


def test_support_writes_table_chart_and_project(capsys, tmp_path):
    table, chart, png, out = (tmp_path / name for name in ("curve.csv", "curve.svg", "curve.png", "p.json"))
    data = run_json(
        capsys, "--dataset", "support", *SMALL, "--table", str(table), "--chart", str(chart), "--out", str(out)
    )
    assert data["specifications"] == 3 * 2 * 2 * 2  # grain × cluster × trimming × estimator
    assert data["summary"]["valid"]["verdict"] == "robust" and data["summary"]["main"]["estimate"] < -25
    frame = pd.read_csv(table)
    assert len(frame) == data["specifications"] and set(frame["grain"]) == {"none", "keep_first", "average"}
    assert set(frame["cluster"]) == {"team_id", "none"} and frame["main"].sum() == 1
    assert chart.read_text().lstrip().startswith("<svg")
    project = project_from_json(out.read_bytes())
    assert project.multiverse is not None and len(project.multiverse.rows) == data["specifications"]
    run_json(capsys, "--project", str(out), "--estimators", "aipw", "--trimming", "none", "--chart", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_table_keeps_failed_rows_with_reasons(capsys, tmp_path):
    table = tmp_path / "curve.json"
    run_json(
        capsys,
        "--dataset",
        "support",
        "--estimators",
        "regression",
        "--trimming",
        "none",
        "--include-invalid",
        "--no-grain",
        "--no-cluster",
        "--table",
        str(table),
    )
    payload = json.loads(table.read_text())
    failed = [row for row in payload["specifications"] if row["status"] == "failed"]
    assert {row["adjustment set"] for row in failed} == {"add agent_uses_ai", "add deflection_rate"}
    assert all("Too few rows to compare" in row["reason"] for row in failed)
    assert payload["summary"]["n_failed"] == len(failed)


def test_data_file_without_a_dag_is_unchecked(capsys, tmp_path):
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=n), "t": t, "y": 2.0 * t + x + rng.normal(size=n)})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    data = run_json(
        capsys,
        "--data",
        str(path),
        "--treatment",
        "t",
        "--outcome",
        "y",
        "--covariates",
        "x",
        "--set",
        "x,z",
        "--estimators",
        "regression,aipw",
        "--trimming",
        "none",
    )
    assert data["specifications"] == 2 * 2 and data["summary"]["n_unchecked"] == 4
    assert data["summary"]["valid"]["median"] == pytest.approx(2.0, abs=0.3)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "retention", "--table", "out.txt"], "must end in .csv or .json"),
        (["--dataset", "retention", "--chart", "out.pdf"], "must end in .svg or .png"),
        (["--dataset", "retention", "--estimators", "lasso"], "Unknown estimator(s) lasso"),
        (["--dataset", "retention", "--set", "a,b"], "names unknown column(s): a, b"),
        (["--dataset", "retention", "--max-dag-sets", "0"], "--max-dag-sets must be at least 1"),
        (["--data", "missing.csv", "--treatment", "t", "--outcome", "y", "--covariates", ""], "data file not found"),
        (["--project", "nope.json"], "project file not found"),
        ([], "name the data"),
    ],
)
def test_bad_inputs_are_one_line(capsys, argv, message):
    assert message in run_error(capsys, *argv)


def test_data_needs_roles(capsys, tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"t": [0, 1] * 20, "y": range(40)}).to_csv(path, index=False)
    assert "--treatment and --outcome are required" in run_error(capsys, "--data", str(path))
    assert "--covariates is required" in run_error(capsys, "--data", str(path), "--treatment", "t", "--outcome", "y")


def test_a_large_curve_renders_past_altairs_5000_row_limit():
    """1,500 specifications × 4 varying dimensions = 6,000 indicator rows (altair refuses > 5,000 by default)."""
    from causal_core.multiverse import summarise
    from causal_core.multiverse.export import chart_bytes
    from causal_core.project import MultiverseResult, MultiverseRow

    dims = {name: [f"{name}{i}" for i in range(k)] for name, k in (("a", 5), ("b", 5), ("c", 6), ("d", 10))}
    rows = []
    for index in range(1500):
        choices = {name: options[index % len(options)] for name, options in dims.items()}
        value = float(np.sin(index))
        rows.append(MultiverseRow(id=index, choices=choices, estimate=value, ci_low=value - 0.1, ci_high=value + 0.1))
    result = MultiverseResult(rows=rows, dimensions=dims)
    result = result.model_copy(update={"summary": summarise(result)})
    assert chart_bytes(result, "svg").lstrip().startswith(b"<svg")


def test_functional_forms_flag_adds_linear_quadratic_and_spline(capsys, tmp_path):
    """y depends on x², so the quadratic and spline forms land near 2.0 while linear keeps the curvature bias."""
    rng = np.random.default_rng(5)
    n = 600
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(x**2 - 1)))).astype(int)
    frame = pd.DataFrame({"x": x, "t": t, "y": 2.0 * t + 3 * x**2 + rng.normal(size=n)})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    argv = ["--data", str(path), "--treatment", "t", "--outcome", "y", "--covariates", "x",
            "--estimators", "regression", "--trimming", "none", "--table", str(tmp_path / "t.json")]
    assert run_json(capsys, *argv)["specifications"] == 1
    data = run_json(capsys, *argv, "--functional-forms")
    assert data["specifications"] == 3
    rows = json.loads((tmp_path / "t.json").read_text())
    rows = rows["specifications"]
    by_form = {row["functional form"]: row["estimate"] for row in rows}
    assert set(by_form) == {"linear", "quadratic", "spline"}
    assert by_form["quadratic"] == pytest.approx(2.0, abs=0.25) and by_form["spline"] == pytest.approx(2.0, abs=0.3)
    assert abs(by_form["linear"] - 2.0) > 0.5
