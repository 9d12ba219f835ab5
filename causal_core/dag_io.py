"""DAG import/export that keeps roles and positions: DAGitty, Graphviz DOT, JSON node-link, and SVG.

DAGitty is what analysts already use, so its syntax is read as DAGitty defines it: ``dag { ... }`` with node
statements ``X [exposure,pos="x,y"]``, chains ``A -> B <- C``, groups ``{A B} -> Y`` and ``X <-> Y`` (a
latent common cause, which becomes an explicit latent node here). Two attributes DAGitty ignores carry the
workbench's extras: ``label="..."`` and ``column="..."`` (``column=""`` = a node without data).

On import, a non-latent node without a ``column`` attribute is taken to measure the column of the same name
(the usual case when a DAG is written against a dataset); the page then binds or unbinds it against the data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from causal_core.dag import node_roles, role_colour, validate_dag
from causal_core.project import DagEdge, DagNode, DagSpec

SIMPLE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
DOT_FONT = "Helvetica"


class DagFormatError(ValueError):
    """A DAG file that cannot be read; the message says where and why."""


class DotUnavailable(RuntimeError):
    """The Graphviz ``dot`` binary is missing, so SVG cannot be rendered (DOT text still can)."""


# ---------------------------------------------------------------------------------------------
# A small tokenizer shared by the DAGitty and DOT readers (same lexical shape)
# ---------------------------------------------------------------------------------------------
@dataclass
class Token:
    kind: str  # id | str | arrow | punct | newline
    value: str
    line: int


_TOKEN_RE = re.compile(
    r"""
    (?P<comment>//[^\n]*|/\*.*?\*/|^\#[^\n]*)
  | (?P<newline>\n)
  | (?P<space>[ \t\r]+)
  | (?P<str>"(?:\\.|[^"\\])*")
  | (?P<arrow><->|->|<-|--)
  | (?P<punct>[{}\[\];,=:])
  | (?P<id>-?\d+(?:\.\d+)?(?:[eE]-?\d+)?(?![^\s{}\[\];,=:"<>\-])|[^\s{}\[\];,=:"<>\-]+)
    """,
    re.VERBOSE | re.DOTALL | re.MULTILINE,
)


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), body)


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position, line = 0, 1
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if not match:
            raise DagFormatError(f"line {line}: unexpected character {text[position]!r}")
        kind = match.lastgroup
        value = match.group()
        if kind == "str":
            tokens.append(Token("str", _unescape(value[1:-1]), line))
        elif kind in ("arrow", "punct", "id"):
            tokens.append(Token(kind, value, line))
        elif kind == "newline":
            tokens.append(Token("newline", value, line))
        line += value.count("\n")
        position = match.end()
    return tokens


class _Reader:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.index = 0

    def _position(self, skip_newlines: bool) -> int:
        index = self.index
        while index < len(self.tokens) and skip_newlines and self.tokens[index].kind == "newline":
            index += 1
        return index

    def peek(self, skip_newlines: bool = True) -> Token | None:
        index = self._position(skip_newlines)
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self, skip_newlines: bool = True) -> Token:
        index = self._position(skip_newlines)
        if index >= len(self.tokens):
            raise DagFormatError("unexpected end of the file (a closing '}' or ']' is missing?)")
        self.index = index + 1
        return self.tokens[index]

    def expect(self, value: str) -> Token:
        token = self.next()
        if token.value != value or token.kind not in ("punct", "arrow"):
            raise DagFormatError(f"line {token.line}: expected {value!r} but found {token.value!r}")
        return token

    def at_end(self) -> bool:
        return self.peek() is None


def _read_attributes(reader: _Reader) -> dict[str, str | None]:
    """``[a, b=c, d="e"]`` (the ``[`` already consumed) → {a: None, b: "c", d: "e"}."""
    attributes: dict[str, str | None] = {}
    while True:
        token = reader.next()
        if token.kind == "punct" and token.value == "]":
            return attributes
        if token.kind == "punct" and token.value in ",;":
            continue
        if token.kind not in ("id", "str"):
            raise DagFormatError(f"line {token.line}: unexpected {token.value!r} in an attribute list")
        key = token.value
        following = reader.peek()
        if following is not None and following.kind == "punct" and following.value == "=":
            reader.next()
            value = reader.next()
            if value.kind not in ("id", "str"):
                raise DagFormatError(f"line {value.line}: attribute {key} needs a value")
            attributes[key] = value.value
        else:
            attributes[key] = None


def _parse_pos(value: str | None, line_hint: str) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    parts = value.replace("!", "").split(",")
    try:
        x, y = (float(part) for part in parts[:2])
    except ValueError:
        raise DagFormatError(f"node {line_hint}: pos={value!r} is not two numbers 'x,y'") from None
    return x, y


class _Builder:
    """Accumulates nodes (first mention wins the order) and edges while parsing."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict] = {}
        self.edges: list[tuple[str, str, str]] = []
        self.bidirected: list[tuple[str, str]] = []
        self.exposures: list[str] = []
        self.outcomes: list[str] = []

    def node(self, name: str) -> dict:
        return self.nodes.setdefault(name, {"attributes": {}})

    def apply(self, name: str, attributes: dict[str, str | None]) -> None:
        self.node(name)["attributes"].update(attributes)

    def spec(self, *, roles_from: str) -> DagSpec:
        names = set(self.nodes)
        for a, b in self.bidirected:
            latent = _fresh_name(f"U_{a}_{b}", names)
            names.add(latent)
            self.nodes[latent] = {"attributes": {"latent": None}}
            self.edges += [(latent, a, "latent common cause (<->)"), (latent, b, "latent common cause (<->)")]
        nodes = []
        for name, record in self.nodes.items():
            attributes = record["attributes"]
            latent = "latent" in attributes and attributes["latent"] not in ("false", "0")
            column = attributes.get("column", None if latent else name) or None
            x, y = _parse_pos(attributes.get("pos"), name)
            role = attributes.get(roles_from)
            if "exposure" in attributes or role == "exposure":
                self.exposures.append(name)
            if "outcome" in attributes or role == "outcome":
                self.outcomes.append(name)
            nodes.append(DagNode(name=name, label=attributes.get("label") or "", latent=latent, column=column, x=x, y=y))
        for role, found in (("exposure", self.exposures), ("outcome", self.outcomes)):
            if len(set(found)) > 1:
                raise DagFormatError(f"more than one {role} ({', '.join(dict.fromkeys(found))}); the workbench studies one at a time")
        edges = [DagEdge(source=a, target=b, rationale=r) for a, b, r in self.edges]
        spec = DagSpec(
            nodes=nodes,
            edges=edges,
            treatment=self.exposures[0] if self.exposures else None,
            outcome=self.outcomes[0] if self.outcomes else None,
        )
        errors = validate_dag(spec)
        if errors:
            raise DagFormatError(f"the file describes an invalid DAG: {errors[0]}")
        return spec


def _fresh_name(base: str, taken: set[str]) -> str:
    name, counter = base, 2
    while name in taken:
        name, counter = f"{base}_{counter}", counter + 1
    return name


def _read_group_or_node(reader: _Reader, builder: _Builder, node_attrs: bool = True) -> list[str]:
    """One chain element: ``name``, ``name [attrs]`` or ``{a b [attrs] c}`` (DOT: attributes after a
    chain belong to its edges, so ``node_attrs`` is off there)."""
    token = reader.next()
    if token.kind == "punct" and token.value == "{":
        members: list[str] = []
        while True:
            inner = reader.peek()
            if inner is None:
                raise DagFormatError(f"line {token.line}: a group '{{' is never closed")
            if inner.kind == "punct" and inner.value == "}":
                reader.next()
                break
            if inner.kind == "punct" and inner.value in ",;":
                reader.next()
                continue
            members.extend(_read_group_or_node(reader, builder, node_attrs=True))
        return members
    if token.kind not in ("id", "str"):
        raise DagFormatError(f"line {token.line}: expected a node name but found {token.value!r}")
    builder.node(token.value)
    following = reader.peek(skip_newlines=False)
    if node_attrs and following is not None and following.kind == "punct" and following.value == "[":
        reader.next()
        builder.apply(token.value, _read_attributes(reader))
    return [token.value]


def _read_statements(reader: _Reader, builder: _Builder, *, directed_only: bool, dialect: str) -> None:
    """Statements up to the closing ``}``: node/edge chains, and graph-level ``key=value`` (ignored)."""
    while True:
        token = reader.peek()
        if token is None:
            raise DagFormatError("the graph's closing '}' is missing")
        if token.kind == "punct" and token.value == "}":
            reader.next()
            return
        if token.kind == "punct" and token.value in ";,":
            reader.next()
            continue
        if dialect == "dot" and token.kind == "id" and token.value.lower() in ("graph", "node", "edge"):
            reader.next()
            following = reader.peek()
            if following is not None and following.value == "[":
                reader.next()
                _read_attributes(reader)
            continue
        if dialect == "dot" and token.kind == "id" and token.value.lower() == "subgraph":
            reader.next()
            if reader.peek() is not None and reader.peek().kind in ("id", "str"):
                reader.next()
            reader.expect("{")
            _read_statements(reader, builder, directed_only=directed_only, dialect=dialect)
            continue
        # graph-level attribute: key = value
        if token.kind in ("id", "str"):
            save = reader.index
            reader.next()
            following = reader.peek(skip_newlines=False)
            if following is not None and following.kind == "punct" and following.value == "=":
                reader.next()
                reader.next()
                continue
            reader.index = save
        first = left = _read_group_or_node(reader, builder, node_attrs=False)
        edges_before = len(builder.edges)
        while True:
            attributes = _maybe_attributes(reader)
            arrow = reader.peek(skip_newlines=False)
            if arrow is None or arrow.kind != "arrow":
                break
            for name in left:  # attributes in the middle of a chain describe that node
                builder.apply(name, attributes or {})
            reader.next()
            right = _read_group_or_node(reader, builder, node_attrs=False)
            _connect(builder, left, right, arrow, directed_only)
            left = right
        if attributes is not None:
            if len(builder.edges) == edges_before:  # a node statement: X [exposure, pos="0,0"]
                for name in first:
                    builder.apply(name, attributes)
            else:  # trailing attributes belong to the chain's edges (DOT and DAGitty alike)
                rationale = attributes.get("rationale") or attributes.get("tooltip") or ""
                builder.edges[edges_before:] = [(a, b, rationale) for a, b, _ in builder.edges[edges_before:]]


def _maybe_attributes(reader: _Reader) -> dict[str, str | None] | None:
    following = reader.peek(skip_newlines=False)
    if following is not None and following.kind == "punct" and following.value == "[":
        reader.next()
        return _read_attributes(reader)
    return None


def _connect(builder: _Builder, left: list[str], right: list[str], arrow: Token, directed_only: bool) -> None:
    for a in left:
        for b in right:
            if arrow.value == "->":
                builder.edges.append((a, b, ""))
            elif arrow.value == "<-":
                builder.edges.append((b, a, ""))
            elif arrow.value == "<->" and not directed_only:
                builder.bidirected.append((a, b))
            else:
                raise DagFormatError(
                    f"line {arrow.line}: '{a} {arrow.value} {b}' is not a directed edge; a DAG needs '->' edges"
                    + (" (or '<->' for a latent common cause)" if not directed_only else "")
                )


# ---------------------------------------------------------------------------------------------
# DAGitty
# ---------------------------------------------------------------------------------------------
def from_dagitty(text: str) -> DagSpec:
    """Parse DAGitty syntax; raises DagFormatError with the line and reason."""
    if not isinstance(text, str) or not text.strip():
        raise DagFormatError("the DAGitty text is empty")
    reader = _Reader(_tokenize(text))
    first = reader.peek()
    if first is not None and first.kind == "id":
        if first.value in ("pdag", "mag", "pag", "graph", "digraph"):
            raise DagFormatError(f"'{first.value}' graphs are not supported: only 'dag {{ ... }}'")
        if first.value == "dag":
            reader.next()
    reader.expect("{")
    builder = _Builder()
    _read_statements(reader, builder, directed_only=False, dialect="dagitty")
    if not reader.at_end():
        token = reader.next()
        raise DagFormatError(f"line {token.line}: unexpected {token.value!r} after the closing '}}'")
    return builder.spec(roles_from="__none__")


def _quote(name: str) -> str:
    return name if SIMPLE_ID.match(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.6g}"


def to_dagitty(spec: DagSpec) -> str:
    """DAGitty text with exposure/outcome/latent, positions, labels and columns."""
    lines = ["dag {"]
    for node in spec.nodes:
        attributes = []
        if node.name == spec.treatment:
            attributes.append("exposure")
        if node.name == spec.outcome:
            attributes.append("outcome")
        if node.latent:
            attributes.append("latent")
        if node.x is not None and node.y is not None:
            attributes.append(f'pos="{_number(node.x)},{_number(node.y)}"')
        if node.label and node.label != node.name:
            attributes.append(f'label="{_dot_escape(node.label)}"')
        default_column = None if node.latent else node.name
        if node.column != default_column:
            attributes.append(f'column="{_dot_escape(node.column or "")}"')
        suffix = f" [{','.join(attributes)}]" if attributes else ""
        lines.append(f"  {_quote(node.name)}{suffix}")
    for edge in spec.edges:
        extra = f' [rationale="{_dot_escape(edge.rationale)}"]' if edge.rationale else ""
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)}{extra}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# DOT
# ---------------------------------------------------------------------------------------------
def from_dot(text: str) -> DagSpec:
    """Parse a Graphviz ``digraph`` (roles from ``role=exposure|outcome``, ``latent=true``, ``pos``)."""
    if not isinstance(text, str) or not text.strip():
        raise DagFormatError("the DOT text is empty")
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
    reader.expect("{")
    builder = _Builder()
    _read_statements(reader, builder, directed_only=True, dialect="dot")
    for record in builder.nodes.values():
        attributes = record["attributes"]
        if attributes.get("latent") in ("false", "0"):
            attributes.pop("latent")
        for key in ("fillcolor", "style", "color", "fontname", "shape", "tooltip"):
            attributes.pop(key, None)
    for name, record in builder.nodes.items():
        if record["attributes"].get("label") == name:  # DOT needs a label to draw; the name is the default
            record["attributes"].pop("label")
    return builder.spec(roles_from="role")


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(spec: DagSpec, title: str | None = None) -> str:
    """Graphviz DOT in N01's ``make_dag`` look, with roles/latent/column/pos kept as attributes."""
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
        attributes = {
            "label": node.label or node.name,
            "fillcolor": role_colour(roles.get(node.name, [])),
        }
        if node.latent:
            attributes["style"] = "rounded,filled,dashed"
            attributes["latent"] = "true"
        if node.name == spec.treatment:
            attributes["role"] = "exposure"
        elif node.name == spec.outcome:
            attributes["role"] = "outcome"
        default_column = None if node.latent else node.name
        if node.column != default_column:
            attributes["column"] = node.column or ""
        if node.x is not None and node.y is not None:
            attributes["pos"] = f"{_number(node.x)},{_number(node.y)}"
        rendered = ", ".join(f'{key}="{_dot_escape(str(value))}"' for key, value in attributes.items())
        lines.append(f'  "{_dot_escape(node.name)}" [{rendered}];')
    for edge in spec.edges:
        extra = f' [tooltip="{_dot_escape(edge.rationale)}"]' if edge.rationale else ""
        lines.append(f'  "{_dot_escape(edge.source)}" -> "{_dot_escape(edge.target)}"{extra};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_available() -> bool:
    import shutil

    return shutil.which("dot") is not None


def to_svg(spec: DagSpec, title: str | None = None) -> str:
    """SVG rendered by Graphviz ``dot`` (N01 look). Raises DotUnavailable if the binary is missing."""
    import graphviz

    source = graphviz.Source(to_dot(spec, title))
    try:
        return source.pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound:
        raise DotUnavailable(
            "Graphviz's 'dot' program is not installed, so the SVG cannot be drawn "
            "(install it with `apt-get install graphviz`); the DOT export still works."
        ) from None


# ---------------------------------------------------------------------------------------------
# JSON node-link (networkx layout)
# ---------------------------------------------------------------------------------------------
def to_json(spec: DagSpec) -> str:
    """networkx node-link JSON (``nx.node_link_graph(data, edges="edges")`` reads it), edges in spec order."""
    payload = {
        "directed": True,
        "multigraph": False,
        "graph": {"treatment": spec.treatment, "outcome": spec.outcome},
        "nodes": [
            {"id": n.name, "label": n.label, "latent": n.latent, "column": n.column, "x": n.x, "y": n.y}
            for n in spec.nodes
        ],
        "edges": [{"source": e.source, "target": e.target, "rationale": e.rationale} for e in spec.edges],
    }
    return json.dumps(payload, indent=2)


def from_json(text: str | bytes) -> DagSpec:
    """Node-link JSON (``edges`` or the older ``links`` key), or a DagSpec dump."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise DagFormatError(f"invalid JSON at line {error.lineno}, column {error.colno} ({error.msg})") from None
    if not isinstance(payload, dict) or "nodes" not in payload:
        raise DagFormatError("the JSON has no 'nodes' list: expected node-link data")
    first_node = payload["nodes"][0] if isinstance(payload["nodes"], list) and payload["nodes"] else {}
    if isinstance(first_node, dict) and "name" in first_node and "id" not in first_node:
        try:
            spec = DagSpec.model_validate(payload)
        except ValueError as error:
            raise DagFormatError(f"the JSON does not match the DAG schema: {str(error).splitlines()[0]}") from None
    else:
        spec = _from_node_link(payload)
    errors = validate_dag(spec)
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
    for index, item in enumerate(payload.get(edges_key, [])):
        if not isinstance(item, dict) or "source" not in item or "target" not in item:
            raise DagFormatError(f"edge {index + 1} needs a 'source' and a 'target'")
        edges.append(DagEdge(source=str(item["source"]), target=str(item["target"]), rationale=str(item.get("rationale") or "")))
    return DagSpec(nodes=nodes, edges=edges, treatment=graph_attrs.get("treatment"), outcome=graph_attrs.get("outcome"))


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
    readers = {"dagitty": from_dagitty, "dot": from_dot, "json": from_json}
    if kind not in readers:
        raise DagFormatError(f"unknown DAG format {kind!r}")
    return readers[kind](text)


def read_file(path: str) -> DagSpec:
    from pathlib import Path

    file = Path(path)
    if not file.exists():
        raise DagFormatError(f"no such file: {path}")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DagFormatError(f"{path} is not UTF-8 text") from None
    return parse(text, format_for(path))
