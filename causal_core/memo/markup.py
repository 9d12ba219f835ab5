"""The memo's only markup: column and node names in code spans; everything else is plain text.

Why: a memo mixes our template prose, user text (brief, card fields, questions) and names from the
data. Names must print byte-for-byte (`wt82_71`, never "wt82 71") and their digits are not claims;
user text must never become live Markdown or HTML. So memo sections are stored as plain text in which
a CommonMark code span marks a name, and each surface renders them through one function here:
code spans re-fenced safely, every other character escaped (safe_text).
"""

from __future__ import annotations

import re

from causal_core.safe_text import code_span, escape_html, escape_markdown

_BACKTICKS = re.compile(r"`+")
NAME_PLACEHOLDER = "variable"  # what a code span reads as when prose is scanned for numbers and directions


def name(column: object) -> str:
    """A column or node name for memo prose: a code span, untouched."""
    return code_span(column)


def names(columns: list[str] | tuple[str, ...], empty: str = "none") -> str:
    """Comma-separated code spans (or ``empty``)."""
    return ", ".join(name(column) for column in columns) or empty


def split_code_spans(text: str) -> list[tuple[bool, str]]:
    """(is_code, content) pieces per CommonMark: a run of N backticks closes only on a run of exactly N."""
    pieces: list[tuple[bool, str]] = []
    position = plain_start = 0
    while True:
        opening = _BACKTICKS.search(text, position)
        if opening is None:
            break
        width = len(opening.group(0))
        closing = next(
            (run for run in _BACKTICKS.finditer(text, opening.end()) if len(run.group(0)) == width), None
        )
        if closing is None:
            position = opening.end()  # an unmatched run is literal text
            continue
        if opening.start() > plain_start:
            pieces.append((False, text[plain_start : opening.start()]))
        content = text[opening.end() : closing.start()]
        if len(content) >= 2 and content.startswith(" ") and content.endswith(" ") and content.strip():
            content = content[1:-1]
        pieces.append((True, content))
        position = plain_start = closing.end()
    if plain_start < len(text):
        pieces.append((False, text[plain_start:]))
    return pieces


def strip_code_spans(text: str) -> str:
    """Prose with every name replaced by a neutral word: numbers inside names are not claims."""
    return "".join(NAME_PLACEHOLDER if is_code else piece for is_code, piece in split_code_spans(text or ""))


def to_markdown(text: str) -> str:
    """A memo section as safe Markdown: '- ' lines stay list items, names stay code spans, the rest is escaped.

    Plain pieces keep their edge spaces (escape_markdown folds runs), so "by `x` and" keeps its spacing.
    """
    out = []
    for line in (text or "").splitlines():
        bullet = line.startswith("- ")
        body = line[2:] if bullet else line
        rendered = "".join(
            code_span(piece) if is_code else _spaced_escape(piece) for is_code, piece in split_code_spans(body)
        ).strip()
        if rendered:
            out.append(f"- {rendered}" if bullet else rendered)
    return "\n".join(out)


def _spaced_escape(piece: str) -> str:
    """escape_markdown, keeping one leading / trailing space when the piece had one (it sits beside a name)."""
    inner = escape_markdown(piece)
    lead = " " if piece[:1].isspace() else ""
    trail = " " if piece[-1:].isspace() and inner else ""
    return f"{lead}{inner}{trail}" if inner else (" " if piece else "")


def to_html(text: str) -> str:
    """One line of memo text as HTML: names in <code>, everything escaped."""
    return "".join(
        f"<code>{escape_html(piece)}</code>" if is_code else escape_html(piece)
        for is_code, piece in split_code_spans(text or "")
    )


def to_plain(text: str) -> str:
    """Memo text with code-span fences removed (for a text area or a CSV)."""
    return "".join(piece for _, piece in split_code_spans(text or ""))
