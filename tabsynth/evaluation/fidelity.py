"""How close the synthetic table is to train, beside the same score for the holdout.

Every count comes from integer codes (evaluation.coding) and np.bincount; every rank correlation
ranks a column once (evaluation.correlation): no Python work per row.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.evaluation.coding import CodedColumn, cramers_v, encode, pair_counts, tvd_counts
from tabsynth.evaluation.common import (
    MISSING,
    RARE_LABEL,
    comparable_columns,
    is_numeric,
    sample_rows,
    shares_from_counts,
)
from tabsynth.evaluation.correlation import Ranks, ks_statistic

MAX_PAIRS = 120
# SDMetrics' quality report scores every column pair: 124,750 pairs for 500 columns take hours,
# so wider tables are scored on a seeded sample of this many columns (said in the report)
MAX_SDMETRICS_COLUMNS = 20


@dataclass
class ColumnFidelity:
    column: str
    kind: str  # how it was measured: numeric | categorical
    tvd: float
    holdout_tvd: float
    ks_complement: float | None = None
    holdout_ks_complement: float | None = None
    model_kind: str | None = None  # the schema kind the model used (integer, categorical, ...)


@dataclass
class PairFidelity:
    columns: tuple[str, str]
    metric: str  # correlation | cramers_v
    real: float
    synthetic: float
    holdout: float
    tvd: float
    holdout_tvd: float


@dataclass
class FidelityResult:
    score: float  # 1 - mean of (1-way TVD, 2-way TVD); 1 is perfect
    holdout_reference: float  # the same score for the holdout vs train
    tvd1: float
    tvd2: float
    holdout_tvd1: float
    holdout_tvd2: float
    sdmetrics_quality: float | None
    holdout_sdmetrics_quality: float | None
    sdmetrics_columns: int = 0  # how many columns the SDMetrics score covers
    columns: list[ColumnFidelity] = field(default_factory=list)
    pairs: list[PairFidelity] = field(default_factory=list)
    correlation: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, dict[str, list]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_fidelity(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                      exclude: list[str] | None = None, sdmetrics: bool = True,
                      seed: int = 0, kinds: dict[str, str] | None = None) -> FidelityResult:
    """`kinds`: each column's kind in the schema the model used, shown beside the scores.

    A synthetic table larger than the holdout is scored on a seeded sample of the holdout's
    size: a distance to train shrinks with the size of a sample alone (a 4,000-row table
    scored 0.95 beside a 1,000-row fresh real sample's 0.92, while at 1,000 rows it scored
    below it), and the holdout is the reference the figures are read against."""
    if len(holdout) and len(synthetic) > len(holdout):
        synthetic = sample_rows(synthetic, len(holdout), seed)
    columns = comparable_columns(train, synthetic, exclude)
    coded, edges = encode(train, [train, synthetic, holdout], columns)
    ranks = [Ranks(f) for f in (train, synthetic, holdout)]
    per_column = [_column(train, ranks, coded[c], c) for c in columns]
    for result in per_column:
        result.model_kind = (kinds or {}).get(result.column)
    pairs = list(itertools.combinations(columns, 2))
    if len(pairs) > MAX_PAIRS:
        rng = np.random.default_rng(seed)
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), MAX_PAIRS, replace=False))]
    per_pair = [_pair(train, ranks, coded, a, b) for a, b in pairs]
    tvd1 = float(np.mean([c.tvd for c in per_column])) if per_column else 0.0
    holdout_tvd1 = float(np.mean([c.holdout_tvd for c in per_column])) if per_column else 0.0
    tvd2 = float(np.mean([p.tvd for p in per_pair])) if per_pair else tvd1
    holdout_tvd2 = float(np.mean([p.holdout_tvd for p in per_pair])) if per_pair else holdout_tvd1
    quality = holdout_quality = None
    scored = columns
    if len(columns) > MAX_SDMETRICS_COLUMNS:
        rng = np.random.default_rng(seed)
        scored = [columns[i] for i in sorted(rng.choice(len(columns), MAX_SDMETRICS_COLUMNS,
                                                        replace=False))]
    if sdmetrics and columns:
        quality = _sdmetrics_quality(train[scored], synthetic[scored], seed)
        holdout_quality = _sdmetrics_quality(train[scored], holdout[scored], seed)
    return FidelityResult(
        score=1 - (tvd1 + tvd2) / 2, holdout_reference=1 - (holdout_tvd1 + holdout_tvd2) / 2,
        tvd1=tvd1, tvd2=tvd2, holdout_tvd1=holdout_tvd1, holdout_tvd2=holdout_tvd2,
        sdmetrics_quality=quality, holdout_sdmetrics_quality=holdout_quality,
        sdmetrics_columns=len(scored) if sdmetrics else 0, columns=per_column, pairs=per_pair,
        correlation=correlation_matrices(train, synthetic, columns, ranks[:2]),
        distributions={c: _distribution(coded[c], edges.get(c),
                                        pd.api.types.is_datetime64_any_dtype(train[c]))
                       for c in columns})


def _distribution(column: CodedColumn, edges: np.ndarray | None, dates: bool = False,
                  top: int = 12) -> dict[str, list]:
    """Shares per bin (numeric: labelled by bin edges) or per category (the most common ones;
    a label held by fewer than MIN_LABEL_ROWS training rows only inside the rare bucket)."""
    counts = [column.counts(i) for i in range(3)]
    if edges is None:
        real, fake, fresh = (pd.Series(c, index=column.labels) for c in counts)
        keys, values = shares_from_counts(real, synthetic=fake, holdout=fresh, top=top)
        labels = ["(missing)" if k == MISSING else k if k == RARE_LABEL else _short(k)
                  for k in keys]
        return {"labels": labels, **values}
    shown = np.flatnonzero(counts[0] + counts[1])  # bins held by real or synthetic rows
    texts = _date_texts(edges) if dates else [f"{e:.4g}" for e in edges]
    return {"labels": [_bin_label(column.labels[k], texts) for k in shown],
            **{name: (c[shown] / max(1, c.sum())).tolist()
               for name, c in zip(("real", "synthetic", "holdout"), counts, strict=True)}}


def _date_texts(days: np.ndarray) -> list[str]:
    """Bin edges of a date column (days since 1970) as dates; with the time of day when the
    edges fall within a few days of each other."""
    stamps = pd.to_datetime(np.asarray(days, dtype=float) * 86_400.0, unit="s")
    close = len(days) > 1 and float(np.max(days) - np.min(days)) < 3.0
    return [t.strftime("%Y-%m-%d %H:%M" if close else "%Y-%m-%d") for t in stamps]


def _short(label: str, limit: int = 60) -> str:
    """A category as a chart label: long values cut, so a report never carries a whole text."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _bin_label(key: str, edges: list[str]) -> str:
    if key == MISSING:
        return "(missing)"
    index = int(key)
    low = edges[index - 1] if index > 0 else "min"
    high = edges[index] if index < len(edges) else "max"
    return f"{low}–{high}"


def _column(train: pd.DataFrame, ranks: list[Ranks], coded: CodedColumn,
            column: str) -> ColumnFidelity:
    numeric = is_numeric(train[column])
    real, fake, fresh = (coded.counts(i) for i in range(3))
    result = ColumnFidelity(column, "numeric" if numeric else "categorical",
                            tvd_counts(real, fake), tvd_counts(real, fresh))
    if numeric:
        base, other, extra = (_present(r.floats(column)) for r in ranks)
        result.ks_complement = _ks_complement(base, other)
        result.holdout_ks_complement = _ks_complement(base, extra)
    return result


def _present(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def _ks_complement(a: np.ndarray, b: np.ndarray) -> float:
    if not len(a) or not len(b):
        return 0.0
    return 1 - ks_statistic(a, b)


def _pair(train: pd.DataFrame, ranks: list[Ranks], coded: dict[str, CodedColumn], a: str,
          b: str) -> PairFidelity:
    joint = pair_counts(coded[a], coded[b])
    real, fake, fresh = joint.counts
    if is_numeric(train[a]) and is_numeric(train[b]):
        metric = "correlation"
        measures = [r.spearman(a, b) for r in ranks]
    else:
        metric = "cramers_v"
        measures = [cramers_v(joint.rows, joint.cols, c) for c in joint.counts]
    return PairFidelity((a, b), metric, *measures, tvd_counts(real, fake),
                        tvd_counts(real, fresh))


def correlation_matrices(train: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str],
                         ranks: list[Ranks] | None = None) -> dict[str, Any]:
    """Spearman correlations of numeric columns, real and synthetic, for side-by-side heatmaps."""
    numeric = [c for c in columns if is_numeric(train[c])][:20]
    if len(numeric) < 2:
        return {}
    real, fake = ranks or (Ranks(train), Ranks(synthetic))
    return {"columns": numeric, "real": real.matrix(numeric), "synthetic": fake.matrix(numeric)}


def _sdmetrics_quality(train: pd.DataFrame, other: pd.DataFrame, seed: int) -> float | None:
    import warnings

    from sdmetrics.reports.single_table import QualityReport
    from sdv.metadata import Metadata

    real, fake = sample_rows(train, 10_000, seed), sample_rows(other, 10_000, seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metadata = Metadata.detect_from_dataframes({"t": real}).to_dict()["tables"]["t"]
            for name, column in metadata["columns"].items():
                if column.get("sdtype") not in ("numerical", "categorical", "boolean",
                                                "datetime"):
                    metadata["columns"][name] = {"sdtype": "categorical"}
            report = QualityReport()
            report.generate(real, fake[real.columns], metadata, verbose=False)
            return float(report.get_score())
    except Exception:  # SDMetrics rejects some column types; the score is optional
        return None
