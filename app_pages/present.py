"""Present: the five-slide stakeholder walkthrough, one slide at a time, with speaker notes and exports.

Layout and widgets only: the slides come from causal_core.present (the memo's figures), rendered by its
HTML module; this page steps through them and offers the offline HTML deck and the PDF.
"""

import hashlib

import streamlit as st

from causal_core.present import build_deck
from causal_core.present.html import deck_html, embedded_slide_html
from causal_core.present.pdf import PdfUnavailable, deck_pdf
from causal_core.project_file import project_from_json, project_to_json
from causal_core.safe_text import escape_markdown
from causal_core.ui import state

SLIDE_KEY = "present_slide"
PDF_KEY = "present_pdf"
# Static CSS we write (never data): hides the sidebar and header so the slide fills the screen.
FULL_SCREEN_CSS = (
    "<style>[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],header[data-testid='stHeader']"
    "{display:none}.block-container{padding-top:1rem;max-width:1280px}</style>"
)


@st.cache_data(max_entries=4, show_spinner="Drawing the slides…")
def cached_deck(project_json: str, _frame, frame_key: str):
    """The deck and its HTML for one project state (keyed by its JSON and which rows were loaded)."""
    deck = build_deck(project_from_json(project_json), _frame)
    return deck, deck_html(deck)


def move(step: int, total: int) -> None:
    st.session_state[SLIDE_KEY] = max(0, min(total - 1, st.session_state.get(SLIDE_KEY, 0) + step))


project = state.get_project()
frame = state.get_frame()
project_json = project_to_json(project)
deck, html = cached_deck(project_json, frame, "rows" if frame is not None else "none")
total = len(deck.slides)
index = max(0, min(total - 1, st.session_state.get(SLIDE_KEY, 0)))
slide = deck.slides[index]

full_screen = st.toggle("Full screen (hide the sidebar)", key="present_full_screen")
if full_screen:
    st.html(FULL_SCREEN_CSS)
previous_col, status_col, notes_col, next_col = st.columns([1, 3, 2, 1], vertical_alignment="center")
previous_col.button(
    "Previous", icon=":material/arrow_back:", key="present_prev", disabled=index == 0,
    on_click=move, args=(-1, total), use_container_width=True,
)
next_col.button(
    "Next", icon=":material/arrow_forward:", key="present_next", disabled=index == total - 1,
    on_click=move, args=(1, total), use_container_width=True,
)
status = "" if slide.done else " · not done yet"
status_col.caption(f"Slide {index + 1} of {total}: {escape_markdown(slide.title)}{status}")
show_notes = notes_col.toggle("Speaker notes", key="present_notes")

st.html(embedded_slide_html(slide, index, total, notes=show_notes))

with st.expander("Export the walkthrough", icon=":material/download:"):
    st.caption(
        "One HTML file that opens offline in any browser (arrow keys, Page Up/Down or Space move; N shows the "
        "notes), or PDF pages printed by Chromium."
    )
    stem = "".join(c if c.isalnum() else "-" for c in (project.name or "deck")).strip("-")[:40] or "deck"
    st.download_button(
        "Download HTML deck", data=html, file_name=f"{stem}-walkthrough.html", mime="text/html",
        icon=":material/slideshow:", key="present_html",
    )
    digest = hashlib.sha256(html.encode("utf-8")).hexdigest()
    if st.button("Prepare PDF", icon=":material/picture_as_pdf:", key="present_prepare_pdf"):
        try:
            with st.spinner("Printing the slides with Chromium…"):
                st.session_state[PDF_KEY] = (digest, deck_pdf(html))
        except PdfUnavailable as error:
            st.warning(escape_markdown(str(error)), icon=":material/warning:")
    prepared = st.session_state.get(PDF_KEY)
    if prepared and prepared[0] == digest:
        st.download_button(
            "Download PDF", data=prepared[1], file_name=f"{stem}-walkthrough.pdf", mime="application/pdf",
            icon=":material/picture_as_pdf:", key="present_pdf_download",
        )
