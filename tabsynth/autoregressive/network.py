"""A masked autoregressive network (MADE, Germain et al. 2015) over token sequences.

Each step's token is embedded; masked linear layers let step k's logits depend only on the
tokens of steps 0..k-1, so one forward pass scores a whole row (training) and sampling runs one
pass per step. The masks are fixed tensors: the weights they zero never influence an output.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional

MAX_DIRECT_WEIGHTS = 8_000_000  # ~32 MB of float32 weights (and as much again for the mask)
LOGITS_PER_PASS = 2 ** 24


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
        return functional.linear(x, self.masked_weight(), self.bias)

    def masked_weight(self, rows: slice = slice(None)) -> torch.Tensor:
        """The effective weight (optionally only some output rows)."""
        if self.mask.device != self.weight.device:
            self.mask = self.mask.to(self.weight.device)
        return self.weight[rows] * self.mask[rows]

    def forward_rows(self, x: torch.Tensor, rows: slice) -> torch.Tensor:
        """Only the outputs `rows` of forward(x)."""
        return functional.linear(x, self.masked_weight(rows), self.bias[rows])


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
        # the direct input -> output path grows as (sum of embeddings) x (sum of vocabularies):
        # wide tables (hundreds of columns) train without it, through the hidden layers only
        wide = len(input_degree) * len(output_degree) > MAX_DIRECT_WEIGHTS
        self.direct = None if wide else MaskedLinear(
            output_degree[:, None] > input_degree[None, :])
        bounds = torch.tensor([0, *vocabularies]).cumsum(0)
        self.slices = [(int(a), int(b)) for a, b in itertools.pairwise(bounds.tolist())]

    @torch.no_grad()
    def start_from(self, log_priors: list[np.ndarray]) -> Made:
        """Set the output biases to per-step log marginals (the direct path's to zero)."""
        if [len(p) for p in log_priors] != self.vocabularies:
            raise ValueError("one prior per step, as long as its vocabulary")
        bias = torch.from_numpy(np.concatenate(log_priors)).to(self.output.bias)
        self.output.bias.copy_(bias)
        if self.direct is not None:
            self.direct.bias.zero_()
        return self

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = torch.cat([embed(tokens[:, k]) for k, embed in enumerate(self.embeddings)], dim=1)
        h = x
        for layer in self.hidden:
            h = self.dropout(functional.gelu(layer(h)))
        logits = self.output(h)
        return logits if self.direct is None else logits + self.direct(x)

    @property
    def rows_per_pass(self) -> int:
        """Rows per forward pass when scoring or sampling, so logits stay near 64 MB."""
        return max(64, min(16_384, LOGITS_PER_PASS // sum(self.vocabularies)))

    def loss(self, tokens: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of the rows (sum over steps)."""
        return self.row_nll(tokens).mean()

    def row_nll(self, tokens: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each row (n,): the per-row loss DP-SGD clips."""
        return self.nll_from_logits(self.forward(tokens), tokens)

    def nll_from_logits(self, logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Each row's negative log-likelihood from its logits (a wrapper's forward pass)."""
        total = logits.new_zeros(len(tokens))
        for k, (a, b) in enumerate(self.slices):
            total = total + functional.cross_entropy(logits[:, a:b], tokens[:, k],
                                                     reduction="none")
        return total

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, temperature: float = 1.0,
               device: str | torch.device = "cpu",
               allowed: list[torch.Tensor | Callable | None] | None = None,
               particles: int = 1) -> torch.Tensor:
        """Rows drawn step by step; each step updates only its own embedding and computes only
        its own logits (a wide table's step costs the hidden layers, not the whole output).

        `allowed`, per step: None, the tokens a condition allows (vocabulary,), for a
        within-bin step those allowed after each token of the step before (prev, vocabulary),
        or a function of the tokens drawn so far (numpy) giving each row's (n, vocabulary).
        A masked step draws from the allowed tokens only and then resamples the n rows by the
        probability the mask kept (sequential importance resampling), so earlier steps follow
        their distribution given the condition. With `particles` > 1, n x particles rows are
        drawn up to the last masked step and n resampled from them there: fewer repeated
        beginnings where the condition is unlikely for most rows. Raises ValueError when no
        row can meet it."""
        masked = [k for k, mask in enumerate(allowed or []) if mask is not None]
        last_masked = masked[-1] if masked else -1
        out = n
        n = n * max(particles, 1) if masked else n
        tokens = torch.zeros((n, len(self.vocabularies)), dtype=torch.long, device=device)
        x = torch.cat([embed(tokens[:, k]) for k, embed in enumerate(self.embeddings)], dim=1)
        start = 0
        for k, (a, b) in enumerate(self.slices):
            h = x
            for layer in self.hidden:
                h = self.dropout(functional.gelu(layer(h)))
            logits = self.output.forward_rows(h, slice(a, b))
            if self.direct is not None:
                logits = logits + self.direct.forward_rows(x, slice(a, b))
            probabilities = torch.softmax(logits / max(temperature, 1e-3), dim=1)
            mask = allowed[k] if allowed is not None else None
            if mask is None:
                tokens[:, k] = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
            else:
                if callable(mask):  # rows' own masks from the tokens drawn so far
                    rows_mask = torch.from_numpy(mask(tokens.cpu().numpy())).to(device)
                else:
                    mask = mask.to(device)
                    rows_mask = (mask[tokens[:, k - 1]] if mask.dim() == 2 else
                                 mask.expand(n, -1))
                rows_mask = rows_mask.to(probabilities.dtype)
                kept = (probabilities * rows_mask).sum(dim=1)
                if not bool((kept > 0).any()):
                    raise ValueError("no row can meet the conditions")
                restricted = torch.where(kept[:, None] > 0, probabilities * rows_mask,
                                         rows_mask)
                tokens[:, k] = torch.multinomial(restricted, 1, generator=generator)[:, 0]
                if k == last_masked:
                    n = out
                chosen = torch.multinomial(kept, n, replacement=True, generator=generator)
                tokens, x = tokens[chosen], x[chosen]
            width = self.embeddings[k].embedding_dim
            x[:, start:start + width] = self.embeddings[k](tokens[:, k])
            start += width
        return tokens
