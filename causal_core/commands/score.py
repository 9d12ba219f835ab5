"""``score``: run an artifact rubric headlessly. Sub-commands live in ``_score_*.py`` modules.

    python -m causal_core score {estimand-card,dag,profile,memo} --card/--dag/--review/--memo FILE
        (--dataset NAME | --project P.json) [--format json|text]

Every sub-command prints the same JSON (``score``, ``max_score``, ``checks``). A bad input (a missing or
unreadable file, invalid JSON, another artifact kind, an unknown dataset, a project without what the rubric
needs) is one line on stderr and exit status 2; a file's content is never echoed back, only its path.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
from typing import Any

import causal_core.commands as commands_package
from causal_core.commands.common import CliError

MAX_ARTIFACT_BYTES = 10 * 1_048_576  # a card, DAG draft, review or memo is a few kB; anything near this is not one

# The keys that give each artifact kind away, so a DAG handed to `score memo` is named, not half-scored.
KIND_KEYS: dict[str, set[str]] = {
    "estimand card": {"causal_question", "business_question", "estimand", "control_condition", "target_population"},
    "DAG draft": {"edges"},
    "profile review": {"dataset_grain", "candidate_treatment", "pre_treatment_covariates", "leakage_risks"},
    "memo": {"main_estimate", "key_diagnostic", "main_limitation", "recommendation", "interpretation"},
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("score", help="score an AI artifact with its deterministic rubric")
    kinds = parser.add_subparsers(dest="artifact", metavar="ARTIFACT")
    for module_info in sorted(pkgutil.iter_modules(commands_package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_score_"):
            importlib.import_module(f"causal_core.commands.{module_info.name}").register_score(kinds)


def read_json_file(path: str, what: str) -> Any:
    """A JSON file's value, or CliError naming the path and the problem (never the content)."""
    from causal_core.safe_io import parse_guarded, read_input_bytes

    payload = read_input_bytes(path, what, max_bytes=MAX_ARTIFACT_BYTES)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{what} file {path} is not UTF-8 text") from None
    if not text.strip():
        raise CliError(f"{what} file {path} is empty")
    try:
        return parse_guarded(lambda: json.loads(text), f"{what} file {path}")
    except json.JSONDecodeError as error:
        raise CliError(
            f"{what} file {path} is not valid JSON: line {error.lineno}, column {error.colno} ({error.msg})"
        ) from None


def artifact_kind(payload: Any) -> str | None:
    """Which artifact a JSON object looks like (the kind sharing the most keys), or None."""
    if not isinstance(payload, dict):
        return None
    keys = set(payload)
    best = max(KIND_KEYS, key=lambda kind: len(KIND_KEYS[kind] & keys))
    return best if KIND_KEYS[best] & keys else None


def require_kind(payload: Any, expected: str, path: str) -> dict[str, Any]:
    """The payload as an object of the ``expected`` kind, or CliError saying what the file holds instead."""
    if not isinstance(payload, dict):
        raise CliError(f"{path} must hold a JSON object (a {expected}), not a JSON {type(payload).__name__}")
    kind = artifact_kind(payload)
    if kind is None:
        raise CliError(f"{path} holds none of a {expected}'s fields")
    if kind != expected:
        raise CliError(f"{path} holds a {kind}, not a {expected}")
    return payload


def load_project_and_frame(args: argparse.Namespace):
    """(project, rows) for ``--dataset`` (a fresh built-in) or ``--project`` (rows regenerated or None)."""
    from causal_core.data import DataError, project_for_builtin, rebind_data
    from causal_core.project_file import ProjectFileError

    if getattr(args, "dataset", None):
        return project_for_builtin(args.dataset)
    from causal_core.commands.project import load_project_file

    try:
        project = load_project_file(args.project)
    except ProjectFileError as error:
        raise CliError(f"{args.project}: {error}") from None
    try:
        frame = rebind_data(project)
    except DataError:
        frame = None  # an upload's rows are not stored: the rubric uses the recorded columns and dictionary
    return project, frame


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    from causal_core.data import builtin_names

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=builtin_names(), help="score against a built-in dataset")
    source.add_argument("--project", help="score against a saved project file")


def checks_payload(checks: list) -> dict[str, Any]:
    """The JSON every `score` sub-command prints: score, max_score and each check with its reason."""
    from causal_core.ai.rubric import score_of

    score, max_score = score_of(checks)
    return {
        "score": score,
        "max_score": max_score,
        "checks": [{"name": c.name, "passed": c.passed, "reason": c.reason, "severity": c.severity} for c in checks],
    }


def text_report(title: str, payload: dict[str, Any]) -> str:
    lines = [f"{title}: {payload['score']} / {payload['max_score']}"]
    for item in payload["checks"]:
        mark = "PASS" if item["passed"] else ("WARN" if item["severity"] == "warn" else "FAIL")
        lines.append(f"  {mark}  {item['name']}: {item['reason']}")
    return "\n".join(lines)
