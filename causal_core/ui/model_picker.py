"""Sidebar model picker: choose a model, see whether it can run here, load/unload it, set decoding.

Sessions are obtained through ``st.cache_resource`` (shared by every browser session of this server)
which delegates to the Streamlit-free cache in ``causal_core.runtime.sessions``; a cached entry is
validated against that registry, and unloading clears exactly that entry. ``st.session_state`` holds
only keys and plain settings (``cw_model_key``, ``cw_decoding``, ``cw_load_options``), never models.

Class mode (docs/security.md): loading, trusting remote code and adding a folder or endpoint go through
``unload_guard.instructor_allows``; an endpoint must pass ``endpoint_policy.check_endpoint`` (refused forms in
every mode, the allow-list in class mode) and a folder ``endpoint_policy.check_model_folder`` before it is
added; a student who picks a local model that is not loaded drafts with the class endpoint (or a loaded model,
or the bundled one) instead, so a draft never loads a large model on the server.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import streamlit as st

from causal_core import runtime
from causal_core.ai.structured import DecodingSettings
from causal_core.runtime import devices, endpoint, endpoint_policy, registry, sessions
from causal_core.runtime.types import ENDPOINT_ENV_API_KEY, ENDPOINT_ENV_BASE_URL
from causal_core.safe_text import code_span, escape_markdown
from causal_core.ui.ai import DECODING_KEY, MODEL_KEY, draft_artifact
from causal_core.ui.model_loading import LOAD_OPTIONS_KEY, load_model, load_options, unload_session
from causal_core.ui.unload_guard import instructor_allows, render_instructor_field, render_unload

CUSTOM_KEYS = "cw_custom_models"
LOAD_MESSAGE_KEY = "cw_load_message"
PENDING_KEY = "cw_pending_model"
# {base_url: API key} the analyst typed for endpoints they added. Session only: never in the Project, so
# never in a saved project or an export; the class key (CW_ENDPOINT_API_KEY) never goes to these URLs.
ENDPOINT_KEYS = "cw_endpoint_keys"
NOTICE_KEY = "cw_endpoint_notice"



# ----------------------------------------------------------------------------------------- caching


@st.cache_data(ttl=30, show_spinner=False)
def _model_rows(extra_keys: tuple[str, ...], keys_fingerprint: str = "") -> list[dict[str, Any]]:
    """Listing + endpoint probes; ``keys_fingerprint`` keeps a probe made with one session's key its own."""
    return [info.model_dump() for info in runtime.list_models(list(extra_keys))]


def _keys_fingerprint() -> str:
    keys = sorted((st.session_state.get(ENDPOINT_KEYS) or {}).items())
    return hashlib.sha256(repr(keys).encode()).hexdigest()[:16] if keys else ""


# ------------------------------------------------------------------------------------------ widgets


def _label(row: dict[str, Any]) -> str:
    mark = "✓" if row["available"] else "✗"
    tier = f" · {row['tier']}" if row.get("tier") else ""
    return f"{mark} {row['label']}{tier}"


def _render_custom_inputs() -> None:
    with st.expander("Add a local folder or endpoint", expanded=False):
        folder = st.text_input("Model folder (absolute path)", key="cw_add_folder",
                               help="A folder with config.json and *.safetensors (or a *.gguf file).")
        if st.button("Add folder", key="cw_add_folder_button") and folder.strip():
            _add_folder(folder)
        base_url = st.text_input("Endpoint base URL", key="cw_add_endpoint_url", placeholder="http://host:8000/v1")
        name = st.text_input("Endpoint model name", key="cw_add_endpoint_model", placeholder="Qwen/Qwen2.5-7B-Instruct")
        api_key = st.text_input("Endpoint API key (optional)", key="cw_add_endpoint_key", type="password",
                                help="Kept in this browser session only: never saved in the project or an export.")
        st.caption(_key_rule())
        if st.button("Add endpoint", key="cw_add_endpoint_button"):
            _add_endpoint(name, base_url, api_key)


def _add_folder(folder: str) -> None:
    """Refused forms and class-mode roots first (one fixed message outside the roots), then the password."""
    try:
        resolved = endpoint_policy.check_model_folder(folder)
    except endpoint_policy.EndpointRefused as error:
        st.error(f"Folder refused: {escape_markdown(error)}. Nothing was added.")
        return
    if instructor_allows("Adding a model folder"):
        _add_custom(registry.path_key(resolved))


def _add_endpoint(name: str, base_url: str, api_key: str) -> None:
    """The URL policy (every mode), the class allow-list, then the password; nothing is probed before that."""
    try:
        if not name.strip():
            raise ValueError("the endpoint model name is empty")
        if "@" in name or any(ord(ch) < 0x20 for ch in name):
            raise ValueError("the endpoint model name may not contain '@' or control characters")
        clean_url = endpoint_policy.check_endpoint(base_url)
        key = registry.endpoint_key(name, clean_url)
        registry.parse_endpoint_key(key)
    except ValueError as error:
        st.error(f"Endpoint refused: {escape_markdown(error)}. Nothing was added.")
        return
    if instructor_allows("Adding an endpoint"):
        _remember_key(clean_url, api_key)
        _add_custom(key)


def _key_rule() -> str:
    configured = os.environ.get(ENDPOINT_ENV_BASE_URL, "").strip()
    rule = "A key typed here stays in this browser session and goes only to this endpoint."
    if configured and os.environ.get(ENDPOINT_ENV_API_KEY, "").strip():
        rule += (f" The class key (`{ENDPOINT_ENV_API_KEY}`) is sent only to "
                 f"{code_span(registry.strip_credentials(configured))}.")
    return rule


def _remember_key(base_url: str, api_key: str) -> None:
    """Session-only key for this endpoint (an empty field forgets a key typed before)."""
    keys = dict(st.session_state.get(ENDPOINT_KEYS) or {})
    if api_key.strip():
        keys[base_url] = api_key.strip()
    else:
        keys.pop(base_url, None)
    st.session_state[ENDPOINT_KEYS] = keys
    endpoint.use_session_keys(keys)


def _add_custom(key: str) -> None:
    keys = list(st.session_state.get(CUSTOM_KEYS, []))
    if key not in keys:
        keys.append(key)
    st.session_state[CUSTOM_KEYS] = keys
    st.session_state[MODEL_KEY] = key
    st.session_state[PENDING_KEY] = key  # the picker widget already exists in this run: select it on the next
    _model_rows.clear()
    st.rerun()


def _render_availability(row: dict[str, Any]) -> None:
    if row.get("role"):
        st.caption(f"**{row.get('tier') or row['source']}** — {row['role']}")
    # endpoint and folder reasons carry a server's words or a typed path: shown as text, never as Markdown
    reason = escape_markdown(row["reason"]) if row["source"] in ("endpoint", "path") else row["reason"]
    if row["available"]:
        st.caption(f"✓ {reason}")
    else:
        st.warning(reason)
        if row.get("fetch_command"):
            st.code(row["fetch_command"], language="bash")
    if row.get("memory_note"):
        (st.caption if row.get("fits_memory", True) else st.warning)(f"Memory: {row['memory_note']}")
    if row.get("gated_note"):
        st.info(row["gated_note"])


def _render_load_options(row: dict[str, Any]) -> dict[str, Any]:
    options = load_options()
    with st.expander("Load options", expanded=False):
        device_choices = ["auto", *devices.available_devices()]
        device = st.selectbox("Device", device_choices, key="cw_device",
                              index=device_choices.index(options["device"]) if options["device"] in device_choices else 0,
                              help="auto: cuda → mps → cpu")
        dtype = st.selectbox("Precision", list(devices.DTYPES), key="cw_dtype",
                             help="auto: bfloat16 on CUDA when supported, else float16; float32 on CPU")
        resolved = devices.detect_device() if device == "auto" else device
        quant_choices = devices.quantisation_options(resolved)
        quantisation = st.selectbox("Quantisation", quant_choices, key="cw_quantisation",
                                    help="8/4-bit (bitsandbytes) is offered only on a CUDA GPU with bitsandbytes installed")
        trust = st.checkbox("Trust remote code for this model", key=f"cw_trust_{row['key']}", value=False,
                            help="Runs Python shipped with the model. Only for sources you trust.")
    options = {"device": device, "dtype": dtype, "quantisation": quantisation, "trust_remote_code": trust}
    st.session_state[LOAD_OPTIONS_KEY] = options
    return options


def _render_decoding() -> None:
    current = DecodingSettings(**(st.session_state.get(DECODING_KEY) or {}))
    with st.expander("Decoding settings", expanded=False):
        temperature = st.slider("Temperature (0 = greedy)", 0.0, 2.0, float(current.temperature), 0.05, key="cw_temperature")
        max_new_tokens = st.number_input("Max new tokens", 16, 8192, int(current.max_new_tokens), 50, key="cw_max_new_tokens")
        top_p = st.slider("Top-p", 0.05, 1.0, float(current.top_p), 0.05, key="cw_top_p", disabled=temperature == 0)
        repetition_penalty = st.slider("Repetition penalty", 1.0, 2.0, float(current.repetition_penalty), 0.05,
                                       key="cw_repetition_penalty")
        if repetition_penalty >= 1.3:
            st.caption("⚠ A penalty ≥ 1.3 drove the bundled model into running to max_new_tokens (truncated JSON).")
        seed = st.number_input("Seed", 0, 2**31 - 1, int(current.seed), 1, key="cw_seed")
        constrained = st.checkbox("Constrain to the JSON schema (local models)", value=current.constrained,
                                  key="cw_constrained")
        repair_retry = st.checkbox("One repair retry if parsing fails", value=current.repair_retry, key="cw_repair_retry")
    st.session_state[DECODING_KEY] = DecodingSettings(
        temperature=temperature, max_new_tokens=int(max_new_tokens), top_p=top_p,
        repetition_penalty=repetition_penalty, seed=int(seed), constrained=constrained, repair_retry=repair_retry,
    ).model_dump()


def _render_sessions() -> None:
    loaded = runtime.loaded_sessions()
    if not loaded:
        st.caption("No model loaded. The first draft loads the selected model (the bundled one takes ~20 s).")
        return
    st.markdown("**Loaded sessions**")
    for index, row in enumerate(loaded):
        busy = (f" · generating for {escape_markdown(row.get('busy_with') or 'a request')}"
                + (f", {row['waiting']} waiting" if row.get("waiting") else "") if row["busy"] else "")
        st.caption(f"`{row['model_key']}` — {row['device']} · {row['dtype']} · {row['quantisation']} · "
                   f"{row['memory_gb']:.2f} GB · loaded {row['loaded_at']} in {row['load_seconds']:.1f} s · "
                   f"{row['generations']} call(s){busy}")
        if render_unload(index, row):  # instructor password / busy checks: causal_core/ui/unload_guard.py
            unload_session(row["model_key"], row["session_key"])
            st.session_state[LOAD_MESSAGE_KEY] = f"Unloaded `{row['model_key']}`."
            st.rerun()


def _render_quick_test(model_key: str) -> None:
    if st.button("Test generation", key="cw_quick_test", help="A tiny schema-constrained task on the selected model"):
        from causal_core.runtime.smoke import SMOKE_TASK

        interaction = draft_artifact(SMOKE_TASK, {})
        if interaction.schema_valid:
            st.success(f"Schema-valid in {interaction.duration_s:.1f} s ({interaction.tokens_per_s:.1f} tokens/s)")
            st.json(interaction.parsed)
        else:
            st.error(escape_markdown(f"{interaction.failure_type}: {interaction.error}"))


def _class_mode_model(choice: str, by_key: dict[str, dict[str, Any]]) -> str:
    """The model drafts use: the choice, except in class mode a local model nobody loaded (drafting would load it)."""
    if not endpoint_policy.class_mode() or by_key[choice]["source"] == "endpoint" \
            or sessions.find_session(choice) is not None:
        return choice
    configured = registry.configured_endpoint()
    loaded = [row["model_key"] for row in sessions.loaded_sessions()]
    fallback = configured if configured in by_key else (loaded[0] if loaded else registry.BUNDLED_KEY)
    if fallback != choice:
        st.caption(f"{code_span(choice)} is not loaded; on this class server only the instructor loads models. "
                   f"Drafts use {code_span(fallback)}.")
    return fallback


def render_model_sidebar() -> None:
    """The sidebar's Model section (app.py calls this on every run)."""
    endpoint.use_session_keys(st.session_state.get(ENDPOINT_KEYS) or {})  # this session's typed keys only
    with st.sidebar:
        st.markdown("### Model")
        notice = st.session_state.pop(NOTICE_KEY, None)
        if notice:
            st.info(notice)
        render_instructor_field()  # before the registry: Model lab runs need it even if the listing fails
        try:
            rows = _model_rows(tuple(st.session_state.get(CUSTOM_KEYS, [])), _keys_fingerprint())
        except Exception as error:  # noqa: BLE001 - a broken registry scan must not take the app down
            st.error(f"The model registry could not be read: {type(error).__name__}: {error}")
            return
        by_key = {row["key"]: row for row in rows}
        keys = list(by_key)
        current = st.session_state.get(MODEL_KEY, registry.BUNDLED_KEY)
        if current not in by_key:
            current = registry.BUNDLED_KEY if registry.BUNDLED_KEY in by_key else keys[0]
        pending = st.session_state.pop(PENDING_KEY, None)
        if pending in by_key:
            st.session_state["cw_model_select"] = pending
        elif st.session_state.get("cw_model_select") not in by_key:
            st.session_state["cw_model_select"] = current
        choice = st.selectbox("Model", keys, key="cw_model_select", format_func=lambda key: _label(by_key[key]))
        st.session_state[MODEL_KEY] = _class_mode_model(choice, by_key)
        row = by_key[choice]
        _render_availability(row)
        _render_custom_inputs()
        if row["source"] != "endpoint":
            options = _render_load_options(row)
            clicked = st.button("Load model", key="cw_load_model", disabled=not row["available"], width="stretch")
            if clicked and load_model(choice, options) is not None:
                st.session_state[LOAD_MESSAGE_KEY] = f"`{choice}` is loaded and ready."
        else:
            st.caption("Endpoints need no loading; each call goes to the server.")
        message = st.session_state.pop(LOAD_MESSAGE_KEY, None)
        if message:
            st.success(message)
        _render_decoding()
        _render_sessions()
        _render_quick_test(choice)
