"""The notebook's cells in workflow order, built with nbformat from the project.

Each cell carries a role in its metadata (``causal_workbench.role``) and the same word as a Jupyter tag:
* ``text``: Markdown written from the project (brief, card, decisions);
* ``step``: code that computes a stage (kept in the student version: the class needs it to go on);
* ``result``: code (or the analyst's memo text) that shows a stage's numbers; the student version replaces
  each with a TODO cell whose hint is stored beside it (``causal_workbench.todo``);
* ``artifact``: a recorded AI interaction printed from the project file (never regenerated).
User text reaches code cells only as Python literals (``repr``), so a column name cannot become code.
"""

from __future__ import annotations

import pprint
from pathlib import PurePosixPath

import nbformat
from nbformat.notebooknode import NotebookNode

from causal_core import dag_io
from causal_core.notebook import text
from causal_core.notebook.checks import completed_stages, stage_notice
from causal_core.project import Project
from causal_core.version import version_label

NUMBERS_TAG = "reproduction-numbers"


def _meta(role: str, todo: str = "", extra_tags: tuple[str, ...] = ()) -> dict:
    info = {"role": role, **({"todo": todo} if todo else {})}
    return {"tags": [role, *extra_tags], "causal_workbench": info}


def md(source: str, role: str = "text", todo: str = "") -> NotebookNode:
    return nbformat.v4.new_markdown_cell(source, metadata=_meta(role, todo))


def code(source: str, role: str = "step", todo: str = "", extra_tags: tuple[str, ...] = ()) -> NotebookNode:
    return nbformat.v4.new_code_cell(source.strip("\n"), metadata=_meta(role, todo, extra_tags))


def text_literal(value: str) -> str:
    """A readable, safe Python literal for multi-line text: a raw triple-quoted string when nothing inside can
    end it early and every character is printable (a NUL cannot be compiled, a raw CR would be read back as a
    newline), else ``repr`` (always safe)."""
    printable = all(char == "\n" or char.isprintable() for char in value)
    if printable and "\n" in value and "'''" not in value and "\\" not in value and not value.endswith("'"):
        return "r'''" + value + "'''"
    return repr(value)


def path_literal(path: str | None) -> str:
    return "None" if path is None else f"Path({PurePosixPath(path).as_posix()!r})"


# ---- one function per stage ------------------------------------------------------------------
def setup_cells(project_file: str, data_file: str | None) -> list[NotebookNode]:
    """Imports, paths and the project; prints which workbench exported the notebook and which one runs it, so
    a re-computed number that differs can be traced to a code change."""
    exported_by = version_label()  # our own text, written as a literal
    return [code(f"""
from pathlib import Path

import pandas as pd
from IPython.display import display

try:
    from causal_core.notebook import api as cw
    from causal_core.project import EstimationSpec
    from causal_core.version import version_label
except ModuleNotFoundError as error:
    raise ModuleNotFoundError(
        "causal_core is not importable: run this notebook with the Causal Workbench's .venv kernel "
        "(make setup installs the package there) or pip install the workbench into this kernel's environment"
    ) from error

print("Exported by", {exported_by!r})
print("Running on ", version_label())
pd.set_option("display.precision", 6)
PROJECT_FILE = {path_literal(project_file)}
DATA_FILE = {path_literal(data_file)}  # an upload's rows; None for a built-in dataset (it regenerates)
project = cw.load_project(PROJECT_FILE)
print(f"Project {{project.name!r}}, saved {{project.updated_at}}")
""")]


def question_cells(project: Project, edits: dict, ai_cells) -> list[NotebookNode]:
    cells = [md(text.question(project))]
    if edits.get("question"):
        cells.append(md(text.edits(edits["question"])))
    return cells + ai_cells(project, "question")


def data_cells() -> list[NotebookNode]:
    return [
        md("## Data\n\nLoad the rows and check their sha256 against the project: a built-in dataset is regenerated "
           "from its name, size and seed; an upload is read from `DATA_FILE`. Any other data is refused."),
        code("""
raw = cw.load_checked_data(project, DATA_FILE)
frame = cw.analysis_rows(project, raw)
print(f"sha256 {project.data_source.sha256} matches the project: {len(raw):,} rows read, "
      f"{len(frame):,} analysed after de-duplication rule {project.dedup!r}")
"""),
    ]


def dag_cells(project: Project, edits: dict, ai_cells) -> list[NotebookNode]:
    dagitty = dag_io.to_dagitty(project.dag)
    cells = [md(text.dag_decisions(project))]
    if edits.get("dag"):
        cells.append(md(text.edits(edits["dag"])))
    cells += ai_cells(project, "dag")
    cells += [
        code(f"""
DAG_TEXT = {text_literal(dagitty)}
dag_spec = cw.rebuild_dag(DAG_TEXT)
print("The DAGitty text rebuilds the project's DAG:", dag_spec == project.dag)
"""),
        code("cw.print_json(cw.adjustment_summary(dag_spec))", role="result",
             todo="Print the design sentence and the adjustment sets of `dag_spec` (hint: `cw.adjustment_summary`). "
                  "Which set would you adjust for, and why?"),
    ]
    return cells


def audit_cells(project: Project, edits: dict, ai_cells) -> list[NotebookNode]:
    cells = [md(text.audit_intro(project))]
    if edits.get("audit"):
        cells.append(md(text.edits(edits["audit"])))
    cells += ai_cells(project, "audit")
    cells += [
        code("audit_result = cw.rerun_audit(project, frame)"),
        code("""
print("Same audit tables as the project:", cw.audit_matches(project.data_audit, audit_result))
for warning in audit_result.warnings:
    print("Warning:", warning)
for name, table in cw.audit_tables(audit_result).items():
    print(f"\\n{name}")
    display(table)
""", role="result", todo="Show the audit tables of `audit_result` (hint: `cw.audit_tables`) and its warnings. "
                         "Is the grain unique? Which covariates are imbalanced?"),
    ]
    return cells


def spec_literal(project: Project) -> str:
    fields = project.estimation.spec.model_dump(mode="json")  # plain literals: an enum repr is not Python source
    return pprint.pformat(fields, sort_dicts=False, width=100)


def estimation_cells(project: Project, edits: dict) -> list[NotebookNode]:
    cells = [md(text.estimation_intro(project.estimation.spec))]
    if edits.get("estimation"):
        cells.append(md(text.edits(edits["estimation"])))
    cells += [
        code(f"""
spec = EstimationSpec(**{spec_literal(project)})
print("Same specification as the project:", spec == cw.stored_spec(project))
result = cw.rerun_estimation(project, frame, spec)
"""),
        code("""
display(cw.estimates_table(result))
print("Largest difference from the project's stored numbers, per estimator:")
display(cw.compare_estimates(project.estimation, result))
for warning in result.warnings:
    print("Warning:", warning)
""", role="result", todo="Show the estimate table of `result` (hint: `cw.estimates_table`) and compare it with the "
                         "project's (`cw.compare_estimates`). Which estimator would you report?"),
        md("## Sensitivity analysis\n\nHow strong would an unmeasured confounder have to be (E-value, robustness value, "
           "benchmarks against the measured covariates), and what the refutation tests say."),
        code("""
for line in cw.sensitivity_lines(result):
    print("-", line)
""", role="result", todo="Print the sensitivity sentences of `result` (hint: `cw.sensitivity_lines`). Would a "
                         "confounder as strong as the strongest measured one change the conclusion?"),
    ]
    return cells


def multiverse_cells(project: Project, edits: dict) -> list[NotebookNode]:
    cells = [md("## Specification curve\n\nEvery defensible combination of adjustment set, estimator and trimming, "
                f"re-run with the stored options ({len(project.multiverse.rows)} specifications)."),
             code("curve = cw.rerun_multiverse(project, raw)")]
    if edits.get("multiverse"):
        cells.insert(1, md(text.edits(edits["multiverse"])))
    cells.append(code("""
for sentence in curve.summary.get("sentences", []):
    print("-", sentence)
""", role="result", todo="Summarise `curve` (hint: `curve.summary['sentences']`): how fragile is the answer?"))
    return cells


def memo_cells(project: Project, edits: dict, ai_cells, has_audit: bool, has_curve: bool) -> list[NotebookNode]:
    stages = ["estimation=result"] + (["data_audit=audit_result"] if has_audit else []) + (
        ["multiverse=curve"] if has_curve else [])
    cells = [md("## The memo's numbers\n\nThe deterministic memo is built only from project figures; here it is "
                "rebuilt from the re-computed stages and compared with the stored memo.")]
    if edits.get("memo"):
        cells.append(md(text.edits(edits["memo"])))
    cells += ai_cells(project, "memo")
    cells += [
        code(f"""
reproduced = cw.reproduced_project(project, {", ".join(stages)})
sections = cw.memo_numbers(reproduced, frame)
"""),
        code("""
print(sections["main_estimate"])
print("Identical to the project's memo:", sections["main_estimate"] == project.memo.deterministic.get("main_estimate"))
for key in ("interpretation", "sensitivity", "robustness"):
    if sections.get(key):
        print(f"\\n{key}:\\n{sections[key]}")
""", role="result", todo="Print the memo's main-estimate sentence from `sections` and check it against "
                         "`project.memo.deterministic['main_estimate']`."),
    ]
    if any(project.memo.final.values()):
        cells.append(md(text.final_memo(project), role="result",
                        todo="Write your own memo: evidence, assumptions, limitations and a recommendation, kept apart."))
    return cells


def numbers_cell(has_estimation: bool) -> NotebookNode:
    call = "cw.reproduction_numbers(project, result, sections)" if has_estimation else "cw.reproduction_numbers(project)"
    return code(f"cw.print_json({call})", role="result", extra_tags=(NUMBERS_TAG,),
                todo="Collect your numbers (hint: `cw.reproduction_numbers`) and compare them with a classmate's.")


def ai_cells(project: Project, stage: str) -> list[NotebookNode]:
    cells = []
    for interaction_id, line in text.ai_section(project, stage):
        cells += [md(f"{line}\n\n{text.AI_NOTE}", role="artifact"),
                  code(f"cw.print_json(cw.recorded_interaction(project, {interaction_id!r}))", role="artifact")]
    return cells


def leftover_cells(project: Project, edits: dict, rendered: set[str]) -> list[NotebookNode]:
    """Decisions and recorded AI calls of stages the notebook does not reach (e.g. a DAG draft in a project whose
    DAG was later removed): kept, under their own heading, so nothing in the logs is silently left out."""
    stages = [stage for stage in ("dag", "audit", "estimation", "multiverse", "memo") if stage not in rendered]
    cells = []
    for stage in stages:
        if edits.get(stage):
            cells.append(md(text.edits(edits[stage])))
        cells += ai_cells(project, stage)
    if cells:
        cells.insert(0, md("## Recorded for stages this notebook does not re-run\n\nThe edit log and AI log hold "
                           "these entries for stages the project has not completed (or no longer holds)."))
    return cells


# ---- the whole notebook ----------------------------------------------------------------------
def build_cells(project: Project, project_file: str, data_file: str | None) -> list[NotebookNode]:
    """Every cell in workflow order, up to the last completed stage (the header says where it stops)."""
    done = set(completed_stages(project))
    edits = text.edits_by_stage(project)
    notice = stage_notice(project)
    cells = [md(text.header(project, notice))]
    cells += setup_cells(project_file, data_file)
    cells += question_cells(project, edits, ai_cells)
    rendered = {"question"}
    if "data" in done:
        cells += data_cells()
        if "dag" in done:
            cells += dag_cells(project, edits, ai_cells)
        if "audit" in done:
            cells += audit_cells(project, edits, ai_cells)
        if "estimation" in done:
            cells += estimation_cells(project, edits)
            if "multiverse" in done:
                cells += multiverse_cells(project, edits)
            cells += memo_cells(project, edits, ai_cells, "audit" in done, "multiverse" in done)
        rendered |= done
    cells += leftover_cells(project, edits, rendered)
    if notice:  # our own sentence (stage names only), so it is Markdown as written
        cells.append(md(f"## Where this notebook stops\n\n{notice}"))
    cells.append(md("## Every re-computed number\n\nMachine-readable: the estimates, intervals and memo sentence "
                    "re-computed above, with the project's stored memo sentence beside them."))
    cells.append(numbers_cell("estimation" in done))
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:03d}"
    return cells
