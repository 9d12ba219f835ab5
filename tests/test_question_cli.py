"""``python -m causal_core score estimand-card``: scores, JSON shape and one-line errors (exit 2)."""

from __future__ import annotations

import json

import pytest

from causal_core import question as q
from causal_core.cli import main
from causal_core.project import DataSource, Project
from causal_core.project_file import project_to_json


@pytest.fixture
def card_file(tmp_path):
    def write(payload, name="card.json"):
        path = tmp_path / name
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
        return str(path)

    return write


def run_json(capsys, *argv):
    code = main(["score", "estimand-card", *argv, "--format", "json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else None), out.err


def test_n01_card_scores_full_marks_on_retention(capsys, card_file):
    code, payload, _ = run_json(capsys, "--card", card_file(q.N01_CARD), "--dataset", "retention")
    assert code == 0
    assert (payload["score"], payload["max_score"]) == (12, 12)
    assert len(payload["checks"]) == 13
    assert all(item["passed"] for item in payload["checks"])
    assert set(payload["checks"][0]) >= {"name", "passed", "reason"}
    assert payload["checks"][0] == {
        "name": "treatment_in_data", "passed": True, "reason": "Treatment matches data column 'outreach'.", "severity": "fail",
    }


def test_n01_card_on_support_misses_treatment_and_outcome(capsys, card_file):
    code, payload, _ = run_json(capsys, "--card", card_file(q.N01_CARD), "--dataset", "support")
    assert code == 0 and (payload["score"], payload["max_score"]) == (10, 12)
    assert {c["name"] for c in payload["checks"] if not c["passed"]} == {
        "treatment_in_data", "outcome_in_data", "variables_to_audit_in_data",
    }


def test_support_card_and_aliases(capsys, card_file):
    aliased = {("assumptions" if k == "required_assumptions" else k): v for k, v in q.SUPPORT_CARD.items()}
    code, payload, _ = run_json(capsys, "--card", card_file(aliased), "--dataset", "support")
    assert code == 0 and payload["score"] == payload["max_score"] == 12


def test_score_against_a_saved_project(capsys, card_file, tmp_path, retention):
    project, frame = retention
    path = tmp_path / "p.json"
    path.write_text(project_to_json(project))
    bad = card_file({**q.N01_CARD, "causal_question": "Outreach reduced churn by 4 points."})
    code, payload, _ = run_json(capsys, "--card", bad, "--project", str(path))
    assert code == 0 and payload["score"] == 11
    assert [c["name"] for c in payload["checks"] if not c["passed"]] == ["no_effect_claimed"]


def test_score_against_an_upload_project_without_its_rows(capsys, card_file, tmp_path, retention):
    """An upload's rows are not stored: the recorded columns and dictionary are enough to score."""
    project, _ = retention
    source = DataSource(kind="upload", name="crm.csv", sha256="0" * 64, rows=6000, columns=project.data_source.columns)
    upload = Project(dictionary=project.dictionary, data_source=source, treatment="outreach")
    path = tmp_path / "upload.json"
    path.write_text(project_to_json(upload))
    code, payload, _ = run_json(capsys, "--card", card_file(q.N01_CARD), "--project", str(path))
    assert code == 0 and payload["score"] == 12


def test_text_format(capsys, card_file):
    assert main(["score", "estimand-card", "--card", card_file(q.N01_CARD), "--dataset", "retention"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "estimand card: 12 / 12"
    assert lines[1] == "  PASS  treatment_in_data: Treatment matches data column 'outreach'."


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (None, "error: card file not found: "),
        ("", "is empty"),
        ('{"unit": ', "is not valid JSON: line 1, column 10 (Expecting value)"),
        ({**q.N01_CARD, "colour": "blue"}, "the card does not match the estimand-card schema: colour: Extra inputs"),
        ({**q.N01_CARD, "likely_threats": "one string"}, "schema: likely_threats: Input should be a valid list"),
        ([1, 2], "the card must be a JSON object"),
    ],
)
def test_bad_card_files_give_one_line_and_exit_2(capsys, card_file, tmp_path, payload, message):
    path = str(tmp_path / "missing.json") if payload is None else card_file(payload)
    code = main(["score", "estimand-card", "--card", path, "--dataset", "retention"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_bad_project_and_missing_source(capsys, card_file, tmp_path):
    card = card_file(q.N01_CARD)
    code = main(["score", "estimand-card", "--card", card, "--project", str(tmp_path / "nope.json")])
    assert code == 2 and capsys.readouterr().err == f"error: project file not found: {tmp_path / 'nope.json'}\n"
    code = main(["score", "estimand-card", "--card", card, "--project", card])
    err = capsys.readouterr().err
    assert code == 2 and "is not a Causal Workbench project" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "estimand-card", "--card", card])
    assert exit_info.value.code == 2
    assert "one of the arguments --dataset --project is required" in capsys.readouterr().err
