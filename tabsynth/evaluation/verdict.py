"""From checks to a verdict: each check is a statistic with a 95 % interval and two thresholds.

A check is high (or medium) when its statistic reaches the high (medium) threshold and its
interval excludes the no-risk value; when it stays below the medium threshold but its interval
reaches it, it has too little power to rule the medium band out: inconclusive. An attack that
failed is inconclusive too. The verdict is the worst band: high, then medium, then
inconclusive, then low. Each band other than low comes with a sentence that quotes counts,
rates and column names only, never a real value; the release report keeps exactly the
sentences built from TEMPLATES (see release.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from tabsynth import formatting

BANDS = ("low", "inconclusive", "medium", "high")
VERDICTS = BANDS

TEMPLATES = {
    "near_copy": "{count} synthetic rows ({rate}) are closer to a real training row than "
                 "{keep} of real holdout rows are: expected {expected}; the excess of {excess} "
                 "reaches the {band} threshold of {threshold}",
    "exact_copy": "{count} synthetic rows ({rate}) are exact copies of a real training row, "
                  "real holdout rows {reference}; the excess of {excess} reaches the {band} "
                  "threshold of {threshold}",
    "dcr_share": "{share} of synthetic rows are closer to the training rows than to as many "
                 "holdout rows (expected 50 %); this reaches the {band} threshold of "
                 "{threshold}",
    "mia_auc": "membership inference (density ratio) tells training rows from holdout rows "
               "with AUC {auc} (0.5 is chance); this reaches the {band} threshold of "
               "{threshold}",
    "mia_tpr": "membership inference (density ratio) flags {count} training rows ({tpr}) at a "
               "false-positive rate of {fpr}; the excess of {excess} reaches the {band} "
               "threshold of {threshold}",
    "attack": "{attack} risk {risk} (95 % CI {low} to {high}, {n} attacks) reaches the "
              "{band} threshold of {threshold}",
    "power": "{check}: {value} with a 95 % CI up to {high}: too little power to rule out the "
             "medium threshold of {threshold} (inconclusive)",
    "failed": "{check} could not run ({error}): inconclusive",
}
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?: %)?")
_ERROR = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception|Interrupt)\b")


def skeleton(sentence: str, names: list[str]) -> str:
    """A sentence with its numbers, error names and leading check name (one of `names`; the
    templates put a check's name first) blanked: equal skeletons mean the same template."""
    for name in sorted(names, key=len, reverse=True):
        if name and sentence.startswith(name):
            sentence = "<name>" + sentence[len(name):]
            break
    return _NUMBER.sub("#", _ERROR.sub("<error>", sentence))


def template_skeletons() -> set[str]:
    """The skeleton of every sentence the templates can produce."""
    out = set()
    for text in TEMPLATES.values():
        fields = set(re.findall(r"{(\w+)}", text))
        for band in ("medium", "high"):
            values = {name: "#" for name in fields}
            values.update({k: v for k, v in (("attack", "<name>"), ("check", "<name>"),
                                              ("error", "<error>"), ("band", band))
                           if k in fields})
            out.add(skeleton(text.format(**values), []))
    return out


@dataclass
class Check:
    """One rule applied: a statistic, its interval, the no-risk value and the thresholds."""

    rule: str
    label: str
    value: float | None
    ci: list[float] | None
    null: float
    medium: float
    high: float
    kind: str  # "attack" or "overfitting"
    percent: bool = False  # thresholds and values read as percentages
    band: str = "low"
    reason: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def classify(check: Check, sentence: str | None = None) -> Check:
    """Set the check's band and its sentence (sentence: the fired-rule text, with {band} and
    {threshold} left to fill)."""
    if check.error is not None or check.value is None or check.ci is None:
        check.band = "inconclusive"
        check.reason = TEMPLATES["failed"].format(check=check.label,
                                                  error=check.error or "no result")
        return check
    significant = check.ci[0] > check.null
    if significant and check.value >= check.high:
        check.band, threshold = "high", check.high
    elif significant and check.value >= check.medium:
        check.band, threshold = "medium", check.medium
    elif check.ci[1] >= check.medium:
        check.band = "inconclusive"
        check.reason = TEMPLATES["power"].format(
            check=check.label, value=figure(check.value, check.percent),
            high=figure(check.ci[1], check.percent),
            threshold=figure(check.medium, check.percent))
        return check
    else:
        check.band = "low"
        return check
    if sentence is not None:
        check.reason = sentence.format(band=check.band,
                                       threshold=figure(threshold, check.percent))
    return check


def figure(value: float, percent: bool) -> str:
    return formatting.percent(value) if percent else formatting.score(value)


def verdict(checks: list[Check]) -> tuple[str, list[str]]:
    """The worst band and the sentences of the checks that are not low, worst first."""
    if not checks:
        return "low", []
    worst = max(checks, key=lambda c: BANDS.index(c.band)).band
    reasons = [c.reason for band in reversed(BANDS) for c in checks
               if c.band == band and band != "low" and c.reason]
    return worst, reasons
