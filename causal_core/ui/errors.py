"""The app's last net for an error no page caught: the user reads the message, the server log gets the trace.

Streamlit offers either the full trace in the browser (``client.showErrorDetails = "full"``, which showed
server paths to every viewer) or a generic text. `.streamlit/config.toml` sets "type" for anything outside
this guard; inside it, the user sees one escaped line and the traceback goes to the server's log.

Under AppTest the error is raised again, so every page test that asserts ``not at.exception`` still fails on
a crash instead of passing on a polite message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from causal_core.safe_text import escape_markdown

LOGGER = logging.getLogger("causal_workbench")
MAX_SHOWN_CHARS = 300


def _under_apptest() -> bool:
    """AppTest installs a Mock in place of the Streamlit runtime; a served app has the real one."""
    from unittest.mock import Mock

    from streamlit.runtime import Runtime

    return isinstance(getattr(Runtime, "_instance", None), Mock)


def user_message(error: BaseException) -> str:
    """One escaped line: the error's own first line (or its type), cut to a readable length."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if len(text) > MAX_SHOWN_CHARS:
        text = text[: MAX_SHOWN_CHARS - 1] + "…"
    return escape_markdown(text)


def run_guarded(step: Callable[[], object], where: str, reraise: bool | None = None) -> None:
    """Run one part of the page; an unexpected exception becomes st.error plus a logged traceback.

    Streamlit's own control flow (st.rerun, st.stop, st.switch_page) raises BaseException subclasses, which
    pass through untouched.
    """
    try:
        step()
    except Exception as error:
        if reraise if reraise is not None else _under_apptest():
            raise
        LOGGER.exception("Uncaught error in %s", where)
        st.error(
            f"Something went wrong in {escape_markdown(where)}: {user_message(error)}. Your project is unchanged; "
            "the details are in the server's log.",
            icon=":material/error:",
        )
