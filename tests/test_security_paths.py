"""A project's data file name is a base name, never a path (issue 21, item 5).

A shared project file is hostile input: its `data_source.name` used to be joined to the project's folder by the
CLI, so `../../x` or `/etc/shadow` read a file outside it and printed its sha256 prefix. The name is now refused
on open (the app, the CLI and the notebook all parse through `project_from_json`), an upload's file name is held
to the same rule, and the CLI refuses a recorded file that is a link leading out of the project's folder.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from causal_core.cli import main
from causal_core.data import DataError, read_upload
from causal_core.data.project_io import open_project_bytes
from causal_core.project_file import ProjectFileError, project_from_json, project_to_json

BAD_NAMES = {
    "../x": "is a path",
    "../../etc/shadow": "is a path",
    "/etc/passwd": "is a path",
    "C:\\x": "is a path",
    "C:x.csv": "drive letter",
    "a\x00b.csv": "control or invisible",
    "x\r\r<img src=http://127.0.0.1:9/p>.csv": "control or invisible",
    "a\u202eb.csv": "control or invisible",
    "..": "'..'",
    "": "empty",
    " ": "empty",
    "x" * 256: "255",
}


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def upload_project_json() -> dict:
    """A small upload-backed project as saved JSON (rows from the support generator, uploaded as a CSV)."""
    from causal_core import dag
    from causal_core.data import load_builtin
    from causal_core.headless import build_upload_project

    builtin_dag = dag.default_dag("support")  # the DAG headless.build_project("support") puts in its project
    frame = load_builtin("support", n=40)
    loaded = read_upload(frame.to_csv(index=False).encode("utf-8"), "support.csv")
    project, _ = build_upload_project(loaded, treatment=builtin_dag.treatment, outcome=builtin_dag.outcome,
                                      covariates=list(builtin_dag.adjusted))
    return json.loads(project_to_json(project))


def with_name(payload: dict, name: str) -> bytes:
    changed = json.loads(json.dumps(payload))
    changed["data_source"]["name"] = name
    return json.dumps(changed).encode("utf-8")


@pytest.mark.parametrize("name", list(BAD_NAMES))
def test_a_project_whose_data_name_is_a_path_is_refused_on_open(name, upload_project_json):
    with pytest.raises(ProjectFileError) as error:
        open_project_bytes(with_name(upload_project_json, name))
    message = str(error.value)
    assert "data_source.name" in message and BAD_NAMES[name] in message


@pytest.mark.parametrize("name", ["support.csv", "Größe 2024 (final).csv", "a.b.parquet", ".hidden.csv"])
def test_plain_file_names_still_open(name, upload_project_json):
    assert open_project_bytes(with_name(upload_project_json, name)).project.data_source.name == name


@pytest.mark.parametrize("name", ["../x.csv", "/etc/passwd.csv", "C:\\x.csv", "x\r\r<img src=x>.csv"])
def test_an_upload_whose_file_name_is_a_path_is_refused(name):
    payload = pd.DataFrame({"t": [0, 1], "y": [1.0, 2.0]}).to_csv(index=False).encode("utf-8")
    with pytest.raises(DataError, match="Rename the file"):
        read_upload(payload, name)


@pytest.mark.parametrize("name", ["../secret.csv", "/etc/passwd"])
def test_cli_notebook_never_reads_or_hashes_outside_the_project_folder(name, upload_project_json, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("t,y\n0,1\n1,2\n", encoding="utf-8")
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "p.json").write_bytes(with_name(upload_project_json, name))
    code, stdout, stderr = cli("notebook", "--project", str(folder / "p.json"), "--out", str(folder / "a.ipynb"))
    assert code == 2 and "data_source.name" in stderr and "sha256" not in stderr + stdout
    assert not (folder / "a.ipynb").exists()


def test_cli_notebook_refuses_a_recorded_file_that_links_outside(upload_project_json, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("t,y\n0,1\n1,2\n", encoding="utf-8")
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "support.csv").symlink_to(secret)
    (folder / "p.json").write_bytes(with_name(upload_project_json, "support.csv"))
    code, stdout, stderr = cli("notebook", "--project", str(folder / "p.json"), "--out", str(folder / "a.ipynb"))
    assert code == 2 and "outside the project's folder" in stderr
    assert "sha256 is" not in stderr  # the linked file is never read, so no hash of it is printed
    assert not (folder / "a.ipynb").exists()


def test_the_notebook_data_file_is_the_recorded_base_name_beside_the_project(upload_project_json, tmp_path):
    from causal_core.data import load_builtin

    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "support.csv").write_bytes(load_builtin("support", n=40).to_csv(index=False).encode("utf-8"))
    (folder / "p.json").write_bytes(with_name(upload_project_json, "support.csv"))
    code, _, stderr = cli("notebook", "--project", str(folder / "p.json"), "--out", str(folder / "a.ipynb"))
    assert code == 0, stderr
    notebook = json.loads((folder / "a.ipynb").read_text(encoding="utf-8"))
    setup = next("".join(c["source"]) for c in notebook["cells"] if "DATA_FILE =" in "".join(c["source"]))
    assert "DATA_FILE = Path('support.csv')" in setup
    assert project_from_json((folder / "p.json").read_bytes()).data_source.name == Path("support.csv").name
