"""AI-drafted DAG (N01 §8): a bounded edge list with a one-line rationale per edge, validated before the
analyst sees it, shown as a diff against the current DAG, and scored by a deterministic rubric.

The model only *proposes* edges. Names are mapped onto the DAG's nodes and the data's columns (exact,
then normalised, then a close spelling match) or flagged as unknown; cycles are reported edge by edge;
nothing reaches ``Project.dag`` except through :mod:`causal_core.dag`'s validated edits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

import networkx as nx
import pandas as pd
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from causal_core import dag
from causal_core.ai.structured import SchemaContext, StructuredTask, data_block, enum_of, not_a_column, with_data_rule
from causal_core.dag.draft_names import NameMap, normalise_name
from causal_core.dag.draft_rubric import score_dag_draft as score_consequences
from causal_core.project import DagSpec, Project, RubricCheck, Timing

MAX_EDGES = 40
MAX_NAME = 80
MAX_RATIONALE = 160
LATE_TIMINGS = {Timing.post_treatment, Timing.outcome, Timing.future}

_Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]
_Rationale = Annotated[str, StringConstraints(min_length=1, max_length=MAX_RATIONALE)]


MAX_LATENT_NAME = 40
# A latent node's name: short snake_case text, so it reads as a name and not as a sentence.
LATENT_NAME_PATTERN = f"^[a-z][a-z0-9_]{{0,{MAX_LATENT_NAME - 1}}}$"


class DraftEdge(BaseModel):
    """One proposed arrow: ``source`` directly causes ``target``.

    An endpoint is a data column, or an unobserved cause written ``{"name": "demand_shock", "latent": true}``
    (stored as the name with ``source_latent`` / ``target_latent`` set), so a latent node is an explicit
    choice and never a misspelt column.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    source: _Name = Field(validation_alias=AliasChoices("source", "from", "cause", "parent"))
    target: _Name = Field(validation_alias=AliasChoices("target", "to", "effect", "child"))
    rationale: _Rationale = Field(
        validation_alias=AliasChoices("rationale", "reason", "why", "explanation"), description="One short line."
    )
    source_latent: bool = False
    target_latent: bool = False

    @model_validator(mode="before")
    @classmethod
    def _latent_form(cls, data: Any) -> Any:
        """{"name": ..., "latent": true} → the name plus its latent flag (any other object stays an error)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for end in ("source", "target"):
            value = data.get(end)
            if isinstance(value, dict) and set(value) == {"name", "latent"} and value["latent"] is True:
                data[end], data[f"{end}_latent"] = value["name"], True
        return data


class DagDraft(BaseModel):
    """What the model must emit: a bounded edge list (constrained decoding always terminates)."""

    model_config = ConfigDict(extra="forbid")

    edges: list[DraftEdge] = Field(min_length=1, max_length=MAX_EDGES)

    # ---- per-project schema (structured.schema_for): node names are columns or explicit latents ----
    @classmethod
    def schema_context(cls, inputs: dict[str, Any]) -> SchemaContext:
        """The dataset's columns as the prompt lists them (dictionary-only variables are not columns)."""
        rows = inputs.get("variables") or []
        return SchemaContext(tuple(str(row["name"]) for row in rows if row.get("in_data", True)))

    @classmethod
    def constrain_json_schema(cls, schema: dict[str, Any], context: SchemaContext) -> dict[str, Any]:
        """source/target: one of the columns, or {"name": <snake_case>, "latent": true}."""
        if not context.columns:
            return schema
        edge = schema["$defs"]["DraftEdge"]
        latent = {"type": "object", "properties": {
            "name": {"type": "string", "pattern": LATENT_NAME_PATTERN,
                     "description": "An unobserved cause: a short snake_case name that is not a column."},
            "latent": {"const": True}}, "required": ["name", "latent"], "additionalProperties": False}
        for end in ("source", "target"):
            edge["properties"][end] = {"anyOf": [enum_of(context.columns), latent],
                                       "description": f"The edge's {end}: a data column, or an unobserved cause."}
            edge["properties"].pop(f"{end}_latent", None)
        edge["required"] = ["source", "target", "rationale"]
        edge["additionalProperties"] = False
        return schema

    @classmethod
    def column_problems(cls, parsed: dict[str, Any], context: SchemaContext) -> list[str]:
        """A name that is neither a column nor marked latent, or a "latent" node that is a column."""
        if not context.columns:
            return []
        columns = set(context.columns)
        folded = {normalise_name(column) for column in context.columns}
        problems: list[str] = []
        for index, edge in enumerate(parsed.get("edges") or [], start=1):
            for end in ("source", "target"):
                name = str(edge.get(end, ""))
                if edge.get(f"{end}_latent"):
                    if normalise_name(name) in folded:
                        problems.append(f"edge {index} {end}: '{name}' is marked latent but is a column of the dataset")
                    elif not re.fullmatch(LATENT_NAME_PATTERN, name):
                        problems.append(f"edge {index} {end}: latent name '{name}' must be short snake_case")
                elif name not in columns:
                    problems.append(not_a_column(f"edge {index} {end}", name, context.columns)
                                    + '; write an unobserved cause as {"name": ..., "latent": true}')
        return problems


SYSTEM_PROMPT = """You are helping an analyst draft a candidate causal DAG for a design document.
Do not estimate anything and do not say whether the treatment worked.

Return only one JSON object: {"edges": [{"source": "...", "target": "...", "rationale": "..."}]}.
Each edge means "source directly causes target". The rationale is one short line.
- Use the variable names exactly as listed.
- Pre-treatment variables may point into the treatment and into the outcomes.
- Post-treatment variables (mediators) sit between the treatment and the outcome.
- Never draw an arrow from a post-treatment, outcome or future variable into the treatment,
  and never from the outcome into a pre-treatment variable.
- Include the treatment -> outcome edge.
- You may add an unobserved variable (a short snake_case name) when a mechanism needs one."""
SYSTEM_PROMPT = with_data_rule(SYSTEM_PROMPT)

FIELD_ALIASES = {"dag": "edges", "graph": "edges", "links": "edges", "arrows": "edges", "causal_edges": "edges"}


# ---------------------------------------------------------------------------------------------
# Inputs and prompt
# ---------------------------------------------------------------------------------------------
def _focus(project: Project) -> tuple[str | None, str | None]:
    """Treatment and outcome node names: the DAG's, else the project's columns."""
    spec = project.dag
    treatment = (spec.treatment if spec else None) or project.treatment
    outcome = (spec.outcome if spec else None) or project.outcome
    return treatment, outcome


def build_inputs(project: Project, frame: pd.DataFrame | None = None) -> dict[str, Any]:
    """Card + dictionary (+ the current DAG's nodes without data) for the prompt."""
    columns = list(frame.columns) if frame is not None else (project.data_source.columns if project.data_source else [])
    skip = {Timing.unit_id, Timing.time_id}
    variables = []
    for entry in project.dictionary:
        if entry.simulation_truth or entry.timing in skip:
            continue
        variables.append(
            {
                "name": entry.variable,
                "timing": entry.timing_label or entry.timing.value,
                "role": entry.role,
                "description": entry.description,
                "in_data": entry.variable in columns,
            }
        )
    extra = []
    if project.dag is not None:
        listed = {v["name"] for v in variables}
        extra = [
            {"name": n.name, "label": n.label, "latent": n.latent}
            for n in project.dag.nodes
            if n.name not in listed and not n.column
        ]
    card = project.estimand_card.model_dump() if project.estimand_card is not None else None
    treatment, outcome = _focus(project)
    return {
        "card": card,
        "card_status": project.card_status,
        "treatment": treatment,
        "outcome": outcome,
        "guardrails": list(project.guardrails),
        "variables": variables,
        "unobserved_nodes": extra,
    }


def build_user_prompt(inputs: dict[str, Any]) -> str:
    """Card, treatment/outcome and the variable table, each project text inside a <data> block."""
    lines = []
    card = inputs.get("card")
    if card:
        status = inputs.get("card_status", "")
        card_lines = [f"- {key}: {card[key]}" for key in
                      ("causal_question", "unit", "treatment", "outcome", "time_window", "estimand") if card.get(key)]
        if card.get("likely_threats"):
            card_lines.append(f"- likely_threats: {'; '.join(card['likely_threats'])}")
        lines += [f"Estimand card ({status}):", data_block("\n".join(card_lines), "estimand card"), ""]
    focus = [f"Treatment variable: {inputs.get('treatment') or 'unknown'}",
             f"Outcome variable: {inputs.get('outcome') or 'unknown'}"]
    if inputs.get("guardrails"):
        focus.append(f"Guardrail outcomes: {', '.join(inputs['guardrails'])}")
    lines.append(data_block("\n".join(focus), "focus"))
    table = [f"- {row['name']} | {row.get('timing', '')} | {row.get('role', '')} | {row.get('description', '')}"
             for row in inputs.get("variables", [])]
    table += [f"- {row['name']} | unobserved (no data) | {row.get('label', '')}"
              for row in inputs.get("unobserved_nodes", [])]
    lines += ["", "Variables (name | timing | role | description):", data_block("\n".join(table), "dictionary"),
              "", "Return the edges JSON now."]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Name mapping and validation
# ---------------------------------------------------------------------------------------------
class DraftEdgeRow(BaseModel):
    source: str
    target: str
    rationale: str = ""
    raw_source: str = ""
    raw_target: str = ""
    status: str = Field(description="new | in current DAG | rejected")
    acceptable: bool = False
    note: str = ""


class DraftReview(BaseModel):
    rows: list[DraftEdgeRow] = Field(default_factory=list)
    cycles: list[str] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)
    mapped: dict[str, str] = Field(default_factory=dict)
    treatment_present: bool = False
    outcome_present: bool = False
    only_in_current: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)

    @property
    def acyclic(self) -> bool:
        return not self.cycles


def _draft_edges(draft: dict[str, Any] | DagDraft | None) -> list[dict[str, str]]:
    """Edges of a parsed draft as plain dicts (lenient: from/to keys, non-dict items skipped)."""
    if draft is None:
        return []
    if isinstance(draft, DagDraft):
        return [e.model_dump() for e in draft.edges]
    items = draft.get("edges") if isinstance(draft, dict) else None
    edges = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        source = item.get("source", item.get("from", item.get("cause")))
        target = item.get("target", item.get("to", item.get("effect")))
        if not isinstance(source, str) or not isinstance(target, str) or not source.strip() or not target.strip():
            continue
        rationale = item.get("rationale", item.get("reason", ""))
        edges.append({"source": source.strip()[:MAX_NAME], "target": target.strip()[:MAX_NAME], "rationale": str(rationale or "")})
    return edges


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:MAX_RATIONALE]


def review_draft(draft: dict[str, Any] | DagDraft | None, current: DagSpec | None, columns: Sequence[str]) -> DraftReview:
    """Validate a draft against the current DAG and the data: mapping, cycles, presence, the diff."""
    names = NameMap(current, columns)
    review = DraftReview()
    edges = _draft_edges(draft)
    if not edges:
        review.problems.append("the draft has no usable edges")
    mapped_edges: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    current_edges = {(e.source, e.target) for e in current.edges} if current else set()
    for edge in edges:
        source, how_s = names.map(edge["source"])
        target, how_t = names.map(edge["target"])
        notes = [how for how in (how_s, how_t) if how not in ("exact", "column")]
        for raw, mapped in ((edge["source"], source), (edge["target"], target)):
            if mapped is None:
                if raw not in review.unknown:
                    review.unknown.append(raw)
            elif raw != mapped:
                review.mapped[raw] = mapped
        row = DraftEdgeRow(
            source=source or edge["source"],
            target=target or edge["target"],
            rationale=_one_line(edge["rationale"]),
            raw_source=edge["source"],
            raw_target=edge["target"],
            status="new",
        )
        key = (row.source, row.target)
        if row.source == row.target:
            row.status, row.note = "rejected", "self-loop: a variable cannot cause itself"
        elif key in seen:
            row.status, row.note = "rejected", "duplicate of an earlier draft edge"
        elif key in current_edges:
            row.status, row.note = "in current DAG", ""
        elif (row.target, row.source) in current_edges:
            row.status, row.note = "rejected", f"the current DAG has the reverse edge {row.target} → {row.source}"
        else:
            problem = next((dag.name_problem(n) for n in (row.source, row.target) if dag.name_problem(n)), None)
            if problem:
                row.status, row.note = "rejected", problem
            else:
                row.acceptable = True
                unknown = [n for n, m in ((row.source, source), (row.target, target)) if m is None]
                new_nodes = [n for n in (row.source, row.target) if names.is_new_node(n)]
                if unknown:
                    notes.append(f"unknown name(s) {', '.join(unknown)}: accepting adds an unobserved node (no data column)")
                elif new_nodes:
                    notes.append(f"adds node(s) {', '.join(new_nodes)} for their data column")
        if notes and not row.note:
            row.note = "; ".join(notes)
        seen.add(key)
        mapped_edges.append(key)
        review.rows.append(row)
    graph = nx.DiGraph([e for e in mapped_edges if e[0] != e[1]])
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            cycle = dag.find_cycle(graph.subgraph(component).copy())
            if cycle:
                review.cycles.append(dag.format_cycle(cycle))
                cycle_edges = set(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
                for row in review.rows:
                    if (row.source, row.target) in cycle_edges:
                        row.note = (row.note + "; " if row.note else "") + f"on the cycle {dag.format_cycle(cycle)}"
    treatment = current.treatment if current else None
    outcome = current.outcome if current else None
    present = {n for e in mapped_edges for n in e}
    review.treatment_present = bool(treatment) and treatment in present
    review.outcome_present = bool(outcome) and outcome in present
    drafted = set(mapped_edges)
    review.only_in_current = [dag.edge_text(*e) for e in sorted(current_edges - drafted)]
    if review.cycles:
        review.problems.append(f"the draft is cyclic: {'; '.join(review.cycles)}")
    if treatment and not review.treatment_present:
        review.problems.append(f"the treatment {treatment} does not appear in the draft")
    if outcome and not review.outcome_present:
        review.problems.append(f"the outcome {outcome} does not appear in the draft")
    if review.unknown:
        review.problems.append(f"unknown names (not nodes or columns): {', '.join(review.unknown)}")
    return review


def accept_row(spec: DagSpec, row: DraftEdgeRow, columns: Sequence[str]) -> DagSpec:
    """Add one reviewed draft edge (creating its nodes) through the validated edit functions."""
    if not row.acceptable:
        raise dag.DagEditError(f"{dag.edge_text(row.source, row.target)} cannot be accepted: {row.note or row.status}")
    column_set = set(columns)
    for name in (row.source, row.target):
        if dag.get_node(spec, name) is None:
            column = name if name in column_set and dag.node_for_column(spec, name) is None else None
            spec = dag.add_node(spec, name, column=column)
    return dag.add_edge(spec, row.source, row.target, row.rationale)


def accept_all(spec: DagSpec, review: DraftReview, columns: Sequence[str]) -> tuple[DagSpec, list[str]]:
    """Accept every acceptable new edge in draft order; edges that would now close a cycle are skipped
    with their reason (the result is always a valid DAG)."""
    skipped = []
    for row in review.rows:
        if not row.acceptable:
            continue
        try:
            spec = accept_row(spec, row, columns)
        except dag.DagEditError as error:
            skipped.append(str(error))
    return spec, skipped


# ---------------------------------------------------------------------------------------------
# Rubric
# ---------------------------------------------------------------------------------------------
def score_dag_draft(draft: dict[str, Any], project: Project, frame: pd.DataFrame | None) -> list[RubricCheck]:
    """The DAG-draft rubric of consequences (structure, timing, predictors, implied estimate): see
    :mod:`causal_core.dag.draft_rubric`; each reason names the offending edges, variables or numbers."""
    return score_consequences(draft, project, frame)


DAG_TASK = StructuredTask(
    name="dag",
    artifact="dag",
    system_prompt=SYSTEM_PROMPT,
    build_user_prompt=build_user_prompt,
    schema=DagDraft,
    field_aliases=FIELD_ALIASES,
    defaults={},
    build_inputs=build_inputs,
    score=score_dag_draft,
)


def draft_from_spec(spec: DagSpec, use_labels: bool = False) -> dict[str, Any]:
    """A DAG expressed as a draft, one edge per arrow. With ``use_labels`` the nodes are named as a
    notebook would name them (N01 §8's "Account health"), which exercises the name mapping."""
    shown = {n.name: (n.label or n.name) if use_labels else n.name for n in spec.nodes}
    return {
        "edges": [
            {"source": shown.get(e.source, e.source), "target": shown.get(e.target, e.target), "rationale": e.rationale or "—"}
            for e in spec.edges
        ]
    }
