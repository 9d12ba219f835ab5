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
