"""Rows completed from partial rows (a seed table): each output row keeps one partial row's
filled cells and draws its empty ones from the model given them.

Rows whose filled learned cells are the same form one group and are drawn together under those
cells as conditions (with the table-wide conditions and rules). A small group is drawn with at
least GROUP_ROWS rows (each carrying the model's particles, so the resampling that conditions
earlier columns on later ones has rows to choose from), and its first rows are kept. The
made-up columns are drawn once for the whole table, so fresh keys stay unique. Filled cells of
made-up columns are kept as given: they are the user's own values, written where the user asked
for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tabsynth.constraints.conditions import (
    Condition,
    conditions_for_row,
    merge_conditions,
)
from tabsynth.constraints.rules import Rule, rule_holds
from tabsynth.errors import ConfigError
from tabsynth.regenerate import KeyBlock
from tabsynth.schema import Schema

if TYPE_CHECKING:
    from tabsynth.synthesizers.base import Synthesizer

GROUP_ROWS = 4  # rows drawn at least per group of equal partial rows (x 8 particles each)


def check_partial_rows(partial: pd.DataFrame, schema: Schema) -> None:
    """The partial rows' columns are the model's, and the table has a row."""
    if partial.empty or len(partial.columns) == 0:
        raise ConfigError("the partial rows hold no row: give a table with a header of column "
                          "names and one row per row to complete")
    unknown = [i + 1 for i, c in enumerate(partial.columns) if str(c) not in schema.names]
    if unknown:  # named by place: a file without a header row would have values as names
        places = ", ".join(map(str, unknown[:8])) + (", …" if len(unknown) > 8 else "")
        raise ConfigError(f"the partial rows have columns the model does not have (column "
                          f"{places} of {len(partial.columns)}); the first row must name "
                          f"the model's columns: {', '.join(schema.names[:12])}"
                          f"{', …' if len(schema.names) > 12 else ''}")


def row_groups(partial: pd.DataFrame, schema: Schema, conditions: Sequence[Condition] = (),
               first_row: int = 0) -> list[tuple[list[Condition], np.ndarray]]:
    """(conditions, row positions) per group of partial rows with the same filled learned
    cells, in the order the groups first appear; the table-wide conditions join each group's.
    Messages number rows from `first_row` + 1 (a shard's place in the whole table)."""
    learned = {c.name for c in schema.learned}
    columns = [c for c in partial.columns if str(c) in learned]
    groups: dict[tuple, tuple[list[Condition], list[int]]] = {}
    for position, (_, row) in enumerate(partial[columns].iterrows()):
        try:
            own = conditions_for_row(row, schema)
            merged = merge_conditions([*own, *conditions]) if conditions else own
        except ConfigError as exc:
            raise ConfigError(f"partial row {first_row + position + 1}: {exc}") from None
        key = tuple(sorted((c.column, c.values, c.low, c.high, c.low_inclusive,
                            c.high_inclusive) for c in merged))
        groups.setdefault(key, (merged, []))[1].append(position)
    return [(found, np.asarray(rows)) for found, rows in groups.values()]


def complete_rows(model: Synthesizer, partial: pd.DataFrame, seed: int | None = None,
                  conditions: Sequence[Condition] = (), rules: Sequence[Rule] = (),
                  keys: KeyBlock | None = None, first_row: int = 0) -> pd.DataFrame:
    """One row per partial row, in its order: its filled cells kept, the others drawn.
    `first_row`: the place of these rows in a larger table (part of a draw in shards), by
    which messages number them."""
    assert model.schema is not None
    schema = model.schema
    check_partial_rows(partial, schema)
    partial = partial.reset_index(drop=True)
    groups = row_groups(partial, schema, conditions, first_row)
    if any(found for found, _ in groups) and not model.conditional:
        raise ConfigError(f"the {model.method} method cannot complete partial rows; fit the "
                          "autoregressive method to draw rows given some of their values")
    rng = np.random.default_rng(seed)
    out = model._draw(len(partial), int(rng.integers(2**62)), [], [], keys)
    learned = [c.name for c in schema.learned]
    for found, positions in groups:
        group_seed = int(rng.integers(2**62))
        if not found and not rules:
            continue  # the rows drawn freely above are draws of this group already
        try:
            drawn = model.learned_rows(max(len(positions), GROUP_ROWS), group_seed, found,
                                       rules)
        except ConfigError as exc:
            more = len(positions) - 1
            others = f" and {more} other{'s' if more != 1 else ''} with the same values" \
                if more else ""
            raise ConfigError(f"partial row {first_row + positions[0] + 1}{others}: "
                              f"{exc}") from None
        for column in learned:
            out[column] = _column_with(out[column], positions, drawn[column].iloc[
                :len(positions)].to_numpy())
    if rules:  # made-up columns tied to learned ones by a rule, before the kept cells
        from tabsynth.synthesizers.base import settle_made_up

        out = settle_made_up(out, list(rules), schema, rng, model._guard)
    out = model._restore_dtypes(_kept_cells(out, partial, schema))
    return _rules_checked(out, rules, first_row)


def _column_with(column: pd.Series, positions: np.ndarray, values: np.ndarray) -> pd.Series:
    """The column with `values` at `positions` (upcast where the values need it)."""
    column = column.astype(object) if column.dtype != object else column.copy()
    column.iloc[positions] = values
    return column.infer_objects()


def _kept_cells(out: pd.DataFrame, partial: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Every filled cell of the partial rows written as given (typed as its column)."""
    for column in partial.columns:
        name = str(column)
        given = partial[column]
        filled = given.notna() & (given.astype(str).str.strip() != "")
        if not filled.any():
            continue
        values = given[filled]
        kind = schema[name].kind
        if kind == "datetime":
            values = pd.to_datetime(values, errors="coerce")
        elif kind in ("numeric", "integer"):
            values = pd.to_numeric(values, errors="coerce")
        out[name] = _column_with(out[name], np.flatnonzero(filled.to_numpy()),
                                 values.to_numpy())
        dtype = out[name].dtype
        if kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(dtype):
            out[name] = pd.to_datetime(out[name], errors="coerce")
    return out


def _rules_checked(frame: pd.DataFrame, rules: Sequence[Rule], first_row: int = 0
                   ) -> pd.DataFrame:
    """Rules hold on every completed row; a filled cell that breaks one is named by its row."""
    for rule in rules:
        broken = np.flatnonzero(~rule_holds(frame, rule).to_numpy())
        if len(broken):
            raise ConfigError(f"partial row {first_row + broken[0] + 1}: its filled cells break "
                              f"the rule "
                              f"'{rule.describe()}'; change the row or the rule")
    return frame
