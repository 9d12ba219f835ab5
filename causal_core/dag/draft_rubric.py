"""The DAG draft's rubric of consequences: what the drawn graph *implies*, not which names it mentions.

A draft that holds every confounder but wires them only among themselves says "no adjustment needed",
and every estimator then returns the naive difference; a confounder drawn as a mediator is left out of
the adjustment set. Both look fine to a name-presence check. So besides the structural checks (acyclic,
a directed path, timing of arrows, known names) this rubric

* derives the draft's own adjustment set with :func:`causal_core.dag.identify` and the estimate it implies
  on the project's data (the regression estimator of :mod:`causal_core.estimation`), and fails the draft
  when that estimate is more than one standard error from the reference estimate (the analyst's DAG's
  recommended set, else every pre-treatment dictionary column) or has the other sign, with both numbers;
* fails columns that predict the treatment in the data but have no directed path into it in the draft;
* fails arrows from the treatment into pre-treatment columns and pre-treatment columns drawn downstream
  of the treatment (a confounder drawn as a mediator), using the dictionary's timing.

An unobserved node is allowed when the draft marks it latent (``{"name": ..., "latent": true}`` or
``source_latent``/``target_latent``): the DAG prompt invites one, so it never fails "every node known".
Fits are cached per (frame, adjustment set) so a retention draft scores well under a second.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import pandas as pd

from causal_core import dag
from causal_core.ai.rubric import check
from causal_core.dag.draft_names import NameMap, treatment_predictors, usable_columns
from causal_core.project import DagEdge, DagNode, DagSpec, EstimationSpec, Project, RubricCheck, Timing

LATE_TIMINGS = {Timing.post_treatment, Timing.outcome, Timing.future}
_FIT_CACHE: dict[tuple, tuple[float, float]] = {}
_FRAMES: dict[int, weakref.ref] = {}
_PREDICTOR_CACHE: dict[tuple, list[tuple[str, float]]] = {}


@dataclass
class ParsedDraft:
    """A draft mapped onto canonical node names: edges, which nodes are latent, which names are unknown."""

    edges: list[tuple[str, str]] = field(default_factory=list)
    latent: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Reading the draft
# ---------------------------------------------------------------------------------------------
def _end(item: dict[str, Any], end: str, aliases: tuple[str, ...]) -> tuple[str | None, bool]:
    """One edge end as (name, marked latent): a plain string, or the {"name", "latent": true} form."""
    value = next((item[key] for key in (end, *aliases) if key in item), None)
    if isinstance(value, dict):
        name = value.get("name")
        return (name.strip() if isinstance(name, str) and name.strip() else None), value.get("latent") is True
    if isinstance(value, str) and value.strip():
        return value.strip()[:80], item.get(f"{end}_latent") is True
    return None, False


def raw_edges(draft: Any) -> list[tuple[str, str, bool, bool]]:
    """(source, target, source latent, target latent) for each readable edge of a parsed draft."""
    if hasattr(draft, "model_dump"):
        draft = draft.model_dump()
    items = draft.get("edges") if isinstance(draft, dict) else None
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        source, source_latent = _end(item, "source", ("from", "cause", "parent"))
        target, target_latent = _end(item, "target", ("to", "effect", "child"))
        if source and target:
            found.append((source, target, source_latent, target_latent))
    return found


def parse_draft(draft: Any, names: Any, columns: set[str]) -> ParsedDraft:
    """Map each end onto the DAG's nodes / the data's columns; latent-marked names stay latent nodes."""
    parsed = ParsedDraft()
    for source, target, source_latent, target_latent in raw_edges(draft):
        ends = []
        for raw, latent in ((source, source_latent), (target, target_latent)):
            mapped = raw if raw in columns else (None if latent else names.map(raw)[0])
            if mapped is None:
                mapped = raw
                if latent:
                    parsed.latent.add(raw)
                elif raw not in parsed.unknown:
                    parsed.unknown.append(raw)
            ends.append(mapped)
        parsed.edges.append((ends[0], ends[1]))
    return parsed


# ---------------------------------------------------------------------------------------------
# Consequences: adjustment set and implied estimate
# ---------------------------------------------------------------------------------------------
def draft_spec(parsed: ParsedDraft, current: DagSpec | None, columns: set[str], treatment: str, outcome: str) -> DagSpec:
    """The draft as a DagSpec: a node measures its column (the current DAG's, or the column of that name);
    latent and unknown names become unobserved nodes (renamed when DAGitty could not hold the name)."""
    known = {n.name: n for n in current.nodes} if current else {}
    safe: dict[str, str] = {}
    for index, name in enumerate(dict.fromkeys(n for edge in parsed.edges for n in edge)):
        safe[name] = name if dag.name_problem(name) is None else f"unnamed_{index}"
    nodes = []
    for name, node_name in safe.items():
        column = known[name].column if name in known else (name if name in columns else None)
        observed = column is not None and name not in parsed.latent
        nodes.append(DagNode(name=node_name, column=column if observed else None, latent=not observed))
    edges = [DagEdge(source=safe[s], target=safe[t]) for s, t in parsed.edges if s != t]
    unique = list({(e.source, e.target): e for e in edges}.values())
    return DagSpec(nodes=nodes, edges=unique, treatment=safe.get(treatment, treatment), outcome=safe.get(outcome, outcome))


def _frame_key(frame: pd.DataFrame) -> int:
    """A cache key for a frame that is dropped when the frame is (ids of dead frames are never reused stale)."""
    key = id(frame)
    ref = _FRAMES.get(key)
    if ref is None or ref() is not frame:
        for stale in [k for k in _FIT_CACHE if k[0] == key]:
            _FIT_CACHE.pop(stale, None)
        for stale in [k for k in _PREDICTOR_CACHE if k[0] == key]:
            _PREDICTOR_CACHE.pop(stale, None)
        _FRAMES[key] = weakref.ref(frame)
    return key


def implied_estimate(frame: pd.DataFrame, treatment: str, outcome: str, adjustment: list[str]) -> tuple[float, float]:
    """Regression estimate (and HC3 SE) of the treatment coefficient adjusting for ``adjustment`` (cached)."""
    from causal_core.estimation import build_design, regression

    key = (_frame_key(frame), treatment, outcome, tuple(sorted(adjustment)))
    if key not in _FIT_CACHE:
        spec = EstimationSpec(treatment=treatment, outcome=outcome, covariates=sorted(adjustment))
        row, _ = regression(build_design(frame, spec), "ATE")
        _FIT_CACHE[key] = (float(row.estimate), float(row.std_error or 0.0))
    return _FIT_CACHE[key]


def reference_adjustment(project: Project, frame: pd.DataFrame) -> tuple[list[str], str]:
    """The set the draft is compared with: the analyst's DAG's recommended set, else every pre-treatment
    dictionary column in the data (the dictionary's own answer)."""
    spec = project.dag
    if spec is not None and spec.treatment and spec.outcome:
        try:
            ident = dag.identify(spec)
        except ValueError:
            ident = None
        if ident is not None and ident.identifiable and ident.recommended_set is not None:
            return dag.adjustment_columns(spec, ident.recommended_set), "the analyst's DAG"
    columns = [e.variable for e in project.dictionary
               if e.timing == Timing.pre_treatment and not e.simulation_truth and e.variable in frame.columns]
    return columns, "the dictionary's pre-treatment columns"


def _fmt(value: float) -> str:
    return f"{value:+.4f}"


def estimate_check(spec: DagSpec, project: Project, frame: pd.DataFrame | None, treatment: str, outcome: str) -> RubricCheck:
    """The draft's implied estimate against the reference: > 1 SE apart or the other sign fails."""
    name = "implied estimate matches the recommended DAG"
    column_of = {n.name: n.column for n in spec.nodes}
    t_column, y_column = column_of.get(treatment) or treatment, column_of.get(outcome) or outcome
    if frame is None or t_column not in frame.columns or y_column not in frame.columns:
        return check(name, False, "no data loaded: the draft's implied estimate cannot be computed", severity="warn")
    try:
        ident = dag.identify(spec)
    except ValueError as error:
        return check(name, False, f"the draft's question cannot be identified: {error}")
    if not ident.identifiable or ident.recommended_set is None:
        # A drawn latent common cause is an honest claim ("adjustment cannot identify this"), not an error:
        # shown, not scored. Without one, an unidentifiable draft is a wiring mistake and fails.
        latent_only = any(not n.column for n in spec.nodes if n.name in ident.open_path)
        return check(name, False, f"no implied estimate: the draft admits no adjustment set ({ident.note})",
                     severity="warn" if latent_only else "fail")
    adjustment = dag.adjustment_columns(spec, ident.recommended_set)
    reference, basis = reference_adjustment(project, frame)
    try:
        draft_est, _ = implied_estimate(frame, t_column, y_column, adjustment)
        ref_est, ref_se = implied_estimate(frame, t_column, y_column, reference)
    except ValueError as error:  # EstimationError is a ValueError: an arm too small, a constant outcome...
        return check(name, False, f"the implied estimate cannot be fitted: {error}", severity="warn")
    shown_set = ", ".join(adjustment) if adjustment else "nothing (no adjustment needed)"
    evidence = (f"the draft adjusts for {shown_set} → {_fmt(draft_est)}; {basis} → {_fmt(ref_est)} "
                f"(SE {ref_se:.4f}, regression)")
    flipped = draft_est * ref_est < 0
    too_far = abs(draft_est - ref_est) > ref_se
    if flipped or too_far:
        why = "the sign flips" if flipped else f"they differ by {abs(draft_est - ref_est):.4f} > 1 SE"
        return check(name, False, f"{evidence}: {why}")
    return check(name, True, f"{evidence}: within 1 SE")


# ---------------------------------------------------------------------------------------------
# Structural checks
# ---------------------------------------------------------------------------------------------
def cached_predictors(project: Project, frame: pd.DataFrame) -> list[tuple[str, float]]:
    """``draft_names.treatment_predictors`` once per frame and treatment (it runs one test per column)."""

    key = (_frame_key(frame), project.treatment, tuple(e.variable for e in project.dictionary))
    if key not in _PREDICTOR_CACHE:
        _PREDICTOR_CACHE[key] = treatment_predictors(project, frame)
    return _PREDICTOR_CACHE[key]


def _timing(project: Project, spec: DagSpec, name: str) -> Timing:
    """The dictionary timing of a draft node: its column's, else its own name's (a simulation-truth column
    is not a usable node but the dictionary still knows it is from the future)."""
    node = next((n for n in spec.nodes if n.name == name), None)
    return project.timing_of(node.column if node is not None and node.column else name)


def predictors_check(graph: nx.DiGraph, spec: DagSpec, project: Project, frame: pd.DataFrame | None, treatment: str) -> RubricCheck:
    """Columns that predict the treatment must have a directed path into it (present is not enough)."""
    name = "pre-treatment predictors of treatment appear"
    node_of = {n.column: n.name for n in spec.nodes if n.column}
    if frame is None:
        wanted = [e.variable for e in project.dictionary if e.timing == Timing.pre_treatment and not e.simulation_truth]
        severity, basis = "warn", "no data loaded: every pre-treatment variable is expected"
    else:
        wanted = [column for column, _ in cached_predictors(project, frame)]
        severity, basis = "fail", f"{len(wanted)} pre-treatment column(s) predict the treatment in the data"
    ancestors = nx.ancestors(graph, treatment) if treatment in graph else set()
    absent = [c for c in wanted if node_of.get(c, c) not in graph]
    no_path = [c for c in wanted if node_of.get(c, c) in graph and node_of.get(c, c) not in ancestors]
    problems = ([f"missing: {', '.join(absent)}"] if absent else []) + (
        [f"drawn without a directed path into {treatment}: {', '.join(no_path)}"] if no_path else [])
    reason = f"{basis}; {'; '.join(problems)}" if problems else f"{basis}; each has a directed path into {treatment}"
    return check(name, not problems, reason, severity=severity)


def pre_treatment_downstream_checks(graph: nx.DiGraph, spec: DagSpec, project: Project, treatment: str, outcome: str) -> list[RubricCheck]:
    """Arrows from the treatment into pre-treatment columns, and pre-treatment columns drawn as mediators."""
    pre = {n for n in graph if _timing(project, spec, n) == Timing.pre_treatment}
    children = list(graph.successors(treatment)) if treatment in graph else []
    direct = [dag.edge_text(treatment, n) for n in children if n in pre]
    descendants = nx.descendants(graph, treatment) if treatment in graph else set()
    mediators = sorted(n for n in pre & descendants if outcome in graph and nx.has_path(graph, n, outcome))
    return [
        check("no treatment → pre-treatment edge", not direct,
              f"the treatment points into pre-treatment column(s) (dictionary timing): {', '.join(direct)}" if direct
              else "no arrow from the treatment into a pre-treatment column"),
        check("no pre-treatment column drawn as a mediator", not mediators,
              f"measured before the treatment (dictionary) but drawn on a path {treatment} ⇝ {outcome}: "
              f"{', '.join(mediators)}" if mediators else "no pre-treatment column lies downstream of the treatment"),
    ]


def _focus(project: Project) -> tuple[str | None, str | None]:
    spec = project.dag
    return (spec.treatment if spec else None) or project.treatment, (spec.outcome if spec else None) or project.outcome


def _path_check(graph: nx.DiGraph, treatment: str | None, outcome: str | None) -> RubricCheck:
    name = "directed path treatment → outcome"
    if not treatment or not outcome:
        return check(name, False, "the project has no treatment/outcome yet")
    missing = [n for n in (treatment, outcome) if n not in graph]
    if missing:
        return check(name, False, f"{', '.join(missing)} missing from the draft")
    if not nx.has_path(graph, treatment, outcome):
        return check(name, False, f"no directed path {treatment} ⇝ {outcome}")
    return check(name, True, " → ".join(nx.shortest_path(graph, treatment, outcome)))


NEGATIVE_CHECKS = ("no post-treatment/future variable → treatment", "no outcome → pre-treatment edge",
                   "no treatment → pre-treatment edge", "no pre-treatment column drawn as a mediator")


def _empty_draft_earns_nothing(checks: list[RubricCheck], parsed: ParsedDraft, graph: nx.DiGraph,
                               treatment: str | None, outcome: str | None) -> list[RubricCheck]:
    """A draft without edges, or without the treatment or the outcome, cannot earn the "draws nothing wrong"
    points (absent content earns no points; an empty draft scored 2 of 6 before)."""
    missing = [n for n in (treatment, outcome) if n and n not in graph]
    if parsed.edges and not missing:
        return checks
    why = "the draft has no edges" if not parsed.edges else f"{', '.join(missing)} missing from the draft"
    return [c.model_copy(update={"passed": False, "reason": f"not assessed: {why}"})
            if c.name in NEGATIVE_CHECKS and c.passed else c for c in checks]


def score_dag_draft(draft: Any, project: Project, frame: pd.DataFrame | None) -> list[RubricCheck]:
    """Structural checks plus the consequences of the drawn graph; each reason names its evidence."""

    columns = usable_columns(project, frame)
    names = NameMap(project.dag, columns)
    treatment, outcome = _focus(project)
    treatment = (names.map(treatment)[0] or treatment) if treatment else None
    outcome = (names.map(outcome)[0] or outcome) if outcome else None
    parsed = parse_draft(draft, names, set(columns))
    graph = nx.DiGraph(parsed.edges)
    cycle = dag.find_cycle(graph) if parsed.edges else None
    spec = draft_spec(parsed, project.dag, set(columns), treatment or "", outcome or "")
    late = [dag.edge_text(s, t) for s, t in parsed.edges if t == treatment and _timing(project, spec, s) in LATE_TIMINGS]
    out_of_y = [dag.edge_text(s, t) for s, t in parsed.edges if s == outcome and _timing(project, spec, t) == Timing.pre_treatment]
    checks = [
        check("acyclic", bool(parsed.edges) and cycle is None,
              "no directed cycle" if parsed.edges and cycle is None else (f"cycle {dag.format_cycle(cycle)}" if cycle else "no edges")),
        _path_check(graph, treatment, outcome),
    ]
    if treatment and outcome:
        checks.append(predictors_check(graph, spec, project, frame, treatment))
    else:
        checks.append(check("pre-treatment predictors of treatment appear", False, "the project has no treatment/outcome yet"))
    checks += [
        check("no post-treatment/future variable → treatment", not late,
              f"late variable(s) point into the treatment: {', '.join(late)}" if late
              else "no edge from a post-treatment, outcome or future variable into the treatment"),
        check("no outcome → pre-treatment edge", not out_of_y,
              f"the outcome points into pre-treatment variable(s): {', '.join(out_of_y)}" if out_of_y
              else "no edge out of the outcome into a pre-treatment variable"),
    ]
    if treatment and outcome:
        checks += pre_treatment_downstream_checks(graph, spec, project, treatment, outcome)
    else:
        checks += [check(name, False, "the project has no treatment/outcome yet")
                   for name in ("no treatment → pre-treatment edge", "no pre-treatment column drawn as a mediator")]
    if treatment and outcome and cycle is None and parsed.edges:
        checks.append(estimate_check(spec, project, frame, treatment, outcome))
    else:
        why = "the draft is cyclic" if cycle else "the draft has no edges or the project no treatment/outcome"
        checks.append(check("implied estimate matches the recommended DAG", False, f"not assessed: {why}"))
    checks = _empty_draft_earns_nothing(checks, parsed, graph, treatment, outcome)
    latent_note = f"; latent by choice: {', '.join(sorted(parsed.latent))}" if parsed.latent else ""
    checks.append(check("every node known", bool(parsed.edges) and not parsed.unknown,
                        (f"unknown: {', '.join(parsed.unknown)} (neither a DAG node, a data column nor marked latent)"
                         if parsed.unknown else ("every name is a DAG node, a data column or marked latent"
                                                 if parsed.edges else "no edges")) + latent_note))
    return checks
