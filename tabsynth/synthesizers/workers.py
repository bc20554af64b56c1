"""Training on several workers of a Ray cluster (Ray Train, one process group over them).

`run_on_workers` puts the shared arrays (the tokenised training rows) and the arguments into
the object store once, starts a TorchTrainer with one worker per rank (a GPU each when the
cluster has enough), and calls `function(shared, arguments, progress, should_stop, device)`
on every rank. Rank 0's progress comes back through a relay actor, a cancel goes down through
it, and each rank's result comes back through it too (Ray Train returns nothing else without a
checkpoint, and a checkpoint would write the model to storage). Ray Train's run folder is a
private temporary folder removed afterwards; the object-store references are dropped, which
frees the rows.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from tabsynth import cluster
from tabsynth.errors import TabsynthError
from tabsynth.progress import Cancelled, ProgressCallback, StopCheck, ignore_progress

PUMP_SECONDS = 0.2
RankFunction = Callable[[dict[str, Any], dict[str, Any], ProgressCallback, StopCheck, str], Any]


class WorkerError(RuntimeError):
    """Training on the cluster's workers failed (the message names the error's type only)."""


def run_on_workers(function: RankFunction, shared: dict[str, Any], arguments: dict[str, Any],
                   workers: int, progress: ProgressCallback, should_stop: StopCheck,
                   use_gpu: bool | None = None) -> list[Any]:
    """Each rank's result, rank 0 first. Raises Cancelled when `should_stop` asked for it."""
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    cluster.connect_chosen()
    if use_gpu is None:
        use_gpu = cluster.gpus() >= workers
    relay = cluster.new_relay()
    # one object holds the rows and the arguments: Ray Train keeps a printable copy of its
    # loop's config for the cluster's life, which must show nothing but this reference
    inputs = [ray.put({"shared": shared, "arguments": arguments})]
    storage = tempfile.mkdtemp(prefix="tabsynth-train-")
    trainer = TorchTrainer(
        _rank_main,
        train_loop_config={"function": function, "inputs": inputs[0], "relay": relay},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu,
                                     resources_per_worker={"CPU": 1,
                                                           **({"GPU": 1} if use_gpu else {})}),
        run_config=RunConfig(storage_path=storage, name="fit"))
    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=_fit, args=(trainer, outcome), name="tabsynth-train",
                              daemon=True)
    stopping = False
    try:
        thread.start()
        while thread.is_alive():
            thread.join(PUMP_SECONDS)
            stopping = cluster.pump(relay, progress, should_stop) or stopping
        cluster.pump(relay, progress, lambda: False)
        results = ray.get(relay.results.remote())
    finally:
        cluster.close_relay(relay)
        inputs.clear()  # with the trainer, the last references to the rows: freed
        del trainer
        shutil.rmtree(storage, ignore_errors=True)
    if "error" in outcome or len(results) < workers:
        # a fresh exception: Ray Train's holds the frames (and references) of its run
        failure = Cancelled("cancelled while training on the cluster") if stopping \
            else _failure(outcome.pop("error", None), workers)
        raise failure
    return [results[rank] for rank in range(workers)]


def _fit(trainer: Any, outcome: dict[str, Any]) -> None:
    try:
        trainer.fit()
    except BaseException as exc:  # reported in the caller's thread
        outcome["error"] = exc


def _failure(error: BaseException | None, workers: int) -> Exception:
    """A TabsynthError from a rank keeps its message; anything else names its type only."""
    cause = error
    while cause is not None and not isinstance(cause, TabsynthError):
        cause = getattr(cause, "cause", None) or cause.__cause__
    if isinstance(cause, TabsynthError):
        return type(cause)(str(cause))
    kind = type(error).__name__ if error is not None else "no result"
    return WorkerError(f"training on {workers} workers failed ({kind})")


def _rank_main(config: dict[str, Any]) -> None:
    """Runs in every Ray Train worker: fetch the shared arrays, train, send the result."""
    import ray
    import torch

    from tabsynth.parallel import rank_and_world

    rank, _ = rank_and_world()
    relay = config["relay"]
    inputs = ray.get(config["inputs"])
    device = "cpu"
    if torch.cuda.is_available():
        from ray.train.torch import get_device

        device = str(get_device())
    progress = cluster.RelayProgress(relay) if rank == 0 else ignore_progress
    result = config["function"](inputs["shared"], inputs["arguments"], progress,
                                cluster.RelayStop(relay), device)
    ray.get(relay.set_result.remote(rank, result))
