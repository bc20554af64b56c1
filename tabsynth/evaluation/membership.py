"""Membership inference by density ratio, in the style of DOMIAS (van Breugel et al. 2023).

The attacker scores a record by how much denser the synthetic data is around it than real data
in general: score = p_synthetic(x) / p_reference(x), with both densities estimated from the
distance to the nearest row (k-nearest-neighbour densities, k = 1: the log-ratio is the
dimension times log(d_reference / d_synthetic), and the dimension does not change the ranking).
The reference data is the holdout, split in two halves: a record is always scored against the
half it is not in. Members are training rows, non-members holdout rows; a synthesizer that
copied or overfitted training rows makes members score high.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from tabsynth.evaluation.distances import subset
from tabsynth.evaluation.neighbors import Encoded, MixedIndex
from tabsynth.evaluation.stats import auc_interval, difference, wilson

EPSILON = 1e-3  # added to distances (in IQR units) so that exact copies get a finite score
ATTACK = ("density ratio (DOMIAS-style): synthetic vs holdout k-nearest-neighbour density "
          "around each record; members: training rows, non-members: holdout rows")


def density_ratio_attack(train: Encoded, holdout: Encoded, synthetic: Encoded, limit: int,
                         horizon: float, seed: int) -> dict[str, Any]:
    """AUC (with a Hanley-McNeil interval) and true-positive rates at 1 % and 10 % false
    positives of the density-ratio membership attack."""
    rng = np.random.default_rng(seed)
    halves = np.array_split(rng.permutation(len(holdout.cat)), 2)
    per_half = min(limit // 2, min(len(h) for h in halves))
    others = [h[:per_half] for h in halves]  # non-members, scored against the other half
    members = rng.choice(len(train.cat), min(len(train.cat), 2 * per_half), replace=False)
    member_halves = np.array_split(members, 2)
    near_synthetic = MixedIndex(synthetic, seed=seed)
    references = [MixedIndex(subset(holdout, h), seed=seed) for h in halves]
    scores: dict[str, list[np.ndarray]] = {"members": [], "others": []}
    for side in (0, 1):
        reference = references[1 - side]
        for label, rows, table in (("others", others[side], holdout),
                                   ("members", member_halves[side], train)):
            queries = subset(table, rows)
            d_syn = near_synthetic.query(queries, k=1, horizon=horizon)[0][:, 0]
            d_ref = reference.query(queries, k=1, horizon=horizon)[0][:, 0]
            scores[label].append(np.log(np.minimum(d_ref, horizon) + EPSILON)
                                 - np.log(np.minimum(d_syn, horizon) + EPSILON))
    member_scores, other_scores = np.concatenate(scores["members"]), np.concatenate(
        scores["others"])
    return summarize(member_scores, other_scores)


def summarize(member_scores: np.ndarray, other_scores: np.ndarray) -> dict[str, Any]:
    labels = np.r_[np.ones(len(member_scores)), np.zeros(len(other_scores))]
    values = np.r_[member_scores, other_scores]
    auc = float(roc_auc_score(labels, values))
    fpr, tpr, _ = roc_curve(labels, values)
    out = {"auc": auc, "ci": list(auc_interval(auc, len(member_scores), len(other_scores))),
           "members": len(member_scores), "non_members": len(other_scores), "attack": ATTACK,
           "tpr_at_fpr_0.1": float(np.interp(0.1, fpr, tpr))}
    out.update(_at_low_fpr(member_scores, other_scores, 0.01))
    return out


def _at_low_fpr(members: np.ndarray, others: np.ndarray, target: float) -> dict[str, Any]:
    """Flag the records scoring above all but `target` of non-members: the share of members
    flagged (TPR) beside the share of non-members flagged (the realised FPR)."""
    threshold = np.quantile(others, 1 - target, method="higher")
    tpr, fpr = float((members > threshold).mean()), float((others > threshold).mean())
    return {"tpr_at_fpr_0.01": tpr, "tpr_ci": list(wilson(tpr * len(members), len(members))),
            "fpr_realised": fpr, "flagged_members": int((members > threshold).sum()),
            "tpr_excess": tpr - fpr,
            "tpr_excess_ci": list(difference(tpr, len(members), fpr, len(others)))}
