"""Autoregressive synthesizer: each column predicted from the columns before it (MADE network).

Numbers and dates become a quantile-bin token plus a within-bin token, categories and missing
values tokens of their own; the network is trained by maximum likelihood with early stopping on
a validation share of the training rows, and rows are sampled column by column.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd
import torch

from tabsynth.autoregressive.network import Made
from tabsynth.autoregressive.tokens import TokenCodec
from tabsynth.device import resolve_device
from tabsynth.dpgan.domain import learn_domain
from tabsynth.errors import ConfigError
from tabsynth.synthesizers.base import (
    Cancelled,
    ProgressCallback,
    ProgressEvent,
    StopCheck,
    Synthesizer,
)

VALIDATION_SHARE = 0.1
PATIENCE = 3  # epochs without a better validation likelihood before stopping
SAMPLE_BATCH = 16_384


class Autoregressive(Synthesizer):
    method = "autoregressive"
    discloses = ("a model fitted without noise: it learns every column given the ones before "
                 "it and can reproduce rare rows; no formal privacy guarantee")

    def __init__(self, epochs: int | None = None, batch_size: int | None = None,
                 device: str = "auto", hidden: int = 256, layers: int = 2,
                 learning_rate: float = 2e-3, temperature: float = 1.0,
                 epsilon: float | None = None, seed: int = 0,
                 target: str | None = None) -> None:
        super().__init__()
        if epsilon is not None and math.isfinite(epsilon):
            raise ConfigError("the autoregressive method has no differentially private mode "
                              "yet: leave out --epsilon, or use dp-gan for an (ε, δ) guarantee")
        self.epochs, self.batch_size = epochs or 60, batch_size or 512
        self.device = resolve_device(device)
        self.hidden, self.layers = hidden, layers
        self.learning_rate, self.temperature = learning_rate, temperature
        self.seed, self.target = seed, target
        self.codec: TokenCodec | None = None
        self.network: Made | None = None

    def _fit_learned(self, train: pd.DataFrame, progress: ProgressCallback,
                     should_stop: StopCheck) -> None:
        assert self.schema is not None
        progress(ProgressEvent("preprocess", 0.0, "tokenising the columns"))
        domain = learn_domain(train, self.schema, 0.0, 0.0, {}, None, float(len(train)))
        names = [c.name for c in domain.columns]
        order = list(range(len(names)))
        if self.target in names:  # predicted from every other column
            order.remove(names.index(self.target))
            order.append(names.index(self.target))
        self.codec = TokenCodec(domain, order)
        tokens = torch.from_numpy(self.codec.encode(train))
        torch.manual_seed(self.seed)
        self.network = Made(self.codec.vocabularies, self.hidden, self.layers).to(self.device)
        self.fit_info = self._train(tokens, progress, should_stop)
        self.network = self.network.cpu().eval()

    def _train(self, tokens: torch.Tensor, progress: ProgressCallback,
               should_stop: StopCheck) -> dict[str, Any]:
        assert self.network is not None
        generator = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(len(tokens), generator=generator)
        held = max(1, int(len(tokens) * VALIDATION_SHARE)) if len(tokens) >= 50 else 0
        validation = tokens[order[:held]].to(self.device)
        fit = tokens[order[held:]].to(self.device)
        batch = max(1, min(self.batch_size, len(fit)))
        optimiser = torch.optim.AdamW(self.network.parameters(), lr=self.learning_rate,
                                      weight_decay=1e-5)
        best, best_state, waited, epochs_run = math.inf, None, 0, 0
        started = time.monotonic()
        for epoch in range(self.epochs):
            if should_stop():
                raise Cancelled()
            self.network.train()
            permutation = torch.randperm(len(fit), generator=generator).to(self.device)
            for start in range(0, len(fit), batch):
                optimiser.zero_grad(set_to_none=True)
                loss = self.network.loss(fit[permutation[start:start + batch]])
                loss.backward()
                optimiser.step()
            epochs_run = epoch + 1
            score = self._validation_loss(validation) if held else float(loss)
            if score < best - 1e-4:
                best, waited = score, 0
                best_state = {k: v.detach().clone() for k, v in
                              self.network.state_dict().items()}
            else:
                waited += 1
            progress(ProgressEvent("train", epochs_run / self.epochs,
                                   f"epoch {epochs_run}/{self.epochs}",
                                   {"validation_nll": round(score, 3)}))
            if held and waited >= PATIENCE:
                break
        if best_state is not None:
            self.network.load_state_dict(best_state)
        progress(ProgressEvent("train", 1.0, f"fitted ({epochs_run} epochs)"))
        return {"epochs": epochs_run, "validation_nll": best,
                "seconds": time.monotonic() - started, "steps": len(self.codec.steps)}

    @torch.no_grad()
    def _validation_loss(self, validation: torch.Tensor) -> float:
        assert self.network is not None
        self.network.eval()
        total = 0.0
        for start in range(0, len(validation), SAMPLE_BATCH):
            part = validation[start:start + SAMPLE_BATCH]
            total += float(self.network.loss(part)) * len(part)
        return total / len(validation)

    def _sample_learned(self, n: int, seed: int) -> pd.DataFrame:
        assert self.network is not None and self.codec is not None
        network = self.network.to(self.device).eval()
        generator = torch.Generator(device=self.device).manual_seed(seed)
        parts = [network.sample(min(SAMPLE_BATCH, n - start), generator, self.temperature,
                                self.device).cpu().numpy()
                 for start in range(0, n, SAMPLE_BATCH)]
        self.network = network.cpu()
        return self.codec.decode(np.concatenate(parts), np.random.default_rng(seed))

