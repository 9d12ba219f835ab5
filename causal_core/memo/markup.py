"""The memo's only markup: column and node names in code spans; everything else is plain text.

Why: a memo mixes our template prose, user text (brief, card fields, questions) and names from the
data. Names must print byte-for-byte (`wt82_71`, never "wt82 71") and their digits are not claims;
user text must never become live Markdown or HTML. So memo sections are stored as plain text in which
a CommonMark code span marks a name, and each surface renders them through one function here:
code spans re-fenced safely, every other character escaped (safe_text).
"""

from __future__ import annotations

import re

from causal_core.safe_text import clean_text, code_span, escape_html

_BACKTICKS = re.compile(r"`+")
# Characters that open markup anywhere in a line (CommonMark, GFM, Streamlit's Markdown): backslash escapes,
# code spans, emphasis, link/image brackets, raw HTML and autolinks, maths, strikethrough, table cells and
# e-mail autolinks. Everything else is left alone, so "+0.341 (−0.048)." reads as written.
_ALWAYS_ESCAPED = frozenset("\\`*[]<$~|@")
# What opens a block when it starts a line: list item or thematic break ("- x", "---"), heading ("# x"), quote,
# setext underline ("==="), table row. "-4.8" at a line's start opens nothing and stays as written.
_BLOCK_START = re.compile(r"[-+*](?=\s|$|[-*_])|#{1,6}(?=\s|$)|[>=|]")
_ORDERED_LIST_START = re.compile(r"\d{1,9}[.)]")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")
# ":smile:", ":material/home:" (Streamlit shortcodes) and "http://" (a GFM bare-URL autolink) start at a colon.
_COLON_MARKUP = re.compile(r":(?://|[A-Za-z0-9_+\-/]+:)")
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
        pieces = split_code_spans(body.lstrip())
        rendered = "".join(
            code_span(piece) if is_code else _spaced_escape(piece, line_start=(index == 0))
            for index, (is_code, piece) in enumerate(pieces)
        ).strip()
        if rendered:
            out.append(f"- {rendered}" if bullet else rendered)
    return "\n".join(out)


def _needs_escape(text: str, index: int, line_start: bool) -> bool:
    """Whether the character at ``index`` could start Markdown here (its neighbours decide for _ & : .)."""
    char = text[index]
    before = text[index - 1] if index else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if char in _ALWAYS_ESCAPED or (line_start and index == 0 and _BLOCK_START.match(text) is not None):
        return True
    if char == "_":  # only an intraword underscore (wt82_71) can never open or close emphasis
        return not (before.isalnum() and after.isalnum())
    if char == "&":  # "&#x202E;" would become a bidi override; "R&D" stays
        return _ENTITY.match(text, index) is not None
    if char == ":":
        return _COLON_MARKUP.match(text, index) is not None
    if char == ".":  # "www." starts a GFM autolink
        return text[max(0, index - 3) : index].lower() == "www"
    return False


def escape_prose(text: object, line_start: bool = False) -> str:
    """Untrusted text for Markdown, escaping only what CommonMark/GFM/Streamlit would read as markup here.

    Why not safe_text.escape_markdown: it escapes every punctuation mark, so a memo.md read as text was full of
    "\\+0\\.341". Here a character is escaped only where it could open markup: backtick, asterisk, brackets,
    "<", "$", "~", "|", "@" and backslash always; a block opener ("- ", "# ", ">", "===", "1.") only at a line's start; "_"
    unless inside a word; "&" before an entity; ":" before a shortcode or "//"; the dot of "www.". Whitespace
    folds to single spaces (clean_text first), so no text opens a new line, an indented code block or a break.
    """
    value = " ".join(clean_text(text).split())
    ordered = _ORDERED_LIST_START.match(value) if line_start else None
    out = []
    for index, char in enumerate(value):
        escape = _needs_escape(value, index, line_start) or (ordered is not None and index == ordered.end() - 1)
        out.append(f"\\{char}" if escape else char)
    return "".join(out)


def _spaced_escape(piece: str, line_start: bool = False) -> str:
    """escape_prose, keeping one leading / trailing space when the piece had one (it sits beside a name)."""
    inner = escape_prose(piece, line_start)
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
