"""Progress reports and cancellation: the ground floor every package may use.

Imports nothing from tabsynth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class Cancelled(RuntimeError):
    """Raised inside fit() when should_stop() returned True."""


@dataclass
class ProgressEvent:
    """One progress report: stage name, fraction done in [0, 1], and optional metrics."""

    stage: str
    fraction: float
    message: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[ProgressEvent], None]
StopCheck = Callable[[], bool]


def ignore_progress(_: ProgressEvent) -> None:
    """A ProgressCallback that shows nothing."""
    return None


def never_stop() -> bool:
    """A StopCheck that never asks to stop."""
    return False
