"""Data audit core: N09 §4–§10 figures reproduced, every bad input named, nothing in the project changed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causal_core.audit import (
    ELIGIBLE,
    EXCLUDE,
    EXPLICIT_WARNING,
    NOT_A_CONTROL,
    NOT_ADJUSTMENT,
    UNKNOWN_TIMING,
    AuditInputError,
    AuditSettings,
    build_evidence_bundle,
    fit_logistic,
    run_audit,
    table_frame,
)
from causal_core.project import DictionaryEntry, Project, Timing
from causal_core.project_file import project_from_json, project_to_json


@pytest.fixture(scope="module")
def support_audit(support):
    project, frame = support
    return run_audit(project, frame)


def by(table: pd.DataFrame, column: str = "variable") -> pd.DataFrame:
    return table.set_index(column)


# ---------------------------------------------------------------- N09 §4 grain, schema, types
def test_schema_profile_matches_n09_section_4(support_audit):
    schema = dict(zip(*table_frame(support_audit, "schema_profile")[["metric", "value"]].T.values, strict=True))
    assert schema["rows"] == 1268
    assert schema["columns"] == 16
    assert schema["unique team-weeks"] == 1260
    assert schema["duplicated rows by intended grain"] == 16
    assert schema["first week"].startswith("2025-01-06")
    assert schema["last week"].startswith("2025-04-07")
    assert (schema["treated rows"], schema["untreated rows"]) == (463, 805)


def test_type_profile_matches_n09_section_4(support_audit):
    types = table_frame(support_audit, "type_profile")
    assert types["variable"].head(4).tolist() == [
        "agent_uses_ai", "deflection_rate", "customer_satisfaction_score", "baseline_ticket_volume",
    ]
    indexed = by(types)
    assert indexed.loc["agent_uses_ai", "missing_share"] == pytest.approx(0.634858, abs=5e-7)
    assert indexed.loc["customer_satisfaction_score", "missing_share"] == pytest.approx(0.041009, abs=5e-7)
    assert indexed.loc["baseline_ticket_volume", "missing_share"] == pytest.approx(0.018927, abs=5e-7)
    assert indexed.loc["agent_uses_ai", "non_null"] == 463
    assert [indexed.loc[v, "unique_values"] for v in ["agent_uses_ai", "deflection_rate", "customer_satisfaction_score",
                                                      "baseline_ticket_volume", "staffing_hours", "week_start"]] == [
        451, 458, 1208, 90, 1268, 14]
    # merged with the dictionary: the analyst's timing words, verbatim
    assert indexed.loc["backlog_start", "timing"] == "pre-treatment within week"
    assert indexed.loc["agent_uses_ai", "initial_role"] == "mediator or compliance measure"
    assert indexed.loc["next_week_backlog", "timing"] == "future"


# ---------------------------------------------------------------- N09 §5 missingness
def test_missingness_by_treatment_matches_n09_section_5(support_audit):
    missing = table_frame(support_audit, "missing_by_treatment")
    assert missing["variable"].head(4).tolist() == [
        "agent_uses_ai", "deflection_rate", "customer_satisfaction_score", "baseline_ticket_volume",
    ]
    rows = by(missing)
    assert rows.loc["customer_satisfaction_score", ["treated", "untreated", "treated_minus_untreated"]].tolist() == pytest.approx(
        [0.008639, 0.059627, -0.050988], abs=5e-7
    )
    assert rows.loc["baseline_ticket_volume", ["treated", "untreated", "treated_minus_untreated"]].tolist() == pytest.approx(
        [0.010799, 0.023602, -0.012803], abs=5e-7
    )
    assert rows.loc["deflection_rate", "treated_minus_untreated"] == -1.0


def test_post_treatment_missingness_is_structural_not_data_loss(support_audit):
    rows = by(table_frame(support_audit, "missing_by_treatment"))
    for column in ["agent_uses_ai", "deflection_rate"]:
        assert rows.loc[column, "missingness"].startswith("structural")
        assert "not data loss" in rows.loc[column, "missingness"]
    assert rows.loc["customer_satisfaction_score", "missingness"].startswith("data loss: outcome")
    assert rows.loc["baseline_ticket_volume", "missingness"].startswith("data loss: pre-treatment")
    assert rows.loc["team_id", "missingness"] == "none"


def test_missing_by_variable_and_heatmap_bands(support_audit):
    missing = by(table_frame(support_audit, "missingness"))
    assert missing.loc["agent_uses_ai", "missing_count"] == 805
    assert missing.loc["customer_satisfaction_score", "missing_count"] == 52
    pattern = table_frame(support_audit, "missing_pattern")
    assert pattern["row_band"].nunique() == 200
    assert set(pattern["variable"]) == set(missing.index)
    # band shares, weighted by band size, give back the overall share
    sizes = pattern["last_row"] - pattern["first_row"] + 1
    for column, expected in [("agent_uses_ai", 805), ("baseline_ticket_volume", 24)]:
        rows = pattern["variable"] == column
        assert round(float((pattern.loc[rows, "missing_share"] * sizes[rows]).sum())) == expected


# ---------------------------------------------------------------- N09 §6 duplicates
def test_duplicate_summary_matches_n09_section_6(support_audit):
    duplicates = table_frame(support_audit, "duplicate_summary")
    assert duplicates["team_id"].tolist() == ["T011", "T015", "T034", "T064", "T064", "T071", "T079", "T085"]
    assert duplicates["duplicate_rows"].tolist() == [2] * 8
    assert duplicates["staffing_hours_range"].tolist() == pytest.approx(
        [3.430739, 0.356949, 11.667448, 8.867410, 5.088270, 1.287954, 12.110362, 4.726255], abs=5e-7
    )
    assert duplicates["staffing_hours_min"].iloc[0] == pytest.approx(493.282383, abs=5e-7)
    assert duplicates["human_handled_hours_range"].tolist() == [0.0] * 8
    assert duplicates["exact_copies"].tolist() == [False] * 8
    assert set(duplicates["disagreeing_columns"]) == {"staffing_hours"}


def test_exact_copies_are_recognised(support):
    project, frame = support
    doubled = pd.concat([frame.head(3), frame.head(3)], ignore_index=True)
    table = table_frame(run_audit(project, pd.concat([frame.iloc[3:], doubled])), "duplicate_summary")
    exact = table.loc[table["exact_copies"]]
    assert len(exact) == 3
    assert exact["disagreeing_columns"].tolist() == ["", "", ""]


# ---------------------------------------------------------------- N09 §7 balance and overlap
def test_balance_matches_n09_section_7(support_audit):
    balance = table_frame(support_audit, "balance")
    numeric = balance.loc[balance["kind"] == "numeric"]
    assert numeric["variable"].tolist() == [
        "backlog_start", "staffing_hours", "team_readiness", "baseline_ticket_volume", "manager_priority",
        "baseline_satisfaction",
    ]
    assert numeric["smd"].tolist() == pytest.approx([-0.898040, 0.517624, 0.284007, 0.250091, 0.239765, 0.234774], abs=5e-7)
    first = balance.iloc[0]
    assert (first["variable"], first["treated_mean"], first["control_mean"]) == (
        "backlog_start", pytest.approx(98.232173, abs=5e-7), pytest.approx(114.079097, abs=5e-7))
    # one-hot categoricals are profiled too, each level against the ±0.1 line
    levels = balance.loc[balance["kind"] == "category level", "variable"].tolist()
    assert sorted(levels) == sorted([f"region={r}" for r in ["APAC", "Americas", "EMEA"]] +
                                    [f"queue_type={q}" for q in ["billing", "retention", "technical"]])
    assert bool(by(balance).loc["queue_type=technical", "imbalanced"]) is True
    assert bool(by(balance).loc["region=APAC", "imbalanced"]) is False


def test_propensity_irls_matches_statsmodels_logit(support):
    import statsmodels.api as sm

    project, frame = support
    rows = frame.dropna(subset=["baseline_ticket_volume"])
    x = sm.add_constant(rows[["baseline_ticket_volume", "team_readiness", "backlog_start"]].to_numpy())
    y = rows["assistant_enabled"].to_numpy(dtype=float)
    reference = sm.Logit(y, x).fit(disp=0).predict(x)
    standardised = np.column_stack([np.ones(len(y)), (x[:, 1:] - x[:, 1:].mean(0)) / x[:, 1:].std(0)])
    ours = 1 / (1 + np.exp(-(standardised @ fit_logistic(standardised, y))))
    assert np.max(np.abs(ours - reference)) < 1e-4


def test_overlap_summary_shares_and_effective_sample_size(support, support_audit):
    summary = dict(zip(*table_frame(support_audit, "overlap_summary")[["metric", "value"]].T.values, strict=True))
    assert summary["rows used (complete pre-treatment covariates)"] == 1244
    assert summary["rows dropped (missing covariates)"] == 24
    assert (summary["treated rows used"], summary["untreated rows used"]) == (458, 786)
    assert 0 < summary["share outside [0.05, 0.95]"] < 0.1
    assert 0 < summary["effective sample size, IPW (ATE), treated"] <= 458
    assert 0 < summary["effective sample size, IPW (ATE), untreated"] <= 786
    density = table_frame(support_audit, "propensity_density")
    for arm, rows in [("treated", 458), ("untreated", 786)]:
        part = density.loc[density["arm"] == arm]
        assert part["rows"].sum() == rows
        assert (part["density"] * (part["bin_end"] - part["bin_start"])).sum() == pytest.approx(1.0)
    # user bounds change the share (wider bounds -> fewer rows outside)
    project, frame = support
    narrow = run_audit(project, frame, {"bounds": (0.2, 0.8)})
    narrow_summary = dict(zip(*table_frame(narrow, "overlap_summary")[["metric", "value"]].T.values, strict=True))
    assert narrow_summary["share outside [0.2, 0.8]"] > summary["share outside [0.05, 0.95]"]


# ---------------------------------------------------------------- N09 §8 roles and leakage
def test_role_scan_matches_n09_section_8(support_audit):
    scan = by(table_frame(support_audit, "role_scan"))["adjustment_eligibility_for_total_effect"]
    assert scan["team_id"] == scan["week_start"] == NOT_ADJUSTMENT
    assert scan["assistant_enabled"] == NOT_A_CONTROL
    for column in ["region", "queue_type", "baseline_ticket_volume", "baseline_satisfaction", "team_readiness",
                   "manager_priority", "backlog_start", "staffing_hours"]:
        assert scan[column] == ELIGIBLE == "eligible candidate, subject to causal graph review"
    for column in ["agent_uses_ai", "deflection_rate", "human_handled_hours", "customer_satisfaction_score", "next_week_backlog"]:
        assert scan[column] == EXCLUDE == "exclude from primary adjustment set"


def test_leakage_correlations_match_n09_section_8(support_audit):
    leakage = table_frame(support_audit, "leakage")
    assert leakage["variable"].head(10).tolist() == [
        "next_week_backlog", "backlog_start", "assistant_enabled", "agent_uses_ai", "baseline_ticket_volume",
        "deflection_rate", "customer_satisfaction_score", "team_readiness", "staffing_hours", "baseline_satisfaction",
    ]
    assert leakage["abs_corr_with_outcome"].head(10).tolist() == pytest.approx(
        [0.732711, 0.697131, 0.557883, 0.331058, 0.275312, 0.272418, 0.257702, 0.201766, 0.191644, 0.127335], abs=5e-7
    )
    flags = by(leakage)["flag"]
    assert flags["next_week_backlog"].startswith("LEAKAGE RISK: future")
    assert flags["agent_uses_ai"].startswith("LEAKAGE RISK: post-treatment")
    assert flags["backlog_start"] == ""  # predictive AND eligible: not a leak
    assert flags["assistant_enabled"] == ""


def test_role_scan_cross_checks_dag_roles_and_flags_disagreements(support):
    from causal_core.project import DagEdge, DagNode, DagSpec

    project, frame = support
    names = ["backlog_start", "team_readiness", "next_week_backlog", "assistant_enabled", "human_handled_hours"]
    edges = [
        ("assistant_enabled", "human_handled_hours"),
        ("assistant_enabled", "backlog_start"), ("backlog_start", "human_handled_hours"),  # drawn as a mediator
        ("team_readiness", "assistant_enabled"), ("team_readiness", "human_handled_hours"),
        ("next_week_backlog", "assistant_enabled"), ("next_week_backlog", "human_handled_hours"),  # a "confounder"
    ]
    dag = DagSpec(nodes=[DagNode(name=n, column=n) for n in names],
                  edges=[DagEdge(source=a, target=b) for a, b in edges],
                  treatment="assistant_enabled", outcome="human_handled_hours")
    result = run_audit(project.model_copy(update={"dag": dag}), frame)
    scan = by(table_frame(result, "role_scan"))
    assert scan.loc["backlog_start", "dag_check"].startswith("disagrees: timing says pre-treatment but the DAG makes it a")
    assert "mediator" in scan.loc["backlog_start", "dag_check"]
    assert scan.loc["next_week_backlog", "dag_check"].startswith("disagrees: timing excludes it")
    assert scan.loc["team_readiness", "dag_check"] == "agrees"
    assert scan.loc["region", "dag_check"] == "not in DAG"
    assert any("Timing and the DAG disagree on: backlog_start, next_week_backlog" in w for w in result.warnings)


def test_role_scan_cross_checks_any_dag_and_lets_a_bug_in_the_roles_surface(support, monkeypatch):
    """node_roles is total (tests/test_dag_roles_total.py), so the audit no longer turns its exceptions into a
    "skipped" warning: a lone node is cross-checked, and a bug is an error, not audit text."""
    from causal_core import dag as dag_module
    from causal_core.project import DagNode, DagSpec

    project, frame = support
    lone = project.model_copy(update={"dag": DagSpec(nodes=[DagNode(name="x")])})
    assert not any("DAG cross-check skipped" in warning for warning in run_audit(lone, frame).warnings)

    def broken(spec):
        raise RuntimeError("a bug in node_roles")

    monkeypatch.setattr(dag_module, "node_roles", broken)
    with pytest.raises(RuntimeError, match="a bug in node_roles"):
        run_audit(lone, frame)


# ---------------------------------------------------------------- N09 §9 smoke test
def test_regression_smoke_test_matches_n09_section_9(support_audit):
    smoke = table_frame(support_audit, "smoke_test")
    assert smoke["model"].tolist() == ["naive", "pre-treatment adjustment", "bad post-treatment/leaky adjustment"]
    assert smoke["rows_used"].tolist() == [1244, 1244, 458]
    assert smoke["treatment_coef"].tolist() == pytest.approx([-39.516817, -28.385061, 13.191847], abs=5e-6)
    assert smoke["robust_se"].tolist() == pytest.approx([1.680661, 1.257982, 16.934753], abs=5e-6)
    assert smoke["r_squared"].tolist() == pytest.approx([0.314412, 0.687568, 0.576314], abs=5e-6)
    assert smoke["p_value"].iloc[2] == pytest.approx(0.4359911, abs=5e-7)
    assert smoke["ci_low"].iloc[0] == pytest.approx(-39.516817 - 1.96 * 1.680661, abs=1e-5)
    assert "constant in this sample" in smoke["note"].iloc[2]  # the +13 is an artefact, said so


def test_retention_audit_reuses_n01_naive_and_has_no_bad_model(retention):
    project, frame = retention
    result = run_audit(project, frame)
    smoke = table_frame(result, "smoke_test")
    assert smoke["treatment_coef"].iloc[0] == pytest.approx(0.078456, abs=5e-6)  # N01 §5 naive difference 0.078
    assert smoke["rows_used"].iloc[0] == 6000
    assert smoke["rows_used"].iloc[2] == 0 and smoke["note"].iloc[2].endswith("No column is left to misuse.")
    assert "4 simulation-truth column(s), never covariates" in smoke["note"].iloc[2]
    scan = by(table_frame(result, "role_scan"))["adjustment_eligibility_for_total_effect"]
    assert scan["propensity_true"] == "simulation truth: never a covariate"
    assert table_frame(result, "duplicate_summary").empty
    assert "propensity_true" not in table_frame(result, "balance")["variable"].tolist()


# ---------------------------------------------------------------- N09 §10 evidence bundle
def test_evidence_bundle_has_n09_keys_caps_and_warning(support, support_audit):
    bundle = support_audit.evidence_bundle
    for key in ["business_question", "intended_estimand", "intended_row_grain", "treatment", "primary_outcome",
                "guardrail_outcome", "schema_profile", "data_dictionary", "type_profile_top_missing",
                "missing_by_treatment", "duplicate_summary", "balance_table", "role_scan", "leakage_correlations",
                "regression_smoke_test", "explicit_warning"]:
        assert key in bundle
    assert bundle["explicit_warning"] == EXPLICIT_WARNING
    assert bundle["business_question"].startswith("Did enabling the AI support assistant")
    assert bundle["intended_row_grain"] == ["team_id", "week_start"]
    assert bundle["guardrail_outcome"] == "customer_satisfaction_score"
    assert len(bundle["data_dictionary"]) == 16
    assert len(bundle["type_profile_top_missing"]) == 16 and len(bundle["missing_by_treatment"]) == 16
    assert len(bundle["leakage_correlations"]) == 11  # every numeric column but the outcome, as in N09
    assert bundle["truncated_tables"] == {}
    assert bundle["balance_table"][0]["smd"] == pytest.approx(-0.89804)
    assert bundle["regression_smoke_test"][1]["treatment_coef"] == pytest.approx(-28.3851)
    assert "missing_pattern" not in bundle  # chart data stays out of the prompt


def test_evidence_bundle_caps_long_tables_and_says_so(support, support_audit):
    project, _ = support
    long = support_audit.model_copy(update={"tables": {**support_audit.tables, "leakage": [{"variable": f"x{i}"} for i in range(40)]}})
    bundle = build_evidence_bundle(project, long)
    assert [row["variable"] for row in bundle["leakage_correlations"]] == [f"x{i}" for i in range(12)]
    assert bundle["truncated_tables"] == {"leakage_correlations": "first 12 of 40 rows"}


def test_evidence_bundle_is_deterministic_and_stored_in_the_project(support, support_audit):
    project, frame = support
    again = run_audit(project, frame)
    assert json.dumps(again.evidence_bundle) == json.dumps(support_audit.evidence_bundle)
    assert build_evidence_bundle(project, support_audit) == support_audit.evidence_bundle
    saved = project_from_json(project_to_json(project.model_copy(update={"data_audit": support_audit})))
    assert saved.data_audit.tables["smoke_test"][0]["rows_used"] == 1244
    assert saved.data_audit.evidence_bundle == json.loads(json.dumps(support_audit.evidence_bundle))


def test_dedup_keep_first_changes_the_analysis_rows(support):
    from causal_core.data import analysis_frame

    project, frame = support
    deduped = project.model_copy(update={"dedup": "keep_first"})
    result = run_audit(deduped, analysis_frame(deduped, frame))
    schema = dict(zip(*table_frame(result, "schema_profile")[["metric", "value"]].T.values, strict=True))
    assert (schema["rows"], schema["duplicated rows by intended grain"]) == (1260, 0)
    assert result.settings["dedup"] == "keep_first"


# ---------------------------------------------------------------- bad inputs
def _with(project: Project, **update) -> Project:
    return project.model_copy(update=update)


def test_non_binary_treatment_names_the_values(support):
    project, frame = support
    before = project.model_dump()
    with pytest.raises(AuditInputError, match=r"'region' is not binary: it has 3 distinct values \('APAC', 'Americas', 'EMEA'\)"):
        run_audit(_with(project, treatment="region"), frame)
    assert project.model_dump() == before  # nothing changed


def test_two_valued_string_treatment_offers_a_mapping_and_the_mapping_works(support):
    project, frame = support
    coded = frame.assign(assistant_enabled=frame["assistant_enabled"].map({1: "yes", 0: "no"}))
    with pytest.raises(AuditInputError, match="not coded 0/1: it has the two values 'no', 'yes'") as caught:
        run_audit(project, coded)
    assert caught.value.suggested_mapping == {"yes": 1, "no": 0}
    assert caught.value.values == ["no", "yes"]
    mapped = run_audit(project, coded, AuditSettings(treated_value="yes"))
    assert table_frame(mapped, "smoke_test")["treatment_coef"].iloc[0] == pytest.approx(-39.516817, abs=5e-6)
    assert mapped.settings["treated_value"] == "yes"
    with pytest.raises(AuditInputError, match="'maybe' is not a value of the treatment"):
        run_audit(project, coded, AuditSettings(treated_value="maybe"))


def test_boolean_treatment_offers_a_mapping(support):
    project, frame = support
    flagged = frame.assign(assistant_enabled=frame["assistant_enabled"].astype(bool))
    with pytest.raises(AuditInputError, match="not coded 0/1") as caught:
        run_audit(project, flagged)
    assert caught.value.suggested_mapping == {"True": 1, "False": 0}
    result = run_audit(project, flagged, {"treated_value": "True"})
    assert table_frame(result, "balance")["smd"].iloc[0] == pytest.approx(-0.898040, abs=5e-7)


def test_constant_treatment_is_refused(support):
    project, frame = support
    with pytest.raises(AuditInputError, match="'assistant_enabled' is constant .* no comparison group"):
        run_audit(project, frame.assign(assistant_enabled=1))


def test_outcome_entirely_missing_is_refused(support):
    project, frame = support
    with pytest.raises(AuditInputError, match="outcome 'human_handled_hours' is missing in every row"):
        run_audit(project, frame.assign(human_handled_hours=np.nan))


def test_rows_with_missing_treatment_are_excluded_and_counted(support):
    project, frame = support
    holes = frame.copy()
    holes["assistant_enabled"] = holes["assistant_enabled"].astype(float)
    holes.loc[:9, "assistant_enabled"] = np.nan
    result = run_audit(project, holes)
    assert any(w.startswith("10 row(s) have a missing treatment and were excluded") for w in result.warnings)
    schema = dict(zip(*table_frame(result, "schema_profile")[["metric", "value"]].T.values, strict=True))
    assert schema["rows"] == 1268
    assert schema["rows with missing treatment (excluded)"] == 10
    assert schema["treated rows"] + schema["untreated rows"] == 1258
    assert table_frame(result, "missing_by_treatment").shape[0] == 16


def test_dictionary_gaps_are_listed_and_unknown_timing_is_never_pre_treatment(support):
    project, frame = support
    dictionary = [e for e in project.dictionary if e.variable != "staffing_hours"]
    dictionary.append(DictionaryEntry(variable="legacy_score", timing="pre_treatment"))
    result = run_audit(_with(project, dictionary=dictionary), frame)
    assert "Dictionary variables absent from the data: legacy_score." in result.warnings
    assert any(w.startswith("Columns absent from the dictionary (timing = unknown") and "staffing_hours" in w
               for w in result.warnings)
    scan = by(table_frame(result, "role_scan"))
    assert scan.loc["staffing_hours", "timing"] == "unknown"
    assert scan.loc["staffing_hours", "adjustment_eligibility_for_total_effect"] == UNKNOWN_TIMING
    assert bool(scan.loc["legacy_score", "in_data"]) is False
    assert "staffing_hours" not in table_frame(result, "balance")["variable"].tolist()
    assert "staffing_hours" not in table_frame(result, "smoke_test")["covariates"].iloc[1]


def _without_id_timing(project: Project) -> Project:
    dictionary = [
        e.model_copy(update={"timing": Timing.unknown}) if e.timing in (Timing.unit_id, Timing.time_id) else e
        for e in project.dictionary
    ]
    return _with(project, dictionary=dictionary)


def test_missing_grain_is_a_warning_not_a_guess(support):
    project, frame = support
    result = run_audit(_with(_without_id_timing(project), unit_columns=[]), frame)
    assert any(w.startswith("No unit grain is given") for w in result.warnings)
    assert table_frame(result, "duplicate_summary").empty
    schema = dict(zip(*table_frame(result, "schema_profile")[["metric", "value"]].T.values, strict=True))
    assert schema["exact duplicate rows"] == 0
    assert "duplicated rows by intended grain" not in schema


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"treatment": None}, "No treatment column is set"),
        ({"outcome": None}, "No outcome column is set"),
        ({"treatment": "enabled_flag"}, "The treatment column 'enabled_flag' is not in the data"),
        ({"outcome": "region"}, "The outcome 'region' is not numeric"),
        ({"unit_columns": ["team", "week_start"]}, r"Grain column\(s\) not in the data: team"),
        ({"outcome": "assistant_enabled"}, "set as both treatment and outcome"),
    ],
)
def test_unusable_roles_have_specific_messages(support, update, message):
    project, frame = support
    with pytest.raises(AuditInputError, match=message):
        run_audit(_with(project, **update), frame)


def test_invalid_bounds_are_refused():
    with pytest.raises(ValueError, match="propensity bounds must satisfy"):
        AuditSettings(bounds=(0.9, 0.1))


def test_role_scan_with_the_real_default_dag(support):
    from causal_core.dag import default_dag
    from causal_core.project import Timing

    project, frame = support
    with_dag = project.model_copy(update={"dag": default_dag("support")})
    scan = by(table_frame(run_audit(with_dag, frame), "role_scan"))
    assert set(scan["dag_check"]) == {"agrees", "not in DAG"}  # N09's timing and the default DAG agree
    assert scan.loc["agent_uses_ai", "dag_roles"] == "mediator, descendant_of_treatment"
    # a dictionary edit that contradicts the DAG is flagged both ways
    dictionary = [
        e.model_copy(update={"timing": Timing.pre_treatment}) if e.variable == "deflection_rate"
        else e.model_copy(update={"timing": Timing.post_treatment}) if e.variable == "team_readiness" else e
        for e in project.dictionary
    ]
    result = run_audit(with_dag.model_copy(update={"dictionary": dictionary}), frame)
    scan = by(table_frame(result, "role_scan"))
    assert scan.loc["deflection_rate", "dag_check"] == (
        "disagrees: timing says pre-treatment but the DAG makes it a descendant_of_treatment, mediator")
    assert scan.loc["team_readiness", "dag_check"].startswith("disagrees: timing excludes it but the DAG makes it a confounder")
    assert "Timing and the DAG disagree on: team_readiness, deflection_rate (see the role scan)." in result.warnings


def test_fast_ols_path_equals_statsmodels_on_the_n09_models(support, monkeypatch):
    """Above FAST_OLS_ROWS the smoke test skips statsmodels' SVD; the numbers must not change."""
    import causal_core.audit.smoke_test as audit_module

    project, frame = support
    reference = table_frame(run_audit(project, frame), "smoke_test")
    monkeypatch.setattr(audit_module, "FAST_OLS_ROWS", 0)
    fast = table_frame(run_audit(project, frame), "smoke_test")
    for column in ["treatment_coef", "robust_se", "p_value", "r_squared"]:
        assert fast[column].tolist() == pytest.approx(reference[column].tolist(), rel=1e-8)
    assert fast["note"].tolist() == reference["note"].tolist()  # rank-deficient bad model recognised too


def test_the_dictionarys_unit_id_sets_the_grain(support):
    """Support's dictionary times team_id as 'unit id' and week_start as 'time id': with no unit columns set, the
    audit takes that grain (no "No unit grain is given") and says where it came from."""
    project, frame = support
    repeated = pd.concat([frame, frame.iloc[:5]], ignore_index=True)
    result = run_audit(_with(project, unit_columns=[]), repeated)
    assert not any(w.startswith("No unit grain is given") for w in result.warnings)
    assert any("Unit grain taken from the dictionary (timing 'unit id'): team_id, week_start" in w for w in result.warnings)
    grain = ["team_id", "week_start"]
    expected = repeated.loc[repeated.duplicated(grain, keep=False), grain].drop_duplicates()
    assert len(table_frame(result, "duplicate_summary")) == len(expected) > 5  # support's own repeats + the 5 copies
    assert result.settings["unit_columns"] == []  # the record is the project as set, so nothing turns stale
