"""Read a table from bytes or a path (CSV, Parquet, Excel) with clear errors; write CSV safely.

Every problem with the input raises :class:`TableError` whose message names what is wrong,
where (column / row) and what to do. Messages never quote cell values: a cell may be personal
data.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tabsynth.errors import TableError
from tabsynth.header_check import check_header_is_names, generic_names
from tabsynth.number_text import (
    CURRENCY,
    DECIMAL_COMMA,
    INFINITY,
    MAX_NUMBER_CHARS,
    NUMBER,
    THOUSANDS,
    keep_as_text,
)

__all__ = ["ReadLimits", "TableError", "read_partial_rows", "read_table", "reading_notes",
           "write_csv"]

MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "nan", "null", "none", "#n/a", "<na>", "nat", "-nan", "missing"}
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# signs a spreadsheet also reads as a formula start: fullwidth forms, and any of them after
# leading blanks (" =1+1" runs in some spreadsheets)
_FORMULA_SIGNS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_LEADING_BLANKS = " \u00a0\u3000"
CSV_DELIMITERS = ",;\t|"
_PARQUET_MAGIC = b"PAR1"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
MIB = 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
STREAM_CHUNK = 1024 * 1024  # bytes held at a time while counting rows
SNIFF_CHARS = 200_000  # the delimiter sniffer reads the first lines, at most this much text


@dataclass(frozen=True)
class ReadLimits:
    """Upper bounds that protect memory and time; all configurable."""

    max_bytes: int = 200 * 1024 * 1024
    max_rows: int = 2_000_000
    max_columns: int = 1_000
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    min_rows: int = 10
    max_cell_bytes: int = 16 * 1024 * 1024
    max_cells: int = 50_000_000  # rows x columns: what parsing holds in memory
    # a larger table is read as a sample, streaming through at most this much (unpacked)
    max_stream_bytes: int = 16 * 1024 * MIB


PARTIAL_ROWS_LIMITS = ReadLimits(min_rows=1)  # rows to complete: no training, one row will do
PARTIAL_ROWS_HEADER = "the first row must name the model's columns the rows fill in"


def read_table(
    source: bytes | str | Path,
    filename: str | None = None,
    limits: ReadLimits | None = None,
    sheet: str | None = None,
    header: bool = True,
) -> pd.DataFrame:
    """Read CSV (optionally gzip), Parquet or .xlsx from a path or raw bytes.

    `header`: the first row of a CSV or sheet holds the column names (refused when it looks
    like data); False names the columns column_1, column_2, … and reads every row as data.
    """
    limits = limits or ReadLimits()
    if isinstance(source, str | Path):
        path = Path(source)
        filename = filename or path.name
        if not path.is_file():
            raise TableError(f"input file not found: {path}")
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise TableError(_too_big(size, limits))
        data = path.read_bytes()
    else:
        data = bytes(source)
    if len(data) > limits.max_bytes:
        raise TableError(_too_big(len(data), limits))
    if not data.strip():
        raise TableError("the file is empty: upload a table with a header row and data rows")

    name = (filename or "").lower()
    gzipped = name.endswith(".gz") or data[:2] == b"\x1f\x8b"
    name = name.removesuffix(".gz")
    start = _unpacked_start(data) if gzipped else data[:4]
    is_parquet = start[:4] == _PARQUET_MAGIC or name.endswith(".parquet")
    is_excel = start[:4] == _ZIP_MAGIC or name.endswith((".xlsx", ".xlsm"))
    if not (is_parquet or is_excel):  # rows and cells counted before anything is held
        _check_text_bounds(data, gzipped, limits, header)
    if gzipped:
        data = _gunzip(data, limits)
    notes: list[str] = []
    if is_parquet:
        frame = _read_parquet(data, notes, limits)
    elif is_excel:
        frame = _read_excel(data, sheet, limits, notes, header)
    else:
        frame = _read_csv(data, limits, notes, header)
    check_frame(frame, limits)
    frame.attrs["notes"] = notes
    return frame


def reading_notes(frame: pd.DataFrame) -> list[str]:
    """What reading changed or guessed (encoding, units, infinities...), for the report."""
    return list(frame.attrs.get("notes", []))


def _too_big(size: int, limits: ReadLimits) -> str:
    return (
        f"the file is {size / MIB:.1f} MiB, over the {limits.max_bytes / MIB:.0f} MiB limit: "
        "sample it down, compress it (.csv.gz) or convert it to Parquet"
    )


def _gunzip(data: bytes, limits: ReadLimits) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            out = handle.read(limits.max_uncompressed_bytes + 1)
    except (OSError, EOFError) as exc:
        raise TableError(
            f"the file looks gzip-compressed but cannot be decompressed ({type(exc).__name__}): "
            "check that it is a complete .gz file"
        ) from None
    if len(out) > limits.max_uncompressed_bytes:
        raise TableError(
            f"the gzip file expands beyond {limits.max_uncompressed_bytes / MIB:.0f} MiB: refused"
        )
    return out


def _unpacked_chunks(data: bytes, gzipped: bool, limits: ReadLimits) -> Iterator[bytes]:
    """The input in chunks, gunzipped as it streams: nothing is held but one chunk."""
    if not gzipped:
        for start in range(0, len(data), STREAM_CHUNK):
            yield data[start:start + STREAM_CHUNK]
        return
    total = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            while chunk := handle.read(STREAM_CHUNK):
                total += len(chunk)
                if total > limits.max_uncompressed_bytes:
                    raise TableError(f"the gzip file expands beyond "
                                     f"{limits.max_uncompressed_bytes / MIB:.0f} MiB: refused")
                yield chunk
    except (OSError, EOFError) as exc:
        raise TableError(
            f"the file looks gzip-compressed but cannot be decompressed ({type(exc).__name__}): "
            "check that it is a complete .gz file"
        ) from None


def _unpacked_start(data: bytes) -> bytes:
    """The first bytes of a gzip file's content ('' when it cannot be unpacked: reading it
    whole will say why)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            return handle.read(8)
    except (OSError, EOFError):
        return b""


def _check_text_bounds(data: bytes, gzipped: bool, limits: ReadLimits, header: bool) -> None:
    """Rows and cells of a delimited text file, counted while streaming through it, refused
    over the limits before any of it is parsed (a few KB of gzip can unpack to millions of
    rows). Physical lines bound the rows from above; only when they exceed a limit are the
    records counted exactly (a quoted cell may span lines)."""
    lines, first = 0, b""
    for chunk in _unpacked_chunks(data, gzipped, limits):
        lines += chunk.count(b"\n")
        if len(first) < SNIFF_CHARS:
            first += chunk[:SNIFF_CHARS]
    lines += 1  # a last line without a newline
    width = 1 + max(first.split(b"\n", 1)[0].count(d.encode()) for d in CSV_DELIMITERS)
    if lines <= limits.max_rows + 1 and lines * width <= limits.max_cells:
        return
    rows, width, complete = _count_records(data, gzipped, limits, first)
    rows -= 1 if header else 0
    if rows > limits.max_rows:
        raise TableError(_too_many_rows(rows, limits, at_least=not complete))
    if rows * width > limits.max_cells:
        raise TableError(_too_many_cells(rows, width, limits))


def _count_records(data: bytes, gzipped: bool, limits: ReadLimits,
                   first: bytes) -> tuple[int, int, bool]:
    """Non-blank CSV records (counting stops past ten times the row limit), the first record's
    width and whether every record was counted, holding one chunk at a time; nothing counted
    when the text cannot be parsed (reading it whole explains why)."""
    encoding = "utf-16" if first[:2] in _UTF16_BOMS else "utf-8-sig"
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    delimiter = sniff_delimiter(first.decode(encoding, errors="replace"))

    def lines() -> Iterator[str]:
        rest = ""
        for chunk in _unpacked_chunks(data, gzipped, limits):
            parts = (rest + decoder.decode(chunk)).split("\n")
            rest = parts.pop()
            yield from (part + "\n" for part in parts)
        rest += decoder.decode(b"", final=True)
        if rest:
            yield rest

    records, width, cap = 0, 0, 10 * (limits.max_rows + 1)
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_cell_bytes))
    try:
        for row in csv.reader(lines(), delimiter=delimiter, strict=False):
            if any(cell.strip() for cell in row):
                records += 1
                width = width or len(row)
                if records > cap:
                    return records, width, False
    except csv.Error:
        return 0, 0, True
    return records, width, True


def _too_many_rows(rows: int, limits: ReadLimits, at_least: bool = False) -> str:
    count = f"at least {rows:,}" if at_least else f"{rows:,}"
    return (f"the table has {count} rows, over the {limits.max_rows:,}-row limit: sample it "
            "down or raise the limit")


def _too_many_cells(rows: int, columns: int, limits: ReadLimits) -> str:
    return (f"the table has {rows:,} rows × {columns:,} columns = {rows * columns:,} cells, "
            f"over the {limits.max_cells:,}-cell limit: sample it down, drop columns or raise "
            "the limit")


def _read_parquet(data: bytes, notes: list[str], limits: ReadLimits) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:  # the footer says how big the table is: refuse before reading any of it
        metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    except Exception as exc:  # pyarrow raises many types
        raise TableError(f"the Parquet file cannot be read ({type(exc).__name__}); "
                         "check that it is a complete, uncorrupted Parquet file") from None
    if metadata.num_rows > limits.max_rows:
        raise TableError(_too_many_rows(metadata.num_rows, limits))
    if metadata.num_columns > limits.max_columns:
        raise TableError(f"the table has {metadata.num_columns} columns, over the "
                         f"{limits.max_columns}-column limit")
    if metadata.num_rows * metadata.num_columns > limits.max_cells:
        raise TableError(_too_many_cells(metadata.num_rows, metadata.num_columns, limits))
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises many types
        raise TableError(f"the Parquet file cannot be read ({type(exc).__name__}); "
                         "check that it is a complete, uncorrupted Parquet file") from None
    return plain_columns(frame, notes)


def plain_columns(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Typed columns from Parquet -> the plain dtypes the rest of tabsynth works with."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        name = str(column)
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            notes.append(f"column {name!r}: time-zone-aware times converted to UTC")
        elif pd.api.types.is_extension_array_dtype(values.dtype):  # category, Int64, boolean
            values = values.astype(object).where(values.notna(), None)
        if values.dtype == object and values.map(_is_nested).any():
            values = values.map(lambda v: None if v is None else json.dumps(_listify(v),
                                                                             default=str))
            notes.append(f"column {name!r}: nested values (lists / maps) read as JSON text")
        out[name] = values
    frame = pd.DataFrame(out, index=frame.index)
    texts = [c for c in frame.columns if frame[c].dtype == object]
    if texts:
        frame[texts] = _coerce_columns(frame[texts], decimal_comma=False, notes=notes)
    return frame


def _is_nested(value: object) -> bool:
    return isinstance(value, list | tuple | dict | set | np.ndarray)


def _listify(value: object) -> object:
    if isinstance(value, np.ndarray):
        return [_listify(v) for v in value.tolist()]
    if isinstance(value, list | tuple | set):
        return [_listify(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _listify(v) for k, v in value.items()}
    return value


def _read_excel(data: bytes, sheet: str | None, limits: ReadLimits,
                notes: list[str], header: bool = True) -> pd.DataFrame:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise TableError("the Excel file is not a valid .xlsx (zip) archive; "
                         "save it again as .xlsx or export CSV") from None
    if expanded > limits.max_uncompressed_bytes:
        raise TableError(
            f"the Excel file expands to {expanded / MIB:.0f} MiB when unpacked, over the "
            f"{limits.max_uncompressed_bytes / MIB:.0f} MiB limit: refused (possible zip bomb)"
        )
    if "xl/workbook.xml" not in archive.namelist():
        raise TableError("the zip archive is not an Excel workbook: upload .xlsx, CSV or Parquet")
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="openpyxl")
        names = [str(n) for n in book.sheet_names]
        if sheet is None and len(names) > 1:
            raise TableError(
                f"the workbook has {len(names)} sheets ({', '.join(names)}): "
                "choose one (CLI: --sheet NAME)"
            )
        chosen = sheet if sheet is not None else names[0]
        if chosen not in names:
            raise TableError(f"sheet {chosen!r} not found; the workbook has: {', '.join(names)}")
        frame = book.parse(chosen, dtype=object, header=0 if header else None)
    except TableError:
        raise
    except Exception as exc:
        raise TableError(f"the Excel file cannot be read ({type(exc).__name__}); "
                         "save it again as .xlsx or export CSV") from None
    if header:
        names = ["" if _is_missing(c) or str(c).startswith("Unnamed:") else str(c)
                 for c in frame.columns]
        check_header_is_names(names, list(frame.head(1000).itertuples(index=False, name=None)))
        frame.columns = [str(c) for c in frame.columns]
    else:
        frame.columns = generic_names(frame.shape[1])
    return _coerce_columns(frame.astype(object).where(frame.notna(), None), decimal_comma=False,
                           notes=notes)


def excel_sheets(data: bytes) -> list[str]:
    """Sheet names of an .xlsx workbook given as bytes; [] for anything that is not one."""
    if data[:4] != _ZIP_MAGIC:
        return []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        expanded = sum(info.file_size for info in archive.infolist())
        if "xl/workbook.xml" not in archive.namelist() or \
                expanded > ReadLimits().max_uncompressed_bytes:
            return []
        from openpyxl import load_workbook

        return list(load_workbook(io.BytesIO(data), read_only=True).sheetnames)
    except Exception:  # a broken workbook: read_table will explain what is wrong with it
        return []


def _decode(data: bytes, notes: list[str]) -> str:
    if data[:2] in _UTF16_BOMS:
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise TableError("the file starts like UTF-16 text but is not valid UTF-16: "
                             "save it again as UTF-8 CSV") from None
    if b"\x00" in data[:65536]:
        raise TableError(
            "the file contains binary data (NUL bytes), not text: upload CSV, Parquet or .xlsx"
        )
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if encoding != "utf-8-sig":
        notes.append(f"the file is not valid UTF-8: read as {encoding}; check accented "
                     "characters in the preview")
    sample = text[:65536]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    if control > max(5, len(sample) // 100):
        raise TableError(
            "the file does not look like text (many control characters): "
            "upload CSV, Parquet or .xlsx"
        )
    return text


def sniff_delimiter(text: str) -> str:
    lines = [line for line in text[:SNIFF_CHARS].splitlines()[:50] if line.strip()]
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        pass
    header = lines[0] if lines else ""
    counts = {d: header.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_csv(data: bytes, limits: ReadLimits, notes: list[str],
              header_row: bool = True) -> pd.DataFrame:
    text = _decode(data, notes)
    delimiter = sniff_delimiter(text)
    rows, lines = _csv_rows(text, delimiter, limits)
    return csv_frame(rows, lines, delimiter, limits, notes, header_row)


def csv_frame(rows: list[list[str]], lines: list[tuple[int, int]], delimiter: str,
              limits: ReadLimits, notes: list[str], header_row: bool = True) -> pd.DataFrame:
    """Parsed CSV records (with the physical lines each came from) -> a typed frame: the header
    checked, every record's width checked, numbers and dates read from text."""
    if not rows:
        raise TableError("the file is empty: upload a table with a header row and data rows")
    if header_row:
        header = [h.strip() for h in rows[0]]
        check_header_is_names(header, rows[1:])
        _check_header(header)
        body, lines = rows[1:], lines[1:]
    else:
        header, body = generic_names(len(rows[0])), rows
    if len(body) > limits.max_rows:
        raise TableError(_too_many_rows(len(body), limits))
    width = len(header)
    for row, span in zip(body, lines, strict=True):
        if len(row) != width:
            raise width_error(row, span, width, delimiter, header_row)
    frame = pd.DataFrame(body, columns=header, dtype=object)
    return _coerce_columns(frame, decimal_comma=delimiter != ",", notes=notes)


def width_error(row: list[str], span: tuple[int, int], width: int, delimiter: str,
                header_row: bool) -> TableError:
    """A record whose number of fields differs from the header's: where, and what to do."""
    first, last = span
    where = f"line {first}" if first == last else f"lines {first}-{last}"
    hint = (f"; a quote opened on line {first} seems never to close"
            if len(row) < width and any("\n" in cell for cell in row) else "")
    return TableError(
        f"{where}: {len(row)} fields but the {'header' if header_row else 'first row'} "
        f"has {width} (delimiter {delimiter!r}){hint}: fix or remove that row")


def _csv_rows(text: str, delimiter: str,
              limits: ReadLimits) -> tuple[list[list[str]], list[tuple[int, int]]]:
    """Non-blank records and the (first, last) physical line of each."""
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_cell_bytes))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows, lines, previous = [], [], 0
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                if any(len(cell) > limits.max_cell_bytes for cell in row):
                    raise csv.Error("field larger than field limit")
                rows.append(row)
                lines.append((previous + 1, reader.line_num))
            previous = reader.line_num
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise TableError(
                f"a cell ending on line {reader.line_num} is over "
                f"{limits.max_cell_bytes // MIB} MiB (or a quote opened before it never "
                "closes): check quoting, or shorten that cell"
            ) from None
        raise TableError(f"the CSV cannot be parsed near line {reader.line_num} ({exc}); "
                         "check quoting") from None
    return rows, lines


def _check_header(header: list[str]) -> None:
    blanks = [i + 1 for i, h in enumerate(header) if not h]
    if blanks:
        raise TableError(
            f"column {blanks[0]} has a blank name: give every column a header"
        )
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen:
            raise TableError(
                f"duplicate column name {name!r} (columns {seen[name]} and {i}): rename one"
            )
        seen[name] = i


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in MISSING_TOKENS


def _coerce_columns(frame: pd.DataFrame, decimal_comma: bool,
                    notes: list[str] | None = None) -> pd.DataFrame:
    """Turn missing tokens into NaN and all-numeric text columns into numbers."""
    notes = [] if notes is None else notes
    out = {}
    for column in frame.columns:
        values = frame[column]
        missing = values.map(_is_missing)
        cleaned = values.where(~missing, None)
        if cleaned.map(lambda v: isinstance(v, str)).any():
            cleaned = cleaned.map(lambda v: v.strip() if isinstance(v, str) else v)
        out[column] = _maybe_numeric(cleaned, decimal_comma, notes)
    return pd.DataFrame(out, index=frame.index)


def _maybe_numeric(values: pd.Series, decimal_comma: bool, notes: list[str]) -> pd.Series:
    present = values.dropna()
    if present.empty:
        return pd.Series(np.nan, index=values.index, dtype=float, name=values.name)
    texts = present.astype(str)
    if texts.str.len().max() > MAX_NUMBER_CHARS:  # a long cell is text, whatever it holds
        return values.astype(object)
    if texts.map(keep_as_text).any():
        return values.astype(object)
    plain = texts.map(lambda s: bool(NUMBER.match(s) or INFINITY.match(s)))
    if plain.all():
        numbers = pd.to_numeric(values, errors="coerce")
    elif decimal_comma and texts.map(lambda s: bool(DECIMAL_COMMA.match(s))).all():
        converted = values.map(
            lambda s: s.replace(".", "").replace(",", ".") if isinstance(s, str) else s
        )
        numbers = pd.to_numeric(converted, errors="coerce")
    elif all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in present):
        numbers = pd.to_numeric(values, errors="coerce")
    else:
        numbers = _formatted_numbers(values, texts, decimal_comma, notes)
        if numbers is None:
            return values.astype(object)
    infinite = np.isinf(numbers.to_numpy(dtype=float, na_value=np.nan))
    if infinite.any():
        numbers = numbers.where(~infinite, np.nan)
        notes.append(f"column {values.name!r}: {int(infinite.sum())} infinite value(s) "
                     "(inf / -inf) read as missing")
    finite = numbers.dropna()
    if len(finite) and np.all(np.isfinite(finite)) and (finite % 1 == 0).all() \
            and numbers.notna().all() and finite.abs().max() < 2**53:
        return numbers.astype("int64")
    return numbers.astype(float)


def _formatted_numbers(values: pd.Series, texts: pd.Series, decimal_comma: bool,
                       notes: list[str]) -> pd.Series | None:
    """Numbers written with a currency sign or thousands separators (€1,234.50), or None."""
    stripped = texts.map(lambda s: s.strip(CURRENCY + " "))
    signs = sorted({ch for s in texts for ch in s if ch in CURRENCY})
    if decimal_comma or len(signs) > 1:
        return None
    numeric = stripped.map(lambda s: bool(NUMBER.match(s) or THOUSANDS.match(s)))
    if not numeric.all() or (not signs and not stripped.map(THOUSANDS.match).any()):
        return None
    cleaned = values.map(lambda v: v.strip(CURRENCY + " ").replace(",", "")
                         if isinstance(v, str) else v)
    what = f"currency sign {signs[0]!r}" if signs else "thousands separators"
    notes.append(f"column {values.name!r}: numbers written with {what}; read as plain numbers")
    return pd.to_numeric(cleaned, errors="coerce")


def check_frame(frame: pd.DataFrame, limits: ReadLimits) -> None:
    if frame.shape[1] == 0:
        raise TableError("the table has no columns: the first row must be a header")
    names = [str(c).strip() for c in frame.columns]
    blank = [i for i, n in enumerate(names, 1) if not n or n.lower().startswith("unnamed:")]
    if blank:
        position = blank[0]
        raise TableError(f"column {position} has a blank name: give every column a header")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise TableError(f"duplicate column name {dup!r}: rename one")
    if frame.shape[1] > limits.max_columns:
        raise TableError(
            f"the table has {frame.shape[1]} columns, over the {limits.max_columns}-column limit"
        )
    if len(frame) == 0:
        raise TableError("the table has a header but no data rows")
    if len(frame) > limits.max_rows:
        raise TableError(_too_many_rows(len(frame), limits))
    if frame.size > limits.max_cells:
        raise TableError(_too_many_cells(len(frame), frame.shape[1], limits))
    if len(frame) < limits.min_rows:
        raise TableError(
            f"the table has only {len(frame)} data rows; at least {limits.min_rows} are needed "
            "to split off a holdout and train"
        )


def looks_like_formula(value: object) -> bool:
    """A text a spreadsheet could run: it starts with = + - @ (or their fullwidth forms),
    perhaps after blanks, or with a tab or carriage return."""
    return isinstance(value, str) and (
        value.startswith(FORMULA_PREFIXES)
        or value.lstrip(_LEADING_BLANKS).startswith(_FORMULA_SIGNS))


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as formulas with a single quote (OWASP)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            # each distinct value looked at once (a column of categories holds few)
            try:
                risky = [v for v in pd.unique(out[column].to_numpy()) if looks_like_formula(v)]
                flagged = out[column].isin(risky) if risky else None
            except TypeError:  # a cell that cannot be hashed: each cell looked at
                flagged = out[column].map(looks_like_formula).astype(bool)
            if flagged is not None and flagged.any():  # only those cells: the others keep
                out.loc[flagged, column] = "'" + out.loc[flagged, column]  # their types
    return out


def csv_bytes(frame: pd.DataFrame, escape: bool = True, header: bool = True) -> bytes:
    """UTF-8 CSV; cells and headers a spreadsheet would run as formulas escaped unless disabled.
    `header` False leaves the header row out (a later part of a CSV written in parts)."""
    data = escape_formulas(frame) if escape else frame
    if escape:
        data = data.rename(columns=lambda c: "'" + c if looks_like_formula(c) else c)
    return data.to_csv(index=False, header=header).encode("utf-8")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The table as Parquet, its column types kept; a column of mixed Python objects that
    Parquet cannot type is written as text (missing values stay missing)."""
    import pyarrow as pa

    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        text = frame.copy()
        for column in text.columns:
            if text[column].dtype == object:
                text[column] = text[column].map(lambda v: None if _missing(v) else str(v))
        buffer = io.BytesIO()
        text.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def write_csv(frame: pd.DataFrame, path: str | Path, escape: bool = True) -> Path:
    """Write CSV atomically (temp file + rename) with formula escaping unless disabled."""
    path = Path(path)
    write_bytes_atomic(path, csv_bytes(frame, escape))
    return path


def write_files_atomic(folder: Path, files: dict[str, bytes]) -> dict[str, Path]:
    """Write every file under a temp name first, then rename them all: a failure (disk full,
    no permission) leaves no new file and no temp file behind, and older outputs untouched."""
    folder.mkdir(parents=True, exist_ok=True)
    temps: dict[str, str] = {}
    try:
        for name, payload in files.items():
            handle, temps[name] = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
            with os.fdopen(handle, "wb") as stream:
                stream.write(payload)
                stream.flush()
                os.fsync(stream.fileno())
    except BaseException:
        for temp in temps.values():
            Path(temp).unlink(missing_ok=True)
        raise
    for name, temp in temps.items():
        os.replace(temp, folder / name)
    return {name: folder / name for name in files}


def write_bytes_atomic(path: Path, payload: bytes) -> None:
    """Write to a temp name in the same folder, then rename: no half-written file is visible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_partial_rows(source: bytes | str | Path, filename: str | None = None) -> pd.DataFrame:
    """A table of partial rows to complete: read as an upload is (the same limits and
    messages), with a header row required and as few as one row."""
    from tabsynth.header_check import NO_HEADER_HINT

    try:
        return read_table(source, filename, limits=PARTIAL_ROWS_LIMITS)
    except TableError as exc:
        raise TableError(str(exc).replace(NO_HEADER_HINT, PARTIAL_ROWS_HEADER)) from None
