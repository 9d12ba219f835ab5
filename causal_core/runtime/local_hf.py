"""Loading and generating with local Hugging Face models (transformers), offline only.

Every ``from_pretrained`` call passes ``local_files_only=True``: a missing file is a specific message,
never a silent download. The bundled SmolLM2 is a GGUF file that transformers de-quantises (needs
``gguf``); other models load with the Auto class their config.json ``architectures`` calls for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from causal_core.runtime import devices, gguf_cache, registry
from causal_core.runtime.registry import ModelSpec
from causal_core.runtime.types import GenerationOutput, ModelUnavailable

Progress = Callable[[float, str], None]


DECODING_KEYS = ("do_sample", "temperature", "top_p", "top_k", "repetition_penalty", "no_repeat_ngram_size",
                 "max_new_tokens", "num_beams")


def closed_json(text: str) -> bool:
    """Whether ``text`` is one complete JSON value. Under the grammar an answer whose closing brace is the
    budget's last token is complete, not truncated: only the end-of-sequence token was left unwritten."""
    try:
        json.loads(text, strict=False)  # a raw newline inside a string is still a closed answer
    except ValueError:
        return False
    return True


def effective_decoding(generation_config: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The model's generation_config overridden by the non-None keyword arguments, as generate() merges them."""
    used = {key: getattr(generation_config, key, None) for key in DECODING_KEYS}
    used |= {key: value for key, value in kwargs.items() if key in DECODING_KEYS and value is not None}
    if not used.get("do_sample"):  # greedy: sampling knobs have no effect, whatever the config says
        used |= {"temperature": None, "top_p": None, "top_k": None}
    return {key: value for key, value in used.items() if value is not None}


def _noop(_fraction: float, _message: str) -> None:
    return None


def classify_load_error(error: BaseException, spec: ModelSpec) -> ModelUnavailable:
    """Missing files / out of memory / unsupported architecture / gated, each with a message the UI can show."""
    import torch

    text = f"{type(error).__name__}: {error}"
    lowered = text.lower()
    if isinstance(error, MemoryError | torch.OutOfMemoryError) or "out of memory" in lowered:
        return ModelUnavailable("out_of_memory", f"Out of memory while loading {spec.label}: {str(error)[:300]}. "
                                "Unload other models or pick a smaller one / lower precision.")
    if isinstance(error, FileNotFoundError | EnvironmentError) and (
        "does not appear to have" in lowered or "no such file" in lowered or "local_files_only" in lowered
        or "offline" in lowered or "couldn't connect" in lowered or "not found" in lowered
    ):
        fetch = registry.fetch_command(spec.key) if spec.source in ("ladder", "hf_cache") else ""
        return ModelUnavailable("missing_files", f"Files missing for {spec.label}: {str(error)[:300]}"
                                + (f" Fetch them with `{fetch}`." if fetch else ""), fetch)
    if "gated" in lowered or "401" in lowered or "access to model" in lowered:
        return ModelUnavailable("gated", f"{spec.label} is gated: {str(error)[:300]}")
    if ("unrecognized configuration class" in lowered or "does not recognize this architecture" in lowered
            or "model type" in lowered and "not" in lowered or "trust_remote_code" in lowered
            or isinstance(error, KeyError)):
        return ModelUnavailable("unsupported_architecture",
                                f"{spec.label}: this transformers version cannot load architecture "
                                f"{spec.architecture or '(unknown)'} ({str(error)[:300]}). If the model ships its "
                                "own code, tick 'trust remote code' for it (only for sources you trust).")
    return ModelUnavailable("load_failed", f"Could not load {spec.label}: {text[:400]}")


def load(spec: ModelSpec, plan: devices.LoadPlan, trust_remote_code: bool = False,
         progress: Progress | None = None) -> tuple[Any, Any, str]:
    """(model, tokenizer, auto class name) for a spec under a load plan; raises ModelUnavailable."""
    import transformers

    progress = progress or _noop
    kwargs = devices.from_pretrained_kwargs(plan)
    common = {"local_files_only": True}
    if trust_remote_code:
        common["trust_remote_code"] = True
    try:
        progress(0.05, "reading the tokenizer")
        if spec.gguf_file:
            class_name = "AutoModelForCausalLM"
            model, tokenizer = _load_gguf(spec, kwargs, common, progress, plan)
        else:
            class_name = registry.model_class_for(spec.config.get("architectures"))
            if not class_name and registry.remote_code_causal_lm(spec.config):
                if not trust_remote_code:
                    raise ModelUnavailable("unsupported_architecture",
                                           f"{spec.label}: architecture {spec.architecture or '(none)'} is not built "
                                           "into transformers; the model ships its own code. Tick 'trust remote "
                                           "code' for this model only if you trust its source.")
                class_name = "AutoModelForCausalLM"
            if not class_name:
                raise ModelUnavailable("unsupported_architecture",
                                       f"{spec.label}: architecture {spec.architecture or '(none)'} is not a "
                                       "text-generation model this app can load.")
            tokenizer = transformers.AutoTokenizer.from_pretrained(spec.location, **common)
            progress(0.2, f"loading weights with {class_name} ({plan.dtype}, {plan.device})")
            model = getattr(transformers, class_name).from_pretrained(spec.location, **common, **kwargs)
        if plan.device_map is None and plan.device != "cpu":
            progress(0.9, f"moving the model to {plan.device}")
            model = model.to(plan.device)
        model.eval()
    except ModelUnavailable:
        raise
    except Exception as error:  # noqa: BLE001 - every load failure becomes a specific, classified message
        raise classify_load_error(error, spec) from error
    progress(0.9, "weights loaded")
    return model, tokenizer, class_name


def _load_gguf(spec: ModelSpec, kwargs: dict, common: dict, progress: Progress, plan: devices.LoadPlan) -> tuple[Any, Any]:
    """A GGUF model: from its converted copy when one exists, else de-quantised from the file (then the
    float32 result is saved as that copy, best effort, so the next load takes about a second)."""
    import torch
    import transformers

    folder = gguf_cache.converted_folder(Path(spec.location) / spec.gguf_file, transformers.__version__)
    if gguf_cache.is_complete(folder):
        progress(0.2, f"loading the converted copy of {spec.gguf_file} ({plan.dtype}, {plan.device})")
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, **common)
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, **common, **kwargs)
        return model, tokenizer
    tokenizer = transformers.AutoTokenizer.from_pretrained(spec.location, gguf_file=spec.gguf_file, **common)
    progress(0.2, f"de-quantising {spec.gguf_file} and loading weights ({plan.dtype}, {plan.device})")
    model = transformers.AutoModelForCausalLM.from_pretrained(spec.location, gguf_file=spec.gguf_file, **common, **kwargs)
    if folder is not None and model.dtype == torch.float32 and plan.quantisation == "none":
        progress(0.8, f"saving a converted copy for faster loads ({folder})")
        try:
            gguf_cache.save_converted(model, tokenizer, folder)
        except (OSError, ValueError, RuntimeError) as error:  # a read-only or full disk only costs speed
            progress(0.85, f"could not save the converted copy ({error}); the next load reads the GGUF again")
    return model, tokenizer


# ------------------------------------------------------------------------------------------ generation


def stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    ids: list[int] = []
    for value in (tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None)):
        for token in value if isinstance(value, list | tuple) else [value]:
            if isinstance(token, int) and token not in ids:
                ids.append(token)
    return ids


def vocab_size(model: Any) -> int:
    """Logit width (can exceed len(tokenizer) by padding); multimodal configs keep it in text_config."""
    embeddings = model.get_output_embeddings()
    if embeddings is not None and hasattr(embeddings, "weight"):
        return int(embeddings.weight.shape[0])
    config = getattr(model.config, "text_config", model.config)
    return int(config.vocab_size)


def build_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[dict[str, Any], list[str]]:
    """Chat-template the messages; fold the system message into the user turn if the template rejects it."""
    notes: list[str] = []
    if getattr(tokenizer, "chat_template", None):
        try:
            encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True,
                                                    return_tensors="pt")
            return dict(encoded), notes
        except Exception:  # noqa: BLE001 - e.g. a template that raises on a system role
            merged = [{"role": "user", "content": f"{messages[0]['content']}\n\n{messages[-1]['content']}"}]
            encoded = tokenizer.apply_chat_template(merged, add_generation_prompt=True, return_dict=True,
                                                    return_tensors="pt")
            notes.append("chat template rejected a system message: merged it into the user turn")
            return dict(encoded), notes
    text = "\n\n".join(f"{message['role'].capitalize()}: {message['content']}" for message in messages) + "\n\nAssistant:"
    notes.append("tokenizer has no chat template: used a plain 'System/User/Assistant' prompt")
    return dict(tokenizer(text, return_tensors="pt")), notes


def generate(session: Any, messages: list[dict[str, str]], settings: Any, json_schema: dict | None = None,
             on_text: Callable[[str], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             on_token: Callable[[int, float], None] | None = None,
             time_limit: float | None = None) -> GenerationOutput:
    """One chat completion on a loaded session; call while holding the session's device slot.

    After every token ``on_token(tokens_so_far, elapsed_s)`` is called and the run stops early on
    ``should_stop()``, past ``time_limit`` seconds, or in a repetition loop; ``stop_reason`` says which.
    """
    import torch
    from transformers import StoppingCriteriaList, TextStreamer

    from causal_core.runtime import grammar
    from causal_core.runtime.stopping import MIN_REPEATS, MIN_SPAN, StopMonitor

    model, tokenizer = session.model, session.tokenizer
    encoded, notes = build_prompt(tokenizer, messages)
    first_device = next(model.parameters()).device
    encoded = {name: tensor.to(first_device) for name, tensor in encoded.items()}
    prompt_length = int(encoded["input_ids"].shape[1])
    stops = stop_token_ids(model, tokenizer)
    kwargs: dict[str, Any] = {
        "max_new_tokens": settings.max_new_tokens,
        "eos_token_id": stops,
        "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0],
    }
    if settings.temperature > 0:
        kwargs |= {"do_sample": True, "temperature": settings.temperature, "top_p": settings.top_p, "top_k": 0}
    else:
        kwargs |= {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    if settings.repetition_penalty != 1.0:
        kwargs["repetition_penalty"] = settings.repetition_penalty
    constrained = json_schema is not None
    if constrained:
        compiled = session.grammars.compiled(json_schema)  # compiled once per (tokenizer, schema), cached
        kwargs["logits_processor"] = [grammar.make_logits_processor(compiled, stops[0])]  # fresh per call
    monitor = StopMonitor(prompt_length, should_stop=should_stop, time_limit=time_limit, on_token=on_token)
    kwargs["stopping_criteria"] = StoppingCriteriaList([monitor.criteria()])
    if on_text is not None:

        class Streamer(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                if text:
                    on_text(text)

        kwargs["streamer"] = Streamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    if kwargs.get("do_sample"):
        torch.manual_seed(settings.seed)
        if first_device.type == "cuda":
            torch.cuda.manual_seed_all(settings.seed)
    started = time.perf_counter()
    with torch.inference_mode():
        output = model.generate(**encoded, **kwargs)
    seconds = time.perf_counter() - started
    new = output[0, prompt_length:].tolist()
    del output, encoded
    finished = bool(new) and new[-1] in stops
    reason = "" if finished else monitor.reason
    cancelled = reason == "stopped"
    text = tokenizer.decode(new, skip_special_tokens=True)
    truncated = not finished and not reason and len(new) >= settings.max_new_tokens
    truncated = truncated and not (constrained and closed_json(text))
    if reason == "repetition":
        notes.append(f"stopped after {len(new)} tokens: the last {monitor.period}-token block repeated "
                     f"at least {max(MIN_REPEATS, -(-MIN_SPAN // monitor.period))} times in a row")
    elif reason == "timeout":
        notes.append(f"stopped after {len(new)} tokens at the {time_limit:.0f} s time limit")
    return GenerationOutput(text, len(new), seconds, truncated, cancelled, constrained, notes, reason,
                            effective_decoding(model.generation_config, kwargs))
