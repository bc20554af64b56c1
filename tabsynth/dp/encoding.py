"""Rows <-> vectors (the DP-GAN's input; the tokens build on it), fitted only from a
:class:`Domain` (DP or public).

Each column becomes a one-hot over its components (categories / point masses / quantile bins /
missing / other) plus, for columns with bins, one offset in [-1, 1] giving the position inside
the bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsynth.dp.domain import ColumnDomain, Domain, to_numeric

EPOCH = pd.Timestamp("1970-01-01")
# the days since 1970 that pandas can hold as timestamps (about 1677-09-22 to 2262-04-10)
DATE_DAYS = ((pd.Timestamp.min - EPOCH).days + 1, (pd.Timestamp.max - EPOCH).days - 1)


@dataclass(frozen=True)
class Span:
    """Where one column lives in the encoded vector."""

    start: int  # first component slot
    size: int  # number of components
    offset: int | None  # index of the offset slot, if the column has bins


class Encoder:
    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        spans, position = [], 0
        for column in domain.columns:
            size = column.n_components
            offset = position + size if column.n_bins else None
            spans.append(Span(position, size, offset))
            position += size + (1 if offset is not None else 0)
        self.spans: list[Span] = spans
        self.width = position
        starts, position = [], 0
        for column in domain.columns:
            starts.append(position)
            position += column.n_components
        self.cond_starts = starts
        self.cond_width = position

    @property
    def component_sizes(self) -> list[int]:
        return [c.n_components for c in self.domain.columns]

    def transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(encoded rows float32 (n, width), component index per column int64 (n, columns))."""
        n = len(frame)
        data = np.zeros((n, self.width), dtype=np.float32)
        components = np.zeros((n, len(self.spans)), dtype=np.int64)
        for j, (column, span) in enumerate(zip(self.domain.columns, self.spans, strict=True)):
            index, offset = _encode_column(column, frame[column.name])
            data[np.arange(n), span.start + index] = 1.0
            if span.offset is not None:
                data[:, span.offset] = offset
            components[:, j] = index
        return data, components

    def inverse(self, components: np.ndarray, offsets: np.ndarray) -> pd.DataFrame:
        """Rows from a component index per column and one offset per column (ignored if none)."""
        out = {}
        for j, column in enumerate(self.domain.columns):
            out[column.name] = _decode_column(column, components[:, j], offsets[:, j])
        return pd.DataFrame(out)


def _encode_column(column: ColumnDomain, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    n = len(values)
    offset = np.zeros(n, dtype=np.float32)
    labels = column.component_labels
    fallback = int(np.argmax(column.marginal))
    missing_index = labels.index("__missing__") if column.has_missing else fallback
    if column.kind == "categorical":
        lookup = {value: i for i, value in enumerate(column.categories)}
        other = len(column.categories) if column.has_other else fallback
        index = np.array([missing_index if _isna(v) else lookup.get(_plain(v), other)
                          for v in values], dtype=np.int64)
        return index, offset
    numbers, _ = to_numeric(values)
    x = numbers.to_numpy(dtype=float)
    index = np.full(n, missing_index, dtype=np.int64)
    present = ~np.isnan(x)
    points = np.asarray(column.points, dtype=float)
    n_points = len(points)
    is_point = np.zeros(n, dtype=bool)
    if n_points:
        position = np.clip(np.searchsorted(points, x), 0, n_points - 1)
        is_point = present & (points[position] == x)
        index[is_point] = position[is_point]
    rest = present & ~is_point
    if column.n_bins:
        edges = np.asarray(column.edges, dtype=float)
        clipped = np.clip(x[rest], edges[0], edges[-1])
        bins = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, column.n_bins - 1)
        width = np.maximum(edges[bins + 1] - edges[bins], 1e-12)
        index[rest] = n_points + bins
        offset[rest] = (np.clip((clipped - edges[bins]) / width, 0, 1) * 2 - 1).astype(np.float32)
    elif n_points:
        nearest = np.abs(points[None, :] - x[rest][:, None]).argmin(axis=1)
        index[rest] = nearest
    return index, offset


def _decode_column(column: ColumnDomain, index: np.ndarray, offset: np.ndarray) -> pd.Series:
    labels = column.component_labels
    n = len(index)
    missing = np.array([labels[i] == "__missing__" for i in index]) if column.has_missing else \
        np.zeros(n, dtype=bool)
    if column.kind == "categorical":
        values = column.categories + (["(other)"] if column.has_other else [])
        out = [None if missing[k] else values[i] for k, i in enumerate(index)]
        return pd.Series(out, dtype=object)
    n_points = len(column.points)
    x = np.full(n, np.nan)
    is_point = index < n_points
    if n_points:
        x[is_point] = np.asarray(column.points)[index[is_point]]
    is_bin = ~is_point & ~missing
    if column.n_bins:
        edges = np.asarray(column.edges, dtype=float)
        bins = np.clip(index[is_bin] - n_points, 0, column.n_bins - 1)
        share = (np.clip(offset[is_bin], -1, 1) + 1) / 2
        x[is_bin] = edges[bins] + share * (edges[bins + 1] - edges[bins])
        if column.integer:
            x[is_bin] = np.clip(np.floor(x[is_bin]), edges[0], edges[-1])
    if column.datetime:  # a spurious far grid bin (rare, DP noise) must not leave pandas' range
        x = np.clip(x, *DATE_DAYS)
        stamps = EPOCH + pd.to_timedelta(x, unit="D")
        return pd.Series(stamps)
    return pd.Series(x)


def _isna(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
