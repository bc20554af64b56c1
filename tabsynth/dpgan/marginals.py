"""Noisy 2-way marginals of the encoded components, and the generator loss that matches them.

After the domain is fixed, every pair of columns gets a Gaussian-noised contingency table of
component indices (a row adds 1 to one cell: sensitivity 1, known domain, no threshold). The
generator is then also trained to reproduce these tables: that is post-processing of DP output,
so it costs nothing beyond the histograms themselves, and it gives the generator the pairwise
structure that a heavily noised discriminator struggles to convey.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from tabsynth.dpgan.encoding import Encoder

MAX_PAIRS = 300


def choose_pairs(n_columns: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """All column pairs, or a data-independent random subset of MAX_PAIRS of them."""
    pairs = list(itertools.combinations(range(n_columns), 2))
    if len(pairs) > MAX_PAIRS:
        picked = rng.choice(len(pairs), MAX_PAIRS, replace=False)
        pairs = [pairs[i] for i in sorted(picked)]
    return pairs


def noisy_pair_tables(components: np.ndarray, sizes: list[int], pairs: list[tuple[int, int]],
                      sigma: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Normalised contingency tables; sigma = 0 gives the exact ones (non-private mode)."""
    tables = []
    for a, b in pairs:
        counts = np.zeros((sizes[a], sizes[b]))
        np.add.at(counts, (components[:, a], components[:, b]), 1.0)
        if sigma > 0:
            counts = counts + rng.normal(0, sigma, counts.shape)
            counts[counts < 2 * sigma] = 0.0  # cells indistinguishable from noise
        counts = np.clip(counts, 0, None)
        total = counts.sum()
        tables.append(counts / total if total > 0 else np.full(counts.shape, 1 / counts.size))
    return tables


class PairLoss:
    """Mean total-variation distance between generated and target 2-way tables."""

    def __init__(self, encoder: Encoder, pairs: list[tuple[int, int]],
                 tables: list[np.ndarray], device: torch.device) -> None:
        self.spans = encoder.spans
        self.pairs = pairs
        self.targets = [torch.tensor(t, dtype=torch.float32, device=device) for t in tables]

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        probabilities = [torch.softmax(raw[:, s.start:s.start + s.size], dim=1) for s in self.spans]
        total = raw.new_zeros(())
        for (a, b), target in zip(self.pairs, self.targets, strict=True):
            joint = probabilities[a].T @ probabilities[b] / len(raw)
            total = total + 0.5 * (joint - target).abs().sum()
        return total / max(1, len(self.pairs))
