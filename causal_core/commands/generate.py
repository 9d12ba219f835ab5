"""``generate``: run one structured task on one model, exactly as the app's draft buttons do."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from causal_core.ai.structured import DecodingSettings
from causal_core.ai.tasks import get_task, task_names
from causal_core.commands.common import CliError, add_format_option, emit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("generate", help="draft an artifact with a model (schema-constrained)")
    parser.add_argument("--model", required=True, help="bundled | HF repo id | path:/folder | endpoint:MODEL@URL")
    parser.add_argument("--task", required=True, choices=task_names())
    parser.add_argument("--brief", help="stakeholder brief (default: the dataset's built-in brief)")
    parser.add_argument("--dataset", default="retention", help="built-in dataset the task reads (default retention)")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--repetition-penalty", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--unconstrained", action="store_true", help="decode without the JSON grammar")
    parser.add_argument("--no-repair", action="store_true", help="skip the one model retry with a repair prompt")
    parser.add_argument("--stream", action="store_true", help="echo the model's text to stderr while it generates")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def settings_from_args(args: argparse.Namespace) -> DecodingSettings:
    values: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("max_new_tokens", "temperature", "top_p", "repetition_penalty", "seed")
        if getattr(args, name) is not None
    }
    values["constrained"] = not args.unconstrained
    values["repair_retry"] = not args.no_repair
    try:
        return DecodingSettings(**values)
    except ValueError as error:
        first = error.errors()[0] if hasattr(error, "errors") else {"loc": ["?"], "msg": str(error)}
        raise CliError(f"bad decoding setting {first['loc'][0]}: {first['msg']}") from None


def task_inputs(task: Any, dataset: str, brief: str | None) -> dict[str, Any]:
    """The task's own input builder on the built-in project (brief overridden), else just the brief."""
    from causal_core.data import builtin_names, project_for_builtin

    if dataset not in builtin_names():
        raise CliError(f"unknown dataset '{dataset}': choose one of {', '.join(builtin_names())}")
    if brief is not None and not brief.strip():
        raise CliError("--brief is empty")
    project, frame = project_for_builtin(dataset)
    if brief is not None:
        project = project.model_copy(update={"brief": brief.strip()})
    if task.build_inputs is None:
        return {"brief": project.brief}
    return task.build_inputs(project, frame)


def run(args: argparse.Namespace) -> int:
    from causal_core import runtime
    from causal_core.runtime import registry

    settings = settings_from_args(args)
    model_key = registry.normalise_key(args.model)  # a user:pass@ in an endpoint URL is never logged or shown
    if model_key.startswith(registry.ENDPOINT_PREFIX):
        registry.parse_endpoint_key(model_key)
    task = get_task(args.task)
    inputs = task_inputs(task, args.dataset, args.brief)
    on_text = (lambda text: print(text, end="", file=sys.stderr, flush=True)) if args.stream else None
    interaction = runtime.run_task(task, inputs, model_key, settings, on_text=on_text)
    if args.stream:
        print(file=sys.stderr)
    payload = {
        "model": interaction.model_id,
        "task": task.name,
        "schema_valid": interaction.schema_valid,
        "repair_stage": interaction.repair_stage,
        "failure_type": interaction.failure_type,
        "error": interaction.error,
        "artifact": interaction.parsed,
        "raw_output": interaction.raw_output,
        "parser_notes": interaction.parser_notes,
        "duration_s": interaction.duration_s,
        "new_tokens": interaction.new_tokens,
        "tokens_per_s": interaction.tokens_per_s,
        "truncated": interaction.truncated,
        "device": interaction.device,
        "dtype": interaction.dtype,
        "decoding": interaction.decoding,
    }
    emit(payload, args.format)
    return 0 if interaction.schema_valid else 1
