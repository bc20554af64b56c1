"""One path for every front end: read -> schema -> split -> fit on train -> sample -> report."""

from __future__ import annotations

import errno
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth import __version__
from tabsynth.capacity import check_ctgan
from tabsynth.device import device_name, resolve_device
from tabsynth.dp.noise import SecretNoise
from tabsynth.errors import ConfigError, TableError
from tabsynth.evaluation.privacy import EXCLUDED
from tabsynth.evaluation.roles import check_choice
from tabsynth.evaluation.run import evaluate
from tabsynth.io import (
    ReadLimits,
    csv_bytes,
    read_table,
    reading_notes,
    write_files_atomic,
)
from tabsynth.release import PII_HANDLING, release_report, render_release_html
from tabsynth.report import REVIEW_NOTICE, html_to_pdf, render_html
from tabsynth.schema import Schema, coerce_frame, format_for_export, infer_schema
from tabsynth.synthesizers import (
    METHODS,
    ProgressCallback,
    ProgressEvent,
    StopCheck,
    Synthesizer,
    make_synthesizer,
)

LIBRARIES = ("sdv", "sdmetrics", "torch", "opacus", "anonymeter", "pandas", "numpy", "faker",
             "scikit-learn")


@dataclass
class RunConfig:
    """Everything that decides a run; defaults are what the CLI uses."""

    method: str = "gaussian-copula"
    rows: int | None = None
    seed: int = 0
    epochs: int | None = None
    batch_size: int | None = None
    device: str = "auto"
    holdout_fraction: float = 0.2
    target: str | None = None
    escape_formulas: bool = True
    sheet: str | None = None
    epsilon: float | None = None  # dp-gan: None -> 3; autoregressive: None -> no DP; inf: no DP
    delta: float | None = None  # dp-gan: None -> min(1e-6, 1 / (n * sqrt(n)))
    public_schema: dict[str, Any] | None = None  # dp-gan: column -> PublicColumn (or JSON text)
    evaluate: bool = True  # fidelity / utility / privacy sections of the report
    quasi_identifiers: list[str] | None = None  # the attacker's known columns (None: suggested)
    secrets: list[str] | None = None  # what the attacker infers (None: target + sensitive)
    limits: ReadLimits = field(default_factory=ReadLimits)

    @property
    def private(self) -> bool:
        """True when the run makes a differential-privacy claim."""
        if self.method == "autoregressive":  # non-private unless an epsilon is given
            return self.epsilon is not None and math.isfinite(self.epsilon)
        return self.method == "dp-gan" and (self.epsilon is None or math.isfinite(self.epsilon))

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.rows is not None and not 1 <= self.rows <= 10_000_000:
            raise ConfigError(f"--rows must be between 1 and 10,000,000 (got {self.rows})")
        if not 0.05 <= self.holdout_fraction <= 0.5:
            raise ConfigError(
                f"--holdout-fraction must be between 0.05 and 0.5 (got {self.holdout_fraction})"
            )
        if self.epochs is not None and not 1 <= self.epochs <= 10_000:
            raise ConfigError(f"--epochs must be between 1 and 10,000 (got {self.epochs})")
        if self.epsilon is not None and (self.epsilon != self.epsilon or self.epsilon <= 0):
            raise ConfigError(f"--epsilon must be positive, or inf for no DP (got {self.epsilon})")
        if self.delta is not None and not 0 < self.delta < 1:
            raise ConfigError(f"--delta must be between 0 and 1 (got {self.delta})")
        if self.batch_size is not None and (self.batch_size < 10 or self.batch_size % 10):
            raise ConfigError(f"--batch-size must be a multiple of 10, at least 10 "
                              f"(got {self.batch_size})")


@dataclass
class LoadedTable:
    frame: pd.DataFrame
    sha256: str
    filename: str
    notes: list[str] = field(default_factory=list)  # what reading guessed or changed


@dataclass
class RunResult:
    synthetic: pd.DataFrame
    train: pd.DataFrame
    holdout: pd.DataFrame
    schema: Schema
    synthesizer: Synthesizer
    report: dict[str, Any]


def load_table(source: bytes | str | Path, filename: str | None = None,
               limits: ReadLimits | None = None, sheet: str | None = None) -> LoadedTable:
    """Read raw bytes or a path and remember the input's SHA-256 for the audit record."""
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise TableError(f"input file not found: {path}")
        data = path.read_bytes()
        filename = filename or path.name
    else:
        data = bytes(source)
    frame = read_table(data, filename=filename, limits=limits, sheet=sheet)
    return LoadedTable(frame, hashlib.sha256(data).hexdigest(), filename or "upload",
                       reading_notes(frame))


def _too_few_rows(rows: int, fraction: float) -> TableError:
    return TableError(f"the table has {rows} rows: too few to split off a {fraction:.0%} "
                      "holdout and still train; provide more rows")


def secret_holdout_mask(rows: int, fraction: float) -> np.ndarray:
    """For a DP run: each row goes to the holdout by its own secret coin flip.

    Adding or removing a row leaves every other row where it was, and nobody can replay the
    flips (OS-seeded, never recorded). Draws leaving fewer than 2 holdout or 5 training rows are
    redrawn; that depends on the row count only, and never happens beyond a few dozen rows.
    """
    coins = SecretNoise()
    for _ in range(1000):
        mask = coins.coin_flips(rows, fraction)
        if mask.sum() >= 2 and rows - mask.sum() >= 5:
            return mask
    raise _too_few_rows(rows, fraction)


def split_holdout(frame: pd.DataFrame, fraction: float, seed: int,
                  target: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut a seeded holdout before anything is fitted; stratified on the target when given."""
    from sklearn.model_selection import train_test_split

    holdout_rows = round(len(frame) * fraction)
    if holdout_rows < 2 or len(frame) - holdout_rows < 5:
        raise _too_few_rows(len(frame), fraction)
    strata = _strata(frame[target]) if target is not None else None
    train, holdout = train_test_split(frame, test_size=holdout_rows, random_state=seed,
                                      shuffle=True, stratify=strata)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def _strata(target: pd.Series) -> pd.Series | None:
    labels = target.astype(object).where(target.notna(), "__missing__")
    if pd.api.types.is_numeric_dtype(target) and target.nunique() > 20:
        labels = pd.qcut(target.rank(method="first"), 5, labels=False).astype(object)
        labels = labels.where(target.notna(), "__missing__")
    counts = labels.value_counts()
    labels = labels.where(labels.map(counts) >= 2, "__rare__")
    if labels.value_counts().min() < 2 or labels.nunique() < 2:
        return None
    return labels.astype(str)


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
    if schema is None:
        source = frame if in_holdout is None else frame[~in_holdout].reset_index(drop=True)
        schema = infer_schema(source, target=config.target)
    elif config.target is not None:
        schema.target = config.target
    schema.check_against(frame)
    included = [c.name for c in schema.included]
    if not included:
        raise TableError("every column is excluded: include at least one column")
    check_roles(schema, config.quasi_identifiers, config.secrets)
    typed = coerce_frame(frame, schema)
    if in_holdout is None:
        train, holdout = split_holdout(typed, config.holdout_fraction, config.seed,
                                       schema.target)
    else:
        train = typed[~in_holdout].reset_index(drop=True)
        holdout = typed[in_holdout].reset_index(drop=True)
    if config.method == "ctgan":
        check_ctgan(train, schema)
    device = resolve_device(config.device)
    public = config.public_schema
    if isinstance(public, str):
        from tabsynth.synthesizers.dp_gan import parse_public_schema

        public = parse_public_schema(public)
    synthesizer = make_synthesizer(config.method, epochs=config.epochs,
                                   batch_size=config.batch_size, device=device,
                                   epsilon=config.epsilon, delta=config.delta,
                                   public=public, seed=config.seed, target=config.target)
    emit(ProgressEvent("split", 1.0, f"{len(train):,} train / {len(holdout):,} holdout rows"))
    started = time.perf_counter()
    synthesizer.fit(train[schema.names], schema, progress=emit, should_stop=should_stop,
                    real_values=typed[schema.names])
    fit_seconds = time.perf_counter() - started
    rows = config.rows or synthesizer.released_rows or len(train)
    emit(ProgressEvent("sample", 0.0, f"sampling {rows:,} rows"))
    started = time.perf_counter()
    synthetic = synthesizer.sample(rows, seed=config.seed)
    sample_seconds = time.perf_counter() - started
    emit(ProgressEvent("sample", 1.0, "sampled"))
    report = build_report(table, config, schema, synthesizer, device, train, holdout, synthetic,
                          fit_seconds, sample_seconds)
    if config.evaluate:
        emit(ProgressEvent("evaluate", 0.0, "fidelity, utility and re-identification risk"))
        regenerated = [c.name for c in schema.included if c.regenerated]
        claim = report["privacy"]["dp"]
        report.update(evaluate(train[[c.name for c in schema.included]], holdout[
            [c.name for c in schema.included]], synthetic, target=schema.target,
            exclude=regenerated, seed=config.seed,
            quasi_identifiers=config.quasi_identifiers, secrets=config.secrets))
        report["privacy"]["dp"] = claim
        emit(ProgressEvent("evaluate", 1.0, "evaluated"))
    return RunResult(synthetic, train, holdout, schema, synthesizer, report)


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
    return {
        "notice": REVIEW_NOTICE,
        "tabsynth_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": {
            "method": config.method,
            "device": device,
            "device_name": device_name(device),
            "seed": config.seed,
            "fit_seconds": round(fit_seconds, 3),
            "sample_seconds": round(sample_seconds, 3),
            "train_rows": len(train),
            "holdout_rows": len(holdout),
            "synthetic_rows": len(synthetic),
            "holdout_fraction": config.holdout_fraction,
            "target": schema.target,
            "epochs": getattr(synthesizer, "epochs", None),
            "epsilon_target": getattr(synthesizer, "epsilon", None),
            "training": synthesizer.fit_info,
            "batch_size": getattr(synthesizer, "batch_size", None),
            "discloses": synthesizer.discloses,
            "libraries": library_versions(),
        },
        "input": {
            "filename": table.filename,
            "sha256": table.sha256,
            "rows": len(table.frame),
            "columns": len(table.frame.columns),
            "notes": table.notes,
        },
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


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_outputs(result: RunResult, out_dir: str | Path, escape_formulas: bool = True,
                  pdf: bool = True) -> dict[str, Path]:
    """Write into out_dir, all or nothing: synthetic.csv with the release report that may travel
    with it (release.json, release.html), and the internal review (report.json, report.html and,
    unless `pdf` is False, report.pdf)."""
    review = _jsonable(result.report)
    release = release_report(review)
    paths = _write_all(Path(out_dir), {
        "synthetic.csv": csv_bytes(format_for_export(result.synthetic, result.schema),
                                   escape=escape_formulas),
        "release.json": report_json(release),
        "release.html": render_release_html(release).encode("utf-8"),
        **review_files(review, pdf)})
    return {"synthetic": paths["synthetic.csv"], "report_json": paths["report.json"],
            "report_html": paths["report.html"], "report_pdf": paths.get("report.pdf"),
            "release_json": paths["release.json"], "release_html": paths["release.html"]}


def review_files(review: dict[str, Any], pdf: bool = True) -> dict[str, bytes]:
    """The internal review as report.json, report.html and report.pdf (the same page)."""
    review = _jsonable(review)
    page = render_html(review)
    files = {"report.json": report_json(review), "report.html": page.encode("utf-8")}
    if pdf:
        files["report.pdf"] = html_to_pdf(page)
    return files


def _write_all(out: Path, files: dict[str, bytes]) -> dict[str, Path]:
    try:
        return write_files_atomic(out, files)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            reason += "; free some space or choose another --out folder"
        raise ConfigError(f"cannot write to output folder {out}: {reason}; nothing was "
                          "written") from None


def evaluate_files(train_path: str | Path, holdout_path: str | Path,
                   synthetic_path: str | Path, out_dir: str | Path, target: str | None = None,
                   seed: int = 0, quasi_identifiers: list[str] | None = None,
                   secrets: list[str] | None = None, pdf: bool = True) -> dict[str, Any]:
    """`tabsynth evaluate`: the internal review of an existing trio of tables, typed by train's
    schema, as report.json / .html / .pdf (no release report: no synthetic data is produced
    here)."""
    tables = {name: load_table(path) for name, path in
              (("train", train_path), ("holdout", holdout_path), ("synthetic", synthetic_path))}
    schema = infer_schema(tables["train"].frame, target=target)
    check_roles(schema, quasi_identifiers, secrets)
    typed = {}
    for name, table in tables.items():
        missing = [c for c in schema.names if c not in table.frame.columns]
        if missing:
            raise TableError(f"the {name} table lacks columns of train: {missing}")
        try:
            typed[name] = coerce_frame(table.frame[schema.names], schema)
        except TableError as exc:
            raise TableError(f"{name} table: {exc}") from None
    regenerated = [c.name for c in schema.columns if c.regenerated]
    report: dict[str, Any] = {
        "notice": REVIEW_NOTICE,
        "tabsynth_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": {"method": "external", "seed": seed, "train_rows": len(typed["train"]),
                "holdout_rows": len(typed["holdout"]),
                "synthetic_rows": len(typed["synthetic"]), "target": target,
                "libraries": library_versions()},
        "input": {name: {"filename": t.filename, "sha256": t.sha256, "rows": len(t.frame)}
                  for name, t in tables.items()},
        "pii": {"columns": schema.pii_columns, "excluded_from_evaluation": regenerated},
    }
    report.update(evaluate(typed["train"], typed["holdout"], typed["synthetic"], target=target,
                           exclude=regenerated, seed=seed, quasi_identifiers=quasi_identifiers,
                           secrets=secrets))
    report["privacy"]["dp"] = None  # tables made elsewhere: no claim
    _write_all(Path(out_dir), review_files(report, pdf))
    return report


def report_json(report: dict[str, Any]) -> bytes:
    return json.dumps(_jsonable(report), indent=2).encode("utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return value
