"""Every bad input of issue 18, written into a temporary folder, with the message fragment a user must see.

A case is one file (or a directory where a file belongs), the CLI invocations it goes through, whether the
app meets it through the sidebar's upload or open, and the fragment of the one-line message expected. A few
cases are valid files the app used to misread (UTF-16, Latin-1): for those ``ok`` is True and the expected
outcome is success. Generating the whole corpus takes well under a second (the 21 MB project is the largest).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DATA_CLI = [["estimate", "--data", "{f}", "--treatment", "t", "--outcome", "y", "--covariates", "x"]]
PROJECT_CLI = [
    ["memo", "--project", "{f}", "--out", "{tmp}/memo-out.md"],
    ["report", "--project", "{f}", "--out", "{tmp}/report-out.zip"],
    ["score", "estimand-card", "--card", "{card}", "--project", "{f}"],
]
REBIND_CLI = [["multiverse", "--project", "{f}", "--out", "{tmp}/curve-out.json"]]
DAG_CLI = [["adjust", "--dag", "{f}"], ["paths", "--dag", "{f}"]]

Content = bytes | Callable[[Path], None] | None  # None: a directory where a file belongs


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    filename: str
    content: Content
    fragment: str
    cli: list[list[str]] = field(default_factory=list)
    app: str | None = None  # "upload" | "open" | None
    ok: bool = False  # a valid file that must be read (the fragment is then a notice, or "")

    def write(self, folder: Path) -> Path:
        target = folder / self.name / self.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.content is None:
            target.mkdir()
        elif callable(self.content):
            self.content(target)
        else:
            target.write_bytes(self.content)
        return target

    def argv(self, path: Path, folder: Path, extras: dict[str, str]) -> list[list[str]]:
        values = {"f": str(path), "tmp": str(path.parent), **extras}
        return [[part.format(**values) for part in command] for command in self.cli]


# ---- data files -------------------------------------------------------------------------------------------
def good_frame(rows: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    x = rng.normal(size=rows)
    t = (x + rng.normal(size=rows) > 0).astype(int)
    return pd.DataFrame({"t": t, "y": 1.5 * t + x + rng.normal(size=rows), "x": x})


def good_csv() -> bytes:
    return good_frame().to_csv(index=False).encode("utf-8")


def _with_value(column: str, value: float) -> bytes:
    frame = good_frame()
    frame[column] = frame[column].astype(float)
    frame.loc[3, column] = value
    return frame.to_csv(index=False).encode("utf-8")


def _parquet(table_builder: Callable[[], object]) -> Callable[[Path], None]:
    def write(target: Path) -> None:
        import pyarrow.parquet as pq

        pq.write_table(table_builder(), target)

    return write


def _nested_list_table():
    import pyarrow as pa

    frame = good_frame(6)
    return pa.table({"t": frame["t"], "y": frame["y"], "tags": [[1, 2], [3], [], [4], [5, 6], [7]]})


def _struct_table():
    import pyarrow as pa

    frame = good_frame(3)
    return pa.table({"t": frame["t"], "y": frame["y"], "where": [{"a": 1}, {"a": 2}, {"a": 3}]})


def _inf_table():
    import pyarrow as pa

    frame = good_frame(5)
    frame.loc[2, "y"] = np.inf
    return pa.Table.from_pandas(frame, preserve_index=False)


def _wide_header() -> bytes:
    names = ",".join(f"c{i}" for i in range(100_000))
    return f"{names}\n".encode() + b",".join(b"1" for _ in range(100_000)) + b"\n"


DATA_CASES = [
    Case("csv-empty", "data file", "empty.csv", b"", "The file is empty", DATA_CLI, "upload"),
    Case("csv-blank-lines", "data file", "blank.csv", b"\n\n  \n", "The file is empty", DATA_CLI, "upload"),
    Case("csv-header-only", "data file", "header.csv", b"t,y,x\n", "header but no data rows", DATA_CLI, "upload"),
    Case("csv-one-column", "data file", "one.csv", b"y\n1\n2\n", "a causal analysis needs at least 2", DATA_CLI, "upload"),
    Case("csv-binary", "data file", "binary.csv", b"PK\x03\x04\x00\x00\x01\x02" * 20, "looks binary", DATA_CLI, "upload"),
    Case("csv-duplicate-header", "data file", "dup.csv", b"t,y,t\n1,2,3\n0,1,2\n",
         "Duplicate column names in the header: t.", DATA_CLI, "upload"),
    Case("csv-empty-header-name", "data file", "noname.csv", b"t,y,,x\n1,2,3,4\n0,1,2,3\n",
         "Column 3 has no name", DATA_CLI, "upload"),
    Case("csv-100k-columns", "unbounded work", "wide.csv", _wide_header(),
         "100,000 columns; the workbench reads at most 10,000", DATA_CLI, "upload"),
    Case("csv-long-column-name", "data file", "longname.csv", b"t,y," + b"x" * 5000 + b"\n1,2,3\n",
         "name is 5,000 characters long", DATA_CLI, "upload"),
    Case("csv-inf-outcome", "non-finite", "inf.csv", _with_value("y", np.inf),
         "column 'y' has 1 infinite value(s) (first: data row 4)", DATA_CLI, "upload"),
    Case("csv-minus-inf-covariate", "non-finite", "neginf.csv", _with_value("x", -np.inf),
         "column 'x' has 1 infinite value(s)", DATA_CLI, "upload"),
    Case("csv-overflowing-value", "non-finite", "huge.csv", _with_value("y", 1e200),
         "column 'y' has 1 value(s) larger than 1e150", DATA_CLI, "upload"),
    Case("csv-unclosed-quote", "data file", "quote.csv", b't,y,x\n1,"2,3\n0,1,2\n' * 3,
         "The CSV could not be parsed", DATA_CLI, "upload"),
    Case("csv-bad-utf16", "misleading message", "badutf16.csv", b"\xff\xfet\x00,\x00y", "not valid UTF-16",
         DATA_CLI, "upload"),
    Case("data-wrong-type", "data file", "data.xlsx", good_csv(), "Unsupported file type 'data.xlsx'", DATA_CLI, "upload"),
    Case("parquet-nested-list", "crash", "nested.parquet", _parquet(_nested_list_table),
         "'tags' (list<element: int64>) hold nested values", DATA_CLI, "upload"),
    Case("parquet-struct", "crash", "struct.parquet", _parquet(_struct_table), "hold nested values", DATA_CLI, "upload"),
    Case("parquet-inf", "non-finite", "inf.parquet", _parquet(_inf_table), "column 'y' has 1 infinite value(s)",
         DATA_CLI, "upload"),
    Case("parquet-corrupt", "data file", "corrupt.parquet", b"PAR1" + b"\x07" * 200 + b"PAR1",
         "The Parquet file could not be read", DATA_CLI, "upload"),
    Case("data-is-directory", "crash", "folder.csv", None, "data path is a directory, not a file", DATA_CLI),
    Case("data-missing", "data file", "missing.csv", lambda target: None, "data file not found", DATA_CLI),
    # valid files the app used to refuse or misread
    Case("csv-utf16-bom", "misleading message", "utf16.csv", good_frame().to_csv(index=False).encode("utf-16"),
         "", DATA_CLI, "upload", ok=True),
    Case("csv-latin1", "data file", "latin1.csv", "t,y,x,région\n1,2,3,Zürich\n0,1,2,Genève\n".encode("latin-1")
         + b"".join(f"{i % 2},{i},{i * 2},a\n".encode() for i in range(40)), "read as Latin-1", DATA_CLI,
         "upload", ok=True),
]


# ---- project files ----------------------------------------------------------------------------------------
def reference_project():
    """The project every round-trip check uses: the retention built-in with a DAG, an edit and a hostile name."""
    from causal_core.dag import default_dag
    from causal_core.data import project_for_builtin

    project, _ = project_for_builtin("retention")
    project = project.model_copy(update={"name": "![](http://127.0.0.1:9/name.png) <img src=x onerror=alert(1)>",
                                         "dag": default_dag("retention")})
    return project.with_edit("overview", "treatment", None, "outreach", note="corpus")


def _project_payload() -> dict:
    from causal_core.project_file import project_to_json

    return json.loads(project_to_json(reference_project()))


def _project_bytes(change: Callable[[dict], object], allow_nan: bool = True) -> bytes:
    payload = _project_payload()
    change(payload)
    return json.dumps(payload, allow_nan=allow_nan).encode("utf-8")


def _set(path: str, value: object) -> Callable[[dict], None]:
    def change(payload: dict) -> None:
        *parents, last = path.split(".")
        node = payload
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value

    return change


def _nan_estimate(payload: dict) -> None:
    payload["estimation"] = {"spec": {"treatment": "outreach", "outcome": "churn"},
                             "estimates": [{"method": "ipw", "estimand": "ATE", "estimate": float("nan")}]}


def _big_dag(payload: dict) -> None:
    payload["dag"] = {"nodes": [{"name": f"n{i}"} for i in range(3_000)], "edges": []}


def _deep_lab(payload: dict) -> None:
    nested: dict = {}
    for _ in range(200):
        nested = {"a": nested}
    payload["lab"] = nested


def _oversize(target: Path) -> None:
    payload = _project_payload()
    payload["brief"] = ""
    text = json.dumps(payload)
    padding = 21 * 1_048_576 - len(text)
    target.write_text(text[:-1] + ', "padding": "' + "x" * padding + '"}', encoding="utf-8")


PROJECT_CASES = [
    Case("project-empty", "project file", "empty.json", b"", "The project file is empty", PROJECT_CLI, "open"),
    Case("project-not-json", "project file", "broken.json", b'{"schema": "causal-workbench/project", ',
         "invalid JSON at line 1", PROJECT_CLI, "open"),
    Case("project-not-utf8", "project file", "latin.json", b'{"name": "caf\xe9"}', "not UTF-8 text", PROJECT_CLI, "open"),
    Case("project-other-schema", "project file", "other.json", b'{"schema": "something-else", "schema_version": 1}',
         "not a Causal Workbench project", PROJECT_CLI, "open"),
    Case("project-newer-version", "project file", "newer.json", _project_bytes(_set("schema_version", 99)),
         "newer Causal Workbench (schema_version 99", PROJECT_CLI, "open"),
    Case("project-top-level-array", "project file", "array.json", b"[1, 2, 3]", "expected a JSON object",
         PROJECT_CLI, "open"),
    Case("project-unknown-field", "project file", "extra.json", _project_bytes(_set("surprise", 1)),
         "does not match the schema: surprise", PROJECT_CLI, "open"),
    Case("project-deeply-nested", "crash", "deep.json", b"[" * 200_000 + b"]" * 200_000, "nested too deeply",
         PROJECT_CLI, "open"),
    Case("project-deep-field", "crash", "deeplab.json", _project_bytes(_deep_lab), "nested too deeply at lab.",
         PROJECT_CLI, "open"),
    Case("project-nan-estimate", "non-finite", "nan.json", _project_bytes(_nan_estimate),
         "estimation.estimates.0.estimate: Input should be a finite number", PROJECT_CLI, "open"),
    Case("project-infinite-position", "non-finite", "inf.json", _project_bytes(_set("dag.nodes.0.x", float("inf"))),
         "dag.nodes.0.x: Input should be a finite number", PROJECT_CLI, "open"),
    Case("project-21mb", "bounds", "huge.json", _oversize, "21.0 MB",
         PROJECT_CLI, "open"),
    Case("project-long-string", "bounds", "longbrief.json", _project_bytes(_set("brief", "b" * 1_500_000)),
         "brief holds 1,500,000 characters; the limit is 1,000,000", PROJECT_CLI, "open"),
    Case("project-long-list", "bounds", "longlist.json",
         _project_bytes(_set("open_questions", [{"text": "q"}] * 60_000)),
         "open_questions holds 60,000 items; the limit is 50,000", PROJECT_CLI, "open"),
    Case("project-3000-node-dag", "bounds", "bigdag.json", _project_bytes(_big_dag),
         "The project's DAG has 3,000 nodes", PROJECT_CLI, "open"),
    Case("project-n-3-million", "unbounded work", "bign.json", _project_bytes(_set("data_source.n", 3_000_000)),
         "n = 3000000 for the built-in dataset 'retention': it must be a whole number from 1 to 1,000,000",
         REBIND_CLI, "open"),
    Case("project-negative-n", "misleading message", "negn.json", _project_bytes(_set("data_source.n", -5)),
         "data_source cannot be regenerated: n = -5", REBIND_CLI, "open"),
    Case("project-negative-seed", "misleading message", "negseed.json", _project_bytes(_set("data_source.seed", -1)),
         "seed = -1 for the built-in dataset 'retention'", REBIND_CLI, "open"),
    Case("project-unknown-builtin", "misleading message", "nobuiltin.json",
         _project_bytes(_set("data_source.name", "nope")), "unknown dataset 'nope'", REBIND_CLI, "open"),
    Case("project-hash-mismatch", "project file", "hash.json", _project_bytes(_set("data_source.sha256", "0" * 64)),
         "regenerated with a different hash", REBIND_CLI, "open"),
    Case("project-is-directory", "crash", "folder.json", None, "project path is a directory, not a file", PROJECT_CLI),
    Case("project-missing", "project file", "missing.json", lambda target: None, "project file not found", PROJECT_CLI),
]


# ---- DAG files --------------------------------------------------------------------------------------------
def _many_nodes(target: Path) -> None:
    target.write_text("dag {\n" + "\n".join(f"n{i} -> n{i + 1}" for i in range(2_100)) + "\n}\n", encoding="utf-8")


DAG_CASES = [
    Case("dagitty-deep-groups", "crash", "deep.dagitty", b"dag { a -> " + b"{" * 100_000 + b"b" + b"}" * 100_000 + b"}",
         "nested more than 50 deep", DAG_CLI),
    Case("json-dag-deep", "crash", "deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply", DAG_CLI),
    Case("dot-deep-subgraphs", "crash", "deep.dot", b"digraph { " + b"subgraph { " * 5_000 + b"a -> b" + b" }" * 5_000
         + b" }", "nested more than 50 deep", DAG_CLI),
    Case("dagitty-not-utf8", "misleading message", "latin.dagitty", b"dag { caf\xe9 -> y }", "is not UTF-8 text",
         DAG_CLI),
    Case("dagitty-2100-nodes", "unbounded work", "big.dagitty", _many_nodes, "2,000", DAG_CLI),
    Case("dagitty-cycle", "dag file", "cycle.dagitty", b"dag { a -> b -> c -> a }", "cycle", DAG_CLI),
    Case("dagitty-empty", "dag file", "empty.dagitty", b"  \n", "empty", DAG_CLI),
    Case("dag-wrong-type", "dag file", "graph.xml", b"<graph/>", "unknown DAG file type", DAG_CLI),
    Case("dag-is-directory", "crash", "folder.dagitty", None, "is not a file", DAG_CLI),
    Case("dag-missing", "dag file", "missing.dagitty", lambda target: None, "no such file", DAG_CLI),
]


# ---- output paths -----------------------------------------------------------------------------------------
OUTPUT_CASES = [
    Case("data-out-directory", "crash", "out-dir", None, "cannot write --out", [
        ["data", "--dataset", "retention", "--out", "{f}"]]),
    Case("dictionary-out-directory", "crash", "dict-dir", None, "cannot write --dictionary-out", [
        ["data", "--dataset", "retention", "--out", "{tmp}/written.csv", "--dictionary-out", "{f}"]]),
    Case("bundle-out-directory", "crash", "bundle-dir", None, "cannot write --bundle-out", [
        ["audit", "--data", "{good_csv}", "--treatment", "t", "--outcome", "y", "--bundle-out", "{f}"]]),
    Case("memo-out-directory", "crash", "memo-dir", None, "it is a directory", [
        ["memo", "--project", "{good_project}", "--out", "{f}"]]),
    Case("report-out-directory", "crash", "report-dir", None, "it is a directory", [
        ["report", "--project", "{good_project}", "--out", "{f}"],
        ["report", "--project", "{good_project}", "--out", "{tmp}/r.zip", "--html-out", "{f}"]]),
    Case("out-missing-folder", "output path", "not-here", lambda target: None, "does not exist", [
        ["memo", "--project", "{good_project}", "--out", "{f}/memo.md"]]),
]

CASES: list[Case] = [*DATA_CASES, *PROJECT_CASES, *DAG_CASES, *OUTPUT_CASES]


def build_all(folder: Path) -> dict[str, str]:
    """Write the shared good inputs; return the placeholders the case commands use."""
    from causal_core.project_file import project_to_json

    good = folder / "good"
    good.mkdir(parents=True, exist_ok=True)
    (good / "good.csv").write_bytes(good_csv())
    (good / "project.json").write_text(project_to_json(reference_project()), encoding="utf-8")
    card = {key: "x" for key in ("business_question", "causal_question", "unit", "treatment", "control_condition",
                                 "outcome", "time_window", "target_population", "estimand")}
    (good / "card.json").write_text(json.dumps(card), encoding="utf-8")
    return {"good_csv": str(good / "good.csv"), "good_project": str(good / "project.json"),
            "card": str(good / "card.json")}


def case_bytes(case: Case, folder: Path) -> bytes:
    """A case's file content as the app receives it (uploads and opens are bytes)."""
    path = case.write(folder)
    return path.read_bytes()


__all__ = ["CASES", "Case", "build_all", "case_bytes", "reference_project"]
