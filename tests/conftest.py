"""Shared fixtures: built-in projects and frames are generated once per test session."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]  # the project folder is on sys.path via pyproject's pytest `pythonpath`
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CW_RERAISE_PAGE_ERRORS", "1")  # a page crash fails its test (causal_core/ui/errors.py)
# Converted GGUF copies go to a per-session folder (inherited by subprocesses): the first bundled-model
# load in a run takes the GGUF path and writes the copy, later loads read it. Removed at the end.
_MODEL_CACHE = tempfile.mkdtemp(prefix="cw-model-cache-")
os.environ["CW_MODEL_CACHE"] = _MODEL_CACHE
atexit.register(shutil.rmtree, _MODEL_CACHE, True)

ARTIFACTS = ROOT / "test-artifacts"


def _scan_components_once() -> None:
    """Every new AppTest scans the metadata of all ~135 installed packages for Streamlit v2 components
    (0.4–1.0 s of CPU each, a third of an AppTest page test's time); installed packages cannot change during a
    test run, so the first scan's answer is reused. The list is copied so a caller cannot edit the cache."""
    from streamlit.components.v2 import manifest_scanner

    real = manifest_scanner.scan_component_manifests
    if hasattr(real, "__wrapped__"):
        return
    scan = functools.cache(real)

    def scan_once(max_workers: int | None = None) -> list:
        return list(scan())

    scan_once.__wrapped__ = real
    manifest_scanner.scan_component_manifests = scan_once


_scan_components_once()


@pytest.fixture(scope="session")
def retention():
    from causal_core.data import project_for_builtin

    return project_for_builtin("retention")


@pytest.fixture(scope="session")
def support():
    from causal_core.data import project_for_builtin

    return project_for_builtin("support")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer random Llama with a byte-level BPE tokenizer and chat template: the runtime's fast stand-in."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from causal_core import runtime
    from causal_core.runtime import registry

    folder = tmp_path_factory.mktemp("tiny-llama")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(["the treatment outcome churn outreach answer items"] * 10, vocab_size=300,
                            min_frequency=1, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                            show_progress=False)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<|im_end|>",
                                        bos_token="<|im_start|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    yield folder
    runtime.unload(registry.path_key(folder))


def _shared_folder(tmp_path_factory) -> Path:
    """A folder every xdist worker of THIS run sees (their base temps share a per-run parent); without xdist the
    session's own base temp. Never a folder an earlier run could have filled with builds of older code."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _build_or_load(real_build, folder: Path, dataset_name: str, n: int | None):
    """The first worker to ask builds the project (holding a lock so the other waits instead of building it
    too) and saves it as project JSON plus the pickled analysis rows; the saved JSON must reopen equal to the
    build, so a reader gets exactly what `build_project` returned."""
    import fcntl
    import pickle

    from causal_core.project_file import project_from_json, project_to_json

    stem = folder / f"worked-{dataset_name}-{n if n is not None else 'default'}"
    with open(f"{stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stem.with_suffix(".pkl").exists():
            project, frame = real_build(dataset_name, n=n)
            text = project_to_json(project)
            assert project_from_json(text) == project, "the saved worked example must reopen equal to its build"
            stem.with_suffix(".json").write_text(text, encoding="utf-8")
            stem.with_suffix(".pkl").write_bytes(pickle.dumps(frame))
        return project_from_json(stem.with_suffix(".json").read_bytes()), pickle.loads(stem.with_suffix(".pkl").read_bytes())


@pytest.fixture(scope="session")
def build_once(tmp_path_factory):
    """A drop-in for `causal_core.headless.build_project` that builds each (dataset, n) once per test run.

    Why: the worked example (card, DAG, audit, estimates with refutations and sensitivity, specification curve,
    memo) takes seconds per build and a dozen test files need one only to READ it; building is deterministic
    (seeded), so one build serves them all. Each call returns a deep copy, so a test may change what it gets.
    With a `progress` callback it runs the real build: the messages are what such a caller observes. Tests
    whose subject is the build (`project --dataset`, the Memo page's example button) do not use this.
    Tests patch it in with `monkeypatch.setattr("causal_core.headless.build_project", build_once)` when the code
    under test builds the example itself (the lab's built-in cases, `score memo --dataset`).
    """
    from causal_core import headless

    real_build = getattr(headless.build_project, "__wrapped__", headless.build_project)
    folder = _shared_folder(tmp_path_factory)
    built: dict = {}

    def build(dataset_name: str, progress=None, n: int | None = None):
        if progress is not None:
            return real_build(dataset_name, progress=progress, n=n)
        if (dataset_name, n) not in built:
            built[dataset_name, n] = _build_or_load(real_build, folder, dataset_name, n)
        project, frame = built[dataset_name, n]
        return project.model_copy(deep=True), frame.copy(deep=True)

    build.__wrapped__ = real_build
    return build
