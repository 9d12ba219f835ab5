"""The app's last net for an error no page caught: the user reads the message, the server log gets the trace.

Streamlit offers either the full trace in the browser (``client.showErrorDetails = "full"``, which showed
server paths to every viewer) or a generic text. `.streamlit/config.toml` sets "type" for anything outside
this guard; inside it, the user sees one escaped line and the traceback goes to the server's log.

With ``CW_RERAISE_PAGE_ERRORS=1`` the error is raised again instead: the test suite sets it (tests/conftest.py)
so every page test that asserts ``not at.exception`` fails on a crash instead of passing on a polite message,
and a developer sets it to see the traceback in the page. The setting is explicit so that production code never
guesses whether it runs under a test.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import streamlit as st

from causal_core.safe_text import escape_markdown

LOGGER = logging.getLogger("causal_workbench")
MAX_SHOWN_CHARS = 300


RERAISE_SETTING = "CW_RERAISE_PAGE_ERRORS"


def reraise_requested() -> bool:
    """Whether ``CW_RERAISE_PAGE_ERRORS=1`` asks for a page's errors to propagate (tests, debugging)."""
    return os.environ.get(RERAISE_SETTING, "").strip() == "1"


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
        if reraise if reraise is not None else reraise_requested():
            raise
        LOGGER.exception("Uncaught error in %s", where)
        st.error(
            f"Something went wrong in {escape_markdown(where)}: {user_message(error)}. Your project is unchanged; "
            "the details are in the server's log.",
            icon=":material/error:",
        )
