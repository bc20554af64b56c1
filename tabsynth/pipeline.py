"""One path for every front end: read -> schema -> split -> fit on train -> sample -> evaluate
-> write. `synthesize` is what the CLI, the page's worker and the Python API call."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.capacity import check_ctgan
from tabsynth.constraints.conditions import Condition, allocate
from tabsynth.constraints.rules import Rule, broken_share, parse_rules, rule_lines
from tabsynth.device import device_name
from tabsynth.dp.claim import SAMPLING_PUBLIC, sampled_input_words
from tabsynth.errors import ConfigError, TableError, TabsynthError
from tabsynth.evaluation.privacy import EXCLUDED
from tabsynth.evaluation.roles import check_choice
from tabsynth.evaluation.run import evaluate
from tabsynth.evaluation.utility import MAX_TRAIN_ROWS as UTILITY_TRAIN_ROWS
from tabsynth.evaluation.utility import imbalanced, rebalanced_utility
from tabsynth.io import ReadLimits, read_table, reading_notes
from tabsynth.outputs import write_outputs
from tabsynth.progress import ProgressCallback, ProgressEvent, StopCheck
from tabsynth.release import PII_HANDLING
from tabsynth.report_header import report_header
from tabsynth.runs import LoadedTable, RunResult
from tabsynth.sampled_read import RowSampling, read_sampled
from tabsynth.schema import Schema, coerce_frame, unfit_notes
from tabsynth.settings import OutputSettings, ReadSettings, RunConfig
from tabsynth.split import secret_holdout_mask, split_holdout
from tabsynth.synthesizers import Synthesizer, make_synthesizer

__all__ = ["LoadedTable", "OutputSettings", "ReadSettings", "RunConfig", "RunResult",
           "load_table", "run", "synthesize", "write_outputs"]


def load_table(source: bytes | str | Path, filename: str | None = None,
               limits: ReadLimits | None = None, sheet: str | None = None,
               header: bool = True, sampling: RowSampling | None = None) -> LoadedTable:
    """Read raw bytes or a path and remember the input's SHA-256 for the audit record.

    With `sampling`, a table over the reading limits (or any table, when it sets a rate) is
    read as a sample, streaming through the input; without, it is refused."""
    limits = limits or ReadLimits()
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise TableError(f"input file not found: {path}")
        filename = filename or path.name
    if sampling is not None:
        frame = read_sampled(source, filename, limits, header, sampling)
        if frame is not None:
            return _loaded(frame, _sha256(source), filename or "upload")
    data = Path(source).read_bytes() if isinstance(source, str | Path) else bytes(source)
    frame = read_table(data, filename=filename, limits=limits, sheet=sheet, header=header)
    return _loaded(frame, hashlib.sha256(data).hexdigest(), filename or "upload")


def _loaded(frame: pd.DataFrame, sha256: str, filename: str) -> LoadedTable:
    """The table as read, what reading noted moved out of the frame's attributes (pandas would
    carry them into any Parquet file written from the frame or a slice of it)."""
    notes, rate = reading_notes(frame), frame.attrs.get("sample_rate")
    frame.attrs.clear()
    return LoadedTable(frame, sha256, filename, notes, rate)


def row_sampling(read: ReadSettings, config: RunConfig) -> RowSampling | None:
    """How a run samples a large input while reading: seeded by the run's seed, or secret in a
    DP run (which samples only at a rate the user set)."""
    if not read.sample_large:
        return None
    return RowSampling(rate=read.sample_rate, seed=None if config.private else config.seed,
                       private=config.private)


def sampled_table(source: str | Path, read: ReadSettings,
                  config: RunConfig) -> LoadedTable | None:
    """A large input (or any, with a rate) read here as a sample, so that only the sample
    travels to a cluster; None when the input is read whole where the run happens."""
    sampling = row_sampling(read, config)
    if sampling is None:
        return None
    frame = read_sampled(source, None, read.limits, read.header, sampling)
    return None if frame is None else _loaded(frame, _sha256(source), Path(source).name)


def _sha256(source: bytes | str | Path) -> str:
    if not isinstance(source, str | Path):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with Path(source).open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def synthesize(source: bytes | str | Path | LoadedTable, config: RunConfig, *,
               filename: str | None = None, schema: Schema | None = None,
               read: ReadSettings | None = None, out_dir: str | Path | None = None,
               output: OutputSettings | None = None, progress: ProgressCallback | None = None,
               should_stop: StopCheck | None = None) -> RunResult:
    """Read `source`, run, and (when `out_dir` is given) write the run's files there."""
    read = read or ReadSettings()
    emit = progress or (lambda _event: None)
    if not isinstance(source, LoadedTable):
        emit(ProgressEvent("read", 0.0, f"reading {filename or 'the table'}"))
    table = source if isinstance(source, LoadedTable) else load_table(
        source, filename=filename, limits=read.limits, sheet=read.sheet, header=read.header,
        sampling=row_sampling(read, config))
    result = run(table, config, schema=schema, progress=progress, should_stop=should_stop)
    if out_dir is not None:
        emit(ProgressEvent("write", 0.0, "writing the synthetic table and the reports"))
        result.paths = write_outputs(result, out_dir, output)
        emit(ProgressEvent("write", 1.0, "written"))
    return result


def run(table: LoadedTable, config: RunConfig, schema: Schema | None = None,
        progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None) -> RunResult:
    """Fit the chosen synthesizer on a train split and sample from it."""
    config.validate()
    emit = progress or (lambda _event: None)
    frame = table.frame
    in_holdout = None
    if config.private:  # split first, so an inferred schema describes the training rows only
        in_holdout = secret_holdout_mask(len(frame), config.holdout_fraction)
    public = config.public_schema
    if isinstance(public, str):
        from tabsynth.dp.public import parse_public_schema

        public = parse_public_schema(public)
    synthesizer = make_synthesizer(config.method, epochs=config.epochs,
                                   batch_size=config.batch_size, device=config.device,
                                   epsilon=config.epsilon, delta=config.delta,
                                   public=public, seed=config.seed, target=config.target,
                                   workers=config.workers)
    learning = schema is None or (config.learn_schema and config.private)
    emit(ProgressEvent("schema", 0.0, "checking the schema" if not learning else
                       "learning the column kinds under ε" if config.private else
                       "learning the column kinds"))
    if schema is not None:
        schema.check_against(frame)
        if config.target is not None:
            schema.target = config.target
    if schema is None or (config.learn_schema and config.private):
        # in a DP run: learned from noisy counts, charged to the fit's budget, with only the
        # user's own edits applied (a given schema is otherwise set aside)
        source = frame if in_holdout is None else frame[~in_holdout].reset_index(drop=True)
        target = config.target if config.target is not None else (
            schema.target if schema is not None else None)
        schema = synthesizer.infer_schema(source, target=target,
                                          choices=config.schema_choices or {})
    schema.check_against(frame)
    included = [c.name for c in schema.included]
    if not included:
        raise TableError("every column is excluded: include at least one column")
    check_roles(schema, config.quasi_identifiers, config.secrets)
    rules = read_rules(config.rules, schema, synthesizer)
    lenient = synthesizer.schema_learned_privately
    typed = coerce_frame(frame, schema, lenient=lenient)
    if lenient:  # values that do not fit a learned kind: named in the review, never silent
        table = dataclasses.replace(table, notes=[*table.notes,
                                                  *unfit_notes(frame, typed, schema)])
    if in_holdout is None:
        train, holdout = split_holdout(typed, config.holdout_fraction, config.seed,
                                       schema.target)
    else:
        train = typed[~in_holdout].reset_index(drop=True)
        holdout = typed[in_holdout].reset_index(drop=True)
    if config.method == "ctgan":
        check_ctgan(train, schema)
    device = synthesizer.device
    emit(ProgressEvent("split", 1.0, f"{len(train):,} train / {len(holdout):,} holdout rows"))
    # beyond the training limit the model sees a sample: the evaluation (the privacy attacks'
    # members above all) compares with the rows it was fitted on
    train, sampled_note = training_rows(train, config)
    started = time.perf_counter()
    # every real value as read: a DP schema's kinds can turn a column of names into missing
    # dates, and no made-up value may be one of those names
    synthesizer.fit(train[schema.names], schema, progress=emit, should_stop=should_stop,
                    real_values=frame[schema.names])
    fit_seconds = time.perf_counter() - started
    # drawn again with the model: the rules only (a comment line of the file is not saved)
    synthesizer.run_rules = "\n".join(rule_lines(config.rules or "")) if rules else None
    rows = config.rows or synthesizer.released_rows or len(train)
    emit(ProgressEvent("sample", 0.0, f"sampling {rows:,} rows"))
    started = time.perf_counter()
    synthetic = synthesizer.sample(rows, seed=config.seed, rules=rules)
    sample_seconds = time.perf_counter() - started
    emit(ProgressEvent("sample", 1.0, "sampled"))
    report = build_report(table, config, schema, synthesizer, device, train, holdout, synthetic,
                          fit_seconds, sample_seconds)
    if rules:
        report["rules"] = rules_report(rules, typed, synthetic)
    if sampled_note:
        report["run"]["training_sample"] = sampled_note
    claim = report["privacy"]["dp"]
    if table.sample_rate is not None and claim:
        claim["unit"] += sampled_input_words(table.sample_rate, claim["epsilon"],
                                             claim["delta"])
        claim["not_covered"] = [*claim["not_covered"][:1], SAMPLING_PUBLIC,
                                *claim["not_covered"][1:]]
    if config.evaluate:
        regenerated = [c.name for c in schema.included if c.regenerated]
        claim = report["privacy"]["dp"]
        report.update(evaluate(train[[c.name for c in schema.included]], holdout[
            [c.name for c in schema.included]], synthetic, target=schema.target,
            exclude=regenerated, seed=config.seed,
            quasi_identifiers=config.quasi_identifiers, secrets=config.secrets,
            kinds={c.name: c.kind for c in schema.included}, progress=emit))
        report["privacy"]["dp"] = claim
        rebalanced = rebalancing_check(synthesizer, train, holdout, synthetic, schema, rows,
                                       config.seed, report.get("utility") or {})
        if rebalanced:
            report["utility"]["rebalanced"] = rebalanced
        emit(ProgressEvent("evaluate", 1.0, "evaluated"))
    return RunResult(synthetic, train, holdout, schema, synthesizer, report)


def training_rows(train: pd.DataFrame, config: RunConfig) -> tuple[pd.DataFrame, str | None]:
    """The rows the model is fitted on, and a note when they are a sample: without DP a train
    split beyond `max_train_rows` is fitted on a uniform sample of that many rows (seeded by
    the run's seed); a DP run always trains on every row (DP-SGD already samples each step's
    rows, and its accounting covers exactly that)."""
    limit = config.max_train_rows
    if config.private or len(train) <= limit:
        return train, None
    chosen = np.sort(np.random.default_rng(config.seed).choice(len(train), limit,
                                                                replace=False))
    note = (f"the model was fitted on a uniform sample of {limit:,} of the {len(train):,} "
            "training rows (the training limit; raise it with --max-train-rows); the "
            "evaluation compares with the rows it was fitted on, the privacy attacks' members "
            "among them")
    return train.iloc[chosen].reset_index(drop=True), note


def read_rules(text: str | None, schema: Schema, synthesizer: Synthesizer) -> list[Rule]:
    """The run's business rules read against its schema, before anything is fitted."""
    if not text or not text.strip():
        return []
    if not synthesizer.conditional:
        raise ConfigError(f"rules are enforced while sampling by the autoregressive method; "
                          f"the {synthesizer.method} method cannot: choose autoregressive or "
                          "leave the rules out")
    return parse_rules(text, schema)


def rules_report(rules: list[Rule], real: pd.DataFrame,
                 synthetic: pd.DataFrame) -> list[dict[str, Any]]:
    """Each rule with the share of real rows (train and holdout) that break it, a check of the
    user's own for the internal review (never released: it is a count of real rows), and the
    share of synthetic rows that do (none, as sampling enforces them)."""
    on_real, on_synthetic = broken_share(real, rules), broken_share(synthetic, rules)
    return [{"rule": rule.describe(), "real_rows_breaking": on_real[rule.describe()],
             "synthetic_rows_breaking": on_synthetic[rule.describe()]} for rule in rules]


def rebalancing_check(synthesizer: Synthesizer, train: pd.DataFrame, holdout: pd.DataFrame,
                      synthetic: pd.DataFrame, schema: Schema, rows: int, seed: int,
                      utility: dict[str, Any]) -> dict[str, Any] | None:
    """For a model that draws rows under conditions and an imbalanced classification target:
    as many rows as a downstream model trains on, drawn again with equal shares of each class,
    and what they do to that model beside the natural rows (None where that does not apply)."""
    target = utility.get("target")
    if not (synthesizer.conditional and utility.get("task") == "classification" and target
            and target in synthetic and imbalanced(train[target])):
        return None
    try:
        classes = synthesizer.categories_of(target)  # type: ignore[attr-defined]
    except TabsynthError:
        return None
    equal = [(value, 1 / len(classes)) for value in classes]
    regenerated = [c.name for c in schema.included if c.regenerated]
    # as many as the model on the natural rows trains on: more would be drawn to be dropped
    # (a million rows of a large table took five minutes here to give 20,000)
    rows = min(rows, UTILITY_TRAIN_ROWS)
    try:  # a side check: a class the model cannot draw, or a model that cannot be fitted on
        # these rows (a column with no values), leaves it out rather than failing the run
        parts = [synthesizer.sample(n, seed=seed + 1 + i,
                                    conditions=[Condition(target, values=(value,))])
                 for i, (value, n) in enumerate(allocate(0, rows, equal)) if n]
        balanced = pd.concat(parts, ignore_index=True)
        return rebalanced_utility(train, holdout, synthetic, balanced, target, regenerated,
                                  seed)
    except (ValueError, TabsynthError):
        return None


def check_roles(schema: Schema, quasi_identifiers: list[str] | None,
                secrets: list[str] | None) -> None:
    """The named quasi-identifiers and secrets must be learned columns (checked before any
    fitting, so a typo costs nothing)."""
    unavailable = {c.name: EXCLUDED for c in schema.included if c.regenerated}
    unavailable.update({c.name: "is excluded from the run" for c in schema.columns
                        if not c.include})
    check_choice([c.name for c in schema.learned], quasi_identifiers, secrets, unavailable)


def build_report(table: LoadedTable, config: RunConfig, schema: Schema,
                 synthesizer: Synthesizer, device: str, train: pd.DataFrame,
                 holdout: pd.DataFrame, synthetic: pd.DataFrame, fit_seconds: float,
                 sample_seconds: float) -> dict[str, Any]:
    """The audit part of report.json: what ran, on what, and which columns were PII."""
    claim = synthesizer.privacy_claim
    report = report_header(
        {"method": config.method, "device": device, "device_name": device_name(device),
         "seed": config.seed, "fit_seconds": round(fit_seconds, 3),
         "sample_seconds": round(sample_seconds, 3), "train_rows": len(train),
         "holdout_rows": len(holdout), "synthetic_rows": len(synthetic),
         "holdout_fraction": config.holdout_fraction, "target": schema.target,
         "epochs": synthesizer.epochs_trained,  # as trained: early stopping may cut it
         "max_epochs": getattr(synthesizer, "epochs", None),
         # how training ended, in words (early stopping: the epoch and why)
         **({"stopping": synthesizer.fit_info["stopping"]}
            if synthesizer.fit_info.get("stopping") else {}),
         "epsilon_target": getattr(synthesizer, "epsilon", None),
         "training": synthesizer.fit_info,
         "batch_size": getattr(synthesizer, "batch_size", None),
         "discloses": synthesizer.discloses},
        {"filename": table.filename, "sha256": table.sha256, "rows": len(table.frame),
         "columns": len(table.frame.columns), "notes": table.notes})
    return {
        **report,
        "schema": schema.to_dict(),
        "pii": {
            "columns": schema.pii_columns,
            "details": [
                {"column": c.name, "kind": c.pii, "reason": c.reason,
                 "faker_provider": c.faker_provider}
                for c in schema.included if c.pii
            ],
            "identifiers": [c.name for c in schema.included if c.kind == "identifier"],
            "handling": PII_HANDLING,
        },
        "privacy": {"dp": claim.to_dict() if claim else None},
    }


