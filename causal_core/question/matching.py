"""Matching card text to data columns: token overlap weighted by rarity, plus dictionary text."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from causal_core.project import (
    Project,
    Timing,
)

# ---------------------------------------------------------------------------------------------
# Matching card text to data columns (token overlap weighted by rarity, plus dictionary text)
# ---------------------------------------------------------------------------------------------
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "on",
        "in",
        "for",
        "to",
        "and",
        "or",
        "by",
        "with",
        "during",
        "within",
        "after",
        "before",
        "is",
        "was",
        "are",
        "were",
        "be",
        "been",
        "being",
        "that",
        "this",
        "these",
        "those",
        "at",
        "from",
        "per",
        "each",
        "whether",
        "not",
        "no",
        "its",
        "their",
        "as",
        "any",
        "all",
        "who",
        "which",
        "same",
        "than",
        "over",
        "under",
        "into",
        "if",
        "it",
        "they",
        "them",
        "there",
        "we",
        "our",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "can",
        "could",
        "may",
        "might",
        "would",
        "should",
        "will",
        "vs",
        "versus",
        "via",
        "how",
        "many",
        "much",
        "what",
    ]  # noqa: SIM905
)
_GENERIC = frozenset({"id", "identifier", "key", "idx"})
# Temporal anchors ("before outreach", "post-rollout") say *when*, not *what*: they are removed
# before matching so "usage before outreach" is about usage, not outreach.
_ANCHOR = re.compile(
    r"\b(?:before|after|prior to|following|post|pre|during|since|until|ahead of)[\s\-]+(?:the\s+|a\s+|an\s+)?[a-z0-9]+"
)


def _stem(word: str) -> str:
    for suffixes in (("ly",), ("ments", "ment"), ("ings", "ing", "ed", "es", "s"), ("e",)):
        for suffix in suffixes:
            if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
    return word


def tokens(text: str, *, strip_anchors: bool = True) -> set[str]:
    """Content tokens of a phrase: lower-cased, stop words dropped, lightly stemmed."""
    lowered = str(text or "").lower()
    if strip_anchors:
        lowered = _ANCHOR.sub(" ", lowered)
    return {_stem(word) for word in re.findall(r"[a-z0-9]+", lowered) if word not in _STOP}


@dataclass(frozen=True)
class Variable:
    """One candidate column: data column and/or dictionary entry."""

    name: str
    description: str = ""
    timing: Timing = Timing.unknown
    simulation_truth: bool = False
    in_data: bool = True
    name_tokens: frozenset[str] = frozenset()
    desc_tokens: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    variable: Variable
    score: float
    exact: bool


def _column_names(project: Project, frame: Any) -> list[str]:
    if frame is not None:
        return [str(column) for column in frame.columns]
    if project.data_source is not None:
        return list(project.data_source.columns)
    return []


def _name_pattern(name: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in re.split(r"[_\W]+", name.lower()) if part]
    return re.compile(r"(?<![a-z0-9])" + r"[\s_\-]*".join(parts) + r"(?![a-z0-9])")


@dataclass
class CardContext:
    """The project facts every check needs: candidate variables and how rare each token is."""

    variables: list[Variable]
    treatment_tokens: set[str] = field(default_factory=set)
    idf: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, project: Project, frame: Any = None) -> CardContext:
        columns = _column_names(project, frame)
        entries = {entry.variable: entry for entry in project.dictionary}
        variables = []
        for name in dict.fromkeys([*columns, *entries]):
            entry = entries.get(name)
            name_tokens = tokens(name.replace("_", " "), strip_anchors=False) - _GENERIC
            variables.append(
                Variable(
                    name=name,
                    description=entry.description if entry else "",
                    timing=entry.timing if entry else Timing.unknown,
                    simulation_truth=bool(entry and entry.simulation_truth),
                    in_data=name in columns,
                    name_tokens=frozenset(name_tokens or tokens(name.replace("_", " "), strip_anchors=False)),
                    desc_tokens=frozenset(tokens(entry.description) if entry else ()),
                )
            )
        document_frequency: dict[str, int] = {}
        for variable in variables:
            for token in variable.name_tokens | variable.desc_tokens:
                document_frequency[token] = document_frequency.get(token, 0) + 1
        count = max(len(variables), 1)
        idf = {token: math.log(1 + count / df) for token, df in document_frequency.items()}
        treatment_tokens = {"treatment", "intervention", "rollout", "enablement", "enabl", "launch", "exposure"}
        if project.treatment:
            treatment_tokens |= tokens(project.treatment.replace("_", " "), strip_anchors=False)
        return cls(variables=variables, treatment_tokens=treatment_tokens, idf=idf)

    def weight(self, token: str) -> float:
        return self.idf.get(token, math.log(1 + max(len(self.variables), 1)))

    def matches(self, text: str, *, include_truth: bool = False) -> list[Match]:
        """Variables the phrase names, best first; a match needs the column name or clear overlap."""
        text_tokens = tokens(text)
        stripped = _ANCHOR.sub(" ", str(text or "").lower())
        if not text_tokens:
            return []
        text_weight = sum(self.weight(t) for t in text_tokens)
        found = []
        for variable in self.variables:
            if variable.simulation_truth and not include_truth:
                continue
            exact = bool(_name_pattern(variable.name).search(stripped))
            name_weight = sum(self.weight(t) for t in variable.name_tokens) or 1.0
            name_cov = sum(self.weight(t) for t in variable.name_tokens & text_tokens) / name_weight
            text_cov = (
                sum(self.weight(t) for t in text_tokens & (variable.name_tokens | variable.desc_tokens)) / text_weight
            )
            subset = text_tokens <= variable.name_tokens
            if exact or subset or (name_cov >= 0.999 and text_cov >= 0.3) or (name_cov >= 0.5 and text_cov >= 0.5) \
                    or self._described(variable, text_tokens, text_cov):
                found.append(Match(variable, name_cov + text_cov + (1.0 if exact else 0.0), exact))
        return sorted(found, key=lambda m: m.score, reverse=True)

    def _described(self, variable: Variable, text_tokens: set[str], text_cov: float) -> bool:
        """The phrase paraphrases the dictionary's description ("contacted proactively by customer success in the
        intervention month" is ``outreach``): most of the description's weight and of the phrase's is shared."""
        if not variable.desc_tokens:
            return False
        desc_weight = sum(self.weight(t) for t in variable.desc_tokens) or 1.0
        desc_cov = sum(self.weight(t) for t in variable.desc_tokens & text_tokens) / desc_weight
        return desc_cov >= 0.5 and text_cov >= 0.5

    def best(self, text: str) -> Variable | None:
        found = self.matches(text)
        return found[0].variable if found else None

    def names_post_treatment(self, text: str) -> bool:
        """Does the phrase describe post-treatment measurements ("post-outreach usage", "after rollout")?"""
        lowered = str(text or "").lower()
        for anchor in re.finditer(r"\b(post|after|following)[\s\-]+(?:the\s+)?([a-z0-9]+)", lowered):
            if _stem(anchor.group(2)) in self.treatment_tokens or anchor.group(2) in self.treatment_tokens:
                return True
        return bool(re.search(r"\bpost[\s\-]?treatment\b|\bmediators?\b", lowered))

    def post_treatment_variables(self) -> list[str]:
        return [v.name for v in self.variables if v.timing == Timing.post_treatment and not v.simulation_truth]
