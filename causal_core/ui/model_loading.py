"""Loading and unloading a model from the Streamlit pages, with progress and specific failure messages.

Why its own module: the sidebar picker (``model_picker``) drafts a quick test through ``ai.draft_artifact``, and
``ai.draft_artifact`` loads a model that is not loaded yet; with the loader inside the picker the two modules
imported each other. Both now import the loader from here. Sessions come from ``st.cache_resource`` (shared by
every browser session of this server), which delegates to the Streamlit-free cache in
``causal_core.runtime.sessions``; unloading clears exactly that entry.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from causal_core.runtime import devices, sessions
from causal_core.runtime.types import ModelUnavailable
from causal_core.safe_text import escape_markdown
from causal_core.ui.unload_guard import instructor_allows

LOAD_OPTIONS_KEY = "cw_load_options"
FAILURE_TITLES = {
    "missing_files": "Model files missing",
    "out_of_memory": "Out of memory",
    "unsupported_architecture": "Unsupported architecture",
    "gated": "Gated model",
    "endpoint_unreachable": "Endpoint unreachable",
    "load_failed": "Load failed",
}


@st.cache_resource(show_spinner=False, validate=sessions.is_loaded)
def _cached_session(model_key: str, device: str, dtype: str, quantisation: str, trust_remote_code: bool,
                    _progress: Any = None) -> sessions.Session:
    """One entry per (model, device, dtype, quantisation[, trust]); the runtime registry owns the object."""
    return sessions.get_session(model_key, device, dtype, quantisation, trust_remote_code, progress=_progress)


def load_options() -> dict[str, Any]:
    return dict(st.session_state.get(LOAD_OPTIONS_KEY) or {"device": "auto", "dtype": "auto", "quantisation": "none",
                                                           "trust_remote_code": False})


def load_model(model_key: str, options: dict[str, Any] | None = None) -> sessions.Session | None:
    """Load (or fetch from cache) with a progress bar; on failure show a specific error and return None."""
    options = options or load_options()
    try:
        _spec, plan = sessions.plan_for(model_key, options["device"], options["dtype"], options["quantisation"])
    except (ModelUnavailable, devices.LoadPlanError, ValueError) as error:
        _show_failure(error)
        return None
    args = (model_key, plan.device, plan.dtype, plan.quantisation, bool(options.get("trust_remote_code")))
    if sessions.find_session(model_key) is not None and any(
        row["session_key"] == list(args[:4]) for row in sessions.loaded_sessions()
    ):
        return _cached_session(*args)
    action = "Loading a model with remote code trusted" if args[4] else "Loading a model"
    if not instructor_allows(action):
        return None
    with st.status(f"Loading `{model_key}` on {plan.device} ({plan.dtype})…", expanded=True) as status:
        bar = st.progress(0.0, text="starting")
        for note in plan.notes:
            st.caption(note)

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        try:
            session = _cached_session(*args, _progress=progress)
        except (ModelUnavailable, devices.LoadPlanError) as error:
            status.update(label=f"Could not load `{model_key}`", state="error")
            _show_failure(error)
            return None
        status.update(label=f"Loaded `{model_key}` in {session.load_seconds:.1f} s on {session.device} "
                            f"({session.dtype}, {session.memory_bytes() / 1e9:.2f} GB)", state="complete",
                      expanded=False)
    return session


def unload_session(model_key: str, session_key: list[str] | None = None) -> bool:
    """Unload from the runtime and clear exactly the matching st.cache_resource entries."""
    removed = sessions.unload(model_key, tuple(session_key) if session_key else None)
    if session_key:
        for trust in (False, True):
            _cached_session.clear(*session_key, trust)
    return removed


def _show_failure(error: BaseException) -> None:
    kind = getattr(error, "kind", "out_of_memory" if str(error).startswith("Out of memory") else "load_plan")
    title = FAILURE_TITLES.get(kind, "Cannot load with these options")
    st.error(f"**{title}.** {escape_markdown(error)}")
    fetch = getattr(error, "fetch_command", "")
    if fetch:
        st.code(fetch, language="bash")
    st.caption("The app keeps working with the models already loaded.")
