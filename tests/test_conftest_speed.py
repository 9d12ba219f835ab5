"""The test-speed shortcuts in tests/conftest.py must not change what the tests see."""

from __future__ import annotations

from streamlit.components.v2 import manifest_scanner


def test_the_reused_component_scan_equals_a_fresh_scan_and_is_a_copy():
    """The cached answer equals a real scan of the installed packages, and editing one answer leaves the next."""
    fresh = manifest_scanner.scan_component_manifests.__wrapped__()
    first = manifest_scanner.scan_component_manifests()
    assert first == fresh
    first.append(("not a manifest", None))
    assert manifest_scanner.scan_component_manifests() == fresh



CLOCK_FIELDS = {"created_at", "updated_at", "time", "seconds", "elapsed_s", "timings_s"}


def without_clock(value):
    """A saved project without the wall-clock fields (timestamps, measured seconds), which no two builds share."""
    if isinstance(value, dict):
        return {key: without_clock(item) for key, item in value.items() if key not in CLOCK_FIELDS}
    if isinstance(value, list):
        return [without_clock(item) for item in value]
    return value


def test_the_shared_worked_example_equals_a_fresh_build_and_is_a_copy(build_once):
    """`build_once` (tests/conftest.py) serves the files that only read the worked example: what it returns must
    equal a fresh `headless.build_project` (estimates, curve, memo, audit record, analysis rows) in everything
    but the clock, and a test that edits its copy must not change what the next test gets."""
    import json

    from causal_core import headless
    from causal_core.project_file import project_to_json

    fresh_project, fresh_frame = headless.build_project("retention", n=1500)
    project, frame = build_once("retention", n=1500)
    whole = json.loads(project_to_json(project))
    saved = without_clock(whole)
    assert saved == without_clock(json.loads(project_to_json(fresh_project)))
    assert saved["estimation"]["estimates"] and saved["multiverse"]["rows"] and saved["memo"]["deterministic"]
    assert len(json.dumps(saved)) > 0.9 * len(json.dumps(whole))  # only a few small fields were left out
    assert frame.equals(fresh_frame) and list(frame.columns) == list(fresh_frame.columns)
    first = project.model_copy(deep=True)
    project.estimation.estimates[0].estimate += 1.0
    frame.iloc[0, 0] = None
    again, again_frame = build_once("retention", n=1500)
    assert again == first and again_frame.equals(fresh_frame)


def test_a_build_with_progress_is_the_real_one(build_once):
    """A caller that watches the progress messages gets the real build and every message, in order."""
    messages = []
    project, _ = build_once("retention", progress=messages.append, n=1500)
    assert messages[0] == "Approving the example estimand card" and messages[-1] == "Writing the deterministic memo"
    assert len(messages) == 6 and project.memo.deterministic
