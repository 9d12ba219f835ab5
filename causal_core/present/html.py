"""The deck as one offline HTML file: large type for a 1280×720 projector, keyboard navigation, speaker notes.

Why this shape: the file is mailed to stakeholders and opened anywhere, so it carries everything inline (CSS,
SVG pictures, one script) and references nothing outside itself. The script is the constant ``SCRIPT`` below,
written here and never built from data; every string from the project (names, brief, memo text) is escaped by
memo.markup.to_html / safe_text.escape_html, so a hostile column name shows as text. Printing (Chromium's
PDF) lays every slide out on its own 1280×720 page.
"""

from __future__ import annotations

import base64

from causal_core.memo.markup import to_html
from causal_core.present.slides import Deck, Headline, Slide
from causal_core.safe_text import escape_html

BODY_PX = 28  # body text: readable from the back of a room on a 1280×720 projector (at least 24 px is readable there)
SMALL_PX = 24  # captions, notes, the slide counter: never below 24 px

FONT = 'system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif'
PAGE_STYLE = f"""
*{{box-sizing:border-box}}
html,body{{margin:0;height:100%;background:#0f172a}}
body{{font-family:{FONT};color:#0f172a;font-size:{BODY_PX}px;line-height:1.35}}
.cw-deck.show-notes .slide.active .notes{{display:block}}
.controls{{position:fixed;left:0;right:0;bottom:0;height:64px;display:flex;gap:16px;justify-content:center;align-items:center;background:#0f172a}}
.controls button{{font-size:{SMALL_PX}px;padding:6px 22px;border-radius:8px;border:0;background:#e2e8f0;color:#0f172a;cursor:pointer}}
.controls .hint{{color:#cbd5e1;font-size:{SMALL_PX}px}}
"""
_DECK_RULES = f"""
.slide{{box-sizing:border-box;display:none;flex-direction:column;width:100vw;height:100vh;padding:28px 48px 76px;background:#fff;overflow:hidden}}
.slide.active{{display:flex}}
.slide header{{display:flex;align-items:baseline;gap:24px;border-bottom:3px solid #2563eb;margin-bottom:18px}}
.slide h1{{font-size:44px;margin:0 0 8px;flex:1}}
.count{{font-size:{SMALL_PX}px;color:#475569}}
.body{{flex:1;min-height:0;display:flex;flex-direction:column;gap:14px}}
.body.two{{flex-direction:row;gap:36px}}
.body.two>.words{{flex:0 0 44%}}
.body.two>figure{{flex:1}}
p,li{{font-size:{BODY_PX}px;margin:0 0 10px}}
ul{{margin:0;padding-left:1.2em}}
code{{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;background:#eef2ff;padding:0 .2em;border-radius:4px;font-size:.92em;overflow-wrap:anywhere}}
.headline{{margin:0 0 14px}}
.headline .label{{font-size:{SMALL_PX}px;color:#475569;margin:0}}
.headline .point{{font-size:52px;font-weight:700;color:#1d4ed8;margin:0;line-height:1.15}}
.lead.small{{font-size:{SMALL_PX}px}}
.headline .interval{{font-size:{BODY_PX}px;margin:4px 0 0}}
.notdone{{color:#b45309;font-weight:600}}
figure{{margin:0;flex:1;min-height:0;width:100%;display:flex;flex-direction:column;align-items:center}}
figure svg{{flex:1;min-height:0;width:100%;height:100%}}
figcaption{{font-size:{SMALL_PX}px;color:#334155;margin-top:6px;text-align:center}}
.notes{{display:none;position:fixed;left:0;right:0;bottom:64px;max-height:40vh;overflow:auto;background:#fef9c3;border-top:3px solid #ca8a04;padding:12px 48px}}
.notes h2{{font-size:{SMALL_PX}px;margin:0 0 6px}}
.notes p{{font-size:{SMALL_PX}px}}
"""
PRINT_STYLE = """
@page{size:1280px 720px;margin:0}
@media print{
 html,body{background:#fff;height:auto}
 .cw-deck .slide{display:flex!important;width:1280px;height:720px;padding-bottom:28px;break-after:page;page-break-after:always}
 .controls,.cw-deck .notes{display:none!important}
}
"""


def _scoped(css: str, scope: str) -> str:
    """Every rule's selectors prefixed with ``scope``: inside the app's page the deck's styles touch only the deck."""
    rules = []
    for line in css.strip().splitlines():
        selectors, _, body = line.partition("{")
        rules.append(",".join(f"{scope} {selector.strip()}" for selector in selectors.split(",")) + "{" + body)
    return "\n".join(rules)


DECK_STYLE = _scoped(_DECK_RULES, ".cw-deck")
STYLE = PAGE_STYLE + DECK_STYLE + PRINT_STYLE

# Static text, written here: never formatted with project data.
SCRIPT = """
(function () {
  var deck = document.querySelector(".cw-deck");
  var slides = deck.querySelectorAll(".slide");
  var current = 0;
  function show(index) {
    current = Math.max(0, Math.min(slides.length - 1, index));
    for (var k = 0; k < slides.length; k++) { slides[k].classList.toggle("active", k === current); }
    document.body.setAttribute("data-slide", String(current + 1));
  }
  document.addEventListener("keydown", function (event) {
    var key = event.key;
    if (key === "ArrowRight" || key === "ArrowDown" || key === "PageDown" || key === " ") { event.preventDefault(); show(current + 1); }
    else if (key === "ArrowLeft" || key === "ArrowUp" || key === "PageUp") { event.preventDefault(); show(current - 1); }
    else if (key === "Home") { show(0); }
    else if (key === "End") { show(slides.length - 1); }
    else if (key === "n" || key === "N") { deck.classList.toggle("show-notes"); }
  });
  document.getElementById("prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("next").addEventListener("click", function () { show(current + 1); });
  document.getElementById("notes-toggle").addEventListener("click", function () { deck.classList.toggle("show-notes"); });
  show(0);
})();
"""


def _headline_html(figure: Headline) -> str:
    interval = f'<p class="interval">95% interval: {escape_html(figure.interval)}</p>' if figure.interval else ""
    return (
        '<div class="headline">'
        f'<p class="label">{to_html(figure.label)}</p>'
        f'<p class="point">{escape_html(figure.point)}</p>{interval}</div>'
    )


def _words_html(slide: Slide) -> str:
    parts = [_headline_html(slide.headline)] if slide.headline else []
    if slide.lead.strip():
        css = "lead notdone" if not slide.done else "lead small" if slide.headline else "lead"
        parts.append(f'<p class="{css}">{to_html(slide.lead)}</p>')
    bullets = [line for line in slide.bullets if line.strip()]
    if bullets:
        parts.append("<ul>" + "".join(f"<li>{to_html(line)}</li>" for line in bullets) + "</ul>")
    return "".join(parts)


def _figure_html(slide: Slide) -> str:
    if not slide.svg and not slide.svg_caption:
        return ""
    caption = f"<figcaption>{to_html(slide.svg_caption)}</figcaption>" if slide.svg_caption else ""
    return f"<figure>{slide.svg}{caption}</figure>"  # svg: safe_svg.safe_svg output (allow-listed XML)


def _notes_html(slide: Slide) -> str:
    paragraphs = "".join(f"<p>{to_html(line)}</p>" for line in slide.notes.splitlines() if line.strip())
    return f'<aside class="notes"><h2>Speaker notes</h2>{paragraphs or "<p>None.</p>"}</aside>'


def slide_body_html(slide: Slide) -> str:
    """The slide's content area: words and picture side by side on the estimate slide, stacked elsewhere."""
    words, figure = _words_html(slide), _figure_html(slide)
    layout = "body two" if slide.key == "estimate" and figure else "body"
    return f'<div class="{layout}"><div class="words">{words}</div>{figure}</div>'


def slide_html(slide: Slide, index: int, total: int) -> str:
    """One <section>: counter, title, body, speaker notes."""
    return (
        f'<section class="slide" id="slide-{index + 1}" data-key="{slide.key}">'
        f'<header><h1>{escape_html(slide.title)}</h1><span class="count">{index + 1} / {total}</span></header>'
        f"{slide_body_html(slide)}{_notes_html(slide)}</section>"
    )


def deck_html(deck: Deck) -> str:
    """The whole deck as one standalone, offline HTML document."""
    total = len(deck.slides)
    sections = "".join(slide_html(slide, index, total) for index, slide in enumerate(deck.slides))
    controls = (
        '<nav class="controls"><button id="prev" type="button">Previous</button>'
        '<button id="notes-toggle" type="button">Speaker notes</button>'
        '<button id="next" type="button">Next</button>'
        '<span class="hint">← → keys · N: notes</span></nav>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape_html(deck.title)}</title><style>{STYLE}</style></head>"
        f'<body><main class="cw-deck">{sections}</main>'
        f"{controls}<script>{SCRIPT}</script></body></html>\n"
    )


# The same slide inside the app's page (st.html): no fixed controls, notes shown below when asked.
EMBED_STYLE = DECK_STYLE + f"""
.cw-deck.cw-present .slide{{display:flex;width:100%;height:auto;min-height:600px;padding:24px 36px;border:1px solid #cbd5e1;border-radius:10px}}
.cw-deck.cw-present .body.two{{flex-wrap:wrap}}
.cw-deck.cw-present .body.two>.words{{flex:1 1 380px}}
.cw-deck.cw-present .body.two>figure{{flex:1 1 380px}}
.cw-deck.cw-present img.picture{{max-width:100%;max-height:440px;object-fit:contain}}
.cw-deck.cw-present .notes{{display:block;position:static;max-height:none;margin-top:12px;border-radius:8px}}
.cw-present{{font-family:{FONT};font-size:{BODY_PX}px;line-height:1.35;color:#0f172a}}
.cw-present *{{box-sizing:border-box}}
"""


def _as_image(slide: Slide) -> Slide:
    """The slide with its SVG as an <img> data URI: st.html's sanitiser drops inline <svg>, and an SVG shown as
    an image can neither run nor fetch anything."""
    if not slide.svg:
        return slide
    encoded = base64.b64encode(slide.svg.encode("utf-8")).decode("ascii")
    image = f'<img class="picture" alt="{escape_html(slide.svg_caption)}" src="data:image/svg+xml;base64,{encoded}">'
    return slide.model_copy(update={"svg": image})


def embedded_slide_html(slide: Slide, index: int, total: int, notes: bool = False) -> str:
    """One slide for the app's Present page: the deck's look and type sizes (the height grows with the narrower
    column, so nothing is cut), the picture as an image, notes below the slide when toggled."""
    section = (
        f'<section class="slide" data-key="{slide.key}">'
        f'<header><h1>{escape_html(slide.title)}</h1><span class="count">{index + 1} / {total}</span></header>'
        f"{slide_body_html(_as_image(slide))}</section>"
    )
    return f'<style>{EMBED_STYLE}</style><div class="cw-deck cw-present">{section}{_notes_html(slide) if notes else ""}</div>'
