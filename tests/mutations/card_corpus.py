"""A generated corpus of estimand cards on ``retention``: paraphrased good cards and, per failure class, mutants.

Good cards draw each field from independent variants (column names or plain words, different orders and
number formats), so a seeded draw gives many distinct good cards; the estimand and the population are drawn
as a pair so an ATT card always names the treated. Each failure class turns a good card into a bad one.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Card = dict[str, object]

GOOD_FIELDS: dict[str, list] = {
    "business_question": [
        "Did proactive customer-success outreach reduce churn last quarter?",
        "Should customer success keep calling at-risk accounts before renewal?",
        "Is contacting accounts early worth the team's time, judged by whether they stay?",
    ],
    "causal_question": [
        "What was the average causal effect of proactive outreach on 90-day churn among eligible SaaS accounts?",
        "How would 90-day churn differ if eligible accounts were contacted versus not contacted?",
        "By how much does proactive contact change the probability that an eligible account churns within 90 days?",
    ],
    "unit": ["customer account", "one SaaS account (account_id)", "an account"],
    "treatment": [
        "receiving proactive customer-success outreach during the intervention month",
        "proactive outreach by the customer success team (outreach = 1)",
        "the account was contacted proactively by customer success in the intervention month",
    ],
    "control_condition": [
        "not receiving proactive outreach during the same eligibility window",
        "no proactive contact from customer success in that window (outreach = 0)",
        "business as usual: the account was left alone during the intervention month",
    ],
    "outcome": [
        "churn within 90 days after the outreach eligibility date",
        "whether the account churned in the 90 days after eligibility (churn)",
        "90-day churn (churn = 1 if the account left)",
    ],
    "time_window": [
        "accounts eligible during the prior quarter; outcome measured over the following 90 days",
        "eligibility in Q3 2025, churn tracked for 90 days afterwards",
        "the intervention month, then a 90-day follow-up window for churn",
    ],
    "required_assumptions": [
        ["all common causes of outreach assignment and churn are observed and adjusted for",
         "each account has a positive probability of receiving and not receiving outreach conditional on covariates"],
        ["no unmeasured confounding given the pre-treatment account characteristics",
         "overlap: comparable accounts exist in both the contacted and the not-contacted group",
         "consistency: outreach means the same playbook for every account"],
        ["conditional exchangeability given tenure, usage, tickets, health, size, region and segment",
         "positivity for every covariate profile",
         "no interference between accounts"],
    ],
    "likely_threats": [
        ["customer-success managers targeted accounts using unobserved knowledge",
         "enterprise accounts may have different overlap than small accounts"],
        ["selection of at-risk accounts by managers on signals the data does not hold",
         "usage measured after outreach is a tempting but wrong control"],
        ["unrecorded account health signals drive both contact and churn",
         "few small accounts were contacted, so overlap is thin there"],
    ],
    "variables_to_audit": [
        ["account health score", "prior support tickets", "usage before outreach"],
        ["health_score", "prior_tickets", "company_size", "region"],
        ["tenure", "segment", "post-outreach engagement variables"],
    ],
}
ESTIMAND_POPULATION = [
    ("average treatment effect on churn risk for the eligible-account population",
     "eligible active SaaS accounts that could have received proactive outreach"),
    ("ATE: the difference in 90-day churn if every eligible account were contacted versus if none were",
     "all accounts eligible for outreach last quarter"),
    ("average treatment effect on the treated (ATT): the churn change among accounts that actually received outreach",
     "accounts that received proactive outreach last quarter"),
    ("ATT of outreach on churn for the contacted accounts",
     "the accounts customer success contacted during the intervention month"),
]


def good_card(rng: random.Random) -> Card:
    card: Card = {key: rng.choice(options) for key, options in GOOD_FIELDS.items()}
    card["estimand"], card["target_population"] = rng.choice(ESTIMAND_POPULATION)
    return card


def good_cards(count: int, seed: int = 9) -> list[Card]:
    rng = random.Random(seed)
    seen: dict[str, Card] = {}
    while len(seen) < count:
        card = good_card(rng)
        seen.setdefault(repr(sorted(card.items())), card)
    return list(seen.values())


# ---- failure classes --------------------------------------------------------------------------------
ATT_EVERYONE = [
    ("ATT of outreach on churn across every account", "every active account in the customer base"),
    ("average treatment effect on the treated, averaged over all eligible accounts", "all eligible accounts, contacted or not"),
    ("ATT: churn effect for the whole customer base", "the entire customer base"),
]
POST_TREATMENT_COVARIATES = [
    "we adjust for usage_score and prior_tickets measured in the 30 days following the outreach",
    "control for product usage in the 30 days following",
    "covariates: health score recorded in the month after contact",
    "adjust for support tickets logged during the weeks following outreach",
]
CLAIM_IN_QUESTION = [
    "Since outreach reduced churn by 3 points, should we expand it to every account?",
    "How much further can outreach, which already cut churn by 4 pp, lower it?",
    "Given that churn fell from 22 % to 18 % after outreach, is it worth scaling?",
]
FELL_FROM_TO = [
    "Churn fell from 22 % to 18 % among contacted accounts.",
    "Contacted accounts' churn dropped from 0.22 to 0.18.",
    "Churn went from 22% down to 18% once outreach started.",
    "Retention rose from 78 % to 82 % after the calls.",
]
CONTROL_REWORDED = [
    "accounts that got proactive outreach from customer success",
    "proactive customer-success contact during the intervention month",
    "the contacted accounts (outreach = 1)",
]
WINDOW_BEFORE = [
    ("outreach eligibility last quarter; churn measured over the 90 days before outreach", None),
    (None, "churn in the 90 days before the outreach eligibility date"),
    ("churn counted in the quarter preceding the intervention month", None),
]
PRE_TREATMENT_OUTCOMES = [
    "health_score", "account health score after the outreach month", "usage_score over the next quarter",
    "prior_tickets", "tenure_months at renewal",
]
ABSENT = ["churn", "outreach", "string", "<estimand>", "N/A", "churn churn churn", "TODO"]


def _with(card: Card, **changes: object) -> Card:
    return {**card, **changes}


def att_for_everyone(card: Card, rng: random.Random) -> Card:
    estimand, population = rng.choice(ATT_EVERYONE)
    return _with(card, estimand=estimand, target_population=population)


def post_treatment_covariates(card: Card, rng: random.Random) -> Card:
    extra = rng.choice(POST_TREATMENT_COVARIATES)
    key = rng.choice(["required_assumptions", "likely_threats"])
    return _with(card, **{key: [*card[key], extra]})  # type: ignore[list-item]


def claim_inside_question(card: Card, rng: random.Random) -> Card:
    return _with(card, **{rng.choice(["business_question", "causal_question"]): rng.choice(CLAIM_IN_QUESTION)})


def fell_from_to(card: Card, rng: random.Random) -> Card:
    key = rng.choice(["business_question", "likely_threats", "time_window"])
    claim = rng.choice(FELL_FROM_TO)
    value = [*card[key], claim] if isinstance(card[key], list) else f"{card[key]} {claim}"  # type: ignore[misc]
    return _with(card, **{key: value})


def control_is_treatment(card: Card, rng: random.Random) -> Card:
    return _with(card, control_condition=rng.choice(CONTROL_REWORDED))


def outcome_window_before(card: Card, rng: random.Random) -> Card:
    window, outcome = rng.choice(WINDOW_BEFORE)
    return _with(card, **({"time_window": window} if window else {"outcome": outcome}))


def pre_treatment_outcome(card: Card, rng: random.Random) -> Card:
    return _with(card, outcome=rng.choice(PRE_TREATMENT_OUTCOMES))


def absent_fields(card: Card, rng: random.Random) -> Card:
    token = rng.choice(ABSENT)
    keys = rng.sample(["estimand", "control_condition", "target_population", "time_window",
                       "required_assumptions", "likely_threats"], k=rng.randint(1, 3))
    return _with(card, **{key: [token] if isinstance(card[key], list) else token for key in keys})


MUTATIONS: dict[str, Callable[[Card, random.Random], Card]] = {
    "ATT with an every-account population": att_for_everyone,
    "covariates measured after the treatment": post_treatment_covariates,
    "effect claim inside a question": claim_inside_question,
    "effect claim 'fell from X to Y'": fell_from_to,
    "control condition is the treatment reworded": control_is_treatment,
    "outcome window before the treatment": outcome_window_before,
    "pre-treatment column as the outcome": pre_treatment_outcome,
    "absent content (column name/placeholder/repeated)": absent_fields,
}


def mutants(goods: list[Card], per_good: int = 1, seed: int = 19) -> dict[str, list[Card]]:
    rng = random.Random(seed)
    return {name: [mutate(g, rng) for g in goods for _ in range(per_good)] for name, mutate in MUTATIONS.items()}
