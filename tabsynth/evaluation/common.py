"""Shared helpers: which columns to evaluate, label shares for charts, numbers as floats."""

from __future__ import annotations

import pandas as pd

MISSING = "__nan__"
# A real category label held by fewer training rows than this is never printed in any report:
# its share goes into one RARE_LABEL bucket instead (a label of 1-9 rows can point at a person).
MIN_LABEL_ROWS = 10
RARE_LABEL = f"(rare, < {MIN_LABEL_ROWS} rows)"


def comparable_columns(train: pd.DataFrame, synthetic: pd.DataFrame,
                       exclude: list[str] | None = None) -> list[str]:
    """Columns present in both tables, minus excluded ones (regenerated PII / keys / text)."""
    skip = set(exclude or [])
    return [c for c in train.columns if c in synthetic.columns and c not in skip]


def is_numeric(values: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)) \
        or pd.api.types.is_datetime64_any_dtype(values)


def as_float(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return (values - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    return pd.to_numeric(values, errors="coerce").astype(float)


def label_shares(train: pd.Series, others: dict[str, pd.Series],
                 top: int = 12) -> tuple[list[str], dict[str, list[float]]]:
    """Shares per label for charts (see shares_from_counts), from the labels themselves."""
    return shares_from_counts(train.value_counts(),
                              **{name: values.value_counts() for name, values in others.items()},
                              top=top)


def shares_from_counts(real: pd.Series, /, top: int = 12,
                       **others: pd.Series) -> tuple[list[str], dict[str, list[float]]]:
    """Shares per label for charts, from counts indexed by label: the `top` labels most common
    in train (`real`; ties by label) that at least MIN_LABEL_ROWS training rows hold, then one
    RARE_LABEL bucket that merges every other label held by fewer training rows (labels absent
    from train included). MISSING is no real label and is never merged. Returns the keys (raw
    labels; RARE_LABEL for the bucket) and the shares of train (as "real") and of each other
    table, per key."""
    counts = _by_count(real)
    rare = {k for k, n in counts.items() if n < MIN_LABEL_ROWS and k != MISSING}
    keys: list[str] = [k for k in counts.index if k not in rare][:top]
    shares: dict[str, list[float]] = {}
    for name, values in {"real": real, **others}.items():
        held = values[values > 0]
        share = held / max(1, held.sum())
        is_rare = ~share.index.isin(counts.index) | share.index.isin(list(rare))
        is_rare &= share.index != MISSING
        shares[name] = [float(share.get(k, 0.0)) for k in keys] + [float(share[is_rare].sum())]
    if any(v[-1] > 0 for v in shares.values()):
        return [*keys, RARE_LABEL], shares
    return keys, {name: v[:-1] for name, v in shares.items()}


def _by_count(counts: pd.Series) -> pd.Series:
    """Labels held by rows, most common first, ties in label order (a stable order)."""
    held = counts[counts > 0]
    order = sorted(range(len(held)), key=lambda i: (-held.iloc[i], str(held.index[i])))
    return held.iloc[order]


def sample_rows(frame: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    return frame.sample(limit, random_state=seed) if len(frame) > limit else frame

