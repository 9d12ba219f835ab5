"""A generated corpus of DAG drafts on ``retention``: paraphrased good drafts and, per failure class, mutants.

A good draft is N01 §8's graph written differently each time: node names as columns or as the dictionary's
labels, edges shuffled, rationales varied, with or without the post-outreach engagement mediator, extra
arrows among the confounders, and sometimes an explicitly latent cause (``{"name": ..., "latent": true}``).
Each failure class turns a good draft into a bad one: wire the confounders only among themselves, draw a
confounder as a mediator, reverse or disconnect edges, point the outcome or a future column back, use the
dictionary's descriptions instead of names, close a cycle, drop the treatment → outcome path.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Draft = dict[str, list[dict]]

TREATMENT, OUTCOME = "outreach", "churn"
# The six columns that predict outreach in retention's data (region does not: tests/test_dag_draft.py).
PREDICTORS = ["company_size", "tenure_months", "usage_score", "prior_tickets", "health_score", "segment"]
CONFOUNDERS = [*PREDICTORS, "region"]
LABELS = {
    "company_size": ["company_size", "Company size"], "tenure_months": ["tenure_months", "Tenure months"],
    "usage_score": ["usage_score", "Usage score"], "prior_tickets": ["prior_tickets", "Prior tickets"],
    "health_score": ["health_score", "Health score"], "region": ["region", "Region"],
    "segment": ["segment", "Segment"], TREATMENT: ["outreach", "Outreach"], OUTCOME: ["churn", "Churn"],
}
DESCRIPTIONS = {
    "company_size": "Company size (employees) before outreach",
    "tenure_months": "Months as a customer before outreach",
    "usage_score": "Standardised product usage before outreach",
    "prior_tickets": "Support tickets before outreach",
    "health_score": "Account health score before outreach",
    "segment": "Size segment (small, mid-market, enterprise)",
}
RATIONALES = [
    "managers pick accounts on this", "drives both contact and leaving", "seen before the outreach decision",
    "common cause", "shapes renewal odds", "measured pre-treatment; affects both",
]
EXTRA_CONFOUNDER_EDGES = [("usage_score", "health_score"), ("prior_tickets", "health_score"),
                          ("company_size", "segment"), ("tenure_months", "usage_score")]
FUTURE = ["p_churn_with", "propensity_true", "p_churn_without"]


def _edge(source, target, rng: random.Random, names: dict[str, str]) -> dict:
    return {"source": names.get(source, source) if isinstance(source, str) else source,
            "target": names.get(target, target) if isinstance(target, str) else target,
            "rationale": rng.choice(RATIONALES)}


def good_draft(rng: random.Random) -> Draft:
    """One paraphrase of the analyst's graph (every variant implies the same adjustment set)."""
    names = {column: rng.choice(options) for column, options in LABELS.items()}
    pairs: list[tuple] = [(c, target) for c in CONFOUNDERS for target in (TREATMENT, OUTCOME)]
    if rng.random() < 0.5:
        pairs += [(TREATMENT, "post_outreach_engagement"), ("post_outreach_engagement", OUTCOME)]
    pairs.append((TREATMENT, OUTCOME))
    pairs += rng.sample(EXTRA_CONFOUNDER_EDGES, k=rng.randint(0, 2))
    latent = {"name": rng.choice(["team_morale", "market_shift", "champion_left"]), "latent": True}
    if rng.random() < 0.3:  # an unobserved cause of a confounder and the outcome: still identifiable
        pairs += [(latent, "health_score"), (latent, OUTCOME)]
    rng.shuffle(pairs)
    return {"edges": [_edge(s, t, rng, names) for s, t in pairs]}


def good_drafts(count: int, seed: int = 5) -> list[Draft]:
    rng = random.Random(seed)
    return [good_draft(rng) for _ in range(count)]


# ---- failure classes --------------------------------------------------------------------------------
def _canon(name) -> str:
    if isinstance(name, dict):
        return name["name"]
    for column, options in LABELS.items():
        if name in options:
            return column
    return name


def _pairs(draft: Draft) -> list[tuple]:
    return [(e["source"], e["target"]) for e in draft["edges"]]


def _rebuild(pairs: list[tuple], rng: random.Random) -> Draft:
    return {"edges": [{"source": s, "target": t, "rationale": rng.choice(RATIONALES)} for s, t in pairs]}


def wired_among_themselves(draft: Draft, rng: random.Random) -> Draft:
    """Every confounder present, chained among themselves; none points into the treatment or the outcome."""
    chain = rng.sample(CONFOUNDERS, k=len(CONFOUNDERS))
    pairs = [p for p in _pairs(draft) if _canon(p[0]) not in CONFOUNDERS]
    pairs = [p for p in pairs if not (_canon(p[1]) in CONFOUNDERS and isinstance(p[0], dict))]
    return _rebuild(pairs + list(zip(chain, chain[1:], strict=False)), rng)


def confounder_as_mediator(draft: Draft, rng: random.Random) -> Draft:
    """A predictor of the treatment drawn downstream of it: treatment → c → outcome."""
    victim = rng.choice(PREDICTORS)
    pairs = [p for p in _pairs(draft) if not (_canon(p[0]) == victim and _canon(p[1]) == TREATMENT)]
    return _rebuild([*pairs, (TREATMENT, victim)], rng)


def arrow_into_treatment_reversed(draft: Draft, rng: random.Random) -> Draft:
    """One or more confounder → treatment arrows reversed."""
    victims = set(rng.sample(PREDICTORS, k=rng.randint(1, 3)))
    return _rebuild([(t, s) if _canon(s) in victims and _canon(t) == TREATMENT else (s, t) for s, t in _pairs(draft)], rng)


def predictor_disconnected(draft: Draft, rng: random.Random) -> Draft:
    """Predictors of the treatment kept in the graph, but their arrows into the treatment dropped."""
    victims = set(rng.sample(PREDICTORS, k=rng.randint(1, 4)))
    pairs = [p for p in _pairs(draft) if not (_canon(p[0]) in victims and _canon(p[1]) == TREATMENT)]
    pairs = [p for p in pairs if not (_canon(p[0]) in victims and _canon(p[1]) in CONFOUNDERS)]  # no detour
    return _rebuild(pairs, rng)


def outcome_into_pre_treatment(draft: Draft, rng: random.Random) -> Draft:
    victim = rng.choice(CONFOUNDERS)
    return _rebuild([(t, s) if _canon(s) == victim and _canon(t) == OUTCOME else (s, t) for s, t in _pairs(draft)], rng)


def future_into_treatment(draft: Draft, rng: random.Random) -> Draft:
    return _rebuild([*_pairs(draft), (rng.choice(FUTURE), TREATMENT)], rng)


def names_as_descriptions(draft: Draft, rng: random.Random) -> Draft:
    """Variables named by their dictionary descriptions instead of their column names."""
    victims = set(rng.sample(sorted(DESCRIPTIONS), k=rng.randint(1, 3)))
    rename = lambda n: DESCRIPTIONS[_canon(n)] if _canon(n) in victims else n  # noqa: E731
    return _rebuild([(rename(s), rename(t)) for s, t in _pairs(draft)], rng)


def cycle_closed(draft: Draft, rng: random.Random) -> Draft:
    a, b = rng.sample(CONFOUNDERS, k=2)
    return _rebuild([*_pairs(draft), (a, b), (b, a)], rng)


def treatment_path_dropped(draft: Draft, rng: random.Random) -> Draft:
    return _rebuild([p for p in _pairs(draft) if _canon(p[0]) != TREATMENT], rng)


def unmarked_invented_node(draft: Draft, rng: random.Random) -> Draft:
    """An unobserved cause not marked latent (a made-up name posing as a column)."""
    name = rng.choice(["customer mood", "account_sentiment_index", "csm_gut_feeling"])
    return _rebuild([*_pairs(draft), (name, TREATMENT), (name, OUTCOME)], rng)


MUTATIONS: dict[str, Callable[[Draft, random.Random], Draft]] = {
    "confounders wired only among themselves": wired_among_themselves,
    "confounder drawn as a mediator": confounder_as_mediator,
    "arrow into the treatment reversed": arrow_into_treatment_reversed,
    "predictor without a path into the treatment": predictor_disconnected,
    "outcome → pre-treatment arrow": outcome_into_pre_treatment,
    "future column → treatment": future_into_treatment,
    "names replaced by dictionary descriptions": names_as_descriptions,
    "cycle closed": cycle_closed,
    "treatment → outcome path dropped": treatment_path_dropped,
    "unobserved node not marked latent": unmarked_invented_node,
}


def mutants(goods: list[Draft], per_good: int = 1, seed: int = 13) -> dict[str, list[Draft]]:
    rng = random.Random(seed)
    return {name: [mutate(g, rng) for g in goods for _ in range(per_good)] for name, mutate in MUTATIONS.items()}
