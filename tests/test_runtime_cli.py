"""CLI: ``models`` and ``generate`` (generation against the local OpenAI stub; bad inputs exit 2 with one line)."""

from __future__ import annotations

import json

import pytest

from causal_core.cli import main
from causal_core.runtime import registry
from tests.openai_stub import start_stub


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_models_json_lists_one_record_per_model(capsys, empty_cache):
    code, out, _ = run_cli(capsys, "models", "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert [record["id"] for record in records][:2] == ["bundled", "Qwen/Qwen2.5-0.5B-Instruct"]
    assert len(records) == 10
    bundled = records[0]
    assert bundled["available"] is True and bundled["source"] == "bundled" and bundled["size_bytes"] > 50_000_000
    qwen32 = next(record for record in records if record["id"] == "Qwen/Qwen2.5-32B-Instruct")
    assert qwen32["available"] is False and qwen32["est_memory_gb"] > 100
    assert qwen32["fetch_command"] == "hf download Qwen/Qwen2.5-32B-Instruct"
    assert (qwen32["tier"], qwen32["role"]) == ("Scale comparison", "Study how larger models change causal reasoning quality")
    assert {"label", "reason", "est_memory_gb", "gated_note"} <= set(qwen32)


def test_models_text_shows_fetch_commands_and_extra_keys(capsys, empty_cache, tmp_path):
    code, out, _ = run_cli(capsys, "models", "--path", str(tmp_path / "nowhere"))
    assert code == 0
    assert "✓ bundled" in out
    assert "fetch: hf download google/gemma-3-27b-it" in out
    assert "licence: Gated: Gemma Terms of Use" in out
    assert f"✗ {registry.path_key(tmp_path / 'nowhere')}" in out and "not a loadable model folder" in out


def endpoint_card(outcome: str) -> dict:
    """An estimand card as an endpoint returns it, with the outcome column under test."""
    return {
        "business_question": "Did proactive outreach reduce churn last quarter?",
        "causal_question": "What is the effect of outreach on 90-day churn?",
        "unit": "account", "treatment": "outreach", "control_condition": "no outreach",
        "outcome": outcome, "time_window": "90 days after outreach", "target_population": "eligible accounts",
        "estimand": "ATE of outreach on churn", "required_assumptions": ["no unmeasured confounding"],
        "likely_threats": ["targeting of risky accounts"], "variables_to_audit": ["health_score"],
    }


def test_generate_estimand_card_on_an_endpoint(capsys):
    card = endpoint_card(outcome="churn")
    requests: list[dict] = []
    base_url, stop = start_stub(lambda request: json.dumps(card), record=requests)
    try:
        code, out, _ = run_cli(capsys, "generate", "--model", registry.endpoint_key("qwen", base_url),
                               "--task", "estimand-card", "--brief", "Did outreach cut churn?", "--format", "json",
                               "--temperature", "0", "--seed", "5")
    finally:
        stop()
    assert code == 0
    result = json.loads(out)
    assert {"model", "task", "schema_valid", "repair_stage", "failure_type", "artifact", "raw_output", "duration_s",
            "tokens_per_s"} <= set(result)
    assert (result["task"], result["schema_valid"], result["repair_stage"], result["failure_type"]) == (
        "estimand-card", True, "none", "")
    assert result["artifact"]["treatment"] == "outreach"
    assert result["raw_output"] == json.dumps(card)
    assert "Did outreach cut churn?" in requests[0]["messages"][1]["content"]
    assert requests[0]["seed"] == 5


def test_generate_missing_model_reports_the_fetch_command(capsys, empty_cache):
    code, out, _ = run_cli(capsys, "generate", "--model", "Qwen/Qwen2.5-14B-Instruct", "--task", "estimand-card",
                           "--format", "json")
    assert code == 1
    result = json.loads(out)
    assert result["schema_valid"] is False and result["failure_type"] == "model_error"
    assert "hf download Qwen/Qwen2.5-14B-Instruct" in result["error"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "estimand-card", "--dataset", "nope"], "unknown dataset 'nope'"),
        (["--task", "estimand-card", "--brief", "   "], "--brief is empty"),
        (["--task", "estimand-card", "--temperature", "5"], "bad decoding setting temperature"),
        (["--task", "estimand-card", "--max-new-tokens", "2"], "bad decoding setting max_new_tokens"),
    ],
)
def test_generate_bad_inputs_exit_2_with_one_line(capsys, argv, message):
    code, out, err = run_cli(capsys, "generate", "--model", "bundled", *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_generate_bad_endpoint_key_and_task(capsys):
    code, _, err = run_cli(capsys, "generate", "--model", "endpoint:qwen", "--task", "estimand-card")
    assert code == 2 and "endpoint:<model>@<base_url>" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--model", "bundled", "--task", "poem"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'poem'" in capsys.readouterr().err


def test_generate_notes_a_card_naming_a_column_the_data_lacks(capsys):
    """The endpoint gets the column enum; a server that ignores it and invents a column is flagged by name (the
    draft is then scored strictly, not silently accepted)."""
    card = endpoint_card(outcome="churned_90d")
    requests: list[dict] = []
    base_url, stop = start_stub(lambda request: json.dumps(card), record=requests)
    try:
        code, out, _ = run_cli(capsys, "generate", "--model", registry.endpoint_key("qwen", base_url),
                               "--task", "estimand-card", "--brief", "Did outreach cut churn?", "--format", "json")
    finally:
        stop()
    result = json.loads(out)
    notes = " ".join(result["parser_notes"])
    assert "outside the per-project schema" in notes and "'churned_90d' is not a column" in notes
    assert result["repair_stage"] != "none"  # the answer needed the strict path, and the record says so
    assert "churn" in json.dumps(requests[0]["response_format"])  # the schema sent carries the column enum
