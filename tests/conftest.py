"""Shared fixtures: built-in projects and frames are generated once per test session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def retention():
    from causal_core.data import project_for_builtin

    return project_for_builtin("retention")


@pytest.fixture(scope="session")
def support():
    from causal_core.data import project_for_builtin

    return project_for_builtin("support")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
