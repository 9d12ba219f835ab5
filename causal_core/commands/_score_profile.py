"""``score profile``: score a DatasetProfileReview JSON with the project-derived rubric.

    python -m causal_core score profile --review REVIEW.json (--dataset NAME | --data FILE
        --dictionary DICT.csv --treatment T --outcome Y [--guardrail G] [--unit a,b]) [--format json]
"""

from __future__ import annotations

import argparse
import json

from causal_core.cli import CliError, add_format_option, emit
from causal_core.commands.audit import add_data_arguments, project_from_args


def register_score(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("profile", help="score a dataset-profile review (N09 §14 rubric, field-aware)")
    parser.add_argument("--review", required=True, metavar="REVIEW.json", help="the review to score")
    add_data_arguments(parser)
    add_format_option(parser)
    parser.set_defaults(handler=run)


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
    return payload


def run(args: argparse.Namespace) -> int:
    from causal_core.profile_review import normalise_review, score_profile_review
    from causal_core.rubric import score_of

    review = normalise_review(_load_review(args.review))
    project, frame = project_from_args(args)
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
