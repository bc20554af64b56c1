"""The three synthesizers: dtypes, no real PII in output, determinism, progress, cancel."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import PII_COLUMNS, make_pii_table

from tabsynth.errors import ConfigError, TabsynthError
from tabsynth.progress import Cancelled, ProgressEvent
from tabsynth.schema import coerce_frame, infer_schema
from tabsynth.synthesizers import Synthesizer, make_synthesizer

FAST = {"epochs": 2, "batch_size": 100, "device": "cpu"}


@pytest.fixture(scope="module")
def typed_table() -> tuple[pd.DataFrame, object]:
    raw = make_pii_table(rows=400, seed=11)
    schema = infer_schema(raw)
    return coerce_frame(raw, schema), schema


def _normalize(value: object) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().lower()


@pytest.fixture(scope="module", params=["faker", "gaussian-copula", "ctgan"])
def fitted(request, typed_table) -> tuple[Synthesizer, pd.DataFrame]:
    frame, schema = typed_table
    model = make_synthesizer(request.param, **FAST).fit(frame, schema)
    return model, frame


def test_output_has_original_columns_order_and_dtypes(fitted) -> None:
    model, frame = fitted
    out = model.sample(250, seed=5)
    assert len(out) == 250
    assert list(out.columns) == list(frame.columns)
    for column in frame.columns:
        assert str(out[column].dtype) == str(frame[column].dtype), column


def test_no_real_pii_value_reaches_the_output(fitted) -> None:
    model, frame = fitted
    out = model.sample(len(frame), seed=9)
    for column in PII_COLUMNS:
        real = {_normalize(v) for v in frame[column].dropna()}
        made_up = {_normalize(v) for v in out[column].dropna()}
        assert made_up, column
        assert not real & made_up, column


def test_learned_columns_keep_their_domain(fitted) -> None:
    model, frame = fitted
    out = model.sample(300, seed=1)
    assert set(out["segment"].dropna()) <= set(frame["segment"])
    assert set(out["active"].dropna()) <= {True, False}


def test_saved_model_holds_no_pii(fitted, tmp_path) -> None:
    model, frame = fitted
    path = tmp_path / "model.safetensors"
    model.save(path)
    blob = path.read_bytes()
    for column in PII_COLUMNS:
        for value in frame[column].head(100):
            assert str(value).encode() not in blob, column
    again = Synthesizer.load(path)
    assert list(again.sample(20, seed=2).columns) == list(frame.columns)


@pytest.mark.parametrize("method", ["faker", "gaussian-copula"])
def test_same_seed_same_output(method: str, typed_table) -> None:
    frame, schema = typed_table
    model = make_synthesizer(method).fit(frame, schema)
    first = model.sample(200, seed=3)
    pd.testing.assert_frame_equal(first, model.sample(200, seed=3))
    learned = [c.name for c in schema.learned]
    second = make_synthesizer(method).fit(frame, schema).sample(200, seed=3)
    other = make_synthesizer(method).fit(frame, schema).sample(200, seed=4)
    pd.testing.assert_frame_equal(first[learned], second[learned])
    assert not first.equals(other)


def test_gaussian_copula_keeps_a_correlation(typed_table) -> None:
    frame, schema = typed_table
    out = make_synthesizer("gaussian-copula").fit(frame, schema).sample(2000, seed=1)
    real = frame["spend"].corr(frame["visits"])
    synthetic = out["spend"].corr(out["visits"])
    independent = make_synthesizer("faker").fit(frame, schema).sample(2000, seed=1)
    assert real > 0.3
    assert abs(synthetic - real) < abs(independent["spend"].corr(independent["visits"]) - real)


def test_ctgan_reports_each_epoch_and_can_be_cancelled(typed_table) -> None:
    frame, schema = typed_table
    events: list[ProgressEvent] = []
    make_synthesizer("ctgan", epochs=3, batch_size=100, device="cpu").fit(
        frame, schema, progress=events.append)
    epochs = [e for e in events if e.stage == "train" and "epoch" in e.metrics]
    assert [e.metrics["epoch"] for e in epochs] == [1.0, 2.0, 3.0]
    assert all("generator_loss" in e.metrics for e in epochs)

    seen: list[ProgressEvent] = []

    def stop_after_first_epoch() -> bool:
        return any(e.stage == "train" for e in seen)

    with pytest.raises(Cancelled, match="after epoch 1 of 50"):
        make_synthesizer("ctgan", epochs=50, batch_size=100, device="cpu").fit(
            frame, schema, progress=seen.append, should_stop=stop_after_first_epoch)


def test_unknown_method_and_bad_device_are_explained() -> None:
    with pytest.raises(ConfigError, match="unknown method"):
        make_synthesizer("tvae")
    with pytest.raises(ConfigError, match="unknown device"):
        make_synthesizer("ctgan", device="tpu")


def test_values_as_read_are_typed_before_fitting() -> None:
    """yes/no and dates as text, straight from a CSV reader: the fit types them by the schema
    (they used to be learned as one category and as missing dates, with no error)."""
    rng = np.random.default_rng(0)
    rows = 600
    raw = pd.DataFrame({
        "smoker": rng.choice(["yes", "no"], rows, p=[0.3, 0.7]),
        "admitted_at": (pd.Timestamp("2024-01-01") + pd.to_timedelta(
            rng.integers(0, 300 * 24 * 60, rows), unit="min")).strftime("%Y-%m-%d %H:%M"),
        "age": rng.integers(18, 90, rows)})
    schema = infer_schema(raw)
    assert schema["smoker"].kind == "boolean" and schema["admitted_at"].kind == "datetime"
    model = make_synthesizer("autoregressive", epochs=3, seed=0).fit(raw, schema)
    made = model.sample(400, seed=1)
    assert 0.1 < made["smoker"].eq(True).mean() < 0.5
    assert made["admitted_at"].notna().mean() > 0.95
    bad = raw.copy()
    bad.loc[7, "smoker"] = "Zanzibar-771"
    with pytest.raises(TabsynthError, match="smoker") as caught:
        make_synthesizer("autoregressive", epochs=1).fit(bad, schema)
    assert "Zanzibar" not in str(caught.value)
