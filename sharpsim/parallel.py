"""Seeds across devices: :func:`map_seeds`, a sharded, chunked ``jax.vmap`` over PRNG keys.

Every figure of sharpsim repeats one *trial* (a function of a PRNG key) over many seeds. On one
device the seeds are vmapped: ``jax.jit(jax.vmap(trial))(keys)``. :func:`map_seeds` computes the
rows with the seed axis

* **split into shards**: the ``S`` seeds are cut into at most ``K`` shards (``shards``, default
  :data:`DEFAULT_SHARDS` = 8) of ``C = ceil(S / K)`` consecutive keys, the last one padded to
  ``C`` by repeating its last key (the padding rows are dropped). ``C`` depends on ``S`` and
  ``K`` only, never on the devices; ``max_chunk`` and a per-device memory budget
  (:func:`memory_budget`) can make it smaller;
* **sharded**: the shards are spread over the devices, one shard per device at a time, through a
  one-axis ``jax.sharding.Mesh`` (axis ``"seeds"``): the keys of ``D`` shards form one array
  split along it by a ``jax.sharding.NamedSharding``, the broadcast arguments are
  replicated, and one compiled program runs every step. With ``D >= K`` devices one step
  computes every seed; with one device the ``K`` shards run one after another.

Each device therefore runs exactly the program one device runs on one shard (``vmap`` over ``C``
keys), so the rows never depend on the number of devices or processes. They are bitwise those of
``jax.vmap(fn)`` over each shard's keys; with ``shards=1`` (and all seeds within the memory
budget) bitwise ``jax.vmap(fn)(keys)``. The number of shards is a setting of the computation,
like the seed: XLA's CPU backend compiles an operation differently depending on its size, so a
shard of another size can change the last bits of a row (``docs/scale/devices.md`` shows where).
The tests of ``tests/experiments/test_parallel.py`` compare the rows bit for bit on 1 and 4
devices, on two processes, and every figure's CSV.

The same code runs on several processes (``jax.distributed.initialize``): pass
``devices=jax.devices()`` (the global device list) and every process receives every row.

Environment:
  ``SHARPSIM_SEED_SHARDS``: the default ``shards`` (a positive integer; default 8).
  ``SHARPSIM_SEED_CHUNK``: the default ``max_chunk`` (a positive integer).
  ``SHARPSIM_CPU_DEVICES``: how many CPU devices of one process run at once
  (:func:`cpu_concurrent_devices`; default: one less than the CPUs).
  ``SHARPSIM_SEED_MEMORY``: the per-device memory budget in bytes (suffixes ``K``, ``M``, ``G``,
  ``T`` for powers of 1024 accepted, e.g. ``8G``).
"""

from __future__ import annotations

import collections
import functools
import math
import os
import threading
from collections.abc import Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from sharpsim import _validation as v

__all__ = ["DEFAULT_SHARDS", "FALLBACK_MEMORY_BUDGET", "MEMORY_FRACTION", "chunk_plan", "cpu_concurrent_devices", "device_summary",
           "map_seeds", "memory_budget"]

#: The shards one call's seeds are cut into by default (``SHARPSIM_SEED_SHARDS`` overrides it): up to
#: this many devices compute one call at once, and the rows are the same on any number of devices.
DEFAULT_SHARDS: int = 8

#: The fraction of a device's memory one chunk may use: of its reported ``bytes_limit`` (GPU), or of
#: the host's physical memory for devices that report none (CPU).
MEMORY_FRACTION: float = 0.5
#: The budget (bytes) when neither the device nor the host says how much memory it has: 8 GiB.
FALLBACK_MEMORY_BUDGET: int = 8 * 1024**3

#: The mesh axis the seeds are sharded over.
AXIS = "seeds"

_SUFFIXES = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def device_summary() -> dict:
    """The devices JAX computes on, for reports and benchmark records.

    Returns:
      ``{"platform", "device_kind", "num_devices", "num_local_devices", "process_count"}``: the
      default backend's platform (``"cpu"``, ``"gpu"``, ``"tpu"``), the kind of its first device
      (e.g. ``"NVIDIA H200"``), the number of devices of all processes (``len(jax.devices())``),
      of this process's devices, and the number of processes.
    """
    devices = jax.devices()
    return {
        "platform": devices[0].platform,
        "device_kind": devices[0].device_kind,
        "num_devices": len(devices),
        "num_local_devices": jax.local_device_count(),
        "process_count": jax.process_count(),
    }


def _parse_bytes(name: str, text: str) -> int:
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    suffix = text[-1:] if text[-1:] in _SUFFIXES and text[-1:] else ""
    number = text[: len(text) - len(suffix)]
    try:
        value = float(number) * _SUFFIXES[suffix]
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be a positive number of bytes, optionally with a K/M/G/T suffix "
                         f"(e.g. 8G); got {text!r}")
    return int(value)


def memory_budget(device=None) -> int:
    """The bytes one chunk may use on one device.

    ``SHARPSIM_SEED_MEMORY`` if set; else :data:`MEMORY_FRACTION` of the device's reported
    ``bytes_limit`` (GPUs report it); else :data:`MEMORY_FRACTION` of the host's physical memory
    (CPU devices share it); else :data:`FALLBACK_MEMORY_BUDGET`.

    Args:
      device: the device (default: the first local device).

    Returns:
      The budget in bytes.

    Raises:
      ValueError: if ``SHARPSIM_SEED_MEMORY`` is not a positive number of bytes.
    """
    env = os.environ.get("SHARPSIM_SEED_MEMORY")
    if env:
        return _parse_bytes("SHARPSIM_SEED_MEMORY", env)
    device = device if device is not None else jax.local_devices()[0]
    try:
        stats = device.memory_stats()
    except Exception:  # backends without memory statistics
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(MEMORY_FRACTION * stats["bytes_limit"])
    try:
        host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX host
        host = 0
    return int(MEMORY_FRACTION * host) if host > 0 else FALLBACK_MEMORY_BUDGET


def cpu_concurrent_devices() -> int:
    """How many CPU devices of one process :func:`map_seeds` runs at once.

    ``SHARPSIM_CPU_DEVICES`` if set; else one less than the CPUs this process may use (at least 1).
    Host devices share the cores and XLA's CPU thread pool (as many threads as CPUs). A batched
    LAPACK call (``jnp.linalg.eigh``, in the tabular RLHF fit and the linear-softmax class) splits its batch over that
    pool and blocks until it is done (``jax::ParallelBatchMap``); when every thread of the pool is
    such a waiting call, the process deadlocks. It happened with jax 0.10.2 on 2 CPUs, 4 forced host
    devices each running a chunk of 8 ``rlhf_beta`` seeds at once. One thread left free avoids it, and
    the rows do not depend on how many devices run at once.

    Returns:
      The number (``>= 1``).

    Raises:
      ValueError: if ``SHARPSIM_CPU_DEVICES`` is not a positive integer.
    """
    value = _positive_env("SHARPSIM_CPU_DEVICES")
    if value is not None:
        return value
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus - 1)


def _positive_env(name: str) -> int | None:
    env = os.environ.get(name)
    if not env:
        return None
    try:
        value = int(env)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {env!r}")
    return value


def _default_max_chunk() -> int | None:
    return _positive_env("SHARPSIM_SEED_CHUNK")


def _default_shards() -> int:
    value = _positive_env("SHARPSIM_SEED_SHARDS")
    return DEFAULT_SHARDS if value is None else value


def chunk_plan(num_seeds: int, num_devices: int, max_chunk: int, *, all_devices: bool = False) -> dict:
    """How :func:`map_seeds` lays ``num_seeds`` seeds out on ``num_devices`` devices.

    The seeds are cut into chunks of ``C = min(S, max_chunk)`` consecutive seeds (the last one
    padded to ``C`` by repeating its last key). Every device computes whole chunks, one per step,
    vmapped over exactly ``C`` keys, so each device runs the program a single device would run:
    the rows do not depend on the number of devices.

    Args:
      num_seeds: the seeds ``S`` (``>= 1``).
      num_devices: the devices ``D`` available (``>= 1``).
      max_chunk: the most seeds in one chunk (``>= 1``).
      all_devices: use all ``D`` devices even when there are fewer chunks (needed when the
        devices belong to several processes: each one must take part); otherwise only
        ``min(D, number of chunks)`` devices are used.

    Returns:
      A dict: ``chunk`` (``C``), ``num_chunks`` (``ceil(S / C)``), ``devices`` (the devices
      used), ``steps`` (``ceil(num_chunks / devices)``: the programs run one after another),
      ``slots`` (keys per step, ``devices * C``; the slots past the last real seed repeat the
      last key).

    Raises:
      ValueError: unless every count is a positive integer.
    """
    num_seeds = v.check_positive_int("num_seeds", num_seeds)
    num_devices = v.check_positive_int("num_devices", num_devices)
    max_chunk = v.check_positive_int("max_chunk", max_chunk)
    chunk = min(num_seeds, max_chunk)
    num_chunks = -(-num_seeds // chunk)
    used = num_devices if all_devices else min(num_devices, num_chunks)
    steps = -(-num_chunks // used)
    return {"chunk": chunk, "num_chunks": num_chunks, "devices": used, "steps": steps, "slots": used * chunk}


def _slot_indices(num_seeds: int, plan: dict, step: int) -> np.ndarray:
    """The seed of every slot of one step: chunk after chunk, padding repeats a chunk's (or the seeds') last key."""
    chunk = plan["chunk"]
    first = step * plan["devices"]
    out = []
    for j in range(first, first + plan["devices"]):
        start = min(j * chunk, num_seeds - 1)
        stop = min((j + 1) * chunk, num_seeds)
        out.append(np.minimum(start + np.arange(chunk), max(stop, start + 1) - 1))
    return np.concatenate(out)


def _check_keys(keys) -> jax.Array:
    if not (isinstance(keys, jax.Array) and jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)):
        raise TypeError("`keys` must be an array of typed PRNG keys (e.g. jax.random.split(jax.random.key(0), S)); "
                        f"got {type(keys).__name__}" + (f" of dtype {keys.dtype}" if hasattr(keys, "dtype") else ""))
    if not v.is_concrete(keys):
        raise TypeError("`keys` must be concrete: map_seeds compiles and runs its own program, so it cannot be "
                        "called inside jax.jit, jax.vmap or another transformation (call fn directly there)")
    if keys.ndim != 1 or keys.shape[0] < 1:
        raise ValueError(f"`keys` must be 1-D with at least one key ([S]); got shape {keys.shape}")
    return keys


def _check_devices(devices) -> tuple:
    if devices is None:
        return tuple(jax.local_devices())
    if isinstance(devices, jax.Device):
        return (devices,)
    if isinstance(devices, (str, bytes)) or not isinstance(devices, Sequence):
        raise TypeError(f"`devices` must be a sequence of jax.Device (e.g. jax.devices()); got {type(devices).__name__}")
    devices = tuple(devices)
    if not devices:
        raise ValueError("`devices` must hold at least one device")
    if not all(isinstance(d, jax.Device) for d in devices):
        bad = next(d for d in devices if not isinstance(d, jax.Device))
        raise TypeError(f"`devices` must hold jax.Device objects only; got {type(bad).__name__}")
    if len(set(devices)) != len(devices):
        raise ValueError("`devices` must not repeat a device")
    if len({d.platform for d in devices}) > 1:
        raise ValueError(f"`devices` must all be of one platform; got {sorted({d.platform for d in devices})}")
    return devices


@functools.lru_cache(maxsize=256)
def _jitted(fn: Callable, devices: tuple, impl) -> Callable:
    """``jit(vmap(fn))`` over key data, sharded over ``devices`` (cached: one per function and devices)."""

    def run(key_data, args):
        keys = jax.random.wrap_key_data(key_data, impl=impl)
        return jax.vmap(fn, in_axes=(0,) + (None,) * len(args))(keys, *args)

    if len(devices) == 1:
        return jax.jit(run)
    mesh = Mesh(np.asarray(devices), (AXIS,))
    sharded = NamedSharding(mesh, PartitionSpec(AXIS))
    return jax.jit(run, in_shardings=(sharded, NamedSharding(mesh, PartitionSpec())), out_shardings=sharded)


#: Compiled executables, ``(fn, devices, impl, signature, slots) -> compiled``, least recently used first.
_EXECUTABLES: collections.OrderedDict = collections.OrderedDict()
#: The chunk chosen from the memory budget, ``(fn, device, impl, signature, chunk, budget) -> chunk``.
_CHUNKS: collections.OrderedDict = collections.OrderedDict()
#: How many entries each cache keeps.
CACHE_SIZE = 256


_LOCK = threading.Lock()


def _remember(cache: collections.OrderedDict, key, make):
    """``cache[key]``, made by ``make()`` when missing; the least recently used entries beyond
    :data:`CACHE_SIZE` are dropped (thread-safe; two threads may both make a missing entry)."""
    with _LOCK:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = make()
    with _LOCK:
        cache[key] = value
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return value


def _executable(fn, devices: tuple, impl, signature, key_data, args_on, slots: int):
    """The compiled program for ``slots`` keys sharded over ``devices`` (compiled once per signature, cached)."""

    def make():
        keys = jax.ShapeDtypeStruct((slots,) + key_data.shape[1:], key_data.dtype, sharding=_key_sharding(devices))
        return _jitted(fn, devices, impl).lower(keys, args_on).compile()

    return _remember(_EXECUTABLES, (fn, devices, impl, signature, slots), make)


def _key_sharding(devices: tuple):
    if len(devices) == 1:
        return jax.sharding.SingleDeviceSharding(devices[0])
    return NamedSharding(Mesh(np.asarray(devices), (AXIS,)), PartitionSpec(AXIS))


def _args_on(args: tuple, devices: tuple):
    if len(devices) == 1:
        return jax.device_put(args, devices[0])
    # with devices of several processes every process passes the same args and keeps its own shards
    return jax.device_put(args, NamedSharding(Mesh(np.asarray(devices), (AXIS,)), PartitionSpec()))


def _budget_chunk(fn, device, impl, signature, key_data, args: tuple, budget: int, chunk: int) -> int:
    """The largest chunk, at most ``chunk``, whose compiled footprint on one device fits ``budget``.

    The footprint is read off XLA's memory analysis of the one-device program for ``chunk`` seeds
    (arguments, outputs, temporaries); the arguments count once, the rest in proportion to the
    seeds. On one device that program is the one that runs whenever it fits, so this costs no
    extra compilation then (several devices run their own sharded program). The answer is cached
    per function, signature, chunk and budget.
    """

    def make():
        program = _executable(fn, (device,), impl, signature, key_data, _args_on(args, (device,)), chunk)
        stats = program.memory_analysis()
        if stats is None:
            return chunk
        fixed = int(stats.argument_size_in_bytes)
        varying = int(stats.temp_size_in_bytes) + int(stats.output_size_in_bytes)
        if fixed + varying <= budget or chunk == 1:
            return chunk
        per_seed = max(1, -(-varying // chunk))
        return int(min(chunk, max(1, (budget - fixed) // per_seed) if budget > fixed else 1))

    return _remember(_CHUNKS, (fn, device, impl, signature, chunk, budget), make)


def _abstract(x):
    """What a compiled program depends on in an argument: shape, dtype and weak type (a Python scalar is weak)."""
    if isinstance(x, (bool, int, float, complex)):
        return type(x).__name__
    return (tuple(np.shape(x)), str(x.dtype), bool(getattr(x, "weak_type", False)))


def _gather(x) -> np.ndarray:
    if getattr(x, "is_fully_addressable", True):
        return np.asarray(x)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def map_seeds(fn: Callable, keys: jax.Array, *, args: tuple = (), devices=None, shards: int | None = None,
              max_chunk: int | None = None):
    """``jax.vmap(fn)(keys)``, with the seed axis cut into shards and the shards spread over devices.

    Args:
      fn: ``fn(key, *args) -> pytree of arrays``: one seed's trial. It is traced once per chunk
        shape and cached per ``(fn, devices)``: pass a module-level function (or the same object
        every time), not a fresh closure, or every call compiles anew.
      keys: ``[S]`` typed PRNG keys (``jax.random.split(jax.random.key(seed), S)``).
      args: a tuple of pytrees of arrays (or Python scalars) passed to every seed unchanged
        (``in_axes=None``). They are traced arguments, replicated on every device, not constants
        closed over: XLA would constant-fold those, which costs compile time and can change the
        rounding.
      devices: the devices the seeds are sharded over (default: ``jax.local_devices()``); of one
        process's CPU devices, at most :func:`cpu_concurrent_devices` are used. With several
        processes (``jax.distributed.initialize``) pass ``jax.devices()``: every process must call
        ``map_seeds`` with the same arguments and each receives every row.
      shards: ``K``, the most pieces the seeds are cut into: chunks of ``C = ceil(S / K)`` keys,
        so up to ``K`` devices compute at once (default ``SHARPSIM_SEED_SHARDS`` if set, else
        :data:`DEFAULT_SHARDS`). It fixes the program every row comes from, whatever the devices:
        ``shards=1`` gives bitwise the rows of ``jax.vmap(fn)(keys)``.
      max_chunk: the most seeds one device computes at once: ``C`` is lowered to it (default
        ``SHARPSIM_SEED_CHUNK`` if set, else no cap but the memory budget: when XLA's memory
        analysis of the one-device program for ``C`` seeds (arguments, outputs, temporaries)
        exceeds :func:`memory_budget`, ``C`` becomes the largest chunk that fits; on several
        processes, process 0's choice is sent to all).

    Returns:
      The pytree ``fn`` returns, every leaf a NumPy array with a leading ``[S]`` axis. Chunk ``j``
      holds bitwise the rows of ``jax.vmap(lambda k: fn(k, *args))`` over its ``C`` keys on one
      device (padded by repeating its last key), whatever the devices.

    Raises:
      TypeError: if ``fn`` is not callable, ``keys`` is not an array of typed PRNG keys (or is
        traced: ``map_seeds`` cannot run inside ``jax.jit``), ``args`` is not a tuple or ``devices``
        holds something other than devices.
      ValueError: on an empty ``keys``, an empty or repeating ``devices``, devices of mixed
        platforms, a ``shards`` or ``max_chunk`` below 1, or ``SHARPSIM_SEED_SHARDS``,
        ``SHARPSIM_SEED_CHUNK``, ``SHARPSIM_SEED_MEMORY`` or ``SHARPSIM_CPU_DEVICES`` set to
        something other than a positive number.
    """
    if not callable(fn):
        raise TypeError(f"`fn` must be callable (fn(key, *args) -> pytree of arrays); got {type(fn).__name__}")
    keys = _check_keys(keys)
    if not isinstance(args, tuple):
        raise TypeError(f"`args` must be a tuple of the arguments after the key; got {type(args).__name__}")
    devices = _check_devices(devices)
    shards = _default_shards() if shards is None else v.check_positive_int("shards", shards)
    if max_chunk is not None:
        max_chunk = v.check_positive_int("max_chunk", max_chunk)
    num_seeds = int(keys.shape[0])
    impl = jax.random.key_impl(keys)
    key_data = np.asarray(jax.random.key_data(keys))
    leaves, treedef = jax.tree.flatten(args)
    signature = (treedef, tuple(_abstract(x) for x in leaves), key_data.shape[1:], str(key_data.dtype))
    if max_chunk is None:
        max_chunk = _default_max_chunk()
    chunk = -(-num_seeds // shards)
    multi_process = len({d.process_index for d in devices}) > 1
    if max_chunk is not None:
        chunk = min(chunk, max_chunk)
    else:  # the budget is read off the one-device program: the same on any device count
        local = next((d for d in devices if d.process_index == jax.process_index()), None)
        if local is None:
            raise ValueError("`devices` must include a device of this process (jax.process_index() "
                             f"{jax.process_index()}); pass jax.devices() on every process")
        chunk = _budget_chunk(fn, local, impl, signature, key_data, args, memory_budget(local), chunk)
        if multi_process:  # every process must run the same chunks: process 0's choice
            from jax.experimental import multihost_utils

            chunk = int(multihost_utils.broadcast_one_to_all(np.int64(chunk)))
    at_once = len(devices)
    if devices[0].platform == "cpu" and not multi_process:  # see cpu_concurrent_devices
        at_once = min(at_once, cpu_concurrent_devices())
    plan = chunk_plan(num_seeds, at_once, chunk, all_devices=multi_process)
    used = devices[:plan["devices"]]
    args_on = _args_on(args, used)
    program = _executable(fn, used, impl, signature, key_data, args_on, plan["slots"])
    key_sharding = _key_sharding(used)
    pieces = []
    for step in range(plan["steps"]):
        idx = _slot_indices(num_seeds, plan, step)
        out = program(jax.device_put(key_data[idx], key_sharding), args_on)
        first = step * plan["devices"] * plan["chunk"]
        real = min(plan["slots"], num_seeds - first)
        pieces.append(jax.tree.map(lambda x, real=real: _gather(x)[:real], out))
    if len(pieces) == 1:
        return pieces[0]
    return jax.tree.map(lambda *xs: np.concatenate(xs, axis=0), *pieces)
