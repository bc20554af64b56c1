"""CTGAN-style conditional generator and a DP-friendly discriminator (pac 1, no BatchNorm)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from tabsynth.dpgan.encoding import Span


class _Residual(nn.Module):
    def __init__(self, width_in: int, width_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(width_in, width_out)
        self.norm = nn.BatchNorm1d(width_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([functional.relu(self.norm(self.linear(x))), x], dim=1)


class Generator(nn.Module):
    """noise + conditional vector -> per-column component logits and offsets."""

    def __init__(self, noise_dim: int, cond_width: int, spans: list[Span], width: int,
                 hidden: tuple[int, ...] = (256, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = noise_dim + cond_width
        for units in hidden:
            layers.append(_Residual(size, units))
            size += units
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(size, width)
        self.spans = spans
        self.noise_dim = noise_dim

    def forward(self, noise: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(torch.cat([noise, cond], dim=1)))

    def activate(self, raw: torch.Tensor, tau: float = 0.2) -> torch.Tensor:
        """Gumbel-softmax over each column's components, tanh on offsets."""
        parts = []
        for span in self.spans:
            logits = raw[:, span.start:span.start + span.size]
            parts.append(functional.gumbel_softmax(logits, tau=tau, hard=False))
            if span.offset is not None:
                parts.append(torch.tanh(raw[:, span.offset:span.offset + 1]))
        return torch.cat(parts, dim=1)


class Discriminator(nn.Module):
    """Scores one row (with its conditional vector) at a time: pac = 1, LeakyReLU, dropout."""

    def __init__(self, width_in: int, hidden: tuple[int, ...] = (256, 256),
                 dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = width_in
        for units in hidden:
            layers += [nn.Linear(size, units), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            size = units
        layers.append(nn.Linear(size, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).squeeze(1)
