"""What every DP synthesizer releases before it trains: the row count, then the budget plan.

The row count is released first (discrete Gaussian); the batch, sampling rate, number of steps,
default delta and default output rows all come from that noisy count, never the exact one. The
plan then fixes every noise multiplier so that preprocessing and all steps stay within epsilon,
and the missing rates of made-up columns are released as noisy counts under the same plan.
A non-private start (noise None) uses the exact figures. The DP settings are checked here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.dp.accounting import (
    ACCOUNTANTS,
    DEFAULT_DELTA_CAP,
    BudgetPlan,
    default_delta,
    plan_budget,
    preprocessing_sigmas,
)
from tabsynth.dp.domain import numbers_as_categories, plan_mechanisms
from tabsynth.dp.noise import SecretNoise
from tabsynth.dp.public import PublicColumn
from tabsynth.dp.schema_release import MECHANISMS_PER_COLUMN, learn_schema_and_rows
from tabsynth.errors import ConfigError
from tabsynth.schema import Schema

COUNTS_ONLY_SHARE = 0.05  # of epsilon, for the row and missing counts when no histogram is due
# Of epsilon, for a schema learned under DP (alone; composed with the rest it costs much less:
# about 6 % of the zero-concentrated budget at epsilon 1)
SCHEMA_SHARE = 0.25
# Of epsilon, for the domain's histograms (alone) when the synthesizer leaves it to the data
# (``domain_share``): half while their noise at half of epsilon is small next to the rows, up
# to 70 % where it is large. At epsilon 1 (three seeds per run, holdout rows outside a numeric
# column's synthetic range): online_shoppers (noise 1/157 of its rows at half) had a column
# over 1 % in each of four runs at half and in one of seven at 70 %, quality 0.83-0.88 ->
# 0.86-0.88, TSTR about the same; census (1/840) kept TSTR 0.888 at half against 0.881-0.884
# at 70 %.
DOMAIN_SHARES = (0.5, 0.7)
# the domain's noise at half of epsilon per row: where the share starts rising, and its top
NOISE_PER_ROW = (1 / 600, 1 / 200)


def check_public_names(public: dict, learned: list[str]) -> None:
    """A declared public domain may only name learned columns."""
    unknown = set(public) - set(learned)
    if unknown:
        raise ConfigError(f"public schema names columns that are not learned: {sorted(unknown)}")


@dataclass
class Budget:
    """The privacy settings a DP synthesizer was given (epsilon inf: non-private)."""

    epsilon: float
    delta: float | None
    accountant: str
    preprocessing_share: float | None  # of epsilon, for the domain (None: ``domain_share``)
    public: dict[str, PublicColumn] = field(default_factory=dict)

    @property
    def private(self) -> bool:
        return math.isfinite(self.epsilon)


@dataclass
class SchemaRelease:
    """A schema learned under DP: its noise, how many releases it made, what they were."""

    sigma: float
    mechanisms: int
    releases: dict[str, int]
    rows: float = 0.0  # the row count read from the schema's noisy family histograms


def learn_private_schema(frame: pd.DataFrame, budget: Budget,
                         target: str | None) -> tuple[Schema, SchemaRelease]:
    """Every column's kind and formats from noisy releases (dp/schema_release.py), with noise
    fixed from public inputs only: epsilon, the user's delta or the default's cap, the number
    of columns."""
    mechanisms = MECHANISMS_PER_COLUMN * len(frame.columns)
    sigma, _ = preprocessing_sigmas(budget.epsilon, budget.delta or DEFAULT_DELTA_CAP,
                                    mechanisms, 0, SCHEMA_SHARE, budget.accountant)
    noise = SecretNoise()
    schema, rows = learn_schema_and_rows(frame, noise, sigma, target)
    return schema, SchemaRelease(sigma, mechanisms, dict(noise.releases), rows)


def domain_share(budget: Budget, mechanisms: int, unknown_histograms: int,
                 rows: float | None) -> float:
    """The share of epsilon the domain's histograms spend (alone): the budget's own, else from
    how large their noise at half of epsilon is next to `rows` (a count already released; None
    when none was, as with a declared schema: then half). Small tables get more, since there
    the noise hides the tails and shapes that the training cannot recover."""
    if budget.preprocessing_share is not None:
        return budget.preprocessing_share
    low, high = DOMAIN_SHARES
    if rows is None:
        return low
    sigma, _ = preprocessing_sigmas(budget.epsilon, budget.delta or DEFAULT_DELTA_CAP,
                                    mechanisms, unknown_histograms, low, budget.accountant)
    start, top = NOISE_PER_ROW
    rise = math.log(sigma / max(rows, 1.0) / start) / math.log(top / start)
    return low + (high - low) * min(max(rise, 0.0), 1.0)


@dataclass
class Start:
    noise: SecretNoise | None  # the fit's secret noise; None when non-private
    rows: float  # the released (noisy) row count; exact when non-private
    batch: int
    sample_rate: float
    steps: int
    plan: BudgetPlan | None
    accountant: Any  # an Opacus accountant holding the preprocessing history, or None
    missing_rates: dict[str, float]  # of the made-up columns


def begin(train: pd.DataFrame, schema: Schema, regenerated: list[str], budget: Budget,
          batch_size: int, epochs: int, pair_mechanisms: int = 0,
          pair_share: float = 0.0, schema_release: SchemaRelease | None = None) -> Start:
    """Row count, plan and missing rates, in that order, all through one SecretNoise; a
    schema learned under DP (``schema_release``) is composed first."""
    learned = [c.name for c in schema.learned]
    noise = SecretNoise() if budget.private else None
    mechanisms, unknown_histograms = plan_mechanisms(schema, budget.public)
    planning_delta = budget.delta or DEFAULT_DELTA_CAP
    # with every learned column declared public, only counts remain: a small share will do
    histograms = mechanisms - 1 - len(regenerated)
    share = COUNTS_ONLY_SHARE if not histograms else domain_share(
        budget, mechanisms, unknown_histograms, schema_release.rows if schema_release else None)
    sigma_pre = 0.0
    if noise is not None:
        sigma_pre, _ = preprocessing_sigmas(
            budget.epsilon, planning_delta, mechanisms, unknown_histograms, share,
            budget.accountant, pair_mechanisms, pair_share)
        rows = float(noise.counts(np.array([len(train)]), sigma_pre, "row count")[0])
    else:
        rows = float(len(train))
    rows = max(rows, 2.0)
    batch = min(batch_size, max(10, int(rows // 2)))
    sample_rate = min(1.0, batch / rows)
    steps = max(1, math.ceil(epochs / sample_rate)) if learned else 0
    plan = accountant = None
    if noise is not None:
        plan = plan_budget(
            budget.epsilon, budget.delta or default_delta(rows), mechanisms, unknown_histograms,
            sample_rate, steps, share, budget.accountant, pair_mechanisms=pair_mechanisms,
            pair_share=pair_share, planning_delta=planning_delta,
            schema=(schema_release.sigma, schema_release.mechanisms) if schema_release
            else (0.0, 0))
        accountant = ACCOUNTANTS[budget.accountant]()
        accountant.history = list(plan.preprocessing_history)
    missing_rates = {name: _missing_rate(train[name], noise, sigma_pre, rows)
                     for name in regenerated}
    return Start(noise, rows, batch, sample_rate, steps, plan, accountant, missing_rates)


def private_dtypes(schema: Schema) -> dict[str, str]:
    """Output dtypes from the schema's kinds: whether a training column held missing values
    (which would turn int64 into float64) is not released."""
    kinds = {"integer": "Int64", "numeric": "float64", "datetime": "datetime64[ns]"}
    dtypes = {c.name: kinds[c.kind] for c in schema.included if c.kind in kinds}
    # whole numbers as categories come back as numbers (see dp/domain.py): written as integers
    dtypes.update({c.name: "Int64" for c in schema.included if numbers_as_categories(c)})
    return dtypes


def _missing_rate(values: pd.Series, noise: SecretNoise | None, sigma: float,
                  rows: float) -> float:
    missing = int(values.isna().sum())
    if noise is None:
        return missing / max(len(values), 1)
    noisy = float(noise.counts(np.array([missing]), sigma, "missing count")[0])
    return float(np.clip(noisy / rows, 0.0, 1.0))
