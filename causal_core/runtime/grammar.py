"""Schema-constrained decoding with xgrammar.

Two things keep a small model from running on forever: every string and list in the grammar schema is
bounded (``maxLength`` / ``maxItems`` are added where a task's schema forgot them), and whitespace between
tokens is not free (``any_whitespace=False``). Every property is made required in the *grammar* so a model
cannot satisfy the schema with ``{}``. The logits processor is single-use: build a fresh one per
``generate`` call (its matcher carries state).
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

DEFAULT_MAX_LENGTH = 400
DEFAULT_MAX_ITEMS = 10


def grammar_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of a JSON schema with all properties required and every string/array bounded."""
    result = copy.deepcopy(schema)
    notes: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            kinds = kind if isinstance(kind, list) else [kind]
            if "string" in kinds and "maxLength" not in node and "enum" not in node and "const" not in node:
                node["maxLength"] = DEFAULT_MAX_LENGTH
                notes.append(f"{where}: added maxLength {DEFAULT_MAX_LENGTH}")
            if "array" in kinds and "maxItems" not in node:
                node["maxItems"] = DEFAULT_MAX_ITEMS
                notes.append(f"{where}: added maxItems {DEFAULT_MAX_ITEMS}")
            if isinstance(node.get("properties"), dict):
                node["required"] = list(node["properties"])
                node.setdefault("additionalProperties", False)
            for key, value in node.items():
                walk(value, f"{where}.{key}" if where else key)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(result, "")
    return result, notes


class GrammarCache:
    """Per-session xgrammar compiler (tokenizer info built once) and compiled grammars by schema text."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_token_ids: list[int]) -> None:
        self._tokenizer = tokenizer
        self._vocab_size = vocab_size
        self._stop_token_ids = stop_token_ids
        self._compiler = None
        self._compiled: dict[str, Any] = {}
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Build the tokenizer info once (seconds for a 50k vocabulary), so the first draft does not pay it."""
        import xgrammar as xgr

        with self._lock:
            if self._compiler is None:
                info = xgr.TokenizerInfo.from_huggingface(
                    self._tokenizer, vocab_size=self._vocab_size, stop_token_ids=self._stop_token_ids
                )
                self._compiler = xgr.GrammarCompiler(info)

    def compiled(self, schema: dict[str, Any]) -> Any:
        text = json.dumps(schema)  # property order is the order the model writes fields in
        self.prepare()
        with self._lock:
            if text not in self._compiled:
                self._compiled[text] = self._compiler.compile_json_schema(text, any_whitespace=False, strict_mode=True)
            return self._compiled[text]


def make_logits_processor(compiled_grammar: Any, stop_token_id: int) -> Any:
    """A fresh single-use grammar logits processor (transformers.LogitsProcessor subclass)."""
    import torch
    import xgrammar as xgr
    from transformers import LogitsProcessor

    class GrammarLogitsProcessor(LogitsProcessor):
        """Masks every token the JSON grammar forbids; once the object is complete only EOS is allowed.

        Differs from xgrammar.contrib.hf in two ways that matter for a page that must not crash: a token the
        matcher rejects (possible only if another processor forced it) ends masking instead of asserting,
        and a terminated matcher forces the stop token so generation ends right after the closing brace.
        """

        def __init__(self) -> None:
            self.matcher = xgr.GrammarMatcher(compiled_grammar)
            self.bitmask = xgr.allocate_token_bitmask(1, compiled_grammar.tokenizer_info.vocab_size)
            self.started = False
            self.broken = False

        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            if input_ids.shape[0] != 1:
                raise ValueError("grammar-constrained decoding runs one sequence at a time")
            accepting = self.started and not self.broken and not self.matcher.is_terminated()
            if accepting and not self.matcher.accept_token(int(input_ids[0, -1])):
                self.broken = True
            self.started = True
            if self.broken:
                return scores
            if self.matcher.is_terminated():
                forced = torch.full_like(scores, float("-inf"))
                forced[:, stop_token_id] = 0.0
                return forced
            self.matcher.fill_next_token_bitmask(self.bitmask, 0)
            device = scores.device
            masked = scores if device.type in ("cpu", "cuda") else scores.to("cpu")
            xgr.apply_token_bitmask_inplace(masked, self.bitmask.to(masked.device))
            return masked.to(device)

    return GrammarLogitsProcessor()
