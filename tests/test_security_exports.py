"""Exports carry no live markup (issue 21, item 4).

Whatever text a user or a model supplies, once it has passed `safe_text` it renders as text: a real CommonMark
renderer (markdown-it-py, the parser family JupyterLab's Markdown cells follow) produces no HTML, link or image
from it, and an HTML parser finds no element in the HTML escaper's output. The notebook export and the report
ZIP's `analysis.ipynb` are checked end to end with the column/file name that made a live `<img>` before.
"""

from __future__ import annotations

import io
import json
import zipfile
from html.parser import HTMLParser

import nbformat
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from causal_core.safe_text import clean_text, code_span, escape_html, escape_markdown, plain_text

HOSTILE_NAME = "x\r\r<img src=http://127.0.0.1:9/p>"
LIVE_TOKENS = {"html_inline", "html_block", "image", "link_open"}
SPECIAL_CHARS = (
    "\r\n\v\f\x85\u2028\u2029\t\x00\x1b\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "\u200e\u200f\u061c\u200b\u200c\u200d\ufeff\u2060"
)
MARKUP_PIECES = st.sampled_from(
    ["<img src=x onerror=alert(1)>", "<script>", "</code>", "![a](http://e/p.png)", "[l](http://e)", "<http://e>",
     "`", "``", "```", "<", ">", "\\", "&lt;", "<!--", "-->", "<a href=x>", "http://e.x/p", "*", "#", "> ", "    "]
)
HOSTILE_TEXT = st.lists(
    st.one_of(st.text(max_size=6), st.sampled_from(list(SPECIAL_CHARS)), MARKUP_PIECES), max_size=12
).map("".join)
RENDERER = MarkdownIt("commonmark")  # html=True: raw HTML would be passed through, so it must not appear


def live_tokens(markdown: str) -> set[str]:
    """Token types in the rendered document that could fetch or run something."""
    found: set[str] = set()
    for token in RENDERER.parse(markdown):
        found.add(token.type)
        found.update(child.type for child in token.children or [])
    return found & LIVE_TOKENS


def markdown_contexts(fragment: str) -> list[str]:
    """The places a sink puts a fragment: a paragraph's start, mid-line, a list item, a heading, a table cell."""
    return [fragment, f"Text {fragment} more", f"- {fragment}", f"# {fragment}", f"| a |\n|---|\n| {fragment} |",
            f"**Label.** {fragment}\n\nnext paragraph"]


class _ElementCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.elements.append(tag)

    def handle_comment(self, data):
        self.elements.append("!--")


def html_elements(markup: str) -> list[str]:
    parser = _ElementCounter()
    parser.feed(markup)
    parser.close()
    return parser.elements


@settings(max_examples=300, deadline=None)
@given(HOSTILE_TEXT)
def test_escaped_markdown_renders_no_html_link_or_image(text):
    for fragment in (escape_markdown(text), code_span(text)):
        for document in markdown_contexts(fragment):
            assert not live_tokens(document), (text, document)


@settings(max_examples=300, deadline=None)
@given(HOSTILE_TEXT)
def test_clean_text_leaves_one_line_of_visible_characters(text):
    cleaned = clean_text(text)
    assert not set(cleaned) & set(SPECIAL_CHARS)
    assert len(cleaned.splitlines() or [""]) == 1
    assert clean_text(cleaned) == cleaned  # idempotent: escaping twice never changes the meaning


@settings(max_examples=300, deadline=None)
@given(HOSTILE_TEXT)
def test_escaped_html_holds_no_element(text):
    for escaped in (escape_html(text), plain_text(text)):
        assert html_elements(f"<p title=\"{escaped}\">{escaped}</p>") == ["p"], (text, escaped)


def test_the_reported_name_is_inert_but_still_readable():
    assert code_span(HOSTILE_NAME) == "`x  <img src=http://127.0.0.1:9/p>`"
    assert live_tokens(f"Column {code_span(HOSTILE_NAME)} was used.") == set()
    assert "image" in live_tokens("![a](http://e/p.png)") or "html_inline" in live_tokens("a <img src=x> b")


def hostile_project(build_once):
    """The support project with the hostile name in every user-text field the notebook prints (the headless
    build of support with 30 teams, built once per test run: tests/conftest.py)."""
    from causal_core.project import AnalystEdit

    project, _ = build_once("support", n=30)
    edit = AnalystEdit(artifact=HOSTILE_NAME, field=HOSTILE_NAME, before=HOSTILE_NAME, after=HOSTILE_NAME,
                       note=HOSTILE_NAME)
    return project.model_copy(update={"name": HOSTILE_NAME, "brief": HOSTILE_NAME,
                                      "edit_log": [*project.edit_log, edit]})


def assert_markdown_cells_inert(notebook: nbformat.NotebookNode) -> None:
    cells = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    assert cells and any("img src" in cell for cell in cells)  # the name is there, as text
    for source in cells:
        assert not live_tokens(source), source


def test_notebook_export_markdown_is_inert(build_once):
    from causal_core.notebook import build_export

    export = build_export(hostile_project(build_once), "project.json")
    assert_markdown_cells_inert(nbformat.reads(export.ipynb, as_version=4))


def test_report_zip_notebook_and_memo_are_inert(build_once):
    from causal_core.reporting.report import report_zip

    archive = zipfile.ZipFile(io.BytesIO(report_zip(hostile_project(build_once))))
    notebook = nbformat.reads(archive.read("analysis.ipynb").decode("utf-8"), as_version=4)
    nbformat.validate(notebook)
    assert_markdown_cells_inert(notebook)
    assert not live_tokens(archive.read("memo.md").decode("utf-8"))
    memo_html = archive.read("memo.html").decode("utf-8")
    assert "&lt;img src=http://127.0.0.1:9/p&gt;" in memo_html and "<img src=http://127.0.0.1" not in memo_html
    assert "\r" not in memo_html.split("<style>")[0]
    assert "\r" not in json.dumps([c.source for c in notebook.cells if c.cell_type == "markdown"]).replace("\\r", "\r")


def test_csv_exports_neutralise_formulas_and_keep_numbers():
    """Multiverse/lab tables: a negative estimate stays a number; user terms that look like formulas do not."""
    import csv

    import pandas as pd

    from causal_core.safe_io import restore_frame, safe_csv_text

    frame = pd.DataFrame({"terms": ["=HYPERLINK(\"http://e\",\"x\")", "-2+3", "age + x\r\ny", "-0.046"],
                          "estimate": [-0.046, 1.5, -2.0, 0.0], "=col": ["@a", "b", "c", "d"]})
    text = safe_csv_text(frame)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["terms", "estimate", "'=col"]
    assert [row[0] for row in rows[1:]] == ["'=HYPERLINK(\"http://e\",\"x\")", "'-2+3", "age + x\r\ny", "-0.046"]
    assert [row[1] for row in rows[1:]] == ["-0.046", "1.5", "-2.0", "0.0"]
    back = restore_frame(pd.read_csv(io.StringIO(text), keep_default_na=False))
    assert list(back.columns) == ["terms", "estimate", "=col"]
    assert back["terms"].tolist() == ["=HYPERLINK(\"http://e\",\"x\")", "-2+3", "age + x\r\ny", "-0.046"]
    assert back["estimate"].tolist() == [-0.046, 1.5, -2.0, 0.0]
