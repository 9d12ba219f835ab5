"""Device / dtype / quantisation / placement decisions with CUDA, MPS and bitsandbytes detection mocked."""

from __future__ import annotations

import pytest

from causal_core.runtime import devices

GB = 1_000_000_000


@pytest.fixture
def machine(monkeypatch):
    """Configure a fake machine: set(cuda=..., mps=..., bf16=..., gpus=[free bytes...], cpu=..., bnb=...)."""

    def configure(cuda=False, mps=False, bf16=True, gpus=(), cpu=16 * GB, bnb=False):
        monkeypatch.setattr(devices, "cuda_available", lambda: cuda)
        monkeypatch.setattr(devices, "mps_available", lambda: mps)
        monkeypatch.setattr(devices, "cuda_bf16_supported", lambda: bf16)
        monkeypatch.setattr(devices, "cuda_free_bytes", lambda: list(gpus))
        monkeypatch.setattr(devices, "cpu_free_bytes", lambda: cpu)
        monkeypatch.setattr(devices, "bitsandbytes_importable", lambda: bnb)

    return configure


def test_cpu_only_machine(machine):
    machine()
    assert devices.detect_device() == "cpu"
    assert devices.auto_dtype("cpu") == "float32"
    assert devices.quantisation_options("cpu") == ["none"]
    plan = devices.plan_load(134_515_008)
    assert (plan.device, plan.dtype, plan.quantisation, plan.device_map) == ("cpu", "float32", "none", None)
    assert plan.est_bytes == pytest.approx(134_515_008 * 4)


def test_auto_device_order_cuda_then_mps_then_cpu(machine):
    machine(cuda=True, mps=True, gpus=[24 * GB])
    assert devices.detect_device() == "cuda"
    machine(cuda=False, mps=True)
    assert devices.detect_device() == "mps"
    assert devices.auto_dtype("mps") == "float16"
    assert devices.available_devices() == ["mps", "cpu"]


def test_cuda_dtype_bf16_when_supported_else_fp16(machine):
    machine(cuda=True, bf16=True, gpus=[24 * GB])
    assert devices.auto_dtype("cuda") == "bfloat16"
    machine(cuda=True, bf16=False, gpus=[24 * GB])
    assert devices.auto_dtype("cuda") == "float16"
    with pytest.raises(devices.LoadPlanError, match="does not support bfloat16"):
        devices.plan_load(1_000_000, "cuda", "bfloat16")


def test_bitsandbytes_offered_only_on_cuda_when_importable(machine):
    machine(cuda=True, gpus=[24 * GB], bnb=True)
    assert devices.quantisation_options("cuda") == ["none", "8bit", "4bit"]
    assert devices.quantisation_options("cpu") == ["none"]
    machine(cuda=True, gpus=[24 * GB], bnb=False)
    assert devices.quantisation_options("cuda") == ["none"]
    with pytest.raises(devices.LoadPlanError, match="bitsandbytes"):
        devices.plan_load(7_000_000_000, "cuda", "auto", "8bit")
    machine(bnb=True)
    with pytest.raises(devices.LoadPlanError, match="needs a CUDA GPU"):
        devices.plan_load(7_000_000_000, "cpu", "auto", "4bit")


def test_model_that_fits_one_gpu_stays_on_cuda0(machine):
    machine(cuda=True, gpus=[24 * GB, 24 * GB])
    plan = devices.plan_load(7_615_616_512)  # Qwen 7B in bf16 ≈ 15.2 GB (+20%) < 24 GB
    assert (plan.device, plan.dtype, plan.device_map) == ("cuda", "bfloat16", {"": 0})
    assert plan.est_bytes == pytest.approx(7_615_616_512 * 2)


def test_model_larger_than_one_gpu_uses_device_map_auto(machine):
    machine(cuda=True, gpus=[24 * GB, 24 * GB], cpu=64 * GB)
    plan = devices.plan_load(32_763_876_352)  # Qwen 32B bf16 ≈ 65.5 GB: spread over GPUs + CPU
    assert plan.device_map == "auto"
    assert "device_map='auto'" in plan.notes[0]
    kwargs = devices.from_pretrained_kwargs(plan)
    assert kwargs["device_map"] == "auto"


def test_quantisation_shrinks_the_estimate_and_builds_bnb_config(machine):
    import torch

    machine(cuda=True, gpus=[24 * GB], bnb=True)
    plan = devices.plan_load(32_763_876_352, quantisation="4bit")  # 16.4 GB in 4-bit → fits one 24 GB GPU
    assert plan.device_map == {"": 0}
    assert plan.est_bytes == pytest.approx(32_763_876_352 * 0.5)
    kwargs = devices.from_pretrained_kwargs(plan)
    config = kwargs["quantization_config"]
    assert config.load_in_4bit and config.bnb_4bit_quant_type == "nf4"
    assert config.bnb_4bit_compute_dtype == torch.bfloat16
    assert kwargs["dtype"] == torch.bfloat16
    eight = devices.from_pretrained_kwargs(devices.plan_load(7_615_616_512, quantisation="8bit"))
    assert eight["quantization_config"].load_in_8bit


def test_too_large_for_the_machine_is_a_specific_out_of_memory_message(machine):
    machine(cpu=20 * GB)
    with pytest.raises(devices.LoadPlanError, match=r"Out of memory: the weights need ≈131\.1 GB in float32"):
        devices.plan_load(32_763_876_352)
    machine(cuda=True, gpus=[24 * GB], cpu=16 * GB)
    with pytest.raises(devices.LoadPlanError, match="8/4-bit quantisation"):
        devices.plan_load(32_763_876_352)


def test_requested_devices_that_do_not_exist(machine):
    machine()
    with pytest.raises(devices.LoadPlanError, match="CUDA was requested"):
        devices.plan_load(1_000, "cuda")
    with pytest.raises(devices.LoadPlanError, match="MPS was requested"):
        devices.plan_load(1_000, "mps")
    with pytest.raises(devices.LoadPlanError, match="unknown dtype"):
        devices.plan_load(1_000, "cpu", "float8")


def test_explicit_choices_are_honoured(machine):
    machine(cuda=True, gpus=[24 * GB], mps=False)
    plan = devices.plan_load(494_032_768, "cpu", "bfloat16")
    assert (plan.device, plan.dtype, plan.device_map) == ("cpu", "bfloat16", None)
    assert plan.est_bytes == pytest.approx(494_032_768 * 2)


def test_bf16_check_ignores_emulated_support(monkeypatch):
    """Pre-Ampere GPUs emulate bf16; torch counts that as supported unless including_emulation=False."""
    import torch

    calls = []

    def is_bf16_supported(including_emulation=True):
        calls.append(including_emulation)
        return including_emulation  # a T4: emulated only

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    assert devices.cuda_bf16_supported() is False
    assert calls == [False]
    monkeypatch.setattr(devices, "cuda_available", lambda: True)
    monkeypatch.setattr(devices, "cuda_free_bytes", lambda: [16 * GB])
    assert devices.auto_dtype("cuda") == "float16"
    with pytest.raises(devices.LoadPlanError, match="bfloat16"):
        devices.plan_load(1_000, "cuda", "bfloat16")


def test_honest_wording_and_expected_duration_before_a_draft():
    from causal_core.runtime import honesty

    assert "not expected to be usable" in honesty.BUNDLED_DEMO and "recorded draft" in honesty.BUNDLED_DEMO
    assert "not expected to be usable" in honesty.BUNDLED_ROLE and "works offline" not in honesty.BUNDLED_ROLE
    assert honesty.is_bundled("bundled") and not honesty.is_bundled("endpoint:m@http://127.0.0.1:9/v1")
    from causal_core.runtime import registry

    assert registry.describe("bundled").role == honesty.BUNDLED_ROLE  # the picker's line is the honest one
    assert honesty.expected_seconds(700, 3.5) == pytest.approx(200.0)
    assert honesty.expected_seconds(700, 0.0) is None
    line = honesty.before_draft_line(700, 3.5, 180.0)
    assert "3.3 min for 700 tokens at the measured 3.5 tokens/s" in line and "time limit of 3.0 min" in line
    assert "unknown until this model's first draft" in honesty.before_draft_line(700, 0.0, 180.0)
