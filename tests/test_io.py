"""Reading tables: dialects, encodings, formats, and a specific error for each broken input."""

from __future__ import annotations

import gzip
import io
import zipfile

import pandas as pd
import pytest

from tabsynth.io import (
    ReadLimits,
    TableError,
    escape_formulas,
    read_table,
    reading_notes,
    write_csv,
)

ROWS = "".join(f"{i},{i * 1.5},cat{i % 3}\n" for i in range(20))
GOOD = "id,value,group\n" + ROWS


def test_reads_comma_csv_with_types() -> None:
    frame = read_table(GOOD.encode(), "t.csv")
    assert list(frame.columns) == ["id", "value", "group"]
    assert frame["id"].dtype == "int64"
    assert frame["value"].dtype == "float64"
    assert frame["group"].dtype == object


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_sniffs_other_delimiters(delimiter: str) -> None:
    text = GOOD.replace(",", delimiter)
    frame = read_table(text.encode(), "t.csv")
    assert frame.shape == (20, 3)
    assert frame["value"].sum() == pytest.approx(sum(i * 1.5 for i in range(20)))


def test_decimal_commas_with_semicolons() -> None:
    text = "name;price\n" + "".join(f"item{i};{i},25\n" for i in range(12))
    frame = read_table(text.encode(), "t.csv")
    assert frame["price"].dtype == "float64"
    assert frame["price"].iloc[3] == pytest.approx(3.25)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1"])
def test_encodings(encoding: str) -> None:
    text = "city,n\n" + "".join(f"Zürich Café {i},{i}\n" for i in range(12))
    frame = read_table(text.encode(encoding), "t.csv")
    assert list(frame.columns) == ["city", "n"]
    assert frame["city"].iloc[0] == "Zürich Café 0"


def test_missing_tokens_become_nan() -> None:
    text = "a,b\n" + "".join(f"{i},{'NA' if i % 4 == 0 else i}\n" for i in range(12))
    frame = read_table(text.encode(), "t.csv")
    assert frame["b"].isna().sum() == 3
    assert frame["b"].dtype == "float64"


def test_codes_with_leading_zeros_and_long_digit_strings_stay_text() -> None:
    text = "zip,card\n" + "".join(f"0{i:04d},4{i:015d}\n" for i in range(12))
    frame = read_table(text.encode(), "t.csv")
    assert frame["zip"].iloc[1] == "00001"
    assert frame["card"].iloc[1] == "4000000000000001"


def test_gzip_parquet_and_excel(tmp_path) -> None:
    expected = read_table(GOOD.encode(), "t.csv")
    assert read_table(gzip.compress(GOOD.encode()), "t.csv.gz").equals(expected)
    parquet = io.BytesIO()
    expected.to_parquet(parquet)
    assert read_table(parquet.getvalue(), "t.parquet").equals(expected)
    xlsx = tmp_path / "t.xlsx"
    expected.to_excel(xlsx, index=False)
    frame = read_table(xlsx)
    assert frame.shape == expected.shape
    assert frame["value"].tolist() == expected["value"].tolist()


def test_excel_with_several_sheets_asks_which(tmp_path) -> None:
    path = tmp_path / "book.xlsx"
    frame = read_table(GOOD.encode(), "t.csv")
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, sheet_name="first", index=False)
        frame.head(12).to_excel(writer, sheet_name="second", index=False)
    with pytest.raises(TableError, match="2 sheets"):
        read_table(path)
    assert len(read_table(path, sheet="second")) == 12


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (64 * 1024 * 1024))
    return buffer.getvalue()


BROKEN = [
    ("empty", b"", "empty"),
    ("whitespace", b"  \n\n ", "empty"),
    ("header only", b"a,b,c\n", "no data rows"),
    ("duplicate names", b"a,b,a\n" + b"1,2,3\n" * 12, "duplicate column name 'a'"),
    ("blank name", b"a,,c\n" + b"1,2,3\n" * 12, "column 2 has a blank name"),
    ("ragged row", b"a,b,c\n" + b"1,2,3\n" * 5 + b"1,2\n" + b"1,2,3\n" * 6, "line 7: 2 fields"),
    ("binary", bytes(range(256)) * 40, "binary"),
    ("too few rows", b"a,b\n1,2\n3,4\n", "only 2 data rows"),
    ("bad gzip", b"\x1f\x8b\x08\x00garbage", "gzip"),
    ("bad parquet", b"PAR1 not really parquet", "Parquet"),
    ("zip not excel", b"PK\x03\x04" + b"\x00" * 40, "not a valid .xlsx"),
    ("zip bomb", _zip_bomb(), "zip bomb"),
]


@pytest.mark.parametrize(("case", "payload", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_inputs_raise_specific_errors(case: str, payload: bytes, expected: str) -> None:
    limits = ReadLimits(max_uncompressed_bytes=32 * 1024 * 1024)
    name = "t.xlsx" if case == "zip bomb" else "t.csv"
    with pytest.raises(TableError, match=expected):
        read_table(payload, name, limits=limits)


def test_limits_on_size_and_rows() -> None:
    with pytest.raises(TableError, match="over the"):
        read_table(GOOD.encode(), "t.csv", limits=ReadLimits(max_bytes=50))
    with pytest.raises(TableError, match="20 rows, over the 15-row limit"):
        read_table(GOOD.encode(), "t.csv", limits=ReadLimits(max_rows=15))


def test_error_messages_do_not_quote_cell_values() -> None:
    secret = "Jane Secretperson"
    text = "a,b\n" + f"{secret},1\n" * 5 + f"{secret},1,extra\n" + f"{secret},1\n" * 6
    with pytest.raises(TableError) as caught:
        read_table(text.encode(), "t.csv")
    assert secret not in str(caught.value)


def test_formula_injection_is_escaped_unless_disabled(tmp_path) -> None:
    frame = pd.DataFrame({"text": ["=HYPERLINK(\"x\")", "+cmd|' /C calc'!A0", "@SUM(A1)",
                                   "-2+3", "\tTAB", "safe"], "number": [-1, 2, 3, 4, 5, 6]})
    escaped = escape_formulas(frame)
    assert all(v.startswith("'") for v in escaped["text"].iloc[:5])
    assert escaped["text"].iloc[5] == "safe"
    assert escaped["number"].tolist() == [-1, 2, 3, 4, 5, 6]
    safe_path = write_csv(frame, tmp_path / "safe.csv")
    raw_path = write_csv(frame, tmp_path / "raw.csv", escape=False)
    safe_cells = pd.read_csv(safe_path)["text"].tolist()
    assert not any(str(v).startswith(("=", "+", "@")) for v in safe_cells)
    assert pd.read_csv(raw_path)["text"].iloc[0].startswith("=")


@pytest.mark.parametrize("cell", [" =1+1", "\u00a0@SUM(A1)", "\uff1d1+1", "  \uff0bcmd",
                                  "\u3000-2+3"])
def test_formulas_behind_blanks_or_in_fullwidth_are_escaped(cell: str) -> None:
    escaped = escape_formulas(pd.DataFrame({"text": [cell, "a = b", "x@y.org"]}))["text"]
    assert escaped.tolist() == ["'" + cell, "a = b", "x@y.org"]


def test_utf16_excel_text_is_read() -> None:
    frame = read_table(GOOD.replace(",", "\t").encode("utf-16"), "export.txt")
    assert list(frame.columns) == ["id", "value", "group"]
    assert frame["value"].sum() == pytest.approx(sum(i * 1.5 for i in range(20)))


def test_currency_thousands_and_infinities_become_numbers_with_notes() -> None:
    text = "price,score\n" + "".join(
        f"\"{'€' if i % 2 else ''}{1000 + i:,}.50\",{'inf' if i == 3 else i}\n" for i in range(12))
    frame = read_table(text.encode(), "t.csv")
    assert frame["price"].dtype == "float64"
    assert frame["price"].iloc[1] == pytest.approx(1001.5)
    assert frame["score"].isna().sum() == 1  # the infinity, read as missing
    notes = reading_notes(frame)
    assert any("'price'" in n and "€" in n for n in notes)
    assert any("'score'" in n and "infinite" in n for n in notes)


def test_units_and_mixed_currencies_stay_text() -> None:
    text = "w,p\n" + "".join(f"{i} kg,{'€' if i % 2 else '$'}{i}\n" for i in range(12))
    frame = read_table(text.encode(), "t.csv")
    assert frame["w"].dtype == object and frame["p"].dtype == object


def test_fallback_encoding_is_noted() -> None:
    frame = read_table(("city,n\n" + "Malmö,1\n" * 12).encode("latin-1"), "t.csv")
    assert frame["city"].iloc[0] == "Malmö"
    assert any("not valid UTF-8" in n for n in reading_notes(frame))


def test_unclosed_quote_and_huge_cell_are_explained() -> None:
    rows = GOOD.splitlines()
    rows[5] = rows[5].replace(",", ',"', 1)
    with pytest.raises(TableError, match="a quote opened on line 6 seems never to close"):
        read_table("\n".join(rows).encode(), "t.csv")
    big = "a,b\n" + "1,x\n" * 11 + "2," + "y" * 300 + "\n"
    with pytest.raises(TableError, match="line 13 is over"):
        read_table(big.encode(), "t.csv", limits=ReadLimits(max_cell_bytes=200))
    assert read_table(big.encode(), "t.csv")["b"].str.len().max() == 300


def test_parquet_odd_types_become_plain_columns() -> None:
    frame = pd.DataFrame({
        "tags": [["a", "b"][: i % 3] for i in range(12)],
        "when": pd.date_range("2021-01-01", periods=12, freq="h", tz="Europe/Paris"),
        "kind": pd.Categorical(["x", "y"] * 6),
        "flag": pd.array([True, False, None] * 4, dtype="boolean"),
        "count": pd.array([1, None, 3] * 4, dtype="Int64"),
    })
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    read = read_table(buffer.getvalue(), "t.parquet")
    assert read["tags"].iloc[2] == '["a", "b"]'
    assert read["when"].iloc[0] == pd.Timestamp("2020-12-31 23:00:00")  # UTC, naive
    assert read["kind"].dtype == object and read["count"].dtype == "float64"
    assert any("UTC" in n for n in reading_notes(read))


def test_formula_headers_are_escaped_too(tmp_path) -> None:
    frame = pd.DataFrame({"=cmd|' /C calc'!A0": ["a"], "ok": ["@SUM(1)"]})
    text = write_csv(frame, tmp_path / "x.csv").read_text()
    assert text.splitlines()[0].startswith("\"'=cmd") or text.startswith("'=cmd")
    assert "'@SUM(1)" in text


RECORD = "Jane Secretperson,1987-04-02,40.5,retail"


def _headerless(rows: int = 40) -> str:
    lines = [RECORD] + [f"Person {i},19{50 + i % 40}-01-0{1 + i % 9},{20 + i % 30}.5,"
                        f"{('retail', 'public')[i % 2]}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def test_a_first_row_of_data_is_refused_without_quoting_it(tmp_path) -> None:
    with pytest.raises(TableError, match="first row looks like data") as caught:
        read_table(_headerless().encode(), "t.csv")
    message = str(caught.value)
    assert "--no-header" in message
    assert not any(part in message for part in RECORD.split(","))
    sheet = tmp_path / "t.xlsx"
    pd.DataFrame([r.split(",") for r in _headerless().splitlines()]).to_excel(
        sheet, header=False, index=False)
    with pytest.raises(TableError, match="first row looks like data"):
        read_table(sheet)


def test_without_a_header_every_row_is_data_with_generic_names(tmp_path) -> None:
    frame = read_table(_headerless().encode(), "t.csv", header=False)
    assert list(frame.columns) == ["column_1", "column_2", "column_3", "column_4"]
    assert len(frame) == 41 and frame["column_1"].iloc[0] == "Jane Secretperson"
    sheet = tmp_path / "t.xlsx"
    pd.DataFrame([r.split(",") for r in _headerless().splitlines()]).to_excel(
        sheet, header=False, index=False)
    assert len(read_table(sheet, header=False)) == 41


@pytest.mark.parametrize("header", ["id,value,group", "region,2019,2020", "1,2,3_label",
                                    "name,n,M"])
def test_real_headers_pass(header: str) -> None:
    """Years, question numbers over text answers and a label that is a letter are names."""
    if header == "1,2,3_label":
        rows = "".join(f"yes,no,{i}\n" for i in range(20))
    elif header == "name,n,M":
        rows = "".join(f"x{i},{i},{'MF'[i % 2]}\n" for i in range(20))
    else:
        rows = "".join(f"r{i % 3},{i * 1.5},{i}\n" for i in range(20))
    frame = read_table((header + "\n" + rows).encode(), "t.csv")
    assert list(frame.columns) == header.split(",")


_BOMB_CHILD = """
import sys
from tabsynth.errors import TableError
from tabsynth.io import read_table
try:
    read_table(sys.argv[1])
    print("read")
except TableError as exc:
    print(exc)
status = open("/proc/self/status").read()  # VmHWM: this program's peak, not its parent's
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""


def _bombs(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = folder / "rows.csv.gz"  # ~16 KB that unpacks to 4 million rows
    rows.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 4_000_000, 9))
    plain = folder / "rows.csv"  # 24 MB of three-letter rows: 6 million of them
    plain.write_bytes(b"a\n" + b"1\n" * 6_000_000)
    parquet = folder / "rows.parquet"  # ~8 KB that holds 40 million rows
    pq.write_table(pa.table({"a": pa.array([1] * 40_000_000, pa.int8())}), parquet,
                   compression="zstd")
    return [rows, plain, parquet]


def test_small_files_that_unpack_to_huge_tables_are_refused_in_little_memory(tmp_path) -> None:
    """Each bomb ends in one line naming the row limit, with the reading process's peak
    memory (Python, pandas and pyarrow loaded) under 500 MB."""
    import subprocess
    import sys

    for bomb in _bombs(tmp_path):
        done = subprocess.run([sys.executable, "-c", _BOMB_CHILD, str(bomb)],
                              capture_output=True, text=True, timeout=300)
        message, peak_mib = done.stdout.strip().splitlines()
        assert "row limit" in message, (bomb.name, message, done.stderr[-500:])
        assert int(peak_mib) < 500, (bomb.name, peak_mib)


def test_tables_over_the_cell_limit_are_refused_before_parsing() -> None:
    text = "a,b,c\n" + "1,2,3\n" * 40
    with pytest.raises(TableError, match="40 rows × 3 columns = 120 cells, over the 100-cell"):
        read_table(text.encode(), "t.csv", limits=ReadLimits(max_cells=100))
    quoted = "a,b\n" + '"x\ny",1\n' * 30  # 61 lines, 30 records: counted exactly
    assert len(read_table(quoted.encode(), "t.csv", limits=ReadLimits(max_rows=40))) == 30
