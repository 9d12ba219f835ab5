"""CLI: ``audit`` prints every table as records; ``score profile`` scores a review file; bad input exits 2."""

from __future__ import annotations

import json

import pytest

from causal_core.audit.profile_review import N09_SAMPLE_REVIEW
from causal_core.cli import main


def run_json(capsys, *argv: str) -> dict:
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The support data and dictionary as files, exported by the ``data`` command."""
    folder = tmp_path_factory.mktemp("support")
    data, dictionary = folder / "support.csv", folder / "support_dictionary.csv"
    assert main(["data", "--dataset", "support", "--out", str(data), "--dictionary-out", str(dictionary)]) == 0
    return data, dictionary


@pytest.fixture()
def review_file(tmp_path):
    path = tmp_path / "review.json"
    path.write_text(json.dumps(N09_SAMPLE_REVIEW), encoding="utf-8")
    return path


def test_audit_builtin_prints_every_table_with_defaults(capsys):
    payload = run_json(capsys, "audit", "--dataset", "support")
    assert (payload["treatment"], payload["outcome"], payload["guardrails"], payload["unit_columns"]) == (
        "assistant_enabled", "human_handled_hours", ["customer_satisfaction_score"], ["team_id", "week_start"])
    assert set(payload["tables"]) == {
        "schema_profile", "duplicate_summary", "type_profile", "missingness", "missing_by_treatment", "missing_pattern",
        "balance", "overlap_summary", "propensity_density", "role_scan", "leakage", "smoke_test",
    }
    smoke = payload["tables"]["smoke_test"]
    assert [row["rows_used"] for row in smoke] == [1244, 1244, 458]
    assert [round(row["treatment_coef"], 3) for row in smoke] == [-39.517, -28.385, 13.192]
    assert payload["tables"]["balance"][0]["variable"] == "backlog_start"
    assert round(payload["tables"]["leakage"][0]["abs_corr_with_outcome"], 6) == 0.732711


def test_audit_from_files_matches_the_builtin(capsys, exported, tmp_path):
    data, dictionary = exported
    bundle_path = tmp_path / "bundle.json"
    payload = run_json(
        capsys, "audit", "--data", str(data), "--dictionary", str(dictionary), "--treatment", "assistant_enabled",
        "--outcome", "human_handled_hours", "--guardrail", "customer_satisfaction_score", "--unit", "team_id,week_start",
        "--bundle-out", str(bundle_path),
    )
    assert [round(row["treatment_coef"], 3) for row in payload["tables"]["smoke_test"]] == [-39.517, -28.385, 13.192]
    schema = {row["metric"]: row["value"] for row in payload["tables"]["schema_profile"]}
    assert (schema["unique team-weeks"], schema["duplicated rows by intended grain"]) == (1260, 16)
    bundle = json.loads(bundle_path.read_text())
    assert bundle["explicit_warning"].startswith("Dataset profiling can identify risks")
    assert bundle["intended_row_grain"] == ["team_id", "week_start"]


def test_audit_text_output_is_readable(capsys):
    assert main(["audit", "--dataset", "retention"]) == 0
    out = capsys.readouterr().out
    assert "== Regression smoke test (N09 §9) [smoke_test]" in out
    assert "health_score" in out


def test_audit_without_dictionary_warns_and_never_guesses(capsys, exported):
    data, _ = exported
    payload = run_json(capsys, "audit", "--data", str(data), "--treatment", "assistant_enabled", "--outcome", "human_handled_hours")
    assert any(w.startswith("No unit grain is given") for w in payload["warnings"])
    assert any(w.startswith("Columns with unknown timing (not eligible for adjustment until documented)") for w in payload["warnings"])
    assert payload["tables"]["balance"] == []
    assert payload["tables"]["smoke_test"][1]["covariates"] == "none"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--treatment", "region", "--outcome", "human_handled_hours"], "'region' is not binary: it has 3 distinct values"),
        (["--outcome", "human_handled_hours"], "--treatment and --outcome are required with --data"),
        (["--treatment", "assistant_enabled", "--outcome", "hours"], "The outcome column 'hours' is not in the data"),
        (["--treatment", "assistant_enabled", "--outcome", "human_handled_hours", "--unit", "team"],
         r"Grain column\(s\) not in the data: team"),
        (["--treatment", "assistant_enabled", "--outcome", "human_handled_hours", "--bounds", "0.9"], "--bounds must be two numbers"),
        (["--treatment", "assistant_enabled", "--outcome", "human_handled_hours", "--bounds", "0.9,0.1"],
         "propensity bounds must satisfy"),
    ],
)
def test_audit_bad_input_exits_2_with_one_line(capsys, exported, argv, message):
    import re

    data, _ = exported
    assert main(["audit", "--data", str(data), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert re.search(message, err)


def test_audit_missing_file_and_dictionary_with_builtin(capsys, tmp_path):
    assert main(["audit", "--data", str(tmp_path / "nope.csv"), "--treatment", "t", "--outcome", "y"]) == 2
    assert "data file not found" in capsys.readouterr().err
    assert main(["audit", "--dataset", "support", "--dictionary", "d.csv"]) == 2
    assert "--dictionary only applies with --data" in capsys.readouterr().err


def test_audit_two_valued_string_treatment_and_treated_value(capsys, tmp_path, support, exported):
    _, frame = support
    _, dictionary = exported
    path = tmp_path / "coded.csv"
    frame.assign(assistant_enabled=frame["assistant_enabled"].map({1: "on", 0: "off"})).to_csv(path, index=False)
    assert main(["audit", "--data", str(path), "--treatment", "assistant_enabled", "--outcome", "human_handled_hours"]) == 2
    assert "not coded 0/1: it has the two values 'off', 'on'. Choose which value means treated" in capsys.readouterr().err
    payload = run_json(capsys, "audit", "--data", str(path), "--dictionary", str(dictionary), "--treatment",
                       "assistant_enabled", "--outcome", "human_handled_hours", "--treated-value", "on")
    assert round(payload["tables"]["smoke_test"][0]["treatment_coef"], 3) == -39.517


def test_score_profile_on_builtin_gives_full_marks(capsys, review_file):
    payload = run_json(capsys, "score", "profile", "--review", str(review_file), "--dataset", "support")
    assert (payload["score"], payload["max_score"]) == (13, 13)
    assert {"name", "passed", "reason"} <= set(payload["checks"][0])
    assert payload["checks"][0] == {"name": "names the grain", "passed": True,
                                    "reason": "dataset_grain names team_id × week_start", "severity": "fail"}


def test_score_profile_on_files_and_aliases(capsys, exported, tmp_path):
    data, dictionary = exported
    aliased = {("grain" if k == "dataset_grain" else "excluded_controls" if k == "recommended_exclusions_from_adjustment" else k): v
               for k, v in N09_SAMPLE_REVIEW.items() if k != "confidence"}
    path = tmp_path / "aliased.json"
    path.write_text(json.dumps(aliased))
    payload = run_json(
        capsys, "score", "profile", "--review", str(path), "--data", str(data), "--dictionary", str(dictionary),
        "--treatment", "assistant_enabled", "--outcome", "human_handled_hours", "--guardrail", "customer_satisfaction_score",
        "--unit", "team_id,week_start",
    )
    assert (payload["score"], payload["max_score"]) == (13, 13)


def test_score_profile_planted_flaw_and_text_output(capsys, tmp_path):
    review = {**N09_SAMPLE_REVIEW, "pre_treatment_covariates": [*N09_SAMPLE_REVIEW["pre_treatment_covariates"], "deflection_rate"]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(review))
    assert main(["score", "profile", "--review", str(path), "--dataset", "support"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Profile review score: 12 / 13")
    assert "FAIL  no post-treatment/outcome/future variable among pre-treatment covariates" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON (line 1, column 2"),
        ("[1, 2]", "must hold a JSON object"),
        (json.dumps({**N09_SAMPLE_REVIEW, "confidence": "sure"}), "does not match DatasetProfileReview: confidence"),
    ],
)
def test_score_profile_bad_review_exits_2(capsys, tmp_path, content, message):
    path = tmp_path / "review.json"
    path.write_text(content)
    assert main(["score", "profile", "--review", str(path), "--dataset", "support"]) == 2
    assert message in capsys.readouterr().err


def test_score_profile_missing_review_file(capsys, tmp_path):
    assert main(["score", "profile", "--review", str(tmp_path / "none.json"), "--dataset", "support"]) == 2
    assert "review file not found" in capsys.readouterr().err
