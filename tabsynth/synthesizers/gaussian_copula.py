"""SDV's GaussianCopulaSynthesizer behind the tabsynth interface."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tabsynth.progress import Cancelled, ProgressCallback, ProgressEvent, StopCheck
from tabsynth.synthesizers.sdv_adapter import SdvSynthesizer


class GaussianCopula(SdvSynthesizer):
    method = "gaussian-copula"

    def __init__(self, default_distribution: str = "beta", device: str = "auto") -> None:
        super().__init__(device)
        self.default_distribution = default_distribution

    def _settings(self) -> dict[str, Any]:
        return {"default_distribution": self.default_distribution}

    def _build(self, metadata: Any) -> Any:
        from sdv.single_table import GaussianCopulaSynthesizer

        return GaussianCopulaSynthesizer(metadata, default_distribution=self.default_distribution)

    def _fit_model(self, data: dict[str, pd.DataFrame], progress: ProgressCallback,
                   should_stop: StopCheck) -> None:
        if should_stop():
            raise Cancelled("cancelled before fitting")
        progress(ProgressEvent("fit", 0.0, "fitting marginals and correlations"))
        self._model.fit(data)
        progress(ProgressEvent("fit", 1.0, "fitted"))
