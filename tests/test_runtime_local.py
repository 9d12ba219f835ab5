"""Registry, offline availability, sessions, threads, cancel and truncation — on a tiny random model.

A 2-layer Llama with a byte-level BPE tokenizer is written to a temp folder and used through the real
code path (``path:`` key → transformers load → xgrammar-constrained generate → parse). Outputs are
gibberish but the runtime's guarantees (schema-valid JSON, determinism, locking, classification)
do not depend on the weights. The real bundled model is exercised in test_runtime_bundled.py.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, StringConstraints

from causal_core import runtime
from causal_core.ai.structured import DecodingSettings, StructuredTask
from causal_core.runtime import devices, registry, sessions

Short = Annotated[str, StringConstraints(max_length=6)]


class Mini(BaseModel):
    answer: str = Field(max_length=8)
    items: list[Short] = Field(max_length=2)


MINI_TASK = StructuredTask(name="mini", artifact="mini", system_prompt="Return JSON.",
                           build_user_prompt=lambda inputs: f"Question: {inputs['q']}", schema=Mini)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a non-loopback socket fails the test."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"network access attempted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


# ------------------------------------------------------------------------------------------ registry


N01_LADDER = [  # N01 §2.1, verbatim
    ("Smoke test", "Qwen/Qwen2.5-0.5B-Instruct", "Prove the local generation pipeline works"),
    ("Fast default", "Qwen/Qwen2.5-7B-Instruct", "Main working model for quick drafts of causal artifacts"),
    ("Strong local model", "Qwen/Qwen2.5-14B-Instruct", "DAG critique, estimand cards, memos, and method review"),
    ("Scale comparison", "Qwen/Qwen2.5-32B-Instruct", "Study how larger models change causal reasoning quality"),
    ("Model-family comparison", "microsoft/Phi-3.5-mini-instruct", "Compact non-Qwen comparison"),
    ("Model-family comparison", "mistralai/Mistral-7B-Instruct-v0.3", "Alternative 7B instruct model"),
    ("Strong non-Qwen comparison", "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
     "Larger Mistral comparison below the 32B ceiling"),
    ("Large non-Qwen comparison", "google/gemma-3-27b-it", "Strong Gemma-family comparison point"),
    ("Industry-standard baseline", "meta-llama/Meta-Llama-3.1-8B-Instruct", "Common local instruct-model baseline"),
]


def test_list_models_offline_is_bundled_plus_the_n01_ladder(empty_cache, no_network):
    rows = runtime.list_models()
    assert rows[0].key == "bundled" and rows[0].available and rows[0].source == "bundled"
    assert rows[0].size_bytes == (registry.bundled_folder() / registry.BUNDLED_GGUF).stat().st_size > 50_000_000
    ladder = [row for row in rows if row.source == "ladder"]
    assert [(row.tier, row.key, row.role) for row in ladder] == N01_LADDER
    for row in ladder:
        assert not row.available
        assert row.fetch_command == f"hf download {row.key}"
        assert f"`hf download {row.key}`" in row.reason
    gated = {row.key for row in ladder if row.gated_note}
    assert gated == {"google/gemma-3-27b-it", "meta-llama/Meta-Llama-3.1-8B-Instruct"}
    assert "Llama 3.1 Community License" in next(row for row in ladder if "llama" in row.key).gated_note


def test_memory_estimate_is_params_times_bytes_per_dtype(empty_cache, monkeypatch):
    monkeypatch.setattr(devices, "cuda_available", lambda: False)
    monkeypatch.setattr(devices, "mps_available", lambda: False)
    monkeypatch.setattr(devices, "cpu_free_bytes", lambda: 20_000_000_000)
    rows = {row.key: row for row in runtime.list_models()}
    qwen7 = rows["Qwen/Qwen2.5-7B-Instruct"]
    assert qwen7.est_memory_gb == pytest.approx(7_615_616_512 * 4 / 1e9, abs=0.01)  # float32 on CPU
    assert not qwen7.fits_memory and "too large" in qwen7.memory_note
    assert rows["Qwen/Qwen2.5-0.5B-Instruct"].fits_memory
    assert rows["bundled"].est_memory_gb == pytest.approx(0.54, abs=0.01)
    assert rows["bundled"].free_memory_gb == 20.0


def test_ladder_architectures_pick_the_right_auto_class():
    classes = {entry.repo_id: registry.model_class_for([entry.architecture]) for entry in registry.LADDER}
    assert classes["google/gemma-3-27b-it"] == "AutoModelForImageTextToText"
    assert classes["mistralai/Mistral-Small-3.1-24B-Instruct-2503"] == "AutoModelForImageTextToText"
    assert classes["microsoft/Phi-3.5-mini-instruct"] == "AutoModelForCausalLM"
    assert {classes[key] for key in classes if "Qwen" in key or "Llama" in key} == {"AutoModelForCausalLM"}
    assert registry.model_class_for(["BertModel"]) == ""
    assert registry.model_class_for(["T5ForConditionalGeneration"]) == ""


def test_missing_model_offline_gives_the_fetch_command_and_never_touches_the_network(empty_cache, no_network):
    interaction = runtime.run_task(MINI_TASK, {"q": "x"}, "Qwen/Qwen2.5-7B-Instruct")
    assert not interaction.schema_valid
    assert interaction.failure_type == "model_error"
    assert interaction.repair_stage == "failed"
    assert "`hf download Qwen/Qwen2.5-7B-Instruct`" in interaction.error
    assert interaction.user_prompt == "Question: x"
    gemma = runtime.run_task(MINI_TASK, {"q": "x"}, "google/gemma-3-27b-it")
    assert "Gemma Terms of Use" in gemma.error
    with pytest.raises(registry.ModelUnavailable) as missing:
        registry.resolve("meta-llama/Meta-Llama-3.1-8B-Instruct")
    assert missing.value.kind == "missing_files"
    assert missing.value.fetch_command == "hf download meta-llama/Meta-Llama-3.1-8B-Instruct"


def _safetensors(path: Path, shapes: dict[str, list[int]]) -> None:
    header = {name: {"dtype": "BF16", "shape": shape, "data_offsets": [0, 0]} for name, shape in shapes.items()}
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw)


def _cached_repo(hub: Path, repo_id: str, config: dict, shapes: dict[str, list[int]] | None) -> None:
    """A real HF cache layout: blobs + snapshot symlinks + refs/main."""
    repo = hub / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    files = {"config.json": json.dumps(config).encode()}
    if shapes is not None:
        scratch = repo / "scratch.safetensors"
        _safetensors(scratch, shapes)
        files["model.safetensors"] = scratch.read_bytes()
        scratch.unlink()
    for index, (name, payload) in enumerate(files.items()):
        blob = repo / "blobs" / f"blob{index}"
        blob.write_bytes(payload)
        os.symlink(blob, snapshot / name)


def test_hf_cache_scan_filters_by_architecture(empty_cache, no_network):
    empty_cache.mkdir(parents=True)
    _cached_repo(empty_cache, "acme/tiny-chat", {"architectures": ["Qwen2ForCausalLM"], "torch_dtype": "bfloat16"},
                 {"embed": [100, 8], "lm_head": [100, 8], "layer": [8, 8]})
    _cached_repo(empty_cache, "acme/vision-chat", {"architectures": ["Gemma3ForConditionalGeneration"]}, {"w": [10, 10]})
    _cached_repo(empty_cache, "acme/encoder", {"architectures": ["BertModel"]}, {"w": [4, 4]})
    _cached_repo(empty_cache, "microsoft/Phi-3.5-mini-instruct", {"architectures": ["Phi3ForCausalLM"]}, {"w": [3, 3]})
    rows = {row.key: row for row in runtime.list_models()}
    assert "acme/encoder" not in rows
    tiny = rows["acme/tiny-chat"]
    assert (tiny.source, tiny.available, tiny.params, tiny.model_class) == ("hf_cache", True, 1664, "AutoModelForCausalLM")
    assert tiny.size_bytes > 0 and "in the local" not in tiny.reason and "present" in tiny.reason
    assert rows["acme/vision-chat"].model_class == "AutoModelForImageTextToText"
    phi = rows["microsoft/Phi-3.5-mini-instruct"]
    assert phi.source == "ladder" and phi.available and phi.fetch_command == ""
    assert "in the local HF cache" in phi.reason


def test_cached_config_without_weights_is_an_incomplete_download(empty_cache):
    empty_cache.mkdir(parents=True)
    _cached_repo(empty_cache, "Qwen/Qwen2.5-0.5B-Instruct", {"architectures": ["Qwen2ForCausalLM"]}, None)
    info = registry.describe("Qwen/Qwen2.5-0.5B-Instruct")
    assert not info.available
    assert "no weight files" in info.reason and info.fetch_command == "hf download Qwen/Qwen2.5-0.5B-Instruct"


def test_bad_folders_and_endpoint_keys(tmp_path):
    missing = registry.describe(registry.path_key(tmp_path / "nope"))
    assert not missing.available and "not a loadable model folder" in missing.reason  # no existence oracle
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    _safetensors(tmp_path / "bert" / "model.safetensors", {"w": [2, 2]})
    bert = registry.describe(registry.path_key(tmp_path / "bert"))
    assert not bert.available and "not a text-generation model" in bert.reason
    (tmp_path / "empty").mkdir()
    assert "not a loadable model folder" in registry.describe(registry.path_key(tmp_path / "empty")).reason
    with pytest.raises(ValueError, match="endpoint:<model>@<base_url>"):
        registry.parse_endpoint_key("endpoint:qwen")
    with pytest.raises(ValueError, match="http:// or https://"):
        registry.parse_endpoint_key("endpoint:qwen@ftp://x")
    interaction = runtime.run_task(MINI_TASK, {"q": "x"}, registry.path_key(tmp_path / "bert"))
    assert interaction.failure_type == "model_error" and "not a text-generation model" in interaction.error


# -------------------------------------------------------------------------------- real tiny model


def test_run_task_on_a_folder_model_fills_the_whole_interaction(tiny_model):
    key = registry.path_key(tiny_model)
    streamed: list[str] = []
    settings = DecodingSettings(max_new_tokens=120, seed=7)
    interaction = runtime.run_task(MINI_TASK, {"q": "hi"}, key, settings, on_text=streamed.append)
    assert interaction.schema_valid, interaction.error
    assert interaction.repair_stage == "none" and interaction.failure_type == ""
    assert Mini.model_validate(interaction.parsed)
    raw = json.loads(interaction.raw_output, strict=False)  # random weights may emit control characters
    assert set(raw) == {"answer", "items"} and len(raw["items"]) == len(interaction.parsed["items"])
    assert "".join(streamed) == interaction.raw_output
    assert (interaction.backend, interaction.device, interaction.dtype, interaction.quantisation) == (
        "transformers", "cpu", "float32", "none")
    asked = {key: value for key, value in interaction.decoding.items() if key != "used"}
    assert asked == settings.model_dump() and interaction.seed == 7
    used = interaction.decoding["used"]  # what generate() really ran with (greedy: no sampling knobs)
    assert used["do_sample"] is False and used["max_new_tokens"] == 120 and "temperature" not in used
    assert interaction.system_prompt == "Return JSON." and interaction.user_prompt == "Question: hi"
    assert 0 < interaction.new_tokens <= 120 and interaction.tokens_per_s > 0 and interaction.duration_s > 0
    assert {"torch", "transformers", "xgrammar", "json_repair", "pydantic"} <= set(interaction.package_versions)
    assert not interaction.truncated


def test_sessions_are_cached_listed_and_unloaded(tiny_model):
    key = registry.path_key(tiny_model)
    first = sessions.get_session(key)
    assert sessions.get_session(key) is first
    assert sessions.session_for(key) is first
    listed = [row for row in runtime.loaded_sessions() if row["model_key"] == key]
    assert len(listed) == 1
    assert listed[0]["device"] == "cpu" and listed[0]["dtype"] == "float32" and listed[0]["memory_gb"] >= 0
    other = sessions.get_session(key, dtype="bfloat16")  # a second entry for another dtype
    assert other is not first
    assert sessions.unload(key, session_key=other.key) is True
    assert sessions.is_loaded(first) and not sessions.is_loaded(other)
    assert runtime.unload(key) is True
    assert [row for row in runtime.loaded_sessions() if row["model_key"] == key] == []
    assert runtime.unload(key) is False
    assert first.model is None  # memory released to the garbage collector


def test_threads_on_one_session_equal_their_serial_runs(tiny_model):
    key = registry.path_key(tiny_model)
    questions = ["alpha", "beta", "gamma", "delta"]
    settings = [DecodingSettings(max_new_tokens=60, temperature=0.0),
                DecodingSettings(max_new_tokens=60, temperature=0.9, seed=1),
                DecodingSettings(max_new_tokens=60, temperature=0.9, seed=2),
                DecodingSettings(max_new_tokens=60, temperature=0.0)]
    serial = [runtime.run_task(MINI_TASK, {"q": q}, key, s).raw_output for q, s in zip(questions, settings, strict=True)]
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            results[index] = runtime.run_task(MINI_TASK, {"q": questions[index]}, key, settings[index]).raw_output
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert [results[index] for index in range(4)] == serial
    assert len({row["model_key"] for row in runtime.loaded_sessions() if row["model_key"] == key}) == 1


def test_output_cut_at_max_new_tokens_is_classified_truncated(tiny_model):
    key = registry.path_key(tiny_model)
    interaction = runtime.run_task(MINI_TASK, {"q": "hi"}, key, DecodingSettings(max_new_tokens=16))
    assert interaction.truncated
    assert not interaction.schema_valid
    assert interaction.failure_type == "truncated"  # used every max_new_tokens: its own failure type
    assert interaction.repair_stage == "failed"
    assert interaction.repair_raw_output  # the one model retry happened
    assert "first_parse_error: truncated" in interaction.parser_notes
    assert interaction.new_tokens == 32  # two calls × max_new_tokens
    no_retry = runtime.run_task(MINI_TASK, {"q": "hi"}, key, DecodingSettings(max_new_tokens=16, repair_retry=False))
    assert no_retry.repair_raw_output == "" and no_retry.new_tokens == 16


def test_should_stop_cancels_generation(tiny_model):
    key = registry.path_key(tiny_model)
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    interaction = runtime.run_task(MINI_TASK, {"q": "hi"}, key, DecodingSettings(max_new_tokens=200),
                                   should_stop=should_stop)
    assert not interaction.schema_valid
    assert "cancelled by the analyst" in interaction.error and interaction.failure_type == "stopped"
    assert interaction.new_tokens <= 6 and interaction.repair_raw_output == ""


def test_unconstrained_decoding_is_logged_and_parsed_honestly(tiny_model):
    key = registry.path_key(tiny_model)
    interaction = runtime.run_task(MINI_TASK, {"q": "hi"}, key,
                                   DecodingSettings(max_new_tokens=24, constrained=False, repair_retry=False))
    assert interaction.decoding["constrained"] is False
    assert not interaction.schema_valid  # a random model without the grammar does not write this JSON
    assert interaction.failure_type in {"truncated", "invalid_json_or_truncated_output", "empty_output"}


def test_trust_remote_code_stays_off_and_image_text_models_use_their_class(tiny_model, monkeypatch):
    import transformers

    from causal_core.runtime import local_hf

    seen: dict = {}

    def record(name):
        def fake(location, **kwargs):
            seen[name] = kwargs
            raise RuntimeError("stop after recording")
        return fake

    monkeypatch.setattr(transformers.AutoModelForImageTextToText, "from_pretrained", record("image_text"))
    spec = registry.resolve(registry.path_key(tiny_model))
    spec.config = {"architectures": ["Gemma3ForConditionalGeneration"]}
    with pytest.raises(registry.ModelUnavailable) as failure:
        local_hf.load(spec, devices.plan_load(spec.params))
    assert failure.value.kind == "load_failed"
    assert seen["image_text"]["local_files_only"] is True
    assert "trust_remote_code" not in seen["image_text"]


def test_load_failures_are_specific(tiny_model, monkeypatch):
    import torch
    import transformers

    key = registry.path_key(tiny_model)
    runtime.unload(key)

    def oom(*_args, **_kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", oom)
    interaction = runtime.run_task(MINI_TASK, {"q": "x"}, key)
    assert interaction.failure_type == "model_error"
    assert interaction.error.startswith("Out of memory while loading")

    def unknown(*_args, **_kwargs):
        raise ValueError("Unrecognized configuration class <class 'FooConfig'> for this kind of AutoModel")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", unknown)
    assert "trust remote code" in runtime.run_task(MINI_TASK, {"q": "x"}, key).error
    assert [row for row in runtime.loaded_sessions() if row["model_key"] == key] == []


def test_bad_prompt_inputs_are_a_recorded_failure():
    interaction = runtime.run_task(MINI_TASK, {}, "bundled")
    assert interaction.failure_type == "other_structured_output_error"
    assert "could not build the prompt" in interaction.error and "KeyError" in interaction.error


def test_remote_code_models_need_the_explicit_tick(tmp_path, monkeypatch):
    import transformers

    folder = tmp_path / "fancy"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["FancyForCausalLM"],
                                                    "auto_map": {"AutoModelForCausalLM": "modeling_fancy.FancyForCausalLM"}}))
    _safetensors(folder / "model.safetensors", {"w": [4, 4]})
    key = registry.path_key(folder)
    info = registry.describe(key)
    assert info.available and "loads only with 'trust remote code' ticked" in info.reason
    refused = runtime.run_task(MINI_TASK, {"q": "x"}, key)
    assert refused.failure_type == "model_error" and "ships its own code" in refused.error
    seen: dict = {}

    def record(location, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("recorded")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *args, **kwargs: object())
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", record)
    ticked = runtime.run_task(MINI_TASK, {"q": "x"}, key, load_options={"trust_remote_code": True})
    assert ticked.failure_type == "model_error"
    assert seen["trust_remote_code"] is True and seen["local_files_only"] is True


def test_a_loaded_session_is_found_before_memory_is_planned(tiny_model, monkeypatch):
    """Planning first refused the loaded model itself ("Out of memory": its own weights hold the memory)."""
    from causal_core.runtime import devices

    key = registry.path_key(tiny_model)
    first = sessions.get_session(key)

    def out_of_memory(*_args, **_kwargs):
        raise devices.LoadPlanError("Out of memory: the weights need more than is free")

    monkeypatch.setattr(devices, "plan_load", out_of_memory)
    try:
        assert sessions.get_session(key) is first
        assert sessions.get_session(key, device="cpu", dtype="float32") is first
        with pytest.raises(devices.LoadPlanError, match="Out of memory"):  # another dtype is a new load
            sessions.get_session(key, dtype="bfloat16")
    finally:
        runtime.unload(key)


def test_device_map_is_part_of_the_registry_key():
    from causal_core.runtime import devices

    key = ("m", "cuda", "float16", "none")
    one_gpu = devices.LoadPlan("cuda", "float16", "none", {"": 0})
    spread = devices.LoadPlan("cuda", "float16", "none", "auto")
    assert sessions.registry_key(key, one_gpu) != sessions.registry_key(key, spread)
    assert sessions.registry_key(key, one_gpu)[:4] == key  # the sidebar's 4-field key still selects both
    assert sessions.device_map_label(None) == ""


def test_ai_log_records_the_models_own_repetition_penalty(tiny_model):
    """The sidebar says 1.0, the model's generation_config says 1.05: generate() uses 1.05, and the log says so."""
    key = registry.path_key(tiny_model)
    session = sessions.get_session(key)
    session.model.generation_config.repetition_penalty = 1.05
    try:
        interaction = runtime.run_task(MINI_TASK, {"q": "hi"}, key, DecodingSettings(max_new_tokens=40))
        assert interaction.decoding["repetition_penalty"] == 1.0  # what was asked
        assert interaction.decoding["used"]["repetition_penalty"] == 1.05  # what was used
        assert session.tokens_per_s > 0  # measured, for the next draft's expected duration
        asked = runtime.run_task(MINI_TASK, {"q": "hi"}, key, DecodingSettings(max_new_tokens=40, repetition_penalty=1.3))
        assert asked.decoding["used"]["repetition_penalty"] == 1.3
    finally:
        runtime.unload(key)


@pytest.mark.parametrize(("text", "closed"), [
    ('{"a": 1}', True), ('  {"a": [1, 2]}\n', True), ('{"a": 1', False), ('{"a": "x', False), ("", False),
    ('{"a": 1}{"b": 2}', False), ("[1, 2]", True), ('{"a": "line\nbreak"}', True),
])
def test_a_grammar_answer_closed_at_the_budget_is_complete_not_truncated(text, closed):
    """Only the end-of-sequence token is missing when the closing brace is the budget's last token."""
    from causal_core.runtime.local_hf import closed_json

    assert closed_json(text) is closed
