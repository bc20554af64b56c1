"""Our DP-GAN: (epsilon, delta) accounted over preprocessing and training, or non-private."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tabsynth.capacity import check_dense
from tabsynth.dp.accounting import BudgetPlan
from tabsynth.dp.calibrate import POOL_FACTOR, calibrated_choice, marginal_targets
from tabsynth.dp.domain import Domain, learn_domain
from tabsynth.dp.encoding import Encoder
from tabsynth.dp.public import PublicColumn
from tabsynth.dp.start import Start, begin
from tabsynth.dpgan.marginals import choose_pairs, noisy_pair_tables
from tabsynth.dpgan.trainer import TrainSettings, generate, train_gan
from tabsynth.progress import ProgressCallback, ProgressEvent, StopCheck
from tabsynth.synthesizers.dp_base import DpSynthesizer
from tabsynth.synthesizers.registry import method_info
from tabsynth.synthesizers.saved import (
    domain_from_dict,
    domain_to_dict,
    load_module_tensors,
    module_tensors,
)

DEFAULTS = method_info("dp-gan").defaults

class DpGan(DpSynthesizer):
    method = "dp-gan"
    noised = "the discriminator"

    def __init__(self, epsilon: float = DEFAULTS["epsilon"], delta: float | None = None,
                 epochs: int | None = None, batch_size: int | None = None, device: str = "auto",
                 public: dict[str, PublicColumn] | None = None, accountant: str = "rdp",
                 preprocessing_share: float = 0.5, max_grad_norm: float = 1.0,
                 gradient_penalty: float = 0.0, calibrate: bool = True, seed: int = 0,
                 discriminator_dim: tuple[int, ...] = (256, 256),
                 condition_discriminator: bool = True, discriminator_lr: float = 2e-4,
                 generator_lr: float = 2e-4, pair_marginals: bool = True,
                 pair_share: float = 0.5, pair_weight: float = 3.0) -> None:
        super().__init__(epsilon, delta, accountant, preprocessing_share, public, device)
        self.epochs = epochs or DEFAULTS["epochs"]
        self.batch_size = batch_size or DEFAULTS["batch_size"]
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

    def _settings(self) -> dict[str, Any]:
        return {**self._budget_settings(), "epochs": self.epochs, "batch_size": self.batch_size,
                "max_grad_norm": self.max_grad_norm, "gradient_penalty": self.gradient_penalty,
                "calibrate": self.calibrate, "seed": self.seed,
                "discriminator_dim": list(self.discriminator_dim),
                "condition_discriminator": self.condition_discriminator,
                "discriminator_lr": self.discriminator_lr, "generator_lr": self.generator_lr,
                "pair_marginals": self.pair_marginals, "pair_share": self.pair_share,
                "pair_weight": self.pair_weight}

    def _learned_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The domain (DP releases or declared public in a DP fit), the generator's sizes and
        its weights (the discriminator, the only part that read real rows, is not kept)."""
        assert self.domain is not None and self.generator is not None
        hidden = [layer.linear.out_features for layer in self.generator.layers]
        return ({"domain": domain_to_dict(self.domain),
                 "generator": {"noise_dim": self.generator.noise_dim, "hidden": hidden}},
                module_tensors(self.generator, "generator"))

    def _restore_learned(self, learned: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
        from tabsynth.dpgan.model import ComponentLayout, Generator

        self.domain = domain_from_dict(learned["domain"])
        self.encoder = Encoder(self.domain)
        sizes = learned["generator"]
        generator = Generator(int(sizes["noise_dim"]), ComponentLayout(self.encoder),
                              tuple(int(h) for h in sizes["hidden"]))
        load_module_tensors(generator, tensors, "generator")
        self.generator = generator.eval()

    def _pairs(self, columns: int) -> list[tuple[int, int]]:
        """The column pairs whose 2-way tables are released: from the column count and --seed
        only, never the data."""
        if not (self.pair_marginals and columns):
            return []
        return choose_pairs(columns, np.random.default_rng(self.seed))

    def _extra_mechanisms(self, columns: int) -> tuple[int, float]:
        return len(self._pairs(columns)), self.pair_share

    def _fit_private(self, train: pd.DataFrame, start: Start, emit: ProgressCallback,
                     should_stop: StopCheck) -> None:
        self._train(train, start, emit, should_stop)

    def _fit_learned(self, train: pd.DataFrame, progress: ProgressCallback,
                     should_stop: StopCheck) -> None:
        """Without DP: the same sizes and training, from the exact row count."""
        assert self.schema is not None
        start = begin(train, self.schema, [], self.budget, self.batch_size, self.epochs)
        self._released_rows = round(start.rows)
        self.fit_info = {"private": False, "steps": start.steps,
                         "sample_rate": start.sample_rate, "batch_size": start.batch}
        self._train(train, start, progress, should_stop)

    def _train(self, train: pd.DataFrame, start: Start, progress: ProgressCallback,
               should_stop: StopCheck) -> None:
        """Domain, 2-way tables, then the GAN (with DP when ``start`` holds a plan)."""
        assert self.schema is not None
        plan, noise = start.plan, start.noise
        progress(ProgressEvent("preprocess", 0.0, "learning the column domains"
                               + (" with DP" if noise is not None else "")))
        self.domain = learn_domain(train, self.schema, plan.sigma_preprocessing if plan else 0.0,
                                   plan.delta_threshold if plan else 0.0, self.public, noise,
                                   start.rows)
        self.encoder = Encoder(self.domain)
        check_dense(len(train), self.encoder.width, "dp-gan")
        data, components = self.encoder.transform(train)
        pairs = self._pairs(train.shape[1])
        tables = noisy_pair_tables(components, self.encoder.component_sizes, pairs,
                                   plan.sigma_pairs if plan else 0.0, noise)
        settings = TrainSettings(
            pairs=pairs, pair_tables=tables, pair_weight=self.pair_weight,
            steps=start.steps, epochs=self.epochs, sample_rate=start.sample_rate,
            fake_batch=start.batch, noise_multiplier=plan.sigma_training if plan else None,
            max_grad_norm=self.max_grad_norm, gradient_penalty=self.gradient_penalty,
            discriminator_dim=self.discriminator_dim,
            condition_discriminator=self.condition_discriminator,
            discriminator_lr=self.discriminator_lr, generator_lr=self.generator_lr,
            device=self.device, seed=self.seed, accountant=start.accountant,
            delta=plan.delta_accountant if plan else 0.0)
        progress(ProgressEvent("train", 0.0, f"{start.steps} steps, batch ~{start.batch}"))
        self.generator = train_gan(data, components, self.encoder, settings, progress,
                                   should_stop).cpu()
        self.fit_info["domain_warnings"] = {c.name: c.note for c in self.domain.columns
                                            if c.note}

    def _accounting_info(self, start: Start) -> dict[str, Any]:
        assert start.plan is not None
        return {"accountant_history": [list(h) for h in start.accountant.history],
                **super()._accounting_info(start),
                "noise_multiplier_preprocessing": start.plan.sigma_preprocessing}

    def _extra_notes(self, plan: BudgetPlan) -> str:
        return (f" and {plan.pair_mechanisms} 2-way tables (sigma {plan.sigma_pairs:.1f}) that "
                "the generator also matches")

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
