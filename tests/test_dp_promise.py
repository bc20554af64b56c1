"""The DP promise from outside: secret noise, nothing exact around the accountant, whole-upload
collision guard, coin-flip holdout, and a claim that says what it covers."""

from __future__ import annotations

import html
import json
import math
import pickle
import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import PII_COLUMNS, make_pii_table, run_cli
from faker import Faker

from tabsynth.dp.noise import (
    SecretNoise,
    discrete_gaussian,
    discrete_gaussian_tail,
    release_threshold,
)
from tabsynth.dp.schema_release import MECHANISMS_PER_COLUMN, learn_schema_and_rows
from tabsynth.export import SignOff, export_files
from tabsynth.pipeline import LoadedTable, RunConfig, run, secret_holdout_mask
from tabsynth.schema import coerce_frame, infer_schema
from tabsynth.synthesizers.autoregressive import Autoregressive
from tabsynth.synthesizers.dp_gan import DpGan

UNIQUE = "Zanzibar-only-once"


def people(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["north", "south", "east", "west"], rows, p=[0.4, 0.3, 0.2, 0.1])
    visits = rng.poisson(4, rows).astype(float)
    visits[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame({
        "group": group,
        "income": np.round(rng.lognormal(10, 0.4, rows), 2),
        "visits": visits,
        "member": rng.random(rows) < 0.3,
        "note": [f"free text number {i} about a person" for i in range(rows)],
    })


def fitted(frame: pd.DataFrame, schema, **options) -> DpGan:
    settings = {"epsilon": 1.0, "epochs": 1, "batch_size": 100, "device": "cpu", "seed": 7}
    settings.update(options)
    return DpGan(**settings).fit(frame, schema)


def fitted_autoregressive(frame: pd.DataFrame, schema) -> Autoregressive:
    return Autoregressive(epsilon=1.0, epochs=1, batch_size=100, device="cpu",
                          seed=7).fit(frame, schema)


@pytest.fixture(scope="module")
def base():
    frame = people()
    schema = infer_schema(frame)
    schema["visits"].kind = "integer"
    return coerce_frame(frame, schema), schema


# ---------------------------------------------------------------- 1. the noise is secret

def test_same_seed_gives_fresh_noise_but_sampling_stays_reproducible(base) -> None:
    frame, schema = base
    first, second = fitted(frame, schema), fitted(frame, schema)

    def noisy(model) -> list:  # every noisy count the fit released (one may match by chance)
        return [model.released_rows, *(c.weights for c in model.domain.columns)]

    assert noisy(first) != noisy(second), "noisy counts replayed from the seed"
    w1 = next(first.generator.parameters()).detach()
    w2 = next(second.generator.parameters()).detach()
    assert not torch.equal(w1, w2), "trained weights replayed from the seed"
    pd.testing.assert_frame_equal(first.sample(300, seed=3), first.sample(300, seed=3))


def _keys(value: object) -> list[str]:
    """Every key of a JSON value, at any depth."""
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in (k, *_keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def test_nothing_saved_can_replay_the_noise(base, tmp_path: Path) -> None:
    """The model file holds the generator's weights and plain data: no random generator state,
    no seed of the fit's noise."""
    from safetensors import safe_open

    frame, schema = base
    model = fitted(frame, schema)
    path = tmp_path / "model.safetensors"
    model.save(path)
    with safe_open(str(path), framework="np") as opened:
        names, header = list(opened.keys()), opened.metadata()
    assert names and all(n.startswith("generator.") for n in names), names
    description = json.loads(header["description"])
    assert description["method"] == "dp-gan"
    keys = set(_keys(description))
    assert {"settings", "learned", "domain", "privacy_claim"} <= keys, "the key scan sees them"
    for key in keys:
        for forbidden in ("rng", "random_state", "bit_generator", "state", "entropy", "pcg64"):
            assert forbidden not in key.lower(), key
    with pytest.raises(TypeError, match="must not be pickled"):
        pickle.dumps(SecretNoise())
    claim = model.privacy_claim.to_dict()
    assert "seed" not in json.dumps(model.fit_info)
    assert "operating system" in claim["randomness"] and "seed" in claim["randomness"]


def test_discrete_gaussian_matches_its_distribution() -> None:
    rng = np.random.default_rng(1)
    for sigma in (0.7, 4.0, 60.0):
        draws = discrete_gaussian(sigma, 100_000, rng)
        assert draws.dtype == np.int64
        support = np.arange(-int(12 * sigma) - 2, int(12 * sigma) + 3)
        mass = np.exp(-support.astype(float) ** 2 / (2 * sigma**2))
        mass /= mass.sum()
        assert draws.mean() == pytest.approx(0, abs=5 * math.sqrt((mass * support**2).sum()
                                                                  / 100_000))
        assert draws.var() == pytest.approx((mass * support**2).sum(), rel=0.03)
    assert discrete_gaussian_tail(3.0, 0) > 0.5
    threshold = release_threshold(3.0, 1e-6)
    assert discrete_gaussian_tail(3.0, threshold) <= 1e-6 < discrete_gaussian_tail(
        3.0, threshold - 1)


# ---------------------------------------------------------------- 2. nothing exact leaks

class _Replay:
    """Stands in for SecretNoise: records one fit's noisy releases, then replays them."""

    log: ClassVar[list[np.ndarray]] = []
    replaying = False

    def __init__(self) -> None:
        self.real = SecretNoise()
        self.releases = self.real.releases
        self.position = 0

    def counts(self, counts: np.ndarray, sigma: float, kind: str) -> np.ndarray:
        if not _Replay.replaying:
            noisy = self.real.counts(counts, sigma, kind)
            _Replay.log.append(noisy)
            return noisy
        self.releases[kind] += 1
        noisy = _Replay.log[self.position]
        self.position += 1
        assert noisy.shape == np.shape(counts), "a release changed shape"
        return noisy


def released_view(model: DpGan | Autoregressive) -> dict:
    """Everything a DP fit keeps besides the network's weights."""
    info = {k: v for k, v in model.fit_info.items() if k != "accountant_history"}
    domain = model.domain if isinstance(model, DpGan) else model.codec.domain
    return {"domain": [c.__dict__ for c in domain.columns], "rows": model.released_rows,
            "plan": getattr(model, "plan", None), "info": info, "dtypes": model._dtypes,
            "missing": {k: v.missing_rate for k, v in model._regen_state.items()},
            "claim": model.privacy_claim.to_dict(),
            "calibrate": getattr(model, "calibrate", None)}


@pytest.mark.parametrize("method", ["dp-gan", "autoregressive"])
def test_one_more_row_changes_nothing_but_through_the_noisy_releases(base, monkeypatch,
                                                                     method) -> None:
    """Given the same noisy releases, a table with one more row yields the same model state.

    The extra row holds values already present (so every histogram keeps its cells) and a
    missing value in an integer column and in a made-up column: exact row counts, exact missing
    rates and dtypes (int64 -> float64) would all show it.
    """
    frame, schema = base
    monkeypatch.setattr("tabsynth.dp.start.SecretNoise", _Replay)
    _Replay.log, _Replay.replaying = [], False
    fit = fitted if method == "dp-gan" else fitted_autoregressive
    first = fit(frame, schema)
    extra = frame.iloc[[0]].copy()
    extra["visits"], extra["note"] = np.nan, None
    _Replay.replaying = True
    second = fit(pd.concat([frame, extra], ignore_index=True), schema)
    assert released_view(first) == released_view(second)
    assert first.fit_info["noisy_releases"] == second.fit_info["noisy_releases"]


def test_a_unique_row_leaves_no_exact_trace(base, tmp_path: Path) -> None:
    frame, schema = base
    schema = type(schema).from_dict(schema.to_dict())
    schema["income"].kind = "numeric"
    integral = frame.assign(income=frame["income"].round())
    odd = integral.iloc[[0]].assign(group=UNIQUE, income=12345.5)
    model = fitted(pd.concat([integral, odd], ignore_index=True), schema)
    assert not model.domain["income"].integer, "integer flag must come from the schema"
    assert "folded_categories" not in model.fit_info
    path = tmp_path / "model.safetensors"
    model.save(path)
    blob = path.read_bytes() + json.dumps(model.fit_info, default=str).encode()
    assert UNIQUE.encode() not in blob


def test_preprocessing_makes_exactly_the_releases_the_plan_charged(base) -> None:
    frame, schema = base
    model = fitted(frame, schema)
    releases = model.fit_info["noisy_releases"]
    counted = sum(v for k, v in releases.items() if k != "pair table")
    assert counted == model.plan.mechanisms
    assert releases.get("pair table", 0) == model.plan.pair_mechanisms
    assert releases["row count"] == 1
    assert releases["missing count"] == sum(c.regenerated for c in schema.included)


@pytest.mark.parametrize("learned", [False, True], ids=["given schema", "schema under DP"])
@pytest.mark.parametrize("method", [DpGan, Autoregressive])
def test_every_kind_of_column_makes_exactly_the_releases_the_plan_charged(
        method, learned: bool) -> None:
    """Dates, whole-number categories, a declared public column, a made-up one, numbers and
    labels, with the schema given or learned under DP: each release is one the accountant
    charged, for both DP methods (the fit itself refuses a mismatch; this checks the count
    against the columns, too)."""
    from tabsynth.dp.domain import plan_mechanisms
    from tabsynth.dp.public import PublicColumn

    rng = np.random.default_rng(3)
    rows = 3000 if learned else 300  # a schema learned under DP on 300 rows is mostly noise
    frame = people(rows).assign(
        day=pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), "D"),
        code=rng.choice([1, 2, 3, 4], rows),
        score=rng.uniform(0, 100, rows).round(1))
    public = {"score": PublicColumn(bounds=(0.0, 100.0))}
    model = method(epsilon=1.0, epochs=1, batch_size=100, device="cpu", public=public)
    if learned:
        schema = model.infer_schema(frame)
        schema_releases = len(frame.columns) * MECHANISMS_PER_COLUMN
    else:
        schema, schema_releases = infer_schema(frame), 0
        assert schema["code"].kind == "categorical" and schema["day"].kind == "datetime"
        assert schema["note"].regenerated
        frame = coerce_frame(frame, schema)
    model.fit(frame, schema)
    releases = model.fit_info["noisy_releases"]
    planned, _ = plan_mechanisms(schema, public)
    schema_made = sum(v for k, v in releases.items() if k.startswith("schema: "))
    assert schema_made == schema_releases
    assert sum(v for k, v in releases.items() if k != "pair table") - schema_made \
        == model.plan.mechanisms == planned
    assert releases.get("missing count", 0) == sum(c.regenerated for c in schema.included)


def test_sizes_derive_from_the_noisy_row_count(base) -> None:
    frame, schema = base
    models = [fitted(frame, schema) for _ in range(3)]
    assert any(m.released_rows != len(frame) for m in models), "row count released exactly"
    for model in models:
        rate = model.fit_info["sample_rate"]
        assert rate == pytest.approx(model.fit_info["batch_size"] / model.released_rows,
                                     rel=0.01)
        n = model.released_rows
        assert model.plan.delta == pytest.approx(min(1e-6, 1 / (n * math.sqrt(n))), rel=0.05)


# ---------------------------------------------------------------- 3. the claim's scope

def test_claim_says_what_it_covers(base) -> None:
    frame, schema = base
    claim = fitted(frame, schema).privacy_claim.to_dict()
    assert claim["unit"] == "adding or removing one row of the training split"
    assert "k·ε" in claim["group_privacy"]
    outside = " ".join(claim["not_covered"])
    for phrase in ("schema", "review report", "note"):
        assert phrase in outside
    risks = " ".join(claim["residual_risks"])
    assert "not cryptographically secure" in risks and "Poisson sampling" in risks
    assert "floating-point" in risks
    assert f"{claim['epsilon']:.3g}" in claim["plain"]


# ---------------------------------------------------------------- 5. the holdout split

def test_holdout_coin_flips_are_secret_and_independent() -> None:
    first, second = secret_holdout_mask(5000, 0.2), secret_holdout_mask(5000, 0.2)
    assert not np.array_equal(first, second)
    assert abs(first.mean() - 0.2) < 0.03


def test_dp_run_infers_its_schema_from_the_training_rows(monkeypatch) -> None:
    frame = people(300)
    frame.loc[:9, "group"] = "holdout-only"
    mask = np.zeros(len(frame), dtype=bool)
    mask[:60] = True
    monkeypatch.setattr("tabsynth.pipeline.secret_holdout_mask", lambda rows, fraction: mask)
    seen = {}

    real_learn = learn_schema_and_rows

    def spy(source, noise, sigma, target=None):
        seen["values"] = set(source["group"])
        return real_learn(source, noise, sigma, target)

    monkeypatch.setattr("tabsynth.dp.start.learn_schema_and_rows", spy)
    config = RunConfig(method="dp-gan", epsilon=1.0, epochs=1, batch_size=50, device="cpu",
                       evaluate=False)
    result = run(LoadedTable(frame, "0" * 64, "people.csv"), config)
    assert "holdout-only" not in seen["values"]
    assert len(result.holdout) == 60 and len(result.train) == 240


# ---------------------------------------------------------------- 6. no real PII value ships

def customers(rows: int = 3000) -> pd.DataFrame:
    """en_US names and e-mails, as Faker makes them: the same pool the made-up values come from."""
    fake = Faker("en_US")
    fake.seed_instance(11)
    rng = np.random.default_rng(11)
    return pd.DataFrame({
        "customer": [fake.name() for _ in range(rows)],
        "email": [fake.free_email() for _ in range(rows)],
        "plan": rng.choice(["basic", "plus", "pro"], rows),
        "spend": np.round(rng.gamma(2, 40, rows), 2),
    })


@pytest.mark.slow
@pytest.mark.parametrize("method", ["faker", "gaussian-copula", "ctgan", "dp-gan",
                                    "autoregressive"])
def test_no_real_pii_value_in_any_output(method: str, tmp_path: Path) -> None:
    table = customers()
    source = tmp_path / "customers.csv"
    table.to_csv(source, index=False)
    out = tmp_path / "out"
    epochs = ["--epochs", "1"] if method in ("ctgan", "dp-gan", "autoregressive") else []
    done = run_cli("synthesize", str(source), "--method", method, *epochs, "--seed",
                   "1", "--no-evaluate", "--quiet", "--out", str(out))
    assert done.returncode == 0, done.stderr
    synthetic = pd.read_csv(out / "synthetic.csv")
    for column in ("customer", "email"):
        real = {v.strip().lower() for v in table[column]}
        made_up = {str(v).strip().lower() for v in synthetic[column].dropna()}
        assert made_up and not made_up & real, (column, sorted(made_up & real)[:5])


# ---------------------------------------------------------------- 8. nothing real ships

@pytest.mark.slow
def test_one_row_category_and_pii_appear_nowhere_in_the_outputs(tmp_path: Path) -> None:
    table = make_pii_table(rows=400, seed=8)
    table["tier"] = np.where(np.arange(400) % 2 == 0, "gold", "silver")
    table.loc[123, "tier"] = UNIQUE
    source = tmp_path / "people.csv"
    table.to_csv(source, index=False)
    out = tmp_path / "out"
    done = run_cli("synthesize", str(source), "--method", "dp-gan", "--epsilon", "1",
                   "--epochs", "1", "--batch-size", "100", "--quiet", "--out", str(out))
    assert done.returncode == 0, done.stderr
    outputs = {path.name: path.read_bytes() for path in out.iterdir()}
    assert {"synthetic.csv", "release.json", "release.html", "report.json",
            "report.html"} <= set(outputs)
    signoff = SignOff("Ada", "DPO", reviewed_privacy_report=True,
                      justification="Made-up rows for the privacy test of this suite.")
    outputs |= {f"zip:{name}": data for name, data in export_files(out, signoff).items()}
    secrets = [UNIQUE, *(str(v) for c in PII_COLUMNS for v in table[c])]
    forms = sorted({form for value in secrets for form in (value, html.escape(value))},
                   key=len, reverse=True)
    # each as a whole value: 'yferguson@x' inside 'kimberlyferguson@x' is not (one pattern for
    # all of them: a search per value took 25 s)
    whole = re.compile(rf"(?<![\w.@+-])(?:{'|'.join(map(re.escape, forms))})(?![\w@-]|\.\w)")
    for name, data in outputs.items():
        found = whole.search(data.decode("utf-8", errors="replace"))
        assert found is None, (name, found and found.group())
