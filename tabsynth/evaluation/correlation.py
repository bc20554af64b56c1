"""Spearman rank correlations with each column ranked once, and the Kolmogorov-Smirnov statistic."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from tabsynth.evaluation.common import as_float


class Ranks:
    """A table's numeric columns as floats, ranked once per column on first use."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.values: dict[str, np.ndarray] = {}
        self.ranks: dict[str, np.ndarray] = {}

    def floats(self, column: str) -> np.ndarray:
        if column not in self.values:
            self.values[column] = as_float(self.frame[column]).to_numpy(dtype=float)
        return self.values[column]

    def spearman(self, a: str, b: str) -> float:
        """Spearman's rho over the rows where both are present (0 where undefined), as
        pandas' Series.corr(method="spearman") computes it."""
        x, y = self.floats(a), self.floats(b)
        present = ~(np.isnan(x) | np.isnan(y))
        if present.all():
            return _pearson(self._ranked(a), self._ranked(b))
        return _pearson(rankdata(x[present]), rankdata(y[present]))

    def _ranked(self, column: str) -> np.ndarray:
        if column not in self.ranks:
            self.ranks[column] = rankdata(self.floats(column))
        return self.ranks[column]

    def matrix(self, columns: list[str]) -> list[list[float]]:
        """Spearman correlations of every pair, rounded to 3 places; undefined ones are 0."""
        out = np.zeros((len(columns), len(columns)))
        for i, a in enumerate(columns):
            for j in range(i, len(columns)):
                out[i, j] = out[j, i] = self.spearman(a, columns[j])
        return out.round(3).tolist()


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2:
        return 0.0
    dx, dy = x - x.mean(), y - y.mean()
    denominator = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / denominator) if denominator > 0 else 0.0


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs
    (scipy's ks_2samp statistic, without its p-value, which is slow for small samples)."""
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    gap = (np.searchsorted(a, points, side="right") / len(a)
           - np.searchsorted(b, points, side="right") / len(b))
    return float(np.abs(gap).max())
