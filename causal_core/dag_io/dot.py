"""Graphviz DOT in N01's make_dag look (read and written, roles kept as attributes) and SVG through ``dot``."""

from __future__ import annotations

import subprocess

from causal_core.dag import dot_binary
from causal_core.dag.roles import node_roles, role_colour
from causal_core.dag_io.syntax import (
    MAX_GROUP_DEPTH,
    DagFormatError,
    DotUnavailable,
    Token,
    _Builder,
    _check_text,
    _dot_escape,
    _is,
    _NodeRecord,
    _number,
    _parse_pos,
    _read_attributes,
    _Reader,
    _tokenize,
)
from causal_core.project import DagNode, DagSpec

DOT_FONT = "Helvetica"
_DOT_DRAWING_ATTRIBUTES = ("fillcolor", "style", "color", "fontname", "shape", "tooltip", "dir")


def from_dot(text: str) -> DagSpec:
    """Parse a Graphviz ``digraph`` (roles from ``role=exposure|outcome``, ``latent``/``adjusted``/``selected``
    ``=true``, ``pos``; ``dir=both`` edges are bidirected)."""
    text = _check_text(text, "DOT")
    reader = _Reader(_tokenize(text))
    token = reader.next()
    if token.kind == "id" and token.value.lower() == "strict":
        token = reader.next()
    if token.kind != "id" or token.value.lower() != "digraph":
        if token.kind == "id" and token.value.lower() == "graph":
            raise DagFormatError("this is an undirected 'graph'; a DAG must be a 'digraph'")
        raise DagFormatError(f"line {token.line}: a DOT DAG starts with 'digraph', not {token.value!r}")
    following = reader.peek()
    if following is not None and following.kind in ("id", "str"):
        reader.next()
    opened = reader.expect("{")
    builder = _Builder()
    _read_dot_statements(reader, builder, opened)
    if not reader.at_end():
        token = reader.next()
        raise DagFormatError(f"line {token.line}: unexpected {token.value!r} after the graph's closing '}}'")
    for name, record in builder.nodes.items():
        _dot_node_roles(name, record)
    return builder.spec()


def _dot_node_roles(name: str, record: _NodeRecord) -> None:
    attributes = record.attributes
    role = attributes.pop("role", None)
    if role in ("exposure", "outcome"):
        record.roles.add(role)
    for flag in ("latent", "adjusted", "selected"):
        if flag in attributes and attributes.pop(flag) not in ("false", "0"):
            record.roles.add(flag)
    record.pos = _parse_pos(attributes.pop("pos", None), name, record.line)
    for key in _DOT_DRAWING_ATTRIBUTES:
        attributes.pop(key, None)
    if attributes.get("label") == name:  # DOT needs a label to draw; the name is the default
        attributes.pop("label")


def _read_dot_statements(reader: _Reader, builder: _Builder, opened: Token, depth: int = 0) -> None:
    """Statements up to the closing ``}``: node/edge chains, subgraphs, and defaults/graph options (ignored)."""
    if depth > MAX_GROUP_DEPTH:
        raise DagFormatError(f"line {opened.line}: subgraphs nested more than {MAX_GROUP_DEPTH} deep")
    while True:
        token = reader.peek()
        if token is None:
            raise DagFormatError(f"line {opened.line}: the graph's closing '}}' is missing")
        if _is(token, "}"):
            reader.next()
            return
        if _is(token, ";") or _is(token, ","):
            reader.next()
            continue
        if token.kind == "id" and token.value.lower() in ("graph", "node", "edge"):
            reader.next()
            if _is(reader.peek(), "["):
                _read_attributes(reader, reader.next())
            continue
        if token.kind == "id" and token.value.lower() == "subgraph":
            reader.next()
            if reader.peek() is not None and reader.peek().kind in ("id", "str"):
                reader.next()
            _read_dot_statements(reader, builder, reader.expect("{"), depth + 1)
            continue
        if token.kind in ("id", "str") and _is(reader.peek_after(1), "="):  # graph option: key = value
            reader.next(), reader.next(), reader.next()
            continue
        _read_dot_chain(reader, builder)


def _read_dot_chain(reader: _Reader, builder: _Builder) -> None:
    first = left = _dot_element(reader, builder)
    created: list[tuple[str, str, int]] = []
    while True:
        attributes = _maybe_attributes(reader)
        arrow = reader.peek(skip_newlines=False)
        if arrow is None or arrow.kind != "arrow":
            break
        for name in left:  # attributes in the middle of a chain describe that node
            builder.nodes[name].attributes.update(attributes or {})
        reader.next()
        right = _dot_element(reader, builder)
        for a in left:
            for b in right:
                if arrow.value not in ("->", "<-"):
                    raise DagFormatError(
                        f"line {arrow.line}: '{a} {arrow.value} {b}' is not a directed edge; a DAG needs '->' edges"
                    )
                created.append((a, b, arrow.line) if arrow.value == "->" else (b, a, arrow.line))
        left = right
    attributes = attributes or {}
    if not created:  # a node statement: X [role=exposure, pos="0,0"]
        for name in first:
            builder.nodes[name].attributes.update(attributes)
        return
    rationale = attributes.get("rationale") or attributes.get("tooltip") or ""
    bidirected = attributes.get("dir") == "both" or attributes.get("bidirected") == "true"
    for a, b, line in created:
        if bidirected:
            builder.add_bidirected(a, b, line, rationale)
        else:
            builder.edges[builder.directed(a, b, line)] = rationale


def _dot_element(reader: _Reader, builder: _Builder, depth: int = 0) -> list[str]:
    """``name`` or ``{a b}`` (DOT: attributes after a name in a chain are read by the caller)."""
    token = reader.next()
    if _is(token, "{"):
        if depth >= MAX_GROUP_DEPTH:
            raise DagFormatError(f"line {token.line}: groups '{{ }}' nested more than {MAX_GROUP_DEPTH} deep")
        members: list[str] = []
        while not _is(reader.peek(), "}"):
            if reader.peek() is None:
                raise DagFormatError(f"line {token.line}: a group '{{' is never closed")
            if _is(reader.peek(), ",") or _is(reader.peek(), ";"):
                reader.next()
                continue
            members.extend(_dot_element(reader, builder, depth + 1))
            attributes = _maybe_attributes(reader)
            if attributes:
                builder.nodes[members[-1]].attributes.update(attributes)
        reader.next()
        return members
    if token.kind not in ("id", "str"):
        raise DagFormatError(f"line {token.line}: expected a node name but found {token.value!r}")
    builder.node(token.value, token.line)
    return [token.value]


def _maybe_attributes(reader: _Reader) -> dict[str, str | None] | None:
    following = reader.peek(skip_newlines=False)
    if _is(following, "["):
        return _read_attributes(reader, reader.next())
    return None


def to_dot(spec: DagSpec, title: str | None = None) -> str:
    """Graphviz DOT in N01's ``make_dag`` look, with roles/latent/column/pos kept as attributes; a bidirected
    edge is drawn dashed with two heads (``dir=both``), the usual DOT spelling of ``<->``."""
    roles = node_roles(spec)
    lines = [
        "digraph DAG {",
        '  graph [rankdir="LR", bgcolor="white", pad="0.2"'
        + (f', label="{_dot_escape(title)}", labelloc="t", fontsize="18", fontname="Helvetica-Bold"' if title else "")
        + "];",
        f'  node [shape="box", style="rounded,filled", color="#334155", fontname="{DOT_FONT}"];',
        '  edge [color="#475569", arrowsize="0.8"];',
    ]
    for node in spec.nodes:
        lines.append(f'  "{_dot_escape(node.name)}" [{_dot_attributes(_dot_node_attributes(spec, node, roles))}];')
    for edge in spec.edges:
        extra = f' [tooltip="{_dot_escape(edge.rationale)}"]' if edge.rationale else ""
        lines.append(f'  "{_dot_escape(edge.source)}" -> "{_dot_escape(edge.target)}"{extra};')
    for edge in spec.bidirected:
        attributes = {"dir": "both", "style": "dashed"} | ({"tooltip": edge.rationale} if edge.rationale else {})
        lines.append(f'  "{_dot_escape(edge.source)}" -> "{_dot_escape(edge.target)}" [{_dot_attributes(attributes)}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_attributes(attributes: dict[str, str]) -> str:
    return ", ".join(f'{key}="{_dot_escape(str(value))}"' for key, value in attributes.items())


def _dot_node_attributes(spec: DagSpec, node: DagNode, roles: dict[str, list[str]]) -> dict[str, str]:
    attributes = {"label": node.label or node.name, "fillcolor": role_colour(roles.get(node.name, []))}
    if node.latent:
        attributes["style"] = "rounded,filled,dashed"
        attributes["latent"] = "true"
    if node.name == spec.treatment:
        attributes["role"] = "exposure"
    elif node.name == spec.outcome:
        attributes["role"] = "outcome"
    for flag, members in (("adjusted", spec.adjusted), ("selected", spec.selected)):
        if node.name in members:
            attributes[flag] = "true"
    default_column = None if node.latent else node.name
    if node.column != default_column:
        attributes["column"] = node.column or ""
    if node.x is not None and node.y is not None:
        attributes["pos"] = f"{_number(node.x)},{_number(node.y)}"
    return attributes


def dot_available() -> bool:
    """Whether a dot program is found (the pip-installed graphviz-pure or a system Graphviz)."""
    return dot_binary.dot_available()


def to_svg(spec: DagSpec, title: str | None = None) -> str:
    """SVG rendered by Graphviz ``dot`` (the course notebook's make_dag look). Raises DotUnavailable if dot is
    missing, rejects the graph or runs past its time limit."""
    try:
        return dot_binary.run_dot(to_dot(spec, title), "svg").decode("utf-8")
    except dot_binary.DotNotFound:
        raise DotUnavailable(
            "Graphviz's 'dot' program is not installed, so the SVG cannot be drawn "
            "(`pip install graphviz-pure`, which make setup does); the DOT export still works."
        ) from None
    except subprocess.CalledProcessError as error:
        detail = error.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        raise DotUnavailable(f"Graphviz's dot could not draw the graph ({' '.join(detail) or 'no message'}); "
                             "the DOT export still works.") from None
    except subprocess.TimeoutExpired:
        raise DotUnavailable(f"Graphviz's dot took longer than {dot_binary.DOT_TIMEOUT_S:.0f} s; "
                             "the DOT export still works.") from None
