"""Rows drawn from a saved model, at any size, in shards: `tabsynth generate` and the page's
"Draw more rows".

A draw of N rows is cut into shards of a fixed size (SHARD_ROWS), each with its own seed derived
from the draw's seed and the shard's index, and its own range of fresh keys: the rows depend on
the seed and the shard size only, never on how many workers draw them or in which order.
`plan_shards` and `draw_shard` are pure, so any backend can map `draw_shard` over the plan; here
the shards are drawn one after the other and streamed to one CSV or Parquet file, so memory holds
one shard at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth import __version__
from tabsynth.constraints.conditions import Condition, allocate, merge_conditions
from tabsynth.constraints.rules import Rule
from tabsynth.errors import ConfigError
from tabsynth.io import csv_bytes
from tabsynth.outputs import parquet_frame
from tabsynth.progress import (
    Cancelled,
    ProgressCallback,
    ProgressEvent,
    StopCheck,
    never_stop,
)
from tabsynth.regenerate import KeyBlock
from tabsynth.schema import Schema, format_for_export
from tabsynth.settings import DRAW_FORMATS, SHARD_ROWS
from tabsynth.synthesizers import Synthesizer

MAX_ROWS = 1_000_000_000
PARTIAL_ROWS_NOTE = ("; except the filled cells of the partial rows, copied as given: they are "
                     "the user's own values, which the guarantee does not cover")
FORMATS = DRAW_FORMATS
MADE_UP_NOTE = ("made-up columns are drawn again for these rows without the check against the "
                "real values, which is never saved with a model: a made-up value can equal a "
                "real one by chance, as any made-up name can")


@dataclass(frozen=True)
class Shard:
    """One part of a draw: `rows` rows from `start` on, drawn with `seed`."""

    index: int
    start: int
    rows: int
    seed: int
    parts: int  # shards in the whole draw
    total: int  # rows in the whole draw


def shard_seed(seed: int, index: int) -> int:
    """The seed of shard `index` of a draw seeded `seed` (numpy SeedSequence spawn keys)."""
    state = np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(2, np.uint32)
    return (int(state[0]) << 31 | int(state[1]) >> 1) & (2**62 - 1)


def plan_shards(rows: int, seed: int, shard_rows: int = SHARD_ROWS) -> list[Shard]:
    """The shards of a draw of `rows` rows seeded `seed`, each `shard_rows` rows (the last one
    fewer)."""
    check_draw(rows, seed, shard_rows)
    parts = -(-rows // shard_rows)
    return [Shard(i, i * shard_rows, min(shard_rows, rows - i * shard_rows),
                  shard_seed(seed, i), parts, rows) for i in range(parts)]


def check_draw(rows: int, seed: int, shard_rows: int = SHARD_ROWS) -> None:
    if not 1 <= rows <= MAX_ROWS:
        raise ConfigError(f"--rows must be between 1 and {MAX_ROWS:,} (got {rows:,})")
    if seed < 0:
        raise ConfigError(f"--seed must be 0 or more (got {seed})")
    if shard_rows < 1:
        raise ConfigError(f"--shard-rows must be at least 1 (got {shard_rows})")


@dataclass(frozen=True)
class Constraints:
    """What the drawn rows must meet: conditions (`--where`), rules (`--rules`) and the
    shares of one column's values (`--shares`, rebalancing)."""

    conditions: tuple[Condition, ...] = ()
    rules: tuple[Rule, ...] = ()
    share_column: str | None = None
    shares: tuple[tuple[str, float], ...] = ()
    partial: pd.DataFrame | None = field(default=None, compare=False)  # rows to complete

    def describe(self) -> dict[str, Any] | None:
        """What generation.json records: the constraints in words, no value of a partial
        row (only how many rows and which columns they fill)."""
        if not (self.conditions or self.rules or self.shares or self.partial is not None):
            return None
        return {"conditions": [c.describe() for c in self.conditions],
                "rules": [r.describe() for r in self.rules],
                "shares": ({"column": self.share_column,
                            "shares": [round(s, 6) for _, s in self.shares]}
                           if self.shares else None),
                "partial_rows": ({"rows": len(self.partial),
                                  "columns": [str(c) for c in self.partial.columns]}
                                 if self.partial is not None else None)}


def draw_shard(model: Synthesizer, shard: Shard,
               constraints: Constraints | None = None) -> pd.DataFrame:
    """The shard's rows: the same model and shard give the same rows, wherever they are drawn.
    With shares, each value's rows are drawn under its own condition and shuffled together."""
    constraints = constraints or Constraints()
    keys = KeyBlock(shard.index, shard.parts, shard.total)
    if constraints.partial is not None:  # labelled by row: the whole table or the shard's part
        frame = model.complete(constraints.partial.loc[shard.start:shard.start + shard.rows - 1],
                               seed=shard.seed, conditions=constraints.conditions,
                               rules=constraints.rules, keys=keys, first_row=shard.start)
    elif not constraints.shares:
        frame = model.sample(shard.rows, seed=shard.seed, conditions=constraints.conditions,
                             rules=constraints.rules, keys=keys)
    else:
        rng = np.random.default_rng(shard.seed)
        parts = []
        for value, rows in allocate(shard.start, shard.start + shard.rows,
                                    list(constraints.shares)):
            if rows:
                where = merge_conditions([*constraints.conditions,
                                          Condition(constraints.share_column, values=(value,))])
                parts.append(model.sample(rows, seed=int(rng.integers(2**62)),
                                          conditions=where, rules=constraints.rules,
                                          keys=keys))
        frame = pd.concat(parts, ignore_index=True)
        frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    frame.index = pd.RangeIndex(shard.start, shard.start + shard.rows)
    return frame


ShardSource = Callable[[list[Shard], "Constraints | None"], Iterator[pd.DataFrame]]


@dataclass
class Drawn:
    """What a draw wrote."""

    path: Path
    manifest: Path
    rows: int
    shards: int
    seconds: float
    format: str


def draw_to_file(model: Synthesizer, rows: int, seed: int, out_dir: str | Path,
                 fmt: str = "csv", *, shard_rows: int = SHARD_ROWS, escape: bool = True,
                 progress: ProgressCallback | None = None,
                 should_stop: StopCheck | None = None,
                 source: dict[str, Any] | None = None,
                 constraints: Constraints | None = None,
                 shards: ShardSource | None = None) -> Drawn:
    """Draw `rows` rows in shards into out_dir/synthetic.<fmt> (written under a temporary name,
    renamed when complete) and describe the draw in out_dir/generation.json. `shards` gives
    the plan's rows in order (default: drawn here, one after the other; a cluster's draws them
    in parallel, backends/ray_draw.py)."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    plan = plan_shards(rows, seed, shard_rows)
    emit, stop = progress or (lambda _event: None), should_stop or never_stop
    assert model.schema is not None
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".synthetic.{fmt}.", dir=out)
        os.close(handle)
    except OSError as exc:
        raise ConfigError(f"cannot write to output folder {out}: "
                          f"{exc.strerror or type(exc).__name__}") from None
    started = time.perf_counter()
    target = out / f"synthetic.{fmt}"
    try:
        writer = _CsvWriter(temp, model.schema, escape) if fmt == "csv" else \
            _ParquetWriter(temp, model.schema)
        frames = (shards or _drawn_here(model))(plan, constraints)
        with writer, contextlib.closing(frames):
            for shard in plan:
                if stop():
                    raise Cancelled(f"cancelled after shard {shard.index} of {len(plan)}")
                writer.write(next(frames))
                emit(ProgressEvent("sample", (shard.index + 1) / len(plan),
                                   f"shard {shard.index + 1}/{len(plan)} "
                                   f"({shard.start + shard.rows:,} of {rows:,} rows)"))
        os.replace(temp, target)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or type(exc).__name__}; "
                          "nothing was written") from None
    finally:
        Path(temp).unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    manifest = out / "generation.json"
    record = generation_record(model, plan, seed, fmt, target, seconds, source)
    if constraints is not None and constraints.describe():
        record["constraints"] = constraints.describe()
        if constraints.partial is not None and record.get("differential_privacy"):
            record["differential_privacy"]["note"] += PARTIAL_ROWS_NOTE
    manifest.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return Drawn(target, manifest, rows, len(plan), seconds, fmt)


def _drawn_here(model: Synthesizer) -> ShardSource:
    def frames(plan: list[Shard], constraints: Constraints | None) -> Iterator[pd.DataFrame]:
        for shard in plan:
            yield draw_shard(model, shard, constraints)
    return frames


def generation_record(model: Synthesizer, plan: list[Shard], seed: int, fmt: str, path: Path,
                      seconds: float, source: dict[str, Any] | None) -> dict[str, Any]:
    """generation.json: what was drawn, from which model, how to draw it again."""
    claim = model.privacy_claim
    made_up = [c.name for c in (model.schema.included if model.schema else []) if c.regenerated]
    return {
        "tabsynth_version": __version__,  # the same version draws the same rows again
        "file": path.name, "format": fmt, "rows": plan[0].total if plan else 0,
        "shards": len(plan), "shard_rows": plan[0].rows if plan else 0,
        "seed": seed, "sha256": _sha256(path), "seconds": round(seconds, 3),
        "model": {"method": model.method, **(source or {})},
        "differential_privacy": ({"epsilon": claim.epsilon, "delta": claim.delta,
                                  "note": "drawing rows from the model is post-processing: the "
                                          "guarantee covers them, whatever their number"}
                                 if claim else None),
        "made_up_columns": {"columns": made_up, "note": MADE_UP_NOTE} if made_up else None}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _CsvWriter:
    """One CSV, shard after shard: the header once, cells written as synthesize writes them."""

    def __init__(self, path: str, schema: Schema, escape: bool) -> None:
        self.path, self.schema, self.escape = path, schema, escape
        self.first = True

    def __enter__(self) -> _CsvWriter:
        self.stream = open(self.path, "wb")
        return self

    def write(self, frame: pd.DataFrame) -> None:
        self.stream.write(csv_bytes(format_for_export(frame, self.schema), self.escape,
                                    header=self.first))
        self.first = False

    def __exit__(self, *_: object) -> None:
        self.stream.close()


class _ParquetWriter:
    """One Parquet file, a row group per shard, its column types fixed by the first shard
    (text columns always as text, yes/no columns as booleans)."""

    def __init__(self, path: str, schema: Schema) -> None:
        self.path, self.schema = path, schema
        self.writer: Any = None
        self.arrow_schema: Any = None

    def __enter__(self) -> _ParquetWriter:
        return self

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        typed = _typed_for_parquet(parquet_frame(frame, self.schema), self.schema)
        if self.writer is None:
            table = pa.Table.from_pandas(typed, preserve_index=False)
            self.arrow_schema = table.schema.remove_metadata()
            self.writer = pq.ParquetWriter(self.path, self.arrow_schema)
        table = pa.Table.from_pandas(typed, schema=self.arrow_schema, preserve_index=False)
        self.writer.write_table(table)

    def __exit__(self, *_: object) -> None:
        if self.writer is not None:
            self.writer.close()


def _typed_for_parquet(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Columns of Python objects as one Arrow type in every shard: yes/no as nullable
    booleans, anything else as text (missing stays missing)."""
    out = frame.copy()
    kinds = {c.name: c.kind for c in schema.included}
    for column in out.columns:
        if out[column].dtype != object:
            continue
        if kinds.get(column) == "boolean":
            out[column] = out[column].astype("boolean")
        else:
            out[column] = out[column].map(lambda v: None if _missing(v) else str(v)).astype(
                "string")
    return out


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def read_constraints(model: Synthesizer, where: str | None, rules: str | None,
                     shares: str | None, balance: str | None,
                     partial: pd.DataFrame | None = None) -> Constraints | None:
    """Conditions, rules (their text), shares or a column to balance, and partial rows to
    complete, read against the model's schema; None when nothing is asked. The rules of the
    run that fitted the model (saved with it) always hold too."""
    from tabsynth.constraints.conditions import parse_conditions, parse_shares
    from tabsynth.constraints.rules import parse_rules
    from tabsynth.synthesizers.completion import check_partial_rows

    rules = "\n".join(text for text in (model.run_rules, rules) if text and text.strip())
    if not (where or rules or shares or balance or partial is not None):
        return None
    if not model.conditional:
        raise ConfigError(f"conditions, rules, shares and partial rows need an autoregressive "
                          f"model; this one is {model.method}")
    assert model.schema is not None
    if partial is not None:
        if shares or balance:
            raise ConfigError("partial rows say which values each row holds, so they cannot "
                              "be rebalanced too: leave out --shares / --balance, or fill the "
                              "column in the partial rows with the shares wanted")
        check_partial_rows(partial, model.schema)
        partial = partial.reset_index(drop=True)  # rows labelled 0.. (shards take theirs)
    conditions = tuple(parse_conditions(where, model.schema)) if where else ()
    parsed_rules = tuple(parse_rules(rules, model.schema)) if rules else ()
    column, parts = None, ()
    if shares:
        column, listed = parse_shares(shares, model.schema)
        parts = tuple(listed)
    elif balance:
        column = balance
        values = model.categories_of(balance)  # type: ignore[attr-defined]
        parts = tuple((v, 1 / len(values)) for v in values)
    return Constraints(conditions, parsed_rules, column, parts, partial)
