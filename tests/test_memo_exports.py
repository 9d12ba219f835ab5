"""Exports under attack and after a bootstrap (issue 18 §3 memo part; issue 17 §17, §18).

* The MD and HTML exports hold no live tag and no Markdown image or link that came from user or model text:
  payloads sit in the project name, the brief, every card field, column names (treatment, outcome,
  covariates, dictionary), DAG node names, open questions, the checklist and the memo drafts. The Markdown is
  rendered with markdown-it (CommonMark, raw HTML allowed: the most permissive reader) and the HTML parsed.
* After a bootstrap every estimate row says which SE it carries, so two "IPW" rows never look alike.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from causal_core import memo
from causal_core.estimation import run_estimation
from causal_core.project import (
    ChecklistItem,
    DagEdge,
    DagNode,
    DagSpec,
    DictionaryEntry,
    EstimandCard,
    EstimateRow,
    EstimationResult,
    EstimationSpec,
    OpenQuestion,
    Timing,
)
from causal_core.reporting import report
from tests.test_memo_support import retention_project

IMG = "<img src=x onerror=alert(1)>"
PIXEL = "![](http://127.0.0.1:8999/p.png)"
LINK = "[click](http://127.0.0.1:8999/l)"
SCRIPT = "<script>alert(2)</script>"
PAYLOAD = f"{IMG} {PIXEL} {LINK} {SCRIPT}"
TREATMENT, OUTCOME = f"t{IMG}", f"y{PIXEL}"
COVARIATE, NODE = f"c{LINK}", f"u{SCRIPT}"


class _Tags(HTMLParser):
    """Every start tag and attribute in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def tags_in(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


@pytest.fixture(scope="module")
def hostile():
    base = retention_project()
    card = EstimandCard(**{field: f"{field} {PAYLOAD}" for field in ("business_question", "causal_question", "unit",
                                                                     "treatment", "control_condition", "outcome",
                                                                     "time_window", "target_population")},
                        estimand=f"ATE {PAYLOAD}", likely_threats=[f"threat {PAYLOAD}"],
                        required_assumptions=[f"assume {PAYLOAD}"])
    spec = EstimationSpec(treatment=TREATMENT, outcome=OUTCOME, covariates=[COVARIATE])
    rows = [EstimateRow(method=m, estimand="ATE", estimate=e, std_error=0.01, ci_low=e - 0.02, ci_high=e + 0.02,
                        n_used=6000, se_type="HC3") for m, e in (("naive", 0.078), ("regression", -0.044),
                                                                  ("aipw", -0.047))]
    result = EstimationResult(spec=spec, n_used=6000, estimates=rows,
                              warnings=[f"Override: '{COVARIATE}' is adjusted for"])
    dag = DagSpec(nodes=[DagNode(name=TREATMENT, column=TREATMENT), DagNode(name=OUTCOME, column=OUTCOME),
                         DagNode(name=COVARIATE, column=COVARIATE), DagNode(name=NODE)],
                  edges=[DagEdge(source=COVARIATE, target=TREATMENT), DagEdge(source=COVARIATE, target=OUTCOME),
                         DagEdge(source=TREATMENT, target=NODE), DagEdge(source=NODE, target=OUTCOME)],
                  treatment=TREATMENT, outcome=OUTCOME)
    dictionary = [DictionaryEntry(variable=v, description=f"desc {PAYLOAD}", timing=Timing.pre_treatment)
                  for v in (COVARIATE, f"extra{IMG}")]
    project = base.model_copy(update={
        "name": f"P {PAYLOAD}", "brief": f"Brief {PAYLOAD}", "estimand_card": card, "treatment": TREATMENT,
        "outcome": OUTCOME, "estimation": result, "dag": dag, "dictionary": dictionary,
        "guardrails": [f"g{IMG}"], "unit_columns": [f"id{PIXEL}"], "dedup": "keep_first",
        "open_questions": [OpenQuestion(text=f"Q {PAYLOAD}")],
        "checklist": [ChecklistItem(check=f"check {PAYLOAD}", status="todo", owner=f"owner {PAYLOAD}")],
    })
    project = memo.with_deterministic_memo(project)
    draft = {key: f"{key} {PAYLOAD}" for key in memo.SECTION_KEYS}
    return project.model_copy(update={"memo": project.memo.model_copy(update={"ai_draft": draft})})


def _assert_inert(page: str) -> None:
    for tag, attrs in tags_in(page):
        assert tag not in ("img", "script", "a", "iframe", "object", "embed", "link"), (tag, attrs)
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert not any("127.0.0.1" in (value or "") for value in attrs.values()), (tag, attrs)


def test_markdown_export_renders_no_live_tag_image_or_link(hostile):
    text = report.project_memo_markdown(hostile)
    outside_names = memo.strip_code_spans(text)  # inside a code span a payload is inert by construction
    assert not re.search(r"(?<!\\)\]\(http", outside_names), "an unescaped ']' would close a link text"
    assert not [m for m in ("<img", "<script") if f" {m}" in outside_names]
    rendered = MarkdownIt("commonmark", {"html": True}).render(text)
    _assert_inert(rendered)
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered  # shown as text, not dropped
    assert f"<code>{TREATMENT.replace('<', '&lt;').replace('>', '&gt;')}</code>" in rendered  # names verbatim


def test_final_memo_from_the_ai_draft_is_escaped_too(hostile):
    final = dict(hostile.memo.ai_draft)
    edited = hostile.model_copy(update={"memo": hostile.memo.model_copy(update={"final": final})})
    text = report.project_memo_markdown(edited)
    assert text.startswith("# Decision memo (analyst final)")
    _assert_inert(MarkdownIt("commonmark", {"html": True}).render(text))


def test_html_export_has_no_live_tag(hostile):
    page = report.memo_html(hostile)
    _assert_inert(page)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "<svg" in page  # the DAG with hostile node names is drawn, and inert


def test_memo_page_markdown_is_inert(hostile):
    """The page renders every section through memo.to_markdown: the same guarantee as the export."""
    for sections in (hostile.memo.deterministic, hostile.memo.ai_draft):
        for text in sections.values():
            _assert_inert(MarkdownIt("commonmark", {"html": True}).render(memo.to_markdown(text)))


# ---- issue 17 §18: SE type on every row ----------------------------------------------------------


@pytest.fixture(scope="module")
def bootstrapped():
    from causal_core.data import analysis_frame, project_for_builtin

    project, raw = project_for_builtin("retention", project_name="boot")
    frame = analysis_frame(project, raw)
    spec = EstimationSpec(treatment="outreach", outcome="churn", covariates=["health_score", "usage_score"],
                          bootstrap=20)
    result = run_estimation(frame, spec, sensitivity=False, refutations=False)
    return project.model_copy(update={"estimation": result})


def test_bootstrap_rows_are_labelled_with_their_se_type(bootstrapped):
    rows = bootstrapped.estimation.estimates
    ipw = [r for r in rows if r.method == "ipw"]
    assert len(ipw) == 2 and ipw[0].estimate == ipw[1].estimate and ipw[0].ci_low != ipw[1].ci_low
    table = memo.estimates_markdown(bootstrapped).splitlines()[2:]
    labels = [line.split(" | ")[0].lstrip("| ") for line in table]
    assert len(labels) == len(rows) == len(set(labels))  # no two rows look alike
    assert all(" · " in label for label in labels)  # every row names its SE type
    assert any("bootstrap" in label for label in labels if label.startswith("IPW"))
    page = report.memo_html(bootstrapped)
    cells = [attrs for attrs in tags_in(page)]
    assert cells and page.count("<th>SE type</th>") == 1
    for row in rows:
        assert f"<td>{memo.row_label(row)}</td>" in page


def test_consistency_details_render_names_as_code_and_stay_inert(hostile):
    page = report.memo_html(hostile)
    section = page[page.index("<h2>Consistency across artifacts</h2>") : page.index("<h2>Audit scores")]
    _assert_inert(section)
    assert "y![](http://127.0.0.1:8999/p.png)" in html.unescape(section)  # the name is quoted as text
    cell = report._table([{"detail": "covariates `a<b>`, `c_1`: ok"}], ["detail"], markup=("detail",))
    assert "<td>covariates <code>a&lt;b&gt;</code>, <code>c_1</code>: ok</td>" in cell


# ---- issue 25 §8: memo.md reads as text, and stays inert -------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from causal_core.safe_text import clean_text  # noqa: E402
from tests.test_security_exports import HOSTILE_TEXT, live_tokens, markdown_contexts  # noqa: E402

PERMISSIVE = MarkdownIt("commonmark", {"html": True})
PROSE = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="`"), max_size=40)


def _plain_text_of(markdown: str) -> str | None:
    """The text of a one-paragraph document whose inline content is text only, else None (something parsed)."""
    tokens = PERMISSIVE.parse(markdown)
    if [t.type for t in tokens] != ["paragraph_open", "inline", "paragraph_close"]:
        return None
    children = tokens[1].children or []
    if any(child.type != "text" for child in children):
        return None
    return "".join(child.content for child in children)


@settings(max_examples=300, deadline=None)
@given(HOSTILE_TEXT)
def test_memo_markdown_of_hostile_text_has_no_live_markup(text):
    for line in (text, f"- {text}", f"`name` {text}", f"{text} `name`"):
        rendered = memo.to_markdown(line)
        for document in markdown_contexts(rendered):
            assert not live_tokens(document), (line, document)
        _assert_inert(PERMISSIVE.render(rendered))


@settings(max_examples=300, deadline=None)
@given(PROSE)
def test_memo_markdown_escaping_is_minimal_and_lossless(text):
    """Any line without a code span renders as exactly its (cleaned) text: nothing parsed, nothing lost."""
    expected = " ".join(clean_text(text).split())
    if not expected or len(text.splitlines()) != 1 or text.startswith("- "):
        return  # empty, several memo lines, or a bullet (the memo's own list syntax)
    assert _plain_text_of(memo.to_markdown(text)) == expected


@pytest.mark.parametrize(
    "text",
    ["+0.341 [-0.1, 0.7]", "# heading?", "1. first", "2) second", "---", "===", "> quote", "* star", "+ plus",
     "wt82_71 and _x_", "**bold**", "&#x202E;rtl &amp; R&D", ":smile: :material/home: Window: ok",
     "see http://127.0.0.1:9/p.png or www.example.com or a@b.co", "$x$ ~~s~~ a|b", "<b>x</b> <!-- c -->"],
)
def test_memo_markdown_shows_constructs_as_text(text):
    assert _plain_text_of(memo.to_markdown(text)) == text


def test_memo_md_numbers_read_as_written():
    """memo.md is readable as text: numbers, signs, parentheses and colons carry no backslashes."""
    project = memo.with_deterministic_memo(retention_project())
    text = report.project_memo_markdown(project)
    prose = memo.strip_code_spans(text)
    assert "-4.7 percentage points" in text and "\\-4" not in text
    assert not re.search(r"\\[0-9.+\-():,;%]", prose), re.findall(r".{20}\\[0-9.+\-():,;%].{5}", prose)[:5]
    assert "standardised mean difference -0.779" in text or "standardised mean difference" not in text


def test_estimates_table_reads_as_text_and_a_hostile_label_stays_in_its_cell():
    project = retention_project()
    described = [row.model_copy(update={"se_method": "analytic: cluster-robust IF (90 clusters)"})
                 for row in project.estimation.estimates]
    project = project.model_copy(update={"estimation": project.estimation.model_copy(update={"estimates": described})})
    table = memo.estimates_markdown(project)
    assert "| doubly robust · analytic: cluster-robust IF (90 clusters) | ATE |" in table  # no "\:" or "\-" noise
    hostile_label = f"x | y {IMG} {LINK} *b* `c"
    rows = [row.model_copy(update={"label": hostile_label}) for row in project.estimation.estimates[:1]]
    edited = project.model_copy(update={"estimation": project.estimation.model_copy(update={"estimates": rows})})
    rendered_tokens = MarkdownIt("commonmark").enable("table").parse(memo.estimates_markdown(edited))
    cells = [t for t in rendered_tokens if t.type == "td_open"]
    assert len(cells) == 5  # the label's '|' did not open a sixth cell
    kinds = {child.type for t in rendered_tokens for child in (t.children or [])} | {t.type for t in rendered_tokens}
    assert not kinds & {"html_inline", "html_block", "image", "link_open", "code_inline", "em_open"}
    inline = [t for t in rendered_tokens if t.type == "inline"]
    assert any(t.content.replace("\\", "").startswith("x | y <img") for t in inline)
