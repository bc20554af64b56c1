"""Where work runs: on this machine (the default: Ray is never imported) or on a Ray cluster.

A cluster is chosen by its address (`--ray-address`, the ``TABSYNTH_RAY_ADDRESS`` variable or the
page's field). Everything that talks to Ray goes through here: connecting (a quick reachability
check first, so a wrong address fails in seconds), the relay actor through which work on the
cluster reports progress and hears a cancel, and the number of shards a query may be cut into.
Real rows reach the cluster only through the object store (``ray.put``); every reference is
dropped when the work ends, which frees the object.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tabsynth.errors import ConfigError
from tabsynth.progress import ProgressCallback, ProgressEvent, StopCheck

ADDRESS_ENV = "TABSYNTH_RAY_ADDRESS"
INSTALL_HINT = "pip install 'tabsynth[ray]'"
CONNECT_SECONDS = 3.0
STOP_POLL_SECONDS = 1.0  # how often work on the cluster asks whether it should stop
# Ray replaces a loopback address with the host's routable one unless this is 0
_LOOPBACK_SETTING = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

_shards: ContextVar[int] = ContextVar("tabsynth_query_shards", default=1)


def chosen_address(given: str | None = None) -> str | None:
    """The cluster's address: the one given, else TABSYNTH_RAY_ADDRESS; None: this machine."""
    text = given if given is not None else os.environ.get(ADDRESS_ENV, "")
    return text.strip() or None


def split_address(address: str) -> tuple[str, int]:
    """(host, port) of a head's address such as 10.0.0.5:6379; a ConfigError otherwise."""
    if "://" in address:
        raise ConfigError(f"Ray address {address!r}: give the head's host:port (for example "
                          "10.0.0.5:6379), not a client URL")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"Ray address {address!r}: give the head's host:port, for example "
                          "10.0.0.5:6379")
    return host.strip("[]"), int(port)


def reachable(address: str, seconds: float = CONNECT_SECONDS) -> bool:
    """Whether something listens at the address (a TCP connect, nothing sent)."""
    host, port = split_address(address)
    try:
        with socket.create_connection((host, port), timeout=seconds):
            return True
    except OSError:
        return False


def ray_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def connected() -> bool:
    """Whether this process talks to a cluster (a driver that connected, or work on one)."""
    ray = sys.modules.get("ray")
    return ray is not None and bool(ray.is_initialized())


def connect(address: str) -> None:
    """Connect this process to the cluster at `address` (once; work already on a cluster stays
    on its own). A ConfigError says what to do when Ray is missing or nothing answers."""
    if connected():
        return
    host, _ = split_address(address)
    if not ray_installed():
        raise ConfigError(f"running on a Ray cluster needs Ray: {INSTALL_HINT}")
    if not reachable(address):
        raise ConfigError(f"no Ray cluster answers at {address}: start a Ray head there or "
                          "check the address")
    if _is_loopback(host):
        os.environ.setdefault(_LOOPBACK_SETTING, "0")  # read when Ray is imported...
        if "ray" in sys.modules:  # ...so an earlier import needs the constant itself
            sys.modules["ray"]._private.ray_constants.ENABLE_RAY_CLUSTER = False
    import ray

    ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False,
             namespace="tabsynth")


def connect_chosen() -> None:
    """Connect to the chosen cluster unless already on one; a ConfigError without an address."""
    if connected():
        return
    address = chosen_address()
    if address is None:
        raise ConfigError("training on several workers runs on a Ray cluster: give "
                          f"--ray-address (or set {ADDRESS_ENV}), or use --workers 1")
    connect(address)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resources() -> dict[str, float]:
    """The cluster's total logical resources (CPU, GPU, memory...)."""
    import ray

    return dict(ray.cluster_resources())


def gpus() -> int:
    return int(resources().get("GPU", 0))


# ------------------------------------------------------------------ sharding queries

def query_shards() -> int:
    """How many parts a long query may be cut into (1: run it here, in one piece)."""
    return _shards.get() if connected() else 1


@contextmanager
def sharing(shards: int) -> Iterator[None]:
    """Let long queries inside the block be cut into `shards` parts run on the cluster."""
    token = _shards.set(max(1, int(shards)))
    try:
        yield
    finally:
        _shards.reset(token)


# ------------------------------------------------------------------ the relay actor

class Relay:
    """Between the caller and work on the cluster: progress events up, a stop request down,
    each rank's result up. Runs as a Ray actor that needs no CPU; killed when the work ends."""

    def __init__(self) -> None:
        self._events: list[Any] = []
        self._stop = False
        self._results: dict[int, Any] = {}

    def put(self, event: Any) -> None:
        self._events.append(event)

    def take(self) -> list[Any]:
        events, self._events = self._events, []
        return events

    def request_stop(self) -> None:
        self._stop = True

    def stop_requested(self) -> bool:
        return self._stop

    def set_result(self, rank: int, value: Any) -> None:
        self._results[rank] = value

    def results(self) -> dict[int, Any]:
        return dict(self._results)


def new_relay() -> Any:
    """A Relay actor on the cluster (no CPU: it only holds messages)."""
    import ray

    return ray.remote(num_cpus=0, max_restarts=0)(Relay).remote()


def close_relay(relay: Any) -> None:
    import ray

    ray.kill(relay, no_restart=True)


class RelayProgress:
    """A ProgressCallback for work on the cluster: events go up through the relay."""

    def __init__(self, relay: Any) -> None:
        self.relay = relay

    def __call__(self, event: ProgressEvent) -> None:
        self.relay.put.remote(event)


class RelayStop:
    """A StopCheck for work on the cluster: asks the relay at most once per interval."""

    def __init__(self, relay: Any, every: float = STOP_POLL_SECONDS) -> None:
        self.relay, self.every = relay, every
        self._asked, self._stop = 0.0, False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self._stop and now - self._asked >= self.every:
            import ray

            self._asked = now
            self._stop = bool(ray.get(self.relay.stop_requested.remote()))
        return self._stop


def pump(relay: Any, progress: ProgressCallback, should_stop: StopCheck) -> bool:
    """Pass the relay's events to `progress` and a stop request down; True once stopping."""
    import ray

    for event in ray.get(relay.take.remote()):
        progress(event)
    if should_stop():
        relay.request_stop.remote()
        return True
    return False
