"""Backend-neutral runtime types: what every generation backend returns or raises, and the endpoint settings' names.

Why a leaf module: the HTTP backend (``endpoint``), the local Hugging Face backend (``local_hf``) and the model
listing (``registry``) all need these, and when ``GenerationOutput`` lived in the HF backend the endpoint backend
imported the HF backend, which imported the registry, which imported the endpoint to probe it (an import cycle).
This module imports nothing from the workbench.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENDPOINT_ENV_BASE_URL = "CW_ENDPOINT_BASE_URL"
ENDPOINT_ENV_MODEL = "CW_ENDPOINT_MODEL"
ENDPOINT_ENV_API_KEY = "CW_ENDPOINT_API_KEY"


@dataclass
class GenerationOutput:
    """One model call's raw result; the runtime turns it into an AIInteraction."""

    text: str
    new_tokens: int = 0
    seconds: float = 0.0
    truncated: bool = False
    cancelled: bool = False
    constrained: bool = False
    notes: list[str] = field(default_factory=list)
    stop_reason: str = ""  # "", "stopped", "timeout" or "repetition" (see runtime.stopping)
    # The decoding settings generate() actually used: the model's generation_config merged with ours
    # (a model whose config says repetition_penalty 1.05 decodes with 1.05 even when the sidebar says 1.0).
    decoding: dict[str, Any] = field(default_factory=dict)


class ModelUnavailable(Exception):
    """A model that cannot be loaded here; ``kind`` says why (missing_files, unsupported_architecture, ...)."""

    def __init__(self, kind: str, message: str, fetch_command: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.fetch_command = fetch_command


__all__ = ["ENDPOINT_ENV_API_KEY", "ENDPOINT_ENV_BASE_URL", "ENDPOINT_ENV_MODEL", "GenerationOutput", "ModelUnavailable"]
