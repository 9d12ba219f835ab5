"""One place where user and model text is made safe for the surface it meets.

Column names, node names, project names, briefs and model drafts are untrusted: a shared project
file or a CSV header can carry Markdown images (tracking pixels), links or HTML with event
handlers. Every caller that puts such text into Markdown, HTML or a vis-network tooltip goes
through these helpers, so the rule lives here and a test can check it once.
"""

from __future__ import annotations

import html
import re
import unicodedata

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:])")
_TAG = re.compile(r"<[^>]*>")
# Every line ending CommonMark, HTML or a Unicode-aware editor honours: CR LF, lone CR, LF, VT, FF, NEL,
# LINE SEPARATOR and PARAGRAPH SEPARATOR. A lone CR was enough to open a raw-HTML block in a notebook cell.
_LINE_ENDINGS = re.compile("\r\n|[\r\n\v\f\x85\u2028\u2029]")
# Bidi embeddings/overrides/isolates and marks (they reorder what a reader sees) and zero-width characters
# (they hide text or split a keyword); removed outright.
_INVISIBLE = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\ufeff", "\u2060"]
)


def _keep(char: str) -> str:
    """One character after cleaning: tab → space, control/invisible → nothing, anything else unchanged."""
    if char == "\t":
        return " "
    if char in _INVISIBLE or unicodedata.category(char) == "Cc":
        return ""
    return char


def hidden_characters(text: object) -> list[str]:
    """The characters clean_text would fold or remove (line endings, tabs, controls, bidi, zero-width), in
    order of first appearance: a name that holds any of them is refused at entry rather than silently changed."""
    value = str(text)
    found = [char for char in value if _LINE_ENDINGS.match(char) or _keep(char) != char]
    return list(dict.fromkeys(found))


def clean_text(text: object) -> str:
    """Untrusted text reduced to one visible line: every line ending folds to a space, tabs become spaces,
    control characters (Cc), bidi overrides/isolates/marks and zero-width characters are removed.

    Why: every escaper below assumed "\\n" is the only line break, but CommonMark also ends a line at "\\r",
    so `x\\r\\r<img src=…>` became a live image in an exported notebook. Cleaning first, in one place, lets
    the escapers reason about a single line of ordinary characters.
    """
    return "".join(_keep(char) for char in _LINE_ENDINGS.sub(" ", str(text)))


def escape_markdown(text: object) -> str:
    """Text shown literally by st.markdown / st.caption / st.info and in a Markdown export.

    Whitespace runs (newlines included) fold to one space, so text cannot open a heading, a list
    or a table row; every Markdown, HTML and maths metacharacter is backslash-escaped, so `![](…)`
    cannot fetch an image, `<img onerror>` stays text and `$…$` is not typeset.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(clean_text(text).split()))


def code_span(text: object) -> str:
    """A name (column, node) inside a Markdown code span, byte-for-byte: `wt82_71` stays `wt82_71`.

    The fence is one backtick longer than the longest backtick run inside, per CommonMark, and
    padded with spaces when the name starts or ends with a backtick. Line endings fold to spaces and
    control/bidi/zero-width characters are removed (clean_text), so the span cannot end early.
    """
    value = clean_text(text)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def escape_html(text: object) -> str:
    """Text for an HTML element body or attribute (quotes included), cleaned first (clean_text)."""
    return html.escape(clean_text(text), quote=True)


def plain_text(text: object, limit: int | None = None) -> str:
    """Tags removed, then HTML-escaped: safe where a widget writes a string with innerHTML.

    vis-network (inside streamlit-agraph) writes a node's or edge's `title` with innerHTML, so a
    tooltip must never carry markup. Removing tags first keeps the tooltip readable; escaping what is
    left means a stray `<` or `&` is shown, not parsed.
    """
    value = _TAG.sub("", clean_text(text))
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return html.escape(value, quote=True)
