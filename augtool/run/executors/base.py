"""The one interface every executor has: a :class:`Pool` runs batches of work and hands their
results back, with the same bounded window, interrupt handling and lost-worker report whether
it is loky's processes, threads, a Dask cluster or this process (:mod:`.local`, :mod:`.cluster`).

At most ``window`` batches are in flight or finished-but-unread at any time: the next batch is
submitted only when the caller has taken a result. joblib's ``Parallel`` dispatches a new batch
whenever one *completes*, however far behind the caller is, so on a fast pool its finished
results pile up in the main process (measured: 46 MiB of them at 20,000 small sources). Here
the main process's memory stays bounded by the window, whatever the dataset size.

:meth:`Pool.map_unordered` yields results in completion order (a slow batch never holds back the
others; the engine journals results and sorts the manifest); :meth:`Pool.map_ordered` in the
order of its tasks (validate zips hashes with paths).
"""

from __future__ import annotations

import abc
import collections
import contextlib
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    CancelledError,
    Executor,
    Future,
    ThreadPoolExecutor,
    wait,
)
from typing import Any, TypeVar

from augtool.errors import EXIT_FAILED, AugtoolError
from augtool.run.executors import cluster
from augtool.run.executors.interrupts import interrupts_held

Item = TypeVar("Item")
Result = TypeVar("Result")
#: the arguments of one call of :meth:`Pool.map_ordered`'s function
Args = tuple[Any, ...]

RESUME = "finished work is kept, run the same command again to resume"


class WorkerLost(AugtoolError):
    """A worker process died mid-batch (killed, out of memory, a crash in a C library)."""

    exit_code = EXIT_FAILED


class Pool(abc.ABC):
    """Where batches of work run."""

    #: how many batches run at once
    slots: int = 1
    #: whether the workers are this process's children (a worker's parent watchdog applies)
    children: bool = True
    #: where the batches ran, for the summary (a Dask cluster's scheduler and workers)
    facts: dict[str, Any] | None = None

    @abc.abstractmethod
    def map_unordered(
        self,
        function: Callable[[Item, Any], list[Result]],
        batches: Iterable[Item],
        shared: Any,
        window: int | None = None,
    ) -> Iterator[Result]:
        """``function(batch, shared)`` for every batch; the items of each batch's result list,
        as batches finish. ``window`` (default ``2 * slots``) bounds the batches submitted but
        not yet taken by the caller."""

    @abc.abstractmethod
    def map_ordered(
        self, function: Callable[..., Any], tasks: Iterable[tuple[Any, ...]]
    ) -> Iterator[Any]:
        """``function(*task)`` for each task, in the order of the tasks."""


class InProcess(Pool):
    """This process, one batch after the other: for small jobs, ``--jobs 1`` and ``sequential``."""

    def map_unordered(
        self,
        function: Callable[[Item, Any], list[Result]],
        batches: Iterable[Item],
        shared: Any,
        window: int | None = None,
    ) -> Iterator[Result]:
        for batch in batches:
            yield from function(batch, shared)

    def map_ordered(
        self, function: Callable[..., Any], tasks: Iterable[tuple[Any, ...]]
    ) -> Iterator[Any]:
        for task in tasks:
            yield function(*task)


class ExecutorPool(Pool):
    """Batches on a ``concurrent.futures.Executor``: loky's reusable executor (the one joblib
    uses) for processes, a thread pool, or the one a Dask client hands out."""

    def __init__(self, executor: Executor, slots: int) -> None:
        self.executor = executor
        self.slots = slots

    def map_unordered(
        self,
        function: Callable[[Item, Any], list[Result]],
        batches: Iterable[Item],
        shared: Any,
        window: int | None = None,
    ) -> Iterator[Result]:
        return submit_in_window(self.executor, function, batches, shared, window or 2 * self.slots)

    def map_ordered(
        self, function: Callable[..., Any], tasks: Iterable[tuple[Any, ...]]
    ) -> Iterator[Any]:
        pending: collections.deque[Future[Any]] = collections.deque()
        window = 2 * self.slots
        try:
            for task in tasks:
                if len(pending) >= window:
                    yield _result(pending.popleft())
                with _lost_batches(), interrupts_held():
                    pending.append(self.executor.submit(function, *task))
            while pending:
                yield _result(pending.popleft())
        finally:
            _let_go(self.executor, pending)


#: A batch takes at most this many tasks, and ...
MAX_TASKS_PER_BATCH = 16
#: ... a 1 / (BATCH_SHARE * workers) share of the tasks not yet batched.
BATCH_SHARE = 4


def batch_sizes(tasks: int, workers: int) -> Iterator[int]:
    """How many tasks each batch takes, in order: guided scheduling. Every batch costs the main
    process a submission and an unpickling, and the workers a round trip, all on the cores the
    work shares, so a large run goes in batches of :data:`MAX_TASKS_PER_BATCH`; they shrink as
    the tasks left do, down to single tasks, so that the workers finish together."""
    left = tasks
    while left > 0:
        size = max(1, min(MAX_TASKS_PER_BATCH, left // (BATCH_SHARE * workers)))
        yield size
        left -= size


def guided_batches(items: Iterable[Item], count: int, workers: int) -> Iterator[list[Item]]:
    """``items`` (``count`` of them) in batches of :func:`batch_sizes`, taken as needed."""
    stream = iter(items)
    for size in batch_sizes(count, workers):
        batch = list(itertools.islice(stream, size))
        if not batch:
            return
        yield batch


def submit_in_window(
    executor: Executor,
    function: Callable[[Item, Any], list[Result]],
    batches: Iterable[Item],
    shared: Any,
    window: int,
) -> Iterator[Result]:
    """``function(batch, shared)`` for every batch on ``executor``, at most ``window`` batches
    submitted and not yet taken; the items of each result list as batches finish."""
    pending: set[Future[list[Result]]] = set()
    try:
        for batch in batches:
            if len(pending) >= window:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from _results(done)
            # A submit may start a worker process: not to be cut in the middle (see
            # interrupts_held).
            with _lost_batches(), interrupts_held():  # a Dask scheduler gone: submit fails
                pending.add(executor.submit(function, batch, shared))
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from _results(done)
    finally:
        _let_go(executor, pending)


def _let_go(executor: Executor, pending: Iterable[Future[Any]]) -> None:
    """The futures a stopped loop no longer waits for, and a thread pool's threads."""
    # Not loky's futures: its shutdown(kill_workers=True), which a stopped run calls next,
    # sets an exception on every pending future without minding cancelled ones; its manager
    # thread then died before killing the workers, and the run hung at exit.
    if not type(executor).__module__.startswith("joblib.externals.loky"):
        for future in pending:
            future.cancel()
    if isinstance(executor, ThreadPoolExecutor):
        executor.shutdown(wait=True, cancel_futures=True)


def _result(future: Future[Result]) -> Result:
    with _lost_batches():
        return future.result()


def _results(done: set[Future[list[Result]]]) -> Iterator[Result]:
    for future in done:
        with _lost_batches():
            results = future.result()
        yield from results


@contextlib.contextmanager
def _lost_batches() -> Iterator[None]:
    """Turn a batch lost with its worker into :class:`WorkerLost`, one line; any other error
    (from the batch itself) passes as it is."""
    from joblib.externals.loky.process_executor import BrokenProcessPool

    try:
        yield
    except BrokenProcessPool as exc:
        raise WorkerLost(f"a worker process died ({_cause(exc)}); {RESUME}") from exc
    except CancelledError as exc:
        # The run cancels a future only once it stops waiting for it: Dask cancelled this one.
        raise WorkerLost(f"the Dask cluster cancelled a batch; {RESUME}") from exc
    except Exception as exc:
        why = cluster.lost(exc)
        if why is None:
            raise
        raise WorkerLost(f"{why}; {RESUME}") from exc


def _cause(exc: BaseException) -> str:
    """How the worker ended, as loky reports it (``exit codes {SIGKILL(-9)}``), in a few words."""
    found = re.search(r"exit codes? of the workers? (?:are|is) (\{[^}]*\})", str(exc))
    if found:
        return f"exit codes {found.group(1)}: killed, out of memory, or a crash in a C library"
    return "killed, out of memory, or a crash in a C library"
