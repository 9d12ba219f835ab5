"""DAG import/export that keeps roles and positions: DAGitty, Graphviz DOT, JSON node-link, and SVG.

Files follow the formats: syntax (tokens, attribute lists, the checking builder, limits), dagitty, dot,
node_link (JSON and reading a file by its name); this module re-exports the public names.

DAGitty is what analysts already use, so its syntax is read as DAGitty itself reads it (jtextor/dagitty,
``GraphDotParser.pegjs`` and ``GraphParser.js``):

* ``dag { ... }`` (also ``digraph``, an optional graph name, ``strict``) or the bare statements without the
  wrapper; ``graph``/``pdag``/``mag``/``pag`` blocks are refused, because their edges have no single direction;
* node statements ``X [exposure, pos="x,y"]`` with every DAGitty spelling: ``exposure``/``e``/``source``,
  ``outcome``/``o``/``target``, ``latent``/``l``/``unobserved``/``u``, ``adjusted``/``a``, ``selected``/``s``;
* edges ``->``, ``<-`` and ``<->`` (a latent common cause, kept in ``DagSpec.bidirected``), chains
  ``A -> B <- C``, groups ``{A B} -> Y`` that may nest statements (``x -> {a -> b}`` is three edges);
* DAGitty's older two-block format (vertex lines ``X E @0.1,0.2``, a blank line, adjacency lines or an
  adjacency matrix), which its own examples and test suite still use.

``--`` and PAG marks (``@->``) are refused with the edge named, as are cycles (named, with their lines), self-
loops, unknown attributes (named, with the known ones listed), a node that is both exposure and outcome, a
latent exposure or outcome, more than one exposure or outcome (the workbench studies one effect at a time), an
empty graph, and files above the size limits (``MAX_IMPORT_NODES`` …). An ``adjusted`` mark is read as written,
even on a latent node, as DAGitty does; the engine's check of the analyst's set says when it cannot work.
DAGitty itself has no comments; ``//``, ``/* */`` and a leading ``#`` are accepted here as a courtesy, and the
export never writes them. Two attributes DAGitty ignores carry the workbench's extras: ``label="..."`` and
``column="..."`` (``column=""`` = a node without data).

On import, a non-latent node without a ``column`` attribute is taken to measure the column of the same name
(the usual case when a DAG is written against a dataset); the page then binds or unbinds it against the data.
"""

from __future__ import annotations

from causal_core.dag_io.dagitty import (  # noqa: F401
    DAGITTY_EDGE_ATTRIBUTES,
    DAGITTY_FLAGS,
    DAGITTY_NODE_VALUES,
    KNOWN_NODE_ATTRIBUTES_TEXT,
    from_dagitty,
    to_dagitty,
)
from causal_core.dag_io.dot import DOT_FONT, dot_available, from_dot, to_dot, to_svg  # noqa: F401
from causal_core.dag_io.node_link import (  # noqa: F401
    FORMATS,
    decode_dag_bytes,
    format_for,
    from_json,
    parse,
    parse_bytes,
    read_file,
    to_json,
)
from causal_core.dag_io.syntax import (  # noqa: F401
    MAX_IMPORT_CHARS,
    MAX_IMPORT_EDGES,
    MAX_IMPORT_NODES,
    ROLE_FLAGS,
    SIMPLE_ID,
    DagFormatError,
    DotUnavailable,
    Token,
)

__all__ = [
    "DAGITTY_EDGE_ATTRIBUTES",
    "DAGITTY_FLAGS",
    "DAGITTY_NODE_VALUES",
    "DOT_FONT",
    "FORMATS",
    "KNOWN_NODE_ATTRIBUTES_TEXT",
    "MAX_IMPORT_CHARS",
    "MAX_IMPORT_EDGES",
    "MAX_IMPORT_NODES",
    "ROLE_FLAGS",
    "SIMPLE_ID",
    "DagFormatError",
    "DotUnavailable",
    "Token",
    "decode_dag_bytes",
    "dot_available",
    "format_for",
    "from_dagitty",
    "from_dot",
    "from_json",
    "parse",
    "parse_bytes",
    "read_file",
    "to_dagitty",
    "to_dot",
    "to_json",
    "to_svg",
]
