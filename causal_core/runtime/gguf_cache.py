"""A converted copy of a GGUF model, so that only the first load pays for reading the GGUF.

transformers reads a GGUF file three times per load (config, tokenizer, weights) with the pure-Python
``gguf`` reader, and de-quantises every tensor: about 20 s for the bundled 135M model on this CPU, while
the same weights as an ordinary safetensors folder load in under a second. After the first float32 load
the de-quantised model is written once as such a folder and later loads read that instead.

transformers refuses ``save_pretrained`` on a GGUF-loaded model (it is flagged as quantised), so the folder
is written here: config.json without the GGUF ``quantization_config``, the generation config, the weights
with safetensors' ``save_model`` (which handles tied embeddings), and the tokenizer's own save. The folder
is keyed by the GGUF file's path, size and modification time and the transformers version, and is
published by an atomic rename, so a half-written copy is never read; older copies of the same file are
then deleted. ``CW_MODEL_CACHE=off`` disables it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

CACHE_ENV = "CW_MODEL_CACHE"
DISABLED = {"off", "0", "false", "no"}
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer_config.json")
HASH_LENGTH = 16


def cache_root() -> Path | None:
    """Where converted copies live (``$CW_MODEL_CACHE`` or ~/.cache/causal-workbench/gguf); None when disabled."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured.lower() in DISABLED:
        return None
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "causal-workbench" / "gguf"


def converted_folder(gguf_path: Path, transformers_version: str) -> Path | None:
    """The folder a converted copy of ``gguf_path`` lives in (whether or not it exists yet)."""
    root = cache_root()
    if root is None or not gguf_path.is_file():
        return None
    stat = gguf_path.stat()
    identity = f"{gguf_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|transformers {transformers_version}"
    return root / f"{gguf_path.stem}-{hashlib.sha256(identity.encode()).hexdigest()[:HASH_LENGTH]}"


def is_complete(folder: Path | None) -> bool:
    return folder is not None and all((folder / name).is_file() for name in REQUIRED_FILES)


def save_converted(model: Any, tokenizer: Any, folder: Path) -> Path:
    """Write ``model`` (de-quantised, float32) and ``tokenizer`` as an ordinary folder at ``folder``.

    Written to a temporary sibling and renamed into place; when another process got there first its copy
    is kept. Raises OSError/ValueError on failure (the caller treats the cache as best effort).
    """
    from safetensors.torch import save_model

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        config = model.config.to_dict()
        config.pop("quantization_config", None)
        (staging / "config.json").write_text(json.dumps(config, indent=2, default=str))
        model.generation_config.save_pretrained(staging)
        save_model(model, str(staging / "model.safetensors"))
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(folder)
        except OSError:
            if not is_complete(folder):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    remove_outdated_copies(folder)
    return folder


def remove_outdated_copies(current: Path) -> list[Path]:
    """Delete older copies of the same GGUF file (another size/mtime or transformers version): ~0.5 GB each.

    A copy is recognised by its exact name, ``<stem>-<16 hex digits>``; anything else in the folder is left.
    """
    stem = current.name[: -(HASH_LENGTH + 1)]
    pattern = re.compile(rf"{re.escape(stem)}-[0-9a-f]{{{HASH_LENGTH}}}")
    removed = []
    for other in current.parent.iterdir():
        if other != current and other.is_dir() and pattern.fullmatch(other.name):
            shutil.rmtree(other, ignore_errors=True)
            removed.append(other)
    return removed
