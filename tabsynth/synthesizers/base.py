"""The one small interface every synthesizer implements, plus the shared column regeneration."""

from __future__ import annotations

import abc
import dataclasses
import functools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from tabsynth.constraints.conditions import Condition, merge_conditions
from tabsynth.constraints.rules import (
    Age,
    Holds,
    Order,
    Rule,
    reference_dates,
    rule_columns,
    rule_holds,
    whole_years,
)
from tabsynth.device import resolve_device
from tabsynth.dp.claim import PrivacyClaim
from tabsynth.errors import ConfigError, TabsynthError
from tabsynth.model_file import (
    REFIT,
    model_file_bytes,
    read_model_bytes,
    read_model_file,
    write_model_file,
)
from tabsynth.progress import (
    ProgressCallback,
    ProgressEvent,
    StopCheck,
    ignore_progress,
    never_stop,
)
from tabsynth.regenerate import (
    CollisionGuard,
    KeyBlock,
    RegenerationState,
    regenerate_column,
)
from tabsynth.schema import DATE_UNITS, Schema, coerce_frame, infer_schema, with_choices
from tabsynth.synthesizers.registry import method_info

_DTYPE = re.compile(r"(?:u?int|U?Int)(?:8|16|32|64)|(?:float|Float)(?:16|32|64)|bool|boolean"
                    r"|object|string|str|category"
                    r"|datetime64\[(?:s|ms|us|ns)(?:, (?P<zone>[A-Za-z0-9_+\-/]{1,64}))?\]")


def saved_dtype(text: Any) -> str:
    """A column's dtype as a model file gives it: one a table can have, its time zone (if any)
    among the system's (pandas would open a file named by a "dateutil/<path>" zone)."""
    match = _DTYPE.fullmatch(text) if isinstance(text, str) else None
    if match is None or (match["zone"] and match["zone"] != "UTC"
                         and match["zone"] not in _time_zones()):
        raise ValueError("not a column dtype")
    return text


@functools.cache
def _time_zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


class ModelVersionError(ConfigError):
    """A model file written with library versions whose objects this install cannot rebuild."""


class Synthesizer(abc.ABC):
    """fit(train, schema) learns; sample(n, seed) draws rows with the original columns and dtypes.

    Columns flagged PII, identifiers and free text are never given to the model: they are
    regenerated at sampling time (Faker / fresh unique keys).
    """

    method: ClassVar[str]  # its name in the registry, which holds the rest of its entry
    discloses: ClassVar[str]  # set from the registry: what a fitted model reveals
    conditional: ClassVar[bool] = False  # draws rows that meet conditions (sample(conditions))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "method" in cls.__dict__ and "discloses" not in cls.__dict__:
            cls.discloses = method_info(cls.method).discloses  # a registered method

    def __init__(self, device: str = "auto") -> None:
        self.device = resolve_device(device)  # the one place a device is resolved
        self.schema: Schema | None = None
        self._dtypes: dict[str, str] = {}
        self._guard: CollisionGuard | None = None
        self._regen_state: dict[str, RegenerationState] = {}
        self.fit_info: dict[str, Any] = {}
        # the run's business rules (their text): saved with the model, so that every row drawn
        # from it later meets them too (generate.read_constraints)
        self.run_rules: str | None = None

    @property
    def privacy_claim(self) -> PrivacyClaim | None:
        return None

    def fit(
        self,
        train: pd.DataFrame,
        schema: Schema,
        progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
        real_values: pd.DataFrame | None = None,
    ) -> Synthesizer:
        """Learn from `train`; `real_values` (default: train) is every real row of the upload,
        holdout included, whose regenerated-column values must never be made up again.
        `train` may hold its values as read (dates and yes/no as text): they are typed by the
        schema first, and a value that does not fit its column is an error naming it."""
        schema.check_against(train)
        train = coerce_frame(train, schema)
        self.schema = schema
        self._dtypes = self._output_dtypes(train)
        regenerated = [c.name for c in schema.included if c.regenerated]
        known = real_values if real_values is not None else train
        # real values as read and as typed (a date of birth written 07/19/1988 is also the day
        # a made-up date could fall on)
        self._guard = CollisionGuard.from_frame(known, guarded_columns(known, regenerated))
        self._guard.add(coerce_frame(known, schema, lenient=True), regenerated)
        self._fit_all(train, regenerated, progress or ignore_progress,
                      should_stop or never_stop)
        return self

    def infer_schema(self, frame: pd.DataFrame, target: str | None = None,
                     choices: dict[str, dict[str, Any]] | None = None) -> Schema:
        """The schema of a table whose user declared none (read from the rows it will fit),
        with the user's own edits (`choices`, see schema.with_choices) applied."""
        schema = with_choices(infer_schema(frame), choices or {})
        schema.target = target
        schema.check_against(frame)
        return schema

    @property
    def epochs_trained(self) -> int | None:
        """The epochs the fit ran: fewer than `epochs` (the most allowed) when training stopped
        early; None for a method without epochs."""
        trained = self.fit_info.get("epochs")
        return trained if isinstance(trained, int) else getattr(self, "epochs", None)

    @property
    def schema_learned_privately(self) -> bool:
        """True when the schema came from this fit's DP releases (so it is not public)."""
        return False

    @property
    def released_rows(self) -> int | None:
        """Rows to generate by default when the caller gives none (None: the train size)."""
        return None

    def _output_dtypes(self, train: pd.DataFrame) -> dict[str, str]:
        """The training columns' dtypes; whole numbers stay whole (nullable Int64) when missing
        values made pandas read the column as floats."""
        dtypes = {c: str(train[c].dtype) for c in self.schema.names}
        for spec in self.schema.included:
            if spec.kind == "integer" and dtypes[spec.name].startswith("float"):
                dtypes[spec.name] = "Int64"
        return dtypes

    def _fit_all(self, train: pd.DataFrame, regenerated: list[str], emit: ProgressCallback,
                 should_stop: StopCheck) -> None:
        """Regeneration state (exact missing rates) and the learned columns' model."""
        self._regen_state = {name: RegenerationState(float(train[name].isna().mean()))
                             for name in regenerated}
        learned = [c.name for c in self.schema.learned]
        if learned:
            self._fit_learned(train[learned], emit, should_stop)
        else:  # every column is made up from scratch: there is no model to fit
            emit(ProgressEvent("fit", 1.0, "no learned column: every column is regenerated"))

    def sample(self, n: int, seed: int | None = None, conditions: Sequence[Condition] = (),
               rules: Sequence[Rule] = (), keys: KeyBlock | None = None) -> pd.DataFrame:
        """n rows; with `conditions` (values or ranges of learned columns) and `rules`
        (orders between columns, fixed combinations), rows that meet every one, drawn from the
        model's distribution given them (methods with `conditional`). `keys` says which part
        of a larger draw in parts this is (fresh keys are then unique across the parts)."""
        if self.schema is None:
            raise RuntimeError("fit() must be called before sample()")
        if n <= 0:
            raise ValueError("the number of rows to sample must be positive")
        if (conditions or rules) and not self.conditional:
            raise ConfigError(f"the {self.method} method cannot draw rows under conditions or "
                              "rules; fit the autoregressive method to generate rows that "
                              "meet them")
        if not rules:
            return self._draw(n, seed, list(conditions), [], keys)
        conditions = self._with_rule_ranges(conditions, rules)
        rng = np.random.default_rng(seed)
        frame = self._rows_meeting(n, rng, list(rules), lambda rows, draw_seed: settle_made_up(
            self._draw(rows, draw_seed, conditions, list(rules), keys), list(rules),
            self.schema, rng, self._guard))
        return self._fresh_keys(frame, int(rng.integers(2**31 - 1)), keys)

    def learned_rows(self, n: int, seed: int | None, conditions: Sequence[Condition] = (),
                     rules: Sequence[Rule] = ()) -> pd.DataFrame:
        """n rows of the learned columns only, rounded as a draw's, meeting the conditions and
        the rules among learned columns (a table of partial rows draws the made-up columns
        once for all its rows: completion.py)."""
        learned = {c.name for c in self.schema.learned}
        inner = [r for r in rules if rule_columns(r) <= learned]
        conditions = self._with_rule_ranges(conditions, inner)
        rng = np.random.default_rng(seed)

        def draw(rows: int, draw_seed: int) -> pd.DataFrame:
            frame = (self._sample_learned(rows, draw_seed, conditions, inner)
                     if conditions or inner else self._sample_learned(rows, draw_seed))
            return _with_precision(frame.reset_index(drop=True), self.schema)

        return self._rows_meeting(n, rng, inner, draw)

    def _with_rule_ranges(self, conditions: Sequence[Condition],
                          rules: Sequence[Rule]) -> list[Condition]:
        """The conditions with each rule's range on one learned column: held while sampling,
        as a condition a missing value meets too (a rare range costs no more than a common
        one)."""
        learned = {c.name for c in self.schema.learned}
        return merge_conditions([*conditions, *(
            dataclasses.replace(r.condition, missing_ok=True) for r in rules
            if isinstance(r, Holds) and r.condition.column in learned)])

    @staticmethod
    def _rows_meeting(n: int, rng: np.random.Generator, rules: list[Rule],
                      draw: Callable[[int, int], pd.DataFrame]) -> pd.DataFrame:
        """n rows of `draw` that meet every rule: a few rows may break one inside a last step
        of the masks, so rounds are drawn until n rows meet them all."""
        kept: list[pd.DataFrame] = []
        for _round in range(RULE_ROUNDS):
            frame = draw(n, int(rng.integers(2**31 - 1)))
            ok = np.ones(len(frame), dtype=bool)
            for rule in rules:
                ok &= rule_holds(frame, rule).to_numpy()
            kept.append(frame[ok])
            if sum(len(k) for k in kept) >= n:
                return pd.concat(kept, ignore_index=True).iloc[:n].reset_index(drop=True)
        raise ConfigError("the rules cannot all be met together by this model's rows: check "
                          "them against each other and against the conditions")

    def _fresh_keys(self, frame: pd.DataFrame, seed: int,
                    keys: KeyBlock | None) -> pd.DataFrame:
        """Key columns drawn again for the rows kept from several rounds, so that they stay
        unique across the rounds (no rule can name a key)."""
        rng = np.random.default_rng(seed)
        for spec in self.schema.included:
            if spec.regenerated and spec.pii is None and spec.kind == "identifier":
                state = self._regen_state.get(spec.name, RegenerationState())
                column_seed = int(rng.integers(2**31 - 1))
                if self._guard is not None:
                    column_seed = self._guard.stream_seed(column_seed)
                values = regenerate_column(spec, state, len(frame), column_seed, self._guard,
                                           keys)
                frame[spec.name] = pd.Series(values, index=frame.index)
        return self._restore_dtypes(frame)

    def complete(self, partial: pd.DataFrame, seed: int | None = None,
                 conditions: Sequence[Condition] = (), rules: Sequence[Rule] = (),
                 keys: KeyBlock | None = None, first_row: int = 0) -> pd.DataFrame:
        """One row per row of `partial` (a seed table of some of the model's columns): its
        filled cells kept, its empty ones drawn from the model given them (methods with
        `conditional`; see completion.py)."""
        from tabsynth.synthesizers.completion import complete_rows

        if self.schema is None:
            raise RuntimeError("fit() must be called before complete()")
        return complete_rows(self, partial, seed, conditions, rules, keys, first_row)

    def _units(self) -> dict[str, float]:
        """Each learned column's precision, the least step between two of its values that
        survives writing (whole numbers: 1; k decimals: 10^-k; dates: a day, or a second
        when their format has a time)."""
        units: dict[str, float] = {}
        for spec in self.schema.learned:
            if spec.kind == "integer":
                units[spec.name] = 1.0
            elif spec.kind == "numeric" and spec.decimals is not None:
                units[spec.name] = 10.0 ** -spec.decimals
            elif spec.kind == "datetime":
                unit = getattr(spec, "date_unit", None)
                timed = spec.datetime_format is None or "%H" in spec.datetime_format
                units[spec.name] = (pd.Timedelta(1, DATE_UNITS[unit]) / pd.Timedelta(days=1)
                                    if unit in DATE_UNITS else 1 / 86_400 if timed else 1.0)
        return units

    def _draw(self, n: int, seed: int | None, conditions: list[Condition],
              rules: list[Rule], keys: KeyBlock | None = None) -> pd.DataFrame:
        """n rows of every column: the learned ones from the model, the others made up."""
        rng = np.random.default_rng(seed)
        learned = [c.name for c in self.schema.learned]
        parts: dict[str, pd.Series] = {}
        if learned:
            seed_learned = int(rng.integers(2**31 - 1))
            frame = (self._sample_learned(n, seed_learned, conditions, rules)
                     if conditions or rules else self._sample_learned(n, seed_learned))
            frame = frame.reset_index(drop=True)
            parts.update({c: frame[c] for c in learned})
        for spec in self.schema.included:
            if spec.regenerated:
                state = self._regen_state.get(spec.name, RegenerationState())
                column_seed = int(rng.integers(2**31 - 1))
                if self._guard is not None:
                    column_seed = self._guard.stream_seed(column_seed)
                values = regenerate_column(spec, state, n, column_seed, self._guard, keys)
                parts[spec.name] = pd.Series(values)
        out = pd.DataFrame({c.name: parts[c.name] for c in self.schema.included})
        return self._restore_dtypes(_with_precision(out, self.schema))

    def _restore_dtypes(self, frame: pd.DataFrame) -> pd.DataFrame:
        for column in frame.columns:
            wanted = self._dtypes.get(column)
            if not wanted or str(frame[column].dtype) == wanted:
                continue
            whole = wanted.lower().startswith("int")  # int64 or the nullable Int64
            try:
                if whole and frame[column].isna().any():
                    frame[column] = frame[column].round().astype("Int64")
                elif whole:
                    frame[column] = frame[column].round().astype(wanted)
                else:
                    frame[column] = frame[column].astype(wanted)
            except (TypeError, ValueError):
                continue
        return frame

    def save(self, path: str | Path) -> Path:
        """Write the fitted model as a model file (model_file.py): weights as safetensors, the
        rest as a JSON description. The collision guard (hashes of real values of the made-up
        columns) is never saved: a loaded model draws those columns without it."""
        try:
            return write_model_file(path, *self._model_parts())
        except TypeError as exc:
            raise ConfigError(f"this {self.method} model cannot be saved: {exc}") from None

    def model_bytes(self) -> bytes:
        """The model file's bytes, as save() would write them (for a run on a cluster, whose
        files come back as bytes)."""
        try:
            return model_file_bytes(*self._model_parts())
        except TypeError as exc:
            raise ConfigError(f"this {self.method} model cannot be saved: {exc}") from None

    def _model_parts(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(description, tensors) of the model file."""
        if self.schema is None:
            raise RuntimeError("fit() must be called before save()")
        learned, tensors = self._learned_state()
        description = {
            "method": self.method, "settings": self._settings(), "schema": self.schema.to_dict(),
            "dtypes": self._dtypes, "fit_info": self.fit_info, "rules": self.run_rules,
            "made_up_missing_rates": {name: state.missing_rate
                                      for name, state in self._regen_state.items()},
            **self._fit_state(), "learned": learned}
        return description, tensors

    @staticmethod
    def load(path: str | Path, device: str = "auto") -> Synthesizer:
        """A model from a file written by :meth:`save`, on `device`. Nothing in the file is run:
        the method is looked up in the registry by name and rebuilt from data."""
        return Synthesizer._rebuilt(*read_model_file(path), path, device)

    @staticmethod
    def load_bytes(data: bytes, device: str = "auto") -> Synthesizer:
        """A model from a model file's bytes (as :meth:`model_bytes` gives them)."""
        return Synthesizer._rebuilt(*read_model_bytes(data), "the model", device)

    @staticmethod
    def _rebuilt(description: dict[str, Any], tensors: dict[str, np.ndarray],
                 path: str | Path, device: str) -> Synthesizer:
        from tabsynth.synthesizers.registry import METHODS

        name = description.get("method")
        info = METHODS.get(name) if isinstance(name, str) else None
        if info is None:
            raise ConfigError(f"{path} holds a model of a method this version of tabsynth does "
                              f"not know; it reads models of {', '.join(METHODS)}")
        cls = info.load()
        try:
            settings = cls._settings_from_file(dict(description["settings"]))
            settings.pop("device", None)
            model = cls(**settings, device=device)
            model._restore_fit(description)
            model._restore_learned(description["learned"], tensors)
        except ModelVersionError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError,
                RecursionError, TabsynthError):  # their text can quote the file
            raise ConfigError(f"{path} is damaged or incomplete: its {info.name} model could "
                              f"not be rebuilt; {REFIT}") from None
        return model

    def _settings(self) -> dict[str, Any]:
        """The constructor's arguments (the device left out) that rebuild this model."""
        return {}

    @classmethod
    def _settings_from_file(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """The saved settings as constructor arguments (plain data to objects)."""
        return settings

    def _fit_state(self) -> dict[str, Any]:
        """What a fit kept besides the schema and the learned parameters (DP: the claim)."""
        return {}

    def _restore_fit(self, description: dict[str, Any]) -> None:
        self.schema = Schema.from_dict(description["schema"])
        self._dtypes = {str(k): saved_dtype(v) for k, v in description["dtypes"].items()}
        self._regen_state = {str(name): RegenerationState(float(rate)) for name, rate in
                             description["made_up_missing_rates"].items()}
        self.fit_info = dict(description.get("fit_info") or {})
        rules = description.get("rules")
        self.run_rules = rules if isinstance(rules, str) and rules.strip() else None

    def _learned_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The learned columns' model as (plain data, named tensors)."""
        raise ConfigError(f"{self.method} models cannot be saved")

    def _restore_learned(self, learned: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
        """Rebuild the learned columns' model from what `_learned_state` gave."""
        raise ConfigError(f"{self.method} models cannot be loaded")

    @abc.abstractmethod
    def _fit_learned(self, train: pd.DataFrame, progress: ProgressCallback,
                     should_stop: StopCheck) -> None:
        """Learn the joint distribution of the non-PII columns."""

    @abc.abstractmethod
    def _sample_learned(self, n: int, seed: int) -> pd.DataFrame:
        """Draw n rows of the learned columns."""


RULE_ROUNDS = 5


DISTINCT_SHARE = 0.5  # a text column with this share of distinct values holds identifying text


def guarded_columns(known: pd.DataFrame, regenerated: list[str]) -> list[str]:
    """The columns whose real values no made-up value may equal: the made-up ones, and every
    text column whose values are mostly distinct (names, emails, keys), whatever kind the schema
    gives it: a column a DP schema learned as categories still holds real names that another,
    made-up column could otherwise draw again."""
    chosen = list(regenerated)
    for column in known.columns:
        values = known[column]
        if column in chosen or not (values.dtype == object
                                    or pd.api.types.is_string_dtype(values)):
            continue
        present = values.dropna()
        if len(present) and present.nunique() >= DISTINCT_SHARE * len(present):
            chosen.append(column)
    return chosen


def settle_made_up(frame: pd.DataFrame, rules: list[Rule], schema: Schema,
                   rng: np.random.Generator, guard: CollisionGuard | None = None
                   ) -> pd.DataFrame:
    """Made-up columns brought into line with the rules that tie them to learned ones: orders
    (a value swapped for another made-up one), then ages (a date of birth drawn for the age,
    never one of the real dates of birth the `guard` holds)."""
    frame = _fix_made_up(frame, rules, schema, rng)
    for rule in rules:
        if isinstance(rule, Age):
            frame = _settle_age(frame, rule, schema, rng, guard)
    return frame


GUARD_TRIES = 20  # draws of a made-up date of birth before its row is left to the rule check


def _settle_age(frame: pd.DataFrame, rule: Age, schema: Schema,
                rng: np.random.Generator, guard: CollisionGuard | None = None
                ) -> pd.DataFrame:
    """A made-up date of birth drawn uniformly among the days that give the row's age at its
    reference date, drawn again while it equals a real one; with a learned date of birth, the
    age computed from the dates."""
    at = reference_dates(frame, rule).dt.normalize()
    age = pd.to_numeric(frame[rule.age], errors="coerce")
    if not schema[rule.born].regenerated:
        years = whole_years(frame[rule.born], at)
        known = years.notna()
        frame.loc[known, rule.age] = years[known].astype(frame[rule.age].dtype
                                                         if age.notna().all() else float)
        return frame
    ok = (at.notna() & age.notna()).to_numpy()
    if not ok.any():
        return frame
    years, dates = age[ok].round().astype(int).to_numpy(), at[ok]
    latest = _years_before(dates, years)  # the birthday falls on the reference date
    earliest = _years_before(dates, years + 1) + pd.Timedelta(days=1)
    span = ((latest - earliest) / pd.Timedelta(days=1)).to_numpy() + 1
    born = earliest + pd.to_timedelta(np.floor(rng.random(len(span)) * span), unit="D")
    if guard is not None:  # as every made-up value: never one of the real ones
        for _try in range(GUARD_TRIES):
            real = np.array([guard.is_real(day) for day in born])
            if not real.any():
                break
            again = earliest[real] + pd.to_timedelta(
                np.floor(rng.random(int(real.sum())) * span[real]), unit="D")
            born = born.where(~real, pd.Series(again.to_numpy(), index=born.index[real]))
        else:  # every day of that year of age is a real date of birth: left empty
            born = born.where(~np.array([guard.is_real(day) for day in born]))
    column = pd.to_datetime(frame[rule.born], errors="coerce")
    column.iloc[np.flatnonzero(ok)] = born.to_numpy()
    frame[rule.born] = column
    return frame


def _years_before(dates: pd.Series, years: np.ndarray) -> pd.Series:
    """Each date moved back by whole years (29 February to the 28th where it does not exist)."""
    leap_day = (dates.dt.month == 2) & (dates.dt.day == 29)
    return pd.to_datetime(pd.DataFrame({"year": dates.dt.year.to_numpy() - years,
                                        "month": dates.dt.month.to_numpy(),
                                        "day": np.where(leap_day, 28, dates.dt.day)}),
                          errors="coerce").set_axis(dates.index)


def _fix_made_up(frame: pd.DataFrame, rules: list[Rule], schema: Schema,
                 rng: np.random.Generator) -> pd.DataFrame:
    """A made-up column ordered against another: where a row breaks the order, its made-up
    value is swapped for one of the column's other made-up values that meets it (made-up
    values are independent of the row, so any of them is as good)."""
    for rule in rules:
        if not isinstance(rule, Order):
            continue
        for column in (rule.left, rule.right):
            if column not in frame or not schema[column].regenerated:
                continue
            broken = ~rule_holds(frame, rule).to_numpy()
            for row in np.flatnonzero(broken):
                for candidate in rng.choice(len(frame), size=min(len(frame), 50),
                                            replace=False):
                    trial = frame.iloc[[row]].copy()
                    trial[column] = frame[column].iloc[candidate]
                    if bool(rule_holds(trial, rule).iloc[0]):
                        frame.loc[frame.index[row], column] = frame[column].iloc[candidate]
                        break
    return frame


def _with_precision(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Numeric columns rounded to their schema's decimals and dates cut down to their
    granularity (the real column's precision: whole days, minutes, ...)."""
    for spec in schema.learned:
        column = frame[spec.name]
        if spec.kind == "numeric" and spec.decimals is not None and \
                pd.api.types.is_float_dtype(column):
            frame[spec.name] = column.round(spec.decimals)
        unit = getattr(spec, "date_unit", None)  # None in schemas saved before it existed
        if spec.kind == "datetime" and unit in DATE_UNITS and \
                pd.api.types.is_datetime64_any_dtype(column):
            frame[spec.name] = column.dt.floor(DATE_UNITS[unit])
    return frame
