"""Singling out reads the same risk whatever the holdout's share, against built-in truth.

Census rows are dealt into a control (2,000 holdout rows), an independent real sample and
training rows. A leaky synthetic table is 20 % copies of training rows and 80 % independent real
rows. The equal-size figure is the risk when the training rows are as many as the control's and
the copies come from them: the setting where comparing one training table with the control is
right. With 4 or 2.5 times as many training rows as control rows (a 20 % or 29 % holdout), the
risk reads within sampling error of that figure; cutting the training rows down to the control's
number instead (the former method) dilutes it about fourfold at a 20 % holdout. A table that
copies nothing stays far below the medium band.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation import attacks
from tabsynth.evaluation.privacy import PrivacySettings

CONTROL, SYNTHETIC, QUERIES = 2000, 4000, 2000
MODES = ("univariate", "multivariate")
POOLS = (0, 1, 2)


def _singling_out(synthetic: pd.DataFrame, train: pd.DataFrame,
                  control: pd.DataFrame) -> dict[str, dict[str, Any]]:
    columns = list(control.columns)
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(control[c])]
    return attacks.singling_out(synthetic, train, control, columns, numeric, QUERIES, 300_000,
                                seed=0)


def _leaky(train: pd.DataFrame, independent: pd.DataFrame) -> pd.DataFrame:
    """20 % copies of training rows, 80 % independent real rows."""
    copied = train.sample(SYNTHETIC // 5, random_state=1)
    mixed = pd.concat([independent.iloc[:SYNTHETIC - len(copied)], copied])
    return mixed.sample(frac=1, random_state=2).reset_index(drop=True)


def _overlap(first: dict[str, Any], second: dict[str, Any]) -> bool:
    return first["ci"][0] <= second["ci"][1] and second["ci"][0] <= first["ci"][1]


@pytest.fixture(scope="module")
def census(census_path) -> pd.DataFrame:
    return pd.read_csv(census_path)


@pytest.fixture(scope="module", params=POOLS)
def pool(request, census) -> dict[str, pd.DataFrame]:
    rows = census.sample(frac=1, random_state=request.param).reset_index(drop=True)
    rest = rows.iloc[CONTROL + SYNTHETIC:].reset_index(drop=True)
    return {"control": rows.iloc[:CONTROL], "independent": rows.iloc[CONTROL:][:SYNTHETIC],
            "rest": rest}


@pytest.fixture(scope="module")
def equal_size(pool) -> dict[str, dict[str, Any]]:
    train = pool["rest"].iloc[:CONTROL]
    return _singling_out(_leaky(train, pool["independent"]), train, pool["control"])


@pytest.mark.parametrize("per_control", [1, 2.5, 4])
def test_leaky_risk_reads_the_equal_size_figure(pool, equal_size, per_control: float) -> None:
    train = pool["rest"].iloc[:round(per_control * CONTROL)]
    result = _singling_out(_leaky(train, pool["independent"]), train, pool["control"])
    for mode in MODES:
        found, truth = result[mode], equal_size[mode]
        assert found["folds"] == np.ceil(per_control - 0.01)
        assert found["training_rows"] == train.drop_duplicates().shape[0]
        assert _overlap(found, truth), (mode, found["risk"], found["ci"], truth["risk"],
                                        truth["ci"])
        assert truth["risk"] > 0.05


def test_cutting_the_training_rows_dilutes_the_risk(pool, equal_size) -> None:
    """The former method: training rows cut down to the control's number (20 % holdout)."""
    train = pool["rest"].iloc[:4 * CONTROL]
    synthetic = _leaky(train, pool["independent"])
    cut = _singling_out(synthetic, train.sample(CONTROL, random_state=5), pool["control"])
    univariate = cut["univariate"]
    assert univariate["ci"][1] < equal_size["univariate"]["ci"][0]
    assert univariate["risk"] < 0.5 * equal_size["univariate"]["risk"]


@pytest.mark.parametrize("copula", ["independent rows", "columns shuffled"])
def test_a_table_that_copies_nothing_stays_low(pool, copula: str) -> None:
    train = pool["rest"].iloc[:4 * CONTROL]
    independent = pool["independent"]  # real rows the synthesizer never saw
    synthetic = (independent if copula == "independent rows" else
                 pd.DataFrame({c: independent[c].sample(frac=1, random_state=i).to_numpy()
                               for i, c in enumerate(independent.columns)}))
    result = _singling_out(synthetic, train, pool["control"])
    for mode in MODES:
        assert result[mode]["folds"] == 4
        assert result[mode]["ci"][1] < PrivacySettings().medium_risk, result[mode]


def test_folds_are_disjoint_and_as_large_as_the_control() -> None:
    codes = np.arange(25)[:, None] * np.array([[1, 1]])  # 25 distinct rows
    folds = attacks.Folds.split(codes, np.random.default_rng(0).permutation(25), 10,
                                np.random.default_rng(1))
    assert [len(t.codes) for t in folds.tables] == [10, 10, 10]
    own = [set(t.codes[:, 0]) for t in folds.tables]
    lent = set(folds.lent.codes[:, 0])
    assert len(lent) == 5 and lent <= own[0] | own[1]
    assert not own[0] & own[1] and (own[0] | own[1] | (own[2] - lent)) == set(range(25))
    assert folds.per_control == 2.5
    row = int(next(iter(lent)))  # a query for a lent row singles it out in its own fold only
    hits = folds.singled_out((np.array([[0]]), np.array([[0]]), np.array([[row]])))
    assert hits.sum() == 1 and not hits[0, -1]
    assert folds.singled_out((np.array([[0]]), np.array([[0]]), np.array([[row]])),
                             own_rows_only=False)[0, -1]


@pytest.mark.parametrize("counts", [(120, 80, 300), (0, 0, 0), (2000, 1500, 1999)])
def test_one_fold_is_anonymeters_risk(counts: tuple[int, int, int]) -> None:
    success, control, n = counts[0], counts[1], 2000
    expected = attacks.attack_result("x", n, success, 0, control)
    risk, ci, main_rate = attacks.fold_risk([success], n, control, 1.0)
    assert risk == pytest.approx(expected["risk"])
    assert ci == pytest.approx(expected["ci"])
    assert main_rate == pytest.approx(expected["main_rate"])
