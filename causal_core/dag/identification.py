"""Identification by adjustment: minimal sets, the recommended set, bad controls, set checks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import networkx as nx
from pydantic import BaseModel, Field

from causal_core.dag.constants import (
    LARGE_GRAPH_NODES,
    LARGE_GRAPH_PATHS_SHOWN,
    MAX_MINIMAL_SETS,
    MAX_PATHS_SHOWN,
    MAX_SUBSET_TESTS,
    IdentificationError,
)
from causal_core.dag.criterion import (
    adjustment_checker,
    criterion_violation,
    is_adjustment_set,
    minimal_adjustment_sets,
    minimal_d_separators,
)
from causal_core.dag.graph import is_hidden, observed_names, to_networkx, validate_dag
from causal_core.dag.roles import _d_separated, _without_treatment_out_edges
from causal_core.project import DagSpec

BAD_CONTROL_PATHS_SHOWN = 50  # simple paths inspected to *show* the path a collider opens (display only)


# Identification
# ---------------------------------------------------------------------------------------------
class BadControl(BaseModel):
    name: str
    reason: str


class SetCheck(BaseModel):
    valid: bool
    open_path: list[str] = Field(default_factory=list, description="Nodes of the open (or blocked causal) path.")
    path_text: str = ""
    reason: str = ""
    criterion_valid: bool | None = Field(
        None, description="Valid under the adjustment criterion (None when the set could not be checked at all)."
    )


class Identification(BaseModel):
    """The total effect's identification by covariate adjustment.

    ``identifiable=True`` with ``minimal_sets=[[]]`` means *no adjustment needed*; ``identifiable=False``
    means *no observed set works* — the two are never both an empty list.
    """

    treatment: str
    outcome: str
    identifiable: bool
    minimal_sets: list[list[str]] = Field(default_factory=list)
    recommended_set: list[str] | None = None
    bad_controls: list[BadControl] = Field(default_factory=list)
    capped: bool = False
    note: str = ""
    open_path: str = Field("", description="When not identifiable: a backdoor path no observed set can block.")
    criterion_sets: list[list[str]] = Field(
        default_factory=list, description="Minimal sets under the adjustment criterion (complete; DAGitty's default)."
    )
    criterion_capped: bool = False
    criterion_note: str = Field("", description="Which criterion sets the backdoor criterion would reject, and why.")
    adjusted_check: SetCheck | None = Field(None, description="The check of the analyst's `adjusted` set, if any.")
    warnings: list[str] = Field(default_factory=list, description="E.g. selection nodes adjustment cannot fix.")


def _prepared(spec: DagSpec, treatment: str, outcome: str) -> nx.DiGraph:
    """The networkx view for one question, or IdentificationError (a ValueError) naming what is wrong.
    The question is checked before the graph so that treatment = outcome gets its own message."""
    if treatment == outcome:
        raise IdentificationError(
            f"the treatment and the outcome must be different nodes (both are {treatment!r})"
        )
    errors = validate_dag(spec)
    if errors:
        raise IdentificationError(f"the DAG is not valid: {errors[0]}")
    graph = to_networkx(spec)
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if name not in graph or is_hidden(name):
            known = ", ".join(sorted(n for n in graph if not is_hidden(n))) or "none"
            raise IdentificationError(f"unknown {role} {name!r}: the DAG's nodes are {known}")
    return graph


def prepared_question(spec: DagSpec, treatment: str | None, outcome: str | None) -> tuple[nx.DiGraph, str, str]:
    """Resolve the treatment/outcome (default: the spec's) and return the checked graph; every design
    function (criterion, front-door, instruments, direct effect) starts here so they fail alike."""
    x = treatment or spec.treatment
    y = outcome or spec.outcome
    if not x or not y:
        raise IdentificationError("choose a treatment and an outcome node first")
    return _prepared(spec, x, y), x, y


def display_name(name: str) -> str:
    """How a node is named to the user: a hidden bidirected parent is 'a latent common cause of a and b'."""
    if is_hidden(name):
        first, second = name[1:-1].split(" <-> ")
        return f"a latent common cause of {first} and {second}"
    return name


def _path_text(graph: nx.DiGraph, path: Sequence[str]) -> str:
    """``X ← Z → Y``; a hidden bidirected parent is shown as the edge it stands for, ``A ↔ B``."""
    parts = [path[0]]
    index = 1
    while index < len(path):
        node = path[index]
        if is_hidden(node) and index + 1 < len(path):
            parts.append(f"↔ {path[index + 1]}")
            index += 2
            continue
        parts.append(f"→ {node}" if graph.has_edge(path[index - 1], node) else f"← {node}")
        index += 1
    return " ".join(parts)


def find_open_path(
    graph: nx.DiGraph, x: str, y: str, given: Iterable[str], limit: int | None = None
) -> list[str] | None:
    """One d-connecting path x … y given ``given`` (shortest first), for display after networkx has said
    the two are d-connected. None if none is found within the inspection cap (``limit``, default
    MAX_PATHS_SHOWN)."""
    limit = MAX_PATHS_SHOWN if limit is None else limit
    given = set(given)
    anc_of_given = set(given)
    for node in given:
        if node in graph:
            anc_of_given |= nx.ancestors(graph, node)
    # Every node on a d-connecting path is an ancestor of x, y or the conditioning set, so the search runs on
    # that ancestral part only (exact, and far fewer simple paths to inspect on a large graph).
    relevant = anc_of_given | {x, y} | nx.ancestors(graph, x) | nx.ancestors(graph, y)
    skeleton = graph.subgraph(relevant).to_undirected(as_view=True)
    paths = nx.shortest_simple_paths(skeleton, x, y) if nx.has_path(skeleton, x, y) else iter(())
    for count, path in enumerate(paths):
        if count >= limit:
            return None
        if _path_open(graph, path, given, anc_of_given):
            return list(path)
    return None


def _path_open(graph: nx.DiGraph, path: Sequence[str], given: set[str], anc_of_given: set[str]) -> bool:
    for prev, node, nxt in zip(path, path[1:], path[2:], strict=False):
        collider = graph.has_edge(prev, node) and graph.has_edge(nxt, node)
        if collider and node not in anc_of_given:
            return False
        if not collider and node in given:
            return False
    return True


def _candidates(graph: nx.DiGraph, spec: DagSpec, x: str, y: str) -> list[str]:
    """Observed non-descendants of the treatment; minimal separators lie within An(X ∪ Y)."""
    ancestors = nx.ancestors(graph, x) | nx.ancestors(graph, y)
    allowed = observed_names(spec) & ancestors
    return sorted(allowed - nx.descendants(graph, x) - {x, y})


def _set_preference(graph: nx.DiGraph, y: str):
    """Fewest variables first; then more direct causes of the outcome (they also sharpen precision)."""

    def key(nodes: list[str]) -> tuple[int, int, list[str]]:
        return (len(nodes), -sum(graph.has_edge(n, y) for n in nodes), nodes)

    return key


def identify(spec: DagSpec, treatment: str | None = None, outcome: str | None = None) -> Identification:
    """Backdoor identification of the total effect of ``treatment`` on ``outcome``.

    Raises ValueError for an invalid graph or an unknown treatment/outcome (the caller shows the reason).
    """
    x = treatment or spec.treatment
    y = outcome or spec.outcome
    if not x or not y:
        raise IdentificationError("choose a treatment and an outcome node first")
    graph = _prepared(spec, x, y)
    backdoor = _without_treatment_out_edges(graph, x)
    candidates = _candidates(graph, spec, x, y)
    first = nx.find_minimal_d_separator(backdoor, x, y, restricted=set(candidates)) if candidates else None
    if first is None and _d_separated(backdoor, x, y, set()):
        first = set()
    notes: list[str] = []
    if not nx.has_path(graph, x, y):
        notes.append(f"There is no directed path {x} ⇝ {y}: the graph says the total effect is zero.")
    large = graph.number_of_nodes() > LARGE_GRAPH_NODES
    if large:
        notes.append(
            f"The graph has {graph.number_of_nodes():,} nodes (over {LARGE_GRAPH_NODES}): the per-node collider scan "
            "of bad controls is skipped (check a set explicitly instead)."
        )
    # For one treatment the adjustment criterion finds a set exactly when the backdoor criterion does (its
    # minimal sets hold no descendant of the treatment; tested on random graphs), so a backdoor failure is final.
    criterion = _criterion_part(spec, graph, x, y) if not large else None
    if first is None:
        path = find_open_path(backdoor, x, y, candidates, limit=LARGE_GRAPH_PATHS_SHOWN if large else None)
        unobserved = [
            display_name(n) if is_hidden(n) else f"unobserved {n}"
            for n in (path or [])[1:-1]
            if n not in observed_names(spec)
        ]
        shown = _path_text(graph, path) if path else ""
        reason = "Not identifiable by adjustment: "
        reason += (
            f"the backdoor path {shown} stays open whatever observed variables are adjusted for"
            if path
            else "every observed adjustment set leaves a backdoor path open"
        )
        if unobserved:
            reason += f" (it runs through {', '.join(unobserved)})"
        notes.insert(0, reason + ".")
        return Identification(
            treatment=x,
            outcome=y,
            identifiable=False,
            minimal_sets=[],
            recommended_set=None,
            bad_controls=_bad_controls(spec, graph, backdoor, x, y, None),
            note=" ".join(notes),
            open_path=shown,
            **(criterion or _criterion_from_backdoor(spec, x, y, [], False)),
        )
    sets, capped = minimal_d_separators(backdoor, x, y, candidates, max_sets=MAX_MINIMAL_SETS, max_steps=MAX_SUBSET_TESTS)
    if sorted(first) not in sets:
        sets.append(sorted(first))
    sets.sort(key=_set_preference(graph, y))
    recommended = sets[0]
    if capped:
        notes.append(
            f"Enumeration stopped after {MAX_SUBSET_TESTS:,} search steps or {MAX_MINIMAL_SETS} sets over "
            f"{len(candidates)} candidates: every listed set is minimal and valid, but the list may be incomplete."
        )
    if sets == [[]]:
        notes.append("No adjustment is needed: there is no open backdoor path.")
    return Identification(
        treatment=x,
        outcome=y,
        identifiable=True,
        minimal_sets=sets,
        recommended_set=recommended,
        bad_controls=_bad_controls(spec, graph, backdoor, x, y, None if large else recommended),
        capped=capped,
        note=" ".join(notes),
        **(criterion or _criterion_from_backdoor(spec, x, y, sets, capped)),
    )


def _criterion_from_backdoor(spec: DagSpec, x: str, y: str, sets: list[list[str]], capped: bool) -> dict:
    """On a large graph the criterion's minimal sets are taken from the backdoor listing: for one treatment
    they coincide (a minimal set holds no descendant of the treatment; tested against both definitions)."""
    adjusted = list(getattr(spec, "adjusted", None) or [])
    return {
        "criterion_sets": [list(s) for s in sets],
        "criterion_capped": capped,
        "criterion_note": (
            f"On a graph over {LARGE_GRAPH_NODES} nodes the adjustment-criterion sets are the backdoor sets (for one "
            "treatment the minimal sets coincide); no enlarged set is searched."
        ),
        "adjusted_check": check_adjustment_set(spec, x, y, adjusted) if adjusted else None,
        "warnings": selection_warnings(spec),
    }


def _criterion_part(spec: DagSpec, graph: nx.DiGraph, x: str, y: str) -> dict:
    """The adjustment-criterion fields of an Identification: minimal sets, which of them backdoor rejects,
    the analyst's ``adjusted`` set checked, and the selection warning."""
    sets, capped = minimal_adjustment_sets(graph, x, y, observed_names(spec))
    notes = [_beyond_backdoor_note(spec, graph, x, y, sets[0])] if sets else []
    if capped:
        notes.append(f"The adjustment-criterion list stopped at {MAX_MINIMAL_SETS} sets; each listed set is valid.")
    adjusted = list(getattr(spec, "adjusted", None) or [])
    return {
        "criterion_sets": sets,
        "criterion_capped": capped,
        "criterion_note": " ".join(notes),
        "adjusted_check": check_adjustment_set(spec, x, y, adjusted) if adjusted else None,
        "warnings": selection_warnings(spec),
    }


def _beyond_backdoor_note(spec: DagSpec, graph: nx.DiGraph, x: str, y: str, base: list[str]) -> str:
    """Where the two criteria differ for one treatment: minimal sets coincide (a minimal set holds no
    descendant of the treatment), but the adjustment criterion also accepts a valid set enlarged by a
    descendant of the treatment that is on no causal path and opens nothing. Name such a set if one exists."""
    check = adjustment_checker(graph, x, y)
    extra = sorted(
        node for node in observed_names(spec) & nx.descendants(graph, x) if node != y and check({*base, node})
    )
    if not extra:
        return ""
    example = "{" + ", ".join(sorted({*base, extra[0]})) + "}"
    others = f" (also {', '.join(extra[1:])})" if len(extra) > 1 else ""
    return (
        f"{example} is valid under the adjustment criterion but not under the backdoor criterion: {extra[0]}{others} "
        f"descends from {x} but lies on no causal path to {y} and descends from none, so adjusting for it adds no "
        "bias (it may cost precision). The minimal sets are the same under both criteria."
    )


def selection_warnings(spec: DagSpec) -> list[str]:
    """Selection nodes (DAGitty ``selected``): the sample is conditioned on them, which no adjustment set
    undoes in general; the sets listed assume there is no selection."""
    selected = list(getattr(spec, "selected", None) or [])
    if not selected:
        return []
    return [
        f"Selection on {', '.join(selected)}: the data only contain units selected on "
        f"{'this variable' if len(selected) == 1 else 'these variables'}. Adjustment cannot remove selection bias; "
        "the sets shown assume no selection."
    ]


def _causal_path_through(graph: nx.DiGraph, x: str, node: str, y: str) -> str:
    path = nx.shortest_path(graph, x, node) + nx.shortest_path(graph, node, y)[1:]
    return " → ".join(path)


def _bad_controls(
    spec: DagSpec, graph: nx.DiGraph, backdoor: nx.DiGraph, x: str, y: str, recommended: list[str] | None
) -> list[BadControl]:
    """Nodes one must not adjust for, each with the reason (latent nodes cannot be adjusted anyway)."""
    flagged: list[BadControl] = []
    desc_x = nx.descendants(graph, x)
    desc_y = nx.descendants(graph, y)
    anc_y = nx.ancestors(graph, y)
    for node in spec.nodes:
        name = node.name
        if name in (x, y) or node.latent:
            continue
        if name in desc_x:
            if name in anc_y:
                reason = (
                    f"mediator: on the causal path {_causal_path_through(graph, x, name, y)}; adjusting for it "
                    "blocks part of the total effect"
                )
            elif name in desc_y:
                reason = f"descendant of the outcome {y}: adjusting for it conditions on the outcome itself"
            else:
                reason = f"descendant of the treatment {x} (post-treatment): adjusting for it can bias the total effect"
            flagged.append(BadControl(name=name, reason=reason))
            continue
        if recommended is None or name in recommended:
            continue
        with_node = {*recommended, name}
        if not _d_separated(backdoor, x, y, with_node):
            path = find_open_path(backdoor, x, y, with_node, limit=BAD_CONTROL_PATHS_SHOWN)
            shown = f" {_path_text(graph, path)}" if path else ""
            base = f"with {{{', '.join(recommended)}}}" if recommended else "alone"
            flagged.append(
                BadControl(
                    name=name,
                    reason=f"collider: adjusting for it ({base}) opens the non-causal path{shown}",
                )
            )
    return flagged


def check_adjustment_set(spec: DagSpec, treatment: str, outcome: str, adjustment: Iterable[str]) -> SetCheck:
    """Is ``adjustment`` a valid backdoor set? If not, the open path (or the causal path it blocks)."""
    graph = _prepared(spec, treatment, outcome)
    chosen = list(dict.fromkeys(adjustment))
    unknown = [n for n in chosen if n not in graph]
    if unknown:
        return SetCheck(valid=False, reason=f"unknown node(s): {', '.join(unknown)}")
    if treatment in chosen or outcome in chosen:
        return SetCheck(valid=False, reason="the adjustment set cannot contain the treatment or the outcome")
    unobserved = [n for n in chosen if n not in observed_names(spec)]
    if unobserved:
        return SetCheck(
            valid=False,
            reason=f"{', '.join(unobserved)} cannot be adjusted for: latent or without a data column",
        )
    criterion_valid = is_adjustment_set(graph, treatment, outcome, chosen)
    desc_x = nx.descendants(graph, treatment)
    post = [n for n in chosen if n in desc_x]
    if post:
        node = post[0]
        if nx.has_path(graph, node, outcome):
            path = nx.shortest_path(graph, treatment, node) + nx.shortest_path(graph, node, outcome)[1:]
            reason = f"{node} is a mediator: adjusting for it blocks the causal path"
        else:
            path = nx.shortest_path(graph, treatment, node)
            reason = f"{node} is a descendant of the treatment (post-treatment)"
        if criterion_valid:
            reason += (
                "; the set is still valid under the adjustment criterion (it lies on no causal path and descends "
                "from none), but the backdoor criterion rejects it"
            )
        else:
            reason += f"; the adjustment criterion rejects it too ({criterion_violation(graph, treatment, outcome, chosen)})"
        return SetCheck(
            valid=False, open_path=path, path_text=_path_text(graph, path), reason=reason, criterion_valid=criterion_valid
        )
    backdoor = _without_treatment_out_edges(graph, treatment)
    if _d_separated(backdoor, treatment, outcome, chosen):
        shown = "{" + ", ".join(chosen) + "}"
        return SetCheck(
            valid=True,
            reason=f"{shown} blocks every backdoor path from {treatment} to {outcome}",
            criterion_valid=criterion_valid,
        )
    path = find_open_path(backdoor, treatment, outcome, chosen) or []
    text = _path_text(graph, path) if path else ""
    return SetCheck(
        valid=False,
        open_path=path,
        path_text=text,
        reason=f"a backdoor path stays open: {text}" if text else "a backdoor path stays open",
        criterion_valid=criterion_valid,
    )


def adjustment_columns(spec: DagSpec, node_names_: Iterable[str]) -> list[str]:
    """Node names → their data columns (nodes without a column are skipped: they cannot be adjusted for)."""
    by_name = {n.name: n for n in spec.nodes}
    columns = []
    for name in node_names_:
        node = by_name.get(name)
        if node is not None and node.column and not node.latent:
            columns.append(node.column)
    return columns


def node_for_column(spec: DagSpec, column: str) -> str | None:
    return next((n.name for n in spec.nodes if n.column == column), None)


# ---------------------------------------------------------------------------------------------
