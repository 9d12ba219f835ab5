"""Causal Workbench's analysis core: question, DAG, data audit, estimation, multiverse, memo and the headless CLI.

``__version__`` is the single source of the workbench version: ``pyproject.toml`` reads it (setuptools
``dynamic``), and every export that carries numbers records it (see :mod:`causal_core.version`).
"""

__version__ = "0.9.0"

__all__ = ["__version__"]
