"""The header every internal review starts with: the notice, the version, when, what ran on
what (written once for `synthesize` and `evaluate`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tabsynth import __version__
from tabsynth.report import REVIEW_NOTICE

LIBRARIES = ("sdv", "sdmetrics", "torch", "opacus", "anonymeter", "pandas", "numpy", "faker",
             "scikit-learn")


def report_header(run: dict[str, Any], input_: dict[str, Any]) -> dict[str, Any]:
    """notice, tabsynth_version, created_at, then `run` (with the library versions) and
    `input`."""
    return {
        "notice": REVIEW_NOTICE,
        "tabsynth_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": {**run, "libraries": library_versions()},
        "input": input_,
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


