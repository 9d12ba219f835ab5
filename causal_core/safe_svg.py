"""SVG made safe to inline by parsing it, not by pattern-matching it.

Why a parser: Graphviz copies node names into <title> and <text>. report.inline_svg used to remove handlers with a
regular expression over the whole document, so a node named ``u<img src=x onerror=alert(1)>`` (escaped by
Graphviz, harmless) had its *text* " onerror=alert(1)&gt;</title" cut out, taking the closing tag with it: the
deck's DOM broke after the diagram and the slides behind it vanished. Parsing the XML and keeping only an
allow-list of drawing elements and attributes cannot cut text, and serialising escapes every name again.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from causal_core.safe_text import clean_text

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Drawing elements Graphviz and Vega write. Anything else (script, foreignObject, image, use, animate, style …)
# is dropped with its children.
ALLOWED_ELEMENTS = frozenset(
    [
        "svg", "g", "title", "desc", "path", "polygon", "polyline", "line", "rect", "circle", "ellipse", "text",
        "tspan", "defs", "clipPath", "linearGradient", "radialGradient", "stop", "a",
    ]
)
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _keep_attribute(name: str, value: str) -> bool:
    """No handler, no link or reference outside the drawing, no CSS url() to anywhere but an in-document id."""
    local = _local(name).lower()
    if local.startswith("on") or local in ("href", "src", "action", "formaction"):
        return False
    lowered = value.lower().replace(" ", "")
    return "url(" not in lowered.replace("url(#", "") and "javascript:" not in lowered


def _clean(element: ET.Element) -> None:
    """Allowed children only, allowed attributes only, every text cleaned (bidi, controls, line endings)."""
    for child in list(element):
        if _local(str(child.tag)) not in ALLOWED_ELEMENTS:
            tail = child.tail
            element.remove(child)
            if tail and tail.strip():
                element.text = (element.text or "") + clean_text(tail)
            continue
        _clean(child)
    for name, value in list(element.attrib.items()):
        if _keep_attribute(name, value):
            element.attrib[name] = clean_text(value)
        else:
            del element.attrib[name]
    element.text = clean_text(element.text) if element.text else element.text
    element.tail = clean_text(element.tail) if element.tail else element.tail


def safe_svg(document: str) -> str:
    """The <svg> element of ``document`` with only drawing elements and attributes left, re-serialised; '' when
    the text is not well-formed SVG (the caller then says the picture could not be drawn)."""
    start = document.find("<svg")
    if start < 0:
        return ""
    try:
        root = ET.fromstring(document[start:])
    except ET.ParseError:
        return ""
    if _local(str(root.tag)) != "svg":
        return ""
    _clean(root)
    return ET.tostring(root, encoding="unicode")
