"""One base class for every error that means "the user's input cannot be used", so callers can tell it from a bug.

Why: the CLI used to catch any ``ValueError``/``KeyError``/``OSError`` as "bad input", so a bug inside a command
(a ``KeyError`` from a renamed dict key) printed as if the user had typed something wrong and exited with status 2.
Every stage's input error (``DataError``, ``DagFormatError``, ``EstimationError``, ``ProjectFileError``,
``LabError``, ``CliError`` …) subclasses :class:`WorkbenchInputError`; the CLI reports those (and file-system
errors on paths the user named) in one line with status 2, and anything else as an internal error with status 1.
It stays a ``ValueError`` so code that caught the old classes as ``ValueError`` keeps working.
A leaf module: it imports nothing from the workbench.
"""

from __future__ import annotations


class WorkbenchInputError(ValueError):
    """Input the workbench refuses (a file, an argument, a typed name, a model's answer); the message says what
    to fix and is shown to the user as it is."""


__all__ = ["WorkbenchInputError"]
