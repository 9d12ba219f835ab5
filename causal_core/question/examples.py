"""Example cards that work without any model (N01 retention, N09 support)."""

from __future__ import annotations

from typing import Any

from causal_core.errors import WorkbenchInputError
from causal_core.project import (
    EstimandCard,
)

# ---------------------------------------------------------------------------------------------
# Example cards (work without any model)
# ---------------------------------------------------------------------------------------------
N01_CARD: dict[str, Any] = {
    "business_question": "Did proactive customer-success outreach reduce churn last quarter?",
    "causal_question": "What was the average causal effect of proactive outreach on 90-day churn among eligible SaaS accounts?",
    "unit": "customer account",
    "treatment": "receiving proactive customer-success outreach during the intervention month",
    "control_condition": "not receiving proactive outreach during the same eligibility window",
    "outcome": "churn within 90 days after the outreach eligibility date",
    "time_window": "accounts eligible during the prior quarter; outcome measured over the following 90 days",
    "target_population": "eligible active SaaS accounts that could have received proactive outreach",
    "estimand": "average treatment effect on churn risk for the eligible-account population",
    "required_assumptions": [
        "all common causes of outreach assignment and churn are observed and adjusted for",
        "each account has a positive probability of receiving and not receiving outreach conditional on covariates",
        "pre-treatment covariates are measured before outreach assignment",
        "outreach for one account does not materially affect another account churn outcome",
    ],
    "likely_threats": [
        "customer-success managers targeted accounts using unobserved knowledge",
        "usage changes after outreach could be mistakenly controlled for",
        "enterprise accounts may have different overlap than small accounts",
        "churn timing could overlap with outreach timing for some accounts",
    ],
    "variables_to_audit": [
        "account health score",
        "prior support tickets",
        "usage before outreach",
        "company size",
        "tenure",
        "region",
        "post-outreach engagement variables",
    ],
}

# Written from N09 §3 and the §10 evidence bundle: treatment assistant_enabled, primary outcome
# human_handled_hours, guardrail customer_satisfaction_score, team-week grain, total effect.
SUPPORT_CARD: dict[str, Any] = {
    "business_question": (
        "Did enabling the AI support assistant reduce human-handled workload without harming customer experience?"
    ),
    "causal_question": (
        "What was the average total effect of enabling the AI support assistant on weekly human-handled hours "
        "per team-week, with customer satisfaction as a guardrail outcome?"
    ),
    "unit": "support team-week (team_id by week_start)",
    "treatment": "AI support assistant enabled for the team during the week (assistant_enabled = 1)",
    "control_condition": (
        "assistant not enabled for the team in that week (assistant_enabled = 0): teams before their rollout "
        "week and teams never enabled"
    ),
    "outcome": "human-handled workload hours during the team-week (human_handled_hours)",
    "time_window": (
        "14 reporting weeks starting 2025-01-06 during the staggered rollout; workload measured within the same week"
    ),
    "target_population": (
        "support teams in the billing, technical and retention queues (Americas, EMEA, APAC) that were "
        "candidates for assistant enablement during the rollout"
    ),
    "estimand": (
        "average treatment effect (ATE, total effect) of assistant enablement on weekly human-handled hours "
        "across eligible team-weeks; the same contrast for the guardrail customer_satisfaction_score"
    ),
    "required_assumptions": [
        "no unmeasured confounding: rollout timing depends only on recorded pre-treatment factors "
        "(manager priority, readiness, baseline volume, region, queue, backlog, staffing)",
        "positivity / overlap: every team-week had a real chance of being enabled and of not being enabled "
        "given those factors",
        "consistency: enablement means the same assistant configuration for every team and week",
        "no interference: one team's enablement does not change another team's workload (shared queues or routing)",
        "covariates are measured before enablement; agent_uses_ai and deflection_rate are post-treatment and "
        "stay out of the total-effect adjustment set",
    ],
    "likely_threats": [
        "leadership prioritized ready, high-volume teams for early enablement (manager_priority, team_readiness)",
        "post-treatment mediators (agent_uses_ai, deflection_rate) are tempting controls that would remove part "
        "of the effect",
        "next_week_backlog leaks information from the following week",
        "duplicated team-weeks and missing baseline volume or satisfaction that depend on region, readiness "
        "and queue load",
        "seasonal backlog pressure coincides with the staggered rollout weeks",
    ],
    "variables_to_audit": [
        "team_id by week_start grain (duplicated team-weeks)",
        "baseline_ticket_volume missingness (APAC, low-readiness teams)",
        "customer_satisfaction_score missingness in busy technical queues (guardrail outcome)",
        "manager_priority and team_readiness balance between enabled and not-enabled weeks",
        "backlog_start and staffing_hours measured at the start of the week",
        "agent_uses_ai and deflection_rate (post-treatment: audit, never adjust)",
        "next_week_backlog (future leakage)",
    ],
}

EXAMPLE_CARDS = {"retention": N01_CARD, "support": SUPPORT_CARD}


def example_card(dataset_name: str) -> EstimandCard:
    """The worked example card for a built-in dataset (N01 §6 verbatim for ``retention``)."""
    if dataset_name not in EXAMPLE_CARDS:
        raise WorkbenchInputError(f"no example card for '{dataset_name}': choose one of {', '.join(EXAMPLE_CARDS)}")
    return EstimandCard.model_validate(EXAMPLE_CARDS[dataset_name])
