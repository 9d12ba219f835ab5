"""The converted copy of a GGUF model: keyed by file identity, atomic, and the very same model when read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from causal_core.runtime import devices, gguf_cache, local_hf, registry


def test_folder_is_keyed_by_file_identity_and_transformers_version(tmp_path, monkeypatch):
    monkeypatch.setenv("CW_MODEL_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "m.Q4.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 16)
    first = gguf_cache.converted_folder(gguf, "5.23.0")
    assert first.parent == tmp_path / "cache" and first.name.startswith("m.Q4-")
    assert gguf_cache.converted_folder(gguf, "5.23.0") == first
    assert gguf_cache.converted_folder(gguf, "5.24.0") != first
    gguf.write_bytes(b"GGUF" + b"\1" * 17)  # a replaced file (size and mtime change)
    os.utime(gguf, ns=(1, 1))
    assert gguf_cache.converted_folder(gguf, "5.23.0") != first
    assert gguf_cache.converted_folder(tmp_path / "absent.gguf", "5.23.0") is None
    monkeypatch.setenv("CW_MODEL_CACHE", "off")
    assert gguf_cache.cache_root() is None and gguf_cache.converted_folder(gguf, "5.23.0") is None


def test_default_root_is_under_the_users_cache(monkeypatch):
    monkeypatch.delenv("CW_MODEL_CACHE", raising=False)
    assert gguf_cache.cache_root() == Path.home() / ".cache" / "causal-workbench" / "gguf"


def _tiny(tiny_folder: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_folder), AutoTokenizer.from_pretrained(tiny_folder)


def test_saved_copy_loads_the_same_weights_and_tokenizer_without_the_gguf_quantization_config(tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tokenizer = _tiny(tiny_model)
    model.config.quantization_config = {"quant_method": "gguf", "gguf_file": "x.gguf"}  # as a GGUF load leaves it
    folder = gguf_cache.save_converted(model, tokenizer, tmp_path / "copy")
    assert gguf_cache.is_complete(folder)
    assert "quantization_config" not in (folder / "config.json").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".copy-")]  # the staging folder is gone
    again, again_tokenizer = AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    original, copied = model.state_dict(), again.state_dict()
    assert original.keys() == copied.keys() and all(torch.equal(original[k], copied[k]) for k in original)
    text = tokenizer.apply_chat_template([{"role": "user", "content": "the outcome"}], tokenize=False)
    assert again_tokenizer.apply_chat_template([{"role": "user", "content": "the outcome"}], tokenize=False) == text


def test_a_second_writer_keeps_the_first_complete_copy(tiny_model, tmp_path):
    model, tokenizer = _tiny(tiny_model)
    folder = gguf_cache.save_converted(model, tokenizer, tmp_path / "copy")
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert gguf_cache.save_converted(model, tokenizer, tmp_path / "copy") == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_new_copy_removes_older_copies_of_the_same_file_only(tiny_model, tmp_path):
    model, tokenizer = _tiny(tiny_model)
    older = tmp_path / "SmolLM2-135M-Instruct.Q4_1-0123456789abcdef"
    other_model = tmp_path / "SmolLM2-135M-Instruct.Q4_1-long-0123456789abcdef"
    unrelated = tmp_path / "SmolLM2-135M-Instruct.Q4_1-notes"
    for folder in (older, other_model, unrelated):
        folder.mkdir()
    current = gguf_cache.save_converted(model, tokenizer, tmp_path / "SmolLM2-135M-Instruct.Q4_1-fedcba9876543210")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([current.name, other_model.name, unrelated.name])


def test_an_unwritable_cache_only_costs_speed(tiny_model, tmp_path, monkeypatch):
    """A failed save is reported through progress and the loaded model is still returned."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "tiny.gguf").write_bytes(b"GGUF")
    spec = registry.ModelSpec("bundled", "bundled", "tiny", str(tmp_path / "src"), "tiny.gguf")
    monkeypatch.setenv("CW_MODEL_CACHE", str(tmp_path / "cache"))
    import transformers

    model, tokenizer = _tiny(tiny_model)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: tokenizer)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", lambda *a, **k: model)

    def refuse(*args, **kwargs):
        raise OSError("[Errno 28] No space left on device")

    monkeypatch.setattr(gguf_cache, "save_converted", refuse)
    messages: list[str] = []
    plan = devices.plan_load(None, "cpu", "float32")
    loaded, loaded_tokenizer, class_name = local_hf.load(spec, plan, progress=lambda f, m: messages.append(m))
    assert loaded is model and loaded_tokenizer is tokenizer and class_name == "AutoModelForCausalLM"
    assert any("could not save the converted copy ([Errno 28] No space left on device)" in m for m in messages)


@pytest.mark.slow
def test_bundled_model_from_its_converted_copy_equals_the_gguf_load(tmp_path, monkeypatch):
    monkeypatch.setenv("CW_MODEL_CACHE", str(tmp_path))
    spec = registry.resolve("bundled")
    plan = devices.plan_load(spec.params, "cpu", "float32")
    messages: list[str] = []
    from_gguf, tokenizer, _ = local_hf.load(spec, plan, progress=lambda f, m: messages.append(m))
    assert any(m.startswith("saving a converted copy") for m in messages)
    messages.clear()
    from_copy, copy_tokenizer, _ = local_hf.load(spec, plan, progress=lambda f, m: messages.append(m))
    assert any(m.startswith("loading the converted copy of SmolLM2-135M-Instruct.Q4_1.gguf") for m in messages)
    first, second = from_gguf.state_dict(), from_copy.state_dict()
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    messages_in = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "Did outreach work?"}]
    ids = tokenizer.apply_chat_template(messages_in, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    copy_ids = copy_tokenizer.apply_chat_template(messages_in, add_generation_prompt=True, return_tensors="pt",
                                                  return_dict=True)
    assert torch.equal(ids["input_ids"], copy_ids["input_ids"])
    generated = from_gguf.generate(**ids, max_new_tokens=24, do_sample=False)
    assert torch.equal(generated, from_copy.generate(**copy_ids, max_new_tokens=24, do_sample=False))
