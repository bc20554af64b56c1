"""Jobs as Ray tasks on a cluster, watched from here like a local worker process.

The job's payload (the input's bytes and its settings) goes into the object store; one task
runs the job (fit, sample, evaluate and the files' bytes) on the cluster, asking for a GPU when
the cluster has one and the job trains on one worker; its progress comes back through a relay
actor and a cancel goes down the same way (a task that does not stop within a few seconds is
killed, with the training it started). The files come back as bytes and are written here, into
the job's own folder, all or nothing. When the job ends every reference this side holds is
dropped and the relay is killed, so the object store frees the payload and the result.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

from tabsynth import cluster
from tabsynth.backends.tasks import Files
from tabsynth.errors import TabsynthError
from tabsynth.io import write_bytes_atomic
from tabsynth.outputs import write_all
from tabsynth.progress import Cancelled, ProgressCallback, ProgressEvent, StopCheck

PUMP_SECONDS = 0.2
GRACE_SECONDS = 5.0


class ClusterJobError(RuntimeError):
    """A job on the cluster failed for a reason other than its input or settings."""


class ClusterJob:
    """One job as a Ray task. Like a worker process: `events` (a queue of progress dicts, then
    one of done / failed / cancelled), `stop` (set it to cancel), is_alive, join, terminate and
    exitcode. When done, `summary` holds the report and `paths` the files written."""

    def __init__(self, address: str, task: Any, payload: Any, out_dir: Path | None,
                 workers: int = 1, elsewhere: dict[str, Path] | None = None) -> None:
        self.address, self.out_dir, self.workers = address, out_dir, workers
        self.elsewhere = elsewhere or {}  # files written outside out_dir, by name
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stop = threading.Event()
        self.exitcode: int | None = None
        self.summary: dict[str, Any] | None = None
        self.paths: dict[str, Path] = {}
        self._thread = threading.Thread(target=self._watch, args=(task, payload),
                                        name="tabsynth-cluster-job", daemon=True)
        self._thread.start()

    # the process-like part, for the job registry
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def terminate(self) -> None:
        self.stop.set()

    def _watch(self, task: Any, payload: Any) -> None:
        try:
            self.events.put(self._run(task, payload))
        except Cancelled:
            self.events.put({"type": "cancelled"})
        except TabsynthError as exc:
            self.events.put({"type": "failed", "message": str(exc), "input": True})
        except Exception as exc:  # never a traceback: the type says where to look
            self.events.put({"type": "failed", "message": _internal(exc)})
        finally:
            self.exitcode = 0

    def _run(self, task: Any, payload: Any) -> dict[str, Any]:
        import ray

        cluster.connect(self.address)
        relay = cluster.new_relay()
        # one CPU (and a GPU when the cluster has one) for a job that trains here; a job that
        # trains on several workers reserves nothing, or it would hold back one of theirs
        alone = self.workers == 1
        gpu = 1 if alone and cluster.gpus() >= 1 else 0
        remote = ray.remote(_run_task).options(num_cpus=1 if alone else 0, num_gpus=gpu,
                                               max_retries=0)
        # held in a list cleared at the end: an exception's traceback keeps the frames that
        # saw it alive, but not the references once the list is empty
        refs = [ray.put(payload)]
        refs.append(remote.remote(task, refs[0], relay))
        try:
            summary, files = self._wait(ray, refs, relay)
        finally:
            cluster.close_relay(relay)
            refs.clear()  # the last references: the object store frees payload and result
        apart = {name: files.pop(name) for name in self.elsewhere if name in files}
        if self.out_dir is not None:
            self.paths = write_all(self.out_dir, files)
        for name, data in apart.items():
            self.paths[name] = _write_apart(self.elsewhere[name], data)
        self.summary = summary
        return {"type": "done", "time": time.time()}

    def _wait(self, ray: Any, refs: list[Any], relay: Any) -> tuple[dict[str, Any], Files]:
        from ray.exceptions import RayTaskError, TaskCancelledError, WorkerCrashedError

        asked_at: float | None = None
        while not ray.wait(refs[1:], timeout=PUMP_SECONDS)[0]:
            self._forward(ray, relay)
            if self.stop.is_set():
                if asked_at is None:
                    relay.request_stop.remote()
                    asked_at = time.monotonic()
                elif time.monotonic() - asked_at > GRACE_SECONDS:
                    ray.cancel(refs[1], force=True)
        self._forward(ray, relay)
        # a fresh exception, raised outside the handler: Ray's error holds the frames (and
        # the references) of its get, which must not live on in a chain of exceptions
        try:
            return ray.get(refs[1])
        except (TaskCancelledError, WorkerCrashedError) as exc:
            failure = Cancelled() if self.stop.is_set() else ClusterJobError(
                "the job's worker on the cluster stopped unexpectedly "
                f"({type(exc).__name__}); nothing was written, try again")
        except RayTaskError as exc:
            failure = _cause(exc)
        raise failure

    def _forward(self, ray: Any, relay: Any) -> None:
        for event in ray.get(relay.take.remote()):
            self.events.put({"type": "progress", "stage": event.stage,
                             "fraction": event.fraction, "message": event.message,
                             "metrics": event.metrics, "time": time.time()})


def _write_apart(path: Path, data: bytes) -> Path:
    try:
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise TabsynthError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") \
            from None
    return path


def _run_task(task: Any, payload: Any, relay: Any) -> tuple[dict[str, Any], Files]:
    """Runs on the cluster: the task, reporting through the relay; long neighbour searches may
    use every CPU of the cluster."""
    with cluster.sharing(int(cluster.resources().get("CPU", 1))):
        return task(payload, cluster.RelayProgress(relay), cluster.RelayStop(relay))


def _cause(error: Any) -> BaseException:
    """The exception a task raised, afresh (Ray wraps it with the remote traceback, which is
    never shown)."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, Cancelled | TabsynthError):
        return type(cause)(str(cause))
    if isinstance(cause, MemoryError):
        return TabsynthError("out of memory on the cluster: use fewer rows or columns")
    return ClusterJobError(_internal(cause if cause is not None else error))


def _internal(error: BaseException) -> str:
    if isinstance(error, ClusterJobError):
        return str(error)
    return f"internal error on the cluster ({type(error).__name__})"


def run_on_cluster(address: str, task: Any, payload: Any, out_dir: str | Path | None,
                   progress: ProgressCallback, should_stop: StopCheck | None = None,
                   workers: int = 1, elsewhere: dict[str, Path] | None = None,
                   ) -> tuple[dict[str, Any], dict[str, Path]]:
    """Run a task on the cluster and wait: (its summary, the files written, by name: into
    out_dir, or where `elsewhere` says). Ctrl-C cancels it. Raises Cancelled, the task's
    TabsynthError, or ClusterJobError."""
    cluster.connect(address)  # here, in the caller's thread: a wrong address fails at once
    job = ClusterJob(address, task, payload, Path(out_dir) if out_dir is not None else None,
                     workers, elsewhere)
    try:
        while True:
            try:
                event = job.events.get(timeout=PUMP_SECONDS)
            except queue.Empty:
                if should_stop is not None and should_stop():
                    job.stop.set()
                continue
            if event["type"] != "progress":
                break
            progress(ProgressEvent(event["stage"], event["fraction"], event["message"],
                                   event["metrics"]))
    except KeyboardInterrupt:
        job.stop.set()
        job.join()
        raise
    job.join()
    if event["type"] == "cancelled":
        raise Cancelled()
    if event["type"] == "failed":
        raise (TabsynthError if event.get("input") else ClusterJobError)(event["message"])
    if job.paths:
        progress(ProgressEvent("write", 1.0, "written"))
    return job.summary or {}, job.paths
