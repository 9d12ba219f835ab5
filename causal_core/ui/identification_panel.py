"""DAG page panel: identification beyond the backdoor (design sentence, adjustment criterion, front-door,
conditional instruments, controlled direct effect) and the estimand card's open questions that follow.

Layout only: every answer comes from ``causal_core.dag``. Node names are user text, so they are escaped
before any markdown rendering (an underscore must not italicise half a set) and never reach HTML.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from causal_core import dag
from causal_core.project import DagSpec, Project
from causal_core.safe_text import escape_markdown
from causal_core.ui import state

_DESIGN_LABELS = {
    "adjustment": "Adjustment",
    "frontdoor": "Front-door",
    "iv": "Instrumental variable",
    "none": "Not identified",
}


def _md(text: str) -> str:
    """Escape markdown so node names render literally (the one shared helper, causal_core.safe_text)."""
    return escape_markdown(text)


def _sets_frame(sets: list[list[str]], label: str) -> pd.DataFrame:
    return pd.DataFrame({label: [", ".join(s) if s else "∅ (empty set)" for s in sets], "size": [len(s) for s in sets]})


@st.cache_data(max_entries=32, show_spinner=False)
def _analyse(spec_json: str) -> dict:
    """All identification answers for one graph (cached on the graph's JSON; plain dicts for the cache)."""
    spec = DagSpec.model_validate_json(spec_json)
    summary = dag.design_summary(spec)
    return {
        "summary": summary.model_dump(),
        "identification": dag.identify(spec).model_dump(),
        "frontdoor": dag.frontdoor_search(spec).model_dump(),
        "instruments": [item.model_dump() for item in dag.conditional_instruments(spec)],
    }


def render_identification_panel(project: Project, spec: DagSpec, key_prefix: str = "ident") -> None:
    """The panel under the page's backdoor result. A graph the engine refuses shows the reason, changes
    nothing, and the rest of the page keeps working."""
    if not spec.treatment or not spec.outcome:
        return
    try:
        answers = _analyse(spec.model_dump_json())
    except ValueError as error:
        st.error(f"Identification beyond adjustment needs a valid graph: {error}.", icon=":material/error:")
        return
    summary = dag.DesignSummary.model_validate(answers["summary"])
    _render_design(summary)
    tabs = st.tabs(["Adjustment criterion", "Front-door", "Instruments", "Direct effect"])
    with tabs[0]:
        _render_criterion(answers["identification"])
    with tabs[1]:
        _render_frontdoor(answers["frontdoor"])
    with tabs[2]:
        _render_instruments(answers["instruments"])
    with tabs[3]:
        _render_direct_effect(spec, key_prefix)
    _render_open_questions(project, summary, key_prefix)


def _render_design(summary: dag.DesignSummary) -> None:
    label = _DESIGN_LABELS[summary.design]
    box = st.success if summary.design == "adjustment" else st.info if summary.design != "none" else st.error
    icon = ":material/check_circle:" if summary.design != "none" else ":material/cancel:"
    box(f"**Design: {label}.** {_md(summary.sentence)}", icon=icon)
    for item in summary.what_would_identify[1:]:
        st.caption(f"Also: {_md(item)}.")
    for warning in summary.warnings:
        st.warning(_md(warning), icon=":material/warning:")
    for note in summary.notes:
        st.caption(_md(note))


def _render_criterion(identification: dict) -> None:
    st.caption(
        "The adjustment criterion (van der Zander, Liśkiewicz & Textor; DAGitty's default) accepts exactly the "
        "sets that remove all confounding bias; the backdoor criterion above is a sufficient special case."
    )
    sets = identification["criterion_sets"]
    if sets:
        st.dataframe(_sets_frame(sets, "minimal set (adjustment criterion)"), hide_index=True, width="stretch")
    else:
        st.markdown(":material/cancel: No observed set satisfies the adjustment criterion.")
    if identification["criterion_note"]:
        st.caption(_md(identification["criterion_note"]))
    check = identification.get("adjusted_check")
    if check:
        mark = ":material/check_circle:" if check["valid"] else ":material/cancel:"
        criterion = "valid" if check.get("criterion_valid") else "not valid"
        st.markdown(
            f"{mark} The DAG's adjusted set: {'valid' if check['valid'] else 'not valid'} (backdoor), {criterion} "
            f"(adjustment criterion): {_md(check['reason'])}"
        )


def _render_frontdoor(frontdoor: dict) -> None:
    st.caption(
        "Pearl's front-door criterion: mediators that carry the whole effect, share no open backdoor path with "
        "the treatment, and whose paths to the outcome the treatment blocks."
    )
    if frontdoor["sets"]:
        st.dataframe(_sets_frame(frontdoor["sets"], "front-door mediator set"), hide_index=True, width="stretch")
    if frontdoor["note"]:
        st.caption(_md(frontdoor["note"]))


def _render_instruments(instruments: list[dict]) -> None:
    st.caption(
        "Conditional instruments as DAGitty's instrumentalVariables (van der Zander, Textor & Liśkiewicz 2015). "
        "2SLS on an instrument estimates a linear constant effect, or a local effect among compliers."
    )
    if not instruments:
        st.markdown(f":material/cancel: {_md(dag.NO_INSTRUMENT_MESSAGE.capitalize())}.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "instrument": [item["instrument"] for item in instruments],
                "conditional on": [", ".join(item["conditioning"]) or "nothing" for item in instruments],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def _mediator_choices(spec: DagSpec) -> list[str]:
    graph = dag.to_networkx(spec)
    on_path = dag.proper_causal_nodes(graph, spec.treatment, spec.outcome) - {spec.outcome}
    return sorted(on_path & dag.observed_names(spec))


def _render_direct_effect(spec: DagSpec, key_prefix: str) -> None:
    st.caption(
        "Controlled direct effect: the effect of the treatment with the chosen mediators held fixed. A set is "
        "valid when it satisfies the adjustment criterion for the joint intervention on treatment and mediators."
    )
    choices = _mediator_choices(spec)
    if not choices:
        st.caption("No observed mediator lies on a causal path from the treatment to the outcome.")
        return
    chosen = st.multiselect("Mediators to hold fixed", choices, key=f"{key_prefix}_mediators")
    if not chosen:
        return
    try:
        result = dag.direct_effect_search(spec, spec.treatment, spec.outcome, chosen)
    except ValueError as error:
        st.error(_md(str(error)), icon=":material/error:")
        return
    if result.sets:
        st.dataframe(_sets_frame(result.sets, "adjustment set (direct effect)"), hide_index=True, width="stretch")
    if result.note:
        (st.caption if result.sets else st.warning)(_md(result.note))


def _render_open_questions(project: Project, summary: dag.DesignSummary, key_prefix: str) -> None:
    """Offer to bring the estimand card's open questions in line with the design (one analyst click,
    logged as an edit; the analyst's own questions are never touched)."""
    if project.dag is None:
        return
    wanted = dag.design_questions(summary, project.dag)
    owned = [q.text for q in project.open_questions if q.source == dag.OPEN_QUESTION_SOURCE]
    if wanted == owned:
        st.caption(f"The estimand card's open questions follow this design ({len(wanted)} from the DAG).")
        return
    st.markdown("**Open questions this design raises**")
    for text in wanted:
        st.markdown(f"- {_md(text)}")
    if st.button("Update the estimand card's open questions", key=f"{key_prefix}_open_questions"):
        state.set_project(dag.update_open_questions(project))
        st.rerun()
