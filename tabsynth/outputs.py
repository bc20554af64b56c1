"""Writing a run's files into its output folder, all or nothing: synthetic.csv with the release
report that may travel with it, and the internal review."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.errors import ConfigError
from tabsynth.io import csv_bytes, parquet_bytes, write_files_atomic
from tabsynth.release import release_report, render_release_html
from tabsynth.report import html_to_pdf, render_html
from tabsynth.runs import RunResult
from tabsynth.schema import Schema, format_for_export
from tabsynth.settings import OutputSettings


def write_outputs(result: RunResult, out_dir: str | Path,
                  settings: OutputSettings | None = None) -> dict[str, Path]:
    """Write into out_dir, all or nothing: synthetic.csv and synthetic.parquet (the same rows)
    with the release report that may travel with them (release.json, release.html), and the
    internal review (report.json, report.html and, unless ``settings.pdf`` is False,
    report.pdf)."""
    return named_paths(write_all(Path(out_dir), output_files(result, settings)))


def output_files(result: RunResult, settings: OutputSettings | None = None) -> dict[str, bytes]:
    """A run's files as bytes, by file name (what write_outputs writes)."""
    settings = settings or OutputSettings()
    review = jsonable(result.report)
    release = release_report(review)
    return {
        "synthetic.csv": csv_bytes(format_for_export(result.synthetic, result.schema),
                                   escape=settings.escape_formulas),
        "synthetic.parquet": parquet_bytes(parquet_frame(result.synthetic, result.schema)),
        "release.json": report_json(release),
        "release.html": render_release_html(release).encode("utf-8"),
        **review_files(review, settings.pdf)}


def named_paths(paths: dict[str, Path]) -> dict[str, Path]:
    """A run's written files by role (synthetic, report_json, ...), as RunResult.paths holds."""
    return {"synthetic": paths["synthetic.csv"], "parquet": paths["synthetic.parquet"],
            "report_json": paths["report.json"],
            "report_html": paths["report.html"], "report_pdf": paths.get("report.pdf"),
            "release_json": paths["release.json"], "release_html": paths["release.html"]}


def parquet_frame(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The synthetic rows for Parquet: typed as learned (dates as dates, yes/no as booleans),
    whole numbers as integers, dates as precise as the CSV writes them."""
    out = frame.copy()
    for spec in schema.included:
        column = out.get(spec.name)
        if column is None:
            continue
        if spec.kind in ("integer", "identifier") and pd.api.types.is_float_dtype(column):
            out[spec.name] = column.round().astype("Int64")
        elif spec.kind == "datetime" and spec.datetime_format \
                and pd.api.types.is_datetime64_any_dtype(column):
            out[spec.name] = pd.to_datetime(column.dt.strftime(spec.datetime_format),
                                            format=spec.datetime_format, errors="coerce")
    return out


def review_files(review: dict[str, Any], pdf: bool = True) -> dict[str, bytes]:
    """The internal review as report.json, report.html and report.pdf (the same page)."""
    review = jsonable(review)
    page = render_html(review)
    files = {"report.json": report_json(review), "report.html": page.encode("utf-8")}
    if pdf:
        files["report.pdf"] = html_to_pdf(page)
    return files


def write_all(out: Path, files: dict[str, bytes]) -> dict[str, Path]:
    """Write every file or none; a full disk or a read-only folder is a one-line ConfigError."""
    try:
        return write_files_atomic(out, files)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            reason += "; free some space or choose another --out folder"
        raise ConfigError(f"cannot write to output folder {out}: {reason}; nothing was "
                          "written") from None


def report_json(report: dict[str, Any]) -> bytes:
    """A report as indented UTF-8 JSON (numpy scalars as numbers, NaN and inf as null)."""
    return json.dumps(jsonable(report), indent=2).encode("utf-8")


def jsonable(value: Any) -> Any:
    """`value` with string keys and plain Python numbers only."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    return value
