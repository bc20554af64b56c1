"""Distance checks against the whole training split: near copies, exact copies, DCR, NNDR.

Every synthetic query row (up to `queries`, sampled when the table is larger) is compared with
every training row; the null is the holdout's own distances to the training split (a fresh real
row: what "as close as real data gets" looks like). Distances are the mixed distance of
neighbors.py on numbers scaled by the training IQR: one per differing category, plus the
numbers' absolute differences in IQR units. They are exact below a horizon (by default 1, i.e.
among rows that share every category) and "farther" beyond it, which keeps the search fast on
wide tables; a near copy lies far inside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tabsynth.evaluation.neighbors import Encoded, MixedIndex
from tabsynth.evaluation.stats import difference, mean_interval, median_interval, wilson

LEVELS = (0.05, 0.01)


def subset(encoded: Encoded, rows: np.ndarray) -> Encoded:
    return Encoded(encoded.cat[rows], encoded.num[rows])


def row_hashes(encoded: Encoded) -> np.ndarray:
    """One 64-bit hash per row of its codes and numbers (equal rows, equal hashes)."""
    out = np.zeros(len(encoded.cat), np.uint64)
    columns = [encoded.cat[:, j] for j in range(encoded.cat.shape[1])]
    columns += [np.nan_to_num(encoded.num[:, j], nan=-1.5e308) for j in range(
        encoded.num.shape[1])]
    for column in columns:
        out = out * np.uint64(1_000_003) ^ pd.util.hash_array(np.ascontiguousarray(column))
    return out


def distance_checks(train: Encoded, holdout: Encoded, synthetic: Encoded, queries: int,
                    horizon: float, seed: int) -> dict[str, Any]:
    """Near-copy rates, exact copies, DCR share and NNDR, each beside the holdout's value."""
    rng = np.random.default_rng(seed)
    syn_rows = _sample(len(synthetic.cat), queries, rng)
    hold_rows = _sample(len(holdout.cat), queries, rng)
    fake, fresh = subset(synthetic, syn_rows), subset(holdout, hold_rows)
    index = MixedIndex(train, seed=seed)
    to_train = index.query(fake, k=2, horizon=horizon)[0]
    null = index.query(fresh, k=2, horizon=horizon)[0]
    near = [_near_copies(level, to_train[:, 0], null[:, 0], horizon) for level in LEVELS]
    return {
        "horizon": horizon,
        "reference_rows": len(train.cat),
        "synthetic_queries": len(syn_rows), "synthetic_rows": len(synthetic.cat),
        "holdout_queries": len(hold_rows), "holdout_rows": len(holdout.cat),
        "near_copies": near,
        "exact_copies": _exact_copies(train, holdout, synthetic),
        "dcr_share": _dcr_share(train, holdout, fake, horizon, rng, seed),
        "nndr": {"synthetic": _median(_nndr(to_train, horizon)),
                 "holdout": _median(_nndr(null, horizon))},
        "dcr": {"synthetic": _median(to_train[:, 0]), "holdout": _median(null[:, 0]),
                "synthetic_within_horizon": float(np.isfinite(to_train[:, 0]).mean()),
                "holdout_within_horizon": float(np.isfinite(null[:, 0]).mean())},
        "histogram": _histogram(to_train[:, 0], null[:, 0], horizon),
    }


def _sample(size: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(size, limit, replace=False)) if size > limit else np.arange(size)


def _near_copies(level: float, synthetic: np.ndarray, holdout: np.ndarray,
                 horizon: float) -> dict[str, Any]:
    """Synthetic rows nearer to a training row than all but `level` of holdout rows are."""
    threshold = float(min(np.quantile(holdout, level, method="lower"), horizon))
    count, reference = int((synthetic < threshold).sum()), float((holdout < threshold).mean())
    rate = count / max(1, len(synthetic))
    return {"level": level, "threshold": threshold, "count": count, "rate": rate,
            "ci": list(wilson(count, len(synthetic))), "expected": level,
            "holdout_rate": reference, "holdout_ci": list(wilson(reference * len(holdout),
                                                                 len(holdout))),
            "excess": rate - reference,
            "excess_ci": list(difference(rate, len(synthetic), reference, len(holdout)))}


def _exact_copies(train: Encoded, holdout: Encoded, synthetic: Encoded) -> dict[str, Any]:
    """Synthetic rows equal to a training row, beside holdout rows equal to one (all rows)."""
    known = np.unique(row_hashes(train))
    fake = np.isin(row_hashes(synthetic), known)
    fresh = np.isin(row_hashes(holdout), known)
    rate, reference = float(fake.mean()), float(fresh.mean())
    return {"count": int(fake.sum()), "rate": rate, "ci": list(wilson(fake.sum(), len(fake))),
            "holdout_rate": reference, "holdout_ci": list(wilson(fresh.sum(), len(fresh))),
            "excess": rate - reference,
            "excess_ci": list(difference(rate, len(fake), reference, len(fresh)))}


def _dcr_share(train: Encoded, holdout: Encoded, fake: Encoded, horizon: float,
               rng: np.random.Generator, seed: int) -> dict[str, Any]:
    """Share of synthetic rows nearer to the training rows than to the holdout rows, with a
    training sample as large as the holdout (ties, both beyond the horizon included, count
    half): 0.5 when the synthesizer did not memorise."""
    size = min(len(train.cat), len(holdout.cat))
    same_size = subset(train, _sample(len(train.cat), size, rng))
    to_train = MixedIndex(same_size, seed=seed).query(fake, k=1, horizon=horizon)[0][:, 0]
    to_holdout = MixedIndex(holdout, seed=seed).query(fake, k=1, horizon=horizon)[0][:, 0]
    scores = (to_train < to_holdout) + 0.5 * (to_train == to_holdout)
    return {"value": float(scores.mean()), "ci": list(mean_interval(scores)),
            "decided": float((to_train != to_holdout).mean()), "rows_each": size}


def _nndr(distances: np.ndarray, horizon: float) -> np.ndarray:
    """Nearest / second-nearest distance (distances beyond the horizon count as the horizon;
    0 / 0 counts 1: no single nearest row)."""
    first, second = np.minimum(distances[:, 0], horizon), np.minimum(distances[:, 1], horizon)
    return np.where(second > 0, first / np.where(second > 0, second, 1), 1.0)


def _median(values: np.ndarray) -> dict[str, Any]:
    low, high = median_interval(values)
    middle = float(np.median(values)) if len(values) else float("nan")
    return {"median": None if not np.isfinite(middle) else middle,
            "ci": [None if not np.isfinite(low) else low, None if not np.isfinite(high)
                   else high]}


def _histogram(synthetic: np.ndarray, holdout: np.ndarray, horizon: float) -> dict[str, Any]:
    """Counts per distance bin up to the horizon, then one count beyond it."""
    edges = np.linspace(0, horizon, 11)

    def counts(values: np.ndarray) -> list[int]:
        return [*np.histogram(values[values < horizon], edges)[0].tolist(),
                int((values >= horizon).sum())]

    return {"edges": edges.round(4).tolist(), "synthetic": counts(synthetic),
            "holdout": counts(holdout)}
