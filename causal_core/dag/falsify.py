"""Test the whole DAG against the data: local conditional-independence tests with a Holm correction, and a
global verdict in the manner of DoWhy's ``falsify_graph`` (Eulig et al. 2023, arXiv:2305.09565).

Local: one row per implied independence ``x ⊥ y | S``. Both sides one column (numbers, 0/1, two-level
text): the partial correlation with a Fisher-z test and an approximate CI (exact for Gaussian data; its
coverage is measured in bench/bench_dag.py). A side with a multi-level category (one-hot): Wilks' Λ with
Bartlett's χ² (no single correlation, so no CI). Both are *linear* tests: they detect linear partial
association, not every dependence. Holm's correction (statsmodels) decides the per-row verdicts.

Global: relabel the observed nodes at random (a node permutation keeps the graph's shape) and count, for
each relabelled graph, how many of *its* implications the data violate (unadjusted p < ``alpha_ci``, as
DoWhy does). If the given DAG is not clearly better than the relabellings *and* at least one implication is
violated after Holm (our addition, see ``decide``), the data falsify it. If many relabellings imply exactly
the same independencies, the DAG is not informative enough to be falsified at all (DoWhy's TPA check). The
CI tests are cached per (pair, conditioning set), so relabellings reuse them.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from scipy import special, stats
from sklearn.preprocessing import SplineTransformer
from statsmodels.stats.multitest import multipletests

from causal_core.dag.constants import MAX_IMPLICATIONS
from causal_core.dag.graph import observed_names, to_networkx, validate_dag
from causal_core.dag.implications import Implication, ImplicationSample, sample_implications
from causal_core.errors import WorkbenchInputError
from causal_core.project import DagSpec

ProgressFn = Callable[[float, str], None]
StopFn = Callable[[], bool]

MIN_ROWS = 10
MAX_LEVELS = 30  # a text column with more levels is not one-hot encoded (an id, free text)
MAX_CI_TESTS = 4_000  # distinct CI tests one falsification may run (permutations stop there, said so)
N_PERMUTATIONS = 200
FISHER = "partial correlation (Fisher z)"
WILKS = "Wilks' Λ on one-hot columns (Bartlett χ²)"


TEST_METHODS = {
    "linear": "linear partial correlation (Fisher z; Wilks' Λ for categories): detects linear dependence only",
    "gcm": "generalised covariance measure with spline regressions, 2-fold cross-fitted (Shah & Peters 2020); "
           "valid for non-linear relations; tables past 20,000 complete rows are sampled (seeded)",
}


class FalsifyError(WorkbenchInputError):
    """The DAG cannot be tested against these data (invalid graph, no data); the message says why."""


# ---------------------------------------------------------------------------------------------
# One conditional-independence test, cached
# ---------------------------------------------------------------------------------------------
class CIResult(BaseModel):
    n: int = 0
    test: str = ""
    estimate: float | None = Field(None, description="Partial correlation (Fisher rows only).")
    ci_low: float | None = None
    ci_high: float | None = None
    statistic: float | None = None
    df: float | None = None
    p_value: float | None = None
    note: str = ""


def _encode(series: pd.Series) -> tuple[np.ndarray | None, str]:
    """A float block (rows × columns, NaN kept) for one column, or None with the reason it cannot be used."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = np.array(series.astype(float).to_numpy(dtype=float, na_value=np.nan), dtype=float).reshape(-1, 1)
        values[~np.isfinite(values)] = np.nan  # ±inf is as unusable as a gap
        return values, ""
    levels = sorted(series.dropna().astype(str).unique())
    if len(levels) > MAX_LEVELS:
        return None, f"{series.name} has {len(levels)} text levels (more than {MAX_LEVELS}): not encoded"
    text = series.astype(str).where(series.notna())
    block = np.column_stack([(text == level).astype(float) for level in levels[1:]]) if len(levels) > 1 else (
        np.zeros((len(series), 1))
    )
    block[series.isna().to_numpy()] = np.nan
    return block, ""


@dataclass
class _Moments:
    """Standardised cross-products ``M'M`` of every usable column on one set of rows."""

    cross: np.ndarray
    index: dict[str, np.ndarray]
    n: int


@dataclass
class CITester:
    """CI tests on one frame, cached per (unordered pair, conditioning set): ``x ⊥ y | S`` = ``y ⊥ x | S``.

    Why shared cross-product matrices: the relabelled graphs of the permutation test ask thousands of
    questions about the same few columns. A test uses the rows complete in its own columns, so the matrix is
    built once per *missingness pattern* (which gappy columns the test touches) and each test only slices it.
    """

    frame: pd.DataFrame
    columns: Mapping[str, str | None]
    confidence: float = 0.95
    selected: frozenset[str] = frozenset()  # selection nodes: constant in the sample, conditioned on by design
    _blocks: dict[str, tuple[np.ndarray | None, str]] = field(default_factory=dict)
    _cache: dict[tuple[frozenset[str], frozenset[str]], CIResult] = field(default_factory=dict)
    _moments: dict[frozenset[str], _Moments] = field(default_factory=dict)
    hits: int = 0

    def __post_init__(self) -> None:
        self._quantile = float(special.ndtri(0.5 + self.confidence / 2))
        self._complete = {name for name in self.columns if self._usable(name) and not np.isnan(self._blocks[name][0]).any()}

    @property
    def runs(self) -> int:
        return len(self._cache)

    def _usable(self, name: str) -> bool:
        if name not in self._blocks:
            column = self.columns.get(name)
            if not column or column not in self.frame.columns:
                self._blocks[name] = (None, f"no data column for {name}")
            else:
                self._blocks[name] = _encode(self.frame[column])
        return self._blocks[name][0] is not None

    def _moments_for(self, gappy: frozenset[str]) -> _Moments:
        """Cross-products of the complete columns plus ``gappy`` ones, on the rows where ``gappy`` is complete."""
        if gappy not in self._moments:
            names = sorted(self._complete | gappy)
            blocks = [self._blocks[name][0] for name in names]
            rows = np.ones(len(self.frame), dtype=bool)
            for name in gappy:
                rows &= ~np.isnan(self._blocks[name][0]).any(axis=1)
            matrix = np.column_stack(blocks)[rows] if blocks else np.zeros((int(rows.sum()), 0))
            spread = matrix.std(axis=0) if len(matrix) else np.ones(matrix.shape[1])
            matrix = (matrix - matrix.mean(axis=0)) / np.where(spread > 1e-12, spread, 1.0) if len(matrix) else matrix
            index, start = {}, 0
            for name, block in zip(names, blocks, strict=True):
                index[name] = np.arange(start, start + block.shape[1])
                start += block.shape[1]
            self._moments[gappy] = _Moments(matrix.T @ matrix, index, len(matrix))
        return self._moments[gappy]

    def test(self, x: str, y: str, given: Iterable[str]) -> CIResult:
        """x ⫫ y | given, cached by the unordered pair and the set; a variable without usable data is a note.

        Subclasses change only ``_test_usable`` (the statistic), so every tester skips, caches and counts alike.
        """
        # A selection node without data is constant in the sample: conditioning on it is already done.
        given = [name for name in given if not (name in self.selected and not self._usable(name))]
        key = (frozenset((x, y)), frozenset(given))
        if key in self._cache:
            self.hits += 1
            return self._cache[key]
        names = (x, y, *sorted(key[1]))
        problems = [self._blocks[name][1] for name in names if not self._usable(name)]
        self._cache[key] = CIResult(note="; ".join(problems)) if problems else self._test_usable(x, y, sorted(key[1]))
        return self._cache[key]

    def _test_usable(self, x: str, y: str, given: list[str]) -> CIResult:
        """The partial-correlation test on the rows complete in x, y and ``given``."""
        names = (x, y, *given)
        moments = self._moments_for(frozenset(name for name in names if name not in self._complete))
        if moments.n < MIN_ROWS:
            return CIResult(n=moments.n, note=f"only {moments.n} complete rows (fewer than {MIN_ROWS})")
        index = np.concatenate([moments.index[name] for name in names])
        px, py = len(moments.index[x]), len(moments.index[y])
        return _from_cross(moments.cross[np.ix_(index, index)], px, py, moments.n, self._quantile)


def _from_cross(cross: np.ndarray, px: int, py: int, n: int, quantile: float) -> CIResult:
    """The test from the standardised cross-product matrix [x | y | S]: the partial (Schur-complement)
    covariance of x and y given S. Constant columns are dropped first; collinear conditioning columns
    (e.g. dummies) are projected out through their non-null eigenvectors, never inverted."""
    varies = np.diag(cross) > 1e-9 * n
    px, py = int(varies[:px].sum()), int(varies[px:px + py].sum())
    if px == 0 or py == 0:
        return CIResult(n=n, note="a side does not vary in the complete rows")
    cross = cross[np.ix_(varies, varies)]
    a = slice(0, px + py)
    if cross.shape[0] > px + py:
        values, vectors = np.linalg.eigh(cross[px + py:, px + py:])
        keep = values > values.max() * 1e-10
        k = int(keep.sum())
        projected = cross[a, px + py:] @ vectors[:, keep]
        partial = cross[a, a] - (projected / values[keep]) @ projected.T
    else:
        k, partial = 0, cross[a, a]
    diagonal = np.diag(partial)
    if (diagonal < 1e-9 * n).any():
        return CIResult(n=n, note="no variation left after conditioning")
    if px == 1 and py == 1:
        return _fisher(float(partial[0, 1] / math.sqrt(diagonal[0] * diagonal[1])), n, k, quantile)
    return _wilks(partial, px, py, n, k)


def _fisher(r: float, n: int, k: int, quantile: float) -> CIResult:
    dof = n - k - 3
    if dof < 1:
        return CIResult(n=n, test=FISHER, estimate=r, note="too few rows for the conditioning set")
    r = min(max(r, -0.999999), 0.999999)
    z = math.atanh(r)
    half = quantile / math.sqrt(dof)
    statistic = z * math.sqrt(dof)
    return CIResult(n=n, test=FISHER, estimate=r, ci_low=math.tanh(z - half), ci_high=math.tanh(z + half),
                    statistic=statistic, df=float(dof), p_value=float(2 * special.ndtr(-abs(statistic))))


def _wilks(partial: np.ndarray, px: int, py: int, n: int, k: int) -> CIResult:
    _, log_all = np.linalg.slogdet(partial)
    _, log_x = np.linalg.slogdet(partial[:px, :px])
    _, log_y = np.linalg.slogdet(partial[px:, px:])
    log_lambda = min(0.0, log_all - log_x - log_y)
    scale = n - 1 - k - (px + py + 1) / 2
    if scale <= 0:
        return CIResult(n=n, test=WILKS, note="too few rows for the conditioning set")
    statistic = -scale * log_lambda
    dof = px * py
    return CIResult(n=n, test=WILKS, statistic=statistic, df=float(dof),
                    p_value=float(special.chdtrc(dof, statistic)))


# ---------------------------------------------------------------------------------------------
# Local tests with Holm
# ---------------------------------------------------------------------------------------------
class LocalTest(BaseModel):
    implication: str
    x: str
    y: str
    given: list[str]
    test: str = ""
    n: int = 0
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_holm: float | None = None
    violated: bool | None = None
    verdict: str = ""


def holm(p_values: Sequence[float | None], alpha: float = 0.05) -> list[float | None]:
    """Holm-adjusted p-values (statsmodels) over the tested rows; untested rows stay None."""
    tested = [i for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if tested:
        _, corrected, _, _ = multipletests([p_values[i] for i in tested], alpha=alpha, method="holm")
        for index, value in zip(tested, corrected, strict=True):
            adjusted[index] = float(value)
    return adjusted


def local_tests(tester: CITester, implications: Sequence[Implication], alpha: float = 0.05) -> list[LocalTest]:
    """Each implication tested (cached), with a Holm-corrected verdict at family-wise level ``alpha``."""
    rows = []
    for item in implications:
        result = tester.test(item.x, item.y, item.given)
        rows.append(LocalTest(implication=item.text(), x=item.x, y=item.y, given=list(item.given), test=result.test,
                              n=result.n, estimate=result.estimate, ci_low=result.ci_low, ci_high=result.ci_high,
                              p_value=result.p_value, verdict=f"not tested: {result.note}" if result.note else ""))
    for row, adjusted in zip(rows, holm([r.p_value for r in rows], alpha), strict=True):
        if adjusted is None:
            continue
        row.p_holm = adjusted
        row.violated = adjusted < alpha
        row.verdict = (
            f"violated (Holm p = {adjusted:.2g} < {alpha:g}): revisit the edges between these variables"
            if row.violated
            else f"consistent (Holm p = {adjusted:.2g})"
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Global verdict (node permutations)
# ---------------------------------------------------------------------------------------------
class Falsification(BaseModel):
    local: list[LocalTest] = Field(default_factory=list)
    implications_note: str = ""
    sampled: bool = False
    n_tested: int = 0
    violations: int = Field(0, description="Implications with unadjusted p < alpha_ci (the permutation statistic).")
    violations_holm: int = 0
    n_permutations: int = 0
    exhaustive: bool = False
    permutation_violation_share: list[float] = Field(default_factory=list)
    p_value: float | None = Field(None, description="Share of relabellings violating no more than the DAG.")
    same_class: int = Field(0, description="Relabellings all of whose implications hold in the given DAG.")
    p_informative: float | None = Field(None, description="same_class / n_permutations (DoWhy's TPA p-value).")
    informative: bool | None = None
    falsified: bool | None = None
    stopped: str = ""
    tests_run: int = 0
    cache_hits: int = 0
    seconds: float = 0.0
    alpha: float = 0.05
    alpha_ci: float = 0.05
    sentence: str = ""
    method: str = Field("", description="The conditional-independence test used (TEST_METHODS).")
    cluster: str = Field("", description="The cluster column the GCM summed residual products within ('' = none).")
    n_clusters: int = 0
    cluster_note: str = Field("", description="What the cluster column did to the tests, in one sentence.")


def _permutations(names: Sequence[str], wanted: int, seed: int) -> tuple[Iterable[tuple[str, ...]], int, bool]:
    """All relabellings when there are at most ``wanted`` (exhaustive), else ``wanted`` seeded random ones."""
    if math.factorial(len(names)) <= wanted:
        return itertools.permutations(names), math.factorial(len(names)), True
    rng = np.random.default_rng(seed)
    return (tuple(names[i] for i in rng.permutation(len(names))) for _ in range(wanted)), wanted, False


def _relabel(item: Implication, mapping: Mapping[str, str]) -> Implication:
    """The implication of the relabelled graph (selection nodes are not relabelled: they stay conditioned)."""
    return Implication(x=mapping[item.x], y=mapping[item.y], given=sorted(mapping.get(g, g) for g in item.given))


@dataclass
class _Separation:
    """d-separation in the given DAG, cached (relabelled implications repeat)."""

    graph: nx.DiGraph
    cache: dict[tuple[frozenset[str], frozenset[str]], bool] = field(default_factory=dict)

    def holds(self, item: Implication) -> bool:
        key = (frozenset((item.x, item.y)), frozenset(item.given))
        if key not in self.cache:
            self.cache[key] = nx.is_d_separator(self.graph, {item.x}, {item.y}, set(item.given))
        return self.cache[key]


def falsify(
    spec: DagSpec,
    frame: pd.DataFrame,
    *,
    alpha: float = 0.05,
    alpha_ci: float = 0.05,
    n_permutations: int = N_PERMUTATIONS,
    limit: int = MAX_IMPLICATIONS,
    seed: int = 0,
    max_tests: int = MAX_CI_TESTS,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    method: str = "linear",
    cluster: str | None = None,
) -> Falsification:
    """Local tests plus the permutation verdict (``n_permutations=0``: local tests only). Bounded: at most
    ``limit`` implications (sampled beyond, said so) and ``max_tests`` distinct CI tests; ``should_stop()``
    ends the permutations early (said so). ``method``: "linear" (partial correlation, fast) or "gcm" (the
    generalised covariance measure with spline regressions: valid for non-linear relations). ``cluster``: a
    column of ``frame`` whose rows are not independent (the project's cluster); the GCM then sums residual
    products within its clusters (cluster-robust), the linear test says it does not."""
    started = time.perf_counter()
    if frame is None or frame.empty:
        raise FalsifyError("there are no data rows to test the DAG against")
    errors = validate_dag(spec)
    if errors:
        raise FalsifyError(f"the DAG is not valid: {errors[0]}")
    sample: ImplicationSample = sample_implications(spec, limit=limit, seed=seed)
    if method not in TEST_METHODS:
        raise FalsifyError(f"unknown test '{method}': choose one of {', '.join(TEST_METHODS)}")
    columns = {node.name: node.column for node in spec.nodes if not node.latent}
    selected = frozenset(getattr(spec, "selected", None) or [])
    codes, n_clusters = cluster_codes(frame, cluster)
    tester = (GCMTester(frame, columns, selected=selected, seed=seed, clusters=codes) if method == "gcm"
              else CITester(frame, columns, selected=selected))
    local = local_tests(tester, sample.implications, alpha)
    result = Falsification(local=local, implications_note=sample.note(), sampled=sample.sampled, alpha=alpha,
                           alpha_ci=alpha_ci, method=TEST_METHODS[method], cluster=cluster or "",
                           n_clusters=n_clusters)
    result.cluster_note = cluster_note(method, cluster, n_clusters, int((codes < 0).sum()) if codes is not None else 0)
    tested = [row for row in local if row.p_value is not None]
    result.n_tested = len(tested)
    result.violations = sum(1 for row in tested if row.p_value < alpha_ci)
    result.violations_holm = sum(1 for row in tested if row.violated)
    if tested and n_permutations > 0:
        _permutation_test(result, spec, tester, sample.implications, n_permutations, seed, max_tests, progress,
                          should_stop)
    result.tests_run, result.cache_hits = tester.runs, tester.hits
    result.seconds = time.perf_counter() - started
    result.sentence = " ".join(part for part in (verdict_sentence(result), result.cluster_note) if part)
    return result


MIN_CALIBRATED_CLUSTERS = 20  # below this the F(d, G − d) reference is rough (measured: 2 % at 12 clusters)


def cluster_codes(frame: pd.DataFrame, cluster: str | None) -> tuple[np.ndarray | None, int]:
    """Integer codes of the cluster column (−1 where missing) and the number of clusters; a clear refusal when the
    column is absent or holds fewer than two clusters."""
    if not cluster:
        return None, 0
    if cluster not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:12])) + (" …" if len(frame.columns) > 12 else "")
        raise FalsifyError(f"the cluster column '{cluster}' is not in the data (its columns: {shown})")
    codes, levels = pd.factorize(frame[cluster])
    if len(levels) < 2:
        raise FalsifyError(f"the cluster column '{cluster}' holds {len(levels)} cluster(s): a cluster-robust test "
                           "needs at least two")
    return np.asarray(codes), len(levels)


def cluster_note(method: str, cluster: str | None, n_clusters: int, missing: int) -> str:
    """One sentence on how the rows' dependence was handled: summed within clusters, approximate, or ignored."""
    if not cluster:
        return ""
    if method != "gcm":
        return (f"The linear test treats rows as independent although '{cluster}' groups them: rows of a cluster "
                "overstate significance; the GCM test sums within clusters (cluster-robust).")
    dropped = f"; {missing:,} rows without a cluster are left out" if missing else ""
    if n_clusters < MIN_CALIBRATED_CLUSTERS:
        return (f"Cluster-robust but approximate: residual products summed within only {n_clusters} clusters of "
                f"'{cluster}' (fewer than {MIN_CALIBRATED_CLUSTERS}: the F reference is rough, the size and power "
                "of each test are not what they say){dropped}.")
    return (f"Cluster-robust: residual products summed within the {n_clusters} clusters of '{cluster}', "
            f"F reference with G − 1 df{dropped}.")


def _share_violated(tester: CITester, implications: Iterable[Implication], alpha_ci: float) -> float | None:
    p_values = [tester.test(item.x, item.y, item.given).p_value for item in implications]
    tested = [p for p in p_values if p is not None]
    return sum(1 for p in tested if p < alpha_ci) / len(tested) if tested else None


def _permutation_test(
    result: Falsification,
    spec: DagSpec,
    tester: CITester,
    implications: Sequence[Implication],
    n_permutations: int,
    seed: int,
    max_tests: int,
    progress: ProgressFn | None,
    should_stop: StopFn | None,
) -> None:
    names = sorted(observed_names(spec) - set(getattr(spec, "selected", None) or []))
    separation = _Separation(to_networkx(spec))
    orders, total, result.exhaustive = _permutations(names, n_permutations, seed)
    given_share = result.violations / result.n_tested
    shares: list[float] = []
    for done, order in enumerate(orders):
        if should_stop is not None and should_stop():
            result.stopped = f"stopped by the analyst after {done} of {total} relabellings"
            break
        if tester.runs >= max_tests:
            result.stopped = f"stopped at the budget of {max_tests:,} distinct CI tests after {done} relabellings"
            break
        mapping = dict(zip(names, order, strict=True))
        relabelled = [_relabel(item, mapping) for item in implications]
        share = _share_violated(tester, relabelled, result.alpha_ci)
        if share is not None:  # both counts over the same relabellings: those with a testable implication
            shares.append(share)
            result.same_class += all(separation.holds(item) for item in relabelled)
        if progress is not None and (done % 20 == 0 or done + 1 == total):
            progress((done + 1) / total, f"relabelling {done + 1} of {total}")
    result.n_permutations = len(shares)
    result.permutation_violation_share = shares
    if not shares:
        return
    result.p_value = sum(1 for share in shares if share <= given_share) / len(shares)
    result.p_informative = result.same_class / len(shares)
    result.informative, result.falsified = decide(result.p_value, result.p_informative, result.alpha,
                                                  result.violations_holm)


def decide(p_value: float, p_informative: float, alpha: float, violations_holm: int) -> tuple[bool, bool]:
    """(informative, falsified). Informative as DoWhy's rule: not when α < p_informative. Falsified needs
    DoWhy's p > α > p_informative *and* at least one implication violated after Holm.

    Why the extra condition (a deliberate departure from DoWhy): with weak associations, random relabellings
    also violate few implications, so "no better than random" happens to true DAGs too. Measured on data
    simulated from the retention DAG (2,000 rows, 20 runs, bench/bench_dag.py): DoWhy's rule alone said
    "falsified" 11 times out of 20; requiring a Holm-significant contradiction bounds that false alarm by the
    family-wise level.
    """
    informative = not alpha < p_informative
    return informative, p_value > alpha > p_informative and violations_holm > 0


def verdict_sentence(result: Falsification) -> str:
    """One plain sentence (plus the numbers) for the page and the CLI."""
    if result.n_tested == 0:
        return (
            "Nothing could be tested: the graph implies no independence among observed columns in these data, "
            "so the data cannot falsify it."
        )
    counts = f"it violates {result.violations} of {result.n_tested} implications at p < {result.alpha_ci:g}"
    counts += f" ({result.violations_holm} after Holm)"
    if result.n_permutations == 0 and not result.stopped:
        return f"Local tests only (no node relabellings run): {counts.replace('it violates', 'this DAG violates', 1)}."
    if result.p_value is None:
        return f"No relabelling could be scored, so there is no global verdict; {counts}."
    runs = f"{result.n_permutations}{' (all)' if result.exhaustive else ''} node relabellings"
    as_good = f"{result.p_value:.0%} of {runs} violate as few or fewer"
    if not result.informative:
        return (
            f"The data cannot falsify this DAG: {result.same_class} of {runs} imply the same independencies "
            f"(p = {result.p_informative:.2f} > {result.alpha:g}), so fitting the data would not single it out; "
            f"{counts}."
        )
    if result.falsified:
        return (
            f"The data falsify this DAG: {counts}, and it fits no better than a random relabelling ({as_good}, "
            f"p = {result.p_value:.2f} > {result.alpha:g}). Revisit the edges between the violated pairs."
        )
    if result.violations_holm:
        better = (
            f"it still fits better than {1 - result.p_value:.0%} of {runs} (p = {result.p_value:.2f})"
            if result.p_value <= result.alpha
            else f"against random relabellings it is not clearly better ({as_good}, p = {result.p_value:.2f})"
        )
        return (
            f"The data contradict {result.violations_holm} of this DAG's {result.n_tested} implications after "
            f"Holm ({result.violations} at p < {result.alpha_ci:g}): revisit those edges; {better}."
        )
    if result.p_value <= result.alpha:
        return (
            f"The data do not falsify this DAG: {counts}, and it fits better than {1 - result.p_value:.0%} of "
            f"{runs} (p = {result.p_value:.2f} ≤ {result.alpha:g}); it is informative ({result.same_class} of "
            "the relabellings imply the same independencies)."
        )
    return (
        f"The data do not contradict this DAG ({counts}) but cannot single it out either: {as_good} "
        f"(p = {result.p_value:.2f} > {result.alpha:g}), so the "
        "associations may be too weak at this sample size. (DoWhy's falsify_graph would reject it on this count "
        "alone; here a rejection needs a contradicted implication.)"
    )


# ---------------------------------------------------------------------------------------------
# Tables for the page and the charts (data only; drawing lives in causal_core/dag/charts.py)
# ---------------------------------------------------------------------------------------------
def local_table(result: Falsification) -> pd.DataFrame:
    """One row per implication, as the page and the CLI show it."""
    columns = ["implication", "test", "n", "estimate", "ci_low", "ci_high", "p_value", "p_holm", "verdict"]
    return pd.DataFrame([row.model_dump(include=set(columns)) for row in result.local], columns=columns)


def forest_rows(result: Falsification) -> pd.DataFrame:
    """Rows with a partial correlation and its CI (Fisher z), labelled by their Holm verdict; Wilks rows
    have no single correlation and are left to the table."""
    table = local_table(result)
    table = table[table["ci_low"].notna()].copy()
    table["status"] = ["violated (Holm)" if row.violated else "consistent" for row in result.local
                       if row.ci_low is not None]
    return table


def permutation_rows(result: Falsification) -> pd.DataFrame:
    """Share of violated implications per relabelled graph, plus the given DAG's share (``given``)."""
    shares = pd.DataFrame({"share_violated": result.permutation_violation_share})
    shares["graph"] = "relabelled"
    given = result.violations / result.n_tested if result.n_tested else None
    return pd.concat([shares, pd.DataFrame({"share_violated": [given], "graph": ["given DAG"]})], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# The non-linear test (method="gcm")
# ---------------------------------------------------------------------------------------------
# A conditional-independence test that does not invent edges when relations are non-linear.
#
# Why: the default DAG test is a *linear* partial correlation. On a TRUE DAG whose confounder acts through Z1 and Z1²,
# conditioning linearly on Z1 leaves Z1² in both residuals, and the test reports a violated implication in almost every
# run, so an analyst would add an edge that does not exist. The generalised covariance measure (Shah & Peters 2020,
# "The hardness of conditional independence testing and the generalised covariance measure") regresses x and y on the
# conditioning set with a flexible model, out of fold, and tests whether the products of the residuals have mean 0.
# Here the flexible model is least squares on a cubic spline basis of each numeric conditioning column (5 knots at
# quantiles) plus the one-hot blocks of categories; with two-fold cross-fitting the residuals are honest.
#
# Multi-column sides (a category's one-hot block) use the multivariate form: T = n · R̄ᵀ Σ⁻¹ R̄ over the products of
# every x-column with every y-column, χ² with that many degrees of freedom. Large tables are sampled to
# ``MAX_GCM_ROWS`` rows (seeded), and the row count each test used is reported.
GCM = "generalised covariance measure (spline regressions, 2-fold cross-fitted)"
MAX_GCM_ROWS = 20_000  # beyond this a seeded sample: the spline fits stay well under a second per test
SPLINE_KNOTS = 5
MIN_LEVELS_FOR_SPLINE = 8  # a column with fewer distinct values enters linearly (binary, small counts)


def _basis(block: np.ndarray) -> np.ndarray:
    """Spline columns for numeric conditioning columns with enough distinct values; the rest as they are."""
    parts = [np.ones((block.shape[0], 1))]
    for column in block.T:
        if np.unique(column).size >= MIN_LEVELS_FOR_SPLINE:
            spline = SplineTransformer(n_knots=SPLINE_KNOTS, degree=3, knots="quantile", include_bias=False)
            parts.append(spline.fit_transform(column.reshape(-1, 1)))
        else:
            parts.append(column.reshape(-1, 1))
    return np.column_stack(parts)


def _out_of_fold_residuals(target: np.ndarray, basis: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Residuals of each target column, each fold predicted by least squares fitted on the other fold."""
    residuals = np.empty_like(target)
    for fold in (0, 1):
        train, test = folds != fold, folds == fold
        coef, *_ = np.linalg.lstsq(basis[train], target[train], rcond=None)
        residuals[test] = target[test] - basis[test] @ coef
    return residuals


def _folds(n: int, seed: int, clusters: np.ndarray | None) -> np.ndarray:
    """Two folds of rows, or of whole clusters: a cluster's rows never train the fit that predicts them."""
    rng = np.random.default_rng(seed)
    if clusters is None:
        return rng.permutation(n) % 2
    return (rng.permutation(int(clusters.max()) + 1) % 2)[clusters]


def gcm_statistic(x: np.ndarray, y: np.ndarray, given: np.ndarray, seed: int = 0,
                  clusters: np.ndarray | None = None) -> tuple[float, int, float]:
    """(statistic, degrees of freedom, p-value) of the GCM test of x ⊥ y | given (2-D float arrays).

    ``clusters`` (integer codes 0..G−1, one per row): the residual products are summed within clusters before
    their variance is taken (CR1, G/(G−1)), folds are whole clusters, and the Wald statistic is referred to
    F(d, G − d) instead of χ²(d) (Hotelling's small-G form; d = 1 is the t test with G − 1 df). Why: rows of a
    cluster share random effects, so their products are correlated; the i.i.d. variance understates the noise
    and the test rejects true independencies (measured in tests/test_falsify_cluster.py).
    """
    n = x.shape[0]
    basis = _basis(given) if given.shape[1] else np.ones((n, 1))
    folds = _folds(n, seed, clusters)
    rx = _out_of_fold_residuals(x, basis, folds)
    ry = _out_of_fold_residuals(y, basis, folds)
    products = (rx[:, :, None] * ry[:, None, :]).reshape(n, -1)
    mean = products.mean(axis=0)
    df = products.shape[1]
    if clusters is None:
        covariance = np.atleast_2d(np.cov(products, rowvar=False))
        statistic = float(n * mean @ np.linalg.pinv(covariance) @ mean)
        return statistic, df, float(stats.chi2.sf(statistic, df))
    groups = int(clusters.max()) + 1
    sums = np.zeros((groups, df))
    np.add.at(sums, clusters, products)  # uncentred: under independence the products have mean 0 (a score test)
    covariance = groups / (groups - 1) * sums.T @ sums / n
    statistic = float(n * mean @ np.linalg.pinv(covariance) @ mean)
    f_value = statistic * (groups - df) / (df * (groups - 1))
    return statistic, df, float(stats.f.sf(f_value, df, groups - df))


@dataclass
class GCMTester(CITester):
    """The linear tester's encoding, caching and bookkeeping, with the GCM in place of the partial correlation."""

    seed: int = 0
    clusters: np.ndarray | None = None  # integer cluster codes per frame row, −1 where the cluster is missing

    def _test_usable(self, x: str, y: str, given: list[str]) -> CIResult:
        blocks = [self._blocks[name][0] for name in (x, y, *given)]
        rows = np.all([~np.isnan(block).any(axis=1) for block in blocks], axis=0)
        if self.clusters is not None:
            rows &= self.clusters >= 0
        index = np.flatnonzero(rows)
        if index.size > MAX_GCM_ROWS:  # a seeded sample (the method's description says so)
            index = np.sort(np.random.default_rng(self.seed).choice(index, MAX_GCM_ROWS, replace=False))
        if index.size < MIN_ROWS:
            return CIResult(n=int(index.size), note=f"only {index.size} complete rows (fewer than {MIN_ROWS})")
        xs, ys = blocks[0][index], blocks[1][index]
        if xs.std(axis=0).max() <= 1e-12 or ys.std(axis=0).max() <= 1e-12:
            return CIResult(n=int(index.size), note="a side does not vary in the complete rows")
        cond = np.column_stack([block[index] for block in blocks[2:]]) if given else np.zeros((index.size, 0))
        codes = None
        if self.clusters is not None:
            codes = np.unique(self.clusters[index], return_inverse=True)[1]
            groups, needed = int(codes.max()) + 1, xs.shape[1] * ys.shape[1] + 1
            if groups <= needed:
                return CIResult(n=int(index.size), note=f"only {groups} clusters in the complete rows (this test "
                                f"needs more than {needed})")
        statistic, df, p_value = gcm_statistic(xs, ys, cond, self.seed, codes)
        return CIResult(n=int(index.size), test=GCM, statistic=statistic, df=df, p_value=p_value)
