"""``python -m causal_core adjust``: identification from DAGitty/DOT/JSON files, errors exit non-zero."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from causal_core import dag, dag_io
from causal_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
M_BIAS = "dag { X [exposure]; Y [outcome]; A -> {X M}; B -> {M Y}; X -> Y }"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["adjust", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_m_bias_json(tmp_path, capsys):
    path = tmp_path / "m.dagitty"
    path.write_text(M_BIAS)
    code, out, _ = run_cli(capsys, "--dag", str(path), "--format", "json")
    assert code == 0
    payload = json.loads(out)
    assert payload["identifiable"] is True
    assert payload["minimal_sets"] == [[]]
    assert payload["recommended_set"] == []
    assert payload["bad_controls"] == [
        {"name": "M", "reason": "collider: adjusting for it (alone) opens the non-causal path X ← A → M ← B → Y"}
    ]
    assert payload["implications"] == ["A ⊥ B", "A ⊥ Y | X", "B ⊥ X", "M ⊥ X | A", "M ⊥ Y | A, B"]


@pytest.mark.parametrize("suffix", [".dagitty", ".dot", ".json"])
def test_retention_dag_in_every_format(tmp_path, capsys, suffix):
    spec = dag.default_dag("retention")
    writer = {".dagitty": dag_io.to_dagitty, ".dot": dag_io.to_dot, ".json": dag_io.to_json}[suffix]
    path = tmp_path / f"retention{suffix}"
    path.write_text(writer(spec))
    code, out, _ = run_cli(capsys, "--dag", str(path), "--treatment", "outreach", "--outcome", "churn", "--format", "json")
    payload = json.loads(out)
    assert code == 0
    assert payload["recommended_set"] == [
        "company_size", "health_score", "prior_tickets", "region", "segment", "tenure_months", "usage_score"
    ]
    assert [b["name"] for b in payload["bad_controls"]] == ["post_outreach_engagement"]
    assert len(payload["implications"]) == 21


def test_latent_confounding_is_reported_not_identifiable(tmp_path, capsys):
    path = tmp_path / "u.dagitty"
    path.write_text("dag { X [exposure]; Y [outcome]; X -> Y; X <-> Y }")
    code, out, _ = run_cli(capsys, "--dag", str(path), "--format", "json")
    payload = json.loads(out)
    assert code == 0 and payload["identifiable"] is False
    assert payload["minimal_sets"] == [] and payload["recommended_set"] is None
    code, out, _ = run_cli(capsys, "--dag", str(path))
    assert "NOT identifiable by adjustment." in out


def test_text_output_and_data_tests(tmp_path, capsys, retention):
    _, frame = retention
    data = tmp_path / "retention.csv"
    frame.to_csv(data, index=False)
    path = tmp_path / "r.dagitty"
    path.write_text(dag_io.to_dagitty(dag.default_dag("retention")))
    code, out, _ = run_cli(capsys, "--dag", str(path), "--data", str(data))
    assert code == 0
    assert "Recommended: {company_size, health_score, prior_tickets, region, segment, tenure_months, usage_score}" in out
    assert "health_score ⊥ usage_score  p=" in out and "violated (Holm p = " in out  # the page's local tests


def test_json_data_tests_are_the_pages_holm_corrected_local_tests(tmp_path, capsys, retention):
    import json

    from causal_core.dag.falsify import falsify

    _, frame = retention
    data = tmp_path / "retention.csv"
    frame.to_csv(data, index=False)
    path = tmp_path / "r.dagitty"
    path.write_text(dag_io.to_dagitty(dag.default_dag("retention")))
    code, out, _ = run_cli(capsys, "--dag", str(path), "--data", str(data), "--format", "json")
    assert code == 0
    cli = json.loads(out)["implication_tests"]
    page = falsify(dag.bind_to_data(dag.default_dag("retention"), list(frame.columns))[0], frame, n_permutations=0)
    assert [row["p_holm"] for row in cli] == pytest.approx([row.p_holm for row in page.local])
    assert sum(row["violated"] for row in cli) == page.violations_holm == 9  # N01's DAG vs its own simulation


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("dag { A -> B; B -> A }", ["--treatment", "A", "--outcome", "B"], "cycle: A → B → A"),
        (M_BIAS, ["--treatment", "Q"], "unknown treatment 'Q'"),
        (M_BIAS, ["--outcome", "Z"], "unknown outcome 'Z'"),
        ("dag { A -> B }", [], "name the --treatment and --outcome"),
        ("dag { A -> ", ["--treatment", "A", "--outcome", "B"], "unexpected end of the file"),
    ],
)
def test_bad_inputs_exit_2_with_reason(tmp_path, capsys, content, args, message):
    path = tmp_path / "g.dagitty"
    path.write_text(content)
    code, out, err = run_cli(capsys, "--dag", str(path), *args)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_and_unknown_files(tmp_path, capsys):
    code, _, err = run_cli(capsys, "--dag", str(tmp_path / "none.dagitty"))
    assert code == 2 and "no such file" in err
    bad = tmp_path / "g.png"
    bad.write_text("x")
    code, _, err = run_cli(capsys, "--dag", str(bad))
    assert code == 2 and "unknown DAG file type" in err


def test_subprocess_exit_status(tmp_path):
    path = tmp_path / "c.dagitty"
    path.write_text("dag { A -> B -> A }")
    result = subprocess.run(
        [sys.executable, "-m", "causal_core", "adjust", "--dag", str(path), "--treatment", "A", "--outcome", "B"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "cycle" in result.stderr


SMOKING = (
    "dag { smoking [exposure]; cancer [outcome]; genotype [latent]; "
    "genotype -> smoking; genotype -> cancer; smoking -> tar -> cancer }"
)
CDE = "dag { X [exposure]; Y [outcome]; X -> M -> Y; X -> Y; C -> M; C -> Y; X -> D; Z -> X; Z -> Y }"
IV = "dag { X [exposure]; Y [outcome]; U [latent]; Z -> X -> Y; U -> X; U -> Y; W -> Z; W -> Y }"


def write(tmp_path, content: str) -> str:
    path = tmp_path / "g.dagitty"
    path.write_text(content)
    return str(path)


def test_front_door_design_in_json_and_text(tmp_path, capsys):
    path = write(tmp_path, SMOKING)
    code, out, _ = run_cli(capsys, "--dag", path, "--format", "json")
    payload = json.loads(out)
    assert code == 0 and payload["identifiable"] is False
    assert payload["design"]["design"] == "frontdoor" and payload["frontdoor_sets"] == [["tar"]]
    assert payload["instruments"] == [] and payload["instrument_note"] == dag.NO_INSTRUMENT_MESSAGE
    code, out, _ = run_cli(capsys, "--dag", path)
    assert "Design: frontdoor. Adjustment cannot identify the effect of smoking on cancer" in out
    assert "Front-door sets:\n  {tar}" in out


def test_conditional_instrument_listed(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "--dag", write(tmp_path, IV), "--instruments", "--format", "json")
    payload = json.loads(out)
    assert code == 0 and payload["instruments"] == [{"instrument": "Z", "conditioning": ["W"]}]
    assert payload["design"]["design"] == "iv"
    _, out, _ = run_cli(capsys, "--dag", write(tmp_path, IV))
    assert "Conditional instruments:\n  Z | W" in out


def test_check_and_direct_effect(tmp_path, capsys):
    path = write(tmp_path, CDE)
    code, out, _ = run_cli(capsys, "--dag", path, "--check", "Z", "D", "--mediator", "M", "--format", "json")
    payload = json.loads(out)
    assert code == 0
    assert payload["check"]["valid"] is False and payload["check"]["criterion_valid"] is True
    assert payload["direct_effect"]["sets"] == [["C", "Z"]]
    assert payload["criterion_sets"] == [["Z"]] and "{D, Z} is valid under the adjustment criterion" in payload[
        "criterion_note"
    ]
    _, out, _ = run_cli(capsys, "--dag", path, "--check", "Z", "D", "--mediator", "M")
    assert "Check {Z, D}: INVALID (backdoor); valid (adjustment criterion)" in out
    assert "Controlled direct effect holding M fixed:\n  {C, Z}" in out


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (SMOKING, ["--instruments"], "no conditional instrument exists in this graph"),
        (CDE, ["--treatment", "X", "--outcome", "X"], "the treatment and the outcome must be different nodes"),
        (CDE, ["--mediator", "C"], "C lie(s) on no causal path from X to Y"),
        (CDE, ["--mediator", "Q"], "unknown mediator(s): Q"),
    ],
)
def test_identification_bad_inputs_exit_2(tmp_path, capsys, content, args, message):
    code, out, err = run_cli(capsys, "--dag", write(tmp_path, content), *args)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_nothing_identifies_says_what_would(tmp_path, capsys):
    content = "dag { X [exposure]; Y [outcome]; U [latent]; V [latent]; U -> X; U -> Y; V -> X; V -> Y; X -> Y }"
    code, out, _ = run_cli(capsys, "--dag", write(tmp_path, content), "--format", "json")
    design = json.loads(out)["design"]
    assert code == 0 and design["design"] == "none" and design["what_would_identify"] == [
        "measuring all of U, V together would make the effect identifiable by adjustment"
    ]
    _, out, _ = run_cli(capsys, "--dag", write(tmp_path, content))
    assert "Design: none. Nothing in this graph identifies the effect of X on Y" in out
    assert "Measuring all of U, V together would make the effect identifiable by adjustment." in out


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    """`adjust … | head`: the CLI's output (> the 64 KiB pipe buffer) meets a closed pipe; that is the
    reader's choice, so the command ends quietly instead of printing a BrokenPipeError traceback."""
    names = [f"confounder_with_a_deliberately_long_descriptive_name_{i}" for i in range(300)]
    body = ["X [exposure]", "Y [outcome]", "X -> Y", *(f"{n} -> X" for n in names), *(f"{n} -> Y" for n in names)]
    path = tmp_path / "wide.dagitty"
    path.write_text("dag {\n" + "\n".join(body) + "\n}")
    process = subprocess.Popen(
        [sys.executable, "-m", "causal_core", "adjust", "--dag", str(path), "--format", "json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout.read(10).startswith(b"{")
    process.stdout.close()  # the reader goes away long before the ~100 KB of JSON are written
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0 and "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_data_files_are_read_as_every_command_reads_them(tmp_path, capsys, retention):
    """adjust --data takes Parquet as well as CSV (the app's upload parser) and words a missing file as the
    other commands do."""
    _, frame = retention
    parquet = tmp_path / "retention.parquet"
    frame.to_parquet(parquet)
    path = tmp_path / "r.dagitty"
    path.write_text(dag_io.to_dagitty(dag.default_dag("retention")))
    code, out, _ = run_cli(capsys, "--dag", str(path), "--data", str(parquet))
    assert code == 0 and "health_score ⊥ usage_score  p=" in out
    code, _, err = run_cli(capsys, "--dag", str(path), "--data", str(tmp_path / "absent.csv"))
    assert code == 2 and err.strip() == f"error: data file not found: {tmp_path / 'absent.csv'}"
