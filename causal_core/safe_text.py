"""One place where user and model text is made safe for the surface it meets.

Column names, node names, project names, briefs and model drafts are untrusted: a shared project
file or a CSV header can carry Markdown images (tracking pixels), links or HTML with event
handlers. Every caller that puts such text into Markdown, HTML or a vis-network tooltip goes
through these helpers, so the rule lives here and a test can check it once.
"""

from __future__ import annotations

import html
import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:])")
_TAG = re.compile(r"<[^>]*>")


def escape_markdown(text: object) -> str:
    """Text shown literally by st.markdown / st.caption / st.info and in a Markdown export.

    Whitespace runs (newlines included) fold to one space, so text cannot open a heading, a list
    or a table row; every Markdown, HTML and maths metacharacter is backslash-escaped, so `![](…)`
    cannot fetch an image, `<img onerror>` stays text and `$…$` is not typeset.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def code_span(text: object) -> str:
    """A name (column, node) inside a Markdown code span, byte-for-byte: `wt82_71` stays `wt82_71`.

    The fence is one backtick longer than the longest backtick run inside, per CommonMark, and
    padded with spaces when the name starts or ends with a backtick. Newlines fold to spaces.
    """
    value = " ".join(str(text).split("\n"))
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def escape_html(text: object) -> str:
    """Text for an HTML element body or attribute (quotes included)."""
    return html.escape(str(text), quote=True)


def plain_text(text: object, limit: int | None = None) -> str:
    """Tags removed, then HTML-escaped: safe where a widget writes a string with innerHTML.

    vis-network (inside streamlit-agraph) writes a node's or edge's `title` with innerHTML, so a
    tooltip must never carry markup. Removing tags first keeps the tooltip readable; escaping what is
    left means a stray `<` or `&` is shown, not parsed.
    """
    value = _TAG.sub("", str(text))
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return html.escape(value, quote=True)
