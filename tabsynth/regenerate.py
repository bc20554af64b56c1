"""Make up values for columns that are never learned: PII (Faker), keys (fresh unique ids), text.

A :class:`CollisionGuard` holds keyed hashes of the real values of those columns, in memory
only, so that a made-up value that happens to equal a real one (a common name, say) is drawn
again. It is never saved with a model, and its secret key also seeds the made-up values, so
nobody can replay the draws to find the redrawn (real) ones.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
from faker import Faker

from tabsynth.schema import ColumnSpec

_MAX_REDRAWS = 50


class CollisionGuard:
    """Keyed hashes of the real values of every made-up column; a fresh key for every fit.

    One set for all the columns: a made-up value is redrawn when it equals a real value of any
    made-up column (a made-up contact address must not be a real address from another email
    column either).
    """

    def __init__(self) -> None:
        self._key = os.urandom(16)
        self._hashes: set[bytes] = set()

    def _digest(self, value: object) -> bytes:
        text = _normalize(value)
        return hashlib.blake2b(text.encode("utf-8"), key=self._key, digest_size=16).digest()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, columns: list[str]) -> CollisionGuard:
        guard = cls()
        guard.add(frame, columns)
        return guard

    def add(self, frame: pd.DataFrame, columns: list[str]) -> None:
        """Also the real values of these columns of `frame`."""
        for column in columns:
            self._hashes |= {self._digest(v) for v in frame[column].dropna().unique()}

    def stream_seed(self, seed: int) -> int:
        """The seed a made-up column is drawn from: keyed by this guard's secret.

        A made-up value equal to a real one is drawn again, so replaying the draws from a known
        seed without the guard would show where the output departs, and so which values are
        real. Keying the stream with the guard's secret (never saved) rules that out; the same
        fitted model and seed still give the same values.
        """
        digest = hashlib.blake2b(seed.to_bytes(8, "little", signed=True), key=self._key,
                                 digest_size=8).digest()
        return int.from_bytes(digest, "little") & (2**63 - 1)

    def is_real(self, value: object) -> bool:
        """Whether the value equals (after normalising) a real value of any made-up column."""
        return bool(self._hashes) and self._digest(value) in self._hashes


def _normalize(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", " ", str(value)).strip().lower()


@dataclass
class RegenerationState:
    """What a regenerated column keeps from training: its missing rate, nothing else.

    The rate is exact for the non-private methods and a noisy count charged to the budget for
    a DP fit; an identifier's shape (prefix, width) comes from the schema.
    """

    missing_rate: float = 0.0


@dataclass(frozen=True)
class KeyBlock:
    """Part `index` of `parts` of a draw of `total` rows made in parts (shards): its fresh keys
    come from a range of their own, so keys stay unique across parts drawn apart."""

    index: int
    parts: int
    total: int


def regenerate_column(spec: ColumnSpec, state: RegenerationState, n: int, seed: int,
                      guard: CollisionGuard | None, keys: KeyBlock | None = None) -> list[object]:
    """n fresh values for a PII, identifier or free-text column; none equal to a real one (when
    a guard holds the real values)."""
    rng = np.random.default_rng(seed)
    if spec.pii is None and spec.kind == "identifier":
        values = _fresh_ids(spec, n, rng, guard, keys)
    else:
        values = _faker_values(spec, n, seed, guard)
    if state.missing_rate > 0:
        mask = rng.random(n) < state.missing_rate
        values = [None if m else v for v, m in zip(values, mask, strict=True)]
    return values


def _faker_values(spec: ColumnSpec, n: int, seed: int,
                  guard: CollisionGuard | None) -> list[object]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    provider = spec.faker_provider or "sentence"
    draw = _provider_call(fake, provider)
    values = []
    for _ in range(n):
        value = draw()
        for _attempt in range(_MAX_REDRAWS):
            if guard is None or not guard.is_real(value):
                break
            value = draw()
        else:
            raise RuntimeError(f"could not draw a made-up value for column {spec.name!r}")
        values.append(value)
    return values


def _provider_call(fake: Faker, provider: str):
    if provider == "address":
        return lambda: fake.address().replace("\n", ", ")
    if provider == "date_of_birth":
        return lambda: pd.Timestamp(fake.date_of_birth(minimum_age=0, maximum_age=100))
    if provider == "credit_card_number":
        return lambda: fake.credit_card_number(card_type=None)
    return getattr(fake, provider)


MAX_ID_DIGITS = 18


def _fresh_ids(spec: ColumnSpec, n: int, rng: np.random.Generator,
               guard: CollisionGuard | None, keys: KeyBlock | None = None) -> list[object]:
    numeric = spec.dtype.lower().startswith(("int", "float", "uint"))
    if numeric or spec.id_prefix is not None:
        width = max(spec.id_width or 1, len(str(2 * (keys.total if keys else n))) + 1)
        # drawn as 64-bit integers: at most 18 digits (a text key is zero-padded to its width)
        digits = min(width, MAX_ID_DIGITS)
        low, high = (10 ** (digits - 1), 10**digits) if numeric else (0, 10**digits)
        if keys is not None:  # this part's own slice of the key range
            span = (high - low) // keys.parts
            low, high = low + keys.index * span, low + (keys.index + 1) * span
        chosen: set[int] = set()
        while len(chosen) < n:
            draws = rng.integers(low, high, size=2 * (n - len(chosen)) + 16)
            for value in draws:
                text = int(value) if numeric else f"{spec.id_prefix}{value:0{width}d}"
                if guard is None or not guard.is_real(text):
                    chosen.add(int(value))
                if len(chosen) == n:
                    break
        ordered = sorted(chosen)
        if numeric:
            return ordered
        return [f"{spec.id_prefix}{v:0{width}d}" for v in ordered]
    return [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]
