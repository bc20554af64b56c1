"""One-run privacy audit: the bound by hand, its validity by simulation, canaries, end to end."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from tabsynth.audit import (
    MARKER_PREFIX,
    audit_p_value,
    bound_from_scores,
    epsilon_lower_bound,
    make_canaries,
    run_audit,
    score_canaries,
)
from tabsynth.dp.claim import PrivacyClaim
from tabsynth.schema import Schema, coerce_frame, infer_schema
from tabsynth.synthesizers.base import Synthesizer
from tabsynth.synthesizers.dp_gan import DpGan


def binomial_tail(r: int, v: int, q: float) -> float:
    """P[Binomial(r, q) >= v], summed term by term."""
    return sum(math.comb(r, k) * q**k * (1 - q) ** (r - k) for k in range(v, r + 1))


def small_table(rows: int = 300, seed: int = 0) -> tuple[pd.DataFrame, Schema]:
    rng = np.random.default_rng(seed)
    group = rng.choice(["north", "south", "east", "west", "centre"], rows)
    frame = pd.DataFrame({
        "group": group,
        "income": np.round(rng.lognormal(10 + (group == "north") * 0.5, 0.4, rows), 2),
        "age": rng.integers(18, 80, rows),
        "plan": rng.choice(["basic", "plus", "pro"], rows, p=[0.6, 0.3, 0.1]),
    })
    schema = infer_schema(frame)
    return coerce_frame(frame, schema), schema


def test_no_correct_guess_or_chance_level_gives_zero() -> None:
    assert epsilon_lower_bound(100, 50, 0) == 0.0
    assert epsilon_lower_bound(1000, 200, 100) == 0.0  # exactly chance
    assert epsilon_lower_bound(1000, 0, 0) == 0.0  # no guess at all


def test_all_correct_matches_the_closed_form() -> None:
    """W = r: P[Bin(r, q) >= r] = q^r <= 0.05  <=>  q >= 0.05^(1/r), epsilon = logit(q)."""
    for r in (10, 50, 200, 1000):
        q = 0.05 ** (1 / r)
        assert epsilon_lower_bound(1000, r, r) == pytest.approx(math.log(q / (1 - q)), abs=1e-5)
    bounds = [epsilon_lower_bound(1000, r, r) for r in (10, 50, 200, 1000)]
    assert bounds == sorted(bounds) and bounds[0] < bounds[-1] - 3


def test_bound_is_monotone_in_correct_guesses() -> None:
    bounds = [epsilon_lower_bound(500, 100, w) for w in range(0, 101, 5)]
    assert all(a <= b for a, b in itertools.pairwise(bounds))
    assert bounds[10] == 0.0 and bounds[-1] > bounds[-2] > bounds[-3] > 0


def test_bound_is_the_largest_rejected_epsilon() -> None:
    """At the bound the binomial tail (summed by hand) is <= 5 %, just above it it is not."""
    for r, v in ((20, 17), (60, 45), (150, 100)):
        bound = epsilon_lower_bound(1000, r, v)
        assert bound > 0

        def tail(epsilon: float, r: int = r, v: int = v) -> float:
            return binomial_tail(r, v, 1 / (1 + math.exp(-epsilon)))

        assert tail(bound) <= 0.05 < tail(bound + 1e-4)


def test_delta_term_by_hand() -> None:
    """m = 10, r = v = 2: p = q^2 + 2 m delta max(P[B=1], (P[B=1] + P[B=0]) / 2)."""
    epsilon, delta, q = 1.3, 1e-3, 1 / (1 + math.exp(-1.3))
    one, zero = 2 * q * (1 - q), (1 - q) ** 2
    expected = q**2 + 2 * 10 * delta * max(one, (one + zero) / 2)
    assert audit_p_value(10, 2, 2, epsilon, delta) == pytest.approx(expected, rel=1e-12)
    assert audit_p_value(10, 2, 2, epsilon, 0.0) == pytest.approx(q**2, rel=1e-12)
    # delta only weakens the bound; with 2 m delta / v >= 5 % even W = r rejects nothing, since
    # the max in the delta term is at least P[B < v] / v at i = v
    assert epsilon_lower_bound(1000, 200, 180, 1e-5) <= epsilon_lower_bound(1000, 200, 180)
    assert epsilon_lower_bound(1000, 200, 200, delta=1e-2) == 0.0


def test_bound_is_valid_and_has_power_on_randomized_response() -> None:
    """A mechanism that is exactly epsilon-DP (randomized response on membership) is flagged
    above its epsilon in at most ~5 % of audits; a mechanism that reveals membership is not
    mistaken for a private one."""
    rng = np.random.default_rng(11)
    m, epsilon, trials = 400, 1.0, 300
    keep = math.exp(epsilon) / (1 + math.exp(epsilon))
    above = 0
    for _ in range(trials):
        included = rng.random(m) < 0.5
        scores = np.where(rng.random(m) < keep, included, ~included).astype(float)
        above += bound_from_scores(scores, included, 0.0, rng=rng).epsilon_lower_bound > epsilon
    assert above <= 0.05 * trials + 3 * math.sqrt(0.05 * 0.95 * trials)
    included = rng.random(m) < 0.5
    revealing = bound_from_scores(included.astype(float), included, 1e-6, rng=rng)
    assert revealing.correct == revealing.guesses and revealing.epsilon_lower_bound > 3


def test_canaries_are_single_unusual_rows_with_their_own_marker() -> None:
    frame, schema = small_table()
    canaries = make_canaries(frame, schema, 50, np.random.default_rng(0), marker_column="group")
    assert list(canaries.columns) == list(frame.columns) and len(canaries) == 50
    assert canaries["group"].is_unique
    assert not set(canaries["group"]) & set(frame["group"])
    assert canaries["group"].str.startswith(MARKER_PREFIX).all()
    shares = frame["plan"].value_counts(normalize=True)
    assert set(canaries["plan"]) <= set(shares.index[shares >= 0.01])
    assert set(canaries["income"]) <= set(frame["income"])
    assert canaries["age"].dtype == frame["age"].dtype


def test_a_reappearing_marker_outranks_any_closeness() -> None:
    frame, schema = small_table()
    canaries = make_canaries(frame, schema, 6, np.random.default_rng(1), marker_column="group")
    synthetic = pd.concat([frame.head(100), canaries.iloc[[2]]], ignore_index=True)
    synthetic.loc[100, ["income", "age", "plan"]] = frame.loc[0, ["income", "age", "plan"]]
    scores = score_canaries(canaries, synthetic, frame, schema, "group")
    assert scores.hits.tolist() == [0, 0, 1, 0, 0, 0]
    assert scores.combined[2] >= 1 > max(np.delete(scores.combined, 2))
    assert ((scores.distance >= 0) & (scores.distance <= 1)).all()
    # the synthetic row shares canary 2's marker but not its other values: not at distance 0
    assert scores.distance[2] > 0


class LeakySynthesizer(Synthesizer):
    """Claims epsilon = 1 but releases resampled training rows: the audit must say so."""

    method = "leaky"
    discloses = "everything"

    def _fit_learned(self, train, progress, should_stop) -> None:
        self.rows = train.reset_index(drop=True)

    def _sample_learned(self, n: int, seed: int) -> pd.DataFrame:
        return self.rows.sample(n, replace=True, random_state=seed).reset_index(drop=True)

    @property
    def privacy_claim(self) -> PrivacyClaim:
        return PrivacyClaim(epsilon=1.0, delta=1e-6, accountant="none",
                            epsilon_preprocessing=0.0, epsilon_training=1.0)


def test_audit_contradicts_a_false_claim() -> None:
    frame, schema = small_table()
    result = run_audit(frame, schema, LeakySynthesizer, canaries=300, seed=2)
    assert result.claimed_epsilon == 1.0
    assert result.epsilon_lower_bound > 2 and result.contradicts_claim
    assert result.bound.correct == result.bound.guesses


@pytest.mark.slow
@pytest.mark.parametrize("epsilon", [1.0, math.inf])
def test_dp_gan_audit_end_to_end(epsilon: float) -> None:
    """Tiny fits: with DP no marker is released and the bound stays under the claim; without
    DP the markers of included canaries come back and the bound is clearly positive."""
    frame, schema = small_table()
    result = run_audit(frame, schema,
                       lambda: DpGan(epsilon=epsilon, epochs=1, batch_size=100, device="cpu"),
                       canaries=100, seed=3)
    assert result.canaries == 100 and 0 < result.included < 100
    assert 0 < result.bound.guesses <= 100 and 0 <= result.bound.correct <= result.bound.guesses
    assert result.fit_seconds > 0
    assert result.bound_rows_only.guesses > 0
    if math.isfinite(epsilon):
        assert result.claimed_epsilon is not None and result.claimed_epsilon <= epsilon
        assert result.marker_hits == 0
        assert result.epsilon_lower_bound <= result.claimed_epsilon
        assert result.bound_rows_only.epsilon_lower_bound <= result.claimed_epsilon
        assert not result.contradicts_claim
    else:
        assert result.claimed_epsilon is None and not result.contradicts_claim
        assert result.marker_hits > 0
        assert result.epsilon_lower_bound > 1
