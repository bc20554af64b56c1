"""Rows <-> token sequences for the autoregressive model, fitted only from a column Domain.

Every learned column is one step whose token is its domain component (category, point mass,
quantile bin, missing, other); a column with bins adds a second step, the position inside the
bin on FINE_STEPS parts of equal mass (the domain's inner points; in a DP fit equal steps of
the grid's log scale, for declared bounds equal width), so a heavy tail's top bin is not filled
uniformly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsynth.dp.domain import INNER_STEPS, ColumnDomain, Domain
from tabsynth.dp.encoding import Encoder

FINE_STEPS = INNER_STEPS
PRIOR_FLOOR = 1e-3  # smallest starting probability of a token, times its vocabulary size


@dataclass(frozen=True)
class Step:
    """One position of the sequence: a column's component, or its within-bin position."""

    column: int  # index into the domain's columns
    fine: bool
    vocabulary: int


class TokenCodec:
    """Encodes rows as int64 tokens (n, steps) in `order`, and decodes them back."""

    def __init__(self, domain: Domain, order: list[int]) -> None:
        if sorted(order) != list(range(len(domain.columns))):
            raise ValueError("order must list every domain column once")
        self.domain, self.order = domain, list(order)
        self.encoder = Encoder(domain)
        steps = []
        for j in order:
            column = domain.columns[j]
            steps.append(Step(j, False, column.n_components))
            if column.n_bins:
                steps.append(Step(j, True, FINE_STEPS))
        self.steps: list[Step] = steps

    @property
    def vocabularies(self) -> list[int]:
        return [s.vocabulary for s in self.steps]

    def prior_log_probabilities(self) -> list[np.ndarray]:
        """Per step, log of the domain's marginal (uniform for a within-bin step).

        In a DP fit the domain's weights are noisy counts already paid for, so starting the
        network's output biases here is post-processing; it spares the optimiser the thousands
        of steps a small table would need to move biases from zero to skewed marginals.
        """
        priors = []
        for step in self.steps:
            if step.fine:
                priors.append(np.zeros(step.vocabulary))
                continue
            marginal = self.domain.columns[step.column].marginal
            floor = PRIOR_FLOOR / step.vocabulary
            priors.append(np.log(np.maximum(marginal, floor)))
        return priors

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        data, components = self.encoder.transform(frame)
        offsets = self._offsets(data)
        tokens = np.zeros((len(frame), len(self.steps)), dtype=np.int64)
        for k, step in enumerate(self.steps):
            if step.fine:
                column = self.domain.columns[step.column]
                share = _inner_share(column, components[:, step.column],
                                     (offsets[:, step.column] + 1) / 2)
                tokens[:, k] = np.clip((share * FINE_STEPS).astype(np.int64), 0, FINE_STEPS - 1)
            else:
                tokens[:, k] = components[:, step.column]
        return tokens

    def _offsets(self, data: np.ndarray) -> np.ndarray:
        offsets = np.zeros((len(data), len(self.domain.columns)), dtype=np.float32)
        for j, span in enumerate(self.encoder.spans):
            if span.offset is not None:
                offsets[:, j] = data[:, span.offset]
        return offsets

    def components(self, tokens: np.ndarray) -> np.ndarray:
        """Each row's domain component per domain column (n, columns), from its tokens."""
        components = np.zeros((len(tokens), len(self.domain.columns)), dtype=np.int64)
        for k, step in enumerate(self.steps):
            if not step.fine:
                components[:, step.column] = tokens[:, k]
        return components

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Rows from tokens; a position inside its fine step is drawn uniformly."""
        n = len(tokens)
        offsets = np.zeros((n, len(self.domain.columns)), dtype=np.float32)
        components = self.components(tokens)
        for k, step in enumerate(self.steps):
            if step.fine:
                column = self.domain.columns[step.column]
                share = (tokens[:, k] + rng.random(n)) / FINE_STEPS
                linear = _linear_share(column, components[:, step.column], share)
                offsets[:, step.column] = linear * 2 - 1
        return self.encoder.inverse(components, offsets)


def _bins_of(column: ColumnDomain, components: np.ndarray) -> np.ndarray:
    return np.clip(components - len(column.points), 0, column.n_bins - 1)


def _inner_share(column: ColumnDomain, components: np.ndarray,
                 linear: np.ndarray) -> np.ndarray:
    """Position inside the bin (linear in value) -> share of the bin's mass below it."""
    inner = column.inner  # empty (uniform) for declared bounds and older models
    if not inner:
        return linear
    edges, levels = np.asarray(column.edges), np.linspace(0, 1, FINE_STEPS + 1)
    bins, share = _bins_of(column, components), linear.astype(float).copy()
    for b in np.unique(bins):
        rows = bins == b
        value = edges[b] + linear[rows] * (edges[b + 1] - edges[b])
        share[rows] = np.interp(value, inner[b], levels)
    return share


def _linear_share(column: ColumnDomain, components: np.ndarray,
                  share: np.ndarray) -> np.ndarray:
    """Share of the bin's mass -> position inside the bin, linear in value (inverse of above)."""
    inner = column.inner
    if not inner:
        return share
    edges, levels = np.asarray(column.edges), np.linspace(0, 1, FINE_STEPS + 1)
    bins, linear = _bins_of(column, components), share.copy()
    for b in np.unique(bins):
        rows = bins == b
        value = np.interp(share[rows], levels, inner[b])
        if column.integer:  # a whole number's grid mass starts just below it: round, then
            # aim at the middle of its unit so the decoder's floor gives it back
            value = np.clip(np.round(value), edges[b], max(edges[b], edges[b + 1] - 1)) + 0.5
        linear[rows] = (value - edges[b]) / max(edges[b + 1] - edges[b], 1e-12)
    return np.clip(linear, 0, 1)
