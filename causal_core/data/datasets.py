"""Built-in simulated datasets from the reference notebooks (N01 retention, N09 support).

Both generators are pure functions of ``(n, seed)`` so a project stores only the name, size
and seed and regenerates the exact rows on open; the data hash proves it is the same data.
The draws happen in the same order as the notebooks' simulations, which is what makes the
printed overview figures reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from causal_core.errors import WorkbenchInputError
from causal_core.project import DictionaryEntry, normalise_timing

RETENTION_SEED = 42
RETENTION_N = 6_000
SUPPORT_SEED = 209
SUPPORT_TEAMS = 90
SUPPORT_WEEKS = 14


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_retention(n: int = RETENTION_N, seed: int = RETENTION_SEED) -> pd.DataFrame:
    """N01 §4: proactive outreach targeted at risky accounts; the true effect is negative.

    Simulation-truth columns (propensity_true, true_individual_effect, p_churn_*) are kept so the
    app can draw the true ATE line, but the dictionary marks them so they are never covariates.
    """
    rng = np.random.default_rng(seed)
    company_size = rng.lognormal(mean=4.2, sigma=0.75, size=n)
    tenure_months = np.clip(rng.gamma(shape=2.8, scale=8, size=n), 1, 96)
    usage_score = np.clip(rng.normal(loc=0, scale=1, size=n), -3, 3)
    prior_tickets = rng.poisson(np.exp(0.35 - 0.35 * usage_score + 0.25 * (company_size > 120)))
    health_score = np.clip(
        67 + 9 * usage_score - 3.8 * prior_tickets + 0.06 * tenure_months + rng.normal(0, 8, n), 1, 99
    )
    region = rng.choice(
        ["North America", "Europe", "APAC", "Latin America"], size=n, p=[0.45, 0.25, 0.22, 0.08]
    )
    segment = pd.cut(company_size, bins=[0, 60, 140, np.inf], labels=["small", "mid-market", "enterprise"])
    region_shift = {"North America": 0.00, "Europe": -0.08, "APAC": 0.05, "Latin America": 0.12}
    region_risk = pd.Series(region).map(region_shift).to_numpy()
    large = company_size > 120
    propensity = _sigmoid(
        -1.15 + 0.045 * (70 - health_score) + 0.19 * prior_tickets + 0.45 * large
        - 0.015 * tenure_months + region_risk
    )
    outreach = rng.binomial(1, propensity)
    p_churn_without = _sigmoid(
        -1.65 + 0.055 * (70 - health_score) + 0.15 * prior_tickets - 0.018 * tenure_months + region_risk
    )
    true_individual_effect = (
        -0.025 - 0.055 * (health_score < 55) - 0.025 * (prior_tickets >= 4) - 0.015 * large
    )
    p_churn_with = np.clip(p_churn_without + true_individual_effect, 0.01, 0.95)
    churn = rng.binomial(1, np.where(outreach == 1, p_churn_with, p_churn_without))
    return pd.DataFrame(
        {
            "account_id": np.arange(1, n + 1),
            "outreach": outreach,
            "churn": churn,
            "company_size": company_size,
            "tenure_months": tenure_months,
            "usage_score": usage_score,
            "prior_tickets": prior_tickets,
            "health_score": health_score,
            "region": region,
            "segment": segment.astype(str),
            "propensity_true": propensity,
            "true_individual_effect": true_individual_effect,
            "p_churn_without": p_churn_without,
            "p_churn_with": p_churn_with,
        }
    )


def _support_teams(rng: np.random.Generator, n_teams: int) -> pd.DataFrame:
    teams = pd.DataFrame(
        {
            "team_id": [f"T{idx:03d}" for idx in range(n_teams)],
            "region": rng.choice(["Americas", "EMEA", "APAC"], size=n_teams, p=[0.45, 0.35, 0.20]),
            "queue_type": rng.choice(["billing", "technical", "retention"], size=n_teams, p=[0.35, 0.45, 0.20]),
            "team_readiness": rng.normal(0, 1, size=n_teams),
            "manager_priority": rng.binomial(1, 0.35, size=n_teams),
        }
    )
    teams["baseline_ticket_volume"] = (
        240
        + 45 * (teams["queue_type"] == "technical").astype(int)
        + 35 * (teams["queue_type"] == "retention").astype(int)
        + 18 * teams["manager_priority"]
        + 22 * teams["team_readiness"]
        + rng.normal(0, 30, size=n_teams)
    ).clip(80, None)
    teams["baseline_satisfaction"] = (
        82 - 0.018 * teams["baseline_ticket_volume"] + 2.2 * teams["team_readiness"]
        + rng.normal(0, 2.5, size=n_teams)
    ).clip(55, 95)
    return teams


def _support_team_weeks(team: pd.Series, weeks: pd.DatetimeIndex, rng: np.random.Generator) -> list[dict]:
    """One team's weekly rows; the draw order per week matches N09 exactly."""
    n_weeks = len(weeks)
    rollout_score = (
        -0.7 + 0.95 * team["manager_priority"] + 0.65 * team["team_readiness"]
        + 0.0035 * team["baseline_ticket_volume"] + (0.25 if team["region"] == "Americas" else 0.0)
    )
    rollout_probability = 1 / (1 + np.exp(-rollout_score))
    eligible_week = rng.integers(4, 10) if rng.uniform() < rollout_probability else 99
    rows = []
    for week_idx, week_start in enumerate(weeks):
        enabled = int(week_idx >= eligible_week)
        seasonal_pressure = 18 * np.sin((week_idx + 1) / n_weeks * 2 * np.pi)
        backlog_start = (
            55 + 0.18 * team["baseline_ticket_volume"] - 7.5 * team["team_readiness"]
            + 9 * (team["queue_type"] == "retention") + seasonal_pressure + rng.normal(0, 12)
        )
        staffing_hours = (
            420 + 0.32 * team["baseline_ticket_volume"] - 0.45 * backlog_start
            + 18 * team["manager_priority"] + rng.normal(0, 18)
        )
        agent_uses_ai = np.nan
        deflection_rate = np.nan
        if enabled:
            agent_uses_ai = float(np.clip(
                0.35 + 0.16 * team["team_readiness"] + 0.06 * team["manager_priority"] + rng.normal(0, 0.07),
                0.05, 0.92,
            ))
            deflection_rate = float(np.clip(0.12 + 0.38 * agent_uses_ai + rng.normal(0, 0.04), 0.02, 0.65))
        true_total_effect = -22 - 12 * max(team["team_readiness"], 0)
        human_handled_hours = (
            120 + 0.42 * team["baseline_ticket_volume"] + 0.65 * backlog_start - 0.18 * staffing_hours
            - 7 * team["team_readiness"] + true_total_effect * enabled + rng.normal(0, 18)
        )
        deflection_for_csat = deflection_rate if not np.isnan(deflection_rate) else 0
        customer_satisfaction_score = float(np.clip(
            team["baseline_satisfaction"] - 0.018 * backlog_start + 1.4 * enabled
            - 2.8 * max(enabled * deflection_for_csat - 0.35, 0) + rng.normal(0, 2.4),
            35, 98,
        ))
        next_week_backlog = backlog_start + 0.09 * human_handled_hours - 7 * enabled + rng.normal(0, 10)
        rows.append(
            {
                "team_id": team["team_id"],
                "week_start": week_start,
                "region": team["region"],
                "queue_type": team["queue_type"],
                "assistant_enabled": enabled,
                "baseline_ticket_volume": team["baseline_ticket_volume"],
                "baseline_satisfaction": team["baseline_satisfaction"],
                "team_readiness": team["team_readiness"],
                "manager_priority": team["manager_priority"],
                "backlog_start": backlog_start,
                "staffing_hours": staffing_hours,
                "agent_uses_ai": agent_uses_ai,
                "deflection_rate": deflection_rate,
                "human_handled_hours": human_handled_hours,
                "customer_satisfaction_score": customer_satisfaction_score,
                "next_week_backlog": next_week_backlog,
            }
        )
    return rows


def simulate_support(n: int = SUPPORT_TEAMS, seed: int = SUPPORT_SEED, n_weeks: int = SUPPORT_WEEKS) -> pd.DataFrame:
    """N09 §3: staggered AI-assistant rollout with planted profiling problems.

    ``n`` is the number of teams (rows ≈ n × 14 weeks + 8 duplicates). Planted issues: duplicated
    team-weeks, workflow-driven missingness, post-treatment mediators and a future-leakage column.
    """
    rng = np.random.default_rng(seed)
    teams = _support_teams(rng, n)
    weeks = pd.date_range("2025-01-06", periods=n_weeks, freq="W-MON")
    rows: list[dict] = []
    for _, team in teams.iterrows():
        rows.extend(_support_team_weeks(team, weeks, rng))
    df = pd.DataFrame(rows)

    readiness_missing = (
        df["region"].eq("APAC") & (df["team_readiness"] < -0.25) & (rng.uniform(size=len(df)) < 0.28)
    )
    df.loc[readiness_missing, "baseline_ticket_volume"] = np.nan
    csat_missing = (
        df["queue_type"].eq("technical")
        & (df["backlog_start"] > df["backlog_start"].quantile(0.70))
        & (rng.uniform(size=len(df)) < 0.32)
    )
    df.loc[csat_missing, "customer_satisfaction_score"] = np.nan

    duplicate_indices = rng.choice(df.index, size=8, replace=False)
    duplicates = df.loc[duplicate_indices].copy()
    duplicates["staffing_hours"] = duplicates["staffing_hours"] + rng.normal(0, 5, size=len(duplicates))
    return pd.concat([df, duplicates], ignore_index=True).sample(frac=1, random_state=seed).reset_index(drop=True)


def _entries(rows: list[tuple[str, str, str, str]], simulation_truth: set[str] = frozenset()) -> list[DictionaryEntry]:
    return [
        DictionaryEntry(
            variable=variable,
            description=description,
            timing=normalise_timing(timing),
            timing_label=timing,
            role=role,
            simulation_truth=variable in simulation_truth,
        )
        for variable, description, timing, role in rows
    ]


RETENTION_TRUTH_COLUMNS = {"propensity_true", "true_individual_effect", "p_churn_without", "p_churn_with"}


def retention_dictionary() -> list[DictionaryEntry]:
    """Dictionary for the N01 data; roles follow N01 §8's variable-role table."""
    return _entries(
        [
            ("account_id", "Customer account identifier.", "unit id", "unit identifier"),
            ("outreach", "Received proactive customer-success outreach during the intervention month.", "treatment week", "treatment"),
            ("churn", "Churned within 90 days after the outreach eligibility date.", "outcome window", "primary outcome"),
            ("company_size", "Company size (employees) before outreach.", "pre-treatment", "pre-treatment confounder or precision variable"),
            ("tenure_months", "Months as a customer before outreach.", "pre-treatment", "pre-treatment confounder or precision variable"),
            ("usage_score", "Standardised product usage before outreach.", "pre-treatment", "pre-treatment confounder"),
            ("prior_tickets", "Support tickets before outreach.", "pre-treatment", "pre-treatment confounder"),
            ("health_score", "Account health score before outreach.", "pre-treatment", "pre-treatment confounder"),
            ("region", "Sales region of the account.", "pre-treatment", "pre-treatment confounder or operational constraint"),
            ("segment", "Size segment (small, mid-market, enterprise).", "pre-treatment", "pre-treatment confounder or effect modifier"),
            ("propensity_true", "Simulation truth: true probability of outreach.", "future", "simulation truth (never a covariate)"),
            ("true_individual_effect", "Simulation truth: the account's true effect of outreach on churn risk.", "future", "simulation truth (never a covariate)"),
            ("p_churn_without", "Simulation truth: churn probability without outreach.", "future", "simulation truth (never a covariate)"),
            ("p_churn_with", "Simulation truth: churn probability with outreach.", "future", "simulation truth (never a covariate)"),
        ],
        simulation_truth=RETENTION_TRUTH_COLUMNS,
    )


def support_dictionary() -> list[DictionaryEntry]:
    """N09 §3's 16-row data dictionary, timing terms kept verbatim in ``timing_label``."""
    return _entries(
        [
            ("team_id", "Support team identifier.", "unit id", "unit identifier"),
            ("week_start", "Start date for the reporting week.", "time id", "time identifier"),
            ("region", "Operating region for the team.", "pre-treatment", "candidate confounder"),
            ("queue_type", "Primary queue served by the team.", "pre-treatment", "candidate confounder"),
            ("assistant_enabled", "Whether the AI assistant was enabled for the team during the week.", "treatment week", "treatment"),
            ("baseline_ticket_volume", "Average weekly ticket volume before rollout planning.", "pre-treatment", "candidate confounder"),
            ("baseline_satisfaction", "Pre-rollout customer satisfaction score.", "pre-treatment", "candidate confounder"),
            ("team_readiness", "Internal readiness score used by enablement managers.", "pre-treatment", "candidate confounder"),
            ("manager_priority", "Indicator that leadership prioritized the team for early enablement.", "pre-treatment", "candidate confounder"),
            ("backlog_start", "Open ticket backlog at the beginning of the week.", "pre-treatment within week", "candidate confounder"),
            ("staffing_hours", "Planned human staffing capacity for the week.", "pre-treatment within week", "candidate confounder"),
            ("agent_uses_ai", "Share of agents actively using the assistant after enablement.", "post-treatment", "mediator or compliance measure"),
            ("deflection_rate", "Share of contacts deflected after assistant interactions.", "post-treatment", "mediator"),
            ("human_handled_hours", "Human workload hours during the week.", "outcome window", "primary outcome"),
            ("customer_satisfaction_score", "Customer satisfaction score for tickets resolved during the week.", "outcome window", "guardrail outcome"),
            ("next_week_backlog", "Open backlog measured at the beginning of the following week.", "future", "future leakage risk"),
        ]
    )


@dataclass(frozen=True)
class BuiltinDataset:
    """Everything the app needs to know about a built-in dataset besides its rows."""

    name: str
    title: str
    generate: Callable[[int, int], pd.DataFrame]
    default_n: int
    default_seed: int
    dictionary: Callable[[], list[DictionaryEntry]]
    treatment: str
    outcome: str
    guardrails: list[str] = field(default_factory=list)
    unit_columns: list[str] = field(default_factory=list)
    time_column: str | None = None
    cluster_column: str | None = None
    brief: str = ""
    true_effect_column: str | None = None
    max_n: int = 1_000_000  # generation bound: a project file cannot make the server build millions of rows


BUILTINS: dict[str, BuiltinDataset] = {
    "retention": BuiltinDataset(
        name="retention",
        title="Proactive retention outreach (N01, seed 42, n = 6000)",
        generate=simulate_retention,
        default_n=RETENTION_N,
        default_seed=RETENTION_SEED,
        dictionary=retention_dictionary,
        treatment="outreach",
        outcome="churn",
        unit_columns=["account_id"],
        brief="Did proactive customer-success outreach reduce churn last quarter?",
        true_effect_column="true_individual_effect",
    ),
    "support": BuiltinDataset(
        name="support",
        title="AI support assistant rollout (N09, seed 209, 90 teams x 14 weeks)",
        generate=simulate_support,
        default_n=SUPPORT_TEAMS,
        default_seed=SUPPORT_SEED,
        dictionary=support_dictionary,
        treatment="assistant_enabled",
        outcome="human_handled_hours",
        guardrails=["customer_satisfaction_score"],
        unit_columns=["team_id", "week_start"],
        time_column="week_start",
        cluster_column="team_id",
        brief=(
            "Did enabling the AI support assistant reduce human-handled workload without harming "
            "customer experience?"
        ),
        max_n=2_000,  # teams, each 14 weekly rows built in a Python loop (2,000 teams ≈ 28k rows, a few seconds)
    ),
}


def get_builtin(name: str) -> BuiltinDataset:
    """Look up a built-in dataset, naming the valid choices when the name is unknown."""
    try:
        return BUILTINS[name]
    except KeyError:
        raise WorkbenchInputError(f"unknown dataset '{name}': choose one of {', '.join(BUILTINS)}") from None


MAX_SEED = 2**32 - 1  # numpy's SeedSequence takes any non-negative int; the bound keeps files sane


def check_generator_args(name: str, n: object, seed: object) -> None:
    """Refuse a size or seed the generator cannot or should not use, naming the argument, before any work.

    A project file is untrusted input: n = 3,000,000 would spend minutes generating rows before anything
    else is checked, and a negative n or seed surfaces as a numpy error that names neither.
    """
    spec = get_builtin(name)
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= spec.max_n):
        raise WorkbenchInputError(f"n = {n!r} for the built-in dataset '{name}': it must be a whole number from 1 to {spec.max_n:,}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        raise WorkbenchInputError(f"seed = {seed!r} for the built-in dataset '{name}': it must be a whole number from 0 to {MAX_SEED:,}")


def load_builtin(name: str, n: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """Regenerate a built-in dataset (the notebooks' size and seed unless told otherwise); n and seed are
    checked first (check_generator_args)."""
    spec = get_builtin(name)
    check_generator_args(name, n, seed)
    return spec.generate(n or spec.default_n, spec.default_seed if seed is None else seed)
