"""Exports: memo Markdown, a standalone HTML report, the Project JSON and one ZIP with everything.

The HTML page is one self-contained file that opens offline: the forest plot is rendered to SVG
here (vl-convert) and the DAG to SVG by Graphviz, both inlined; no script and no CDN. Every string
that may have come from a user or a model (memo text, card, questions, names, model ids) is escaped
(safe_text / memo.markup); memo names render as <code>. Inlined SVG is stripped of comments, scripts
and event-handler attributes before it is embedded.
"""

from __future__ import annotations

import io
import json
import platform
import re
import sys
import zipfile
from importlib import metadata
from typing import Any

import pandas as pd

from causal_core import dag_io
from causal_core.display import project_unit
from causal_core.memo import (
    EXTRA_SECTIONS,
    MEMO_SECTIONS,
    deterministic_memo,
    fmt_effect,
    memo_markdown,
    outcome_is_binary,
    row_label,
    to_html,
)
from causal_core.project import Project, utc_now
from causal_core.project_file import project_to_json
from causal_core.reporting.consistency import STATUS_ICON, consistency_checks, current_memo
from causal_core.safe_io import safe_csv_text
from causal_core.safe_svg import safe_svg
from causal_core.safe_text import escape_html
from causal_core.staleness import stale
from causal_core.version import version_info, version_label

PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "networkx",
    "pydantic",
    "altair",
    "streamlit",
    "transformers",
    "torch",
)


def esc(value: Any) -> str:
    """Escape any text for HTML (quotes too): model text is never trusted markup; line endings, control, bidi
    and zero-width characters are cleaned first (safe_text.escape_html)."""
    return escape_html("" if value is None else str(value))


def memo_sections(project: Project) -> tuple[str, dict[str, str]]:
    """The memo to export: the analyst's final memo when written, else a fresh deterministic memo."""
    which, sections = current_memo(project)
    if which == "deterministic":
        sections = deterministic_memo(project)
    extras = {key: value for key, value in deterministic_memo(project).items() if key not in sections}
    return which, {**sections, **extras}


def project_memo_markdown(project: Project) -> str:
    which, sections = memo_sections(project)
    title = "Decision memo (analyst final)" if which == "final" else "Decision memo (deterministic)"
    return memo_markdown(project, sections, title=title)


# ---- estimates ------------------------------------------------------------------------------


def estimate_records(project: Project) -> list[dict[str, Any]]:
    result = project.estimation
    if not result:
        return []
    return [
        {
            "method": row.method,
            "label": row_label(row),  # the SE type too: a bootstrap row is never a second unlabelled "IPW"
            "estimand": row.estimand,
            "estimate": row.estimate,
            "std_error": row.std_error,
            "ci_low": row.ci_low,
            "ci_high": row.ci_high,
            "n_used": row.n_used,
            "se_type": row.se_type,
            "se_method": row.se_method or row.se_type,
        }
        for row in result.estimates
    ]


def estimates_csv(project: Project) -> str:
    """The estimate table as CSV through the one spreadsheet-safe writer (a cluster or column name in a
    cell that starts with '=' stays text, every text field quoted)."""
    columns = ["method", "estimand", "estimate", "std_error", "ci_low", "ci_high", "n_used", "se_type"]
    frame = pd.DataFrame(estimate_records(project), columns=columns)
    return safe_csv_text(frame)


def forest_chart(project: Project):
    """The Estimation page's forest plot (``estimation.charts.forest_chart``) in the project's unit.

    One chart for the page and the report: the same labels, the same unit and the same measured/approximate
    marking of each interval (the report's own copy called every interval "approximate").
    """
    from causal_core.estimation.charts import forest_chart as page_forest_chart

    if project.estimation is None or not project.estimation.estimates:
        return None
    chart = page_forest_chart(project.estimation, unit=project_unit(project))
    return chart.properties(title="Estimates with 95 % intervals (dashed amber: approximate)", width=560)


# ---- HTML -----------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#0f172a;line-height:1.5}
h1{font-size:1.6rem}h2{border-bottom:1px solid #e2e8f0;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #e2e8f0;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f8fafc}.meta{color:#64748b;font-size:.85rem}.green{color:#15803d}.amber{color:#b45309}.red{color:#b91c1c}
.memo p{margin:.5rem 0}.note{background:#f1f5f9;padding:.5rem .8rem;border-radius:6px}
"""


def _paragraphs(text: str) -> str:
    """Plain text to HTML: '- ' lines become a list, other lines paragraphs; all escaped."""
    out, items = [], []
    for line in (text or "").splitlines():
        if line.startswith("- "):
            items.append(f"<li>{to_html(line[2:])}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if line.strip():
            out.append(f"<p>{to_html(line)}</p>")
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    return "".join(out) or "<p>—</p>"


def _table(records: list[dict[str, Any]], columns: list[str], markup: tuple[str, ...] = ()) -> str:
    """An escaped table; ``markup`` columns hold memo text, whose code-span names render as <code>."""
    if not records:
        return "<p>None.</p>"

    def cell(record: dict[str, Any], column: str) -> str:
        value = record.get(column, "")
        return to_html(str(value)) if column in markup else esc(value)

    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(r, c)}</td>" for c in columns) + "</tr>" for r in records)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _memo_html(sections: dict[str, str]) -> str:
    parts = [
        f"<p><strong>{esc(title)}.</strong> {to_html(' '.join(sections.get(key, '').split())) or '—'}</p>"
        for key, title in MEMO_SECTIONS
    ]
    extras = [
        f"<h3>{esc(title)}</h3>{_paragraphs(sections[key])}"
        for key, title in EXTRA_SECTIONS
        if sections.get(key, "").strip()
    ]
    return (
        '<div class="memo">'
        + "".join(parts)
        + "</div>"
        + ("<h2>Supporting detail</h2>" + "".join(extras) if extras else "")
    )


def _estimates_heading(project: Project) -> list[str]:
    """The Estimates heading, labelled out of date (with the reason) when its inputs changed since it was run."""
    out_of_date = stale(project, "estimation")
    if out_of_date is None:
        return ["<h2>Estimates</h2>"]
    return ["<h2>Estimates (out of date)</h2>", f"<p class='warn'>{esc(out_of_date.sentence)}</p>"]


def _estimates_html(project: Project) -> str:
    binary = outcome_is_binary(project)
    unit = project_unit(project)
    rows = [
        {
            "method": r["label"],
            "estimand": r["estimand"],
            "estimate": fmt_effect(r["estimate"], binary, unit),
            "95% interval": "n/a"
            if r["ci_low"] is None
            else f"{fmt_effect(r['ci_low'], binary, unit)} to {fmt_effect(r['ci_high'], binary, unit)}",
            "std. error": "n/a" if r["std_error"] is None else f"{r['std_error']:.4f}",
            "SE type": r["se_method"] or "—",
            "n used": r["n_used"],
        }
        for r in estimate_records(project)
    ]
    return _table(rows, ["method", "estimand", "estimate", "95% interval", "std. error", "SE type", "n used"])


def inline_svg(svg: str) -> str:
    """An SVG document made safe to inline: parsed, only drawing elements and attributes kept (no script,
    handler, external link or comment), every text re-escaped; '' when it is not well-formed SVG.

    Graphviz writes node names into <title>s. A regular expression over the document once cut the *text*
    " onerror=alert(1)&gt;</title" out of a hostile name, taking the closing tag with it; parsing cannot.
    """
    return safe_svg(svg)


def chart_svg(chart: Any) -> str:
    """An altair chart as SVG, rendered here (vl-convert), so the report needs no Vega scripts or CDN."""
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_dict())


def _chart_html(project: Project) -> str:
    chart = forest_chart(project)
    if chart is None:
        return "<p>Not yet estimated.</p>"
    try:
        svg = inline_svg(chart_svg(chart))
    except Exception as error:  # noqa: BLE001 - the table above carries the same numbers
        return f'<p class="note">The forest plot could not be drawn ({esc(error)}); the table has the same numbers.</p>'
    return f'<figure id="forest-plot">{svg}</figure>'


def _dag_html(project: Project) -> str:
    """The DAG drawn by Graphviz as inline SVG (or why it is missing)."""
    if project.dag is None or not project.dag.nodes:
        return "<p>No DAG yet (DAG page).</p>"
    if not dag_io.dot_available():
        return "<p>Graphviz's <code>dot</code> is not installed, so the DAG is not drawn; the ZIP has it as DOT.</p>"
    try:
        svg = inline_svg(dag_io.to_svg(project.dag, title=project.name))
    except Exception as error:  # noqa: BLE001 - a drawing failure must not lose the report
        return f'<p class="note">The DAG could not be drawn: {esc(error)}</p>'
    return f'<figure id="dag">{svg}</figure>'


def _audits_html(project: Project) -> str:
    latest: dict[str, Any] = {}
    for record in project.audits:
        latest[record.artifact] = record
    rows = [
        {
            "artifact": r.artifact,
            "model": r.model_id,
            "score": f"{r.score} / {r.max_score}",
            "schema valid": "yes" if r.schema_valid else "no",
            "failed checks": ", ".join(c.name for c in r.checks if not c.passed) or "—",
            "time": r.time,
        }
        for r in latest.values()
    ]
    return _table(rows, ["artifact", "model", "score", "schema valid", "failed checks", "time"])


def _ai_log_html(project: Project) -> str:
    rows = [
        {
            "task": i.task,
            "model": i.model_id,
            "backend": i.backend,
            "schema valid": "yes" if i.schema_valid else "no",
            "repair": i.repair_stage,
            "failure": i.failure_type or "—",
            "seconds": f"{i.duration_s:.1f}",
            "started": i.started_at,
        }
        for i in project.ai_log
    ]
    return _table(rows, ["task", "model", "backend", "schema valid", "repair", "failure", "seconds", "started"])


def memo_html(project: Project) -> str:
    """A standalone HTML report of the memo, estimates, forest plot, consistency and audit trail."""
    which, sections = memo_sections(project)
    source = project.data_source
    meta = f"Generated {esc(utc_now())}"
    if source:
        meta += f" · data {esc(source.kind)} <code>{esc(source.name)}</code>, {source.rows} rows, sha256 <code>{esc(source.sha256)}</code>"
    consistency = [
        {"status": f"{STATUS_ICON[i.status]} {i.status}", "check": i.check, "detail": i.detail}
        for i in consistency_checks(project)
    ]
    body = [
        f"<h1>Decision memo: {esc(project.name)}</h1>",
        f'<p class="meta">{meta}</p>',
        f'<p class="note">{"Analyst-approved final memo" if which == "final" else "Deterministic memo built from project figures"}. '
        "Estimates come from the project's estimation; model text, where present, is a draft the analyst reviewed.</p>",
        _memo_html(sections),
        *_estimates_heading(project),
        _estimates_html(project),
        _chart_html(project),
        "<h2>Causal diagram (DAG)</h2>",
        _dag_html(project),
        "<h2>Consistency across artifacts</h2>",
        _table(consistency, ["status", "check", "detail"], markup=("detail",)),
        "<h2>Audit scores (latest per artifact)</h2>",
        _audits_html(project),
        "<h2>AI interactions</h2>",
        _ai_log_html(project),
        f'<footer class="meta">{esc(version_label())}</footer>',
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc('Decision memo: ' + project.name)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


# ---- manifest, DAG files, ZIP ----------------------------------------------------------------


def environment_manifest(project: Project) -> dict[str, Any]:
    """What produced this bundle: the workbench version and commit, package versions, data hash, models used
    (the course notebook's reproducibility checklist)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    source = project.data_source
    return {
        "generated_at": utc_now(),
        "workbench": version_info(),
        "project": project.name,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "data": source.model_dump() if source else None,
        "models_used": sorted({i.model_id for i in project.ai_log if i.model_id}),
        "decoding_settings": [{"task": i.task, "model": i.model_id, **i.decoding} for i in project.ai_log],
        "estimation_spec": project.estimation.spec.model_dump(mode="json") if project.estimation else None,
    }


def dag_files(project: Project) -> dict[str, str | bytes]:
    """DOT, DAGitty, JSON and (when Graphviz's ``dot`` exists) SVG; a note file explains any gap."""
    if project.dag is None or not project.dag.nodes:
        return {"dag_unavailable.txt": "The project has no DAG yet (DAG page).\n"}
    files: dict[str, str | bytes] = {
        "dag.dot": dag_io.to_dot(project.dag),
        "dag.dagitty": dag_io.to_dagitty(project.dag),
        "dag.json": dag_io.to_json(project.dag),
    }
    if not dag_io.dot_available():
        files["dag_svg_unavailable.txt"] = (
            "Graphviz's `dot` program is not installed, so no SVG was drawn. Render dag.dot with it.\n"
        )
        return files
    try:
        # The standalone file gets the same allow-list as the inline picture: opened in a browser it runs nothing.
        drawing = inline_svg(dag_io.to_svg(project.dag, title=project.name))
        files["dag.svg"] = '<?xml version="1.0" encoding="UTF-8"?>\n' + drawing
    except Exception as error:  # noqa: BLE001 - a drawing failure must not lose the rest of the bundle
        files["dag_svg_unavailable.txt"] = f"The SVG could not be drawn: {error}\n"
    return files


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "project"


def zip_name(project: Project) -> str:
    return f"{_slug(project.name)}-bundle.zip"


README = """Causal Workbench bundle for "{name}"

memo.md            the decision memo (analyst final if written, else deterministic)
memo.html          standalone report: memo, estimates, forest plot, consistency, audit scores
project.json       the whole project: brief, prompts and AI outputs, analyst edits, card, DAG,
                   audit results, estimation spec and diagnostics, memo (open it in the app)
estimates.csv      the estimate table
consistency.json   cross-artifact consistency checks
manifest.json      package versions, data sha256, models and decoding settings used
dag.*              the DAG as DOT, DAGitty, JSON and SVG (when Graphviz is installed)
"""


def report_zip(project: Project) -> bytes:
    """One ZIP with the memo (MD, HTML), the Project JSON, the DAG files and the estimates CSV."""
    files: dict[str, str | bytes] = {
        "README.txt": README.format(name=project.name),
        "memo.md": project_memo_markdown(project),
        "memo.html": memo_html(project),
        "project.json": project_to_json(project),
        "estimates.csv": estimates_csv(project),
        "consistency.json": json.dumps(
            [i.model_dump() for i in consistency_checks(project)], indent=2, ensure_ascii=False
        ),
        "manifest.json": json.dumps(environment_manifest(project), indent=2, ensure_ascii=False, default=str),
        **dag_files(project),
    }
    from causal_core.notebook.writer import BUNDLE_README, bundle_files  # issue 15: the reproducible notebook

    files |= bundle_files(project)
    files["README.txt"] += BUNDLE_README
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content if isinstance(content, bytes) else content.encode("utf-8"))
    return buffer.getvalue()
