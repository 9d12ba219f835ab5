"""The specification curve: the space built from the project, rows equal to the Estimation page's, shared fits,
the summary's figures, the teaching cases on retention and support, and every bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from causal_core import dag, estimation
from causal_core.data import LoadedData, analysis_frame, project_for_builtin, project_for_upload
from causal_core.multiverse import (
    MAX_SPECIFICATIONS,
    MultiverseError,
    build_space,
    run_multiverse,
    variance_decomposition,
    with_multiverse,
)
from causal_core.multiverse.runner import run_space
from causal_core.project import (
    DagEdge,
    DagNode,
    DagSpec,
    DataSource,
    DictionaryEntry,
    MultiverseOptions,
    MultiverseRow,
)

NAIVE_RETENTION = 0.0785  # N01 §11's naive difference (0.078)
TRUE_ATE_RETENTION = -0.0463


@pytest.fixture(scope="module")
def retention():
    project, raw = project_for_builtin("retention")
    return project.model_copy(update={"dag": dag.default_dag("retention")}), raw


@pytest.fixture(scope="module")
def support():
    project, raw = project_for_builtin("support")
    return project.model_copy(update={"dag": dag.default_dag("support")}), raw


def _rows(result, **choices):
    return [r for r in result.rows if all(r.choices[k] == v for k, v in choices.items())]


def _one(result, **choices):
    rows = _rows(result, **choices)
    assert len(rows) == 1, (choices, len(rows))
    return rows[0]


# ---- the space ------------------------------------------------------------------------------------
def test_space_on_retention_comes_from_the_dag_dictionary_and_card(retention):
    project, raw = retention
    space = build_space(project, raw)
    recommended = space.sets[0]
    assert recommended.label.startswith("DAG recommended") and recommended.validity == "valid"
    assert set(recommended.columns) == set(dag.RETENTION_COVARIATES[i][0] for i in range(7))
    assert "analyst's" in recommended.label and "all eligible" in recommended.label  # identical sets merged
    assert space.estimators == ["regression", "gcomp", "ipw", "aipw", "aipw_cf:exact"]
    assert space.trimming == ["none", "bounds", "crump"] and space.estimands == ["ATE"]
    assert space.count() == 15 and space.grain == ["none"] and space.clusters == ["none"]
    assert space.main["estimator"] == "aipw" and space.main["trimming"] == "none"


def test_invalid_sets_enter_only_on_request_and_are_labelled(retention):
    project, raw = retention
    plain = build_space(project, raw)
    damaged = build_space(project, raw, MultiverseOptions(include_invalid=True))
    assert all(s.validity == "valid" for s in plain.sets)
    drop = damaged.set_by_label("drop health_score")
    assert drop.validity == "invalid" and "outreach ← health_score → churn" in drop.reason
    assert len(damaged.sets) == 1 + 7


def test_dag_minimal_sets_are_capped_and_the_cap_is_stated():
    """Four independent confounders each with two observed proxies on the backdoor path: 2^4 minimal sets."""
    nodes, edges = [DagNode(name="T", column="T"), DagNode(name="Y", column="Y")], [DagEdge(source="T", target="Y")]
    for i in range(4):
        nodes += [DagNode(name=f"a{i}", column=f"a{i}"), DagNode(name=f"b{i}", column=f"b{i}")]
        edges += [
            DagEdge(source=f"a{i}", target="T"),
            DagEdge(source=f"a{i}", target=f"b{i}"),
            DagEdge(source=f"b{i}", target="Y"),
        ]
    spec = DagSpec(nodes=nodes, edges=edges, treatment="T", outcome="Y")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 9)), columns=["Y", *[f"{p}{i}" for i in range(4) for p in "ab"]])
    frame["T"] = rng.integers(0, 2, 200)
    project = _upload_project(spec, frame)
    space = build_space(project, frame, MultiverseOptions(max_dag_sets=3, estimators=["regression"], trimming=["none"]))
    from_dag = [s for s in space.sets if "dag" in s.sources]
    assert len(from_dag) == 3 and all(len(s.columns) == 4 and s.validity == "valid" for s in from_dag)
    assert any("16 minimal adjustment sets; the curve uses the first 3" in note for note in space.notes)


def _upload_project(spec: DagSpec, frame: pd.DataFrame):
    source = DataSource(kind="upload", name="x.csv", sha256="0" * 64, rows=len(frame), columns=list(frame.columns))
    return project_for_upload(LoadedData(frame, source)).model_copy(
        update={"dag": spec, "treatment": spec.treatment, "outcome": spec.outcome}
    )


def test_a_set_only_the_adjustment_criterion_accepts_is_valid_and_says_why():
    """C → X → Y ← C and X → D: {C, D} holds a descendant of X (backdoor: no) that lies on no causal path
    and descends from none (adjustment criterion: yes), so adjusting for D does no harm."""
    spec = DagSpec(
        nodes=[DagNode(name=n, column=n) for n in "CXYD"],
        edges=[DagEdge(source=a, target=b) for a, b in ("CX", "CY", "XY", "XD")],
        treatment="X",
        outcome="Y",
    )
    rng = np.random.default_rng(1)
    c = rng.normal(size=500)
    x = (rng.random(500) < 1 / (1 + np.exp(-c))).astype(int)
    frame = pd.DataFrame({"C": c, "X": x, "Y": x + c + rng.normal(size=500), "D": x + rng.normal(size=500)})
    project = _upload_project(spec, frame)
    space = build_space(project, frame, MultiverseOptions(extra_sets=[["C", "D"]], estimators=["regression"]))
    both = space.set_by_label("extra #1")
    assert both.validity == "valid" and "valid under the adjustment criterion" in both.reason


# ---- rows equal the Estimation page's numbers -------------------------------------------------------
def test_each_row_equals_run_estimation_for_the_same_specification(retention):
    project, raw = retention
    frame = analysis_frame(project, raw)
    result = run_multiverse(
        project, raw, MultiverseOptions(both_estimands=True, estimators=["regression", "gcomp", "ipw", "aipw"])
    )
    spec = estimation.default_spec(project, frame)
    for estimand in ("ATE", "ATT"):
        for trim in (None, "crump"):
            page = estimation.run_estimation(
                frame,
                spec.model_copy(update={"estimand": estimand, "trim": trim}),
                sensitivity=False,
                refutations=False,
            )
            for method in ("regression", "gcomp", "ipw", "aipw"):
                expected = next(r for r in page.estimates if r.method == method)
                row = _one(result, estimand=estimand, trimming=trim or "none", estimator=method)
                assert row.estimate == pytest.approx(expected.estimate, abs=1e-10), (estimand, trim, method)
                assert row.std_error == pytest.approx(expected.std_error, abs=1e-10)
                assert row.n_used == expected.n_used and row.estimand == expected.estimand
    sentences = result.summary["sentences"]
    assert not any(s.startswith("The choice that moves the estimate most is the estimand") for s in sentences)
    assert any("ATE and ATT answer different questions, so that part is not fragility" in s for s in sentences)


def test_crossfitted_aipw_row_equals_the_page_with_five_folds(retention):
    project, raw = retention
    frame = analysis_frame(project, raw)
    result = run_multiverse(project, raw, MultiverseOptions(estimators=["aipw_cf"], trimming=["none"]))
    spec = estimation.default_spec(project, frame).model_copy(update={"crossfit_folds": 5})
    page = estimation.run_estimation(frame, spec, sensitivity=False, refutations=False)
    expected = next(r for r in page.estimates if r.method == "aipw")
    row = _one(result, estimator="aipw_cf:exact")
    assert row.estimate == pytest.approx(expected.estimate, abs=1e-10) and "5-fold cross-fitted" in row.se_type
    assert row.label == expected.label and row.se_type == expected.se_type


@pytest.mark.heavy  # 12 s: the page's 5-fold penalised fits for ATE and ATT; docs/testing.md
def test_learner_rows_equal_the_page_and_share_one_crossfit_across_estimands(support):
    project, raw = support
    frame = analysis_frame(project, raw)
    options = MultiverseOptions(
        estimators=["aipw_cf"],
        learners=["penalised"],
        trimming=["none"],
        both_estimands=True,
        grain=False,
        cluster=False,
    )
    result = run_multiverse(project, raw, options)
    assert result.summary["fits"]["crossfit"] == 1 and len(result.rows) == 2
    spec = estimation.default_spec(project, frame).model_copy(
        update={"ps_learner": "logistic_cv", "outcome_learner": "ridge_cv", "crossfit_folds": 5}
    )
    for estimand in ("ATE", "ATT"):
        page = estimation.run_estimation(
            frame, spec.model_copy(update={"estimand": estimand}), sensitivity=False, refutations=False
        )
        expected = next(r for r in page.estimates if r.method == "aipw")
        row = _one(result, estimand=estimand)
        assert row.estimate == pytest.approx(expected.estimate, abs=1e-10) and row.se_type == expected.se_type
        assert row.label == expected.label and row.interval_note.startswith("Approximate")


def test_stop_during_a_learners_crossfit_leaves_the_row_stopped_not_failed(support):
    project, raw = support
    options = MultiverseOptions(
        estimators=["aipw_cf"], learners=["penalised"], trimming=["none"], grain=False, cluster=False
    )
    space = build_space(project, raw, options)
    calls = iter([False, False, False])  # before the design, before the row, before the first fit; then Stop
    seen: list[str] = []
    result = run_space(
        project,
        raw,
        space,
        options,
        should_stop=lambda: next(calls, True),
        progress=lambda fraction, message: seen.append(message),
    )
    assert [r.status for r in result.rows] == ["stopped"] and result.cancelled
    assert result.summary["n_failed"] == 0


# ---- shared fits ------------------------------------------------------------------------------------
def test_one_propensity_and_one_outcome_fit_serve_every_estimand_and_estimator(retention, monkeypatch):
    project, raw = retention
    calls = {"propensity": 0, "outcome_models": 0, "build_design": 0}
    for name in calls:
        original = getattr(estimation, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(estimation, name, counted)
    result = run_multiverse(
        project, raw, MultiverseOptions(both_estimands=True, estimators=["ipw", "aipw"], trimming=["none"])
    )
    assert len(result.rows) == 4 and all(r.status == "ok" for r in result.rows)
    assert calls == {"propensity": 1, "outcome_models": 1, "build_design": 1}
    assert result.summary["fits"] == {"designs": 1, "propensity": 1, "outcome": 1, "crossfit": 0}


def test_trimming_reuses_the_untrimmed_fit_and_fits_each_trimmed_design_once(retention, monkeypatch):
    project, raw = retention
    calls = []
    original = estimation.propensity
    monkeypatch.setattr(estimation, "propensity", lambda *a, **kw: calls.append(1) or original(*a, **kw))
    result = run_multiverse(project, raw, MultiverseOptions(estimators=["ipw", "aipw"], both_estimands=True))
    trimmed = [r for r in result.rows if "kept" in r.reason]  # the statement names the bounds
    rules = {r.reason for r in trimmed}
    kept_rows = {r.n_used for r in trimmed}  # ATE [0.02, 0.98] and ATT [0, 0.98] keep the same 5,999 rows
    assert len(result.rows) == 2 * 2 * 3 and len(rules) == 3 and kept_rows == {5999, 5743}
    assert len(calls) == 1 + len(kept_rows)  # untrimmed + one per distinct set of kept rows


def test_cluster_choice_changes_standard_errors_not_estimates(support):
    project, raw = support
    result = run_multiverse(project, raw, MultiverseOptions(estimators=["regression", "aipw"], trimming=["none"]))
    assert result.dimensions["cluster"] == ["team_id", "none"]
    for estimator in ("regression", "aipw"):
        clustered = _one(result, grain="none", cluster="team_id", estimator=estimator)
        independent = _one(result, grain="none", cluster="none", estimator=estimator)
        assert clustered.estimate == pytest.approx(independent.estimate, abs=1e-12)
        assert "cluster" in clustered.se_type and "cluster" not in independent.se_type
        assert clustered.std_error != pytest.approx(independent.std_error, rel=0.05)


# ---- properties -------------------------------------------------------------------------------------
def test_adding_a_constant_to_the_outcome_changes_no_estimate(support):
    project, raw = support
    options = MultiverseOptions(
        estimators=["regression", "gcomp", "ipw", "aipw"], trimming=["none", "crump"], grain=False
    )
    base = run_multiverse(project, raw, options)
    shifted = run_multiverse(project, raw.assign(human_handled_hours=raw["human_handled_hours"] + 100.0), options)
    for a, b in zip(base.rows, shifted.rows, strict=True):
        assert a.choices == b.choices and a.status == b.status == "ok"
        assert b.estimate == pytest.approx(a.estimate, abs=1e-7), a.choices
        assert b.std_error == pytest.approx(a.std_error, rel=1e-6)


# ---- the summary ---------------------------------------------------------------------------------------
def _synthetic(estimates: list[tuple[str, str, float]]) -> list[MultiverseRow]:
    return [
        MultiverseRow(
            id=i, choices={"A": a, "B": b}, estimate=value, ci_low=value - 1, ci_high=value + 1, validity="valid"
        )
        for i, (a, b, value) in enumerate(estimates)
    ]


def test_variance_decomposition_recovers_additive_main_effects():
    """Balanced 2×2 with effects ±1 (A) and ±2 (B): η² = 1/5 and 4/5, nothing left for interactions."""
    rows = _synthetic([(a, b, sa + sb) for a, sa in (("a0", -1), ("a1", 1)) for b, sb in (("b0", -2), ("b1", 2))])
    shares = {d["dimension"]: d["share"] for d in variance_decomposition(rows, ["A", "B"])}
    assert shares == pytest.approx({"A": 0.2, "B": 0.8})
    interacting = _synthetic(
        [(a, b, sa * sb) for a, sa in (("a0", -1), ("a1", 1)) for b, sb in (("b0", -1), ("b1", 1))]
    )
    pure = {d["dimension"]: d["share"] for d in variance_decomposition(interacting, ["A", "B"])}
    assert pure == pytest.approx({"A": 0.0, "B": 0.0})  # a pure interaction: no single choice moves the mean


def test_summary_figures_on_retention_and_invalid_kept_apart(retention):
    project, raw = retention
    result = run_multiverse(project, raw, MultiverseOptions(include_invalid=True))
    summary = result.summary
    valid = [r.estimate for r in result.rows if r.validity == "valid"]
    assert summary["n_valid_estimated"] == len(valid) == 15
    assert summary["valid"]["median"] == pytest.approx(float(np.median(valid)))
    assert summary["valid"]["min"] == pytest.approx(min(valid)) and summary["valid"]["share_same_sign"] == 1.0
    assert summary["invalid"]["n"] == 7 * 15
    assert abs(summary["valid"]["median"] - TRUE_ATE_RETENTION) < 0.005
    assert summary["valid"]["verdict"] == "robust"
    assert any(s.startswith("Across 15 valid specifications, 100% have the same sign") for s in summary["sentences"])
    assert any("kept apart and not pooled" in s for s in summary["sentences"])


def test_retention_dropping_health_score_moves_toward_the_naive_difference(retention):
    """N01's lesson: without the health score the estimate drifts from the truth (−0.046) toward naive 0.078."""
    project, raw = retention
    result = run_multiverse(project, raw, MultiverseOptions(include_invalid=True, trimming=["none"]))
    for estimator in ("regression", "aipw"):
        valid = _one(result, **{"adjustment set": result.rows[0].choices["adjustment set"], "estimator": estimator})
        dropped = _one(result, **{"adjustment set": "drop health_score", "estimator": estimator})
        assert valid.validity == "valid" and dropped.validity == "invalid"
        assert abs(valid.estimate - TRUE_ATE_RETENTION) < 0.005
        assert dropped.estimate > valid.estimate + 0.02  # ≈ −0.019 / −0.021: toward +0.078
        assert abs(dropped.estimate - NAIVE_RETENTION) < abs(valid.estimate - NAIVE_RETENTION)
    medians = {item["set"]: item["median"] for item in result.summary["invalid_sets"]}
    assert max(medians, key=medians.get) == "drop health_score"


def _with_engagement(project, raw):
    """Retention has no measured post-treatment column; add the N01 DAG's 'post-outreach engagement' as data:
    raised by outreach and lower for accounts that go on to churn (measured after the treatment)."""
    rng = np.random.default_rng(7)
    raw = raw.assign(post_outreach_engagement=0.8 * raw["outreach"] - 1.2 * raw["churn"] + rng.normal(0, 1, len(raw)))
    spec = dag.set_column(project.dag, "post_outreach_engagement", "post_outreach_engagement")
    entry = DictionaryEntry(variable="post_outreach_engagement", timing="post_treatment", timing_label="post-treatment")
    return project.model_copy(update={"dag": spec, "dictionary": [*project.dictionary, entry]}), raw


def test_retention_post_treatment_control_is_invalid_and_visibly_apart(retention):
    project, raw = _with_engagement(*retention)
    result = run_multiverse(project, raw, MultiverseOptions(include_invalid=True, trimming=["none"]))
    bad = _rows(result, **{"adjustment set": "add post_outreach_engagement"})
    assert bad and all(r.validity == "invalid" and "post-treatment" in r.validity_reason for r in bad)
    assert all(r.estimate > 0.05 for r in bad)  # sign flips: the bad control manufactures a harmful "effect"
    assert result.summary["valid"]["max"] < 0 and result.summary["invalid"]["max"] > 0.05
    from causal_core.multiverse import curve_data

    points, _ = curve_data(result)
    valid_ranks = points.loc[points["group"] != "invalid (DAG/dictionary)", "rank"]
    invalid_ranks = points.loc[points["group"] == "invalid (DAG/dictionary)", "rank"]
    assert invalid_ranks.min() > valid_ranks.max() + 1  # drawn apart, after a gap


def test_support_grain_and_cluster_are_dimensions_and_dropping_backlog_moves_toward_naive(support):
    project, raw = support
    result = run_multiverse(
        project, raw, MultiverseOptions(include_invalid=True, estimators=["regression"], trimming=["none"])
    )
    assert result.dimensions["grain"] == ["none", "keep_first", "average"]
    assert result.dimensions["cluster"] == ["team_id", "none"]
    recommended = result.rows[0].choices["adjustment set"]
    as_loaded = _one(result, grain="none", cluster="team_id", **{"adjustment set": recommended})
    deduped = _one(result, grain="keep_first", cluster="team_id", **{"adjustment set": recommended})
    assert as_loaded.n_used - deduped.n_used == 8  # the 8 duplicated team-weeks
    assert as_loaded.estimate == pytest.approx(-28.385, abs=0.01) and deduped.estimate == pytest.approx(
        -28.22, abs=0.01
    )
    dropped = _one(result, grain="none", cluster="team_id", **{"adjustment set": "drop backlog_start"})
    assert dropped.validity == "invalid" and dropped.estimate < -35  # toward the naive −39.5


def test_an_alternative_outcome_marked_in_the_dictionary_is_a_dimension(retention):
    project, raw = retention
    rng = np.random.default_rng(5)
    raw = raw.assign(churn_60d=np.where(rng.random(len(raw)) < 0.1, 1 - raw["churn"], raw["churn"]))
    entry = DictionaryEntry(variable="churn_60d", timing="outcome", role="alternative outcome (60-day churn)")
    project = project.model_copy(update={"dictionary": [*project.dictionary, entry]})
    result = run_multiverse(project, raw, MultiverseOptions(estimators=["regression"], trimming=["none"]))
    assert result.dimensions["outcome"] == ["churn", "churn_60d"]
    alternative = _one(result, outcome="churn_60d")
    main = _one(result, outcome="churn")
    assert alternative.status == "ok" and alternative.estimate != main.estimate
    assert "alternative outcome churn_60d is assumed to share its causes" in alternative.validity_reason
    assert main.is_main and not alternative.is_main


def test_the_main_specification_is_the_aipw_variant_the_analyst_ran(retention):
    from causal_core.multiverse.memo_text import stale_reason

    project, raw = retention
    frame = analysis_frame(project, raw)
    spec = estimation.default_spec(project, frame).model_copy(update={"crossfit_folds": 5})
    project = project.model_copy(
        update={"estimation": estimation.run_estimation(frame, spec, sensitivity=False, refutations=False)}
    )
    assert build_space(project, raw).main["estimator"] == "aipw_cf:exact"
    assert stale_reason(with_multiverse(project, raw, MultiverseOptions(trimming=["none"]))) == ""


def test_an_invalid_analyst_set_never_sets_the_sign_and_is_shown_only_on_request(retention):
    """The issue's example: tenure_months alone (AIPW ≈ +0.07 against a truth of −0.046)."""
    project, raw = retention
    frame = analysis_frame(project, raw)
    spec = estimation.default_spec(project, frame).model_copy(update={"covariates": ["tenure_months"]})
    estimated = estimation.run_estimation(frame, spec, sensitivity=False, refutations=False)
    project = project.model_copy(update={"estimation": estimated})
    space = build_space(project, raw)
    assert "analyst's" not in " ".join(s.label for s in space.sets)
    assert any("The analyst's set is invalid and left out" in note for note in space.notes)
    options = MultiverseOptions(include_invalid=True, estimators=["aipw"], trimming=["none"])
    result = run_multiverse(project, raw, options)
    main = next(r for r in result.rows if r.is_main)
    assert main.choices["adjustment set"] == "analyst's" and main.validity == "invalid" and main.estimate > 0.05
    assert result.summary["valid"]["sign_reference"] == "median" and result.summary["valid"]["share_same_sign"] == 1.0
    assert any("its adjustment set is invalid" in sentence for sentence in result.summary["sentences"])


# ---- bad inputs -----------------------------------------------------------------------------------
def _latent_confounder_project(retention):
    project, raw = retention
    spec = dag.add_node(project.dag, "U", x=100.0, y=300.0)
    spec = dag.set_latent(spec, "U", True)
    spec = dag.add_edge(dag.add_edge(spec, "U", "outreach"), "U", "churn")
    return project.model_copy(update={"dag": spec}), raw


def test_a_dag_with_no_valid_set_refuses_unless_invalid_sets_are_asked_for(retention):
    project, raw = _latent_confounder_project(retention)
    with pytest.raises(MultiverseError, match="No valid adjustment set.*include invalid specifications"):
        build_space(project, raw)
    result = run_multiverse(
        project, raw, MultiverseOptions(include_invalid=True, estimators=["aipw"], trimming=["none"])
    )
    assert result.rows and all(r.validity == "invalid" for r in result.rows)
    assert result.summary["valid"] is None and result.summary["n_invalid_estimated"] == len(result.rows)
    assert result.summary["sentences"][0].startswith("No valid specification was estimated")


def test_more_than_the_limit_is_refused_with_the_count_and_how_to_narrow_it(retention):
    project, raw = retention
    columns = [c for c, _ in dag.RETENTION_COVARIATES]
    extra = [list(c) for size in range(1, 8) for c in itertools.combinations(columns, size)]
    options = MultiverseOptions(
        extra_sets=extra, include_invalid=True, both_estimands=True, alt_outcomes=["usage_score"]
    )
    with pytest.raises(MultiverseError) as error:
        build_space(project, raw, options)
    message = str(error.value)
    assert message.startswith(
        "7,620 specifications requested (127 adjustment sets × 5 estimators × 3 trimming rules × 2 outcomes × 2 estimands)"
    )
    assert f"the limit is {MAX_SPECIFICATIONS:,}" in message
    assert "Narrow it" in message and "one estimand" in message


def test_a_failing_specification_is_kept_with_its_reason(support):
    project, raw = support
    result = run_multiverse(
        project,
        raw,
        MultiverseOptions(include_invalid=True, estimators=["regression", "ipw"], trimming=["none"], grain=False),
    )
    failed = [r for r in result.rows if r.status == "failed"]
    assert failed and {r.choices["adjustment set"] for r in failed} == {"add agent_uses_ai", "add deflection_rate"}
    assert all("Too few rows to compare" in r.reason and r.estimate is None for r in failed)
    assert len(result.rows) == 2 * 2 * len(result.dimensions["adjustment set"])  # nothing dropped
    assert result.summary["n_failed"] == len(failed)
    assert any(f"{len(failed)} specifications failed" in s for s in result.summary["sentences"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (MultiverseOptions(estimators=["lasso"]), "Unknown estimator"),
        (MultiverseOptions(learners=["forest"]), "Unknown learner"),
        (MultiverseOptions(trimming=["tails"]), "Trimming must be"),
        (MultiverseOptions(trimming=[]), "Trimming must be"),
        (MultiverseOptions(crossfit_folds=1), "at least 2 folds"),
        (MultiverseOptions(extra_sets=[["nope"]]), "unknown column"),
        (MultiverseOptions(alt_outcomes=["nope"]), "not in the data"),
    ],
)
def test_bad_requests_get_a_specific_message(retention, options, message):
    project, raw = retention
    with pytest.raises(MultiverseError, match=message):
        build_space(project, raw, options)


def test_no_roles_is_refused(retention):
    project, raw = retention
    with pytest.raises(MultiverseError, match="Set the treatment and the outcome"):
        build_space(project.model_copy(update={"treatment": None, "outcome": None, "dag": None}), raw)


def test_stopping_keeps_every_specification_and_the_project_unchanged(support):
    project, raw = support
    before = project.model_dump_json()
    options = MultiverseOptions(estimators=["regression"], trimming=["none"])
    space = build_space(project, raw, options)
    checks = iter([False, False, False, True])  # design 1 and its 2 specifications run, then Stop
    result = run_space(project, raw, space, options, should_stop=lambda: next(checks, True))
    assert result.cancelled and len(result.rows) == space.count()
    stopped = [r for r in result.rows if r.status == "stopped"]
    assert len(stopped) == len(result.rows) - 2 == 4 and result.summary["n_stopped"] == len(stopped)
    assert any("Stopped by the analyst" in note for note in result.notes)
    updated = with_multiverse(project, raw, options)
    assert project.model_dump_json() == before and project.multiverse is None
    assert updated.multiverse is not None and not updated.multiverse.cancelled


def test_a_stop_inside_a_design_keeps_what_it_finished(retention):
    project, raw = retention
    options = MultiverseOptions(estimators=["regression", "ipw", "aipw"], trimming=["none"])
    space = build_space(project, raw, options)
    calls = iter([False, False, False, True])  # before the design, then before each specification
    result = run_space(project, raw, space, options, should_stop=lambda: next(calls, True))
    assert [r.status for r in result.rows] == ["ok", "ok", "stopped"] and result.cancelled
    assert result.summary["n_valid_estimated"] == 2 and result.summary["n_stopped"] == 1


def test_progress_reaches_one_and_names_the_designs(retention):
    project, raw = retention
    seen: list[tuple[float, str]] = []
    run_multiverse(
        project,
        raw,
        MultiverseOptions(include_invalid=True, estimators=["regression"], trimming=["none"]),
        progress=lambda fraction, message: seen.append((fraction, message)),
    )
    fractions = [fraction for fraction, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert len(seen) >= 8 * 2  # every design announced, every specification reported
    assert any("drop health_score" in message for _, message in seen)
