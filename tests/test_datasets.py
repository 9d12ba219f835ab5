"""The built-in generators reproduce the reference notebooks' printed figures exactly."""

from __future__ import annotations

import pandas as pd
import pytest

from causal_core.audit.overview import naive_risk_difference, retention_overview, schema_profile
from causal_core.data.datasets import get_builtin, simulate_retention, simulate_support
from causal_core.project import Timing


def test_retention_overview_matches_n01_section_4():
    frame = simulate_retention(6000, 42)
    values = dict(zip(*retention_overview(frame).to_dict("list").values(), strict=True))
    assert values["accounts"] == 6000
    assert round(values["outreach rate"], 3) == 0.340
    assert round(values["observed churn rate"], 3) == 0.222
    assert round(values["true ATE in simulation"], 3) == -0.046
    assert round(values["mean baseline churn risk among treated"], 3) == 0.321
    assert round(values["mean baseline churn risk among controls"], 3) == 0.189


def test_retention_naive_comparison_matches_n01_section_5():
    naive = naive_risk_difference(simulate_retention(), "outreach", "churn")
    assert (naive["n_treated"], naive["n_control"]) == (2038, 3962)
    assert round(naive["treated_mean"], 3) == 0.273
    assert round(naive["control_mean"], 3) == 0.195
    assert round(naive["estimate"], 3) == 0.078
    assert round(naive["ci_low"], 3) == 0.056
    assert round(naive["ci_high"], 3) == 0.101


def test_retention_first_rows_match_n01_head():
    head = simulate_retention().head(2)
    assert head["company_size"].round(3).tolist() == [83.809, 30.570]
    assert head["health_score"].round(3).tolist() == [49.995, 65.911]
    assert head["region"].tolist() == ["North America", "North America"]
    assert head["segment"].tolist() == ["mid-market", "small"]


def test_support_schema_profile_matches_n09_section_4():
    frame = simulate_support(90, 209)
    profile = dict(zip(*schema_profile(frame, ["team_id", "week_start"], "week_start", "assistant_enabled").to_dict("list").values(), strict=True))
    assert profile["rows"] == 1268
    assert profile["columns"] == 16
    assert profile["unique team-weeks"] == 1260
    assert profile["duplicated rows by intended grain"] == 16
    assert profile["first week"] == pd.Timestamp("2025-01-06")
    assert profile["last week"] == pd.Timestamp("2025-04-07")
    assert profile["treated rows"] == 463
    assert profile["untreated rows"] == 805


def test_support_first_row_and_missing_shares_match_n09():
    frame = simulate_support()
    first = frame.iloc[0]
    assert first["team_id"] == "T049" and str(first["week_start"].date()) == "2025-03-03"
    assert first["human_handled_hours"] == pytest.approx(161.649237, abs=1e-6)
    shares = frame.isna().mean()
    assert shares["agent_uses_ai"] == pytest.approx(0.634858, abs=1e-6)
    assert shares["customer_satisfaction_score"] == pytest.approx(0.041009, abs=1e-6)
    assert shares["baseline_ticket_volume"] == pytest.approx(0.018927, abs=1e-6)


def test_generators_are_pure_functions_of_n_and_seed():
    pd.testing.assert_frame_equal(simulate_support(), simulate_support())
    assert not simulate_retention(500, 1).equals(simulate_retention(500, 2))
    assert len(simulate_retention(500, 1)) == 500


def test_support_dictionary_is_n09s_sixteen_rows_with_normalised_timing():
    entries = get_builtin("support").dictionary()
    assert [e.variable for e in entries] == list(simulate_support().columns)
    by_name = {e.variable: e for e in entries}
    assert by_name["backlog_start"].timing_label == "pre-treatment within week"
    assert by_name["backlog_start"].timing is Timing.pre_treatment
    assert by_name["assistant_enabled"].timing is Timing.treatment
    assert by_name["deflection_rate"].timing is Timing.post_treatment
    assert by_name["human_handled_hours"].timing is Timing.outcome
    assert by_name["next_week_backlog"].timing is Timing.future
    assert by_name["team_id"].timing is Timing.unit_id


def test_retention_simulation_truth_columns_are_marked():
    truth = {e.variable for e in get_builtin("retention").dictionary() if e.simulation_truth}
    assert truth == {"propensity_true", "true_individual_effect", "p_churn_without", "p_churn_with"}


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match="choose one of retention, support"):
        get_builtin("churn")
