"""Where the cells of a sweep are computed: in this process, or on a Dask distributed cluster.

A sweep (:func:`sharpsim.records.run_cells`, :func:`sharpsim.experiments._runner.run_sweep`,
:func:`sharpsim.figures.generate`) hands its cells to an *executor*, which computes
``run_cell(cell)`` for each and gives the results back as they finish. Whatever the executor,
the process that runs the sweep (the *driver*) alone writes the CSV, so the resume and
never-overwrite guarantees of :mod:`sharpsim.records` hold unchanged:

* :class:`InProcess` (the default) computes the cells one after another in this process, exactly
  as a sweep without an executor does;
* :class:`DaskExecutor` submits every cell to a Dask distributed cluster (a scheduler at an
  address, a :class:`distributed.Client` of yours, or a :class:`distributed.LocalCluster` of
  ``workers`` processes it starts) and yields each result as it arrives
  (:func:`distributed.as_completed`).

Rows still land in the CSV in cell order, so it is byte for byte the in-process one: a cell that
finishes before an earlier one waits in the side file :func:`sharpsim.records.pending_path`
(:func:`sharpsim.records.run_cells`).

A cell's function travels to a worker by (cloud)pickle: a module-level function, or a
:func:`functools.partial` of one with a frozen configuration (what :mod:`sharpsim.figures`
submits: ``functools.partial(module.run_cell, config)``), is sent by reference and rebuilt on the
worker by importing its module; closures are sent by value. A worker process computes its
cells with its own JAX compilation cache, so the first cell of each shape on each worker pays
for compilation.

Fault tolerance. When a worker dies while computing a cell, the scheduler gives that cell to
another worker (up to ``distributed.scheduler.allowed-failures`` deaths per cell, 3 by default;
then the sweep stops with :class:`distributed.scheduler.KilledWorker`). Results already received
are on disk, and the driver releases each result as soon as it has it, so a dead worker's
finished cells are not recomputed. A killed driver loses at most the cells in flight: rerun the
same command and only the missing cells are computed.

Choosing an executor: pass one to :func:`sharpsim.figures.generate` (``executor=``), to
:func:`~sharpsim.experiments._runner.run_sweep` or :func:`~sharpsim.records.run_cells`, or set it
for a block of code with :func:`use`; from the command line, ``sharpsim figures --executor
dask-local --workers 4`` (:func:`add_arguments`, :func:`from_args`).

Nothing here imports Dask until a :class:`DaskExecutor` is built; ``distributed`` comes with
``pip install 'sharpsim[cluster]'``.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "KINDS",
    "DaskExecutor",
    "Executor",
    "InProcess",
    "add_arguments",
    "current",
    "from_args",
    "from_options",
    "resolve",
    "use",
]

#: The executor kinds of :func:`from_options` and ``--executor``.
KINDS = ("inprocess", "dask", "dask-local")

_INSTALL_HINT = "pip install 'sharpsim[cluster]'"


@runtime_checkable
class Executor(Protocol):
    """What a sweep needs from an executor.

    Attributes:
      remote: ``True`` when cells run in other processes (a cluster): :func:`sharpsim.figures.generate`
        then keeps several figures' sweeps in flight from driver threads instead of forking processes.

    A remote executor may also define ``cancel()`` (cancel the cells of every sweep running on it),
    which :func:`sharpsim.figures.generate` calls when one figure fails.
    """

    remote: bool

    def imap_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any], *,
                       name: str = "") -> Iterator[tuple[int, Any]]:
        """Compute ``fn(item)`` for every item; yield ``(index, result)`` as each finishes.

        Args:
          fn: the function of one item (it must pickle for a remote executor).
          items: the items.
          name: a label for the work (task names on a cluster's dashboard).

        Returns:
          An iterator of ``(index into items, fn(items[index]))``, each index once; closing it
          early cancels the work not yet done.

        Raises:
          Exception: whatever ``fn`` raised for an item (the work not yet done is cancelled).
        """

    def close(self) -> None:
        """Release what the executor holds (a client, a cluster it started)."""


class InProcess:
    """Computes the cells one after another in this process, in their order (the default executor).

    A sweep run with it behaves exactly as a sweep without an executor: a cell is computed only
    after the previous one's rows are on disk.
    """

    remote = False

    def imap_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any], *,
                       name: str = "") -> Iterator[tuple[int, Any]]:
        """Yield ``(i, fn(items[i]))`` for ``i = 0, 1, …``, each computed when the previous one was consumed.

        Args:
          fn: the function of one item.
          items: the items.
          name: unused (the protocol's label).

        Returns:
          A lazy iterator of ``(index, result)`` in index order.

        Raises:
          Exception: whatever ``fn`` raised.
        """
        for i, item in enumerate(items):
            yield i, fn(item)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return "InProcess()"


def _import_distributed():
    """The ``distributed`` module, or an ImportError saying how to install it."""
    try:
        import distributed
    except ImportError as err:  # pragma: no cover - the cluster extra is installed in CI
        raise ImportError(f"the Dask executor needs the `distributed` package: {_INSTALL_HINT}") from err
    return distributed


def _check_workers(workers) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be an integer >= 1; got {workers!r}")
    return workers


def _cpus() -> int:
    """The CPUs this process may run on (one local worker each by default)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    """Run on a worker: ``fn(item)`` (a module-level function, so tasks pickle it by reference)."""
    return fn(item)


class DaskExecutor:
    """Submits the cells to a Dask distributed cluster; the driver receives each result as it arrives.

    Exactly one of ``address``, ``client`` and ``workers`` says which cluster (none of them: a
    local cluster with one worker per CPU). The client (and a local cluster) is started on first
    use and closed by :meth:`close` (or on leaving a ``with`` block) only if this executor started
    it.

    Args:
      address: a running scheduler's address, e.g. ``"tcp://10.0.0.5:8786"``.
      client: a connected :class:`distributed.Client` (left open by :meth:`close`).
      workers: start a :class:`distributed.LocalCluster` of this many worker processes, each
        with ``threads_per_worker`` threads.
      threads_per_worker: threads per local worker process (1 recommended: JAX's XLA runs its
        own threads within a computation).
      cluster_options: further keyword arguments for :class:`distributed.LocalCluster`
        (e.g. ``{"dashboard_address": None}``).

    Raises:
      ValueError: more than one of ``address``, ``client``, ``workers``; ``workers`` or
        ``threads_per_worker`` not an integer >= 1; ``address`` not a non-empty string; ``client``
        without a ``submit`` method.
      ImportError: ``distributed`` is not installed (``pip install 'sharpsim[cluster]'``).
    """

    remote = True

    def __init__(self, address: str | None = None, *, client=None, workers: int | None = None,
                 threads_per_worker: int = 1, cluster_options: dict | None = None):
        given = [n for n, v in (("address", address), ("client", client), ("workers", workers)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of `address`, `client` and `workers`; got {given}")
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ValueError(f"`address` must be a scheduler address such as 'tcp://host:8786'; got {address!r}")
        if workers is not None:
            _check_workers(workers)
        if client is not None and not callable(getattr(client, "submit", None)):
            raise ValueError(f"`client` must be a distributed.Client; got {client!r}")
        if isinstance(threads_per_worker, bool) or not isinstance(threads_per_worker, int) or threads_per_worker < 1:
            raise ValueError(f"`threads_per_worker` must be an integer >= 1; got {threads_per_worker!r}")
        _import_distributed()
        self.address = address
        self.workers = workers
        self.threads_per_worker = threads_per_worker
        self.cluster_options = dict(cluster_options or {})
        self._client = client
        self._owns_client = client is None
        self._cluster = None
        self._lock = threading.Lock()  # sweeps of several figures share the executor from driver threads
        self._inflight: set = set()  # the futures of every sweep running now (see cancel)

    @property
    def client(self):
        """The :class:`distributed.Client` (connected, and the local cluster started, on first access).

        Raises:
          ValueError: no scheduler answered at ``address``.
        """
        with self._lock:
            return self._connect()

    def _connect(self):
        if self._client is None:
            distributed = _import_distributed()
            if self.address is not None:
                try:
                    self._client = distributed.Client(self.address)
                except OSError as err:
                    raise ValueError(f"`address`: no Dask scheduler answered at {self.address!r} ({err})") from None
            else:
                options = {"n_workers": self.workers or _cpus(), "threads_per_worker": self.threads_per_worker,
                           "processes": True, **self.cluster_options}
                self._cluster = distributed.LocalCluster(**options)
                self._client = distributed.Client(self._cluster)
        return self._client

    def imap_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any], *,
                       name: str = "") -> Iterator[tuple[int, Any]]:
        """Submit ``fn(item)`` for every item at once; yield ``(index, result)`` as each result arrives.

        Each result is fetched and its task released before it is yielded, so a worker that
        dies afterwards costs only the cells it was computing. Closing the iterator early (or an
        item's error) cancels the tasks not yet finished.

        Args:
          fn: the function of one item; it must pickle (cloudpickle).
          items: the items.
          name: a prefix of the task names (shown on the dashboard).

        Returns:
          An iterator of ``(index, result)`` in the order the results arrive.

        Raises:
          TypeError: ``fn`` cannot be pickled for the workers (the message says what to pass instead).
          Exception: the error an item's task raised (re-raised in the driver), or
            :class:`distributed.scheduler.KilledWorker` when workers died computing the same cell
            more often than the scheduler allows.
        """
        items = list(items)
        if not items:
            return
        import cloudpickle

        try:
            cloudpickle.dumps(fn)
        except Exception as err:
            raise TypeError(
                f"the cell function {fn!r} cannot be pickled for the Dask workers ({err}); pass a module-level "
                "function or a functools.partial of one, or run this sweep with executor=InProcess()") from err
        distributed = _import_distributed()
        client = self.client
        label = "".join(c if c.isalnum() or c in "-_" else "-" for c in (name or "cell"))
        token = uuid.uuid4().hex[:8]
        futures = [client.submit(_call, fn, item, key=f"{label}-{i}-{token}", pure=False)
                   for i, item in enumerate(items)]
        index = {f.key: i for i, f in enumerate(futures)}
        waiting = {f.key: f for f in futures}
        with self._lock:
            self._inflight.update(futures)
        del futures
        try:
            for future in distributed.as_completed(list(waiting.values())):
                result = future.result()  # re-raises the task's error (or CancelledError) here
                waiting.pop(future.key)
                with self._lock:
                    self._inflight.discard(future)
                future.release()
                yield index[future.key], result
        finally:
            with self._lock:
                self._inflight.difference_update(waiting.values())
            if waiting:
                client.cancel(list(waiting.values()))

    def cancel(self) -> None:
        """Cancel the cells of every sweep now running on this executor (each of those sweeps then raises
        :class:`concurrent.futures.CancelledError` in its own thread; what is on disk stays)."""
        with self._lock:
            futures = list(self._inflight)
            self._inflight.clear()
            client = self._client
        if futures and client is not None:
            client.cancel(futures)

    def close(self) -> None:
        """Close the client and the local cluster if this executor started them (a later use restarts them)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = (f"address={self.address!r}" if self.address is not None else
                 "client=..." if not self._owns_client else f"workers={self.workers}")
        return f"DaskExecutor({where})"


# ============================================================================ the current executor
_IN_PROCESS = InProcess()
_CURRENT: contextvars.ContextVar[Executor | None] = contextvars.ContextVar("sharpsim_executor", default=None)


def current() -> Executor:
    """The executor a sweep uses when given none: the innermost :func:`use`, else :class:`InProcess`.

    Returns:
      The executor.
    """
    return _CURRENT.get() or _IN_PROCESS


@contextlib.contextmanager
def use(executor: Executor) -> Iterator[Executor]:
    """Make ``executor`` the one every sweep started in this block (in this thread) uses by default.

    Sweeps given an executor explicitly keep theirs. The executor is not closed on leaving the
    block (close it yourself, or nest ``with executor, use(executor): ...``).

    Args:
      executor: an :class:`Executor`.

    Returns:
      A context manager giving ``executor``.

    Raises:
      TypeError: ``executor`` does not follow the :class:`Executor` protocol.
    """
    if not isinstance(executor, Executor):
        raise TypeError(f"`executor` must be an executor (InProcess(), DaskExecutor(...)); got {executor!r}")
    token = _CURRENT.set(executor)
    try:
        yield executor
    finally:
        _CURRENT.reset(token)


def resolve(executor: Executor | None) -> Executor:
    """``executor``, or :func:`current` when it is ``None``.

    Args:
      executor: an :class:`Executor` or ``None``.

    Returns:
      The executor a sweep should use.

    Raises:
      TypeError: ``executor`` does not follow the :class:`Executor` protocol.
    """
    if executor is None:
        return current()
    if not isinstance(executor, Executor):
        raise TypeError(f"`executor` must be an executor (InProcess(), DaskExecutor(...)) or None; got {executor!r}")
    return executor


# ============================================================================ command line
def from_options(kind: str = "inprocess", address: str | None = None, workers: int | None = None) -> Executor:
    """The executor of a command line's ``--executor``, ``--address`` and ``--workers``.

    Args:
      kind: ``"inprocess"`` (this process), ``"dask"`` (the scheduler at ``address``) or
        ``"dask-local"`` (a local cluster of ``workers`` processes; default one per CPU).
      address: the scheduler's address; required with, and only with, ``"dask"``.
      workers: the local cluster's worker processes; only with ``"dask-local"``.

    Returns:
      An :class:`InProcess` or :class:`DaskExecutor` (its cluster started on first use).

    Raises:
      ValueError: an unknown ``kind``, or ``address``/``workers`` missing or given where they do
        not apply, or ``workers`` below 1.
      ImportError: a Dask kind without ``distributed`` installed.
    """
    if kind not in KINDS:
        raise ValueError(f"`executor` must be one of {KINDS}; got {kind!r}")
    if kind == "inprocess":
        if address is not None or workers is not None:
            raise ValueError("`address` and `workers` need a Dask executor (--executor dask or dask-local)")
        return InProcess()
    if kind == "dask":
        if address is None:
            raise ValueError("`executor` 'dask' needs the scheduler's `address` (--address tcp://HOST:8786)")
        if workers is not None:
            raise ValueError("`workers` applies to --executor dask-local only (a remote cluster has its own workers)")
        return DaskExecutor(address)
    if address is not None:
        raise ValueError("`address` applies to --executor dask only (dask-local starts its own cluster)")
    return DaskExecutor(workers=_check_workers(workers) if workers is not None else None)


def add_arguments(parser) -> None:
    """Add ``--executor``, ``--address`` and ``--workers`` to an :mod:`argparse` (sub)parser.

    Args:
      parser: the parser (``sharpsim figures``'s).
    """
    group = parser.add_argument_group("where the cells run")
    group.add_argument("--executor", choices=KINDS, default="inprocess",
                       help="inprocess: this process (default); dask: the Dask scheduler at --address; "
                       "dask-local: a local Dask cluster of --workers processes. The CSVs are written by this "
                       "process alone, cell by cell, so a rerun resumes as usual")
    group.add_argument("--address", default=None, metavar="ADDR",
                       help="the Dask scheduler's address for --executor dask, e.g. tcp://10.0.0.5:8786")
    group.add_argument("--workers", type=int, default=None, metavar="K",
                       help="worker processes of --executor dask-local (default: the number of CPUs)")


def from_args(args) -> Executor:
    """The executor chosen by the arguments of :func:`add_arguments` (:func:`from_options`).

    Args:
      args: the parsed :class:`argparse.Namespace`.

    Returns:
      The executor; use it as a context manager so its cluster is closed at the end.

    Raises:
      ValueError: see :func:`from_options`.
    """
    return from_options(getattr(args, "executor", "inprocess") or "inprocess", getattr(args, "address", None),
                        getattr(args, "workers", None))
