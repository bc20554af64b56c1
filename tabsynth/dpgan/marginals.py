"""Noisy 2-way marginals of the encoded components, and the generator loss that matches them.

After the domain is fixed, every pair of columns gets a contingency table of component indices
with discrete Gaussian noise (a row adds 1 to one cell: sensitivity 1, known domain, no
threshold). The generator is then also trained to reproduce these tables: that is
post-processing of DP output, so it costs nothing beyond the tables themselves, and it gives
the generator the pairwise structure that a heavily noised discriminator struggles to convey.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from tabsynth.dp.noise import SecretNoise
from tabsynth.dpgan.model import ComponentLayout

MAX_PAIRS = 300


def choose_pairs(n_columns: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """All column pairs, or a data-independent random subset of MAX_PAIRS of them."""
    pairs = list(itertools.combinations(range(n_columns), 2))
    if len(pairs) > MAX_PAIRS:
        picked = rng.choice(len(pairs), MAX_PAIRS, replace=False)
        pairs = [pairs[i] for i in sorted(picked)]
    return pairs


def noisy_pair_tables(components: np.ndarray, sizes: list[int], pairs: list[tuple[int, int]],
                      sigma: float, noise: SecretNoise | None) -> list[np.ndarray]:
    """Normalised contingency tables with discrete Gaussian noise (one release per pair);
    `noise` None gives the exact ones (non-private mode)."""
    tables = []
    for a, b in pairs:
        cells = components[:, a] * sizes[b] + components[:, b]
        counts = np.bincount(cells, minlength=sizes[a] * sizes[b]).reshape(sizes[a], sizes[b])
        if noise is not None and sigma > 0:
            counts = noise.counts(counts, sigma, "pair table").astype(float)
            counts[counts < 2 * sigma] = 0.0  # cells indistinguishable from noise
        counts = np.clip(counts, 0, None)
        total = counts.sum()
        tables.append(counts / total if total > 0 else np.full(counts.shape, 1 / counts.size))
    return tables


class PairLoss:
    """Mean total-variation distance between generated and target 2-way tables.

    Up to ``dense_width`` components, all pairs come from one product ``P.T @ P`` compared with
    the targets laid out in one masked matrix; wider layouts go pair by pair to bound memory.
    """

    def __init__(self, layout: ComponentLayout, pairs: list[tuple[int, int]],
                 tables: list[np.ndarray], dense_width: int = 1024) -> None:
        device = layout.starts.device
        self.layout = layout
        self.pairs = pairs
        starts = layout.starts.tolist()
        self.dense = layout.cond_width <= dense_width
        if self.dense:
            target = torch.zeros(layout.cond_width, layout.cond_width)
            mask = torch.zeros(layout.cond_width, layout.cond_width, dtype=torch.bool)
            for (a, b), table in zip(pairs, tables, strict=True):
                rows = slice(starts[a], starts[a] + table.shape[0])
                cols = slice(starts[b], starts[b] + table.shape[1])
                target[rows, cols] = torch.as_tensor(table, dtype=torch.float32)
                mask[rows, cols] = True
            self.target, self.mask = target.to(device), mask.to(device)
        else:
            self.blocks = [(slice(starts[a], starts[a] + t.shape[0]),
                            slice(starts[b], starts[b] + t.shape[1]),
                            torch.as_tensor(t, dtype=torch.float32, device=device))
                           for (a, b), t in zip(pairs, tables, strict=True)]

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        """logits: (rows, components) in component order."""
        probabilities = self.layout.segment_softmax(logits)
        if self.dense:
            joint = probabilities.T @ probabilities / len(logits)
            distance = ((joint - self.target).abs() * self.mask).sum()
        else:
            distance = logits.new_zeros(())
            for rows, cols, target in self.blocks:
                joint = probabilities[:, rows].T @ probabilities[:, cols] / len(logits)
                distance = distance + (joint - target).abs().sum()
        return 0.5 * distance / max(1, len(self.pairs))
