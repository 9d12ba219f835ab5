"""Count import cycles among the modules of a package: ``python tools/import_cycles.py causal_core``.

Why an own checker next to import-linter: import-linter sees module-level imports only in the order Python runs them,
while a cycle held together by an import inside a function body is still a cycle in the design (it only dodges the
error at load time). So every import statement, at module level or inside a function, that names a module of the
package is an edge; ``from pkg.sub import name`` is an edge to ``pkg/sub/__init__.py`` unless ``name`` is itself a
submodule. Imports under ``if TYPE_CHECKING:`` count too: an annotation that needs the package's ``__init__`` is
the same coupling, and ``causal_core.estimation``'s submodules annotate with the defining module instead. The
strongly connected components with more than one module are the cycles; exit status 1 when there is one that
``--known`` does not list.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import networkx as nx


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` under the package root (``pkg/__init__.py`` is ``pkg``)."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        modules[".".join(parts)] = path
    return modules


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in the tree, function bodies and ``if TYPE_CHECKING:`` blocks included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def _absolute_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _absolute_base(node, module, is_package)
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]


def import_graph(root: Path) -> nx.DiGraph:
    """Directed graph module → imported module, restricted to modules of the package under ``root``."""
    modules = module_files(root)
    package = root.name
    graph = nx.DiGraph()
    for module, path in modules.items():
        graph.add_node(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _import_nodes(tree):
            for target in _targets(node, module, path.name == "__init__.py", modules):
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != module and target.split(".")[0] == package:
                    graph.add_edge(module, target)
    return graph


def import_cycles(root: Path) -> list[list[str]]:
    """The strongly connected components with more than one module, each sorted, largest first."""
    components = [sorted(c) for c in nx.strongly_connected_components(import_graph(root)) if len(c) > 1]
    return sorted(components, key=lambda c: (-len(c), c))


def read_known(path: Path | None) -> list[frozenset[str]]:
    """Cycles accepted for now, one per line as comma-separated module names (``#`` starts a comment)."""
    if path is None:
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [frozenset(part.strip() for part in line.split(",")) for line in lines if line]


def unexpected_cycles(cycles: list[list[str]], known: list[frozenset[str]]) -> tuple[list[list[str]], list[set[str]]]:
    """(cycles not in the known list, known cycles that no longer exist). Only the first fails the check; the
    second is a reminder to shorten the list (a cycle can vanish while someone's change is still uncommitted)."""
    found = [frozenset(cycle) for cycle in cycles]
    new = [cycle for cycle in cycles if frozenset(cycle) not in known]
    gone = [set(cycle) for cycle in known if cycle not in found]
    return new, gone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the package folder, e.g. causal_core")
    parser.add_argument("--edges", action="store_true", help="print the edges inside each cycle")
    parser.add_argument("--known", type=Path, help="a file of cycles accepted for now (see read_known)")
    args = parser.parse_args(argv)
    graph = import_graph(args.package)
    cycles = import_cycles(args.package)
    for cycle in cycles:
        print(f"{len(cycle)} modules: " + ", ".join(cycle))
        if args.edges:
            for source, target in sorted(graph.subgraph(cycle).edges):
                print(f"    {source} -> {target}")
    print(f"{len(cycles)} import cycle(s)")
    new, gone = unexpected_cycles(cycles, read_known(args.known))
    for cycle in new:
        print("NEW cycle (not in the known list): " + ", ".join(cycle))
    for cycle in gone:
        print("FIXED: remove from the known list: " + ", ".join(sorted(cycle)))
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
