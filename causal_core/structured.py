"""Moved to :mod:`causal_core.ai.structured` (every workflow stage is a package: docs/architecture.md); kept so outside code still imports.

Nothing in this repository imports this path (tests/test_moved_modules.py checks); it warns and hands back the
moved module itself, so attributes and monkeypatches reach the real one.
"""

import importlib
import sys
import warnings

warnings.warn("causal_core.structured moved to causal_core.ai.structured", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = importlib.import_module("causal_core.ai.structured")
