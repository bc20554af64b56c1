"""The shards of a draw (generate.py) drawn in parallel on a Ray cluster, handed back in order.

The model file's bytes (never a training row) go to the object store once, with the draw's
conditions and rules; each shard is a Ray task that rebuilds the model from those bytes (once
per worker process, no file written) and returns its rows. Partial rows to complete (the user's
own table) travel shard by shard: each task receives only its shard's part. At most a window of
shards is in flight, one per CPU of the cluster plus one, so the caller, which writes the
shards to one file in their order, holds a bounded number of them. Every reference is dropped
when the draw ends or is stopped, and the tasks still running are cancelled. The rows are the
plan's: the same seed and shard size give the same file whether the shards are drawn here or
on any number of workers.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import deque
from collections.abc import Iterator
from typing import Any

import pandas as pd

from tabsynth import cluster
from tabsynth.generate import Constraints, Shard, draw_shard

_model: dict[str, Any] = {}  # per worker process: the last model drawn from, by its bytes' hash


def shards_on_cluster(model_bytes: bytes, plan: list[Shard],
                      constraints: Constraints | None = None) -> Iterator[pd.DataFrame]:
    """Each shard's rows, in the plan's order, drawn by Ray tasks on the connected cluster."""
    import ray

    window = int(cluster.resources().get("CPU", 1)) + 1
    on_gpu = cluster.gpus() > 0
    device = "cuda" if on_gpu else "cpu"
    task = ray.remote(num_cpus=1, num_gpus=1 if on_gpu else 0)(_draw_on_worker)
    partial = constraints.partial if constraints is not None else None
    shared = dataclasses.replace(constraints, partial=None) if constraints is not None else None
    refs = {"model": ray.put(model_bytes), "constraints": ray.put(shared)}

    def submit(shard: Shard) -> Any:
        part = None if partial is None else partial.loc[shard.start:shard.start + shard.rows - 1]
        return task.remote(refs["model"], shard, refs["constraints"], part, device)

    pending: deque[Any] = deque()
    waiting = iter(plan)
    try:
        for shard in waiting:
            pending.append(submit(shard))
            if len(pending) >= window:
                break
        while pending:
            frame = ray.get(pending.popleft())
            following = next(waiting, None)
            if following is not None:
                pending.append(submit(following))
            yield frame
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        pending.clear()
        refs.clear()  # the object store frees what no one references


def _draw_on_worker(model_bytes: bytes, shard: Shard, constraints: Constraints | None,
                    partial: pd.DataFrame | None, device: str) -> pd.DataFrame:
    """One shard's rows on a worker (a Ray task's body)."""
    import torch

    from tabsynth.synthesizers import Synthesizer

    torch.set_num_threads(1)  # one CPU per task: the tasks share the node's cores
    key = hashlib.sha256(model_bytes).hexdigest()
    if key not in _model:
        _model.clear()  # one model held per worker process
        _model[key] = Synthesizer.load_bytes(model_bytes, device=device)
    if partial is not None and constraints is not None:
        constraints = dataclasses.replace(constraints, partial=partial)
    return draw_shard(_model[key], shard, constraints)
