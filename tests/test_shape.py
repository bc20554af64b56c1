"""Values come out in the real column's shape with every method, with and without DP: dates at
their granularity (whole days, whole minutes, ...), whole numbers as whole numbers, numbers at
their decimals. The granularity is read exactly without DP and from the schema's noisy date
cells under DP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.dp.noise import SecretNoise
from tabsynth.dp.schema_release import learn_schema
from tabsynth.errors import TableError
from tabsynth.schema import Schema, coerce_frame, date_unit_of, infer_schema
from tabsynth.synthesizers import make_synthesizer

FAST = {"epochs": 2, "batch_size": 100, "device": "cpu"}
METHODS = [("faker", {}), ("gaussian-copula", {}), ("ctgan", {}), ("autoregressive", {}),
           ("autoregressive", {"epsilon": 1.0}), ("dp-gan", {"epsilon": 1.0})]


def shaped(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """Day dates, timestamps on whole minutes written with seconds, a count with missing values
    (pandas reads it as floats) and amounts with two decimals."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
    minutes = pd.Timestamp("2023-03-01 08:00") + pd.to_timedelta(
        rng.integers(0, 60 * 24 * 30, rows), unit="min")
    visits = rng.poisson(4, rows).astype(float)
    visits[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame({
        "opened": days.strftime("%Y-%m-%d"),
        "seen_at": minutes.strftime("%Y-%m-%d %H:%M:%S"),
        "visits": visits,
        "amount": np.round(rng.gamma(2.0, 40.0, rows), 2),
        "group": rng.choice(["a", "b", "c"], rows),
    })


def test_the_schema_records_each_dates_granularity() -> None:
    schema = infer_schema(shaped())
    assert (schema["opened"].date_unit, schema["seen_at"].date_unit) == ("day", "minute")
    assert schema["visits"].kind == "integer" and schema["amount"].decimals == 2
    stamps = pd.Series(pd.to_datetime(["2024-01-01 10:00", "2024-01-02 13:00"]))
    assert date_unit_of(stamps) == "hour"
    assert date_unit_of(stamps + pd.Timedelta(seconds=5)) == "second"
    assert date_unit_of(stamps + pd.Timedelta(milliseconds=5)) is None
    again = Schema.from_json(schema.to_json())
    assert again["seen_at"].date_unit == "minute"
    data = schema.to_dict()
    data["columns"][0]["date_unit"] = "fortnight"
    with pytest.raises(TableError, match=r"opened.*date_unit"):
        Schema.from_dict(data)


@pytest.mark.parametrize(("method", "options"), METHODS,
                         ids=[m + (" DP" if o else "") for m, o in METHODS])
def test_every_method_keeps_dates_whole_numbers_and_decimals(method: str,
                                                             options: dict) -> None:
    raw = shaped()
    schema = infer_schema(raw)
    frame = coerce_frame(raw, schema)
    model = make_synthesizer(method, **FAST, **options).fit(frame, schema)
    out = model.sample(300, seed=4)
    for name, frequency in (("opened", "D"), ("seen_at", "min")):
        dates = out[name].dropna()
        assert len(dates) and (dates == dates.dt.floor(frequency)).all(), (name, dates.head())
    visits = out["visits"]
    assert str(visits.dtype) in ("Int64", "int64"), visits.dtype
    amounts = out["amount"].dropna()
    assert np.allclose(amounts, amounts.round(2)), amounts.head()


def test_a_schema_learned_under_dp_knows_the_granularity() -> None:
    """The date detail cells split each time-bearing format (and native dates) by granularity,
    so the learned schema reads it from noisy counts alone."""
    rng = np.random.default_rng(1)
    rows = 3000
    raw = shaped(rows, 2)
    raw["hourly"] = (pd.Timestamp("2022-06-01")
                     + pd.to_timedelta(rng.integers(0, 24 * 200, rows), unit="h"))
    raw["exact"] = raw["hourly"] + pd.to_timedelta(rng.integers(0, 10**6, rows), unit="us")
    schema = learn_schema(raw, SecretNoise(), sigma=5.0)
    assert (schema["opened"].datetime_format, schema["opened"].date_unit) == ("%Y-%m-%d", "day")
    assert (schema["seen_at"].datetime_format, schema["seen_at"].date_unit) == \
        ("%Y-%m-%d %H:%M:%S", "minute")
    assert (schema["hourly"].datetime_format, schema["hourly"].date_unit) == (None, "hour")
    assert schema["exact"].date_unit is None
