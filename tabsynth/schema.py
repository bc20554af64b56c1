"""Column kinds, PII kinds and the editable schema (JSON round-trip, no real values inside)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.errors import TableError
from tabsynth.number_text import parse_number
from tabsynth.pii import FAKER_PROVIDERS, PII_KINDS, detect_pii, header_hint

KINDS = ("numeric", "integer", "categorical", "boolean", "datetime", "identifier", "text")
DATETIME_FORMATS = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%SZ",
    "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y",
    "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M", "%Y%m%d",
    "%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y",
)
# A date column's granularity: the coarsest unit every value is a whole number of (pandas'
# rounding frequency beside it); None: finer than a second
DATE_UNITS = {"day": "D", "hour": "h", "minute": "min", "second": "s"}
BOOLEAN_PAIRS = (
    ("true", "false"), ("yes", "no"), ("y", "n"), ("t", "f"), ("1", "0"), ("on", "off"),
)
ID_HEADER = re.compile(r"(^|_|\b)(id|key|uuid|guid|number|no|code)$|^id", re.I)
KEY_SHAPE = re.compile(r"^([A-Za-z_\-#./]*?)(\d+)$")  # prefix + digits, e.g. PAT-00042
SCHEMA_VERSION = 1
LONG_TEXT_CHARS = 100  # a column whose typical value is longer than this is free text...
REPEATED_LABEL_SHARE = 0.05  # ...unless its values repeat: few distinct long labels are categories
MAX_DECIMALS = 6  # a column with more decimals than this keeps full precision
# Whole-number columns with at most this many distinct values are categories by default (codes
# such as a region 1-9 or a sex -1/0/1); census's education_num (16 values) stays a number.
FEW_VALUES = 10
MIN_ROWS_FOR_FEW = 20  # ...once the column holds this many values (a tiny column tells nothing)
# The public list of values that tables use for "not measured": only these are ever proposed
# as missing-value codes (in a DP run they are fixed cells of the schema's detail histogram).
MISSING_CODE_CANDIDATES = (-1, -9, -99, -999, -9999, 0, 9, 99, 999, 9999)
MIN_CODE_SHARE = 0.01  # a code holds at least this share of the column's present values...
MIN_CODE_ROWS = 3  # ...and at least this many rows
CODE_WITH_MISSING = 0.9  # a code's rows are missing elsewhere this often, the rest at most 1 - it
FEW_VALUES_REASON = "whole numbers with few distinct values: treated as categories (set the " \
    "kind to integer to model them as numbers)"


@dataclass
class ColumnSpec:
    """What we know about one column. Holds no real values, except a declared public domain and
    missing-value codes (proposed only from the public MISSING_CODE_CANDIDATES)."""

    name: str
    kind: str
    dtype: str
    pii: str | None = None
    reason: str = ""
    include: bool = True
    datetime_format: str | None = None
    bool_tokens: list[str] | None = None
    public_categories: list[str] | None = None
    public_bounds: list[float] | None = None
    id_prefix: str | None = None  # identifier: shape of the made-up keys (declared, not learned)
    id_width: int | None = None
    decimals: int | None = None  # numeric: digits after the point in the output (None: all)
    date_unit: str | None = None  # datetime: a key of DATE_UNITS (None: finer than a second)
    # values that mean "missing" (e.g. -1 for "not measured"): read as missing, so they never
    # enter the model or the evaluation as numbers, and written back as the first code
    missing_codes: list[float] | None = None

    @property
    def faker_provider(self) -> str | None:
        return FAKER_PROVIDERS.get(self.pii) if self.pii else None

    @property
    def regenerated(self) -> bool:
        """True when the column is never learned: made up from scratch at sampling time."""
        return self.pii is not None or self.kind in ("identifier", "text")

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise TableError(
                f"column {self.name!r}: unknown kind {self.kind!r}; use one of {KINDS}"
            )
        if self.pii is not None and self.pii not in PII_KINDS:
            raise TableError(
                f"column {self.name!r}: unknown PII kind {self.pii!r}; use one of {PII_KINDS}"
            )
        if self.public_bounds is not None and (
            len(self.public_bounds) != 2 or self.public_bounds[0] >= self.public_bounds[1]
        ):
            raise TableError(f"column {self.name!r}: public_bounds must be [low, high], low < high")
        if self.missing_codes is not None and not (
            isinstance(self.missing_codes, list) and all(
                isinstance(c, int | float) and not isinstance(c, bool) and np.isfinite(c)
                for c in self.missing_codes)):
            raise TableError(f"column {self.name!r}: missing_codes must be a list of numbers")
        if self.date_unit is not None and self.date_unit not in DATE_UNITS:
            raise TableError(f"column {self.name!r}: unknown date_unit {self.date_unit!r}; use "
                             f"one of {list(DATE_UNITS)}")


@dataclass
class Schema:
    columns: list[ColumnSpec]
    target: str | None = None
    version: int = SCHEMA_VERSION
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def included(self) -> list[ColumnSpec]:
        return [c for c in self.columns if c.include]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.include and c.pii]

    @property
    def learned(self) -> list[ColumnSpec]:
        """Columns whose joint distribution a synthesizer learns."""
        return [c for c in self.included if not c.regenerated]

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "target": self.target,
                "columns": [asdict(c) for c in self.columns]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        try:
            columns = [ColumnSpec(**c) for c in data["columns"]]
        except (KeyError, TypeError) as exc:
            raise TableError(f"the schema file is malformed ({exc}); regenerate it with "
                             "`tabsynth schema INPUT`") from None
        schema = cls(columns=columns, target=data.get("target"))
        for spec in columns:
            spec.validate()
        return schema

    @classmethod
    def from_json(cls, text: str) -> Schema:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TableError(f"the schema file is not valid JSON (line {exc.lineno}): {exc.msg}") \
                from None
        if not isinstance(data, dict):
            raise TableError("the schema file must hold a JSON object with a 'columns' list")
        return cls.from_dict(data)

    def check_against(self, frame: pd.DataFrame) -> None:
        """Raise when the schema does not describe the frame's columns."""
        missing = [n for n in self.names if n not in frame.columns]
        extra = [c for c in frame.columns if c not in self.names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"columns in the schema but not the table: {missing}")
            if extra:
                parts.append(f"columns in the table but not the schema: {extra}")
            raise TableError("schema does not match the table (" + "; ".join(parts) + ")")
        if self.target is not None:
            if self.target not in self.names:
                raise TableError(f"target column {self.target!r} is not in the table")
            spec = self[self.target]
            if spec.regenerated or not spec.include:
                raise TableError(
                    f"target column {self.target!r} is excluded, PII or an identifier: "
                    "choose a learned column as target"
                )


CHOICE_KINDS = ("categorical", "numeric", "integer", "identifier", "text")  # need no format


def with_choices(learned: Schema, choices: dict[str, dict[str, Any]]) -> Schema:
    """The learned schema with the user's own edits applied: per column any of "include",
    "pii" (a PII kind or None), "kind" (one that needs no learned format: a date or yes/no
    kind stays as learned) and "missing_codes" (None or codes from the public
    MISSING_CODE_CANDIDATES: ticking "treat as missing" off or on). Nothing else of an edited
    schema is used."""
    for name, choice in choices.items():
        spec = learned[name]
        if "include" in choice:
            spec.include = bool(choice["include"])
        if choice.get("kind") in CHOICE_KINDS and choice["kind"] != spec.kind:
            spec.kind, spec.reason = choice["kind"], "kind chosen by you"
            spec.decimals = spec.datetime_format = spec.bool_tokens = spec.date_unit = None
            if spec.kind == "identifier":
                spec.id_prefix, spec.id_width = spec.id_prefix or "", spec.id_width or 6
        if "pii" in choice:
            spec.pii = choice["pii"] or None
            spec.reason = "personal data, as you marked it" if spec.pii else spec.reason
        if "missing_codes" in choice:
            codes = list(choice["missing_codes"] or [])
            if any(c not in MISSING_CODE_CANDIDATES for c in codes):
                raise TableError(f"column {name!r}: a missing-value code must be one of "
                                 f"{list(MISSING_CODE_CANDIDATES)}")
            spec.missing_codes = [int(c) for c in codes] or None
        spec.validate()
    return learned


def schema_choices(proposed: Schema, edited: Schema) -> dict[str, dict[str, Any]]:
    """What the user changed in the proposed schema: include, PII kind, kind, missing-value
    codes (per column)."""
    changes: dict[str, dict[str, Any]] = {}
    for before in proposed.columns:
        after = edited[before.name]
        changed = {key: getattr(after, key) for key in ("include", "pii", "kind", "missing_codes")
                   if getattr(after, key) != getattr(before, key)}
        if changed:
            changes[before.name] = changed
    return changes


def infer_schema(frame: pd.DataFrame, target: str | None = None) -> Schema:
    """Infer kind and PII kind of every column from its header and values."""
    columns = [infer_column(frame[c], str(c)) for c in frame.columns]
    _codes_with_missingness(frame, columns)
    schema = Schema(columns=columns, target=target)
    if target is not None:
        schema.check_against(frame)
    return schema


def infer_column(values: pd.Series, name: str) -> ColumnSpec:
    dtype = str(values.dtype)
    present = values.dropna()
    spec = ColumnSpec(name=name, kind="categorical", dtype=dtype)
    if present.empty:
        spec.kind, spec.reason = "numeric", "all values missing"
        return spec
    if values.dtype == bool:
        spec.kind = "boolean"
    elif pd.api.types.is_numeric_dtype(values):
        spec.kind = _numeric_kind(present, name)
        if spec.kind == "numeric":
            spec.decimals = decimals_of(present)
        elif spec.kind == "categorical":
            spec.reason = FEW_VALUES_REASON
        if spec.kind in ("numeric", "integer"):
            _propose_codes(spec, apart_codes(present))
    elif pd.api.types.is_datetime64_any_dtype(values):
        spec.kind = "datetime"
    else:
        _infer_text_column(spec, present.astype(str))
    if spec.kind == "datetime":
        spec.date_unit = date_unit_of(parse_datetimes(present, spec.datetime_format))
    birthish = spec.kind == "datetime" and _looks_like_birth_dates(values, spec.datetime_format)
    finding = detect_pii(values, name, is_datetime=spec.kind == "datetime",
                         looks_like_birth_dates=birthish)
    if finding is not None:
        spec.pii, spec.reason, spec.missing_codes = finding.kind, finding.reason, None
    elif spec.kind == "text":
        spec.pii, spec.reason = "free_text", "free text may hold personal data; regenerated"
    elif spec.kind == "identifier":
        spec.reason = "unique per row: treated as a key and regenerated"
        spec.id_prefix, spec.id_width = identifier_shape(values)
    return spec


def _numeric_kind(present: pd.Series, name: str) -> str:
    integral = bool(np.all(np.mod(present.to_numpy(dtype=float), 1) == 0))
    unique = present.nunique()
    if integral and unique == len(present) and len(present) >= 20 and ID_HEADER.search(name):
        return "identifier"
    if integral and len(present) >= 20 and unique == len(present) and _is_sequence(present):
        return "identifier"
    if integral and unique <= FEW_VALUES and len(present) >= MIN_ROWS_FOR_FEW:
        return "categorical"  # codes such as a region 1-9: their order and gaps mean nothing
    return "integer" if integral else "numeric"


def apart_codes(present: pd.Series) -> list[int]:
    """Candidate codes (MISSING_CODE_CANDIDATES) that stand apart from the column's other values,
    most common first: a negative code where every other value is at least 0, or a code below
    (above) every other value by more than the widest step between two neighbouring other
    values (0 under heights of 140-200; 99 over ages up to 90, but not over hours 1-98)."""
    numbers = present.to_numpy(dtype=float)
    numbers = numbers[np.isfinite(numbers)]
    candidates = np.array(MISSING_CODE_CANDIDATES, dtype=float)
    held = {int(c): int(np.count_nonzero(numbers == c)) for c in candidates}
    floor = max(MIN_CODE_ROWS, MIN_CODE_SHARE * len(numbers))
    found = [c for c, count in held.items() if count >= floor]
    rest = np.unique(numbers[~np.isin(numbers, candidates)])
    if not found or len(rest) < 2:
        return []
    widest = float(np.diff(rest).max())
    low, high = float(rest[0]), float(rest[-1])
    apart = [c for c in found if (c < 0 <= low) or low - c > widest or c - high > widest]
    return sorted(apart, key=lambda c: -held[c])


def _propose_codes(spec: ColumnSpec, codes: list[int],
                   why: str = "apart from the other values") -> None:
    """Propose treating `codes` as missing (the page's "treat as missing", ticked)."""
    if not codes:
        return
    spec.missing_codes = [*(spec.missing_codes or []), *codes]
    spec.reason = code_reason(spec.missing_codes, why)


def code_reason(codes: list[int], why: str) -> str:
    plural = "s" if len(codes) > 1 else ""
    return (f"{', '.join(str(c) for c in codes)}: likely missing-value code{plural} ({why}); "
            "treated as missing, written back as the code (untick to keep as numbers)")


def _codes_with_missingness(frame: pd.DataFrame, columns: list[ColumnSpec]) -> None:
    """Propose a candidate code (not 0: zeros are too often real) of a number column whose rows
    are nearly always missing elsewhere while the column's other rows nearly never are: the
    same records were not measured (missing elsewhere: empty, or a code proposed there)."""
    learned = [s for s in columns if s.kind in ("numeric", "integer") and s.pii is None
               and pd.api.types.is_numeric_dtype(frame[s.name])]
    if not learned or len(frame.columns) < 2:
        return
    missing = {s.name: frame[s.name].isna().to_numpy() for s in columns}
    for spec in columns:
        if spec.missing_codes:
            missing[spec.name] = missing[spec.name] | frame[spec.name].isin(
                spec.missing_codes).to_numpy()
    for spec in learned:
        values = frame[spec.name].to_numpy(dtype=float)
        present = int(np.count_nonzero(~np.isnan(values)))
        floor = max(MIN_CODE_ROWS, MIN_CODE_SHARE * present, 20)
        found = []
        for code in MISSING_CODE_CANDIDATES:
            if code == 0 or code in (spec.missing_codes or []):
                continue
            rows = values == code
            if np.count_nonzero(rows) < floor:
                continue
            others = ~rows & ~np.isnan(values)
            if any(missing[name][rows].mean() >= CODE_WITH_MISSING
                   and missing[name][others].mean() <= 1 - CODE_WITH_MISSING
                   for name in missing if name != spec.name):
                found.append(code)
        _propose_codes(spec, found, "where other columns are missing")


def decimals_of(present: pd.Series) -> int | None:
    """The fewest decimals that write every value exactly (None: more than MAX_DECIMALS)."""
    numbers = present.to_numpy(dtype=float)
    numbers = numbers[np.isfinite(numbers)]
    for places in range(MAX_DECIMALS + 1):
        if np.array_equal(np.round(numbers, places), numbers):
            return places
    return None


def date_unit_of(dates: pd.Series) -> str | None:
    """The coarsest unit (DATE_UNITS) that every date is a whole number of, None when some date
    is finer than a second (or none parses)."""
    present = dates.dropna()
    if present.empty:
        return None
    for unit, frequency in DATE_UNITS.items():
        if bool((present.dt.floor(frequency) == present).all()):
            return unit
    return None


def _is_sequence(present: pd.Series) -> bool:
    ordered = np.sort(present.to_numpy(dtype=float))
    return bool(np.all(np.diff(ordered) == 1))


def _infer_text_column(spec: ColumnSpec, texts: pd.Series) -> None:
    lowered = set(texts.str.lower().unique())
    for true_token, false_token in BOOLEAN_PAIRS:
        if lowered <= {true_token, false_token} and len(lowered) >= 1:
            spec.kind = "boolean"
            sample = texts.iloc[0]
            casing = str.upper if sample.isupper() else (str.title if sample.istitle() else str)
            spec.bool_tokens = [casing(true_token), casing(false_token)]
            return
    fmt = detect_datetime_format(texts)
    if fmt is not None:
        spec.kind, spec.datetime_format = "datetime", fmt
        return
    n, unique = len(texts), texts.nunique()
    mean_words = texts.head(500).str.split().str.len().mean()
    repeated_labels = unique <= max(2, REPEATED_LABEL_SHARE * n)
    long_text = texts.head(500).str.len().median() > LONG_TEXT_CHARS and not repeated_labels
    if long_text or (mean_words >= 3 and unique > 0.5 * n and (unique > 50 or unique == n)):
        spec.kind = "text"  # prose: never learned, whatever the table's size
    elif unique == n and n >= 20 and (mean_words <= 1.0 or ID_HEADER.search(spec.name)):
        spec.kind = "identifier"
    elif unique > 0.5 * n and unique > 50 and mean_words >= 3:
        spec.kind = "text"
    elif unique > 0.9 * n and unique > 50:
        spec.kind = "identifier" if mean_words <= 1.0 else "text"
    else:
        spec.kind = "categorical"


def identifier_shape(values: pd.Series) -> tuple[str | None, int | None]:
    """(prefix, digit width) of keys such as 'PAT-00042' or 12345; (None, None) otherwise."""
    present = values.dropna()
    if present.empty:
        return None, None
    if pd.api.types.is_numeric_dtype(values):
        return None, int(present.astype("int64").astype(str).str.len().median())
    matches = present.astype(str).str.extract(KEY_SHAPE)
    prefixes = matches[0].dropna()
    if len(prefixes) == len(present) and prefixes.nunique() == 1:
        return str(prefixes.iloc[0]), int(matches[1].str.len().max())
    return None, None


def detect_datetime_format(texts: pd.Series) -> str | None:
    """The format that parses at least 95 % of values (the most-parsing one on ties)."""
    sample = texts.head(1000) if len(texts) <= 1000 else texts.sample(1000, random_state=0)
    if not sample.str.contains(r"\d", regex=True).all() or sample.str.len().max() > 40:
        return None
    best, best_share = None, 0.0
    for fmt in DATETIME_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        share = float(parsed.notna().mean())
        if share > best_share:
            best, best_share = fmt, share
    return best if best_share >= 0.95 else None


def _looks_like_birth_dates(values: pd.Series, fmt: str | None) -> bool:
    if header_hint(str(values.name)) == "date_of_birth":
        return True
    dates = parse_datetimes(values, fmt).dropna()
    if len(dates) < 20:
        return False
    today = pd.Timestamp.now().normalize()
    has_time = bool((dates.dt.normalize() != dates).any())
    years = (today - dates).dt.days / 365.25
    return (not has_time and years.min() >= 0 and years.max() <= 120
            and (years.max() - years.min()) >= 30 and years.median() >= 15)


def parse_datetimes(values: pd.Series, fmt: str | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, format=fmt, errors="coerce")


def coerce_frame(frame: pd.DataFrame, schema: Schema, lenient: bool = False) -> pd.DataFrame:
    """Give each learned column the dtype of its kind (datetime64, bool, float; a categorical
    column of whole numbers holds Python ints, so that it is counted as categories and written
    back as 3, not 3.0); a column's missing-value codes become missing values.

    A value that does not fit its column's kind is an error naming the column and the first
    row; with `lenient` (a schema learned under DP, whose kinds follow noisy majorities) it
    becomes a missing value instead.
    """
    out = frame.copy()
    for spec in schema.columns:
        if spec.missing_codes and spec.kind in CODED_KINDS:
            out[spec.name] = _without_codes(out[spec.name], spec.missing_codes)
        column = out[spec.name]
        if spec.kind == "categorical" and _is_number_column(column):
            out[spec.name] = whole_numbers_as_ints(column)
        elif spec.kind == "datetime":
            parsed = parse_datetimes(column, spec.datetime_format)
            _check_fits(spec, column.notna() & parsed.isna(), lenient,
                        f"do not match the date format {spec.datetime_format}")
            out[spec.name] = parsed
        elif spec.kind == "boolean" and spec.bool_tokens and not _holds_bools(column):
            tokens = [t.lower() for t in spec.bool_tokens]
            lowered = column.map(lambda v: None if pd.isna(v) else str(v).lower())
            _check_fits(spec, lowered.notna() & ~lowered.isin(tokens), lenient,
                        f"are neither {spec.bool_tokens[0]} nor {spec.bool_tokens[1]}")
            out[spec.name] = lowered.map(
                lambda v, t=tokens[0], f=tokens[1]: True if v == t else (False if v == f
                                                                         else None)
            ).astype(object)
        elif spec.kind in ("numeric", "integer") and not pd.api.types.is_numeric_dtype(column):
            if lenient:  # each cell as it writes its number (1,234 · €12 · 40,5), alone
                column = column.map(lambda v: parse_number(v) if isinstance(v, str) else v)
            numbers = pd.to_numeric(column, errors="coerce")
            _check_fits(spec, column.notna() & numbers.isna(), lenient, "are not numbers")
            out[spec.name] = numbers.astype(float)
    return out


CODED_KINDS = ("numeric", "integer", "categorical")  # kinds whose missing-value codes apply


def _holds_bools(column: pd.Series) -> bool:
    """Already True / False (and missing): a frame coerced once is left as it is."""
    present = column.dropna()
    return pd.api.types.is_bool_dtype(column) or bool(
        present.map(lambda v: isinstance(v, bool | np.bool_)).all())


def _is_number_column(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _without_codes(column: pd.Series, codes: list[float]) -> pd.Series:
    """The column with every value equal to one of `codes` (as a number) missing."""
    if _is_number_column(column):
        numbers = column
    else:
        numbers = pd.to_numeric(column.map(lambda v: parse_number(v) if isinstance(v, str)
                                           else v), errors="coerce")
    coded = numbers.isin([float(c) for c in codes])
    return column.mask(coded) if coded.any() else column


def whole_numbers_as_ints(column: pd.Series) -> pd.Series:
    """A number column whose present values are all whole, as Python ints (None where missing);
    any other column unchanged."""
    numbers = column.to_numpy(dtype=float) if _is_number_column(column) else None
    if numbers is None:
        return column
    present = ~np.isnan(numbers)
    if not np.all(np.mod(numbers[present], 1) == 0):
        return column
    values = np.full(len(numbers), None, dtype=object)
    values[present] = numbers[present].astype(np.int64).tolist()
    return pd.Series(values, index=column.index, name=column.name, dtype=object)


def _code_value(code: float) -> int | float:
    return int(code) if float(code).is_integer() else float(code)


def unfit_notes(raw: pd.DataFrame, typed: pd.DataFrame, schema: Schema) -> list[str]:
    """For the review: per column, how many values a lenient read turned into missing ones."""
    notes = []
    for spec in schema.columns:
        lost = raw[spec.name].notna().to_numpy() & typed[spec.name].isna().to_numpy()
        if lost.any():
            notes.append(f"column {spec.name!r}: {int(lost.sum())} value(s) do not fit its "
                         f"learned kind ({spec.kind}) and were read as missing (first at row "
                         f"{int(np.flatnonzero(lost)[0]) + 2})")
    return notes


def _check_fits(spec: ColumnSpec, bad: pd.Series, lenient: bool, what: str) -> None:
    if lenient or not bad.any():
        return
    row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
    raise TableError(
        f"column {spec.name!r}: {int(bad.sum())} value(s) {what} (first at row {row}); fix "
        "them or set the column's kind to categorical"
    )


def format_for_export(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Render dates, booleans and integers the way the input wrote them; a column with
    missing-value codes writes each of its missing values as its first code (a column that
    held both empty cells and a code comes out with the code only)."""
    out = frame.copy()
    for spec in schema.included:
        if spec.name not in out.columns:
            continue
        column = out[spec.name]
        if spec.kind == "categorical":
            column = out[spec.name] = _whole_categories(column)
        if spec.missing_codes and spec.kind in CODED_KINDS and not spec.regenerated:
            column = out[spec.name] = _with_code(column, _code_value(spec.missing_codes[0]),
                                                 spec.kind == "numeric")
        if spec.kind == "datetime" and spec.datetime_format and \
                pd.api.types.is_datetime64_any_dtype(column):
            out[spec.name] = column.dt.strftime(spec.datetime_format).where(column.notna(), None)
        elif spec.kind == "boolean" and spec.bool_tokens:
            yes, no = spec.bool_tokens
            out[spec.name] = column.map(
                lambda v, y=yes, n=no: None if pd.isna(v) else (y if v else n)
            )
        elif spec.kind in ("integer", "identifier") and pd.api.types.is_float_dtype(column):
            out[spec.name] = column.round().astype("Int64")
    return out


def _whole_categories(column: pd.Series) -> pd.Series:
    """Categories that are whole numbers written as 3, not 3.0 (a model may hand back floats)."""
    if _is_number_column(column):
        return whole_numbers_as_ints(column)
    if column.dtype != object:
        return column
    values = column.to_numpy(dtype=object, copy=True)
    floats = [i for i, v in enumerate(values)
              if isinstance(v, float | np.floating) and not np.isnan(v)]
    if not floats or not all(float(values[i]).is_integer() for i in floats):
        return column
    for i in floats:
        values[i] = int(values[i])
    return pd.Series(values, index=column.index, name=column.name, dtype=object)


def _with_code(column: pd.Series, code: int | float, as_written: bool) -> pd.Series:
    """Missing values written as `code`; in a column of decimals (`as_written`) the code keeps
    its own look (-1, not -1.0) while the other values stay floats."""
    missing = column.isna()
    if not missing.any():
        return column
    if as_written and pd.api.types.is_float_dtype(column) and isinstance(code, int):
        values = column.to_numpy(dtype=object, copy=True)  # (Series.where would make it -1.0)
        values[missing.to_numpy()] = code
        return pd.Series(values, index=column.index, name=column.name, dtype=object)
    return column.where(~missing, code)
