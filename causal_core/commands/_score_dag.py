"""``score dag``: the DAG draft's rubric of consequences, headless.

    python -m causal_core score dag --dag DRAFT.json (--dataset NAME | --project P.json) [--format json]

With ``--dataset`` the draft is compared with the built-in's default DAG (the analyst's graph) on fresh rows;
with ``--project`` with the project's own DAG and its regenerated rows (an upload without rows: structure only).
"""

from __future__ import annotations

import argparse

from causal_core.commands.common import add_format_option, emit
from causal_core.commands.score import (
    add_source_arguments,
    checks_payload,
    load_project_and_frame,
    read_json_file,
    require_kind,
    text_report,
)


def register_score(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("dag", help="score a DAG draft JSON ({'edges': [...]}) by its consequences")
    parser.add_argument("--dag", required=True, metavar="DRAFT.json", help="the DAG draft to score")
    add_source_arguments(parser)
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from causal_core import dag
    from causal_core.dag.draft import score_dag_draft

    draft = require_kind(read_json_file(args.dag, "DAG draft"), "DAG draft", args.dag)
    project, frame = load_project_and_frame(args)
    if args.dataset and project.dag is None:
        project = project.model_copy(update={"dag": dag.default_dag(args.dataset)})
    emit(checks_payload(score_dag_draft(draft, project, frame)), args.format,
         text=lambda payload: text_report("DAG draft", payload))
    return 0
