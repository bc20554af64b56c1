"""Columns as integer codes in one vocabulary shared by several tables, for counting with bincount.

A code stands for a label: a quantile bin of a numeric column fitted on train, the value of a
number with at most 20 distinct values in train (3 and 3.0 share one code), or the text of any
other value; missing values share the code of MISSING. Counting codes instead of strings keeps
the fidelity measures linear in the rows with no Python work per row.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsynth.evaluation.common import MISSING, as_float, is_numeric

MAX_DENSE_CELLS = 1 << 22  # a pair's joint counts go dense up to this many cells


@dataclass
class CodedColumn:
    """One column of several tables: `codes[i]` holds the codes of table i, `labels[c]` the text
    of code c."""

    labels: list[str]
    codes: list[np.ndarray]

    @property
    def size(self) -> int:
        return len(self.labels)

    def counts(self, table: int) -> np.ndarray:
        return np.bincount(self.codes[table], minlength=self.size)

    def shares(self, table: int) -> np.ndarray:
        counts = self.counts(table)
        return counts / max(1, counts.sum())


def encode(train: pd.DataFrame, frames: list[pd.DataFrame], columns: list[str],
           bins: int = 20) -> tuple[dict[str, CodedColumn], dict[str, np.ndarray]]:
    """Every column of `frames` coded; numbers with more than `bins` distinct values in train go
    into `bins` quantile bins of train. Returns the columns and the bin edges of binned ones."""
    coded, edges = {}, {}
    for column in columns:
        if is_numeric(train[column]) and train[column].nunique() > bins:
            values = as_float(train[column]).dropna()
            quantiles = np.quantile(values, np.linspace(0, 1, bins + 1)) if len(values) else []
            edges[column] = np.unique(quantiles)[1:-1]
            coded[column] = _binned([as_float(f[column]).to_numpy() for f in frames],
                                    edges[column])
        elif is_numeric(train[column]):
            coded[column] = _discrete([as_float(f[column]).to_numpy() for f in frames])
        else:
            coded[column] = _categorical([f[column] for f in frames])
    return coded, edges


def _binned(values: list[np.ndarray], edges: np.ndarray) -> CodedColumn:
    missing = len(edges) + 1
    codes = [np.where(np.isnan(x), missing, np.digitize(np.nan_to_num(x, nan=0.0), edges))
             for x in values]
    return CodedColumn([*(str(i) for i in range(missing)), MISSING], codes)


def _discrete(values: list[np.ndarray]) -> CodedColumn:
    """Numbers by their text (f"{v:g}"), so values printed alike share one code."""
    uniques, inverse = np.unique(np.concatenate(values), return_inverse=True)
    texts = np.array([MISSING if np.isnan(v) else f"{v:g}" for v in uniques], dtype=object)
    return _split(texts, inverse, values)


def _categorical(series: list[pd.Series]) -> CodedColumn:
    """Values by their text (str(value)); hashing is done on the values themselves when they are
    all strings already, else on their text."""
    texts, codes = {}, []
    for values in series:
        values = values.astype(object)
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            values = values.where(values.isna(), values.astype(str))
        local, uniques = pd.factorize(values, use_na_sentinel=True)
        names = [str(u) for u in uniques]
        if (local < 0).any():
            names.append(MISSING)
            local = np.where(local < 0, len(names) - 1, local)
        mapping = np.array([texts.setdefault(n, len(texts)) for n in names], dtype=np.int64)
        codes.append(mapping[local] if len(local) else np.zeros(0, dtype=np.int64))
    return CodedColumn(list(texts), codes)


def _split(texts: np.ndarray, inverse: np.ndarray, values: list[np.ndarray]) -> CodedColumn:
    labels, merged = np.unique(texts, return_inverse=True) if len(texts) else (texts, texts)
    codes = np.asarray(merged, dtype=np.int64)[inverse.ravel()]
    bounds = np.cumsum([0, *(len(v) for v in values)])
    return CodedColumn([str(t) for t in labels],
                       [codes[a:b] for a, b in itertools.pairwise(bounds)])


@dataclass
class PairCounts:
    """Joint counts of two columns per table over the cells seen in any table: cell i holds
    code rows[i] of the first column and code cols[i] of the second."""

    rows: np.ndarray
    cols: np.ndarray
    counts: list[np.ndarray]


def pair_counts(a: CodedColumn, b: CodedColumn) -> PairCounts:
    joint = [a.codes[i] * b.size + b.codes[i] for i in range(len(a.codes))]
    if a.size * b.size <= MAX_DENSE_CELLS:
        dense = [np.bincount(j, minlength=a.size * b.size) for j in joint]
        cells = np.flatnonzero(np.sum(dense, axis=0))
        counts = [d[cells] for d in dense]
    else:
        cells, inverse = np.unique(np.concatenate(joint), return_inverse=True)
        bounds = np.cumsum([0, *(len(j) for j in joint)])
        counts = [np.bincount(inverse.ravel()[lo:hi], minlength=len(cells))
                  for lo, hi in itertools.pairwise(bounds)]
    return PairCounts(cells // b.size, cells % b.size, counts)


def tvd_counts(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance between two count vectors over the same cells."""
    pa = a / a.sum() if a.sum() else a.astype(float)
    pb = b / b.sum() if b.sum() else b.astype(float)
    return 0.5 * float(np.abs(pa - pb).sum())


def cramers_v(rows: np.ndarray, cols: np.ndarray, counts: np.ndarray) -> float:
    """Cramér's V of a contingency table given by its cells, over the rows and columns that
    hold rows (chi² = n Σ O² / (row sum · column sum) − n over the non-empty cells)."""
    keep = counts > 0
    observed = counts[keep].astype(float)
    if not len(observed):
        return 0.0
    _, r = np.unique(rows[keep], return_inverse=True)
    _, c = np.unique(cols[keep], return_inverse=True)
    n_rows, n_cols = int(r.max()) + 1, int(c.max()) + 1
    if min(n_rows, n_cols) < 2:
        return 0.0
    row_sums = np.bincount(r, weights=observed)
    col_sums = np.bincount(c, weights=observed)
    n = float(observed.sum())
    chi2 = n * float((observed ** 2 / (row_sums[r] * col_sums[c])).sum()) - n
    return float(np.sqrt(max(chi2, 0.0) / (n * (min(n_rows, n_cols) - 1))))
