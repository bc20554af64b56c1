"""A table over the reading limits is read as a sample while streaming through it."""

from __future__ import annotations

import gzip
import io
import re

import numpy as np
import pandas as pd
import pytest

from tabsynth import sampled_read
from tabsynth.errors import ConfigError, TableError
from tabsynth.io import ReadLimits
from tabsynth.pipeline import load_table
from tabsynth.sampled_read import RowSampling, read_sampled

ROWS = 6_000
LIMIT = ReadLimits(max_rows=1_000)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"row_id": np.arange(ROWS), "age": rng.integers(18, 90, ROWS),
                         "city": rng.choice(["Oslo", "Lima", "Pune"], ROWS),
                         "amount": rng.normal(100, 10, ROWS).round(2)})


@pytest.fixture(scope="module")
def csv_data(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def parquet_data(table: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.to_parquet(buffer, row_group_size=700)
    return buffer.getvalue()


def _same_rows(sample: pd.DataFrame, table: pd.DataFrame) -> None:
    """Every sampled row is the real row with its id, values and types unchanged."""
    original = table.set_index("row_id").loc[sample["row_id"]].reset_index()
    pd.testing.assert_frame_equal(sample.reset_index(drop=True), original, check_dtype=False)
    assert sample["row_id"].is_unique and sample["row_id"].is_monotonic_increasing


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "parquet"])
def test_a_table_over_the_row_limit_is_a_uniform_sample_of_the_limit(
        kind: str, table: pd.DataFrame, csv_data: bytes, parquet_data: bytes,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampled_read, "PARQUET_BATCH", 500)  # many batches
    data = {"csv": csv_data, "csv.gz": gzip.compress(csv_data), "parquet": parquet_data}[kind]
    sample = read_sampled(data, f"people.{kind}", LIMIT, True, RowSampling(seed=3))
    assert sample is not None and len(sample) == LIMIT.max_rows
    _same_rows(sample, table)
    again = read_sampled(data, f"people.{kind}", LIMIT, True, RowSampling(seed=3))
    other = read_sampled(data, f"people.{kind}", LIMIT, True, RowSampling(seed=4))
    assert list(again["row_id"]) == list(sample["row_id"])  # the seed fixes the sample
    assert list(other["row_id"]) != list(sample["row_id"])
    # uniform: each sixth of the file gives about a sixth of the rows (binomial sd ≈ 12)
    sixths = np.bincount(sample["row_id"] // (ROWS // 6), minlength=6)
    assert sixths.min() > 110 and sixths.max() < 225, sixths
    note = sample.attrs["notes"][0]
    assert f"{ROWS:,} rows" in note and "uniform sample of 1,000" in note


def test_the_reservoir_keeps_every_position_equally_often() -> None:
    counts = np.zeros(50)
    for seed in range(400):
        keeper = sampled_read._Keeper(10, None, np.random.default_rng(seed).random)
        for position in range(50):
            keeper.offer(position)
        counts[keeper.rows()] += 1
    # each position kept with probability 10/50 in 400 draws: 80 ± 8
    assert counts.min() > 50 and counts.max() < 110, counts


def test_a_table_within_the_limits_is_read_whole(csv_data: bytes, parquet_data: bytes) -> None:
    for data, name in ((csv_data, "people.csv"), (parquet_data, "people.parquet")):
        assert read_sampled(data, name, ReadLimits(), True, RowSampling(seed=1)) is None


def test_a_rate_keeps_each_row_by_a_coin_flip(csv_data: bytes, table: pd.DataFrame) -> None:
    sample = read_sampled(csv_data, "people.csv", ReadLimits(), True,
                          RowSampling(rate=0.1, seed=5))
    assert sample is not None
    assert 480 < len(sample) < 720  # 600 ± 5 standard deviations
    _same_rows(sample, table)
    assert f"of the {ROWS:,} rows" in sample.attrs["notes"][0]
    assert sample.attrs["sample_rate"] == 0.1


def test_a_private_rate_note_states_no_count_of_the_real_rows(csv_data: bytes) -> None:
    sample = read_sampled(csv_data, "people.csv", ReadLimits(), True,
                          RowSampling(rate=0.1, private=True))
    assert sample is not None
    note = sample.attrs["notes"][0]
    assert "probability 0.1" in note and "secret" in note
    assert not re.search(r"\d{3}", note)  # neither the input's nor the sample's row count


def test_a_private_run_over_the_limits_without_a_rate_is_refused(csv_data: bytes) -> None:
    with pytest.raises(TableError, match="--sample-rate") as refused:
        read_sampled(csv_data, "people.csv", LIMIT, True, RowSampling(private=True))
    assert f"{ROWS:,}" not in str(refused.value)


@pytest.mark.parametrize("name", ["people.csv", "people.parquet"])
def test_a_rate_that_keeps_more_than_the_limits_allow_is_refused(
        name: str, csv_data: bytes, parquet_data: bytes) -> None:
    data = parquet_data if name.endswith("parquet") else csv_data
    with pytest.raises(TableError, match="smaller rate"):
        read_sampled(data, name, LIMIT, True, RowSampling(rate=0.5, seed=1))


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.5])
def test_a_rate_outside_zero_to_one_is_refused(rate: float) -> None:
    with pytest.raises(ConfigError, match="--sample-rate"):
        RowSampling(rate=rate)


def test_a_broken_row_is_named_by_its_line_in_the_file_even_when_not_kept(
        csv_data: bytes) -> None:
    lines = csv_data.decode().splitlines()
    lines[4_001] += ",extra"  # line 4,002 of the file
    with pytest.raises(TableError, match=r"^line 4002: 5 fields but the header has 4"):
        read_sampled("\n".join(lines).encode(), "people.csv", LIMIT, True,
                     RowSampling(seed=1))


def test_load_table_streams_a_file_over_the_byte_limit(tmp_path, csv_data: bytes,
                                                       table: pd.DataFrame) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(csv_data)
    limits = ReadLimits(max_bytes=len(csv_data) // 4)
    with pytest.raises(TableError, match="MiB limit"):
        load_table(path, limits=limits)  # without sampling: refused, as before
    loaded = load_table(path, limits=limits, sampling=RowSampling(seed=2))
    assert len(loaded.frame) == ROWS  # every row fits the row limit: all of them are read
    _same_rows(loaded.frame, table)
    assert loaded.sha256 == load_table(path).sha256  # of the whole file


def test_a_private_rate_is_coarse_and_its_coin_flips_ignore_the_seed(csv_data: bytes) -> None:
    with pytest.raises(ConfigError, match=re.escape("one of 1, 0.5, 0.2")):
        RowSampling(rate=0.3, private=True)  # a finer rate could tell the row count
    assert RowSampling(rate=0.3).rate == 0.3  # without DP any rate will do
    first, second = (read_sampled(csv_data, "people.csv", ReadLimits(), True,
                                  RowSampling(rate=0.1, seed=5, private=True))
                     for _ in range(2))
    assert list(first["row_id"]) != list(second["row_id"])  # secret, not from the seed


def test_a_private_sample_too_small_to_train_on_is_refused_without_its_count(
        csv_data: bytes) -> None:
    head = b"\n".join(csv_data.splitlines()[:41])  # 40 rows: about 0.04 kept
    with pytest.raises(TableError, match="fewer than 10 rows") as refused:
        read_sampled(head, "people.csv", ReadLimits(), True,
                     RowSampling(rate=0.001, private=True))
    assert not re.search(r"\b[0-9]\b", str(refused.value).replace("10 rows", ""))


def test_old_mac_line_endings_are_read(table: pd.DataFrame, csv_data: bytes) -> None:
    sample = read_sampled(csv_data.replace(b"\n", b"\r"), "people.csv", LIMIT, True,
                          RowSampling(seed=1))
    assert sample is not None and len(sample) == LIMIT.max_rows
    _same_rows(sample, table)


def test_the_limits_are_those_of_reading_whole() -> None:
    """A quoted cell across lines makes more lines than records: it still fits. Without a
    header row, every line is a row."""
    quoted = ("a,b\n" + '"x\ny",1\n' * 30).encode()  # 61 lines, 30 records
    assert read_sampled(quoted, "t.csv", ReadLimits(max_rows=40), True,
                        RowSampling(private=True)) is None
    rows = ("1,2\n" * 41).encode()  # 41 rows, no header
    assert read_sampled(rows, "t.csv", ReadLimits(max_rows=40), True, RowSampling(seed=1),
                        ) is None  # with a header row: 40 data rows
    sample = read_sampled(rows, "t.csv", ReadLimits(max_rows=40), False, RowSampling(seed=1))
    assert sample is not None and len(sample) == 40


def test_gzipped_parquet_is_left_to_the_whole_read(parquet_data: bytes) -> None:
    assert read_sampled(gzip.compress(parquet_data), "people.parquet.gz", LIMIT, True,
                        RowSampling(seed=1)) is None


@pytest.mark.parametrize(("rate", "epsilon", "delta"), [(0.5, 1.0, 1e-6), (0.2, 3.0, 1e-5),
                                                        (0.001, 0.5, 1e-6), (1.0, 1.0, 1e-6)])
def test_the_input_rows_guarantee_is_amplified_and_never_written_stronger(
        rate: float, epsilon: float, delta: float) -> None:
    from tabsynth.dp.claim import sampled_input_words

    words = sampled_input_words(rate, epsilon, delta)
    shown = re.search(r"input the guarantee is ε = ([0-9.e-]+) and δ = ([0-9.e-]+) ", words)
    amplified = np.log1p(rate * np.expm1(epsilon))  # Poisson subsampling (Balle et al. 2018)
    assert shown is not None and f"probability {rate:g}" in words
    written_epsilon, written_delta = float(shown.group(1)), float(shown.group(2))
    assert amplified <= written_epsilon <= amplified * 1.01 + 0.001  # rounded up, not down
    assert rate * delta * (1 - 1e-9) <= written_delta <= rate * delta * 1.1  # float products
    assert written_epsilon <= epsilon + 0.001
