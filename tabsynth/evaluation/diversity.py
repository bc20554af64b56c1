"""Diversity: does the synthetic table cover the real one, or has it collapsed onto its modes?

- Precision, recall, density and coverage (Naeem et al. 2020, "PRDC"): k-nearest-neighbour
  balls around real rows (a sample of the training split) and around synthetic rows, in one
  embedding (numbers as their quantile in the training split, categories one-hot among the
  commonest values, missing as a flag). Precision: share of synthetic rows inside some real
  ball (realistic); recall: share of real rows inside some synthetic ball (diverse); density
  and coverage the same, less sensitive to outliers. A collapsed model keeps precision and
  loses recall and coverage.
- Rare-category coverage: the share of the training split's categories held by at least
  MIN_LABEL_ROWS rows that appear in the synthetic table at all.
- Tail coverage: per numeric column, the share of holdout rows outside the synthetic range
  (models lose tails first).
Every figure sits beside the holdout's own value (a fresh real sample in place of the synthetic
rows), so "as diverse as real data" is what the reader compares against.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tabsynth.evaluation.common import MIN_LABEL_ROWS, as_float, is_numeric

SAMPLE_ROWS = 3_000
NEIGHBOURS = 5
TOP_CATEGORIES = 30


def evaluate_diversity(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                       columns: list[str], seed: int = 0) -> dict[str, Any]:
    """PRDC, rare-category and tail coverage of the synthetic rows, each beside the holdout's."""
    if not columns or min(len(train), len(holdout), len(synthetic)) <= NEIGHBOURS:
        return {}
    rng = np.random.default_rng(seed)
    embed = _Embedding(train, columns)
    real = embed(_sample(train, rng))
    out: dict[str, Any] = {"neighbours": NEIGHBOURS}
    for name, frame in (("synthetic", synthetic), ("holdout", holdout)):
        out[name] = prdc(real, embed(_sample(frame, rng)), NEIGHBOURS)
        out[name]["rare_category_coverage"] = rare_category_coverage(train, frame, columns)
    out["synthetic"]["tail_share"] = tail_share(holdout, synthetic, columns)
    out["holdout"]["tail_share"] = tail_share(holdout, train, columns)
    return out


def prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """Precision, recall, density and coverage of `fake` against `real` (Naeem et al.)."""
    from sklearn.metrics import pairwise_distances

    real_radius, fake_radius = _kth_distance(real, k), _kth_distance(fake, k)
    matrix = pairwise_distances(real, fake)  # (real rows, fake rows)
    inside = matrix <= real_radius[:, None]
    return {"precision": float(inside.any(axis=0).mean()),
            "recall": float((matrix <= fake_radius[None, :]).any(axis=1).mean()),
            "density": float(inside.sum(axis=0).mean() / k),
            "coverage": float((matrix.min(axis=1) <= real_radius).mean())}


def rare_category_coverage(train: pd.DataFrame, other: pd.DataFrame,
                           columns: list[str]) -> float | None:
    """Share of the training split's categories held by >= MIN_LABEL_ROWS rows that `other`
    holds at least once (None without such categories)."""
    held = total = 0
    for column in columns:
        if is_numeric(train[column]):
            continue
        counts = train[column].dropna().astype(str).value_counts()
        wanted = set(counts[counts >= MIN_LABEL_ROWS].index)
        present = set(other[column].dropna().astype(str))
        total += len(wanted)
        held += len(wanted & present)
    return held / total if total else None


def tail_share(holdout: pd.DataFrame, other: pd.DataFrame,
               columns: list[str]) -> dict[str, Any] | None:
    """Per numeric column, the share of holdout rows outside `other`'s range; the mean and
    the worst column."""
    shares = {}
    for column in columns:
        if not is_numeric(holdout[column]):
            continue
        values = as_float(holdout[column]).dropna()
        bounds = as_float(other[column]).dropna()
        if values.empty or bounds.empty:
            continue
        shares[column] = float(((values < bounds.min()) | (values > bounds.max())).mean())
    if not shares:
        return None
    worst = max(shares, key=shares.__getitem__)
    return {"mean": float(np.mean(list(shares.values()))), "worst_column": worst,
            "worst": shares[worst]}


def _kth_distance(points: np.ndarray, k: int) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    distances, _ = NearestNeighbors().fit(points).kneighbors(points, n_neighbors=k + 1)
    return distances[:, k]  # the point itself is its own nearest neighbour


def _sample(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= SAMPLE_ROWS:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), SAMPLE_ROWS, replace=False))]


class _Embedding:
    """Rows as vectors: numbers as their quantile in the training split (missing: 0 and a
    flag), categories one-hot among the training split's commonest values (a differing
    category counts as a distance of 1)."""

    def __init__(self, train: pd.DataFrame, columns: list[str]) -> None:
        self.columns = columns
        self.sorted: dict[str, np.ndarray] = {}
        self.levels: dict[str, list[str]] = {}
        for column in columns:
            if is_numeric(train[column]):
                self.sorted[column] = np.sort(as_float(train[column]).dropna().to_numpy())
            else:
                counts = train[column].astype(str).value_counts()
                self.levels[column] = list(counts.index[:TOP_CATEGORIES])

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for column in self.columns:
            if column in self.sorted:
                x = as_float(frame[column]).to_numpy(dtype=float)
                ranks = self.sorted[column]
                share = (np.searchsorted(ranks, np.nan_to_num(x), side="right") /
                         max(len(ranks), 1))
                missing = np.isnan(x)
                parts += [np.where(missing, 0.0, share), missing.astype(float)]
            else:
                texts = frame[column].astype(str).to_numpy()
                for level in self.levels[column]:
                    parts.append((texts == level) / np.sqrt(2))
        return np.column_stack(parts) if parts else np.zeros((len(frame), 1))
