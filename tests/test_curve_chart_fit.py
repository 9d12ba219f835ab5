"""Issue 25 §6: the specification curve fits its page column and its choice matrix labels every row.

The page drew one concatenated chart up to 900 px wide (plus legend and 360 px of labels), which overflowed the
column, and the matrix gave each choice 14 px so Vega dropped every other label (5 of 10 rows labelled).
"""

from __future__ import annotations

import pytest

from causal_core.display import outcome_unit
from causal_core.multiverse import with_multiverse
from causal_core.multiverse.charts import MATRIX_ROW_PX, curve_views, specification_curve
from causal_core.multiverse.summary import curve_data
from causal_core.project import EstimationSpec, MultiverseOptions
from tests.test_multiverse_spec import upload_like, upload_project, with_estimation


@pytest.fixture(scope="module")
def curve():
    frame = upload_like()
    project = with_estimation(upload_project(frame), frame, EstimationSpec(
        treatment="weekend", outcome="score", covariates=["Year", "age", "size"], estimand="ATT",
        cluster="restaurant"))
    project = with_multiverse(project, frame, MultiverseOptions(estimators=["regression", "gcomp", "ipw", "aipw"],
                                                                trimming=["none", "crump"]))
    return project.multiverse


def test_the_page_views_fit_the_column_and_share_the_rank_scale(curve):
    top, matrix = curve_views(curve, unit=outcome_unit("", "score"))
    top_spec, matrix_spec = top.to_dict(), matrix.to_dict()
    assert top_spec["width"] == "container" and matrix_spec["width"] == "container"
    points, _ = curve_data(curve)
    domain = [float(points["rank"].min()), float(points["rank"].max())]
    assert matrix_spec["encoding"]["x"]["scale"]["domain"] == domain
    assert any(layer.get("encoding", {}).get("x", {}).get("scale", {}).get("domain") == domain
               for group in top_spec["layer"] for layer in group.get("layer", [group]))


def test_every_choice_row_has_room_for_its_label(curve):
    _, indicators = curve_data(curve)
    _, matrix = curve_views(curve)
    spec = matrix.to_dict()
    rows = indicators["choice"].nunique()
    assert rows >= 6
    assert spec["encoding"]["y"]["axis"]["labelOverlap"] is False
    assert spec["height"] >= MATRIX_ROW_PX * rows and MATRIX_ROW_PX >= 16


def test_the_exported_chart_keeps_a_fixed_width(curve):
    spec = specification_curve(curve).to_dict()
    assert all(isinstance(view["width"], int) for view in spec["vconcat"])
