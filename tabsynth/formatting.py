"""Numbers shown to people: the one place that decides how a figure is written.

One rule everywhere (review page, release page, Streamlit page, command line, verdict
sentences): the aggregate scores that every surface shows (fidelity, utility, attack risks,
membership-inference AUC, DCR share) at two decimals (`aggregate`), so that a figure reads the
same on the page, in the command line's summary, in the review and in the release (which may
carry no finer figure); detail only the review shows (per column, per pair, rates of an
attack) at three decimals (`score`); rates as percentages with one decimal (two below 1 %),
counts with thousands separators, seconds with one decimal, tiny probabilities (δ) with two
significant digits. A table cell of any kind (`value`) writes a float as a score, or, when
nonzero and below 0.001, with two significant digits so that it does not read as zero. Exact
copies read the same on every surface (`exact_copies`): "synthetic 9.6 % vs holdout 9.5 %
(excess 0.14 %)". Not computed: an em dash.

The release report's own rounding of what may travel (scores at two decimals, no exact counts)
is a privacy rule, not display: release.py applies it to the values before they are shown, and
AGGREGATE_DIGITS is no finer than it.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "—"
SCORE_DIGITS = 3
AGGREGATE_DIGITS = 2  # the release's rounding: no surface shows an aggregate more finely


def _finite(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def score(value: Any, digits: int = SCORE_DIGITS) -> str:
    """A score or statistic with fixed decimals: 0.973; None as a dash."""
    if not _finite(value):
        return MISSING if value is None or isinstance(value, int | float) else str(value)
    return f"{float(value):.{digits}f}"


def aggregate(value: Any) -> str:
    """An aggregate score as every surface writes it: 0.97 (the release keeps two decimals,
    so the page, the command line and the review write the same figure)."""
    return score(value, AGGREGATE_DIGITS)


def aggregate_interval(bounds: Any) -> str:
    """The confidence interval of an aggregate score: '0.23–0.65'."""
    return interval(bounds, aggregate)


def percent(value: Any) -> str:
    """A rate in [0, 1] as a percentage: 5.3 %, 0.25 % (two decimals below 1 %), 0.0 %."""
    if not _finite(value):
        return MISSING
    share = 100 * float(value)
    return f"{share:.2f} %" if 0 < abs(share) < 1 else f"{share:.1f} %"


EXACT_COPIES = "synthetic {rate} vs holdout {reference} (excess {excess})"


def exact_copies(rate: Any, reference: Any = None, excess: Any = None,
                 figure: Any = percent) -> str:
    """Exact copies as every surface writes them: the share of synthetic rows equal to a
    training row beside the share of holdout rows equal to one (what a table's own duplicates
    give), and the excess of the first over the second, which the verdict judges: 'synthetic
    9.6 % vs holdout 9.5 % (excess 0.14 %)'. Without the holdout's figures (a DP release
    leaves them out): 'synthetic 9.6 %'. `figure` writes each rate (the release's rounding)."""
    if reference is None and excess is None:
        return f"synthetic {figure(rate)}"
    return EXACT_COPIES.format(rate=figure(rate), reference=figure(reference),
                              excess=figure(excess))


def rounded_percent(value: Any) -> str:
    """A rate the release rounded to two decimals, as a whole percentage (10 %, not 10.0 %:
    no digit that the rounding took away)."""
    if not _finite(value):
        return MISSING
    return f"{100 * float(value):.0f} %"


def interval(bounds: Any, figure: Any = score) -> str:
    """A confidence interval as 'low–high', each bound written by `figure`."""
    if not isinstance(bounds, list | tuple) or len(bounds) != 2:
        return MISSING
    return f"{figure(bounds[0])}–{figure(bounds[1])}"


def percent_interval(bounds: Any) -> str:
    """A confidence interval of rates: '4.1 %–6.0 %'."""
    return interval(bounds, percent)


def count(value: Any) -> str:
    """A count with thousands separators: 12,345."""
    if not _finite(value):
        return MISSING
    return f"{int(value):,}"


def seconds(value: Any) -> str:
    """A duration: 12.3 s."""
    if not _finite(value):
        return MISSING
    return f"{float(value):.1f} s"


def small(value: Any) -> str:
    """A tiny probability such as δ, with two significant digits: 1e-06."""
    if not _finite(value):
        return MISSING
    return f"{float(value):.2g}"


def value(item: Any) -> str:
    """Any single value of a table cell: floats as scores, booleans as yes / no, integers and
    text as they are."""
    if item is None:
        return MISSING
    if isinstance(item, bool):
        return "yes" if item else "no"
    if isinstance(item, float):
        return small(item) if 0 < abs(item) < 1e-3 else score(item)
    return str(item)
