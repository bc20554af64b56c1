"""Data-parallel training helpers over torch.distributed (set up by Ray Train on a cluster).

Outside a process group every helper is the single-process identity: rank 0 of 1, a flag is
its own agreement, a sum is itself. Collective calls keep all ranks in step: every rank must
make the same calls in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence

from tabsynth.progress import StopCheck


def rank_and_world() -> tuple[int, int]:
    """(this rank, number of ranks); (0, 1) outside a process group."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _device():
    import torch
    import torch.distributed as dist

    return torch.device("cuda", torch.cuda.current_device()) \
        if dist.get_backend() == "nccl" else torch.device("cpu")


def summed(values: Sequence[float]) -> list[float]:
    """Each value summed over every rank."""
    import torch
    import torch.distributed as dist

    if rank_and_world()[1] == 1:
        return [float(v) for v in values]
    tensor = torch.tensor([float(v) for v in values], dtype=torch.float64, device=_device())
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.cpu().tolist()


def any_rank(flag: bool) -> bool:
    """True on every rank when `flag` is True on at least one."""
    return summed([1.0 if flag else 0.0])[0] > 0


def agreed_stop(should_stop: StopCheck) -> StopCheck:
    """A StopCheck that every rank answers alike (each asks its own, then they agree)."""
    if rank_and_world()[1] == 1:
        return should_stop
    return lambda: any_rank(should_stop())


def shard_rows(rows: int, rank: int, world: int, equal: bool = False) -> slice:
    """Every world-th row from `rank`: the ranks' shards cover the rows once. `equal` drops
    up to world - 1 rows so every shard has the same length (equal steps per epoch)."""
    end = rows - rows % world if equal else rows
    return slice(rank, end, world)
