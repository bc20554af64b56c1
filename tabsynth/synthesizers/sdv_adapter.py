"""Shared glue between our schema and an SDV 2.0 single-table synthesizer."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.errors import ConfigError
from tabsynth.progress import ProgressCallback, StopCheck
from tabsynth.schema import Schema
from tabsynth.synthesizers.base import ModelVersionError, Synthesizer

TABLE = "t"
_SDTYPES = {"numeric": "numerical", "integer": "numerical", "categorical": "categorical",
            "boolean": "boolean", "datetime": "datetime"}


def sdv_metadata(schema: Schema) -> Any:
    """SDV metadata for the learned columns only: sdtypes, no data-derived ranges or values."""
    from sdv.metadata import Metadata

    columns = {spec.name: {"sdtype": _SDTYPES[spec.kind]} for spec in schema.learned}
    return Metadata.load_from_dict({"tables": {TABLE: {"columns": columns}}})


def prepare_for_sdv(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """SDV rejects pandas 'category' and nullable extension dtypes: hand it plain ones."""
    out = frame.copy()
    for spec in schema.learned:
        column = out[spec.name]
        if isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(column):
            out[spec.name] = column.astype(object)
        elif spec.kind in ("numeric", "integer") and str(column.dtype) in ("Int64", "Float64"):
            out[spec.name] = column.astype(float)
    return out


class SdvSynthesizer(Synthesizer):
    """Base for synthesizers that delegate the learned columns to an SDV model."""

    def __init__(self, device: str = "auto") -> None:
        super().__init__(device)
        self._model: Any = None
        self._from_file = False  # read from a model file (another's, perhaps)

    def _build(self, metadata: Any) -> Any:
        raise NotImplementedError

    def _fit_learned(self, train: pd.DataFrame, progress: ProgressCallback,
                     should_stop: StopCheck) -> None:
        assert self.schema is not None
        self._model = self._build(sdv_metadata(self.schema))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._fit_model({TABLE: prepare_for_sdv(train, self.schema)}, progress, should_stop)

    def _fit_model(self, data: dict[str, pd.DataFrame], progress: ProgressCallback,
                   should_stop: StopCheck) -> None:
        self._model.fit(data)

    def _learned_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted SDV model as plain data and tensors (`sdv_state`: never a pickle), once
        read back under the rules a later load applies: a model this version would refuse to
        open is not written."""
        from tabsynth.synthesizers.sdv_state import from_plain, to_plain

        if self._model is None:
            raise ConfigError("fit the model before saving it")
        data, tensors = to_plain(self._model, "sdv")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from_plain(data, tensors)
        except ValueError:
            raise TypeError("it holds parts this version of tabsynth would not open again; "
                            "the run itself is complete") from None
        return data, tensors

    def _restore_learned(self, learned: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
        """Rebuild the SDV model, check it (`_check_loaded`), then draw two rows as a check:
        whatever the file holds, a model that cannot draw is reported as damaged here."""
        from tabsynth.synthesizers.sdv_state import VersionMismatch, from_plain

        try:
            with warnings.catch_warnings():  # their text can quote the file
                warnings.simplefilter("ignore")
                self._model = from_plain(learned, tensors)
                network = getattr(self._model, "_model", None)
                if hasattr(network, "set_device"):  # CTGAN: its weights were read onto the CPU
                    network.set_device("cuda" if self.device == "cuda" else "cpu")
                self._check_loaded()
                self._sample_learned(2, 0)
        except VersionMismatch as exc:
            raise ModelVersionError(
                f"this {self.method} model was saved with other versions of the libraries it "
                f"is built on ({exc.libraries}) than the ones installed; fit it again here and "
                "save it anew") from None
        except Exception:  # everything here comes from the file: its text may quote it
            raise ValueError("the SDV model could not be rebuilt") from None
        self._from_file = True

    def _check_loaded(self) -> None:
        """What a loaded model draws with, checked against itself (ValueError): RDT draws with
        the transformers of its sequence but resets those of its field map, so the two must be
        the same objects."""
        hyper = self._model._data_processor._hyper_transformer
        fields = {id(t) for t in hyper.field_transformers.values() if t is not None}
        if fields != {id(t) for t in hyper._transformers_sequence}:
            raise ValueError("transformers that are not the model's own")

    def _sample_learned(self, n: int, seed: int) -> pd.DataFrame:
        if not self._from_file:
            return self._sdv_rows(n, seed)
        try:
            return self._sdv_rows(n, seed)
        except MemoryError:
            raise
        except Exception:  # a model read from a file: what fails is the file's doing
            raise ConfigError(f"the model file is damaged: its {self.method} model could not "
                              "draw these rows; fit the model again and save it anew") from None

    def _sdv_rows(self, n: int, seed: int) -> pd.DataFrame:
        self._model.reset_sampling()
        self._model._set_random_state(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sampled = self._model.sample(num_rows=n)
        return sampled[TABLE] if isinstance(sampled, dict) else sampled
