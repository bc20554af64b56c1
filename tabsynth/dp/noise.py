"""Secret randomness for every DP mechanism, and the discrete Gaussian for integer counts.

A DP guarantee rests on noise the attacker cannot replay. Every draw a mechanism relies on
comes from a fresh seed read from the operating system (``os.urandom``), held in memory for the
duration of one fit and never recorded: not in the report, not in a saved model, not derived
from ``--seed`` (which only makes post-processing reproducible).

Integer counts (histograms, the row count, 2-way tables) get discrete Gaussian noise
(Canonne, Kamath & Steinke 2020), so a released count is an integer and its low-order bits say
nothing about the true count. A histogram in which one row adds 1 to one cell is, for a pair of
neighbouring tables, a one-dimensional discrete Gaussian mechanism of sensitivity 1, whose
Rényi divergence is at most that of the continuous Gaussian with the same sigma (CKS 2020,
Prop. 5 / Thm. 4): accounting it as a Gaussian of noise multiplier sigma is an upper bound.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


def secret_seed() -> int:
    """64 bits from the operating system's entropy source; use once, never store."""
    return int.from_bytes(os.urandom(8), "little")


def secret_torch_generator(device: str):
    """A torch.Generator on `device` seeded from the OS (not a CSPRNG: torch's Philox/MT)."""
    import torch

    generator = torch.Generator(device=device)
    generator.manual_seed(secret_seed())
    return generator


@contextmanager
def secret_global_seed() -> Iterator[None]:
    """Seed torch's global generators from the OS inside the block; restore them after it.

    For draws made through the global generator (initial weights, a GAN's inputs): the seed is
    not left behind in ``torch.initial_seed()`` and later code's randomness is unchanged.
    """
    import torch

    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(secret_seed())
        yield


class SecretNoise:
    """The noise of one DP fit: OS-seeded, never saved, and counting the releases it makes.

    ``releases`` counts noisy releases by kind (one histogram = one Gaussian mechanism), so a
    test can check that preprocessing made exactly the releases the budget plan charged.
    Pickling is refused: the generator's state would let anyone replay the noise.
    """

    def __init__(self) -> None:
        self._rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            int.from_bytes(os.urandom(32), "little"))))
        self.releases: Counter[str] = Counter()

    def __reduce__(self):  # pragma: no cover - exercised only by mistake
        raise TypeError("SecretNoise must not be pickled: its state would replay the DP noise")

    def counts(self, counts: np.ndarray, sigma: float, kind: str) -> np.ndarray:
        """Integer counts + discrete Gaussian noise of scale sigma, as one release of `kind`."""
        counts = np.asarray(counts, dtype=np.int64)
        self.releases[kind] += 1
        return counts + discrete_gaussian(sigma, counts.shape, self._rng)

    def coin_flips(self, size: int, probability: float) -> np.ndarray:
        """Independent Bernoulli(probability) draws (e.g. which rows go to the holdout)."""
        return self._rng.random(size) < probability


def discrete_gaussian(sigma: float, shape: tuple[int, ...] | int,
                      rng: np.random.Generator) -> np.ndarray:
    """Samples of N_Z(0, sigma^2): P(x) proportional to exp(-x^2 / (2 sigma^2)), x integer.

    Canonne, Kamath & Steinke (2020), Algorithm 3, vectorised: discrete Laplace proposals of
    scale t = floor(sigma) + 1, each accepted with probability
    exp(-(|y| - sigma^2/t)^2 / (2 sigma^2)). The acceptance test runs in floating point, which
    perturbs the output distribution by about 1e-16 relative; outputs are exact integers.
    """
    if sigma <= 0:
        raise ValueError("sigma must be positive")
    size = int(np.prod(shape))
    t = math.floor(sigma) + 1
    p_fail = math.exp(-1.0 / t)
    out = np.empty(size, dtype=np.int64)
    filled = 0
    while filled < size:
        want = max(64, int(1.3 * (size - filled)) + 16)
        # geometric on {0, 1, ...} with success probability 1 - exp(-1/t): difference of two
        # such draws is discrete Laplace with scale t
        proposal = (rng.geometric(1 - p_fail, want) - rng.geometric(1 - p_fail, want))
        accept = rng.random(want) < np.exp(
            -((np.abs(proposal) - sigma**2 / t) ** 2) / (2 * sigma**2))
        kept = proposal[accept][: size - filled]
        out[filled:filled + len(kept)] = kept
        filled += len(kept)
    return out.reshape(shape)


def discrete_gaussian_tail(sigma: float, threshold: int) -> float:
    """P(Z >= threshold) for Z ~ N_Z(0, sigma^2), summed exactly over the integers."""
    reach = math.ceil(40 * sigma) + 10
    support = np.arange(-reach, reach + 1)
    log_mass = -(support.astype(float) ** 2) / (2 * sigma**2)
    mass = np.exp(log_mass - log_mass.max())
    return float(mass[support >= threshold].sum() / mass.sum())


def release_threshold(sigma: float, delta: float) -> int:
    """Smallest integer T with P(Z >= T) <= delta: a count of 1 + Z clears 1 + T that rarely."""
    low, high = 0, math.ceil(40 * sigma) + 10
    while low < high:
        middle = (low + high) // 2
        if discrete_gaussian_tail(sigma, middle) <= delta:
            high = middle
        else:
            low = middle + 1
    return low
