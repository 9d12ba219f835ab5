"""The estimand enum and the method registry (issue 24 item 3): every method id a real estimation emits is in the
registry, the page and the memo show the registry's labels, the estimand round-trips through project files (old
files open unchanged), and an unknown method id or estimand is refused with one message naming the known ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_core import estimation as est
from causal_core.commands.estimate import register as register_estimate
from causal_core.data import analysis_frame, project_for_builtin
from causal_core.errors import WorkbenchInputError
from causal_core.estimation.frontdoor import FrontdoorSpec, estimate_frontdoor
from causal_core.estimation.interval_notes import row_kind
from causal_core.estimation.iv import IVSpec, estimate_iv
from causal_core.memo.deterministic import deterministic_memo
from causal_core.memo.sections import METHOD_LABELS as MEMO_LABELS
from causal_core.methods import (
    ALL_ESTIMANDS,
    BACKDOOR_METHODS,
    METHODS,
    Estimand,
    MethodRegistryError,
    labels,
    method_info,
    method_label,
    parse_estimand,
    short_labels,
)
from causal_core.multiverse.space import ESTIMATORS
from causal_core.project_file import ProjectFileError, project_from_json, project_to_json

FIXTURE = Path(__file__).parent / "fixtures" / "schema_v1" / "retention_v1.json"


@pytest.fixture(scope="module")
def retention_att():
    """The retention project estimated for the ATT, as the page does it (the real pipeline, refutations off)."""
    project, raw = project_for_builtin("retention")
    frame = analysis_frame(project, raw)
    spec = est.default_spec(project, frame).model_copy(update={"estimand": Estimand.ATT})
    return est.estimate_project(project, frame, spec, refutations=False), frame


def iv_frame(n: int = 1_500, seed: int = 3) -> pd.DataFrame:
    """A strong binary instrument z for a confounded binary treatment x (latent u); true effect of x on y is 2."""
    rng = np.random.default_rng(seed)
    u, z = rng.normal(size=n), rng.binomial(1, 0.5, n)
    x = (0.2 + 0.5 * z + 0.3 * (u > 0) > rng.uniform(size=n)).astype(int)
    return pd.DataFrame({"z": z, "x": x, "y": 2.0 * x + u + rng.normal(size=n)})


def primer_table() -> pd.DataFrame:
    """Pearl, Glymour & Jewell (2016) §3.4 Table 3.1: smoking, tar, cancer (800 people)."""
    cells = [(1, 1, 0, 323), (1, 1, 1, 57), (0, 1, 0, 1), (0, 1, 1, 19),
             (1, 0, 0, 18), (1, 0, 1, 2), (0, 0, 0, 38), (0, 0, 1, 342)]
    return pd.DataFrame([(x, m, y) for x, m, y, k in cells for _ in range(k)], columns=["smoking", "tar", "cancer"])


# ---- every emitted id is registered ----------------------------------------------------------------------------
def test_backdoor_estimation_emits_exactly_the_registered_backdoor_methods(retention_att):
    project, _ = retention_att
    emitted = {row.method for row in project.estimation.estimates}
    assert emitted == set(BACKDOOR_METHODS)
    estimands = {row.method: row.estimand for row in project.estimation.estimates}
    # the regression coefficient names its own target (a constant effect); every other row is the ATT asked for
    assert estimands == {"naive": "ATT", "regression": "constant effect", "gcomp": "ATT", "ipw": "ATT", "aipw": "ATT"}
    for row in project.estimation.estimates:  # the registry's row kind is what the calibration tables key on
        assert Estimand.ATT in method_info(row.method).estimands
        assert row_kind(row) in {method_info(row.method).kind, "standardisation", "aipw_crossfit"}


def test_iv_and_frontdoor_rows_are_registered():
    iv = estimate_iv(iv_frame(), IVSpec(treatment="x", outcome="y", instruments=["z"]))
    fd = estimate_frontdoor(primer_table(), FrontdoorSpec(treatment="smoking", outcome="cancer", mediators=["tar"]))
    assert [row.method for row in iv.estimates] == ["2sls", "ols"]
    assert [row.method for row in fd.estimates] == ["frontdoor", "naive"]
    for row in [*iv.estimates, *fd.estimates]:
        assert method_info(row.method).id == row.method


def test_every_specification_curve_estimator_is_registered_with_the_picker_names():
    assert short_labels(ESTIMATORS) == {"regression": "Regression (OLS)", "gcomp": "G-computation", "ipw": "IPW",
                                        "aipw": "AIPW", "aipw_cf": "Cross-fitted AIPW"}
    assert method_info("aipw_cf").kind == "aipw_crossfit"  # the interval_notes row kind of a cross-fitted AIPW row


def test_nuisance_models_match_what_each_estimator_fits(retention_att):
    project, _ = retention_att
    fits_propensity = {"ipw", "aipw"}  # the overlap diagnostics exist for exactly these rows
    for method_id in BACKDOOR_METHODS:
        assert method_info(method_id).needs_propensity == (method_id in fits_propensity)
    assert not method_info("naive").needs_outcome_model and method_info("aipw").needs_outcome_model
    assert project.estimation.diagnostics.overlap.histogram  # the overlap plot's data came back from the file


# ---- labels: the page and the memo show the registry's ----------------------------------------------------------
def test_page_table_shows_the_registry_labels(retention_att):
    project, _ = retention_att
    table = est.estimates_table(project.estimation)
    unlabelled = [row for row in project.estimation.estimates if not row.label]
    assert unlabelled, "the naive, IPW and AIPW rows carry no label of their own"
    shown = list(table["method"])
    for row in unlabelled:
        assert METHODS[row.method].label in shown
    assert est.METHOD_LABELS == labels() == {
        "naive": "Naive difference", "regression": "Regression adjustment (OLS)",
        "gcomp": "G-computation (interactions)", "ipw": "IPW (Hájek)", "aipw": "Doubly robust (AIPW)"}


def test_memo_names_every_estimator_by_its_registry_phrase(retention_att):
    project, frame = retention_att
    design = deterministic_memo(project, frame)["design"]
    for method_id in BACKDOOR_METHODS:
        assert METHODS[method_id].memo_label in design
    assert labels(memo=True) == MEMO_LABELS
    assert "Estimators compared: naive difference, regression adjustment, g-computation, IPW, doubly robust" in design


def test_a_method_id_outside_the_registry_is_shown_as_it_is():
    """An old results file may carry an id this version no longer knows: it must still open and display."""
    assert method_label("weird_old") == "weird_old"
    assert method_label("aipw", memo=True) == "doubly robust"


# ---- the estimand ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("estimand", list(ALL_ESTIMANDS))
def test_estimand_round_trips_through_a_project_file(retention_att, estimand):
    project, _ = retention_att
    result = project.estimation
    saved = project.model_copy(update={"estimation": result.model_copy(
        update={"spec": result.spec.model_copy(update={"estimand": estimand})})})
    text = project_to_json(saved)
    assert f'"estimand": "{estimand.value}"' in text  # the file holds the bare string, as before
    reopened = project_from_json(text).estimation.spec
    assert reopened.estimand is estimand and reopened.estimand == estimand.value


def test_an_old_project_file_opens_with_an_enum_estimand():
    project = project_from_json(FIXTURE.read_text())
    assert project.estimation.spec.estimand is Estimand.ATE
    assert project.estimation.spec.model_dump(mode="json")["estimand"] == "ATE"


def test_an_unknown_estimand_in_a_project_file_is_refused():
    payload = json.loads(FIXTURE.read_text())
    payload["estimation"]["spec"]["estimand"] = "LATE"
    with pytest.raises(ProjectFileError, match="estimand"):
        project_from_json(json.dumps(payload))


def test_estimand_members_are_the_strings_and_say_whom_they_are_about():
    assert [str(e) for e in Estimand] == ["ATE", "ATT", "ATC"]
    assert json.dumps({"e": Estimand.ATC}) == '{"e": "ATC"}'
    assert "treated" in Estimand.ATT.__doc__ and "controls" in Estimand.ATC.__doc__
    assert Estimand.ATE.population == "all units" and Estimand.ATT.population == "all treated units"
    assert est.default_spec(*_retention()).estimand is Estimand.ATE


def _retention():
    project, raw = project_for_builtin("retention")
    return project, analysis_frame(project, raw)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_parse_estimand_accepts_exactly_the_three(text):
    if text in {"ATE", "ATT", "ATC"}:
        assert parse_estimand(text) == text
    else:
        with pytest.raises(MethodRegistryError, match="'ATE', 'ATT', 'ATC'"):
            parse_estimand(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_an_unknown_method_id_is_refused_with_the_known_ones(text):
    if text in METHODS:
        assert method_info(text).id == text
    else:
        with pytest.raises(MethodRegistryError, match="known methods: 'naive'") as raised:
            method_info(text)
        assert isinstance(raised.value, WorkbenchInputError)
        with pytest.raises(MethodRegistryError):
            labels((text,))


def test_cli_offers_the_three_estimands():
    import argparse

    parser = argparse.ArgumentParser()
    register_estimate(parser.add_subparsers())
    action = next(a for a in parser._subparsers._group_actions[0].choices["estimate"]._actions
                  if a.dest == "estimand")
    assert action.choices == ["ATE", "ATT", "ATC"]
