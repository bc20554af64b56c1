"""The autoregressive synthesizer: learns a three-column dependence, keeps types, saves on CPU."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tabsynth.dp.ranges import GRID_RELEASES
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


def test_settings_are_checked_before_fitting() -> None:
    with pytest.raises(ConfigError, match="epsilon"):
        make_synthesizer("autoregressive", epsilon=-1.0)
    with pytest.raises(ConfigError, match="delta"):
        make_synthesizer("autoregressive", epsilon=1.0, delta=2.0)
    assert not make_synthesizer("autoregressive", epsilon=float("inf")).private
    assert not make_synthesizer("autoregressive").private


def test_ghost_clipping_norms_equal_each_rows_gradient_norm() -> None:
    """The masked layers' norm sampler is exact: Opacus's per-row norms equal autograd's."""
    from opacus.grad_sample import GradSampleModuleFastGradientClipping

    import tabsynth.autoregressive.private  # noqa: F401  (registers the samplers)
    from tabsynth.autoregressive.network import Made

    torch.manual_seed(0)
    vocabularies = [3, 4, 2, 5]
    network = Made(vocabularies, hidden=16)
    tokens = torch.stack([torch.randint(0, v, (12,)) for v in vocabularies], dim=1)
    module = GradSampleModuleFastGradientClipping(network, loss_reduction="sum",
                                                  max_grad_norm=1.0, use_ghost_clipping=True)
    network.row_nll(tokens).sum().backward()
    opacus_norms = module.get_norm_sample()
    module.disable_hooks()
    expected = []
    for row in tokens:
        network.zero_grad()
        network.row_nll(row[None]).sum().backward()
        expected.append(torch.sqrt(sum((p.grad ** 2).sum() for p in network.parameters()
                                       if p.grad is not None)))
    torch.testing.assert_close(opacus_norms, torch.stack(expected), rtol=1e-4, atol=1e-6)


def test_private_fit_spends_what_it_claims_with_fresh_noise() -> None:
    table = _xor_table(rows=800, seed=5)
    schema = infer_schema(table)
    torch.manual_seed(123)
    fits = [make_synthesizer("autoregressive", epsilon=2.0, epochs=2, seed=0,
                             target="y").fit(table, schema) for _ in range(2)]
    claim = fits[0].privacy_claim
    assert claim is not None and claim.epsilon <= 2.0 * 1.0001
    assert claim.epsilon_training > 0 and claim.epsilon_preprocessing > 0
    info = fits[0].fit_info
    # the row count, then one histogram per categorical column and per numeric one its exact
    # values and the grid levels' releases
    assert info["noisy_releases"] == {"row count": 1, "histogram": 3 + 1 + GRID_RELEASES}
    first, second = (fit.sample(300, seed=3) for fit in fits)
    assert not first.equals(second), "the same --seed must not replay a DP fit's noise"
    assert torch.initial_seed() == 123, "a DP fit must not leave its secret seed behind"
    binned = [c for c in fits[0].codec.domain.columns if c.n_bins]
    assert binned
    for column in binned:  # inner steps from the edges alone: equal on the grid's log scale
        for low, high, steps in zip(column.edges[:-1], column.edges[1:], column.inner,
                                    strict=True):
            assert steps[0] == low and steps[-1] == high
            if low >= 1e-3:
                np.testing.assert_allclose(np.diff(np.log(steps)), np.log(high / low) / 16,
                                           rtol=0.05)  # linear inside one grid cell


def test_skewed_marginals_hold_after_a_short_fit() -> None:
    """Output biases start at the domain's marginal: a small table's skew needs no long fit."""
    rng = np.random.default_rng(2)
    rows = 400
    table = pd.DataFrame({"visits": rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], rows,
                                               p=[0.82] + [0.02] * 9),
                          "plan": rng.choice(["basic", "pro", "team"], rows, p=[0.9, 0.07, 0.03])})
    model = make_synthesizer("autoregressive", epochs=1, seed=0)
    synthetic = model.fit(table, infer_schema(table)).sample(4000, seed=1)
    for column in table.columns:
        real = table[column].value_counts(normalize=True)
        made = synthetic[column].value_counts(normalize=True).reindex(real.index, fill_value=0)
        assert 0.5 * float((real - made).abs().sum()) < 0.05, column


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


def test_incremental_sampling_draws_what_the_full_forward_pass_gives() -> None:
    """Sampling computes one step's logits at a time; the draws equal the whole-network ones."""
    from tabsynth.autoregressive.network import Made

    torch.manual_seed(0)
    network = Made([3, 16, 2, 7, 5], hidden=32).eval()

    def reference(n: int, generator: torch.Generator) -> torch.Tensor:
        tokens = torch.zeros((n, 5), dtype=torch.long)
        for k, (a, b) in enumerate(network.slices):
            probabilities = torch.softmax(network(tokens)[:, a:b], dim=1)
            tokens[:, k] = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
        return tokens

    fast = network.sample(500, torch.Generator().manual_seed(4))
    slow = reference(500, torch.Generator().manual_seed(4))
    assert torch.equal(fast, slow)


def test_heavy_tail_is_drawn_at_its_own_quantiles_inside_the_top_bin() -> None:
    """Inside a bin the fine steps split the mass equally, so a heavy tail's widest bin is not
    filled uniformly between its edges (which would inflate the largest values)."""
    from tabsynth.autoregressive.tokens import FINE_STEPS, TokenCodec
    from tabsynth.dp.domain import learn_domain

    rng = np.random.default_rng(4)
    table = pd.DataFrame({"seconds": np.round(rng.lognormal(5, 1.5, 20_000), 2)})
    schema = infer_schema(table)
    domain = learn_domain(table, schema, 0.0, 0.0, {}, None, float(len(table)))
    column = domain.columns[0]
    codec = TokenCodec(domain, [0])
    tokens = codec.encode(table)
    top = tokens[:, 0] == len(column.points) + column.n_bins - 1
    steps = np.bincount(tokens[top, 1], minlength=FINE_STEPS) / top.sum()
    assert steps.max() < 2.5 / FINE_STEPS, "each fine step holds about an equal share"
    decoded = codec.decode(tokens, np.random.default_rng(0))["seconds"].to_numpy()
    real = table["seconds"].to_numpy()
    for q in (0.5, 0.9, 0.99):  # the top 0.1 % lies past the released bound
        assert abs(np.quantile(decoded, q) / np.quantile(real, q) - 1) < 0.05, q
    assert abs(decoded[top].mean() / real[top].mean() - 1) < 0.05


def test_private_samples_are_calibrated_to_the_noisy_marginals() -> None:
    """With DP, rows are drawn from a larger pool so 1-way marginals match the domain's noisy
    ones (post-processing); a barely trained network's marginals alone are further off."""
    rng = np.random.default_rng(6)
    rows = 3000
    table = pd.DataFrame({"plan": rng.choice(["basic", "pro", "team", "free"], rows,
                                             p=[0.55, 0.25, 0.15, 0.05]),
                          "region": rng.choice(list("nesw"), rows, p=[0.4, 0.3, 0.2, 0.1])})
    model = make_synthesizer("autoregressive", epsilon=4.0, epochs=1, seed=0)
    model.fit(table, infer_schema(table))
    assert model.calibrate

    def distance(frame: pd.DataFrame) -> float:
        total = 0.0
        for column in model.codec.domain.columns:
            target = pd.Series(column.marginal, index=column.component_labels)
            made = frame[column.name].value_counts(normalize=True).reindex(target.index,
                                                                           fill_value=0)
            total += 0.5 * float((target - made).abs().sum())
        return total

    calibrated = distance(model.sample(6000, seed=1))
    model.calibrate = False
    raw = distance(model.sample(6000, seed=1))
    # 6000 draws leave ~0.015 of sampling error over the two columns
    assert calibrated < 0.04 and calibrated < raw


def test_whole_numbers_inside_bins_are_not_shifted_down() -> None:
    """A whole number's grid mass starts just below it; decoding must not floor part of it to
    its neighbour below (a plain floor: about -0.6 on average for 1..19 here)."""
    from tabsynth.autoregressive.tokens import TokenCodec
    from tabsynth.dp.domain import learn_domain

    values = np.random.default_rng(8).integers(1, 400, 100_000)  # 0.25 % each: no point mass
    table = pd.DataFrame({"count": values})
    schema = infer_schema(table)
    domain = learn_domain(table, schema, 0.0, 0.0, {}, None, float(len(table)))
    assert schema["count"].kind == "integer" and not domain.columns[0].points
    codec = TokenCodec(domain, [0])
    decoded = codec.decode(codec.encode(table), np.random.default_rng(0))["count"].to_numpy()
    small = values < 20
    assert abs((decoded[small] - values[small]).mean()) < 0.3
    assert (decoded[small] == values[small]).mean() > 0.5
