"""A generated corpus of memos: paraphrased good memos and, per failure class, mutants of each good memo.

Good memos are assembled from independent sentence variants per section (different number formats,
word orders and hedges, none copied from the rubric's examples), so a seeded random draw gives many
distinct good memos. Each failure class is a function that turns one good memo into one bad memo; the
detection rate of a class is the share of its mutants the rubric marks below full score.

The figures are the retention fixture's (``tests.test_memo_support.retention_project``): ATE, doubly
robust -4.70 pp [-6.80, -2.60], naive +7.81 pp [+5.55, +10.07], binary outcome ``churn``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Memo = dict[str, str]

QUESTION = [
    "Did proactive outreach by customer success lower the share of accounts that churned?",
    "Should customer success keep contacting at-risk accounts before renewal?",
    "Does reaching out to accounts early change whether they leave within 90 days?",
]
ESTIMAND = [
    "The average treatment effect (ATE) of outreach on 90-day churn across eligible accounts.",
    "We target the average causal effect of `outreach` on `churn` for all eligible accounts.",
    "Average treatment effect: churn risk if every eligible account were contacted minus if none were.",
]
DESIGN = [
    "Outreach was not assigned at random; we adjusted for seven pre-treatment account characteristics "
    "with regression, inverse weighting and a doubly robust estimator.",
    "This is an observational comparison. Pre-treatment covariates such as tenure, usage and prior tickets "
    "enter the adjustment set, and four estimators are compared.",
]
DIAGNOSTIC = [
    "Before adjustment, contacted accounts churned 7.8 percentage points more often, because managers "
    "picked accounts that were already at risk.",
    "The naive difference (+7.81 pp) has the opposite sign to the adjusted estimates, a sign of strong "
    "selection into outreach.",
]
MAIN_ESTIMATE = [
    "The doubly robust estimate is -4.7 percentage points (95% CI -6.8 to -2.6 percentage points).",
    "Outreach lowered churn by about 4.7 points (95 % interval 2.6 to 6.8 points), by the doubly robust estimator.",
    "Doubly robust ATE: −4.7 pp, 95 % CI [−6.8, −2.6].",
    "Our best estimate is a reduction in churn risk of 4.70 percentage points, with a 95% interval from "
    "2.60 to 6.80 percentage points (doubly robust).",
    "Adjusted for the covariates, the doubly robust estimate of the change in churn is −4.7 pp "
    "(95 % interval −6.8 pp to −2.6 pp).",
]
INTERPRETATION = [
    "Assuming no unmeasured confounding and adequate overlap, outreach appears to reduce churn.",
    "If the adjustment set captures why managers chose accounts, the evidence suggests outreach lowers churn.",
    "Under the assumption that assignment is ignorable given the covariates, contacting an account likely "
    "reduces its churn risk.",
]
LIMITATION = [
    "Managers may have chosen accounts using knowledge that is not in the data, so residual confounding "
    "could bias the estimate.",
    "Unmeasured confounding remains possible: health signals seen only by the success team are not recorded.",
    "The estimate relies on the selection being explained by observed covariates; an unobserved driver of "
    "both outreach and churn would bias it.",
]
RECOMMENDATION = [
    "Run a randomized holdout next quarter before expanding outreach to every account.",
    "Hold out a random slice of accounts from outreach next cycle to confirm the effect before scaling.",
    "Validate with a phased rollout in which regions start outreach at random times.",
    "Keep the program, and randomize which eligible accounts are contacted next quarter to check the effect.",
]
GOOD_PARTS = {
    "question": QUESTION,
    "estimand": ESTIMAND,
    "design": DESIGN,
    "key_diagnostic": DIAGNOSTIC,
    "main_estimate": MAIN_ESTIMATE,
    "interpretation": INTERPRETATION,
    "main_limitation": LIMITATION,
    "recommendation": RECOMMENDATION,
}


def good_memo(rng: random.Random) -> Memo:
    """One good retention memo drawn from the paraphrase variants."""
    return {key: rng.choice(options) for key, options in GOOD_PARTS.items()}


def good_memos(count: int, seed: int = 7) -> list[Memo]:
    """``count`` distinct good memos (the variant grid has thousands of combinations)."""
    rng = random.Random(seed)
    seen: dict[tuple[str, ...], Memo] = {}
    while len(seen) < count:
        memo = good_memo(rng)
        seen.setdefault(tuple(memo.values()), memo)
    return list(seen.values())


# ---- failure classes: each turns a good memo into a bad one -------------------------------------------

NAIVE_QUOTES = [
    "Our best estimate of the average treatment effect is +7.8 percentage points (95% CI 5.6 to 10.1 percentage points).",
    "The effect of outreach on churn is 7.81 pp (95 % interval 5.55 to 10.07 pp).",
    "Outreach changed churn by +7.8 pp, 95 % CI [5.6, 10.1].",
]
NO_INTERVAL = [
    "The doubly robust estimate is -4.7 percentage points.",
    "Outreach lowered churn by about 4.7 points according to the doubly robust estimator.",
    "Doubly robust ATE: −4.7 pp.",
]
POINT_OUTSIDE = [
    "The doubly robust estimate is -4.7 percentage points (95% CI -2.6 to 1.2 percentage points).",
    "The doubly robust estimate is -7.9 percentage points (95% CI -6.8 to -2.6 percentage points).",
    "Doubly robust ATE: −1.3 pp, 95 % CI [−6.8, −2.6].",
]
CERTAINTY = [
    "We can be certain that outreach reduces churn.",
    "This settles the question: outreach works.",
    "The result leaves no room for doubt.",
    "It is clear that outreach lowers churn.",
    "The analysis proves that outreach reduces churn.",
    "There is no doubt that contacting accounts keeps them.",
    "Outreach undeniably cuts churn.",
    "We now know for sure that outreach works.",
]
RELATIVE = [
    " That is a reduction of 4.7 % of its current level.",
    " In relative terms churn falls by 4.7 %.",
    " Churn is 4.7 % lower than it would otherwise be.",
]
DISMISSED_VALIDATION = [
    "We do not recommend an experiment; roll outreach out to all accounts.",
    "There is no need for a holdout: expand outreach now.",
    "Scale outreach to every account; a randomized test is unnecessary.",
    "Rather than a pilot, expand outreach to all regions immediately.",
]
TRANSLATIONS = {
    "fr": {
        "main_estimate": "L'estimation doublement robuste est de -4,7 points de pourcentage (IC à 95 % de -6,8 à -2,6).",
        "interpretation": "Cela prouve sans aucun doute que le contact proactif réduit le churn des comptes.",
        "main_limitation": "Il peut rester une confusion résiduelle si les responsables ont choisi les comptes.",
        "recommendation": "Nous recommandons de déployer le programme sur tous les comptes dès maintenant.",
    },
    "es": {
        "main_estimate": "La estimación doblemente robusta es de -4,7 puntos porcentuales (IC del 95 % de -6,8 a -2,6).",
        "interpretation": "Esto demuestra sin ninguna duda que el contacto proactivo reduce la pérdida de clientes.",
        "main_limitation": "Puede quedar confusión residual si los gestores eligieron las cuentas con otra información.",
        "recommendation": "Recomendamos ampliar el programa a todas las cuentas de inmediato.",
    },
    "de": {
        "main_estimate": "Die doppelt robuste Schätzung beträgt -4,7 Prozentpunkte (95 %-KI von -6,8 bis -2,6).",
        "interpretation": "Das beweist ohne jeden Zweifel, dass die Kontaktaufnahme die Abwanderung senkt.",
        "main_limitation": "Es kann eine verbleibende Verzerrung geben, wenn die Manager die Konten ausgewählt haben.",
        "recommendation": "Wir empfehlen, das Programm sofort auf alle Konten auszuweiten.",
    },
}
SHORT_LIMITATIONS = ["There may be some issues.", "Results could vary somewhat.", "Some caveats apply here.", "None."]
ABSENT = ["", "string", "...", "N/A", "churn churn churn churn churn", "TODO", "<main_limitation>"]
WRONG_DIRECTION = [
    "Assuming no unmeasured confounding, outreach appears to increase churn.",
    "Under these assumptions, contacting accounts likely raises their churn risk.",
]
SIGNIFICANCE_DENIED = [
    "The effect is not statistically significant, so outreach may make no difference.",
    "The interval includes zero, so the result is inconclusive.",
]


def _replace(memo: Memo, key: str, text: str) -> Memo:
    return {**memo, key: text}


def _append(memo: Memo, key: str, text: str) -> Memo:
    return {**memo, key: f"{memo[key].rstrip()} {text}".strip()}


def naive_as_effect(memo: Memo, rng: random.Random) -> Memo:
    return _replace(memo, "main_estimate", rng.choice(NAIVE_QUOTES))


def interval_dropped(memo: Memo, rng: random.Random) -> Memo:
    return _replace(memo, "main_estimate", rng.choice(NO_INTERVAL))


def point_outside_interval(memo: Memo, rng: random.Random) -> Memo:
    return _replace(memo, "main_estimate", rng.choice(POINT_OUTSIDE))


def certainty_inserted(memo: Memo, rng: random.Random) -> Memo:
    return _append(memo, rng.choice(["interpretation", "main_estimate", "key_diagnostic"]), rng.choice(CERTAINTY))


def relative_reading(memo: Memo, rng: random.Random) -> Memo:
    return _append(memo, "main_estimate", rng.choice(RELATIVE).strip())


def validation_dismissed(memo: Memo, rng: random.Random) -> Memo:
    return _replace(memo, "recommendation", rng.choice(DISMISSED_VALIDATION))


def translated(memo: Memo, rng: random.Random) -> Memo:
    language = rng.choice(sorted(TRANSLATIONS))
    keys = rng.sample(sorted(TRANSLATIONS[language]), k=rng.randint(3, 4))
    return {**memo, **{key: TRANSLATIONS[language][key] for key in keys}}


def limitation_too_short(memo: Memo, rng: random.Random) -> Memo:
    return _replace(memo, "main_limitation", rng.choice(SHORT_LIMITATIONS))


def content_absent(memo: Memo, rng: random.Random) -> Memo:
    key = rng.choice(["estimand", "main_estimate", "main_limitation", "recommendation", "interpretation"])
    return _replace(memo, key, rng.choice(ABSENT))


def direction_flipped(memo: Memo, rng: random.Random) -> Memo:
    return _replace(memo, "interpretation", rng.choice(WRONG_DIRECTION))


def significance_denied(memo: Memo, rng: random.Random) -> Memo:
    return _append(memo, "interpretation", rng.choice(SIGNIFICANCE_DENIED))


MUTATIONS: dict[str, Callable[[Memo, random.Random], Memo]] = {
    "naive row quoted as the effect": naive_as_effect,
    "interval dropped": interval_dropped,
    "point outside its interval": point_outside_interval,
    "certainty paraphrase": certainty_inserted,
    "relative reading of a risk difference": relative_reading,
    "validation named only to dismiss it": validation_dismissed,
    "translated key sentences": translated,
    "limitation of a few words": limitation_too_short,
    "absent content (empty/placeholder/repeated)": content_absent,
    "direction flipped": direction_flipped,
    "uncertainty claimed for an interval excluding 0": significance_denied,
}


def mutants(goods: list[Memo], per_good: int = 2, seed: int = 11) -> dict[str, list[Memo]]:
    """For each failure class, ``per_good`` mutants of every good memo (seeded)."""
    rng = random.Random(seed)
    return {name: [mutate(g, rng) for g in goods for _ in range(per_good)] for name, mutate in MUTATIONS.items()}
