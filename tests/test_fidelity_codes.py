"""The fast fidelity (integer codes, bincount, ranks once) gives the numbers of a straightforward
implementation: labels as strings, value_counts, joined pair labels, crosstab, pandas' Spearman
and scipy's KS test, as the evaluation computed them before."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from tabsynth.evaluation.common import MISSING, as_float, is_numeric, label_shares
from tabsynth.evaluation.fidelity import evaluate_fidelity

# ---------------------------------------------------------------- the reference


def _reference_labels(train: pd.DataFrame, frame: pd.DataFrame,
                      bins: int = 20) -> tuple[pd.DataFrame, dict]:
    """Each value as a string: a quantile bin of train, a number's text, or the value's text."""
    out, edges = {}, {}
    for column in frame.columns:
        if is_numeric(train[column]) and train[column].nunique() > bins:
            values = as_float(train[column]).dropna()
            edges[column] = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))[1:-1]
            x = as_float(frame[column])
            codes = np.digitize(x.fillna(0).to_numpy(), edges[column]).astype(str)
            out[column] = np.where(x.isna().to_numpy(), MISSING, codes)
        elif is_numeric(train[column]):
            out[column] = [MISSING if np.isnan(v) else f"{v:g}" for v in as_float(frame[column])]
        else:
            values = frame[column].astype(object)
            out[column] = values.where(values.notna(), MISSING).astype(str).to_numpy()
    return pd.DataFrame(out), edges


def _tvd(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    index = pa.index.union(pb.index)
    return 0.5 * float(np.abs(pa.reindex(index, fill_value=0)
                              - pb.reindex(index, fill_value=0)).sum())


def _cramers_v(a: pd.Series, b: pd.Series) -> float:
    table = pd.crosstab(a, b).to_numpy(dtype=float)
    if table.size == 0 or min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def _spearman(frame: pd.DataFrame, a: str, b: str) -> float:
    value = as_float(frame[a]).corr(as_float(frame[b]), method="spearman")
    return 0.0 if pd.isna(value) else float(value)


def _ks_complement(a: pd.Series, b: pd.Series) -> float:
    a, b = as_float(a).dropna(), as_float(b).dropna()
    return 0.0 if a.empty or b.empty else float(1 - ks_2samp(a, b).statistic)


def reference(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame) -> dict:
    frames = (train, synthetic, holdout)
    real, fake, fresh = (_reference_labels(train, f)[0] for f in frames)
    columns = list(train.columns)
    out: dict = {"columns": {}, "pairs": {}}
    for column in columns:
        entry = {"tvd": _tvd(real[column], fake[column]),
                 "holdout_tvd": _tvd(real[column], fresh[column])}
        if is_numeric(train[column]):
            entry["ks_complement"] = _ks_complement(train[column], synthetic[column])
            entry["holdout_ks_complement"] = _ks_complement(train[column], holdout[column])
        out["columns"][column] = entry
    for a, b in itertools.combinations(columns, 2):
        joined = [f[a] + "\x1f" + f[b] for f in (real, fake, fresh)]
        if is_numeric(train[a]) and is_numeric(train[b]):
            measures = [_spearman(f, a, b) for f in frames]
        else:
            measures = [_cramers_v(f[a], f[b]) for f in (real, fake, fresh)]
        out["pairs"][(a, b)] = {"real": measures[0], "synthetic": measures[1],
                                "holdout": measures[2], "tvd": _tvd(joined[0], joined[1]),
                                "holdout_tvd": _tvd(joined[0], joined[2])}
    numeric = [c for c in columns if is_numeric(train[c])]
    out["correlation"] = {
        name: pd.DataFrame({c: as_float(f[c]) for c in numeric}).corr("spearman")
        .fillna(0).round(3).to_numpy().tolist() for name, f in (("real", train),
                                                                 ("synthetic", synthetic))}
    out["shares"] = {c: label_shares(real[c], {"synthetic": fake[c], "holdout": fresh[c]})
                     for c in columns}
    out["bins"] = {c: {name: f[c].value_counts(normalize=True).to_dict()
                       for name, f in (("real", real), ("synthetic", fake), ("holdout", fresh))}
                   for c in _reference_labels(train, train)[1]}
    return out


# ---------------------------------------------------------------- a table with every kind


def _table(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(40 + shift, 12, rows).round(1)
    age[rng.random(rows) < 0.05] = np.nan
    income = np.exp(rng.normal(10, 1, rows)) * (1 + age.clip(0, 80) / 80)
    kids = rng.poisson(1.5 + shift / 10, rows).astype(float)
    kids[rng.random(rows) < 0.03] = np.nan
    kids[:3] = [1.0000001, 2.0, 3.5]  # 1.0000001 prints as "1", like 1.0
    city = rng.choice(["Paris", "Lyon", "Nice", "<b>Lille</b>", "Brest"], rows,
                      p=[0.4, 0.3, 0.15, 0.1, 0.05]).astype(object)
    city[rng.random(rows) < 0.04] = None
    mixed = rng.choice(np.array([1, "1", 2.5, "x", True], dtype=object), rows)
    return pd.DataFrame({
        "age": age, "income": income, "kids": kids, "city": city,
        "flag": rng.random(rows) < 0.3 + shift / 100,
        "mixed": mixed,
        "grade": pd.Categorical(rng.choice(["A", "B", "C"], rows)),
        "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows),
                                                               unit="D"),
        "constant": np.ones(rows),
    })


@pytest.mark.parametrize("shift", [0.0, 8.0])
def test_fast_fidelity_matches_the_reference(shift: float) -> None:
    train, holdout, synthetic = _table(900, 1), _table(700, 2), _table(700, 3, shift)
    synthetic.loc[5, "city"] = "Atlantis"  # a label train never had
    fast = evaluate_fidelity(train, holdout, synthetic, sdmetrics=False)
    slow = reference(train, holdout, synthetic)
    assert len(fast.columns) == train.shape[1]
    assert len(fast.pairs) == len(slow["pairs"])
    for column in fast.columns:
        expected = slow["columns"][column.column]
        for key, value in expected.items():
            assert getattr(column, key) == pytest.approx(value, abs=1e-12), (column.column, key)
    for pair in fast.pairs:
        expected = slow["pairs"][pair.columns]
        for key, value in expected.items():
            assert getattr(pair, key) == pytest.approx(value, abs=1e-9), (pair.columns, key)
    assert fast.correlation["real"] == slow["correlation"]["real"]
    assert fast.correlation["synthetic"] == slow["correlation"]["synthetic"]
    for column in ("kids", "city", "mixed", "grade", "flag"):
        keys, shares = slow["shares"][column]
        expected = dict(zip(keys, zip(*shares.values(), strict=True), strict=True))
        chart = fast.distributions[column]
        got = dict(zip(chart["labels"], zip(chart["real"], chart["synthetic"],
                                            chart["holdout"], strict=True), strict=True))
        expected = {"(missing)" if k == MISSING else k: v for k, v in expected.items()}
        assert got.keys() == expected.keys(), column
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, abs=1e-12), (column, key)
    for column, shares in slow["bins"].items():  # quantile bins: "0".."19" and MISSING
        chart = fast.distributions[column]
        keys = sorted(set(shares["real"]) | set(shares["synthetic"]),
                      key=lambda k: (k == MISSING, int(k) if k.isdigit() else 0))
        assert len(chart["labels"]) == len(keys)
        assert (chart["labels"][-1] == "(missing)") == (keys[-1] == MISSING)
        for name, values in shares.items():
            assert chart[name] == pytest.approx([values.get(k, 0.0) for k in keys], abs=1e-12)
    assert set(slow["bins"]) == {"age", "income", "joined"}
    assert fast.distributions["age"]["labels"][-1] == "(missing)"
    assert fast.tvd1 > 0 and fast.tvd2 > 0


def test_a_larger_synthetic_table_is_scored_at_the_holdouts_size() -> None:
    """Rows drawn from the very distribution of the real ones, four times the holdout's
    number: scored at the holdout's size they score as a fresh real sample does, not higher
    (a distance to train shrinks with sample size alone)."""
    train, holdout = _table(3000, 1), _table(500, 2)
    scores = []
    for seed in range(3):
        same = _table(2000, 10 + seed)
        result = evaluate_fidelity(train, holdout, same, sdmetrics=False, seed=seed)
        scores.append(result.score - result.holdout_reference)
    assert abs(float(np.mean(scores))) < 0.01
