"""Pick the compute device: CUDA when present (or asked for), CPU otherwise."""

from __future__ import annotations

import os

from tabsynth.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(requested: str = "auto") -> str:
    """'auto' -> 'cuda' if a GPU is visible else 'cpu'; 'cuda' without a GPU is an error."""
    if requested not in DEVICES:
        raise ConfigError(f"unknown device {requested!r}; use one of {', '.join(DEVICES)}")
    if requested == "auto":
        return "cuda" if cuda_available() else "cpu"
    if requested == "cuda" and not cuda_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is visible; use auto or cpu")
    return requested


def device_name(device: str) -> str:
    """Human-readable name of the device, e.g. the GPU model."""
    if device == "cuda":
        import torch

        return str(torch.cuda.get_device_name(0))
    return "CPU"


def compute_threads() -> int:
    """Threads for one worker's numeric work: all cores but one (left to the page's server).

    On a 2-core machine that is one thread: two threads beside the server only wait for each
    other (sample_data/patients.csv, 10 autoregressive epochs: 2.1-3.4 s on one, 19-25 s on two).
    """
    return max(1, (os.cpu_count() or 2) - 1)
