"""Local model runtime: registry, cached sessions, structured generation.

Public entry point used by pages, the CLI and the model lab:

    run_task(task, inputs, model_key, settings=None, on_text=None, should_stop=None,
             load_options=None, on_progress=None, owner="") -> AIInteraction

Local requests wait in their device's FIFO (runtime.queue); ``on_progress`` receives a DraftProgress
(queue position and estimated wait, then tokens, tokens/s and ETA).

It never raises for a model or parsing failure: the returned interaction carries
``schema_valid=False`` and a ``failure_type`` from causal_core.ai.structured.FAILURE_TYPES.
Call it as ``runtime.run_task(...)`` (attribute lookup at call time) so tests can monkeypatch it.

Heavy libraries (torch, transformers, xgrammar) are imported only when a model is loaded or listed.
"""

from __future__ import annotations

from causal_core.runtime.generate import run_task
from causal_core.runtime.queue import DraftProgress
from causal_core.runtime.registry import ModelInfo, list_models
from causal_core.runtime.sessions import loaded_sessions, unload

__all__ = ["DraftProgress", "ModelInfo", "list_models", "loaded_sessions", "run_task", "unload"]
