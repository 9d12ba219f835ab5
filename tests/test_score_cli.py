"""``python -m causal_core score {estimand-card,dag,profile,memo}``: the same JSON for every artifact (score,
max_score, checks), real rubric outcomes, and bad inputs as one line with exit status 2 (content never echoed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causal_core import dag
from causal_core import question as q
from causal_core.audit.profile_review import N09_SAMPLE_REVIEW
from causal_core.cli import main
from causal_core.dag import draft as dag_draft
from tests.mutations.memo_corpus import good_memos

C = ["company_size", "tenure_months", "usage_score", "prior_tickets", "health_score", "region", "segment"]
GOOD_DAG = dag_draft.draft_from_spec(dag.default_dag("retention"))
CHAINED_DAG = {"edges": [{"source": a, "target": b, "rationale": "r"} for a, b in zip(C, C[1:], strict=False)]
               + [{"source": "outreach", "target": "churn", "rationale": "r"}]}


@pytest.fixture()
def write(tmp_path):
    def _write(payload, name="artifact.json") -> str:
        path = tmp_path / name
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
        return str(path)
    return _write


def run_json(capsys, *argv: str) -> dict:
    code = main([*argv, "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_score_dag_good_draft_full_marks_and_chained_confounders_fail(capsys, write):
    payload = run_json(capsys, "score", "dag", "--dag", write(GOOD_DAG), "--dataset", "retention")
    assert (payload["score"], payload["max_score"]) == (9, 9)
    assert {"name", "passed", "reason", "severity"} == set(payload["checks"][0])
    payload = run_json(capsys, "score", "dag", "--dag", write(CHAINED_DAG), "--dataset", "retention")
    failed = {c["name"]: c["reason"] for c in payload["checks"] if not c["passed"]}
    assert payload["score"] == 7 and set(failed) == {
        "pre-treatment predictors of treatment appear", "implied estimate matches the recommended DAG"}
    assert "+0.0785" in failed["implied estimate matches the recommended DAG"]


@pytest.fixture(scope="module")
def built_retention(build_once):
    return build_once("retention")


def test_score_memo_against_the_built_project(capsys, write, built_retention, build_once, monkeypatch):
    """The CLI builds the same example project as `project --dataset` (`headless.build_project` on the dataset
    alone; served here by the run's one build of it): its deterministic memo gets full marks, and quoting the
    naive row as the effect fails quotes_primary_row with both numbers."""
    project, _ = built_retention
    memo = dict(project.memo.deterministic)
    calls = []
    monkeypatch.setattr("causal_core.headless.build_project",
                        lambda *args, **kwargs: calls.append((args, kwargs)) or build_once(*args, **kwargs))
    payload = run_json(capsys, "score", "memo", "--memo", write(memo), "--dataset", "retention")
    assert calls == [(("retention",), {})]
    assert payload["score"] == payload["max_score"] >= 10
    naive = {**memo, "main_estimate": "The effect of outreach on churn is +7.8 pp (95 % interval 5.6 to 10.1 pp)."}
    worse = run_json(capsys, "score", "memo", "--memo", write(naive), "--dataset", "retention")
    failed = {c["name"]: c["reason"] for c in worse["checks"] if not c["passed"]}
    assert "quotes_primary_row" in failed and "+7.8" in failed["quotes_primary_row"]
    assert worse["score"] < payload["score"]


def test_score_card_and_profile_print_the_same_shape(capsys, write):
    card = run_json(capsys, "score", "estimand-card", "--card", write(q.N01_CARD), "--dataset", "retention")
    review = run_json(capsys, "score", "profile", "--review", write(N09_SAMPLE_REVIEW), "--dataset", "support")
    assert (card["score"], card["max_score"]) == (12, 12) and (review["score"], review["max_score"]) == (13, 13)
    assert set(card) == set(review) == {"score", "max_score", "checks"}


def test_score_profile_and_dag_accept_a_saved_project(capsys, write, tmp_path, build_once):
    """The saved project is what `project --dataset support --out` writes (project_to_json of the same build)."""
    from causal_core.project_file import project_to_json

    out = str(tmp_path / "support.json")
    Path(out).write_text(project_to_json(build_once("support")[0]), encoding="utf-8")
    review = run_json(capsys, "score", "profile", "--review", write(N09_SAMPLE_REVIEW), "--project", out)
    assert (review["score"], review["max_score"]) == (13, 13)
    draft = dag_draft.draft_from_spec(dag.default_dag("support"))
    payload = run_json(capsys, "score", "dag", "--dag", write(draft, "d.json"), "--project", out)
    assert payload["score"] == payload["max_score"] == 9


SECRET = "TOP-SECRET-CONTENT-LINE"


@pytest.mark.parametrize(
    ("kind", "flag", "content", "message"),
    [
        ("dag", "--dag", None, "DAG draft file not found"),
        ("dag", "--dag", "{\"edges\": [" + SECRET, "is not valid JSON: line 1"),
        ("dag", "--dag", "", "is empty"),
        ("dag", "--dag", json.dumps(q.N01_CARD), "holds a estimand card, not a DAG draft"),
        ("dag", "--dag", json.dumps([SECRET]), "must hold a JSON object"),
        ("memo", "--memo", json.dumps(GOOD_DAG), "holds a DAG draft, not a memo"),
        ("memo", "--memo", json.dumps({"main_estimate": 4.7}), "every memo section must be a string"),
        ("memo", "--memo", json.dumps({"colour": SECRET}), "holds none of a memo's fields"),
        ("estimand-card", "--card", json.dumps(GOOD_DAG), "holds a DAG draft, not an estimand card"),
        ("profile", "--review", json.dumps(GOOD_DAG), "holds a DAG draft, not a profile review"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(capsys, write, tmp_path, kind, flag, content, message):
    path = str(tmp_path / "missing.json") if content is None else write(content)
    dataset = "support" if kind == "profile" else "retention"
    code = main(["score", kind, flag, path, "--dataset", dataset])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert message in captured.err and captured.err.count("\n") == 1
    assert SECRET not in captured.err


def test_unknown_dataset_and_missing_project(capsys, write, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "dag", "--dag", write(GOOD_DAG), "--dataset", "nope"])
    assert exit_info.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err
    code = main(["score", "dag", "--dag", write(GOOD_DAG), "--project", str(tmp_path / "none.json")])
    assert code == 2 and "project file not found" in capsys.readouterr().err
    code = main(["score", "memo", "--memo", write(good_memos(1)[0]), "--project", write(GOOD_DAG, "p.json")])
    err = capsys.readouterr().err
    assert code == 2 and "is not a Causal Workbench project" in err


def test_a_file_outside_the_working_folder_is_read_but_not_echoed(capsys, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere" / "draft.json"
    outside.parent.mkdir()
    outside.write_text(json.dumps({**CHAINED_DAG, "note": SECRET}))
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    payload = run_json(capsys, "score", "dag", "--dag", str(outside), "--dataset", "retention")
    assert payload["score"] == 7 and SECRET not in json.dumps(payload)
