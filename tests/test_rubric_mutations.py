"""The artifact rubrics on generated corpora: every failure class detected (>= 95 %), no good paraphrase flagged."""

from __future__ import annotations

import pytest

from causal_core import dag as dag_module
from causal_core.ai.rubric import score_of
from causal_core.audit.profile_review import score_profile_review
from causal_core.dag.draft import score_dag_draft
from causal_core.memo import deterministic_memo, score_memo
from causal_core.question import score_estimand_card
from tests.mutations import card_corpus, dag_corpus, review_corpus
from tests.mutations.memo_corpus import MUTATIONS, good_memos, mutants
from tests.test_memo_support import retention_project, support_project

GOODS = good_memos(30)


@pytest.fixture(scope="module")
def project():
    return retention_project()


def _full_marks(memo: dict[str, str], project) -> bool:
    score, max_score = score_of(score_memo(memo, project))
    return score == max_score


def test_good_paraphrases_get_full_marks(project):
    flagged = [memo for memo in GOODS if not _full_marks(memo, project)]
    assert flagged == []


@pytest.mark.parametrize("make_project", [retention_project, support_project])
def test_the_deterministic_memo_passes_every_check(make_project):
    project = make_project()
    checks = score_memo(deterministic_memo(project), project)
    assert [(c.name, c.reason) for c in checks if not c.passed] == []


@pytest.fixture(scope="module")
def corpus():
    return mutants(GOODS, per_good=1, seed=3)


@pytest.mark.parametrize("failure_class", sorted(MUTATIONS))
def test_each_failure_class_is_detected(project, corpus, failure_class):
    bad = corpus[failure_class]
    missed = [memo for memo in bad if _full_marks(memo, project)]
    assert len(missed) <= 0.05 * len(bad), missed[:2]


def test_the_deterministic_and_ai_memo_get_the_same_checks(project):
    deterministic = [c.name for c in score_memo(deterministic_memo(project), project)]
    drafted = [c.name for c in score_memo(GOODS[0], project)]
    assert deterministic == drafted


# ---- DAG drafts ---------------------------------------------------------------------------------------

DAG_GOODS = dag_corpus.good_drafts(20)


@pytest.fixture(scope="module")
def dag_project(retention):
    project, frame = retention
    return project.model_copy(update={"dag": dag_module.default_dag("retention")}), frame


def _dag_full_marks(draft, dag_project) -> bool:
    score, max_score = score_of(score_dag_draft(draft, *dag_project))
    return score == max_score


def test_good_dag_paraphrases_get_full_marks(dag_project):
    flagged = [draft for draft in DAG_GOODS if not _dag_full_marks(draft, dag_project)]
    assert flagged == []


@pytest.fixture(scope="module")
def dag_mutants():
    return dag_corpus.mutants(DAG_GOODS, per_good=1, seed=17)


@pytest.mark.parametrize("failure_class", sorted(dag_corpus.MUTATIONS))
def test_each_dag_failure_class_is_detected(dag_project, dag_mutants, failure_class):
    bad = dag_mutants[failure_class]
    missed = [draft for draft in bad if _dag_full_marks(draft, dag_project)]
    assert len(missed) <= 0.05 * len(bad), missed[:1]


# ---- estimand cards -----------------------------------------------------------------------------------
CARD_GOODS = card_corpus.good_cards(30)


def _card_full_marks(card, retention) -> bool:
    score, max_score = score_of(score_estimand_card(card, *retention))
    return score == max_score


def test_good_card_paraphrases_get_full_marks(retention):
    flagged = [card for card in CARD_GOODS if not _card_full_marks(card, retention)]
    assert flagged == []


@pytest.fixture(scope="module")
def card_mutants():
    return card_corpus.mutants(CARD_GOODS, per_good=2, seed=23)


@pytest.mark.parametrize("failure_class", sorted(card_corpus.MUTATIONS))
def test_each_card_failure_class_is_detected(retention, card_mutants, failure_class):
    bad = card_mutants[failure_class]
    missed = [card for card in bad if _card_full_marks(card, retention)]
    assert len(missed) <= 0.05 * len(bad), missed[:1]


# ---- dataset-profile reviews --------------------------------------------------------------------------
REVIEW_GOODS = review_corpus.good_reviews(30)


def _review_full_marks(review, support) -> bool:
    score, max_score = score_of(score_profile_review(review, *support))
    return score == max_score


def test_good_review_paraphrases_get_full_marks(support):
    flagged = [review for review in REVIEW_GOODS if not _review_full_marks(review, support)]
    assert flagged == []


@pytest.fixture(scope="module")
def review_mutants():
    return review_corpus.mutants(REVIEW_GOODS, per_good=2, seed=31)


@pytest.mark.parametrize("failure_class", sorted(review_corpus.MUTATIONS))
def test_each_review_failure_class_is_detected(support, review_mutants, failure_class):
    bad = review_mutants[failure_class]
    missed = [review for review in bad if _review_full_marks(review, support)]
    assert len(missed) <= 0.05 * len(bad), missed[:1]
