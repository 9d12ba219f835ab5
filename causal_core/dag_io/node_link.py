"""networkx node-link JSON (and a plain DagSpec dump), plus reading any DAG file by its name."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from causal_core.dag.graph import validate_dag
from causal_core.dag_io.dagitty import from_dagitty
from causal_core.dag_io.dot import from_dot
from causal_core.dag_io.syntax import (
    MAX_IMPORT_CHARS,
    MAX_IMPORT_NODES,
    NO_NODES_MESSAGE,
    DagFormatError,
    _check_text,
    _role_list_problems,
)
from causal_core.project import DagEdge, DagNode, DagSpec


def to_json(spec: DagSpec) -> str:
    """networkx node-link JSON (``nx.node_link_graph(data, edges="edges")`` reads it), edges in spec order."""
    payload = {
        "directed": True,
        "multigraph": False,
        "graph": {
            "treatment": spec.treatment,
            "outcome": spec.outcome,
            "adjusted": spec.adjusted,
            "selected": spec.selected,
            "bidirected": [{"source": e.source, "target": e.target, "rationale": e.rationale} for e in spec.bidirected],
        },
        "nodes": [
            {"id": n.name, "label": n.label, "latent": n.latent, "column": n.column, "x": n.x, "y": n.y}
            for n in spec.nodes
        ],
        "edges": [{"source": e.source, "target": e.target, "rationale": e.rationale} for e in spec.edges],
    }
    return json.dumps(payload, indent=2)


def from_json(text: str | bytes) -> DagSpec:
    """Node-link JSON (``edges`` or the older ``links`` key), or a DagSpec dump."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DagFormatError("the JSON is not UTF-8 text") from None
    text = _check_text(text, "JSON")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise DagFormatError(f"invalid JSON at line {error.lineno}, column {error.colno} ({error.msg})") from None
    except RecursionError:
        raise DagFormatError("the JSON is nested too deeply to be a DAG") from None
    if not isinstance(payload, dict) or "nodes" not in payload:
        raise DagFormatError("the JSON has no 'nodes' list: expected node-link data")
    if isinstance(payload["nodes"], list) and len(payload["nodes"]) > MAX_IMPORT_NODES:
        raise DagFormatError(
            f"{len(payload['nodes']):,} nodes; the workbench imports DAGs of up to {MAX_IMPORT_NODES:,} nodes"
        )
    first_node = payload["nodes"][0] if isinstance(payload["nodes"], list) and payload["nodes"] else {}
    if isinstance(first_node, dict) and "name" in first_node and "id" not in first_node:
        try:
            spec = DagSpec.model_validate(payload)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the top level"
            raise DagFormatError(f"the JSON does not match the DAG schema at {where}: {first['msg']}") from None
    else:
        spec = _from_node_link(payload)
    if not spec.nodes:
        raise DagFormatError(NO_NODES_MESSAGE)
    errors = validate_dag(spec) or _role_list_problems(spec)
    if errors:
        raise DagFormatError(f"the file describes an invalid DAG: {errors[0]}")
    return spec


def _from_node_link(payload: dict) -> DagSpec:
    edges_key = "edges" if "edges" in payload else "links"
    if not isinstance(payload["nodes"], list) or not isinstance(payload.get(edges_key, []), list):
        raise DagFormatError("'nodes' and 'edges' must be lists")
    graph_attrs = payload.get("graph") or {}
    nodes = []
    for index, item in enumerate(payload["nodes"]):
        if not isinstance(item, dict) or "id" not in item:
            raise DagFormatError(f"node {index + 1} has no 'id'")
        name = str(item["id"])
        latent = bool(item.get("latent", False))
        column = item.get("column", None if latent else name)
        nodes.append(
            DagNode(
                name=name,
                label=str(item.get("label") or ""),
                latent=latent,
                column=column or None,
                x=_maybe_float(item.get("x")),
                y=_maybe_float(item.get("y")),
            )
        )
    edges = []
    for item in _edge_items(payload.get(edges_key, []), "edge"):
        edges.append(
            DagEdge(source=str(item["source"]), target=str(item["target"]), rationale=str(item.get("rationale") or ""))
        )
    bidirected = [
        DagEdge(source=str(item["source"]), target=str(item["target"]), rationale=str(item.get("rationale") or ""))
        for item in _edge_items(graph_attrs.get("bidirected") or [], "bidirected edge")
    ]
    return DagSpec(
        nodes=nodes,
        edges=edges,
        treatment=graph_attrs.get("treatment"),
        outcome=graph_attrs.get("outcome"),
        adjusted=_name_list(graph_attrs.get("adjusted"), "adjusted"),
        selected=_name_list(graph_attrs.get("selected"), "selected"),
        bidirected=bidirected,
    )


def _edge_items(items: object, what: str) -> list[dict]:
    if not isinstance(items, list):
        raise DagFormatError(f"'{what}s' must be a list")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "source" not in item or "target" not in item:
            raise DagFormatError(f"{what} {index + 1} needs a 'source' and a 'target'")
    return items


def _name_list(value: object, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DagFormatError(f"'{what}' must be a list of node names")
    return list(value)


def _maybe_float(value) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DagFormatError(f"position {value!r} is not a number") from None


# ---------------------------------------------------------------------------------------------
# By file name
# ---------------------------------------------------------------------------------------------
FORMATS = {".dagitty": "dagitty", ".txt": "dagitty", ".dot": "dot", ".gv": "dot", ".json": "json"}


def format_for(filename: str) -> str:
    lowered = filename.lower()
    for suffix, kind in FORMATS.items():
        if lowered.endswith(suffix):
            return kind
    raise DagFormatError(f"unknown DAG file type {filename!r}: use .dagitty, .dot/.gv or .json")


def parse(text: str, kind: str) -> DagSpec:
    """Parse text of a known format; a file nested deeper than the parsers' recursion is a DagFormatError."""
    readers = {"dagitty": from_dagitty, "dot": from_dot, "json": from_json}
    if kind not in readers:
        raise DagFormatError(f"unknown DAG format {kind!r}")
    try:
        return readers[kind](text)
    except RecursionError:
        raise DagFormatError("the file is nested too deeply to be a DAG") from None


def decode_dag_bytes(payload: bytes, filename: str = "the file") -> str:
    """An uploaded or read DAG file as text: UTF-8 (a BOM is dropped), else refused with a message.

    Why refuse rather than replace: decoding with errors="replace" imported node names holding U+FFFD that no
    data column can match, silently. The CLI and the DAG page's import both use this one function.
    """
    if len(payload) > 4 * MAX_IMPORT_CHARS:  # UTF-8 needs at most 4 bytes a character
        raise DagFormatError(f"{filename} is larger than the {MAX_IMPORT_CHARS:,}-character import limit")
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DagFormatError(
            f"{filename} is not UTF-8 text (byte {error.start + 1:,} cannot be read): save it as UTF-8 and import again"
        ) from None


def parse_bytes(payload: bytes, filename: str) -> DagSpec:
    """A DAG file's bytes by its name: format from the suffix, text via decode_dag_bytes, then parse."""
    kind = format_for(filename)
    return parse(decode_dag_bytes(payload, filename), kind)


def read_file(path: str) -> DagSpec:
    """A DAG file by its name (the CLI's ``--dag``); every failure is a DagFormatError naming the file."""
    file = Path(path)
    kind = format_for(path)
    if not file.exists():
        raise DagFormatError(f"no such file: {path}")
    if not file.is_file():
        raise DagFormatError(f"{path} is not a file")
    if file.stat().st_size > 4 * MAX_IMPORT_CHARS:  # UTF-8 needs at most 4 bytes a character
        raise DagFormatError(f"{path} is larger than the {MAX_IMPORT_CHARS:,}-character import limit")
    try:
        payload = file.read_bytes()
    except OSError as error:
        raise DagFormatError(f"cannot read {path}: {error.strerror or error}") from None
    return parse(decode_dag_bytes(payload, "the file"), kind)
