"""Which intervals the app must label "approximate", and why: the data's own diagnostics first, then
bench/coverage.py's measured table.

The diagnostics (``diagnostics.interval_checks``: weighted balance of the covariates, their squares and
pairwise products, the effective sample size, the IPW–AIPW contrast) label IPW and qualify AIPW on the design
at hand, whatever the table says; ``bench/coverage_family.py`` (docs/coverage.md) checks the labels over a
random family of designs. The IPW row is also labelled when its difference from AIPW, read as bias, would leave
its interval below 0.93 (``ipw_coverage_given_contrast``): a z-test alone passed d26's IPW ATC at 0.844.

The product's rule: an interval shown without a note must have measured 95 % coverage in [0.93, 0.97] at 500
Monte Carlo replications. ``bench/coverage.py --reps 500`` measures every default row (and the cross-fitted AIPW,
the book's fixed-weight IPW SE and the regression-standardisation row) for ATE, ATT and ATC on two designs:
N01's retention simulation (binary outcome, good overlap, 0 % of propensities beyond the clip bounds) and a
poor-overlap design with a strongly heterogeneous effect (continuous outcome, 8.1 % beyond the bounds).
``MEASURED`` below is that table (coverage, SE/SD); each rule in ``interval_note`` cites the cells it rests on,
so the note a user reads is the number we measured, not a hunch.

A third design (``--designs clustered``: 60 clusters × 20 rows, a cluster random effect) measures the
cluster-robust SEs; with fewer than 60 clusters they are labelled approximate. Rows the benchmark did not cover
(bootstrap, scikit-learn learners, any other method) are labelled approximate for exactly that reason:
unmeasured is not the same as calibrated. A final rule labels any row whose own benchmark cell is off target,
so a cell without a specific rule still gets its measured number.

Usage (est-core's display): ``interval_note(row, result.diagnostics)``; pass the diagnostics so the overlap
rules can tell good overlap from bad. Without them the IPW/AIPW rows get the overlap caveat (it cannot be ruled
out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scipy.special import ndtr

from causal_core.diagnostics_models import ContrastCheck, EstimationDiagnostics
from causal_core.estimation.constants import Z95

TARGET = (0.93, 0.97)
REPS = 500
MEASURED_CLUSTERS = 60
CLIP_BINDS_SHARE = 0.01  # retention (0 % beyond the bounds) is on target, the 8 % design is not; 1 % is our line
SOURCE = ("bench/coverage.py --reps 500 at commit 91d4e3b, 2026-12-01 (retention n = 2,000; poor-overlap n = 1,000 "
          "per replication; 1,167 s on one shared core)")

# (design, target estimand, row kind, SE kind) -> (coverage, SE/SD), measured with SOURCE; the gcomp and
# standardisation cells with GCOMP_SOURCE (their SE now includes the effect spread over the target rows).
GCOMP_SOURCE = ("the same three designs and seeds, 500 replications, gcomp and standardisation rows only, after the "
                "full-influence-function SE (2026-12-05)")
MEASURED: dict[tuple[str, str, str, str], tuple[float, float]] = {
    ("retention", "ATE", "naive", "welch"): (0.000, 1.00),
    ("retention", "ATE", "regression", "hc"): (0.958, 0.99),
    ("retention", "ATE", "gcomp", "hc"): (0.960, 1.00),
    ("retention", "ATE", "ipw", "if"): (0.944, 0.98),
    ("retention", "ATE", "aipw", "if"): (0.946, 0.98),
    ("retention", "ATE", "aipw_crossfit", "if"): (0.954, 0.99),
    ("retention", "ATE", "ipw", "fixed_weights"): (0.966, 1.08),
    ("retention", "ATT", "naive", "welch"): (0.000, 1.00),
    ("retention", "ATT", "regression", "hc"): (0.908, 0.99),
    ("retention", "ATT", "gcomp", "hc"): (0.900, 0.99),
    ("retention", "ATT", "ipw", "if"): (0.952, 0.97),
    ("retention", "ATT", "aipw", "if"): (0.950, 0.99),
    ("retention", "ATT", "aipw_crossfit", "if"): (0.958, 1.00),
    ("retention", "ATT", "ipw", "fixed_weights"): (0.970, 1.04),
    ("retention", "ATC", "naive", "welch"): (0.002, 1.00),
    ("retention", "ATC", "regression", "hc"): (0.942, 0.99),
    ("retention", "ATC", "gcomp", "hc"): (0.874, 1.01),
    ("retention", "ATC", "ipw", "if"): (0.948, 0.99),
    ("retention", "ATC", "aipw", "if"): (0.946, 0.99),
    ("retention", "ATC", "aipw_crossfit", "if"): (0.954, 1.00),
    ("retention", "ATC", "ipw", "fixed_weights"): (0.960, 1.04),
    ("overlap", "ATE", "naive", "welch"): (0.000, 1.02),
    ("overlap", "ATE", "regression", "hc"): (0.384, 1.03),
    ("overlap", "ATE", "gcomp", "hc"): (0.962, 1.03),
    ("overlap", "ATE", "ipw", "if"): (0.732, 0.93),
    ("overlap", "ATE", "aipw", "if"): (0.954, 0.94),
    ("overlap", "ATE", "aipw_crossfit", "if"): (0.958, 0.95),
    ("overlap", "ATE", "ipw", "fixed_weights"): (0.816, 1.19),
    ("overlap", "ATT", "naive", "welch"): (0.000, 1.02),
    ("overlap", "ATT", "regression", "hc"): (0.000, 1.03),
    ("overlap", "ATT", "gcomp", "hc"): (0.956, 1.02),
    ("overlap", "ATT", "ipw", "if"): (0.892, 0.92),
    ("overlap", "ATT", "aipw", "if"): (0.952, 0.97),
    ("overlap", "ATT", "aipw_crossfit", "if"): (0.954, 0.98),
    ("overlap", "ATT", "ipw", "fixed_weights"): (0.902, 0.98),
    ("overlap", "ATC", "naive", "welch"): (0.000, 1.02),
    ("overlap", "ATC", "regression", "hc"): (0.000, 1.03),
    ("overlap", "ATC", "gcomp", "hc"): (0.952, 0.99),
    ("overlap", "ATC", "ipw", "if"): (0.690, 0.88),
    ("overlap", "ATC", "aipw", "if"): (0.908, 0.88),
    ("overlap", "ATC", "aipw_crossfit", "if"): (0.922, 0.89),
    ("overlap", "ATC", "ipw", "fixed_weights"): (0.728, 0.95),
    ("retention", "ATE", "standardisation", "hc"): (0.962, 1.00),
    ("retention", "ATT", "standardisation", "hc"): (0.886, 0.99),
    ("retention", "ATC", "standardisation", "hc"): (0.898, 1.01),
    ("overlap", "ATE", "standardisation", "hc"): (0.960, 1.03),
    ("overlap", "ATT", "standardisation", "hc"): (0.954, 1.03),
    ("overlap", "ATC", "standardisation", "hc"): (0.940, 0.99),
    # --designs clustered (60 clusters × 20 rows), same commit: 116 s
    ("clustered", "ATE", "naive", "cluster"): (0.000, 0.97),
    ("clustered", "ATE", "regression", "cluster"): (0.906, 0.99),
    ("clustered", "ATE", "gcomp", "cluster"): (0.954, 1.00),
    ("clustered", "ATE", "ipw", "cluster"): (0.942, 0.98),
    ("clustered", "ATE", "aipw", "cluster"): (0.950, 0.99),
    ("clustered", "ATE", "aipw_crossfit", "cluster"): (0.950, 1.00),
    ("clustered", "ATE", "ipw", "cluster_fixed_weights"): (0.986, 1.36),
    ("clustered", "ATE", "standardisation", "cluster"): (0.954, 1.00),
    ("clustered", "ATT", "naive", "cluster"): (0.000, 0.97),
    ("clustered", "ATT", "regression", "cluster"): (0.596, 0.99),
    ("clustered", "ATT", "gcomp", "cluster"): (0.956, 0.97),
    ("clustered", "ATT", "ipw", "cluster"): (0.946, 0.95),
    ("clustered", "ATT", "aipw", "cluster"): (0.944, 0.97),
    ("clustered", "ATT", "aipw_crossfit", "cluster"): (0.954, 0.98),
    ("clustered", "ATT", "ipw", "cluster_fixed_weights"): (0.986, 1.20),
    ("clustered", "ATT", "standardisation", "cluster"): (0.952, 0.97),
    ("clustered", "ATC", "naive", "cluster"): (0.000, 0.97),
    ("clustered", "ATC", "regression", "cluster"): (0.368, 0.99),
    ("clustered", "ATC", "gcomp", "cluster"): (0.948, 1.00),
    ("clustered", "ATC", "ipw", "cluster"): (0.938, 0.98),
    ("clustered", "ATC", "aipw", "cluster"): (0.938, 0.99),
    ("clustered", "ATC", "aipw_crossfit", "cluster"): (0.940, 0.99),
    ("clustered", "ATC", "ipw", "cluster_fixed_weights"): (0.968, 1.18),
    ("clustered", "ATC", "standardisation", "cluster"): (0.944, 1.00),
}

LEARNER_MARKERS = ("logistic_cv", "ridge_cv", "lasso_cv", "boosting")
OVERLAP_KINDS = ("ipw", "aipw", "aipw_crossfit")
MEASURED_METHODS = {"naive", "regression", "gcomp", "ipw", "aipw"}


def _get(row: Any, name: str) -> str:
    value = row.get(name, "") if isinstance(row, Mapping) else getattr(row, name, "")
    return str(value or "")


def se_kind(se_type: str) -> str:
    """The SE family of a row's se_type text: welch, hc, cluster, if, fixed_weights, bootstrap or other."""
    text = se_type.lower()
    fixed = "weights treated as known" in text or "fixed" in text
    if text.startswith("bootstrap"):
        return "bootstrap"
    if "cluster" in text:
        return "cluster_fixed_weights" if fixed else "cluster"
    if fixed:
        return "fixed_weights"
    if text.startswith("influence"):
        return "if"
    if text.startswith("welch"):
        return "welch"
    if text.startswith("hc"):
        return "hc"
    return "other"


def row_kind(row: Any) -> str:
    """What the row is, in the benchmark's terms (a regression row is a coefficient unless it standardises)."""
    method = _get(row, "method")
    if method == "aipw" and "cross-fitted" in _get(row, "se_type"):
        return "aipw_crossfit"
    if method == "regression" and _get(row, "label").startswith("Regression standardisation"):
        return "standardisation"
    return method


def measured(row: Any) -> dict[str, tuple[float, float]]:
    """The benchmark cells for this row's kind, SE family and estimand, keyed by design."""
    kind = row_kind(row)
    target = _get(row, "estimand")
    found = {}
    se = se_kind(_get(row, "se_type"))
    for (design, estimand, cell_kind, cell_se), value in MEASURED.items():
        if cell_kind == kind and cell_se == se and estimand == target:
            found[design] = value
    return found


def _cells(kind: str, se: str, design: str, estimands: tuple[str, ...] = ("ATE", "ATT", "ATC")) -> str:
    """'0.73 (ATE), 0.89 (ATT)' for the cited cells of the table."""
    return ", ".join(f"{MEASURED[(design, e, kind, se)][0]:.3f} ({e})" for e in estimands if (design, e, kind, se)
                     in MEASURED)


@dataclass(frozen=True)
class IntervalEvidence:
    """The five facts of a run the notes read; None where a caller did not measure it.

    Why not the whole diagnostics: the specification curve knows only its overlap share, and the benchmark's
    hypothetical rows state a cluster count, so the rules take exactly what they use.
    """

    share_clipped: float | None = None
    n_clusters: int | None = None
    binary_outcome: bool | None = None
    reasons: tuple[str, ...] = ()
    contrast: ContrastCheck | None = None

    @classmethod
    def of(cls, diagnostics: EstimationDiagnostics | IntervalEvidence | None) -> IntervalEvidence:
        """The evidence in a run's typed diagnostics (an IntervalEvidence is returned as it is)."""
        if diagnostics is None:
            return cls()
        if isinstance(diagnostics, IntervalEvidence):
            return diagnostics
        checks = diagnostics.interval_checks
        return cls(share_clipped=diagnostics.overlap.share_clipped, n_clusters=diagnostics.n_clusters,
                   binary_outcome=diagnostics.binary_outcome, reasons=tuple(checks.reasons) if checks else (),
                   contrast=checks.contrast if checks else None)


Evidence = EstimationDiagnostics | IntervalEvidence | None


def _unmeasured_note(row: Any) -> str | None:
    se = se_kind(_get(row, "se_type"))
    text = f"{_get(row, 'se_type')} {_get(row, 'label')}".lower()
    if se == "bootstrap":
        return "Approximate: bootstrap intervals are not in the coverage benchmark (bench/coverage.py)."

    if any(marker in text for marker in LEARNER_MARKERS):
        return ("Approximate: intervals with scikit-learn nuisance learners are not in the coverage benchmark "
                "(a cross-fitted propensity treated as known ignores its own estimation).")
    if _get(row, "method") not in MEASURED_METHODS or se == "other":
        return "Approximate: this interval's coverage has not been measured (bench/coverage.py covers the default rows)."
    return None


def _cluster_note(row: Any, evidence: IntervalEvidence) -> str | None:
    """Cluster-robust intervals were measured with 60 clusters; with fewer they run too narrow (not measured)."""
    if not se_kind(_get(row, "se_type")).startswith("cluster"):
        return None
    clusters = evidence.n_clusters
    if clusters is not None and int(clusters) >= MEASURED_CLUSTERS:
        return None
    found = f"{int(clusters)} clusters" if clusters is not None else "the number of clusters not checked here"
    return (f"Approximate ({found}): cluster-robust intervals were measured with {MEASURED_CLUSTERS} clusters; "
            "with fewer clusters they are known to run too narrow.")


def _off_target_note(row: Any, evidence: IntervalEvidence) -> str | None:
    """Any benchmark cell for this row kind, SE family and estimand outside the target, cited as measured.

    Conditional cells are not cited again here: the poor-overlap cells of IPW/AIPW are the overlap rule's
    evidence (they apply only when overlap is poor, which ``_overlap_note`` has checked) and the 0/1-outcome
    cells of g-computation/standardisation are ``_linear_model_note``'s (they apply only to 0/1 outcomes).
    """
    conditional = {"overlap"} if row_kind(row) in OVERLAP_KINDS else set()
    if row_kind(row) in ("gcomp", "standardisation") and evidence.binary_outcome is False:
        conditional.add("retention")
    cells = {design: value for design, value in measured(row).items()
             if design not in conditional and not TARGET[0] <= value[0] <= TARGET[1]}
    if not cells:
        return None
    cited = "; ".join(f"{coverage:.3f} on the {design} design (SE/SD {ratio:.2f})"
                      for design, (coverage, ratio) in cells.items())
    return f"Approximate: the 95 % interval covered {cited} in {REPS} replications (target 0.93–0.97)."


def _overlap_note(row: Any, evidence: IntervalEvidence) -> str | None:
    """IPW and AIPW under poor overlap: clipped weights bias IPW; AIPW's SE runs small where weights explode."""
    kind = row_kind(row)
    if kind not in OVERLAP_KINDS:
        return None
    share = evidence.share_clipped
    if share is not None and share < CLIP_BINDS_SHARE:
        return None
    where = ("overlap not checked here" if share is None
             else f"{share:.1%} of estimated propensities lie beyond the clip bounds")
    if kind == "ipw":
        se = se_kind(_get(row, "se_type"))
        return (f"Approximate ({where}): on the poor-overlap benchmark (≈ 8 % beyond the bounds) this IPW interval "
                f"covered {_cells('ipw', se, 'overlap')} instead of 0.95: clipped weights bias the estimate.")
    return (f"Approximate ({where}): on the poor-overlap benchmark AIPW covered {_cells(kind, 'if', 'overlap')}; "
            "its SE runs small where the weights are extreme.")


FAMILY_BINARY_GCOMP_ATE = ((0.730, 0.98), (0.916, 0.98))  # bench/coverage_family.py, seed 2026, 500 reps: d24, d18


def _linear_model_note(row: Any, evidence: IntervalEvidence) -> str | None:
    """g-computation / standardisation on a 0/1 outcome: the linear probability model's bias, not the SE.

    With the full-influence-function SE these rows are on target on the continuous designs (overlap, clustered:
    0.940–0.962) and their SE/SD is 0.98–1.01 on 0/1 outcomes too; what is left is the linear model's bias over
    the target rows. It showed first for ATT/ATC on retention (0.874–0.900); the random family then found it for
    the ATE as well (0.730 with strong heterogeneity and poor overlap, 0.916 with mild), so every estimand of a
    0/1 outcome carries the note; continuous outcomes do not.
    """
    if row_kind(row) not in ("gcomp", "standardisation") or evidence.binary_outcome is False:
        return None
    kind, estimand = row_kind(row), _get(row, "estimand")
    if estimand == "ATE":
        if evidence.binary_outcome is None:
            return None
        low, high = (cell[0] for cell in FAMILY_BINARY_GCOMP_ATE)
        return ("Approximate on a 0/1 outcome: the SE is right (SE/SD ≈ 1.0) but the linear model can be biased "
                f"for the ATE; on the random family of designs (bench/coverage_family.py) it covered {low:.3f} and "
                f"{high:.3f} on two 0/1-outcome designs with poor overlap and heterogeneous effects.")
    return ("Approximate on a 0/1 outcome: the SE is right (SE/SD ≈ 1.0) but the linear model is biased over the "
            f"target rows; coverage {_cells(kind, 'hc', 'retention', ('ATT', 'ATC'))} on retention (0/1 outcome), "
            f"{_cells(kind, 'hc', 'overlap', ('ATT', 'ATC'))} on the continuous poor-overlap benchmark.")


def _diagnostic_note(row: Any, evidence: IntervalEvidence) -> str | None:
    """IPW and AIPW when the data's own weighting diagnostics fail (balance, ESS, IPW–AIPW contrast).

    Why these and not a table of designs: under a misspecified propensity (logistic in exp(x1), fitted linear)
    IPW covered 0.52–0.91 with SE/SD ≈ 1 (pure bias) and AIPW ATT's SE/SD was 0.86–0.88, while the overlap
    rule was silent; the balance of x1² after weighting and the IPW–AIPW contrast were not (issue 23).
    """
    kind = row_kind(row)
    if kind not in OVERLAP_KINDS:
        return None
    if not evidence.reasons:
        return None
    why = "; ".join(evidence.reasons)
    if kind == "ipw":
        return (f"Approximate: {why}. A wrong propensity model biases IPW, and a wider SE does not fix bias "
                "(0.52–0.91 coverage under a misspecified propensity).")
    return (f"Approximate SE: {why}. AIPW stays consistent if its outcome model is right, but this influence-function "
            "SE assumes both models right (SE/SD 0.86–0.88 under a misspecified propensity); compare the bootstrap "
            "interval (set Bootstrap replicates).")


def ipw_coverage_given_contrast(difference: float, ipw_se: float, aipw_se: float) -> float:
    """The IPW interval's coverage if IPW − AIPW were all IPW's bias: P(|d + s_a·Z| ≤ 1.96·s_i).

    Why: IPW's error is (IPW − AIPW) + (AIPW's error). When AIPW is consistent (its outcome model right) the first
    term is IPW's bias as seen in these data, and the second is noise of size s_a, nearly uncorrelated with the
    first (AIPW is the efficient member, Hausman 1978). So the observed difference d says how much of IPW's
    interval the bias would eat. A z-test on d alone (|d| > 2 SEs of the difference) lets through differences up
    to 2 of those SEs; when the difference's SE is a large share ρ of IPW's SE, that is bias enough to push the
    unlabelled intervals to P(|2ρ + √(1 − ρ²)·Z| ≤ 1.96) (ρ = 0.56: 0.84, which is what the random family's d26
    measured for IPW ATC).
    """
    if not (ipw_se > 0 and aipw_se > 0) or difference != difference:  # no SE or no difference (NaN): no evidence
        return 1.0
    shift = abs(difference)
    return float(ndtr((Z95 * ipw_se - shift) / aipw_se) - ndtr((-Z95 * ipw_se - shift) / aipw_se))


def _contrast_bias_note(row: Any, evidence: IntervalEvidence) -> str | None:
    """IPW whose disagreement with AIPW, read as bias, would leave its interval below the target's 0.93."""
    if row_kind(row) != "ipw" or se_kind(_get(row, "se_type")) not in ("if", "cluster"):
        return None
    contrast = evidence.contrast
    ipw_se = row.get("std_error") if isinstance(row, Mapping) else getattr(row, "std_error", None)
    if contrast is None or ipw_se is None:
        return None
    coverage = ipw_coverage_given_contrast(contrast.difference, float(ipw_se), contrast.aipw_se)
    if coverage >= TARGET[0]:
        return None
    return (f"Approximate: IPW and AIPW differ by {contrast.difference:+.3g} ({contrast.z:.1f} SEs of their "
            f"difference). If AIPW is right, that is IPW's bias, and this interval would cover about {coverage:.0%} "
            f"instead of 95 % (the bar is {TARGET[0]:.0%}). A wrong propensity model is the usual cause.")


def _fixed_weights_note(row: Any) -> str | None:
    """What the fixed-weights SE does and does not do: wider than the IF SE, no cure for a wrong propensity."""
    if se_kind(_get(row, "se_type")) not in ("fixed_weights", "cluster_fixed_weights"):
        return None
    return ("Approximate: weights treated as known (What If's robust SE). It is wider than the influence-function "
            f"SE when the propensity model is right (SE/SD {MEASURED[('retention', 'ATE', 'ipw', 'fixed_weights')][1]:.2f}, "
            f"coverage {_cells('ipw', 'fixed_weights', 'retention')} on retention; "
            f"{_cells('ipw', 'cluster_fixed_weights', 'clustered')} clustered, over-covering), but it is not "
            "conservative when the model is wrong: bias is not variance (0.58–0.66 under a misspecified propensity).")


def interval_note(row: Any, diagnostics: Evidence = None) -> str | None:
    """The note to show beside a row's 95 % interval, or None when the benchmark found it calibrated.

    ``row`` is an EstimateRow (or a dict with method, estimand, se_type, label); ``diagnostics`` is the
    result's typed diagnostics (or an ``IntervalEvidence``): its overlap summary decides the overlap rules, its
    ``interval_checks`` (weighted balance incl. squares and products, effective sample size, IPW–AIPW contrast)
    the diagnostic rules, and ``binary_outcome`` the g-computation ATT/ATC rule.
    """
    evidence = IntervalEvidence.of(diagnostics)
    kind = row_kind(row)
    unmeasured = _unmeasured_note(row)
    if unmeasured:
        return unmeasured
    if kind == "naive":
        return (f"Interval for the raw difference in means: it covers a causal effect only if the treatment was "
                f"randomised (coverage of the true effect: {_cells('naive', 'welch', 'retention', ('ATE',))} on "
                "retention, where treatment is confounded).")
    if kind == "regression":
        return ("Approximate as an effect interval: a constant-effect coefficient, a variance-weighted average of "
                f"the effects; with heterogeneous effects it covered {_cells('regression', 'hc', 'overlap')} on the "
                f"poor-overlap benchmark and {_cells('regression', 'hc', 'retention', ('ATT',))} on retention.")
    note = (_linear_model_note(row, evidence) or _diagnostic_note(row, evidence)
            or _contrast_bias_note(row, evidence) or _overlap_note(row, evidence)
            or _cluster_note(row, evidence) or _fixed_weights_note(row))
    if note:
        return note
    return _off_target_note(row, evidence)


def contrast_bias_warnings(rows: list[Any], diagnostics: Evidence) -> list[str]:
    """The run's warning for IPW rows the contrast rule labels, when the weighting checks did not already warn.

    Why a warning and not only the row's note: the note sits in a table column a reader may skip, while the
    contrast says the IPW number itself is probably biased (issue 23: an approximate IPW row comes with a
    warning that says why).
    """
    evidence = IntervalEvidence.of(diagnostics)
    if evidence.reasons:
        return []  # interval_check_warnings already explains the IPW row
    warnings = []
    for row in rows:
        note = _contrast_bias_note(row, evidence)
        if note:
            label = _get(row, "label") or f"IPW ({_get(row, 'estimand')})"
            warnings.append(f"{label}: {note}")
    return warnings
