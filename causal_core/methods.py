"""The estimands and the estimation methods, named once: one enum and one registry every stage reads.

Why: the estimand used to be a bare string branched on in several functions and each stage kept its own
``{"aipw": ...}`` label dict (the page's, the memo's, the specification curve's), so a new method or a typo could
reach one stage and not another. :class:`Estimand` is a ``StrEnum``: its members *are* the strings "ATE", "ATT"
and "ATC", so project files stay byte-for-byte the same and every existing ``estimand == "ATT"`` keeps working
while callers move to the enum in small steps. :data:`METHODS` says, for each method id an estimate row can carry,
its labels, its row kind in the interval-calibration tables, the estimands it serves, which nuisance models it
fits and where its interval calibration is written down (as scikit-learn's estimators share one contract).
A leaf module: it imports only :mod:`causal_core.errors`, so the project layer may import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from causal_core.errors import WorkbenchInputError


class Estimand(StrEnum):
    """Whose average effect a back-door estimate is about; the value is the text saved in project files."""

    ATE = "ATE"
    ATT = "ATT"
    ATC = "ATC"

    @property
    def population(self) -> str:
        """The rows the effect averages over, in the words the page and the memo use."""
        return _POPULATION[self]

    @property
    def long_name(self) -> str:
        """The memo's full name, e.g. "average treatment effect on the treated (ATT)"."""
        return _LONG_NAME[self]

    @property
    def target_arm(self) -> int | None:
        """The treatment value of the rows the effect is about: 1 (ATT), 0 (ATC), None for every row (ATE)."""
        return _TARGET_ARM[self]


_POPULATION = {Estimand.ATE: "all units", Estimand.ATT: "all treated units", Estimand.ATC: "all control units"}
_LONG_NAME = {Estimand.ATE: "average treatment effect (ATE)",
              Estimand.ATT: "average treatment effect on the treated (ATT)",
              Estimand.ATC: "average treatment effect on the controls (ATC)"}
_TARGET_ARM = {Estimand.ATE: None, Estimand.ATT: 1, Estimand.ATC: 0}
# Each member's own docstring (help(Estimand.ATT) shows it): who the effect is about.
Estimand.ATE.__doc__ = "Average treatment effect: every unit in the analysed rows, treated or not."
Estimand.ATT.__doc__ = "Average treatment effect on the treated: only the units that actually received the treatment."
Estimand.ATC.__doc__ = "Average treatment effect on the controls: only the units that did not receive the treatment."

ALL_ESTIMANDS: tuple[Estimand, ...] = tuple(Estimand)
"""The three back-door estimands in the order the page offers them."""


class MethodRegistryError(WorkbenchInputError):
    """A method id or estimand the workbench does not know; the message lists the ones it does."""


@dataclass(frozen=True)
class MethodInfo:
    """One estimation method's contract: what it is called, what it serves, what it fits, where it is calibrated."""

    id: str
    """The id saved in estimate rows and project files (``EstimateRow.method``)."""
    label: str
    """The Estimation page's and chart's name for the row."""
    short_label: str
    """The specification curve's short option name (its estimator picker)."""
    memo_label: str
    """The memo's lower-case phrase for the row."""
    kind: str
    """The row kind of the interval-calibration tables (``interval_notes.row_kind``); "" when it has no cells."""
    estimands: tuple[Estimand, ...]
    """The estimands it can target; empty for the IV and front-door rows, whose estimand is set by the design."""
    needs_propensity: bool
    """Whether it fits a propensity model (so overlap diagnostics apply)."""
    needs_outcome_model: bool
    """Whether it fits an outcome model (so a misspecified outcome model can bias it)."""
    calibration: str
    """Where its interval calibration is documented."""


_BENCH = "docs/methods.md 'Coverage' and docs/coverage.md (bench/coverage.py); cells in interval_notes.MEASURED"
_DESIGNS = "docs/methods.md 'Coverage' (bench/bench_designs.py)"
METHODS: dict[str, MethodInfo] = {info.id: info for info in (
    MethodInfo("naive", "Naive difference", "Naive", "naive difference", "naive", ALL_ESTIMANDS,
               False, False, _BENCH),
    MethodInfo("regression", "Regression adjustment (OLS)", "Regression (OLS)", "regression adjustment",
               "regression", ALL_ESTIMANDS, False, True, _BENCH),
    MethodInfo("gcomp", "G-computation (interactions)", "G-computation", "g-computation", "gcomp", ALL_ESTIMANDS,
               False, True, _BENCH),
    MethodInfo("ipw", "IPW (Hájek)", "IPW", "IPW", "ipw", ALL_ESTIMANDS, True, False, _BENCH),
    MethodInfo("aipw", "Doubly robust (AIPW)", "AIPW", "doubly robust", "aipw", ALL_ESTIMANDS, True, True, _BENCH),
    MethodInfo("aipw_cf", "Cross-fitted AIPW", "Cross-fitted AIPW", "cross-fitted doubly robust", "aipw_crossfit",
               ALL_ESTIMANDS, True, True, _BENCH + "; learners: bench/bench_learners.py --coverage"),
    MethodInfo("2sls", "Two-stage least squares (IV)", "2SLS", "instrumental-variable (2SLS)", "", (), False, True,
               _DESIGNS + "; weak instruments labelled approximate"),
    MethodInfo("ols", "OLS coefficient (assumes no confounding)", "OLS", "OLS comparison", "", (), False, True,
               "not calibrated: shown beside 2SLS only as the confounded comparison"),
    MethodInfo("frontdoor", "Front-door adjustment", "Front door", "front-door adjustment", "", (), False, True,
               _DESIGNS),
)}
"""Every method id an estimate row or a specification-curve estimator can carry."""

BACKDOOR_METHODS = ("naive", "regression", "gcomp", "ipw", "aipw")
"""The rows one back-door estimation produces, in the order the page lists them."""


def _known(names: Iterable[str]) -> str:
    """The accepted names, quoted, for an error message."""
    return ", ".join(f"'{name}'" for name in names)


def method_info(method_id: str) -> MethodInfo:
    """The registry entry for a method id; an unknown id is refused with the known ones listed."""
    info = METHODS.get(method_id)
    if info is None:
        raise MethodRegistryError(f"Unknown estimation method '{method_id}'; known methods: {_known(METHODS)}.")
    return info


def method_label(method_id: str, *, memo: bool = False) -> str:
    """A row's display name (the memo's phrase when ``memo``); an id outside the registry is shown as it is,
    because old saved results may carry one and must still open."""
    info = METHODS.get(method_id)
    if info is None:
        return method_id
    return info.memo_label if memo else info.label


def short_labels(ids: tuple[str, ...]) -> dict[str, str]:
    """``{id: short label}`` for a picker; an unknown id is refused (the picker would otherwise offer a typo)."""
    return {method_id: method_info(method_id).short_label for method_id in ids}


def parse_estimand(value: object) -> Estimand:
    """The Estimand for "ATE"/"ATT"/"ATC" (or a member); anything else is refused with the three listed."""
    try:
        return Estimand(value)
    except ValueError:
        raise MethodRegistryError(
            f"Unknown estimand {value!r}; a back-door estimate targets one of {_known(Estimand)}."
        ) from None


def labels(ids: tuple[str, ...] = BACKDOOR_METHODS, *, memo: bool = False) -> dict[str, str]:
    """``{id: label}`` for the given ids, the shape the old per-module label dicts had."""
    infos = [method_info(method_id) for method_id in ids]
    return {info.id: info.memo_label if memo else info.label for info in infos}


__all__ = [
    "ALL_ESTIMANDS",
    "BACKDOOR_METHODS",
    "METHODS",
    "Estimand",
    "MethodInfo",
    "MethodRegistryError",
    "labels",
    "method_info",
    "method_label",
    "parse_estimand",
    "short_labels",
]
