"""Batches of work on joblib's process pool (loky) or on threads, with a bounded window.

At most ``window`` batches are in flight or finished-but-unread at any time: the next batch is
submitted only when the caller has taken a result. joblib's ``Parallel`` dispatches a new batch
whenever one *completes*, however far behind the caller is, so on a fast pool its finished
results pile up in the main process (measured: 46 MiB of them at 20,000 small sources). Here
the main process's memory stays bounded by the window, whatever the dataset size.

Results come back in completion order: a slow batch never holds back the others. The caller
must not depend on that order (the engine journals results and sorts the manifest).

The loop needs only a ``concurrent.futures.Executor``: loky's reusable executor (the one joblib
uses) for processes, a thread pool for ``threading``, or the one a Dask client hands out
(``augtool/run/dask_cluster.py``), with the same window and the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
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
from augtool.run import dask_cluster

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Idle loky workers exit after this many seconds (joblib's own default is 300).
IDLE_SECONDS = 300


RESUME = "finished work is kept, run the same command again to resume"


class WorkerLost(AugtoolError):
    """A worker process died mid-batch (killed, out of memory, a crash in a C library)."""

    exit_code = EXIT_FAILED


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
    with _interrupts_held():
        executor = executor or _executor(backend, jobs)
    pending: set[Future[list[Result]]] = set()
    try:
        for batch in batches:
            if len(pending) >= window:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from _results(done)
            # A submit may start a worker process: not to be cut in the middle (see below).
            with _lost_batches(), _interrupts_held():  # a Dask scheduler gone: submit fails
                pending.add(executor.submit(function, batch, shared))
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from _results(done)
    finally:
        # Not loky's futures: its shutdown(kill_workers=True), which a stopped run calls next,
        # sets an exception on every pending future without minding cancelled ones; its manager
        # thread then died before killing the workers, and the run hung at exit.
        if not type(executor).__module__.startswith("joblib.externals.loky"):
            for future in pending:
                future.cancel()
        if isinstance(executor, ThreadPoolExecutor):
            executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block is done, then deliver them as they would have
    been (Ctrl-C raises ``KeyboardInterrupt``, as does SIGTERM under the CLI).

    loky starts its worker processes inside ``submit``; interrupted there, it was left with a
    half-started worker (which printed a traceback) and raised an ``UnboundLocalError`` from its
    clean-up in place of the interrupt: a traceback and exit 1 instead of exit 130. Measured by
    sending SIGINT at 0 to 0.8 s after a run's journal appeared: the 0.1 s case failed so.

    The two signals are also blocked in this thread's signal mask, which a process (or thread)
    started here inherits, across exec: loky's workers and its manager thread (which replaces a
    worker that timed out or died) are born with them blocked and never react to them. A Ctrl-C
    at a terminal goes to the whole process group; a worker still importing numpy raised
    ``KeyboardInterrupt`` and printed a 20 to 60 line traceback beside the run's one line (10
    runs of 10 interrupted 0.8 s after start at ``--jobs 2``). The main process handles the
    interrupt and kills its workers (:func:`stop_workers`, with SIGKILL, which no mask holds).
    A blocked signal stays pending: unblocked at the end of the block, it comes to the main
    process as it would have.

    Only the main thread receives Python's signal handlers, so elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        held.append(signum)

    numbers = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, hold) for number in numbers}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, numbers)
    try:
        yield
    finally:
        # Unblocked while ``hold`` is still there: a signal that waited runs it now.
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(held):  # each signal once, in the order it came
            handler = previous[number]
            if callable(handler):
                handler(number, None)
            elif handler != signal.SIG_IGN:  # the default action (None: set outside Python)
                os.kill(os.getpid(), number)


#: An interrupt came during the run: set by :func:`_interrupt` (and by the hook for dropped
#: exceptions) within :func:`interrupts_stop_the_run`, which clears it on the way out.
_interrupted = False


def _interrupt(signum: int, frame: Any) -> None:
    """SIGINT and SIGTERM during a run: note that one came, then raise ``KeyboardInterrupt``.

    Python drops an exception raised where it cannot propagate: in a weakref callback (the
    import system's module-lock callback, ``Exception ignored in: <function
    _get_module_lock.<locals>.cb …>``), in a ``__del__``. A Ctrl-C landing there was lost,
    and the run went on to write its manifest and exit 0 (1 run in about 150 interrupted 0.25
    to 0.7 s after start); the note lets the run stop at its next safe point."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if an interrupt came (its own may have been dropped)."""
    if _interrupted:
        raise KeyboardInterrupt


def interrupt_came() -> bool:
    """Whether an interrupt came in :func:`interrupts_stop_the_run` (raised or dropped)."""
    return _interrupted


@contextlib.contextmanager
def interrupts_stop_the_run() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM (a CI timeout, ``kill``) both raise
    ``KeyboardInterrupt``, so a run stops the same way for either (workers stopped, finished
    work journaled, exit 130), and are noted for :func:`raise_if_interrupted`. A
    ``KeyboardInterrupt`` that Python drops is not printed (``Exception ignored in …``): the
    run says it was interrupted, in one line. The handlers and the hook are put back after
    the block (the CLI's ``expand`` runs in it)."""
    global _interrupted
    _interrupted = False
    hook = sys.unraisablehook

    def unraisable(info: Any) -> None:
        global _interrupted
        if isinstance(info.exc_value, KeyboardInterrupt):
            _interrupted = True
            return
        hook(info)

    numbers = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, _interrupt) for number in numbers}
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        _interrupted = False  # for the next run in this process
        sys.unraisablehook = hook
        for number, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(number, handler)


def stop_workers() -> None:
    """Kill the process pool's workers now, if a pool was started, and close a Dask cluster the
    run opened: an interrupted run must leave no process behind."""
    dask_cluster.close_open()
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
    executor.shutdown(wait=True, kill_workers=True)


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, if it is not running, rather than inside
    :func:`_interrupts_held`: loky starts it with the first worker, and the standard library
    unblocks SIGINT and SIGTERM after starting it (``SIG_UNBLOCK``, not the mask it found), so
    the workers started after it in the same block were born without the mask."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


def _executor(backend: str, jobs: int) -> Executor:
    if backend == "threading":
        return ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="augtool")
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=jobs, timeout=IDLE_SECONDS)


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
        why = dask_cluster.lost(exc)
        if why is None:
            raise
        raise WorkerLost(f"{why}; {RESUME}") from exc


def _cause(exc: BaseException) -> str:
    """How the worker ended, as loky reports it (``exit codes {SIGKILL(-9)}``), in a few words."""
    found = re.search(r"exit codes? of the workers? (?:are|is) (\{[^}]*\})", str(exc))
    if found:
        return f"exit codes {found.group(1)}: killed, out of memory, or a crash in a C library"
    return "killed, out of memory, or a crash in a C library"
