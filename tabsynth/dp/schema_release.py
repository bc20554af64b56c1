"""A DP run's schema, learned through the accountant when the user declares none.

Every schema property that shapes a DP output (a column's kind, integer or decimal and how many
decimals, a date format, a yes/no spelling, a key's digit width, a PII kind) comes from three
noisy releases per column, each of L2 sensitivity 1 (a row adds 1 to one cell, or to the
distinct count), composed in the fit's accountant:

1. the family histogram: missing / whole number / number with decimals / yes-no / date / key /
   text;
2. the detail histogram of the family the first release chose (decimals and digit widths of
   numbers, their sign, and one cell per candidate missing-value code such as -1 or 999;
   spellings of yes/no tokens, date formats, key digit widths, PII kinds and word counts of
   texts);
3. the column's number of distinct values.

Every cell is from a public, finite list written here: no value is ever a cell label, so no
release threshold is needed. Key prefixes (the ``PAT-`` of ``PAT-00042``) would be such labels
and are not released: a learned key column's made-up keys are plain digits. Decisions read the
noisy counts with margins of a few noise widths, and whatever they decide is post-processing:
a whole-number column is categorical when its values are one digit (or its distinct count is
clearly small), and a candidate code is proposed as missing when its cell clears the noise and
no other value near it does (see _apart_codes).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsynth.dp.noise import SecretNoise
from tabsynth.number_text import parse_number
from tabsynth.pii import (
    SINGLE_NAME,
    SINGLE_NAME_SHARE,
    VALUE_PII_KINDS,
    header_hint,
    value_check,
    value_pii_kind,
)
from tabsynth.schema import (
    BOOLEAN_PAIRS,
    DATE_UNITS,
    DATETIME_FORMATS,
    FEW_VALUES,
    FEW_VALUES_REASON,
    ID_HEADER,
    KEY_SHAPE,
    LONG_TEXT_CHARS,
    MAX_DECIMALS,
    MISSING_CODE_CANDIDATES,
    REPEATED_LABEL_SHARE,
    ColumnSpec,
    Schema,
    code_reason,
)

MECHANISMS_PER_COLUMN = 3  # family histogram, detail histogram, distinct count
MARGIN = 3.0  # noise widths a count must clear before it counts as present
MADE_UP_MARGIN = 4.5  # ... and the distinct count, before a column is made up (see above)
MIXED_SHARE = 0.05  # a column with more values outside its main family is read as labels
# noise widths the count of values with decimals (or with more decimals) must clear before a
# place is kept: empty cells pass 3 widths in about 1 read in 740, which put a spurious place
# on some column of a wide table; 4 widths, about 1 in 31,000 per test (7 tests per place)
DECIMALS_MARGIN = 4.0
MINOR_SHARE = 0.01  # a minority below this share of a column is ignored (rounded away)
UNIQUE_SHARE = 0.9  # distinct values per present value of a key or identifier
MAX_DIGITS = 20
MAX_WORDS = 5
CASINGS = ("lower", "upper", "title")
FAMILY_CELLS = ("missing", "whole", "fraction", "yesno", "date", "key", "text")
FAMILIES = ("number", "yesno", "date", "key", "text")  # a number is whole or has decimals
DATE_TWINS = {"%d/%m/%Y": "%m/%d/%Y", "%d-%m-%Y": "%m-%d-%Y",
              "%d/%m/%Y %H:%M": "%m/%d/%Y %H:%M"}
DATE_TWINS.update({b: a for a, b in list(DATE_TWINS.items())})
_YESNO = {token: pair for pair, tokens in enumerate(BOOLEAN_PAIRS) for token in tokens
          if not token.isdigit()}

# The candidate codes that get a cell of their own: not 0, since its cell could not tell a zero
# standing apart (heights) from a count's zeros (capital gains) without the values' gaps; not 9,
# which no cell could show above the other values (every other whole number >= 0 may be below
# or above it).
CODE_CELLS = tuple(c for c in MISSING_CODE_CANDIDATES if c not in (0, 9))
# Noise widths a code cell must clear: with eight code cells read one by one, a code made up by
# the noise alone is then about as rare per column as one cell clearing at MARGIN.
CODE_MARGIN = 3.6
WHOLE_CELLS = tuple(f"int:{d}" for d in range(1, MAX_DIGITS + 1))  # non-negative, by digits
DECIMAL_CELLS = tuple(f"dec:{k}" for k in range(1, MAX_DECIMALS + 2))  # MAX_DECIMALS + 1: more
ONE_DIGIT_CELLS = ("int:1", "neg:int:1", *(f"code:{c}" for c in CODE_CELLS if abs(c) < 10))
NEGATIVE_CELLS = ("neg:int:1", "neg:int:more",
                  *(f"neg:dec:{k}" for k in range(1, MAX_DECIMALS + 2)))

def _has_time(fmt: str) -> bool:
    return "%H" in fmt


def _units(fmt: str) -> tuple[str, ...]:
    """The granularities a date format with a time can show (its finest: what it writes)."""
    return ("day", "hour", "minute", "second") if "%S" in fmt else ("day", "hour", "minute")


DETAILS: dict[str, tuple[str, ...]] = {
    "missing": (),
    # a value equal to a candidate code goes to its code cell, any other number to its
    # whole / decimal cell by sign: each value still falls in exactly one cell
    "number": WHOLE_CELLS + DECIMAL_CELLS + NEGATIVE_CELLS + tuple(f"code:{c}"
                                                                   for c in CODE_CELLS),
    "yesno": tuple(f"{p}:{c}" for p in range(len(BOOLEAN_PAIRS)) for c in CASINGS),
    "date": tuple(f"{cell}@{unit}" if _has_time(f) else cell
                  for i, f in enumerate(DATETIME_FORMATS)
                  for cell in ((str(i), f"{i}~") if f in DATE_TWINS else (str(i),))
                  for unit in (_units(f) if _has_time(f) else (None,)))
    + tuple(f"native:{unit}" for unit in (*DATE_UNITS, "finer")),
    "key": tuple(str(d) for d in range(1, MAX_DIGITS + 1)),
    "text": VALUE_PII_KINDS + tuple(f"words:{w}:{length}" for w in range(1, MAX_WORDS + 1)
                                    for length in ("short", "long")),
}


@dataclass
class _Released:
    """One column's three noisy releases."""

    cells: dict[str, float]  # the family histogram
    family: str
    details: dict[str, float]
    distinct: float
    sigma: float

    @property
    def present(self) -> float:
        """Noisy count of the column's values in its family (all present values for a mix);
        the family's own cells carry the least noise."""
        if self.family == "number":
            count = self.cells["whole"] + self.cells["fraction"]
        elif self.family == "text":  # labels may mix families
            count = sum(max(self.cells[c], 0.0) for c in FAMILY_CELLS[1:])
        else:
            count = self.cells[self.family]
        return max(float(count), 1.0)

    def share(self, cell: str) -> float:
        """A detail cell's share of the detail cells that stand clear of the noise."""
        clear = {c: v for c, v in self.details.items() if self.clears(v)}
        total = sum(clear.values())
        return clear.get(cell, 0.0) / total if total > 0 else 0.0

    def detail(self, cells: list[str] | tuple[str, ...]) -> float:
        return float(sum(max(self.details.get(c, 0.0), 0.0) for c in cells))

    def total(self, cells: list[str] | tuple[str, ...]) -> float:
        """The plain sum of noisy cells: its noise has mean 0 and width sigma * sqrt(cells)
        (clipping each cell at 0 first would add about 0.4 sigma per empty cell)."""
        return float(sum(self.details.get(c, 0.0) for c in cells))

    def clears(self, count: float, cells: int = 1, margin: float = MARGIN) -> bool:
        """True when a sum of `cells` noisy counts stands clear of noise (`margin` noise
        widths) and of a small share."""
        return count > max(margin * self.sigma * np.sqrt(cells), MINOR_SHARE * self.present)

    def many_distinct(self) -> bool:
        """The distinct count clears the noise by MADE_UP_MARGIN widths: making a column of
        words or numbers up loses it, so it asks for more evidence than other decisions (at 3
        widths a column of 3 short labels read under sigma 92 was made up about once in 500
        reads). Key-shaped values (prefix and digits) keep the usual margin: labels rarely look
        like keys, and unique keys of a few hundred rows must still be found."""
        return self.clears(self.distinct, margin=MADE_UP_MARGIN)

    def holds_enough(self, cell: str) -> bool:
        """A detail cell's count clears the noise by MADE_UP_MARGIN widths, as a column's PII
        kind must before the column is made up."""
        return self.clears(self.details.get(cell, 0.0), margin=MADE_UP_MARGIN)

    @property
    def distinct_share(self) -> float:
        return float(np.clip(self.distinct / self.present, 0.0, 1.0))

    @property
    def mostly_unique(self) -> bool:
        """Nine values in ten or more are distinct (by the noisy counts, no benefit of doubt:
        a label column must not be made up for being small)."""
        return self.distinct >= UNIQUE_SHARE * self.present and self.present >= 20


def learn_schema(frame: pd.DataFrame, noise: SecretNoise, sigma: float,
                 target: str | None = None) -> Schema:
    """Each column's spec from its three noisy releases (``MECHANISMS_PER_COLUMN``)."""
    return learn_schema_and_rows(frame, noise, sigma, target)[0]


def learn_schema_and_rows(frame: pd.DataFrame, noise: SecretNoise, sigma: float,
                          target: str | None = None) -> tuple[Schema, float]:
    """The schema, and the table's row count read from the same releases: each column's
    family histogram (missing cell included) sums to the row count plus noise, and the median
    over columns is taken (post-processing: nothing more is released)."""
    learned = [_learn_column(frame[c], str(c), noise, sigma) for c in frame.columns]
    schema = Schema(columns=[spec for spec, _ in learned], target=target)
    if target is not None:
        schema.check_against(frame)
    rows = float(np.median([total for _, total in learned])) if learned else 0.0
    return schema, rows


def _learn_column(values: pd.Series, name: str, noise: SecretNoise,
                  sigma: float) -> tuple[ColumnSpec, float]:
    counts = values.value_counts(dropna=True)
    shapes = _shapes(counts.index)
    cell_counts = np.zeros(len(FAMILY_CELLS), dtype=np.int64)
    cell_counts[0] = int(values.isna().sum())
    for (family, detail), count in zip(shapes, counts.to_numpy(), strict=True):
        cell_counts[FAMILY_CELLS.index(_family_cell(family, detail))] += int(count)
    noisy = noise.counts(cell_counts, sigma, "schema: value families")
    cells = dict(zip(FAMILY_CELLS, noisy.astype(float), strict=True))
    family = _dominant_family(cells, sigma)
    detail_cells = DETAILS[family]
    detail_counts = np.zeros(len(detail_cells), dtype=np.int64)
    for (shape_family, detail), count in zip(shapes, counts.to_numpy(), strict=True):
        if shape_family == family:
            detail_counts[detail_cells.index(detail)] += int(count)
    details = dict(zip(detail_cells, noise.counts(detail_counts, sigma,
                                                  "schema: value details").astype(float),
                       strict=True))
    distinct = float(noise.counts(np.array([len(counts)]), sigma, "schema: distinct count")[0])
    spec = ColumnSpec(name=name, kind="categorical", dtype="object")
    _DECIDE[family](spec, _Released(cells, family, details, distinct, sigma))
    if spec.pii is None and spec.kind == "text":
        spec.pii = "free_text"
        spec.reason = "free text may hold personal data; regenerated"
    return spec, float(noisy.sum())


def _family_cell(family: str, detail: str) -> str:
    if family == "number":
        return "fraction" if "dec:" in detail else "whole"
    return family


def _dominant_family(cells: dict[str, float], sigma: float) -> str:
    """The family holding (nearly) every present value; "text" for a mix (labels).

    Chosen from the noisy counts only (post-processing), even when they are mostly noise.
    """
    families = {f: cells[f] for f in FAMILIES if f != "number"}
    families["number"] = cells["whole"] + cells["fraction"]
    # the largest single cell picks the family: summing whole and fractional numbers first
    # would double the noise that could make a label column look like numbers
    best = max(FAMILY_CELLS[1:], key=lambda c: cells[c])
    family = "number" if best in ("whole", "fraction") else best
    rest = sum(families[f] for f in FAMILIES if f != family)
    present = sum(max(cells[c], 0.0) for c in FAMILY_CELLS[1:])
    spread = MARGIN * sigma * np.sqrt(len(FAMILY_CELLS) - 2)
    if rest > max(spread, MIXED_SHARE * present):
        return "text"
    return family


def _shapes(index: pd.Index) -> list[tuple[str, str]]:
    """(family, detail cell) of each distinct present value; cells are from DETAILS only."""
    if pd.api.types.is_numeric_dtype(index) and not pd.api.types.is_bool_dtype(index):
        return [("number", d) for d in _number_details(index.to_numpy(dtype=float))]
    shapes: list[tuple[str, str] | None] = []
    texts: dict[int, str] = {}
    for position, value in enumerate(index):
        shape, text = _quick_shape(value)
        shapes.append(shape)
        if shape is None:
            texts[position] = text
    dates = _date_details(pd.Series(texts, dtype=object))
    for position, text in texts.items():
        date = dates.get(position)
        if date is not None:
            shapes[position] = ("date", date)
            continue
        key = KEY_SHAPE.match(text)
        if key is not None and key.group(1) and not any(ch.isspace() for ch in text):
            shapes[position] = ("key", str(min(len(key.group(2)), MAX_DIGITS)))
        else:
            shapes[position] = ("text", _text_detail(text))
    return [shape for shape in shapes if shape is not None]


def _quick_shape(value: object) -> tuple[tuple[str, str] | None, str]:
    """The shape of a native or number-like value, else (None, its text)."""
    if isinstance(value, bool | np.bool_):  # written True / False
        return ("yesno", "0:title"), ""
    if isinstance(value, datetime.date | np.datetime64):
        return ("date", f"native:{_unit(pd.Timestamp(value))}"), ""
    if isinstance(value, int | float | np.integer | np.floating):
        return ("number", _number_details(np.array([float(value)]))[0]), ""
    text = str(value).strip()
    number = parse_number(text)
    if number is not None:
        return ("number", _number_details(np.array([number]))[0]), ""
    pair = _YESNO.get(text.lower())
    if pair is not None:
        casing = "upper" if text.isupper() else ("title" if text.istitle() else "lower")
        return ("yesno", f"{pair}:{casing}"), ""
    return None, text


def _number_details(numbers: np.ndarray) -> list[str]:
    """'code:<c>' for a candidate code (CODE_CELLS); else 'int:<digits>' for whole numbers at
    least 0, 'dec:<places>' for other numbers at least 0 (MAX_DECIMALS + 1: more), and the same
    with 'neg:' for negative ones (whole numbers: one digit or more)."""
    out = np.full(len(numbers), f"dec:{MAX_DECIMALS + 1}", dtype=object)
    finite = np.isfinite(numbers)
    undecided = finite.copy()
    for places in range(MAX_DECIMALS + 1):
        with np.errstate(invalid="ignore", over="ignore"):
            exact = undecided & (np.round(numbers, places) == numbers)
        if places == 0:
            magnitude = np.abs(numbers[exact])
            digits = np.where(magnitude < 1e19, np.floor(np.log10(np.maximum(magnitude, 1.0)))
                              + 1, MAX_DIGITS).astype(int)
            out[exact] = [f"int:{min(d, MAX_DIGITS)}" for d in digits]
        else:
            out[exact] = f"dec:{places}"
        undecided &= ~exact
    with np.errstate(invalid="ignore"):
        negative = numbers < 0
    whole_negative = negative & np.char.startswith(out.astype(str), "int:")
    out[negative & ~whole_negative] = ["neg:" + c for c in out[negative & ~whole_negative]]
    out[whole_negative] = np.where(out[whole_negative] == "int:1", "neg:int:1", "neg:int:more")
    for code in CODE_CELLS:
        out[numbers == code] = f"code:{code}"
    return list(out)


def _date_details(texts: pd.Series) -> dict[int, str]:
    """Detail cell of each text that some known date format parses (position -> cell)."""
    candidates = texts[(texts.str.len() <= 40) & texts.str.contains(r"\d", regex=True)] \
        if len(texts) else texts
    found: dict[int, str] = {}
    for index, fmt in enumerate(DATETIME_FORMATS):
        if candidates.empty:
            break
        parsed = pd.to_datetime(candidates, format=fmt, errors="coerce").notna()
        if not parsed.any():
            continue
        matched = candidates[parsed]
        twin = DATE_TWINS.get(fmt)
        ambiguous = pd.to_datetime(matched, format=twin, errors="coerce").notna() \
            if twin is not None else pd.Series(False, index=matched.index)
        stamps = pd.to_datetime(matched, format=fmt, errors="coerce")
        for position, both in ambiguous.items():
            cell = f"{index}~" if both else str(index)
            found[int(position)] = f"{cell}@{_unit(stamps[position])}" if _has_time(fmt) \
                else cell
        candidates = candidates[~parsed]
    return found


def _unit(stamp: pd.Timestamp) -> str:
    """The coarsest of DATE_UNITS that a timestamp is a whole number of ("finer" if none)."""
    return next((unit for unit, frequency in DATE_UNITS.items()
                 if stamp.floor(frequency) == stamp), "finer")


def _text_detail(text: str) -> str:
    kind = value_pii_kind(text)
    if kind is not None:
        return kind
    words = min(max(len(text.split()), 1), MAX_WORDS)
    return f"words:{words}:{'long' if len(text) > LONG_TEXT_CHARS else 'short'}"


def _decide_number(spec: ColumnSpec, released: _Released) -> None:
    """Whole numbers unless the noisy count of values with decimals stands clear of the noise
    (a few noise widths: a small minority of decimals is rounded away); then the fewest
    decimals that leave no clear mass of finer values."""
    integral = not released.clears(released.cells["fraction"], margin=DECIMALS_MARGIN)
    spec.kind, spec.dtype = ("integer", "int64") if integral else ("numeric", "float64")
    spec.reason = "learned with differential privacy: " + (
        "whole numbers" if integral else "numbers with decimals")
    if not integral:
        spec.decimals = None
        for places in range(1, MAX_DECIMALS + 1):
            pairs = [[f"dec:{k}", f"neg:dec:{k}"] for k in range(places + 1, MAX_DECIMALS + 2)]
            finer = [cell for pair in pairs for cell in pair]
            # mass spread over the finer places shows in their sum; mass at one place (most
            # often) in that place's own two cells, where 12 cells' noise would hide it
            if not (released.clears(released.total(finer), len(finer), DECIMALS_MARGIN)
                    or any(released.clears(released.total(pair), 2, DECIMALS_MARGIN)
                           for pair in pairs)):
                spec.decimals = places
                break
    if integral and released.mostly_unique and released.many_distinct() \
            and ID_HEADER.search(spec.name):
        spec.kind, spec.reason = "identifier", "learned with differential privacy: unique " \
            "whole numbers under a key-like name; treated as a key and regenerated"
        widths = [released.details[f"int:{d}"] for d in range(1, MAX_DIGITS + 1)]
        spec.id_width = _weighted_median(widths) + 1
        return
    if integral and _few_values(released):
        spec.kind, spec.reason = "categorical", "learned with differential privacy: " + \
            FEW_VALUES_REASON
    else:
        codes = _apart_codes(released)
        if codes:
            spec.missing_codes = codes
            spec.reason = "learned with differential privacy: " + code_reason(
                codes, "apart from the other values")
    _header_pii(spec, released)


def _few_values(released: _Released) -> bool:
    """At most about FEW_VALUES distinct whole numbers, read from the noisy cells only: the
    noisy distinct count stands clearly below FEW_VALUES, or the values are one digit (-9..9):
    the one-digit cells clearly hold most of them, the whole numbers outside them (the family's
    whole cell less the one-digit cells: the noise of six cells, not of the 26 wider ones) do
    not clear the noise, and the distinct count is not clearly above FEW_VALUES. A count whose
    wider values are lost in the noise (a few per cent of the rows at census-size noise) is
    read as categories too."""
    spread = MARGIN * released.sigma
    if released.distinct + spread <= FEW_VALUES and released.clears(released.distinct):
        return True
    one_digit = released.total(ONE_DIGIT_CELLS)
    wider = released.cells["whole"] - one_digit
    cells = len(ONE_DIGIT_CELLS)
    return (released.clears(one_digit - wider, 4 * cells + 1)  # one digit: clearly the most
            and not released.clears(wider, cells + 1)
            and released.distinct - spread <= FEW_VALUES)


def _apart_codes(released: _Released) -> list[int]:
    """Candidate codes whose cell clears the noise (by CODE_MARGIN) and that stand apart from
    the other values by the noisy cells alone, most common first: a negative code where no other
    negative value clears the noise; a positive code of d digits (99, 999, 9999) where no other
    value of d digits or more, and no value with decimals (whose size is not released), does."""
    found = []
    for code in CODE_CELLS:
        count = released.details[f"code:{code}"]
        if count <= CODE_MARGIN * released.sigma or not released.clears(count):
            continue
        if code < 0:
            rest = list(NEGATIVE_CELLS)
        else:
            digits = len(str(code))
            rest = [f"int:{d}" for d in range(digits, MAX_DIGITS + 1)] + list(DECIMAL_CELLS)
        if not released.clears(released.total(rest), len(rest)):
            found.append((count, code))
    return [code for _, code in sorted(found, key=lambda pair: -pair[0])]


def _decide_yesno(spec: ColumnSpec, released: _Released) -> None:
    spec.kind, spec.dtype = "boolean", "object"
    spec.reason = "learned with differential privacy: yes/no values"
    pairs = range(len(BOOLEAN_PAIRS))
    spelled = [released.detail([f"{p}:{c}" for c in CASINGS]) for p in pairs]
    pair = int(np.argmax(spelled))
    casing = max(CASINGS, key=lambda c: released.details[f"{pair}:{c}"])
    change = {"lower": str.lower, "upper": str.upper, "title": str.title}[casing]
    spec.bool_tokens = [change(token) for token in BOOLEAN_PAIRS[pair]]


def _decide_date(spec: ColumnSpec, released: _Released) -> None:
    """The format with the most values (its twin read day-first or month-first counts for
    both), or native dates; then the granularity (``_decide_unit``)."""
    spec.kind, spec.dtype = "datetime", "datetime64[ns]"
    spec.reason = "learned with differential privacy: dates"
    scores = {}
    for index, fmt in enumerate(DATETIME_FORMATS):
        twin = DATE_TWINS.get(fmt)
        cells = _format_cells(index) + (_format_cells(DATETIME_FORMATS.index(twin), "~")
                                        if twin is not None else [])
        scores[fmt] = released.detail(cells)
    native = released.detail([f"native:{unit}" for unit in (*DATE_UNITS, "finer")])
    best = max(scores, key=lambda f: scores[f])
    spec.datetime_format = None if native >= scores[best] else best
    spec.date_unit = _decide_unit(spec.datetime_format, released)
    if header_hint(spec.name) == "date_of_birth":
        spec.pii, spec.reason = "date_of_birth", "column name suggests a date of birth"


def _format_cells(index: int, twin: str = "") -> list[str]:
    """A format's detail cells: its own (and its twin-read ones with ``~``), per unit when it
    writes a time."""
    fmt = DATETIME_FORMATS[index]
    cells = [str(index), f"{index}~"] if not twin else [f"{index}~"]
    if _has_time(fmt):
        cells = [f"{cell}@{unit}" for cell in cells for unit in _units(fmt)]
    return [cell for cell in cells if cell in DETAILS["date"]]


def _decide_unit(fmt: str | None, released: _Released) -> str | None:
    """The coarsest granularity that leaves no clear mass of finer values (as decimals are
    decided): a day format is days; otherwise the unit cells of the format (or of native
    dates) are read from the coarsest up."""
    if fmt is not None and not _has_time(fmt):
        return "day"
    units = list(_units(fmt)) if fmt is not None else [*DATE_UNITS, "finer"]
    if fmt is None:
        cells = {unit: [f"native:{unit}"] for unit in units}
    else:
        index = DATETIME_FORMATS.index(fmt)
        twin = DATE_TWINS.get(fmt)
        cells = {unit: [c for c in (f"{index}@{unit}", f"{index}~@{unit}",
                                    f"{DATETIME_FORMATS.index(twin)}~@{unit}" if twin else "")
                        if c in DETAILS["date"]]
                 for unit in units}
    for position, unit in enumerate(units):
        finer = [cell for later in units[position + 1:] for cell in cells[later]]
        if not finer or not released.clears(released.total(finer), len(finer)):
            return None if unit == "finer" else unit
    return None


def _decide_key(spec: ColumnSpec, released: _Released) -> None:
    # keys with a prefix are mostly unique ids or a few repeated codes: half decides
    if released.distinct_share < 0.5 or not released.clears(released.distinct):
        spec.reason = "learned with differential privacy: repeated codes"
        return
    spec.kind = "identifier"
    spec.reason = ("learned with differential privacy: unique keys; regenerated as plain "
                   "digits (declare a prefix in a schema file to keep one)")
    widths = [released.details[str(d)] for d in range(1, MAX_DIGITS + 1)]
    spec.id_prefix, spec.id_width = "", int(np.argmax(widths)) + 1


def _decide_text(spec: ColumnSpec, released: _Released) -> None:
    present, distinct, unique = released.present, released.distinct, released.distinct_share
    word_cells = [f"words:{w}:{length}" for w in range(1, MAX_WORDS + 1)
                  for length in ("short", "long")]
    weights = np.array([released.details[c] if released.clears(released.details[c]) else 0.0
                        for c in word_cells])  # cells lost in the noise count for nothing
    words = np.array([float(c.split(":")[1]) for c in word_cells])
    words[words == MAX_WORDS] = MAX_WORDS + 1  # "5 or more"
    total = max(weights.sum(), 1.0)
    mean_words = float((weights * words).sum() / total) if weights.sum() > 0 else 1.0
    long_share = float(weights[1::2].sum() / total)
    repeated_labels = distinct <= max(2, REPEATED_LABEL_SHARE * present)
    all_unique = released.mostly_unique
    one_word = mean_words <= 1.1
    spec.reason = "learned with differential privacy: labels"
    # a column is made up (text, key) only when its many distinct values stand clear of noise
    varied = released.many_distinct()
    if varied and ((long_share > 0.5 and not repeated_labels) or (
            mean_words >= 3 and unique > 0.5 and (distinct > 50 or all_unique))):
        spec.kind = "text"
    elif varied and all_unique and (one_word or ID_HEADER.search(spec.name)):
        spec.kind = "identifier"
    if spec.kind == "identifier":
        spec.reason = "learned with differential privacy: unique per row; treated as a key " \
            "and regenerated"
    for kind in VALUE_PII_KINDS:
        if kind == SINGLE_NAME:
            continue
        threshold, reason = value_check(kind)
        # made up, the column is lost: its kind's own count must clear the noise by as much as
        # a made-up column's distinct count (a lone noisy cell can otherwise hold the whole
        # share when the column's true cell falls under the noise: 3 labels of 300 rows under
        # sigma 92 were read as web addresses)
        if released.share(kind) >= threshold and released.holds_enough(kind):
            spec.pii, spec.reason = kind, f"learned with differential privacy: {reason}"
            return
    # the same evidence as the kinds above: 12 labels of 300 rows under sigma 92 were read
    # as first names about once in 3,000 reads (a noisy name cell alone cleared the noise
    # while the labels' own cell fell under it, and the distinct count read over 20)
    if released.share(SINGLE_NAME) >= SINGLE_NAME_SHARE and distinct > 20 \
            and unique > 0.02 and varied and released.holds_enough(SINGLE_NAME):
        hint = header_hint(spec.name)
        spec.pii = hint if hint in ("first_name", "last_name") else "first_name"
        spec.reason = "learned with differential privacy: values are known first or last names"
        return
    _header_pii(spec, released)


def _header_pii(spec: ColumnSpec, released: _Released) -> None:
    """A PII kind the column's name suggests, for a column with varied values."""
    hint = header_hint(spec.name)
    varied = released.distinct > min(20.0, max(2.0, released.present / 2))
    if spec.pii is None and hint and hint != "date_of_birth" and (hint == "postcode" or varied):
        spec.pii = hint
        spec.reason = f"column name suggests {hint.replace('_', ' ')}"


def _weighted_median(weights: list[float]) -> int:
    clipped = np.clip(np.asarray(weights, dtype=float), 0.0, None)
    if clipped.sum() <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(clipped), clipped.sum() / 2))


_DECIDE: dict[str, Callable[[ColumnSpec, _Released], None]] = {
    "number": _decide_number, "yesno": _decide_yesno, "date": _decide_date,
    "key": _decide_key, "text": _decide_text,
}
