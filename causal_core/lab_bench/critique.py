""""Critique my DAG": a model proposes missing confounders, suspicious edges and negative-control outcomes;
every suggestion is checked before the analyst sees it.

The model only proposes. Each suggestion is turned into the DAG edits it implies and checked three ways:
against the dictionary's timing (a post-treatment "confounder" is rejected with the reason), against the
data (the DAG-testing CI tests of :mod:`causal_core.dag.falsify` on the pair the suggestion is about), and
against identification (does accepting it change the recommended adjustment set, and the linear adjustment
estimate, and by how much). A suggestion whose edits close a cycle, name an unknown node or contradict the
DAG is rejected with the reason. Accepted suggestions are applied by the caller through the DAG edit path.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from causal_core import dag
from causal_core.ai.rubric import check
from causal_core.ai.structured import SchemaContext, StructuredTask, data_block, enum_of, with_data_rule
from causal_core.dag.falsify import CITester
from causal_core.project import DagSpec, Project, RubricCheck, Timing

MAX_SUGGESTIONS = 12
MAX_RATIONALE = 200
ALPHA = 0.05
LATE = {Timing.post_treatment, Timing.outcome, Timing.future}
KINDS = ("missing_confounder", "suspicious_edge", "negative_control_outcome")
LATENT_PATTERN = "^[a-z][a-z0-9_]{0,39}$"
_Name = Annotated[str, StringConstraints(max_length=80)]


class Suggestion(BaseModel):
    """One proposal. ``node``: the confounder or negative control; ``source``/``target``: the suspicious edge."""

    model_config = ConfigDict(extra="ignore")

    kind: Literal["missing_confounder", "suspicious_edge", "negative_control_outcome"]
    node: _Name = ""
    source: _Name = ""
    target: _Name = ""
    rationale: Annotated[str, StringConstraints(min_length=1, max_length=MAX_RATIONALE)]


class DagCritique(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suggestions: list[Suggestion] = Field(min_length=1, max_length=MAX_SUGGESTIONS)

    @classmethod
    def schema_context(cls, inputs: dict[str, Any]) -> SchemaContext:
        return SchemaContext(tuple(inputs.get("names") or ()))

    @classmethod
    def constrain_json_schema(cls, schema: dict[str, Any], context: SchemaContext) -> dict[str, Any]:
        """Names are DAG nodes or dictionary variables (a confounder may also be a new snake_case latent)."""
        if not context.columns:
            return schema
        item = schema["$defs"]["Suggestion"]
        names = [*context.columns, ""]
        item["properties"]["node"] = {"anyOf": [enum_of(names), {"type": "string", "pattern": LATENT_PATTERN}]}
        item["properties"]["source"] = enum_of(names)
        item["properties"]["target"] = enum_of(names)
        item["required"] = ["kind", "node", "source", "target", "rationale"]
        item["additionalProperties"] = False
        return schema


SYSTEM_PROMPT = with_data_rule("""You critique an analyst's causal DAG. Do not estimate anything.
Return only one JSON object: {"suggestions": [{"kind": "...", "node": "...", "source": "...", "target": "...",
"rationale": "..."}]}. kind is one of:
- missing_confounder: node is a variable that causes both the treatment and the outcome but has no such
  edges in the DAG (a listed variable, or a short snake_case name for an unmeasured one); source and target "".
- suspicious_edge: source → target is an edge of the DAG that is probably wrong; node "".
- negative_control_outcome: node is a listed variable the treatment cannot affect but that shares the
  outcome's confounders; source and target "".
A confounder must happen before the treatment. Use the names exactly as listed. One short rationale each.""")


def build_inputs(project: Project, frame: pd.DataFrame | None = None) -> dict[str, Any]:
    spec = project.dag or DagSpec()
    variables = [{"name": e.variable, "timing": e.timing.value, "description": e.description}
                 for e in project.dictionary if not e.simulation_truth and e.timing not in (Timing.unit_id, Timing.time_id)]
    names = list(dict.fromkeys([*(n.name for n in spec.nodes), *(v["name"] for v in variables)]))
    card = project.estimand_card
    question = " ".join(filter(None, [card.causal_question, card.business_question])) if card else ""
    return {"treatment": spec.treatment, "outcome": spec.outcome, "variables": variables, "names": names,
            "question": question,
            "edges": [f"{e.source} → {e.target}" for e in spec.edges]}


def build_user_prompt(inputs: dict[str, Any]) -> str:
    table = "\n".join(f"- {v['name']} | {v['timing']} | {v['description']}" for v in inputs.get("variables", []))
    question = [data_block(inputs["question"], "question"), ""] if inputs.get("question") else []
    return "\n".join([
        *question,
        data_block(f"Treatment: {inputs.get('treatment')}\nOutcome: {inputs.get('outcome')}", "focus"), "",
        "Edges of the analyst's DAG:", data_block("\n".join(inputs.get("edges", [])) or "(none)", "dag"), "",
        "Variables (name | timing | description):", data_block(table, "dictionary"), "",
        "Return the suggestions JSON now."])


# ---------------------------------------------------------------------------------------------
# Checking one suggestion
# ---------------------------------------------------------------------------------------------
class CheckedSuggestion(BaseModel):
    """A suggestion with its evidence: shown only with this, and acceptable only when ``acceptable``."""

    kind: str
    node: str = ""
    source: str = ""
    target: str = ""
    rationale: str = ""
    acceptable: bool = False
    rejected_because: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    edits: list[str] = Field(default_factory=list, description="The DAG edits accepting it makes, in words.")
    set_before: list[str] | None = None
    set_after: list[str] | None = None
    estimate_before: float | None = None
    estimate_after: float | None = None

    @property
    def title(self) -> str:
        if self.kind == "suspicious_edge":
            return f"suspicious edge {self.source} → {self.target}"
        return f"{self.kind.replace('_', ' ')}: {self.node}"


def _descendants(spec: DagSpec, name: str) -> set[str]:
    import networkx as nx

    graph = dag.to_networkx(spec)
    return nx.descendants(graph, name) if name in graph else set()


def _timing(project: Project, name: str) -> Timing | None:
    entry = next((e for e in project.dictionary if e.variable == name), None)
    return entry.timing if entry else None


def proposed_spec(spec: DagSpec, suggestion: Suggestion, columns: list[str]) -> tuple[DagSpec, list[str]]:
    """The DAG with the suggestion applied, and the edits in words; DagEditError when it cannot be (cycle…)."""
    x, y = spec.treatment, spec.outcome
    if suggestion.kind == "missing_confounder":
        name, new, words = suggestion.node, spec, []
        if dag.get_node(spec, name) is None:
            if not re.fullmatch(LATENT_PATTERN, name) and name not in columns:
                raise dag.DagEditError(f"'{name}' is neither a DAG node, a data column nor a snake_case latent name")
            new = dag.add_node(new, name, column=name if name in columns else None, latent=name not in columns)
            words.append(f"add node {name}" + ("" if name in columns else " (unobserved)"))
        for target in (x, y):
            if not any(e.source == name and e.target == target for e in new.edges):
                new = dag.add_edge(new, name, target, suggestion.rationale)
                words.append(f"add {name} → {target}")
        if not words:
            raise dag.DagEditError(f"{name} already points into both {x} and {y}: nothing to add")
        return new, words
    if suggestion.kind == "suspicious_edge":
        if not any(e.source == suggestion.source and e.target == suggestion.target for e in spec.edges):
            raise dag.DagEditError(f"{suggestion.source} → {suggestion.target} is not an edge of the DAG")
        return dag.remove_edge(spec, suggestion.source, suggestion.target), [f"remove {suggestion.source} → {suggestion.target}"]
    name = suggestion.node
    if dag.get_node(spec, name) is not None:
        return spec, [f"note {name} as a negative-control outcome (no edge changes)"]
    if name not in columns:
        raise dag.DagEditError(f"'{name}' is not a data column, so it cannot serve as a negative-control outcome")
    return dag.add_node(spec, name, column=name), [f"add node {name} (negative-control outcome, no edges)"]


def _recommended(spec: DagSpec) -> list[str] | None:
    try:
        return dag.identify(spec).recommended_set
    except ValueError:
        return None


def _estimate(frame: pd.DataFrame | None, spec: DagSpec, adjustment: list[str] | None) -> float | None:
    """The linear adjustment estimate (OLS coefficient of the treatment) when every column is numeric."""
    from causal_core.lab_bench.simulate import ols_effect

    if frame is None or adjustment is None:
        return None
    names = [spec.treatment, spec.outcome, *adjustment]
    columns = {n.name: n.column for n in spec.nodes}
    mapped = [columns.get(name) for name in names]
    if any(not c or c not in frame or not pd.api.types.is_numeric_dtype(frame[c]) for c in mapped):
        return None
    data = frame[mapped].dropna().set_axis(names, axis=1)
    if len(data) < 20:
        return None
    return ols_effect(data, spec.treatment, spec.outcome, adjustment)


def _ci_line(tester: CITester | None, a: str, b: str, given: list[str]) -> str:
    if tester is None:
        return "data: no analysis rows, so no test"
    result = tester.test(a, b, given)
    if result.p_value is None:
        return f"data: {a} ⊥ {b}{' | ' + ', '.join(given) if given else ''} could not be tested ({result.note})"
    verdict = "dependent" if result.p_value < ALPHA else "no detectable dependence"
    return (f"data: {a} vs {b}{' given ' + ', '.join(given) if given else ''}: {result.test} p = {result.p_value:.3g} "
            f"({verdict}, n = {result.n})")


def check_suggestion(suggestion: Suggestion, project: Project, frame: pd.DataFrame | None,
                     tester: CITester | None = None) -> CheckedSuggestion:
    """Timing, cycle/DAG, data and identification evidence for one suggestion."""
    spec = project.dag or DagSpec()
    out = CheckedSuggestion(**suggestion.model_dump())
    x, y = spec.treatment, spec.outcome
    if not x or not y:
        out.rejected_because.append("the DAG needs a treatment and an outcome before a critique can be checked")
        return out
    if suggestion.kind == "missing_confounder":
        timing = _timing(project, suggestion.node)
        if timing in LATE:
            out.rejected_because.append(f"the dictionary says {suggestion.node} is {timing.value.replace('_', '-')}: a "
                                        "confounder must precede the treatment, and adjusting for a consequence of it biases the estimate")
        if dag.get_node(spec, suggestion.node) is not None and suggestion.node in _descendants(spec, x):
            out.rejected_because.append(f"the DAG has {suggestion.node} downstream of {x}, so it cannot cause {x}")
    if suggestion.kind == "negative_control_outcome" and dag.get_node(spec, suggestion.node) is not None \
            and suggestion.node in _descendants(spec, x):
        out.rejected_because.append(f"the DAG says {x} affects {suggestion.node}: it is not a negative control")
    columns = list(frame.columns) if frame is not None else []
    try:
        after, out.edits = proposed_spec(spec, suggestion, columns)
    except dag.DagEditError as error:
        out.rejected_because.append(str(error))
        return out
    out.set_before, out.set_after = _recommended(spec), _recommended(after)
    out.evidence.append(_set_line(out.set_before, out.set_after))
    out.estimate_before, out.estimate_after = _estimate(frame, spec, out.set_before), _estimate(frame, after, out.set_after)
    if out.estimate_before is not None and out.estimate_after is not None:
        change = out.estimate_after - out.estimate_before
        out.evidence.append(f"identification: the linear adjustment estimate moves from {out.estimate_before:.4g} to "
                            f"{out.estimate_after:.4g} ({change:+.4g})")
    if tester is None and frame is not None:
        tester = CITester(frame, {n.name: n.column for n in after.nodes})
    out.evidence.append(_data_line(suggestion, after, tester))
    out.acceptable = not out.rejected_because
    return out


def _set_line(before: list[str] | None, after: list[str] | None) -> str:
    def shown(value: list[str] | None) -> str:
        return "not identifiable by adjustment" if value is None else "{" + ", ".join(value) + "}"

    if before == after:
        return f"identification: the recommended adjustment set stays {shown(before)}"
    return f"identification: the recommended adjustment set changes from {shown(before)} to {shown(after)}"


def _data_line(suggestion: Suggestion, after: DagSpec, tester: CITester | None) -> str:
    x, y = after.treatment, after.outcome
    if suggestion.kind == "missing_confounder":
        return _ci_line(tester, suggestion.node, x, []) + "; " + _ci_line(tester, suggestion.node, y, [x])
    if suggestion.kind == "suspicious_edge":
        parents = sorted(p for p in (e.source for e in after.edges if e.target == suggestion.target) if p != suggestion.source)
        return _ci_line(tester, suggestion.source, suggestion.target, parents)
    return _ci_line(tester, x, suggestion.node, _recommended(after) or [])


def check_critique(parsed: dict[str, Any], project: Project, frame: pd.DataFrame | None) -> list[CheckedSuggestion]:
    """Every suggestion checked; a suggestion that does not parse is rejected with the reason, never dropped."""
    checked = []
    for item in (parsed or {}).get("suggestions") or []:
        try:
            suggestion = Suggestion.model_validate(item)
        except ValueError as error:
            first = error.errors()[0]["msg"] if hasattr(error, "errors") else str(error)
            checked.append(CheckedSuggestion(kind=str(item.get("kind", "?")) if isinstance(item, dict) else "?",
                                             rejected_because=[f"not a valid suggestion: {first}"]))
            continue
        checked.append(check_suggestion(suggestion, project, frame))
    return checked


def score_critique(parsed: dict[str, Any], project: Project, frame: pd.DataFrame | None) -> list[RubricCheck]:
    """The audit panel's rubric: suggestions survive their checks, are distinct, use known names, carry evidence."""
    checked = check_critique(parsed, project, frame)
    keys = [(c.kind, c.node, c.source, c.target) for c in checked]
    acceptable = [c for c in checked if c.acceptable]
    timing_bad = [c.title for c in checked if any("confounder must precede" in r for r in c.rejected_because)]
    cycles = [c.title for c in checked if any("cycle" in r for r in c.rejected_because)]
    return [
        check("has suggestions", bool(checked), f"{len(checked)} suggestion(s)"),
        check("most suggestions survive their checks", len(acceptable) * 2 >= len(checked) > 0,
              f"{len(acceptable)} of {len(checked)} pass timing, DAG and name checks"),
        check("no post-treatment confounders", not timing_bad, "; ".join(timing_bad) or "none proposed"),
        check("no cycles", not cycles, "; ".join(cycles) or "no suggestion closes a cycle"),
        check("distinct suggestions", len(set(keys)) == len(keys), f"{len(keys) - len(set(keys))} duplicate(s)"),
        check("covers confounding", any(c.kind == "missing_confounder" for c in checked),
              "proposes at least one missing confounder", severity="warn"),
    ]


CRITIQUE_TASK = StructuredTask(
    name="dag-critique",
    artifact="dag_critique",
    system_prompt=SYSTEM_PROMPT,
    build_user_prompt=build_user_prompt,
    schema=DagCritique,
    field_aliases={"critique": "suggestions", "items": "suggestions"},
    build_inputs=build_inputs,
    score=score_critique,
)
