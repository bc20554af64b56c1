"""A numeric column's range and shape under DP, at the resolution its noise allows.

Cells. The finest level is a fixed grid on a signed log scale: BINS_PER_DECADE cells per decade
from 10^GRID_LOW_DECADE to 10^GRID_HIGH_DECADE on each side of zero, with the cells [-10^-3, 0)
and [0, 10^-3) at zero. Each coarser level joins LEVEL_BRANCHING neighbouring cells of the
level below, outward from zero on each side, LEVELS levels in all (40, 5 and 0.625 cells per
decade). The levels and their edges are constants: nothing in them depends on the data.

Release. Each level's histogram is released LEVEL_RELEASES times (a row adds 1 to exactly one
cell of each level, so each release is one discrete Gaussian mechanism of L2 sensitivity 1,
charged to the fit's accountant at the domain's sigma: ``plan_mechanisms`` in dp/domain.py
counts GRID_RELEASES per numeric column), and a level released r times is read as the mean of
its releases, with noise sigma / sqrt(r). One each: three releases of the middle level (which
decides where a range ends) added two mechanisms per column, which raised every histogram's
noise by 16 % and cost census 0.03 of quality at epsilon 1 for tails that were barely better.

Reading: post-processing of the noisy counts and of counts already released (the row, missing
and point-mass counts), with constants only. From the coarsest level down, a cell is kept when
its noisy count clears the spurious-cell cut (TOP_RATE, SPURIOUS_RATE: family-wise over the
level's cells) and takes its noisy count as its mass; the children of a kept cell are tested in
turn. What a kept cell holds beyond its kept children (all of it when none is kept) is its rest:
when it clears the noise of that difference it goes, inside a middle-level cell, evenly to the
other fine cells (a coarse piece of one such cell), and higher up to the children along a run
outward from the kept ones, in proportion to their clipped noisy counts, each read further down
the same way; otherwise it is cut. A stretch too thin to show at fine resolution thus survives
at a coarser one instead of being zeroed. The released row count less the missing and
point-mass counts is a root above the coarsest level, read the same way, and when no coarsest
cell clears the cut while that count clearly clears its noise, the largest coarsest cell is
kept: a column without point masses is never left empty while its noisy count is clearly
positive (one with point masses is not empty; a stray cell far from them would invent values).
Every coarse piece is recorded (``Reading.coarsened``) so that the domain can name it
(``describe``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from scipy.stats import norm

from tabsynth import formatting

BINS_PER_DECADE = 40
GRID_LOW_DECADE, GRID_HIGH_DECADE = -3, 10
LEVEL_BRANCHING = 8  # cells of a level joined into one of the next level up (each side of zero)
LEVELS = 3  # 40, 5 and 0.625 cells per decade
LEVEL_RELEASES = (1, 1, 1)  # releases of each level (finest first), read as their mean
GRID_RELEASES = sum(LEVEL_RELEASES)
# a stray kept cell puts values where the column has none (up to 10^10 at the coarsest level)
TOP_RATE = 0.0001  # chance that some empty cell of the coarsest level clears the cut
SPURIOUS_RATE = 0.001  # the same for a finer level (its cells are tested inside kept ones only)
# Mass placed outside the kept cells widens the column's range, so noise alone must rarely
# place any: at 1.5 widths for a kept cell's rest and 0.5 for a run's block (the best of up to
# 7 blocks), census at epsilon 1 drew ages up to 376 or 2,371 in about 1 fit in 6. A rest
# clears 2.5 widths by noise about once in 160; the best block 3 widths about once in 170.
RESIDUAL_WIDTHS = 2.5  # noise widths what a kept cell holds beyond its kept children must clear
FINE_RESIDUAL_WIDTHS = 0.5  # the same inside a middle-level cell (its spread stays inside it)
RUN_WIDTHS = 3.0  # noise widths a block of children must clear (per root of its size) to
# extend a run outward
PRESENT_WIDTHS = 3.0  # noise widths the column's count of values must clear to keep one cell
CUT_SHARE = 0.005  # values lost to the cut are named from this share of the column on
MENTION_SHARE = 0.001  # coarse stretches are named once they hold this share of the values


def grid_edges() -> np.ndarray:
    """Fixed, data-independent edges of the finest level (signed log scale, a cell at zero)."""
    positive = 10.0 ** (np.arange(GRID_LOW_DECADE * BINS_PER_DECADE,
                                  GRID_HIGH_DECADE * BINS_PER_DECADE + 1) / BINS_PER_DECADE)
    return np.concatenate([-positive[::-1], [0.0], positive])


@cache
def level_maps() -> tuple[np.ndarray, ...]:
    """Per level, the cell of that level holding each fine cell (level 0: the identity).

    Coarser cells join neighbouring fine cells outward from zero, on each side of it.
    """
    cells = len(grid_edges()) - 1
    zero = cells // 2  # index of the cell [0, 10^GRID_LOW_DECADE)
    fine = np.arange(cells)
    maps = []
    for level in range(LEVELS):
        width = LEVEL_BRANCHING ** level
        below = -(-zero // width)  # cells of this level below the zero cell's
        group = np.where(fine >= zero, below + (fine - zero) // width,
                         below - 1 - (zero - 1 - fine) // width)
        maps.append(group.astype(np.int64))
    return tuple(maps)


def _fine_cells(values: np.ndarray) -> np.ndarray:
    """The fine cell of each value (values beyond the grid in its outermost cells)."""
    grid = grid_edges()
    return np.clip(np.searchsorted(grid, np.clip(values, grid[0], grid[-1]), side="right") - 1,
                   0, len(grid) - 2)


def level_counts(values: np.ndarray) -> list[np.ndarray]:
    """Exact counts of each level (before noise): every value in one cell per level."""
    fine = _fine_cells(values)
    return [np.bincount(m[fine], minlength=int(m.max()) + 1) for m in level_maps()]


@dataclass
class Stretch:
    """A run of fine cells read as one coarse piece, and the (noisy) mass spread over it."""

    first: int  # fine cell index
    last: int  # inclusive
    mass: float


@dataclass
class Reading:
    """Mass per fine cell, and the stretches the noise let through only as coarse pieces."""

    mass: np.ndarray
    coarsened: list[Stretch] = field(default_factory=list)


def level_sigmas(sigma: float) -> list[float]:
    """The noise width of each level's mean of releases (finest first), each release at
    ``sigma``."""
    return [sigma / np.sqrt(r) for r in LEVEL_RELEASES]


def read_levels(noisy: list[np.ndarray], sigmas: float | list[float], present: float | None,
                present_width: float, points: list[float] | None = None,
                codes: bool = False) -> Reading:
    """Mass per fine cell from the noisy level histograms (finest first), read with the noise
    width of each level (``sigmas``; one number: the same for all).

    ``present`` is a noisy count of the values these histograms hold and ``present_width`` the
    width of its noise (None when unknown). It is the mass of a root above the coarsest level:
    what it holds beyond the kept coarsest cells is read like any kept cell's rest, and when no
    coarsest cell clears the cut while it clearly clears its noise, the largest coarsest cell
    is kept (without ``points``), so a column is never left empty while it clearly holds
    values. A coarsest cell
    holding one of the column's released ``points`` is known to hold values: it is kept once
    its count clears RESIDUAL_WIDTHS noise widths (no stray cell far from the data can be).
    With ``codes`` (the values are codes, the points the released ones), a rest whose node
    keeps no child starts from the children holding released codes (``_anchor``).
    """
    reading = Reading(np.zeros(len(level_maps()[0])))
    sigmas = [float(sigmas)] * len(noisy) if np.isscalar(sigmas) else list(sigmas)
    top = len(noisy) - 1
    sigma = sigmas[top]
    counts = noisy[top].astype(float)
    kept = counts > _cut(sigma, len(counts), TOP_RATE)
    if points:
        beside_points = np.zeros(len(counts), dtype=bool)
        beside_points[level_maps()[top][_fine_cells(np.asarray(points, dtype=float))]] = True
        kept |= beside_points & (counts > RESIDUAL_WIDTHS * sigma)
    if not kept.any() and not points and present is not None \
            and present > PRESENT_WIDTHS * present_width:
        kept[int(np.argmax(counts))] = True  # a column without point masses is never empty
    near = _fine_cells(np.asarray(points, dtype=float)) if points and codes else None
    for node in np.flatnonzero(kept):
        _descend(reading, noisy, sigmas, top, int(node), max(float(counts[node]), 0.0),
                 near=near)
    if present is not None and kept.any():
        rest = present - float(counts[kept].sum())
        if rest > RESIDUAL_WIDTHS * np.sqrt(present_width**2 + kept.sum() * sigma**2):
            _spread(reading, noisy, sigmas, top + 1, np.arange(len(counts)), counts, kept, rest,
                    near=near)
    return reading


def _cut(sigma: float, tests: int, rate: float = SPURIOUS_RATE) -> float:
    """The count an empty cell's noise exceeds with probability ``rate`` over ``tests`` cells."""
    return sigma * float(norm.isf(rate / max(tests, 1)))


def _descend(reading: Reading, noisy: list[np.ndarray], sigmas: list[float], level: int,
             node: int, estimate: float, toward: int = 0,
             near: np.ndarray | None = None) -> None:
    """Give a node's mass (``estimate``) to its fine cells, as finely as the noise allows: kept
    children take their own noisy counts and are read the same way; the rest (all of it when
    no child is kept) is spread by ``_spread``. ``toward`` (-1 / +1) says on which side of the
    node the mass already found lies, 0 when none is known; ``near`` holds the fine cells of
    a code column's released codes (None for other columns)."""
    cells = level_maps()[level] == node
    if level == 0:
        reading.mass[cells] += estimate
        return
    children = np.unique(level_maps()[level - 1][cells])
    counts = noisy[level - 1][children].astype(float)
    sigma = sigmas[level - 1]  # the children's noise
    kept = counts > _cut(sigma, len(noisy[level - 1]))
    for child, count in zip(children[kept], counts[kept], strict=True):
        _descend(reading, noisy, sigmas, level - 1, int(child), float(count), near=near)
    rest = estimate - float(counts[kept].sum())
    widths = RESIDUAL_WIDTHS if level > 1 else FINE_RESIDUAL_WIDTHS
    if kept.any() and rest <= widths * np.sqrt(sigmas[level] ** 2 + kept.sum() * sigma**2):
        # the difference is lost in the noise of many kept children; the children next to
        # them may still clear the noise of their own sum
        run = _run(kept, counts, RUN_WIDTHS * sigma) if level > 1 else np.zeros_like(kept)
        beside = float(counts[run].sum())
        if not run.any() or beside <= RESIDUAL_WIDTHS * sigma * np.sqrt(run.sum()):
            return  # cut
        rest = beside
    _spread(reading, noisy, sigmas, level, children, counts, kept, rest, toward, near)


def _spread(reading: Reading, noisy: list[np.ndarray], sigmas: list[float], level: int,
            children: np.ndarray, counts: np.ndarray, kept: np.ndarray, rest: float,
            toward: int = 0, near: np.ndarray | None = None) -> None:
    """Give ``rest`` to the children of a node at ``level`` that are not kept: inside a
    middle-level cell evenly over its other fine cells (a coarse piece of one such cell);
    higher up, to the children along a run (``_run``) from the kept ones (or, with none kept,
    from the child next to the mass already found, else ``_anchor``) in proportion to their
    clipped noisy counts, or to the one child beside them when no block clears the noise
    (``_beside``), each read further down with the side its mass lies on."""
    sigma = sigmas[level - 1]  # the children's noise
    if level == 1:
        targets = ~kept
        weights = targets / max(targets.sum(), 1)
    else:
        anchors = kept.copy()
        if not kept.any():
            anchors[_anchor(children, counts, level, toward, near)] = True
        # a coarsest cell spans 1.6 decades: beside the mass found, one only, clearly above
        # the noise (a stray one would throw values far out)
        root = level == len(level_maps())
        targets = (anchors & ~kept) | _run(
            anchors, counts, (RESIDUAL_WIDTHS if root else RUN_WIDTHS) * sigma,
            1 if root else None)
        if not targets.any() and not root:
            targets = _beside(anchors, counts)
        weights = np.clip(counts, 0, None) * targets
        total = weights.sum()
        weights = weights / total if total > 0 else targets / max(targets.sum(), 1)
    found = np.flatnonzero(kept)
    for position, (child, share) in enumerate(zip(children, weights, strict=True)):
        if share <= 0:
            continue
        if level > 1:
            side = 0 if not found.size else (1 if position < found[0] else
                                             -1 if position > found[-1] else 0)
            _descend(reading, noisy, sigmas, level - 1, int(child), rest * share, side, near)
            continue
        where = np.flatnonzero(level_maps()[level - 1] == child)
        reading.mass[where] += rest * share / len(where)
        reading.coarsened.append(Stretch(int(where[0]), int(where[-1]), rest * share))


def _anchor(children: np.ndarray, counts: np.ndarray, level: int, toward: int,
            near: np.ndarray | None) -> np.ndarray:
    """The children (indices) a node's rest starts from when none of them is kept: the child
    on the side of the mass already found; in a node holding a code column's released codes
    (``near``), every child holding them (the rest of a code column lies among its codes: the
    largest child anywhere in a coarsest cell took codes 1-9 up to 38; children beyond the
    codes take mass only through a run that clears the noise, and a run from one of them alone
    had to cross its neighbours' empty cells, which lost online_shoppers' Informational codes
    4 and up in 1 fit in 8); else the largest child."""
    if toward:
        return np.array([0 if toward < 0 else len(children) - 1])
    if near is not None:
        holding = np.flatnonzero(np.isin(children, level_maps()[level - 1][near]))
        if holding.size:
            return holding
    return np.array([int(np.argmax(counts))])


def _beside(anchors: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The one child next to the anchors, on the side whose neighbour has the larger noisy
    count: where a rest that clears the noise goes when no block of children does."""
    first, last = np.flatnonzero(anchors)[[0, -1]]
    sides = [i for i in (first - 1, last + 1) if 0 <= i < len(anchors)]
    out = np.zeros(len(anchors), dtype=bool)
    if sides:
        out[max(sides, key=lambda i: counts[i])] = True
    return out


def _run(anchors: np.ndarray, counts: np.ndarray, floor: float,
         steps: int | None = None) -> np.ndarray:
    """Children not among ``anchors``: those between two anchors, and on each side the block
    outward of them that stands clearest of the noise: the block of the next j children whose
    summed count per square root of j is largest, taken when that clears ``floor`` (a tail
    thinned out over several children shows in their sum where one low noisy child would have
    stopped a step-by-step walk; empty children beyond lower the sum's standing, so the block
    ends near the mass). With ``steps``, at most that many children on each side, each of
    them clearing ``floor`` on its own."""
    first, last = np.flatnonzero(anchors)[[0, -1]]
    run = np.zeros(len(anchors), dtype=bool)
    run[first:last + 1] = True
    for step, stop in ((-1, -1), (1, len(anchors))):
        outward = np.arange((first if step < 0 else last) + step, stop, step)
        if steps is not None:
            for i in outward[:steps]:
                if counts[i] <= floor:
                    break
                run[i] = True
            continue
        if not outward.size:
            continue
        standing = np.cumsum(counts[outward]) / np.sqrt(np.arange(1, outward.size + 1))
        best = int(np.argmax(standing))
        if standing[best] > floor:
            run[outward[:best + 1]] = True
    return run & ~anchors


def describe(reading: Reading, low: float, high: float, values: float) -> str:
    """Plain words for the stretches of the range [low, high] that the noise let through only
    as coarse pieces: where they lie, as shares of the range, and the share of the column's
    ``values`` (its noisy total) they hold. Empty when they hold next to nothing."""
    grid = grid_edges()
    span = high - low
    if span <= 0 or values <= 0:
        return ""
    merged: list[list[float]] = []
    for start, end, mass in sorted((max(grid[s.first], low), min(grid[s.last + 1], high),
                                    s.mass) for s in reading.coarsened):
        if end <= start:
            continue
        if merged and start <= merged[-1][1] + 1e-9 * span:
            merged[-1][1], merged[-1][2] = max(merged[-1][1], end), merged[-1][2] + mass
        else:
            merged.append([start, end, mass])
    held = min(sum(m for _, _, m in merged) / values, 1.0)
    if not merged or held < MENTION_SHARE:
        return ""
    lowest = sum(e - s for s, e, _ in merged if s <= low + 1e-9 * span)
    highest = sum(e - s for s, e, _ in merged if e >= high - 1e-9 * span and s > low)
    inside = sum(e - s for s, e, _ in merged) - lowest - highest
    if lowest + highest + inside >= span * 0.995:  # what rounds to all of it
        where = "its whole range"
    else:
        seen = 0.001 * span  # parts narrower than this are left out of the words
        ends = [f"{label} {_share(width / span)}" for label, width in
                (("the lowest", lowest), ("the highest", highest)) if width >= seen]
        where = " and ".join(ends) + " of its range" if ends else ""
        if inside >= seen or not ends:
            where += (" and " if where else "") + \
                f"{_share(inside / span)} of it{'s range' if not ends else ''} in stretches inside"
    return (f"{where} ({_share(held)} of its values) could be learned at this ε only in coarse "
            "bins, in which values are spread evenly")


def _share(share: float) -> str:
    return formatting.percent(share) if share < 0.005 else formatting.rounded_percent(share)
