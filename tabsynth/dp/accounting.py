"""One accountant for a whole DP fit: preprocessing histograms + the model's training steps.

Every mechanism is a (subsampled) Gaussian with L2 sensitivity 1 after clipping, so the whole
run is a list of (noise multiplier, sample rate, steps) entries that Opacus's RDP or PRV
accountant composes. The reported epsilon is always what the accountant computes from the
steps actually taken, never the target.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from opacus.accountants import PRVAccountant, RDPAccountant

from tabsynth.dp.settings import ACCOUNTANT_NAMES
from tabsynth.errors import ConfigError

ACCOUNTANTS = dict(zip(ACCOUNTANT_NAMES, (RDPAccountant, PRVAccountant), strict=True))
History = list[tuple[float, float, int]]
# Opacus's default RDP orders stop at 63, which caps how small an epsilon RDP can certify at a
# tiny delta (epsilon >= log(1/delta) / 62); wider orders give tighter, still valid, bounds.
# Fractional orders every 1/8 between 1 and 6: a finer grid moved epsilon by < 0.01 % in every
# case we measured, and each fractional order costs a slowly converging series (tens of ms at
# large sample rates, as on small tables).
RDP_ORDERS = ([1 + x / 8.0 for x in range(1, 40)] + list(range(6, 64))
              + [80, 100, 128, 160, 200, 256, 320, 400, 512, 700, 1024, 1500, 2048, 4096])
# Integer orders are a finite sum. Planning and per-epoch progress use integer orders only,
# which can only overstate epsilon; the final figure uses every order.
INTEGER_ORDERS = [a for a in RDP_ORDERS if a == int(a)]
REFINE_BELOW = 0.97


def spent_epsilon(accountant: object, delta: float, fast: bool = False) -> float:
    """Epsilon an Opacus accountant has spent so far (wide RDP orders for the RDP one).

    `fast` uses integer orders only: an upper bound on the full-order figure, much quicker.
    """
    with warnings.catch_warnings():  # an extreme order only makes the bound looser, still valid
        warnings.simplefilter("ignore")
        if isinstance(accountant, RDPAccountant):
            orders = INTEGER_ORDERS if fast else RDP_ORDERS
            return float(accountant.get_epsilon(delta=delta, alphas=orders))
        return float(accountant.get_epsilon(delta=delta))


DEFAULT_DELTA_CAP = 1e-6


def default_delta(n: float) -> float:
    """min(1e-6, 1 / (n * sqrt(n))): well below 1/n, so no single row may leak outright.

    In a DP fit, n is the noisy row count, never the exact one.
    """
    n = max(float(n), 1.0)
    return min(DEFAULT_DELTA_CAP, 1.0 / (n * math.sqrt(n)))


def epsilon_of(history: History, delta: float, accountant: str = "rdp",
               fast: bool = False) -> float:
    """Epsilon of a composed history at a given delta (0 for an empty history)."""
    entries = [h for h in history if h[2] > 0]
    if not entries:
        return 0.0
    account = ACCOUNTANTS[accountant]()
    account.history = list(entries)
    return spent_epsilon(account, delta, fast=fast)


@dataclass(frozen=True)
class BudgetPlan:
    epsilon_target: float
    delta: float  # total: accountant delta + threshold delta
    delta_accountant: float
    delta_threshold: float
    accountant: str
    sigma_preprocessing: float
    mechanisms: int
    sigma_training: float
    sample_rate: float
    steps: int
    sigma_pairs: float = 0.0
    pair_mechanisms: int = 0
    sigma_schema: float = 0.0  # the schema's releases, when it was learned under DP
    schema_mechanisms: int = 0

    @property
    def schema_history(self) -> History:
        return [(self.sigma_schema, 1.0, self.schema_mechanisms)] if self.schema_mechanisms \
            else []

    @property
    def domain_history(self) -> History:
        return [(self.sigma_preprocessing, 1.0, self.mechanisms)] if self.mechanisms else []

    @property
    def pair_history(self) -> History:
        return [(self.sigma_pairs, 1.0, self.pair_mechanisms)] if self.pair_mechanisms else []

    @property
    def preprocessing_history(self) -> History:
        """Everything spent before the first training step: schema, domain, pair tables."""
        return self.schema_history + self.domain_history + self.pair_history

    def training_history(self, steps: int) -> History:
        return [(self.sigma_training, self.sample_rate, steps)] if steps else []


def _search_sigma(epsilon_at, target: float, low: float = 0.2, high: float = 5000.0,
                  exact=None) -> float:
    """Smallest sigma (within 0.5 %) whose epsilon stays at or under the target.

    `epsilon_at` may be a quick upper bound (integer orders); `exact` (every order, never
    larger) then refines the answer below the quick one, so no budget is left unused.
    """
    if epsilon_at(high) > target:
        raise ConfigError(f"epsilon {target:g} cannot be reached with this many steps: "
                          "use fewer epochs, a smaller batch, or a larger epsilon")
    if epsilon_at(low) <= target:
        return low
    while high / low > 1.005:
        middle = math.sqrt(low * high)
        if epsilon_at(middle) <= target:
            high = middle
        else:
            low = middle
    if exact is None:
        return high
    # Integer orders overstate epsilon by ~1 %, so the exact sigma lies within 3 % below.
    return _search_sigma(exact, target, max(0.2, high * REFINE_BELOW), high) \
        if high * REFINE_BELOW > 0.2 else high


def split_delta(delta: float, unknown_histograms: int) -> tuple[float, float]:
    """(accountant delta, threshold delta): half for the release thresholds when any is used."""
    threshold = delta / 2 if unknown_histograms else 0.0
    return delta - threshold, threshold


def preprocessing_sigmas(epsilon: float, planning_delta: float, mechanisms: int,
                         unknown_histograms: int, preprocessing_share: float,
                         accountant: str = "rdp", pair_mechanisms: int = 0,
                         pair_share: float = 0.0) -> tuple[float, float]:
    """(sigma of the domain histograms, sigma of the 2-way tables), from public inputs only.

    They are fixed before anything is released (the noisy row count uses the first), so they
    may not depend on the data: `planning_delta` is the user's delta or the default's cap, never
    a delta derived from the row count.
    """
    delta_accountant, _ = split_delta(planning_delta, unknown_histograms)

    def quick(history: History) -> float:
        return epsilon_of(history, delta_accountant, accountant, fast=True)

    def exact(history: History) -> float:
        return epsilon_of(history, delta_accountant, accountant)

    sigma_pre = sigma_pairs = 0.0
    if mechanisms:
        sigma_pre = _search_sigma(
            lambda s: quick([(s, 1.0, mechanisms)]), preprocessing_share * epsilon,
            exact=lambda s: exact([(s, 1.0, mechanisms)]))
    if pair_mechanisms:
        sigma_pairs = _search_sigma(
            lambda s: quick([(s, 1.0, pair_mechanisms)]), pair_share * epsilon,
            exact=lambda s: exact([(s, 1.0, pair_mechanisms)]))
    return sigma_pre, sigma_pairs


def plan_budget(epsilon: float, delta: float, mechanisms: int, unknown_histograms: int,
                sample_rate: float, steps: int, preprocessing_share: float = 0.2,
                accountant: str = "rdp", pair_mechanisms: int = 0,
                pair_share: float = 0.0, planning_delta: float | None = None,
                schema: tuple[float, int] = (0.0, 0)) -> BudgetPlan:
    """Fix every noise multiplier up front so that preprocessing + all steps spend <= epsilon.

    The domain histograms and the pair tables each get the noise that alone would spend their
    share of epsilon at `planning_delta` (default: delta); the discriminator's noise is then the
    smallest that keeps the composition of everything within epsilon at the final delta.
    `schema` is (sigma, mechanisms) of a schema already learned under DP, composed first.
    """
    if accountant not in ACCOUNTANTS:
        raise ConfigError(f"unknown accountant {accountant!r}; use rdp or prv")
    if not 0 < epsilon < math.inf:
        raise ConfigError(f"epsilon must be positive and finite for a DP run (got {epsilon})")
    if not 0 < delta < 1:
        raise ConfigError(f"delta must be in (0, 1) (got {delta})")
    delta_accountant, delta_threshold = split_delta(delta, unknown_histograms)
    sigma_pre, sigma_pairs = preprocessing_sigmas(
        epsilon, planning_delta or delta, mechanisms, unknown_histograms, preprocessing_share,
        accountant, pair_mechanisms, pair_share)

    def quick(history: History) -> float:
        return epsilon_of(history, delta_accountant, accountant, fast=True)

    def exact(history: History) -> float:
        return epsilon_of(history, delta_accountant, accountant)

    sigma_schema, schema_mechanisms = schema
    pre = [(sigma_schema, 1.0, schema_mechanisms)] if schema_mechanisms else []
    if mechanisms:
        pre.append((sigma_pre, 1.0, mechanisms))
    if pair_mechanisms:
        pre.append((sigma_pairs, 1.0, pair_mechanisms))
    sigma_train = 0.0
    if steps:
        sigma_train = _search_sigma(
            lambda s: quick([*pre, (s, sample_rate, steps)]), epsilon,
            exact=lambda s: exact([*pre, (s, sample_rate, steps)]))
    elif pre and exact(pre) > epsilon:
        raise ConfigError(f"epsilon {epsilon:g} is too small for the preprocessing alone at "
                          f"delta {delta:.3g}: raise epsilon or delta")
    return BudgetPlan(epsilon, delta, delta_accountant, delta_threshold, accountant, sigma_pre,
                      mechanisms, sigma_train, sample_rate, steps, sigma_pairs, pair_mechanisms,
                      sigma_schema, schema_mechanisms)
