"""What a reader sees in a Streamlit Markdown element, for assertions on pages that escape user text.

The pages pass names and sentences through causal_core.safe_text.escape_markdown (``\\(`` renders ``(``), so
a test compares against the rendered text, not the escaped source.
"""

from __future__ import annotations

import re


def plain(markdown: str) -> str:
    """The text with Markdown backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown)
