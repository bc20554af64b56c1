"""Read a table from bytes or a path (CSV, Parquet, Excel) with clear errors; write CSV safely.

Every problem with the input raises :class:`TableError` whose message names what is wrong,
where (column / row) and what to do. Messages never quote cell values: a cell may be personal
data.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tabsynth.errors import TableError

__all__ = ["ReadLimits", "TableError", "read_table", "write_csv"]

MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "nan", "null", "none", "#n/a", "<na>", "nat", "-nan", "missing"}
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_DELIMITERS = ",;\t|"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*(,\d+)?$|^[+-]?\d+(,\d+)?$")
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class ReadLimits:
    """Upper bounds that protect memory and time; all configurable."""

    max_bytes: int = 200 * 1024 * 1024
    max_rows: int = 2_000_000
    max_columns: int = 1_000
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    min_rows: int = 10


def read_table(
    source: bytes | str | Path,
    filename: str | None = None,
    limits: ReadLimits | None = None,
    sheet: str | None = None,
) -> pd.DataFrame:
    """Read CSV (optionally gzip), Parquet or .xlsx from a path or raw bytes."""
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
    if name.endswith(".gz") or data[:2] == b"\x1f\x8b":
        data = _gunzip(data, limits)
        name = name.removesuffix(".gz")
    if data[:4] == _PARQUET_MAGIC or name.endswith(".parquet"):
        frame = _read_parquet(data)
    elif data[:4] == _ZIP_MAGIC or name.endswith((".xlsx", ".xlsm")):
        frame = _read_excel(data, sheet, limits)
    else:
        frame = _read_csv(data, limits)
    _check_frame(frame, limits)
    return frame


def _too_big(size: int, limits: ReadLimits) -> str:
    return (
        f"the file is {size / 1e6:.1f} MB, over the {limits.max_bytes / 1e6:.0f} MB limit: "
        "sample it down or raise the limit"
    )


def _gunzip(data: bytes, limits: ReadLimits) -> bytes:
    import gzip

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            out = handle.read(limits.max_uncompressed_bytes + 1)
    except (OSError, EOFError) as exc:
        raise TableError(
            f"the file looks gzip-compressed but cannot be decompressed ({exc})"
        ) from None
    if len(out) > limits.max_uncompressed_bytes:
        raise TableError(
            f"the gzip file expands beyond {limits.max_uncompressed_bytes / 1e6:.0f} MB: refused"
        )
    return out


def _read_parquet(data: bytes) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises many types
        raise TableError(f"the Parquet file cannot be read ({type(exc).__name__}); "
                         "check that it is a complete, uncorrupted Parquet file") from None


def _read_excel(data: bytes, sheet: str | None, limits: ReadLimits) -> pd.DataFrame:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise TableError("the Excel file is not a valid .xlsx (zip) archive; "
                         "save it again as .xlsx or export CSV") from None
    if expanded > limits.max_uncompressed_bytes:
        raise TableError(
            f"the Excel file expands to {expanded / 1e6:.0f} MB when unpacked, over the "
            f"{limits.max_uncompressed_bytes / 1e6:.0f} MB limit: refused (possible zip bomb)"
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
        frame = book.parse(chosen, dtype=object)
    except TableError:
        raise
    except Exception as exc:
        raise TableError(f"the Excel file cannot be read ({type(exc).__name__}); "
                         "save it again as .xlsx or export CSV") from None
    return _coerce_columns(frame.astype(object).where(frame.notna(), None), decimal_comma=False)


def _decode(data: bytes) -> str:
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
    sample = text[:65536]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    if control > max(5, len(sample) // 100):
        raise TableError(
            "the file does not look like text (many control characters): "
            "upload CSV, Parquet or .xlsx"
        )
    return text


def _sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        pass
    header = lines[0] if lines else ""
    counts = {d: header.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_csv(data: bytes, limits: ReadLimits) -> pd.DataFrame:
    text = _decode(data)
    delimiter = _sniff_delimiter(text)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise TableError(f"the CSV cannot be parsed ({exc}); check quoting") from None
    if not rows:
        raise TableError("the file is empty: upload a table with a header row and data rows")
    header = [h.strip() for h in rows[0]]
    _check_header(header)
    body = rows[1:]
    if len(body) > limits.max_rows:
        raise TableError(
            f"the table has {len(body):,} rows, over the {limits.max_rows:,}-row limit: "
            "sample it down or raise the limit"
        )
    width = len(header)
    for number, row in enumerate(body, start=2):
        if len(row) != width:
            raise TableError(
                f"row {number} has {len(row)} fields but the header has {width} "
                f"(delimiter {delimiter!r}): fix or remove that row"
            )
    frame = pd.DataFrame(body, columns=header, dtype=object)
    return _coerce_columns(frame, decimal_comma=delimiter != ",")


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


def _coerce_columns(frame: pd.DataFrame, decimal_comma: bool) -> pd.DataFrame:
    """Turn missing tokens into NaN and all-numeric text columns into numbers."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        missing = values.map(_is_missing)
        cleaned = values.where(~missing, None)
        if cleaned.map(lambda v: isinstance(v, str)).any():
            cleaned = cleaned.map(lambda v: v.strip() if isinstance(v, str) else v)
        out[column] = _maybe_numeric(cleaned, decimal_comma)
    return pd.DataFrame(out, index=frame.index)


def _maybe_numeric(values: pd.Series, decimal_comma: bool) -> pd.Series:
    present = values.dropna()
    if present.empty:
        return pd.Series(np.nan, index=values.index, dtype=float, name=values.name)
    texts = present.astype(str)
    if texts.map(_keep_as_text).any():
        return values.astype(object)
    if texts.map(lambda s: bool(_NUMBER.match(s))).all():
        numbers = pd.to_numeric(values, errors="coerce")
    elif decimal_comma and texts.map(lambda s: bool(_DECIMAL_COMMA.match(s))).all():
        converted = values.map(
            lambda s: s.replace(".", "").replace(",", ".") if isinstance(s, str) else s
        )
        numbers = pd.to_numeric(converted, errors="coerce")
    elif all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in present):
        numbers = pd.to_numeric(values, errors="coerce")
    else:
        return values.astype(object)
    finite = numbers.dropna()
    if len(finite) and np.all(np.isfinite(finite)) and (finite % 1 == 0).all() \
            and numbers.notna().all() and finite.abs().max() < 2**53:
        return numbers.astype("int64")
    return numbers.astype(float)


def _keep_as_text(text: str) -> bool:
    """Digit strings that numbers would corrupt: leading zeros (codes) or > 15 digits (cards)."""
    digits = text.lstrip("+-")
    return (len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()) or \
        sum(ch.isdigit() for ch in digits) > 15


def _check_frame(frame: pd.DataFrame, limits: ReadLimits) -> None:
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
        raise TableError(
            f"the table has {len(frame):,} rows, over the {limits.max_rows:,}-row limit: "
            "sample it down or raise the limit"
        )
    if len(frame) < limits.min_rows:
        raise TableError(
            f"the table has only {len(frame)} data rows; at least {limits.min_rows} are needed "
            "to split off a holdout and train"
        )


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as formulas with a single quote (OWASP)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v
            )
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, escape: bool = True) -> Path:
    """Write CSV atomically (temp file + rename) with formula escaping unless disabled."""
    path = Path(path)
    data = escape_formulas(frame) if escape else frame
    write_bytes_atomic(path, data.to_csv(index=False).encode("utf-8"))
    return path


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
