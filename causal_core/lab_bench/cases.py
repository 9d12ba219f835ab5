"""Benchmark cases for the DAG-drafting benchmark: known graphs a model can be graded against.

Each case is a true graph, the variables a model is shown (name, description, timing, never the edges)
and a treatment–outcome pair. ``famous`` graphs are published and very likely in a model's training data;
``novel`` graphs (the built-in simulations, the analyst's own project) cannot have been memorised, so the
famous-vs-novel split shows how much of a model's score is recall rather than reasoning.

The true graph reaches the runner inside a :class:`~causal_core.project.Project` (dictionary + ``dag``)
so the existing lab runner, queue and records work unchanged; the prompt builder of the benchmark task
reads only the dictionary and the focus pair, never ``project.dag``'s edges.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from causal_core.errors import WorkbenchInputError
from causal_core.project import DagEdge, DagNode, DagSpec, DictionaryEntry, Project, Timing, normalise_timing

GRAPH_PACKAGE = "causal_core.lab_bench.graphs"
PROJECT_CASE = "project"
KINDS = ("famous", "novel")


class BenchError(WorkbenchInputError):
    """A benchmark request that cannot run (unknown graph, unusable project DAG): one clear line."""


@dataclass(frozen=True)
class BenchCase:
    """One known graph: what the model sees (variables) and what it is graded against (edges)."""

    case_id: str
    title: str
    kind: str
    treatment: str
    outcome: str
    variables: tuple[dict[str, str], ...]
    edges: tuple[tuple[str, str], ...]
    latent: tuple[str, ...] = ()
    source: str = ""
    licence: str = ""
    reference: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def variable_names(self) -> list[str]:
        return [row["name"] for row in self.variables]

    def spec(self) -> DagSpec:
        """The true graph as a DagSpec: listed variables observed (bound to a column), the rest latent."""
        listed = set(self.variable_names)
        names = list(dict.fromkeys([*self.variable_names, *self.latent, *(n for edge in self.edges for n in edge)]))
        nodes = [DagNode(name=name, latent=name not in listed, column=name if name in listed else None)
                 for name in names]
        return DagSpec(nodes=nodes, edges=[DagEdge(source=s, target=t) for s, t in self.edges],
                       treatment=self.treatment, outcome=self.outcome)

    def project(self) -> Project:
        """A headless project the lab runner can carry: dictionary (what the model reads) + the true DAG."""
        dictionary = [DictionaryEntry(variable=row["name"], description=row.get("description", ""),
                                      timing=_timing(row.get("timing", "")), timing_label=row.get("timing", ""))
                      for row in self.variables]
        return Project(name=f"benchmark: {self.title}", dictionary=dictionary, dag=self.spec(),
                       treatment=self.treatment, outcome=self.outcome)

    def summary_row(self) -> dict[str, Any]:
        """The ``graphs`` row of the CLI/page output."""
        return {"case_id": self.case_id, "title": self.title, "kind": self.kind, "treatment": self.treatment,
                "outcome": self.outcome, "variables": len(self.variables), "edges": len(self.edges),
                "source": self.source, "licence": self.licence}


def _timing(text: str) -> Timing:
    return normalise_timing(text)


# ---------------------------------------------------------------------------------------------
# Shipped graphs (JSON under graphs/)
# ---------------------------------------------------------------------------------------------
def _case_from_json(payload: dict[str, Any]) -> BenchCase:
    source = payload.get("source") or {}
    return BenchCase(
        case_id=str(payload["name"]), title=str(payload["title"]), kind=str(payload["kind"]),
        treatment=str(payload["treatment"]), outcome=str(payload["outcome"]),
        variables=tuple({k: str(v) for k, v in row.items()} for row in payload["variables"]),
        edges=tuple((str(s), str(t)) for s, t in payload["edges"]),
        source=str(source.get("package", "")) if isinstance(source, dict) else str(source),
        licence=str(payload.get("licence", "")), reference=str(payload.get("reference", "")),
        extra={"expected": payload.get("expected", {})},
    )


@functools.lru_cache(maxsize=1)
def shipped_cases() -> dict[str, BenchCase]:
    """Every graph JSON shipped with the app, by name (read once per process)."""
    folder = resources.files(GRAPH_PACKAGE)
    cases = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            case = _case_from_json(json.loads(item.read_text(encoding="utf-8")))
            cases[case.case_id] = case
    return cases


# ---------------------------------------------------------------------------------------------
# Built-in simulations and the analyst's project (novel graphs)
# ---------------------------------------------------------------------------------------------
SKIPPED_TIMINGS = {Timing.unit_id, Timing.time_id}


def case_from_project(project: Project, case_id: str, title: str, kind: str = "novel") -> BenchCase:
    """A project's DAG as a benchmark case: its dictionary is what the model reads.

    Variables are the dictionary entries that are DAG nodes (simulation truth and ids left out); DAG nodes
    without an entry (latent or unmeasured) stay in the true graph as unobserved nodes.
    """
    spec = project.dag
    if spec is None or not spec.edges:
        raise BenchError(f"case '{case_id}': the project has no DAG with edges to grade against")
    if not spec.treatment or not spec.outcome:
        raise BenchError(f"case '{case_id}': the project's DAG needs a treatment and an outcome node")
    entries = {e.variable: e for e in project.dictionary if not e.simulation_truth and e.timing not in SKIPPED_TIMINGS}
    observed = {n.name for n in spec.nodes if not n.latent and n.name in entries}
    variables = tuple(
        {"name": n.name, "description": entries[n.name].description or n.label,
         "timing": entries[n.name].timing.value}
        for n in spec.nodes if n.name in observed
    )
    if spec.treatment not in observed or spec.outcome not in observed:
        raise BenchError(f"case '{case_id}': the treatment and the outcome must be measured variables in the dictionary")
    edges = tuple((e.source, e.target) for e in spec.edges)
    latent = tuple(n.name for n in spec.nodes if n.name not in observed)
    bidirected = [(e.source, e.target) for e in spec.bidirected]
    if bidirected:  # a <-> b: an explicit unobserved common cause, so the true graph keeps the confounding
        extra_edges = []
        for a, b in bidirected:
            hidden = f"u_{a}_{b}"
            extra_edges += [(hidden, a), (hidden, b)]
            latent += (hidden,)
        edges += tuple(extra_edges)
    return BenchCase(case_id=case_id, title=title, kind=kind, treatment=spec.treatment, outcome=spec.outcome,
                     variables=variables, edges=edges, latent=latent, source="this workbench",
                     licence="the project's own DAG")


@functools.lru_cache(maxsize=4)
def builtin_case(name: str) -> BenchCase:
    """A built-in simulation's default DAG (the simulation's own structure) as a novel case."""
    from causal_core import headless

    project, _ = headless.build_project(name)
    return case_from_project(project, f"builtin_{name}", f"Built-in simulation: {name}")


def builtin_names() -> list[str]:
    from causal_core.data import BUILTINS

    return list(BUILTINS)


def known_case_ids() -> list[str]:
    """Every case name the benchmark accepts (the open project only where there is one)."""
    return [*shipped_cases(), *(f"builtin_{name}" for name in builtin_names())]


def get_case(case_id: str, project: Project | None = None) -> BenchCase:
    """The case called ``case_id``; an unknown name raises BenchError listing the known ones."""
    if case_id in shipped_cases():
        return shipped_cases()[case_id]
    if case_id.startswith("builtin_") and case_id.removeprefix("builtin_") in builtin_names():
        return builtin_case(case_id.removeprefix("builtin_"))
    if case_id == PROJECT_CASE:
        if project is None:
            raise BenchError("case 'project' needs an open project (in the app) or --project FILE")
        return case_from_project(project, PROJECT_CASE, f"Open project: {project.name or 'untitled'}")
    known = [*known_case_ids(), PROJECT_CASE]
    raise BenchError(f"unknown graph '{case_id}': choose from {', '.join(known)}")


def default_case_ids() -> list[str]:
    return known_case_ids()
