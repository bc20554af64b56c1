"""Empirical privacy audit in one training run (Steinke, Nasr & Jagielski, NeurIPS 2023).

m canary rows are made; each enters the training table independently with probability 1/2;
the synthesizer is fitted once; an attack scores every canary from the synthetic rows alone;
the auditor guesses "in" for the k+ highest scores and "out" for the k- lowest, and abstains
on the rest. If the synthesizer is (epsilon, delta)-DP for one row, the number W of correct
guesses among r is, up to a delta term, stochastically dominated by
Binomial(r, e^epsilon / (1 + e^epsilon)). Every epsilon under which the observed W would be
that unlikely (p-value <= 1 - confidence) is rejected; the largest rejected epsilon is a lower
bound on the true epsilon, valid at that confidence, to set beside the epsilon that is claimed.

The bound: T. Steinke, M. Nasr, M. Jagielski, "Privacy Auditing with One (1) Training Run",
NeurIPS 2023, arXiv:2305.08846, in its (epsilon, delta) form (the p-value routine the paper
gives with its approximate-DP theorem):

    p(epsilon, delta) = P[B >= v] + 2 m delta * max_{1 <= i <= v} P[v - i <= B < v] / i,
    B ~ Binomial(r, e^epsilon / (1 + e^epsilon)).

With delta = 0 it is exactly the pure-DP theorem (W dominated by the binomial). The bound is
always computed at the delta the fit claims (or, without DP, the delta a DP fit of the same
table would have used), so it is comparable with the claimed epsilon.

The canaries are built so that the audit has power against a fit that does memorise: each is
ONE row (the DP unit) holding an unusual combination of common values plus a value of its own
(a marker) in one categorical column. A non-private fit learns every value it sees, so an
included canary's marker can reappear in the synthetic rows, while an excluded one's never can.
A DP fit releases a value only when its noisy count clears a threshold, so a marker held by one
row should (with probability >= 1 - delta) never be representable: that is the guarantee at
work, and the attack then has only the rest of the row (closeness of the nearest synthetic row).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binom

from tabsynth.dp.accounting import default_delta
from tabsynth.schema import Schema
from tabsynth.synthesizers.base import Synthesizer

MARKER_PREFIX = "canary-marker-"
CATEGORICAL_KINDS = ("categorical", "boolean")
# (k+, k-) as shares of m, fixed before any run; the reported bound is the best of these
# tests, each made at (1 - confidence) / len(...) (Bonferroni), so the best is still valid.
GUESS_SHARES: tuple[tuple[float, float], ...] = ((0.1, 0.0), (0.2, 0.0), (0.1, 0.1), (0.2, 0.2))


def audit_p_value(m: int, r: int, v: int, epsilon: float, delta: float = 0.0) -> float:
    """Probability of >= v correct guesses out of r, m canaries, under (epsilon, delta)-DP."""
    if not 0 <= v <= r <= m:
        raise ValueError(f"need 0 <= correct <= guesses <= canaries (got {v}, {r}, {m})")
    if epsilon < 0 or not 0 <= delta <= 1:
        raise ValueError("epsilon must be >= 0 and delta in [0, 1]")
    q = 1.0 / (1.0 + math.exp(-epsilon)) if epsilon < 700 else 1.0
    tail = float(binom.sf(v - 1, r, q))  # P[B >= v]
    if delta == 0 or v == 0:
        return min(1.0, tail)
    below = binom.pmf(np.arange(v - 1, -1, -1), r, q)  # P[B = v - i], i = 1..v
    spread = float(np.max(np.cumsum(below) / np.arange(1, v + 1)))
    return min(1.0, tail + 2 * m * delta * spread)


def epsilon_lower_bound(m: int, r: int, v: int, delta: float = 0.0,
                        confidence: float = 0.95, tolerance: float = 1e-6) -> float:
    """Largest epsilon that v correct of r guesses rejects at `confidence` (0 if none)."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    alpha = 1.0 - confidence
    if r == 0 or audit_p_value(m, r, v, 0.0, delta) > alpha:
        return 0.0
    low, high = 0.0, 1.0
    while audit_p_value(m, r, v, high, delta) <= alpha:
        low, high = high, 2 * high
    while high - low > tolerance:
        middle = (low + high) / 2
        if audit_p_value(m, r, v, middle, delta) <= alpha:
            low = middle
        else:
            high = middle
    return low


def marker_column_of(frame: pd.DataFrame, schema: Schema) -> str:
    """The learned categorical column with the most distinct values (where markers go)."""
    names = [c.name for c in schema.learned if c.kind == "categorical"]
    if not names:
        raise ValueError("the audit needs a learned categorical column for the canary markers")
    return max(names, key=lambda name: frame[name].nunique())


def make_canaries(frame: pd.DataFrame, schema: Schema, m: int, rng: np.random.Generator,
                  marker_column: str | None = None, min_share: float = 0.01) -> pd.DataFrame:
    """m canary rows: common values in an unusual combination, plus one marker value each.

    Categorical columns take a category held by at least `min_share` of the rows, uniformly
    (so the combination is unusual while every value is common enough to survive a DP domain);
    other columns take the value of an independently drawn real row. The marker column holds
    a value no real row has, different for every canary.
    """
    marker_column = marker_column or marker_column_of(frame, schema)
    kinds = {c.name: c.kind for c in schema.columns}
    out = {}
    for name in frame.columns:
        values = frame[name]
        if kinds.get(name) in CATEGORICAL_KINDS:
            shares = values.dropna().value_counts(normalize=True)
            common = shares.index[shares >= min_share]
            choices = list(common) if len(common) else list(shares.index[:1])
            out[name] = [choices[i] for i in rng.integers(0, len(choices), m)]
        else:
            out[name] = values.to_numpy()[rng.integers(0, len(values), m)]
    canaries = pd.DataFrame(out, columns=frame.columns)
    canaries[marker_column] = [f"{MARKER_PREFIX}{i}" for i in range(m)]
    return canaries.astype({c: frame[c].dtype for c in frame.columns if c != marker_column})


def _codes(reference: pd.Series, *others: pd.Series) -> list[np.ndarray]:
    keys = [s.astype(object).where(s.notna(), "\x00missing").astype(str) for s in others]
    _, uniques = pd.factorize(pd.concat([reference.astype(str), *keys], ignore_index=True))
    lookup = {value: i for i, value in enumerate(uniques)}
    return [k.map(lookup).to_numpy(dtype=np.int64) for k in keys]


def nearest_distance(canaries: pd.DataFrame, synthetic: pd.DataFrame, reference: pd.DataFrame,
                     columns: Sequence[str], categorical: Sequence[str],
                     chunk: int = 64) -> np.ndarray:
    """Gower distance (mean over columns, in [0, 1]) from each canary to its nearest row.

    Categorical columns count a mismatch as 1; numeric ones |a - b| over the reference's
    1-99 % range, capped at 1; a missing value against a present one counts 1.
    """
    cat_pairs, num_pairs = [], []
    for name in columns:
        if name in categorical:
            a, b = _codes(reference[name], canaries[name], synthetic[name])
            cat_pairs.append((a, b))
        else:
            ref = pd.to_numeric(reference[name], errors="coerce").astype(float)
            low, high = np.nanquantile(ref, [0.01, 0.99]) if ref.notna().any() else (0.0, 1.0)
            scale = max(float(high - low), 1e-12)
            num_pairs.append((pd.to_numeric(canaries[name], errors="coerce").to_numpy(float)
                              / scale,
                              pd.to_numeric(synthetic[name], errors="coerce").to_numpy(float)
                              / scale))
    best = np.empty(len(canaries))
    for start in range(0, len(canaries), chunk):
        part = slice(start, start + chunk)
        total = np.zeros((len(canaries.iloc[part]), len(synthetic)))
        for a, b in cat_pairs:
            total += a[part, None] != b[None, :]
        for a, b in num_pairs:
            gap = np.abs(a[part, None] - b[None, :])
            total += np.where(np.isnan(gap), 1.0, np.minimum(gap, 1.0))
        best[part] = total.min(axis=1) / max(1, len(columns))
    return best


@dataclass(frozen=True)
class CanaryScores:
    """What the attack saw of each canary in the synthetic rows."""

    hits: np.ndarray  # synthetic rows carrying the canary's marker
    distance: np.ndarray  # Gower distance to the nearest synthetic row, in [0, 1]

    @property
    def combined(self) -> np.ndarray:
        """hits + (1 - distance) / 2: any reappearance of the marker outranks closeness."""
        return self.hits + (1.0 - self.distance) / 2

    @property
    def closeness(self) -> np.ndarray:
        """The score without the marker: what is left when no marker can be released."""
        return 1.0 - self.distance


def score_canaries(canaries: pd.DataFrame, synthetic: pd.DataFrame, reference: pd.DataFrame,
                   schema: Schema, marker_column: str,
                   distance_rows: int = 20_000) -> CanaryScores:
    """Marker reappearances and nearest-row distance (over the first `distance_rows` synthetic
    rows, every learned column, the marker column included) of each canary."""
    counts = synthetic[marker_column].astype(object).value_counts()
    hits = canaries[marker_column].map(counts).fillna(0).to_numpy(dtype=float)
    learned = [c.name for c in schema.learned if c.name in synthetic.columns]
    categorical = [c.name for c in schema.learned if c.kind in CATEGORICAL_KINDS]
    distance = nearest_distance(canaries, synthetic.iloc[:distance_rows], reference,
                                learned, categorical)
    return CanaryScores(hits, distance)


@dataclass(frozen=True)
class AuditBound:
    """The best of the pre-declared guessing tests (Bonferroni-corrected)."""

    k_plus: int
    k_minus: int
    guesses: int
    correct: int
    epsilon_lower_bound: float
    confidence: float
    tests: int


def bound_from_scores(scores: np.ndarray, included: np.ndarray, delta: float,
                      confidence: float = 0.95,
                      shares: Sequence[tuple[float, float]] = GUESS_SHARES,
                      rng: np.random.Generator | None = None) -> AuditBound:
    """Guess from the ranking of scores (ties broken at random) and bound epsilon."""
    m = len(scores)
    included = np.asarray(included, dtype=bool)
    rng = rng or np.random.default_rng(0)
    order = np.lexsort((rng.random(m), np.asarray(scores, dtype=float)))  # ascending
    each = 1.0 - (1.0 - confidence) / len(shares)
    best: AuditBound | None = None
    for share_plus, share_minus in shares:
        k_plus, k_minus = int(share_plus * m), int(share_minus * m)
        if k_plus + k_minus > m:
            raise ValueError("k+ + k- exceeds the number of canaries")
        guessed_in = order[m - k_plus:] if k_plus else order[:0]
        guessed_out = order[:k_minus]
        correct = int(included[guessed_in].sum() + (~included[guessed_out]).sum())
        bound = epsilon_lower_bound(m, k_plus + k_minus, correct, delta, each)
        if best is None or bound > best.epsilon_lower_bound:
            best = AuditBound(k_plus, k_minus, k_plus + k_minus, correct, bound, confidence,
                              len(shares))
    assert best is not None
    return best


@dataclass(frozen=True)
class AuditResult:
    claimed_epsilon: float | None  # None: the fit claims no DP
    delta: float  # the delta the bound is computed at
    canaries: int
    included: int
    marker_hits: int  # canaries whose marker reappeared in the synthetic rows
    bound: AuditBound  # the audit: markers and nearest rows
    bound_rows_only: AuditBound  # diagnostic: nearest rows alone (a separate 95 % test)
    fit_seconds: float

    @property
    def epsilon_lower_bound(self) -> float:
        return self.bound.epsilon_lower_bound

    @property
    def contradicts_claim(self) -> bool:
        return self.claimed_epsilon is not None and \
            self.epsilon_lower_bound > self.claimed_epsilon


def run_audit(frame: pd.DataFrame, schema: Schema, make_model: Callable[[], Synthesizer],
              canaries: int = 500, seed: int = 0, synthetic_rows: int | None = None,
              confidence: float = 0.95, marker_column: str | None = None,
              shares: Sequence[tuple[float, float]] = GUESS_SHARES) -> AuditResult:
    """Insert canaries, fit one model from `make_model()`, attack it, bound its epsilon.

    `frame` is the table without canaries (typed as `schema` says); `synthetic_rows` defaults
    to as many rows as the training table, the size a release usually has.
    """
    rng = np.random.default_rng(seed)
    marker_column = marker_column or marker_column_of(frame, schema)
    canary_rows = make_canaries(frame, schema, canaries, rng, marker_column)
    included = rng.random(canaries) < 0.5
    train = pd.concat([frame, canary_rows[included]], ignore_index=True)
    train = train.iloc[rng.permutation(len(train))].reset_index(drop=True)
    model = make_model()
    started = time.perf_counter()
    model.fit(train, schema)
    fit_seconds = time.perf_counter() - started
    synthetic = model.sample(synthetic_rows or len(train), seed=seed + 1)
    scores = score_canaries(canary_rows, synthetic, frame, schema, marker_column)
    claim = model.privacy_claim
    delta = claim.delta if claim is not None else default_delta(len(train))
    bound = bound_from_scores(scores.combined, included, delta, confidence, shares, rng)
    rows_only = bound_from_scores(scores.closeness, included, delta, confidence, shares, rng)
    return AuditResult(claim.epsilon if claim is not None else None, delta, canaries,
                       int(included.sum()), int((scores.hits > 0).sum()), bound, rows_only,
                       fit_seconds)
