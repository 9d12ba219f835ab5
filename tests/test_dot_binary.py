"""The dot resolver: pip's graphviz-pure found beside the interpreter, a system dot as fallback, clear failures."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from causal_core import dag, dag_io
from causal_core.dag import dot_binary
from causal_core.dag.layout import dot_positions, layered_layout

needs_dot = pytest.mark.skipif(not dot_binary.dot_available(), reason="no dot program (pip install graphviz-pure)")


def _fake_program(folder: Path, name: str) -> Path:
    """An executable shell script named like a dot program (only its path is looked at)."""
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_pip_dot_beside_the_interpreter_wins_over_a_system_dot(tmp_path, monkeypatch):
    venv_bin, system_bin = tmp_path / "venv-bin", tmp_path / "usr-bin"
    venv_bin.mkdir(), system_bin.mkdir()
    pip_dot = _fake_program(venv_bin, dot_binary.PIP_DOT_NAME)
    _fake_program(system_bin, dot_binary.SYSTEM_DOT_NAME)
    monkeypatch.setattr(dot_binary, "_interpreter_script_dirs", lambda: [venv_bin])
    monkeypatch.setenv("PATH", str(system_bin))
    assert dot_binary.find_dot() == str(pip_dot)


def test_a_system_dot_on_path_is_used_when_pip_has_none(tmp_path, monkeypatch):
    empty, system_bin = tmp_path / "venv-bin", tmp_path / "usr-bin"
    empty.mkdir(), system_bin.mkdir()
    system_dot = _fake_program(system_bin, dot_binary.SYSTEM_DOT_NAME)
    monkeypatch.setattr(dot_binary, "_interpreter_script_dirs", lambda: [empty])
    monkeypatch.setenv("PATH", str(system_bin))
    assert dot_binary.find_dot() == str(system_dot)


def test_no_dot_anywhere_is_a_clear_error_and_layout_falls_back_to_causal_depth(tmp_path, monkeypatch):
    monkeypatch.setattr(dot_binary, "_interpreter_script_dirs", lambda: [tmp_path])
    monkeypatch.setenv("PATH", str(tmp_path))
    assert dot_binary.find_dot() is None and not dag_io.dot_available()
    with pytest.raises(dot_binary.DotNotFound, match="pip install graphviz-pure"):
        dot_binary.run_dot("digraph { a -> b }", "json0")
    laid, message = layered_layout(dag.default_dag("retention"))
    assert "causal depth" in message and "not found" in message
    assert all(node.x is not None and node.y is not None for node in laid.nodes)
    with pytest.raises(dag_io.DotUnavailable, match="DOT export still works"):
        dag_io.to_svg(dag.default_dag("retention"))


@pytest.mark.parametrize("fmt", ["svg -o /tmp/x", "../svg", "", "json0;rm"])
def test_an_output_format_is_a_bare_word_never_an_extra_argument(fmt):
    with pytest.raises(ValueError, match="Not a Graphviz output format"):
        dot_binary.run_dot("digraph { a }", fmt)


@needs_dot
def test_dot_rejecting_a_graph_is_a_dot_unavailable_message_not_a_crash(monkeypatch):
    monkeypatch.setattr(dag_io.dot, "to_dot", lambda spec, title=None: "digraph { a -> ")
    with pytest.raises(dag_io.DotUnavailable, match="could not draw the graph"):
        dag_io.to_svg(dag.default_dag("retention"))


@needs_dot
def test_dot_layers_the_retention_dag_left_to_right_along_its_edges():
    """rankdir=LR: every edge's target sits right of its source (bidirected edges are unconstrained)."""
    spec = dag.default_dag("retention")
    positions = dot_positions(spec)
    assert set(positions) == {node.name for node in spec.nodes}
    assert all(positions[edge.target][0] > positions[edge.source][0] for edge in spec.edges)


@needs_dot
def test_the_svg_comes_from_the_resolved_program_and_names_every_node():
    spec = dag.default_dag("retention")
    svg = dag_io.to_svg(spec, "Candidate DAG")
    assert svg.count('class="node"') == len(spec.nodes) and svg.count('class="edge"') == len(spec.edges)


@needs_dot
def test_run_dot_returns_the_layout_json_for_a_two_node_graph():
    layout = json.loads(dot_binary.run_dot("digraph { a -> b }", "json0"))
    names = {item["name"] for item in layout["objects"]}
    assert names == {"a", "b"} and len(layout["edges"]) == 1


def test_the_app_finds_the_pip_dot_without_an_activated_venv():
    """`.venv/bin/streamlit run app.py` leaves PATH alone: the resolver looks beside the interpreter."""
    if not any((folder / dot_binary.PIP_DOT_NAME).exists() for folder in dot_binary._interpreter_script_dirs()):
        pytest.skip("graphviz-pure is not installed in this interpreter's environment")
    code = "from causal_core.dag.dot_binary import find_dot; print(find_dot())"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                               env={**os.environ, "PATH": "/nonexistent"}, cwd=Path(__file__).resolve().parents[1], check=True)
    assert completed.stdout.strip().endswith(dot_binary.PIP_DOT_NAME)
