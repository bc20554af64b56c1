"""What a privacy verdict means and what to do next: one sentence each, for every surface.

Built from report.json's privacy section: which checks are not low and in which band, the
attacker's columns (roles) and whether the run has a DP claim. The sentences name checks,
attacks and columns only, never a figure of the data, so the release report may carry them
(release.py passes the names that may travel). Inconclusive names the checks that had too
little data and how to get more; medium and high name the checks and the columns that drove
them and what would lower them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tabsynth import formatting
from tabsynth.evaluation.privacy import LABELS

# a check's plain name, by its rule id; attacks are named by their label ("linkability",
# "inference of diagnosis", "singling out (univariate)")
PLAIN_NAMES = {"near_copy_05": "near copies", "near_copy_01": "near copies",
               "exact_copy": "exact copies", "dcr_share": "the DCR share",
               "mia_auc": "membership inference", "mia_tpr": "membership inference"}
MEMORISING = ("make the model memorise less (fewer epochs, or a run with differential "
              "privacy)")
MEMORISING_DP = "make the model memorise less (fewer epochs, or a smaller ε)"
RARE_VALUES = "group rare categories and cap extreme values"
SIGN_OFF_REASON = "to release it as it is, say why when you sign off"
LOW = ("Every check stayed below its medium threshold with enough data to rule it out: the "
       "attacks run here gained no clear advantage from the synthetic rows, and no sign of "
       "copied rows was found.")
LOW_NEXT = ("You may sign off: low is evidence against these attacks, not a finding that the "
            "data is anonymous.")
NOT_EVALUATED = "The privacy of this table was not evaluated: the run skipped the checks."
NOT_EVALUATED_NEXT = f"Run again with the checks before releasing it; {SIGN_OFF_REASON}."
NOTHING_LEARNED = ("Nothing was learned from the real rows: every column was made up from "
                   "scratch.")
NOTHING_LEARNED_NEXT = "No synthetic value derives from a real one: you may sign off."
OTHER_CHECK = "another check"  # a check whose name may not travel (release)


@dataclass(frozen=True)
class Driver:
    """A check that is not low, in plain words: its name, band, and the columns it used."""

    name: str
    band: str
    kind: str  # "memorising" (copies, distances, membership), "attack" or "rare" (singling out)
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerdictSummary:
    """The verdict, what it means and what to do next (one sentence each)."""

    verdict: str | None
    meaning: str
    next_step: str

    @property
    def text(self) -> str:
        return f"{self.meaning} {self.next_step}"

    def to_dict(self) -> dict[str, str]:
        return {"meaning": self.meaning, "next_step": self.next_step}


def summarise(privacy: dict[str, Any], holdout_fraction: float | None = None,
              names: set[str] | None = None) -> VerdictSummary:
    """The summary of report.json's privacy section. `holdout_fraction`: the share of rows kept
    back (named in the advice for more power); `names`: the check and attack names that may
    be quoted (None: all; the release passes its own), any other is "another check"."""
    verdict = privacy.get("verdict")
    if privacy.get("not_applicable"):
        return VerdictSummary(verdict, NOTHING_LEARNED, NOTHING_LEARNED_NEXT)
    if verdict not in ("low", "inconclusive", "medium", "high"):
        return VerdictSummary(None, NOT_EVALUATED, NOT_EVALUATED_NEXT)
    drivers = _drivers(privacy, names)
    dp = bool(privacy.get("dp"))
    if verdict == "low":
        return VerdictSummary(verdict, LOW, LOW_NEXT)
    if verdict == "inconclusive":
        return _inconclusive(drivers, dp, holdout_fraction)
    return _risky(verdict, [d for d in drivers if d.band == verdict], dp)


def _inconclusive(drivers: list[Driver], dp: bool,
                  holdout_fraction: float | None) -> VerdictSummary:
    weak = _names(d.name for d in drivers if d.kind != "failed")
    failed = _names(d.name for d in drivers if d.kind == "failed")
    if weak:
        meaning = (f"No check reached its medium threshold, but {_join(weak)} had too little "
                   "data to rule it out" + (f", and {_join(failed)} could not run" if failed
                                            else "") + ".")
    else:
        meaning = (f"No check reached its medium threshold, but {_join(failed) or 'a check'} "
                   "could not run, so medium cannot be ruled out.")
    if not weak:
        return VerdictSummary("inconclusive", meaning,
                              "Run again (the internal review names the error of each check "
                              f"that failed); {SIGN_OFF_REASON}.")
    kept = (f" (now {formatting.percent(holdout_fraction)} of the rows)"
            if isinstance(holdout_fraction, int | float) and 0 < holdout_fraction < 1 else "")
    more = f"a larger holdout share{kept}"
    next_step = ("To settle it, give the checks more data: "
                 + (f"{more} or more rows; the differential-privacy guarantee holds either way"
                    if dp else f"{more}, more rows, or a run with differential privacy, whose "
                    "guarantee does not rest on these checks")
                 + ("; run again for the checks that could not run" if failed else "") + ".")
    return VerdictSummary("inconclusive", meaning, next_step)


def _risky(verdict: str, drivers: list[Driver], dp: bool) -> VerdictSummary:
    named = _names(_described(d) for d in drivers) or ["a check"]
    exposed = "can be" if verdict == "high" else "may be"
    meaning = (f"{_capital(_join(named))} reached the {verdict} threshold: people in the "
               f"training data {exposed} recognised or exposed through the synthetic rows.")
    remedies = []
    if any(d.kind == "memorising" for d in drivers):
        remedies.append(MEMORISING_DP if dp else MEMORISING)
    columns = _names(c for d in drivers if d.kind == "attack" for c in d.columns)
    if columns:
        remedies.append(f"coarsen or leave out {_join(columns)} (bands, fewer categories)")
    if any(d.kind == "rare" for d in drivers):
        remedies.append(RARE_VALUES)
    remedy = _join(remedies) if remedies else "look at the checks below"
    if verdict == "high":
        return VerdictSummary(verdict, meaning,
                              f"Do not release this table: {remedy}, then run again.")
    return VerdictSummary(verdict, meaning,
                          f"Before releasing, {remedy}, then run again; {SIGN_OFF_REASON}.")


def _drivers(privacy: dict[str, Any], names: set[str] | None) -> list[Driver]:
    """The checks that are not low, worst band first, in plain words."""
    by_label = {label: rule for rule, label in LABELS.items()}
    roles = privacy.get("roles") if isinstance(privacy.get("roles"), dict) else {}
    known = [c for c in roles.get("quasi_identifiers") or [] if isinstance(c, str)]
    found = []
    for check in privacy.get("checks") or []:
        if not isinstance(check, dict) or check.get("band") in (None, "low"):
            continue
        label, band = check.get("label"), check["band"]
        rule = check.get("rule") or by_label.get(label)
        if not isinstance(label, str) or (names is not None and label not in names):
            found.append(Driver(OTHER_CHECK, band, "other"))
        elif check.get("error") or check.get("value") is None:
            found.append(Driver(label, band, "failed"))
        elif rule in PLAIN_NAMES:
            found.append(Driver(PLAIN_NAMES[rule], band, "memorising"))
        elif label.startswith("singling out"):
            found.append(Driver("singling out", band, "rare"))
        elif label.startswith("inference of "):
            secret = label.removeprefix("inference of ")
            found.append(Driver(label, band, "attack",
                                (secret, *[c for c in known if c != secret])))
        elif label.startswith("linkability"):
            found.append(Driver("linkability", band, "attack", tuple(known)))
        else:
            found.append(Driver(label, band, "other"))
    order = ("high", "medium", "inconclusive")
    return sorted(found, key=lambda d: (order.index(d.band) if d.band in order else len(order),
                                        d.name == OTHER_CHECK))  # "another check" named last


def _described(driver: Driver) -> str:
    """A driver's name with the columns an attack used."""
    if driver.kind != "attack" or not driver.columns:
        return driver.name
    if driver.name == "linkability":
        return f"linkability through {_join(list(driver.columns))}"
    _, *known = driver.columns  # the secret, then the columns it is inferred from
    return f"{driver.name} from {_join(known)}" if known else driver.name


def _names(items: Any) -> list[str]:
    """Each name once, in order."""
    return list(dict.fromkeys(items))


def _join(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
