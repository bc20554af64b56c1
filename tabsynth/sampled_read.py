"""Read a table larger than the reading limits as a sample, streaming through it once.

Only the sample is ever held: the file is read in chunks (CSV, gzip-compressed or not, record by
record; Parquet batch by batch). Without differential privacy a table over the limits gives a
uniform sample of as many rows as the limits allow, seeded by the run's seed. A DP run samples
only at a rate the user set, each row kept by a secret coin flip (Poisson sampling): a sample
size chosen from the real row count would depend on the data. A rate, once set, applies
whatever the table's size.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from tabsynth.dp.noise import SecretNoise
from tabsynth.errors import ConfigError, TableError
from tabsynth.io import (
    CSV_DELIMITERS,
    MIB,
    SNIFF_CHARS,
    STREAM_CHUNK,
    ReadLimits,
    check_frame,
    csv_frame,
    plain_columns,
    sniff_delimiter,
    width_error,
)

__all__ = ["RowSampling", "read_sampled"]

_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # tried in turn, as for a table read whole
PARQUET_BATCH = 65_536  # rows held at a time while streaming a Parquet file
RANDOM_BLOCK = 65_536  # reservoir draws made at a time


# the rates a DP run may set: coarse, so that the rate says little of the row count it was
# chosen for (it is treated as public)
PRIVATE_RATES = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001)


@dataclass(frozen=True)
class RowSampling:
    """How a table is cut down while it is read."""

    rate: float | None = None  # keep each row with this probability, whatever the table's size
    seed: int | None = None  # the sample's seed without DP (a DP run's coin flips are secret)
    private: bool = False  # a DP run: a table over the limits needs a rate the user set

    def __post_init__(self) -> None:
        if self.rate is not None and not 0 < self.rate <= 1:
            raise ConfigError(f"--sample-rate must be above 0 and at most 1 (got {self.rate})")
        if self.private and self.rate is not None and not any(
                math.isclose(self.rate, allowed) for allowed in PRIVATE_RATES):
            raise ConfigError(
                f"--sample-rate {self.rate:g}: a differentially private run takes one of "
                f"{', '.join(f'{r:g}' for r in PRIVATE_RATES)}, since a finer rate could tell "
                "the row count it was chosen for")

    def keeper(self, capacity: int) -> _Keeper:
        """What chooses the rows: a DP run's coin flips come from secret randomness."""
        if self.rate is None:
            return _Keeper(capacity, None, np.random.default_rng(self.seed).random)
        if self.private:
            coins, rate = SecretNoise(), self.rate
            return _Keeper(capacity, rate, lambda size: coins.coin_flips(size, rate))
        rng, rate = np.random.default_rng(self.seed), self.rate
        return _Keeper(capacity, rate, lambda size: rng.random(size) < rate)


@dataclass
class _Keeper:
    """Chooses rows as they stream past: a uniform reservoir of `capacity` rows (`draws` gives
    uniform numbers), or each row by a coin flip (`draws` gives the flips' outcomes). Keeps
    (position, row) pairs; positions restore the file's order."""

    capacity: int
    rate: float | None
    draws: Callable[[int], np.ndarray]
    seen: int = 0

    def __post_init__(self) -> None:
        self.kept: list[tuple[int, object]] = []
        self._block = np.empty(0)
        self._next = 0

    def offer(self, row: object) -> None:
        position = self.seen
        self.seen += 1
        if self.rate is not None:
            if self._draw():
                self.kept.append((position, row))
                if len(self.kept) > self.capacity:
                    raise _over_capacity(self.rate, self.capacity)
            return
        if len(self.kept) < self.capacity:
            self.kept.append((position, row))
            return
        slot = int(self._draw() * (position + 1))  # uniform on 0..position
        if slot < self.capacity:
            self.kept[slot] = (position, row)

    def _draw(self) -> float:
        if self._next >= len(self._block):
            self._block, self._next = self.draws(RANDOM_BLOCK), 0
        value = self._block[self._next]
        self._next += 1
        return value

    def rows(self) -> list[object]:
        return [row for _, row in sorted(self.kept, key=lambda pair: pair[0])]


def read_sampled(source: bytes | str | Path, filename: str | None, limits: ReadLimits,
                 header: bool, sampling: RowSampling) -> pd.DataFrame | None:
    """The table as a sample when it needs one (a rate was set, or it is over the reading
    limits); None when it fits and no rate was set: read it whole."""
    opener = _opener(source)
    name = (filename or (Path(source).name if isinstance(source, str | Path) else "")).lower()
    with opener() as handle:
        start = handle.read(8)
    gzipped = start[:2] == _GZIP_MAGIC or name.endswith(".gz")
    if gzipped:
        with _unpacked(opener, True) as handle:
            start = handle.read(8)
    if start[:4] == b"PK\x03\x04" or name.removesuffix(".gz").endswith((".xlsx", ".xlsm")):
        return None  # a workbook holds at most about a million rows: read whole
    size = _size(source)
    if size > limits.max_stream_bytes:
        raise TableError(f"the file is {size / MIB:,.0f} MiB, over the "
                         f"{limits.max_stream_bytes / MIB:,.0f} MiB a sampled read streams "
                         "through: split it, or sample it down before reading")
    parquet = start[:4] == _PARQUET_MAGIC or name.removesuffix(".gz").endswith(".parquet")
    if parquet and gzipped:
        return None  # a gzipped Parquet file cannot be read in batches: read whole, as before
    if parquet:
        return _parquet_sample(opener, limits, sampling, size)
    return _text_sample(opener, gzipped, limits, header, sampling, size)


# ---------------------------------------------------------------- sources

def _opener(source: bytes | str | Path) -> Callable[[], BinaryIO]:
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise TableError(f"input file not found: {path}")
        return lambda: path.open("rb")
    data = bytes(source)
    return lambda: io.BytesIO(data)


def _size(source: bytes | str | Path) -> int:
    return Path(source).stat().st_size if isinstance(source, str | Path) else len(source)


@contextmanager
def _unpacked(opener: Callable[[], BinaryIO], gzipped: bool) -> Iterator[BinaryIO]:
    """The source's content, gunzipped as it streams when `gzipped`."""
    with opener() as raw:
        if not gzipped:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw) as unpacked:
            yield unpacked  # type: ignore[misc]


def _chunks(opener: Callable[[], BinaryIO], gzipped: bool,
            limits: ReadLimits) -> Iterator[bytes]:
    total = 0
    try:
        with _unpacked(opener, gzipped) as handle:
            while chunk := handle.read(STREAM_CHUNK):
                total += len(chunk)
                if total > limits.max_stream_bytes:
                    raise TableError(f"the file unpacks to more than "
                                     f"{limits.max_stream_bytes / MIB:,.0f} MiB, the most a "
                                     "sampled read streams through: split it")
                yield chunk
    except (OSError, EOFError) as exc:
        if not gzipped:
            raise TableError(f"the file cannot be read ({type(exc).__name__})") from None
        raise TableError(f"the file looks gzip-compressed but cannot be decompressed "
                         f"({type(exc).__name__}): check that it is a complete .gz file"
                         ) from None


# ---------------------------------------------------------------- CSV

def _text_sample(opener: Callable[[], BinaryIO], gzipped: bool, limits: ReadLimits,
                 header: bool, sampling: RowSampling, size: int) -> pd.DataFrame | None:
    first = next(_chunks(opener, gzipped, limits), b"")
    if not first.strip():
        raise TableError("the file is empty: upload a table with a header row and data rows")
    if b"\x00" in first[:65536] and first[:2] not in _UTF16_BOMS:
        raise TableError("the file contains binary data (NUL bytes), not text: upload CSV, "
                         "Parquet or .xlsx")
    newline = "\r" if b"\r" in first and b"\n" not in first else "\n"  # old Mac files: CR only
    width = 1 + max(first.split(newline.encode(), 1)[0].count(d.encode())
                    for d in CSV_DELIMITERS)
    if sampling.rate is None and _fits_text(opener, gzipped, limits, header, width, size,
                                            newline):
        return None
    _refuse_unset_rate(sampling, limits)
    encodings = ("utf-16",) if first[:2] in _UTF16_BOMS else _ENCODINGS
    for encoding in encodings:
        try:
            frame = _stream_csv(opener, gzipped, limits, header, sampling, encoding, first,
                                newline)
        except UnicodeDecodeError:
            continue
        if encoding not in ("utf-8-sig", "utf-16"):
            frame.attrs["notes"].insert(0, f"the file is not valid UTF-8: read as {encoding}; "
                                           "check accented characters in the preview")
        return frame
    raise TableError("the file cannot be read as text: save it again as UTF-8 CSV")


def _fits_text(opener: Callable[[], BinaryIO], gzipped: bool, limits: ReadLimits,
               header: bool, width: int, size: int, newline: str) -> bool:
    """True when the text is within every reading limit, as reading it whole would decide, so
    that it can be read whole: physical lines bound the records from above; only when they
    exceed a limit are the records counted exactly (a quoted cell may span lines)."""
    if size > limits.max_bytes:
        return False
    most_lines = limits.max_rows + (1 if header else 0)
    lines, unpacked = 1, 0
    for chunk in _chunks(opener, gzipped, limits):
        lines += chunk.count(newline.encode())
        unpacked += len(chunk)
        if unpacked > limits.max_uncompressed_bytes:
            return False
    if lines <= most_lines and lines * width <= limits.max_cells:
        return True
    records = 0
    for records, _ in enumerate(_records(opener, gzipped, limits, newline), 1):
        if records > most_lines:
            return False
    return (records - (1 if header else 0)) * width <= limits.max_cells


def _records(opener: Callable[[], BinaryIO], gzipped: bool, limits: ReadLimits,
             newline: str, encoding: str = "latin-1") -> Iterator[list[str]]:
    """The non-blank CSV records (latin-1 decodes any byte: for counting only)."""
    first = next(_chunks(opener, gzipped, limits), b"")
    delimiter = sniff_delimiter(first[:SNIFF_CHARS].decode(encoding, errors="replace"))
    reader = csv.reader(_lines(opener, gzipped, limits, encoding, newline),
                        delimiter=delimiter, strict=False)
    try:
        yield from (row for row in reader if "".join(row).strip())
    except csv.Error:
        return


def _lines(opener: Callable[[], BinaryIO], gzipped: bool, limits: ReadLimits,
           encoding: str, newline: str) -> Iterator[str]:
    """The decoded text line by line, each with its line ending (strict decoding: a byte the
    encoding cannot read raises UnicodeDecodeError)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    rest = ""
    for chunk in _chunks(opener, gzipped, limits):
        parts = (rest + decoder.decode(chunk)).split(newline)
        rest = parts.pop()
        yield from (part + newline for part in parts)
    rest += decoder.decode(b"", final=True)
    if rest:
        yield rest


def _stream_csv(opener: Callable[[], BinaryIO], gzipped: bool, limits: ReadLimits,
                header_row: bool, sampling: RowSampling, encoding: str,
                first: bytes, newline: str) -> pd.DataFrame:
    sniffed = first[:SNIFF_CHARS].decode(encoding, errors="replace")
    delimiter = sniff_delimiter(sniffed)
    _check_text_like(sniffed)
    lines = _lines(opener, gzipped, limits, encoding, newline)
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_cell_bytes))
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    head: list[str] | None = None
    head_lines = (1, 1)
    keeper: _Keeper | None = None
    previous = 0
    try:
        for row in reader:
            span = (previous + 1, reader.line_num)
            previous = reader.line_num
            if not "".join(row).strip():  # a blank record (C-level checks: millions of rows)
                continue
            if max(map(len, row)) > limits.max_cell_bytes:
                raise csv.Error("field larger than field limit")
            if keeper is None:
                width = len(row)
                keeper = sampling.keeper(_capacity(limits, width))
                if header_row:
                    head, head_lines = row, span
                    continue
            if len(row) != width:
                raise width_error(row, span, width, delimiter, header_row)
            keeper.offer((row, span))
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise TableError(
                f"a cell ending on line {reader.line_num} is over "
                f"{limits.max_cell_bytes // MIB} MiB (or a quote opened before it never "
                "closes): check quoting, or shorten that cell") from None
        raise TableError(f"the CSV cannot be parsed near line {reader.line_num} ({exc}); "
                         "check quoting") from None
    if keeper is None:
        raise TableError("the file is empty: upload a table with a header row and data rows")
    chosen = keeper.rows()
    rows = [row for row, _ in chosen]  # type: ignore[misc]
    spans = [span for _, span in chosen]  # type: ignore[misc]
    if head is not None:
        rows, spans = [head, *rows], [head_lines, *spans]
    notes: list[str] = []
    frame = csv_frame(rows, spans, delimiter, limits, notes, header_row)
    return _finished(frame, notes, keeper.seen, keeper.capacity, limits, sampling)


def _check_text_like(sample: str) -> None:
    sample = sample[:65536]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    if control > max(5, len(sample) // 100):
        raise TableError("the file does not look like text (many control characters): "
                         "upload CSV, Parquet or .xlsx")


# ---------------------------------------------------------------- Parquet

def _parquet_sample(opener: Callable[[], BinaryIO], limits: ReadLimits,
                    sampling: RowSampling, size: int) -> pd.DataFrame | None:
    """Parquet batch by batch: the row count is in the footer, so a uniform sample's rows are
    chosen before reading, and a rate's coin flips are made batch by batch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with opener() as handle:
        try:
            parquet = pq.ParquetFile(handle)
            rows, columns = parquet.metadata.num_rows, parquet.metadata.num_columns
        except Exception as exc:  # pyarrow raises many types
            raise TableError(f"the Parquet file cannot be read ({type(exc).__name__}); "
                             "check that it is a complete, uncorrupted Parquet file") from None
        if columns > limits.max_columns:
            raise TableError(f"the table has {columns} columns, over the "
                             f"{limits.max_columns}-column limit")
        capacity = _capacity(limits, columns)
        if sampling.rate is None and size <= limits.max_bytes and rows <= capacity:
            return None
        _refuse_unset_rate(sampling, limits)
        unpacked = sum(parquet.metadata.row_group(i).total_byte_size
                       for i in range(parquet.metadata.num_row_groups))
        if unpacked > limits.max_stream_bytes:
            raise TableError(f"the Parquet file unpacks to {unpacked / MIB:,.0f} MiB, over the "
                             f"{limits.max_stream_bytes / MIB:,.0f} MiB a sampled read streams "
                             "through: split it")
        keeper = sampling.keeper(capacity)
        rng = np.random.default_rng(sampling.seed)  # the uniform sample's (never in DP)
        wanted, left = min(capacity, rows), rows
        batches = []
        try:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH):
                if sampling.rate is not None:  # a coin flip per row
                    local = np.flatnonzero(keeper.draws(batch.num_rows))
                    if sum(b.num_rows for b in batches) + len(local) > capacity:
                        raise _over_capacity(sampling.rate, capacity)
                else:  # selection sampling: wanted of the rows left, uniformly, batch by batch
                    here = int(rng.hypergeometric(batch.num_rows, left - batch.num_rows,
                                                  wanted)) if left > batch.num_rows else wanted
                    local = np.sort(rng.choice(batch.num_rows, here, replace=False))
                    wanted, left = wanted - here, left - batch.num_rows
                batches.append(batch.take(pa.array(local, pa.int64())))
            table = pa.Table.from_batches(batches, schema=parquet.schema_arrow)
        except TableError:
            raise
        except Exception as exc:  # pyarrow raises many types
            raise TableError(f"the Parquet file cannot be read ({type(exc).__name__}); "
                             "check that it is a complete, uncorrupted Parquet file") from None
    notes: list[str] = []
    frame = plain_columns(table.to_pandas(), notes)
    return _finished(frame, notes, rows, capacity, limits, sampling)


# ---------------------------------------------------------------- both

def _refuse_unset_rate(sampling: RowSampling, limits: ReadLimits) -> None:
    """A DP run over the limits without a rate: a sample size read off the real row count would
    depend on the data, outside the guarantee."""
    if sampling.private and sampling.rate is None:
        raise TableError(
            f"the table is over the reading limits ({limits.max_rows:,} rows, "
            f"{limits.max_cells:,} cells, {limits.max_bytes / MIB:,.0f} MiB): a differentially "
            "private run reads every row unless you set a sampling rate, because a sample "
            "size chosen from the real row count would fall outside the guarantee; set one "
            "(--sample-rate P keeps each row with probability P by a secret coin flip) or "
            "sample the table down before reading")


def _over_capacity(rate: float, capacity: int) -> TableError:
    """A rate's sample must fit the limits too (no count in the words: a DP run's sample size
    is not for the screen)."""
    return TableError(f"a sampling rate of {rate:g} keeps more rows than the {capacity:,} the "
                      "reading limits allow: choose a smaller rate")


def _capacity(limits: ReadLimits, width: int) -> int:
    """The most rows a sample may hold: the row limit, and the cell limit over the width."""
    return max(1, min(limits.max_rows, limits.max_cells // max(width, 1)))


def _finished(frame: pd.DataFrame, notes: list[str], seen: int, capacity: int,
              limits: ReadLimits, sampling: RowSampling) -> pd.DataFrame:
    """The sample checked like any table read, with a note saying how it was drawn."""
    kept = len(frame)
    if sampling.rate is None:
        if kept < seen:
            notes.insert(0, f"the input has {seen:,} rows, over the reading limit of "
                            f"{capacity:,}: a uniform sample of {kept:,} of them "
                            "(drawn with the run's seed) was read, and everything after "
                            "describes that sample")
    elif sampling.private:  # no count of the real rows: the rate is what was set
        notes.insert(0, f"each input row was kept with probability {sampling.rate:g} by a "
                        "secret coin flip before anything else (the sampling rate you set)")
    else:
        notes.insert(0, f"each input row was kept with probability {sampling.rate:g} (the "
                        f"sampling rate you set): {kept:,} of the {seen:,} rows were read")
    if sampling.private and kept < limits.min_rows:  # no count: the sample's size is private
        raise TableError(f"the sample drawn at the rate you set holds fewer than "
                         f"{limits.min_rows} rows, too few to train on: choose a larger rate")
    check_frame(frame, limits)
    frame.attrs["notes"] = notes
    frame.attrs["sample_rate"] = sampling.rate
    return frame
