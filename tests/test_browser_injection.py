"""Script and tracking-pixel payloads in every place user or model text enters, in a real browser (issue 18 §1, §3).

Payloads go in through the two doors a hostile file has: a CSV upload (column names) and an opened project
file (project name, brief, DAG node names and edge rationales, estimand card fields, open questions, memo).
Every page is visited after each. The test listens for JavaScript dialogs (``alert`` from an ``onerror``) and
for any request to a local listener named by a Markdown image; both must stay silent. The report's HTML,
SVG and Markdown exports of the same project must hold no live tag or image either.
"""

from __future__ import annotations

import html.parser
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.test_app import registered_pages
from tests.test_browser import _launch, _open_page, _wait_for_script, server  # noqa: F401 - server is a fixture

pytestmark = pytest.mark.slow
PAGE_TITLES = ["Overview", "Question", "DAG", "Data audit", "Estimation", "Specification curve", "Memo", "Present",
               "Model lab"]


@pytest.fixture(scope="module")
def listener():
    """A local HTTP server that records every request; a Markdown image pointing here is a tracking pixel."""
    hits: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server hook's name
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    httpd = HTTPServer(("127.0.0.1", port), Record)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield port, hits
    httpd.shutdown()


def payloads(port: int, where: str) -> list[str]:
    """Each a different way in: an event handler, an SVG onload, a Markdown image, a link with javascript:."""
    return [
        f"<img src=x onerror=alert('{where}')>",
        f"<svg onload=alert('{where}-svg')>",
        f"![](http://127.0.0.1:{port}/{where}.png)",
        f"[click](javascript:alert('{where}-link'))",
    ]


def hostile_project(port: int):
    """The retention project with a payload in every free-text field the pages show."""
    from causal_core.dag import default_dag
    from causal_core.data import project_for_builtin
    from causal_core.memo import SECTION_KEYS
    from causal_core.project import DagEdge, DagNode, EstimandCard, OpenQuestion

    project, _ = project_for_builtin("retention")
    dag = default_dag("retention")
    node_payloads = payloads(port, "node")[:3]
    extra_nodes = [DagNode(name=name, label=name, latent=True) for name in node_payloads]
    edges = [DagEdge(source=node.name, target="churn", rationale=payloads(port, "rationale")[index % 4])
             for index, node in enumerate(extra_nodes)]
    dag = dag.model_copy(update={
        "nodes": [*dag.nodes, *extra_nodes],
        "edges": [edge.model_copy(update={"rationale": payloads(port, "rationale")[0]}) for edge in dag.edges] + edges,
    })
    card_text = " ".join(payloads(port, "card"))
    card = EstimandCard(**{field: card_text for field in ("business_question", "causal_question", "unit", "treatment",
                                                           "control_condition", "outcome", "time_window",
                                                           "target_population", "estimand")},
                        required_assumptions=payloads(port, "assumption"), likely_threats=payloads(port, "threat"),
                        variables_to_audit=payloads(port, "audit"))
    memo = project.memo.model_copy(update={"final": {key: " ".join(payloads(port, f"memo-{key}")) for key in SECTION_KEYS},
                                           "ai_draft": {key: " ".join(payloads(port, "draft")) for key in SECTION_KEYS}})
    return project.model_copy(update={
        "name": payloads(port, "name")[2] + " " + payloads(port, "name")[0],
        "brief": " ".join(payloads(port, "brief")),
        "dag": dag,
        "estimand_card": card,
        "card_status": "draft",
        "open_questions": [OpenQuestion(text=text, source="analyst") for text in payloads(port, "question")],
        "memo": memo,
    })


def _wait_for_sidebar_text(page, text: str, timeout_ms: int = 90_000) -> None:
    """The flash appears on the rerun after the upload; on a loaded machine that can take a while."""
    page.locator('[data-testid="stSidebar"]').get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)
    _wait_for_script(page)


CURRENT = {"where": "start"}  # which door and page the browser is on, so a finding names its sink


def _visit_every_page(page, shots: str, artifacts_dir) -> list[str]:
    problems = []
    assert len(PAGE_TITLES) == len(registered_pages())
    for title in PAGE_TITLES:
        CURRENT["where"] = f"{shots}: {title}"
        _open_page(page, title)
        page.wait_for_timeout(1500)
        if title == "DAG":  # the component iframe draws after the script: give it time to write its tooltips
            page.wait_for_timeout(3000)
        page.screenshot(path=str(artifacts_dir / f"injection-{shots}-{title.lower().replace(' ', '_')}.png"))
        if page.locator('[data-testid="stException"]').count():
            problems.append(f"{title}: {page.locator('[data-testid=stException]').first.inner_text()[:200]}")
        # hover every canvas once: a vis-network tooltip is written with innerHTML when shown
        for frame in page.frames:
            canvases = frame.locator("canvas")
            if canvases.count():
                box = canvases.first.bounding_box()
                if box:
                    for fx, fy in ((0.5, 0.5), (0.3, 0.3), (0.7, 0.6)):
                        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
                        page.wait_for_timeout(400)
    return problems


def test_payloads_never_run_or_fetch_in_the_browser(server, listener, artifacts_dir, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    from causal_core.project_file import project_to_json

    port, hits = listener
    columns = ["t", "y", payloads(port, "column")[0], payloads(port, "column")[2], payloads(port, "column")[1]]
    csv = tmp_path / "hostile.csv"
    csv.write_text(",".join(f'"{name}"' for name in columns) + "\n"
                   + "\n".join(f"{i % 2},{i * 0.5},{i},{i % 3},{i % 5}" for i in range(30)) + "\n", encoding="utf-8")
    saved = tmp_path / "hostile.json"
    saved.write_text(project_to_json(hostile_project(port)), encoding="utf-8")

    dialogs: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        page.on("dialog", lambda dialog: (dialogs.append(f"{CURRENT['where']}: {dialog.message}"), dialog.dismiss()))
        page.on("request", lambda request: requests.append(f"{CURRENT['where']}: {request.url}")
                if f":{port}" in request.url else None)
        page.goto(server, wait_until="domcontentloaded")
        _wait_for_script(page)
        # door 1: a CSV whose column names are payloads
        box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Dataset").first
        box.click()
        page.get_by_role("option", name="Upload CSV / Parquet…").click()
        _wait_for_script(page)
        page.locator('[data-testid="stSidebar"] input[type="file"]').first.set_input_files(str(csv))
        _wait_for_sidebar_text(page, "Loaded 30 rows × 5 columns")
        problems = _visit_every_page(page, "upload", artifacts_dir)
        # door 2: a project file with payloads in every free-text field
        expander = page.locator('[data-testid="stSidebar"] [data-testid="stExpander"]').filter(
            has_text="Save / open project").first
        expander.get_by_text("Save / open project").click()
        expander.locator('input[type="file"]').first.set_input_files(str(saved))
        CURRENT["where"] = "project: open"
        _wait_for_sidebar_text(page, "Opened")
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        page.screenshot(path=str(artifacts_dir / "injection-opened.png"), full_page=True)
        (artifacts_dir / "injection-sidebar.txt").write_text(sidebar, encoding="utf-8")
        assert f"Opened '![](http://127.0.0.1:{port}/name.png)" in sidebar, f"the project name is text: {sidebar[:600]}"
        problems += _visit_every_page(page, "project", artifacts_dir)
        page.wait_for_timeout(1000)
        browser.close()
    assert dialogs == [], f"script ran: {dialogs}"
    assert requests == [] and hits == [], f"tracking pixel fetched: {requests or hits}"
    assert problems == []


# Attributes a browser fetches from; a title or aria-label holding a URL is only text.
URL_ATTRIBUTES = {"src", "href", "xlink:href", "srcset", "data", "poster", "action", "background", "formaction"}


class _LiveMarkup(html.parser.HTMLParser):
    """Collects what a browser would act on: script/img/iframe/object tags, on* handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.live: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "img", "iframe", "object", "embed"}:
            self.live.append(f"<{tag}>")
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.live.append(f"<{tag} {name}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.live.append(f"<{tag} {name}=javascript:>")
            fetches = name.lower() in URL_ATTRIBUTES or (name.lower() == "style" and "url(" in (value or ""))
            if value and fetches and "127.0.0.1" in value:
                self.live.append(f"<{tag} {name}={value[:60]}>")


def _live_markup(text: str) -> list[str]:
    parser = _LiveMarkup()
    parser.feed(text)
    return parser.live


def test_the_live_markup_check_finds_every_payload():
    assert _live_markup(payloads(8999, "x")[0]) == ["<img>", "<img onerror>"]
    assert _live_markup(payloads(8999, "x")[1]) == ["<svg onload>"]
    assert _live_markup('<a href="javascript:alert(1)">x</a>') == ["<a href=javascript:>"]
    assert _live_markup("&lt;img src=x onerror=alert(1)&gt;") == []
    assert _live_markup('<a href="http://127.0.0.1:8999/x.png">x</a>') == ["<a href=http://127.0.0.1:8999/x.png>"]
    assert _live_markup('<a title="![](http://127.0.0.1:8999/x.png)">x</a>') == []


def test_exports_hold_no_live_markup():
    """The report HTML (with its inline SVG), the DAG's SVG and the memo Markdown, from the hostile project."""
    from causal_core import dag_io
    from causal_core.reporting.report import memo_html, project_memo_markdown

    project = hostile_project(8999)
    report = memo_html(project)
    scripts = re.findall(r"<script\b[^>]*>", report)
    assert all('type="application/json"' in tag or "application/ld+json" in tag for tag in scripts), scripts
    live = [item for item in _live_markup(re.sub(r"<script\b[^>]*>.*?</script>", "", report, flags=re.S))
            if item != "<script>"]
    assert live == [], f"report.html: {live}"
    if dag_io.dot_available():
        assert _live_markup(dag_io.to_svg(project.dag)) == []
    markdown = project_memo_markdown(project)
    raw_tags = re.findall(r"(?<!\\)<(?:img|svg)\b", markdown)
    raw_images = re.findall(r"(?<!\\)!\[[^\]]*\]\(http", markdown)
    assert raw_tags == [] and raw_images == [], f"memo.md: {raw_tags + raw_images}"
