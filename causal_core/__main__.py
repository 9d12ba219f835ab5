"""``python -m causal_core``: the headless CLI (see causal_core.cli)."""

import os
import sys

from causal_core.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:
    # The reader went away (``… | head``): that is the reader's choice, not a failure to report with a
    # traceback. Point stdout at devnull so the interpreter's final flush cannot raise again.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 0
raise SystemExit(code)
