"""Writing the curve out: the table as CSV/JSON, the chart as SVG/PNG (vl-convert renders altair offline)."""

from __future__ import annotations

import json
from typing import Any

from causal_core.errors import WorkbenchInputError
from causal_core.multiverse.charts import specification_curve
from causal_core.multiverse.summary import table
from causal_core.project import MultiverseResult
from causal_core.safe_io import safe_csv_text

TABLE_FORMATS = ("csv", "json")
CHART_FORMATS = ("svg", "png")


class ExportError(WorkbenchInputError):
    """An output that cannot be written in the asked format; the message names the formats that work."""


def table_bytes(result: MultiverseResult, fmt: str) -> bytes:
    """Every specification (failed and stopped ones included, with their reasons) as CSV or JSON."""
    frame = table(result.rows)
    if fmt == "csv":
        return safe_csv_text(frame).encode("utf-8")  # terms and reasons are user/model text: no live formulas
    if fmt == "json":
        payload: dict[str, Any] = {
            "summary": result.summary,
            "dimensions": result.dimensions,
            "true_effects": result.true_effects,
            "notes": result.notes,
            "cancelled": result.cancelled,
            "specifications": json.loads(frame.to_json(orient="records")),
        }
        return json.dumps(payload, indent=2, default=str).encode("utf-8")
    raise ExportError(f"Unknown table format {fmt!r}: use one of {', '.join(TABLE_FORMATS)}.")


def chart_bytes(result: MultiverseResult, fmt: str, title: str | None = None, scale: float = 2.0) -> bytes:
    """The altair curve rendered without a browser (vl-convert)."""
    import altair as alt
    import vl_convert as vlc

    with alt.data_transformers.disable_max_rows():  # 5,000 specifications × dimensions exceed altair's 5,000 rows
        spec = specification_curve(result, title).to_json()
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    if fmt == "png":
        return vlc.vegalite_to_png(spec, scale=scale)
    raise ExportError(f"Unknown chart format {fmt!r}: use one of {', '.join(CHART_FORMATS)}.")


def format_of(path: str, allowed: tuple[str, ...]) -> str:
    """The format named by a file's extension, or a clear error listing the allowed ones."""
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix not in allowed:
        raise ExportError(f"{path}: the file name must end in {' or '.join('.' + f for f in allowed)}.")
    return suffix
