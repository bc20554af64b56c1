"""Re-identification risk: distance checks, membership inference and anonymeter's attacks.

The attacker holds the whole synthetic table and, for linkability and inference, the
quasi-identifiers of a target person's real record (named in the report); they want to know
whether the person was in the training data, to single them out, to link two records of them,
or to infer their secrets. The holdout, which the synthesizer never saw, is the control: a risk
is the attacker's success on training rows beyond their success on holdout rows.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from tabsynth.evaluation import attacks
from tabsynth.evaluation.common import comparable_columns, is_numeric, sample_rows
from tabsynth.evaluation.distances import distance_checks
from tabsynth.evaluation.membership import density_ratio_attack
from tabsynth.evaluation.neighbors import encode_tables
from tabsynth.evaluation.results import attack_entries
from tabsynth.evaluation.roles import Roles, resolve_roles, split_for_linkability
from tabsynth.evaluation.verdict import Check, Figure, classify, verdict
from tabsynth.formatting import percent

ATTACK_SEED = 20240101
EXCLUDED = ("is not compared (regenerated PII, a key or free text): its synthetic values say "
            "nothing about the real ones")


@dataclass
class PrivacySettings:
    """Sample sizes and verdict thresholds (all configurable, all written into the report)."""

    n_attacks: int = 10_000  # linkability / inference targets: as many as the holdout allows
    min_attacks: int = 1_000  # fewer is said in the report
    singling_out_queries: int = 2_000
    singling_out_rows: int = 100_000  # holdout rows the queries are tried on at most (and every
    # training row, in folds of as many rows: more folds widen the interval)
    max_query_attempts: int = 300_000  # multivariate queries drawn at most
    linkability_neighbors: int = 10
    distance_queries: int = 20_000  # synthetic (and holdout) rows compared with all of train
    membership_rows: int = 10_000  # members and as many non-members, at most
    horizon: float = 1.0  # distances are exact below this (1: one differing category)
    medium_risk: float = 0.20
    high_risk: float = 0.50
    medium_auc: float = 0.55
    high_auc: float = 0.65
    medium_tpr_excess: float = 0.03
    high_tpr_excess: float = 0.15
    medium_near_copy_excess: float = 0.03
    high_near_copy_excess: float = 0.15
    medium_exact_excess: float = 0.005
    high_exact_excess: float = 0.05
    medium_dcr_share: float = 0.55
    high_dcr_share: float = 0.65


@dataclass
class PrivacyResult:
    roles: dict[str, Any]
    exact_match_rate: float  # share of synthetic rows equal to a training row
    holdout_exact_match_rate: float  # share of holdout rows equal to a training row (null)
    dcr_share: float  # share of synthetic rows closer to train than to holdout (0.5: no signal)
    distances: dict[str, Any]
    membership_inference: dict[str, Any]
    singling_out: dict[str, Any]
    linkability: dict[str, Any]
    inference: list[dict[str, Any]]
    verdict: str
    verdict_reasons: list[str]
    rules: list[str]
    checks: list[dict[str, Any]]
    settings: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    threat_model: str = __doc__.split("\n\n")[1].replace("\n", " ")
    engine: str = attacks.METHOD_NOTE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def privacy_roles(train: pd.DataFrame, synthetic: pd.DataFrame, exclude: list[str] | None,
                  target: str | None = None, quasi_identifiers: list[str] | None = None,
                  secrets: list[str] | None = None) -> Roles:
    """Quasi-identifiers and secrets among the compared columns (a ConfigError names a bad
    one)."""
    columns = comparable_columns(train, synthetic, exclude)
    unavailable = {c: EXCLUDED for c in exclude or [] if c in train.columns}
    return resolve_roles(columns, target, quasi_identifiers, secrets, train, unavailable)


def evaluate_privacy(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                     exclude: list[str] | None = None, target: str | None = None,
                     quasi_identifiers: list[str] | None = None,
                     secrets: list[str] | None = None,
                     settings: PrivacySettings | None = None, seed: int = 0,
                     roles: Roles | None = None) -> PrivacyResult:
    """The privacy section; `roles` as resolved by the caller (None: resolved here)."""
    s = settings or PrivacySettings()
    roles = roles or privacy_roles(train, synthetic, exclude, target, quasi_identifiers,
                                   secrets)
    columns = comparable_columns(train, synthetic, exclude)
    train, holdout, synthetic = train[columns], holdout[columns], synthetic[columns]
    clock = _Clock()
    encoded = encode_tables(columns, train, [train, holdout, synthetic], scaling="iqr")
    clock.lap("encoding")
    distances = distance_checks(*encoded, s.distance_queries, s.horizon, seed)
    clock.lap("distances")
    membership = density_ratio_attack(*encoded, s.membership_rows, s.horizon, seed)
    clock.lap("membership")
    singling = _singling_out(train, holdout, synthetic, columns, s)
    clock.lap("singling_out")
    linkability = _linkability(train, holdout, synthetic, roles, s)
    clock.lap("linkability")
    inference = [attacks.inference(synthetic, train, holdout,
                                   [c for c in roles.quasi_identifiers if c != secret], secret,
                                   s.n_attacks, ATTACK_SEED)
                 for secret in roles.secrets]
    clock.lap("inference")
    entries = attack_entries({"singling_out": singling, "linkability": linkability,
                              "inference": inference})
    for attack in entries:
        _note_power(attack, s.min_attacks)
    checks = build_checks(distances, membership, entries, s)
    band, reasons = verdict(checks)
    return PrivacyResult(
        roles=roles.to_dict(), exact_match_rate=distances["exact_copies"]["rate"],
        holdout_exact_match_rate=distances["exact_copies"]["holdout_rate"],
        dcr_share=distances["dcr_share"]["value"], distances=distances,
        membership_inference=membership, singling_out=singling, linkability=linkability,
        inference=inference, verdict=band, verdict_reasons=reasons,
        rules=rules(s), checks=[c.to_dict() for c in checks], settings=asdict(s),
        seconds=clock.seconds)


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self.started, 2)
        self.started = now


def _singling_out(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                  columns: list[str], s: PrivacySettings) -> dict[str, Any]:
    numeric = [c for c in columns if is_numeric(train[c])]
    control = sample_rows(holdout, s.singling_out_rows, ATTACK_SEED)
    result: dict[str, Any] = attacks.singling_out(
        synthetic, train, control, columns, numeric, s.singling_out_queries, s.max_query_attempts,
        ATTACK_SEED)
    scored = [r for r in result.values() if r.get("risk") is not None]
    worst = max(scored, key=lambda r: r["risk"]) if scored else {"risk": None, "ci": None}
    result["risk"], result["ci"] = worst["risk"], worst["ci"]  # the worse of the two modes
    return result


def _linkability(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                 roles: Roles, s: PrivacySettings) -> dict[str, Any]:
    qis = roles.quasi_identifiers
    if len(qis) < 2:
        return {"name": "linkability", "risk": None, "ci": None, "not_applicable":
                "needs two quasi-identifiers, one for each party"}
    halves = split_for_linkability(qis, train)
    result = attacks.linkability(synthetic, train, holdout, halves, s.n_attacks,
                                 s.linkability_neighbors, ATTACK_SEED)
    result["split"] = ("the quasi-identifiers split so that both parties hold about as much "
                       "identifying information (entropy in the training data); a link counts "
                       f"when one synthetic row is among the {s.linkability_neighbors} nearest "
                       "of both halves")
    return result


def _note_power(attack: dict[str, Any], minimum: int) -> None:
    fewest = min(attack.get("n_attacks", 0), attack.get("n_control_attacks", 0))
    if attack.get("risk") is None or fewest >= minimum:
        return
    if "queries_tried" in attack:
        attack["note"] = (f"{attack['n_attacks']:,} queries single out one synthetic row in "
                          f"{attack['queries_tried']:,} tried, fewer than the "
                          f"{minimum:,} wanted: the interval is wider")
    else:
        attack["note"] = (f"only {fewest:,} attacks on one side: the table has no more rows "
                          f"(at least {minimum:,} wanted); the interval is wider")


# ---------------------------------------------------------------- checks and rules

LABELS = {"near_copy_05": "near copies beyond the holdout's (5 % level)",
          "near_copy_01": "near copies beyond the holdout's (1 % level)",
          "exact_copy": "exact copies beyond the holdout's", "dcr_share": "DCR share",
          "mia_auc": "membership inference AUC",
          "mia_tpr": "membership inference at 1 % false positives"}


def build_checks(distances: dict[str, Any], membership: dict[str, Any],
                 entries: list[dict[str, Any]], s: PrivacySettings) -> list[Check]:
    """The verdict's checks: near and exact copies, DCR share, membership inference, and one
    per attack (entries: report.json's attack entries in report order)."""
    checks = [_near_copy_check(n, s) for n in distances["near_copies"]]
    exact = distances["exact_copies"]
    checks.append(classify(
        Check("exact_copy", LABELS["exact_copy"], exact["excess"], exact["excess_ci"], 0.0,
              s.medium_exact_excess, s.high_exact_excess, "overfitting", percent=True),
        "exact_copy", {"count": Figure(exact["count"], "count"),
                       "rate": Figure(exact["rate"], "percent"),
                       "reference": Figure(exact["holdout_rate"], "percent"),
                       "excess": Figure(exact["excess"], "percent")}))
    dcr = distances["dcr_share"]
    checks.append(classify(
        Check("dcr_share", LABELS["dcr_share"], dcr["value"], dcr["ci"], 0.5,
              s.medium_dcr_share, s.high_dcr_share, "overfitting", percent=True),
        "dcr_share", {"share": Figure(dcr["value"], "percent")}))
    checks.append(classify(
        Check("mia_auc", LABELS["mia_auc"], membership["auc"], membership["ci"], 0.5,
              s.medium_auc, s.high_auc, "attack"),
        "mia_auc", {"auc": Figure(membership["auc"], "score")}))
    checks.append(classify(
        Check("mia_tpr", LABELS["mia_tpr"], membership["tpr_excess"],
              membership["tpr_excess_ci"], 0.0, s.medium_tpr_excess, s.high_tpr_excess,
              "attack", percent=True),
        "mia_tpr", {"count": Figure(membership["flagged_members"], "count"),
                    "tpr": Figure(membership["tpr_at_fpr_0.01"], "percent"),
                    "fpr": Figure(membership["fpr_realised"], "percent"),
                    "excess": Figure(membership["tpr_excess"], "percent")}))
    for attack in entries:
        check = _attack_check(attack, s)
        if check is not None:
            checks.append(check)
    return checks


def _near_copy_check(near: dict[str, Any], s: PrivacySettings) -> Check:
    rule = f"near_copy_{round(near['level'] * 100):02d}"
    check = Check(rule, LABELS[rule], near["excess"], near["excess_ci"], 0.0,
                  s.medium_near_copy_excess, s.high_near_copy_excess, "overfitting",
                  percent=True)
    return classify(check, "near_copy", {
        "count": Figure(near["count"], "count"), "rate": Figure(near["rate"], "percent"),
        "keep": Figure(1 - near["holdout_rate"], "percent"),
        "expected": Figure(near["holdout_rate"], "percent"),
        "excess": Figure(near["excess"], "percent")})


def _attack_check(attack: dict[str, Any], s: PrivacySettings) -> Check | None:
    if attack.get("not_applicable") or attack.get("no_queries"):
        return None  # nothing to attack with: reported, no band
    check = Check("attack", attack["name"], attack.get("risk"), attack.get("ci"), 0.0,
                  s.medium_risk, s.high_risk, "attack", error=attack.get("error"))
    if check.value is None:
        return classify(check)
    return classify(check, "attack", {
        "attack": Figure(attack["name"], "text"), "risk": Figure(attack["risk"], "score"),
        "low": Figure(attack["ci"][0], "score"), "high": Figure(attack["ci"][1], "score"),
        "n": Figure(attack["n_attacks"], "count")})


def rules(s: PrivacySettings) -> list[str]:
    """The rules and thresholds, as printed in report.json and report.html."""
    return [
        "Each check below is a statistic with a 95 % interval. It is high when the statistic "
        "reaches the high threshold and the interval excludes the no-risk value, medium "
        "likewise at the medium threshold; below the medium threshold with an interval that "
        "reaches it, the check has too little power to rule medium out: inconclusive. An "
        "attack that failed is inconclusive.",
        "Verdict: high if any check is high, else medium if any is medium, else inconclusive "
        "if any is inconclusive, else low.",
        f"Near copies: the share of synthetic rows closer to a training row than 95 % (99 %) "
        f"of holdout rows are, minus the holdout's own share (about 5 % and 1 %); medium from "
        f"{percent(s.medium_near_copy_excess)}, high from {percent(s.high_near_copy_excess)}.",
        f"Exact copies: the share of synthetic rows equal to a training row minus the share "
        f"of holdout rows equal to one; medium from {percent(s.medium_exact_excess)}, high from "
        f"{percent(s.high_exact_excess)}.",
        f"DCR share: synthetic rows closer to the training rows than to as many holdout rows "
        f"(no-risk value 50 %); medium from {percent(s.medium_dcr_share)}, high from "
        f"{percent(s.high_dcr_share)}.",
        f"Membership inference (density ratio): AUC (no-risk value 0.5) medium from "
        f"{s.medium_auc}, high from {s.high_auc}; training rows flagged at a 1 % "
        f"false-positive rate, minus that rate: medium from {percent(s.medium_tpr_excess)}, "
        f"high from {percent(s.high_tpr_excess)}.",
        f"anonymeter attacks (singling out, linkability, inference): risk (main - control) / "
        f"(1 - control), no-risk value 0; medium from {s.medium_risk}, high from "
        f"{s.high_risk}. An attack that cannot be built (too few quasi-identifiers, no query "
        "singles out a synthetic row) is reported without a band.",
    ]
