"""Issue 15: the exported notebook re-runs the analysis and prints the project's own numbers.

Executed for real (nbclient on an ipykernel) on both built-in datasets (small n so the kernel runs stay short)
and on an uploaded CSV of NHEFS with model terms and What If's fixed-weight IPW SE. Every estimate and interval
the notebook prints must equal the project file's to 1e-9, and the memo's main-estimate sentence must be the
stored one. The bad inputs (upload missing or different, no estimation yet, unwritable output) each have a
test asserting the message and that nothing was written and the project file is unchanged.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from causal_core.cli import main
from causal_core.project import AIInteraction, AuditRecord, RubricCheck
from causal_core.project_file import project_from_json, project_to_json

ROOT = Path(__file__).resolve().parents[1]
NHEFS_COLUMNS = ["qsmk", "wt82_71", "sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise",
                 "active", "wt71"]
NHEFS_TERMS = ("sex + race + age + I(age**2) + C(education) + smokeintensity + I(smokeintensity**2) + smokeyrs + "
               "I(smokeyrs**2) + C(exercise) + C(active) + wt71 + I(wt71**2)")
RAW_OUTPUT = '{"business_question": "Did outreach reduce churn?"}'


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def with_recorded_interaction(project):
    """A logged model call with its audit score, as the Question page records one."""
    interaction = AIInteraction(id="ai-card-1", task="estimand-card", user_prompt="Draft the card for: churn",
                                raw_output=RAW_OUTPUT, schema_valid=True, model_id="bundled", seed=7)
    record = AuditRecord(artifact="estimand_card", model_id="bundled", interaction_id="ai-card-1", schema_valid=True,
                         checks=[RubricCheck(name="names the estimand", passed=False)], score=3, max_score=5)
    return project.with_interaction(interaction).with_audit(record)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("notebook")


@pytest.fixture(scope="module")
def projects(workdir, build_once) -> dict[str, Path]:
    """Project files: retention (n = 1,500, with a recorded AI call), support (30 teams), an NHEFS upload.
    The two built-ins are headless.build_project's, built once per test run (tests/conftest.py)."""
    from causaldata import nhefs

    from causal_core.data import read_upload
    from causal_core.headless import build_upload_project

    paths = {}
    retention, _ = build_once("retention", n=1500)
    support, _ = build_once("support", n=30)
    for name, project in (("retention", with_recorded_interaction(retention)), ("support", support)):
        paths[name] = workdir / f"{name}.json"
        paths[name].write_text(project_to_json(project), encoding="utf-8")
    upload_dir = workdir / "upload"
    upload_dir.mkdir()
    csv = upload_dir / "nhefs.csv"
    nhefs.load_pandas().data[NHEFS_COLUMNS].to_csv(csv, index=False)
    upload, _ = build_upload_project(
        read_upload(csv.read_bytes(), csv.name), treatment="qsmk", outcome="wt82_71", covariates=NHEFS_COLUMNS[2:],
        spec_fields={"outcome_terms": NHEFS_TERMS, "treatment_interactions": "smokeintensity", "ipw_se": "fixed_weights"},
    )
    paths["upload"] = upload_dir / "project.json"
    paths["upload"].write_text(project_to_json(upload), encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def kernel_env():
    """The kernel must import causal_core from this checkout, as a user starting Jupyter in the repository does."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        yield


def execute(path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


def stream_text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.output_type == "stream")


def printed_numbers(notebook) -> dict:
    cell = next(c for c in notebook.cells if "reproduction-numbers" in c.metadata.get("tags", []))
    return json.loads(stream_text(cell))


def all_output(notebook) -> str:
    return "\n".join(stream_text(cell) for cell in notebook.cells if cell.cell_type == "code")


def assert_numbers_match_project(numbers: dict, project) -> None:
    stored = project.estimation.estimates
    assert len(numbers["estimates"]) == len(stored) >= 5
    for printed, row in zip(numbers["estimates"], stored, strict=True):
        assert (printed["method"], printed["estimand"], printed["se_type"]) == (row.method, row.estimand, row.se_type)
        assert printed["n_used"] == row.n_used
        for field in ("estimate", "std_error", "ci_low", "ci_high"):
            expected = getattr(row, field)
            if expected is None:
                assert printed[field] is None, field
            else:
                assert printed[field] == pytest.approx(expected, abs=1e-9, rel=0), (row.method, field)
    assert numbers["main_estimate"] == project.memo.deterministic["main_estimate"]
    assert numbers["main_estimate"].startswith("The ")


def export(project_path: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return cli("notebook", "--project", str(project_path), "--out", str(out), "--format", "json", *extra)


@pytest.fixture(scope="module")
def executed(projects, workdir, kernel_env) -> dict[str, nbformat.NotebookNode]:
    notebooks = {}
    for name in ("retention", "support", "upload"):
        out = (workdir / f"out-{name}") / "analysis.ipynb"
        out.parent.mkdir()
        code, stdout, stderr = export(projects[name], out)  # the upload's file is found beside its project file
        assert code == 0, stderr
        assert json.loads(stdout)["last_stage"] == "memo"
        notebooks[name] = execute(out)
    return notebooks


@pytest.mark.parametrize("name", ["retention", "support", "upload"])
@pytest.mark.heavy  # executes the exported notebook (docs/testing.md)
def test_notebook_reprints_every_estimate_and_the_memo_sentence(name, executed, projects):
    notebook = executed[name]
    project = project_from_json(projects[name].read_bytes())
    assert_numbers_match_project(printed_numbers(notebook), project)
    text = all_output(notebook)
    for check in ("The DAGitty text rebuilds the project's DAG: True", "Same audit tables as the project: True",
                  "Same specification as the project: True", "Identical to the project's memo: True",
                  f"sha256 {project.data_source.sha256} matches the project"):
        assert check in text, check
    assert not [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.heavy  # executes the exported notebook (docs/testing.md)
def test_upload_notebook_reproduces_what_if(executed, projects):
    """The NHEFS upload's notebook prints What If's figures: IPW 3.44 (ch. 12), standardisation 3.52 (ch. 13)."""
    rows = {row["method"]: row for row in printed_numbers(executed["upload"])["estimates"]}
    assert round(rows["ipw"]["estimate"], 2) == 3.44
    assert (round(rows["ipw"]["ci_low"], 2), round(rows["ipw"]["ci_high"], 2)) == (2.41, 4.47)
    assert round(rows["regression"]["estimate"], 2) == 3.52
    assert rows["ipw"]["n_used"] == 1566


@pytest.mark.heavy  # executes the exported notebook (docs/testing.md)
def test_ai_interaction_is_shown_as_recorded_never_regenerated(executed):
    notebook = executed["retention"]
    notes = [c.source for c in notebook.cells if c.cell_type == "markdown" and "Recorded, not regenerated" in c.source]
    assert len(notes) == 1 and "estimand-card" in notes[0]
    cell = next(c for c in notebook.cells if "recorded_interaction(project, 'ai-card-1')" in c.source)
    printed = json.loads(stream_text(cell))
    assert printed["raw_output"] == RAW_OUTPUT and printed["user_prompt"] == "Draft the card for: churn"
    assert printed["audit_score"] == ["3/5"] and printed["failed_checks"] == ["names the estimand"]
    code_text = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "generate(" not in code_text and "runtime" not in code_text  # no model is ever called


def percent_cells(script: str) -> list[tuple[str, str]]:
    """(kind, source) of each cell of a percent-format script."""
    chunks = script.split("\n# %%")[1:]
    cells = []
    for chunk in chunks:
        head, _, body = chunk.partition("\n")
        body = body.rstrip("\n")
        if head.strip() == "[markdown]":
            cells.append(("markdown", "\n".join(line[2:] if line.startswith("# ") else line[1:] for line in body.splitlines())))
        else:
            cells.append(("code", body))
    return cells


@pytest.mark.heavy  # executes the exported notebook (docs/testing.md)
def test_script_twin_holds_the_same_cells_and_runs(projects, workdir, kernel_env):
    """The .py twin is the notebook's cells, and plain `python analysis.py` prints the same numbers.

    On retention (1,500 rows, with the recorded model call), whose notebook the kernel runs above: support's
    curve takes its re-run 15 s and the kernel already runs it; the twin's question, whether plain Python runs
    the same cells to the same numbers, does not depend on the dataset."""
    out = workdir / "twin" / "analysis.ipynb"
    out.parent.mkdir()
    assert export(projects["retention"], out)[0] == 0
    notebook = nbformat.read(out, as_version=4)
    twin = percent_cells(out.with_suffix(".py").read_text(encoding="utf-8"))
    assert twin == [(cell.cell_type, cell.source.rstrip("\n")) for cell in notebook.cells]
    run = subprocess.run([sys.executable, "analysis.py"], cwd=out.parent, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    numbers = json.loads(run.stdout[run.stdout.rindex("\n{\n") + 1:])
    assert_numbers_match_project(numbers, project_from_json(projects["retention"].read_bytes()))


def test_student_version_strips_exactly_the_result_cells(projects, workdir):
    from causal_core.notebook.student import STUDENT_BANNER

    full_out, student_out = workdir / "full" / "analysis.ipynb", workdir / "student" / "analysis.ipynb"
    for out, extra in ((full_out, ()), (student_out, ("--student",))):
        out.parent.mkdir()
        code, stdout, _ = export(projects["retention"], out, *extra)
        assert code == 0 and json.loads(stdout)["student_version"] == bool(extra)
    full = nbformat.read(full_out, as_version=4).cells
    student = nbformat.read(student_out, as_version=4).cells
    assert len(full) == len(student)
    roles = [cell.metadata["causal_workbench"]["role"] for cell in full]
    assert roles.count("result") >= 7  # DAG sets, audit tables, estimates, sensitivity, curve, memo, numbers
    for index, (before, after) in enumerate(zip(full, student, strict=True)):
        if roles[index] == "result":
            assert after.cell_type == "markdown" and after.source.startswith("**TODO.**")
            assert after.metadata["causal_workbench"] == {"role": "todo", "replaces": before.cell_type}
            assert before.metadata["causal_workbench"]["todo"] in after.source
            assert "outputs" not in after
        elif index == 0:
            assert after.source == f"{before.source}\n\n{STUDENT_BANNER}"
        else:
            assert after == before, index
    kept_code = [c.source for c in student if c.cell_type == "code"]
    assert "result = cw.rerun_estimation(project, frame, spec)" in "\n".join(kept_code)
    assert not any("cw.estimates_table" in source or "print_json(cw.reproduction_numbers" in source for source in kept_code)


# ---- bad inputs: each with its message, nothing written, the project file unchanged ----------------------------
def assert_refused(project_path: Path, out: Path, message: str, *extra: str) -> None:
    before = project_path.read_bytes()
    listing = sorted(p.name for p in out.parent.iterdir()) if out.parent.is_dir() else None
    code, stdout, stderr = export(project_path, out, *extra)
    assert code == 2 and stdout == ""
    assert message in stderr, stderr
    assert project_path.read_bytes() == before
    after = sorted(p.name for p in out.parent.iterdir()) if out.parent.is_dir() else None
    assert after == listing, "a refused export wrote something"


def test_missing_upload_file_is_refused(projects, workdir):
    moved = workdir / "elsewhere"
    moved.mkdir()
    project_path = moved / "project.json"
    project_path.write_bytes(projects["upload"].read_bytes())  # the CSV is not beside this copy
    assert_refused(project_path, moved / "analysis.ipynb", "nhefs.csv does not exist. This project was built on the "
                   "upload 'nhefs.csv'")
    assert_refused(project_path, moved / "analysis.ipynb", "does not exist", "--data", str(moved / "missing.csv"))


def test_upload_file_with_another_hash_is_refused(projects, workdir):
    other = workdir / "nhefs-edited.csv"
    original = (projects["upload"].parent / "nhefs.csv").read_text(encoding="utf-8")
    other.write_text(original.replace("\n", "\r\n", 1), encoding="utf-8")  # same rows, one byte different
    project = project_from_json(projects["upload"].read_bytes())
    assert_refused(projects["upload"], projects["upload"].parent / "analysis.ipynb",
                   "is not the file this project was built on: its sha256 is", "--data", str(other))
    assert project.data_source.sha256[:12] in cli("notebook", "--project", str(projects["upload"]), "--data", str(other),
                                                  "--out", str(workdir / "x.ipynb"))[2]


def test_builtin_that_regenerates_differently_is_refused(projects, workdir):
    project = project_from_json(projects["support"].read_bytes())
    source = project.data_source.model_copy(update={"sha256": "0" * 64})
    path = workdir / "tampered.json"
    path.write_text(project_to_json(project.model_copy(update={"data_source": source})), encoding="utf-8")
    (workdir / "tampered-out").mkdir()
    assert_refused(path, workdir / "tampered-out" / "analysis.ipynb", "regenerated with a different hash")


@pytest.mark.parametrize("case", ["directory", "missing parent", "read-only folder", "not .ipynb", "py is a directory"])
def test_unwritable_output_is_refused(case, projects, workdir):
    base = workdir / f"unwritable-{case.replace(' ', '-')}"
    base.mkdir()
    if case == "directory":
        out, message = base / "analysis.ipynb", "it is a directory"
        out.mkdir()
    elif case == "missing parent":
        out, message = base / "no" / "such" / "analysis.ipynb", "does not exist"
    elif case == "read-only folder":
        if os.geteuid() == 0:  # root writes through permission bits; /sys refuses even root
            out = Path("/sys/analysis.ipynb")
        else:
            out = base / "analysis.ipynb"
            base.chmod(0o555)
        message = "is not writable"
    elif case == "not .ipynb":
        out, message = base / "analysis.txt", "must end in .ipynb"
    else:
        out, message = base / "analysis.ipynb", "analysis.py: it is a directory"
        (base / "analysis.py").mkdir()
    try:
        assert_refused(projects["support"], out, message)
    finally:
        base.chmod(0o755)


@pytest.mark.heavy  # executes the exported notebook (docs/testing.md)
def test_project_without_estimation_exports_up_to_its_last_stage(projects, workdir, kernel_env):
    project = project_from_json(projects["retention"].read_bytes())
    partial = project.model_copy(update={"estimation": None, "multiverse": None})
    path = workdir / "partial.json"
    path.write_text(project_to_json(partial), encoding="utf-8")
    out = workdir / "partial-out" / "analysis.ipynb"
    out.parent.mkdir()
    code, stdout, _ = export(path, out)
    assert code == 0
    result = json.loads(stdout)
    expected = "This project has no estimation yet, so the notebook stops after the data audit"
    assert result["last_stage"] == "audit" and result["notice"].startswith(expected)
    notebook = execute(out)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "Incomplete analysis" in markdown and "no estimation yet, so the notebook stops after the data audit" in markdown
    sources = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "rerun_audit" in sources and "rerun_estimation" not in sources
    assert "Same audit tables as the project: True" in all_output(notebook)
    assert printed_numbers(notebook)["estimates"] == []


def test_report_zip_holds_the_notebook_and_its_twin(projects):
    from causal_core.reporting.report import report_zip

    project = project_from_json(projects["upload"].read_bytes())
    archive = zipfile.ZipFile(io.BytesIO(report_zip(project)))
    names = archive.namelist()
    assert {"analysis.ipynb", "analysis.py", "project.json"} <= set(names)
    notebook = nbformat.reads(archive.read("analysis.ipynb").decode("utf-8"), as_version=4)
    nbformat.validate(notebook)
    setup = next(c.source for c in notebook.cells if "PROJECT_FILE =" in c.source)
    assert "PROJECT_FILE = Path('project.json')" in setup and "DATA_FILE = Path('nhefs.csv')" in setup
    assert "analysis.ipynb" in archive.read("README.txt").decode("utf-8")


def test_user_text_is_escaped_in_markdown_and_literal_in_code(projects):
    from causal_core.notebook import build_export
    from causal_core.notebook.cells import text_literal

    project = project_from_json(projects["support"].read_bytes())
    hostile = project.model_copy(update={"name": "![x](http://evil.example/p.png)<img src=x onerror=alert(1)>",
                                         "brief": "'\'\'\n# Heading\n<script>alert(1)</script>"})
    export_ = build_export(hostile, "project.json")
    markdown = "\n".join(c.source for c in export_.notebook.cells if c.cell_type == "markdown")
    assert not re.search(r"(?<!\\)(!\[|<img|<script)", markdown)  # nothing unescaped that could render
    assert "\\!\\[x\\]" in markdown and "\\<img" in markdown
    compile(export_.script, "analysis.py", "exec")
    for nasty in ("a'\'\'\nimport os\n", "x\\\n'\'\'", "line\nends with '", "plain\ntext -> y"):
        literal = text_literal(nasty)
        assert eval(compile(literal, "literal", "eval")) == nasty  # noqa: S307 - the point: it is only a literal


def test_rerun_honours_learners_trimming_clusters_and_seed(projects):
    """The estimation cell's spec (written out as a literal) re-runs learners, cross-fitting, Crump trimming and
    clustering exactly: the seeded folds give the same numbers to 1e-9."""
    from causal_core import estimation
    from causal_core.notebook import api as cw
    from causal_core.notebook.cells import spec_literal
    from causal_core.project import EstimationSpec

    project = project_from_json(projects["support"].read_bytes())
    raw = cw.load_checked_data(project)
    frame = cw.analysis_rows(project, raw)
    spec = project.estimation.spec.model_copy(update={
        "ps_learner": "logistic_cv", "outcome_learner": "ridge_cv", "crossfit_folds": 3, "trim": "crump", "seed": 11,
    })
    assert spec.cluster == "team_id"
    stored = estimation.estimate_project(project, frame, spec, refutations=False)
    written = eval(f"EstimationSpec(**{spec_literal(stored)})", {"EstimationSpec": EstimationSpec})  # noqa: S307
    assert written == stored.estimation.spec
    again = cw.rerun_estimation(stored, frame, written)
    gaps = cw.compare_estimates(stored.estimation, again)
    assert list(gaps["in_project"]) == [True] * len(stored.estimation.estimates)
    assert gaps["max_abs_difference"].max() <= 1e-9
    assert any("cross-fit" in row.se_type or "fold" in row.se_type for row in again.estimates), [
        row.se_type for row in again.estimates]


def test_rerun_reproduces_a_bootstrap_added_on_the_page(projects):
    """The page's 'add bootstrap' stores the replicates in the spec; the notebook's re-run gives the same rows."""
    from causal_core import estimation
    from causal_core.notebook import api as cw

    project = project_from_json(projects["support"].read_bytes())
    frame = cw.analysis_rows(project, cw.load_checked_data(project))
    booted = estimation.add_bootstrap(project, frame, 20)
    assert booted.estimation.spec.bootstrap == 20
    again = cw.rerun_estimation(booted, frame, booted.estimation.spec)
    gaps = cw.compare_estimates(booted.estimation, again)
    assert sum(row.se_type.startswith("bootstrap") for row in again.estimates) == 2
    assert list(gaps["in_project"]) == [True] * 7 and gaps["max_abs_difference"].max() <= 1e-9
