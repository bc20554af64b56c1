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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsynth.autoregressive.tokens import FINE_STEPS, TokenCodec, _linear_share
from tabsynth.constraints.conditions import Condition, matches
from tabsynth.dp.domain import MISSING as MISSING_LABEL
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
        for i, category in enumerate(column.categories):
            mask[i] = (matches(category, condition.values) if condition.values is not None
                       else condition.holds_number(_as_number(category)))
        if not mask.any() and condition.values is None:
            raise ConfigError(f"the range given for column {column.name!r} lies outside every "
                              "value the model draws for it")
        if not mask.any():
            raise ConfigError(f"no value the model draws for column {column.name!r} matches "
                              "the condition: check the spelling against the column's values")
        return _with_missing(mask, column, condition)
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
    return _with_missing(mask, column, condition)


def _with_missing(mask: np.ndarray, column: ColumnDomain, condition: Condition) -> np.ndarray:
    """The missing component allowed too, for a condition a missing value meets."""
    if condition.missing_ok and column.has_missing:
        mask[column.component_labels.index(MISSING_LABEL)] = True
    return mask


def _as_number(category: object) -> float:
    """A category such as a code 3 as a number (NaN when it is not one)."""
    try:
        return float(category)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


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


class _Bounds:
    """The values each token of a numeric column can stand for: per component an interval
    [low, high] (a point: itself; a bin: its values), and per (component, within-bin step) the
    narrower interval of that step; NaN for missing and other components."""

    def __init__(self, column: ColumnDomain) -> None:
        n = column.n_components
        self.low, self.high = np.full(n, np.nan), np.full(n, np.nan)
        self.fine_low = np.full((n, FINE_STEPS), np.nan)
        self.fine_high = np.full((n, FINE_STEPS), np.nan)
        points = len(column.points)
        for i, point in enumerate(column.points):
            self.low[i] = self.high[i] = float(point)
            self.fine_low[i] = self.fine_high[i] = float(point)
        shares = np.linspace(0, 1, FINE_STEPS + 1)
        for b in range(column.n_bins):
            c = points + b
            self.low[c], self.high[c] = _bin_values(column, b)
            linear = _linear_share(column, np.full(FINE_STEPS + 1, c), shares.copy())
            low, high = column.edges[b], column.edges[b + 1]
            values = low + linear * (high - low)
            if column.integer:
                values = np.clip(np.floor(values), self.low[c], self.high[c])
            self.fine_low[c], self.fine_high[c] = values[:-1], values[1:]

    def of_rows(self, component: np.ndarray, fine: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's interval from its drawn component (and within-bin step, when drawn)."""
        if fine is None:
            return self.low[component], self.high[component]
        return self.fine_low[component, fine], self.fine_high[component, fine]


def rule_masks(codec: TokenCodec, rules: list) -> list[list[Callable]]:
    """Per step, functions of the tokens drawn so far giving each row's allowed tokens
    (n, vocabulary) under the rules between two columns; the step of the column drawn later
    carries them. Intervals are those of whole tokens, so a row may still break a rule
    inside its last step: `settle_orders` and the caller's final check see to those."""
    from tabsynth.constraints.rules import Implication, Order

    names = [c.name for c in codec.domain.columns]
    steps_of: dict[str, list[int]] = {}
    for k, step in enumerate(codec.steps):
        steps_of.setdefault(names[step.column], []).append(k)
    out: list[list[Callable]] = [[] for _ in codec.steps]
    for rule in rules:
        if isinstance(rule, Order) and rule.left in steps_of and rule.right in steps_of:
            _order_masks(codec, rule, steps_of, out)
        elif isinstance(rule, Implication) and rule.when.column in steps_of and \
                rule.then.column in steps_of:
            _implication_masks(codec, rule, steps_of, out)
    return out


def _drawn(tokens: np.ndarray, steps: list[int]) -> tuple[np.ndarray, np.ndarray | None]:
    return tokens[:, steps[0]], (tokens[:, steps[1]] if len(steps) > 1 else None)


def _order_masks(codec: TokenCodec, rule, steps_of: dict[str, list[int]],
                 out: list[list[Callable]]) -> None:
    domain = {c.name: c for c in codec.domain.columns}
    left, right = domain[rule.left], domain[rule.right]
    if left.kind != "numeric" or right.kind != "numeric":
        return
    bounds = {rule.left: _Bounds(left), rule.right: _Bounds(right)}
    later_is_right = steps_of[rule.right][0] > steps_of[rule.left][0]
    later, earlier = (rule.right, rule.left) if later_is_right else (rule.left, rule.right)
    mine, theirs = bounds[later], bounds[earlier]

    def allowed(low: np.ndarray, high: np.ndarray, other_low: np.ndarray,
                other_high: np.ndarray) -> np.ndarray:
        if later_is_right:  # right must reach above the left's lowest value
            ok = high > other_low[:, None] if not rule.or_equal else \
                high >= other_low[:, None]
        else:  # left must reach below the right's highest value
            ok = low < other_high[:, None] if not rule.or_equal else \
                low <= other_high[:, None]
        return ok | np.isnan(low) | np.isnan(other_low)[:, None]

    def component_mask(tokens: np.ndarray) -> np.ndarray:
        other_low, other_high = theirs.of_rows(*_drawn(tokens, steps_of[earlier]))
        return allowed(mine.low[None, :], mine.high[None, :], other_low, other_high)

    def fine_mask(tokens: np.ndarray) -> np.ndarray:
        other_low, other_high = theirs.of_rows(*_drawn(tokens, steps_of[earlier]))
        component = tokens[:, steps_of[later][0]]
        return allowed(mine.fine_low[component], mine.fine_high[component], other_low,
                       other_high)

    out[steps_of[later][0]].append(component_mask)
    if len(steps_of[later]) > 1:
        out[steps_of[later][1]].append(fine_mask)


def _implication_masks(codec: TokenCodec, rule, steps_of: dict[str, list[int]],
                       out: list[list[Callable]]) -> None:
    domain = {c.name: c for c in codec.domain.columns}
    when, then = rule.when, rule.then
    masks = {}
    for condition in (when, then):
        column = domain[condition.column]
        fine = _fine_mask(column, condition) if column.n_bins and condition.is_range else None
        masks[condition.column] = (_component_mask(column, condition), fine)

    def meets(tokens: np.ndarray, condition) -> np.ndarray:
        component_ok, fine_ok = masks[condition.column]
        component, fine = _drawn(tokens, steps_of[condition.column])
        ok = component_ok[component]
        if fine_ok is not None and fine is not None:
            ok = ok & fine_ok[component, fine]
        return ok

    then_later = steps_of[then.column][0] > steps_of[when.column][0]
    later = then.column if then_later else when.column
    component_ok, fine_ok = masks[later]

    def rows_restricted(tokens: np.ndarray) -> np.ndarray:
        # then later: rows whose `when` holds must meet `then`; when later: rows whose
        # `then` fails must not meet `when`
        return meets(tokens, when) if then_later else ~meets(tokens, then)

    def component_mask(tokens: np.ndarray) -> np.ndarray:
        wanted = component_ok if then_later else ~component_ok
        free = np.ones_like(wanted)
        return np.where(rows_restricted(tokens)[:, None], wanted[None, :], free[None, :])

    out[steps_of[later][0]].append(component_mask)
    if fine_ok is not None and len(steps_of[later]) > 1:
        def fine_mask(tokens: np.ndarray) -> np.ndarray:
            component = tokens[:, steps_of[later][0]]
            wanted = fine_ok[component] if then_later else ~fine_ok[component]
            return np.where(rows_restricted(tokens)[:, None], wanted, True)

        out[steps_of[later][1]].append(fine_mask)


def step_allowed(codec: TokenCodec, masks: TokenMasks | None,
                 rules: list[list[Callable]]) -> list[np.ndarray | Callable | None]:
    """Per step, what Made.sample takes: a condition's fixed mask, or a function of the drawn
    tokens when rules between columns add rows' own masks (all of them must allow a token)."""
    out: list[np.ndarray | Callable | None] = []
    for k, step in enumerate(codec.steps):
        fixed = masks.steps[k] if masks is not None else None
        functions = rules[k] if rules else []
        if not functions:
            out.append(fixed)
            continue

        def combined(tokens: np.ndarray, fixed=fixed, functions=functions, k=k,
                     vocabulary=step.vocabulary) -> np.ndarray:
            if fixed is None:
                allowed = np.ones((len(tokens), vocabulary), dtype=bool)
            elif fixed.ndim == 2:
                allowed = fixed[tokens[:, k - 1]].copy()
            else:
                allowed = np.broadcast_to(fixed, (len(tokens), vocabulary)).copy()
            for function in functions:
                allowed &= function(tokens)
            return allowed

        out.append(combined)
    return out


def settle_orders(frame: pd.DataFrame, rules: list, units: dict[str, float],
                  positions: dict[str, int]) -> pd.DataFrame:
    """Rows that break an order between two columns inside their last drawn step: the column
    drawn later (`positions`: each column's first step) moved just past the other, by its
    precision (`units`, in days for dates)."""
    from tabsynth.constraints.rules import Order

    for rule in rules:
        if not isinstance(rule, Order) or rule.left not in frame or rule.right not in frame:
            continue
        # the column drawn later moves (a made-up column, absent from positions, is last)
        move_right = positions.get(rule.right, 10**9) > positions.get(rule.left, 10**9 - 1)
        moved, other = (rule.right, rule.left) if move_right else (rule.left, rule.right)
        dates = pd.api.types.is_datetime64_any_dtype(frame[moved])
        a, b = (_as_days(frame[c]) for c in (moved, other))
        gap = 0.0 if rule.or_equal else units.get(moved, 0.0)
        if move_right:
            fixed = np.where(a < b + gap, b + gap, a) if gap else np.maximum(a, b)
        else:
            fixed = np.where(a > b - gap, b - gap, a) if gap else np.minimum(a, b)
        fixed = np.where(np.isnan(a) | np.isnan(b), a, fixed)
        if not gap and not rule.or_equal:  # no precision known: the next float
            fixed = np.where(fixed == b, np.nextafter(b, np.inf if move_right else -np.inf),
                             fixed)
        frame[moved] = EPOCH + pd.to_timedelta(fixed, unit="D") if dates else fixed
    return frame


def _as_days(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        return ((values - EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
