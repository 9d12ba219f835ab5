"""Loaded model sessions: one per (model, device, dtype, quantisation), shared process-wide.

This module-level cache is Streamlit-free so the CLI, tests and the app share one implementation;
``causal_core.ui.model_picker`` fronts it with ``st.cache_resource`` (validated against this registry)
so that every browser session of the app gets the same session object. Generate calls wait their turn in
the device's FIFO (``runtime.queue``): one request generates per device, the others see their position.

Unloading never pulls a model from under a running request: the session is closed at once (no new request
starts on it; queued ones fail with "unloaded while this call waited"), and its weights are freed as soon as
the request running on it, if any, returns. ``unload(..., wait_s=...)`` can wait for that moment.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from causal_core.runtime import devices, registry
from causal_core.runtime import queue as request_queue
from causal_core.runtime.grammar import GrammarCache
from causal_core.runtime.local_hf import Progress, load, stop_token_ids, vocab_size

SessionKey = tuple[str, str, str, str]  # (model_key, device, dtype, quantisation): what the sidebar shows
# The registry's own key adds the placement (device_map): the same model in float16 on cuda:0 and spread
# over two GPUs with device_map="auto" are two different loads, never one cached answer for both.
RegistryKey = tuple[str, str, str, str, str]


def device_map_label(device_map: Any) -> str:
    """A stable text form of a plan's device_map ("" when transformers places nothing)."""
    if device_map is None:
        return ""
    if isinstance(device_map, dict):
        return ",".join(f"{module or '*'}:{target}" for module, target in sorted(device_map.items(), key=str))
    return str(device_map)


def registry_key(key: SessionKey, plan: devices.LoadPlan) -> RegistryKey:
    return (*key, device_map_label(plan.device_map))


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
    generations: int = 0
    # Measured decoding speed of the last local generation (tokens/s): the draft buttons show an expected
    # duration from it before a draft starts (0.0 until the first generation).
    tokens_per_s: float = 0.0
    closed: bool = False
    active: int = 0  # requests holding the device with this session (0 or 1: the queue runs one per device)
    freed: threading.Event = field(default_factory=threading.Event)
    _state: threading.Lock = field(default_factory=threading.Lock)

    @property
    def queue(self) -> request_queue.DeviceQueue:
        return request_queue.device_queue(self.plan.device)

    def enter(self) -> bool:
        """Mark a request as using the weights; False if the session was unloaded meanwhile."""
        with self._state:
            if self.closed or self.model is None:
                return False
            self.active += 1
            return True

    def leave(self) -> None:
        """The request is done; if an unload came while it ran, the weights are freed now."""
        with self._state:
            self.active -= 1
            free = self.closed and self.active == 0
        if free:
            self._free()

    def close(self) -> None:
        """No new request may start; free now if idle, else when the running request leaves."""
        with self._state:
            self.closed = True
            free = self.active == 0
        self.queue.close_session(id(self), f"{self.model_key} was unloaded while this call waited")
        if free:
            self._free()

    def _free(self) -> None:
        on_cuda = self.device == "cuda"
        self.model = None
        self.tokenizer = None
        self.grammars = None
        gc.collect()
        if on_cuda:
            import torch

            torch.cuda.empty_cache()
        self.freed.set()

    def busy_with(self) -> str:
        """Who is generating on this session right now ("" if nobody)."""
        running = self.queue.running_ticket()
        if running is not None and running.session_id == id(self):
            return running.owner or "another request"
        return "another request" if self.active else ""

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


_SESSIONS: dict[RegistryKey, Session] = {}
_REGISTRY_LOCK = threading.Lock()
_LOAD_LOCKS: defaultdict[RegistryKey, threading.Lock] = defaultdict(threading.Lock)
SAMPLING_LOCK = threading.Lock()  # torch's global RNG: seeded sampling on two models must not interleave


def plan_for(model_key: str, device: str = "auto", dtype: str = "auto", quantisation: str = "none",
             spec: registry.ModelSpec | None = None) -> tuple[registry.ModelSpec, devices.LoadPlan]:
    """Resolve the files and the device plan; raises ModelUnavailable / LoadPlanError."""
    spec = spec or registry.resolve(model_key)
    if spec.source == "endpoint":
        raise ValueError("endpoints have no local session")
    return spec, devices.plan_load(spec.params, device, dtype, quantisation)


def _loaded_match(model_key: str, device: str, dtype: str, quantisation: str) -> Session | None:
    """A loaded session that already satisfies the request ("auto" matches whatever was chosen)."""
    with _REGISTRY_LOCK:
        matches = [session for key, session in _SESSIONS.items()
                   if key[0] == model_key and device in ("auto", key[1]) and dtype in ("auto", key[2])
                   and quantisation == key[3]]
    return max(matches, key=lambda session: session.loaded_at) if matches else None


def get_session(model_key: str, device: str = "auto", dtype: str = "auto", quantisation: str = "none",
                trust_remote_code: bool = False, progress: Progress | None = None) -> Session:
    """The cached session for this (model, device, dtype, quantisation), loading it once if needed.

    The cache is looked up *before* planning memory: a loaded model holds the memory a new plan would
    ask for, so planning first refused the very model that was already loaded ("Out of memory").
    """
    found = _loaded_match(model_key, device, dtype, quantisation)
    if found is not None:
        return found
    spec, plan = plan_for(model_key, device, dtype, quantisation)
    key: SessionKey = (model_key, *plan.session_fields)
    full_key = registry_key(key, plan)
    with _REGISTRY_LOCK:
        found = _SESSIONS.get(full_key)
        load_lock = _LOAD_LOCKS[full_key]
    if found is not None:
        return found
    with load_lock:  # two callers asking for the same model load it once; other models load in parallel
        with _REGISTRY_LOCK:
            if full_key in _SESSIONS:
                return _SESSIONS[full_key]
        started = time.perf_counter()
        model, tokenizer, class_name = load(spec, plan, trust_remote_code, progress)
        stops = stop_token_ids(model, tokenizer)
        grammars = GrammarCache(tokenizer, vocab_size(model), stops)
        if progress:
            progress(0.95, "preparing the JSON grammar for this tokenizer")
        grammars.prepare()
        if progress:
            progress(0.97, "touching the weights once (a one-token forward)")
        _warm_up(model, tokenizer)
        session = Session(key, spec, model, tokenizer, class_name, plan, grammars, time.perf_counter() - started)
        if progress:
            progress(1.0, "ready")
        with _REGISTRY_LOCK:
            _SESSIONS[full_key] = session
        return session


def _warm_up(model: Any, tokenizer: Any) -> None:
    """One forward pass over one token, so every weight page is resident before the first request.

    Weights loaded from safetensors are memory-mapped: they count in RSS (as file pages) only once a
    forward pass touches them, which made the first request look like it loaded a second copy (RSS
    +520 MB for the bundled model, RssAnon +14 MB). After this the load's RSS is the model's real cost.
    """
    import torch

    try:
        first = next(model.parameters()).device
        token = tokenizer.eos_token_id if isinstance(tokenizer.eos_token_id, int) else 0
        with torch.inference_mode():
            model(input_ids=torch.tensor([[token]], device=first))
    except Exception:  # noqa: BLE001 - an optimisation only: a model that refuses it still generates
        return


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
        return _SESSIONS.get(registry_key(session.key, session.plan)) is session


def unload(model_key: str, session_key: SessionKey | None = None, wait_s: float = 0.0) -> bool:
    """Drop the model's session(s) (or just ``session_key``); True if any was loaded.

    Never blocks a running request nor lets a queued one run on a removed session (see module docstring).
    With ``wait_s`` > 0 it also waits up to that long until the weights are actually freed.
    """
    with _REGISTRY_LOCK:
        wanted = tuple(session_key) if session_key is not None else None  # 4 fields (all placements) or 5
        keys = [key for key in _SESSIONS if key[0] == model_key and (wanted is None or key[:len(wanted)] == wanted)]
        removed = [_SESSIONS.pop(key) for key in keys]
        for key in keys:
            _LOAD_LOCKS.pop(key, None)
    for session in removed:
        session.close()
    if wait_s > 0:
        deadline = time.monotonic() + wait_s
        for session in removed:
            session.freed.wait(max(deadline - time.monotonic(), 0.0))
    del removed
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
            "busy": bool(session.active),
            "busy_with": session.busy_with(),
            "waiting": sum(1 for model, _owner in session.queue.snapshot()["waiting"] if model == session.model_key),
            "session_key": list(session.key),
        }
        for session in sorted(sessions, key=lambda session: session.loaded_at)
    ]
