"""Detection and false-alarm rates of the artifact rubrics on the generated corpora, now and before issue 22.

    .venv/bin/python bench/bench_rubrics.py [--goods N] [--markdown]

For each rubric (memo, DAG draft, estimand card, profile review) the corpus in ``tests/mutations/`` gives N
paraphrased good artifacts and, per failure class, one mutant of each. *Detection* is the share of a class's
mutants scored below full marks; a *false alarm* is a good artifact scored below full marks. The "before"
columns run the rubric modules as they were before the consequence rubrics (their source read from git with
``git show <commit>:<path>`` and loaded as temporary modules in this process; only this repository's own
history is loaded, never user or model text).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BEFORE_RUBRICS = "6461b03"  # last commit before the DAG/card/review consequence rubrics
BEFORE_MEMO = "fdd4712"  # last commit before the memo rubric of claims (e1eb58e)


def _old_module(name: str, commit: str, path: str, replace: dict[str, str] | None = None) -> types.ModuleType | None:
    """The module at ``commit`` (our own git history), loaded under ``name``; None when it no longer imports."""
    try:
        source = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    for old, new in (replace or {}).items():
        source = source.replace(old, new)
    module = types.ModuleType(name)
    module.__file__ = f"{commit}:{path}"
    sys.modules[name] = module
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - the repository's own source
    except Exception as error:  # noqa: BLE001 - an old module may no longer import against today's package
        print(f"(before: {path}@{commit} does not load today: {type(error).__name__}: {error})", file=sys.stderr)
        sys.modules.pop(name, None)
        return None
    return module


def _rates(score: Callable, goods: list, mutants: dict[str, list]) -> tuple[dict[str, float], int]:
    from causal_core.ai.rubric import score_of

    def full(artifact) -> bool:
        got, most = score_of(score(artifact))
        return got == most

    detection = {name: sum(not full(bad) for bad in items) / len(items) for name, items in mutants.items()}
    return detection, sum(not full(good) for good in goods)


def rubrics(count: int) -> list[tuple[str, list, dict, Callable, Callable | None]]:
    """(rubric, goods, mutants, score now, score before) for the four artifacts."""
    from causal_core import dag, question
    from causal_core.audit.profile_review import score_profile_review
    from causal_core.dag.draft import score_dag_draft
    from causal_core.data import project_for_builtin
    from causal_core.memo import score_memo
    from tests.mutations import card_corpus, dag_corpus, memo_corpus, review_corpus
    from tests.test_memo_support import retention_project

    retention, support = project_for_builtin("retention"), project_for_builtin("support")
    with_dag = (retention[0].model_copy(update={"dag": dag.default_dag("retention")}), retention[1])
    memo_project = retention_project()

    old_dag = _old_module("_before_dag_draft", BEFORE_RUBRICS, "causal_core/dag_draft.py")
    old_matching = _old_module("_before_matching", BEFORE_RUBRICS, "causal_core/question/matching.py")
    old_card = _old_module("_before_card_rubric", BEFORE_RUBRICS, "causal_core/question/card_rubric.py",
                           {"from causal_core.question.matching import": "from _before_matching import"}) \
        if old_matching else None
    old_review = _old_module("_before_profile_review", BEFORE_RUBRICS, "causal_core/profile_review.py")
    old_memo = _old_module("_before_memo_rubric", BEFORE_MEMO, "causal_core/memo/memo_rubric.py")

    memo_goods = memo_corpus.good_memos(count)
    dag_goods = dag_corpus.good_drafts(count)
    card_goods = card_corpus.good_cards(count)
    review_goods = review_corpus.good_reviews(count)
    return [
        ("memo", memo_goods, memo_corpus.mutants(memo_goods, per_good=1, seed=3),
         lambda m: score_memo(m, memo_project), (lambda m: old_memo.score_memo(m, memo_project)) if old_memo else None),
        ("DAG draft", dag_goods, dag_corpus.mutants(dag_goods, per_good=1, seed=17),
         lambda d: score_dag_draft(d, *with_dag), (lambda d: old_dag.score_dag_draft(d, *with_dag)) if old_dag else None),
        ("estimand card", card_goods, card_corpus.mutants(card_goods, per_good=1, seed=23),
         lambda c: question.score_estimand_card(c, *retention),
         (lambda c: old_card.score_estimand_card(c, *retention)) if old_card else None),
        ("profile review", review_goods, review_corpus.mutants(review_goods, per_good=1, seed=31),
         lambda r: score_profile_review(r, *support),
         (lambda r: old_review.score_profile_review(r, *support)) if old_review else None),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goods", type=int, default=30, help="good artifacts per rubric (one mutant each per class)")
    args = parser.parse_args(argv)
    print("| rubric | failure class | mutants | detection now | detection before |")
    print("|---|---|---:|---:|---:|")
    summary = []
    for rubric, goods, mutants, now, before in rubrics(args.goods):
        start = time.perf_counter()
        detection, false_alarms = _rates(now, goods, mutants)
        seconds = time.perf_counter() - start
        old_detection, old_false = _rates(before, goods, mutants) if before else ({}, None)
        for name, rate in detection.items():
            was = f"{old_detection[name]:.0%}" if name in old_detection else "n/a"
            print(f"| {rubric} | {name} | {len(mutants[name])} | {rate:.0%} | {was} |")
        count = len(goods) + sum(len(items) for items in mutants.values())
        summary.append((rubric, len(goods), false_alarms, old_false, count, seconds))
    print("\n| rubric | good artifacts | false alarms now | false alarms before | ms per artifact (now) |")
    print("|---|---:|---:|---:|---:|")
    for rubric, goods, false_alarms, old_false, count, seconds in summary:
        was = "n/a" if old_false is None else str(old_false)
        print(f"| {rubric} | {goods} | {false_alarms} | {was} | {1000 * seconds / count:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
