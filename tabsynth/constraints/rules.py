"""Business rules every generated row must meet, declared by the user (page or rules file).

One rule per line (or separated by ';'):
- an order between two columns of numbers or dates: `date_of_birth < admitted_at`,
  `min_price <= max_price`;
- a fixed combination: `if diagnosis = flu then symptom in fever|cough`;
- a range or value of one column: `age >= 0`, `status in open|closed` (a condition).
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


Rule = Order | Implication | Holds


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


def rule_holds(frame: pd.DataFrame, rule: Rule) -> pd.Series:
    """Per row, whether it meets the rule (missing compared cells meet it)."""
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
