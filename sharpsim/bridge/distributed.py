"""Data-parallel LoRA training over processes (``torchrun``): rank, world size, gradient all-reduce.

The bridge's trainers run unchanged in every process of a ``torch.distributed`` job (``torchrun
--nproc_per_node W -m sharpsim.cli lm sft ...``; gloo on CPU, nccl on GPU). What changes:

* **Training** (:func:`sharpsim.bridge.training.fit`): every rank draws the same shuffled global
  minibatch (the same seeded generator); rank ``r`` computes the loss on its shard
  ``batch[r::W]`` weighted by ``len(shard) / len(batch)`` and back-propagates it; the LoRA
  gradients (and the weighted losses) are then summed over the ranks with one ``all_reduce``
  (:func:`all_reduce_gradients`). The sum is the gradient of the *global* minibatch mean — the loss
  every trainer uses is a mean over its minibatch — so clipping, AdamW and the learning-rate decay
  see what one process would see on the whole minibatch, and the adapters stay identical on every
  rank. This is the gradient averaging ``torch.nn.parallel.DistributedDataParallel`` performs,
  written out: weighting by shard size keeps it exact when the last minibatch of an epoch does not
  split evenly (DDP divides by ``W`` whatever the shard sizes), and a rank with an empty shard
  still takes part. The LoRA parameters are broadcast from rank 0 before the first step.
* **Sampling** (BoN draws of ``sft``, pairs of ``rlhf``): the prompts still to do are dealt out
  a chunk per rank (:func:`my_chunks`) and the rows gathered on every rank (:func:`gather_rows`).
  Draws are seeded per prompt identity (:mod:`sharpsim.bridge.policy`), so they do not depend on
  which rank drew them: every rank holds the rows one process would have drawn.
* **Files**: only rank 0 writes (``RunDir(..., writer=False)`` on the others; see
  :mod:`sharpsim.bridge.runs`), so the run directory is the one a single process writes.

Outside a ``torch.distributed`` job (or with one process) every function here is the identity or a
no-op, so the single-process path is unchanged.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any

from sharpsim.bridge._deps import require

torch = require("torch")

__all__ = ["Context", "all_reduce_gradients", "barrier", "broadcast_object", "broadcast_parameters",
           "env_world_size", "gather_rows", "make_run", "my_chunks", "setup", "shard", "teardown", "world"]


@dataclasses.dataclass(frozen=True)
class Context:
    """The process's place in the job.

    Attributes:
      rank: this process's rank (0 writes the run directory).
      world_size: number of processes.
      local_rank: rank on this node (the GPU index on a GPU node).
      device: the ``torch.device`` this rank's model goes on.
      backend: ``"gloo"`` or ``"nccl"``; ``None`` for a single process.
      initialized_here: whether :func:`setup` initialised the process group (then :func:`teardown`
        destroys it).
    """

    rank: int
    world_size: int
    local_rank: int
    device: Any
    backend: str | None
    initialized_here: bool = False

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from None


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (set by ``torchrun``), 1 when unset.

    Raises:
      ValueError: ``WORLD_SIZE`` is not an integer >= 1.
    """
    size = _env_int("WORLD_SIZE", 1)
    if size < 1:
        raise ValueError(f"environment variable WORLD_SIZE must be >= 1, got {size}")
    return size


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised process group, ``(0, 1)`` without one."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def setup(device=None) -> Context:
    """Join the ``torchrun`` job described by the environment, or describe the single process.

    With ``WORLD_SIZE`` > 1 (``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` set, as
    ``torchrun`` does) the default process group is initialised (``env://``): nccl when this
    rank's device is a GPU, gloo on CPU. A rank's device is ``cuda:LOCAL_RANK`` when ``device`` is
    ``None`` or ``"cuda"`` and CUDA is available, else the CPU.

    Args:
      device: ``None``, ``"cpu"`` or ``"cuda"`` (a numbered ``"cuda:k"`` is only allowed with one
        process: each rank takes the GPU of its local rank).

    Returns:
      The :class:`Context`.

    Raises:
      ValueError: a numbered CUDA device in a multi-process job, ``"cuda"`` without CUDA, or a
        malformed ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``.
    """
    size = env_world_size()
    dist = torch.distributed
    if size == 1:
        dev = torch.device("cuda" if device is None and torch.cuda.is_available() else (device or "cpu"))
        return Context(0, 1, 0, dev, None)
    rank = _env_int("RANK", 0)
    local = _env_int("LOCAL_RANK", rank)
    if not 0 <= rank < size:
        raise ValueError(f"environment variable RANK must be in 0..{size - 1}, got {rank}")
    dev_name = None if device is None else str(device)
    if dev_name not in (None, "cpu", "cuda"):
        raise ValueError(f"--device {dev_name!r} in a {size}-process job: give cuda (rank r takes cuda:LOCAL_RANK) "
                         "or cpu")
    if dev_name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda but CUDA is not available; use --device cpu (gloo)")
    if dev_name != "cpu" and torch.cuda.is_available():
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
        backend = "nccl"
    else:
        dev = torch.device("cpu")
        backend = "gloo"
    initialized_here = False
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=size)
        initialized_here = True
    return Context(rank, size, local, dev, backend, initialized_here)


def teardown(ctx: Context, *, wait: bool = True) -> None:
    """Destroy the process group if :func:`setup` created it.

    Args:
      ctx: what :func:`setup` returned.
      wait: first wait for every rank (a barrier); False on an error path, where other ranks may
        never arrive.
    """
    if ctx.initialized_here and torch.distributed.is_initialized():
        if wait:
            torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (a no-op with one process)."""
    if world()[1] > 1:
        torch.distributed.barrier()


def shard(items: Sequence, rank: int | None = None, world_size: int | None = None) -> list:
    """This rank's share ``items[rank::world_size]`` of a global minibatch (all of it with one process).

    Args:
      items: the global minibatch (the same on every rank).
      rank, world_size: default :func:`world`.

    Returns:
      The strided shard (shards differ in size by at most one; some may be empty).
    """
    r, w = world()
    r = r if rank is None else rank
    w = w if world_size is None else world_size
    return list(items)[r::w]


def broadcast_object(obj, src: int = 0):
    """``obj`` as rank ``src`` has it, on every rank (picklable objects; identity with one process)."""
    if world()[1] == 1:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=src)
    return box[0]


def gather_rows(rows: list) -> list:
    """Every rank's ``rows`` concatenated in rank order, on every rank (``rows`` with one process).

    Args:
      rows: this rank's list of picklable rows.

    Returns:
      ``rows_0 + rows_1 + ... + rows_{W-1}``.
    """
    size = world()[1]
    if size == 1:
        return list(rows)
    boxes: list = [None] * size
    torch.distributed.all_gather_object(boxes, list(rows))
    return [row for box in boxes for row in box]


def my_chunks(chunks: Sequence[list]):
    """Deal ``chunks`` (lists of work indices) out to the ranks, ``world_size`` at a time.

    Yields, for each round of ``world_size`` consecutive chunks, this rank's chunk (``[]`` when the
    last round has fewer chunks than ranks). Every rank yields the same number of rounds, so a
    collective call per round (:func:`gather_rows`) is matched on every rank; gathering in rank
    order puts the round's rows back in chunk order. With one process it yields ``chunks`` as they are.

    Args:
      chunks: the chunks, the same on every rank.
    """
    rank, size = world()
    chunks = list(chunks)
    for start in range(0, len(chunks), size):
        group = chunks[start: start + size]
        yield group[rank] if rank < len(group) else []


def broadcast_parameters(params: Sequence) -> None:
    """Overwrite ``params`` (tensors) with rank 0's values on every rank (a no-op with one process)."""
    if world()[1] == 1:
        return
    with torch.no_grad():
        for p in params:
            torch.distributed.broadcast(p.data, src=0)


def all_reduce_gradients(params: Sequence, loss: float) -> float:
    """Sum the gradients of ``params`` and ``loss`` over the ranks (in place); return the summed loss.

    Each rank has back-propagated its shard's loss weighted by its share of the global minibatch
    (see the module doc), so the sum is the global minibatch's gradient. A parameter without a
    gradient on this rank (an empty shard) takes part with zeros. The gradients are flattened into
    one buffer per dtype and reduced with one ``all_reduce`` each.

    Args:
      params: the trainable parameters (the same list, in the same order, on every rank).
      loss: this rank's weighted loss value.

    Returns:
      The sum of ``loss`` over the ranks (``loss`` itself with one process).
    """
    if world()[1] == 1:
        return float(loss)
    dist = torch.distributed
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    by_dtype: dict = {}
    for p in params:
        by_dtype.setdefault(p.grad.dtype, []).append(p)
    for group in by_dtype.values():
        flat = torch.cat([p.grad.reshape(-1) for p in group])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for p in group:
            n = p.grad.numel()
            p.grad.copy_(flat[offset: offset + n].view_as(p.grad))
            offset += n
    device = params[0].device if len(params) else torch.device("cpu")
    total = torch.tensor([float(loss)], dtype=torch.float64, device=device)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return float(total.item())


def make_run(factory: Callable[[bool], Any]):
    """Open the run directory on rank 0 first, then as a non-writing view on the other ranks.

    Rank 0 calls ``factory(True)`` (which may create, overwrite or resume the folder, or raise on a
    config mismatch); its error, if any, is broadcast so that every rank raises it; after a
    barrier the other ranks call ``factory(False)``, which only reads. With one process this is
    ``factory(True)``.

    Args:
      factory: ``writer -> RunDir``.

    Returns:
      The ``RunDir`` (a writer on rank 0).

    Raises:
      ValueError, FileNotFoundError: rank 0's error (the same type on rank 0, ``ValueError`` with
        its message on the others).
    """
    rank, size = world()
    if size == 1:
        return factory(True)
    run, error = None, None
    if rank == 0:
        try:
            run = factory(True)
        except (ValueError, FileNotFoundError) as err:
            error = err
    message = broadcast_object(None if error is None else str(error))
    if message is not None:
        if error is not None:
            raise error
        raise ValueError(message)
    barrier()
    return run if rank == 0 else factory(False)
