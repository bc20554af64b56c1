"""Autoregressive synthesizer: each column predicted from the columns before it (MADE network).

Numbers and dates become a quantile-bin token plus a within-bin token, categories and missing
values tokens of their own; rows are sampled column by column. Without --epsilon the network is
trained by maximum likelihood with early stopping on a validation share of the training rows;
with it, by DP-SGD for a fixed number of Poisson-sampled steps (no validation, no checkpoint
choice: nothing outside the accountant looks at the rows), and rows are then drawn from a larger
generated pool so their 1-way marginals match the domain's noisy ones (post-processing).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from tabsynth.autoregressive.constrain import (
    hold_to_ranges,
    rule_masks,
    settle_orders,
    step_allowed,
    token_masks,
)
from tabsynth.autoregressive.network import Made
from tabsynth.autoregressive.plain import PATIENCE, PlainSettings, train_plain
from tabsynth.autoregressive.tokens import TokenCodec
from tabsynth.constraints.conditions import Condition
from tabsynth.constraints.rules import Rule
from tabsynth.dp.calibrate import POOL_FACTOR, calibrated_choice, marginal_targets
from tabsynth.dp.domain import learn_domain
from tabsynth.dp.noise import secret_global_seed
from tabsynth.dp.public import PublicColumn
from tabsynth.dp.start import Start
from tabsynth.errors import ConfigError
from tabsynth.progress import ProgressCallback, ProgressEvent, StopCheck
from tabsynth.synthesizers.dp_base import DpSynthesizer
from tabsynth.synthesizers.saved import (
    domain_from_dict,
    domain_to_dict,
    load_module_tensors,
    module_tensors,
)

PRIVATE_EPOCHS = 15
PRIVATE_BATCH = 1000
DROPOUT = 0.1  # census, one seed: quality 0.978 -> 0.982, 2-way TVD 0.029 -> 0.025
CONDITION_PARTICLES = 8  # rows carried per row wanted under conditions (network.sample): census
# and online_shoppers, 6 conditions, rows as many as rejection keeps: mean 1-way TVD to the
# real rows meeting them 0.069 -> 0.058 (rejection from the model 0.057), 10x the time
__all__ = ["PATIENCE", "PRIVATE_BATCH", "PRIVATE_EPOCHS", "Autoregressive"]


class Autoregressive(DpSynthesizer):
    method = "autoregressive"
    noised = "the network's clipped per-row gradients"
    conditional = True

    def __init__(self, epochs: int | None = None, batch_size: int | None = None,
                 device: str = "auto", hidden: int = 256, layers: int = 2,
                 dropout: float = DROPOUT,
                 learning_rate: float | None = None, temperature: float = 1.0,
                 calibrate: bool | None = None,
                 epsilon: float | None = None, delta: float | None = None,
                 accountant: str = "rdp", max_grad_norm: float = 1.0,
                 preprocessing_share: float | None = None,
                 public: dict[str, PublicColumn] | None = None, seed: int = 0,
                 target: str | None = None, workers: int = 1) -> None:
        super().__init__(epsilon, delta, accountant, preprocessing_share, public, device)
        private = self.private
        self.epochs = epochs or (PRIVATE_EPOCHS if private else 60)
        self.batch_size = batch_size or (PRIVATE_BATCH if private else 512)
        self.learning_rate = learning_rate or (3e-3 if private else 2e-3)
        self.hidden, self.layers = hidden, layers
        self.dropout = dropout  # without DP only: DP-SGD's noise already regularises
        self.temperature, self.max_grad_norm = temperature, max_grad_norm
        # with DP, draw rows so their 1-way marginals match the noisy ones already paid for
        self.calibrate = private if calibrate is None else calibrate
        self.seed, self.target = seed, target
        self.workers = workers  # > 1: data-parallel training on a Ray cluster's workers
        self.codec: TokenCodec | None = None
        self.network: Made | None = None

    def _settings(self) -> dict[str, Any]:
        return {**self._budget_settings(), "epochs": self.epochs, "batch_size": self.batch_size,
                "hidden": self.hidden, "layers": self.layers, "dropout": self.dropout,
                "learning_rate": self.learning_rate, "temperature": self.temperature,
                "calibrate": self.calibrate, "max_grad_norm": self.max_grad_norm,
                "seed": self.seed, "target": self.target}

    def _learned_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The token codec's domain and column order (DP releases or declared public in a DP
        fit) and the network's weights."""
        assert self.codec is not None and self.network is not None
        return ({"domain": domain_to_dict(self.codec.domain), "order": self.codec.order},
                module_tensors(self.network, "network"))

    def _restore_learned(self, learned: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
        self.codec = TokenCodec(domain_from_dict(learned["domain"]),
                                [int(k) for k in learned["order"]])
        network = Made(self.codec.vocabularies, self.hidden, self.layers, self.dropout)
        load_module_tensors(network, tensors, "network")
        self.network = network.eval()

    def _fit_private(self, train: pd.DataFrame, start: Start, emit: ProgressCallback,
                     should_stop: StopCheck) -> None:
        from tabsynth.autoregressive.private import PrivateSettings, train_private

        assert self.schema is not None and start.plan is not None
        plan = start.plan
        emit(ProgressEvent("preprocess", 0.0, "learning the column domains with DP"))
        domain = learn_domain(train, self.schema, plan.sigma_preprocessing,
                              plan.delta_threshold, self.budget.public, start.noise, start.rows)
        self.fit_info["domain_warnings"] = {c.name: c.note for c in domain.columns if c.note}
        self.codec = TokenCodec(domain, self._order([c.name for c in domain.columns]))
        tokens = torch.from_numpy(self.codec.encode(train))
        with secret_global_seed():  # initial weights: never from --seed in a DP fit
            network = Made(self.codec.vocabularies, self.hidden, self.layers)
        network = network.start_from(self.codec.prior_log_probabilities()).to(self.device)
        emit(ProgressEvent("train", 0.0, f"{start.steps} DP-SGD steps, batch ~{start.batch}"))
        settings = PrivateSettings(
            steps=start.steps, epochs=self.epochs, sample_rate=start.sample_rate,
            expected_batch=start.batch, noise_multiplier=plan.sigma_training,
            max_grad_norm=self.max_grad_norm, learning_rate=self.learning_rate,
            accountant=start.accountant, delta=plan.delta_accountant, device=self.device)
        if self.workers > 1:
            self.network = self._train_private_on_workers(network, tokens, settings, start,
                                                          emit, should_stop)
        else:
            self.network = train_private(network, tokens, settings, emit, should_stop).eval()
        if self.workers > 1:
            self.fit_info["workers"] = self.workers

    def _train_private_on_workers(self, network: Made, tokens: torch.Tensor,
                                  settings: Any, start: Start, emit: ProgressCallback,
                                  should_stop: StopCheck) -> Made:
        """DP-SGD on the cluster's workers; this fit's accountant takes the steps they took."""
        from tabsynth.synthesizers.workers import run_on_workers

        results = run_on_workers(train_private_rank, {"tokens": tokens.numpy()},
                                 {"network": _network_spec(network), "settings": settings},
                                 self.workers, emit, should_stop)
        start.accountant.history = results[0]["history"]
        return _network_from(results[0]["network"]).eval()

    def _order(self, names: list[str]) -> list[int]:
        """Schema order with the target (when named and learned) last."""
        order = list(range(len(names)))
        if self.target in names:
            order.remove(names.index(self.target))
            order.append(names.index(self.target))
        return order

    def _fit_learned(self, train: pd.DataFrame, progress: ProgressCallback,
                     should_stop: StopCheck) -> None:
        assert self.schema is not None
        progress(ProgressEvent("preprocess", 0.0, "tokenising the columns"))
        domain = learn_domain(train, self.schema, 0.0, 0.0, self.budget.public, None,
                              float(len(train)))
        self.codec = TokenCodec(domain, self._order([c.name for c in domain.columns]))
        tokens = torch.from_numpy(self.codec.encode(train))
        torch.manual_seed(self.seed)
        network = Made(self.codec.vocabularies, self.hidden, self.layers, self.dropout)
        self.network = network.start_from(self.codec.prior_log_probabilities()).to(self.device)
        settings = PlainSettings(self.epochs, self.batch_size, self.learning_rate, self.seed,
                                 self.device)
        if self.workers > 1:
            from tabsynth.synthesizers.workers import run_on_workers

            results = run_on_workers(train_plain_rank, {"tokens": tokens.numpy()},
                                     {"network": _network_spec(self.network.cpu()),
                                      "settings": settings},
                                     self.workers, progress, should_stop)
            if len({r["fingerprint"] for r in results}) > 1:  # DDP keeps every copy equal
                raise RuntimeError("the workers' copies of the network differ after training")
            self.network = _network_from(results[0]["network"])
            self.fit_info = results[0]["info"]
        else:
            self.fit_info = train_plain(self.network, tokens, settings, progress, should_stop)
        self.fit_info["steps"] = len(self.codec.steps)
        if self.workers > 1:
            self.fit_info["workers"] = self.workers
        self.network = self.network.cpu().eval()

    def _extra_notes(self, plan: Any) -> str:
        if self.workers <= 1:
            return ""
        return (f"; trained on {self.workers} workers: each Poisson-samples its share of the "
                "rows at the rate above, and the noise is added once per step, by the first")

    def _sample_learned(self, n: int, seed: int, conditions: list[Condition] | None = None,
                        rules: list[Rule] | None = None) -> pd.DataFrame:
        assert self.network is not None and self.codec is not None
        masks = token_masks(self.codec, conditions) if conditions else None
        by_rules = rule_masks(self.codec, rules) if rules else []
        constrained = masks is not None or any(by_rules)
        # conditioned rows follow the conditional distribution, not the noisy marginals
        calibrate = self.calibrate and not constrained
        pool = n * POOL_FACTOR if calibrate else n
        network = self.network.to(self.device).eval()
        generator = torch.Generator(device=self.device).manual_seed(seed)
        # a constrained draw carries CONDITION_PARTICLES rows per row up to its last masked
        # step, in passes as large as an unconstrained one
        particles = CONDITION_PARTICLES if constrained else 1
        step = max(1, network.rows_per_pass // particles)
        allowed = None if not constrained else [
            torch.from_numpy(m) if isinstance(m, np.ndarray) else m
            for m in step_allowed(self.codec, masks, by_rules)]
        try:
            parts = [network.sample(min(step, pool - start), generator, self.temperature,
                                    self.device, allowed, particles).cpu().numpy()
                     for start in range(0, pool, step)]
        except ValueError:
            raise ConfigError("no synthetic row can meet these conditions: the model gives "
                              "them no probability; widen a range or drop a condition") from None
        finally:
            self.network = network.cpu()
        tokens = np.concatenate(parts)
        rng = np.random.default_rng(seed)
        if constrained:
            frame = hold_to_ranges(self.codec.decode(tokens, rng), conditions or [], self.codec)
            return settle_orders(frame, rules or [], self._units(), self._positions())
        if calibrate:
            chosen = calibrated_choice(self.codec.components(tokens),
                                       marginal_targets(self.codec.domain), n, rng)
            tokens = tokens[chosen]
        return self.codec.decode(tokens, rng)

    def _positions(self) -> dict[str, int]:
        """Each learned column's first step in the drawing order."""
        assert self.codec is not None
        names = [c.name for c in self.codec.domain.columns]
        positions: dict[str, int] = {}
        for k, step in enumerate(self.codec.steps):
            positions.setdefault(names[step.column], k)
        return positions

    def categories_of(self, column: str) -> list[str]:
        """The values the model draws for a column of categories (for equal shares)."""
        assert self.codec is not None
        for domain in self.codec.domain.columns:
            if domain.name == column and domain.kind == "categorical":
                return [str(c) for c in domain.categories]
        raise ConfigError(f"column {column!r} is not a column of categories in this model: "
                          "it cannot be balanced")

def _network_spec(network: Made) -> dict[str, Any]:
    """What rebuilds the network elsewhere: its shape and its weights."""
    return {"vocabularies": network.vocabularies, "hidden": network.hidden_size,
            "layers": network.layer_count, "dropout": float(network.dropout.p),
            "state": {k: v.detach().cpu() for k, v in network.state_dict().items()}}


def _network_from(spec: dict[str, Any]) -> Made:
    network = Made(spec["vocabularies"], spec["hidden"], spec["layers"], spec["dropout"])
    network.load_state_dict(spec["state"])
    return network


def train_plain_rank(shared: dict[str, Any], arguments: dict[str, Any],
                     progress: ProgressCallback, should_stop: StopCheck,
                     device: str) -> dict[str, Any]:
    """One rank of maximum-likelihood training (see autoregressive/plain.py)."""
    import dataclasses

    from tabsynth.parallel import rank_and_world

    network = _network_from(arguments["network"]).to(device)
    settings = dataclasses.replace(arguments["settings"], device=device)
    info = train_plain(network, torch.from_numpy(shared["tokens"]), settings, progress,
                       should_stop)
    result = {"info": info, "fingerprint": _fingerprint(network)}
    if rank_and_world()[0] == 0:
        result["network"] = _network_spec(network)
    return result


def _fingerprint(network: Made) -> float:
    """A sum over every weight: equal on ranks whose copies are equal."""
    return float(sum(p.detach().double().abs().sum() for p in network.parameters()))


def train_private_rank(shared: dict[str, Any], arguments: dict[str, Any],
                       progress: ProgressCallback, should_stop: StopCheck,
                       device: str) -> dict[str, Any]:
    """One rank of DP-SGD: its shard of the rows, Poisson-sampled at the global rate; every
    rank returns its accountant's history and epsilon, rank 0 the trained network too."""
    import dataclasses

    from tabsynth.autoregressive.private import train_private
    from tabsynth.dp.accounting import spent_epsilon
    from tabsynth.parallel import rank_and_world, shard_rows

    rank, world = rank_and_world()
    tokens = torch.from_numpy(shared["tokens"])
    settings = dataclasses.replace(arguments["settings"], device=device)
    network = _network_from(arguments["network"]).to(device)
    trained = train_private(network, tokens[shard_rows(len(tokens), rank, world)], settings,
                            progress, should_stop)
    accountant = settings.accountant
    result = {"history": list(accountant.history), "rank": rank,
              "epsilon": spent_epsilon(accountant, settings.delta)}
    if rank == 0:
        result["network"] = _network_spec(trained)
    return result
