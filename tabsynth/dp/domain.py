"""Each column's domain, learned with differential privacy or declared public.

Every statistic the encodings (the DP-GAN's vectors, the autoregressive tokens) use comes from
here, and here only from Gaussian-noised histograms (L2 sensitivity 1 each: a row falls in one
bucket) or from what the user declared public. Values of unknown domain (categories, exact
numeric values) are released only when their noisy count clears a threshold chosen so that a
value held by one row is released with probability at most `delta_threshold` over all such
histograms together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tabsynth import formatting
from tabsynth.dp.noise import SecretNoise, release_threshold
from tabsynth.dp.public import PublicColumn
from tabsynth.dp.ranges import (
    BINS_PER_DECADE,
    CUT_SHARE,
    GRID_LOW_DECADE,
    GRID_RELEASES,
    LEVEL_RELEASES,
    Reading,
    describe,
    grid_edges,
    level_counts,
    level_sigmas,
    read_levels,
)
from tabsynth.errors import ConfigError
from tabsynth.schema import ColumnSpec, Schema

MISSING = "__missing__"
OTHER = "(other)"
MAX_BINS = 24
# the public date (days since 1970: 1 January 2025) from which dates are placed on the range
# grid (dp/ranges.py): a constant, so that it says nothing about the data
DATE_GRID_ORIGIN = float((pd.Timestamp("2025-01-01") - pd.Timestamp("1970-01-01")).days)
TAIL_MASS = 0.001  # exact mode: share of the mass left outside the bounds, each side
POINT_MASS_SHARE = 0.005
CUT_WIDTHS = 3.0  # noise widths the values lost to the cut must clear to be named
INNER_STEPS = 16  # equal-mass steps inside each quantile bin (the autoregressive fine tokens)
# A DP range of amounts ends this many fine grid cells (one middle-level cell, a factor of
# 1.58) past the last mass read, where a tail too thin to clear the noise most likely lies:
# online_shoppers at ε = 1 (9,864 rows) had 0.92 % of holdout rows outside the synthetic
# ranges, 0.40-0.52 % with it. Not for codes or dates (values past the last one read would be
# new codes or dates), not past a released point mass at the end, and never across zero. A
# column of codes with many values (postcodes) learned as whole numbers gets it too: set its
# kind to categorical to keep its codes.
TAIL_REACH = 8
# A reaching range whose end nearer zero lies in the grid's first decade (under 10^-2) and
# within this share of its far end reaches zero itself: the log grid spreads the values between
# such an end and zero (rates of 0.001, exact zeros too few to be a point mass) over dozens of
# cells that no noise lets through (online_shoppers' ExitRates at ε = 1: 0.9 % of its rows
# below the range), while on the column's own scale the stretch is under 2 % of its range.
ZERO_REACH_SHARE = 0.02


@dataclass
class ColumnDomain:
    """Components of one column (categories, point masses, quantile bins, missing, other)."""

    name: str
    kind: str  # "categorical" | "numeric"
    integer: bool = False
    datetime: bool = False
    categories: list[object] = field(default_factory=list)  # categorical: released values
    points: list[float] = field(default_factory=list)  # numeric: released point masses
    edges: list[float] = field(default_factory=list)  # numeric: bin edges (len = bins + 1)
    # numeric: per bin, INNER_STEPS + 1 points from its low to its high edge splitting the
    # grid mass inside it equally, or with DP in equal steps of the grid's log scale; empty
    # (uniform inside each bin) for declared bounds
    inner: list[list[float]] = field(default_factory=list)
    has_missing: bool = False
    has_other: bool = False
    weights: list[float] = field(default_factory=list)  # noisy marginal over components
    public: bool = False
    note: str = ""  # set when DP left too little to describe the column

    def __setstate__(self, state: dict) -> None:
        state.setdefault("inner", [])  # pickled before inner points existed
        self.__dict__.update(state)

    @property
    def n_bins(self) -> int:
        return max(0, len(self.edges) - 1)

    @property
    def component_labels(self) -> list[str]:
        if self.kind == "categorical":
            labels = [str(c) for c in self.categories]
            if self.has_other:
                labels.append(OTHER)
        else:
            labels = [f"={p:g}" for p in self.points]
            labels += [f"[{a:g},{b:g})" for a, b in zip(self.edges[:-1], self.edges[1:],
                                                       strict=False)]
        if self.has_missing:
            labels.append(MISSING)
        return labels

    @property
    def n_components(self) -> int:
        return len(self.component_labels)

    @property
    def marginal(self) -> np.ndarray:
        weights = np.clip(np.asarray(self.weights, dtype=float), 0, None)
        if weights.sum() <= 0:
            return np.full(self.n_components, 1.0 / self.n_components)
        return weights / weights.sum()


@dataclass
class Domain:
    columns: list[ColumnDomain]
    mechanisms: int  # Gaussian mechanisms (sensitivity 1) spent on the column histograms
    sigma: float
    delta_threshold: float
    threshold: float | None  # a value of unknown domain is released when its noisy count > this

    def __getitem__(self, name: str) -> ColumnDomain:
        return next(c for c in self.columns if c.name == name)


def to_numeric(values: pd.Series) -> tuple[pd.Series, bool]:
    """Numbers as floats; datetimes as days since 1970 (returned flag says it was a date)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        days = (values - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        return days.astype(float), True
    return pd.to_numeric(values, errors="coerce").astype(float), False


def numbers_as_categories(spec: ColumnSpec) -> bool:
    """A categorical column of whole numbers (codes, counts with few values). Under DP its
    domain is numeric: values frequent enough are released as point masses like categories, and
    the rarer ones keep their range through the grid levels instead of becoming "(other)"."""
    return spec.kind == "categorical" and str(spec.dtype).startswith("int")


def _ranged(spec: ColumnSpec) -> bool:
    """Whether a DP domain learns the column as numbers (point masses + grid levels)."""
    return spec.kind in ("numeric", "integer", "datetime") or numbers_as_categories(spec)


def plan_mechanisms(schema: Schema, public: dict[str, PublicColumn]) -> tuple[int, int]:
    """(Gaussian mechanisms, of which unknown-domain histograms) a DP fit's preprocessing spends.

    One histogram is one mechanism of L2 sensitivity 1 (a row adds 1 to one cell): per learned
    column its histogram (a numeric column also its grid levels' releases, dp/ranges.py), per
    regenerated column its missing count, and one noisy row count for the whole table.
    """
    mechanisms, unknown = 1, 0  # the noisy row count
    for spec in schema.included:
        if spec.regenerated:
            mechanisms += 1  # missing count of a made-up column
        elif spec.name in public:
            continue
        elif _ranged(spec):
            mechanisms += 1 + GRID_RELEASES  # exact-value histogram (unknown domain) + grid
            unknown += 1
        elif spec.kind == "boolean":
            mechanisms += 1  # public domain {True, False, missing}: counts only
        else:
            mechanisms += 1
            unknown += 1
    return mechanisms, unknown


def learn_domain(frame: pd.DataFrame, schema: Schema, sigma: float, delta_threshold: float,
                 public: dict[str, PublicColumn], noise: SecretNoise | None,
                 noisy_n: float) -> Domain:
    """Noisy histograms -> column domains; `noise` None (sigma 0) is the exact, non-private mode.

    `noisy_n` is the row count already released (exact in the non-private mode).
    """
    _, unknown = plan_mechanisms(schema, public)
    private = noise is not None and sigma > 0
    threshold = None
    if private and unknown:
        threshold = float(release_threshold(sigma, delta_threshold / unknown))
    counter = _Counter(noise if private else None, sigma)
    columns = []
    for spec in schema.learned:
        declared = public.get(spec.name)
        if declared is not None:
            columns.append(_public_column(spec.name, spec.kind, declared))
        elif spec.kind in ("numeric", "integer", "datetime") or (
                private and numbers_as_categories(spec)):
            columns.append(_numeric_column(spec, frame[spec.name], counter, threshold,
                                           noisy_n))
        else:
            columns.append(_categorical_column(spec, frame[spec.name], counter, threshold,
                                               noisy_n))
    return Domain(columns, counter.releases, sigma if private else 0.0, delta_threshold,
                  threshold)


class _Counter:
    """Releases histograms: exact without noise, else through the fit's secret noise."""

    def __init__(self, noise: SecretNoise | None, sigma: float) -> None:
        self.noise, self.sigma, self.releases = noise, sigma, 0

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        if self.noise is None:
            return np.asarray(counts, dtype=float)
        self.releases += 1
        return self.noise.counts(counts, self.sigma, "histogram").astype(float)


def _categorical_column(spec: ColumnSpec, values: pd.Series, release: _Counter,
                        threshold: float | None, noisy_n: float) -> ColumnDomain:
    missing = int(values.isna().sum())
    if spec.kind == "boolean":
        present = values.dropna().astype(bool)
        noisy = release(np.array([int(present.sum()), int((~present).sum()), missing]))
        return ColumnDomain(spec.name, "categorical", categories=[True, False],
                            has_missing=True, weights=list(np.clip(noisy, 0, None)))
    counted = values.dropna().value_counts(sort=False)
    noisy = release(np.append(counted.to_numpy(), missing))  # one histogram, missing cell last
    noisy, missing_noisy = noisy[:-1], float(noisy[-1])
    keep = noisy > threshold if threshold is not None else np.ones(len(noisy), bool)
    categories = [counted.index[i] for i in np.flatnonzero(keep)]
    order = np.argsort([str(c) for c in categories], kind="stable")
    categories = [categories[i] for i in order]
    kept_weights = list(noisy[keep][order])
    has_missing = missing_noisy > (threshold or 0.0)
    has_other = False
    weights = list(kept_weights)
    if threshold is not None:  # "(other)" exists when the released counts leave room for it
        other = noisy_n - float(np.sum(kept_weights)) - max(missing_noisy, 0.0)
        margin = max(threshold, 2 * release.sigma * np.sqrt(len(kept_weights) + 2))
        has_other = other > margin
        if has_other:
            weights.append(other)
    if has_missing:
        weights.append(missing_noisy)
    note = ""
    if not categories:
        note = ("no category is frequent enough to be released at this ε: every value "
                f"becomes {OTHER!r}; declare the categories public or raise ε")
    elif has_other and noisy_n > 0:  # from released counts only: post-processing
        share = min(1.0, weights[len(kept_weights)] / noisy_n)
        note = (f"about {formatting.rounded_percent(share)} of its rows hold values too rare to be "
                f"learned at this ε and are drawn as {OTHER!r}; declare the column's "
                "categories public (they then cost no budget) or raise ε to keep them")
    if not categories and not has_other:
        has_other, weights = True, [1.0, *weights]
    return ColumnDomain(spec.name, "categorical", categories=categories, has_other=has_other,
                        has_missing=has_missing, weights=[max(w, 0.0) for w in weights],
                        note=note)


def _numeric_column(spec: ColumnSpec, values: pd.Series, release: _Counter,
                    threshold: float | None, noisy_n: float) -> ColumnDomain:
    numbers, is_date = to_numeric(values)
    present = numbers.dropna()
    missing = int(numbers.isna().sum())
    # from the schema: the values' look is not released
    integer = spec.kind == "integer" or numbers_as_categories(spec)

    # 1. exact values with a large enough noisy count become point masses (one histogram with
    #    the missing cell last)
    counted = present.value_counts(sort=False)
    noisy = release(np.append(counted.to_numpy(), missing))
    noisy, missing_noisy = noisy[:-1], float(noisy[-1])
    floor = max(threshold or 0.0, POINT_MASS_SHARE * noisy_n)
    keep = noisy > floor
    kept_values, kept_noisy = counted.index[keep].to_numpy(dtype=float), noisy[keep]
    order = np.argsort(kept_values)
    points = [float(v) for v in kept_values[order]]
    point_weights = [float(w) for w in kept_noisy[order]]
    has_missing = missing_noisy > (threshold or 0.0)

    # 2. the rest on a fixed grid -> bounds and quantile bins; a date sits on the grid by its
    #    distance from a public date, so that the grid's log scale resolves recent dates to
    #    days or weeks rather than years (its distance from 1970 would give cells of ~3 years)
    origin = DATE_GRID_ORIGIN if is_date else 0.0
    rest = present[~present.isin(points)].to_numpy() - origin
    on_grid = [p - origin for p in points]
    # the values the grid holds, from counts already released: rows less missing values less
    # point masses, and the width of that sum's noise
    values_left = noisy_n - missing_noisy - float(np.sum(point_weights))
    width = release.sigma * np.sqrt(2 + len(points))
    codes = numbers_as_categories(spec)
    counts = codes and _counts_from_zero(points, point_weights)
    reach = TAIL_REACH if (spec.kind in ("numeric", "integer") or counts) and not is_date else 0
    edges, bin_weights, inner, reading = _quantile_bins(rest, release, integer, values_left,
                                                        width, on_grid, reach, codes, counts)
    weights = point_weights + bin_weights + ([missing_noisy] if has_missing else [])
    if not points and not edges:
        note = ("too few rows for this ε to learn the range privately: the column is left "
                "empty; declare its bounds public or raise ε")
        return ColumnDomain(spec.name, "numeric", integer=integer, datetime=is_date,
                            has_missing=True, weights=[1.0], note=note)
    note = _range_note(reading, on_grid, point_weights, edges, bin_weights,
                       noisy_n - max(missing_noisy, 0.0), release.sigma)
    edges = [e + origin for e in edges]
    inner = [[v + origin for v in part] for part in inner]
    return ColumnDomain(spec.name, "numeric", integer=integer, datetime=is_date, points=points,
                        edges=edges, inner=inner, has_missing=has_missing,
                        weights=[max(w, 0.0) for w in weights], note=note)


def _counts_from_zero(points: list[float], weights: list[float]) -> bool:
    """Whether a code column's released point masses read as a count's: the whole numbers 0,
    1, 2, ... with none missing, 0 the most frequent. Its rest then lies above them, where a
    count's tail thins out (online_shoppers' Informational: 0-2 released, 3-24 in the grid), so
    its range reaches past the last mass read like an amount's, and its points stand below that
    mass rather than capping it."""
    if len(points) < 2 or points != [float(k) for k in range(len(points))]:
        return False
    return int(np.argmax(weights)) == 0


def _range_note(reading: Reading | None, points: list[float], point_weights: list[float],
                edges: list[float], bin_weights: list[float], values: float,
                sigma: float) -> str:
    """What the noise coarsened (dp/ranges.py describe) and the share of values it cut: the
    noisy count of present values less what the domain keeps, when that clearly clears the
    noise of the counts it is made of (row, missing and point-mass counts)."""
    if reading is None:
        return ""
    notes = []
    kept = float(np.clip(point_weights, 0, None).sum() + np.sum(bin_weights))
    occupied = np.flatnonzero(reading.mass > 0)
    if edges and occupied.size:  # the range read, before it reaches past its last mass
        grid = grid_edges()
        notes.append(describe(reading, min([grid[occupied[0]], *points]),
                              max([grid[occupied[-1] + 1], *points]), kept))
    cut = values - kept
    if values > 0 and cut > CUT_WIDTHS * sigma * np.sqrt(2 + len(points)) and \
            cut / values >= CUT_SHARE:
        notes.append(f"about {formatting.rounded_percent(cut / values)} of its values lay in "
                     "stretches too thin to learn at this ε and are not generated")
    return "; ".join(n for n in notes if n)


def _quantile_bins(rest: np.ndarray, release: _Counter, integer: bool, present: float,
                   present_width: float, points: list[float], reach: int = 0,
                   codes: bool = False, counts: bool = False,
                   ) -> tuple[list[float], list[float], list[list[float]], Reading | None]:
    """Bin edges at the (noisy) grid mass's quantiles, each bin's weight, its inner points
    and, with noise, how the levels were read (see dp/ranges.py); with noise the range ends
    ``reach`` fine cells past the mass read (``_reach_out``; ``counts``: the points are a
    count's lowest values, ``_counts_from_zero``); ``codes``: the column's values are codes,
    whose rest lies among the released ones (dp/ranges.py read_levels)."""
    grid = grid_edges()
    private = release.noise is not None
    reading = None
    if private:
        noisy_levels = [np.mean([release(counts) for _ in range(releases)], axis=0)
                        for counts, releases in zip(level_counts(rest), LEVEL_RELEASES,
                                                    strict=True)]
        reading = read_levels(noisy_levels, level_sigmas(release.sigma), present,
                              present_width, points, codes)
        mass, tail = reading.mass, 0.0  # the reading's cut already drops stray noise
    else:
        mass = np.histogram(np.clip(rest, grid[0], grid[-1]), bins=grid)[0].astype(float) \
            if len(rest) else np.zeros(len(grid) - 1)
        tail = TAIL_MASS
    total = mass.sum()
    if total <= (release.sigma if private else 0.0) or total <= 0:
        return [], [], [], reading
    cumulative = np.concatenate([[0.0], np.cumsum(mass)]) / total
    # exact mode: bounds at quantiles, not at the outermost occupied cells
    quantiles = np.concatenate([[tail], np.linspace(0, 1, MAX_BINS + 1)[1:-1], [1 - tail]])
    edges = np.unique(np.interp(quantiles, cumulative, grid))
    if private:  # the outermost edges of the mass read, not interpolated inside a cell
        low, high = _reach_out(np.flatnonzero(mass > 0), points, reach, counts)
        edges = np.unique(np.concatenate([[grid[low]], edges[1:-1], [grid[high]]]))
    if integer:  # a DP cell [a, b) holds the whole numbers ceil(a) .. ceil(b) - 1 (rounding
        # its top edge down lost the largest value: codes 1-9 came out 1-8)
        edges = np.unique(np.ceil(edges - 1e-9) if private else np.round(edges))
        if len(edges) == 1:
            edges = np.array([edges[0], edges[0] + 1])
    if private:
        edges = _join_empty_ends(edges, grid, cumulative)
    # weight of each final bin: interpolated share of the grid mass
    at_edges = np.interp(edges, grid, cumulative)
    shares = np.diff(at_edges)
    # within-bin quantiles only from exact counts: after the noise cut-off a DP grid keeps few
    # cells, and equal-mass steps would pile values onto them (census ε = 1: 2-way TVD 0.061 ->
    # 0.067); a DP domain's bins take equal steps of the grid's log scale, so that a wide top
    # bin is not cut into linear parts whose first one alone spans its mass (with TAIL_REACH,
    # census ε = 1 quality 0.925-0.929 -> 0.932-0.954 over two and three runs)
    inner = _log_steps(edges, grid) if private else _inner_points(edges, at_edges, grid,
                                                                   cumulative)
    return [float(e) for e in edges], [float(s * total) for s in shares], inner, reading


def _join_empty_ends(edges: np.ndarray, grid: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """The bins with their end bins joined to their neighbours while they hold no mass: a
    whole-number range's reach past its last mass (``_reach_out``) is a bin of its own once the
    edges are rounded up, and with no mass the model never drew from it (online_shoppers'
    Informational at ε = 1 reached code 9 in a bin [6, 10) of weight 0, and no synthetic value
    passed 5); joined, the end bin's mass spreads over the reach as an amount's does."""
    at_edges = np.interp(edges, grid, cumulative)
    while len(edges) > 2 and at_edges[-1] - at_edges[-2] <= 0:
        edges, at_edges = np.delete(edges, -2), np.delete(at_edges, -2)
    while len(edges) > 2 and at_edges[1] - at_edges[0] <= 0:
        edges, at_edges = np.delete(edges, 1), np.delete(at_edges, 1)
    return edges


def _reach_out(occupied: np.ndarray, points: list[float], reach: int,
               counts: bool = False) -> tuple[int, int]:
    """The grid edges (indices) a DP range spans: its first and last cell holding mass, each
    moved ``reach`` cells outward, unless a released point mass lies within twice ``reach``
    cells of that end or past it (a wall, such as rates capped at 0.2 by many rows, beside
    which the reading may already have spread a rest over one middle-level cell; with
    ``counts`` the points are a count's lowest values and wall no top end) or the move
    would cross zero; with ``reach``, an end near zero on the column's scale moves to zero,
    wall or not (ZERO_REACH_SHARE; released point masses next to that end count as part of
    the range, a point at zero does not stop it)."""
    grid = grid_edges()
    zero = (len(grid) - 1) // 2  # the cell [0, 10^GRID_LOW_DECADE)
    low, high = int(occupied[0]), int(occupied[-1]) + 1
    if not points or min(points) >= grid[min(low + 2 * reach, high)]:
        low = max(low - reach, zero if low >= zero else 0)
    if not points or counts or max(points) < grid[max(high - 2 * reach, low)]:
        high = min(high + reach, zero if high <= zero else len(grid) - 1)
    if reach and low > zero:  # the mass read lies above zero
        near = _near_end(grid[low], [p for p in points if 0 < p < grid[low]], reach)
        if _near_zero(near, max([grid[high], *points])):
            low = zero
    if reach and high < zero:  # ... or below it
        near = _near_end(-grid[high], [-p for p in points if grid[high] < p < 0], reach)
        if _near_zero(near, -min([grid[low], *points])):
            high = zero
    return low, high


def _near_end(end: float, beyond: list[float], reach: int) -> float:
    """The size of a range's end nearer zero (``end``, positive), taking the released point
    masses ``beyond`` it (between it and zero) as part of the range while each lies within
    ``reach`` fine cells of the end so far: a point far past the mass read (fees from 1 up,
    a point at 0.005) does not pull the range toward zero across the gap."""
    factor = 10.0 ** (reach / BINS_PER_DECADE)
    for point in sorted(beyond, reverse=True):
        if point * factor < end:
            break
        end = point
    return end


def _near_zero(near: float, far: float) -> bool:
    """Whether a range whose ends are ``near`` and ``far`` from zero (sizes) reaches zero:
    its near end lies in the grid's first decade and within ZERO_REACH_SHARE of its far
    end."""
    return near < 10.0 ** (GRID_LOW_DECADE + 1) and near <= ZERO_REACH_SHARE * far


def _log_steps(edges: np.ndarray, grid: np.ndarray) -> list[list[float]]:
    """Per bin, INNER_STEPS + 1 points from its low to its high edge in equal steps of the
    grid's cell index (log scale; linear inside one cell): no count goes into them."""
    index = np.arange(len(grid), dtype=float)
    at = np.interp(edges, grid, index)
    inner = []
    for b in range(len(edges) - 1):
        points = np.interp(np.linspace(at[b], at[b + 1], INNER_STEPS + 1), index, grid)
        points[0], points[-1] = edges[b], edges[b + 1]
        inner.append([float(p) for p in np.maximum.accumulate(points)])
    return inner


def _inner_points(edges: np.ndarray, at_edges: np.ndarray, grid: np.ndarray,
                  cumulative: np.ndarray) -> list[list[float]]:
    """Per bin, the points splitting its grid mass into INNER_STEPS equal parts (uniform
    spacing where the bin holds no mass), clipped to the bin and non-decreasing."""
    inner = []
    for b in range(len(edges) - 1):
        low, high = float(edges[b]), float(edges[b + 1])
        if at_edges[b + 1] - at_edges[b] <= 1e-12:
            points = np.linspace(low, high, INNER_STEPS + 1)
        else:
            levels = np.linspace(at_edges[b], at_edges[b + 1], INNER_STEPS + 1)
            points = np.maximum.accumulate(np.clip(np.interp(levels, cumulative, grid),
                                                   low, high))
            points[0], points[-1] = low, high
        inner.append([float(p) for p in points])
    return inner


def _public_column(name: str, kind: str, declared: PublicColumn) -> ColumnDomain:
    if kind in ("numeric", "integer", "datetime"):
        if declared.bounds is None:
            raise ConfigError(f"public schema, column {name!r}: a numeric column needs bounds")
        low, high = declared.bounds
        integer = kind == "integer"
        # whole numbers: bins up to high + 1, as the decoder draws up to a bin's top edge - 1
        edges = np.linspace(low, high + integer, MAX_BINS + 1)
        if integer:
            edges = np.unique(np.round(edges))
        return ColumnDomain(name, "numeric", integer=integer, datetime=kind == "datetime",
                            edges=[float(e) for e in edges], has_missing=declared.nullable,
                            public=True,
                            weights=[1.0] * (len(edges) - 1 + declared.nullable))
    categories = list(declared.categories or ([True, False] if kind == "boolean" else []))
    if not categories:
        raise ConfigError(f"public schema, column {name!r}: a categorical column needs "
                          "categories")
    other = kind != "boolean"
    return ColumnDomain(name, "categorical", categories=categories, has_other=other,
                        has_missing=declared.nullable, public=True,
                        weights=[1.0] * (len(categories) + other + declared.nullable))
