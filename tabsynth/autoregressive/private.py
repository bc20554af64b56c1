"""DP-SGD for the autoregressive network: Poisson batches, per-row clipping, Gaussian noise.

Opacus's ghost clipping computes each row's gradient norm without materialising per-row
gradients; MaskedLinear gets its own exact norm and gradient samplers (the mask zeroes part of
each row's outer product). Every draw (initial weights, Poisson masks, gradient noise) comes
from fresh OS seeds; the accountant records every step.

In a process group (several workers on a cluster) each rank holds a shard of the rows and
Poisson-samples it at the global rate, so together they draw one Poisson sample of the whole
table; DPDDP starts every rank from rank 0's weights, and Opacus's distributed optimizer adds
the noise on rank 0 only before the clipped gradient sums are added up across ranks: the same
mechanism, and the same accountant figure, as one process with the same sigma, rate and steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from opacus.grad_sample import register_grad_sampler, register_norm_sampler

from tabsynth.autoregressive.network import Made, MaskedLinear
from tabsynth.dp.accounting import spent_epsilon
from tabsynth.dp.noise import secret_torch_generator
from tabsynth.parallel import agreed_stop, rank_and_world
from tabsynth.progress import Cancelled, ProgressCallback, ProgressEvent, StopCheck


@register_grad_sampler(MaskedLinear)
def masked_linear_grad_sample(layer: MaskedLinear, activations: list[torch.Tensor],
                              backprops: torch.Tensor) -> dict[torch.nn.Parameter, torch.Tensor]:
    inputs = activations[0].to(backprops.dtype)
    samples = {}
    if layer.weight.requires_grad:
        samples[layer.weight] = torch.einsum("ni,nj->nij", backprops, inputs) * layer.mask
    if layer.bias is not None and layer.bias.requires_grad:
        samples[layer.bias] = backprops
    return samples


@register_norm_sampler(MaskedLinear)
def masked_linear_norm_sample(layer: MaskedLinear, activations: list[torch.Tensor],
                              backprops: torch.Tensor) -> dict[torch.nn.Parameter, torch.Tensor]:
    """|| (g a^T) * M ||_F per row = sqrt(sum_ij g_i^2 M_ij a_j^2), exactly."""
    inputs = activations[0].to(backprops.dtype)
    norms = {}
    if layer.weight.requires_grad:
        squared = ((backprops ** 2) @ layer.mask * inputs ** 2).sum(1)
        norms[layer.weight] = torch.sqrt(squared.clamp(min=0))
    if layer.bias is not None and layer.bias.requires_grad:
        norms[layer.bias] = backprops.norm(dim=1)
    return norms


@dataclass
class PrivateSettings:
    steps: int
    epochs: int
    sample_rate: float
    expected_batch: int
    noise_multiplier: float
    max_grad_norm: float
    learning_rate: float
    accountant: Any
    delta: float
    device: str


def train_private(network: Made, tokens: torch.Tensor, settings: PrivateSettings,
                  progress: ProgressCallback, should_stop: StopCheck) -> Made:
    """Exactly settings.steps DP-SGD steps on Poisson samples of `tokens` (rows: this rank's
    shard in a process group, each row sampled at the global rate)."""
    from opacus.grad_sample import GradSampleModuleFastGradientClipping
    from opacus.optimizers import (
        DistributedDPOptimizerFastGradientClipping,
        DPOptimizerFastGradientClipping,
    )
    from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping

    device = torch.device(settings.device)
    rows = tokens.to(device)
    distributed = rank_and_world()[1] > 1
    if distributed:
        from opacus.distributed import DifferentiallyPrivateDistributedDataParallel

        DifferentiallyPrivateDistributedDataParallel(network)  # rank 0's weights everywhere
    should_stop = agreed_stop(should_stop)
    module = GradSampleModuleFastGradientClipping(
        network, loss_reduction="sum", max_grad_norm=settings.max_grad_norm,
        use_ghost_clipping=True)
    optimizer_class = DistributedDPOptimizerFastGradientClipping if distributed \
        else DPOptimizerFastGradientClipping
    optimizer = optimizer_class(
        torch.optim.Adam(network.parameters(), lr=settings.learning_rate),
        noise_multiplier=settings.noise_multiplier, max_grad_norm=settings.max_grad_norm,
        expected_batch_size=settings.expected_batch, loss_reduction="sum",
        generator=secret_torch_generator(settings.device))
    masks = secret_torch_generator(settings.device)
    steps_per_epoch = settings.steps / settings.epochs
    reported = 0
    for step in range(1, settings.steps + 1):
        if should_stop():
            raise Cancelled(f"cancelled after step {step - 1} of {settings.steps}")
        keep = torch.rand(len(rows), device=device, generator=masks) < settings.sample_rate
        batch = rows[keep.nonzero().squeeze(1)]
        optimizer.zero_grad(set_to_none=True)
        # an empty Poisson sample still takes a (pure-noise) step: a made-up row, weight 0
        per_row = network.row_nll(batch) if len(batch) else \
            network.row_nll(torch.zeros_like(rows[:1])) * 0.0
        DPTensorFastGradientClipping(module, optimizer, per_row, "sum").backward()
        optimizer.step()
        settings.accountant.step(noise_multiplier=settings.noise_multiplier,
                                 sample_rate=settings.sample_rate)
        epoch = min(settings.epochs, math.floor(step / steps_per_epoch + 1e-9))
        if epoch > reported or step == settings.steps:
            reported = max(epoch, reported)
            spent = spent_epsilon(settings.accountant, settings.delta, fast=True)
            progress(ProgressEvent("train", step / settings.steps,
                                   f"epoch {reported}/{settings.epochs}", {"epsilon": spent}))
    module.remove_hooks()
    clean = Made(network.vocabularies, network.hidden_size, network.layer_count)
    clean.load_state_dict({k: v.detach().cpu() for k, v in network.state_dict().items()})
    return clean
