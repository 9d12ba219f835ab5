"""Security guarantees that hold for the whole code base (issue 18 §4–§5), checked by reading the code and config.

* No raw-HTML sink: ``unsafe_allow_html``, ``st.html`` and ``components.html``/``iframe`` never appear in the
  app, so user or model text cannot reach one. A use that is static, or whose only argument is an escaping
  builder property-tested with hostile text, must be added to STATIC_HTML_USES with its file, exact line and
  reason; the test then still refuses any other.
* Errors: the browser never gets a traceback (config + app.py's guard), and the guard logs the trace.
* The README's claims about `.streamlit/config.toml` are true.
"""

from __future__ import annotations

import ast
import logging
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py")), *sorted((ROOT / "causal_core").rglob("*.py"))]
# (path relative to the repo, line text) of static raw-HTML uses reviewed by hand; none today.
HTML_USE_REASONS: dict[tuple[str, str], str] = {
    ("app_pages/present.py", "st.html(FULL_SCREEN_CSS)"): "a constant <style> written in the page, no data",
    ("app_pages/present.py", "st.html(embedded_slide_html(slide, index, total, notes=show_notes))"):
        "present.html escapes every text (safe_text.escape_html) and shows the allow-listed SVG as a data-URI "
        "image; tests/test_present.py::test_the_app_pages_embedded_slide_renders_inert feeds it hostile text",
}
STATIC_HTML_USES: set[tuple[str, str]] = set(HTML_USE_REASONS)
HTML_SINK_CALLS = {"html", "iframe"}  # st.html, components.html, components.iframe


def _sinks(path: Path, root: Path = ROOT) -> list[str]:
    """Every raw-HTML sink in one file: unsafe_allow_html with anything but False, st.html, components.html."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        where = f"{path.relative_to(root)}:{node.lineno}"
        for keyword in node.keywords:
            if keyword.arg == "unsafe_allow_html" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append(f"{where} unsafe_allow_html")
            if keyword.arg is None and "unsafe_allow_html" in ast.unparse(keyword.value):  # smuggled via **kwargs
                found.append(f"{where} unsafe_allow_html via **kwargs")
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in HTML_SINK_CALLS:
            owner = ast.unparse(func.value)
            if owner in {"st", "streamlit"} or owner.endswith("components") or owner.endswith("components.v1"):
                found.append(f"{where} {owner}.{func.attr}")
    return [item for item in found
            if (str(path.relative_to(root)), lines[int(item.split(":")[1].split()[0]) - 1].strip()) not in STATIC_HTML_USES]


def _imported_html_functions(path: Path, root: Path = ROOT) -> list[str]:
    """``from streamlit.components.v1 import html`` then ``html(...)`` would dodge the attribute check."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(root)}:{node.lineno} imports {alias.name} from {node.module}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("streamlit")
        for alias in node.names
        if alias.name in HTML_SINK_CALLS
    ]


def test_no_raw_html_sink_can_receive_user_or_model_text():
    problems = [problem for path in SOURCES for problem in (*_sinks(path), *_imported_html_functions(path))]
    assert problems == [], "raw-HTML sinks (user text could reach them): " + "; ".join(problems)


def test_the_sink_check_catches_every_spelling(tmp_path):
    """The checker itself: each forbidden spelling is found, the safe ones are not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import streamlit as st\nimport streamlit.components.v1 as components\n"
        "st.markdown(name, unsafe_allow_html=True)\n"
        "st.markdown(name, unsafe_allow_html=flag)\n"
        "st.html(name)\n"
        "components.html(name)\n"
        "st.components.v1.iframe(url)\n"
        "st.markdown(name, **{'unsafe_allow_html': True})\n"
        "st.markdown(name, unsafe_allow_html=False)\n"
        "st.markdown(escape_markdown(name))\n",
        encoding="utf-8",
    )
    (tmp_path / "imports.py").write_text("from streamlit.components.v1 import html\n", encoding="utf-8")
    found = _sinks(sample, tmp_path)
    imported = _imported_html_functions(tmp_path / "imports.py", tmp_path)
    assert [item.split(":")[1] for item in found] == ["3 unsafe_allow_html", "4 unsafe_allow_html", "5 st.html",
                                                       "6 components.html", "7 st.components.v1.iframe",
                                                       "8 unsafe_allow_html via **kwargs"]
    assert imported == ["imports.py:1 imports html from streamlit.components.v1"]


def _config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def test_browser_never_gets_a_traceback_from_config():
    from streamlit.config import ShowErrorDetailsConfigOptions

    value = _config()["client"]["showErrorDetails"]
    assert value in {option.value for option in ShowErrorDetailsConfigOptions}
    assert value in {"type", "none"}  # "full" and "stacktrace" send the trace to every browser


def test_readme_config_claims_are_true():
    """README: '.streamlit/config.toml' sets the theme, usage stats and the file watcher."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"Theme, usage stats, file watcher \| `\.streamlit/config\.toml`", readme)
    config = _config()
    assert config["theme"]["base"] == "light"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"]["address"] == "127.0.0.1"


def test_app_runs_every_part_through_the_guard():
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    guarded = {ast.unparse(node.args[0]) for node in ast.walk(tree)
               if isinstance(node, ast.Call) and ast.unparse(node.func) == "run_guarded"}
    assert guarded == {"render_sidebar", "render_model_sidebar", "navigation.run"}
    bare = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call) and ast.unparse(node.value.func) in guarded]
    assert bare == []


@pytest.mark.parametrize(("error", "fragment"), [(ValueError("bad value in treatment"), "bad value in treatment"),
                                                 (KeyError("wt82_71"), "'wt82\\_71'")])
def test_guard_shows_the_message_not_the_trace_and_logs_the_trace(error, fragment, caplog):
    from streamlit.testing.v1 import AppTest

    def script(error):
        from causal_core.ui.errors import run_guarded

        def failing():
            raise error

        run_guarded(failing, "the estimation page", reraise=False)
        import streamlit as st

        st.write("still running")

    with caplog.at_level(logging.ERROR, logger="causal_workbench"):
        at = AppTest.from_function(script, default_timeout=30, args=(error,)).run()
    assert not at.exception
    shown = at.error[0].value
    assert shown.startswith("Something went wrong in the estimation page: ")
    assert fragment in shown and "Traceback" not in shown and "File " not in shown
    assert at.markdown[-1].value == "still running"
    records = [record for record in caplog.records if record.name == "causal_workbench"]
    assert records and records[0].exc_info is not None and records[0].exc_info[1] is error


def test_guard_lets_streamlit_control_flow_through():
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from causal_core.ui.errors import run_guarded

        run_guarded(st.stop, "a page", reraise=False)
        st.write("not reached")

    at = AppTest.from_function(script, default_timeout=30).run()
    assert not at.exception and not at.error and not at.markdown


def test_guard_reraises_when_the_setting_asks_so_page_tests_still_fail(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CW_RERAISE_PAGE_ERRORS", "1")

    def script():
        from causal_core.ui.errors import run_guarded

        def failing():
            raise RuntimeError("page crashed")

        run_guarded(failing, "a page")

    at = AppTest.from_function(script, default_timeout=30).run()
    assert at.exception and not at.error


@pytest.mark.parametrize("value", ["", "0", "yes", "true"])
def test_without_the_setting_a_page_crash_is_one_escaped_line_even_under_apptest(monkeypatch, value):
    """Only the exact value 1 re-raises: the guard does not guess from its surroundings whether it runs in a test."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CW_RERAISE_PAGE_ERRORS", value)

    def script():
        from causal_core.ui.errors import run_guarded

        def failing():
            raise RuntimeError("page <b>crashed</b>")

        run_guarded(failing, "a page")

    at = AppTest.from_function(script, default_timeout=30).run()
    assert not at.exception
    assert [error.value for error in at.error] == [
        "Something went wrong in a page: page \\<b\\>crashed\\</b\\>. Your project is unchanged; the details are in "
        "the server's log."]
