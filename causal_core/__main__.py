"""``python -m causal_core``: the headless CLI (see causal_core.cli)."""

from causal_core.cli import main

raise SystemExit(main())
