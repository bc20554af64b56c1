"""Small interval estimates shared by the privacy checks (all 95 %, two-sided)."""

from __future__ import annotations

import math

import numpy as np

Z = 1.959963984540054


def wilson(successes: float, n: int) -> tuple[float, float]:
    """Wilson score interval for a proportion."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def difference(a: float, n_a: int, b: float, n_b: int) -> tuple[float, float]:
    """Newcombe's hybrid score interval for the difference of two proportions a - b."""
    low_a, high_a = wilson(a * n_a, n_a)
    low_b, high_b = wilson(b * n_b, n_b)
    delta = a - b
    return (delta - math.sqrt((a - low_a) ** 2 + (high_b - b) ** 2),
            delta + math.sqrt((high_a - a) ** 2 + (b - low_b) ** 2))


def mean_interval(values: np.ndarray) -> tuple[float, float]:
    """Normal interval for the mean of bounded scores."""
    if not len(values):
        return (0.0, 1.0)
    mean = float(values.mean())
    half = Z * float(values.std(ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else 1.0
    return (mean - half, mean + half)


def median_interval(values: np.ndarray) -> tuple[float, float]:
    """Distribution-free interval for a median from order statistics."""
    ordered = np.sort(values)
    n = len(ordered)
    if not n:
        return (math.nan, math.nan)
    half = Z * math.sqrt(n) / 2
    low, high = int(max(0, math.floor(n / 2 - half))), int(min(n - 1, math.ceil(n / 2 + half)))
    return (float(ordered[low]), float(ordered[high]))


def auc_interval(auc: float, positives: int, negatives: int) -> tuple[float, float]:
    """Hanley & McNeil (1982) interval for a ROC AUC."""
    if positives < 1 or negatives < 1:
        return (0.0, 1.0)
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc)
                + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives)
    half = Z * math.sqrt(max(variance, 0.0))
    return (max(0.0, auc - half), min(1.0, auc + half))
