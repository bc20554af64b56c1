"""Synthesizers behind one interface; `make_synthesizer` builds one by method name."""

from __future__ import annotations

from typing import Any

from tabsynth.errors import ConfigError
from tabsynth.synthesizers.base import Synthesizer

METHODS = ("faker", "gaussian-copula", "ctgan", "dp-gan", "autoregressive")

__all__ = ["METHODS", "Synthesizer", "make_synthesizer"]


def make_synthesizer(method: str, **options: Any) -> Synthesizer:
    """Build a synthesizer; options that a method does not use are ignored."""
    if method == "faker":
        from tabsynth.synthesizers.faker_only import FakerSynthesizer

        return FakerSynthesizer()
    if method == "gaussian-copula":
        from tabsynth.synthesizers.gaussian_copula import GaussianCopula

        return GaussianCopula()
    if method == "ctgan":
        from tabsynth.synthesizers.ctgan import Ctgan

        return Ctgan(epochs=int(options.get("epochs") or 300),
                     batch_size=int(options.get("batch_size") or 500),
                     device=options.get("device") or "auto")
    if method == "dp-gan":
        from tabsynth.synthesizers.dp_gan import DpGan

        epsilon = options.get("epsilon")
        return DpGan(epsilon=3.0 if epsilon is None else float(epsilon),
                     delta=options.get("delta"), epochs=options.get("epochs"),
                     batch_size=options.get("batch_size"), device=options.get("device") or "auto",
                     public=options.get("public"), seed=int(options.get("seed") or 0))
    if method == "autoregressive":
        from tabsynth.synthesizers.autoregressive import Autoregressive

        return Autoregressive(epochs=options.get("epochs"), batch_size=options.get("batch_size"),
                              device=options.get("device") or "auto",
                              epsilon=options.get("epsilon"), delta=options.get("delta"),
                              public=options.get("public"), seed=int(options.get("seed") or 0),
                              target=options.get("target"))
    raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
