"""One display rule for an estimate's unit (issue 25 §5) and one rule for "approximate" in the forest plot (§4).

The unit comes from the outcome's type (a 0/1 outcome's risk difference is in percentage points) and the
dictionary ("unit: kg", a unit word such as "hours" or "score"); every page, chart, memo and export uses
``display.outcome_unit`` / ``project_unit``, so "changed inspection_score by 0.08" now reads "0.08 points".
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core.display import (
    FALLBACK_UNIT,
    EffectUnit,
    format_effect,
    outcome_unit,
    project_unit,
)
from causal_core.memo.formatting import effect_phrase, fmt_effect, range_phrase

NUMBER_THEN_UNIT = re.compile(r"^[+−-]?\d+\.\d+ (\S.*)$")


@pytest.mark.parametrize(
    ("description", "outcome", "expected"),
    [
        ("", "inspection_score", "points"),
        ("Human workload hours during the week.", "human_handled_hours", "hours"),
        ("Weight change 1971-82 (unit: kg).", "wt82_71", "kg"),
        ("Time to resolution, measured in minutes.", "ttr", "minutes"),
        ("Earnings in 1978", "re78", FALLBACK_UNIT),
        ("", "y", FALLBACK_UNIT),
    ],
)
def test_unit_from_the_dictionary_or_the_outcome_name(description, outcome, expected):
    assert outcome_unit(description, outcome, binary=False).short == expected


def test_a_binary_outcome_is_in_percentage_points_whatever_the_dictionary_says():
    unit = outcome_unit("unit: kg", "churn", binary=True)
    assert (unit.short, unit.long, unit.binary) == ("pp", "percentage points", True)
    assert format_effect(-0.0463, unit) == "−4.6 pp"


def test_a_hostile_unit_is_text_and_bounded():
    unit = outcome_unit("unit: <img src=x onerror=alert(1)>", "y")
    assert "<" not in unit.short and ">" not in unit.short and len(unit.short) <= 24


@settings(max_examples=200, deadline=None)
@given(value=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), binary=st.booleans(),
       word=st.sampled_from(["points", "kg", "hours", "units"]))
def test_every_formatted_effect_carries_its_unit_and_its_value(value, binary, word):
    unit = outcome_unit("", "churn", True) if binary else EffectUnit(word, word)
    for text, expected_unit in ((format_effect(value, unit), unit.short),
                                (fmt_effect(value, binary, unit), unit.short),
                                (effect_phrase(value, binary, unit), unit.long)):
        match = NUMBER_THEN_UNIT.match(text)
        assert match, text
        assert match.group(1) == expected_unit
        number = float(text.split(" ")[0].replace("−", "-"))
        scaled = value * 100 if binary else value
        assert abs(number - scaled) <= 0.05 + 1e-9 * abs(scaled)
    low, high = sorted((value, value / 2))
    assert range_phrase(low, high, binary, unit).endswith(" " + unit.long)


# ---- the memo, the report and the forest plot on an upload with a score outcome --------------------------


def _score_project(binary: bool = False):
    """An upload: a weekend inspection, a score outcome with a true effect of 0.5 (or a 0/1 outcome)."""
    from causal_core.data import project_for_upload, read_upload
    from causal_core.estimation import run_estimation
    from causal_core.project import EstimationSpec

    rng = np.random.default_rng(25)
    n = 400
    size = rng.normal(size=n)
    weekend = (rng.uniform(size=n) < 1 / (1 + np.exp(-size))).astype(int)
    score = 80 + 2 * size + 0.5 * weekend + rng.normal(size=n)
    outcome = (score > 80.5).astype(int) if binary else score
    name = "failed" if binary else "inspection_score"
    frame = pd.DataFrame({"weekend": weekend, name: outcome, "size": size})
    loaded = read_upload(frame.to_csv(index=False).encode(), "inspections.csv")
    project = project_for_upload(loaded)
    result = run_estimation(loaded.frame, EstimationSpec(treatment="weekend", outcome=name, covariates=["size"],
                                                         estimand="ATT"), sensitivity=False, refutations=False)
    return project.model_copy(update={"treatment": "weekend", "outcome": name, "estimation": result}), loaded.frame


@pytest.fixture(scope="module")
def score_project():
    return _score_project()


def test_the_memo_gives_the_estimate_its_unit(score_project):
    from causal_core.memo.deterministic import deterministic_memo
    from causal_core.memo.facts import memo_facts

    project, frame = score_project
    facts = memo_facts(project, frame)
    row = facts.primary
    sentence = deterministic_memo(project, frame)["main_estimate"]
    assert f"by {row.estimate:.2f} points" in sentence.replace("\\", "")
    assert f"to {row.ci_high:.2f} points" in sentence.replace("\\", "")


def test_the_report_table_gives_every_estimate_its_unit(score_project):
    from causal_core.reporting.report import estimate_records

    project, _ = score_project
    from causal_core.reporting.report import _estimates_html

    html = _estimates_html(project)
    for record in estimate_records(project):
        assert f"{record['estimate']:.2f} points" in html


def test_project_unit_follows_the_outcome_type():
    project, frame = _score_project(binary=True)
    assert project_unit(project, frame).binary
    project, frame = _score_project(binary=False)
    assert project_unit(project, frame).short == "points"


def test_forest_plot_axis_and_tooltip_carry_the_unit(score_project):
    from causal_core.estimation.charts import forest_chart, forest_frame

    project, frame = score_project
    unit = project_unit(project, frame)
    table = forest_frame(project.estimation, unit)
    assert all(text.endswith(" points") for text in table["estimate_text"])
    spec = str(forest_chart(project.estimation, unit=unit).to_dict())
    assert "Effect estimate in points (95 % CI)" in spec


def test_forest_plot_scales_a_risk_difference_to_percentage_points():
    from causal_core.estimation.charts import forest_frame

    project, frame = _score_project(binary=True)
    unit = project_unit(project, frame)
    table = forest_frame(project.estimation, unit)
    raw = [row.estimate for row in project.estimation.estimates if row.estimate is not None]
    assert np.allclose(table["estimate"].to_numpy(), np.array(raw) * 100)
    assert all(text.endswith(" pp") for text in table["estimate_text"])


def test_forest_plot_flags_exactly_the_approximate_intervals(score_project):
    """One rule for "approximate": the results table's interval note is the forest plot's flag and label."""
    from causal_core.estimation.charts import APPROXIMATE_SUFFIX, estimates_table, forest_chart, forest_frame

    project, _ = score_project
    notes = estimates_table(project.estimation)["interval_note"].astype(str).str.len() > 0
    table = forest_frame(project.estimation)
    assert notes.any(), "the g-computation ATT row of a fit like this one is approximate"
    assert (table["interval"] == "approximate").tolist() == notes.tolist()
    assert [label.endswith(APPROXIMATE_SUFFIX) for label in table["row"]] == notes.tolist()
    spec = str(forest_chart(project.estimation).to_dict())
    assert "approximate" in spec and "strokeDash" in spec


def test_the_estimation_page_writes_each_estimate_with_its_unit():
    """AppTest: support's outcome is workload hours; the results table and the forest plot say so."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300).run()
    at.sidebar.selectbox(key="dataset_choice").set_value("support").run()
    at.switch_page("app_pages/estimation.py").run()
    at.button(key="est_run_support").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert all(text.endswith(" hours") for text in table["effect"])
    first = table.iloc[0]
    assert first["effect"] == format_effect(first["estimate"], EffectUnit("hours", "hours"))
    specs = [str(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    assert any("Effect estimate in hours (95 % CI)" in spec for spec in specs)


def test_estimator_disagreements_carry_the_same_unit_as_the_main_estimate():
    from causal_core.memo.facts import estimator_disagreements
    from causal_core.project import EstimateRow

    rows = [EstimateRow(method="regression", estimand="ATE", estimate=0.34, ci_low=0.30, ci_high=0.38),
            EstimateRow(method="aipw", estimand="ATE", estimate=0.08, ci_low=0.02, ci_high=0.14)]
    unit = outcome_unit("", "inspection_score")
    (sentence,) = estimator_disagreements(rows, False, unit)
    assert "0.34 points (95% interval 0.30 to 0.38 points)" in sentence
    assert "0.08 points (95% interval 0.02 to 0.14 points)" in sentence
