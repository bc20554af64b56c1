"""What decides a run, kept apart by concern: fitting, reading the input, writing the outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tabsynth.dp.settings import checked_epsilon
from tabsynth.errors import ConfigError
from tabsynth.io import ReadLimits
from tabsynth.synthesizers.registry import DEFAULT_METHOD, METHODS, method_info

MAX_TRAIN_ROWS = 1_000_000


@dataclass
class RunConfig:
    """How to split, fit, sample and evaluate; defaults are what the CLI uses."""

    method: str = DEFAULT_METHOD
    rows: int | None = None
    seed: int = 0
    epochs: int | None = None
    batch_size: int | None = None
    device: str = "auto"
    holdout_fraction: float = 0.2
    target: str | None = None
    epsilon: float | None = None  # dp-gan: None -> 3; autoregressive: None -> no DP; inf: no DP
    delta: float | None = None  # dp-gan: None -> min(1e-6, 1 / (n * sqrt(n)))
    public_schema: dict[str, Any] | None = None  # dp-gan: column -> PublicColumn (or JSON text)
    evaluate: bool = True  # fidelity / utility / privacy sections of the report
    quasi_identifiers: list[str] | None = None  # the attacker's known columns (None: suggested)
    secrets: list[str] | None = None  # what the attacker infers (None: target + sensitive)
    # DP run: learn kinds and formats under the budget even when a schema is given, applying
    # only the user's own edits (schema_choices: column -> include / pii / kind / missing_codes)
    learn_schema: bool = False
    schema_choices: dict[str, dict[str, Any]] | None = None
    workers: int = 1  # > 1: data-parallel training on a Ray cluster (methods that take it)
    rules: str | None = None  # business rules every synthetic row meets, one per line
    # without DP, a train split larger than this is fitted on a uniform sample of this many rows
    max_train_rows: int = MAX_TRAIN_ROWS

    @property
    def private(self) -> bool:
        """True when the run makes a differential-privacy claim."""
        return method_info(self.method).private(self.epsilon)

    def validate(self) -> None:
        method_info(self.method)  # a ConfigError naming the methods when unknown
        if self.rows is not None and not 1 <= self.rows <= 10_000_000:
            raise ConfigError(f"--rows must be between 1 and 10,000,000 (got {self.rows})")
        if not 0.05 <= self.holdout_fraction <= 0.5:
            raise ConfigError(
                f"--holdout-fraction must be between 0.05 and 0.5 (got {self.holdout_fraction})"
            )
        if self.epochs is not None and not 1 <= self.epochs <= 10_000:
            raise ConfigError(f"--epochs must be between 1 and 10,000 (got {self.epochs})")
        checked_epsilon(self.epsilon, self.delta)
        check_method_options(self.method, {"epochs": self.epochs, "batch_size": self.batch_size,
                                           "epsilon": self.epsilon, "delta": self.delta,
                                           "public": self.public_schema or None})
        check_workers(self.method, self.workers)
        if self.max_train_rows < 1_000:
            raise ConfigError(f"--max-train-rows must be at least 1,000 (got "
                              f"{self.max_train_rows:,})")
        if self.batch_size is not None and (self.batch_size < 10 or self.batch_size % 10):
            raise ConfigError(f"--batch-size must be a multiple of 10, at least 10 "
                              f"(got {self.batch_size})")


@dataclass
class ReadSettings:
    """How to read the input: which Excel sheet, whether the first row holds the column names,
    and the limits enforced while parsing."""

    sheet: str | None = None
    header: bool = True  # False: every row is data, the columns are named column_1, column_2, …
    limits: ReadLimits = field(default_factory=ReadLimits)
    # a table over the limits is read as a uniform sample (a DP run: only with a rate);
    # False refuses it
    sample_large: bool = True
    sample_rate: float | None = None  # keep each input row with this probability (Poisson)


@dataclass
class OutputSettings:
    """How to write a run's files."""

    escape_formulas: bool = True  # prefix cells a spreadsheet would run as formulas with '
    pdf: bool = True  # report.pdf beside report.html (WeasyPrint: a few seconds)


# drawing rows from a saved model (generate.py): rows per shard, each with its own seed, and the
# file formats written
SHARD_ROWS = 100_000
DRAW_FORMATS = ("csv", "parquet")


MOST_WORKERS = 256


# each option a method may not take, as the command line names it
OPTION_FLAGS = {"epochs": "--epochs", "batch_size": "--batch-size", "epsilon": "--epsilon",
                "delta": "--delta", "public": "--public-schema"}


def check_method_options(method: str, given: dict[str, Any]) -> None:
    """Refuse a setting the method would not use (it would otherwise be dropped in silence:
    --epsilon with a method that makes no privacy claim would leave the run without one)."""
    taken = method_info(method).options
    for option, value in given.items():
        if value is None or option in taken:
            continue
        takers = ", ".join(name for name, info in METHODS.items() if option in info.options)
        flag = OPTION_FLAGS[option]
        if option in ("epsilon", "delta", "public"):
            raise ConfigError(f"{flag}: {method} gives no differential-privacy guarantee and "
                              f"takes no privacy setting; the methods with one are {takers} "
                              f"(choose one with --method)")
        raise ConfigError(f"{flag}: {method} does not train in epochs or batches; leave "
                          f"{flag} out, or choose a method that takes it ({takers})")


def check_workers(method: str, workers: int) -> None:
    """--workers: a whole number from 1, above 1 only for a method that trains on several."""
    if not 1 <= workers <= MOST_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MOST_WORKERS} (got {workers})")
    if workers > 1 and "workers" not in method_info(method).options:
        takers = [name for name, info in METHODS.items() if "workers" in info.options]
        raise ConfigError(f"--workers {workers}: {method} trains on one worker; only "
                          f"{', '.join(takers)} trains on several (use --workers 1)")
