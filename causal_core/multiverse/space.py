"""The space of choices, built from the project (DAG, dictionary, card, earlier estimation), never typed in.

Why from the project: a specification curve is only as honest as its choices. Adjustment sets come from
the DAG (every minimal valid set, capped; the recommended set), the analyst's own set and the dictionary's
eligible pre-treatment columns. Sets the DAG or the dictionary call invalid are labelled and enter only
when the analyst asks to see the damage a bad control does.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from causal_core.estimation.analysis_spec import FUNCTIONAL_FORMS, analysis_spec, main_form
from causal_core.multiverse import adapter
from causal_core.project import EstimationSpec, MultiverseOptions, Project

MAX_SPECIFICATIONS = 5_000
ESTIMATORS = ("regression", "gcomp", "ipw", "aipw", "aipw_cf")
TRIMMING = ("none", "bounds", "crump")
GRAIN_RULES = ("none", "keep_first", "average")
NO_CLUSTER = "none"
DIMENSION_ORDER = (
    "grain",
    "treatment",
    "outcome",
    "adjustment set",
    "functional form",
    "cluster",
    "trimming",
    "estimand",
    "estimator",
)


class MultiverseError(adapter.EstimationError):
    """A specification curve that cannot be run as asked; the message says how to change the request."""


@dataclass(frozen=True)
class AdjustmentSet:
    """One candidate set: where it came from, its columns, and what the DAG/dictionary says about it."""

    label: str
    columns: tuple[str, ...]
    validity: str  # valid | invalid | unchecked
    reason: str
    sources: tuple[str, ...] = ()


@dataclass
class ChoiceSpace:
    """Every dimension's options plus what the curve must say about how they were chosen."""

    grain: list[str]
    treatments: list[str]
    outcomes: list[str]
    sets: list[AdjustmentSet]
    clusters: list[str]
    trimming: list[str]
    estimands: list[str]
    estimators: list[str]
    main: dict[str, str]
    clip: tuple[float, float]
    notes: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=lambda: ["linear"])
    base: EstimationSpec | None = None  # the project's analysis spec (analysis_spec): every row varies it

    def dimensions(self) -> dict[str, list[str]]:
        return {
            "grain": list(self.grain),
            "treatment": list(self.treatments),
            "outcome": list(self.outcomes),
            "adjustment set": [s.label for s in self.sets],
            "functional form": list(self.forms),
            "cluster": list(self.clusters),
            "trimming": list(self.trimming),
            "estimand": list(self.estimands),
            "estimator": list(self.estimators),
        }

    def count(self) -> int:
        return math.prod(len(options) for options in self.dimensions().values())

    def set_by_label(self, label: str) -> AdjustmentSet:
        return next(s for s in self.sets if s.label == label)


# ---- adjustment sets ------------------------------------------------------------------------
def _dag_validity(project: Project, columns: tuple[str, ...]) -> tuple[str, str]:
    """valid/invalid by the DAG (backdoor), or unchecked when there is no usable DAG or a column has no node."""
    verdict = adapter.check_set(project, list(columns))
    if verdict is None:
        return "unchecked", "no DAG with a treatment and an outcome: validity not checked"
    return verdict


def _dictionary_problems(project: Project, columns: tuple[str, ...]) -> list[str]:
    return [f"{column}: {why}" for column in columns if (why := adapter.ineligible_reason(project, column))]


def _labelled(project: Project, label: str, columns: tuple[str, ...], source: str) -> AdjustmentSet:
    """A set labelled by the DAG and the dictionary. A DAG descendant the (complete) adjustment criterion
    accepts stays valid; a column the dictionary itself times after the treatment never does."""
    validity, reason = _dag_validity(project, columns)
    problems = _dictionary_problems(project, columns)
    if validity == "valid":
        problems = [p for p in problems if "post-treatment by the DAG" not in p]
    if problems:
        validity = "invalid"
        reason = "ineligible by the dictionary: " + "; ".join(problems) + (f" (DAG: {reason})" if reason else "")
    return AdjustmentSet(label=label, columns=columns, validity=validity, reason=reason, sources=(source,))


def _merge_duplicates(sets: list[AdjustmentSet]) -> list[AdjustmentSet]:
    """Two sources proposing the same columns become one set whose label names both (no duplicate fits)."""
    merged: dict[frozenset[str], AdjustmentSet] = {}
    for item in sets:
        key = frozenset(item.columns)
        if key in merged:
            first = merged[key]
            redundant = item.label in first.label or (first.label == "DAG recommended" and "minimal" in item.label)
            label = first.label if redundant else f"{first.label} = {item.label}"
            merged[key] = AdjustmentSet(
                label, first.columns, first.validity, first.reason, first.sources + item.sources
            )
        else:
            merged[key] = item
    return list(merged.values())


def dag_sets(project: Project, frame: pd.DataFrame, cap: int) -> tuple[list[AdjustmentSet], list[str]]:
    """The DAG's minimal sets (fewest variables first, at most ``cap``) and its recommended set."""
    found = adapter.dag_minimal_sets(project, list(frame.columns))
    if found is None:
        return [], [
            "No DAG with a treatment and an outcome: the adjustment sets come from the dictionary and the analyst."
        ]
    minimal, recommended, note, criterion = found
    notes = [note] if note else []
    if minimal is None:
        return [], notes
    backdoor = {frozenset(columns) for columns in minimal}
    extra = [columns for columns in criterion if frozenset(columns) not in backdoor]
    if len(minimal) > cap:
        notes.append(
            f"The DAG gives {len(minimal)} minimal adjustment sets; the curve uses the first {cap} "
            "(fewest variables first; cap = max_dag_sets)."
        )
    sets = [
        AdjustmentSet(f"minimal #{i + 1}", tuple(columns), "valid", "a minimal valid set by the DAG", ("dag",))
        for i, columns in enumerate(minimal[:cap])
    ]
    sets += [
        AdjustmentSet(
            f"criterion #{i + 1}",
            tuple(columns),
            "valid",
            "a minimal set under the adjustment criterion that the backdoor criterion does not list",
            ("dag",),
        )
        for i, columns in enumerate(extra[:cap])
    ]
    if recommended is not None:
        sets.insert(
            0, AdjustmentSet("DAG recommended", tuple(recommended), "valid", "the DAG's recommended set", ("dag",))
        )
    return sets, notes


def eligible_columns(project: Project, frame: pd.DataFrame) -> tuple[str, ...]:
    """All eligible pre-treatment columns from the dictionary (the estimation page's fallback default)."""
    return tuple(column for column in frame.columns if adapter.default_candidate(project, frame, column))


def analyst_set(project: Project, frame: pd.DataFrame) -> tuple[str, ...] | None:
    """The analyst's own set: the last estimation's covariates, else the DAG's `adjusted` nodes, else the default."""
    if project.estimation is not None:
        return tuple(project.estimation.spec.covariates)
    adjusted = adapter.dag_adjusted_columns(project)
    if adjusted:
        return tuple(adjusted)
    return tuple(adapter.default_covariates(project, frame))


def damage_sets(project: Project, frame: pd.DataFrame, base: tuple[str, ...]) -> tuple[list[AdjustmentSet], list[str]]:
    """Sets that show the damage of a bad choice: the base set minus one column, plus one bad control."""
    sets: list[AdjustmentSet] = []
    notes: list[str] = []
    has_dag = adapter.check_set(project, list(base)) is not None
    if has_dag:
        for column in base:
            kept = tuple(c for c in base if c != column)
            sets.append(_labelled(project, f"drop {column}", kept, "damage"))
    elif base:
        notes.append("Without a DAG no omitted confounder can be called invalid, so no 'drop one' sets are shown.")
    for column in adapter.bad_control_columns(project, frame):
        if column not in base:
            sets.append(_labelled(project, f"add {column}", (*base, column), "damage"))
    return sets, notes


def adjustment_sets(
    project: Project, frame: pd.DataFrame, options: MultiverseOptions
) -> tuple[list[AdjustmentSet], list[str]]:
    """Every candidate set, labelled, de-duplicated; invalid ones only when the analyst asked for them."""
    sets, notes = dag_sets(project, frame, options.max_dag_sets)
    own = analyst_set(project, frame)
    if own is not None:
        sets.append(_labelled(project, "analyst's", own, "analyst"))
    eligible = eligible_columns(project, frame)
    if eligible:
        sets.append(_labelled(project, "all eligible", eligible, "dictionary"))
    else:
        notes.append("The dictionary marks no usable column as pre-treatment, so there is no 'all eligible' set.")
    for index, columns in enumerate(options.extra_sets):
        unknown = [c for c in columns if c not in frame.columns]
        if unknown:
            raise MultiverseError(f"Extra adjustment set #{index + 1} names unknown column(s): {', '.join(unknown)}.")
        sets.append(_labelled(project, f"extra #{index + 1}", tuple(columns), "extra"))
    if options.include_invalid:
        base = sets[0].columns if sets else (own or ())
        extra, damage_notes = damage_sets(project, frame, base)
        sets += extra
        notes += damage_notes
    sets = _merge_duplicates(sets)
    invalid = [s for s in sets if s.validity == "invalid"]
    if not options.include_invalid:
        if invalid:
            names = ", ".join(s.label for s in invalid[:6]) + (" …" if len(invalid) > 6 else "")
            notes.append(
                f"{len(invalid)} candidate set(s) are invalid and left out ({names}); "
                "ask for invalid specifications to see the damage."
            )
        sets = [s for s in sets if s.validity != "invalid"]
        if not sets:
            reason = next((n for n in notes if "identif" in n.lower()), "no candidate set is valid")
            raise MultiverseError(
                f"No valid adjustment set: {reason} The curve shows only what you explicitly ask for: tick "
                "'include invalid specifications' (CLI --include-invalid) to see each set's estimate, labelled invalid."
            )
    elif not any(s.validity != "invalid" for s in sets):
        notes.append("No valid adjustment set: every specification shown is invalid by the DAG or the dictionary.")
    return sets, notes


# ---- the other dimensions -------------------------------------------------------------------
def dictionary_alternatives(project: Project, kind: str) -> list[str]:
    """Columns whose dictionary role marks them as an alternative outcome/treatment definition."""
    pattern = re.compile(rf"alternative {kind}|{kind} \(alternative|alternative definition of the {kind}", re.I)
    return [entry.variable for entry in project.dictionary if pattern.search(entry.role or "")]


def _alternatives(main: str, listed: list[str], project: Project, kind: str, frame: pd.DataFrame) -> list[str]:
    wanted = list(dict.fromkeys([main, *dictionary_alternatives(project, kind), *listed]))
    unknown = [c for c in wanted if c not in frame.columns]
    if unknown:
        raise MultiverseError(f"Alternative {kind}(s) not in the data: {', '.join(unknown)}.")
    return wanted


def _estimands(base: EstimationSpec, options: MultiverseOptions) -> list[str]:
    """The analysis' estimand (the Estimation page's, which starts from the approved card), then ATE and ATT."""
    main = base.estimand
    return list(dict.fromkeys([main, "ATE", "ATT"])) if options.both_estimands else [main]


def _estimators(options: MultiverseOptions) -> list[str]:
    unknown = [e for e in options.estimators if e not in ESTIMATORS]
    if unknown:
        raise MultiverseError(f"Unknown estimator(s) {', '.join(unknown)}: choose from {', '.join(ESTIMATORS)}.")
    if not options.estimators:
        raise MultiverseError("Choose at least one estimator.")
    learners = adapter.available_learners()
    bad = [name for name in options.learners if name not in learners]
    if bad:
        raise MultiverseError(f"Unknown learner(s) {', '.join(bad)}: available are {', '.join(learners)}.")
    if options.crossfit_folds < 2:
        raise MultiverseError(f"Cross-fitting needs at least 2 folds (got {options.crossfit_folds}).")
    names: list[str] = []
    for estimator in options.estimators:
        if estimator == "aipw_cf":
            names += [f"aipw_cf:{learner}" for learner in (options.learners or ["exact"])]
        else:
            names.append(estimator)
    return names


def _trimming(options: MultiverseOptions) -> list[str]:
    unknown = [t for t in options.trimming if t not in TRIMMING]
    if unknown or not options.trimming:
        raise MultiverseError(f"Trimming must be some of {', '.join(TRIMMING)} (got {options.trimming or 'none'}).")
    return list(dict.fromkeys(options.trimming))


def _grain(project: Project, raw: pd.DataFrame, options: MultiverseOptions) -> tuple[list[str], list[str]]:
    """The de-duplication rule is a dimension only when rows really share the unit grain."""
    columns = [c for c in project.unit_columns if c in raw.columns]
    duplicates = (
        int(raw.duplicated(subset=columns).sum()) if columns and len(columns) == len(project.unit_columns) else 0
    )
    if options.grain and duplicates:
        return list(dict.fromkeys([project.dedup, *GRAIN_RULES])), [
            f"{duplicates:,} rows repeat the unit grain ({', '.join(columns)}): the de-duplication rule is a dimension."
        ]
    return [project.dedup], []


def _clusters(project: Project, raw: pd.DataFrame, options: MultiverseOptions) -> list[str]:
    cluster = project.cluster_column if project.cluster_column in raw.columns else None
    main = _main_cluster(project, cluster)
    if options.cluster and cluster:
        return list(dict.fromkeys([main, NO_CLUSTER, cluster]))
    return [main]


def _cluster_notes(project: Project, raw: pd.DataFrame, options: MultiverseOptions) -> list[str]:
    """Why 'cluster: none' rows are invalid by design when the analysis clusters its standard errors."""
    clusters = _clusters(project, raw, options)
    if NO_CLUSTER not in clusters or clusters[0] == NO_CLUSTER:
        return []
    return [
        f"The analysis clusters its standard errors by {clusters[0]}: independent-row intervals ('cluster: none') "
        "understate the uncertainty, so those rows are shown as invalid by design, not as defensible choices."
    ]


def no_cluster_reason(space: ChoiceSpace) -> str:
    """The validity reason of a 'cluster: none' row when the main specification clusters ('' otherwise)."""
    main = space.main.get("cluster", NO_CLUSTER)
    if main == NO_CLUSTER:
        return ""
    return f"invalid by design: the rows are clustered by {main}, so independent-row standard errors are too small"


def _forms(base: EstimationSpec, options: MultiverseOptions) -> list[str]:
    """The analyst's functional form first, then the page's linear / quadratic / spline when asked for."""
    main = main_form(base)
    if not options.functional_forms:
        return [main]
    return list(dict.fromkeys([main, *FUNCTIONAL_FORMS]))


def _main_cluster(project: Project, cluster: str | None) -> str:
    if project.estimation is not None:
        return project.estimation.spec.cluster or NO_CLUSTER
    return cluster or NO_CLUSTER


def _main_choices(project: Project, space: ChoiceSpace, own: tuple[str, ...] | None) -> dict[str, str]:
    """The analyst's main specification: their set, their trimming, the card's estimand, the memo's lead estimator."""
    spec = project.estimation.spec if project.estimation else None
    set_label = next((s.label for s in space.sets if own is not None and frozenset(s.columns) == frozenset(own)), None)
    trim = (spec.trim or "none") if spec else "none"
    lead = next((e for e in (_analyst_aipw(spec), "aipw", "regression", "gcomp", "ipw") if e in space.estimators), None)
    return {
        "grain": project.dedup,
        "treatment": space.treatments[0],
        "outcome": space.outcomes[0],
        "adjustment set": set_label or space.sets[0].label,
        "functional form": space.forms[0],
        "cluster": space.clusters[0],
        "trimming": trim if trim in space.trimming else space.trimming[0],
        "estimand": spec.estimand if spec and spec.estimand in space.estimands else space.estimands[0],
        "estimator": lead or space.estimators[0],
    }


def _analyst_aipw(spec: Any) -> str:
    """The AIPW variant the analyst ran on the Estimation page (cross-fitted, with which learners), so the
    curve's main specification is the row the memo leads with."""
    if spec is None:
        return "aipw"
    pair = (spec.ps_learner, spec.outcome_learner)
    learner = next((name for name, (ps, outcome, _) in adapter.LEARNERS.items() if (ps, outcome) == pair), None)
    if learner not in (None, "exact"):
        return f"aipw_cf:{learner}"
    return "aipw_cf:exact" if spec.crossfit_folds >= 2 else "aipw"


def build_space(project: Project, raw: pd.DataFrame, options: MultiverseOptions | None = None) -> ChoiceSpace:
    """The specification curve's space for this project and its (raw, not yet de-duplicated) rows.

    Raises MultiverseError for a request that cannot be run: unknown names, no valid set (unless invalid
    sets were asked for), or more than MAX_SPECIFICATIONS specifications (with the count and how to narrow it).
    """
    options = options or MultiverseOptions()
    treatment = project.treatment or (project.dag.treatment if project.dag else None)
    outcome = project.outcome or (project.dag.outcome if project.dag else None)
    if not treatment or not outcome:
        raise MultiverseError("Set the treatment and the outcome (Question or Overview page) before the curve.")
    frame = adapter.analysis_frame(project, raw)
    base = analysis_spec(project, frame)
    grain, grain_notes = _grain(project, raw, options)
    sets, set_notes = adjustment_sets(project, frame, options)
    space = ChoiceSpace(
        grain=grain,
        treatments=_alternatives(treatment, options.alt_treatments, project, "treatment", frame),
        outcomes=_alternatives(outcome, options.alt_outcomes, project, "outcome", frame),
        sets=sets,
        clusters=_clusters(project, raw, options),
        trimming=_trimming(options),
        estimands=_estimands(base, options),
        estimators=_estimators(options),
        main={},
        clip=tuple(project.estimation.spec.clip) if project.estimation else (0.02, 0.98),
        notes=grain_notes + set_notes + _cluster_notes(project, raw, options),
        forms=_forms(base, options),
        base=base,
    )
    own = analyst_set(project, frame)
    space.main = _main_choices(project, space, own)
    if own is not None and not any(frozenset(s.columns) == frozenset(own) for s in space.sets):
        space.notes.append(
            "The analyst's set is invalid and left out, so the main specification here uses "
            f"'{space.main['adjustment set']}' instead (ask for invalid specifications to see the analyst's)."
        )
    check_size(space)
    return space


PLURALS = {
    "grain": "grain rules",
    "treatment": "treatments",
    "outcome": "outcomes",
    "adjustment set": "adjustment sets",
    "functional form": "functional forms",
    "cluster": "cluster choices",
    "trimming": "trimming rules",
    "estimand": "estimands",
    "estimator": "estimators",
}


def size_text(space: ChoiceSpace) -> str:
    """'8 adjustment sets × 5 estimators × 3 trimming rules': the varying dimensions, largest first."""
    sizes = {name: len(options) for name, options in space.dimensions().items() if len(options) > 1}
    ordered = sorted(sizes.items(), key=lambda item: -item[1])
    return " × ".join(f"{n} {PLURALS[name]}" for name, n in ordered) or "one choice in every dimension"


def check_size(space: ChoiceSpace) -> None:
    """Refuse a space over MAX_SPECIFICATIONS before anything is fitted, naming the count and the biggest levers."""
    count = space.count()
    if count <= MAX_SPECIFICATIONS:
        return
    raise MultiverseError(
        f"{count:,} specifications requested ({size_text(space)}); the limit is {MAX_SPECIFICATIONS:,}. Narrow it: fewer "
        "adjustment sets (lower max_dag_sets, fewer extra sets, no invalid sets), fewer estimators or learners, "
        "one trimming rule, one estimand, or fewer alternative outcomes/treatments."
    )


def specifications(space: ChoiceSpace) -> list[dict[str, str]]:
    """Every combination of the options, in a fixed order (the runner groups them to share fits)."""
    dims = space.dimensions()
    names = list(DIMENSION_ORDER)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(dims[name] for name in names))]
