"""``present``: a saved project's stakeholder walkthrough as one offline HTML file or as PDF pages.

The deck's figures are the memo's (causal_core/present); the data file is optional and only sharpens what
the memo already knows (a 0/1 outcome read from the rows). A data file that is not the project's is refused,
as everywhere else, so slides are never paired with other data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from causal_core.commands.common import CliError, add_format_option, emit
from causal_core.commands.project import load_project_file, write_output

FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("present", help="export the project's stakeholder walkthrough (HTML or PDF)")
    parser.add_argument("--project", required=True, help="project JSON file")
    parser.add_argument("--data", help="the project's data file (uploads); built-ins regenerate on their own")
    parser.add_argument("--out", required=True, help="deck.html (offline, keyboard navigation) or deck.pdf")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def output_kind(path: str) -> str:
    """'html' or 'pdf' from the output file's extension; anything else is a CliError naming the choices."""
    kind = FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise CliError(f"--out must end in .html or .pdf (got '{Path(path).name}').")
    return kind


def _frame(project, data_path: str | None):
    """The project's analysis rows: from --data (hash-checked) or a regenerated built-in; None for an upload
    given without its file (the memo then reads the outcome type from the estimates, as the report does)."""
    from causal_core.commands.common import read_data_bytes
    from causal_core.data import DataError, analysis_frame, rebind_data

    source = project.data_source
    if data_path and source is not None and source.kind == "builtin":
        raise CliError(f"this project uses the built-in dataset '{source.name}', which regenerates: drop --data.")
    try:
        if data_path:
            payload, name = read_data_bytes(data_path)
            raw = rebind_data(project, payload, name)
        elif source is not None and source.kind == "builtin":
            raw = rebind_data(project)
        else:
            return None
    except DataError as error:
        raise CliError(str(error)) from None
    return analysis_frame(project, raw)


def run(args: argparse.Namespace) -> int:
    from causal_core.present import build_deck
    from causal_core.present.html import deck_html
    from causal_core.present.pdf import PdfUnavailable, deck_pdf

    kind = output_kind(args.out)
    project = load_project_file(args.project)
    deck = build_deck(project, _frame(project, args.data))
    html = deck_html(deck)
    if kind == "pdf":
        try:
            content: str | bytes = deck_pdf(html)
        except PdfUnavailable as error:
            raise CliError(f"{error} (write --out deck.html)") from None
    else:
        content = html
    write_output(args.out, content)
    emit(
        {
            "out": args.out,
            "format": kind,
            "slides": [{"title": slide.title, "done": slide.done} for slide in deck.slides],
            "bytes": len(content.encode("utf-8") if isinstance(content, str) else content),
        },
        args.format,
    )
    return 0
