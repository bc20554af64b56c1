"""How long a run will take: a small model of this machine's throughput per method.

Each stage costs a constant times its work: training a method's seconds per training row ·
learned column · epoch (times a factor with differential privacy), preparing, sampling,
evaluating and writing seconds per row · column, plus fixed parts (starting the worker process,
loading the model library, writing the PDF). The constants are wall-clock seconds on the
project's 2-core CPU machine running alone (benchmarks/README.md, sources beside each);
`benchmarks/bench_estimates.py` runs the page's own path on the shared tables, prints estimate
against actual per stage and the constants the runs imply, so they can be measured again.

`remaining_seconds` turns an estimate and a running job's progress into an ETA: the current
stage from its own fraction done and elapsed time, the stages after it from the estimate,
scaled by how much slower or faster than estimated the finished stages ran.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tabsynth.synthesizers.registry import METHODS

# a run's stages in order, in words; and the stage each progress event belongs to
STAGES = ("reading", "schema", "preprocessing", "training", "sampling", "evaluating",
          "writing")
STAGE_WORDS = {"reading": "reading", "schema": "learning the schema",
               "preprocessing": "preprocessing", "training": "training",
               "sampling": "sampling", "evaluating": "evaluating", "writing": "writing"}
EVENT_STAGES = {"read": "reading", "schema": "schema", "split": "preprocessing",
                "preprocess": "preprocessing", "train": "training", "fit": "training",
                "sample": "sampling", "evaluate": "evaluating", "write": "writing"}

# the autoregressive model's own defaults (synthesizers/autoregressive.py; a test keeps them
# equal): at most 60 epochs with early stopping after 3 without a better validation
# likelihood, or 15 epochs of DP-SGD; batch 512, or an expected 1000 with DP
AR_MAX_EPOCHS = 60
AR_PATIENCE = 3
AR_PRIVATE_EPOCHS = 15
AR_BATCH = 512
AR_PRIVATE_BATCH = 1000
# the epochs early stopping ran (seed 0, training rows → epochs): census 39,073 → 20
# (benchmarks/README.md, second sitting), census samples 6,400 → 36 and 1,600 → 46,
# online_shoppers 9,864 → 22, sample_data/patients.csv 4,000 → 59 (2026-12-05): smaller tables
# run more epochs of fewer steps. Expected: EARLY_STOP_EPOCHS at EARLY_STOP_ROWS training
# rows, times (EARLY_STOP_ROWS / rows) ** EARLY_STOP_POWER (the census fit), and a range as
# wide as the tables' spread around it (online_shoppers 0.73×, patients 1.5×)
EARLY_STOP_EPOCHS = 20.0
EARLY_STOP_ROWS = 39_073
EARLY_STOP_POWER = 0.3
EARLY_STOP_SPREAD = (0.65, 1.5)


@dataclass(frozen=True)
class Throughput:
    """One method's costs, wall-clock seconds on the 2-core CPU."""

    train: float  # per training row · learned column · epoch (per row · column: no epochs)
    dp_factor: float = 1.0  # training with DP-SGD, per row · column · epoch
    prepare: float = 0.0  # per training row · learned column, once (encoders, DP domain)
    sample: float = 1e-6  # per synthetic row · learned column
    dp_sample_factor: float = 1.0  # with DP (the autoregressive model draws a 3× pool)
    load: float = 0.0  # loading the method's library in the worker (torch, SDV)
    fixed: float = 0.0  # per fit whatever its size (a fresh process's first torch calls)
    dp_fixed: float = 0.0  # more with DP (Opacus: imports, per-row gradient hooks)
    step: float = 0.0  # the least an optimiser step costs, however few its rows


THROUGHPUT = {
    # fit 0.2 s on census (39,073 × 15)
    "faker": Throughput(train=3e-7, sample=2e-6),
    # fit 5.1 s, sample 0.6 s on census (bench_synthesizers.py)
    "gaussian-copula": Throughput(train=8.7e-6, sample=1.0e-6, load=4.0),
    # 3.0 s per epoch and 23 s of data transformer on census (bench_synthesizers.py)
    # on small tables each step costs more than its rows: 300 rows (one step an epoch), 60
    # epochs in 5.8 s, transformer included (one thread, a busy machine, 2026-12-05)
    "ctgan": Throughput(train=5.1e-6, prepare=3.9e-5, sample=1.0e-6, load=4.0, step=0.07),
    # 20 epochs on census: 51.4 s without DP, 58.3 s with (bench_dpgan.py, session 3)
    # and 300 rows (one step an epoch), ε = 3: 30 epochs in 5.5 s (2026-12-05)
    "dp-gan": Throughput(train=4.4e-6, dp_factor=1.15, prepare=2e-6, sample=2e-6, load=3.0,
                         fixed=1.0, dp_fixed=2.5, step=0.15),
    # without DP: 4.1e-6 to 5.3e-6 s per row · column · epoch on census samples,
    # online_shoppers and patients (one thread, 2026-12-05, a busy machine), census 3.4e-6
    # (benchmarks/README.md, first sitting); sampling 7e-6 to 9e-6. With DP, 15 epochs:
    # census 101 s, online_shoppers 32.6 s, acs_income 146 s (bench_autoregressive.py), that
    # is 7.6e-6 to 1.2e-5 per row · column · epoch, the domain learned under ε included; on
    # 2,000 census rows, 1 epoch in the worker: 1.8 s to tokenise, 2.9 s for the DP epoch.
    # Those figures came from a machine busy with other jobs; page jobs on the idle machine
    # (bench_estimates.py, census and online_shoppers, 2026-12-05) ran at 2.1e-6 to 2.4e-6
    # per row · column · epoch without DP and 2.8 to 3.1 times that with DP, and sampled at
    # 4.8e-6 to 5.9e-6 per row · column (4 times that with DP): the estimates were 1.4 to 1.8
    # times the runs. The constants below are the idle machine's, a little above its figures.
    "autoregressive": Throughput(train=2.6e-6, dp_factor=3.0, prepare=2e-6, sample=6e-6,
                                 dp_sample_factor=4.0, load=3.0, fixed=1.5, dp_fixed=2.5),
}

START_SECONDS = 3.0  # spawning the worker process, importing pandas and tabsynth
READ_PER_CELL = 1e-6  # parsing the upload again in the worker
SCHEMA_PER_CELL = 2e-7  # checking the page's schema against the rows
DP_SCHEMA_PER_CELL = 2e-6  # learning kinds and formats from noisy counts
# Faker values and fresh keys for the made-up (PII, key) columns: patients' 6 took 9e-5 s a
# cell on a busy machine (2026-12-05)
MADE_UP_PER_CELL = 6e-5
# evaluation grows with the square of the learned columns of categories (the neighbour searches
# and attacks branch on them; pairs of them): page jobs on the idle machine took 7 s
# (online_shoppers, 12,330 rows, 18 columns of which 6 categories), 11.5 s (census, 48,842
# rows, 15 of which 9) and 190 s (acs_income, 50,000 rows, 32 of which 29) (2026-12-05);
# census ×10: 26.5 s (bench_evaluation.py): the distance queries and attack targets are
# capped, so rows past EVALUATE_ROWS cost far less
EVALUATE_FIXED = 5.0
EVALUATE_PER_CELL = 1e-6  # per table row · learned column, up to EVALUATE_ROWS rows...
EVALUATE_PER_CELL_CATEGORIES = 1.37e-7  # ...plus this times the columns of categories squared
EVALUATE_ROWS = 50_000
EVALUATE_BEYOND = 2e-6  # per row · column past EVALUATE_ROWS
WRITE_FIXED = 5.0  # the reports' charts and the PDF (WeasyPrint): 4.9 s for 2,000 rows
PREPARE_FIXED = 0.8  # typing the columns, the holdout split: 1.0-1.1 s for 2,000-5,000 rows
SAMPLE_FIXED = 0.5  # made-up columns' state, dtypes: 0.9 s for 1,600 rows of which 0.2 s model
WRITE_PER_CELL = 1.5e-6  # synthetic.csv and synthetic.parquet
SPREAD = (0.8, 1.25)  # the constants' own uncertainty around the figure


def planned_epochs(method: str, private: bool, epochs: int | None
                   ) -> tuple[int | None, bool]:
    """(the most epochs the run may train, whether early stopping may end it sooner)."""
    if method == "autoregressive":
        if private:
            return epochs or AR_PRIVATE_EPOCHS, False
        return epochs or AR_MAX_EPOCHS, True
    info = METHODS.get(method)
    if info is None or "epochs" not in info.options:
        return None, False
    return epochs or info.page_epochs or info.defaults.get("epochs"), False


def planned_batch(method: str, private: bool, batch_size: int | None) -> int | None:
    """The batch the run will use (rows per step; with DP the expected Poisson batch)."""
    if batch_size:
        return batch_size
    if method == "autoregressive":
        return AR_PRIVATE_BATCH if private else AR_BATCH
    return METHODS[method].defaults.get("batch_size") if method in METHODS else None


def expected_epochs(most: int, train_rows: int) -> float:
    """The epochs early stopping is expected to train (at most `most`)."""
    scale = (EARLY_STOP_ROWS / max(train_rows, 1)) ** EARLY_STOP_POWER
    return min(float(most), max(AR_PATIENCE + 1.0, EARLY_STOP_EPOCHS * scale))


@dataclass(frozen=True)
class Estimate:
    """Seconds per stage (STAGES order), the range of the total, and the epochs behind it."""

    stages: dict[str, float]
    low: float
    high: float
    epochs: float | None = None  # the epochs expected to run
    max_epochs: int | None = None  # the most allowed
    early_stopping: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.stages.values())

    def words(self) -> str:
        """The total as a range people read: 'about 3–5 min'."""
        return "about " + span_words(self.low, self.high)

    def to_dict(self) -> dict[str, Any]:
        return {"stages": dict(self.stages), "low": self.low, "high": self.high,
                "epochs": self.epochs, "max_epochs": self.max_epochs,
                "early_stopping": self.early_stopping}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estimate:
        return cls(stages={k: float(v) for k, v in data["stages"].items()},
                   low=float(data["low"]), high=float(data["high"]),
                   epochs=data.get("epochs"), max_epochs=data.get("max_epochs"),
                   early_stopping=bool(data.get("early_stopping")))


def estimate_run(method: str, rows: int, columns: int, *, epochs: int | None = None,
                 private: bool = False, evaluate: bool = True,
                 synthetic_rows: int | None = None, made_up: int = 0,
                 holdout_fraction: float = 0.2,
                 batch_size: int | None = None, categorical: int = 0) -> Estimate | None:
    """The seconds each stage of a run should take on the 2-core CPU; None for a method
    without constants. `rows`: the table's rows; `columns`: the learned columns;
    `categorical`: how many of them hold categories (or yes / no); `made_up`: the columns made
    up from scratch (PII, keys); `synthetic_rows`: None, as many as the training rows."""
    cost = THROUGHPUT.get(method)
    if cost is None:
        return None
    private = private and METHODS[method].dp != "never"
    most, early = planned_epochs(method, private, epochs)
    train_rows = max(1, round(rows * (1 - holdout_fraction)))
    out_rows = synthetic_rows or train_rows
    columns = max(1, columns)
    expected = expected_epochs(most, train_rows) if early and most else most
    batch = planned_batch(method, private, batch_size) or train_rows
    steps = math.ceil(train_rows / batch)

    def stages(run_epochs: float | None) -> dict[str, float]:
        per_epoch = max(cost.train * (cost.dp_factor if private else 1.0) * train_rows * columns,
                        cost.step * steps)
        sample = cost.sample * (cost.dp_sample_factor if private else 1.0)
        cells = rows * (columns + made_up)
        per_cell = EVALUATE_PER_CELL + EVALUATE_PER_CELL_CATEGORIES * min(categorical,
                                                                          columns) ** 2
        evaluated = (EVALUATE_FIXED + per_cell * min(rows, EVALUATE_ROWS) * columns
                     + EVALUATE_BEYOND * max(0, rows - EVALUATE_ROWS) * columns)
        return {
            "reading": START_SECONDS + READ_PER_CELL * cells + cost.load,
            "schema": (DP_SCHEMA_PER_CELL if private else SCHEMA_PER_CELL) * cells,
            "preprocessing": PREPARE_FIXED + cost.prepare * train_rows * columns,
            "training": (per_epoch * (run_epochs if run_epochs else 1.0) + cost.fixed
                         + (cost.dp_fixed if private else 0.0)),
            "sampling": (SAMPLE_FIXED + sample * out_rows * columns
                         + MADE_UP_PER_CELL * out_rows * made_up),
            "evaluating": evaluated if evaluate else 0.0,
            "writing": WRITE_FIXED + WRITE_PER_CELL * out_rows * (columns + made_up),
        }

    figure = stages(expected)
    total = sum(figure.values())
    low, high = total * SPREAD[0], total * SPREAD[1]
    if early and expected:  # the epochs early stopping may run are the wider uncertainty
        low_epochs = max(AR_PATIENCE + 1.0, expected * EARLY_STOP_SPREAD[0])
        high_epochs = min(float(most), expected * EARLY_STOP_SPREAD[1])
        low = min(low, sum(stages(low_epochs).values()))
        high = max(high, sum(stages(high_epochs).values()))
    return Estimate(figure, low, high, expected, most, early)


def span_words(low: float, high: float) -> str:
    """A range of durations, each end rounded to the unit of the upper one: '20–30 s',
    '3–5 min', '1.5–2 h'; one figure when they meet."""
    if high < 90:
        a, b = max(1, _round_to(low, 5)), max(1, _round_to(high, 5))
        return f"{a} s" if a >= b else f"{a}–{b} s"
    if high < 90 * 60:
        a, b = max(1, round(low / 60)), max(1, round(high / 60))
        return f"{a} min" if a >= b else f"{a}–{b} min"
    a, b = round(low / 1800) / 2, round(high / 1800) / 2
    return f"{a:g} h" if a >= b else f"{a:g}–{b:g} h"


def duration_words(seconds: float) -> str:
    """A duration to read at a glance: '45 s', '2 min 05 s', '1 h 04 min'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _round_to(value: float, step: int) -> int:
    return round(value / step) * step if value >= step else round(value)


def remaining_seconds(estimate: Estimate, stage: str, fraction: float,
                      stage_started: dict[str, float], started_at: float,
                      now: float) -> float:
    """Seconds left: the current stage's (from its fraction done and elapsed time, trusted
    more as the fraction grows, else the estimate), plus the later stages' estimates, all
    scaled by how slow the finished stages ran against their estimates.

    `stage`: a STAGES name; `stage_started`: when each stage (STAGES names) began;
    `fraction`: the current stage's, in [0, 1] (for training with early stopping, of the
    epochs expected rather than the most allowed)."""
    order = [s for s in STAGES if s in estimate.stages]
    current = order.index(stage) if stage in order else 0
    begun = max(stage_started.get(stage, started_at), started_at)
    done_estimate = sum(estimate.stages[s] for s in order[:current])
    speed = 1.0
    if done_estimate >= 5.0:  # enough finished work to judge this machine's pace today
        speed = min(4.0, max(0.5, (begun - started_at) / done_estimate))
    elapsed = max(0.0, now - begun)
    planned = estimate.stages.get(stage, 0.0) * speed
    left = max(planned - elapsed, 0.0)
    fraction = min(max(fraction, 0.0), 1.0)
    if fraction >= 0.02 and elapsed >= 1.0:
        measured = elapsed * (1 - fraction) / fraction
        trust = math.sqrt(fraction)
        left = trust * measured + (1 - trust) * left
    later = sum(estimate.stages[s] for s in order[current + 1:]) * speed
    return left + later


def training_fraction(estimate: Estimate, fraction: float) -> float:
    """The share of training done, reckoned against the epochs expected when early stopping
    may end it (the model reports its fraction of the most epochs allowed)."""
    if not estimate.early_stopping or not estimate.epochs or not estimate.max_epochs:
        return fraction
    if fraction >= 1.0:
        return 1.0
    return min(0.95, fraction * estimate.max_epochs / estimate.epochs)
