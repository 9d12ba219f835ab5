"""Which workbench produced a result: recorded in the project file, the manifest, the memo exports and the
notebook; the commit only from this project's own checkout, never guessed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from io import BytesIO
from pathlib import Path

import pytest

import causal_core
from causal_core import version
from causal_core.notebook.writer import build_export
from causal_core.project import Project
from causal_core.project_file import ProjectFileError, project_from_json, project_to_json
from causal_core.reporting.report import environment_manifest, memo_html, project_memo_markdown, report_zip

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_commit_cache():
    version.git_commit.cache_clear()
    yield
    version.git_commit.cache_clear()


def test_the_commit_is_the_checkout_head_when_run_from_it(fresh_commit_cache):
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          timeout=30).stdout.strip()
    if not head:
        pytest.skip("not a git checkout")
    assert version.git_commit() == head
    assert version.version_label() == f"Causal Workbench {causal_core.__version__} (commit {head})"


def test_no_commit_outside_the_projects_checkout(tmp_path, monkeypatch, fresh_commit_cache):
    """An installed wheel in site-packages (inside someone else's repository) records no commit."""
    (tmp_path / "other-repo" / ".venv-site" / "causal_core").mkdir(parents=True)
    monkeypatch.setattr(version, "PACKAGE_ROOT", tmp_path / "other-repo" / ".venv-site" / "causal_core")
    monkeypatch.setattr(version, "_checkout_root", lambda package_dir=None: None)
    assert version.git_commit() is None
    assert version.version_label() == f"Causal Workbench {causal_core.__version__}"
    assert version.version_info() == {"version": causal_core.__version__, "commit": None}


def test_no_commit_when_git_is_missing(tmp_path, monkeypatch, fresh_commit_cache):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert version.git_commit() is None


def test_the_checkout_is_recognised_by_its_git_folder(tmp_path):
    (tmp_path / "causal_core").mkdir()
    assert version._checkout_root(tmp_path / "causal_core") is None
    (tmp_path / ".git").mkdir()
    assert version._checkout_root(tmp_path / "causal_core") == tmp_path


def test_the_package_version_is_the_installed_distributions_version():
    try:
        installed = metadata.version("causal-workbench")
    except metadata.PackageNotFoundError:
        pytest.skip("the project is not pip-installed in this environment (make setup installs it)")
    assert installed == causal_core.__version__


# ---- project file -----------------------------------------------------------------------------
def test_a_saved_project_records_the_workbench_that_wrote_it():
    payload = json.loads(project_to_json(Project(name="p")))
    assert payload["workbench"] == version.version_info()


def test_a_project_file_from_before_the_stamp_opens_and_is_stamped_when_saved_again():
    payload = json.loads(project_to_json(Project(name="old")))
    del payload["workbench"]
    reopened = project_from_json(json.dumps(payload))
    assert reopened.name == "old" and reopened.workbench == version.current_stamp()


def test_an_older_workbenchs_stamp_is_kept_when_opened_and_replaced_when_saved():
    payload = json.loads(project_to_json(Project(name="p")))
    payload["workbench"] = {"version": "0.8.0", "commit": "abc1234"}
    opened = project_from_json(json.dumps(payload))
    assert opened.workbench.version == "0.8.0"
    assert json.loads(project_to_json(opened))["workbench"] == version.version_info()


@pytest.mark.parametrize(
    ("stamp", "problem"),
    [({"version": "0.9.0", "commit": None, "extra": 1}, "workbench.extra"), ({"commit": "x"}, "workbench.version"),
     ({"version": "9" * 200}, "workbench.version"), ("0.9.0", "workbench")],
)
def test_a_malformed_stamp_is_a_specific_project_file_error(stamp, problem):
    payload = json.loads(project_to_json(Project(name="p")))
    payload["workbench"] = stamp
    with pytest.raises(ProjectFileError, match=re.escape(problem)):
        project_from_json(json.dumps(payload))


# ---- exports ------------------------------------------------------------------------------------
def test_the_manifest_names_the_workbench(retention):
    project, _ = retention
    manifest = environment_manifest(project)
    assert manifest["workbench"] == version.version_info()
    bundled = json.loads(zipfile.ZipFile(BytesIO(report_zip(project))).read("manifest.json"))
    assert bundled["workbench"]["version"] == causal_core.__version__


def test_memo_markdown_and_html_end_with_the_version(retention):
    project, _ = retention
    markdown = project_memo_markdown(project)
    assert markdown.rstrip().endswith(f"_{version.version_label()}_")
    html = memo_html(project)
    assert f'<footer class="meta">{version.version_label()}</footer></body>' in html


def test_the_notebooks_first_code_cell_prints_the_exporting_and_the_running_workbench(retention):
    project, _ = retention
    export = build_export(project, "project.json")
    first_code = next(cell for cell in export.notebook.cells if cell.cell_type == "code")
    assert f"print(\"Exported by\", {version.version_label()!r})" in first_code.source
    assert 'print("Running on ", version_label())' in first_code.source


def test_the_notebook_imports_the_package_from_any_folder_with_the_projects_interpreter(tmp_path):
    """What an exported notebook in a Downloads folder needs: the package importable without PYTHONPATH."""
    try:
        metadata.distribution("causal-workbench")
    except metadata.PackageNotFoundError:
        pytest.skip("the project is not pip-installed in this environment (make setup installs it)")
    code = "from causal_core.version import version_label; print(version_label())"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=120, check=True)
    assert completed.stdout.startswith(f"Causal Workbench {causal_core.__version__}")
