"""One analysis specification for every stage: the Estimation page's spec, and principled variations of it.

Why one function: the specification curve used to rebuild its own design (categoricals read from dtypes, the
page's formula terms ignored), so on an upload its "main specification" said +0.341 while the Estimation page
said +0.083, and the memo printed both. Every stage now starts from ``analysis_spec(project, frame)``: the spec
the analyst ran on the Estimation page (or the page's own default before any run), with the dictionary's
categorical flags applied exactly as the page applies them. Other stages *vary* that spec with ``vary_spec``
(another adjustment set, treatment, outcome, cluster or functional form), never rebuilding roles or codings.
"""

from __future__ import annotations

import re

import pandas as pd

from causal_core.errors import WorkbenchInputError
from causal_core.estimation.spec import default_spec, project_categoricals, with_dictionary_categoricals
from causal_core.estimation.terms import FLEXIBILITY, formula_variables, quote
from causal_core.project import EstimationSpec, Project

AS_SPECIFIED = "as specified"
FUNCTIONAL_FORMS = ("linear", "quadratic", "spline")
"""The Estimation page's no-typing flexibility choices (causal_core/estimation/terms.FLEXIBILITY) the curve
spans; 'as specified' is the analyst's own formula terms, when they wrote any."""
MIN_DISTINCT_FOR_FORM = {"quadratic": 3, "spline": 10}
"""A square of a 0/1 column is the column itself and a 4-df spline needs distinct values to place its knots, so
columns with fewer distinct values stay linear (otherwise the form would be refused as singular, not compared)."""


def analysis_spec(project: Project, frame: pd.DataFrame) -> EstimationSpec:
    """The project's analysis: the spec of its stored estimation, else the Estimation page's default.

    ``frame`` is the analysis frame (after the project's de-duplication rule). Raises EstimationError when the
    roles are not set (the same message the Estimation page gives).
    """
    spec = project.estimation.spec if project.estimation is not None else default_spec(project, frame)
    return with_dictionary_categoricals(project, spec)


def main_form(spec: EstimationSpec) -> str:
    """The functional form of the analyst's own spec: their formula terms, or every covariate linearly."""
    return AS_SPECIFIED if (spec.outcome_terms or spec.propensity_terms) else "linear"


def split_terms(formula: str) -> list[str]:
    """A right-hand side split at its top-level '+' (the formula is data: split as text, never evaluated)."""
    pieces, depth, current = [], 0, []
    for char in formula:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "+" and depth == 0:
            pieces.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    pieces.append("".join(current).strip())
    return [piece for piece in pieces if piece]


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NAME = re.compile(r"`([^`]+)`|([A-Za-z_][A-Za-z0-9_.]*)")


def term_columns(piece: str, known: set[str], label: str) -> set[str]:
    """The known columns one term uses. formulaic's ``required_variables`` omits a column used only inside a
    stateful transform such as ``cr(age, df=4)``, so names are also read as tokens (quoted strings skipped)."""
    tokens = {quoted or bare for quoted, bare in _NAME.findall(_QUOTED.sub("", piece))}
    return (tokens & known) | set(formula_variables(piece, label))


def restrict_terms(
    formula: str | None, covariates: list[str], categorical: list[str], label: str, known: set[str] | None = None
) -> str | None:
    """The analyst's terms for another adjustment set: terms naming a column outside the set are left out, and
    covariates the kept terms do not mention enter as the page's default (linear, categoricals by level).

    The analyst's own set gets the formula back unchanged (so its design is the page's, to the last digit).
    """
    if not formula or not formula.strip():
        return None
    wanted = set(covariates)
    known = wanted | (known or set())
    kept, mentioned = [], set()
    for piece in split_terms(formula):
        variables = term_columns(piece, known, label)
        if variables <= wanted:
            kept.append(piece)
            mentioned |= variables
    missing = [c for c in covariates if c not in mentioned]
    if not missing and len(kept) == len(split_terms(formula)):
        return formula
    kept += [f"C({quote(c)})" if c in categorical else quote(c) for c in missing]
    return " + ".join(kept) or None


def form_terms(form: str, covariates: list[str], categorical: list[str], frame: pd.DataFrame) -> str | None:
    """Outcome (and propensity) terms for a functional form applied to every numeric covariate with enough values."""
    if form == "linear":
        return None
    if form not in FLEXIBILITY or form == "levels":
        raise WorkbenchInputError(f"Unknown functional form {form!r}: choose from {', '.join(FUNCTIONAL_FORMS)}.")
    parts = []
    for column in covariates:
        distinct = frame[column].nunique(dropna=True) if column in frame.columns else 0
        if column in categorical:
            parts.append(f"C({quote(column)})")
        elif distinct >= MIN_DISTINCT_FOR_FORM[form]:
            parts.append(FLEXIBILITY[form].format(x=quote(column)))
        else:
            parts.append(quote(column))
    return " + ".join(parts) or None


def vary_spec(
    base: EstimationSpec,
    project: Project,
    frame: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: list[str],
    cluster: str | None,
    form: str = AS_SPECIFIED,
) -> EstimationSpec:
    """``base`` with one specification's choices swapped in; everything else (clip, seed, missing rule, IPW SE,
    treated value, categoricals, terms) is the analyst's. The analyst's own set keeps their column order and
    codings exactly, so the curve's main row is the Estimation page's row.

    Learners and cross-fitting are reset: the curve varies them through its estimator dimension.
    """
    same_set = frozenset(covariates) == frozenset(base.covariates)
    ordered = list(base.covariates) if same_set else list(covariates)
    automatic = set(project_categoricals(project, frame, ordered))
    categorical = [c for c in ordered if c in base.categorical or c in automatic]
    if same_set:
        categorical = [c for c in base.categorical if c in ordered] + [c for c in categorical if c not in base.categorical]
    known = set(base.covariates) | set(frame.columns)
    if form == AS_SPECIFIED:
        outcome_terms = restrict_terms(base.outcome_terms, ordered, categorical, "outcome terms", known)
        propensity_terms = restrict_terms(base.propensity_terms, ordered, categorical, "propensity terms", known)
    else:
        outcome_terms, propensity_terms = form_terms(form, ordered, categorical, frame), None
    interactions = base.treatment_interactions
    if interactions:
        kept = [p for p in split_terms(interactions) if term_columns(p, known, "treatment interactions") <= set(ordered)]
        interactions = " + ".join(kept) or None
    return base.model_copy(
        update={
            "treatment": treatment,
            "outcome": outcome,
            "covariates": ordered,
            "categorical": categorical,
            "cluster": cluster,
            "overrides": [c for c in base.overrides if c in ordered],
            "treated_value": base.treated_value if treatment == base.treatment else None,
            "outcome_terms": outcome_terms,
            "propensity_terms": propensity_terms,
            "treatment_interactions": interactions,
            "trim": None,
            "bootstrap": 0,
            "crossfit_folds": 0,
            "ps_learner": "logistic",
            "outcome_learner": "linear",
            "placebo_outcome": None,
        }
    )
