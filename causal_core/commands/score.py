"""``score``: run an artifact rubric headlessly. Sub-commands live in ``_score_*.py`` modules."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import causal_core.commands as commands_package


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("score", help="score an AI artifact with its deterministic rubric")
    kinds = parser.add_subparsers(dest="artifact", metavar="ARTIFACT")
    for module_info in sorted(pkgutil.iter_modules(commands_package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_score_"):
            importlib.import_module(f"causal_core.commands.{module_info.name}").register_score(kinds)
