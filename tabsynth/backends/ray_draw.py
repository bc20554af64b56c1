"""The shards of a draw (generate.py) drawn in parallel on a Ray cluster, handed back in order.

The model file's bytes (never a training row) and the draw's constraints go to the object store
once; each shard is a Ray task that loads the model (once per worker process) and returns its
rows. At most a window of shards is in flight, one per CPU of the cluster plus one, so the
caller, which writes the shards to one file in their order, holds a bounded number of them.
Every reference is dropped when the draw ends or is stopped, and the tasks still running are
cancelled. The rows are the plan's: the same seed and shard size give the same file whether
the shards are drawn here or on any number of workers.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from tabsynth import cluster
from tabsynth.generate import Constraints, Shard, draw_shard

_models: dict[str, Any] = {}  # per worker process: the model of each file's bytes, by hash


def shards_on_cluster(model_bytes: bytes, plan: list[Shard],
                      constraints: Constraints | None = None) -> Iterator[pd.DataFrame]:
    """Each shard's rows, in the plan's order, drawn by Ray tasks on the connected cluster."""
    import ray

    window = int(cluster.resources().get("CPU", 1)) + 1
    on_gpu = cluster.gpus() > 0
    task = ray.remote(num_cpus=1, num_gpus=1 if on_gpu else 0)(_draw_on_worker)
    model_ref, constraints_ref = ray.put(model_bytes), ray.put(constraints)
    pending: deque[Any] = deque()
    waiting = iter(plan)
    try:
        for shard in waiting:
            pending.append(task.remote(model_ref, shard, constraints_ref,
                                       "cuda" if on_gpu else "cpu"))
            if len(pending) >= window:
                break
        while pending:
            frame = ray.get(pending.popleft())
            following = next(waiting, None)
            if following is not None:
                pending.append(task.remote(model_ref, following, constraints_ref,
                                           "cuda" if on_gpu else "cpu"))
            yield frame
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        pending.clear()
        del model_ref, constraints_ref


def _draw_on_worker(model_bytes: bytes, shard: Shard, constraints: Constraints | None,
                    device: str) -> pd.DataFrame:
    """One shard's rows on a worker (a Ray task's body)."""
    import torch

    torch.set_num_threads(1)  # one CPU per task: the tasks share the node's cores
    key = hashlib.sha256(model_bytes).hexdigest()
    if key not in _models:
        _models[key] = _load(model_bytes, device)
    return draw_shard(_models[key], shard, constraints)


def _load(model_bytes: bytes, device: str) -> Any:
    """The model of a file's bytes, read through a private file deleted at once."""
    from tabsynth.synthesizers import Synthesizer

    folder = tempfile.mkdtemp(prefix="tabsynth-model-")
    path = Path(folder) / "model.safetensors"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(model_bytes)
        return Synthesizer.load(path, device=device)
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)
