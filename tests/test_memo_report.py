"""Exports: Markdown, standalone HTML (model text escaped, chart inline), Project JSON, ZIP bundle."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile

import pytest

from causal_core import dag_io, memo
from causal_core.project import AIInteraction
from causal_core.project_file import project_from_json
from causal_core.reporting import report
from tests.test_memo_support import retention_project

ATTACK = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def project():
    return memo.with_deterministic_memo(retention_project())


@pytest.fixture(scope="module")
def hostile(project):
    """Model text everywhere a model can write: the final memo, the card, the AI log."""
    final = {**project.memo.deterministic, "interpretation": f"Outreach appears to reduce churn. {ATTACK}"}
    card = project.estimand_card.model_copy(update={"business_question": f"Did outreach work? {ATTACK}"})
    interaction = AIInteraction(id="i1", task="memo", model_id=f"evil{ATTACK}", raw_output=ATTACK, schema_valid=True)
    return project.model_copy(
        update={"memo": project.memo.model_copy(update={"final": final}), "estimand_card": card, "name": f"P {ATTACK}"}
    ).with_interaction(interaction)


def test_html_escapes_script_in_model_text(hostile):
    page = report.memo_html(hostile)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert html.escape(ATTACK) in page  # shown literally, inert
    assert re.findall(r"<script[^>]*>", page) == []  # no script at all: the charts are SVG


def test_html_opens_offline_with_chart_and_dag_as_svg(project):
    """Issue 17 §17: no CDN. Nothing in the page is fetched: no src/href to http(s), no script, two SVGs."""
    page = report.memo_html(project)
    assert re.findall(r"""(?:src|href)\s*=\s*["']?https?:""", page, re.I) == []
    assert "cdn" not in page.lower() and "<script" not in page.lower()
    assert page.count("<svg") == 2
    forest = re.search(r'<figure id="forest-plot">(<svg.*?</svg>)</figure>', page, re.S).group(1)
    labels = re.findall(r">([^<>]+)</text>", forest)
    from causal_core.display import project_unit
    from causal_core.estimation.charts import forest_frame

    page_rows = forest_frame(project.estimation, project_unit(project))["row"].tolist()  # the Estimation page's
    assert [label for label in labels if label in page_rows] == page_rows
    assert len(page_rows) == len(project.estimation.estimates) and page_rows[0].startswith("Naive difference")
    assert "Effect estimate in percentage points (95 % CI)" in labels
    assert forest.count("<path") >= 4  # one symbol per estimate (plus rules)
    dag = re.search(r'<figure id="dag">(<svg.*?</svg>)</figure>', page, re.S).group(1)
    node_titles = set(re.findall(r"<title>([^<]+)</title>", dag))
    assert {"outreach", "churn", "engagement", "health_score"} <= node_titles
    assert "<!--" not in dag


def test_forest_chart_is_the_pages_with_every_row_its_interval_kind_and_the_truth(project):
    spec = report.forest_chart(project).to_dict()
    values = [row for dataset in spec["datasets"].values() for row in dataset if "method" in row]
    assert [(round(r["estimate"], 2), round(r["ci_low"], 2)) for r in values] == [
        (round(row.estimate * 100, 2), round(row.ci_low * 100, 2)) for row in project.estimation.estimates
    ]  # every row, in percentage points, in the page's order
    from causal_core.estimation.interval_notes import interval_note

    assert [r["interval"] for r in values] == [  # each row's own calibration, as on the page (not all "approximate")
        "approximate" if interval_note(row, project.estimation.diagnostics) else "measured coverage"
        for row in project.estimation.estimates]
    truth = [row["x"] for d in spec["datasets"].values() for row in d if str(row.get("label", "")).startswith("true ATE")]
    assert [round(t, 2) for t in truth] == [-4.62]  # the simulation's true ATE in percentage points


def test_inline_svg_strips_everything_active():
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE svg><svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink"><!-- x --> <script>alert(1)'
        '</script><g onload="alert(2)"><a xlink:href="https://evil.example/x"><text>ok</text></a>'
        '<image href="http://127.0.0.1:9/p.png"/><foreignObject><div>x</div></foreignObject></g></svg>'
    )
    clean = report.inline_svg(hostile)
    assert clean.startswith("<svg") and "<text>ok</text>" in clean
    for bad in ("<script", "onload", "evil.example", "<!--", "<?xml", "127.0.0.1", "<image", "foreignObject"):
        assert bad not in clean


def test_inline_svg_keeps_a_hostile_node_name_as_whole_text():
    """Graphviz escapes a node name into its <title>; sanitising must not cut that text (and the closing tag
    after it) as the old handler regex did, which broke the page behind the picture."""
    name = "u<img src=x onerror=alert(1)>"
    document = (
        '<svg xmlns="http://www.w3.org/2000/svg"><g class="node"><title>u&lt;img src=x onerror=alert(1)&gt;</title>'
        '<text>u&lt;img src=x onerror=alert(1)&gt;</text></g></svg>'
    )
    clean = report.inline_svg(document)
    assert clean.count("</title>") == 1 and clean.count("</text>") == 1 and "<img" not in clean
    assert clean.count("onerror=alert(1)&gt;") == 2 and name not in clean


def test_html_contains_memo_estimates_consistency_and_audit(project):
    page = report.memo_html(project)
    assert page.startswith("<!DOCTYPE html>")
    assert (
        "<p><strong>Main estimate.</strong> The doubly robust estimate suggests <code>outreach</code> changed "
        "<code>churn</code> risk by -4.7 percentage points, with an approximate 95% interval from -6.8 to -2.6 "
        "percentage points." in page
    )
    assert "<td>doubly robust</td><td>ATE</td><td>-4.7 pp</td><td>-6.8 pp to -2.6 pp</td>" in page
    assert "Consistency across artifacts" in page and "Audit scores" in page
    assert "<h3>Excluded variables</h3><ul><li><code>account_id</code>:" in page


def test_markdown_prefers_the_final_memo(project):
    assert report.project_memo_markdown(project).startswith("# Decision memo (deterministic): retention analysis")
    final = {**project.memo.deterministic, "recommendation": "Run a randomized holdout next quarter before scaling."}
    edited = project.model_copy(update={"memo": project.memo.model_copy(update={"final": final})})
    text = report.project_memo_markdown(edited)
    assert text.startswith("# Decision memo (analyst final)")
    assert "**Recommendation.** Run a randomized holdout next quarter before scaling." in text


def test_estimates_csv(project):
    rows = list(csv.DictReader(io.StringIO(report.estimates_csv(project))))
    assert [r["method"] for r in rows] == ["naive", "regression", "ipw", "aipw"]
    assert float(rows[-1]["estimate"]) == -0.047 and float(rows[-1]["ci_high"]) == -0.026


def test_zip_holds_every_artifact(hostile):
    archive = zipfile.ZipFile(io.BytesIO(report.report_zip(hostile)))
    names = archive.namelist()  # helper A's notebook files may follow; these must all be there, in this order
    assert [name for name in names if not name.startswith("analysis.")] == [
        "README.txt",
        "memo.md",
        "memo.html",
        "project.json",
        "estimates.csv",
        "consistency.json",
        "manifest.json",
        "dag.dot",
        "dag.dagitty",
        "dag.json",
        "dag.svg",
    ]
    restored = project_from_json(archive.read("project.json"))
    assert restored == hostile  # the whole audit trail round-trips
    assert restored.ai_log[0].raw_output == ATTACK
    assert dag_io.from_dagitty(archive.read("dag.dagitty").decode()).treatment == "outreach"
    assert archive.read("dag.svg").startswith(b"<?xml")
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["data"]["sha256"] == hostile.data_source.sha256
    assert {"pandas", "numpy", "statsmodels"} <= set(manifest["packages"])
    assert manifest["models_used"] == [f"evil{ATTACK}"]
    assert "<script>alert" not in archive.read("memo.html").decode()
    assert [item["status"] for item in json.loads(archive.read("consistency.json"))][:4] == ["green"] * 4


def test_zip_without_graphviz_has_a_note(project, monkeypatch):
    monkeypatch.setattr(dag_io, "dot_available", lambda: False)
    names = zipfile.ZipFile(io.BytesIO(report.report_zip(project))).namelist()
    assert "dag_svg_unavailable.txt" in names and "dag.svg" not in names and "dag.dot" in names


def test_zip_without_dag_or_estimates():
    bare = retention_project(dag=False).model_copy(update={"estimation": None})
    archive = zipfile.ZipFile(io.BytesIO(report.report_zip(bare)))
    assert "dag_unavailable.txt" in archive.namelist()
    assert (
        archive.read("estimates.csv").decode().strip()
        == '"method","estimand","estimate","std_error","ci_low","ci_high","n_used","se_type"'
    )
    assert "Main estimate not yet estimated." in archive.read("memo.md").decode()
    assert "<p>Not yet estimated.</p>" in archive.read("memo.html").decode()


def test_estimates_csv_is_spreadsheet_safe_and_reads_back(project):
    import csv
    import io

    hostile = project.model_copy(deep=True)
    first = hostile.estimation.estimates[0]
    hostile.estimation.estimates[0] = first.model_copy(update={"se_type": "=HYPERLINK(\"http://127.0.0.1:9\",\"x\")"})
    text = report.estimates_csv(hostile)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(hostile.estimation.estimates)
    assert rows[0]["se_type"].startswith("'=HYPERLINK")
    assert float(rows[0]["estimate"]) == pytest.approx(first.estimate)
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())
