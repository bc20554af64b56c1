"""How close the synthetic table is to train, beside the same score for the holdout."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from tabsynth.evaluation.common import (
    MISSING,
    RARE_LABEL,
    Binner,
    as_float,
    comparable_columns,
    is_numeric,
    label_shares,
    sample_rows,
    tvd,
)

MAX_PAIRS = 120
# SDMetrics' quality report scores every column pair: 124,750 pairs for 500 columns take hours,
# so wider tables are scored on a seeded sample of this many columns (said in the report)
MAX_SDMETRICS_COLUMNS = 30


@dataclass
class ColumnFidelity:
    column: str
    kind: str  # numeric | categorical
    tvd: float
    holdout_tvd: float
    ks_complement: float | None = None
    holdout_ks_complement: float | None = None


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
                      seed: int = 0) -> FidelityResult:
    columns = comparable_columns(train, synthetic, exclude)
    binner = Binner(train, columns)
    real, fake, fresh = (binner.transform(f) for f in (train, synthetic, holdout))
    per_column = [_column(train, holdout, synthetic, real, fake, fresh, c) for c in columns]
    pairs = list(itertools.combinations(columns, 2))
    if len(pairs) > MAX_PAIRS:
        rng = np.random.default_rng(seed)
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), MAX_PAIRS, replace=False))]
    per_pair = [_pair(train, holdout, synthetic, real, fake, fresh, a, b) for a, b in pairs]
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
        correlation=correlation_matrices(train, synthetic, columns),
        distributions={c: _distribution(binner, real[c], fake[c], fresh[c], c) for c in columns})


def _distribution(binner: Binner, real: pd.Series, fake: pd.Series, fresh: pd.Series,
                  column: str, top: int = 12) -> dict[str, list]:
    """Shares per bin (numeric: labelled by bin edges) or per category (the most common ones;
    a label held by fewer than MIN_LABEL_ROWS training rows only inside the rare bucket)."""
    if column not in binner.numeric:
        keys, values = label_shares(real, {"synthetic": fake, "holdout": fresh}, top)
        labels = ["(missing)" if k == MISSING else k if k == RARE_LABEL else _short(k)
                  for k in keys]
        return {"labels": labels, **values}
    shares = {name: s.value_counts(normalize=True) for name, s in
              (("real", real), ("synthetic", fake), ("holdout", fresh))}
    edges = [f"{e:.4g}" for e in binner.edges[column]]
    keys = sorted(set(shares["real"].index) | set(shares["synthetic"].index),
                  key=lambda k: (k == MISSING, int(k) if k.isdigit() else 0))
    return {"labels": [_bin_label(k, edges) for k in keys],
            **{name: [float(s.get(k, 0.0)) for k in keys] for name, s in shares.items()}}


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


def _column(train, holdout, synthetic, real, fake, fresh, column: str) -> ColumnFidelity:
    numeric = is_numeric(train[column])
    result = ColumnFidelity(column, "numeric" if numeric else "categorical",
                            tvd(real[column], fake[column]), tvd(real[column], fresh[column]))
    if numeric:
        base = as_float(train[column]).dropna()
        result.ks_complement = _ks_complement(base, as_float(synthetic[column]).dropna())
        result.holdout_ks_complement = _ks_complement(base, as_float(holdout[column]).dropna())
    return result


def _ks_complement(a: pd.Series, b: pd.Series) -> float:
    if a.empty or b.empty:
        return 0.0
    return float(1 - ks_2samp(a.to_numpy(), b.to_numpy()).statistic)


def _pair(train, holdout, synthetic, real, fake, fresh, a: str, b: str) -> PairFidelity:
    joined = [(f[a] + "\x1f" + f[b]) for f in (real, fake, fresh)]
    if is_numeric(train[a]) and is_numeric(train[b]):
        metric, measure = "correlation", _correlation
    else:
        metric, measure = "cramers_v", _cramers_v
        train, synthetic, holdout = real, fake, fresh
    return PairFidelity((a, b), metric, measure(train, a, b), measure(synthetic, a, b),
                        measure(holdout, a, b), tvd(joined[0], joined[1]),
                        tvd(joined[0], joined[2]))


def _correlation(frame: pd.DataFrame, a: str, b: str) -> float:
    x, y = as_float(frame[a]), as_float(frame[b])
    value = x.corr(y, method="spearman")
    return 0.0 if pd.isna(value) else float(value)


def _cramers_v(frame: pd.DataFrame, a: str, b: str) -> float:
    table = pd.crosstab(frame[a], frame[b]).to_numpy(dtype=float)
    if table.size == 0 or min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / np.where(expected > 0, expected, 1)).sum())
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def correlation_matrices(train: pd.DataFrame, synthetic: pd.DataFrame,
                         columns: list[str]) -> dict[str, Any]:
    """Spearman correlations of numeric columns, real and synthetic, for side-by-side heatmaps."""
    numeric = [c for c in columns if is_numeric(train[c])][:20]
    if len(numeric) < 2:
        return {}

    def matrix(frame: pd.DataFrame) -> list[list[float]]:
        values = pd.DataFrame({c: as_float(frame[c]) for c in numeric}).corr("spearman")
        return values.fillna(0).round(3).to_numpy().tolist()

    return {"columns": numeric, "real": matrix(train), "synthetic": matrix(synthetic)}


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
