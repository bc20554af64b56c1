"""Writing a run's files into its output folder, all or nothing: synthetic.csv with the release
report that may travel with it, and the internal review."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import numpy as np

from tabsynth.errors import ConfigError
from tabsynth.io import csv_bytes, write_files_atomic
from tabsynth.release import release_report, render_release_html
from tabsynth.report import html_to_pdf, render_html
from tabsynth.runs import RunResult
from tabsynth.schema import format_for_export
from tabsynth.settings import OutputSettings


def write_outputs(result: RunResult, out_dir: str | Path,
                  settings: OutputSettings | None = None) -> dict[str, Path]:
    """Write into out_dir, all or nothing: synthetic.csv with the release report that may travel
    with it (release.json, release.html), and the internal review (report.json, report.html and,
    unless ``settings.pdf`` is False, report.pdf)."""
    settings = settings or OutputSettings()
    review = jsonable(result.report)
    release = release_report(review)
    paths = write_all(Path(out_dir), {
        "synthetic.csv": csv_bytes(format_for_export(result.synthetic, result.schema),
                                   escape=settings.escape_formulas),
        "release.json": report_json(release),
        "release.html": render_release_html(release).encode("utf-8"),
        **review_files(review, settings.pdf)})
    return {"synthetic": paths["synthetic.csv"], "report_json": paths["report.json"],
            "report_html": paths["report.html"], "report_pdf": paths.get("report.pdf"),
            "release_json": paths["release.json"], "release_html": paths["release.html"]}


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
