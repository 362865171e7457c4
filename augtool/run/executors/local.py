"""Batches on this machine: loky's worker processes (joblib's executor) or threads."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from augtool.run.executors import cluster
from augtool.run.executors.base import ExecutorPool, Item, Result, submit_in_window
from augtool.run.executors.interrupts import interrupts_held

#: Idle loky workers exit after this many seconds (joblib's own default is 300).
IDLE_SECONDS = 300
#: How long stopping the pool waits for loky's manager thread to wind it down.
STOP_SECONDS = 10.0


def stop_workers() -> None:
    """Kill the process pool's workers now, if a pool was started, and close a Dask cluster the
    run opened: an interrupted run must leave no process behind."""
    cluster.close_open()
    if "joblib.externals.loky" not in sys.modules:
        return
    from joblib.externals.loky import reusable_executor

    if hasattr(reusable_executor, "_executor"):
        executor = reusable_executor._executor  # the one pool, None when none was started
    else:  # another loky: ask for the pool (this may start one, only to stop it)
        executor = reusable_executor.get_reusable_executor()
    if executor is None:
        return
    # Kill the workers first, then shut down: loky then goes the way of a pool whose worker
    # died (marking pending work failed, minding cancelled futures). Asked to kill them itself
    # mid-run, its manager thread sometimes failed (a KeyError, or an InvalidStateError on a
    # cancelled future) before killing them, and the run hung at exit.
    from joblib.externals.loky.backend.utils import kill_process_tree

    for process in list(getattr(executor, "_processes", {}).values()):
        with contextlib.suppress(ProcessLookupError, OSError):
            kill_process_tree(process)
    # Bounded: the manager thread can block for good writing a batch to workers now dead
    # (see augtool.entry.exit_without_stragglers, which then exits without it).
    manager = getattr(executor, "_executor_manager_thread", None)
    executor.shutdown(wait=False, kill_workers=True)
    if manager is not None:
        manager.join(STOP_SECONDS)


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, if it is not running, rather than inside
    :func:`interrupts_held`: loky starts it with the first worker, and the standard library
    unblocks SIGINT and SIGTERM after starting it (``SIG_UNBLOCK``, not the mask it found), so
    the workers started after it in the same block were born without the mask."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


def _executor(backend: str, jobs: int) -> Executor:
    if backend == "threading":
        return ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="augtool")
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=jobs, timeout=IDLE_SECONDS)


def run_batches(
    function: Callable[[Item, Any], list[Result]],
    batches: Iterable[Item],
    shared: Any,
    jobs: int,
    backend: str,
    window: int | None = None,
    executor: Executor | None = None,
) -> Iterator[Result]:
    """``function(batch, shared)`` for every batch on ``jobs`` workers; yields the items of each
    batch's result list as batches finish. ``window`` (default ``2 * jobs``) bounds the batches
    submitted but not yet taken by the caller. ``executor``, when given (a Dask client's), is
    used instead of the one ``backend`` names."""
    window = window or 2 * jobs
    if executor is None and backend != "threading":
        _start_resource_tracker()
    with interrupts_held():
        executor = executor or _executor(backend, jobs)
    yield from submit_in_window(executor, function, batches, shared, window)


def local_pool(backend: str, jobs: int) -> ExecutorPool:
    """loky's process pool (``loky``) or a thread pool (``threading``) of ``jobs`` workers."""
    if backend != "threading":
        _start_resource_tracker()
    with interrupts_held():
        return ExecutorPool(_executor(backend, jobs), jobs)
