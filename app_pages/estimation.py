"""Estimation (N01 §9–11): the approved estimand, the DAG's adjustment set, four estimators, diagnostics,
sensitivity and refutations. Layout and widgets only; every number comes from causal_core.estimation."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from causal_core import estimation as est
from causal_core import staleness
from causal_core.display import EffectUnit, project_unit
from causal_core.estimation import refutation
from causal_core.estimation.constants import MAX_BOOTSTRAP
from causal_core.estimation.spec_refusal import refusal_message
from causal_core.methods import ALL_ESTIMANDS
from causal_core.project import EstimationResult, EstimationSpec
from causal_core.safe_text import code_span, escape_markdown
from causal_core.ui import designs_panel, state
from causal_core.ui import staleness as staleness_banner

st.title("Estimation")
st.caption(
    "Estimates become interpretable only after the design work: the estimand from the approved card, the adjustment "
    "set from the DAG, balance and overlap checked. The naive comparison is shown to see how much it misleads."
)



def _names(columns: list[str], empty: str) -> str:
    """Column names for Markdown prose: each a code span (a name is text, never markup)."""
    return ", ".join(code_span(c) for c in columns) or empty


key = state.active_key()
project = state.get_project()
frame = state.require_frame()
if not project.treatment or not project.outcome:
    st.info("Choose the **treatment** and the **outcome** (Overview → Roles, or approve the estimand card) first.")
    st.stop()

# Project fields the default specification is derived from (spec.py reads only these, plus the audit's settings).
DEFAULT_INPUTS = {"data_source", "dag", "dictionary", "treatment", "outcome", "cluster_column", "time_column",
                  "unit_columns", "guardrails", "dedup", "estimand_card", "card_status"}


@st.cache_data(show_spinner=False, max_entries=32)
def cached_defaults(inputs_json: str, audit_settings_json: str, _project, _frame) -> tuple[EstimationSpec, str]:
    """The default spec and where its set comes from: two DAG identifications per rerun otherwise."""
    spec = est.default_spec(_project, _frame)
    return spec, est.default_covariates(_project, _frame)[1]


try:
    default, default_note = cached_defaults(
        project.model_dump_json(include=DEFAULT_INPUTS),
        json.dumps(project.data_audit.settings if project.data_audit else {}, sort_keys=True, default=str),
        project, frame,
    )
except est.EstimationError as error:
    st.error(escape_markdown(error))
    st.stop()
stored = project.estimation.spec if project.estimation else None
stored_is_current = staleness.stale(project, "estimation") is None
start = (stored if stored and stored_is_current and stored.treatment == project.treatment
         and stored.outcome == project.outcome else default)


def k(name: str) -> str:
    """Widget keys per dataset, so switching datasets keeps each one's choices."""
    return f"est_{name}_{key}"


CHARTS = {"forest": est.forest_chart, "love": est.love_plot, "overlap": est.overlap_chart, "weights": est.weights_chart}


@st.cache_data(show_spinner=False, max_entries=64)
def chart_spec(kind: str, result_json: str, unit_json: str = "") -> dict:
    """The Vega-Lite spec of one chart, built once per stored result: building and validating an altair chart
    took most of a rerun (0.3–0.8 s each on a loaded 2-core machine), and the result only changes on Run."""
    result = EstimationResult.model_validate_json(result_json)
    if kind == "forest" and unit_json:  # the estimate's unit, by display.project_unit like every other page
        return est.forest_chart(result, unit=EffectUnit(**json.loads(unit_json))).to_dict()
    return CHARTS[kind](result).to_dict()


def draw_chart(kind: str, result, unit: EffectUnit | None = None) -> None:
    unit_json = json.dumps(dataclasses.asdict(unit)) if unit else ""
    st.vega_lite_chart(chart_spec(kind, result.model_dump_json(), unit_json), width="stretch")


def render_terms(frame: pd.DataFrame, covariates: list[str], start: EstimationSpec) -> dict:
    """Model terms without typing (a flexibility per numeric covariate) or as formulas; the IPW SE choice."""
    categorical = est.project_categoricals(project, frame, covariates)
    numeric = [c for c in covariates if c not in categorical and c not in start.categorical]
    with st.expander("Model terms: flexibility, formulas, IPW standard error"):
        st.caption(
            "Each numeric covariate enters linearly unless you choose otherwise. 'spline' is a natural cubic "
            "regression spline with 4 degrees of freedom (formulaic's cr); 'levels' treats a numeric code as "
            "categories. A formula below replaces these choices."
        )
        flexibility = {}
        columns = st.columns(4)
        for index, column in enumerate(numeric):
            flexibility[column] = columns[index % 4].selectbox(
                escape_markdown(column), list(est.FLEXIBILITY), key=k(f"flex_{column}"), help="How this covariate enters the models."
            )
        outcome_terms = st.text_input(
            "Outcome-model terms (formula, overrides the choices above)", value=start.outcome_terms or "",
            key=k("outcome_terms"), placeholder="age + I(age**2) + C(education) + cr(wt71, df=4, constraints='center')",
            help="formulaic / Wilkinson notation over the adjustment set: I(x**2), a:b, C(x), bs(x, df=4), "
            "cr(x, df=4, constraints='center').",
        )
        propensity_terms = st.text_input(
            "Propensity-model terms (blank = the outcome-model terms)", value=start.propensity_terms or "",
            key=k("propensity_terms"),
        )
        interactions = st.text_input(
            "Treatment interactions in the regression row (blank = constant-effect coefficient)",
            value=start.treatment_interactions or "", key=k("interactions"),
            help="E.g. 'smokeintensity': the regression row becomes regression standardisation over the target rows "
            "(What If ch. 13) instead of one coefficient.",
        )
        se_labels = {
            "influence": "Influence function incl. the propensity step (default)",
            "fixed_weights": "Robust sandwich, weights treated as known (What If's GEE SE)",
        }
        ipw_se = st.radio("IPW standard error", list(se_labels), format_func=se_labels.get, key=k("ipw_se"),
                          index=list(se_labels).index(start.ipw_se), horizontal=True)
    flexible = est.flexibility_terms(covariates, [c for c in covariates if c not in numeric], flexibility)
    return {
        "outcome_terms": outcome_terms.strip() or flexible,
        "propensity_terms": propensity_terms.strip() or None,
        "treatment_interactions": interactions.strip() or None,
        "ipw_se": ipw_se,
    }


def render_interval_notes(table: pd.DataFrame) -> None:
    """Every interval that is approximate says so next to the table (coverage measured by bench/coverage.py)."""
    notes = [(row["method"], row["interval_note"]) for _, row in table.iterrows() if row.get("interval_note")]
    if notes:
        with st.expander("Interval notes: which intervals are approximate, and why", expanded=False):
            for method, note in notes:
                st.caption(f"**{escape_markdown(method)}**: {escape_markdown(note)}")


def render_crossfit_spread(result) -> None:
    """How far the learner rows move between fold splits (median rule), right under the table that shows them."""
    crossfit = result.diagnostics.crossfit if result.diagnostics else None
    for method, spread in (crossfit.rows if crossfit else {}).items():
        st.caption(f"**{escape_markdown(method)}** across fold splits: {escape_markdown(spread.sentence)}")


def render_ipw_note(result) -> None:
    """Which propensity bounds the IPW/AIPW weights used, why, and which SE the IPW row reports."""
    if result.diagnostics is None:
        return
    info = result.diagnostics.ipw
    se = info.se_note or (
        "influence function including the propensity-estimation step" if info.se == "influence"
        else "robust sandwich treating the weights as known (What If's GEE SE, conservative)")
    st.caption(f"IPW: {info.form}. {info.bounds_note} SE: {se}.")


# ---- nuisance learners (learners) ---------------------------------------------------------------
def render_learners(start: EstimationSpec) -> dict:
    """Propensity and outcome learners for IPW/AIPW; any non-default one runs under K-fold cross-fitting."""
    from causal_core.estimation import learners

    if st.session_state.pop(k("learners_stopped"), False):
        st.info("Cross-fitting stopped between two model fits; the stored results are unchanged.")
    with st.expander("Nuisance models: exact fits (default) or scikit-learn learners"):
        st.caption(
            "The default exact logistic / linear fits are fast and their IPW SE includes the propensity step. A "
            "scikit-learn learner is cross-fitted (DML): each row's propensity and outcome predictions come from "
            "models fitted on the other folds (the folds above, 5 when 0; stratified by treatment, seeded), and the "
            "AIPW SE comes from those out-of-fold scores. Boosting captures nonlinearities and interactions the "
            "linear models miss; it takes about 2 s per fit on 100k rows and 10–17 s on 1M (a 5-fold cross-fit with "
            "boosting for both models measured 97 s per fold split on 1M rows, and R splits take R times that; "
            "Stop is offered between fits)."
        )
        left, right = st.columns(2)
        ps = left.selectbox(
            "Propensity model", list(learners.PS_LEARNERS), key=k("ps_learner"),
            index=list(learners.PS_LEARNERS).index(start.ps_learner),
            format_func=lambda name: f"{name}: {learners.PS_LEARNERS[name]}",
            help="With a flexible propensity the IPW row uses the cross-fitted e, and its SE treats e as known "
            "(it ignores the learner's estimation step, so it is labelled approximate).",
        )
        outcome = right.selectbox(
            "Outcome model (AIPW)", list(learners.OUTCOME_LEARNERS), key=k("outcome_learner"),
            index=list(learners.OUTCOME_LEARNERS).index(start.outcome_learner),
            format_func=lambda name: f"{name}: {learners.OUTCOME_LEARNERS[name]}",
            help="One model per arm. A 0/1 outcome uses the classifier version (probabilities). Measured per fit on "
            "800k rows: linear 0.4 s, ridge_cv 5 s, boosting 17 s, lasso_cv on a 0/1 outcome 84 s (L1 logistic).",
        )
        repetitions = st.number_input(
            "Fold splits (repetitions; 0 = 5)", 0, 100, start.crossfit_repetitions, key=k("repetitions"),
            help="A learner's estimate (and the exact AIPW with K ≥ 2 folds) depends on which rows share a fold. "
            "The run cross-fits R seeded splits "
            "(seed, seed + 1, …) and reports the median; the SE adds each split's distance from it (Chernozhukov "
            "et al. 2018), and the results say how far the splits disagree. Exact duplicate rows (and clusters) "
            "stay in one fold. R = 1 is the single split of earlier versions. "
            f"A run may fit at most {learners.MAX_ROW_FITS / 1e6:.0f} M rows in all (folds × splits × learners × "
            "rows); a bigger one is refused at once with the numbers.",
        )
    return {"ps_learner": ps, "outcome_learner": outcome, "crossfit_repetitions": int(repetitions)}


def learner_stop_button(spec: EstimationSpec, slot):
    """A Stop button in ``slot`` while learners are cross-fitted (checked between model fits); None for the
    default fits. The caller empties the slot when the run ends, so no Stop is left for a finished run."""
    from causal_core.estimation import learners

    if not learners.uses_learners(spec):
        return None
    slot.button("Stop the cross-fitting", key=k("learners_stop"), icon=":material/stop_circle:",
                on_click=lambda: st.session_state.update({k("learners_stopped"): True}))
    return lambda: bool(st.session_state.get(k("learners_stopped")))


def build_spec(**fields) -> EstimationSpec | None:
    """The spec from the widgets, or None after showing the refusing validator's own sentence (e.g. the formula
    gate's); the stored results stay as they were."""
    try:
        return EstimationSpec(**fields)
    except ValidationError as error:
        st.error(escape_markdown(refusal_message(error)), icon=":material/block:")
        return None


# ---- placebo outcome and refutations (refute-validate) -------------------------------------------
def render_placebo_picker(project, frame: pd.DataFrame, cluster: str | None) -> str | None:
    """A pre-treatment column as a negative-control outcome: the treatment cannot affect it, so ≈ 0 is expected."""
    roles = EstimationSpec(treatment=project.treatment, outcome=project.outcome, cluster=cluster)
    options = [None, *refutation.placebo_outcome_candidates(project, frame, roles)]
    stored_choice = project.estimation.spec.placebo_outcome if project.estimation else None
    return st.selectbox(
        "Placebo outcome (negative control, optional)", options,
        index=options.index(stored_choice) if stored_choice in options else 0,
        format_func=lambda c: "None" if c is None else c, key=k("placebo_outcome"),
        help="A numeric column the dictionary times as pre-treatment. Every estimator is re-run with it as the "
        "outcome (it leaves the adjustment set for that run); a valid adjustment finds ≈ 0.",
    )


def render_refutations(result) -> None:
    """Per-estimator verdicts: a table, every WARN spelled out, and what each test can and cannot detect."""
    st.subheader("Refutation tests")
    items = result.refutations
    if not items:
        st.caption("No refutation tests in this run.")
        return
    st.caption(refutation.SENSITIVITY_POINTER)
    st.dataframe(pd.DataFrame(refutation.summary_table(items)), hide_index=True, width="stretch")
    warned = [item for item in items if item.verdict != "PASS"]
    passed = len(items) - len(warned)
    st.markdown(f"{passed} of {len(items)} checks pass." + (" Each warning below names its estimator." if warned else ""))
    for item in warned:
        st.warning(escape_markdown(item.sentence), icon=":material/warning:")
    notes = sorted({item.budget_note for item in items if item.budget_note})
    for note in notes:
        st.caption(f"Reduced: {escape_markdown(note)}.")
    with st.expander("Every verdict in words"):
        for item in items:
            icon = ":material/check_circle:" if item.verdict == "PASS" else ":material/warning:"
            st.markdown(f"{icon} {escape_markdown(item.sentence)}")
    with st.expander("What each test can and cannot detect"):
        st.dataframe(pd.DataFrame(refutation.guide_table(items)), hide_index=True, width="stretch")


# ---- specification ----------------------------------------------------------------------------
st.subheader("Specification")
treated_value = est.audit_treated_value(project)
st.markdown(
    f"Treatment **{code_span(project.treatment)}** → outcome **{code_span(project.outcome)}**."
    + (f" Treated = {code_span(treated_value)} (the data audit's mapping)." if treated_value else "")
)
candidates = [c for c in frame.columns if c not in (project.treatment, project.outcome)]
reasons = {c: est.ineligible_reason(project, c) for c in candidates}
default_set = [c for c in default.covariates if c in candidates]
if k("covariates") not in st.session_state:
    st.session_state[k("covariates")] = [c for c in start.covariates if c in candidates]
    st.session_state[k("covariates_basis")] = default_set
elif st.session_state.get(k("covariates_basis")) != default_set:
    # the DAG or the dictionary changed the default set since this widget was filled: an old selection would be
    # estimated under the new DAG's name (NHEFS: an empty set run as "IPW/AIPW" after the DAG was built)
    previous = st.session_state[k("covariates")]
    st.session_state[k("covariates")] = default_set
    st.session_state[k("covariates_basis")] = default_set
    if previous != default_set:
        st.info(
            f"The DAG or the dictionary changed, so the adjustment set was reset to the new default "
            f"({_names(default_set, 'none')}); it was {_names(previous, 'empty')}.",
            icon=":material/sync:",
        )
left, right = st.columns([3, 1])
right.button("Reset to default", key=k("reset"), on_click=lambda: st.session_state.update(
    {k("covariates"): [c for c in default.covariates if c in candidates]}))
covariates = left.multiselect(
    "Adjustment set",
    candidates,
    key=k("covariates"),
    format_func=lambda c: f"{c} (ineligible)" if reasons.get(c) else c,
    help="Defaults to the DAG's recommended set, else the dictionary's eligible pre-treatment columns. "
    "'(ineligible)' marks a column that needs an override.",
)
st.caption(f"Default: {escape_markdown(default_note)} — {_names(default.covariates, 'none')}.")
ineligible = {c: reasons[c] for c in covariates if reasons.get(c)}
override_reason = ""
if ineligible:
    st.warning(
        "Ineligible for a total-effect adjustment set:\n" + "\n".join(f"- {code_span(c)}: {escape_markdown(why)}" for c, why in ineligible.items())
    )
    override = st.checkbox("Override: adjust for these anyway (logged, flagged in the memo)", key=k("override"))
    override_reason = st.text_input("Reason for the override", key=k("override_reason")) if override else ""

c1, c2, c3, c4 = st.columns(4)
estimands = [str(e) for e in ALL_ESTIMANDS]
estimand = c1.radio("Estimand", estimands, index=estimands.index(start.estimand), key=k("estimand"), horizontal=True,
                    help=f"From the approved card: {default.estimand}.")
clip = c2.slider("Propensity clip bounds", 0.0, 1.0, tuple(start.clip), step=0.01, key=k("clip"),
                 help="ATE applies both bounds; ATT only the upper one (control weights e/(1−e)); ATC only the lower "
                 "one (treated weights (1−e)/e). The bounds applied are stated with the results.")
trim_labels = {None: "No trimming", "bounds": "Trim at the clip bounds", "crump": "Trim by the Crump rule"}
trim = c3.selectbox("Trimming", list(trim_labels), index=list(trim_labels).index(start.trim), key=k("trim"),
                    format_func=trim_labels.get, help="Trimming drops rows, so the estimand changes (stated with the results).")
cluster_options = [None, *[c for c in frame.columns if c not in (project.treatment, project.outcome)]]
cluster = c4.selectbox("Cluster column", cluster_options,
                       index=cluster_options.index(start.cluster) if start.cluster in cluster_options else 0,
                       format_func=lambda c: "None (HC3 / IF)" if c is None else c, key=k("cluster"))
c5, c6, c7 = st.columns(3)
folds = c5.number_input(
    "AIPW cross-fitting folds (0 = off)", 0, 10, start.crossfit_folds, key=k("folds"),
    help="With K ≥ 2 the exact AIPW is cross-fitted on 5 seeded fold splits by default (the 'Fold splits' field "
    "under Nuisance models sets R; 1 = one split) and reports their median, its SE widened by their spread: one "
    "split moved AIPW by up to 1.09 SE on NHEFS. Folds are stratified by treatment; exact duplicate rows and "
    "clusters stay in one fold.",
)
missing_labels = {"complete_case": "Complete cases (drop, counted)", "indicator": "Missing indicators (logged)"}
missing = c6.radio("Missing covariates", list(missing_labels), index=list(missing_labels).index(start.missing),
                   format_func=missing_labels.get, key=k("missing"))
seed = c7.number_input("Seed", 0, 2**31 - 1, start.seed, key=k("seed"))
placebo_outcome = render_placebo_picker(project, frame, cluster)
terms_choice = render_terms(frame, list(covariates), start)
learner_choice = render_learners(start)

run_spec = None
if st.button("Run estimation", type="primary", key=k("run")):
    run_spec = build_spec(
        treatment=project.treatment, outcome=project.outcome, covariates=list(covariates),
        categorical=est.project_categoricals(project, frame, list(covariates)), estimand=estimand, cluster=cluster,
        clip=tuple(clip), trim=trim, crossfit_folds=int(folds) if folds != 1 else 0, seed=int(seed), missing=missing,
        treated_value=treated_value, **terms_choice, **learner_choice,
    )
if run_spec is not None:
    spec = run_spec.model_copy(update={"placebo_outcome": placebo_outcome})
    stop_slot = st.empty()
    stop_learners = learner_stop_button(spec, stop_slot)
    with st.status("Estimating…", expanded=True) as status:
        bar = st.progress(0.0)
        try:
            updated = est.estimate_project(
                project, frame, spec, override_reason=override_reason,
                progress=lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0), text=message),
                should_stop=stop_learners,
            )
        except est.EstimationError as error:
            status.update(label="Estimation refused", state="error")
            st.error(escape_markdown(error))
        else:
            state.set_project(updated)
            project = updated
            status.update(label=f"Estimated on {updated.estimation.n_used:,} rows", state="complete", expanded=False)
    stop_slot.empty()  # the run is over (finished, refused or stopped): no Stop button for it any more

result = project.estimation
if result is None:
    st.info("Choose the specification and press **Run estimation**.")
    designs_panel.render()  # a graph where adjustment fails needs no adjustment run first
    st.stop()
if staleness_banner.hide_stale_results(project, "estimation", k("show_stale")):
    designs_panel.render()
    st.stop()

# ---- results ----------------------------------------------------------------------------------
st.subheader("Results")
spec = result.spec
dropped = ", ".join(f"{reason}: {count:,}" for reason, count in result.dropped.items()) or "none"
st.caption(
    f"{spec.estimand} of **{code_span(spec.treatment)}** on **{code_span(spec.outcome)}** · n used {result.n_used:,} · "
    f"dropped: {escape_markdown(dropped)} · adjusted for {_names(spec.covariates, 'nothing')}"
    + (f" · clustered by {code_span(spec.cluster)}" if spec.cluster else "")
)
for warning in result.warnings:
    st.warning(escape_markdown(warning))
for note in (result.diagnostics.notes if result.diagnostics else []):
    st.info(escape_markdown(note))
render_ipw_note(result)
unit = project_unit(project)
table = est.estimates_table(result, unit)
st.dataframe(
    table, hide_index=True, width="stretch",
    column_config={
        **{name: st.column_config.NumberColumn(format="%.4f") for name in ("estimate", "std_error", "ci_low", "ci_high")},
        "se_method": st.column_config.TextColumn("SE method"),
    },
)
render_interval_notes(table)
render_crossfit_spread(result)
draw_chart("forest", result, unit)
if result.true_effect is not None:
    st.caption(f"Simulation truth: the true {spec.estimand} is {result.true_effect:+.4f} (red dashed line).")

with st.expander("Bootstrap standard errors (IPW and AIPW, models refitted in every replicate)"):
    b1, b2 = st.columns([1, 3])
    replicates = b1.number_input("Replicates", 50, MAX_BOOTSTRAP, 500, step=50, key=k("boot_n"))
    if st.session_state.pop(k("boot_cancelled"), False):
        st.info("Bootstrap cancelled; the analytic standard errors are kept.")
    if b2.button("Run bootstrap", key=k("bootstrap")):
        st.button("Cancel bootstrap", key=k("boot_cancel"),
                  on_click=lambda: st.session_state.update({k("boot_cancelled"): True}))
        bar = st.progress(0.0, text="Bootstrap…")
        try:
            updated = est.add_bootstrap(
                project, frame, int(replicates),
                progress=lambda fraction, message: bar.progress(min(fraction, 1.0), text=message),
                should_stop=lambda: bool(st.session_state.get(k("boot_cancelled"))),
            )
        except est.EstimationError as error:
            st.error(escape_markdown(error))
        else:
            state.set_project(updated)
            st.rerun()
    boot = result.diagnostics.bootstrap if result.diagnostics else None
    if boot:
        st.caption(f"{boot.completed} of {boot.requested} replicates" + (" (clusters resampled)" if boot.clustered else ""))
        st.dataframe(pd.DataFrame(
            [{"method": m, "bootstrap SE": part.se, "percentile CI low": part.percentile_ci[0],
              "percentile CI high": part.percentile_ci[1]}
             for m, part in (("ipw", boot.ipw), ("aipw", boot.aipw)) if part is not None]
        ), hide_index=True)

# ---- diagnostics ------------------------------------------------------------------------------
st.subheader("Diagnostics")
diagnostics = result.diagnostics
balance_tab, overlap_tab, weights_tab, models_tab = st.tabs(["Balance", "Overlap", "Weights", "Models"])
with balance_tab:
    draw_chart("love", result)
    if result.balance:
        st.dataframe(pd.DataFrame([row.model_dump() for row in result.balance]), hide_index=True, width="stretch")
    else:
        st.info("No covariates were adjusted for, so there is no balance to check: every row above compares the raw "
                "arms.", icon=":material/info:")
with overlap_tab:
    draw_chart("overlap", result)
    if diagnostics is not None:
        overlap = diagnostics.overlap
        st.caption(
            f"{overlap.n_below_clip + overlap.n_above_clip:,} rows clipped to [{overlap.clip[0]:g}, {overlap.clip[1]:g}]; "
            f"{overlap.share_outside_05_95:.1%} outside [0.05, 0.95]; {overlap.treated_above_max_control} treated rows "
            f"above the highest control propensity, {overlap.control_below_min_treated} controls below the lowest "
            "treated one."
        )
        st.dataframe(pd.DataFrame(overlap.quantiles.model_dump()).T, width="stretch")
        if diagnostics.trimming is not None:
            st.info(escape_markdown(diagnostics.trimming.statement))
with weights_tab:
    draw_chart("weights", result)
    if diagnostics is not None:
        weights = diagnostics.weights
        st.dataframe(pd.DataFrame({"treated": weights.treated.model_dump(), "control": weights.control.model_dump()}).T,
                     width="stretch")
with models_tab:
    if diagnostics is not None:
        st.json(diagnostics.model_dump(mode="json", include={"propensity_model", "outcome_model", "regression",
                                                             "arm_means", "timings_s"}), expanded=False)

# ---- sensitivity ------------------------------------------------------------------------------
st.subheader("Sensitivity to unobserved confounding")
sensitivity = result.sensitivity
evalue = sensitivity.evalue
sensemakr = sensitivity.sensemakr
m1, m2, m3, m4 = st.columns(4)
if evalue is not None and evalue.available:
    m1.metric("E-value (estimate)", f"{evalue.evalue_estimate:.2f}")
    m2.metric("E-value (CI limit)", f"{evalue.evalue_ci:.2f}")
    st.markdown(escape_markdown(evalue.sentence))
    st.caption(f"Scale: {evalue.scale}.")
if sensemakr:
    m3.metric("Robustness value RV", f"{sensemakr.rv:.1%}")
    m4.metric("RV at α = 0.05", f"{sensemakr.rv_alpha:.1%}")
    st.markdown(escape_markdown(sensemakr.rv_sentence))
    bench = sensemakr.benchmark
    if bench:
        st.markdown(f"**Benchmarked on the strongest observed covariate, {code_span(bench.covariate)}:**")
        for row in bench.bounds:
            st.markdown(f"- {escape_markdown(row.sentence)}")

# ---- refutations ------------------------------------------------------------------------------
render_refutations(result)

# ---- other identification strategies (front door, 2SLS): causal_core/ui/designs_panel.py ------

designs_panel.render()
