"""The time estimate (tabsynth/estimate.py) and the running panel's words (ui_support): pure
functions, a clock passed in, no run and no sleep."""

from __future__ import annotations

from pathlib import Path

import pytest

from tabsynth.estimate import (
    AR_BATCH,
    AR_MAX_EPOCHS,
    AR_PATIENCE,
    AR_PRIVATE_BATCH,
    AR_PRIVATE_EPOCHS,
    STAGES,
    Estimate,
    estimate_run,
    remaining_seconds,
    span_words,
)
from tabsynth.jobs import Job
from tabsynth.ui_support import estimate_words, metric_words, panel_words, settings_words

CENSUS = (48_842, 15)  # rows, learned columns


def total(method: str = "autoregressive", rows: int = CENSUS[0], columns: int = CENSUS[1],
          **options) -> float:
    return estimate_run(method, rows, columns, **options).total


@pytest.mark.parametrize("method", ["autoregressive", "dp-gan", "ctgan", "gaussian-copula",
                                    "faker"])
def test_more_rows_columns_and_epochs_take_longer(method: str) -> None:
    assert total(method, rows=10_000) < total(method, rows=20_000) < total(method, rows=80_000)
    assert total(method, columns=5) < total(method, columns=15) < total(method, columns=40)
    if method in ("dp-gan", "ctgan"):
        assert total(method, epochs=5) < total(method, epochs=20) < total(method, epochs=100)
    assert total(method, rows=20_000, made_up=4) > total(method, rows=20_000)


@pytest.mark.parametrize("method", ["dp-gan", "ctgan"])
def test_on_a_small_table_smaller_batches_take_longer(method: str) -> None:
    """A GAN's step costs more than its few rows: on 300 rows, ten times the steps per epoch
    must cost more than the same rows in one step each epoch."""
    def training(batch: int) -> float:
        return estimate_run(method, 300, 5, epochs=300, batch_size=batch).stages["training"]

    assert training(30) > 2 * training(500)


@pytest.mark.parametrize("method", ["autoregressive", "dp-gan"])
def test_differential_privacy_costs_more_and_a_method_without_it_ignores_the_flag(
        method: str) -> None:
    assert total(method, private=True, epochs=15) > total(method, epochs=15)
    assert total("ctgan", private=True) == total("ctgan")


def test_the_estimate_includes_evaluation_and_every_stage() -> None:
    """The user waited 14-85 s in evaluation that the old estimate left out."""
    with_evaluation = estimate_run("autoregressive", *CENSUS, categorical=9)
    without = estimate_run("autoregressive", *CENSUS, evaluate=False, categorical=9)
    assert list(with_evaluation.stages) == list(STAGES)
    assert with_evaluation.stages["evaluating"] >= 10  # census: 11.5 s measured alone
    # a wide table of categories evaluates far longer (acs_income: 190 s measured)
    wide = estimate_run("autoregressive", 50_000, 32, categorical=29)
    assert wide.stages["evaluating"] > 10 * with_evaluation.stages["evaluating"]
    assert with_evaluation.total - without.total == pytest.approx(
        with_evaluation.stages["evaluating"])
    assert all(seconds > 0 for name, seconds in with_evaluation.stages.items()
               if name != "preprocessing")
    words = estimate_words(with_evaluation)
    assert "in all" in words and "evaluation" in words and "training" in words


def test_early_stopping_epochs_are_expected_not_the_most_allowed() -> None:
    """Without DP the autoregressive model may train 60 epochs but early stopping ends it
    sooner: more epochs on small tables (census 39,073 training rows: 20; 4,000: 59)."""
    big = estimate_run("autoregressive", *CENSUS)
    small = estimate_run("autoregressive", 5_000, 13)
    assert big.early_stopping and big.max_epochs == AR_MAX_EPOCHS
    assert 15 <= big.epochs <= 25 and big.epochs < small.epochs <= AR_MAX_EPOCHS
    assert big.low < big.total < big.high
    private = estimate_run("autoregressive", *CENSUS, private=True)
    assert not private.early_stopping and private.epochs == AR_PRIVATE_EPOCHS
    assert estimate_run("autoregressive", *CENSUS, epochs=8).epochs <= 8


def test_the_models_own_defaults_are_the_estimates() -> None:
    from tabsynth.synthesizers import autoregressive

    assert (autoregressive.PATIENCE, autoregressive.PRIVATE_EPOCHS,
            autoregressive.PRIVATE_BATCH) == (AR_PATIENCE, AR_PRIVATE_EPOCHS, AR_PRIVATE_BATCH)
    model = autoregressive.Autoregressive()
    assert (model.epochs, model.batch_size) == (AR_MAX_EPOCHS, AR_BATCH)


def test_ranges_read_as_people_say_them() -> None:
    assert span_words(180, 300) == "3–5 min"
    assert span_words(21, 29) == "20–30 s"
    assert span_words(58, 62) == "60 s"
    assert span_words(4_000, 6_000) == "1–1.5 h"
    assert estimate_run("autoregressive", *CENSUS).words().startswith("about ")


def test_the_estimate_travels_to_the_job_and_back() -> None:
    made = estimate_run("autoregressive", *CENSUS)
    assert Estimate.from_dict(made.to_dict()) == made


def _plan() -> Estimate:
    stages = dict.fromkeys(STAGES, 10.0)
    stages["training"] = 100.0
    return Estimate(stages, 120.0, 200.0, 20.0, 60, True)


def test_the_time_left_follows_the_current_stage_and_the_estimate_of_the_rest() -> None:
    plan, start = _plan(), 1_000.0
    # on schedule: 30 s into a planned 100 s of training, 30 % done
    begun = {"reading": start, "schema": start + 10, "preprocessing": start + 20,
             "training": start + 30}  # the three stages before took their 30 s
    left = remaining_seconds(plan, "training", 0.3, begun, start, now=start + 60)
    assert left == pytest.approx(70 + 30, rel=0.02)  # the rest of training, then 3 × 10 s
    # twice as slow as planned before training: the later stages' estimates double
    slow = {**begun, "training": start + 60}
    left_slow = remaining_seconds(plan, "training", 0.0, slow, start, now=start + 60)
    assert left_slow == pytest.approx(2 * 100 + 2 * 30)
    # training's own pace wins as it advances: 80 % done after 160 s leaves about 40 s
    late = remaining_seconds(plan, "training", 0.8, begun, start, now=start + 190)
    assert 30 + 30 <= late <= 45 + 30
    assert remaining_seconds(plan, "writing", 1.0, begun, start, now=start + 500) == 0


def _job(**progress) -> Job:
    plan = estimate_run("autoregressive", *CENSUS)
    job = Job(id="j", owner="o", folder=Path("/nonexistent"), started_at=1_000.0,
              filename="census.csv.gz", config={"method": "autoregressive", "seed": 0,
                                                "epsilon": float("inf"), "epochs": None},
              estimate=plan.to_dict())
    job.progress = progress
    job.stage_started = {"read": 1_003.0, "schema": 1_007.0, "split": 1_007.5,
                         "preprocess": 1_007.6, "train": 1_009.0}
    return job


def test_the_running_panel_says_elapsed_stage_time_left_and_what_runs() -> None:
    job = _job(stage="train", fraction=12 / 60, message="epoch 12/60",
               metrics={"validation_nll": 35.214})
    panel = panel_words(job, now=1_155.0)
    assert panel.headline.startswith("Training · 2 min 35 s elapsed · about ")
    assert panel.headline.endswith(" left")
    assert "epoch 12/60" in panel.bar and "early stopping usually ends it near epoch" in panel.bar
    assert panel.running == ("Running census.csv.gz · autoregressive, no differential privacy"
                             " · at most 60 epochs, stopping early when the validation loss "
                             "stops improving · batch 512 rows")
    assert panel.metrics.startswith("validation loss 35.2 (")
    assert "lower is better" in panel.metrics and "validation_nll" not in panel.metrics
    assert panel.stages.startswith("reading ✓ · learning the schema ✓ · preprocessing ✓ · "
                                   "**training** · sampling")
    assert 0 < panel.fraction < 1 and panel.ended == ""


def test_the_time_left_shrinks_as_training_advances() -> None:
    early = panel_words(_job(stage="train", fraction=5 / 60, message="epoch 5/60"), 1_040.0)
    later = panel_words(_job(stage="train", fraction=15 / 60, message="epoch 15/60"),
                        1_100.0)
    assert later.fraction > early.fraction


def test_the_panel_keeps_how_training_ended() -> None:
    job = _job(stage="sample", fraction=0.0, message="sampling 39,073 rows")
    job.stage_ended = {"train": "stopped at epoch 29: no improvement for 3 epochs, so the "
                                "model of epoch 26 is kept"}
    panel = panel_words(job, now=1_200.0)
    assert panel.headline.startswith("Sampling · 3 min 20 s elapsed")
    assert panel.ended == ("Training: stopped at epoch 29: no improvement for 3 epochs, so the "
                           "model of epoch 26 is kept")
    assert "training ✓" in panel.stages


def test_a_job_before_its_first_event_is_starting() -> None:
    job = _job()
    job.stage_started = {}
    panel = panel_words(job, now=1_001.0)
    assert panel.headline.startswith("Reading · 1 s elapsed · about ")
    assert panel.bar == "reading: starting the worker"


def test_settings_and_metrics_in_words() -> None:
    private = {"method": "autoregressive", "epsilon": 1.0, "epochs": None}
    assert settings_words("a.csv", private) == (
        "a.csv · autoregressive with differential privacy (ε = 1) · 15 epochs · "
        "expected batch 1,000 rows")
    assert settings_words("a.csv", {"method": "dp-gan", "epochs": 5, "batch_size": 500}) == (
        "a.csv · dp-gan with differential privacy (ε = 3) · 5 epochs · expected batch 500 rows")
    assert settings_words("a.csv", {"method": "gaussian-copula"}) == "a.csv · gaussian-copula"
    assert metric_words({"epoch": 3.0, "epsilon": 0.42}, 1.0) == (
        "privacy spent so far: ε = 0.42 of 1")
    gan = metric_words({"generator_loss": 0.7, "discriminator_loss": 1.3})
    assert gan.startswith("generator loss 0.7; discriminator loss 1.3; ")
    assert "swing" in gan
