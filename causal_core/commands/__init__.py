"""CLI subcommands: every module here defines ``register(subparsers)``; cli.py discovers them.

Not subcommands: ``common`` (the helpers every command shares: CliError, data readers, ``--format`` output) and
the private ``_*.py`` modules.
"""

# cli.py discovers the modules; nothing is re-exported here.
__all__: list[str] = []
