"""Device, dtype, quantisation and placement decisions (written to the torch/transformers/accelerate docs).

Auto device: cuda → mps → cpu. Auto dtype: bfloat16 on CUDA when the GPU supports it, else float16;
float32 on CPU (and float16 on MPS). 8/4-bit quantisation via bitsandbytes is offered only when the
package is importable *and* the device is CUDA. ``device_map="auto"`` (accelerate) is used only when the
estimated weights exceed the free memory of one GPU, so a model that fits stays on cuda:0.

Every detection goes through a small function here so tests can mock CUDA/MPS presence.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

from causal_core.errors import WorkbenchInputError

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "int4": 0.5,
               "fp32": 4, "fp16": 2, "bf16": 2, "F32": 4, "F16": 2, "BF16": 2}
QUANT_BYTES = {"8bit": 1.0, "4bit": 0.5}
DEVICES = ("auto", "cuda", "mps", "cpu")
DTYPES = ("auto", "float32", "bfloat16", "float16")
QUANTISATIONS = ("none", "8bit", "4bit")
HEADROOM = 1.2  # activations, KV cache and allocator slack on top of the weights


class LoadPlanError(WorkbenchInputError):
    """A requested device/dtype/quantisation combination this machine cannot honour."""


# ----------------------------------------------------------------------------------- detection hooks


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def cuda_bf16_supported() -> bool:
    """Native bf16 only: pre-Ampere GPUs *emulate* it (slowly), which torch counts as supported by default."""
    import torch

    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # torch < 2.3 has no including_emulation and never counted emulation
        return bool(torch.cuda.is_bf16_supported())


def cuda_free_bytes() -> list[int]:
    """Free bytes per visible GPU (torch.cuda.mem_get_info)."""
    import torch

    return [int(torch.cuda.mem_get_info(index)[0]) for index in range(torch.cuda.device_count())]


def cpu_free_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def bitsandbytes_importable() -> bool:
    return importlib.util.find_spec("bitsandbytes") is not None


# ----------------------------------------------------------------------------------------- decisions


def detect_device() -> str:
    if cuda_available():
        return "cuda"
    if mps_available():
        return "mps"
    return "cpu"


def available_devices() -> list[str]:
    return [name for name, present in (("cuda", cuda_available()), ("mps", mps_available())) if present] + ["cpu"]


def auto_dtype(device: str) -> str:
    if device == "cuda":
        return "bfloat16" if cuda_bf16_supported() else "float16"
    if device == "mps":
        return "float16"
    return "float32"


def quantisation_options(device: str) -> list[str]:
    """bitsandbytes 8/4-bit only on CUDA with the package importable; always 'none'."""
    if device == "cuda" and bitsandbytes_importable():
        return ["none", "8bit", "4bit"]
    return ["none"]


def free_memory_bytes(device: str) -> int:
    if device == "cuda":
        return sum(cuda_free_bytes())
    return cpu_free_bytes()  # MPS uses unified memory


def estimate_bytes(params: int, dtype: str, quantisation: str = "none") -> float:
    """Weights only: parameters × bytes per parameter (the quantised width when quantising)."""
    per_param = QUANT_BYTES.get(quantisation) or DTYPE_BYTES.get(dtype, 4)
    return float(params) * per_param


def fits(need_bytes: float, free_bytes: float) -> bool:
    return need_bytes * HEADROOM <= free_bytes


@dataclass(frozen=True)
class LoadPlan:
    device: str
    dtype: str
    quantisation: str = "none"
    device_map: str | dict | None = None
    est_bytes: float = 0.0
    free_bytes: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def session_fields(self) -> tuple[str, str, str]:
        return self.device, self.dtype, self.quantisation


def plan_load(params: int | None, device: str = "auto", dtype: str = "auto", quantisation: str = "none") -> LoadPlan:
    """Decide where and how to load; raises LoadPlanError for a combination this machine cannot run."""
    if device not in DEVICES:
        raise LoadPlanError(f"unknown device '{device}': choose one of {', '.join(DEVICES)}")
    if dtype not in DTYPES:
        raise LoadPlanError(f"unknown dtype '{dtype}': choose one of {', '.join(DTYPES)}")
    if quantisation not in QUANTISATIONS:
        raise LoadPlanError(f"unknown quantisation '{quantisation}': choose one of {', '.join(QUANTISATIONS)}")
    notes: list[str] = []
    chosen = detect_device() if device == "auto" else device
    if chosen == "cuda" and not cuda_available():
        raise LoadPlanError("CUDA was requested but torch sees no CUDA GPU on this machine.")
    if chosen == "mps" and not mps_available():
        raise LoadPlanError("MPS was requested but this machine has no Apple-silicon GPU backend.")
    chosen_dtype = auto_dtype(chosen) if dtype == "auto" else dtype
    if chosen_dtype == "bfloat16" and chosen == "cuda" and not cuda_bf16_supported():
        raise LoadPlanError("This GPU does not support bfloat16; choose float16 or auto.")
    if quantisation != "none":
        if chosen != "cuda":
            raise LoadPlanError(f"{quantisation} quantisation needs a CUDA GPU (bitsandbytes); this load is on {chosen}.")
        if not bitsandbytes_importable():
            raise LoadPlanError(f"{quantisation} quantisation needs the bitsandbytes package, which is not installed.")
    need = estimate_bytes(params or 0, chosen_dtype, quantisation)
    device_map: str | dict | None = None
    if chosen == "cuda":
        per_gpu = cuda_free_bytes()
        largest = max(per_gpu) if per_gpu else 0
        if params and not fits(need, largest):
            device_map = "auto"
            notes.append(f"weights ≈{need / 1e9:.1f} GB exceed one GPU's free {largest / 1e9:.1f} GB: "
                         "device_map='auto' spreads layers over GPUs (and CPU if needed)")
            free = sum(per_gpu) + cpu_free_bytes()
        else:
            device_map = {"": 0}
            free = largest
    else:
        free = cpu_free_bytes()
    if params and not fits(need, free):
        raise LoadPlanError(
            f"Out of memory: the weights need ≈{need / 1e9:.1f} GB in {chosen_dtype}"
            f"{'' if quantisation == 'none' else ' ' + quantisation} (+20% working memory) but only "
            f"{free / 1e9:.1f} GB is free on {chosen}. Pick a smaller model"
            + (" or 8/4-bit quantisation." if chosen == "cuda" else ".")
        )
    return LoadPlan(chosen, chosen_dtype, quantisation, device_map, need, free, tuple(notes))


def from_pretrained_kwargs(plan: LoadPlan) -> dict:
    """Keyword arguments for ``from_pretrained`` that realise a plan (transformers 5: ``dtype=``)."""
    import torch

    kwargs: dict = {"dtype": getattr(torch, plan.dtype)}
    if plan.quantisation != "none":
        from transformers import BitsAndBytesConfig

        if plan.quantisation == "8bit":
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=getattr(torch, plan.dtype)
            )
    if plan.device_map is not None:
        kwargs["device_map"] = plan.device_map
    return kwargs
