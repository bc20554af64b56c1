"""Re-identification risk: anonymeter's three attacks, membership inference, overfitting checks.

Threat model: the attacker holds the synthetic table and, for linkability and inference,
some columns of a target person's real record (the auxiliary columns stated in the result).
The holdout, which the synthesizer never saw, is the control: a risk is the attacker's success
on training rows beyond their success on holdout rows, (main - control) / (1 - control).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.neighbors import NearestNeighbors

from tabsynth.evaluation.common import comparable_columns, is_numeric, mixed_matrix, sample_rows

ATTACK_SEED = 20240101


@dataclass
class PrivacySettings:
    """Sample sizes and verdict thresholds (all configurable, all written into the report)."""

    n_attacks: int = 300
    n_attacks_multivariate: int = 150
    attack_rows: int = 5_000
    distance_rows: int = 5_000
    max_inference_secrets: int = 3
    # anonymeter keeps drawing multivariate queries until enough single a row out (default up
    # to 10 million tries): where hardly any can, that is a hang; stop after this many
    max_query_attempts: int = 20_000
    bootstrap: int = 200
    medium_risk: float = 0.05
    high_risk: float = 0.15
    medium_auc: float = 0.55
    high_auc: float = 0.65
    medium_dcr_share: float = 0.55
    high_dcr_share: float = 0.65
    medium_excess_matches: float = 0.01
    high_excess_matches: float = 0.05
    significance_z: float = 2.58  # one-sided p < 0.005


@dataclass
class AttackRisk:
    name: str
    risk: float
    ci: tuple[float, float]
    main_rate: float
    baseline_rate: float
    control_rate: float | None
    n_attacks: int
    baseline_beats_attack: bool
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class PrivacyResult:
    exact_match_rate: float  # share of synthetic rows that equal a train row
    holdout_exact_match_rate: float  # ... that equal a holdout row (reference)
    exact_match_rate_same_size: float  # ... that equal a row of a holdout-sized train sample
    dcr_share: float  # share of synthetic rows closer to train than to holdout (0.5 is ideal)
    dcr_train_median: float
    dcr_holdout_median: float
    nndr_median: float
    holdout_nndr_median: float
    dcr_histogram: dict[str, list[float]]
    membership_inference: dict[str, Any]
    singling_out: dict[str, Any]
    linkability: dict[str, Any]
    inference: list[dict[str, Any]]
    dp: dict[str, Any] | None
    verdict: str
    verdict_reasons: list[str]
    rules: list[str]
    settings: dict[str, Any]
    threat_model: str = __doc__.split("\n\n")[1].replace("\n", " ")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_privacy(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                     exclude: list[str] | None = None, secrets: list[str] | None = None,
                     dp: dict[str, Any] | None = None, settings: PrivacySettings | None = None,
                     seed: int = 0) -> PrivacyResult:
    settings = settings or PrivacySettings()
    columns = comparable_columns(train, synthetic, exclude)
    # ori and control must be equally large: a query singles out one row more easily in a
    # smaller table, which would bias the comparison
    size = min(len(train), len(holdout), settings.attack_rows)
    ori = sample_rows(train[columns], size, seed).reset_index(drop=True)
    syn = sample_rows(synthetic[columns], size, seed).reset_index(drop=True)
    control = sample_rows(holdout[columns], size, seed).reset_index(drop=True)
    exact, holdout_exact, same_size_exact = _exact_matches(train[columns], holdout[columns],
                                                           synthetic[columns])
    distances = _distances(train[columns], holdout[columns], synthetic[columns], settings, seed)
    membership = _membership(train[columns], holdout[columns], synthetic[columns], settings, seed)
    singling = _singling_out(ori, syn, control, settings, seed)
    linkability = _linkability(ori, syn, control, columns, settings)
    chosen = secrets or columns[-settings.max_inference_secrets:]
    inference = [_inference(ori, syn, control, columns, s, settings) for s in chosen
                 if s in columns]
    verdict, reasons, rules = _verdict(same_size_exact - holdout_exact, distances["share"],
                                       membership,
                                       singling, linkability, inference, settings)
    return PrivacyResult(
        exact_match_rate=exact, holdout_exact_match_rate=holdout_exact,
        exact_match_rate_same_size=same_size_exact,
        dcr_share=distances["share"], dcr_train_median=distances["train_median"],
        dcr_holdout_median=distances["holdout_median"], nndr_median=distances["nndr"],
        holdout_nndr_median=distances["holdout_nndr"], dcr_histogram=distances["histogram"],
        membership_inference=membership, singling_out=singling, linkability=linkability,
        inference=inference, dp=dp, verdict=verdict, verdict_reasons=reasons, rules=rules,
        settings=asdict(settings))


def _row_keys(frame: pd.DataFrame) -> pd.Series:
    return frame.astype(str).agg("\x1f".join, axis=1)


def _exact_matches(train: pd.DataFrame, holdout: pd.DataFrame,
                   synthetic: pd.DataFrame) -> tuple[float, float, float]:
    """Shares of synthetic rows equal to some row of: train, holdout, and a train sample as
    large as the holdout (the last two are comparable: the verdict uses their difference)."""
    keys = _row_keys(synthetic)
    train_keys = _row_keys(train)
    same_size = set(train_keys.sample(min(len(holdout), len(train)), random_state=0))
    return (float(keys.isin(set(train_keys)).mean()),
            float(keys.isin(set(_row_keys(holdout))).mean()),
            float(keys.isin(same_size).mean()))


def _distances(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
               settings: PrivacySettings, seed: int) -> dict[str, Any]:
    size = min(len(train), len(holdout), settings.distance_rows)
    real, fresh = sample_rows(train, size, seed), sample_rows(holdout, size, seed + 1)
    fake = sample_rows(synthetic, settings.distance_rows, seed + 2)
    x_real, x_fresh, x_fake = mixed_matrix([real, fresh, fake], list(train.columns), train)
    to_real = NearestNeighbors(n_neighbors=2).fit(x_real).kneighbors(x_fake)[0]
    to_fresh = NearestNeighbors(n_neighbors=2).fit(x_fresh).kneighbors(x_fake)[0]
    closer = (to_real[:, 0] < to_fresh[:, 0]) + 0.5 * (to_real[:, 0] == to_fresh[:, 0])
    top = float(np.quantile(np.concatenate([to_real[:, 0], to_fresh[:, 0]]), 0.99)) or 1.0
    edges = np.linspace(0, top, 21)
    return {
        "share": float(closer.mean()),
        "train_median": float(np.median(to_real[:, 0])),
        "holdout_median": float(np.median(to_fresh[:, 0])),
        "nndr": float(np.median(to_real[:, 0] / np.maximum(to_real[:, 1], 1e-12))),
        "holdout_nndr": float(np.median(to_fresh[:, 0] / np.maximum(to_fresh[:, 1], 1e-12))),
        "histogram": {"edges": edges.round(4).tolist(),
                      "train": np.histogram(np.clip(to_real[:, 0], 0, top), edges)[0].tolist(),
                      "holdout": np.histogram(np.clip(to_fresh[:, 0], 0, top),
                                              edges)[0].tolist()},
    }


def _membership(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                settings: PrivacySettings, seed: int) -> dict[str, Any]:
    """Distance attack: a record closer to the synthetic data is guessed to be a member."""
    size = min(len(train), len(holdout), settings.distance_rows)
    members, others = sample_rows(train, size, seed + 3), sample_rows(holdout, size, seed + 4)
    fake = sample_rows(synthetic, settings.distance_rows * 2, seed + 5)
    x_members, x_others, x_fake = mixed_matrix([members, others, fake], list(train.columns),
                                               train)
    index = NearestNeighbors(n_neighbors=1).fit(x_fake)
    scores = -np.concatenate([index.kneighbors(x_members)[0][:, 0],
                              index.kneighbors(x_others)[0][:, 0]])
    labels = np.concatenate([np.ones(len(members)), np.zeros(len(others))])
    auc = float(roc_auc_score(labels, scores))
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(settings.bootstrap):
        pick = rng.integers(0, len(labels), len(labels))
        if labels[pick].min() != labels[pick].max():
            boot.append(roc_auc_score(labels[pick], scores[pick]))
    fpr, tpr, _ = roc_curve(labels, scores)
    return {"auc": auc, "ci": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))],
            "tpr_at_fpr_0.01": float(np.interp(0.01, fpr, tpr)),
            "tpr_at_fpr_0.1": float(np.interp(0.1, fpr, tpr)),
            "members": len(members), "non_members": len(others),
            "attack": "distance to the closest synthetic record (smaller: guessed member)"}


def _summarize(name: str, evaluator: Any, n_attacks: int, **details: Any) -> dict[str, Any]:
    results = evaluator.results(confidence_level=0.95)
    risk = results.risk()
    control = results.control_rate.value if results.control_rate is not None else None
    return asdict(AttackRisk(
        name=name, risk=float(risk.value), ci=(float(risk.ci[0]), float(risk.ci[1])),
        main_rate=float(results.attack_rate.value),
        baseline_rate=float(results.baseline_rate.value), control_rate=control,
        n_attacks=n_attacks,
        baseline_beats_attack=results.baseline_rate.value >= results.attack_rate.value,
        details=details))


def _cache_anonymeter_kernels() -> None:
    """Keep anonymeter's numba kernels compiled on disk: ~7 s of JIT per process otherwise.

    The cache holds machine code only (numba writes it beside the package, or in its user
    cache folder when that is read-only), never data.
    """
    import anonymeter.evaluators  # noqa: F401  (imports the module below without a cycle)
    from anonymeter.neighbors import mixed_types_kneighbors as kernels

    for function in (kernels.gower_distance, kernels._nearest_neighbors):
        if type(getattr(function, "_cache", None)).__name__ == "NullCache":
            try:
                function.enable_caching()
            except (RuntimeError, OSError):  # no writable cache folder: compile as before
                return


def _run(name: str, build: Any, n_attacks: int, **details: Any) -> dict[str, Any]:
    logging.getLogger("anonymeter").setLevel(logging.ERROR)  # its notes go into the report
    _cache_anonymeter_kernels()
    np.random.seed(ATTACK_SEED)  # anonymeter draws its targets from numpy's global generator
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _summarize(name, build(), n_attacks, **details)
    except Exception as exc:  # anonymeter refuses some tables (e.g. too few distinct rows)
        return {"name": name, "risk": None, "ci": None, "error": type(exc).__name__,
                "n_attacks": n_attacks, **details}


def _singling_out(ori, syn, control, settings: PrivacySettings, seed: int) -> dict[str, Any]:
    from anonymeter.evaluators import SinglingOutEvaluator

    def attack(mode: str, n: int) -> Any:
        return lambda: SinglingOutEvaluator(
            ori=ori, syn=syn, control=control, n_attacks=n, seed=seed,
            max_attempts=settings.max_query_attempts).evaluate(mode=mode)

    result = {"univariate": _run("singling out (univariate)",
                                 attack("univariate", settings.n_attacks), settings.n_attacks),
              "multivariate": _run("singling out (multivariate, 3 columns)",
                                   attack("multivariate", settings.n_attacks_multivariate),
                                   settings.n_attacks_multivariate)}
    scored = [r for r in result.values() if r.get("risk") is not None]
    worst = max(scored, key=lambda r: r["risk"]) if scored else {"risk": None, "ci": None}
    result["risk"], result["ci"] = worst["risk"], worst["ci"]  # the worse of the two modes
    return result


def _linkability(ori, syn, control, columns: list[str],
                 settings: PrivacySettings) -> dict[str, Any]:
    from anonymeter.evaluators import LinkabilityEvaluator

    if len(columns) < 2:
        return {"name": "linkability", "risk": None, "error": "needs two columns"}
    half = len(columns) // 2
    aux = (columns[:half], columns[half:])
    n = min(settings.n_attacks, len(control))
    return _run("linkability", lambda: LinkabilityEvaluator(
        ori=ori, syn=syn, control=control, aux_cols=aux, n_attacks=n,
        n_neighbors=10).evaluate(n_jobs=1), n,
        aux_columns=[list(aux[0]), list(aux[1])],
        split="first half of the columns vs the second half; a link counts when the same "
              "synthetic row is among the 10 nearest neighbours of both halves")


def _inference(ori, syn, control, columns: list[str], secret: str,
               settings: PrivacySettings) -> dict[str, Any]:
    from anonymeter.evaluators import InferenceEvaluator

    aux = [c for c in columns if c != secret]
    regression = is_numeric(ori[secret]) and ori[secret].nunique() > 20
    n = min(settings.n_attacks, len(control))
    return _run(f"inference of {secret}", lambda: InferenceEvaluator(
        ori=ori, syn=syn, control=control, aux_cols=aux, secret=secret, regression=regression,
        n_attacks=n).evaluate(n_jobs=1), n, secret=secret, regression=regression,
        aux_columns=aux)


def _beats_control(attack: dict[str, Any], threshold: float) -> bool:
    """Two-proportion z-test: is the main attack's success rate above the control's?"""
    main, control, n = attack["main_rate"], attack["control_rate"], attack["n_attacks"]
    if control is None:
        return True
    pooled = (main + control) / 2
    error = np.sqrt(max(pooled * (1 - pooled), 1e-12) * 2 / max(n, 1))
    return (main - control) / error >= threshold


def _verdict(excess_matches: float, dcr_share: float, membership: dict[str, Any],
             singling: dict[str, Any], linkability: dict[str, Any],
             inference: list[dict[str, Any]],
             s: PrivacySettings) -> tuple[str, list[str], list[str]]:
    rules = [
        f"high if any attack risk >= {s.high_risk}, membership AUC >= {s.high_auc}, DCR share "
        f">= {s.high_dcr_share}, or exact matches exceed the holdout's by >= "
        f"{s.high_excess_matches}",
        f"medium if any attack risk >= {s.medium_risk}, membership AUC >= {s.medium_auc}, DCR "
        f"share >= {s.medium_dcr_share}, or exact matches exceed the holdout's by >= "
        f"{s.medium_excess_matches}",
        "low otherwise; an attack risk is anonymeter's point estimate (main vs control attack) "
        f"and counts only when the attack beats the control significantly (two-proportion "
        f"z >= {s.significance_z}) and the risk's 95 % interval excludes zero",
    ]
    attacks = [singling["univariate"], singling["multivariate"], linkability, *inference]
    checks = [(a["name"], a["risk"]) for a in attacks
              if a.get("risk") is not None and a["ci"][0] > 0
              and _beats_control(a, s.significance_z)]
    level, reasons = 0, []

    def flag(value: float, medium: float, high: float, label: str) -> None:
        nonlocal level
        if value >= high:
            level = max(level, 2)
            reasons.append(f"{label} = {value:.3f} (>= {high}: high)")
        elif value >= medium:
            level = max(level, 1)
            reasons.append(f"{label} = {value:.3f} (>= {medium}: medium)")

    for name, risk in checks:
        flag(risk, s.medium_risk, s.high_risk, f"{name} risk")
    flag(membership["auc"], s.medium_auc, s.high_auc, "membership inference AUC")
    flag(dcr_share, s.medium_dcr_share, s.high_dcr_share, "DCR share")
    flag(excess_matches, s.medium_excess_matches, s.high_excess_matches,
         "exact-match rate above the holdout's")
    return ("low", "medium", "high")[level], reasons, rules
