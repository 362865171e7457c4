"""Where work runs: one :class:`~augtool.run.executors.base.Pool` interface over this process,
loky's worker processes, threads and a Dask cluster, with one interrupt handling.

- :mod:`.base`: the interface, the bounded window, a lost worker as :class:`WorkerLost`;
- :mod:`.interrupts`: Ctrl-C and SIGTERM held while a worker starts, one exit 130 otherwise;
- :mod:`.local`: loky and threads (and :func:`stop_workers`, which ends any of them);
- :mod:`.cluster`: the Dask cluster of ``--backend dask``;
- :mod:`.hashing`: files hashed on a pool (validate's fixity and source checks).

The engine's batches and validate's hashing and recompute all go through :func:`open_pool`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from augtool.run.executors.base import ExecutorPool, InProcess, Pool, WorkerLost
from augtool.run.executors.cluster import Needs
from augtool.run.executors.local import local_pool, stop_workers

__all__ = ["Pool", "WorkerLost", "map_in_order", "open_pool", "stop_workers"]


@contextlib.contextmanager
def open_pool(
    backend: str,
    jobs: int,
    needs: Needs | None = None,
    versions: Callable[[], dict[str, str]] | None = None,
) -> Iterator[Pool]:
    """The pool ``backend`` names, of ``jobs`` workers: ``sequential`` (this process),
    ``loky``, ``threading``, or ``dask`` (the configured scheduler or a local cluster, its
    workers checked against ``needs`` and ``versions``, closed after the block)."""
    if backend == "sequential":
        yield InProcess()
        return
    if backend != "dask":
        yield local_pool(backend, jobs)
        return
    from augtool.run.executors import cluster

    with cluster.connect(jobs) as found:
        if needs is not None and versions is not None:
            found.check(needs, versions)
        pool = ExecutorPool(found.executor(), found.slots)
        # A Dask worker's parent is its nanny, not this process.
        pool.children = False
        pool.facts = {"scheduler": found.address, "workers": found.workers}
        yield pool


def map_in_order(
    function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], jobs: int, worth_a_pool: bool
) -> Iterator[Any]:
    """``function(*task)`` for each task, in order; on loky's processes when asked and useful.
    An interrupt or a lost worker stops the workers, as it does a run's."""
    useful = jobs > 1 and len(tasks) >= 2 and worth_a_pool
    with open_pool("loky" if useful else "sequential", min(jobs, len(tasks))) as pool:
        try:
            yield from pool.map_ordered(function, tasks)
        except (KeyboardInterrupt, WorkerLost):
            stop_workers()
            raise
