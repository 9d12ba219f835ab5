"""Who may unload a shared model, and when: the sidebar's Unload button goes through here.

In a class every browser session shares one loaded model, so one student's Unload would pull it from
under everybody. When ``CW_INSTRUCTOR_PASSWORD`` is set, unloading asks for it (compared in constant
time); without the variable anyone may unload, as on a single-user machine. A session that is
generating is never unloaded from the sidebar: the refusal names who is using it and how many wait.
(``runtime.sessions.unload`` itself would not crash them either: it frees the weights only after the
running request and fails the queued ones with "unloaded while this call waited".)

Class mode (docs/security.md) widens this to every admin action: ``render_instructor_field`` shows one
password field in the sidebar and ``instructor_allows`` gates loading, trusting remote code, adding endpoints and
folders and large Model lab runs. Wrong passwords are rate-limited per session and process-wide
(``causal_core.runtime.admin_gate``).
"""

from __future__ import annotations

import hmac
import os
import secrets
from typing import Any

import streamlit as st

from causal_core.runtime import admin_gate
from causal_core.runtime.endpoint_policy import class_mode
from causal_core.safe_text import code_span, escape_markdown

INSTRUCTOR_ENV = "CW_INSTRUCTOR_PASSWORD"
PASSWORD_KEY = "cw_instructor_password"
GATE_ID_KEY = "cw_gate_session_id"


def instructor_password() -> str:
    return os.environ.get(INSTRUCTOR_ENV, "")


def unload_decision(row: dict[str, Any], typed_password: str = "", configured: str | None = None) -> tuple[bool, str]:
    """(allowed, message) for unloading the session described by a ``loaded_sessions()`` row."""
    configured = instructor_password() if configured is None else configured
    model = code_span(row["model_key"])
    if row.get("busy"):
        waiting = int(row.get("waiting") or 0)
        return False, (f"{model} is in use by {escape_markdown(row.get('busy_with') or 'another session')}"
                       + (f", with {waiting} more request(s) waiting" if waiting else "")
                       + ". Unload it when they are done; nothing was changed.")
    if configured:
        if not typed_password:
            return False, (f"Unloading a shared model is an instructor action: enter the instructor password "
                           f"(set by {INSTRUCTOR_ENV}) to unload {model}.")
        if not hmac.compare_digest(typed_password.encode(), configured.encode()):
            return False, f"Wrong instructor password; {model} stays loaded."
    return True, f"Unloaded {model}."


def gate_session_id() -> str:
    """A random id for this browser session (rate limiting); a reload gets a new one, the global count stays."""
    if GATE_ID_KEY not in st.session_state:
        st.session_state[GATE_ID_KEY] = secrets.token_hex(8)
    return str(st.session_state[GATE_ID_KEY])


def render_instructor_field() -> None:
    """In class mode, the one sidebar field whose value the admin actions of this run are checked against."""
    if class_mode():
        st.text_input("Instructor password", type="password", key=PASSWORD_KEY,
                      help="This server runs in class mode: loading models, trusting remote code, adding endpoints "
                           "or folders and large Model lab runs are instructor actions.")


def instructor_allows(action: str) -> bool:
    """True outside class mode or with the right password; otherwise an error naming the action, and False."""
    allowed, message = admin_gate.admin_allowed(gate_session_id(), str(st.session_state.get(PASSWORD_KEY) or ""))
    if not allowed:
        st.error(f"{escape_markdown(action)} is an instructor action on this class server. {message}")
    return allowed


def render_unload(index: int, row: dict[str, Any]) -> bool:
    """The password field (only when one is configured) and the Unload button; True if unloading is allowed
    now (the caller unloads). A refusal is shown in place; wrong passwords count toward the lock."""
    typed = ""
    if instructor_password():
        typed = st.text_input("Instructor password", type="password", key=f"cw_unload_password_{index}",
                              help=f"Unloading is reserved to the instructor ({INSTRUCTOR_ENV} is set).")
    if not st.button("Unload", key=f"cw_unload_{index}", help=f"Free the memory held by {row['model_key']}"):
        return False
    if class_mode() and not instructor_password():
        st.error(f"Unloading is an instructor action and this class server has no {INSTRUCTOR_ENV}; nothing was "
                 "changed.")
        return False
    wait = admin_gate.GATE.seconds_locked(gate_session_id()) if typed else 0.0
    if wait > 0:
        st.error(f"Too many wrong instructor passwords: try again in {int(wait) + 1} s. Nothing was changed.")
        return False
    allowed, message = unload_decision(row, typed)
    if not allowed:
        if typed and message.startswith("Wrong instructor password"):
            admin_gate.GATE.record_failure(gate_session_id())
        st.error(message)
    return allowed
