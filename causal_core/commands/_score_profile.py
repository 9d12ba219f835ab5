"""``score profile``: score a DatasetProfileReview JSON with the project-derived rubric.

    python -m causal_core score profile --review REVIEW.json (--dataset NAME | --project P.json | --data FILE
        --dictionary DICT.csv --treatment T --outcome Y [--guardrail G] [--unit a,b]) [--format json]
"""

from __future__ import annotations

import argparse
import json

from causal_core.commands.audit import add_data_arguments, project_from_args
from causal_core.commands.common import CliError, add_format_option, emit


def register_score(kinds: argparse._SubParsersAction) -> None:

    parser = kinds.add_parser("profile", help="score a dataset-profile review (N09 §14 rubric, field-aware)")
    parser.add_argument("--review", required=True, metavar="REVIEW.json", help="the review to score")
    add_data_arguments(parser, project_option=True)
    add_format_option(parser)
    parser.set_defaults(handler=run)


def _project_and_frame(args: argparse.Namespace):
    """--project: the saved project and its regenerated rows; otherwise the audit command's sources."""
    if not args.project:
        return project_from_args(args)
    from causal_core.commands.score import load_project_and_frame
    from causal_core.data import analysis_frame

    project, frame = load_project_and_frame(args)
    return project, (analysis_frame(project, frame) if frame is not None else None)


def _load_review(path_text: str) -> dict:
    from causal_core.safe_io import parse_guarded, read_input_bytes

    raw = read_input_bytes(path_text, "review", max_bytes=10 * 1_048_576)
    try:
        payload = parse_guarded(lambda: json.loads(raw.decode("utf-8")), f"review file {path_text}")
    except UnicodeDecodeError:
        raise CliError(f"{path_text} is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        raise CliError(f"{path_text} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}).") from None
    if not isinstance(payload, dict):
        raise CliError(f"{path_text} must hold a JSON object with the DatasetProfileReview fields.")
    from causal_core.commands.score import artifact_kind

    kind = artifact_kind(payload)
    if kind not in (None, "profile review"):
        raise CliError(f"{path_text} holds a {kind}, not a profile review")
    return payload


def run(args: argparse.Namespace) -> int:
    from causal_core.ai.rubric import score_of
    from causal_core.audit.profile_review import normalise_review, score_profile_review

    review = normalise_review(_load_review(args.review))
    project, frame = _project_and_frame(args)
    checks = score_profile_review(review, project, frame)
    score, max_score = score_of(checks)
    payload = {
        "score": score,
        "max_score": max_score,
        "checks": [{"name": c.name, "passed": c.passed, "reason": c.reason, "severity": c.severity} for c in checks],
    }
    emit(payload, args.format, text=_text)
    return 0


def _text(payload: dict) -> str:
    lines = [f"Profile review score: {payload['score']} / {payload['max_score']}"]
    for item in payload["checks"]:
        mark = "PASS" if item["passed"] else ("WARN" if item["severity"] == "warn" else "FAIL")
        if item["severity"] == "warn" and item["reason"].startswith("not required"):
            mark = "n/a "
        lines.append(f"  {mark}  {item['name']}: {item['reason']}")
    return "\n".join(lines)
