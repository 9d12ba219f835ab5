"""The memo's "Robustness across N specifications" paragraph and the rubric check that a memo does not
overstate it. Both read the same summary figures, so the memo cannot say more than the curve measured.

Why a check: "the result is robust" is the sentence a stakeholder remembers. It may be written only when
the valid specifications agree (verdict 'robust'); "every specification" only when all of them do; and a
count of specifications that silently includes invalid or failed ones is pooling the damage as support.
"""

from __future__ import annotations

import re
from typing import Any

from causal_core.ai.rubric import check
from causal_core.multiverse.summary import invalid_by_design_count
from causal_core.project import MultiverseResult, Project, RubricCheck

CHECK_NAME = "robustness_not_overstated"
SECTION_KEY = "robustness"
SECTION_TITLE = "Robustness across specifications"

ROBUST_RE = re.compile(
    r"(?<!doubly )(?<!cluster-)(?<!cluster )\brobust(?:ly|ness)?\b(?!\s*(?:standard|SEs?\b|errors?|variance|values?\b|\())"
    r"|\bconsistent(?:ly)? across\b|\bregardless of\b|\binsensitive to\b|\bdoes not depend on\b|\bholds? across\b"
    r"|\bstable across\b|\bacross (?:all|every)\b|\ball (?:\d[\d,]* )?(?:valid )?specifications\b|\bevery specification\b",
    re.IGNORECASE,
)
UNIVERSAL_RE = re.compile(
    r"\bregardless of\b|\bacross (?:all|every)\b|\ball (?:\d[\d,]* )?(?:valid )?specifications\b|\bevery specification\b"
    r"|\bwithout exception\b|\binsensitive to\b|\bdoes not depend on\b",
    re.IGNORECASE,
)
SIGNIFICANCE_RE = re.compile(r"significan\w*|exclud\w* zero|interval", re.IGNORECASE)
NEGATED_RE = re.compile(
    r"\b(not|no|never|isn't|aren't|fragile|less|mostly|partly|partially|only|un)\b[\w\s,-]{0,25}$", re.IGNORECASE
)
SENSITIVITY_RE = re.compile(r"confound|sensitiv|E-value|\bRV\b|sensemakr", re.IGNORECASE)
SPEC_RE = re.compile(r"specification|analysis choice|analytic choice|multiverse", re.IGNORECASE)
COUNT_RE = re.compile(r"(?<![\d.,])(\d[\d,]*)(?![\d.,%]|\s*%)")


def stale_reason(project: Project) -> str:
    """Why the stored curve no longer matches the latest estimation ('' when it does, or cannot be compared).

    The curve's main specification is the analyst's: if the estimation was re-run with another set, estimand
    or trimming, or its main estimate moved, the curve describes an analysis the memo no longer reports."""
    result, estimation = project.multiverse, project.estimation
    if result is None or estimation is None or not estimation.estimates:
        return ""
    main = next((row for row in result.rows if row.is_main), None)
    if main is None:
        return ""
    spec = estimation.spec
    if any("The analyst's set is invalid and left out" in note for note in result.notes) and not any(
        set(row.covariates) == set(spec.covariates) for row in result.rows
    ):
        return ""  # not stale: the curve left the analyst's invalid set out on purpose (its paragraph says so)
    same_spec = (
        set(main.covariates) == set(spec.covariates)
        and main.choices.get("estimand") == spec.estimand
        and main.choices.get("trimming") == (spec.trim or "none")
    )
    if not same_spec:
        return "the curve was computed for another main specification than the latest estimation; re-run it"
    lead = next((r for r in estimation.estimates if r.method == main.choices.get("estimator")), None)
    if (
        lead is not None
        and main.estimate is not None
        and abs(lead.estimate - main.estimate) > 1e-9 * (1 + abs(lead.estimate))
    ):
        return "the curve's main estimate differs from the latest estimation's; re-run the curve"
    from causal_core.staleness import INPUT_LABELS, stale

    changed = stale(project, "multiverse")
    if changed is not None:  # its recorded inputs (DAG, dictionary, dedup, …, the estimation spec) moved on
        return (f"the curve was computed before {', '.join(INPUT_LABELS[name] for name in changed.changed)} changed; "
                "re-run it")
    return ""


def robustness_text(result: MultiverseResult | None, project: Project | None = None) -> str:
    """The deterministic memo's paragraph: the curve's own sentences (the same numbers the page shows)."""
    if result is None:
        return "No specification curve yet (Specification curve page)."
    stale = stale_reason(project) if project is not None else ""
    sentences = [f"Out of date: {stale}."] if stale else []
    sentences += list(result.summary.get("sentences", []))
    sentences += [note for note in result.notes if note.startswith("The analyst's set is invalid")]
    if result.cancelled:
        sentences.append("The run was stopped before every specification was estimated.")
    return " ".join(sentences) or "The specification curve produced no estimate."


def memo_inputs(result: MultiverseResult | None, project: Project | None = None) -> dict[str, Any]:
    """What the AI memo may say about robustness, pre-formatted so it copies rather than computes."""
    if result is None:
        return {"specification_curve": "not run: make no claim about robustness across specifications"}
    valid = result.summary.get("valid") or {}
    return {
        "specification_curve": robustness_text(result, project),
        "robustness_verdict": valid.get("verdict", "no valid specification"),
        "robustness_rule": "write 'robust' only if the verdict is 'robust'; 'every/all specifications' only if 100%",
    }


def figures(result: MultiverseResult | None) -> tuple[list[float], list[float]]:
    """(counts, shares and effects) a memo may quote about the curve, for the memo's numbers check."""
    if result is None:
        return [], []
    summary = result.summary
    counts = [
        float(summary.get(key, 0))
        for key in ("n_specifications", "n_valid_estimated", "n_invalid_estimated", "n_failed", "n_stopped")
    ]
    by_design = invalid_by_design_count(result)
    counts += [float(by_design), float((summary.get("invalid") or {}).get("n", 0)) - by_design]
    values: list[float] = []
    for pool in (summary.get("valid"), summary.get("invalid"), summary.get("main")):
        if pool:
            values += [float(v) for v in pool.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    values += [float(item["share"]) for item in summary.get("decomposition", [])]
    values += [float(v) for item in summary.get("decomposition", []) for v in item["group_means"].values()]
    values += [float(item["median"]) for item in summary.get("invalid_sets", [])]
    return counts, values


def _claims(text: str) -> list[str]:
    """Sentences that claim robustness across choices. 'not robust', 'mostly robust' and 'fragile' are honest,
    not claims; robustness to unmeasured confounding is the sensitivity section's business, not the curve's."""
    found = []
    for sentence in re.split(r"(?<=[.!?;])\s+|\n+", text or ""):
        match = ROBUST_RE.search(sentence)
        if match and not NEGATED_RE.search(sentence[: match.start()]) and not SENSITIVITY_RE.search(sentence):
            found.append(sentence.strip())
    return found


def _overstatements(sentence: str, summary: dict[str, Any]) -> list[str]:
    valid = summary.get("valid") or {}
    problems = []
    if not valid:
        return ["claims robustness, but no valid specification was estimated"]
    if valid.get("verdict") != "robust" and not UNIVERSAL_RE.search(sentence):
        problems.append(f"claims robustness, but the curve's verdict is '{valid.get('verdict')}'")
    if UNIVERSAL_RE.search(sentence):
        if valid.get("share_same_sign", 0) < 1:
            problems.append(
                f"claims every specification agrees, but only {valid['share_same_sign']:.0%} share the sign"
            )
        if SIGNIFICANCE_RE.search(sentence) and valid.get("share_ci_excludes_zero", 0) < 1:
            problems.append(f"claims every interval excludes zero, but only {valid['share_ci_excludes_zero']:.0%} do")
    pooled = {int(summary.get("n_specifications", 0))} - {int(valid.get("n", -1))}
    quoted = {int(m.group(1).replace(",", "")) for m in COUNT_RE.finditer(sentence)}
    if pooled & quoted:
        problems.append(
            f"counts all {summary['n_specifications']} specifications as support, but only {valid['n']} are valid "
            "and estimated (invalid and failed ones are never pooled)"
        )
    return problems


PERCENT_RE = re.compile(r"(?<![-−+\d.])(\d+(?:\.\d+)?)\s?%\s+(?:of|share|have|are|agree)\b")  # a share, not an effect


def _curve_shares(summary: dict[str, Any]) -> list[float]:
    """Every share the curve reports (pool shares and the decomposition), as fractions."""
    shares = []
    for pool in (summary.get("valid"), summary.get("invalid")):
        shares += [float(v) for k, v in (pool or {}).items() if k.startswith("share") and isinstance(v, float)]
    shares += [float(item["share"]) for item in summary.get("decomposition", [])]
    return shares


def _misquoted_shares(text: str, summary: dict[str, Any]) -> list[str]:
    """Percentages in sentences about specifications that match none of the curve's shares (e.g. '95 % of
    specifications agree' when 70 % do): the numbers check alone lets 95 % through as a generic CI level."""
    shares = _curve_shares(summary)
    problems = []
    for sentence in re.split(r"(?<=[.!?;])\s+|\n+", text or ""):
        if not SPEC_RE.search(sentence):
            continue
        for match in PERCENT_RE.finditer(sentence):
            value = float(match.group(1))
            decimals = len(match.group(1).split(".")[1]) if "." in match.group(1) else 0
            tolerance = 0.5 * 10**-decimals + 1e-9
            if not any(abs(value - 100 * share) <= tolerance for share in shares):
                problems.append(
                    f"quotes {match.group(1)}% about the specifications, which is none of the curve's shares"
                )
    return problems


def check_memo(sections: dict[str, str], result: MultiverseResult | None) -> RubricCheck | None:
    """The rubric line for robustness claims; None when there is no curve and the memo claims nothing about one."""
    text = "\n".join(str(value or "") for value in sections.values())
    claims = _claims(text)
    if result is None:
        about_specs = [c for c in claims if SPEC_RE.search(c)]
        if not about_specs:
            return None
        return check(
            CHECK_NAME, False, f"claims robustness across specifications, but no curve was run: '{about_specs[0]}'"
        )
    problems = [problem for claim in claims for problem in _overstatements(claim, result.summary)]
    problems += _misquoted_shares(text, result.summary)
    if problems:
        return check(CHECK_NAME, False, "; ".join(dict.fromkeys(problems)))
    verdict = (result.summary.get("valid") or {}).get("verdict", "no valid specification")
    if claims:
        return check(CHECK_NAME, True, f"robustness claims agree with the curve (verdict '{verdict}')")
    return check(CHECK_NAME, True, f"no robustness claim beyond the curve (verdict '{verdict}')")
