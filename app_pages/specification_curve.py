"""Specification curve: every defensible analysis choice, its estimate, and how much the answer moves.
Layout and widgets only; the space, the fits, the summary and the chart come from causal_core.multiverse."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import streamlit as st
from streamlit.errors import StreamlitAPIException

from causal_core import multiverse as mv
from causal_core.display import EffectUnit, project_unit
from causal_core.methods import short_labels
from causal_core.multiverse import adapter, memo_text
from causal_core.multiverse.charts import curve_views
from causal_core.multiverse.export import chart_bytes, table_bytes
from causal_core.multiverse.runner import MultiverseRun
from causal_core.multiverse.space import ESTIMATORS
from causal_core.project import MultiverseOptions, MultiverseResult
from causal_core.safe_text import escape_markdown
from causal_core.ui import staleness as staleness_banner
from causal_core.ui import state

STEP_SECONDS = 0.8  # work per fragment rerun: long enough to be efficient, short enough for Stop to answer
ESTIMATOR_LABELS = short_labels(ESTIMATORS)  # the picker names, from the one method registry
TRIM_LABELS = {"none": "No trimming", "bounds": "Trim at the clip bounds", "crump": "Crump rule"}

st.title("Specification curve")
st.caption(
    "Would a reasonable analyst have got a different answer? Every combination of defensible choices (adjustment "
    "sets from the DAG, functional form, estimators, trimming, estimand, grain, clustering) is estimated with shared "
    "fits, each a variation of the Estimation page's own specification. Sets the "
    "DAG or the dictionary call invalid are shown only on request, labelled, and never pooled with valid ones."
)

key = state.active_key()
project = state.get_project()
raw = state.get_raw_frame()
if raw is None:
    state.require_frame()
if not project.treatment or not project.outcome:
    st.info("Choose the **treatment** and the **outcome** (Overview → Roles, or approve the estimand card) first.")
    st.stop()


def k(name: str) -> str:
    """Widget keys per dataset, so switching datasets keeps each one's choices."""
    return f"mv_{name}_{key}"


# Project fields the space is built from (causal_core/multiverse/space.py and adapter.py read only these).
SPACE_INPUTS = {"data_source", "dag", "dictionary", "treatment", "outcome", "cluster_column", "time_column",
                "unit_columns", "guardrails", "dedup", "estimand_card", "card_status"}


@st.cache_data(show_spinner=False, max_entries=16)
def cached_space(inputs_json: str, spec_json: str, options_json: str, _project, _raw):
    """The space of choices, rebuilt only when its inputs change (0.6 s per rerun on retention otherwise)."""
    return mv.build_space(_project, _raw, MultiverseOptions.model_validate_json(options_json))


@st.cache_data(show_spinner=False, max_entries=16)
def curve_spec(result_json: str, unit_json: str) -> dict[str, dict]:
    """The curve's and the choice matrix's Vega-Lite specs (each fits the column) in the estimate's unit, built
    once per stored curve and unit (3.6 s of a rerun on retention otherwise)."""
    unit = EffectUnit(**json.loads(unit_json))
    top, matrix = curve_views(MultiverseResult.model_validate_json(result_json), unit=unit)
    return {"curve": top.to_dict(), "choices": matrix.to_dict()}


# ---- the space of choices ---------------------------------------------------------------------
st.subheader("Choices")
start = project.multiverse.options if project.multiverse else MultiverseOptions()  # an opened curve's own choices
c1, c2, c3 = st.columns(3)
estimators = c1.multiselect(
    "Estimators", list(ESTIMATOR_LABELS), default=[e for e in start.estimators if e in ESTIMATOR_LABELS],
    format_func=ESTIMATOR_LABELS.get,
    key=k("estimators"),
)
learner_names = adapter.available_learners()
learners = c1.multiselect(
    "Learners for cross-fitted AIPW", list(learner_names),
    default=[name for name in start.learners if name in learner_names] or ["exact"], format_func=learner_names.get,
    key=k("learners"), help="Boosting on large data is slow: each learner is fitted in every fold.",
)
trimming = c2.multiselect(
    "Trimming", list(TRIM_LABELS), default=[t for t in start.trimming if t in TRIM_LABELS], format_func=TRIM_LABELS.get,
    key=k("trimming"),
    help="Trimming drops rows, so a trimmed specification estimates the effect in the overlap population.",
)
both = c2.checkbox("ATE and ATT side by side", start.both_estimands, key=k("both"), help="Otherwise the approved card's estimand only.")
invalid = c3.checkbox(
    "Include invalid specifications (show the damage)", start.include_invalid, key=k("invalid"),
    help="Adds the DAG's set minus each variable and plus each post-treatment column, labelled invalid.",
)
max_sets = c3.number_input("Cap on the DAG's minimal sets", 1, 50, start.max_dag_sets, key=k("max_sets"))
others = [c for c in raw.columns if c not in (project.treatment, project.outcome)]
with st.expander("Alternative outcomes and treatments, grain, clustering, functional form"):
    a1, a2 = st.columns(2)
    alt_outcomes = a1.multiselect("Alternative outcome columns", others,
                                  default=[c for c in start.alt_outcomes if c in others], key=k("alt_outcomes"))
    alt_treatments = a2.multiselect("Alternative 0/1 treatment columns", others,
                                    default=[c for c in start.alt_treatments if c in others], key=k("alt_treatments"))
    grain = a1.checkbox("Vary the de-duplication rule when the grain has duplicates", start.grain, key=k("grain"))
    cluster = a2.checkbox(
        "Vary clustering when the project has a cluster column", start.cluster, key=k("cluster"),
        help="When the analysis clusters, 'cluster: none' rows are shown as invalid by design (intervals too narrow).",
    )
    forms = a1.checkbox(
        "Vary the functional form (linear / quadratic / spline)", start.functional_forms, key=k("forms"),
        help="The Estimation page's flexibility choices for every numeric covariate, beside the analyst's own terms.",
    )

analyst_folds = project.estimation.spec.crossfit_folds if project.estimation else 0  # the page's own folds
options = MultiverseOptions(
    estimators=estimators, learners=learners or ["exact"], trimming=trimming, both_estimands=both,
    include_invalid=invalid, max_dag_sets=int(max_sets), alt_outcomes=alt_outcomes, alt_treatments=alt_treatments,
    grain=grain, cluster=cluster, functional_forms=forms,
    crossfit_folds=analyst_folds if analyst_folds >= 2 else 5,
)
try:
    space = cached_space(project.model_dump_json(include=SPACE_INPUTS),
                         project.estimation.spec.model_dump_json() if project.estimation else "",
                         options.model_dump_json(), project, raw)
except (mv.MultiverseError, ValueError) as error:
    st.error(escape_markdown(error))
    st.stop()
st.markdown(f"**{space.count():,} specifications** ({mv.size_text(space)}).")
for note in space.notes:
    st.caption(escape_markdown(note))
with st.expander(f"Adjustment sets ({len(space.sets)})"):
    st.dataframe(
        [{"set": s.label, "validity": s.validity, "columns": ", ".join(s.columns) or "(none)", "why": s.reason}
         for s in space.sets],
        hide_index=True, width="stretch",
    )


# ---- running (in a fragment, so the rest of the page stays usable) --------------------------------
def _finish(run: MultiverseRun, cancelled: bool) -> None:
    result = run.result(cancelled=cancelled)
    state.set_project(state.get_project().model_copy(update={"multiverse": result}))
    st.session_state.pop(k("run"), None)
    st.session_state.pop(k("stop"), None)


def _continue() -> None:
    """Rerun only the fragment when this is a fragment rerun (the page stays as it is), else the page."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


@st.fragment
def runner() -> None:
    run: MultiverseRun | None = st.session_state.get(k("run"))
    if run is None:
        if st.button("Run the specification curve", type="primary", key=k("start")):
            st.session_state[k("run")] = MultiverseRun(project, raw, space, options)
            st.session_state[k("stop")] = False
            _continue()
        return
    st.button("Stop", key=k("stop_button"), on_click=lambda: st.session_state.update({k("stop"): True}),
              help="Stops at the next specification; finished designs are kept, the rest are listed as stopped.")
    bar = st.progress(run.fraction, text=run.message())
    deadline = time.perf_counter() + STEP_SECONDS
    while not run.finished and not st.session_state.get(k("stop")) and time.perf_counter() < deadline:
        run.step(lambda fraction, message: bar.progress(min(fraction, 1.0), text=message))
        bar.progress(run.fraction, text=run.message())
    if run.finished or st.session_state.get(k("stop")):
        _finish(run, cancelled=bool(st.session_state.get(k("stop"))))
        st.rerun()
    _continue()


runner()

# ---- results ----------------------------------------------------------------------------------
result = state.get_project().multiverse
if result is None:
    st.info("Choose the dimensions and press **Run the specification curve**.")
    st.stop()
if staleness_banner.hide_stale_results(state.get_project(), "multiverse", k("show_stale")):
    st.stop()
st.subheader(f"Robustness across {result.summary.get('n_specifications', len(result.rows)):,} specifications")
if result.cancelled:
    st.warning("The run was stopped: the specifications not reached are listed as 'stopped'.")
stale = memo_text.stale_reason(state.get_project())
if stale:
    st.warning(f"Out of date: {escape_markdown(stale)}.")
for sentence in result.summary.get("sentences", []):
    st.markdown(f"- {escape_markdown(sentence)}")
unit_json = json.dumps(asdict(project_unit(project)))
views = curve_spec(result.model_dump_json(), unit_json)
st.vega_lite_chart(views["curve"], width="stretch")
st.vega_lite_chart(views["choices"], width="stretch")
st.caption(
    "Each interval is its estimator's analytic 95% CI. Intervals whose coverage bench/coverage.py did not measure "
    "on target carry a note (hover a point, or the table's interval_note column); the summary counts them. Hover a "
    "point for its whole specification."
)
decomposition = result.summary.get("decomposition", [])
if decomposition:
    st.markdown("**Which choice moves the estimate (share of variance, valid specifications)**")
    remainder = round(result.summary.get("remainder_share", 0), 3)
    rest = {"dimension": "interactions (the rest)", "share of variance": remainder}
    st.dataframe(
        [{"dimension": d["dimension"], "share of variance": round(d["share"], 3)} for d in decomposition] + [rest],
        hide_index=True,
    )
table = mv.table(result.rows)
failed = table[table["status"] != "ok"]
if not failed.empty:
    st.warning(f"{len(failed)} specification(s) did not produce an estimate; each is kept with its reason.")
    st.dataframe(failed[["id", "adjustment set", "estimator", "trimming", "status", "reason"]], hide_index=True)
with st.expander("Every specification"):
    st.dataframe(table, hide_index=True, width="stretch")
d1, d2, d3 = st.columns(3)
d1.download_button("Table (CSV)", table_bytes(result, "csv"), "specification_curve.csv", "text/csv", key=k("csv"))
d2.download_button("Table (JSON)", table_bytes(result, "json"), "specification_curve.json", "application/json",
                   key=k("json"))
if d3.button("Prepare the chart as SVG", key=k("svg_prepare")):
    d3.download_button("Chart (SVG)", chart_bytes(result, "svg", title=project.name), "specification_curve.svg",
                       "image/svg+xml", key=k("svg"))
