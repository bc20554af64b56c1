"""What a synthesizer with an optional (epsilon, delta) guarantee shares: settings, claim, size."""

from __future__ import annotations

import math

import pandas as pd

from tabsynth.dp.accounting import ACCOUNTANTS
from tabsynth.dp.claim import PrivacyClaim
from tabsynth.dp.start import private_dtypes
from tabsynth.errors import ConfigError


def checked_epsilon(epsilon: float | None, delta: float | None, accountant: str) -> float:
    """epsilon as a float (None: inf, no DP), after checking the three DP settings."""
    epsilon = math.inf if epsilon is None else float(epsilon)
    if math.isnan(epsilon) or epsilon <= 0:
        raise ConfigError(f"--epsilon must be positive, or inf for no DP (got {epsilon})")
    if delta is not None and not 0 < delta < 1:
        raise ConfigError(f"--delta must be in (0, 1) (got {delta})")
    if accountant not in ACCOUNTANTS:
        raise ConfigError(f"unknown accountant {accountant!r}; use rdp or prv")
    return epsilon


def check_public_names(public: dict, learned: list[str]) -> None:
    """A declared public domain may only name learned columns."""
    unknown = set(public) - set(learned)
    if unknown:
        raise ConfigError(f"public schema names columns that are not learned: {sorted(unknown)}")


class DpOutput:
    """Mixin (before Synthesizer): the claim, the noisy output size and schema-only dtypes.

    A DP fit sets ``_claim`` and ``_released_rows`` (from the noisy row count); its output
    dtypes come from the schema, since whether a training column held missing values (which
    turns int64 into float64) is not released.
    """

    _claim: PrivacyClaim | None = None
    _released_rows: int | None = None

    @property
    def private(self) -> bool:
        raise NotImplementedError

    @property
    def privacy_claim(self) -> PrivacyClaim | None:
        return self._claim

    @property
    def released_rows(self) -> int | None:
        return self._released_rows

    def _output_dtypes(self, train: pd.DataFrame) -> dict[str, str]:
        if not self.private:
            return super()._output_dtypes(train)  # type: ignore[misc]
        assert self.schema is not None  # type: ignore[attr-defined]
        return private_dtypes(self.schema)  # type: ignore[attr-defined]
