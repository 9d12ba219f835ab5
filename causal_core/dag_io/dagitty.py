"""DAGitty text, read as DAGitty itself reads it (jtextor/dagitty: GraphDotParser.pegjs, GraphParser.js) and
written in DAGitty's own vocabulary; see the package docstring for the accepted syntax."""

from __future__ import annotations

import math
import re
from urllib.parse import unquote

from causal_core.dag_io.syntax import (
    MAX_GROUP_DEPTH,
    SIMPLE_ID,
    DagFormatError,
    Token,
    _Builder,
    _check_text,
    _dot_escape,
    _is,
    _number,
    _parse_pos,
    _read_attributes,
    _Reader,
    _tokenize,
)
from causal_core.project import DagNode, DagSpec

DAGITTY_FLAGS = {
    "exposure": "exposure", "e": "exposure", "source": "exposure",
    "outcome": "outcome", "o": "outcome", "target": "outcome",
    "latent": "latent", "l": "latent", "unobserved": "latent", "u": "latent",
    "adjusted": "adjusted", "a": "adjusted",
    "selected": "selected", "s": "selected",
}  # fmt: skip
DAGITTY_NODE_VALUES = ("pos", "label", "column")
DAGITTY_EDGE_ATTRIBUTES = ("pos", "label", "rationale")
KNOWN_NODE_ATTRIBUTES_TEXT = (
    "exposure (e, source), outcome (o, target), latent (l, unobserved, u), adjusted (a), selected (s), "
    'pos="x,y", label="...", and the workbench\'s column="..."'
)
_GRAPH_TYPES = ("dag", "digraph", "graph", "pdag", "mag", "pag")
_REFUSED_GRAPH_TYPES = {
    "graph": "an undirected 'graph' has '--' edges without a direction",
    "pdag": "a 'pdag' (partially directed graph, e.g. a Markov equivalence class) leaves some edges undirected",
    "mag": "a 'mag' (maximal ancestral graph) has edges that summarise latent paths, not direct causes",
    "pag": "a 'pag' (partial ancestral graph, e.g. from FCI) has circle marks whose direction is unknown",
}


def from_dagitty(text: str) -> DagSpec:
    """Parse DAGitty syntax (modern or the older two-block format); raises DagFormatError with the line and
    reason. Nothing is returned half-read: the spec is built only once the whole text is valid."""
    text = _check_text(text, "DAGitty")
    if _is_legacy_format(text):
        try:
            return _from_dagitty_legacy(text)
        except DagFormatError as error:  # say why the text was read that way: it may not be meant as such
            raise DagFormatError(
                f"{error} (read as DAGitty's older format, vertex lines, a blank line, then adjacency lines, "
                "because the text has a blank line and no braces or arrows)"
            ) from None
    tokens = [token for token in _tokenize(text) if token.kind != "newline"]  # DAGitty: newlines are spaces
    return _DagittyParser(tokens).parse()


class _DagittyParser:
    """Recursive descent over DAGitty's grammar: statements are graph options, edge chains or node statements;
    a ``{ ... }`` group holds statements and stands for every node mentioned inside it."""

    def __init__(self, tokens: list[Token]):
        self.reader = _Reader(tokens)
        self.builder = _Builder()
        self.groups: list[dict[str, None]] = []  # open groups, each collecting the nodes mentioned in it

    def parse(self) -> DagSpec:
        opened = self._header()
        self._statements(opened)
        if opened is not None and not self.reader.at_end():
            token = self.reader.next()
            raise DagFormatError(f"line {token.line}: unexpected {token.value!r} after the graph's closing '}}'")
        return self.builder.spec()

    def _header(self) -> Token | None:
        """``[strict] dag [name] {`` → the ``{`` token; None when the wrapper is omitted (DAGitty allows it)."""
        reader = self.reader
        offset = 1 if _word(reader.peek()) == "strict" else 0
        kind = _word(reader.peek_after(offset))
        if kind not in _GRAPH_TYPES:
            return None
        named = reader.peek_after(offset + 1)
        has_name = named is not None and named.kind in ("id", "str") and _is(reader.peek_after(offset + 2), "{")
        if not (has_name or _is(named, "{")):
            return None  # e.g. a node called "dag" in bare statements
        if kind in _REFUSED_GRAPH_TYPES:
            raise DagFormatError(
                f"'{kind}' graphs are not supported: {_REFUSED_GRAPH_TYPES[kind]}; the workbench needs one causal DAG, "
                "written 'dag { ... }' with '->' edges (and '<->' for a latent common cause)"
            )
        for _ in range(offset + 1 + int(has_name)):
            reader.next()
        return reader.next()

    def _statements(self, opened: Token | None) -> None:
        reader = self.reader
        while True:
            token = reader.peek()
            if token is None:
                if opened is not None:
                    raise DagFormatError(
                        f"line {opened.line}: the '{{' opened here is never closed (a '}}' is missing)"
                    )
                return
            if _is(token, "}"):
                if opened is None:
                    raise DagFormatError(f"line {token.line}: unexpected '}}': no '{{' is open")
                reader.next()
                return
            if _is(token, ";") or _is(token, ","):
                reader.next()
                continue
            self._statement()

    def _statement(self) -> None:
        reader = self.reader
        token = reader.peek()
        if _word(token) == "graph" and _is(reader.peek_after(1), "["):  # graph [bb="..."]: layout only
            reader.next()
            _read_attributes(reader, reader.next())
            return
        if token.kind in ("id", "str") and _is(reader.peek_after(1), "="):  # bb="0,0,1,1": layout only
            reader.next(), reader.next()
            value = reader.next()
            if value.kind not in ("id", "str"):
                raise DagFormatError(f"line {value.line}: the graph option {token.value} needs a value")
            return
        left = self._element()
        created: list[tuple[str, ...]] = []
        attributes: dict[str, str | None] | None = None
        attributes_line = token.line
        while True:
            if _is(reader.peek(), "["):
                opened = reader.next()
                attributes, attributes_line = _read_attributes(reader, opened), opened.line
                if reader.peek() is None or reader.peek().kind != "arrow":
                    break
                self._node_attributes(left, attributes, attributes_line)  # X [exposure] -> Y
                attributes = None
            arrow = reader.peek()
            if arrow is None or arrow.kind != "arrow":
                break
            reader.next()
            right = self._element()
            created += self._connect(left, right, arrow)
            left = right
        if attributes is not None:
            if created:
                self._edge_attributes(created, attributes, attributes_line)
            else:
                self._node_attributes(left, attributes, attributes_line)

    def _element(self) -> list[str]:
        if self.reader.peek() is None:
            raise DagFormatError("unexpected end of the file where a node name or '{' should follow (after an arrow?)")
        token = self.reader.next()
        if _is(token, "{"):
            if len(self.groups) >= MAX_GROUP_DEPTH:
                raise DagFormatError(f"line {token.line}: groups '{{ }}' nested more than {MAX_GROUP_DEPTH} deep")
            self.groups.append({})  # every node mentioned from here on is added to each open group
            self._statements(token)
            return list(self.groups.pop())
        if token.kind not in ("id", "str"):
            raise DagFormatError(f"line {token.line}: expected a node name or '{{' but found {token.value!r}")
        if token.kind == "id" and token.value in ("graph", "node"):
            raise DagFormatError(
                f"line {token.line}: a variable cannot be named '{token.value}' in DAGitty; use label=\"...\" instead"
            )
        self.builder.node(token.value, token.line)
        for group in self.groups:
            group[token.value] = None
        return [token.value]

    def _connect(self, left: list[str], right: list[str], arrow: Token) -> list[tuple[str, ...]]:
        created: list[tuple[str, ...]] = []
        for a in left:
            for b in right:
                if arrow.value == "->":
                    created.append(self.builder.directed(a, b, arrow.line))
                elif arrow.value == "<-":
                    created.append(self.builder.directed(b, a, arrow.line, "<-"))
                elif arrow.value == "<->":
                    created.append(tuple(sorted(self.builder.add_bidirected(a, b, arrow.line))) + ("<->",))
                elif arrow.value == "--":
                    raise DagFormatError(
                        f"line {arrow.line}: '{a} -- {b}' is an undirected edge, which a DAG cannot hold; "
                        f"write '{a} -> {b}' or '{b} -> {a}' (or '{a} <-> {b}' for a latent common cause)"
                    )
                else:
                    raise DagFormatError(
                        f"line {arrow.line}: '{a} {arrow.value} {b}' is a PAG edge (a circle mark: direction unknown), "
                        "which a DAG cannot hold; choose '->', '<-' or '<->'"
                    )
        return created

    def _node_attributes(self, names: list[str], attributes: dict[str, str | None], line: int) -> None:
        unknown = [
            key for key in attributes if key.lower() not in DAGITTY_FLAGS and key.lower() not in DAGITTY_NODE_VALUES
        ]
        if unknown:
            raise DagFormatError(
                f"line {line}: unknown attribute{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                f"on node {', '.join(names)}; DAGitty node attributes are {KNOWN_NODE_ATTRIBUTES_TEXT}"
            )
        for name in names:
            record = self.builder.node(name, line)
            for key, value in attributes.items():
                lowered = key.lower()
                if lowered in DAGITTY_FLAGS:
                    if value is not None and value.lower() not in ("1", "true"):
                        raise DagFormatError(
                            f"line {line}: '{key}={value}' on node {name}: DAGitty flags take no value "
                            f"('{key}' alone marks the node; leave it out to unmark)"
                        )
                    record.roles.add(DAGITTY_FLAGS[lowered])
                elif lowered == "pos":
                    record.pos = _parse_pos(value, name, line)
                else:
                    record.attributes[lowered] = value or ""

    def _edge_attributes(self, created: list[tuple[str, ...]], attributes: dict[str, str | None], line: int) -> None:
        unknown = [key for key in attributes if key.lower() not in DAGITTY_EDGE_ATTRIBUTES]
        if unknown:
            raise DagFormatError(
                f"line {line}: unknown edge attribute{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                'DAGitty edge attributes read here are pos="x,y" (curve point, ignored), label="..." and rationale="..."'
            )
        lowered = {key.lower(): value for key, value in attributes.items()}
        rationale = lowered.get("rationale") or unquote(lowered.get("label") or "")  # DAGitty URL-encodes labels
        if not rationale:
            return
        for key in created:
            if len(key) == 3:  # bidirected
                pair = frozenset(key[:2])
                a, b, _ = self.builder.bidirected[pair]
                self.builder.bidirected[pair] = (a, b, rationale)
            else:
                self.builder.edges[key] = rationale


def _word(token: Token | None) -> str | None:
    return token.value.lower() if token is not None and token.kind == "id" else None


# DAGitty's older format: "name flags [@x,y]" lines, a blank line, then adjacency lines or a 0/1 matrix
_LEGACY_FLAGS = {"E": "exposure", "O": "outcome", "A": "adjusted", "U": "latent"}
_BLANK_LINE = re.compile(r"\r?\n[ \t]*\r?\n")


def _is_legacy_format(text: str) -> bool:
    """DAGitty's own guess: no graph block and no arrow, and (here) a blank line between the two blocks."""
    stripped = text.strip()
    if re.search(r"[{}\[\]]|->|<-|--|//|/\*", stripped):
        return False
    return bool(_BLANK_LINE.search(stripped))


def _from_dagitty_legacy(text: str) -> DagSpec:
    stripped = text.strip()
    first_line = text[: text.index(stripped[0])].count("\n") + 1 if stripped else 1
    vertex_block, edge_block = _BLANK_LINE.split(stripped, maxsplit=1)
    builder = _Builder()
    for offset, raw in enumerate(vertex_block.splitlines()):
        _legacy_vertex(builder, raw, first_line + offset)
    edge_start = first_line + stripped[: stripped.index(edge_block)].count("\n") if edge_block.strip() else 0
    if re.fullmatch(r"[\s01]+", edge_block):
        _legacy_matrix(builder, edge_block, edge_start)
    else:
        for offset, raw in enumerate(edge_block.splitlines()):
            _legacy_adjacency(builder, raw, edge_start + offset)
    return builder.spec()


def _legacy_vertex(builder: _Builder, raw: str, line: int) -> None:
    parts = raw.split()
    if not parts:
        return
    position = parts.pop() if len(parts) >= 2 and "@" in raw else None
    flags = parts.pop() if len(parts) >= 2 else "1"
    record = builder.node(unquote(" ".join(parts)), line)
    for flag in flags:
        if flag in _LEGACY_FLAGS:
            record.roles.add(_LEGACY_FLAGS[flag])
        elif not flag.isdigit():
            raise DagFormatError(
                f"line {line}: unknown flag {flag!r} for vertex {' '.join(parts)}; the older DAGitty format knows "
                "E (exposure), O (outcome), A (adjusted), U (unobserved) and a number (weight)"
            )
    if position is not None:
        record.pos = _parse_pos(position.lstrip("@"), " ".join(parts), line)


def _legacy_adjacency(builder: _Builder, raw: str, line: int) -> None:
    """``A B @x,y C``: edges A → B and A → C (names may contain spaces: the longest known prefix wins, as in
    DAGitty); a pair listed both ways is a bidirected edge."""
    words = raw.split()
    source = _legacy_name(builder, words, line)
    while words:
        if words[0].startswith("@"):
            words.pop(0)
            continue
        target = _legacy_name(builder, words, line)
        if (target, source) in builder.edges:
            del builder.edges[(target, source)]
            builder.add_bidirected(source, target, line)
        else:
            builder.directed(source, target, line)


def _legacy_name(builder: _Builder, words: list[str], line: int) -> str:
    taken: list[str] = []
    while words:
        taken.append(words.pop(0))
        name = unquote(" ".join(taken))
        if name in builder.nodes:
            return name
    raise DagFormatError(f"line {line}: {' '.join(taken)!r} is not a vertex listed in the first block")


def _legacy_matrix(builder: _Builder, block: str, line: int) -> None:
    cells = block.split()
    names = list(builder.nodes)
    size = math.isqrt(len(cells))
    if size * size != len(cells) or size != len(names):
        raise DagFormatError(
            f"line {line}: the adjacency matrix has {len(cells)} entries, but {len(names)} vertices need "
            f"{len(names) ** 2} ({len(names)} × {len(names)})"
        )
    for i, source in enumerate(names):
        for j, target in enumerate(names):
            if cells[i * size + j] == "1":
                builder.directed(source, target, line + i)


# Words DAGitty's grammar (GraphDotParser.pegjs) and DOT read as keywords, compared case-insensitively as DOT
# does: a node with one of these names is written quoted, so ``node -> y`` never reaches the parser bare.
RESERVED_WORDS = frozenset(
    {"node", "graph", "dag", "digraph", "subgraph", "edge", "strict", "pdag", "mag", "pag", "bigraph"}
)


def _quote(name: str) -> str:
    """A node name as DAGitty reads it back: bare only when a plain identifier that is not a keyword."""
    if SIMPLE_ID.match(name) and name.lower() not in RESERVED_WORDS:
        return name
    return '"' + _dot_escape(name) + '"'


def _dagitty_flags(spec: DagSpec, node: DagNode) -> list[str]:
    flags = []
    if node.name == spec.treatment:
        flags.append("exposure")
    if node.name == spec.outcome:
        flags.append("outcome")
    if node.latent:
        flags.append("latent")
    if node.name in spec.adjusted:
        flags.append("adjusted")
    if node.name in spec.selected:
        flags.append("selected")
    return flags


def to_dagitty(spec: DagSpec) -> str:
    """DAGitty text in DAGitty's own vocabulary (exposure, outcome, latent, adjusted, selected, pos, ``<->``),
    plus the workbench's label/column/rationale attributes, which DAGitty keeps and ignores."""
    lines = ["dag {"]
    for node in spec.nodes:
        attributes = _dagitty_flags(spec, node)
        if node.x is not None and node.y is not None:
            attributes.append(f'pos="{_number(node.x)},{_number(node.y)}"')
        if node.label and node.label != node.name:
            attributes.append(f'label="{_dot_escape(node.label)}"')
        default_column = None if node.latent else node.name
        if node.column != default_column:
            attributes.append(f'column="{_dot_escape(node.column or "")}"')
        suffix = f" [{','.join(attributes)}]" if attributes else ""
        lines.append(f"  {_quote(node.name)}{suffix}")
    for arrow, edges in (("->", spec.edges), ("<->", spec.bidirected)):
        for edge in edges:
            extra = f' [rationale="{_dot_escape(edge.rationale)}"]' if edge.rationale else ""
            lines.append(f"  {_quote(edge.source)} {arrow} {_quote(edge.target)}{extra}")
    lines.append("}")
    return "\n".join(lines) + "\n"
