"""DAG page, lower half: what the graph says (roles, identification, paths) and its test against the data.

Layout only; every answer comes from ``causal_core.dag``. Node names are user text: they reach Markdown
only through ``causal_core.safe_text`` (code spans for names, escape_markdown for sentences).

Bounded for large graphs: above ``dag_state.LARGE_PAGE_NODES`` nodes the path list, the implied
independences and the identification panel are computed only when the analyst asks (each a toggle),
the adjust-for toggles become one multiselect, and every result is cached on the graph's JSON.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from causal_core import dag
from causal_core.dag import charts as dag_charts
from causal_core.dag import falsify as dag_falsify
from causal_core.dag import paths as dag_paths
from causal_core.dag.constants import MAX_IMPLICATIONS
from causal_core.dag.implications import sample_implications
from causal_core.dag.seeding import only_focus_nodes
from causal_core.project import NOT_ADJUSTABLE_TIMINGS, DagSpec, Project
from causal_core.safe_text import code_span, escape_markdown
from causal_core.ui import dag_state, identification_panel

BARE_DAG_WARNING = (
    "The graph holds only the treatment and the outcome, so \"no adjustment needed\" is a property of this "
    "drawing, not of your data: the empty set is only as good as the missing DAG. Add the variables that cause "
    "the treatment and the outcome (or set their timing in the data dictionary and start again)."
)


def _names(names: list[str]) -> str:
    return ", ".join(code_span(n) for n in names)


def deferred(spec: DagSpec, what: str, widget: str) -> bool:
    """True when the listing may run now: always for normal graphs, on request above the size limit."""
    if not dag_state.is_large(spec):
        return True
    st.caption(
        f"{what} skipped for speed: this graph has {len(spec.nodes):,} nodes (more than "
        f"{dag_state.LARGE_PAGE_NODES}). Turn it on to compute it once for this graph (cached)."
    )
    return st.toggle(f"Compute {what.lower()}", key=dag_state.key(widget))


# ---------------------------------------------------------------- roles and identification
def render_roles(project: Project, spec: DagSpec, spec_json: str) -> None:
    st.subheader("Variable roles")
    timing_of = {e.variable: (e.timing_label or e.timing.value) for e in project.dictionary}
    if deferred(spec, "The roles table", "dag_roles_on"):
        st.dataframe(dag.roles_table(spec, timing_of), hide_index=True, width="stretch")
    for conflict in dag.timing_conflicts(spec, project)[:50]:
        st.warning(escape_markdown(conflict))


def render_identification(project: Project, spec: DagSpec, spec_json: str, errors: list[str]) -> None:
    st.subheader("Identification of the total effect")
    if errors or not spec.treatment or not spec.outcome:
        st.info("Choose a treatment and an outcome node (Selected node → Set as …) to identify the effect.")
        return
    result = dag.Identification.model_validate_json(dag_state.identification_of(spec_json))
    if result.identifiable:
        _render_identifiable(project, spec, result)
    else:
        st.error(escape_markdown(result.note))
    if result.note and result.identifiable:
        st.caption(escape_markdown(result.note))
    st.markdown("**Bad controls** (do not adjust for these when estimating the total effect)")
    if result.bad_controls:
        st.dataframe(pd.DataFrame([b.model_dump() for b in result.bad_controls]), hide_index=True, width="stretch")
    else:
        st.caption("None found.")
    names = dag.node_names(spec)
    candidates = [n for n in names if n not in (spec.treatment, spec.outcome)]
    chosen = st.multiselect("Check an adjustment set", candidates, key="dag_check_set")
    if st.button("Check set", key="dag_check"):
        verdict = dag.check_adjustment_set(spec, spec.treatment, spec.outcome, chosen)
        (st.success if verdict.valid else st.error)(
            ("Valid: " if verdict.valid else "Invalid: ") + escape_markdown(verdict.reason)
        )
    if deferred(spec, "The identification panel", "dag_panel_on"):
        identification_panel.render_identification_panel(project, spec)


def _render_identifiable(project: Project, spec: DagSpec, result: dag.Identification) -> None:
    """A green box only when the graph says something: a bare treatment → outcome graph gets a warning."""
    recommended = result.recommended_set or []
    if not recommended and only_focus_nodes(spec):
        st.warning("Identifiable by adjustment in this drawing only. " + BARE_DAG_WARNING, icon=":material/warning:")
    else:
        st.success(
            f"Identifiable by adjustment. Recommended set ({len(recommended)}): "
            + (_names(recommended) if recommended else "the empty set — no adjustment needed")
        )
    late = [c for c in dag.adjustment_columns(spec, recommended) if project.timing_of(c) in NOT_ADJUSTABLE_TIMINGS]
    if late:
        st.warning(f"The dictionary marks {_names(late)} as not adjustable (timing): review the graph.")
    st.dataframe(
        pd.DataFrame({"minimal adjustment set": [", ".join(s) if s else "∅ (empty set)" for s in result.minimal_sets],
                      "size": [len(s) for s in result.minimal_sets]}),
        hide_index=True,
        width="stretch",
    )


# ---------------------------------------------------------------- paths (the classroom view)
def _toggle_adjusted(name: str, widget_key: str) -> None:
    """Callback of one "adjust for" toggle: store the new set as DagSpec.adjusted (logged, copy-on-write)."""
    chosen_now = bool(st.session_state[widget_key])
    spec = dag_state.current_spec()
    chosen = (set(spec.adjusted) | {name}) if chosen_now else (set(spec.adjusted) - {name})
    _store_adjusted(spec, chosen, f"{'Adjusting for' if chosen_now else 'No longer adjusting for'} {name} (path view).")


def _pick_adjusted(widget_key: str) -> None:
    """Callback of the large-graph multiselect that replaces the toggles."""
    _store_adjusted(dag_state.current_spec(), set(st.session_state[widget_key]), "Adjusted set changed (path view).")


def _store_adjusted(spec: DagSpec, chosen: set[str], note: str) -> None:
    after = [n for n in dag.node_names(spec) if n in chosen]
    dag_state.store(spec.model_copy(update={"adjusted": after}), "dag.adjusted", after, note, before=list(spec.adjusted))


def _render_adjust_controls(spec: DagSpec, adjusted: list[str]) -> None:
    candidates = [n.name for n in spec.nodes if dag.is_observed(n) and n.name not in (spec.treatment, spec.outcome)]
    if not candidates:
        st.caption("No observed node besides the treatment and the outcome: nothing to adjust for.")
        return
    st.markdown("**Adjust for** (toggle a node: the paths update live; stored as the DAG's adjusted set)")
    if dag_state.is_large(spec):
        widget_key = dag_state.key("dag_adjust_many")
        st.session_state[widget_key] = [n for n in adjusted if n in candidates]
        st.multiselect("Adjusted nodes", candidates, key=widget_key, on_change=_pick_adjusted, args=(widget_key,))
        return
    cells = st.columns(4)
    for index, name in enumerate(candidates):
        widget_key = dag_state.key(f"dag_adjust_{name}")
        st.session_state[widget_key] = name in adjusted  # mirrors the stored set (import, other pages)
        cells[index % 4].toggle(escape_markdown(name), key=widget_key, on_change=_toggle_adjusted,
                                args=(name, widget_key))  # a widget label renders Markdown images and links


def selected_path_row(widget_key: str) -> int | None:
    """The row picked in the path table (its selection state exists before the table is drawn again)."""
    event = st.session_state.get(widget_key)
    try:
        rows = event["selection"]["rows"]
    except (KeyError, TypeError):
        rows = getattr(getattr(event, "selection", None), "rows", None) or []
    return rows[0] if rows else None


def path_report(spec: DagSpec, spec_json: str, adjusted: list[str]) -> tuple[dag_paths.PathReport | None, str]:
    """The cached path list, or None and why (also None, silently, when a large graph's list is not asked for)."""
    if dag_state.is_large(spec) and not st.session_state.get(dag_state.key("dag_paths_on")):
        return None, ""
    report_json, problem = dag_state.path_report_of(spec_json, tuple(adjusted))
    return (dag_paths.PathReport.model_validate_json(report_json) if report_json else None), problem


def render_paths(spec: DagSpec, spec_json: str, adjusted: list[str], dropped: list[str], table_key: str) -> None:
    st.subheader("Paths between treatment and outcome")
    for reason in dropped:
        st.warning(f"The stored adjusted set is not used in full: {escape_markdown(reason)}.")
    if not deferred(spec, "The path list", "dag_paths_on"):
        return
    report, problem = path_report(spec, spec_json, adjusted)
    if report is None:
        st.info(f"No path view: {escape_markdown(problem)}.")
        return
    _render_adjust_controls(spec, report.adjusted)
    (st.success if report.clean and not report.capped else st.warning)(escape_markdown(report.summary))
    if not report.paths:
        return
    table = pd.DataFrame(
        {
            "kind": [p.kind for p in report.paths],
            "status": ["open" if p.open else "closed" for p in report.paths],
            "path": [p.text for p in report.paths],
            "why": [p.reason for p in report.paths],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                 key=table_key)
    st.caption(
        f"Listed shortest first, at most {report.limit} paths"
        + (" — the list is capped, longer paths exist." if report.capped else ".")
        + " A path is causal when every arrow points from the treatment towards the outcome; any other path is "
        "biasing while open. A collider (→ C ←) closes a path unless it, or one of its descendants, is adjusted "
        "for. Pick a row to highlight it on the graph."
    )


# ---------------------------------------------------------------- the DAG against the data
def _structure_json(spec: DagSpec) -> str:
    """What the implications depend on (nodes, columns, edges), not positions or the adjusted set: toggling
    an adjustment or moving a node must not re-run the tests."""
    nodes = [node.model_copy(update={"x": None, "y": None}) for node in spec.nodes]
    return spec.model_copy(update={"nodes": nodes, "adjusted": [], "treatment": None, "outcome": None}).model_dump_json()


@st.cache_data(max_entries=32, show_spinner=False)
def implications_key(structure_json: str) -> str:
    """What the local tests read from the graph: the implications falsify samples (same limit and seed), the
    column of each observed node they name and the selection nodes. Why not the structure itself: adding a node
    with no edges, or a latent cause of one variable, changes the structure but not one test, and re-running the
    tests on a 27,178-row upload made every such add wait for them (bench/bench_dag_edit.py)."""
    spec = DagSpec.model_validate_json(structure_json)
    sample = sample_implications(spec, limit=MAX_IMPLICATIONS, seed=0)
    named = {name for item in sample.implications for name in (item.x, item.y, *item.given)}
    columns = sorted((node.name, node.column or "") for node in spec.nodes if not node.latent and node.name in named)
    selected = sorted(getattr(spec, "selected", None) or [])
    return json.dumps([sample.model_dump(mode="json"), sample.note(), columns, selected])


@st.cache_data(show_spinner="Testing the DAG's implications on the data…", max_entries=16)
def _local_tests(tests_key: str, data_key: str, _frame: pd.DataFrame, method: str = "linear",
                 cluster: str | None = None, *, _structure_json: str) -> str:
    """Keyed on ``implications_key`` (not on the graph): a graph edit that leaves every test as it was reuses
    the result; the graph itself is passed unhashed because the key already holds everything the tests use."""
    spec = DagSpec.model_validate_json(_structure_json)
    return dag_falsify.falsify(spec, _frame, n_permutations=0, method=method, cluster=cluster).model_dump_json()


@st.cache_data(max_entries=16, show_spinner=False)
def _forest_spec(result_json: str) -> dict | None:
    """The forest plot's Vega-Lite spec, built once per result: building the Altair chart and converting it
    took 0.3–0.5 s of every rerun on a loaded machine, although a graph edit rarely changes the tests."""
    forest = dag_falsify.forest_rows(dag_falsify.Falsification.model_validate_json(result_json))
    return None if forest.empty else dag_charts.implication_forest(forest).to_dict()


def _render_local_tests(result: dag_falsify.Falsification) -> None:
    st.dataframe(
        dag_falsify.local_table(result),
        hide_index=True,
        width="stretch",
        column_config={
            "estimate": st.column_config.NumberColumn("partial r", format="%+.3f"),
            "ci_low": st.column_config.NumberColumn("CI low", format="%+.3f"),
            "ci_high": st.column_config.NumberColumn("CI high", format="%+.3f"),
            "p_value": st.column_config.NumberColumn("p", format="%.2g"),
            "p_holm": st.column_config.NumberColumn("Holm p", format="%.2g"),
        },
    )
    forest = _forest_spec(result.model_dump_json())
    if forest is not None:
        st.vega_lite_chart(forest, width="stretch")
    if result.method == dag_falsify.TEST_METHODS["gcm"]:
        st.caption(
            f"Tested: {escape_markdown(result.implications_note)}. Each row: the generalised covariance measure "
            "(Shah & Peters 2020): both sides regressed on the conditioning set with cubic splines, out of fold, and "
            "the mean product of the residuals tested (χ²; a category's one-hot block jointly). Valid when the "
            "relations are non-linear; no correlation, so no CI. Verdicts use Holm's correction at 0.05. "
            + (escape_markdown(result.cluster_note) if result.cluster else "Rows are treated as independent: repeated "
               "rows per unit overstate significance (set a cluster column in the data dictionary for a "
               "cluster-robust test).")
        )
        return
    st.caption(
        f"Tested: {escape_markdown(result.implications_note)}. Numbers, 0/1 and two-level columns: partial "
        "correlation with a Fisher-z test and CI (approximate; exact for Gaussian data — coverage measured in "
        "bench/bench_dag.py). A side with a multi-level category: Wilks' Λ on its one-hot columns (Bartlett χ²; no "
        "single correlation, so no CI, table only). Both are linear tests: a nonlinear dependence can pass, and a "
        "confounder acting non-linearly (Z1²) can look like a missing edge: choose the GCM test above. Verdicts "
        "use Holm's correction at 0.05 over the tested rows. Rows are treated as independent: repeated rows per unit "
        "(e.g. team-weeks) overstate significance"
        + (f"; the GCM test sums within the clusters of {code_span(result.cluster)} (cluster-robust)."
           if result.cluster else ".")
    )


def _render_global_test(spec: DagSpec, frame: pd.DataFrame, cache_key: str, method: str = "linear",
                        cluster: str | None = None) -> None:
    st.markdown("**Global verdict** (DoWhy's `falsify_graph` method: compare with randomly relabelled graphs)")
    stored_key = dag_state.key("dag_global_test")
    cancelled_key = dag_state.key("dag_global_cancelled")
    if st.session_state.pop(cancelled_key, False):
        st.info("Global test stopped before it finished: no verdict was stored. Run it again to get one.")
    if st.button(f"Run the global test ({dag_falsify.N_PERMUTATIONS} node relabellings)", key="dag_global_run"):
        st.button("Stop", key="dag_global_stop", on_click=lambda: st.session_state.update({cancelled_key: True}))
        bar = st.progress(0.0, text="Relabelling the graph…")
        try:
            result = dag_falsify.falsify(
                spec, frame,
                progress=lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0), text=message),
                should_stop=lambda: bool(st.session_state.get(cancelled_key)),
                method=method, cluster=cluster,
            )
        except dag_falsify.FalsifyError as error:
            st.error(f"Global test refused — {escape_markdown(error)}.")
            return
        bar.empty()
        st.session_state[stored_key] = (cache_key, result.model_dump_json())
    stored = st.session_state.get(stored_key)
    if not stored or stored[0] != cache_key:
        st.caption("Not run for this graph and data yet.")
        return
    _render_verdict(dag_falsify.Falsification.model_validate_json(stored[1]))


def _render_verdict(result: dag_falsify.Falsification) -> None:
    sentence = escape_markdown(result.sentence)
    if result.falsified:
        st.error(sentence)
    elif result.violations_holm or (result.p_value is not None and result.p_value > result.alpha):
        st.warning(sentence)  # contradicted locally, or not distinguishable from random relabellings
    elif result.informative:
        st.success(sentence)
    else:
        st.info(sentence)
    numbers = st.columns(4)
    numbers[0].metric("Violated (p < 0.05)", f"{result.violations} / {result.n_tested}")
    numbers[1].metric("p (vs relabellings)", "—" if result.p_value is None else f"{result.p_value:.3f}")
    numbers[2].metric("Same independencies", f"{result.same_class} / {result.n_permutations}")
    numbers[3].metric("Distinct CI tests", f"{result.tests_run:,}", help=f"{result.cache_hits:,} answered from the cache")
    if result.permutation_violation_share:
        st.altair_chart(dag_charts.permutation_histogram(dag_falsify.permutation_rows(result)), width="stretch")
    if result.stopped:
        st.caption(escape_markdown(result.stopped.capitalize()) + ".")
    st.caption(
        f"{result.n_permutations} relabellings{' (all of them)' if result.exhaustive else ' (seeded, random)'} "
        f"in {result.seconds:.2f} s. Falsified = informative (at most 5 % of relabellings imply the same "
        "independencies), more than 5 % of relabellings violate no more implications than the DAG does "
        "(unadjusted p < 0.05 per test, as DoWhy counts; Eulig et al. 2023, arXiv:2305.09565) and at least one "
        "implication violated after Holm. The last condition is ours: without it, weak data make true DAGs look "
        "no better than random (measured: 11 of 20 false alarms at 2,000 rows)."
    )


def render_tests(spec: DagSpec, frame: pd.DataFrame, graph_errors: list[str], data_key: str,
                 cluster: str | None = None) -> None:
    """The DAG's implications tested on the data; ``cluster`` (the project's cluster column, when in the data)
    makes the GCM cluster-robust."""
    st.subheader("Test the DAG against the data")
    if graph_errors:
        st.info("Fix the graph first: " + escape_markdown(graph_errors[0]) + ".")
        return
    if not deferred(spec, "The implied independences and their tests", "dag_tests_on"):
        return
    structure = _structure_json(spec)
    method = st.radio(
        "Conditional-independence test", list(dag_falsify.TEST_METHODS), horizontal=True, key="dag_test_method",
        format_func=lambda name: {"linear": "Linear (fast)", "gcm": "Non-linear (GCM, splines)"}[name],
        help="Linear: partial correlation, which reads a confounder acting through Z1² as a missing edge. GCM: "
        "the generalised covariance measure with spline regressions (Shah & Peters 2020), valid for non-linear "
        "relations; slower, and sampled past 20,000 rows.",
    )
    try:
        local = dag_falsify.Falsification.model_validate_json(
            _local_tests(implications_key(structure), data_key, frame, method, cluster, _structure_json=structure))
    except (dag_falsify.FalsifyError, ValueError) as error:
        st.info(f"No test: {escape_markdown(error)}.")
        return
    if not local.local:
        st.caption("The graph implies no conditional independence among observed columns (it is saturated): "
                   "the data cannot contradict it.")
        return
    st.markdown(escape_markdown(local.sentence))
    _render_local_tests(local)
    st.caption(f"Test: {escape_markdown(local.method)}.")
    _render_global_test(spec, frame, f"{structure}|{data_key}|{method}|{cluster}", method, cluster)


def render_lower_half(project: Project, spec: DagSpec, frame: pd.DataFrame, errors: list[str],
                      adjusted: list[str], dropped: list[str], table_key: str) -> None:
    """Everything under the editor, in reading order."""
    spec_json = spec.model_dump_json()
    render_roles(project, spec, spec_json)
    render_identification(project, spec, spec_json, errors)
    render_paths(spec, spec_json, adjusted, dropped, table_key)
    source = project.data_source
    cluster = project.cluster_column if project.cluster_column in frame.columns else None
    render_tests(spec, frame, errors, f"{source.sha256 if source else ''}:{project.dedup}", cluster)
