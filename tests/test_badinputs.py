"""The whole bad-input corpus (tests/badinputs) through the CLI (in-process) and the app's sidebar (AppTest).

For every case: the specific message, exit status 2 (or st.error with no exception in the app), nothing
written, the session's projects unchanged, and a saved project that still reopens equal (save → open → equal).
"""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import pytest

from causal_core.cli import main
from causal_core.project_file import project_from_json, project_to_json
from tests.badinputs.corpus import CASES, build_all, case_bytes, reference_project

CLI_CASES = [case for case in CASES if case.cli]
APP_CASES = [case for case in CASES if case.app]
OUTPUT_NAMES = ("memo-out.md", "report-out.zip", "curve-out.json")


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("badinputs")
    return folder, build_all(folder)


def run_cli(argv: list[str]) -> tuple[int, str]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    return code, err.getvalue()


def assert_round_trip(path: Path, saved: bytes) -> None:
    """The saved reference project still opens, equal, and saving it again gives the same file."""
    opened = project_from_json(path.read_bytes())
    assert project_to_json(opened).encode() == saved
    assert project_from_json(project_to_json(opened)) == opened


def test_corpus_covers_every_family_of_the_issue():
    families = {case.family for case in CASES}
    assert {"crash", "non-finite", "bounds", "unbounded work", "misleading message"} <= families
    assert len({case.name for case in CASES}) == len(CASES)
    assert len(CLI_CASES) >= 55 and len(APP_CASES) >= 40


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.name for case in CLI_CASES])
def test_cli_handles_the_case(case, corpus_dir):
    folder, extras = corpus_dir
    path = case.write(folder)
    good_project = Path(extras["good_project"])
    before = good_project.read_bytes()
    for argv in case.argv(path, folder, extras):
        started = time.perf_counter()
        code, stderr = run_cli(argv)
        elapsed = time.perf_counter() - started
        assert elapsed < 15, f"{argv[0]} took {elapsed:.1f} s on {case.name}"
        assert "Traceback" not in stderr
        if case.ok:
            assert code == 0, stderr
            continue
        assert code == 2, f"{argv[0]} on {case.name}: rc={code}, stderr={stderr!r}"
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), stderr
        assert case.fragment in lines[0], f"{argv[0]} on {case.name}: {lines[0]!r}"
    if not case.ok:
        written = [name for name in OUTPUT_NAMES if (path.parent / name).exists()]
        assert written == [], f"a refused input still wrote {written}"
    assert good_project.read_bytes() == before
    assert_round_trip(good_project, before)


def _app_script(cases: list[tuple[str, str, str, bytes]]) -> None:
    import streamlit as st

    from causal_core.project_file import project_from_json, project_to_json
    from causal_core.ui import state
    from causal_core.ui.sidebar import install_opened_project, install_upload

    state.get_project()
    results = []
    for name, kind, filename, payload in cases:
        before = {key: project_to_json(project) for key, project in st.session_state[state._PROJECTS].items()}
        active = state.active_key()
        install = install_upload if kind == "upload" else (lambda payload, _name: install_opened_project(payload))
        message = install(payload, filename)
        after = {key: project_to_json(project) for key, project in st.session_state[state._PROJECTS].items()}
        reopened = all(project_to_json(project_from_json(text)) == text for text in after.values())
        results.append((name, message, before == after and state.active_key() == active, reopened))
    st.session_state["corpus_results"] = results


def test_app_sidebar_handles_every_case(corpus_dir):
    from streamlit.testing.v1 import AppTest

    folder, _ = corpus_dir
    bad = [case for case in APP_CASES if not case.ok]
    payloads = [(case.name, case.app, case.filename, case_bytes(case, folder / "app")) for case in bad]
    started = time.perf_counter()
    at = AppTest.from_function(_app_script, default_timeout=120, args=(payloads,)).run()
    elapsed = time.perf_counter() - started
    assert not at.exception, at.exception
    results = {name: (message, unchanged, reopened) for name, message, unchanged, reopened in
               at.session_state["corpus_results"]}
    shown = [element.value for element in at.error]
    for case in bad:
        message, unchanged, reopened = results[case.name]
        assert message is not None and case.fragment in message, f"{case.name}: {message!r}"
        assert message in shown, f"{case.name}: the message was not shown with st.error"
        assert unchanged, f"{case.name} changed the session's projects"
        assert reopened, f"{case.name}: a session project no longer reopens"
    assert len(shown) == len(bad)
    assert elapsed < 60, f"the app corpus took {elapsed:.1f} s"


def test_app_reads_the_valid_files_it_used_to_refuse(corpus_dir):
    """UTF-16 (by its BOM) and Latin-1 (with a notice) are read, not refused."""
    from streamlit.testing.v1 import AppTest

    def script(payloads):
        import streamlit as st

        from causal_core.ui import state
        from causal_core.ui.sidebar import install_upload

        state.get_project()
        outcomes = []
        for filename, payload in payloads:
            outcomes.append((install_upload(payload, filename), state.active_key(), st.session_state.get(state.FLASH)))
        st.session_state["outcomes"] = outcomes

    folder, _ = corpus_dir
    good = [case for case in APP_CASES if case.ok]
    at = AppTest.from_function(script, default_timeout=60,
                               args=([(case.filename, case_bytes(case, folder / "ok")) for case in good],)).run()
    assert not at.exception and not at.error
    for case, (message, key, flash) in zip(good, at.session_state["outcomes"], strict=True):
        assert message is None
        assert key.startswith(f"upload:{case.filename}:")
        assert "Loaded 40 rows × 3 columns" in flash or "Loaded 42 rows × 4 columns" in flash
        assert case.fragment.replace("-", "\\-") in flash


def test_opening_a_project_keeps_the_work_it_would_replace():
    """A valid project for a dataset that already has work opens beside it; both stay reopenable."""
    from streamlit.testing.v1 import AppTest

    def script(payload):
        import streamlit as st

        from causal_core.ui import state
        from causal_core.ui.sidebar import install_opened_project

        project = state.get_project()
        state.set_project(project.with_edit("overview", "name", project.name, "mine").model_copy(update={"name": "mine"}))
        st.session_state["message"] = install_opened_project(payload)
        st.session_state["keys"] = state.dataset_keys()
        st.session_state["names"] = [p.name for p in st.session_state[state._PROJECTS].values()]

    payload = project_to_json(reference_project()).encode()
    at = AppTest.from_function(script, default_timeout=60, args=(payload,)).run()
    assert not at.exception and at.session_state["message"] is None
    assert at.session_state["keys"] == ["retention", "retention #2"]
    assert at.session_state["names"][0] == "mine"
    assert at.session_state["names"][1] == reference_project().name
    assert at.session_state["cw_active"] == "retention #2"
    assert "opened beside your current work" in at.session_state["cw_flash"]


def test_a_fresh_session_is_replaced_not_duplicated():
    """Without work in the session's project nothing is lost, so the opened project simply takes its place."""
    from streamlit.testing.v1 import AppTest

    def script(payload):
        import streamlit as st

        from causal_core.ui import state
        from causal_core.ui.sidebar import install_opened_project

        state.get_project()
        st.session_state["message"] = install_opened_project(payload)
        st.session_state["keys"] = state.dataset_keys()

    at = AppTest.from_function(script, default_timeout=60, args=(project_to_json(reference_project()).encode(),)).run()
    assert not at.exception and at.session_state["message"] is None
    assert at.session_state["keys"] == ["retention"]
