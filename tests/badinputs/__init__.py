"""The bad-input corpus (issue 18): a generator that writes each hostile or careless file and lists the
message fragment a user must see. tests/test_badinputs.py runs every case through the CLI and the app."""

from tests.badinputs.corpus import CASES, Case, build_all, reference_project  # noqa: F401
