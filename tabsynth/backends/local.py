"""Jobs as spawned worker processes on this machine (today's behaviour, the default)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


def start(target: Callable[..., None], *args: Any) -> tuple[Any, Any, Any]:
    """(process, events, stop): `target(*args, events, stop)` runs in a spawned process, so a
    long fit never blocks the caller, a cancel can stop it for sure, and its memory (GPU
    included) is freed when it ends."""
    context = multiprocessing.get_context("spawn")
    events, stop = context.Queue(), context.Event()
    process = context.Process(target=target, args=(*args, events, stop), daemon=True)
    process.start()
    return process, events, stop
