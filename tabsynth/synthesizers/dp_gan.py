"""Our DP-GAN: (epsilon, delta) accounted over preprocessing and training, or non-private."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.capacity import check_dense
from tabsynth.device import resolve_device
from tabsynth.dp.accounting import BudgetPlan
from tabsynth.dp.calibrate import POOL_FACTOR, calibrated_choice, marginal_targets
from tabsynth.dp.claim import RANDOMNESS, PrivacyClaim, not_covered, residual_risks
from tabsynth.dp.domain import Domain, learn_domain
from tabsynth.dp.encoding import Encoder
from tabsynth.dp.method import DpOutput, check_public_names, checked_epsilon
from tabsynth.dp.noise import SecretNoise
from tabsynth.dp.public import PublicColumn
from tabsynth.dp.start import Budget, begin
from tabsynth.dpgan.marginals import choose_pairs, noisy_pair_tables
from tabsynth.dpgan.trainer import TrainSettings, generate, train_gan
from tabsynth.progress import ProgressCallback, ProgressEvent, StopCheck
from tabsynth.regenerate import RegenerationState
from tabsynth.synthesizers.base import Synthesizer


class DpGan(DpOutput, Synthesizer):
    method = "dp-gan"
    discloses = ("with finite epsilon: nothing beyond the (epsilon, delta) guarantee for any one "
                 "row; with --epsilon inf: a GAN fitted without noise, which can memorise rows")

    def __init__(self, epsilon: float = 3.0, delta: float | None = None, epochs: int | None = None,
                 batch_size: int | None = None, device: str = "auto",
                 public: dict[str, PublicColumn] | None = None, accountant: str = "rdp",
                 preprocessing_share: float = 0.5, max_grad_norm: float = 1.0,
                 gradient_penalty: float = 0.0, calibrate: bool = True, seed: int = 0,
                 discriminator_dim: tuple[int, ...] = (256, 256),
                 condition_discriminator: bool = True, discriminator_lr: float = 2e-4,
                 generator_lr: float = 2e-4, pair_marginals: bool = True,
                 pair_share: float = 0.5, pair_weight: float = 3.0) -> None:
        super().__init__()
        self.epsilon, self.delta = checked_epsilon(epsilon, delta, accountant), delta
        self.epochs = epochs or 20
        self.batch_size = batch_size or 1000
        self.device = resolve_device(device)
        self.public = public or {}
        self.accountant, self.preprocessing_share = accountant, preprocessing_share
        self.max_grad_norm, self.gradient_penalty = max_grad_norm, gradient_penalty
        self.calibrate, self.seed = calibrate, seed
        self.discriminator_dim = tuple(discriminator_dim)
        self.condition_discriminator = condition_discriminator
        self.discriminator_lr, self.generator_lr = discriminator_lr, generator_lr
        self.pair_marginals, self.pair_share, self.pair_weight = (pair_marginals, pair_share,
                                                                  pair_weight)
        self.domain: Domain | None = None
        self.encoder: Encoder | None = None
        self.generator: Any = None
        self.plan: BudgetPlan | None = None
        self._claim: PrivacyClaim | None = None
        self._released_rows: int | None = None

    @property
    def private(self) -> bool:
        return math.isfinite(self.epsilon)

    def _fit_learned(self, train: pd.DataFrame, progress: ProgressCallback,
                     should_stop: StopCheck) -> None:
        raise AssertionError("DpGan fits through _fit_all: its budget spans every column")

    def _fit_all(self, train: pd.DataFrame, regenerated: list[str], emit: ProgressCallback,
                 should_stop: StopCheck) -> None:
        """Row count, budget plan, missing rates, domain, pair tables, then training.

        In a DP fit every release goes through one SecretNoise (OS-seeded, local to this call)
        and every quantity derived from the table's size uses the noisy row count.
        """
        assert self.schema is not None
        learned = [c.name for c in self.schema.learned]
        check_public_names(self.public, learned)
        pairs = choose_pairs(len(learned), np.random.default_rng(self.seed)) \
            if self.pair_marginals and learned else []  # depends on the column count only
        budget = Budget(self.epsilon, self.delta, self.accountant, self.preprocessing_share,
                        self.public)
        start = begin(train, self.schema, regenerated, budget, self.batch_size, self.epochs,
                      len(pairs), self.pair_share)
        noise, rows, accountant, steps = start.noise, start.rows, start.accountant, start.steps
        self.plan = start.plan
        self._released_rows = round(rows)
        self._regen_state = {name: RegenerationState(rate)
                             for name, rate in start.missing_rates.items()}
        self.fit_info = {"private": self.private, "steps": steps,
                         "sample_rate": start.sample_rate, "batch_size": start.batch}
        if learned:
            self._train(train[learned], noise, rows, pairs, steps, start.sample_rate,
                        start.batch, accountant, emit, should_stop)
        else:
            emit(ProgressEvent("fit", 1.0, "no learned column: every column is regenerated"))
        if noise is not None and self.plan is not None:
            self.fit_info["noisy_releases"] = dict(noise.releases)
            self.fit_info["accountant_history"] = [list(h) for h in accountant.history]
            self.fit_info["noise_multiplier"] = self.plan.sigma_training
            self.fit_info["noise_multiplier_preprocessing"] = self.plan.sigma_preprocessing
            self._claim = self._claim_from(accountant, steps, regenerated)

    def _train(self, train: pd.DataFrame, noise: SecretNoise | None, rows: float,
               pairs: list[tuple[int, int]], steps: int, sample_rate: float, batch: int,
               accountant: Any, progress: ProgressCallback, should_stop: StopCheck) -> None:
        assert self.schema is not None
        plan = self.plan
        progress(ProgressEvent("preprocess", 0.0, "learning the column domains"
                               + (" with DP" if noise is not None else "")))
        self.domain = learn_domain(train, self.schema, plan.sigma_preprocessing if plan else 0.0,
                                   plan.delta_threshold if plan else 0.0, self.public, noise,
                                   rows)
        self.encoder = Encoder(self.domain)
        check_dense(len(train), self.encoder.width, "dp-gan")
        data, components = self.encoder.transform(train)
        tables = noisy_pair_tables(components, self.encoder.component_sizes, pairs,
                                   plan.sigma_pairs if plan else 0.0, noise)
        settings = TrainSettings(
            pairs=pairs, pair_tables=tables, pair_weight=self.pair_weight,
            steps=steps, epochs=self.epochs, sample_rate=sample_rate, fake_batch=batch,
            noise_multiplier=plan.sigma_training if plan else None,
            max_grad_norm=self.max_grad_norm, gradient_penalty=self.gradient_penalty,
            discriminator_dim=self.discriminator_dim,
            condition_discriminator=self.condition_discriminator,
            discriminator_lr=self.discriminator_lr, generator_lr=self.generator_lr,
            device=self.device, seed=self.seed, accountant=accountant,
            delta=plan.delta_accountant if plan else 0.0)
        progress(ProgressEvent("train", 0.0, f"{steps} steps, batch ~{batch}"))
        self.generator = train_gan(data, components, self.encoder, settings, progress,
                                   should_stop).cpu()
        self.fit_info["domain_warnings"] = {c.name: c.note for c in self.domain.columns
                                            if c.note}

    def _claim_from(self, accountant: Any, steps: int, regenerated: list[str]) -> PrivacyClaim:
        plan = self.plan
        assert plan is not None
        from tabsynth.dp.accounting import epsilon_of, spent_epsilon

        total = spent_epsilon(accountant, plan.delta_accountant)
        pre = epsilon_of(plan.domain_history, plan.delta_accountant, plan.accountant)
        pairs = epsilon_of(plan.pair_history, plan.delta_accountant, plan.accountant)
        training = epsilon_of(plan.training_history(steps), plan.delta_accountant,
                              plan.accountant)
        notes = (f"delta = {plan.delta_accountant:.3g} (accountant) + {plan.delta_threshold:.3g} "
                 "(category/value release thresholds); noise multiplier "
                 f"{plan.sigma_training:.3f} on the discriminator for {steps} Poisson-sampled "
                 f"steps at rate {plan.sample_rate:.4g}; {plan.mechanisms} discrete Gaussian "
                 f"count releases (sigma {plan.sigma_preprocessing:.1f}: the row count, "
                 f"histograms, missing counts of made-up columns) and {plan.pair_mechanisms} "
                 f"2-way tables (sigma {plan.sigma_pairs:.1f}) that the generator also matches. "
                 "The sampling rate, default delta and default number of output rows come from "
                 "the noisy row count.")
        return PrivacyClaim(epsilon=total, delta=plan.delta, accountant=plan.accountant,
                            epsilon_preprocessing=pre, epsilon_training=training,
                            epsilon_marginals=pairs,
                            not_covered=not_covered(self.public, regenerated),
                            residual_risks=residual_risks(plan.accountant),
                            randomness=RANDOMNESS, notes=notes)

    def _sample_learned(self, n: int, seed: int) -> pd.DataFrame:
        assert self.encoder is not None and self.domain is not None
        rng = np.random.default_rng(seed)
        pool = n * POOL_FACTOR if self.calibrate else n
        components, offsets = generate(self.generator, self.encoder, pool, self.device, seed)
        if self.calibrate:
            chosen = calibrated_choice(components, marginal_targets(self.domain), n, rng)
            components, offsets = components[chosen], offsets[chosen]
        self.generator.cpu()
        return self.encoder.inverse(components, offsets)
