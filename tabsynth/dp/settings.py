"""The DP settings a run may ask for, checked in one place (no torch: the page checks them too)."""

from __future__ import annotations

import math

from tabsynth.errors import ConfigError

ACCOUNTANT_NAMES = ("rdp", "prv")  # Opacus's RDP and PRV accountants


def checked_epsilon(epsilon: float | None, delta: float | None = None,
                    accountant: str = "rdp") -> float:
    """epsilon as a float (None: inf, no DP), after checking the three DP settings."""
    epsilon = math.inf if epsilon is None else float(epsilon)
    if math.isnan(epsilon) or epsilon <= 0:
        raise ConfigError(f"--epsilon must be positive, or inf for no DP (got {epsilon})")
    if delta is not None and not 0 < delta < 1:
        raise ConfigError(f"--delta must be between 0 and 1 (got {delta})")
    if accountant not in ACCOUNTANT_NAMES:
        raise ConfigError(f"unknown accountant {accountant!r}; use "
                          f"{' or '.join(ACCOUNTANT_NAMES)}")
    return epsilon
