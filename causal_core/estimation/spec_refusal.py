"""The user's words for a refused EstimationSpec: the validator's own message, without pydantic's framing.

Why: the spec's validators (the formula gate, the bootstrap bound, the repetitions bound) write specific
sentences ("the dunder name '__import__' is not allowed in formulas"), but pydantic wraps them as
"1 validation error for EstimationSpec … Value error, …", which a page would show as a crash.
"""

from __future__ import annotations

from pydantic import ValidationError

VALUE_ERROR_PREFIX = "Value error, "


def refusal_message(error: ValidationError) -> str:
    """The first refused field's message: the validator's exception text, or pydantic's text with the field."""
    first = error.errors()[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, Exception) and str(cause).strip():
        return str(cause).strip()
    message = str(first.get("msg", "")).removeprefix(VALUE_ERROR_PREFIX)
    field = ".".join(str(part) for part in first.get("loc", ())).replace("_", " ")
    return f"{field}: {message}" if field else message
