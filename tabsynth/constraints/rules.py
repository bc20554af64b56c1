"""Business rules every generated row must meet, declared by the user (page or rules file).

One rule per line (or separated by ';'):
- an order between two columns of numbers or dates: `date_of_birth < admitted_at`,
  `min_price <= max_price`;
- a fixed combination: `if diagnosis = flu then symptom in fever|cough`;
- a range or value of one column: `age >= 0`, `status in open|closed` (a condition);
- an age tied to two dates: `age = years from date_of_birth to admitted_at` (or to a fixed
  date, `... to 2025-06-30`): the whole years between them. A made-up date of birth is then
  drawn for each row's age; with every column learned, the age is computed from the dates.
A row whose compared cell is missing does not break a rule (there is nothing to compare).
Messages name columns and operators, never a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from tabsynth.constraints.conditions import RANGE_KINDS, Condition, matches, parse_conditions
from tabsynth.errors import ConfigError
from tabsynth.schema import Schema

_ORDER = re.compile(r"^(?P<left>.+?)\s*(?P<op><=|<|>=|>)\s*(?P<right>.+)$")
_IF = re.compile(r"^if\s+(?P<when>.+?)\s+then\s+(?P<then>.+)$", re.IGNORECASE)
_YEARS = re.compile(r"^(?P<age>.+?)\s*==?\s*years\s+(?:from|between)\s+(?P<born>.+?)\s+"
                    r"(?:to|and)\s+(?P<at>.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Order:
    """`left` below `right` (or equal, when `or_equal`)."""

    left: str
    right: str
    or_equal: bool = False

    def describe(self) -> str:
        return f"{self.left} {'≤' if self.or_equal else '<'} {self.right}"


@dataclass(frozen=True)
class Implication:
    """When `when` holds, `then` must hold."""

    when: Condition
    then: Condition

    def describe(self) -> str:
        return f"if {self.when.describe()} then {self.then.describe()}"


@dataclass(frozen=True)
class Holds:
    """One column's values or range, on every row."""

    condition: Condition

    def describe(self) -> str:
        return self.condition.describe()


@dataclass(frozen=True)
class Age:
    """`age` is the whole years from `born` to `at`: a column, or a fixed date (`at_date`)."""

    age: str
    born: str
    at: str | None = None
    at_date: str | None = None  # ISO date, when `at` is not a column

    def describe(self) -> str:
        return f"{self.age} = whole years from {self.born} to {self.at or self.at_date}"


Rule = Order | Implication | Holds | Age


def rule_lines(text: str) -> list[str]:
    """The rules of a text, one per line or ';'-separated, without blank and comment lines."""
    return [line.strip() for line in re.split(r"[;\n]", text)
            if line.strip() and not line.strip().startswith("#")]


def parse_rules(text: str, schema: Schema) -> list[Rule]:
    """Rules from lines (or ';'-separated) of the forms in the module's docstring."""
    rules: list[Rule] = []
    for number, line in enumerate(re.split(r"[;\n]", text), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            rules.append(_parse_rule(line, schema))
        except ConfigError as exc:
            raise ConfigError(f"rule {number}: {exc}") from None
    return rules


def _parse_rule(line: str, schema: Schema) -> Rule:
    years = _YEARS.match(line)
    if years:
        return _parse_age(years["age"].strip(), years["born"].strip(), years["at"].strip(),
                          schema)
    implied = _IF.match(line)
    if implied:
        when = parse_conditions(implied["when"], schema)
        then = parse_conditions(implied["then"], schema)
        if len(when) != 1 or len(then) != 1:
            raise ConfigError("an 'if ... then ...' rule takes one condition on each side")
        if when[0].column == then[0].column:
            raise ConfigError("an 'if ... then ...' rule ties two different columns")
        return Implication(when[0], then[0])
    order = _ORDER.match(line)
    if order and order["left"].strip() in schema.names and \
            order["right"].strip() in schema.names:
        left, right, op = order["left"].strip(), order["right"].strip(), order["op"]
        for name in (left, right):
            if schema[name].kind not in RANGE_KINDS:
                raise ConfigError(f"column {name!r} does not hold numbers or dates, so it "
                                  "cannot be ordered against another column")
        if op in (">", ">="):
            left, right = right, left
        return Order(left, right, op.endswith("="))
    condition = parse_conditions(line, schema)
    if len(condition) != 1:
        raise ConfigError("write one condition per rule")
    return Holds(condition[0])


def _parse_age(age: str, born: str, at: str, schema: Schema) -> Age:
    for name, kinds, what in ((age, ("integer", "numeric"), "numbers"),
                              (born, ("datetime",), "dates")):
        if name not in schema.names:
            raise ConfigError(f"the rule names column {name!r}, which the table does not have")
        if schema[name].kind not in kinds:
            raise ConfigError(f"column {name!r} does not hold {what}: write 'AGE = years from "
                              "BIRTH_DATE to DATE_COLUMN'")
    if at in schema.names:
        if schema[at].kind != "datetime":
            raise ConfigError(f"column {at!r} does not hold dates: the age is counted to a "
                              "date column or to a date such as 2025-06-30")
        return Age(age, born, at=at)
    try:
        day = pd.Timestamp(at)
    except (ValueError, TypeError):
        raise ConfigError("the age is counted to a date column the table has or to a date "
                          "written YYYY-MM-DD") from None
    return Age(age, born, at_date=day.date().isoformat())


def whole_years(born: pd.Series, at: pd.Series) -> pd.Series:
    """Whole years from each `born` date to its `at` date (missing where either is)."""
    born, at = pd.to_datetime(born, errors="coerce"), pd.to_datetime(at, errors="coerce")
    before_birthday = (at.dt.month < born.dt.month) | (
        (at.dt.month == born.dt.month) & (at.dt.day < born.dt.day))
    return (at.dt.year - born.dt.year - before_birthday.astype(float)).where(
        born.notna() & at.notna())


def reference_dates(frame: pd.DataFrame, rule: Age) -> pd.Series:
    """The date each row's age is counted to."""
    if rule.at is not None:
        return pd.to_datetime(frame[rule.at], errors="coerce")
    return pd.Series(pd.Timestamp(rule.at_date), index=frame.index)


def suggested_rules(schema: Schema) -> list[str]:
    """Rules a table's columns call for: a made-up date of birth tied to a learned age at a
    learned date (else ordered before it), since made-up columns are drawn apart from the
    learned ones."""
    born = [c.name for c in schema.included if c.kind == "datetime" and c.regenerated
            and (c.pii == "date_of_birth" or "birth" in c.name.lower())]
    dates = [c.name for c in schema.learned if c.kind == "datetime"]
    ages = [c.name for c in schema.learned if c.kind in ("integer", "numeric")
            and "age" in re.split(r"[^a-z0-9]+", c.name.lower())]
    if not born or not dates:
        return []
    if ages:
        return [f"{ages[0]} = years from {born[0]} to {dates[0]}"]
    return [f"{born[0]} < {dates[0]}"]


def rule_columns(rule: Rule) -> set[str]:
    """The columns a rule names."""
    if isinstance(rule, Order):
        return {rule.left, rule.right}
    if isinstance(rule, Implication):
        return {rule.when.column, rule.then.column}
    if isinstance(rule, Age):
        return {rule.age, rule.born} | ({rule.at} if rule.at else set())
    return {rule.condition.column}


def rule_holds(frame: pd.DataFrame, rule: Rule) -> pd.Series:
    """Per row, whether it meets the rule (missing compared cells meet it)."""
    if isinstance(rule, Age):
        age = pd.to_numeric(frame[rule.age], errors="coerce")
        years = whole_years(frame[rule.born], reference_dates(frame, rule))
        return (age == years) | age.isna() | years.isna()
    if isinstance(rule, Order):
        left, right = _numbers(frame[rule.left]), _numbers(frame[rule.right])
        ok = left <= right if rule.or_equal else left < right
        return ok | left.isna() | right.isna()
    if isinstance(rule, Implication):
        return ~_meets(frame, rule.when, missing=False) | _meets(frame, rule.then, missing=True)
    return _meets(frame, rule.condition, missing=True)


def broken_share(frame: pd.DataFrame, rules: list[Rule]) -> dict[str, float]:
    """Per rule (its description), the share of rows that break it."""
    return {rule.describe(): float(1 - rule_holds(frame, rule).mean()) if len(frame) else 0.0
            for rule in rules}


def _meets(frame: pd.DataFrame, condition: Condition, missing: bool) -> pd.Series:
    values = frame[condition.column]
    if condition.values is not None:
        hit = values.map(lambda v: False if pd.isna(v) else matches(v, condition.values))
        return hit.astype(bool) | (values.isna() & missing)
    numbers = _numbers(values)
    hit = numbers.map(lambda x: condition.holds_number(float(x)) if pd.notna(x) else missing)
    return hit.astype(bool)


def _numbers(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return (values - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    return pd.to_numeric(values, errors="coerce").astype(float)
