"""Refuse, before fitting, runs whose one-hot expansion would exhaust memory or never finish.

CTGAN turns every category into its own input (one-hot) and every numeric column into up to
eleven; a 10,000-category column makes each row 10,000 numbers wide, several dense copies of
which must fit in memory at once. We estimate that up front and refuse with a suggestion.
"""

from __future__ import annotations

import os

import pandas as pd

from tabsynth.errors import ConfigError
from tabsynth.schema import Schema

CTGAN_MAX_CATEGORIES = 1_000  # per column; beyond this CTGAN's conditioning is hopeless anyway
NUMERIC_WIDTH = 11  # CTGAN: up to 10 mode indicators + 1 scalar per numeric column
DENSE_COPIES = 4  # transformer output, float copy, tensor, conditional-vector bookkeeping
BYTES_PER_VALUE = 8
MEMORY_SHARE = 0.5  # of the memory available when the run starts


def available_memory() -> int:
    """Bytes the system can still hand out (MemAvailable), or total RAM where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def one_hot_widths(frame: pd.DataFrame, schema: Schema) -> dict[str, int]:
    """Inputs per row that CTGAN would create for each learned column."""
    widths = {}
    for spec in schema.learned:
        values = frame[spec.name]
        if spec.kind in ("categorical", "boolean"):
            widths[spec.name] = int(values.nunique(dropna=True)) + int(values.isna().any())
        else:
            widths[spec.name] = NUMERIC_WIDTH
    return widths


def check_ctgan(frame: pd.DataFrame, schema: Schema, budget: int | None = None) -> None:
    """Raise ConfigError naming the widest column when CTGAN's expansion is too large."""
    widths = one_hot_widths(frame, schema)
    if not widths:
        return
    width = sum(widths.values())
    needed = len(frame) * width * BYTES_PER_VALUE * DENSE_COPIES
    budget = budget if budget is not None else int(available_memory() * MEMORY_SHARE)
    widest = max(widths, key=widths.__getitem__)
    categorical = {c.name for c in schema.learned if c.kind in ("categorical", "boolean")}
    too_many = widest in categorical and widths[widest] > CTGAN_MAX_CATEGORIES
    if not too_many and needed <= budget:
        return
    reason = (f"column {widest!r} has {widths[widest]:,} categories (at most "
              f"{CTGAN_MAX_CATEGORIES:,} per column)" if too_many else
              f"the encoded table would need about {needed / 2**30:.1f} GiB, over the "
              f"{budget / 2**30:.1f} GiB this run may use")
    raise ConfigError(
        f"CTGAN refused before fitting: {reason}. CTGAN one-hot encodes every category, "
        f"making each of the {len(frame):,} rows {width:,} numbers wide (about "
        f"{needed / 2**30:.1f} GiB). Group rare categories of {widest!r} into 'other', set its "
        "kind to identifier or exclude it, or use gaussian-copula or dp-gan, which do not "
        "expand categories"
    )


def check_dense(rows: int, width: int, method: str, budget: int | None = None) -> None:
    """Raise ConfigError when a rows x width float32 matrix (x DENSE_COPIES) will not fit."""
    needed = rows * width * 4 * DENSE_COPIES
    budget = budget if budget is not None else int(available_memory() * MEMORY_SHARE)
    if needed > budget:
        raise ConfigError(
            f"{method} refused: {rows:,} rows x {width:,} encoded inputs need about "
            f"{needed / 2**30:.1f} GiB, over the {budget / 2**30:.1f} GiB this run may use; "
            "use fewer rows, group rare categories, or exclude wide columns"
        )
