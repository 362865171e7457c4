"""The Dask cluster a run's batches go to, with ``--backend dask``.

Where: the scheduler named by Dask's own setting ``scheduler-address`` (the environment variable
``DASK_SCHEDULER_ADDRESS``, or a Dask config file) when there is one; otherwise a local cluster
of ``--jobs`` single-threaded worker processes, started for the run and closed after it.

What a worker must share with the main process, checked before any batch is sent (one line,
naming the worker, when it does not):

- the same versions of augtool and of the libraries the medium's bytes depend on: the
  manifest's header states this process's versions, and the determinism contract holds for
  the same versions only;
- the input folder, readable, and the output folder, writable, at the same absolute paths
  (a shared file system): workers read sources and write outputs themselves, and return small
  records, never pixels.

Batches go through the same :class:`~augtool.run.executors.base.ExecutorPool` as the loky
pool's, so the window, the records and the bytes are the same; only the place where a batch
runs differs. That is why the client's ``concurrent.futures`` executor is used rather than
joblib's Dask backend (``parallel_config("dask")``): joblib's ``Parallel`` is what let finished
results pile up in the main process (see ``executors/base.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from augtool.errors import EXIT_FAILED, AugtoolError

#: Dask's own setting (environment: ``DASK_SCHEDULER_ADDRESS``).
ADDRESS_SETTING = "scheduler-address"
INSTALL_HINT = "pip install 'augtool[dask]'"


class ClusterError(AugtoolError):
    """The Dask cluster cannot run this job: unreachable, no workers, or a worker that differs."""

    exit_code = EXIT_FAILED


def available() -> bool:
    """Whether Dask's distributed scheduler can be imported (checked before anything is
    written; the run imports it anyway)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Needs:
    """What every worker must have for its outputs to be this run's bytes."""

    versions: dict[str, str]  # library -> the version the main process has
    input_root: str  # read by the workers
    output_root: str  # written by the workers


def worker_facts(needs: Needs, versions: Callable[[], dict[str, str]]) -> dict[str, Any]:
    """Run on a worker: its library versions and whether it can reach the two folders."""
    return {
        "versions": versions(),
        "input": os.path.isdir(needs.input_root) and os.access(needs.input_root, os.R_OK | os.X_OK),
        "output": os.path.isdir(needs.output_root) and os.access(needs.output_root, os.W_OK),
    }


def problems(facts: dict[str, dict[str, Any]], needs: Needs) -> list[str]:
    """Why each worker that cannot take part cannot, one phrase each (empty: all can)."""
    found = []
    for worker, fact in sorted(facts.items()):
        differ = [
            f"{name} {fact['versions'].get(name, 'missing')} (here {version})"
            for name, version in needs.versions.items()
            if fact["versions"].get(name) != version
        ]
        if differ:
            found.append(f"worker {worker} has {', '.join(differ)}")
        if not fact["input"]:
            found.append(f"worker {worker} cannot read the input folder {needs.input_root}")
        if not fact["output"]:
            found.append(f"worker {worker} cannot write the output folder {needs.output_root}")
    return found


class Cluster:
    """An open client, and the local cluster it started if it started one."""

    def __init__(self, client: Any, local: Any | None, address: str | None) -> None:
        self.client = client
        self.local = local
        self.address = address  # the configured scheduler; None for a local cluster

    @property
    def workers(self) -> int:
        return len(self.client.nthreads())

    @property
    def slots(self) -> int:
        """How many batches the workers run at once: their threads, all together."""
        return max(1, sum(self.client.nthreads().values()))

    def executor(self) -> Executor:
        # pure=False: every batch is new work, so Dask need not hash its arguments for a key.
        executor: Executor = self.client.get_executor(pure=False)
        return executor

    def check(self, needs: Needs, versions: Callable[[], dict[str, str]]) -> None:
        """Raise :class:`ClusterError` unless every worker has ``needs``."""
        try:
            facts = self.client.run(worker_facts, needs, versions)
        except Exception as exc:  # a worker that cannot even unpickle augtool's function
            raise ClusterError(
                f"Dask {self._where()}: a worker cannot run augtool ({type(exc).__name__}: "
                f"{_one_line(exc)}); install the same augtool on every worker"
            ) from exc
        if not facts:
            raise ClusterError(f"Dask {self._where()}: no workers")
        found = problems(facts, needs)
        if found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise ClusterError(
                f"Dask {self._where()}: {found[0]}{more}; every worker needs the same versions "
                "and the same folders at the same paths"
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.local is not None:
            with contextlib.suppress(Exception):
                self.local.close()

    def _where(self) -> str:
        return "local cluster" if self.address is None else f"scheduler {self.address}"


#: The cluster of the run in progress, so that an interruption can close it from outside.
_open: Cluster | None = None


@contextlib.contextmanager
def connect(jobs: int) -> Iterator[Cluster]:
    """The configured scheduler's client, or a local cluster of ``jobs`` worker processes."""
    global _open
    if not available():
        raise ClusterError(f"--backend dask needs Dask's distributed scheduler: {INSTALL_HINT}")
    import dask
    from distributed import Client, LocalCluster

    address = dask.config.get(ADDRESS_SETTING, None)
    local = None
    try:
        if address:
            # How long to try: Dask's distributed.comm.timeouts.connect (default 30 s).
            client = Client(address, set_as_default=False)
        else:
            local = LocalCluster(
                n_workers=jobs,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",  # this machine's processes only
                dashboard_address=None,
                # The scheduler's HTTP server still starts (for metrics): on a free port, not on
                # 8787, which another cluster may hold (Dask then warns on stderr).
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                # Its workers log heartbeats that fail while the cluster closes (at ERROR, on a
                # loaded machine) as tracebacks; augtool reports what fails a batch itself.
                silence_logs=logging.CRITICAL,
            )
            client = Client(local, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        if local is not None:
            local.close()
        where = f"scheduler {address} ({ADDRESS_SETTING})" if address else "local cluster"
        raise ClusterError(f"Dask {where}: cannot connect: {_one_line(exc)}") from exc
    cluster = Cluster(client, local, address or None)
    _open = cluster
    if address:
        # A scheduler may be up before its workers: wait for one, as long as for a connection.
        wait = dask.config.get("distributed.comm.timeouts.connect")
        try:
            client.wait_for_workers(1, timeout=wait)
        except (OSError, TimeoutError) as exc:
            _open = None
            cluster.close()
            raise ClusterError(f"Dask scheduler {address}: no worker joined within {wait}") from exc
    try:
        yield cluster
    finally:
        _open = None
        cluster.close()


def close_open() -> None:
    """Close the cluster of the run in progress, if any (an interrupted run)."""
    global _open
    if _open is not None:
        cluster, _open = _open, None
        cluster.close()


def lost(exc: BaseException) -> str | None:
    """How the cluster lost a batch, when ``exc`` says it did (``None``: another error, which
    came from the batch itself and is raised as it is)."""
    kind = type(exc)
    if not kind.__module__.startswith("distributed"):
        return None
    return f"the Dask cluster lost a batch ({kind.__name__}: {_one_line(exc)})"


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line, whatever Dask wrote."""
    return " ".join(str(exc).split())
