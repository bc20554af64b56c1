"""The autoregressive synthesizer: learns a three-column dependence, keeps types, saves on CPU."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tabsynth.errors import ConfigError
from tabsynth.schema import infer_schema
from tabsynth.synthesizers import make_synthesizer
from tabsynth.synthesizers.base import Synthesizer


def _xor_table(rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    """y = a XOR b: each pair (a, y) and (b, y) is independent; only all three show it."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y"], rows)
    b = rng.choice(["p", "q"], rows)
    y = np.where((a == "x") ^ (b == "p"), "one", "zero")
    return pd.DataFrame({"y": y, "a": a, "b": b,
                         "amount": np.round(rng.normal(50, 10, rows) + 20 * (y == "one"), 1)})


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, Synthesizer]:
    table = _xor_table()
    model = make_synthesizer("autoregressive", seed=0, target="y")
    return table, model.fit(table, infer_schema(table))


def test_learns_a_dependence_only_three_columns_show(fitted) -> None:
    table, model = fitted
    pair_share = pd.crosstab(table["a"], table["y"], normalize="index")["one"]
    assert pair_share.between(0.4, 0.6).all(), "a alone must not predict y"
    synthetic = model.sample(3000, seed=1)
    xor = (synthetic["a"] == "x") ^ (synthetic["b"] == "p")
    assert (synthetic.loc[xor, "y"] == "one").mean() > 0.9
    assert (synthetic.loc[~xor, "y"] == "zero").mean() > 0.9
    gap = (synthetic.groupby("y")["amount"].mean() - table.groupby("y")["amount"].mean()).abs()
    assert (gap < 3).all(), gap


def test_types_missing_values_and_dates_survive() -> None:
    rng = np.random.default_rng(3)
    rows = 1500
    income = rng.lognormal(10, 0.5, rows)
    income[rng.random(rows) < 0.2] = np.nan
    table = pd.DataFrame({
        "age": rng.integers(18, 90, rows),
        "income": income,
        "member": rng.random(rows) < 0.3,
        "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), "D"),
        "group": rng.choice(["alpha", "beta", "gamma"], rows, p=[0.6, 0.3, 0.1])})
    model = make_synthesizer("autoregressive", seed=0, epochs=15).fit(table, infer_schema(table))
    synthetic = model.sample(2000, seed=2)
    assert list(synthetic.columns) == list(table.columns)
    assert pd.api.types.is_integer_dtype(synthetic["age"])
    assert pd.api.types.is_datetime64_any_dtype(synthetic["joined"])
    assert synthetic["age"].between(18, 89).all()
    assert abs(synthetic["income"].isna().mean() - 0.2) < 0.05
    assert set(synthetic["group"].dropna()) <= {"alpha", "beta", "gamma"}
    assert abs((synthetic["group"] == "alpha").mean() - 0.6) < 0.06
    real_median, fake_median = table["income"].median(), synthetic["income"].median()
    assert abs(fake_median / real_median - 1) < 0.1


def test_saved_model_holds_cpu_tensors_and_samples_the_same(fitted, tmp_path) -> None:
    _, model = fitted
    path = tmp_path / "model.pkl"
    model.save(path)
    loaded = Synthesizer.load(path)
    assert all(p.device.type == "cpu" for p in loaded.network.parameters())
    first = loaded.sample(500, seed=7)
    pd.testing.assert_frame_equal(first, model.sample(500, seed=7))
    # a model trained elsewhere: parameters moved to the meta device and back keep their shapes
    shapes = {k: v.shape for k, v in loaded.network.state_dict().items()}
    meta = loaded.network.to("meta")
    assert {k: v.shape for k, v in meta.state_dict().items()} == shapes
    assert all(p.device.type == "meta" for p in meta.parameters())


def test_epsilon_is_refused_with_a_pointer_to_dp_gan() -> None:
    with pytest.raises(ConfigError, match="dp-gan"):
        make_synthesizer("autoregressive", epsilon=1.0)
    assert make_synthesizer("autoregressive", epsilon=float("inf")) is not None


def test_network_step_depends_only_on_earlier_steps() -> None:
    from tabsynth.autoregressive.network import Made

    network = Made([3, 4, 2, 5], hidden=32)
    tokens = torch.zeros((1, 4), dtype=torch.long)
    base = network(tokens).detach()
    for changed in range(4):
        other = tokens.clone()
        other[0, changed] = 1
        moved = (network(other).detach() - base).abs()
        for k, (a, b) in enumerate(network.slices):
            if k <= changed:
                assert moved[0, a:b].max() == 0, (changed, k)
