"""Who may unload a shared model, and when: the sidebar's Unload button goes through here.

In a class every browser session shares one loaded model, so one student's Unload would pull it from
under everybody. When ``CW_INSTRUCTOR_PASSWORD`` is set, unloading asks for it (compared in constant
time); without the variable anyone may unload, as on a single-user machine. A session that is
generating is never unloaded from the sidebar: the refusal names who is using it and how many wait.
(``runtime.sessions.unload`` itself would not crash them either: it frees the weights only after the
running request and fails the queued ones with "unloaded while this call waited".)
"""

from __future__ import annotations

import hmac
import os
from typing import Any

import streamlit as st

from causal_core.safe_text import code_span, escape_markdown

INSTRUCTOR_ENV = "CW_INSTRUCTOR_PASSWORD"


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


def render_unload(index: int, row: dict[str, Any]) -> bool:
    """The password field (only when one is configured) and the Unload button; True if unloading is allowed
    now (the caller unloads). A refusal is shown in place."""
    typed = ""
    if instructor_password():
        typed = st.text_input("Instructor password", type="password", key=f"cw_unload_password_{index}",
                              help=f"Unloading is reserved to the instructor ({INSTRUCTOR_ENV} is set).")
    if not st.button("Unload", key=f"cw_unload_{index}", help=f"Free the memory held by {row['model_key']}"):
        return False
    allowed, message = unload_decision(row, typed)
    if not allowed:
        st.error(message)
    return allowed
