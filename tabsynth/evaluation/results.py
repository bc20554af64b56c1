"""Typed views of report.json's sections, read by every renderer (review, release, page).

report.json stays the record; these types are how the renderers read it, so that a key is
named in one place and not in `.get` chains spread over the renderers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Attack:
    """One anonymeter attack (singling out, linkability, inference) as the reports show it."""

    name: str
    # the attacker's success on training rows beyond holdout rows,
    # (main - control) / (1 - control); 0: no advantage; None: not computed
    risk: float | None
    ci: list[float] | None  # 95 % interval of the risk
    main_rate: float | None = None  # success rate on training rows
    baseline_rate: float | None = None  # success of a random guess
    control_rate: float | None = None  # success rate on holdout rows (never seen)
    n_attacks: int | None = None  # attacks on training rows
    n_control_attacks: int | None = None  # attacks on holdout rows
    baseline_beats_attack: bool = False  # the random guess did at least as well
    note: str | None = None  # why its interval is wide, when it is
    not_applicable: str | None = None  # why it could not be built
    error: str | None = None  # the error name of an attack that failed
    no_queries: bool = False  # no query singled out one synthetic row

    @property
    def scored(self) -> bool:
        """Whether it has a risk with an interval (to chart)."""
        return self.risk is not None and bool(self.ci)

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> Attack:
        return cls(**{name: entry.get(name) for name in _FIELDS if name in entry},
                   name=entry["name"], risk=entry.get("risk"), ci=entry.get("ci"))


_FIELDS = tuple(name for name in Attack.__dataclass_fields__ if name not in ("name", "risk",
                                                                                 "ci"))


def attack_entries(privacy: dict[str, Any]) -> list[dict[str, Any]]:
    """report.json's attack entries in report order: singling out (univariate, multivariate),
    linkability, then one inference attack per secret; absent or malformed entries skipped."""
    singling = privacy.get("singling_out") or {}
    found = [singling.get("univariate") if isinstance(singling, dict) else None,
             singling.get("multivariate") if isinstance(singling, dict) else None,
             privacy.get("linkability"), *(privacy.get("inference") or [])]
    return [a for a in found if isinstance(a, dict) and a.get("name")]


def attacks(privacy: dict[str, Any]) -> list[Attack]:
    """The attacks of a privacy section, typed, in report order."""
    return [Attack.from_dict(entry) for entry in attack_entries(privacy)]


@dataclass(frozen=True)
class NearCopies:
    """Synthetic rows closer to a training row than most holdout rows are."""

    level: float | None  # the holdout quantile the distance is cut at: 0.05 or 0.01
    count: int | None  # synthetic rows below that distance
    rate: float | None  # their share of the synthetic rows
    holdout_rate: float | None  # the holdout rows' own share (about `level`)


@dataclass(frozen=True)
class Membership:
    """The density-ratio membership-inference attack."""

    auc: float | None  # telling training rows from holdout rows; 0.5: chance
    ci: list[float] | None  # 95 % interval of the AUC
    tpr_at_fpr_01: float | None  # training rows flagged at a 1 % false-positive rate


@dataclass(frozen=True)
class Privacy:
    """The privacy section as the renderers read it (report.json's privacy, or the release's)."""

    verdict: str | None  # low, inconclusive, medium or high; None: not evaluated
    verdict_reasons: list[str]  # the fired rules' sentences, worst first
    dp: dict[str, Any] | None  # the differential-privacy claim; None: no guarantee
    not_applicable: str | None  # why nothing was compared (every column regenerated)
    evaluated: bool  # the attacks were run (the run did not skip evaluation)
    attacks: list[Attack]
    membership: Membership | None
    near_copies: list[NearCopies]
    dcr_share: float | None  # synthetic rows closer to train than to holdout; 0.5: no signal
    exact_match_rate: float | None  # synthetic rows equal to a training row
    holdout_exact_match_rate: float | None  # holdout rows equal to a training row (reference)
    # the first minus the second, which the verdict judges (None: not known, e.g. a DP release)
    exact_copy_excess: float | None
    roles: dict[str, Any] | None  # quasi-identifiers and secrets, and who chose them
    bands: dict[str, float]  # the attack risk thresholds: medium and high

    @classmethod
    def from_dict(cls, privacy: dict[str, Any]) -> Privacy:
        mia = privacy.get("membership_inference")
        distances = privacy.get("distances")
        near = ((distances.get("near_copies") if isinstance(distances, dict) else None)
                or privacy.get("near_copies") or [])
        exact = ((distances.get("exact_copies") if isinstance(distances, dict) else None)
                 or {})
        settings = privacy.get("settings") or {}
        reasons = privacy.get("verdict_reasons")
        return cls(
            verdict=privacy.get("verdict"),
            verdict_reasons=reasons if isinstance(reasons, list) else [],
            dp=privacy.get("dp") or None, not_applicable=privacy.get("not_applicable"),
            evaluated=bool(privacy.get("evaluated", "singling_out" in privacy)),
            attacks=attacks(privacy),
            membership=Membership(mia.get("auc"), mia.get("ci"), mia.get("tpr_at_fpr_0.01"))
            if isinstance(mia, dict) and mia else None,
            near_copies=[NearCopies(n.get("level"), n.get("count"), n.get("rate"),
                                    n.get("holdout_rate"))
                         for n in near if isinstance(n, dict)],
            dcr_share=privacy.get("dcr_share"),
            exact_match_rate=privacy.get("exact_match_rate"),
            holdout_exact_match_rate=privacy.get("holdout_exact_match_rate"),
            exact_copy_excess=privacy.get("exact_copy_excess", exact.get("excess")),
            roles=privacy.get("roles") if isinstance(privacy.get("roles"), dict) else None,
            bands={k: settings[f"{k}_risk"] for k in ("medium", "high")
                   if isinstance(settings, dict) and f"{k}_risk" in settings})


@dataclass(frozen=True)
class Headline:
    """The summary figures every page opens with (read from a review or a release report)."""

    fidelity: float | None  # fidelity score: 1 - mean(1-way TVD, 2-way TVD); 1 is perfect
    fidelity_holdout: float | None  # the same score for a fresh real sample (the holdout)
    metric: str  # the utility metric: auc (classification) or r2 (regression)
    utility: float | None  # that metric for models trained on synthetic rows (TSTR)
    utility_real: float | None  # the same trained on the real training rows (TRTR)
    target: str | None  # the column the utility models predict
    verdict: str | None  # the privacy verdict; None: not evaluated

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> Headline:
        fidelity, utility = report.get("fidelity") or {}, report.get("utility") or {}
        metric = "auc" if utility.get("task") == "classification" else "r2"
        return cls(fidelity.get("score"), fidelity.get("holdout_reference"), metric,
                   (utility.get("tstr") or {}).get(metric),
                   (utility.get("trtr") or {}).get(metric), utility.get("target"),
                   (report.get("privacy") or {}).get("verdict"))


@dataclass(frozen=True)
class Correlation:
    """Pairwise association of the compared columns, real and synthetic (same order)."""

    columns: list[str]
    real: list[list[float]]  # association between columns in the training rows
    synthetic: list[list[float]]  # the same in the synthetic rows


@dataclass(frozen=True)
class Fidelity:
    """How closely the synthetic rows follow the training rows, column by column and in pairs."""

    # per column: its name, kind and total-variation distance to the training rows (0: equal)
    columns: list[dict[str, Any]]
    # per column, the binned shares of training, synthetic and holdout rows (for charts)
    distributions: dict[str, Any]
    pairs: list[dict[str, Any]]  # per column pair: its 2-way total-variation distance
    correlation: Correlation | None  # None when fewer than two columns can be compared

    def worst_pairs(self, count: int = 10) -> list[dict[str, Any]]:
        """The pairs whose joint distribution is followed least closely."""
        return sorted(self.pairs, key=lambda p: -p["tvd"])[:count]

    def weakest_columns(self, count: int) -> list[dict[str, Any]]:
        """The charted columns the synthetic rows follow least closely, worst first: by how far
        their distance exceeds the holdout's (a fresh real sample's own distance is noise)."""
        charted = [c for c in self.columns if c.get("column") in self.distributions]
        return sorted(charted, key=lambda c: -_excess(c))[:count]

    def tvd_of(self) -> dict[str, float]:
        """Each column's 1-way total-variation distance (0 where not computed)."""
        return {c.get("column"): c.get("tvd") or 0.0 for c in self.columns}

    @classmethod
    def from_dict(cls, fidelity: dict[str, Any] | None) -> Fidelity:
        fidelity = fidelity or {}
        correlation = fidelity.get("correlation") or {}
        return cls(list(fidelity.get("columns") or []), dict(fidelity.get("distributions") or {}),
                   list(fidelity.get("pairs") or []),
                   Correlation(correlation["columns"], correlation["real"],
                               correlation["synthetic"]) if correlation else None)


def _excess(column: dict[str, Any]) -> float:
    """A column's distance beyond the holdout's."""
    return float(column.get("tvd") or 0.0) - float(column.get("holdout_tvd") or 0.0)


@dataclass(frozen=True)
class UtilityModel:
    """One downstream model, trained on synthetic rows (TSTR) and on real ones (TRTR), both
    scored on the real holdout."""

    model: str
    tstr: dict[str, float]  # metric -> score when trained on synthetic rows
    trtr: dict[str, float]  # metric -> score when trained on the real training rows


@dataclass(frozen=True)
class Utility:
    """What the synthetic rows are worth for training models on the target column."""

    models: list[UtilityModel]  # empty when not computed
    note: str | None  # why utility was not computed, when it was not

    @classmethod
    def from_dict(cls, utility: dict[str, Any] | None) -> Utility:
        utility = utility or {}
        return cls([UtilityModel(m["model"], dict(m.get("tstr") or {}),
                                 dict(m.get("trtr") or {}))
                    for m in utility.get("models") or []], utility.get("note"))
