"""Headless project and the project / memo / report commands, end to end without a model."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from causal_core import estimation, memo
from causal_core.cli import main
from causal_core.data import analysis_frame, builtin_source
from causal_core.project import EstimateRow
from causal_core.project_file import project_from_json
from causal_core.reporting.consistency import consistency_checks
from tests.test_memo_support import N01_COVARIATES, N01_SENTENCE

# SmolLM2-135M-Instruct's actual memo draft on the headless retention project (bundled model, greedy, constrained).
SMOL_DRAFT = {
    "question": "Did proactive customer-success outreach reduce churn last quarter?",
    "estimand": "ATE",
    "design": "observational (treatment not randomized)",
    "key_diagnostic": "The doubly robust estimate suggests outreach changed churn risk by -4.8%, with an approximate 95% interval from -6.8% to -2.7%, and a treatment alone explains 0.25% of the residual variance.",
    "main_estimate": "The doubly robust estimate suggests outreach changed churn risk by -4.8%, with an approximately 95% interval from -6.8% to -2.7%, and a treatment alone explains 0.25% of the residual variance.",
    "interpretation": "The data suggests that outreach reduced churn risk by 4.9%, with a treatment alone explaining 0.25% of the residual variance.",
    "main_limitation": "The data suggests that the treatment alone explains 0.25% of the residual variance.",
    "recommendation": "The data suggests that the treatment alone explains 0.25% of the residual variance, and the data suggests that the treatment alone alone does not explain the treatment alone alone does not explain the treatment alone alone does not explain the treatment alone ",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``python -m causal_core project --dataset retention`` once for the module."""
    folder = tmp_path_factory.mktemp("headless")
    path = folder / "retention.json"
    assert main(["project", "--dataset", "retention", "--out", str(path), "--format", "json"]) == 0
    return path, project_from_json(path.read_bytes())


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_headless_project_is_complete(built):
    _, project = built
    assert project.card_status == "approved" and project.estimand_card.estimand.startswith("average treatment effect")
    assert (project.treatment, project.outcome) == ("outreach", "churn")
    assert project.dag is not None and project.dag.treatment == "outreach"
    assert project.data_audit is not None and "balance" in project.data_audit.tables
    assert len(project.checklist) == 8
    spec = project.estimation.spec
    assert sorted(spec.covariates) == sorted(N01_COVARIATES)  # the DAG's recommended set is N01's
    assert spec.estimand == "ATE" and spec.overrides == []
    assert {row.method for row in project.estimation.estimates} == {"naive", "regression", "gcomp", "ipw", "aipw"}
    assert project.estimation.true_effect == pytest.approx(-0.0462, abs=5e-4)
    assert project.memo.deterministic == memo.deterministic_memo(project)
    record = project.audit_history("memo")[-1]
    assert (record.model_id, record.score, record.max_score) == ("deterministic", 14, 14)
    assert [item.status for item in consistency_checks(project)] == ["green"] * 8


def test_headless_memo_numbers_equal_its_estimates(built):
    _, project = built
    aipw = next(r for r in project.estimation.estimates if r.method == "aipw")
    naive = next(r for r in project.estimation.estimates if r.method == "naive")
    sections = project.memo.deterministic
    assert sections["main_estimate"].startswith(
        f"The doubly robust estimate suggests `outreach` changed `churn` risk by {aipw.estimate * 100:.1f} percentage "
        f"points, with an approximate 95% interval from {aipw.ci_low * 100:.1f} to {aipw.ci_high * 100:.1f} percentage "
        "points."
    )
    assert f"The naive difference is {naive.estimate * 100:.1f} percentage points" in sections["key_diagnostic"]
    assert "`health_score` (standardised mean difference -0.779)" in sections["key_diagnostic"]  # N01 §9's top SMD
    assert aipw.estimate == pytest.approx(-0.047, abs=1e-3) and naive.estimate == pytest.approx(0.078, abs=1e-3)


def test_n01_sentence_from_n01s_doubly_robust_row(built):
    """With N01 §11's own doubly robust computation in the project, the memo says exactly what N01 says."""
    _, project = built
    source = project.data_source
    frame = analysis_frame(project, builtin_source(source.name, source.n, source.seed).frame)
    n01 = estimation.n01_section11_table(frame).set_index("method").loc["Doubly robust"]
    row = EstimateRow(
        method="aipw",
        estimand="ATE",
        estimate=n01["estimate"],
        std_error=n01["std_error"],
        ci_low=n01["ci_low"],
        ci_high=n01["ci_high"],
        n_used=len(frame),
    )
    rows = [r if r.method != "aipw" else row for r in project.estimation.estimates]
    n01_project = project.model_copy(update={"estimation": project.estimation.model_copy(update={"estimates": rows})})
    sections = memo.deterministic_memo(n01_project, frame)
    assert sections["main_estimate"].startswith(N01_SENTENCE)
    assert [c.name for c in memo.score_memo(sections, n01_project, frame) if not c.passed] == []


def test_project_command_prints_a_summary(built, capsys, tmp_path, build_once, monkeypatch):
    """The command's summary and file for support. The build end to end (with its progress lines) is `built`'s
    on retention; here `headless.build_project` serves the test run's one support build (tests/conftest.py)."""
    calls = []

    def shared_build(dataset_name, progress=None, n=None):
        calls.append((dataset_name, n, callable(progress)))
        return build_once(dataset_name, n=n)

    monkeypatch.setattr("causal_core.headless.build_project", shared_build)
    out = tmp_path / "support.json"
    assert main(["project", "--dataset", "support", "--out", str(out), "--format", "json"]) == 0
    assert calls == [("support", None, True)]
    summary = json.loads(capsys.readouterr().out)
    assert summary["dataset"] == "support" and summary["estimand"] == "ATE"
    assert summary["memo_score"] == "14/14"
    assert "`human_handled_hours` by" in summary["main_estimate"] and "%" not in summary["main_estimate"].replace(
        "95%", ""
    )
    assert set(summary["consistency"].values()) == {"green"}
    assert project_from_json(out.read_bytes()).estimation.spec.cluster == "team_id"


def test_memo_command_writes_markdown(built, tmp_path, capsys):
    path, project = built
    out = tmp_path / "memo.md"
    assert main(["memo", "--project", str(path), "--out", str(out), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == {"out": str(out), "memo": "deterministic", "score": "14/14", "failed_checks": []}
    text = out.read_text()
    assert text.startswith("# Decision memo (deterministic): retention analysis")
    for heading in (
        "Question",
        "Estimand",
        "Design",
        "Key diagnostic",
        "Main estimate",
        "Interpretation",
        "Main limitation",
        "Recommendation",
    ):
        assert f"**{heading}.** " in text
    assert memo.to_markdown(project.memo.deterministic["main_estimate"]) in text
    assert main(["memo", "--project", str(path), "--out", "-"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    written = text.strip().splitlines()
    # the second line is the generation timestamp; everything else is identical
    assert printed[:2] + printed[3:] == written[:2] + written[3:]


def test_memo_command_without_final_memo_refuses(built, capsys):
    path, _ = built
    assert main(["memo", "--project", str(path), "--out", "-", "--which", "final"]) == 2
    assert one_error_line(capsys) == "error: this project has no final memo yet (use --which deterministic)"


def test_report_command_writes_the_bundle(built, tmp_path, capsys):
    path, project = built
    out, page = tmp_path / "bundle.zip", tmp_path / "memo.html"
    assert main(["report", "--project", str(path), "--out", str(out), "--html-out", str(page), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    names = zipfile.ZipFile(out).namelist()
    assert result["files"] == names
    assert {"memo.md", "memo.html", "project.json", "estimates.csv", "dag.dot", "dag.dagitty", "dag.svg"} <= set(names)
    assert project_from_json(zipfile.ZipFile(out).read("project.json")) == project
    assert page.read_text().startswith("<!DOCTYPE html>")
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
        assert len(archive.read("estimates.csv").decode().strip().splitlines()) == 6


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: project file not found: {path}"),
        ("", "error: The project file is empty."),
        ('{"schema": ', "error: The project file is corrupt: invalid JSON at line 1, column 12 (Expecting value)."),
        (
            '{"schema": "other"}',
            "error: This JSON file is not a Causal Workbench project (schema is 'other', expected 'causal-workbench/project').",
        ),
    ],
)
@pytest.mark.parametrize("command", ["memo", "report"])
def test_bad_project_files_exit_2_with_one_line(tmp_path, capsys, command, content, message):
    path = tmp_path / "p.json"
    if content is not None:
        path.write_text(content)
    assert main([command, "--project", str(path), "--out", str(tmp_path / "out")]) == 2
    assert one_error_line(capsys) == message.format(path=path)
    assert not (tmp_path / "out").exists()


def test_directory_and_missing_output_folder(built, tmp_path, capsys):
    path, _ = built
    assert main(["memo", "--project", str(tmp_path), "--out", "-"]) == 2
    assert one_error_line(capsys) == f"error: project path is a directory, not a file: {tmp_path}"
    target = tmp_path / "missing" / "b.zip"
    assert main(["report", "--project", str(path), "--out", str(target)]) == 2
    line = one_error_line(capsys)  # helper D may add the option's role ("cannot write output …")
    assert re.fullmatch(
        rf"error: cannot write (?:\w+ )?{re.escape(str(target))}: folder {re.escape(str(target.parent))} does not exist",
        line,
    ), line


def test_unknown_dataset_is_a_one_line_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["project", "--dataset", "nope", "--out", str(tmp_path / "p.json")])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nope'" in one_error_line(capsys)
    assert not Path(tmp_path / "p.json").exists()


def test_bundled_models_real_draft_is_caught(built):
    """The tiny model copied a sensitivity share into the effect sections and skipped assumption and validation."""
    _, project = built
    checks = {c.name: c for c in memo.score_memo(SMOL_DRAFT, project)}
    assert [name for name, c in checks.items() if not c.passed] == [
        "numbers_match_project",
        "assumption_stated",
        "limitation_stated",  # "the treatment alone explains 0.25% of the residual variance" is no limitation
        "recommends_validation",
        "risk_difference_read_absolutely",  # "-4.8%" of a risk is not -4.8 percentage points
    ]
    assert "0.25% (Main estimate: not an estimate)" in checks["numbers_match_project"].reason
