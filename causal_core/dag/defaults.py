"""Default DAGs for the built-in datasets, the starter DAG and the roles table."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from causal_core.dag.roles import node_roles
from causal_core.dag.seeding import starter_dag  # noqa: F401 - re-exported (safe node names live there)
from causal_core.errors import WorkbenchInputError
from causal_core.project import DagEdge, DagNode, DagSpec

# Default DAGs for the built-in datasets
# ---------------------------------------------------------------------------------------------
# N01 §8 node names mapped onto the retention columns (label = the notebook's wording).
RETENTION_COVARIATES = [
    ("health_score", "Account health"),
    ("prior_tickets", "Prior tickets"),
    ("usage_score", "Usage before outreach"),
    ("company_size", "Company size"),
    ("tenure_months", "Tenure"),
    ("region", "Region"),
    ("segment", "Segment"),
]
ENGAGEMENT = "post_outreach_engagement"

SUPPORT_CONFOUNDERS = [
    "region",
    "queue_type",
    "team_readiness",
    "manager_priority",
    "baseline_ticket_volume",
    "baseline_satisfaction",
    "backlog_start",
    "staffing_hours",
]


def _retention_dag() -> DagSpec:
    nodes = [
        DagNode(name=column, label=label, column=column, x=0.0, y=(index - 3) * 80.0)
        for index, (column, label) in enumerate(RETENTION_COVARIATES)
    ]
    nodes += [
        DagNode(name="outreach", label="Outreach", column="outreach", x=280.0, y=-60.0),
        DagNode(name=ENGAGEMENT, label="Post-outreach engagement", column=None, x=480.0, y=-180.0),
        DagNode(name="churn", label="Churn", column="churn", x=680.0, y=-60.0),
    ]
    edges = []
    for column, label in RETENTION_COVARIATES:
        edges.append(DagEdge(source=column, target="outreach", rationale=f"{label} guided who received outreach."))
        edges.append(DagEdge(source=column, target="churn", rationale=f"{label} also drives churn risk."))
    edges += [
        DagEdge(source="outreach", target=ENGAGEMENT, rationale="Outreach changes engagement after the call."),
        DagEdge(source=ENGAGEMENT, target="churn", rationale="Engagement after outreach affects churn (mediator)."),
        DagEdge(source="outreach", target="churn", rationale="Direct effect of outreach on churn."),
    ]
    return DagSpec(nodes=nodes, edges=edges, treatment="outreach", outcome="churn")


def _support_dag() -> DagSpec:
    """N09 dictionary roles: candidate confounders → enablement and the outcomes; usage and deflection
    mediate; next week's backlog is downstream of this week's workload (future leakage)."""
    labels = {
        "region": "Region",
        "queue_type": "Queue type",
        "team_readiness": "Team readiness",
        "manager_priority": "Manager priority",
        "baseline_ticket_volume": "Baseline ticket volume",
        "baseline_satisfaction": "Baseline satisfaction",
        "backlog_start": "Backlog at week start",
        "staffing_hours": "Planned staffing hours",
        "assistant_enabled": "Assistant enabled",
        "agent_uses_ai": "Agents using AI",
        "deflection_rate": "Deflection rate",
        "human_handled_hours": "Human-handled hours",
        "customer_satisfaction_score": "Customer satisfaction",
        "next_week_backlog": "Next week's backlog",
    }
    nodes = [
        DagNode(name=name, label=labels[name], column=name, x=0.0, y=(index - 3.5) * 80.0)
        for index, name in enumerate(SUPPORT_CONFOUNDERS)
    ]
    nodes += [
        DagNode(
            name="assistant_enabled", label=labels["assistant_enabled"], column="assistant_enabled", x=260.0, y=0.0
        ),
        DagNode(name="agent_uses_ai", label=labels["agent_uses_ai"], column="agent_uses_ai", x=440.0, y=-200.0),
        DagNode(name="deflection_rate", label=labels["deflection_rate"], column="deflection_rate", x=620.0, y=-200.0),
        DagNode(
            name="human_handled_hours",
            label=labels["human_handled_hours"],
            column="human_handled_hours",
            x=800.0,
            y=-40.0,
        ),
        DagNode(
            name="customer_satisfaction_score",
            label=labels["customer_satisfaction_score"],
            column="customer_satisfaction_score",
            x=800.0,
            y=140.0,
        ),
        DagNode(
            name="next_week_backlog", label=labels["next_week_backlog"], column="next_week_backlog", x=1000.0, y=-40.0
        ),
    ]
    outcomes = ("human_handled_hours", "customer_satisfaction_score")
    edges = []
    for name in SUPPORT_CONFOUNDERS:
        edges.append(
            DagEdge(
                source=name,
                target="assistant_enabled",
                rationale="Pre-treatment candidate confounder of rollout (N09 dictionary).",
            )
        )
        for outcome in outcomes:
            edges.append(
                DagEdge(source=name, target=outcome, rationale="Pre-treatment driver of workload and satisfaction.")
            )
    edges += [
        DagEdge(source="queue_type", target="baseline_ticket_volume", rationale="The queue served sets ticket volume."),
        DagEdge(source="baseline_ticket_volume", target="backlog_start", rationale="Higher volume builds backlog."),
        DagEdge(source="backlog_start", target="staffing_hours", rationale="Staffing is planned against the backlog."),
        DagEdge(
            source="assistant_enabled",
            target="agent_uses_ai",
            rationale="Agents can only use the assistant once enabled.",
        ),
        DagEdge(source="agent_uses_ai", target="deflection_rate", rationale="Deflection follows assistant use."),
        DagEdge(
            source="deflection_rate", target="human_handled_hours", rationale="Deflected contacts need no human hours."
        ),
        DagEdge(
            source="deflection_rate",
            target="customer_satisfaction_score",
            rationale="Too much deflection can hurt satisfaction.",
        ),
        DagEdge(
            source="assistant_enabled",
            target="human_handled_hours",
            rationale="Total effect of enablement on workload.",
        ),
        DagEdge(
            source="assistant_enabled",
            target="customer_satisfaction_score",
            rationale="Guardrail: enablement may change satisfaction.",
        ),
        DagEdge(
            source="human_handled_hours",
            target="next_week_backlog",
            rationale="This week's work shapes next week's backlog (future).",
        ),
        DagEdge(source="backlog_start", target="next_week_backlog", rationale="Backlog carries over to the next week."),
    ]
    return DagSpec(nodes=nodes, edges=edges, treatment="assistant_enabled", outcome="human_handled_hours")


DEFAULT_DAGS = {"retention": _retention_dag, "support": _support_dag}


def default_dag(dataset_name: str) -> DagSpec:
    """The starting DAG for a built-in dataset (N01 §8 for retention, N09's dictionary for support)."""
    if dataset_name not in DEFAULT_DAGS:
        raise WorkbenchInputError(f"no default DAG for {dataset_name!r}: choose one of {', '.join(DEFAULT_DAGS)}")
    return DEFAULT_DAGS[dataset_name]()


def roles_table(spec: DagSpec, timing_of: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per node: label, column, observed, derived roles (and the dictionary timing if given)."""
    roles = node_roles(spec)
    rows = []
    for node in spec.nodes:
        row = {
            "node": node.name,
            "label": node.label,
            "column": node.column or "—",
            "observed": "latent" if node.latent else ("yes" if node.column else "no data column"),
            "roles": ", ".join(r.replace("_", " ") for r in roles.get(node.name, [])),
        }
        if timing_of is not None:
            row["timing"] = timing_of.get(node.column or "", "—") if node.column else "—"
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
