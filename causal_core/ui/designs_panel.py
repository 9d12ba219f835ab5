"""Estimation page, "Other identification strategies": the front-door estimator and 2SLS, prefilled from
the DAG. Layout and widgets only; every number comes from causal_core.estimation.frontdoor / iv.

Why a separate panel: when the DAG says adjustment fails, the adjustment estimates above are exactly the
numbers the analyst must not report; this panel is where the design the graph *does* support is run,
stored next to them (``Project.designs``) and labelled with what it estimates.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from causal_core import dag as dag_module
from causal_core.diagnostics_models import IVDiagnostics
from causal_core.display import format_p_value
from causal_core.estimation.constants import MAX_BOOTSTRAP, EstimationError
from causal_core.estimation.frontdoor import (
    DesignResult,
    FrontdoorSpec,
    design_table,
    estimate_frontdoor,
    frontdoor_from_dag,
    stored_design,
    with_design,
)
from causal_core.estimation.iv import IVSpec, estimate_iv, instruments_from_dag
from causal_core.project import Project
from causal_core.safe_text import escape_markdown
from causal_core.ui import state

_NUMBER_COLUMNS = ("estimate", "std_error", "ci_low", "ci_high")


def render() -> None:
    """The whole panel for the current project (call it at the end of the Estimation page)."""
    project = state.get_project()
    frame = state.get_frame()
    if frame is None or not project.treatment or not project.outcome:
        return
    key = state.active_key()
    st.subheader("Other identification strategies")
    st.caption(
        "When the DAG says adjustment cannot remove the confounding, the estimates above are not the effect. "
        "The front-door formula and instrumental variables identify it under other assumptions, stated with each result."
    )
    summary = _design_sentence(project)
    if summary:
        st.info(escape_markdown(summary))
    frontdoor_tab, iv_tab = st.tabs(["Front door", "Instrumental variables (2SLS)"])
    with frontdoor_tab:
        _frontdoor_section(project, frame, key)
    with iv_tab:
        _iv_section(project, frame, key)


def _design_sentence(project: Project) -> str | None:
    """The DAG engine's one-sentence verdict on which design the graph supports (None without a usable DAG)."""
    summarise = getattr(dag_module, "design_summary", None)
    if summarise is None or project.dag is None or not project.dag.treatment or not project.dag.outcome:
        return None
    try:
        return summarise(project.dag).sentence
    except ValueError:
        return None


def _candidates(project: Project, frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in (project.treatment, project.outcome)]


def _keep(options: list[str], chosen: list[str]) -> list[str]:
    return [c for c in chosen if c in options]


def _prune(widget_key: str, options: list[str]) -> None:
    """Drop chosen values that are no longer options (a column just picked as a mediator or instrument leaves the
    covariate list), so the widget never holds a value it cannot show."""
    if widget_key in st.session_state:
        st.session_state[widget_key] = _keep(options, list(st.session_state[widget_key]))


# ---- front door ---------------------------------------------------------------------------------
def _frontdoor_section(project: Project, frame: pd.DataFrame, key: str) -> None:
    def k(name: str) -> str:
        return f"designs_fd_{name}_{key}"

    sets, note = frontdoor_from_dag(project, frame)
    options = _candidates(project, frame)
    if k("mediators") not in st.session_state:
        st.session_state[k("mediators")] = _keep(options, sets[0] if sets else [])
    note = escape_markdown(note)  # names the DAG's nodes: user text
    st.caption(f"Mediators prefilled from {note}." if sets else f"Nothing prefilled: {note}.")
    mediators = st.multiselect("Mediators (every causal path from the treatment runs through them)", options,
                               key=k("mediators"))
    covariate_options = [c for c in options if c not in mediators]
    _prune(k("covariates"), covariate_options)
    covariates = st.multiselect("Covariates (optional, pre-treatment)", covariate_options, key=k("covariates"))
    c1, c2, c3, c4 = st.columns(4)
    methods = {"auto": "Automatic", "plugin": "Plug-in formula (discrete)", "linear": "Linear (product of stages)"}
    method = c1.selectbox("Estimator", list(methods), format_func=methods.get, key=k("method"))
    replicates = c2.number_input("Bootstrap replicates", 0, MAX_BOOTSTRAP, 500, step=100, key=k("boot"))
    ci = c3.radio("Interval", ["percentile", "normal"], horizontal=True, key=k("ci"))
    seed = c4.number_input("Seed", 0, 2**31 - 1, 123, key=k("seed"))
    if st.session_state.pop(k("stopped"), False):
        st.info("Front-door bootstrap stopped; nothing was stored.")
    if st.button("Run front-door estimate", key=k("run"), type="primary"):
        st.button("Stop", key=k("stop"), on_click=lambda: st.session_state.update({k("stopped"): True}))
        spec = FrontdoorSpec(treatment=project.treatment, outcome=project.outcome, mediators=list(mediators),
                             covariates=list(covariates), method=method, bootstrap=int(replicates), ci=ci,
                             seed=int(seed), cluster=project.cluster_column if project.cluster_column in frame else None,
                             treated_value=_treated_value(project))
        bar = st.progress(0.0, text="Front door…")
        _run(project, lambda: estimate_frontdoor(
            frame, spec, progress=lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0), text=message),
            should_stop=lambda: bool(st.session_state.get(k("stopped")))))
    stored = stored_design(state.get_project(), "frontdoor")
    if stored is not None:
        _show_result(stored)


# ---- instrumental variables ----------------------------------------------------------------------
def _iv_section(project: Project, frame: pd.DataFrame, key: str) -> None:
    def k(name: str) -> str:
        return f"designs_iv_{name}_{key}"

    found, note = instruments_from_dag(project, frame)
    options = _candidates(project, frame)
    if k("instruments") not in st.session_state:
        first = found[0] if found else {"instruments": [], "covariates": []}
        st.session_state[k("instruments")] = _keep(options, first["instruments"])
        st.session_state[k("covariates")] = _keep(options, first["covariates"])
    if found:
        listed = "; ".join(", ".join(o["instruments"]) + (f" given {', '.join(o['covariates'])}" if o["covariates"] else "")
                           for o in found)
        st.caption(f"Prefilled from {escape_markdown(note)}: {escape_markdown(listed)}.")
    else:
        st.caption(f"Nothing prefilled: {escape_markdown(note)}.")
    instruments = st.multiselect("Instruments", options, key=k("instruments"))
    covariate_options = [c for c in options if c not in instruments]
    _prune(k("covariates"), covariate_options)
    covariates = st.multiselect("Covariates (the instrument's conditioning set)", covariate_options, key=k("covariates"))
    c1, c2 = st.columns(2)
    se_labels = {"robust": "Robust (HC1)", "unadjusted": "Classical (homoskedastic)", "cluster": "Cluster-robust"}
    se = c1.radio("Standard errors", list(se_labels), format_func=se_labels.get, horizontal=True, key=k("se"))
    cluster_options = [c for c in frame.columns if c not in (project.treatment, project.outcome)]
    default_cluster = cluster_options.index(project.cluster_column) if project.cluster_column in cluster_options else 0
    cluster = c2.selectbox("Cluster column", cluster_options, index=default_cluster, key=k("cluster"),
                           disabled=se != "cluster")
    if st.button("Run 2SLS", key=k("run"), type="primary"):
        spec = IVSpec(treatment=project.treatment, outcome=project.outcome, instruments=list(instruments),
                      covariates=list(covariates), se=se, cluster=cluster if se == "cluster" else None,
                      treated_value=_treated_value(project))
        bar = st.progress(0.0, text="2SLS…")
        _run(project, lambda: estimate_iv(
            frame, spec, progress=lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0), text=message)))
    stored = stored_design(state.get_project(), "iv")
    if stored is not None:
        _show_result(stored)


# ---- shared --------------------------------------------------------------------------------------
def _treated_value(project: Project) -> str | None:
    from causal_core.estimation.spec import audit_treated_value

    return audit_treated_value(project)


def _run(project: Project, compute) -> None:
    """Run one design and store it; a refused input shows its message and leaves the project as it was."""
    try:
        result = compute()
        updated = with_design(project, result)
    except EstimationError as error:
        st.error(escape_markdown(error))
        return
    state.set_project(updated)


def _show_result(result: DesignResult) -> None:
    table = design_table(result)
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={name: st.column_config.NumberColumn(format="%.4f") for name in _NUMBER_COLUMNS})
    dropped = ", ".join(f"{reason}: {count:,}" for reason, count in result.dropped.items()) or "none"
    st.caption(f"n used {result.n_used:,} · dropped: {dropped} · {result.created_at}")
    for warning in result.warnings:
        st.warning(escape_markdown(warning))
    diagnostics = result.diagnostics
    if result.design == "iv":
        _show_iv_diagnostics(diagnostics)
    else:
        means = diagnostics.potential_outcome_means
        if means:
            st.caption(f"Front-door means: E[Y(1)] = {means.treated:.4f}, E[Y(0)] = {means.control:.4f}.")
        if diagnostics.stage_effects:
            st.dataframe(pd.DataFrame([effect.model_dump() for effect in diagnostics.stage_effects]), hide_index=True,
                         width="stretch")
    for note in result.notes:
        st.caption(escape_markdown(note))


def _show_iv_diagnostics(diagnostics: IVDiagnostics) -> None:
    first, ar = diagnostics.first_stage, diagnostics.anderson_rubin
    m1, m2, m3 = st.columns(3)
    m1.metric("First-stage F", f"{first.f:.2f}")
    m2.metric("Partial R²", f"{first.partial_r2:.4f}")
    m3.metric("Anderson–Rubin set", ar.kind)
    if first.kind:
        st.caption(f"First-stage F: {first.kind}.")
    pieces = ar.text or " ∪ ".join(f"[{low:.4f}, {high:.4f}]" for low, high in ar.pieces) or "empty"
    st.caption(f"Anderson–Rubin 95% set (valid however weak the instrument): {pieces}"
               + (f" · {ar.coverage}" if ar.coverage else ""))
    tests = [test for test in (diagnostics.tests.endogeneity, diagnostics.tests.overidentification) if test]
    lines = [f"{test.name}: statistic {test.statistic:.3f}, p = {format_p_value(test.pvalue)}" for test in tests]
    if lines:
        st.caption(" · ".join(lines))
    if diagnostics.complier_share is not None:
        st.caption(f"Estimated complier share: {diagnostics.complier_share:.1%}.")
