"""The formula gate: formula text is checked against an allow-list *before* formulaic ever sees it.

Why: formulaic evaluates formula text as Python (call heads while parsing, ``I(...)`` against the data), so
``x + I(__import__('os').system('id'))`` ran a shell command in the server process. This module parses the text
itself with :mod:`ast` (backtick-quoted names mapped to placeholders, the interaction ``:`` mapped to ``@``) and
accepts only the small language a statistics class writes: column names of the adjustment set, the Wilkinson
operators ``+ - : * / **`` with ``0``/``1``, and calls to a fixed set of transforms with bounded keyword values.
Everything else (attributes, subscripts, lambdas, comprehensions, strings other than ``constraints='center'``,
dunder names, non-ASCII look-alikes, unknown functions) is refused with the construct named. The materializer
then evaluates with a namespace holding only those transforms (formulaic's default adds ``np`` and more).

The gate is also where the work one formula may ask for is bounded: its length, nesting, spline df and knots,
polynomial degree, exponents, and the number of design columns it expands to (estimated from category levels ×
interactions before anything is materialised).
"""

from __future__ import annotations

import ast
import keyword
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causal_core.estimation.constants import (
    MAX_ARITHMETIC_EXPONENT,
    MAX_DESIGN_COLUMNS,
    MAX_FORMULA_CHARS,
    MAX_FORMULA_DEPTH,
    MAX_POLY_DEGREE,
    MAX_SPLINE_DF,
    MAX_WILKINSON_POWER,
    EstimationError,
)

SPLINES = ("bs", "cr", "cs", "cc")
ARITHMETIC_FUNCTIONS = ("log", "log1p", "log2", "log10", "exp", "sqrt", "abs", "center", "scale", "standardize", "I")
"""Transforms allowed anywhere inside an expression; each takes one argument and returns one column."""
TERM_TRANSFORMS = ("C", "poly", *SPLINES)
"""Transforms that may expand to several columns; allowed at the formula level only."""
_BOUNDS = ("lower_bound", "upper_bound")
KEYWORDS: dict[str, tuple[str, ...]] = {
    "bs": ("df", "degree", "knots", "include_intercept", *_BOUNDS),
    "cr": ("df", "knots", "constraints", *_BOUNDS),
    "cs": ("df", "knots", "constraints", *_BOUNDS),
    "cc": ("df", "knots", "constraints", *_BOUNDS),
    "poly": ("degree", "raw"),
}
"""The keyword arguments each transform accepts (all others, and every keyword of the rest, are refused)."""
_PLACEHOLDER = "_cw_bq"
_ALLOWED_ASCII = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ \t\n+-*/:().,=[]'\"")
_CHARACTER_NAMES = {
    "{": "'{' (formulaic's Python blocks)", "}": "'}' (formulaic's Python blocks)", ";": "';'",
    "\\": "a backslash", "@": "'@'", "|": "'|'", "~": "'~'", "%": "'%'", "!": "'!'", "<": "'<'", ">": "'>'",
    "&": "'&'", "^": "'^'", "#": "'#'", "$": "'$'", "?": "'?'",
}
_CONSTRUCTS = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambda",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.NamedExpr: "the walrus operator ':='", ast.JoinedStr: "f-strings",
    ast.Starred: "starred arguments", ast.Dict: "dict literals", ast.Set: "set literals", ast.Tuple: "tuples",
    ast.Compare: "comparisons", ast.BoolOp: "'and'/'or'", ast.IfExp: "conditional expressions",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "slices",
    ast.List: "list literals (only knots=[...] takes one)",
}
_MATH_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_WILKINSON_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult)


@dataclass
class GatedFormula:
    """A formula that passed the gate: its columns and the Wilkinson terms it expands to (factors per term)."""

    text: str
    variables: list[str]
    terms: list[frozenset[str]] = field(default_factory=list)
    factors: dict[str, ast.AST] = field(default_factory=dict)
    quoted: dict[str, str] = field(default_factory=dict)


def _refuse(label: str, what: str) -> EstimationError:
    return EstimationError(f"The {label}: {what} is not allowed in formulas.")


def _character_message(char: str) -> str:
    if char in _CHARACTER_NAMES:
        return f"the character {_CHARACTER_NAMES[char]}"
    if not char.isascii():
        name = unicodedata.name(char, "unnamed")
        return (f"the non-ASCII character U+{ord(char):04X} ({name}) outside backticks (quote a column name "
                "that has one in backticks, e.g. `café`)")
    return f"the control character U+{ord(char):04X}"


def _check_quoted_name(name: str, label: str) -> None:
    if not name:
        raise _refuse(label, "an empty backtick name")
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") or char == "\\":
            raise _refuse(label, f"the character U+{ord(char):04X} inside a backtick name")
    if name.startswith("__") or name.endswith("__"):
        raise _refuse(label, f"the dunder name {name!r}")


def _split_backticks(text: str, label: str) -> tuple[str, dict[str, str]]:
    """Replace each backtick-quoted name by a placeholder identifier; refuse unsafe characters outside them."""
    pieces = text.split("`")
    if len(pieces) % 2 == 0:
        raise EstimationError(f"The {label} have an unclosed backtick: quote column names as `name`.")
    if _PLACEHOLDER in text:
        raise _refuse(label, f"the reserved name prefix {_PLACEHOLDER!r}")
    quoted: dict[str, str] = {}
    out: list[str] = []
    for i, piece in enumerate(pieces):
        if i % 2:
            _check_quoted_name(piece, label)
            placeholder = f"{_PLACEHOLDER}{len(quoted)}"
            quoted[placeholder] = piece
            out.append(f" {placeholder} ")
            continue
        for char in piece:
            if char not in _ALLOWED_ASCII:
                raise _refuse(label, _character_message(char))
        out.append(piece.replace(":", "@"))
    return "".join(out), quoted


def _number(node: ast.AST) -> float | None:
    """The value of a numeric literal (a signed int or float constant), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = float(node.value)
        return value if np.isfinite(value) else None
    return None


def _construct(node: ast.AST) -> str:
    """A short name of a refused AST construct for the message."""
    if isinstance(node, ast.Attribute):
        return f"attribute access '.{node.attr}'"
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        return f"the string literal {str(node.value)[:40]!r}"
    if isinstance(node, ast.Constant):
        return f"the constant {node.value!r}"
    for kind, name in _CONSTRUCTS.items():
        if isinstance(node, kind):
            return name
    return f"the construct {type(node).__name__}"


class _Checker:
    """Walks the parsed formula once: validates every node, collects columns, expands Wilkinson terms."""

    def __init__(self, label: str, quoted: dict[str, str], columns: Collection[str] | None) -> None:
        self.label, self.quoted, self.columns = label, quoted, columns
        self.variables: list[str] = []
        self.factors: dict[str, ast.AST] = {}

    def fail(self, what: str) -> EstimationError:
        return _refuse(self.label, what)

    def depth(self, depth: int) -> None:
        if depth > MAX_FORMULA_DEPTH:
            raise EstimationError(
                f"The {self.label} nest deeper than {MAX_FORMULA_DEPTH} levels (the limit); simplify the formula."
            )

    def column(self, node: ast.Name) -> str:
        name = self.quoted.get(node.id, node.id)
        if node.id not in self.quoted and ("__" in name or name.startswith(_PLACEHOLDER)):
            raise self.fail(f"the dunder name {name!r}")
        if self.columns is not None and name not in self.columns:
            allowed = ", ".join(sorted(map(str, self.columns))[:25]) or "none"
            raise EstimationError(
                f"The {self.label} use {name!r}, which is not a column of the adjustment set (allowed: {allowed})."
            )
        if name not in self.variables:
            self.variables.append(name)
        return name

    def terms(self, node: ast.AST, depth: int = 0) -> list[frozenset[str]]:
        """Formula level: Wilkinson operators over columns, transforms and the intercept constants 0/1."""
        self.depth(depth)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            power = _number(node.right)
            if power is None or power != int(power) or not 1 <= power <= MAX_WILKINSON_POWER:
                raise EstimationError(
                    f"The {self.label}: the power of a formula term must be an integer from 1 to "
                    f"{MAX_WILKINSON_POWER} (the limit), e.g. (a + b)**2."
                )
            base = self.terms(node.left, depth + 1)
            result = base
            for _ in range(int(power) - 1):
                result = _limited(self.label, result + [a | b for a in result for b in base], len(result) * len(base))
            return _unique(result)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _WILKINSON_OPS):
            left, right = self.terms(node.left, depth + 1), self.terms(node.right, depth + 1)
            return _combine(self.label, node.op, left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd) and _number(node) in (0, 1, -1):
            return []
        if isinstance(node, ast.Constant) and type(node.value) is int and node.value in (0, 1):
            return []
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            raise self.fail(f"the bare number {node.value!r} (only 0 and 1, the intercept, stand alone; wrap "
                            "arithmetic in I(...))")
        if isinstance(node, ast.Name):
            return [frozenset({self.factor(node)})]
        if isinstance(node, ast.Call):
            self.call(node, depth, term_level=True)
            return [frozenset({self.factor(node)})]
        raise self.fail(_construct(node))

    def factor(self, node: ast.AST) -> str:
        key = ast.dump(node)
        self.factors.setdefault(key, node)
        if isinstance(node, ast.Name):
            self.column(node)
        return key

    def call(self, node: ast.Call, depth: int, term_level: bool) -> None:
        """A transform call: a known name, one expression argument, allow-listed keywords with bounded values."""
        if not isinstance(node.func, ast.Name):
            raise self.fail(_construct(node.func) if isinstance(node.func, ast.Attribute) else "calling an expression")
        name = node.func.id
        allowed = ARITHMETIC_FUNCTIONS + (TERM_TRANSFORMS if term_level else ())
        if name not in allowed:
            where = "" if term_level or name not in TERM_TRANSFORMS else " inside an expression"
            raise self.fail(f"the function {name!r}{where} (allowed: {', '.join(allowed)})")
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(kw.arg is None for kw in node.keywords):
            raise self.fail("'*'/'**' argument unpacking")
        if len(node.args) != 1:
            raise self.fail(f"{name}(...) with {len(node.args)} positional arguments (it takes exactly one)")
        self.expression(node.args[0], depth + 1)
        for argument in node.keywords:
            self.keyword(name, argument)

    def keyword(self, function: str, keyword: ast.keyword) -> None:
        if keyword.arg not in KEYWORDS.get(function, ()):
            options = ", ".join(KEYWORDS.get(function, ())) or "none"
            raise self.fail(f"the keyword {keyword.arg!r} of {function}(...) (allowed: {options})")
        value, key = keyword.value, keyword.arg
        if key == "constraints":
            if not (isinstance(value, ast.Constant) and value.value == "center"):
                raise self.fail(f"constraints= set to {_construct(value)} (only constraints='center')")
            return
        if key in ("include_intercept", "raw"):
            if not (isinstance(value, ast.Constant) and type(value.value) is bool):
                raise self.fail(f"{key}= other than True or False")
            return
        if key == "knots":
            self.knots(value)
            return
        number = _number(value)
        if number is None:
            raise self.fail(f"{key}={_construct(value)} (a number is expected)")
        if key in ("df", "degree"):
            self.bounded_int(function, key, number)

    def bounded_int(self, function: str, key: str, number: float) -> None:
        limit = MAX_SPLINE_DF if key == "df" else MAX_POLY_DEGREE
        if number != int(number) or not 1 <= number <= limit:
            raise EstimationError(
                f"The {self.label}: {function}(..., {key}={number:g}) is outside 1..{limit} (the limit on {key})."
            )

    def knots(self, value: ast.AST) -> None:
        if not isinstance(value, ast.List) or any(_number(item) is None for item in value.elts):
            raise self.fail("knots= other than a list of numbers, e.g. knots=[20, 40, 60]")
        if len(value.elts) > MAX_SPLINE_DF:
            raise EstimationError(f"The {self.label}: {len(value.elts)} knots exceed the limit of {MAX_SPLINE_DF}.")

    def expression(self, node: ast.AST, depth: int, pow_depth: int = 0) -> None:
        """Inside a call: arithmetic on columns and numbers, and the one-column functions."""
        self.depth(depth)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = _number(node.right)
            if exponent is None or abs(exponent) > MAX_ARITHMETIC_EXPONENT or pow_depth >= 2:
                raise EstimationError(
                    f"The {self.label}: exponents inside a call must be numbers between -{MAX_ARITHMETIC_EXPONENT} "
                    f"and {MAX_ARITHMETIC_EXPONENT} (the limit), nested at most twice, e.g. I(age**2)."
                )
            self.expression(node.left, depth + 1, pow_depth + 1)
            return
        if isinstance(node, ast.BinOp) and isinstance(node.op, _MATH_OPS):
            self.expression(node.left, depth + 1, pow_depth)
            self.expression(node.right, depth + 1, pow_depth)
            return
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            raise self.fail("the interaction ':' inside a call")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            self.expression(node.operand, depth + 1, pow_depth)
            return
        if _number(node) is not None:
            return
        if isinstance(node, ast.Name):
            self.column(node)
            return
        if isinstance(node, ast.Call):
            self.call(node, depth, term_level=False)
            return
        raise self.fail(_construct(node))


def _unique(terms: list[frozenset[str]]) -> list[frozenset[str]]:
    return list(dict.fromkeys(terms))


def _limited(label: str, terms: list[frozenset[str]], pairs: int) -> list[frozenset[str]]:
    """Stop an interaction expansion as soon as it would exceed the design-column limit."""
    if pairs > 20 * MAX_DESIGN_COLUMNS or len(set(terms)) > MAX_DESIGN_COLUMNS:
        raise EstimationError(
            f"The {label} expand to more than {MAX_DESIGN_COLUMNS} terms (the limit on design columns); "
            "use fewer interactions."
        )
    return terms


def _combine(label: str, op: ast.operator, left: list[frozenset[str]], right: list[frozenset[str]]) -> list:
    """Wilkinson algebra on term lists: + union, - removal, : products, * both, / nesting."""
    if isinstance(op, ast.Add):
        return _limited(label, _unique(left + right), len(left) + len(right))
    if isinstance(op, ast.Sub):
        return [term for term in left if term not in set(right)]
    products = _limited(label, [a | b for a in left for b in right], len(left) * len(right))
    if isinstance(op, ast.MatMult):
        return _unique(products)
    if isinstance(op, ast.Mult):
        return _limited(label, _unique(left + right + products), len(products))
    everything = frozenset().union(*left) if left else frozenset()
    return _limited(label, _unique(left + [everything | b for b in right]), len(left) + len(right))


def _parse(text: str, label: str, columns: Collection[str] | None) -> GatedFormula:
    if not isinstance(text, str):
        raise EstimationError(f"The {label} must be text, got {type(text).__name__}.")
    if len(text) > MAX_FORMULA_CHARS:
        raise EstimationError(
            f"The {label} are {len(text):,} characters long; the limit is {MAX_FORMULA_CHARS:,} characters."
        )
    if "~" in text:
        raise EstimationError(f"The {label} take only the right-hand side (no '~').")
    if ":=" in text.replace(" ", ""):
        raise _refuse(label, "the walrus operator ':='")
    source, quoted = _split_backticks(text, label)
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source):
        if keyword.iskeyword(word) and word not in ("True", "False"):
            raise _refuse(label, f"the Python keyword {word!r}")
        if "__" in word:
            raise _refuse(label, f"the dunder name {word!r}")
    if not source.strip():
        raise EstimationError(f"The {label} are empty.")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        detail = getattr(error, "msg", None) or str(error) or type(error).__name__
        raise EstimationError(f"The {label} are not a valid formula ({detail}).") from error
    checker = _Checker(label, quoted, columns)
    terms = checker.terms(tree.body)
    return GatedFormula(text=text, variables=checker.variables, terms=terms, factors=checker.factors, quoted=quoted)


def check_formula_syntax(text: str, label: str = "formula terms") -> GatedFormula:
    """The data-free part of the gate (project open): the language, the bounds, no column membership."""
    return _parse(text, label, None)


def gate_formula(text: str, label: str, columns: Collection[str]) -> GatedFormula:
    """The whole gate: the language, the bounds, and every name a column of ``columns`` (the adjustment set)."""
    return _parse(text, label, columns)


def _factor_columns(node: ast.AST, frame: Any, quoted: Mapping[str, str]) -> int:
    """How many model-matrix columns one factor can give at most (before materialising it)."""
    if isinstance(node, ast.Name):
        column = frame[quoted.get(node.id, node.id)]
        numeric = column.dtype.kind in "iuf" or column.dtype.kind == "b"
        return 1 if numeric else max(1, int(column.nunique()))
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return 1
    keywords = {kw.arg: kw.value for kw in node.keywords}
    name = node.func.id
    if name == "C":
        inner = node.args[0]
        return max(1, int(frame[quoted.get(inner.id, inner.id)].nunique())) if isinstance(inner, ast.Name) else len(frame)
    if name == "poly":
        return int(_number(keywords["degree"]) or 1) if "degree" in keywords else 1
    if name in SPLINES:
        if "df" in keywords:
            return int(_number(keywords["df"]) or 1)
        knots = keywords.get("knots")
        return (len(knots.elts) if isinstance(knots, ast.List) else 0) + 3
    return 1


def estimate_design_columns(gated: GatedFormula, frame: Any) -> int:
    """An upper estimate of the design columns (levels × interactions); refused above ``MAX_DESIGN_COLUMNS``."""
    sizes = {key: _factor_columns(node, frame, gated.quoted) for key, node in gated.factors.items()}
    total = 0
    for term in gated.terms:
        total += int(np.prod([sizes[key] for key in term])) if term else 0
        if total > MAX_DESIGN_COLUMNS:
            break
    return total


def check_design_size(gated: GatedFormula, frame: Any, label: str) -> None:
    """Refuse a formula whose expansion would exceed the design-column limit, before materialising it."""
    total = estimate_design_columns(gated, frame)
    if total > MAX_DESIGN_COLUMNS:
        raise EstimationError(
            f"The {label} would expand to more than {MAX_DESIGN_COLUMNS} design columns (the limit; category "
            "levels multiply in interactions). Use fewer levels or interactions."
        )


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_plain_identifier(name: str) -> bool:
    """True when a column name can be written bare in a formula (ASCII identifier, not a Python keyword)."""
    return bool(_IDENTIFIER.match(name)) and not keyword.iskeyword(name) and "__" not in name


def safe_namespace() -> dict[str, Any]:
    """The only names formulas may call: formulaic's own transforms plus numpy's one-column functions."""
    from formulaic.transforms import TRANSFORMS

    extra = {"log1p": np.log1p, "sqrt": np.sqrt, "abs": np.abs}
    allowed = set(ARITHMETIC_FUNCTIONS) | set(TERM_TRANSFORMS)
    return {name: value for name, value in {**TRANSFORMS, **extra}.items() if name in allowed}


def gated_materializer() -> type:
    """A pandas materializer whose evaluation layers are the data and ``safe_namespace()`` only.

    formulaic's default layers add ``np`` and its full TRANSFORMS table; here a name that is neither a column
    nor an allowed transform is simply not found (defence in depth behind the gate, which refuses it first).
    """
    global _MATERIALIZER
    if _MATERIALIZER is None:
        from formulaic.materializers import PandasMaterializer
        from formulaic.utils.layered_mapping import LayeredMapping

        class GatedPandasMaterializer(PandasMaterializer):
            REGISTER_NAME = "causal_workbench_gated_pandas"
            REGISTER_INPUTS = ()

            def __init__(self, data: Any, context: Mapping[str, Any] | None = None, **params: Any) -> None:
                super().__init__(data, context=None, **params)
                self.layered_context = LayeredMapping(
                    LayeredMapping(self.data_context, name="data"),
                    LayeredMapping(safe_namespace(), name="transforms"),
                )

        _MATERIALIZER = GatedPandasMaterializer
    return _MATERIALIZER


_MATERIALIZER: type | None = None
