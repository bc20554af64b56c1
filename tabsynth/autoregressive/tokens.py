"""Rows <-> token sequences for the autoregressive model, fitted only from a column Domain.

Every learned column is one step whose token is its domain component (category, point mass,
quantile bin, missing, other); a column with bins adds a second step, the position inside the
bin on FINE_STEPS equal parts, so numbers and dates are drawn at 24 x 16 quantile-like levels
rather than uniformly within a coarse bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsynth.dpgan.domain import Domain
from tabsynth.dpgan.encoding import Encoder

FINE_STEPS = 16
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
                share = (offsets[:, step.column] + 1) / 2
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

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Rows from tokens; a position inside its fine step is drawn uniformly."""
        n = len(tokens)
        components = np.zeros((n, len(self.domain.columns)), dtype=np.int64)
        offsets = np.zeros((n, len(self.domain.columns)), dtype=np.float32)
        for k, step in enumerate(self.steps):
            if step.fine:
                share = (tokens[:, k] + rng.random(n)) / FINE_STEPS
                offsets[:, step.column] = share * 2 - 1
            else:
                components[:, step.column] = tokens[:, k]
        return self.encoder.inverse(components, offsets)
