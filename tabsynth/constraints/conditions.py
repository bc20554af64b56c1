"""Conditions on the rows to generate: fixed values or ranges of learned columns.

`parse_conditions("age>=65, sex=F", schema)` reads the command line's `--where` (and the page's
form); a condition names a learned column and either the values allowed (`=`, `in a|b`) or a
range (`>=`, `>`, `<=`, `<`, `a<=col<=b`). Messages name the column and the operator, never
a value: a value typed here may be a real one.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsynth.errors import ConfigError
from tabsynth.schema import Schema

RANGE_KINDS = ("numeric", "integer", "datetime")
_COMPARISON = re.compile(r"^(?P<column>.+?)\s*(?P<op>>=|<=|!=|==|=|>|<)\s*(?P<value>.*)$")
_IN = re.compile(r"^(?P<column>.+?)\s+in\s+(?P<values>.+)$", re.IGNORECASE)
_BETWEEN = re.compile(r"^(?P<low>[^<>=]+?)\s*(?P<op1><=|<)\s*(?P<column>[^<>=]+?)\s*"
                      r"(?P<op2><=|<)\s*(?P<high>[^<>=]+)$")


@dataclass(frozen=True)
class Condition:
    """One learned column held to some values (`values`, as text) or to a range of numbers
    (dates as days since 1970), `low`/`high` None where open, each bound inclusive or not."""

    column: str
    values: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    missing_ok: bool = False  # a missing value meets it too (a rule's range, see rules.py)

    @property
    def is_range(self) -> bool:
        return self.values is None

    def holds_number(self, x: float) -> bool:
        if math.isnan(x):
            return False
        if self.low is not None and (x < self.low or (x == self.low and
                                                      not self.low_inclusive)):
            return False
        return not (self.high is not None and (x > self.high or (x == self.high and
                                                                 not self.high_inclusive)))

    def describe(self) -> str:
        """The condition in words, for reports: 'age ≥ 65', 'sex: one of 2 values'."""
        if self.values is not None:
            return (f"{self.column}: one of {len(self.values)} values" if len(self.values) > 1
                    else f"{self.column}: one value")
        parts = []
        if self.low is not None:
            parts.append(f"{'≥' if self.low_inclusive else '>'} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'≤' if self.high_inclusive else '<'} {self.high:g}")
        return f"{self.column} " + " and ".join(parts)


def parse_conditions(text: str, schema: Schema) -> list[Condition]:
    """Conditions from 'age>=65, sex=F, 30<=bmi<40, region in north|south' (commas between
    conditions); several on one column must all hold."""
    conditions = []
    for part in (p.strip() for p in _split(text)):
        if part:
            conditions.append(_parse_one(part, schema))
    if not conditions:
        raise ConfigError("--where holds no condition: write e.g. 'age>=65, sex=F'")
    return merge_conditions(conditions)


def conditions_for_row(row: pd.Series, schema: Schema) -> list[Condition]:
    """Equality conditions from one row of a seed table: its non-empty cells."""
    out = []
    for column, value in row.items():
        if value is None or (isinstance(value, float) and math.isnan(value)) or \
                str(value).strip() == "":
            continue
        spec = _learned(str(column), schema)
        if spec.kind in RANGE_KINDS:
            number = _number(str(value), spec.kind, str(column), "=")
            out.append(Condition(str(column), low=number, high=number))
        else:
            out.append(Condition(str(column), values=(str(value).strip(),)))
    return merge_conditions(out)


def merge_conditions(conditions: list[Condition]) -> list[Condition]:
    """One condition per column: ranges intersected, value sets intersected."""
    merged: dict[str, Condition] = {}
    for condition in conditions:
        before = merged.get(condition.column)
        merged[condition.column] = condition if before is None else _both(before, condition)
    return list(merged.values())


def _both(a: Condition, b: Condition) -> Condition:
    missing_ok = a.missing_ok and b.missing_ok
    if a.values is not None and b.values is not None:
        kept = tuple(v for v in a.values if _normal(v) in {_normal(w) for w in b.values})
        if not kept:
            raise ConfigError(f"the conditions on column {a.column!r} allow no value together")
        return Condition(a.column, values=kept, missing_ok=missing_ok)
    if a.values is not None or b.values is not None:
        raise ConfigError(f"column {a.column!r} has both a value and a range condition: give "
                          "one kind")
    low, low_in = _tighter(a.low, a.low_inclusive, b.low, b.low_inclusive, max)
    high, high_in = _tighter(a.high, a.high_inclusive, b.high, b.high_inclusive, min)
    if low is not None and high is not None and (low > high or
                                                 (low == high and not (low_in and high_in))):
        raise ConfigError(f"the conditions on column {a.column!r} leave an empty range")
    return Condition(a.column, low=low, high=high, low_inclusive=low_in, high_inclusive=high_in,
                     missing_ok=missing_ok)


def _tighter(x: float | None, x_in: bool, y: float | None, y_in: bool,
             pick: Callable[[float, float], float]) -> tuple[float | None, bool]:
    """The tighter of two bounds (`pick`: max for lower bounds, min for upper ones)."""
    if x is None:
        return y, y_in
    if y is None:
        return x, x_in
    if x == y:
        return x, x_in and y_in
    chosen = pick(x, y)
    return chosen, x_in if chosen == x else y_in


def _parse_one(part: str, schema: Schema) -> Condition:
    between = _BETWEEN.match(part)
    if between and between["column"].strip() in schema.names:
        name = between["column"].strip()
        spec = _learned(name, schema)
        _need_range(spec, name, "<")
        return Condition(name, low=_number(between["low"], spec.kind, name, between["op1"]),
                         high=_number(between["high"], spec.kind, name, between["op2"]),
                         low_inclusive=between["op1"] == "<=",
                         high_inclusive=between["op2"] == "<=")
    inside = _IN.match(part)
    if inside and inside["column"].strip() in schema.names:
        name = inside["column"].strip()
        spec = _learned(name, schema)
        values = tuple(v.strip() for v in inside["values"].split("|") if v.strip())
        if spec.kind in RANGE_KINDS:
            raise ConfigError(f"column {name!r} holds numbers: write a range (e.g. "
                              f"'{name}>=10, {name}<20') instead of 'in'")
        return Condition(name, values=values)
    compared = _COMPARISON.match(part)
    if not compared:
        raise ConfigError("cannot read one of the --where conditions: write column, operator "
                          "(= >= > <= < in) and value, e.g. 'age>=65, sex=F'")
    name, op, value = compared["column"].strip(), compared["op"], compared["value"].strip()
    spec = _learned(name, schema)
    if op == "!=":
        raise ConfigError(f"'!=' is not offered for column {name!r}: list the values allowed "
                          f"with '{name} in a|b'")
    if not value:
        raise ConfigError(f"the condition on column {name!r} has no value after {op!r}")
    if op in ("=", "=="):
        if spec.kind in RANGE_KINDS:
            number = _number(value, spec.kind, name, op)
            return Condition(name, low=number, high=number)
        return Condition(name, values=(value,))
    _need_range(spec, name, op)
    number = _number(value, spec.kind, name, op)
    if op in (">=", ">"):
        return Condition(name, low=number, low_inclusive=op == ">=")
    return Condition(name, high=number, high_inclusive=op == "<=")


def _learned(name: str, schema: Schema):
    if name not in schema.names:
        learned = [c.name for c in schema.learned]  # the columns a condition can name
        raise ConfigError(f"--where names column {name!r}, which the model does not have "
                          f"(columns it learned: {', '.join(learned[:12])}"
                          f"{', …' if len(learned) > 12 else ''})")
    spec = schema[name]
    if spec not in schema.learned:
        raise ConfigError(f"column {name!r} is made up afresh (PII, key or excluded), not "
                          "learned, so it cannot be conditioned on")
    return spec


def _ranged(spec) -> bool:
    """Numbers, dates, or categories written as whole numbers (codes such as 1-4)."""
    return spec.kind in RANGE_KINDS or spec.dtype.lower().startswith(("int", "uint", "float"))


def _need_range(spec, name: str, op: str) -> None:
    if not _ranged(spec):
        raise ConfigError(f"column {name!r} holds categories: {op!r} needs numbers or dates; "
                          f"use '{name}=value' or '{name} in a|b'")


def _number(text: str, kind: str, name: str, op: str) -> float:
    text = text.strip()
    if kind == "datetime":
        try:
            stamp = pd.Timestamp(text)
        except (ValueError, TypeError):
            raise ConfigError(f"the value after {op!r} for date column {name!r} is not a date: "
                              "write it as YYYY-MM-DD") from None
        if stamp.tzinfo is not None:  # the model's dates carry no time zone
            raise ConfigError(f"the value after {op!r} for date column {name!r} has a time "
                              "zone: write the date as the table does, without one")
        return float((stamp - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1))
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"the value after {op!r} for number column {name!r} is not a "
                          "number") from None


def _split(text: str) -> list[str]:
    """Commas between conditions (a comma inside a date or category list is not expected)."""
    return text.split(",")


def _normal(value: object) -> str:
    """A category as compared with a typed value: trimmed, case-folded, numbers as numbers."""
    text = str(value).strip().casefold()
    try:
        number = float(text)
    except ValueError:
        return text
    return f"{number:g}" if math.isfinite(number) else text


TRUE_WORDS = {"yes", "y", "true", "t", "1"}
FALSE_WORDS = {"no", "n", "false", "f", "0"}


def matches(category: object, values: tuple[str, ...]) -> bool:
    """Whether a model's category is one of the values a condition allows (a yes/no column's
    True matches yes, y, true, t or 1, as its file may spell it)."""
    if isinstance(category, bool | np.bool_):
        words = TRUE_WORDS if category else FALSE_WORDS
        return any(str(v).strip().casefold() in words for v in values)
    return _normal(category) in {_normal(v) for v in values}


def parse_shares(text: str, schema: Schema) -> tuple[str, list[tuple[str, float]]]:
    """'readmitted: true=0.5, false=0.5' -> the column and each value's share of the rows
    (shares as fractions or percentages; they must add up to 1, or 100)."""
    column, _, rest = text.partition(":")
    name = column.strip()
    spec = _learned(name, schema)
    if spec.kind in RANGE_KINDS:
        raise ConfigError(f"column {name!r} holds numbers: shares are for columns of "
                          "categories")
    shares = []
    for part in (p.strip() for p in rest.split(",")):
        value, eq, share = part.rpartition("=")
        if not eq or not value.strip():
            raise ConfigError(f"write the shares of column {name!r} as 'value=share, ...', "
                              "e.g. 'readmitted: true=0.5, false=0.5'")
        try:
            number = float(share.strip().rstrip("%"))
        except ValueError:
            raise ConfigError(f"a share given for column {name!r} is not a number") from None
        shares.append((value.strip(), number))
    total = sum(s for _, s in shares)
    if any(s < 0 for _, s in shares) or not (abs(total - 1) < 0.01 or abs(total - 100) < 1):
        raise ConfigError(f"the shares of column {name!r} must be 0 or more and add up to 1 "
                          "(or 100 %)")
    return name, [(value, share / total) for value, share in shares]


def allocate(start: int, end: int, shares: list[tuple[str, float]]) -> list[tuple[str, int]]:
    """Rows per value among rows start..end-1 of a draw: each value's rows up to row N are
    its share of N rounded at cumulative boundaries, so the parts of a draw in shards add up
    exactly to the whole draw's shares, whichever order the shards are drawn in."""
    def upto(rows: int) -> list[int]:
        bounds, total = [0], 0.0
        for _, share in shares:
            total += share
            bounds.append(math.floor(rows * min(total, 1.0) + 0.5))
        bounds[-1] = rows
        return [b - a for a, b in itertools.pairwise(bounds)]

    counts = [max(0, b - a) for a, b in zip(upto(start), upto(end), strict=True)]
    counts[int(np.argmax(counts))] += (end - start) - sum(counts)  # only where a share rounds
    return [(value, n) for (value, _), n in zip(shares, counts, strict=True)]
