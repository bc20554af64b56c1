"""Schema-only synthesizer: every column drawn on its own from its domain; no joint structure."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.progress import Cancelled, ProgressCallback, ProgressEvent, StopCheck
from tabsynth.synthesizers.base import Synthesizer


@dataclass
class _Domain:
    kind: str
    low: float | None = None
    high: float | None = None
    categories: list[object] | None = None


class FakerSynthesizer(Synthesizer):
    """Learns only each column's domain: numeric/date ranges and category sets."""

    method = "faker"

    def __init__(self, device: str = "auto") -> None:
        super().__init__(device)
        self._domains: dict[str, _Domain] = {}
        self._missing: dict[str, float] = {}

    def _learned_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return ({"domains": {name: asdict(domain) for name, domain in self._domains.items()},
                 "missing_rates": dict(self._missing)}, {})

    def _restore_learned(self, learned: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
        self._domains = {str(name): _Domain(**domain)
                         for name, domain in learned["domains"].items()}
        self._missing = {str(name): float(rate) for name, rate in
                         learned["missing_rates"].items()}

    def _fit_learned(self, train: pd.DataFrame, progress: ProgressCallback,
                     should_stop: StopCheck) -> None:
        assert self.schema is not None
        for index, spec in enumerate(self.schema.learned):
            if should_stop():
                raise Cancelled("cancelled while reading column domains")
            values = train[spec.name].dropna()
            self._missing[spec.name] = float(train[spec.name].isna().mean())
            if values.empty:
                self._domains[spec.name] = _Domain("empty")
            elif spec.kind in ("numeric", "integer"):
                self._domains[spec.name] = _Domain(spec.kind, float(values.min()),
                                                   float(values.max()))
            elif spec.kind == "datetime":
                self._domains[spec.name] = _Domain("datetime", float(values.min().value),
                                                   float(values.max().value))
            else:
                self._domains[spec.name] = _Domain(
                    "categorical", categories=sorted(values.unique().tolist(), key=str))
            progress(ProgressEvent("fit", (index + 1) / len(self.schema.learned), spec.name))

    def _sample_learned(self, n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        columns = {}
        for name, domain in self._domains.items():
            columns[name] = _draw(domain, n, rng)
            if self._missing.get(name, 0.0) > 0:
                mask = rng.random(n) < self._missing[name]
                columns[name] = columns[name].mask(mask)
        return pd.DataFrame(columns)


def _draw(domain: _Domain, n: int, rng: np.random.Generator) -> pd.Series:
    if domain.kind == "empty":
        return pd.Series([np.nan] * n, dtype=float)
    if domain.kind in ("numeric", "integer"):
        values = rng.uniform(domain.low, domain.high, n)
        return pd.Series(np.round(values) if domain.kind == "integer" else values)
    if domain.kind == "datetime":
        stamps = rng.uniform(domain.low, domain.high, n).astype("int64")
        return pd.Series(pd.to_datetime(stamps))
    categories = domain.categories or []
    picks = rng.integers(0, len(categories), n)
    return pd.Series([categories[i] for i in picks], dtype=object)
