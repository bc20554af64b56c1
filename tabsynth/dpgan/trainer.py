"""Device-resident GAN training with DP-SGD on the discriminator (Opacus) or without DP.

Per step: a Poisson sample of the real rows (each row kept with probability q, drawn on the
device), conditional vectors built from those rows themselves, a fixed number of fake rows
conditioned on draws from the noisy marginals; one forward and one backward through the
discriminator for real and fake together; Opacus clips every row's gradient and adds Gaussian
noise; the accountant records the step. The generator never reads real rows, and its step
runs with the discriminator's per-sample hooks disabled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from tabsynth.dp.accounting import spent_epsilon
from tabsynth.dp.encoding import Encoder
from tabsynth.dp.noise import secret_global_seed, secret_torch_generator
from tabsynth.dpgan.marginals import PairLoss
from tabsynth.dpgan.model import ComponentLayout, Discriminator, Generator
from tabsynth.progress import Cancelled, ProgressCallback, ProgressEvent, StopCheck


@dataclass
class TrainSettings:
    steps: int
    epochs: int
    sample_rate: float
    fake_batch: int
    noise_multiplier: float | None  # None: non-private
    max_grad_norm: float = 1.0
    noise_dim: int = 128
    generator_dim: tuple[int, ...] = (256, 256)
    discriminator_dim: tuple[int, ...] = (256, 256)
    generator_lr: float = 2e-4
    discriminator_lr: float = 2e-4
    gradient_penalty: float = 0.0
    condition_discriminator: bool = True  # feed the conditional vector to the discriminator too
    device: str = "cpu"
    seed: int = 0
    pairs: list[tuple[int, int]] | None = None  # column pairs with DP 2-way tables
    pair_tables: list[np.ndarray] | None = None
    pair_weight: float = 1.0
    accountant: Any = None  # an Opacus accountant, preloaded with the preprocessing history
    delta: float = 0.0  # the accountant's delta, for progress reports


class ConditionalSampler:
    """Draws conditional components on the device: from real rows, or from the noisy marginals.

    A condition is one component index in component order (the position of the single 1 in
    CTGAN's conditional vector).
    """

    def __init__(self, encoder: Encoder, device: torch.device) -> None:
        sizes = encoder.component_sizes
        self.n_columns = len(sizes)
        self.starts = torch.tensor(encoder.cond_starts, device=device)
        table = np.zeros((len(sizes), max(sizes)), dtype=np.float32)
        for j, column in enumerate(encoder.domain.columns):
            table[j, :sizes[j]] = column.marginal
        self.marginals = torch.tensor(table, device=device)
        self.device = device

    def from_rows(self, components: torch.Tensor) -> torch.Tensor:
        columns = torch.randint(0, self.n_columns, (len(components),), device=self.device)
        chosen = components[torch.arange(len(components), device=self.device), columns]
        return self.starts[columns] + chosen

    def from_marginals(self, count: int) -> torch.Tensor:
        columns = torch.randint(0, self.n_columns, (count,), device=self.device)
        chosen = torch.multinomial(self.marginals[columns], 1).squeeze(1)
        return self.starts[columns] + chosen


def make_private_discriminator(discriminator: torch.nn.Module, optimizer: torch.optim.Optimizer,
                               noise_multiplier: float, max_grad_norm: float,
                               expected_batch_size: int,
                               noise_generator: torch.Generator | None = None
                               ) -> tuple[Any, Any, Any]:
    """Opacus ghost clipping: per-row gradient norms without materialising per-row gradients.

    Returns (module, DP optimizer, loss) where loss(logits, labels).backward() runs Opacus's two
    passes (norms, then the clipped sum) and optimizer.step() adds Gaussian noise of std
    noise_multiplier * max_grad_norm to the sum before the Adam update, drawn from
    `noise_generator` (an OS-seeded one in every DP fit).
    """
    from opacus.grad_sample import GradSampleModuleFastGradientClipping
    from opacus.optimizers import DPOptimizerFastGradientClipping
    from opacus.utils.fast_gradient_clipping_utils import DPLossFastGradientClipping

    module = GradSampleModuleFastGradientClipping(
        discriminator, loss_reduction="sum", max_grad_norm=max_grad_norm,
        use_ghost_clipping=True)
    dp_optimizer = DPOptimizerFastGradientClipping(
        optimizer, noise_multiplier=noise_multiplier, max_grad_norm=max_grad_norm,
        expected_batch_size=expected_batch_size, loss_reduction="sum",
        generator=noise_generator)
    loss = DPLossFastGradientClipping(
        module, dp_optimizer, torch.nn.BCEWithLogitsLoss(reduction="sum"), loss_reduction="sum")
    return module, dp_optimizer, loss


def train_gan(data: np.ndarray, components: np.ndarray, encoder: Encoder,
              settings: TrainSettings, progress: ProgressCallback,
              should_stop: StopCheck) -> Generator:
    """Train for exactly settings.steps discriminator steps, each recorded by the accountant.

    A private run draws everything (gradient noise, Poisson masks, initial weights, the
    generator's inputs) from fresh OS seeds that are never recorded; only the non-private mode
    follows settings.seed.
    """
    if settings.noise_multiplier is None:
        torch.manual_seed(settings.seed)
        return _train(data, components, encoder, settings, progress, should_stop)
    with secret_global_seed():
        return _train(data, components, encoder, settings, progress, should_stop)


def _train(data: np.ndarray, components: np.ndarray, encoder: Encoder,
           settings: TrainSettings, progress: ProgressCallback,
           should_stop: StopCheck) -> Generator:
    private = settings.noise_multiplier is not None
    device = torch.device(settings.device)
    real = torch.as_tensor(data, device=device)
    real_components = torch.as_tensor(components, device=device)
    conditions = ConditionalSampler(encoder, device)
    layout = ComponentLayout(encoder).to(device)
    generator = Generator(settings.noise_dim, layout, settings.generator_dim).to(device)
    discriminator = Discriminator(
        encoder.width, settings.discriminator_dim,
        cond_width=encoder.cond_width if settings.condition_discriminator else 0).to(device)
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=settings.generator_lr,
                                   betas=(0.5, 0.9), weight_decay=1e-6)
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=settings.discriminator_lr,
                                   betas=(0.5, 0.9))
    criterion = None
    if private:
        discriminator, optimizer_d, criterion = make_private_discriminator(
            discriminator, optimizer_d, settings.noise_multiplier, settings.max_grad_norm,
            2 * settings.fake_batch, secret_torch_generator(settings.device))
    steps_per_epoch = settings.steps / settings.epochs
    mask_generator = secret_torch_generator(settings.device) if private else \
        torch.Generator(device=device).manual_seed(settings.seed)
    pair_loss = PairLoss(layout, settings.pairs, settings.pair_tables) \
        if settings.pairs else None
    last: dict[str, float] = {}
    reported_epoch = 0
    for step in range(1, settings.steps + 1):
        if should_stop():
            raise Cancelled(f"cancelled after step {step - 1} of {settings.steps}")
        # discriminator: one forward/backward over real + fake rows
        keep = torch.rand(len(real), device=device, generator=mask_generator) \
            < settings.sample_rate
        index = keep.nonzero().squeeze(1)
        cond = conditions.from_marginals(settings.fake_batch)
        noise = torch.randn(settings.fake_batch, settings.noise_dim, device=device)
        with torch.no_grad():
            fake = generator.activate(generator(noise, cond))
        optimizer_d.zero_grad(set_to_none=True)
        both = torch.cat([real[index], fake], dim=0)
        both_cond = torch.cat([conditions.from_rows(real_components[index]), cond]) \
            if settings.condition_discriminator else None
        n_real = len(index)
        labels = torch.cat([torch.ones(n_real, device=device),
                            torch.zeros(settings.fake_batch, device=device)])
        if private:  # Opacus: per-row clipped backward
            loss_d = criterion(discriminator(both, both_cond), labels)
        else:
            if settings.gradient_penalty > 0:
                both.requires_grad_(True)
            logits = discriminator(both, both_cond)
            loss_d = functional.binary_cross_entropy_with_logits(logits, labels)
            if settings.gradient_penalty > 0 and n_real:
                grads = torch.autograd.grad(logits[:n_real].sum(), both, create_graph=True)[0]
                loss_d = loss_d + settings.gradient_penalty / 2 * \
                    grads[:n_real].pow(2).sum(1).mean()
        loss_d.backward()
        optimizer_d.step()
        if private and settings.accountant is not None:
            settings.accountant.step(noise_multiplier=settings.noise_multiplier,
                                     sample_rate=settings.sample_rate)

        # generator: never sees real rows; discriminator hooks off
        if private:
            discriminator.disable_hooks()
        cond = conditions.from_marginals(settings.fake_batch)
        noise = torch.randn(settings.fake_batch, settings.noise_dim, device=device)
        raw = generator(noise, cond)
        logits = raw[:, layout.component_slots]
        scored = discriminator(generator.activate(raw, logits=logits),
                               cond if settings.condition_discriminator else None)
        loss_g = functional.softplus(-scored).mean() + layout.condition_loss(logits, cond)
        if pair_loss is not None:
            loss_g = loss_g + settings.pair_weight * pair_loss(logits)
        optimizer_g.zero_grad(set_to_none=True)
        loss_g.backward()
        optimizer_g.step()
        optimizer_d.zero_grad(set_to_none=True)
        if private:
            discriminator.enable_hooks()

        epoch = min(settings.epochs, math.floor(step / steps_per_epoch + 1e-9))
        if epoch > reported_epoch or step == settings.steps:
            reported_epoch = max(epoch, reported_epoch)
            last = {"epoch": float(reported_epoch), "generator_loss": float(loss_g.detach())}
            if not private:  # the discriminator's loss sums over real rows: not DP output
                last["discriminator_loss"] = float(loss_d.detach())
            if private and settings.accountant is not None:
                last["epsilon"] = spent_epsilon(settings.accountant, settings.delta, fast=True)
            progress(ProgressEvent("train", step / settings.steps,
                                   f"epoch {reported_epoch}/{settings.epochs}", dict(last)))
    generator.eval()
    return generator


@torch.no_grad()
def generate(generator: Generator, encoder: Encoder, count: int, device: str,
             seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(component index per column, offset per column) for `count` generated rows."""
    torch.manual_seed(seed)
    torch_device = torch.device(device)
    generator = generator.to(torch_device).eval()
    conditions = ConditionalSampler(encoder, torch_device)
    components, offsets = [], []
    for start in range(0, count, 4096):
        size = min(4096, count - start)
        cond = conditions.from_marginals(size)
        noise = torch.randn(size, generator.noise_dim, device=torch_device)
        raw = generator(noise, cond)
        chosen, shifts = [], []
        for span in encoder.spans:
            logits = raw[:, span.start:span.start + span.size]
            chosen.append(torch.multinomial(torch.softmax(logits, dim=1), 1).squeeze(1))
            shifts.append(torch.tanh(raw[:, span.offset]) if span.offset is not None
                          else torch.zeros(size, device=torch_device))
        components.append(torch.stack(chosen, dim=1).cpu().numpy())
        offsets.append(torch.stack(shifts, dim=1).cpu().numpy())
    return np.concatenate(components), np.concatenate(offsets)
