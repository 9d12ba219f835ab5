"""Present mode (docs/present.md): a five-slide walkthrough for stakeholders built from the project.

``slides.build_deck`` turns a project into typed slides whose words and numbers are the memo's;
``html.deck_html`` renders them as one offline HTML file (no CDN, one static inline script);
``pdf.deck_pdf`` prints that file to PDF pages with the system Chromium.
"""

from __future__ import annotations

from causal_core.present.slides import NOT_DONE, Deck, Headline, Slide, build_deck  # noqa: F401

__all__ = [
    "NOT_DONE",
    "Deck",
    "Headline",
    "Slide",
    "build_deck",
]
