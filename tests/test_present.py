"""Present mode (issue 25 item 9): the slides quote the memo's numbers, hostile text stays text, the deck is
offline with one static script, missing stages give honest slides, and the CLI exports HTML (and refuses well).

Projects are built headless, as tests/test_memo_cli.py does, on retention (binary outcome: percentage points)
and support (hours, from the dictionary).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core import memo
from causal_core.cli import main
from causal_core.data import frame_to_csv_bytes, project_for_builtin, project_for_upload, read_upload
from causal_core.memo.facts import _dag_node_for
from causal_core.present import NOT_DONE, Deck, Headline, Slide, build_deck
from causal_core.present.figures import ADJUSTED_FILL
from causal_core.present.html import SCRIPT, deck_html
from causal_core.project import DagEdge, DagNode, DagSpec
from causal_core.project_file import project_from_json, project_to_json
from tests.test_security_exports import HOSTILE_TEXT

IMG = "<img src=x onerror=alert(1)>"
CR_IMG = "x\r\r<img src=http://127.0.0.1:9/p>"
BIDI = "pay\u202egnp.exe"
# A resource reference inside a tag (escaped user text never holds a raw "<"), or a CSS url() to the network.
EXTERNAL_ATTRIBUTE = re.compile(r"""<[^>]*\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:[a-z]+:)?//""", re.I)
EXTERNAL_CSS = re.compile(r"""url\(\s*["']?\s*(?:[a-z]+:)?//|@import""", re.I)


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in_script = False
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script, self._in_style = tag == "script", tag == "style"
        if self._in_script:
            self.scripts.append("")
        self.styles += [value or "" for name, value in attrs if name == "style"]
        if self._in_style:
            self.styles.append("")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self._in_script = self._in_style = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        if self._in_style:
            self.styles[-1] += data


def parsed(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    parser.close()
    return parser


def assert_inert_deck(page: str) -> None:
    """Only our own elements: no image, link, frame or handler; exactly one script, and it is SCRIPT."""
    elements = parsed(page)
    for tag, attrs in elements.tags:
        assert tag not in ("img", "iframe", "object", "embed", "link", "image", "use", "foreignobject"), tag
        assert not [name for name in attrs if name.endswith("href")], (tag, attrs)  # Graphviz's <a> keeps tooltips only
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
    assert elements.scripts == [SCRIPT]
    assert not EXTERNAL_ATTRIBUTE.search(page), EXTERNAL_ATTRIBUTE.search(page)
    assert not [css for css in elements.styles if EXTERNAL_CSS.search(css)]
    assert elements.styles and "http" not in "".join(elements.styles)


def headless(tmp_path_factory, build_once, dataset: str):
    """The file `project --dataset` writes (project_to_json of the headless build; tests/test_memo_cli.py runs
    that command), from the test run's one build of the worked example, reopened as the CLI's reader would."""
    folder = tmp_path_factory.mktemp(dataset)
    path = folder / f"{dataset}.json"
    path.write_text(project_to_json(build_once(dataset)[0]), encoding="utf-8")
    return path, project_from_json(path.read_bytes())


@pytest.fixture(scope="module", params=["retention", "support"])
def built(request, tmp_path_factory, build_once):
    path, project = headless(tmp_path_factory, build_once, request.param)
    return request.param, path, project, build_deck(project)


def by_key(deck: Deck) -> dict[str, Slide]:
    return {slide.key: slide for slide in deck.slides}


# ---- numbers: the slides say what the memo says ---------------------------------------------------------


def test_estimate_slide_quotes_the_memo(built):
    dataset, _, project, deck = built
    sections = memo.deterministic_memo(project)
    facts = memo.memo_facts(project)
    slide = by_key(deck)["estimate"]
    assert slide.done and slide.lead == sections["main_estimate"]
    headline = slide.headline
    assert headline is not None
    # the headline's strings appear verbatim in the memo's sentence: same row, same rounding, same unit
    assert f"by {headline.point}, with an approximate 95% interval from {headline.interval}." in sections[
        "main_estimate"
    ]
    row = facts.primary
    expected_unit = {"retention": "percentage points", "support": "hours"}[dataset]
    assert headline.unit == expected_unit and headline.point.endswith(expected_unit)
    scale = 100 if dataset == "retention" else 1
    digits = 1 if dataset == "retention" else 2
    assert headline.point == f"{row.estimate * scale:.{digits}f} {expected_unit}"
    assert headline.interval.startswith(f"{row.ci_low * scale:.{digits}f} to {row.ci_high * scale:.{digits}f}")
    assert row.method == "aipw" and headline.label == f"doubly robust estimate · {row.estimand}"


def test_other_slides_are_the_memo_sections(built):
    _, _, project, deck = built
    sections = memo.deterministic_memo(project)
    slides = by_key(deck)
    assert [s.key for s in deck.slides] == ["question", "dag", "estimate", "curve", "recommendation"]
    assert all(slide.done for slide in deck.slides)
    assert slides["question"].lead == sections["question"] and slides["question"].bullets == [sections["estimand"]]
    assert sections["adjustment_set"].startswith(slides["dag"].lead) and slides["dag"].lead.endswith(".")
    assert all(f"`{column}`" in slides["dag"].lead for column in project.estimation.spec.covariates)
    assert slides["dag"].svg_caption.endswith("The set is valid for this diagram: it blocks every backdoor path.")
    assert sections["adjustment_set"] in slides["dag"].notes
    assert slides["recommendation"].lead == sections["recommendation"]
    assert slides["recommendation"].bullets[0] == sections["main_limitation"]
    robustness = " ".join(sections["robustness"].split())
    assert robustness.startswith(slides["curve"].lead) and len(slides["curve"].lead) > 40
    # speaker notes carry the memo's words behind each slide
    assert sections["interpretation"] in slides["estimate"].notes
    assert " ".join(sections["open_questions"].splitlines()[0:1]) in slides["recommendation"].notes


def test_pictures_are_drawn_and_the_adjustment_set_is_highlighted(built):
    _, _, project, deck = built
    slides = by_key(deck)
    dag_svg = slides["dag"].svg
    assert dag_svg.startswith("<svg")
    highlighted = dag_svg.count(f'fill="{ADJUSTED_FILL}"')
    nodes = {node for column in project.estimation.spec.covariates if (node := _dag_node_for(project, column))}
    assert highlighted == len(nodes) > 0  # exactly the adjusted nodes, no more
    assert slides["curve"].svg.startswith("<svg") and slides["estimate"].svg.startswith("<svg")
    assert "no effect" in slides["estimate"].svg_caption


def test_deck_html_is_offline_with_one_static_script(built):
    _, _, _, deck = built
    page = deck_html(deck)
    assert_inert_deck(page)
    assert page.count('<section class="slide"') == 5
    assert by_key(deck)["estimate"].headline.point in page


# ---- missing stages and hostile text -------------------------------------------------------------------


def test_a_fresh_project_gives_honest_not_done_slides():
    project, frame = project_for_builtin("retention")
    deck = build_deck(project, frame)
    slides = by_key(deck)
    for key in ("dag", "estimate", "curve", "recommendation"):
        assert not slides[key].done and slides[key].lead.startswith(NOT_DONE), key
        assert slides[key].headline is None and slides[key].svg == ""
    assert_inert_deck(deck_html(deck))


def test_out_of_date_estimates_are_not_presented_as_current(built):
    _, _, project, _ = built
    spec = project.estimation.spec
    edited = project.model_copy(update={"estimation": project.estimation.model_copy(
        update={"spec": spec.model_copy(update={"covariates": spec.covariates[:1]})})})
    slide = by_key(build_deck(edited, draw=False))["estimate"]
    sections = memo.deterministic_memo(edited)
    if "No estimate is presented as current" in sections["main_estimate"]:
        assert not slide.done and slide.headline is None and slide.lead == sections["main_estimate"]


def hostile_project():
    project, frame = project_for_builtin("retention")
    treatment, outcome, covariate = f"t{IMG}", f"y{CR_IMG}", f"c{BIDI}"
    dag = DagSpec(
        nodes=[DagNode(name=treatment), DagNode(name=outcome), DagNode(name=covariate), DagNode(name=f"u{IMG}")],
        edges=[DagEdge(source=covariate, target=treatment), DagEdge(source=covariate, target=outcome),
               DagEdge(source=treatment, target=outcome)],
        treatment=treatment, outcome=outcome, adjusted=[covariate],
    )
    return project.model_copy(update={
        "name": f"P {IMG}", "brief": f"Brief {IMG} {CR_IMG} {BIDI} [l](http://127.0.0.1:9/l)",
        "treatment": treatment, "outcome": outcome, "dag": dag,
    })


def test_hostile_names_show_as_text_only():
    deck = build_deck(hostile_project())
    page = deck_html(deck)
    assert_inert_deck(page)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # shown, not dropped
    assert "\u202e" not in page and "\r" not in page  # bidi override and lone CR removed (safe_text.clean_text)
    assert "gnp.exe" in page
    assert by_key(deck)["dag"].svg.startswith("<svg")  # the hostile graph is still drawn, inert


TEXT = HOSTILE_TEXT


@settings(max_examples=150, deadline=None)
@given(TEXT, TEXT, TEXT, st.lists(TEXT, max_size=3))
def test_any_slide_text_renders_inert(title, lead, notes, bullets):
    slide = Slide(key="estimate", title=title, done=True, lead=lead, bullets=bullets, notes=notes,
                  headline=Headline(label=lead, point=title, interval=notes, unit=lead), svg_caption=lead)
    assert_inert_deck(deck_html(Deck(title=title, slides=[slide])))


# ---- CLI ----------------------------------------------------------------------------------------------


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_cli_writes_the_html_deck(tmp_path, capsys):
    project, _ = project_for_builtin("retention")
    path = tmp_path / "p.json"
    path.write_text(project_to_json(project))
    out = tmp_path / "deck.html"
    assert main(["present", "--project", str(path), "--out", str(out), "--format", "json"]) == 0
    assert '"format": "html"' in capsys.readouterr().out
    assert_inert_deck(out.read_text())


def test_cli_refuses_bad_inputs(tmp_path, capsys, monkeypatch):
    project, frame = project_for_builtin("retention")
    path = tmp_path / "p.json"
    path.write_text(project_to_json(project))
    assert main(["present", "--project", str(path), "--out", str(tmp_path / "deck.pptx")]) == 2
    assert "--out must end in .html or .pdf" in one_error_line(capsys)
    other = tmp_path / "other.csv"
    other.write_bytes(b"a,b\n1,2\n")
    assert main(["present", "--project", str(path), "--data", str(other), "--out", str(tmp_path / "d.html")]) == 2
    assert "built-in dataset 'retention'" in one_error_line(capsys)
    monkeypatch.setenv("CAUSAL_WORKBENCH_CHROMIUM", str(tmp_path / "no-chromium"))
    assert main(["present", "--project", str(path), "--out", str(tmp_path / "d.pdf")]) == 2
    message = one_error_line(capsys)
    assert "Chromium is not installed" in message and "deck.html" in message
    assert not (tmp_path / "d.pdf").exists() and not (tmp_path / "d.html").exists()


def test_cli_checks_an_uploads_data_file(tmp_path, capsys):
    _, frame = project_for_builtin("retention")
    payload = frame_to_csv_bytes(frame.head(400))
    project = project_for_upload(read_upload(payload, "rows.csv"))
    path, data = tmp_path / "p.json", tmp_path / "rows.csv"
    path.write_text(project_to_json(project))
    data.write_bytes(payload)
    assert main(["present", "--project", str(path), "--data", str(data), "--out", str(tmp_path / "d.html")]) == 0
    capsys.readouterr()
    wrong = tmp_path / "wrong.csv"
    wrong.write_bytes(frame_to_csv_bytes(frame.head(300)))
    assert main(["present", "--project", str(path), "--data", str(wrong), "--out", str(tmp_path / "e.html")]) == 2
    assert "not the file this project was built on" in one_error_line(capsys)


# ---- SVG: parsed and allow-listed, so a name can neither run nor break the page ---------------------------

HOSTILE_SVG = (
    '<?xml version="1.0"?><!DOCTYPE svg><svg xmlns="http://www.w3.org/2000/svg" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)" width="10" height="10">'
    "<script>alert(2)</script><style>@import url(http://e/x.css);</style>"
    '<g><title>u&lt;img src=x onerror=alert(1)&gt; \u202eabc</title>'
    '<a xlink:href="http://e/l" xlink:title="tip"><text>name</text></a>'
    '<image href="http://e/p.png"/><foreignObject><div>x</div></foreignObject>'
    '<rect style="fill:url(http://e/f)" onclick="alert(3)" width="1" height="1"/>'
    '<rect fill="url(#grad)" width="2" height="2"/></g></svg>'
)


def test_safe_svg_keeps_the_drawing_and_drops_everything_live():
    import xml.etree.ElementTree as ET

    from causal_core.safe_svg import safe_svg

    cleaned = safe_svg(HOSTILE_SVG)
    root = ET.fromstring(cleaned)  # still well-formed: no text was cut out with a closing tag
    tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
    assert tags == {"svg", "g", "title", "a", "text", "rect"}
    assert "alert" not in "".join(str(v) for e in root.iter() for v in e.attrib.values())
    assert "http://e" not in cleaned and "\u202e" not in cleaned and "url(#grad)" in cleaned
    assert root.find(".//{http://www.w3.org/2000/svg}title").text == "u<img src=x onerror=alert(1)> abc"
    assert safe_svg("<svg><unclosed></svg>") == "" and safe_svg("no drawing") == ""


def test_hostile_dag_drawing_keeps_every_node():
    import xml.etree.ElementTree as ET

    project = hostile_project()
    svg = by_key(build_deck(project))["dag"].svg
    nodes = [g for g in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "node"]
    assert len(nodes) == len(project.dag.nodes)


@settings(max_examples=150, deadline=None)
@given(TEXT, TEXT, TEXT, st.lists(TEXT, max_size=3), st.booleans())
def test_the_app_pages_embedded_slide_renders_inert(title, lead, notes, bullets, show_notes):
    """The Present page hands this HTML to st.html (tests/test_security.py allows that one call): whatever the
    texts, no script, handler, link or image other than the slide's own data-URI picture."""
    from causal_core.present.html import embedded_slide_html

    slide = Slide(key="estimate", title=title, done=True, lead=lead, bullets=bullets, notes=notes,
                  headline=Headline(label=lead, point=title, interval=notes, unit=lead), svg_caption=lead)
    page = embedded_slide_html(slide, 0, 1, notes=show_notes)
    elements = parsed(page)
    for tag, attrs in elements.tags:
        assert tag not in ("img", "iframe", "object", "embed", "link", "image", "use", "foreignobject", "a"), tag
        assert not [name for name in attrs if name.startswith("on") or name.endswith("href")], (tag, attrs)
    assert elements.scripts == []
    assert not EXTERNAL_ATTRIBUTE.search(page)


def test_the_embedded_picture_is_only_a_data_uri_of_the_allow_listed_svg():
    from causal_core.present.html import embedded_slide_html

    deck = build_deck(hostile_project())
    dag = by_key(deck)["dag"]
    page = embedded_slide_html(dag, 1, len(deck.slides))
    images = [attrs for tag, attrs in parsed(page).tags if tag == "img"]
    assert len(images) == 1 and dict(images[0])["src"].startswith("data:image/svg+xml;base64,")
    assert "onerror" not in dict(images[0]) and "<svg" not in page
