"""What a run reads and what it gives back, as plain records (no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tabsynth.schema import Schema

if TYPE_CHECKING:
    from tabsynth.synthesizers.base import Synthesizer


@dataclass
class LoadedTable:
    """A table as read, with what the audit record needs of the input."""

    frame: pd.DataFrame
    sha256: str  # of the input's bytes
    filename: str
    notes: list[str] = field(default_factory=list)  # what reading guessed or changed
    sample_rate: float | None = None  # each input row was kept with this probability


@dataclass
class RunResult:
    """A run's split, fitted model, synthetic rows and report (report.json's content)."""

    synthetic: pd.DataFrame
    train: pd.DataFrame
    holdout: pd.DataFrame
    schema: Schema
    synthesizer: Synthesizer
    report: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)  # filled when the run was written
