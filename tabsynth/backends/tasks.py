"""The work of each command as a task a cluster can run: plain inputs in, files as bytes out.

A task reads nothing from the caller's disk (the input's bytes travel in its payload, through
the object store) and writes nothing (its files come back as bytes, written by the caller into
the job's folder).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from tabsynth.errors import TabsynthError
from tabsynth.progress import ProgressCallback, ProgressEvent, StopCheck

Files = dict[str, bytes]


@dataclass
class SynthesisPayload:
    """What `synthesize` needs: the input's bytes and the run's settings."""

    data: bytes
    filename: str
    config: dict[str, Any]  # RunConfig fields
    schema_json: str | None = None
    sheet: str | None = None
    header: bool = True
    escape_formulas: bool = True
    pdf: bool = True
    keep_model_as: str | None = None  # also return the fitted model's file under this name
    sample_rate: float | None = None  # keep each input row with this probability
    # a large input read as a sample by the caller (a LoadedTable): travels instead of `data`
    table: Any = None


def synthesize_task(payload: SynthesisPayload, progress: ProgressCallback,
                    should_stop: StopCheck) -> tuple[dict[str, Any], Files]:
    """Read, fit, sample, evaluate; the report and every output file."""
    from tabsynth.outputs import jsonable, output_files
    from tabsynth.pipeline import synthesize
    from tabsynth.schema import Schema
    from tabsynth.settings import OutputSettings, ReadSettings, RunConfig

    schema = Schema.from_json(payload.schema_json) if payload.schema_json else None
    source = payload.table if payload.table is not None else payload.data
    result = synthesize(source, RunConfig(**payload.config), filename=payload.filename,
                        schema=schema, read=ReadSettings(sheet=payload.sheet,
                                                         header=payload.header,
                                                         sample_rate=payload.sample_rate),
                        progress=progress, should_stop=should_stop)
    progress(ProgressEvent("write", 0.0, "writing the synthetic table and the reports"))
    files = output_files(result, OutputSettings(escape_formulas=payload.escape_formulas,
                                                pdf=payload.pdf))
    if payload.keep_model_as:
        with contextlib.suppress(TabsynthError):  # the run stands; the page says so
            files[payload.keep_model_as] = result.synthesizer.model_bytes()
    return jsonable(result.report), files


@dataclass
class EvaluationPayload:
    """What `evaluate` needs: each table's bytes and file name, and the attack's roles."""

    tables: dict[str, tuple[bytes, str]]  # train / holdout / synthetic
    target: str | None = None
    seed: int = 0
    quasi_identifiers: list[str] | None = None
    secrets: list[str] | None = None
    pdf: bool = True


def evaluate_task(payload: EvaluationPayload, progress: ProgressCallback,
                  should_stop: StopCheck) -> tuple[dict[str, Any], Files]:
    """The internal review of tables made elsewhere; the report and its files."""
    from tabsynth.external import evaluate_tables
    from tabsynth.outputs import jsonable, review_files
    from tabsynth.pipeline import load_table

    tables = {name: load_table(data, filename=filename)
              for name, (data, filename) in payload.tables.items()}
    report = evaluate_tables(tables, target=payload.target, seed=payload.seed,
                             quasi_identifiers=payload.quasi_identifiers,
                             secrets=payload.secrets, progress=progress)
    return jsonable(report), review_files(report, payload.pdf)
