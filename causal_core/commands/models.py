"""``models``: every model the app knows, whether it is present here, and how to get it if not."""

from __future__ import annotations

import argparse
from typing import Any

from causal_core.commands.common import add_format_option, emit
from causal_core.errors import WorkbenchInputError
from causal_core.runtime import endpoint_policy, registry


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list models: bundled, the N01 ladder, HF cache, folders, endpoints")
    parser.add_argument("--path", action="append", default=[], metavar="FOLDER",
                        help="also describe a local model folder (repeatable)")
    parser.add_argument("--endpoint", action="append", default=[], metavar="MODEL@BASE_URL",
                        help="also describe an OpenAI-compatible endpoint, e.g. qwen@http://host:8000/v1 (repeatable)")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def _record(info: registry.ModelInfo) -> dict[str, Any]:
    return {
        "id": info.key,
        "label": info.label,
        "tier": info.tier,
        "role": info.role,
        "source": info.source,
        "available": info.available,
        "size_bytes": info.size_bytes,
        "size_gb": round(info.size_bytes / 1e9, 2) if info.size_bytes else None,
        "reason": info.reason,
        "fetch_command": info.fetch_command,
        "gated_note": info.gated_note,
        "est_memory_gb": info.est_memory_gb,
        "fits_memory": info.fits_memory,
        "memory_note": info.memory_note,
        "architecture": info.architecture,
        "model_class": info.model_class,
    }


def _text(records: list[dict[str, Any]]) -> str:
    lines = []
    for row in records:
        mark = "✓" if row["available"] else "✗"
        size = f"{row['size_gb']:.2f} GB" if row["size_gb"] else "-"
        lines.append(f"{mark} {row['id']}  [{row['source']}; {row['tier'] or '-'}]  {size}")
        if row["role"]:
            lines.append(f"    role: {row['role']}")
        lines.append(f"    {row['reason']}")
        if row["fetch_command"]:
            lines.append(f"    fetch: {row['fetch_command']}")
        if row["memory_note"]:
            lines.append(f"    memory: {row['memory_note']}")
        if row["gated_note"]:
            lines.append(f"    licence: {row['gated_note']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    extra = [registry.path_key(folder) for folder in args.path]
    for value in args.endpoint:
        model, sep, base_url = value.partition("@")
        if not sep:
            raise WorkbenchInputError(f"--endpoint must look like MODEL@BASE_URL, got '{value}'")
        clean = endpoint_policy.check_endpoint(base_url)  # ?, #, user:pass@, schemes; the class allow-list
        extra.append(registry.endpoint_key(model, clean))
        registry.parse_endpoint_key(extra[-1])  # one-line error for a malformed key
    records = [_record(info) for info in registry.list_models(extra)]
    emit(records, args.format, _text)
    return 0
