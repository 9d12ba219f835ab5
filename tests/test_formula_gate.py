"""The formula gate: a generated corpus of escape attempts is refused and never runs; valid formulas still work.

Every hostile payload carries a canary (a file it would create in ``tmp_path``, or an attribute it would set on
``builtins``); the tests assert the canary never fires on any path: the gate, ``term_matrix``, ``run_estimation``,
the CLI and project open.
"""

from __future__ import annotations

import builtins
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal_core import estimation as est
from causal_core.cli import main
from causal_core.estimation import formula_gate, terms
from causal_core.estimation.constants import MAX_FORMULA_CHARS, MAX_FORMULA_DEPTH, EstimationError
from causal_core.project import EstimationSpec
from causal_core.project_file import project_from_json, project_to_json

CANARY_ATTRIBUTE = "CW_FORMULA_CANARY"
COLUMNS = ["x", "w", "v", "group"]


def frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({
        "t": rng.binomial(1, 0.5, n), "y": rng.normal(size=n) + x, "x": x, "w": rng.uniform(1, 5, n),
        "v": rng.normal(10, 2, n), "group": rng.choice(["a", "b", "c"], n),
    })


def payloads(target: str) -> list[str]:
    """Hostile snippets, each of which would create ``target`` or set the builtins canary if it ever ran."""
    return [
        f"__import__('os').system('touch {target}')",
        f"__import__('pathlib').Path('{target}').touch()",
        f"open('{target}', 'w')",
        f"eval(\"open('{target}', 'w')\")",
        f"exec(\"open('{target}', 'w')\")",
        f"getattr(__import__('builtins'), 'open')('{target}', 'w')",
        f"globals()['__builtins__'].open('{target}', 'w')",
        f"setattr(__import__('builtins'), '{CANARY_ATTRIBUTE}', 1)",
        f"x.__class__.__init__.__globals__['__builtins__']['open']('{target}', 'w')",
        f"(lambda: open('{target}', 'w'))()",
        f"[open('{target}', 'w') for _ in [1]]",
        f"{{open('{target}', 'w')}}",
        f"(f := open('{target}', 'w'))",
        f"f'{{open(\"{target}\", \"w\")}}'",
        f"np.lib.utils.source(open('{target}', 'w'))",
        f"C(x, open('{target}', 'w'))",
        f"bs(x, df=open('{target}', 'w'))",
        f"log(x)[open('{target}', 'w')]",
        f"open(*['{target}', 'w'])",
        f"I(**{{'x': open('{target}', 'w')}})",
    ]


def lookalike(text: str, index: int) -> str:
    """Replace one ASCII letter of a function name with its fullwidth twin (NFKC folds it back)."""
    letters = [i for i, char in enumerate(text) if char.isascii() and char.isalpha()]
    i = letters[index % len(letters)]
    return text[:i] + chr(ord(text[i]) + 0xFEE0) + text[i + 1:]


VALID_BASE = ["x", "C(group)", "I(x**2)", "cr(v, df=4, constraints='center')", "w", "x:w"]


def assert_no_canary(target) -> None:
    assert not target.exists(), "a refused formula ran code"
    assert not hasattr(builtins, CANARY_ATTRIBUTE), "a refused formula ran code"


def assert_refused_everywhere(formula: str, target) -> str:
    """The gate, term_matrix and check_term_columns all refuse; nothing ran. Returns the gate's message."""
    with pytest.raises(EstimationError) as error:
        formula_gate.check_formula_syntax(formula, "outcome terms")
    with pytest.raises(EstimationError):
        terms.term_matrix(frame(60), formula, "outcome terms")
    with pytest.raises(EstimationError):
        terms.check_term_columns(formula, "outcome terms", frame(60), COLUMNS)
    assert_no_canary(target)
    return str(error.value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    choice=st.integers(0, 10_000), wrap=st.sampled_from(["{}", "I({})", "log({})", "C({})", "bs({}, df=3)", "({})"]),
    position=st.integers(0, len(VALID_BASE)), joiner=st.sampled_from([" + ", ":", " * ", " - "]),
    fullwidth=st.booleans(), letter=st.integers(0, 50),
)
def test_generated_escape_attempts_are_refused_and_never_run(tmp_path, choice, wrap, position, joiner, fullwidth,
                                                             letter):
    target = tmp_path / "canary"
    snippets = payloads(str(target))
    payload = wrap.format(snippets[choice % len(snippets)])
    if fullwidth:
        payload = lookalike(payload, letter)
    parts = [*VALID_BASE[:position], payload, *VALID_BASE[position:]]
    message = assert_refused_everywhere(joiner.join(parts), target)
    assert "not allowed" in message or "not a valid formula" in message or "limit" in message


@settings(max_examples=50, deadline=None)
@given(depth=st.integers(MAX_FORMULA_DEPTH + 1, 150), wrapper=st.sampled_from(["I(", "log(", "(w + ", "center(", "(w:"]))
def test_deep_nesting_is_refused_with_the_limit_named(depth, wrapper):
    with pytest.raises(EstimationError, match=f"deeper than {MAX_FORMULA_DEPTH}|not a valid formula"):
        formula_gate.check_formula_syntax(wrapper * depth + "x" + ")" * depth, "outcome terms")


@settings(max_examples=30, deadline=None)
@given(repeats=st.integers(MAX_FORMULA_CHARS // 4 + 1, 30_000))
def test_long_formulas_are_refused_by_length(repeats):
    with pytest.raises(EstimationError, match=f"limit is {MAX_FORMULA_CHARS:,} characters"):
        formula_gate.check_formula_syntax(" + ".join(["x"] * repeats), "outcome terms")


@pytest.mark.parametrize(
    ("formula", "named"),
    [
        ("x + I(__import__('os').system('id').bit_length())", "dunder name '__import__'"),
        ("x + I(system('id').bit_length())", "attribute access '.bit_length'"),
        ("x.__class__", "dunder name '__class__'"),
        ("x.real", "attribute access '.real'"),
        ("np.log(x)", "attribute access '.log'"),
        ("I(lambda: 1)", "keyword 'lambda'"),
        ("I([a for a in x])", "keyword 'for'"),
        ("I(x[0])", "subscripts"),
        ("I(y := 1)", "walrus"),
        ("x + 'text'", "string literal 'text'"),
        ("ｅval(x)", "U+FF45 (FULLWIDTH LATIN SMALL LETTER E)"),
        ("{x}", "'{'"),
        ("open(x)", "function 'open'"),
        ("getattr(x, 1)", "function 'getattr'"),
        ("I(*x)", "unpacking"),
        ("x + __x__", "dunder name '__x__'"),
        ("`__class__`", "dunder name '__class__'"),
        ("cr(x, constraints='nope')", "only constraints='center'"),
        ("bs(x, extrapolation=1)", "keyword 'extrapolation'"),
        ("I(2**10**10)", "exponents inside a call"),
        ("x @ w", "'@'"),
        ("x ; w", "';'"),
        ("5 + x", "bare number 5"),
        ("x ~ w", "right-hand side"),
        ("`x", "unclosed backtick"),
        ("lag(x)", "function 'lag'"),
        ("I(poly(x, degree=2))", "function 'poly' inside an expression"),
    ],
)
def test_each_forbidden_construct_is_named(formula, named):
    with pytest.raises(EstimationError) as error:
        formula_gate.check_formula_syntax(formula, "outcome terms")
    assert named in str(error.value)


def valid_terms() -> st.SearchStrategy[str]:
    numeric = st.sampled_from(["x", "w", "v"])
    return st.one_of(
        numeric,
        st.just("C(group)"),
        st.builds(lambda c, k: f"I({c}**{k})", numeric, st.integers(2, 3)),
        st.builds(lambda c: f"log({c})", st.just("w")),
        st.builds(lambda c, k: f"cr({c}, df={k}, constraints='center')", numeric, st.integers(3, 6)),
        st.builds(lambda c, k: f"bs({c}, df={k})", numeric, st.integers(3, 6)),
        st.builds(lambda c, k: f"poly({c}, degree={k})", numeric, st.integers(1, 3)),
        st.builds(lambda c: f"center({c})", numeric),
        st.builds(lambda a, b: f"{a}:{b}", numeric, numeric).filter(lambda s: s[0] != s[-1]),
    )


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(valid_terms(), min_size=1, max_size=4, unique=True))
def test_generated_valid_formulas_pass_and_match_formulaic(parts):
    from formulaic import model_matrix

    formula = " + ".join(parts)
    data = frame()
    gated = formula_gate.gate_formula(formula, "outcome terms", COLUMNS)
    assert set(gated.variables) <= set(COLUMNS)
    ours = terms.term_matrix(data, formula, "outcome terms", standardise=False)
    reference = model_matrix(f"1 + {formula}", data, na_action="ignore", output="pandas")
    expected = reference.drop(columns="Intercept")
    assert ours.names == [str(c) for c in expected.columns]
    np.testing.assert_allclose(ours.X, expected.to_numpy(dtype=float), rtol=1e-10, atol=1e-12)
    assert formula_gate.estimate_design_columns(gated, data) >= ours.X.shape[1]


def test_the_materializer_namespace_holds_only_the_allowed_transforms():
    """Behind the gate, formulaic's own np, lag and hashed are not reachable from a gated evaluation."""
    from formulaic import model_matrix
    from formulaic.errors import FormulaicError

    data = frame(50)
    for outside in ("np.log(w)", "lag(x)", "exp2(x)"):
        model_matrix(outside, data)  # formulaic's default namespace has it ...
        with pytest.raises((FormulaicError, NameError, KeyError)):  # ... the gated one does not
            model_matrix(outside, data, materializer=formula_gate.gated_materializer())
    assert set(formula_gate.safe_namespace()) == set(formula_gate.ARITHMETIC_FUNCTIONS) | set(
        formula_gate.TERM_TRANSFORMS
    )


def test_quoted_and_non_ascii_column_names_are_matched_exactly():
    data = frame(80).rename(columns={"w": "café", "v": "my col"})
    matrix = terms.term_matrix(data, f"{terms.quote('café')} + {terms.quote('my col')}", "outcome terms")
    assert matrix.X.shape == (80, 2)
    assert terms.quote("café") == "`café`" and terms.quote("x") == "x"
    with pytest.raises(EstimationError, match="non-ASCII"):
        terms.term_matrix(data, "café", "outcome terms")
    with pytest.raises(EstimationError, match="not a column of the adjustment set"):
        formula_gate.gate_formula("`cafe`", "outcome terms", ["café"])


def test_run_estimation_refuses_a_payload_before_formulaic_is_called(tmp_path, monkeypatch):
    import formulaic

    calls: list[str] = []
    monkeypatch.setattr(formulaic, "model_matrix", lambda *a, **k: calls.append("model_matrix"))
    monkeypatch.setattr(formulaic, "Formula", lambda *a, **k: calls.append("Formula"))
    target = tmp_path / "canary"
    spec = EstimationSpec(treatment="t", outcome="y", covariates=["x", "w"])
    hostile = spec.model_copy(update={"outcome_terms": f"x + I(open('{target}', 'w'))"})  # skips the validator
    with pytest.raises(EstimationError, match="function 'open'"):
        est.run_estimation(frame(), hostile, refutations=False)
    assert calls == []
    assert_no_canary(target)


def test_the_cli_refuses_a_payload_with_exit_2_and_no_side_effect(tmp_path, capsys):
    target = tmp_path / "canary"
    data = tmp_path / "data.csv"
    frame().to_csv(data, index=False)
    for flag in ("--terms", "--propensity-terms", "--interact"):
        code = main(["estimate", "--data", str(data), "--treatment", "t", "--outcome", "y", "--covariates", "x,w",
                     flag, f"x + I(__import__('os').system('touch {target}').bit_length())"])
        assert code == 2
        assert "'__import__'" in capsys.readouterr().err
        assert_no_canary(target)


def test_a_project_file_with_a_hostile_formula_is_refused_on_open(retention, tmp_path):
    from causal_core.dag import default_dag

    project, data = retention
    project = project.model_copy(update={"dag": default_dag("retention")})
    estimated = est.estimate_project(project, data, est.default_spec(project, data), refutations=False)
    payload = json.loads(project_to_json(estimated))
    target = tmp_path / "canary"
    payload["estimation"]["spec"]["outcome_terms"] = f"x.__class__.__init__.__globals__['open']('{target}')"
    with pytest.raises(Exception) as error:
        project_from_json(json.dumps(payload))
    assert "dunder name '__class__'" in str(error.value)
    payload["estimation"]["spec"]["outcome_terms"] = "tenure_months + I(tenure_months**2)"
    assert project_from_json(json.dumps(payload)).estimation.spec.outcome_terms.startswith("tenure_months")
    assert_no_canary(target)
