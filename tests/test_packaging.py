"""The wheel others build on: only ``causal_core`` and its data files, the version from one source, the ranges
that admit requirements.txt's pins, and a ``causal-workbench`` script with the same subcommands as
``python -m causal_core``."""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import causal_core
from causal_core import cli, version

ROOT = Path(__file__).resolve().parents[1]
WHEEL_NAME = f"causal_workbench-{causal_core.__version__}-py3-none-any.whl"


def _source_copy(target: Path) -> Path:
    """The tracked files plus this working tree's untracked package files, as a clean folder (no build/ or
    egg-info left behind in the project, and no stray files from it in the wheel)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True, timeout=60).stdout.split("\n")
    for relative in filter(None, listed):
        source = ROOT / relative
        if source.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the project's files")
    source = _source_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(source)], check=True, capture_output=True, timeout=600)
    return zipfile.ZipFile(out / WHEEL_NAME)


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    return email.message_from_bytes(wheel.read(f"causal_workbench-{causal_core.__version__}.dist-info/METADATA"))


def test_the_wheel_holds_only_the_package_and_every_module_of_it(wheel):
    names = wheel.namelist()
    assert {name.split("/")[0] for name in names} == {"causal_core", f"causal_workbench-{causal_core.__version__}.dist-info"}
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "causal_core").rglob("*.py")}
    assert modules <= set(names)
    assert not any(name.startswith(("app_pages/", "bench/", "tests/")) or "__pycache__" in name for name in names)


def test_the_files_the_package_reads_at_run_time_are_in_the_wheel(wheel):
    drafts = {path.relative_to(ROOT).as_posix() for path in (ROOT / "causal_core/recorded_drafts").glob("*.json")}
    assert drafts and drafts <= set(wheel.namelist())


def test_metadata_names_the_version_from_the_package_and_python_311(wheel):
    metadata = _metadata(wheel)
    assert metadata["Name"] == "causal-workbench"
    assert metadata["Version"] == causal_core.__version__
    assert metadata["Requires-Python"] == ">=3.11"


def _pins() -> dict[str, str]:
    """requirements.txt's ``name==version`` lines (comments dropped), by normalised name."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, pin = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = pin
    return pins


def test_every_declared_range_admits_the_app_pin_and_every_pin_is_declared(wheel):
    """The app installs the exact pins; the package's ranges must not exclude them, and nothing is forgotten
    (except the bundled model package make setup installs with --no-deps)."""
    declared = [Requirement(text) for text in _metadata(wheel).get_all("Requires-Dist")]
    pins = _pins()
    by_name = {re.sub(r"[-_.]+", "-", req.name).lower(): req for req in declared}
    for name, req in by_name.items():
        assert name in pins, f"{name} is declared but not pinned in requirements.txt"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req} excludes the pin {name}=={pins[name]}"
    assert set(pins) == set(by_name)


def test_core_dependencies_leave_models_and_test_tools_to_extras(wheel):
    declared = [Requirement(text) for text in _metadata(wheel).get_all("Requires-Dist")]
    core = {req.name for req in declared if req.marker is None}
    extras = {str(req.marker).split("==")[1].strip(" '\"") for req in declared if req.marker is not None}
    assert extras == {"models", "dev"}
    assert {"torch", "transformers", "pytest", "hypothesis", "ruff"}.isdisjoint(core)
    assert {"streamlit", "pandas", "pydantic", "graphviz-pure", "nbformat"} <= core


def test_the_console_script_is_the_cli_entry_point(wheel):
    entry_points = wheel.read(f"causal_workbench-{causal_core.__version__}.dist-info/entry_points.txt").decode()
    assert re.search(r"^causal-workbench = causal_core\.cli:console_main$", entry_points, flags=re.M)
    assert callable(cli.console_main)


def test_the_script_and_the_module_offer_the_same_subcommands(capsys):
    def subcommands(prog: str) -> set[str]:
        parser = cli.build_parser(prog)
        return set(parser._subparsers._group_actions[0].choices)  # noqa: SLF001 - argparse has no public accessor

    assert subcommands("causal-workbench") == subcommands("python -m causal_core") >= {"data", "estimate", "memo"}
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"], prog="causal-workbench")
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == version.version_label()


def test_python_m_causal_core_reports_the_version_and_help_ends_cleanly_in_a_closed_pipe():
    completed = subprocess.run([sys.executable, "-m", "causal_core", "--version"], cwd=ROOT, capture_output=True,
                               text=True, timeout=120, check=True)
    assert completed.stdout.startswith(f"Causal Workbench {causal_core.__version__}")
    piped = subprocess.run(f"{sys.executable} -m causal_core --help | head -c 10", shell=True, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert piped.stdout == "usage: pyt" and "Traceback" not in piped.stderr
