"""CTGAN-style conditional generator and a DP-friendly discriminator (pac 1, no BatchNorm).

The conditional vector is a one-hot with exactly one active component, so every layer that
would read it is written as ``W x + E[c]`` (:class:`CondLinear`): the same function as a linear
layer over ``[x, one_hot(c)]``, without multiplying hundreds of zeros per row.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional

from tabsynth.dp.encoding import Encoder


class ComponentLayout(nn.Module):
    """Where each column's components sit, as device tensors, for per-column (segment) ops.

    "Component order" lists every column's components one column after another (the order of
    the conditional vector); the encoded layout interleaves each binned column's offset.
    """

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        sizes = encoder.component_sizes
        self.n_columns = len(sizes)
        self.cond_width = encoder.cond_width
        self.width = encoder.width
        components = [s.start + k for s in encoder.spans for k in range(s.size)]
        offsets = [s.offset for s in encoder.spans if s.offset is not None]
        restore = torch.empty(self.width, dtype=torch.long)
        restore[torch.tensor(components + offsets, dtype=torch.long)] = torch.arange(self.width)
        segment = [j for j, size in enumerate(sizes) for _ in range(size)]
        self.register_buffer("component_slots", torch.tensor(components, dtype=torch.long))
        self.register_buffer("offset_slots", torch.tensor(offsets, dtype=torch.long))
        self.register_buffer("restore_order", restore)
        self.register_buffer("segment", torch.tensor(segment, dtype=torch.long))
        self.register_buffer("starts", torch.tensor(encoder.cond_starts, dtype=torch.long))

    def _peak_and_total(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        segment = self.segment.expand(len(x), -1)
        peak = x.new_full((len(x), self.n_columns), -torch.inf).scatter_reduce(
            1, segment, x.detach(), "amax")  # a constant per segment: softmax is unchanged
        shifted = (x - peak.gather(1, segment)).exp()
        total = x.new_zeros(len(x), self.n_columns).scatter_add(1, segment, shifted)
        return peak, shifted, total

    def segment_softmax(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax within each column's components; x and the result in component order."""
        _, shifted, total = self._peak_and_total(x)
        return shifted / total.gather(1, self.segment.expand(len(x), -1))

    def condition_loss(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of each row's asked-for component within its own column."""
        peak, _, total = self._peak_and_total(x)
        column = self.segment[cond]
        rows = torch.arange(len(x), device=x.device)
        log_normaliser = peak[rows, column] + total[rows, column].log()
        return (log_normaliser - x[rows, cond]).mean()


class Dropout(nn.Module):
    """Inverted dropout from a uniform draw: same distribution as ``nn.Dropout``, but several
    times faster on CPU, where torch's Bernoulli sampler dominates a small MLP's step."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep / (1 - self.p)


def gumbel_noise(like: torch.Tensor) -> torch.Tensor:
    """Standard Gumbel noise, -log(-log U), from a uniform draw (faster than exponential_)."""
    tiny = torch.finfo(like.dtype).tiny
    return -(-torch.rand_like(like).clamp_min(tiny).log()).clamp_min(tiny).log()


class CondLinear(nn.Module):
    """Linear layer over ``[x, one_hot(cond)]``, computed as ``linear(x) + embedding(cond)``."""

    def __init__(self, dense_in: int, cond_width: int, width_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dense_in, width_out)
        self.embedding = nn.Embedding(cond_width, width_out)
        bound = 1 / math.sqrt(dense_in + cond_width)  # nn.Linear's init over the full input
        for parameter in (self.linear.weight, self.linear.bias, self.embedding.weight):
            nn.init.uniform_(parameter, -bound, bound)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.linear(x) + self.embedding(cond)


class Generator(nn.Module):
    """noise + conditional component -> per-column component logits and offsets.

    Residual layers as in CTGAN: each layer reads the noise, the condition and the outputs of
    all layers before it.
    """

    def __init__(self, noise_dim: int, layout: ComponentLayout,
                 hidden: tuple[int, ...] = (256, 256)) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        self.norms = nn.ModuleList()
        size = noise_dim
        for units in hidden:
            self.layers.append(CondLinear(size, layout.cond_width, units))
            self.norms.append(nn.BatchNorm1d(units))
            size += units
        self.head = CondLinear(size, layout.cond_width, layout.width)
        self.layout = layout
        self.noise_dim = noise_dim

    def forward(self, noise: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        dense = noise
        for layer, norm in zip(self.layers, self.norms, strict=True):
            dense = torch.cat([functional.relu(norm(layer(dense, cond))), dense], dim=1)
        return self.head(dense, cond)

    def activate(self, raw: torch.Tensor, tau: float = 0.2,
                 logits: torch.Tensor | None = None) -> torch.Tensor:
        """Gumbel-softmax over each column's components, tanh on offsets (encoded layout).

        ``logits``: ``raw``'s component slots, when the caller has already gathered them.
        """
        if logits is None:
            logits = raw[:, self.layout.component_slots]
        soft = self.layout.segment_softmax((logits + gumbel_noise(logits)) / tau)
        offsets = torch.tanh(raw[:, self.layout.offset_slots])
        return torch.cat([soft, offsets], dim=1)[:, self.layout.restore_order]


class Discriminator(nn.Module):
    """Scores one row (and its conditional component) at a time: pac = 1, LeakyReLU, dropout.

    With ``cond_width`` 0 the discriminator reads the row alone.
    """

    def __init__(self, width_in: int, hidden: tuple[int, ...] = (256, 256),
                 dropout: float = 0.5, cond_width: int = 0) -> None:
        super().__init__()
        units = hidden[0]
        self.first = CondLinear(width_in, cond_width, units) if cond_width else \
            nn.Linear(width_in, units)
        layers: list[nn.Module] = [nn.LeakyReLU(0.2), Dropout(dropout)]
        size = units
        for units in hidden[1:]:
            layers += [nn.Linear(size, units), nn.LeakyReLU(0.2), Dropout(dropout)]
            size = units
        layers.append(nn.Linear(size, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        first = self.first(x) if cond is None else self.first(x, cond)
        return self.body(first).squeeze(1)
