"""CLI subcommands: every module here defines ``register(subparsers)``; cli.py discovers them."""

# cli.py discovers the modules; nothing is re-exported here.
__all__: list[str] = []
