"""``python -m causal_core``: the headless CLI (see causal_core.cli; installed as ``causal-workbench``)."""

from causal_core.cli import console_main

raise SystemExit(console_main(prog="python -m causal_core"))
