"""Running every specification with shared fits, progress and a stop button; failures become rows.

Why grouped: specifications are the product of their choices, and most of the cost sits in the first few
(the rows, the adjustment set, the trimming). The runner walks the product in that order, so each design
matrix and each propensity/outcome fit is built once and reused by every specification below it, and only
one design is in memory at a time (1 M rows stay within memory).
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from causal_core.estimation import ProgressFn, StopFn
from causal_core.multiverse import adapter
from causal_core.multiverse.space import NO_CLUSTER, ChoiceSpace, no_cluster_reason, specifications
from causal_core.project import MultiverseOptions, MultiverseResult, MultiverseRow, Project
from causal_core.staleness import inputs_for

DESIGN_KEYS = ("grain", "treatment", "outcome", "adjustment set", "functional form")
SINGLE_THREAD_BELOW = 200_000  # rows: below this, BLAS threads cost more than they save on the small fits


def _blas_threads(n_rows: int) -> contextlib.AbstractContextManager:
    """One BLAS thread for small data. The curve runs hundreds of small fits (6,000 × 15 Gram products):
    threaded BLAS spends them waking threads, and on a shared machine it is several times slower (measured:
    240 specifications 34.5 s → 5.2 s wall under load 11 on 2 cores). Large designs keep the default."""
    if n_rows >= SINGLE_THREAD_BELOW:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn's dependency; without it the default threading is kept
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _error_text(error: Exception) -> str:
    """A failed specification's reason: the estimation package's own message, or the error's type and text."""
    if isinstance(error, adapter.EstimationError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _row_from_estimate(row: MultiverseRow, estimate: Any, trimming_statement: str, note: str) -> MultiverseRow:
    label = estimate.label or ""
    if trimming_statement and "kept" in trimming_statement:
        label = (label + "; " if label else "") + "overlap population after trimming"
    return row.model_copy(
        update={
            "status": "ok",
            "estimand": estimate.estimand,
            "label": label,
            "estimate": estimate.estimate,
            "std_error": estimate.std_error,
            "ci_low": estimate.ci_low,
            "ci_high": estimate.ci_high,
            "n_used": estimate.n_used,
            "se_type": estimate.se_type,
            "interval_note": note,
            "reason": trimming_statement,
        }
    )


def _validity_reason(space: ChoiceSpace, choices: dict[str, str], reason: str) -> str:
    """A set is judged for the DAG's own treatment and outcome; an alternative definition borrows that verdict."""
    borrowed = [
        f"alternative {role} {choices[role]}" for role in ("treatment", "outcome") if choices[role] != space.main[role]
    ]
    if not borrowed:
        return reason
    return f"{reason} (checked for {space.main['treatment']} → {space.main['outcome']}; the {' and '.join(borrowed)} is assumed to share its causes)"


def _blank_rows(space: ChoiceSpace) -> list[MultiverseRow]:
    rows = []
    unclustered = no_cluster_reason(space)
    for index, choices in enumerate(specifications(space)):
        chosen = space.set_by_label(choices["adjustment set"])
        validity, reason = chosen.validity, _validity_reason(space, choices, chosen.reason)
        if unclustered and choices["cluster"] == NO_CLUSTER:
            validity, reason = "invalid", unclustered
        rows.append(
            MultiverseRow(
                id=index,
                choices=choices,
                covariates=list(chosen.columns),
                validity=validity,
                validity_reason=reason,
                status="stopped",
                reason="not run: the run was stopped before this specification",
                estimand=choices["estimand"],
                is_main=choices == space.main,
            )
        )
    return rows


def _groups(rows: Iterable[MultiverseRow]) -> dict[tuple[str, ...], list[MultiverseRow]]:
    grouped: dict[tuple[str, ...], list[MultiverseRow]] = defaultdict(list)
    for row in rows:
        grouped[tuple(row.choices[key] for key in DESIGN_KEYS)].append(row)
    return grouped


class _Frames:
    """The analysis rows per de-duplication rule, built once each."""

    def __init__(self, project: Project, raw: pd.DataFrame) -> None:
        self.project, self.raw, self._cache = project, raw, {}

    def get(self, rule: str) -> pd.DataFrame:
        if rule not in self._cache:
            self._cache[rule] = adapter.analysis_frame(self.project, self.raw, rule)
        return self._cache[rule]


def _group_cluster(members: list[MultiverseRow]) -> str | None:
    """The one cluster column this group's specifications use (the design keeps its ids for them)."""
    return next((row.choices["cluster"] for row in members if row.choices["cluster"] != NO_CLUSTER), None)


def _failed(members: list[MultiverseRow], reason: str) -> dict[int, MultiverseRow]:
    return {row.id: row.model_copy(update={"status": "failed", "reason": reason}) for row in members}


def _run_group(
    project: Project,
    frame: pd.DataFrame,
    key: tuple[str, ...],
    members: list[MultiverseRow],
    space: ChoiceSpace,
    options: MultiverseOptions,
    counters: dict[str, int],
    tick: Callable[..., None] | None = None,
    should_stop: StopFn | None = None,
) -> dict[int, MultiverseRow]:
    """Every specification sharing one design: cluster → trimming → estimand → estimator, fits shared below."""
    _grain, treatment, outcome, set_label, form = key
    cluster = _group_cluster(members)
    say = tick or (lambda message, advance=True: None)
    try:
        spec = adapter.make_spec(
            space.base if space.base is not None else adapter.analysis_spec(project, frame),
            project,
            frame,
            treatment=treatment,
            outcome=outcome,
            covariates=list(space.set_by_label(set_label).columns),
            cluster=cluster,
            form=form,
            seed=options.seed if project.estimation is None else None,
        )
        design = adapter.build_design(frame, spec)
    except Exception as error:  # noqa: BLE001 - a failed specification is a row with its reason, never a crash
        return _failed(members, f"the design could not be built: {_error_text(error)}")
    counters["designs"] += 1
    base = adapter.SharedFits(design, spec)
    by_rows: dict[str | None, adapter.SharedFits] = {None: base}  # one design and fit per distinct kept rows
    unclustered: dict[str | None, adapter.SharedFits] = {}
    done: dict[int, MultiverseRow] = {}
    stop = should_stop or (lambda: False)
    for row in members:
        if stop():  # the rest of this design stays 'stopped' (the blank rows' status)
            break
        choices = row.choices
        try:
            trimmed = adapter.trim(base, choices["trimming"], choices["estimand"])
            if trimmed.key not in by_rows:
                by_rows[trimmed.key] = adapter.SharedFits(design.subset(trimmed.keep), spec)
            fits = by_rows[trimmed.key]
            if choices["cluster"] == NO_CLUSTER and fits.design.clusters is not None:
                if trimmed.key not in unclustered:
                    unclustered[trimmed.key] = fits.view(adapter.without_clusters(fits.design))
                fits = unclustered[trimmed.key]
            estimate = adapter.estimate(
                fits,
                choices["estimator"],
                choices["estimand"],
                options.crossfit_folds,
                progress=lambda fraction, message: say(f"{set_label}: {message}", advance=False),
                should_stop=stop,
            )
            weighted = choices["estimator"].startswith(("ipw", "aipw"))
            note = adapter.interval_note(estimate, fits.overlap_share(choices["estimand"]) if weighted else None)
        except adapter.StoppedError:  # Stop pressed during a learner's cross-fitting: this row stays 'stopped'
            break
        except Exception as error:  # noqa: BLE001 - kept as a failed row with its reason
            done[row.id] = row.model_copy(update={"status": "failed", "reason": _error_text(error)})
        else:
            done[row.id] = _row_from_estimate(row, estimate, trimmed.statement, note)
        say(f"{set_label}: {choices['estimator']}, {choices['trimming']}, {choices['estimand']}")
    for fits in by_rows.values():
        for name, count in fits.fits.items():
            counters[name] += count
    return done


class MultiverseRun:
    """A run that advances one shared design at a time, so a page can show progress, keep its widgets
    responsive between steps and stop cleanly; ``result()`` is valid at any point (unreached = 'stopped')."""

    def __init__(
        self, project: Project, raw: pd.DataFrame, space: ChoiceSpace, options: MultiverseOptions | None = None
    ) -> None:
        self.project, self.space = project, space
        self.options = options or MultiverseOptions()
        self.rows = _blank_rows(space)
        self.frames = _Frames(project, raw)
        self.counters = {"designs": 0, "propensity": 0, "outcome": 0, "crossfit": 0}
        self.groups = list(_groups(self.rows).items())
        self.done_groups = 0
        self.done_specs = 0
        self.interrupted = False  # a stop request arrived inside the last design
        self.elapsed = 0.0

    @property
    def finished(self) -> bool:
        return self.done_groups >= len(self.groups)

    @property
    def fraction(self) -> float:
        return self.done_specs / len(self.rows) if self.rows else 1.0

    def message(self) -> str:
        if self.finished:
            return f"{len(self.rows):,} specifications done"
        key, members = self.groups[self.done_groups]
        return f"Design {self.done_groups + 1} of {len(self.groups)}: {key[3]} ({len(members)} specifications)"

    def step(self, progress: ProgressFn | None = None, should_stop: StopFn | None = None) -> None:
        """Run every specification of the next shared design (failures become failed rows).

        ``progress(fraction, message)`` is called after each specification, so even one design on 1 M rows
        reports as it goes (and a page can be interrupted there; the design is then simply run again).
        ``should_stop()`` is checked before each specification: a stop inside a design keeps what it finished.
        """
        if self.finished:
            return
        started = time.perf_counter()
        key, members = self.groups[self.done_groups]
        try:
            frame = self.frames.get(key[0])
        except Exception as error:  # noqa: BLE001 - e.g. a grain column missing: a failed row, not a crash
            done = _failed(members, f"the rows could not be prepared: {_error_text(error)}")
        else:
            start = self.done_specs
            ticks = iter(range(1, len(members) + 1))

            finished = [0]

            def tick(message: str, advance: bool = True) -> None:
                if advance:
                    finished[0] = next(ticks, len(members))
                if progress is not None:
                    progress((start + finished[0]) / len(self.rows), message)

            with _blas_threads(len(frame)):
                done = _run_group(
                    self.project, frame, key, members, self.space, self.options, self.counters, tick, should_stop
                )
        for row_id, row in done.items():
            self.rows[row_id] = row
        self.done_groups += 1
        self.done_specs += len(members)
        self.interrupted = any(self.rows[member.id].status == "stopped" for member in members)
        self.elapsed += time.perf_counter() - started

    def result(self, cancelled: bool = False) -> MultiverseResult:
        """The curve as far as it got; specifications not reached stay 'stopped' rows, never dropped."""
        from causal_core.multiverse.summary import summarise

        notes = list(self.space.notes)
        cancelled = cancelled and any(row.status == "stopped" for row in self.rows)
        if cancelled:
            finished = sum(row.status != "stopped" for row in self.rows)
            notes.append(
                f"Stopped by the analyst after {finished:,} of {len(self.rows):,} specifications; "
                "the rest are kept as 'stopped'."
            )
        main_frame = self.frames.get(self.space.main["grain"])
        result = MultiverseResult(
            options=self.options,
            dimensions=self.space.dimensions(),
            rows=list(self.rows),
            true_effects=_true_effects(self.project, main_frame, self.space),
            notes=notes,
            cancelled=cancelled,
            elapsed_s=round(self.elapsed, 3),
            inputs=inputs_for(self.project, "multiverse"),
        )
        summary = summarise(result, binary=_binary_outcome(main_frame, self.space.outcomes[0]))
        summary["fits"] = dict(self.counters)
        return result.model_copy(update={"summary": summary})


def run_space(
    project: Project,
    raw: pd.DataFrame,
    space: ChoiceSpace,
    options: MultiverseOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> MultiverseResult:
    """Estimate every specification of ``space``. Pure: the project and the rows are not changed.

    ``progress(fraction, message)`` is called after each shared design; ``should_stop()`` is checked
    before each one, and specifications not reached are kept as 'stopped' rows (never dropped).
    """
    report = progress or (lambda fraction, message: None)
    stop = should_stop or (lambda: False)
    run = MultiverseRun(project, raw, space, options)
    report(0.0, f"{len(run.rows):,} specifications in {len(run.groups)} shared designs")
    while not run.finished:
        if stop():
            return run.result(cancelled=True)
        report(run.fraction, run.message())
        run.step(report, stop)
        if run.interrupted:
            return run.result(cancelled=True)
    report(1.0, run.message())
    return run.result()


def _true_effects(project: Project, frame: pd.DataFrame, space: ChoiceSpace) -> dict[str, float]:
    """Simulation truth per estimand for the main treatment (built-in simulated data only)."""
    truths = {}
    for estimand in space.estimands:
        value = adapter.true_effect(project, frame, estimand, space.treatments[0])
        if value is not None:
            truths[estimand] = value
    return truths


def _binary_outcome(frame: pd.DataFrame, outcome: str) -> bool:
    series = frame[outcome] if outcome in frame.columns else pd.Series(dtype=float)
    return pd.api.types.is_numeric_dtype(series) and bool(series.dropna().isin([0, 1]).all())
