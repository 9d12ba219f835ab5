"""The DAG benchmark's known graphs as JSON package data (read by ``lab_bench.cases`` through importlib.resources)."""

__all__: list[str] = []
