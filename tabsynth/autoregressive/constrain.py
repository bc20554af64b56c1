"""Conditions as masks over the autoregressive model's tokens.

A condition on a column allows some of its components (categories, point masses, bins that
meet the range) and, inside a bin that a range cuts, some of its within-bin steps. Sampling
draws each masked step from the model's distribution restricted to the allowed tokens and
resamples the rows drawn so far by the mass the mask kept (sequential importance resampling),
so the columns before a conditioned one follow their distribution given the condition, not
their unconditioned one. Masks read only the model's domain: conditioning is post-processing
of a fitted model, and a DP model stays DP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsynth.autoregressive.tokens import FINE_STEPS, TokenCodec, _linear_share
from tabsynth.conditions import Condition, matches
from tabsynth.dp.domain import ColumnDomain
from tabsynth.dp.encoding import EPOCH
from tabsynth.errors import ConfigError


@dataclass
class TokenMasks:
    """Per step of the codec: None (free), allowed tokens (vocabulary,) of a component step,
    or allowed within-bin tokens (components, FINE_STEPS) of a fine step, keyed by the
    column's component drawn at the step before."""

    steps: list[np.ndarray | None]

    @property
    def any(self) -> bool:
        return any(mask is not None for mask in self.steps)


def token_masks(codec: TokenCodec, conditions: list[Condition]) -> TokenMasks:
    """The masks that hold the codec's rows to `conditions` (one per column at most)."""
    by_name = {c.column: c for c in conditions}
    steps: list[np.ndarray | None] = []
    for step in codec.steps:
        column = codec.domain.columns[step.column]
        condition = by_name.get(column.name)
        if condition is None:
            steps.append(None)
        elif step.fine:
            steps.append(_fine_mask(column, condition))
        else:
            steps.append(_component_mask(column, condition))
    known = {c.name for c in codec.domain.columns}
    for name in by_name:
        if name not in known:
            raise ConfigError(f"the model did not learn column {name!r}, so it cannot be "
                              "conditioned on")
    return TokenMasks(steps)


def _component_mask(column: ColumnDomain, condition: Condition) -> np.ndarray:
    mask = np.zeros(column.n_components, dtype=bool)
    if column.kind == "categorical":
        if condition.values is None:
            raise ConfigError(f"column {column.name!r} is modelled as categories: give it "
                              "values ('=' or 'in'), not a range")
        for i, category in enumerate(column.categories):
            mask[i] = matches(category, condition.values)
        if not mask.any():
            raise ConfigError(f"no value the model draws for column {column.name!r} matches "
                              "the condition: check the spelling against the column's values")
        return mask
    if condition.values is not None:
        raise ConfigError(f"column {column.name!r} is modelled as numbers: give it a range "
                          "(>=, <, ...) or '=' a number")
    points = len(column.points)
    for i, point in enumerate(column.points):
        mask[i] = condition.holds_number(float(point))
    for b in range(column.n_bins):
        low, high = _bin_values(column, b)
        mask[points + b] = _meets(condition, low, high)
    if not mask.any():
        raise ConfigError(f"the range given for column {column.name!r} lies outside every "
                          "value the model draws for it")
    return mask


def _fine_mask(column: ColumnDomain, condition: Condition) -> np.ndarray:
    """Within each bin, the steps whose values meet the range (all steps elsewhere)."""
    mask = np.ones((column.n_components, FINE_STEPS), dtype=bool)
    points = len(column.points)
    shares = np.linspace(0, 1, FINE_STEPS + 1)
    for b in range(column.n_bins):
        component = np.full(FINE_STEPS + 1, points + b)
        linear = _linear_share(column, component, shares.copy())
        low, high = column.edges[b], column.edges[b + 1]
        values = low + linear * (high - low)
        allowed = np.array([_meets(condition, values[t], values[t + 1])
                            for t in range(FINE_STEPS)])
        if allowed.any():
            mask[points + b] = allowed
    return mask


def _bin_values(column: ColumnDomain, b: int) -> tuple[float, float]:
    low, high = float(column.edges[b]), float(column.edges[b + 1])
    if column.integer:  # decoded as whole numbers from low up to just below high
        return np.floor(low), max(np.floor(low), np.ceil(high) - 1)
    return low, high


def _meets(condition: Condition, low: float, high: float) -> bool:
    """Whether the closed interval [low, high] holds a value the condition allows."""
    if condition.low is not None and high < condition.low:
        return False
    return not (condition.high is not None and low > condition.high)


def hold_to_ranges(frame: pd.DataFrame, conditions: list[Condition],
                   codec: TokenCodec) -> pd.DataFrame:
    """Values drawn inside a within-bin step that a range cuts, moved onto its bound (the
    masks keep the steps that meet the range; this keeps the part of the step that does)."""
    whole = {c.name for c in codec.domain.columns if c.integer}
    for condition in conditions:
        if condition.is_range and condition.column in frame:
            frame[condition.column] = _clipped(frame[condition.column], condition,
                                               condition.column in whole)
    return frame


def _clipped(values: pd.Series, condition: Condition, whole: bool) -> pd.Series:
    dates = pd.api.types.is_datetime64_any_dtype(values)
    numbers = ((values - EPOCH) / pd.Timedelta(days=1)) if dates else values.astype(float)
    low, high = condition.low, condition.high
    if whole:  # the nearest whole numbers inside the range
        low = None if low is None else (np.floor(low) + 1 if not condition.low_inclusive
                                        else np.ceil(low))
        high = None if high is None else (np.ceil(high) - 1 if not condition.high_inclusive
                                          else np.floor(high))
    else:
        if low is not None and not condition.low_inclusive:
            low = np.nextafter(low, np.inf)
        if high is not None and not condition.high_inclusive:
            high = np.nextafter(high, -np.inf)
    clipped = numbers.clip(lower=low, upper=high)
    return EPOCH + pd.to_timedelta(clipped, unit="D") if dates else clipped
