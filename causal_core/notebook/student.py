"""The student version: the same notebook with every result cell replaced by a TODO for the class.

Why replace rather than delete: the cell order stays the full notebook's, so a teacher can hand out the
student version and later the full one, and a test can check cell by cell that exactly the result cells
(the ``result`` role set by cells.py) were stripped and nothing else.
"""

from __future__ import annotations

import copy

import nbformat
from nbformat.notebooknode import NotebookNode

TODO_ROLE = "todo"


def is_result(cell: NotebookNode) -> bool:
    return cell.get("metadata", {}).get("causal_workbench", {}).get("role") == "result"


def todo_cell(cell: NotebookNode) -> NotebookNode:
    """The TODO Markdown that replaces one result cell (same id, its hint as the text)."""
    hint = cell["metadata"]["causal_workbench"].get("todo") or "Show and interpret this stage's results."
    replacement = nbformat.v4.new_markdown_cell(
        f"**TODO.** {hint}\n\n*Add a code cell below and write it yourself.*",
        metadata={"tags": [TODO_ROLE], "causal_workbench": {"role": TODO_ROLE, "replaces": cell["cell_type"]}},
    )
    replacement["id"] = cell["id"]
    return replacement


def student_cells(cells: list[NotebookNode]) -> list[NotebookNode]:
    """Result cells become TODO cells; every other cell is kept as it is (a copy)."""
    return [todo_cell(cell) if is_result(cell) else copy.deepcopy(cell) for cell in cells]


STUDENT_BANNER = (
    "> **Student version.** The cells that showed results are replaced by **TODO** cells; the code that "
    "computes each stage is kept. Run the notebook top to bottom, then fill in each TODO."
)
