"""Exact nearest neighbours for mixed tables, fast enough for whole reference sets.

The distance is Gower-like: one per categorical mismatch, plus the absolute difference of each
scaled number (a number missing on either side adds nothing; its missingness is a categorical
column of its own). One-hot encodings make k-d trees and brute force slow on wide categorical
tables, so the reference rows sit in a trie of their categorical values (sorted
lexicographically) and a branch-and-bound search visits a subtree only while its mismatches can
still beat the current k-th best distance; inside a leaf, rows are sorted by one number and
scanned outwards from the query. The result is exact; ties go to the row found first, and rows
are shuffled (seeded) before sorting so that a tie picks an arbitrary row, not a systematic one.

On a cluster (a job run with a Ray address) a long query is cut into parts searched by the
cluster's workers: the index goes into the object store once, each part comes back as its own
distances and positions, and the reference is dropped afterwards. The answer is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from tabsynth import cluster
from tabsynth.evaluation.common import as_float, is_numeric

SCALINGS = ("iqr", "range")
SHARD_ROWS = 20_000  # a query is cut into parts on a cluster only from this many rows per part


@dataclass
class Encoded:
    """Rows of one table: categorical codes (shared across tables) and scaled numbers."""

    cat: np.ndarray  # int32, rows x categorical columns (missingness of numbers included)
    num: np.ndarray  # float64, rows x numeric columns (NaN where missing)


def encode_tables(columns: list[str], reference: pd.DataFrame, frames: list[pd.DataFrame],
                  scaling: str = "iqr") -> list[Encoded]:
    """Encode tables that are compared together: shared category codes, scaled numbers.

    A column is numeric when it is numeric (or a date) in `reference`. Numbers are divided by a
    scale: the reference's interquartile range ("iqr", falling back to the 5-95 % range, the
    standard deviation, then 1) or the full range over all tables ("range", anonymeter's Gower
    scaling). A number's missingness becomes a categorical column of its own.
    """
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {SCALINGS}")
    numeric = [c for c in columns if is_numeric(reference[c])]
    sizes = np.cumsum([0] + [len(f) for f in frames])
    cat_blocks = []
    for column in (c for c in columns if c not in numeric):
        codes = pd.factorize(pd.concat([_labels(f[column]) for f in frames],
                                       ignore_index=True))[0]
        cat_blocks.append(codes)
    num_blocks = []
    for column in numeric:
        values = [as_float(f[column]).to_numpy() for f in frames]
        num_blocks.append(np.concatenate(values) / _scale(reference[column], values, scaling))
        missing = np.isnan(num_blocks[-1])
        if missing.any():
            cat_blocks.append(missing.astype(np.int64))
    cat = (np.column_stack(cat_blocks).astype(np.int32) if cat_blocks
           else np.zeros((sizes[-1], 0), np.int32))
    num = np.column_stack(num_blocks) if num_blocks else np.zeros((sizes[-1], 0))
    return [Encoded(cat[a:b], num[a:b]) for a, b in pairwise(sizes)]


def _labels(values: pd.Series) -> pd.Series:
    """Category labels comparable across tables (3 and 3.0 meet; missing is a label)."""
    if pd.api.types.is_float_dtype(values):
        text = values.map(lambda v: f"{v:g}")
    else:
        text = values.astype(str)
    return text.where(values.notna(), "\x00missing")


def _scale(values: pd.Series, parts: list[np.ndarray], scaling: str) -> float:
    if scaling == "range":
        both = np.concatenate(parts) if parts else np.array([])
        both = both[~np.isnan(both)]
        spread = float(both.max() - both.min()) if len(both) else 0.0
        return spread if spread > 0 else 1.0
    x = as_float(values).dropna().to_numpy()
    if not len(x):
        return 1.0
    for low, high in ((25, 75), (5, 95)):
        spread = float(np.subtract(*np.percentile(x, [high, low])))
        if spread > 0:
            return spread
    return float(x.std()) or 1.0


class MixedIndex:
    """Exact k nearest reference rows under the mixed distance; see the module docstring."""

    def __init__(self, reference: Encoded, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        cat, num = reference.cat, reference.num
        # scan leaves by the most varied number; compare keys where mismatches are likeliest
        self.num_order = np.argsort([-len(np.unique(num[:, j])) for j in range(num.shape[1])],
                                    kind="stable")
        num = num[:, self.num_order]
        self.check = np.argsort([-_impurity(cat[:, j]) for j in range(cat.shape[1])],
                                kind="stable").astype(np.int64)
        keys = [rng.random(len(cat))]
        if num.shape[1]:
            keys.append(num[:, 0])
        keys += [cat[:, j] for j in range(cat.shape[1] - 1, -1, -1)]
        order = np.lexsort(keys) if len(cat) else np.zeros(0, np.int64)
        cat, self.num = cat[order], np.ascontiguousarray(num[order])
        self.order, self.size = order, len(order)
        changed = np.ones(len(cat), bool)
        if len(cat):
            changed[1:] = (cat[1:] != cat[:-1]).any(axis=1)
        starts = np.flatnonzero(changed)
        self.keys = np.ascontiguousarray(cat[starts], dtype=np.int32)
        self.starts = np.append(starts, len(cat)).astype(np.int64)
        if len(cat) and num.shape[1]:
            low = np.fmin.reduceat(self.num, starts, axis=0)
            high = np.fmax.reduceat(self.num, starts, axis=0)
        else:
            low = high = np.zeros((len(starts), num.shape[1]))
        # a number missing in every row of a leaf bounds nothing
        self.low = np.where(np.isnan(low), -np.inf, low)
        self.high = np.where(np.isnan(high), np.inf, high)
        # per column j: the leaf keys with column j blanked, sorted (keys one category off)
        width = self.keys.shape[1]
        self.drop_keys = np.empty((width, len(self.keys), width), np.int32)
        self.drop_leaf = np.empty((width, len(self.keys)), np.int64)
        for j in range(width):
            blanked = self.keys.copy()
            blanked[:, j] = -1
            order = np.lexsort(blanked.T[::-1]) if len(blanked) else np.zeros(0, np.int64)
            self.drop_keys[j], self.drop_leaf[j] = blanked[order], order

    def query(self, queries: Encoded, k: int = 1,
              horizon: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Distances and reference row positions of the k nearest rows, nearest first.

        Only rows nearer than `horizon` are looked for (a far cheaper search): a slot with no
        such row holds distance inf."""
        k = max(1, min(k, self.size))
        q_num = np.ascontiguousarray(queries.num[:, self.num_order])
        q_cat = np.ascontiguousarray(queries.cat, dtype=np.int32)
        if not self.size:
            return (np.full((len(q_cat), 1), np.inf), np.zeros((len(q_cat), 1), np.int64))
        parts = min(cluster.query_shards(), len(q_cat) // SHARD_ROWS)
        if parts > 1:
            distances, positions = self._query_on_cluster(q_cat, q_num, k, horizon, parts)
        else:
            distances, positions = self._search(q_cat, q_num, k, horizon)
        return distances, self.order[positions]

    def _search(self, q_cat: np.ndarray, q_num: np.ndarray, k: int,
                horizon: float) -> tuple[np.ndarray, np.ndarray]:
        from tabsynth.evaluation._kernels import knn

        return knn(self.keys, self.starts, self.low, self.high, self.check, self.drop_keys,
                   self.drop_leaf, self.num, q_cat, q_num, k, float(horizon))

    def _query_on_cluster(self, q_cat: np.ndarray, q_num: np.ndarray, k: int, horizon: float,
                          parts: int) -> tuple[np.ndarray, np.ndarray]:
        """The search cut into `parts` runs of consecutive queries, one task each."""
        import ray

        search = ray.remote(num_cpus=1, max_retries=0)(_search_part)
        index = ray.put(self)
        bounds = np.linspace(0, len(q_cat), parts + 1).astype(int)
        try:
            found = ray.get([search.remote(index, q_cat[a:b], q_num[a:b], k, horizon)
                             for a, b in pairwise(bounds)])
        finally:
            del index  # the last reference: the object store frees the index
        return (np.concatenate([d for d, _ in found]), np.concatenate([p for _, p in found]))


def _impurity(codes: np.ndarray) -> float:
    """Chance that two random rows differ in this column (Gini impurity)."""
    shares = np.unique(codes, return_counts=True)[1] / max(1, len(codes))
    return float(1 - (shares**2).sum())


def _search_part(index: MixedIndex, q_cat: np.ndarray, q_num: np.ndarray, k: int,
                 horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """One part of a query, searched by a worker of the cluster."""
    return index._search(q_cat, q_num, k, horizon)
