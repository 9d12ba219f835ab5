"""Which stored results are out of date, and why (Streamlit-free).

Why this exists: every artifact (estimates, the specification curve) is computed from inputs the analyst keeps
editing on other pages: the DAG, the data dictionary, the de-duplication rule, the roles, the data itself. A
result that silently survives such an edit is a confidently wrong artifact (a de-duplicated dataset still showing
the old estimates; a memo quoting numbers from a DAG that no longer exists). So each artifact records a
fingerprint of the inputs it was computed from, and every page compares them with the project's current inputs.

A fingerprint is the sha256 of the input's canonical JSON (sorted keys, no whitespace, lists that are sets
sorted), over exactly the fields that can change a number: node positions, edge rationales and variable
descriptions are left out, so moving a node on the canvas never marks the estimates stale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from causal_core.project import DagSpec, EstimationSpec, Project

INPUT_LABELS = {
    "data": "the data",
    "dedup": "the de-duplication rule",
    "roles": "the roles (treatment, outcome, cluster, guardrails)",
    "dictionary": "the data dictionary",
    "dag": "the DAG",
    "spec": "the estimation specification",
    "question": "the question (brief and estimand card)",
    "audit_settings": "the audit settings",
}
ARTIFACT_LABELS = {
    "data_audit": "the data audit tables and warnings",
    "estimation": "the estimates",
    "multiverse": "the specification curve",
}
# Inputs each artifact depends on (the curve also depends on the estimation it is centred on: its main spec).
ARTIFACT_INPUTS = {
    # The audit records its inputs in its own settings record (audit.run.settings_fingerprint): see _audit_staleness.
    "data_audit": ("data", "dedup", "roles", "dictionary", "dag", "question"),
    "estimation": ("data", "dedup", "roles", "dictionary", "dag"),
    "multiverse": ("data", "dedup", "roles", "dictionary", "dag", "spec"),
}
RECOMPUTE_PAGE = {"data_audit": "Data audit", "estimation": "Estimation", "multiverse": "Specification curve"}
# audit.run.settings_fingerprint's keys -> the input each belongs to (the rest are the audit's own knobs).
_AUDIT_KEY_INPUT = {
    "data_sha256": "data", "dedup": "dedup", "treatment": "roles", "outcome": "roles", "guardrails": "roles",
    "unit_columns": "roles", "time_column": "roles", "dictionary": "dictionary", "dag": "dag", "question": "question",
}


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, compact separators, UTF-8 kept (so the hash is stable across runs)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(value: Any) -> str:
    """sha256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _dag_content(dag: DagSpec | None) -> Any:
    """The DAG's causal content: nodes (name, latent, column), edges, roles and sets; no layout, no prose."""
    if dag is None:
        return None
    return {
        "nodes": sorted([node.name, node.latent, node.column] for node in dag.nodes),
        "edges": sorted([edge.source, edge.target] for edge in dag.edges),
        "bidirected": sorted(sorted([edge.source, edge.target]) for edge in dag.bidirected),
        "treatment": dag.treatment,
        "outcome": dag.outcome,
        "adjusted": sorted(dag.adjusted),
        "selected": sorted(dag.selected),
    }


def _dictionary_content(project: Project) -> Any:
    """Per variable: what decides eligibility and coding (timing, role, simulation truth, categorical)."""
    return sorted(
        [entry.variable, str(entry.timing), entry.role, entry.simulation_truth, entry.categorical]
        for entry in project.dictionary
    )


def _data_content(project: Project) -> Any:
    source = project.data_source
    if source is None:
        return None
    return {"kind": source.kind, "name": source.name, "sha256": source.sha256, "n": source.n, "seed": source.seed}


# Spec fields that add rows or checks but never move the main estimates (a bootstrap must not make the curve stale).
SPEC_FIELDS_IGNORED = {"bootstrap", "placebo_outcome"}


def spec_fingerprint(spec: EstimationSpec | None) -> str:
    return fingerprint(None if spec is None else spec.model_dump(mode="json", exclude=SPEC_FIELDS_IGNORED))


def input_fingerprints(project: Project) -> dict[str, str]:
    """The project's current inputs, one hash each (what an artifact records when it is computed)."""
    return {
        "data": fingerprint(_data_content(project)),
        "dedup": fingerprint({"rule": project.dedup, "unit_columns": list(project.unit_columns)}),
        "roles": fingerprint({
            "treatment": project.treatment,
            "outcome": project.outcome,
            "cluster": project.cluster_column,
            "guardrails": sorted(project.guardrails),
            "time": project.time_column,
            "unit": list(project.unit_columns),
        }),
        "dictionary": fingerprint(_dictionary_content(project)),
        "dag": fingerprint(_dag_content(project.dag)),
        "spec": spec_fingerprint(project.estimation.spec if project.estimation else None),
    }


def inputs_for(project: Project, artifact: str) -> dict[str, str]:
    """The fingerprints ``artifact`` depends on, taken from the project as it is now (stamp at compute time)."""
    current = input_fingerprints(project)
    return {name: current[name] for name in ARTIFACT_INPUTS[artifact]}


@dataclass(frozen=True)
class Staleness:
    """One out-of-date artifact: which inputs changed since it was computed."""

    artifact: str
    changed: tuple[str, ...]

    @property
    def sentence(self) -> str:
        what = ", ".join(INPUT_LABELS.get(name, name) for name in self.changed)
        page = RECOMPUTE_PAGE.get(self.artifact, self.artifact)
        return (
            f"Out of date: {ARTIFACT_LABELS.get(self.artifact, self.artifact)} were computed before {what} changed. "
            f"Recompute them on the {page} page before citing them."
        )


def _recorded(project: Project, artifact: str) -> dict[str, str] | None:
    """The fingerprints an artifact recorded (None when it does not exist or predates fingerprints)."""
    stored = getattr(project, artifact, None)
    recorded = getattr(stored, "inputs", None) if stored is not None else None
    return dict(recorded) if recorded else None


def _audit_staleness(project: Project) -> Staleness | None:
    """The data audit is out of date when its recorded settings record no longer matches the project.

    Why not a fingerprint field: the audit already stores every input it read (its cache key). The DAG is
    compared by causal content only, so moving a node or editing a rationale marks nothing stale.
    """
    from causal_core.audit.constants import AuditSettings
    from causal_core.audit.run import settings_fingerprint

    recorded = dict(project.data_audit.settings) if project.data_audit else {}
    if not recorded:
        return None
    try:
        knobs = AuditSettings.model_validate({k: v for k, v in recorded.items() if k in AuditSettings.model_fields})
    except ValueError:
        return None
    current = settings_fingerprint(project, knobs)
    changed: list[str] = []
    for key, name in _AUDIT_KEY_INPUT.items():
        before, now = recorded.get(key), current.get(key)
        if key == "dag":
            before = _dag_content(DagSpec.model_validate(before)) if before else None
            now = _dag_content(project.dag)
        if canonical_json(before) != canonical_json(now) and name not in changed:
            changed.append(name)
    return Staleness("data_audit", tuple(changed)) if changed else None


def stale(project: Project, artifact: str) -> Staleness | None:
    """Is ``artifact`` out of date? None when current, absent, or recorded before fingerprints existed."""
    if artifact == "data_audit":
        return _audit_staleness(project)
    recorded = _recorded(project, artifact)
    if recorded is None:
        return None
    current = input_fingerprints(project)
    changed = tuple(name for name in ARTIFACT_INPUTS[artifact] if name in recorded and recorded[name] != current[name])
    return Staleness(artifact, changed) if changed else None


def stale_artifacts(project: Project, artifacts: tuple[str, ...] = tuple(ARTIFACT_INPUTS)) -> list[Staleness]:
    """Every out-of-date artifact among ``artifacts``, in workflow order."""
    return [item for item in (stale(project, name) for name in artifacts) if item is not None]


OUT_OF_DATE_SECTIONS = ("main_estimate", "interpretation")


def mark_out_of_date(project: Project, sections: dict[str, str]) -> dict[str, str]:
    """The memo's hook: when the estimates are out of date, the sections that present them as the answer say so
    instead of quoting them (the numbers stay in the project; they are just not presented as current)."""
    item = stale(project, "estimation")
    if item is None:
        return sections
    marked = dict(sections)
    for key in OUT_OF_DATE_SECTIONS:
        if key in marked:
            marked[key] = f"{item.sentence} No estimate is presented as current until then."
    return marked
