"""The lexical layer and the builder every DAG reader shares: tokens with their line, attribute lists,
positions, and a builder that checks the whole graph (roles, cycles with their lines, limits) before any
DagSpec exists, so a rejected file never yields a half-read DAG."""

from __future__ import annotations

import graphlib
import math
import re
from dataclasses import dataclass

from causal_core.dag.graph import validate_dag
from causal_core.errors import WorkbenchInputError
from causal_core.limits import MAX_IMPORT_EDGES, MAX_IMPORT_NODES  # one value for importers and project files
from causal_core.project import DagEdge, DagNode, DagSpec

SIMPLE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
MAX_IMPORT_CHARS = 2_000_000
MAX_GROUP_DEPTH = 50  # nested { } groups / subgraphs: deeper would only exhaust the parser's recursion

ROLE_FLAGS = ("exposure", "outcome", "latent", "adjusted", "selected")
# DAGitty accepts an empty graph, but importing one would replace the analyst's DAG with nothing.
NO_NODES_MESSAGE = "the graph has no nodes: there is nothing to import"


class DagFormatError(WorkbenchInputError):
    """A DAG file that cannot be read; the message says where and why."""


class DotUnavailable(RuntimeError):
    """The Graphviz ``dot`` binary is missing, so SVG cannot be rendered (DOT text still can)."""


# ---------------------------------------------------------------------------------------------
# A small tokenizer shared by the DAGitty and DOT readers (same lexical shape)
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Token:
    kind: str  # id | str | arrow | punct | newline
    value: str
    line: int


_TOKEN_RE = re.compile(
    r"""
    (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<newline>\n)
  | (?P<space>[ \t\r]+)
  | (?P<str>"(?:\\.|[^"\\])*")
  | (?P<arrow>@->|<-@|--@|@-@|@--|<->|->|<-|--)
  | (?P<punct>[{}\[\];,=:+])
  | (?P<id>-?\d+(?:\.\d+)?(?:[eE]-?\d+)?(?![^\s{}\[\];,=:+@"<>\-/#])|[^\s{}\[\];,=:+@"<>\-/#]+)
  | (?P<hash>\#[^\n]*)
  | (?P<error>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), body)


def _lexical_error(text: str, position: int, line: int) -> DagFormatError:
    """Name what is unbalanced (a quote or a comment) rather than just the character."""
    char = text[position]
    if char == '"':
        return DagFormatError(f"line {line}: a quoted name or value opened here is never closed (a '\"' is missing)")
    if text.startswith("/*", position):
        return DagFormatError(f"line {line}: a '/*' comment opened here is never closed (a '*/' is missing)")
    if char == "#":
        return DagFormatError(f"line {line}: '#' starts a comment only at the beginning of a line")
    return DagFormatError(f"line {line}: unexpected character {char!r} (quote names that contain it)")


def _tokenize(text: str) -> list[Token]:
    """Tokens with their line; ``"a" + "b"`` is joined (DAGitty and DOT string concatenation). One regex scan
    (``finditer``): the error group catches whatever no token starts with, so the position is known."""
    tokens: list[Token] = []
    line, line_has_token = 1, False
    for match in _TOKEN_RE.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind == "newline":
            tokens.append(Token("newline", value, line))
            line, line_has_token = line + 1, False
            continue
        if kind == "error" or (kind == "hash" and line_has_token):  # '#' is a comment only at a line's start
            raise _lexical_error(text, match.start(), line)
        if kind == "str":
            tokens.append(Token("str", _unescape(value[1:-1]), line))
        elif kind in ("arrow", "punct", "id"):
            tokens.append(Token(kind, value, line))
        if kind not in ("space", "hash", "comment"):
            line_has_token = True
        line += value.count("\n")
    return _join_strings(tokens)


def _join_strings(tokens: list[Token]) -> list[Token]:
    joined: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind == "punct" and token.value == "+":
            nxt = tokens[index + 1] if index + 1 < len(tokens) else None
            if joined and joined[-1].kind == "str" and nxt is not None and nxt.kind == "str":
                joined[-1] = Token("str", joined[-1].value + nxt.value, joined[-1].line)
                index += 2
                continue
            raise DagFormatError(f"line {token.line}: '+' only joins two quoted strings")
        joined.append(token)
        index += 1
    return joined


class _Reader:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.index = 0

    def _position(self, skip_newlines: bool) -> int:
        index, tokens = self.index, self.tokens
        if skip_newlines:
            while index < len(tokens) and tokens[index].kind == "newline":
                index += 1
        return index

    def peek(self, skip_newlines: bool = True) -> Token | None:
        index = self._position(skip_newlines)
        return self.tokens[index] if index < len(self.tokens) else None

    def peek_after(self, offset: int) -> Token | None:
        """The token ``offset`` places after the next one (newlines skipped; the DAGitty reader has none)."""
        index = self._position(True) + offset
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


def _is(token: Token | None, value: str) -> bool:
    return token is not None and token.kind in ("punct", "arrow") and token.value == value


def _read_attributes(reader: _Reader, opened: Token | None = None) -> dict[str, str | None]:
    """``[a, b=c, d="e"]`` (the ``[`` already consumed) → {a: None, b: "c", d: "e"}."""
    attributes: dict[str, str | None] = {}
    while True:
        if reader.peek() is None:
            line = opened.line if opened is not None else "?"
            raise DagFormatError(f"line {line}: the attribute list '[' opened here is never closed (a ']' is missing)")
        token = reader.next()
        if token.kind == "punct" and token.value == "]":
            return attributes
        if token.kind == "punct" and token.value in ",;":
            continue
        if token.kind not in ("id", "str"):
            if opened is not None and (token.kind == "arrow" or token.value in "{}["):
                raise DagFormatError(
                    f"line {opened.line}: the attribute list '[' opened here is never closed "
                    f"(found {token.value!r} on line {token.line} before a ']')"
                )
            raise DagFormatError(f"line {token.line}: unexpected {token.value!r} in an attribute list")
        key = token.value
        if _is(reader.peek(), "="):
            reader.next()
            value = reader.next()
            if value.kind not in ("id", "str"):
                raise DagFormatError(f"line {value.line}: attribute {key} needs a value")
            attributes[key] = value.value
        else:
            attributes[key] = None


def _parse_pos(value: str | None, node: str, line: int | None = None) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    where = f"line {line}: " if line else ""
    parts = value.replace("!", "").split(",")
    try:
        x, y = (float(part) for part in parts[:2])
    except ValueError:
        raise DagFormatError(f"{where}node {node}: pos={value!r} is not two numbers 'x,y'") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise DagFormatError(f"{where}node {node}: pos={value!r} must be two finite numbers")
    return x, y


# ---------------------------------------------------------------------------------------------
# What every reader builds: nodes with roles, directed and bidirected edges, each with its line
# ---------------------------------------------------------------------------------------------
@dataclass
class _NodeRecord:
    line: int
    attributes: dict[str, str | None]
    roles: set[str]
    pos: tuple[float | None, float | None] = (None, None)


class _Builder:
    """Accumulates nodes (first mention wins the order) and edges while parsing; ``spec`` checks the whole."""

    def __init__(self) -> None:
        self.nodes: dict[str, _NodeRecord] = {}
        self.edges: dict[tuple[str, str], str] = {}  # (source, target) → rationale, in file order
        self.edge_lines: dict[tuple[str, str], int] = {}
        self.bidirected: dict[frozenset[str], tuple[str, str, str]] = {}

    def node(self, name: str, line: int = 0) -> _NodeRecord:
        record = self.nodes.get(name)
        if record is None:
            if len(self.nodes) >= MAX_IMPORT_NODES:
                raise DagFormatError(
                    f"line {line}: more than {MAX_IMPORT_NODES:,} nodes; the workbench imports DAGs of up to "
                    f"{MAX_IMPORT_NODES:,} nodes (split the graph or drop variables that are not on any path)"
                )
            record = self.nodes[name] = _NodeRecord(line=line, attributes={}, roles=set())
        return record

    def _count_check(self, line: int) -> None:
        if len(self.edges) + len(self.bidirected) >= MAX_IMPORT_EDGES:
            raise DagFormatError(f"line {line}: more than {MAX_IMPORT_EDGES:,} edges; the workbench imports fewer")

    def directed(self, source: str, target: str, line: int, arrow: str = "->") -> tuple[str, str]:
        if source == target:
            raise DagFormatError(f"line {line}: self-loop '{source} {arrow} {target}': a variable cannot cause itself")
        key = (source, target)
        if key not in self.edges:
            self._count_check(line)
            self.edges[key] = ""
            self.edge_lines[key] = line
        return key

    def add_bidirected(self, a: str, b: str, line: int, rationale: str = "") -> frozenset[str]:
        if a == b:
            raise DagFormatError(f"line {line}: self-loop '{a} <-> {b}': a bidirected edge needs two different nodes")
        key = frozenset((a, b))
        if key not in self.bidirected:
            self._count_check(line)
            self.bidirected[key] = (a, b, rationale)
        return key

    def spec(self) -> DagSpec:
        if not self.nodes:
            raise DagFormatError(NO_NODES_MESSAGE)
        nodes = []
        flagged: dict[str, list[str]] = {role: [] for role in ROLE_FLAGS}
        for name, record in self.nodes.items():
            latent = "latent" in record.roles
            column = record.attributes.get("column", None if latent else name) or None
            x, y = record.pos
            label = record.attributes.get("label") or ""
            nodes.append(DagNode(name=name, label=label, latent=latent, column=column, x=x, y=y))
            for role in ROLE_FLAGS:
                if role in record.roles:
                    flagged[role].append(name)
        self._check_roles(flagged)
        self._check_acyclic()
        spec = DagSpec(
            nodes=nodes,
            edges=[DagEdge(source=a, target=b, rationale=r) for (a, b), r in self.edges.items()],
            treatment=flagged["exposure"][0] if flagged["exposure"] else None,
            outcome=flagged["outcome"][0] if flagged["outcome"] else None,
            adjusted=flagged["adjusted"],
            selected=flagged["selected"],
            bidirected=[DagEdge(source=a, target=b, rationale=r) for a, b, r in self.bidirected.values()],
        )
        errors = validate_dag(spec)
        if errors:
            raise DagFormatError(f"the file describes an invalid DAG: {errors[0]}")
        return spec

    def _check_roles(self, flagged: dict[str, list[str]]) -> None:
        """Exposure and outcome: different, observed nodes (as the DAG editor requires), then one of each (a
        node's own contradiction is the more specific message, so it comes first). An ``adjusted`` mark on a
        latent node or on the exposure is read as written, as DAGitty does: the engine's check of the analyst's
        set then says why it is not valid, and every spec the editor can make still re-imports."""
        for name, record in self.nodes.items():
            roles = record.roles
            where = f"line {record.line}: node {name}" if record.line else f"node {name}"
            if {"exposure", "outcome"} <= roles:
                raise DagFormatError(
                    f"{where} is marked both exposure and outcome: the treatment and the outcome must be different nodes"
                )
            for role in ("exposure", "outcome"):
                if role in roles and "latent" in roles:
                    raise DagFormatError(
                        f"{where} is marked both latent and {role}: the {role} must be an observed variable"
                    )
        for role in ("exposure", "outcome"):
            if len(flagged[role]) > 1:
                raise DagFormatError(
                    f"more than one {role} ({', '.join(flagged[role])}): DAGitty allows several, but the workbench "
                    f"estimates one exposure's effect on one outcome at a time; keep a single [{role}] attribute"
                )

    def _check_acyclic(self) -> None:
        """Name one cycle with the lines of its edges. graphlib's topological sort is linear and reports the
        cycle it hits (walked along predecessors, so it is reversed here to follow the arrows)."""
        predecessors: dict[str, set[str]] = {name: set() for name in self.nodes}
        for source, target in self.edges:
            predecessors[target].add(source)
        try:
            graphlib.TopologicalSorter(predecessors).prepare()
        except graphlib.CycleError as error:
            names = list(error.args[1])
            if (names[0], names[1]) not in self.edges:
                names.reverse()
            pairs = list(zip(names, names[1:], strict=False))
            lines = sorted({self.edge_lines[pair] for pair in pairs if self.edge_lines.get(pair)})
            where = f" (edges on line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))})" if lines else ""
            raise DagFormatError(f"the graph has a cycle: {' → '.join(names)}{where}; a DAG cannot hold one") from None


def _check_text(text: object, what: str) -> str:
    """The text to parse, or why there is nothing (or too much) to parse."""
    if isinstance(text, str):
        text = text.removeprefix("\ufeff")  # a byte-order mark from a Windows editor is not a node name
    if not isinstance(text, str) or not text.strip():
        raise DagFormatError(f"the {what} text is empty")
    if len(text) > MAX_IMPORT_CHARS:
        raise DagFormatError(f"the {what} text has {len(text):,} characters; the limit is {MAX_IMPORT_CHARS:,}")
    return text


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    """The shortest text that reads back as exactly this float (so export → import is lossless); whole
    numbers without the ``.0`` DAGitty files never show."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _role_list_problems(spec: DagSpec) -> list[str]:
    """What validate_dag does not look at: the adjusted/selected names and the bidirected edges' ends."""
    names = {node.name for node in spec.nodes}
    problems = [
        f"the {what} node {name!r} is not a node of the graph"
        for what, members in (("adjusted", spec.adjusted), ("selected", spec.selected))
        for name in members
        if name not in names
    ]
    for edge in spec.bidirected:
        problems += [
            f"bidirected edge {edge.source} <-> {edge.target} refers to unknown node {end!r}"
            for end in (edge.source, edge.target)
            if end not in names
        ]
        if edge.source == edge.target:
            problems.append(f"self-loop {edge.source} <-> {edge.target}: a bidirected edge needs two different nodes")
    return problems
