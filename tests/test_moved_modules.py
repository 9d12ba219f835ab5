"""Modules moved into their stage packages (issue 24, docs/architecture.md "Moved modules").

Each old path is a tiny alias that warns and hands back the moved module, so outside code keeps working; nothing in
this repository may import an old path any more (else the move would be half done and the alias could never go).
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# old dotted path -> where it lives now
MOVED = {
    "causal_core.rubric": "causal_core.ai.rubric",
    "causal_core.structured": "causal_core.ai.structured",
    "causal_core.tasks": "causal_core.ai.tasks",
    "causal_core.profile_review": "causal_core.audit.profile_review",
    "causal_core.overview": "causal_core.audit.overview",
    "causal_core.dag_draft": "causal_core.dag.draft",
    "causal_core.dag_rubric": "causal_core.dag.draft_rubric",
    "causal_core.lab": "causal_core.lab_bench",
    "causal_core.lab_endpoints": "causal_core.lab_bench.endpoints",
    "causal_core.report": "causal_core.reporting.report",
    "causal_core.consistency": "causal_core.reporting.consistency",
    "causal_core.analysis_spec": "causal_core.estimation.analysis_spec",
}
ALIAS_FILES = {old.replace(".", "/") + ".py" for old in MOVED}
THIS_FILE = "tests/test_moved_modules.py"  # names the old paths to check for them
OLD_NAMES = {old.rpartition(".")[2] for old in MOVED}
OLD_PATTERN = re.compile(r"\bcausal_core\.(" + "|".join(sorted(OLD_NAMES)) + r")\b(?!\.py)")


def _tracked(suffix: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", f"*{suffix}"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    return [ROOT / name for name in listed if name not in ALIAS_FILES | {THIS_FILE} and (ROOT / name).exists()]


def old_imports(source: str) -> list[str]:
    """Every old path the source imports or names in a string (a lazy registry or a monkeypatch target)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name in MOVED]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module in MOVED:
                found.append(node.module)
            elif node.module == "causal_core":
                found += [f"causal_core.{alias.name}" for alias in node.names if f"causal_core.{alias.name}" in MOVED]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [match.group(0) for match in OLD_PATTERN.finditer(node.value)]
    return found


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_the_old_path_warns_and_is_the_moved_module_itself(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{re.escape(old)} moved to {re.escape(new)}"):
        alias = importlib.import_module(old)
    assert alias is importlib.import_module(new)
    assert sys.modules[old] is sys.modules[new]


def test_the_checker_sees_every_way_of_naming_an_old_path():
    old = sorted(MOVED)[0]
    package, _, name = old.rpartition(".")
    source = (f"import {old}\nfrom {old} import x\nfrom {package} import os, {name}\n"
              f"def f():\n    from {old} import y\n"
              f"TARGET = '{old}:THING'\nPATH = '{old.replace('.', '/')}.py'\nfrom {MOVED[old]} import z\n")
    assert old_imports(source) == [old] * 5


def test_no_python_file_in_the_repository_imports_an_old_path():
    offenders = {str(path.relative_to(ROOT)): names for path in _tracked(".py")
                 if (names := old_imports(path.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_no_document_names_an_old_path_outside_the_moved_modules_table():
    offenders = []
    for path in _tracked(".md"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            mapping_row = line.startswith("|") and any(old in line and new in line for old, new in MOVED.items())
            if OLD_PATTERN.search(line) and not mapping_row:
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []


# The CLI's shared helpers moved out of the dispatcher into causal_core.commands.common.
def test_a_helper_read_from_the_dispatcher_warns_and_is_the_moved_one():
    from causal_core import cli
    from causal_core.commands import common

    assert set(common.__all__) == cli.MOVED_TO_COMMON
    for name in sorted(cli.MOVED_TO_COMMON):
        with pytest.warns(DeprecationWarning, match=f"causal_core.cli.{name} moved to causal_core.commands.common"):
            assert getattr(cli, name) is getattr(common, name)
    with pytest.raises(AttributeError):
        cli.no_such_helper  # noqa: B018 - the attribute access is the test


def test_no_python_file_imports_a_helper_from_the_dispatcher():
    from causal_core.cli import MOVED_TO_COMMON

    offenders = []
    for path in _tracked(".py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "causal_core.cli":
                offenders += [f"{path.relative_to(ROOT)}:{alias.name}" for alias in node.names
                              if alias.name in MOVED_TO_COMMON]
    assert offenders == []
