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

