"""Loaded model sessions: one per (model, device, dtype, quantisation), shared process-wide.

This module-level cache is Streamlit-free so the CLI, tests and the app share one implementation;
``causal_core.ui.model_picker`` fronts it with ``st.cache_resource`` (validated against this registry)
so that every browser session of the app gets the same session object. Each session carries a lock that
every generate call holds, so concurrent pages/threads queue on a model instead of corrupting its state.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from causal_core.runtime import devices, registry
from causal_core.runtime.grammar import GrammarCache
from causal_core.runtime.local_hf import Progress, load, stop_token_ids, vocab_size

SessionKey = tuple[str, str, str, str]  # (model_key, device, dtype, quantisation)


@dataclass
class Session:
    key: SessionKey
    spec: registry.ModelSpec
    model: Any
    tokenizer: Any
    model_class: str
    plan: devices.LoadPlan
    grammars: GrammarCache
    load_seconds: float
    loaded_at: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock)
    generations: int = 0

    @property
    def model_key(self) -> str:
        return self.key[0]

    @property
    def device(self) -> str:
        return self.plan.device

    @property
    def dtype(self) -> str:
        return self.plan.dtype

    @property
    def quantisation(self) -> str:
        return self.plan.quantisation

    def memory_bytes(self) -> int:
        try:
            return int(self.model.get_memory_footprint())
        except Exception:  # noqa: BLE001 - a model without the helper still lists
            return 0


_SESSIONS: dict[SessionKey, Session] = {}
_REGISTRY_LOCK = threading.Lock()
_LOAD_LOCKS: defaultdict[SessionKey, threading.Lock] = defaultdict(threading.Lock)
SAMPLING_LOCK = threading.Lock()  # torch's global RNG: seeded sampling on two models must not interleave


def plan_for(model_key: str, device: str = "auto", dtype: str = "auto", quantisation: str = "none",
             spec: registry.ModelSpec | None = None) -> tuple[registry.ModelSpec, devices.LoadPlan]:
    """Resolve the files and the device plan; raises ModelUnavailable / LoadPlanError."""
    spec = spec or registry.resolve(model_key)
    if spec.source == "endpoint":
        raise ValueError("endpoints have no local session")
    return spec, devices.plan_load(spec.params, device, dtype, quantisation)


def get_session(model_key: str, device: str = "auto", dtype: str = "auto", quantisation: str = "none",
                trust_remote_code: bool = False, progress: Progress | None = None) -> Session:
    """The cached session for this (model, device, dtype, quantisation), loading it once if needed."""
    spec, plan = plan_for(model_key, device, dtype, quantisation)
    key: SessionKey = (model_key, *plan.session_fields)
    with _REGISTRY_LOCK:
        found = _SESSIONS.get(key)
        load_lock = _LOAD_LOCKS[key]
    if found is not None:
        return found
    with load_lock:  # two callers asking for the same model load it once; other models load in parallel
        with _REGISTRY_LOCK:
            if key in _SESSIONS:
                return _SESSIONS[key]
        started = time.perf_counter()
        model, tokenizer, class_name = load(spec, plan, trust_remote_code, progress)
        stops = stop_token_ids(model, tokenizer)
        grammars = GrammarCache(tokenizer, vocab_size(model), stops)
        if progress:
            progress(0.95, "preparing the JSON grammar for this tokenizer")
        grammars.prepare()
        session = Session(key, spec, model, tokenizer, class_name, plan, grammars, time.perf_counter() - started)
        if progress:
            progress(1.0, "ready")
        with _REGISTRY_LOCK:
            _SESSIONS[key] = session
        return session


def find_session(model_key: str) -> Session | None:
    """The most recently loaded session of a model (any device/dtype), if one is loaded."""
    with _REGISTRY_LOCK:
        matches = [session for key, session in _SESSIONS.items() if key[0] == model_key]
    return max(matches, key=lambda session: session.loaded_at) if matches else None


def session_for(model_key: str, progress: Progress | None = None, **load_options: Any) -> Session:
    """An already-loaded session of the model if any (whatever the sidebar chose), else load with auto settings."""
    if not load_options:
        existing = find_session(model_key)
        if existing is not None:
            return existing
    return get_session(model_key, progress=progress, **load_options)


def is_loaded(session: Session) -> bool:
    with _REGISTRY_LOCK:
        return _SESSIONS.get(session.key) is session


def unload(model_key: str, session_key: SessionKey | None = None) -> bool:
    """Drop the model's session(s) (or just ``session_key``) and free their memory; True if any was loaded.

    Waits for a running generate on that session to finish (its lock) so memory is not pulled from under it.
    """
    with _REGISTRY_LOCK:
        keys = [key for key in _SESSIONS if key[0] == model_key and (session_key is None or key == tuple(session_key))]
        removed = [_SESSIONS.pop(key) for key in keys]
        for key in keys:
            _LOAD_LOCKS.pop(key, None)
    on_cuda = False
    for session in removed:
        with session.lock:
            on_cuda = on_cuda or session.device == "cuda"
            session.model = None
            session.tokenizer = None
    del removed
    gc.collect()
    if on_cuda:
        import torch

        torch.cuda.empty_cache()
    return bool(keys)


def unload_all() -> int:
    with _REGISTRY_LOCK:
        models = {key[0] for key in _SESSIONS}
    return sum(unload(model) for model in models)


def loaded_sessions() -> list[dict[str, Any]]:
    """What the sidebar lists: one record per loaded session."""
    with _REGISTRY_LOCK:
        sessions = list(_SESSIONS.values())
    return [
        {
            "model_key": session.model_key,
            "label": session.spec.label,
            "device": session.device,
            "dtype": session.dtype,
            "quantisation": session.quantisation,
            "device_map": str(session.plan.device_map) if session.plan.device_map is not None else "",
            "model_class": session.model_class,
            "memory_gb": round(session.memory_bytes() / 1e9, 3),
            "load_seconds": round(session.load_seconds, 2),
            "loaded_at": time.strftime("%H:%M:%S", time.localtime(session.loaded_at)),
            "generations": session.generations,
            "busy": session.lock.locked(),
            "session_key": list(session.key),
        }
        for session in sorted(sessions, key=lambda session: session.loaded_at)
    ]
