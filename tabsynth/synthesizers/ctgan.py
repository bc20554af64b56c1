"""SDV's CTGANSynthesizer behind the tabsynth interface, with per-epoch progress and cancel."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pandas as pd

from tabsynth.progress import Cancelled, ProgressCallback, ProgressEvent, StopCheck
from tabsynth.synthesizers.registry import method_info
from tabsynth.synthesizers.sdv_adapter import SdvSynthesizer

DEFAULTS = method_info("ctgan").defaults
LARGEST_BATCH = 20_000  # a loaded model drawing in larger batches is refused


class Ctgan(SdvSynthesizer):
    method = "ctgan"

    def __init__(self, epochs: int = DEFAULTS["epochs"], batch_size: int = DEFAULTS["batch_size"],
                 device: str = "auto") -> None:
        super().__init__(device)
        self.epochs = epochs
        self.batch_size = batch_size

    def _build(self, metadata: Any) -> Any:
        from sdv.single_table import CTGANSynthesizer

        return CTGANSynthesizer(metadata, epochs=self.epochs, batch_size=self.batch_size,
                                enable_gpu=self.device == "cuda", verbose=False)

    def _settings(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "batch_size": self.batch_size}

    def _check_loaded(self) -> None:
        """A loaded CTGAN draws whole batches of noise and conditions: their sizes must be
        its settings' and its generator's (a file could ask for any size)."""
        super()._check_loaded()
        network = self._model._model
        first = network._generator.seq[0].fc
        batch = network._batch_size
        if not (type(batch) is int and 0 < batch <= LARGEST_BATCH and batch == self.batch_size
                and type(network.pac) is int and 0 < network.pac <= batch
                and network._embedding_dim + network._data_sampler.dim_cond_vec()
                == first.in_features):
            raise ValueError("sizes that are not the model's own")

    def _fit_model(self, data: dict[str, pd.DataFrame], progress: ProgressCallback,
                   should_stop: StopCheck) -> None:
        progress(ProgressEvent("preprocess", 0.0, "fitting CTGAN's data transformer"))
        with _epoch_hook(self._model, self.epochs, progress, should_stop):
            self._model.fit(data)
        progress(ProgressEvent("train", 1.0, "fitted"))


class _EpochIterator:
    """Stands in for ctgan's tqdm: reports each finished epoch and stops on request."""

    def __init__(self, epochs: range, owner: Any, progress: ProgressCallback,
                 should_stop: StopCheck) -> None:
        self._epochs, self._owner = epochs, owner
        self._progress, self._should_stop = progress, should_stop

    def set_description(self, *_: Any, **__: Any) -> None:
        return None

    def __iter__(self) -> Iterator[int]:
        total = len(self._epochs)
        for index, epoch in enumerate(self._epochs):
            if index:
                self._report(index, total)
            if self._should_stop():
                raise Cancelled(f"cancelled after epoch {index} of {total}")
            yield epoch
        self._report(total, total)

    def _report(self, done: int, total: int) -> None:
        losses = getattr(getattr(self._owner, "_model", None), "loss_values", None)
        metrics: dict[str, float] = {"epoch": float(done)}
        if isinstance(losses, pd.DataFrame) and not losses.empty:
            last = losses.iloc[-1]
            metrics["generator_loss"] = float(last.iloc[1])
            metrics["discriminator_loss"] = float(last.iloc[2])
        self._progress(ProgressEvent("train", done / total, f"epoch {done}/{total}", metrics))


@contextlib.contextmanager
def _epoch_hook(owner: Any, epochs: int, progress: ProgressCallback,
                should_stop: StopCheck) -> Iterator[None]:
    import ctgan.synthesizers.ctgan as ctgan_module

    original = ctgan_module.tqdm

    def factory(iterable: range, *_: Any, **__: Any) -> _EpochIterator:
        return _EpochIterator(iterable, owner, progress, should_stop)

    ctgan_module.tqdm = factory
    try:
        yield
    finally:
        ctgan_module.tqdm = original
