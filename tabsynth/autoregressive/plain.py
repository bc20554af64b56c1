"""Maximum-likelihood training of the autoregressive network (no DP), on one process or many.

A share of the rows is held back for early stopping (the validation likelihood); the learning
rate halves after each epoch without a better likelihood, and training stops after `patience`
such epochs, keeping the best model. In a process group (several workers on a cluster) the
network is wrapped in DistributedDataParallel: each rank trains on its own equal shard of the
training rows with batch / ranks rows per step (the same global batch and steps per epoch), the
validation likelihood is summed over every rank's share, so all ranks take the same decisions.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch

from tabsynth.autoregressive.network import Made
from tabsynth.parallel import agreed_stop, rank_and_world, shard_rows, summed
from tabsynth.progress import Cancelled, ProgressCallback, ProgressEvent, StopCheck

VALIDATION_SHARE = 0.1
PATIENCE = 3  # epochs without a better validation likelihood before stopping
LR_DECAY = 0.5  # the learning rate's factor after each epoch without a better likelihood


@dataclass
class PlainSettings:
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    device: str


def ending_words(trained: int, most: int, waited: int) -> str:
    """How training ended: early stopping names the epoch and the epochs without a better
    validation likelihood (the model kept is the best one, `waited` epochs before)."""
    if waited >= PATIENCE and trained < most:
        return (f"stopped at epoch {trained}: no improvement for {waited} epochs, so the "
                f"model of epoch {trained - waited} is kept")
    if trained == most and most > 1:
        return f"trained all {most} epochs"
    return f"trained {trained} epoch" + ("" if trained == 1 else "s")


def train_plain(network: Made, tokens: torch.Tensor, settings: PlainSettings,
                progress: ProgressCallback, should_stop: StopCheck) -> dict[str, Any]:
    """Train `network` in place on `tokens` (every training row, on every rank); returns what
    the report records of the training."""
    rank, world = rank_and_world()
    stop = agreed_stop(should_stop)
    device = torch.device(settings.device)
    generator = torch.Generator().manual_seed(settings.seed)
    order = torch.randperm(len(tokens), generator=generator)
    held = max(1, int(len(tokens) * VALIDATION_SHARE)) if len(tokens) >= 50 else 0
    validation = tokens[order[:held]][shard_rows(held, rank, world)].to(device)
    fit = tokens[order[held:]]
    fit = fit[shard_rows(len(fit), rank, world, equal=world > 1)].to(device)
    batch = max(1, min(math.ceil(settings.batch_size / world), len(fit)))
    model: torch.nn.Module = network
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(
            network, device_ids=[device.index] if device.type == "cuda" else None)
    optimiser = torch.optim.AdamW(network.parameters(), lr=settings.learning_rate,
                                  weight_decay=1e-5)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimiser, factor=LR_DECAY, patience=0, threshold=1e-4, threshold_mode="abs")
    best, best_state, waited, epochs_run = math.inf, None, 0, 0
    started = time.monotonic()
    progress(ProgressEvent("train", 0.0, f"epoch 1/{settings.epochs} running"))
    loss = torch.zeros(())
    for epoch in range(settings.epochs):
        if stop():
            raise Cancelled()
        network.train()
        permutation = torch.randperm(len(fit), generator=generator).to(device)
        for start in range(0, len(fit), batch):
            optimiser.zero_grad(set_to_none=True)
            rows = fit[permutation[start:start + batch]]
            loss = network.nll_from_logits(model(rows), rows).mean()
            loss.backward()
            optimiser.step()
        epochs_run = epoch + 1
        score = _validation_loss(network, validation, world) if held else \
            summed([float(loss)])[0] / world
        plateau.step(score)
        if score < best - 1e-4:
            best, waited = score, 0
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            waited += 1
        progress(ProgressEvent("train", epochs_run / settings.epochs,
                               f"epoch {epochs_run}/{settings.epochs}",
                               {"validation_nll": round(score, 3)}))
        if held and waited >= PATIENCE:
            break
    if best_state is not None:
        network.load_state_dict(best_state)
    stopping = ending_words(epochs_run, settings.epochs, waited if held else 0)
    progress(ProgressEvent("train", 1.0, stopping))
    return {"epochs": epochs_run, "validation_nll": best, "stopping": stopping,
            "seconds": time.monotonic() - started}


@torch.no_grad()
def _validation_loss(network: Made, validation: torch.Tensor, world: int) -> float:
    """Mean negative log-likelihood of the held-back rows (each rank scores its share)."""
    network.eval()
    total = 0.0
    step = network.rows_per_pass
    for start in range(0, len(validation), step):
        part = validation[start:start + step]
        total += float(network.loss(part)) * len(part)
    total, rows = summed([total, float(len(validation))]) if world > 1 else \
        (total, float(len(validation)))
    return total / max(rows, 1.0)
