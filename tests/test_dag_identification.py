"""Identification beyond the backdoor: the adjustment criterion, front-door, conditional instruments, controlled
direct effects, the design sentence and the open questions that follow it.

Two oracles nobody here wrote the d-separation code for: (1) a brute-force listing of every subset against the
criterion's definition, and (2) linear Gaussian SEMs with random coefficients, where a set is an adjustment set
exactly when the population OLS coefficient of the treatment equals the total effect (sum of path products);
the front-door product, the IV ratio and the direct-effect coefficient are checked the same way.
"""

from __future__ import annotations

import itertools
import random

import networkx as nx
import numpy as np
import pytest

from causal_core import dag
from causal_core.dag import criterion
from causal_core.project import DagEdge, DagNode, DagSpec, OpenQuestion, Project
from tests.dag_oracles import enumerate_minimal_sets


def make(edges, latent=(), unmeasured=(), treatment="X", outcome="Y", bidirected=(), **extra) -> DagSpec:
    names = list(dict.fromkeys(n for edge in [*edges, *bidirected] for n in edge))
    nodes = [
        DagNode(name=n, latent=n in latent, column=None if (n in latent or n in unmeasured) else n) for n in names
    ]
    return DagSpec(
        nodes=nodes,
        edges=[DagEdge(source=a, target=b) for a, b in edges],
        bidirected=[DagEdge(source=a, target=b) for a, b in bidirected],
        treatment=treatment,
        outcome=outcome,
        **extra,
    )


# Pearl (2009) §3.3.2: smoking → tar → cancer, genotype a latent cause of smoking and cancer.
SMOKING = make([("genotype", "smoking"), ("genotype", "cancer"), ("smoking", "tar"), ("tar", "cancer")],
               latent=("genotype",), treatment="smoking", outcome="cancer")
IV = make([("Z", "X"), ("X", "Y"), ("U", "X"), ("U", "Y")], latent=("U",))
# Z is confounded with Y through W: an instrument only once W is conditioned on (Brito & Pearl 2002).
CONDITIONAL_IV = make([("Z", "X"), ("X", "Y"), ("U", "X"), ("U", "Y"), ("W", "Z"), ("W", "Y")], latent=("U",))
M_BIAS = make([("A", "X"), ("A", "M"), ("B", "M"), ("B", "Y"), ("X", "Y")])
DESCENDANT = make([("Z", "X"), ("Z", "Y"), ("X", "Y"), ("X", "D")])
# Controlled direct effect with a mediator–outcome confounder C (VanderWeele 2015, fig. 2.3).
CDE = make([("X", "M"), ("M", "Y"), ("X", "Y"), ("C", "M"), ("C", "Y")])
LATENT_CONFOUNDING = make([("U", "X"), ("U", "Y"), ("X", "Y")], latent=("U",))


# ---- random graphs and the linear-SEM oracle ------------------------------------------------------------
def random_dag(rng: random.Random, n: int, p: float) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(f"V{i}" for i in range(n))
    graph.add_edges_from((f"V{i}", f"V{j}") for i in range(n) for j in range(i + 1, n) if rng.random() < p)
    return graph


class LinearSEM:
    """Population covariance of a linear Gaussian SEM on ``graph`` with random non-zero coefficients."""

    def __init__(self, graph: nx.DiGraph, rng: random.Random, cut_into: tuple[str, ...] = ()):
        self.index = {v: i for i, v in enumerate(graph)}
        coefficients = np.zeros((len(graph), len(graph)))
        for a, b in graph.edges:
            coefficients[self.index[b], self.index[a]] = rng.uniform(0.5, 1.5) * rng.choice([-1, 1])
        self.inverse = np.linalg.inv(np.eye(len(graph)) - coefficients)
        noise = np.diag([rng.uniform(0.5, 1.5) for _ in graph])
        self.cov = self.inverse @ noise @ self.inverse.T
        mutilated = coefficients.copy()
        for node in cut_into:
            mutilated[self.index[node], :] = 0.0
        self.mutilated_inverse = np.linalg.inv(np.eye(len(graph)) - mutilated)

    def total_effect(self, x: str, y: str) -> float:
        return float(self.inverse[self.index[y], self.index[x]])

    def effect_with_fixed(self, x: str, y: str) -> float:
        """Effect of x on y with the ``cut_into`` nodes held fixed by intervention (the CDE)."""
        return float(self.mutilated_inverse[self.index[y], self.index[x]])

    def ols(self, target: str, regressors: list[str]) -> np.ndarray:
        rows = [self.index[v] for v in regressors]
        return np.linalg.solve(self.cov[np.ix_(rows, rows)], self.cov[rows, self.index[target]])


def test_criterion_listing_equals_brute_force_on_random_dags_with_latents():
    """Every minimal set, and only those, against the definition applied to every subset."""
    rng = random.Random(1)
    for _ in range(250):
        graph = random_dag(rng, rng.randint(3, 7), rng.choice([0.2, 0.35, 0.5]))
        x, y = rng.sample(list(graph), 2)
        latent = {v for v in graph if v not in (x, y) and rng.random() < 0.25}
        allowed = sorted(set(graph) - latent - {x, y})
        listed, capped = criterion.minimal_adjustment_sets(graph, x, y, allowed)
        valid = [
            frozenset(s)
            for size in range(len(allowed) + 1)
            for s in itertools.combinations(allowed, size)
            if criterion.is_adjustment_set(graph, x, y, s)
        ]
        minimal = sorted((sorted(s) for s in valid if not any(other < s for other in valid)), key=lambda s: (len(s), s))
        assert not capped and listed == minimal


def test_criterion_definition_matches_unbiasedness_in_linear_sems():
    """Z passes the criterion ⇔ the OLS coefficient of X given Z equals the total effect (both directions)."""
    rng = random.Random(5)
    checked = 0
    for _ in range(120):
        graph = random_dag(rng, rng.randint(4, 6), rng.choice([0.3, 0.5]))
        x, y = rng.sample(list(graph), 2)
        sem = LinearSEM(graph, rng)
        others = [v for v in graph if v not in (x, y)]
        for size in range(len(others) + 1):
            for z in itertools.combinations(others, size):
                unbiased = abs(sem.ols(y, [x, *z])[0] - sem.total_effect(x, y)) < 1e-8
                assert criterion.is_adjustment_set(graph, x, y, z) == unbiased, (sorted(graph.edges), x, y, z)
                checked += 1
    assert checked > 1000


def spec_from(graph: nx.DiGraph, x: str, y: str, latent=()) -> DagSpec:
    return DagSpec(
        nodes=[DagNode(name=v, latent=v in latent, column=None if v in latent else v) for v in graph],
        edges=[DagEdge(source=a, target=b) for a, b in graph.edges],
        treatment=x,
        outcome=y,
    )


def test_criterion_minimal_sets_coincide_with_the_validated_backdoor_sets():
    """For one treatment a minimal set holds no descendant of it, so both criteria list the same sets; the
    backdoor enumeration is the one an independent check validated (3,900 DAGs, pgmpy, DoWhy)."""
    rng = random.Random(11)
    for _ in range(150):
        graph = random_dag(rng, rng.randint(4, 8), rng.choice([0.25, 0.4]))
        x, y = rng.sample(list(graph), 2)
        latent = {v for v in graph if v not in (x, y) and rng.random() < 0.25}
        result = dag.identify(spec_from(graph, x, y, latent))
        assert sorted(result.criterion_sets) == sorted(result.minimal_sets)


def test_identify_listing_equals_the_old_subset_enumeration():
    """identify() now lists minimal backdoor sets with the polynomial-delay listing; the exhaustive subset
    search it replaced is the oracle."""
    from causal_core.dag import identification

    rng = random.Random(13)
    for _ in range(150):
        graph = random_dag(rng, rng.randint(4, 8), rng.choice([0.25, 0.4]))
        x, y = rng.sample(list(graph), 2)
        latent = {v for v in graph if v not in (x, y) and rng.random() < 0.25}
        spec = spec_from(graph, x, y, latent)
        result = dag.identify(spec)
        if not result.identifiable:
            continue
        backdoor = identification._without_treatment_out_edges(graph, x)
        old, capped = enumerate_minimal_sets(backdoor, x, y, identification._candidates(graph, spec, x, y))
        assert not capped and sorted(result.minimal_sets) == sorted(old)


def test_adjustment_criterion_accepts_a_set_the_backdoor_criterion_rejects():
    """D descends from X but lies on no causal path: {Z, D} removes all bias (adjustment criterion) though it
    breaks the backdoor rule "no descendants of the treatment" (Shpitser, VanderWeele & Robins 2010)."""
    result = dag.identify(DESCENDANT)
    assert result.minimal_sets == result.criterion_sets == [["Z"]]
    assert "{D, Z} is valid under the adjustment criterion but not under the backdoor criterion" in result.criterion_note
    check = dag.check_adjustment_set(DESCENDANT, "X", "Y", ["Z", "D"])
    assert check.valid is False and check.criterion_valid is True
    assert "valid under the adjustment criterion" in check.reason
    mediator = dag.check_adjustment_set(make([("X", "M"), ("M", "Y")]), "X", "Y", ["M"])
    assert mediator.valid is False and mediator.criterion_valid is False and "rejects it too" in mediator.reason


def test_m_bias_under_the_criterion():
    result = dag.identify(M_BIAS)
    assert result.criterion_sets == [[]]  # {A} and {B} also work but contain the empty set
    assert dag.check_adjustment_set(M_BIAS, "X", "Y", ["M"]).criterion_valid is False
    assert dag.check_adjustment_set(M_BIAS, "X", "Y", ["M", "A"]).criterion_valid is True


def test_listing_cap_is_reported_and_every_listed_set_is_valid():
    """A wide layer of confounder pairs has 2^8 minimal sets; the cap stops the list, each set still works."""
    edges = []
    for i in range(8):
        edges += [(f"A{i}", "X"), (f"A{i}", f"B{i}"), (f"B{i}", "Y")]
    spec = make([*edges, ("X", "Y")])
    graph = dag.to_networkx(spec)
    sets, capped = criterion.minimal_adjustment_sets(graph, "X", "Y", dag.observed_names(spec), max_sets=10)
    assert capped and len(sets) == 10
    assert all(criterion.is_adjustment_set(graph, "X", "Y", s) and len(s) == 8 for s in sets)
    result = dag.identify(spec)
    assert len(result.criterion_sets) == 50 and result.criterion_capped and "stopped at" in result.criterion_note
    assert result.recommended_set is not None and len(result.recommended_set) == 8


# ---- bidirected edges, selection, the analyst's adjusted set -----------------------------------------------
def test_bidirected_edge_is_a_hidden_latent_common_cause():
    spec = make([("X", "Y"), ("Z", "X")], bidirected=[("X", "Y")])
    result = dag.identify(spec)
    assert result.identifiable is False and result.criterion_sets == []
    assert result.open_path == "X ↔ Y" and "latent common cause of X and Y" in result.note
    assert "[" not in result.note
    # the same graph with the latent drawn explicitly gives the same answers
    explicit = make([("X", "Y"), ("Z", "X"), ("U", "X"), ("U", "Y")], latent=("U",))
    assert dag.conditional_instruments(spec) == dag.conditional_instruments(explicit)
    assert [i.text() for i in dag.testable_implications(spec)[0]] == [
        i.text() for i in dag.testable_implications(explicit)[0]
    ]
    confounded_pair = make([("A", "X"), ("B", "Y"), ("X", "Y")], bidirected=[("A", "B")])
    assert "A ⊥ B" not in [i.text() for i in dag.testable_implications(confounded_pair)[0]]
    assert "A ⊥ B" in [i.text() for i in dag.testable_implications(make([("A", "X"), ("B", "Y"), ("X", "Y")]))[0]]


def test_bidirected_edges_need_known_distinct_nodes():
    bad = make([("X", "Y")]).model_copy(update={"bidirected": [DagEdge(source="X", target="Q")]})
    assert "bidirected edge X <-> Q refers to unknown node 'Q'" in dag.validate_dag(bad)
    loop = make([("X", "Y")]).model_copy(update={"bidirected": [DagEdge(source="X", target="X")]})
    assert any("bidirected self-loop" in e for e in dag.validate_dag(loop))
    with pytest.raises(dag.IdentificationError, match="refers to unknown node 'Q'"):
        dag.identify(bad)


def test_selection_nodes_warn_and_the_adjusted_set_is_checked():
    spec = make([("Z", "X"), ("Z", "Y"), ("X", "Y"), ("X", "S"), ("Y", "S")], selected=["S"], adjusted=["Z"])
    result = dag.identify(spec)
    assert result.warnings and "Selection on S" in result.warnings[0] and "cannot remove selection bias" in result.warnings[0]
    assert result.adjusted_check is not None and result.adjusted_check.valid is True
    wrong = spec.model_copy(update={"adjusted": ["S"]})
    check = dag.identify(wrong).adjusted_check
    assert check is not None and check.valid is False and check.criterion_valid is False
    summary = dag.design_summary(spec)
    assert "How were the units selected on S?" in " ".join(dag.design_questions(summary, spec))
    assert summary.sentence.endswith("Caution: the sample is selected on S, and no design here removes selection bias.")
    unknown = spec.model_copy(update={"selected": ["nope"]})
    assert "the selected node 'nope' is not a node of the graph" in dag.validate_dag(unknown)


# ---- front-door ------------------------------------------------------------------------------------------
def test_front_door_smoking_tar_cancer():
    assert dag.identify(SMOKING).identifiable is False
    assert dag.frontdoor_sets(SMOKING, "smoking", "cancer") == [["tar"]]
    summary = dag.design_summary(SMOKING)
    assert summary.design == "frontdoor" and summary.frontdoor_set == ["tar"]
    assert summary.sentence == (
        "Adjustment cannot identify the effect of smoking on cancer, but the front-door criterion can, "
        "through the mediator {tar}."
    )


@pytest.mark.parametrize(
    ("extra_edges", "latent", "why"),
    [
        ([("genotype", "tar")], ("genotype",), "the latent also causes the mediator"),
        ([("smoking", "cancer")], ("genotype",), "a direct path bypasses the mediator"),
        ([("V", "tar"), ("V", "cancer")], ("genotype", "V"), "mediator and outcome are confounded"),
    ],
)
def test_front_door_fails_when_a_condition_fails(extra_edges, latent, why):
    base = [("genotype", "smoking"), ("genotype", "cancer"), ("smoking", "tar"), ("tar", "cancer")]
    spec = make([*base, *extra_edges], latent=latent, treatment="smoking", outcome="cancer")
    assert dag.frontdoor_sets(spec) == [], why


def test_front_door_product_is_the_total_effect_in_linear_sems():
    """Each single-mediator front-door set found on random graphs with latents: (coef of M on X) × (coef of M
    in Y ~ M + X) equals the total effect."""
    rng = random.Random(7)
    found = 0
    for _ in range(600):
        graph = random_dag(rng, rng.randint(4, 7), 0.4)
        x, y = rng.sample(sorted(graph)[:3], 1)[0], sorted(graph)[-1]
        latent = {v for v in graph if v not in (x, y) and rng.random() < 0.4}
        sets, _ = dag.frontdoor_sets_in(graph, x, y, set(graph) - latent)
        for chosen in (s for s in sets if len(s) == 1):
            sem = LinearSEM(graph, rng)
            m = chosen[0]
            product = sem.ols(m, [x])[0] * sem.ols(y, [m, x])[0]
            assert product == pytest.approx(sem.total_effect(x, y), abs=1e-8)
            found += 1
    assert found >= 10


# ---- instruments -----------------------------------------------------------------------------------------
def test_textbook_instrument_and_conditional_instrument():
    assert dag.conditional_instruments(IV) == [dag.InstrumentSet(instrument="Z", conditioning=[])]
    assert dag.conditional_instruments(CONDITIONAL_IV) == [dag.InstrumentSet(instrument="Z", conditioning=["W"])]
    # without W measured, Z is not an instrument at all
    assert dag.conditional_instruments(make(CONDITIONAL_IV_EDGES, latent=("U", "W"))) == []
    summary = dag.design_summary(CONDITIONAL_IV)
    assert summary.design == "iv" and summary.instrument.text() == "Z | W"
    assert "Z is an instrument conditional on {W}" in summary.sentence and "extra assumptions" in summary.sentence


CONDITIONAL_IV_EDGES = [("Z", "X"), ("X", "Y"), ("U", "X"), ("U", "Y"), ("W", "Z"), ("W", "Y")]


def test_no_instrument_gives_the_message():
    assert dag.conditional_instruments(LATENT_CONFOUNDING) == []
    before = LATENT_CONFOUNDING.model_dump()
    with pytest.raises(dag.NoInstrumentError, match="no conditional instrument exists in this graph"):
        dag.require_instruments(LATENT_CONFOUNDING)
    assert LATENT_CONFOUNDING.model_dump() == before
    assert dag.NO_INSTRUMENT_MESSAGE == "no conditional instrument exists in this graph"


def test_instrument_ratio_is_the_total_effect_in_linear_sems():
    """Every conditional IV found: coef(Z in Y ~ Z + W) / coef(Z in X ~ Z + W) equals the total effect."""
    rng = random.Random(3)
    found = 0
    for _ in range(600):
        graph = random_dag(rng, rng.randint(4, 7), 0.4)
        x, y = rng.sample(list(graph), 2)
        if not nx.has_path(graph, x, y):
            continue
        latent = {v for v in graph if v not in (x, y) and rng.random() < 0.3}
        for found_iv in dag.instruments_in(graph, x, y, set(graph) - latent):
            sem = LinearSEM(graph, rng)
            regressors = [found_iv.instrument, *found_iv.conditioning]
            ratio = sem.ols(y, regressors)[0] / sem.ols(x, regressors)[0]
            assert ratio == pytest.approx(sem.total_effect(x, y), abs=1e-7)
            found += 1
    assert found >= 30


# ---- controlled direct effects ---------------------------------------------------------------------------
def test_direct_effect_needs_the_mediator_outcome_confounder():
    assert dag.identify(CDE).minimal_sets == [[]]
    assert dag.direct_effect_sets(CDE, "X", "Y", ["M"]) == [["C"]]
    hidden = make([("X", "M"), ("M", "Y"), ("X", "Y"), ("C", "M"), ("C", "Y")], latent=("C",))
    result = dag.direct_effect_search(hidden, "X", "Y", ["M"])
    assert result.sets == [] and "No observed adjustment set" in result.note


def test_treatment_induced_confounder_has_no_single_set():
    spec = make([("X", "M"), ("M", "Y"), ("X", "Y"), ("X", "L"), ("L", "M"), ("L", "Y")])
    result = dag.direct_effect_search(spec, "X", "Y", ["M"])
    assert result.sets == [] and "L is affected by X" in result.note and "sequential g-formula" in result.note


def test_zero_direct_effect_is_stated():
    result = dag.direct_effect_search(make([("X", "M"), ("M", "Y")]), "X", "Y", ["M"])
    assert result.sets == [[]] and "controlled direct effect is zero" in result.note


def test_direct_effect_coefficient_matches_linear_sems():
    """For each set found, the OLS coefficient of X in Y ~ X + M + Z equals the effect with M held fixed."""
    rng = random.Random(9)
    found = 0
    for _ in range(300):
        graph = random_dag(rng, rng.randint(4, 7), 0.45)
        x, y = rng.sample(list(graph), 2)
        mediators = sorted(criterion.proper_causal_nodes(graph, x, y) - {y})
        if not mediators:
            continue
        m = rng.choice(mediators)
        latent = {v for v in graph if v not in (x, y, m) and rng.random() < 0.3}
        spec = spec_from(graph, x, y, latent)
        for chosen in dag.direct_effect_sets(spec, x, y, [m]):
            sem = LinearSEM(graph, rng, cut_into=(m,))
            assert sem.ols(y, [x, m, *chosen])[0] == pytest.approx(sem.effect_with_fixed(x, y), abs=1e-8)
            found += 1
    assert found >= 30


@pytest.mark.parametrize(
    ("mediators", "message"),
    [
        ([], "choose at least one mediator"),
        (["Q"], "unknown mediator(s): Q"),
        (["C"], "C lie(s) on no causal path from X to Y"),
        (["Y"], "cannot be the treatment or the outcome"),
    ],
)
def test_direct_effect_bad_mediators(mediators, message):
    with pytest.raises(dag.IdentificationError) as error:
        dag.direct_effect_sets(CDE, "X", "Y", mediators)
    assert message in str(error.value)


def test_direct_effect_through_an_unmeasured_mediator_is_refused():
    spec = make([("X", "M"), ("M", "Y"), ("X", "Y")], unmeasured=("M",))
    with pytest.raises(dag.IdentificationError, match="M cannot be held fixed in the data"):
        dag.direct_effect_sets(spec, "X", "Y", ["M"])


# ---- design summary and bad inputs -----------------------------------------------------------------------
def test_design_none_says_which_latent_would_need_measuring():
    summary = dag.design_summary(LATENT_CONFOUNDING)
    assert summary.design == "none"
    assert summary.what_would_identify == ["measuring U would make the effect identifiable by adjustment"]
    assert summary.sentence.endswith("Measuring U would make the effect identifiable by adjustment.")
    bidirected = dag.design_summary(make([("X", "Y")], bidirected=[("X", "Y")]))
    assert bidirected.what_would_identify == [
        "measuring the common cause of X and Y (drawn as X <-> Y) would make the effect identifiable by adjustment"
    ]
    assert bidirected.to_measure == ["common cause of X and Y"]
    unmeasured_tar = make([("genotype", "smoking"), ("genotype", "cancer"), ("smoking", "tar"), ("tar", "cancer")],
                          latent=("genotype",), unmeasured=("tar",), treatment="smoking", outcome="cancer")
    assert dag.design_summary(unmeasured_tar).what_would_identify == [
        "measuring genotype would make the effect identifiable by adjustment",
        "giving tar a data column would make the effect identifiable by front-door",
    ]


def test_design_adjustment_sentence_for_the_retention_dag():
    summary = dag.design_summary(dag.default_dag("retention"))
    assert summary.design == "adjustment" and len(summary.adjustment_set) == 7
    assert summary.sentence.startswith("The graph supports adjustment: adjusting for {company_size, health_score")
    assert dag.design_summary(make([("X", "Y")])).sentence == (
        "The graph supports adjustment: comparing treated and untreated directly (no adjustment needed) identifies "
        "the total effect of X on Y."
    )


CYCLIC = make([("X", "A"), ("A", "B"), ("B", "X"), ("X", "Y")])


@pytest.mark.parametrize(
    "call",
    [
        lambda spec: dag.identify(spec),
        lambda spec: dag.design_summary(spec),
        lambda spec: dag.frontdoor_sets(spec, "X", "Y"),
        lambda spec: dag.conditional_instruments(spec, "X", "Y"),
        lambda spec: dag.direct_effect_sets(spec, "X", "Y", ["A"]),
    ],
)
def test_cyclic_graph_is_refused_with_the_cycle_named(call):
    before = CYCLIC.model_dump()
    with pytest.raises(dag.IdentificationError) as error:
        call(CYCLIC)
    assert "the graph has a cycle: " in str(error.value)
    assert "X → A → B → X" in str(error.value) or "A → B → X → A" in str(error.value) or "B → X → A → B" in str(error.value)
    assert CYCLIC.model_dump() == before


@pytest.mark.parametrize(
    "call",
    [
        lambda spec: dag.identify(spec, "X", "X"),
        lambda spec: dag.design_summary(spec, "X", "X"),
        lambda spec: dag.frontdoor_sets(spec, "X", "X"),
        lambda spec: dag.conditional_instruments(spec, "X", "X"),
        lambda spec: dag.direct_effect_sets(spec, "X", "X", ["M"]),
    ],
)
def test_treatment_equal_to_outcome_is_refused(call):
    before = CDE.model_dump()
    with pytest.raises(dag.IdentificationError, match="the treatment and the outcome must be different nodes"):
        call(CDE)
    assert CDE.model_dump() == before


def test_errors_are_value_errors_the_page_and_cli_catch():
    assert issubclass(dag.IdentificationError, ValueError) and issubclass(dag.IdentificationError, dag.DagEditError)
    assert issubclass(dag.NoInstrumentError, dag.IdentificationError)
    with pytest.raises(dag.IdentificationError, match="unknown treatment 'Q'"):
        dag.design_summary(CDE, "Q", "Y")


# ---- open questions --------------------------------------------------------------------------------------
def test_open_questions_follow_the_design_copy_on_write():
    analyst = OpenQuestion(text="Who approved the outreach list?", source="analyst")
    project = Project(dag=LATENT_CONFOUNDING, open_questions=[analyst])
    updated = dag.update_open_questions(project)
    assert project.open_questions == [analyst] and project.edit_log == []
    assert [q.text for q in updated.open_questions] == ["Who approved the outreach list?", "Can U be measured?"]
    assert updated.open_questions[1].source == dag.OPEN_QUESTION_SOURCE and updated.edit_log
    assert dag.update_open_questions(updated) is updated  # nothing changed → same object, no edit logged
    answered = updated.model_copy(update={"open_questions": [
        analyst, updated.open_questions[1].model_copy(update={"status": "answered", "answer": "yes, from HR data"})
    ]})
    # the graph changes: U is measured now, so the design is adjustment
    measured = answered.model_copy(update={"dag": make([("U", "X"), ("U", "Y"), ("X", "Y")])})
    after = dag.update_open_questions(measured)
    texts = [q.text for q in after.open_questions]
    assert texts[0] == "Who approved the outreach list?"
    assert "Is every common cause of X and Y in the DAG? The adjustment set {U} relies on it." in texts
    kept = next(q for q in after.open_questions if q.text == "Can U be measured?")
    assert kept.status == "answered" and kept.answer == "yes, from HR data"


def test_open_questions_for_front_door_and_instruments_and_no_dag():
    project = Project(dag=SMOKING)
    texts = [q.text for q in dag.update_open_questions(project).open_questions]
    assert texts == [
        "Does every effect of smoking on cancer pass through {tar}?",
        "Is there no unmeasured common cause of {tar} and cancer, nor of smoking and {tar}?",
    ]
    iv_texts = [q.text for q in dag.update_open_questions(Project(dag=CONDITIONAL_IV)).open_questions]
    assert iv_texts[0] == (
        "Does Z affect Y only through X, once {W} is accounted for? The data cannot test this exclusion restriction."
    )
    empty = Project()
    assert dag.update_open_questions(empty) is empty
    cyclic = Project(dag=CYCLIC)
    assert dag.update_open_questions(cyclic) is cyclic


def test_descendants_of_the_treatment_are_not_offered_as_instruments():
    """DAGitty's definition admits X → D with D ⊥ Y | Z; D only rescales X, so it is left out here."""
    spec = make([("Z", "X"), ("Z", "Y"), ("X", "Y"), ("X", "D")])
    graph = dag.to_networkx(spec)
    assert dag.conditional_instruments(spec) == []
    assert nx.is_d_separator(criterion.proper_backdoor_graph(graph, "X", "Y"), {"D"}, {"Y"}, {"Z"})


# ---- the DAG page panel (AppTest on the panel alone) -------------------------------------------------------
def _panel_app(spec_json: str) -> None:
    import streamlit as st

    from causal_core.project import DagSpec, Project
    from causal_core.ui import state
    from causal_core.ui.identification_panel import render_identification_panel

    spec = DagSpec.model_validate_json(spec_json)
    if "panel_started" not in st.session_state:
        st.session_state["panel_started"] = True
        state.set_project(Project(dag=spec))
    render_identification_panel(state.get_project(), spec)
    st.write(f"questions: {[q.text for q in state.get_project().open_questions]}")


def _run_panel(spec: DagSpec):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_function(_panel_app, args=(spec.model_dump_json(),), default_timeout=60).run()


def test_panel_shows_the_front_door_design_and_updates_open_questions():
    app = _run_panel(SMOKING)
    assert not app.exception
    assert any("Design: Front-door." in box.value and "through the mediator \\{tar\\}" in box.value for box in app.info)
    assert any("No conditional instrument exists in this graph" in md.value for md in app.markdown)
    app.button(key="ident_open_questions").click().run()
    assert "Does every effect of smoking on cancer pass through {tar}?" in app.markdown[-1].value


def test_panel_direct_effect_and_refused_graph():
    app = _run_panel(CDE)
    assert not app.exception and any("Design: Adjustment." in box.value for box in app.success)
    app.multiselect(key="ident_mediators").select("M").run()
    assert not app.exception
    frames = [frame.value for frame in app.dataframe]
    assert any("adjustment set (direct effect)" in f.columns and list(f.iloc[:, 0]) == ["C"] for f in frames)
    refused = _run_panel(CDE.model_copy(update={"outcome": "X"}))
    assert not refused.exception
    assert any("the treatment and the outcome must be different nodes" in box.value for box in refused.error)


def test_instrument_search_is_complete_against_a_brute_force_over_every_conditioning_set():
    """Z is listed ⇔ some W (observed, no mediator, no descendant of X or Y) separates Z from Y and connects Z to
    X in the proper backdoor graph; every W is tried."""
    rng = random.Random(2)
    checked = 0
    for _ in range(400):
        graph = random_dag(rng, rng.randint(4, 7), rng.choice([0.3, 0.45]))
        x, y = rng.sample(list(graph), 2)
        if not nx.has_path(graph, x, y):
            continue
        latent = {v for v in graph if v not in (x, y) and rng.random() < 0.3}
        observed = set(graph) - latent
        backdoor = criterion.proper_backdoor_graph(graph, x, y)
        excluded = (criterion.proper_causal_nodes(graph, x, y) | nx.descendants(graph, x) | nx.descendants(backdoor, y))
        allowed = sorted(observed - excluded - {x, y})
        truth = set()
        for z in sorted(observed - {x, y} - nx.descendants(graph, x)):
            pool = [w for w in allowed if w != z]
            if any(
                nx.is_d_separator(backdoor, {y}, {z}, set(w)) and not nx.is_d_separator(backdoor, {x}, {z}, set(w))
                for size in range(len(pool) + 1)
                for w in itertools.combinations(pool, size)
            ):
                truth.add(z)
        listed = dag.instruments_in(graph, x, y, observed)
        assert {item.instrument for item in listed} == truth, (sorted(graph.edges), x, y, latent)
        assert all(not set(item.conditioning) & excluded for item in listed)
        checked += 1
    assert checked > 80


# ---- bounded work on large graphs ------------------------------------------------------------------------
def test_large_graph_skips_the_optional_scans_and_says_so():
    """A 320-node graph: 160 confounder pairs Cᵢ → X, Cᵢ → Y plus a chain; identify still answers, states
    what it skipped, and the criterion sets are the backdoor sets (equal for one treatment)."""
    edges = [("X", "Y")] + [(f"C{i}", "X") for i in range(3)] + [(f"C{i}", "Y") for i in range(3)]
    edges += [(f"N{i}", f"N{i + 1}") for i in range(316)]
    spec = make(edges)
    assert len(spec.nodes) > dag.LARGE_GRAPH_NODES
    result = dag.identify(spec)
    assert result.recommended_set == ["C0", "C1", "C2"]
    assert "collider scan of bad controls is skipped" in result.note
    assert result.criterion_sets == result.minimal_sets and "are the backdoor sets" in result.criterion_note


def test_instrument_search_states_its_cap(monkeypatch):
    from causal_core.dag import instruments

    spec = make([("Z1", "Z2"), ("Z2", "X"), ("X", "Y"), ("U", "X"), ("U", "Y")], latent=("U",))
    assert [i.instrument for i in dag.conditional_instruments(spec)] == ["Z1", "Z2"]
    monkeypatch.setattr(instruments, "MAX_INSTRUMENT_CANDIDATES", 1)
    search = dag.instrument_search(spec)
    assert search.capped and [i.instrument for i in search.instruments] == ["Z2"]  # nearest to X first
    assert "Only the 1 observed nodes closest to X (of 2)" in search.note


def test_direct_effect_matches_dagittys_published_answer_on_its_mediator_example():
    """DAGitty's test suite: listMsasDirectEffect(g) == {I} on its "mediator" graph. DAGitty's sets include the
    mediators it conditions on; ours list the covariates added to them, so {I} = ours ∪ {I}."""
    import json
    from pathlib import Path

    from causal_core import dag_io

    fixtures = Path(__file__).parent / "fixtures" / "dagitty"
    published = json.loads((fixtures / "answers.json").read_text(encoding="utf-8"))["mediator_small.txt"]
    spec = dag_io.from_dagitty((fixtures / "mediator_small.txt").read_text(encoding="utf-8"))
    ours = dag.direct_effect_sets(spec, "X", "Y", ["I"])
    assert [sorted({*s, "I"}) for s in ours] == published["direct_effect_minimal_sets"] == [["I"]]


def test_design_sentence_says_when_the_graph_implies_a_zero_effect():
    summary = dag.design_summary(make([("Z", "X"), ("Z", "Y")]))
    assert summary.design == "adjustment" and summary.adjustment_set == ["Z"]
    assert summary.sentence.endswith("The graph itself says that effect is zero: there is no directed path from X to Y.")


def test_what_would_identify_is_true_when_acted_on():
    """On random graphs where nothing identifies the effect, measuring each suggested latent really gives an
    identifying adjustment or front-door design, and no unsuggested single latent would have."""
    rng = random.Random(21)
    seen = 0
    for _ in range(300):
        graph = random_dag(rng, rng.randint(4, 7), 0.45)
        x, y = rng.sample(list(graph), 2)
        latent = {v for v in graph if v not in (x, y) and rng.random() < 0.4}
        spec = spec_from(graph, x, y, latent)
        summary = dag.design_summary(spec)
        if summary.design != "none":
            continue
        seen += 1
        for name in sorted(latent):
            measured = spec.model_copy(update={"nodes": [
                n.model_copy(update={"latent": False, "column": n.name}) if n.name == name else n for n in spec.nodes
            ]})
            after = dag.design_summary(measured).design
            assert (after in ("adjustment", "frontdoor")) == (name in summary.to_measure), (sorted(graph.edges), name)
    assert seen >= 20
