"""From checks to a verdict: each check is a statistic with a 95 % interval and two thresholds.

A check is high (or medium) when its statistic reaches the high (medium) threshold and its
interval excludes the no-risk value; when it stays below the medium threshold but its interval
reaches it, it has too little power to rule the medium band out: inconclusive. An attack that
failed is inconclusive too. The verdict is the worst band: high, then medium, then
inconclusive, then low. Each band other than low comes with a sentence that quotes counts,
rates and column names only, never a real value. A check carries its fired rule as a template
id and the figures it quotes; the sentence is written from them only when shown, and the
release report decides from them what may travel (see release.py).
"""

from __future__ import annotations

import dataclasses
import re
import string
from dataclasses import asdict, dataclass
from typing import Any

from tabsynth import formatting

BANDS = ("low", "inconclusive", "medium", "high")

TEMPLATES = {
    "near_copy": "{count} synthetic rows ({rate}) are closer to a real training row than "
                 "{keep} of real holdout rows are: expected {expected}; the excess of {excess} "
                 "reaches the {band} threshold of {threshold}",
    # the rates as every surface writes exact copies (formatting.exact_copies)
    "exact_copy": "{count} synthetic rows are exact copies of a real training row: "
                  + formatting.EXACT_COPIES + "; the excess reaches the {band} threshold of "
                  "{threshold}",
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
    # how the release report words three of them: no count, no fine rate and no figure of the
    # holdout's own (real rows against real rows), which the release's fields carry rounded
    "near_copy_release": "synthetic rows lie closer to real training rows than real holdout "
                         "rows do, more often than expected; the excess reaches the {band} "
                         "threshold of {threshold}",
    "exact_copy_release": "synthetic rows are exact copies of real training rows more often "
                          "than real holdout rows are; the excess reaches the {band} threshold "
                          "of {threshold}",
    "mia_tpr_release": "membership inference (density ratio) flags more training rows than "
                       "holdout rows at a false-positive rate of {fpr}; the excess reaches the "
                       "{band} threshold of {threshold}",
    "power": "{check}: {value} with a 95 % CI up to {high}: too little power to rule out the "
             "medium threshold of {threshold} (inconclusive)",
    "failed": "{check} could not run ({error}): inconclusive",
}
FIGURE_KINDS = ("count", "percent", "score", "text")


@dataclass(frozen=True)
class Figure:
    """One figure a sentence quotes: its value and how it is written (a count with separators,
    a rate as a percentage, a score with fixed decimals, or a name as text)."""

    value: float | int | str
    kind: str

    def written(self, score_digits: int = formatting.AGGREGATE_DIGITS) -> str:
        """The figure as a sentence quotes it (tabsynth.formatting's rule)."""
        if self.kind == "count":
            return formatting.count(self.value)
        if self.kind == "percent":
            return formatting.percent(self.value)
        if self.kind == "score":
            return formatting.score(self.value, score_digits)
        return str(self.value)


@dataclass(frozen=True)
class FiredRule:
    """Why a check is not low: the id of its sentence in TEMPLATES and the figures it quotes
    (the sentence itself is written only when shown)."""

    template: str
    figures: dict[str, Figure]

    def sentence(self, omit: tuple[str, ...] = (),
                 score_digits: int = formatting.AGGREGATE_DIGITS) -> str:
        """The sentence; `omit`: figures left out together with the space after them."""
        text = TEMPLATES[self.template]
        for name in omit:  # "{n} attacks" goes with its clause, "{count} rows" leaves "rows"
            text = re.sub(r", \{" + name + r"\} \w+|\{" + name + r"\} ", "", text)
        text = text.format(**{name: figure.written(score_digits)
                              for name, figure in self.figures.items() if name not in omit})
        return _one_row(text)

    def to_dict(self) -> dict[str, Any]:
        return {"template": self.template,
                "figures": {name: asdict(figure) for name, figure in self.figures.items()}}

    @classmethod
    def of_check(cls, check: Any) -> FiredRule | None:
        """The fired rule of a check as report.json holds it (its template id and figures);
        None when the check is low, or the rule is not a known template with exactly its
        figures, each of a known kind."""
        if not isinstance(check, dict) or check.get("band") in (None, "low"):
            return None
        template, figures = check.get("template"), check.get("figures")
        if (not isinstance(template, str) or template not in TEMPLATES
                or not isinstance(figures, dict)
                or set(figures) != fields(template)
                or not all(isinstance(f, dict) and f.get("kind") in FIGURE_KINDS
                           for f in figures.values())):
            return None
        return cls(template, {name: Figure(f.get("value"), f["kind"])
                              for name, f in figures.items()})


def fields(template: str) -> set[str]:
    """The names of the figures a template quotes."""
    return {name for _, name, _, _ in string.Formatter().parse(TEMPLATES[template]) if name}


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
    fired: FiredRule | None = None  # why the band is not low
    error: str | None = None

    @property
    def reason(self) -> str | None:
        """The fired rule's sentence, as shown in the review."""
        return None if self.fired is None else self.fired.sentence()

    def figure(self, value: float) -> Figure:
        """A value of this check's statistic, as its sentences quote it."""
        return Figure(value, "percent" if self.percent else "score")

    def to_dict(self) -> dict[str, Any]:
        """report.json's check: its fields, its sentence (reason), and the fired rule's
        template id and figures (None when low)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name != "fired"}
        fired = self.fired.to_dict() if self.fired else {"template": None, "figures": None}
        return {**out, "reason": self.reason, **fired}


def classify(check: Check, template: str | None = None,
             figures: dict[str, Figure] | None = None) -> Check:
    """Set the check's band and, when it is not low, its fired rule (template: the id of the
    sentence when the band is medium or high, figures: the figures it quotes besides {band}
    and {threshold})."""
    if check.error is not None or check.value is None or check.ci is None:
        check.band = "inconclusive"
        check.fired = FiredRule("failed", {"check": Figure(check.label, "text"),
                                           "error": Figure(check.error or "no result", "text")})
        return check
    significant = check.ci[0] > check.null
    if significant and check.value >= check.high:
        check.band, threshold = "high", check.high
    elif significant and check.value >= check.medium:
        check.band, threshold = "medium", check.medium
    elif check.ci[1] >= check.medium:
        check.band = "inconclusive"
        check.fired = FiredRule("power", {"check": Figure(check.label, "text"),
                                          "value": check.figure(check.value),
                                          "high": check.figure(check.ci[1]),
                                          "threshold": check.figure(check.medium)})
        return check
    else:
        check.band = "low"
        return check
    if template is not None:
        check.fired = FiredRule(template, {**(figures or {}),
                                           "band": Figure(check.band, "text"),
                                           "threshold": check.figure(threshold)})
    return check


def fired_rules(checks: list[Check]) -> list[FiredRule]:
    """The fired rules of the checks that are not low, worst band first."""
    return [c.fired for band in reversed(BANDS) if band != "low" for c in checks
            if c.band == band and c.fired is not None]


def verdict(checks: list[Check]) -> tuple[str, list[str]]:
    """The worst band and the sentences of the checks that are not low, worst first."""
    if not checks:
        return "low", []
    worst = max(checks, key=lambda c: BANDS.index(c.band)).band
    return worst, [rule.sentence() for rule in fired_rules(checks)]


_ONE_ROW = re.compile(r"(^|[^\d,.])1 (synthetic|training|real|holdout) rows( \([^)]*\))?( are)?\b")


def _one_row(text: str) -> str:
    """"1 synthetic row (0.03 %) is", not "1 synthetic rows (0.03 %) are"."""
    return _ONE_ROW.sub(lambda m: f"{m[1]}1 {m[2]} row{m[3] or ''}{' is' if m[4] else ''}",
                        text).replace(" row is exact copies of", " row is an exact copy of")
