"""Post-processing: pick generated rows so that 1-way marginals match the noisy DP marginals.

Raking (iterative proportional fitting) gives each generated row a weight so that, column by
column, the weighted share of each component matches the DP marginal; rows are then drawn
without replacement in proportion to their weights. It reads only generated rows and DP
statistics, so it costs no privacy budget.
"""

from __future__ import annotations

import numpy as np

from tabsynth.dp.domain import Domain

POOL_FACTOR = 3  # generated rows per released row when calibrating


def rake_weights(components: np.ndarray, targets: list[np.ndarray | None],
                 iterations: int = 20, cap: float = 30.0) -> np.ndarray:
    """Weights for pool rows (components: (pool, columns)) matching target marginals (a column
    whose target is None is left as generated)."""
    weights = np.ones(len(components))
    for _ in range(iterations):
        for j, target in enumerate(targets):
            if target is None:
                continue
            current = np.bincount(components[:, j], weights=weights, minlength=len(target))
            current = current / max(current.sum(), 1e-12)
            factor = np.divide(target, current, out=np.ones_like(target), where=current > 0)
            weights *= factor[components[:, j]]
            weights = np.clip(weights / weights.mean(), 1.0 / cap, cap)
    return weights


def marginal_targets(domain: Domain) -> list[np.ndarray | None]:
    """Each column's noisy marginal; None for a public column, whose weights are placeholders
    (declared categories or bounds carry no frequencies)."""
    return [None if column.public else column.marginal for column in domain.columns]


def calibrated_choice(components: np.ndarray, targets: list[np.ndarray | None], count: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Indices of `count` pool rows drawn without replacement with raking weights."""
    weights = rake_weights(components, targets)
    return rng.choice(len(components), size=count, replace=False, p=weights / weights.sum())
