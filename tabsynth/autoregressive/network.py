"""A masked autoregressive network (MADE, Germain et al. 2015) over token sequences.

Each step's token is embedded; masked linear layers let step k's logits depend only on the
tokens of steps 0..k-1, so one forward pass scores a whole row (training) and sampling runs one
pass per step. The masks are fixed buffers: the weights they zero never influence an output.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn
from torch.nn import functional


def embedding_size(vocabulary: int) -> int:
    return int(min(24, max(3, round(1.6 * vocabulary ** 0.56))))


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask.

    The mask is a plain tensor attribute, not a buffer (Opacus refuses trainable layers with
    buffers); it follows the weight's device on first use and is rebuilt from the vocabularies
    whenever a network is constructed, so it never needs to be in the state dict.
    """

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__(mask.shape[1], mask.shape[0])
        self.mask = mask.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mask.device != self.weight.device:
            self.mask = self.mask.to(self.weight.device)
        return functional.linear(x, self.weight * self.mask, self.bias)


class Made(nn.Module):
    """logits(tokens) -> (n, sum of vocabularies); step k sees tokens of steps < k only."""

    def __init__(self, vocabularies: list[int], hidden: int = 256, layers: int = 2,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.vocabularies = list(vocabularies)
        self.hidden_size, self.layer_count = hidden, layers
        steps = len(vocabularies)
        sizes = [embedding_size(v) for v in vocabularies]
        self.embeddings = nn.ModuleList(nn.Embedding(v, d) for v, d in
                                        zip(vocabularies, sizes, strict=True))
        # degree of an input unit: its step + 1; of an output unit: its step + 1 (strict '<')
        input_degree = torch.cat([torch.full((d,), k + 1) for k, d in enumerate(sizes)])
        output_degree = torch.cat([torch.full((v,), k + 1) for k, v in
                                   enumerate(vocabularies)])
        hidden_degree = torch.arange(hidden) % max(steps - 1, 1) + 1
        blocks, previous = [], input_degree
        for _ in range(layers):
            blocks.append(MaskedLinear(hidden_degree[:, None] >= previous[None, :]))
            previous = hidden_degree
        self.hidden = nn.ModuleList(blocks)
        self.output = MaskedLinear(output_degree[:, None] > previous[None, :])
        self.direct = MaskedLinear(output_degree[:, None] > input_degree[None, :])
        bounds = torch.tensor([0, *vocabularies]).cumsum(0)
        self.slices = [(int(a), int(b)) for a, b in itertools.pairwise(bounds.tolist())]

    @torch.no_grad()
    def start_from(self, log_priors: list[np.ndarray]) -> Made:
        """Set the output biases to per-step log marginals (the direct path's to zero)."""
        if [len(p) for p in log_priors] != self.vocabularies:
            raise ValueError("one prior per step, as long as its vocabulary")
        bias = torch.from_numpy(np.concatenate(log_priors)).to(self.output.bias)
        self.output.bias.copy_(bias)
        self.direct.bias.zero_()
        return self

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = torch.cat([embed(tokens[:, k]) for k, embed in enumerate(self.embeddings)], dim=1)
        h = x
        for layer in self.hidden:
            h = self.dropout(functional.gelu(layer(h)))
        return self.output(h) + self.direct(x)

    def loss(self, tokens: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of the rows (sum over steps)."""
        return self.row_nll(tokens).mean()

    def row_nll(self, tokens: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each row (n,): the per-row loss DP-SGD clips."""
        logits = self.forward(tokens)
        total = logits.new_zeros(len(tokens))
        for k, (a, b) in enumerate(self.slices):
            total = total + functional.cross_entropy(logits[:, a:b], tokens[:, k],
                                                     reduction="none")
        return total

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, temperature: float = 1.0,
               device: str | torch.device = "cpu") -> torch.Tensor:
        tokens = torch.zeros((n, len(self.vocabularies)), dtype=torch.long, device=device)
        for k, (a, b) in enumerate(self.slices):
            logits = self.forward(tokens)[:, a:b] / max(temperature, 1e-3)
            probabilities = torch.softmax(logits, dim=1)
            tokens[:, k] = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
        return tokens
