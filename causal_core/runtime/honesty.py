"""What the app says about its models, in one place (honesty about models: docs/models.md).

The bundled 135M model produced 0 usable drafts in 21 tries (timeouts, repetition loops, a card made of
field names), yet the picker called it "Bundled default: works offline on CPU" and partial scores made
nonsense look half-right. Every surface that offers a draft (the draft buttons here, the model picker in
``causal_core.ui.model_picker``) uses these sentences, so the claim is made once and made plainly.
"""

from __future__ import annotations

import math

from causal_core.runtime import registry

BUNDLED_ROLE = registry.BUNDLED_ROLE
BUNDLED_DEMO = (
    "The bundled model is a pipeline demo (135M parameters): it shows the drafting, parsing and scoring steps "
    "offline, but its drafts are not expected to be usable. For a real draft replay a recorded draft (where "
    "offered) or choose an endpoint or a larger local model in the sidebar."
)


def is_bundled(model_key: str) -> bool:
    return registry.key_source(model_key) == "bundled"


def expected_seconds(max_new_tokens: int, tokens_per_s: float) -> float | None:
    """Worst-case generation time at the measured speed (None before anything was measured)."""
    if tokens_per_s <= 0 or not math.isfinite(tokens_per_s):
        return None
    return max_new_tokens / tokens_per_s


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def before_draft_line(max_new_tokens: int, tokens_per_s: float, time_limit_s: float | None) -> str:
    """What the analyst reads before a draft starts: the time limit and the expected duration.

    The expected duration comes from the speed this model's session measured on its last draft; before
    the first draft it is unknown, and the line says so rather than guessing.
    """
    expected = expected_seconds(max_new_tokens, tokens_per_s)
    speed = (f"up to {_duration(expected)} for {max_new_tokens} tokens at the measured {tokens_per_s:.1f} tokens/s"
             if expected is not None else f"duration unknown until this model's first draft ({max_new_tokens} tokens max)")
    limit = f"; stopped at the time limit of {_duration(time_limit_s)}" if time_limit_s else ""
    return f"Expected: {speed}{limit}."
