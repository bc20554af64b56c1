"""Cutting the holdout before anything is fitted: seeded and stratified, or by secret coin flips
in a DP run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabsynth.dp.noise import SecretNoise
from tabsynth.errors import TableError


def _too_few_rows(rows: int, fraction: float) -> TableError:
    return TableError(f"the table has {rows} rows: too few to split off a {fraction:.0%} "
                      "holdout and still train; provide more rows")


def secret_holdout_mask(rows: int, fraction: float) -> np.ndarray:
    """For a DP run: each row goes to the holdout by its own secret coin flip.

    Adding or removing a row leaves every other row where it was, and nobody can replay the
    flips (OS-seeded, never recorded). Draws leaving fewer than 2 holdout or 5 training rows are
    redrawn; that depends on the row count only, and never happens beyond a few dozen rows.
    """
    coins = SecretNoise()
    for _ in range(1000):
        mask = coins.coin_flips(rows, fraction)
        if mask.sum() >= 2 and rows - mask.sum() >= 5:
            return mask
    raise TableError(f"the table has too few rows to split off a {fraction:.0%} holdout and "
                     "still train; provide more rows")  # no count: a DP run's is private


def split_holdout(frame: pd.DataFrame, fraction: float, seed: int,
                  target: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut a seeded holdout before anything is fitted; stratified on the target when given."""
    from sklearn.model_selection import train_test_split

    holdout_rows = round(len(frame) * fraction)
    if holdout_rows < 2 or len(frame) - holdout_rows < 5:
        raise _too_few_rows(len(frame), fraction)
    strata = _strata(frame[target]) if target is not None else None
    train, holdout = train_test_split(frame, test_size=holdout_rows, random_state=seed,
                                      shuffle=True, stratify=strata)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def _strata(target: pd.Series) -> pd.Series | None:
    labels = target.astype(object).where(target.notna(), "__missing__")
    if pd.api.types.is_numeric_dtype(target) and target.nunique() > 20:
        labels = pd.qcut(target.rank(method="first"), 5, labels=False).astype(object)
        labels = labels.where(target.notna(), "__missing__")
    counts = labels.value_counts()
    labels = labels.where(labels.map(counts) >= 2, "__rare__")
    if labels.value_counts().min() < 2 or labels.nunique() < 2:
        return None
    return labels.astype(str)


