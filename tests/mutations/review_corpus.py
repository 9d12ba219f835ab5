"""A generated corpus of dataset-profile reviews on ``support``: paraphrased good reviews and mutants per class.

Good reviews keep N09's column lists (shuffled) and draw the free-text fields from variants written in other
words (grain phrasings, leakage and missingness sentences, questions and next checks). Each failure class
turns a good review into one that names the right columns but claims something the audit contradicts, or
names columns that do not exist.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable

Review = dict[str, object]

PRE = ["region", "queue_type", "baseline_ticket_volume", "baseline_satisfaction", "team_readiness",
       "manager_priority", "backlog_start", "staffing_hours"]
EXCLUDED = ["agent_uses_ai", "deflection_rate", "human_handled_hours", "customer_satisfaction_score", "next_week_backlog"]
GRAIN = ["team_id, week_start", "one row per team per week (team_id × week_start)", "team-week: team_id and week_start",
         "each row is a team_id and week_start pair"]
TREATMENT = ["assistant_enabled", "assistant_enabled (1 = AI assistant switched on for the team that week)"]
LEAKAGE = [
    ["next_week_backlog"],
    ["next_week_backlog is measured the following week and would leak the future into the model"],
    ["next_week_backlog: recorded after the outcome window, a leakage risk"],
]
MISSINGNESS = [
    ["deflection_rate", "agent_uses_ai", "customer_satisfaction_score"],
    ["customer_satisfaction_score is missing for some busy technical-queue weeks",
     "baseline_ticket_volume has gaps for APAC teams",
     "agent_uses_ai and deflection_rate are empty whenever assistant_enabled is 0 (structural)"],
]
UNIT = [["duplicated rows by intended grain"], ["some team_id and week_start pairs appear twice"],
        ["repeated team-weeks: de-duplicate before estimating"]]
QUESTIONS = [
    ["Is there a valid comparison group for teams that did not have the AI assistant enabled?",
     "Are there any time-varying confounders that were not captured?",
     "Does the treatment assignment appear to be random or quasi-random?"],
    ["How did leadership choose which teams were enabled first?",
     "Could seasonal backlog pressure have influenced the rollout order?"],
    ["Was enablement ever randomized, or only prioritised by managers?",
     "Which teams share queues, so that one team's enablement could affect another?",
     "Is staffing_hours recorded before the week starts?"],
]
NEXT = [
    ["Verify the causal relationships between the treatment and the mediators and outcomes."],
    ["Compare manager_priority and team_readiness between enabled and not-enabled weeks.",
     "Plot missingness of baseline_ticket_volume by region."],
    ["Remove duplicated team-weeks and re-run the audit."],
]


def good_review(rng: random.Random) -> Review:
    return {
        "dataset_grain": rng.choice(GRAIN),
        "candidate_treatment": rng.choice(TREATMENT),
        "candidate_outcomes": ["human_handled_hours", *(["customer_satisfaction_score"] if rng.random() < 0.5 else [])],
        "pre_treatment_covariates": rng.sample(PRE, k=len(PRE)),
        "post_treatment_or_mediators": rng.sample(["agent_uses_ai", "deflection_rate"], k=2),
        "leakage_risks": list(rng.choice(LEAKAGE)),
        "missingness_risks": list(rng.choice(MISSINGNESS)),
        "unit_integrity_risks": list(rng.choice(UNIT)),
        "identification_questions": list(rng.choice(QUESTIONS)),
        "recommended_exclusions_from_adjustment": rng.sample(EXCLUDED, k=len(EXCLUDED)),
        "next_checks": list(rng.choice(NEXT)),
        "confidence": rng.choice(["low", "medium"]),
    }


def good_reviews(count: int, seed: int = 3) -> list[Review]:
    rng = random.Random(seed)
    seen: dict[str, Review] = {}
    while len(seen) < count:
        review = good_review(rng)
        seen.setdefault(repr(review), review)
    return list(seen.values())


# ---- failure classes --------------------------------------------------------------------------------
INVENTED = ["ticket_priority_score", "agent_tenure_months", "csat_trend", "team_morale_index"]
LEAK_DENIED = [
    "next_week_backlog is NOT a leakage risk; keep it in the adjustment set",
    "next_week_backlog can be used as a covariate, it is safe to adjust for",
    "next_week_backlog is measured before enablement and should be adjusted for",
]
IDENTIFIED = [
    "Adjusting for these covariates rules out confounding.",
    "With this adjustment set the estimate is causal.",
    "No unmeasured confounding remains once manager_priority is included.",
    "The comparison gives the causal effect of enablement.",
]
RANDOMISED = [
    "The assistant was randomly assigned to teams, so a simple comparison is valid.",
    "Enablement is as good as random across teams.",
    "This is a randomized rollout.",
]
MISSING_DENIED = ["There is no missing data in this dataset.", "All columns are fully observed.",
                  "Missingness is negligible."]
WRONG_GRAIN = ["one row per ticket, with team_id and week_start as attributes",
               "team_id, week_start: one row per agent per day",
               "per team (team_id); week_start is only a date attribute"]
NEGATED_TREATMENT = ["not assistant_enabled", "assistant_enabled = 0", "agent_uses_ai rather than assistant_enabled"]


def _copy(review: Review) -> Review:
    return copy.deepcopy(review)


def invented_columns(review: Review, rng: random.Random) -> Review:
    bad = _copy(review)
    field = rng.choice(["pre_treatment_covariates", "leakage_risks", "missingness_risks", "next_checks"])
    bad[field] = [*bad[field], rng.choice(INVENTED)]  # type: ignore[misc]
    return bad


def leakage_denied(review: Review, rng: random.Random) -> Review:
    bad = _copy(review)
    field = rng.choice(["leakage_risks", "next_checks"])
    bad[field] = [rng.choice(LEAK_DENIED)] if field == "leakage_risks" else [*bad[field], rng.choice(LEAK_DENIED)]  # type: ignore[misc]
    return bad


def identification_in_other_words(review: Review, rng: random.Random) -> Review:
    bad = _copy(review)
    bad["next_checks"] = [*bad["next_checks"], rng.choice(IDENTIFIED)]  # type: ignore[misc]
    return bad


def invented_randomisation(review: Review, rng: random.Random) -> Review:
    bad = _copy(review)
    field = rng.choice(["next_checks", "unit_integrity_risks"])
    bad[field] = [*bad[field], rng.choice(RANDOMISED)]  # type: ignore[misc]
    return bad


def missingness_denied(review: Review, rng: random.Random) -> Review:
    bad = _copy(review)
    bad["next_checks"] = [*bad["next_checks"], rng.choice(MISSING_DENIED)]  # type: ignore[misc]
    return bad


def wrong_grain(review: Review, rng: random.Random) -> Review:
    return {**_copy(review), "dataset_grain": rng.choice(WRONG_GRAIN)}


def negated_treatment(review: Review, rng: random.Random) -> Review:
    return {**_copy(review), "candidate_treatment": rng.choice(NEGATED_TREATMENT)}


MUTATIONS: dict[str, Callable[[Review, random.Random], Review]] = {
    "invented column": invented_columns,
    "future column called safe to adjust": leakage_denied,
    "identification claimed in other words": identification_in_other_words,
    "invented randomisation": invented_randomisation,
    "measured missingness denied": missingness_denied,
    "wrong grain naming the grain columns": wrong_grain,
    "negated treatment": negated_treatment,
}


def mutants(goods: list[Review], per_good: int = 1, seed: int = 29) -> dict[str, list[Review]]:
    rng = random.Random(seed)
    return {name: [mutate(g, rng) for g in goods for _ in range(per_good)] for name, mutate in MUTATIONS.items()}
