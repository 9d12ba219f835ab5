"""``score estimand-card``: the Question page's rubric, headless.

    python -m causal_core score estimand-card --card CARD.json (--dataset NAME | --project P.json) [--format json]

The card is scored against a built-in dataset's fresh project or a saved project (its dictionary
and columns). Every bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from causal_core.commands.common import CliError, add_format_option, emit
from causal_core.commands.score import load_project_and_frame, read_json_file

if TYPE_CHECKING:
    from causal_core.project import EstimandCard


def register_score(kinds: argparse._SubParsersAction) -> None:
    from causal_core.data import builtin_names

    parser = kinds.add_parser("estimand-card", help="score an estimand card JSON with the deterministic rubric")
    parser.add_argument("--card", required=True, help="estimand card JSON file (the 12 N01 fields)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=builtin_names(), help="score against a built-in dataset")
    source.add_argument("--project", help="score against a saved project file (its dictionary and columns)")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def score_payload(card: EstimandCard, project, frame) -> dict[str, Any]:
    """The JSON the command prints: score, max_score and every check with its reason."""
    from causal_core.ai.rubric import score_of
    from causal_core.question import score_estimand_card

    checks = score_estimand_card(card, project, frame)
    score, max_score = score_of(checks)
    return {
        "score": score,
        "max_score": max_score,
        "checks": [
            {"name": c.name, "passed": c.passed, "reason": c.reason, "severity": c.severity} for c in checks
        ],
    }


def _text(payload: dict[str, Any]) -> str:
    lines = [f"estimand card: {payload['score']} / {payload['max_score']}"]
    for item in payload["checks"]:
        mark = "PASS" if item["passed"] else ("WARN" if item["severity"] == "warn" else "FAIL")
        lines.append(f"  {mark}  {item['name']}: {item['reason']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from causal_core.commands.score import artifact_kind
    from causal_core.question import card_from_json_payload

    payload = read_json_file(args.card, "card")  # its errors already name the file
    kind = artifact_kind(payload)
    if kind not in (None, "estimand card"):
        raise CliError(f"{args.card} holds a {kind}, not an estimand card")
    try:
        card = card_from_json_payload(payload)
    except ValueError as error:
        raise CliError(f"{args.card}: {error}") from None
    project, frame = load_project_and_frame(args)
    emit(score_payload(card, project, frame), args.format, text=_text)
    return 0
