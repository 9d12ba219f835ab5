"""Project-level step (copy-on-write): build the space, run it, and return a new Project holding the curve."""

from __future__ import annotations

import pandas as pd

from causal_core.estimation import ProgressFn, StopFn
from causal_core.multiverse.runner import run_space
from causal_core.multiverse.space import build_space
from causal_core.project import MultiverseOptions, MultiverseResult, Project, utc_now


def run_multiverse(
    project: Project,
    raw: pd.DataFrame,
    options: MultiverseOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> MultiverseResult:
    """The specification curve for a project and its raw rows (before de-duplication: the grain is a choice).

    Raises MultiverseError (an EstimationError) before any fit for a request that cannot run; a
    specification that fails later is a failed row with its reason.
    """
    options = options or MultiverseOptions()
    space = build_space(project, raw, options)
    return run_space(project, raw, space, options, progress=progress, should_stop=should_stop)


def with_multiverse(
    project: Project,
    raw: pd.DataFrame,
    options: MultiverseOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Project:
    """A new project holding the curve; the input project is never changed (a refused run stores nothing)."""
    result = run_multiverse(project, raw, options, progress=progress, should_stop=should_stop)
    return project.model_copy(update={"multiverse": result, "updated_at": utc_now()})
