"""``--backend dask``: the same bytes on a local cluster and on a configured scheduler, checked
workers, and one-line errors when the cluster cannot do the job.

Dask is in the ``[test]`` extra, so these run (not skip) wherever the README's test command ran.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT, SAMPLES, expand_argv, expand_process, write_images
from contract import tree
from processes import children_of, wait_gone

pytest.importorskip("distributed")

from distributed import Client

from augtool.errors import EXIT_FAILED
from augtool.manifest import JOURNAL_NAME
from augtool.run.executors import WorkerLost
from augtool.run.executors import cluster as dask_cluster
from augtool.run.executors.local import run_batches

RECIPE = ROOT / "configs" / "quickstart.yaml"


def environment(**extra: str) -> dict[str, str]:
    """This environment without a configured scheduler, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    return {**env, **extra}


def expand(out: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The quickstart job on the samples; no configured scheduler unless ``env`` names one."""
    return expand_process(RECIPE, SAMPLES, out, *args, env=env or environment(), expect=None)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("ref") / "out"
    done = expand(out, "--quiet", "--backend", "sequential")
    assert done.returncode == 0, done.stderr
    return tree(out)


@contextlib.contextmanager
def cluster(
    folder: Path,
    worker_site: str | None = None,
    workers: int = 1,
    nannies: list[int] | None = None,
) -> Iterator[str]:
    """A scheduler and ``workers`` single-threaded workers in their own processes, as on a
    cluster; each worker runs ``worker_site`` as its ``sitecustomize`` (to make it differ).
    ``nannies`` receives the process id of each worker's nanny (the worker is its child)."""
    address_file = folder / "scheduler.json"
    common = ["--no-dashboard", "--scheduler-file", str(address_file)]
    env = environment(PYTHONWARNINGS="ignore")
    worker_env = dict(env)
    if worker_site is not None:
        (folder / "site").mkdir(parents=True)
        (folder / "site" / "sitecustomize.py").write_text(worker_site)
        worker_env["PYTHONPATH"] = str(folder / "site")
    run = [sys.executable, "-m"]
    worker = [*run, "distributed.cli.dask_worker", "--nthreads", "1", *common]
    commands = [
        ([*run, "distributed.cli.dask_scheduler", "--port", "0", *common], env),
        *[(worker, worker_env)] * workers,
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command, command_env in commands:
            processes.append(
                subprocess.Popen(
                    command,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=command_env,
                    cwd=folder,
                )
            )
            deadline = time.monotonic() + 60
            while not address_file.exists() or not address_file.read_text().strip():
                assert time.monotonic() < deadline, "the scheduler did not start"
                time.sleep(0.1)
        if nannies is not None:
            nannies[:] = [proc.pid for proc in processes[1:]]
        yield json.loads(address_file.read_text())["address"]
    finally:
        for proc in reversed(processes):
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with cluster(tmp_path_factory.mktemp("dask")) as address:
        yield address


def test_a_local_cluster_writes_the_same_bytes(tmp_path: Path, reference: dict[str, str]) -> None:
    out = tmp_path / "out"
    done = expand(out, "--json", "--quiet", "--jobs", "2", "--backend", "dask")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cluster"] == {"scheduler": None, "workers": 2}
    assert tree(out) == reference
    assert json.loads((out / "run.json").read_text())["cluster"]["workers"] == 2


def test_the_configured_scheduler_runs_the_batches(
    tmp_path: Path, reference: dict[str, str], scheduler: str
) -> None:
    out = tmp_path / "out"
    env = environment(DASK_SCHEDULER_ADDRESS=scheduler)
    # --jobs 1 (a one-core CI runner's default) still sends the batches to the cluster.
    done = expand(out, "--json", "--quiet", "--jobs", "1", "--backend", "dask", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cluster"] == {"scheduler": scheduler, "workers": 1}
    assert tree(out) == reference
    again = expand(out, "--force", "--backend", "dask", env=env)  # the plain summary line
    assert again.returncode == 0, again.stderr
    assert again.stdout.rstrip().endswith(f" s on Dask ({scheduler}, 1 worker)")


def test_a_worker_with_another_numpy_is_named_before_any_work(tmp_path: Path) -> None:
    other = "import numpy\nnumpy.__version__ = '0.0.1'\n"  # what another install would report
    with cluster(tmp_path / "dask", worker_site=other) as address:
        env = environment(DASK_SCHEDULER_ADDRESS=address)
        done = expand(tmp_path / "out", "--quiet", "--backend", "dask", env=env)
    assert done.returncode == EXIT_FAILED
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Error: Dask scheduler {address}: worker tcp://")
    assert f"has numpy 0.0.1 (here {np.__version__}); every worker needs" in lines[0]
    assert not list((tmp_path / "out").rglob("*__v*.jpg")), "no variant may be made"


def test_a_small_job_runs_here_and_opens_no_cluster(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for path in sorted(SAMPLES.glob("train/cat/*.jpg"))[:3]:
        (source / path.name).write_bytes(path.read_bytes())
    done = expand_process(
        *(RECIPE, source, tmp_path / "out", "--json", "--backend", "dask"),
        env=environment(DASK_SCHEDULER_ADDRESS="tcp://127.0.0.1:9"),  # never contacted
    )
    assert "cluster" not in json.loads(done.stdout)


def test_an_unreachable_scheduler_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = environment(
        DASK_SCHEDULER_ADDRESS="tcp://127.0.0.1:9",  # the discard port: nothing listens
        DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s",
    )
    done = expand(tmp_path / "out", "--quiet", "--backend", "dask", env=env)
    assert done.returncode == EXIT_FAILED
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: Dask scheduler tcp://127.0.0.1:9 (scheduler-address)")
    assert "cannot connect" in lines[0]
    assert not list((tmp_path / "out").rglob("*.jpg")), "nothing is made without workers"


def test_without_dask_installed_the_backend_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = (
        "import sys; sys.modules['distributed'] = None; "  # what an uninstalled package does
        "from augtool.cli import main; sys.argv[0] = 'augtool'; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "expand", str(RECIPE), str(SAMPLES), "-o", str(out),
         "--backend", "dask"],
        capture_output=True, text=True, env=environment(),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Error: --backend dask needs Dask's distributed scheduler: pip install 'augtool[dask]'"
    )
    assert not out.exists()


@pytest.mark.slow
def test_an_interrupted_dask_run_leaves_no_process_and_resumes(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    write_images(source, {f"img_{i:04d}.jpg": i for i in range(160)}, (96, 96))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "version: 1\nseed: 3\nvariants: 3\npipeline:\n"
        "  - rotate: {limit: 20, border: reflect}\n  - gaussian_blur: {sigma: [0.5, 1.0]}\n"
    )

    def command(out: Path) -> list[str]:
        return expand_argv(recipe, source, out, "--quiet", "--jobs", "2", "--backend", "dask")

    out = tmp_path / "out"
    proc = subprocess.Popen(
        command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment()
    )
    journal = out / JOURNAL_NAME
    deadline = time.monotonic() + 60
    while not (journal.exists() and journal.read_bytes().count(b"\n") >= 10):
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "no progress within 60 s"
        time.sleep(0.02)
    everyone = children_of(proc.pid)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.decode().strip().splitlines()[-1].startswith("Interrupted: finished work is kept")
    assert wait_gone(everyone, 30) == set(), "cluster processes outlived the run"
    assert not list(out.rglob(".augtool-tmp-*")), "a temp file was left behind"
    resumed = subprocess.run(command(out), env=environment(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr == ""
    clean = tmp_path / "clean"
    assert subprocess.run([*command(clean)[:-1], "sequential"]).returncode == 0
    assert tree(out) == tree(clean)


def batches_of_dead_workers(client: Client) -> list[object]:
    """The batches that workers which left without being asked to (killed) were running or
    holding when they went, from the scheduler's ``remove-worker`` events: the work Dask had to
    run again elsewhere."""
    return [
        key
        for _, event in client.get_events("all")
        if event.get("action") == "remove-worker" and not event.get("expected")
        for key in event.get("processing-tasks", ())
    ]


def kill_while_busy(client: Client, nanny: int, proc: subprocess.Popen) -> None:
    """SIGKILL the worker process under ``nanny`` (as the kernel's OOM killer would: no warning,
    no cleanup) once the scheduler has given it a batch. Stopped first, so that it cannot finish
    the batch between the look and the kill; let go again when it holds none yet."""
    deadline = time.monotonic() + 120
    address = None
    while True:
        assert proc.poll() is None, "the run ended before a worker could be killed"
        assert time.monotonic() < deadline, "the worker got no batch within 120 s"
        victims = children_of(nanny)
        if address is None:
            pids = client.run(os.getpid)
            address = next((a for a, pid in pids.items() if pid in victims), None)
        if address is not None:
            for pid in victims:
                os.kill(pid, signal.SIGSTOP)
            if client.processing([address]).get(address):
                for pid in victims:
                    os.kill(pid, signal.SIGKILL)
                return
            for pid in victims:
                os.kill(pid, signal.SIGCONT)
        time.sleep(0.02)


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_no_work_and_changes_no_byte(tmp_path: Path) -> None:
    source = tmp_path / "in"
    write_images(source, {f"img_{i:04d}.jpg": i for i in range(160)}, (96, 96))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "version: 1\nseed: 3\nvariants: 3\npipeline:\n"
        "  - rotate: {limit: 20, border: reflect}\n  - gaussian_blur: {sigma: [0.5, 1.0]}\n"
    )
    out = tmp_path / "out"
    nannies: list[int] = []
    (tmp_path / "dask").mkdir()
    with cluster(tmp_path / "dask", workers=2, nannies=nannies) as address:
        env = environment(DASK_SCHEDULER_ADDRESS=address)
        command = expand_argv(recipe, source, out, "--quiet", "--backend", "dask")
        with Client(address, timeout="60s") as client:
            proc = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
            )
            journal = out / JOURNAL_NAME
            deadline = time.monotonic() + 120
            while not (journal.exists() and journal.read_bytes().count(b"\n") >= 5):
                assert proc.poll() is None, "the run ended before a worker could be killed"
                assert time.monotonic() < deadline, "no progress within 120 s"
                time.sleep(0.02)
            kill_while_busy(client, nannies[0], proc)
            _, stderr = proc.communicate(timeout=300)
            lost = batches_of_dead_workers(client)
    assert proc.returncode == 0, stderr
    assert lost, "the killed worker held no batch: nothing was run again"
    clean = tmp_path / "clean"
    sequential = [*command[:-1], "sequential"]
    sequential[sequential.index(str(out))] = str(clean)
    assert subprocess.run(sequential, env=environment()).returncode == 0
    assert tree(out) == tree(clean)


NEEDS = dask_cluster.Needs({"augtool": "1.0", "pillow": "13.0.0"}, "/data/in", "/data/out")


def test_every_worker_that_differs_is_named() -> None:
    good = {"versions": {"augtool": "1.0", "pillow": "13.0.0"}, "input": True, "output": True}
    facts = {
        "tcp://a:1": good,
        "tcp://b:1": {**good, "versions": {"augtool": "1.0", "pillow": "12.3.0"}},
        "tcp://c:1": {**good, "input": False, "output": False},
    }
    assert dask_cluster.problems(facts, NEEDS) == [
        "worker tcp://b:1 has pillow 12.3.0 (here 13.0.0)",
        "worker tcp://c:1 cannot read the input folder /data/in",
        "worker tcp://c:1 cannot write the output folder /data/out",
    ]
    assert dask_cluster.problems({"tcp://a:1": good}, NEEDS) == []


def test_a_worker_without_a_library_is_named() -> None:
    facts = {"tcp://a:1": {"versions": {"augtool": "1.0"}, "input": True, "output": True}}
    assert dask_cluster.problems(facts, NEEDS) == [
        "worker tcp://a:1 has pillow missing (here 13.0.0)"
    ]


def lose_the_batch(batch: list[int], shared: int) -> list[int]:
    from distributed.scheduler import KilledWorker

    worker = SimpleNamespace(address="tcp://127.0.0.1:4000")
    raise KilledWorker("process_tasks-1", worker, 3)


def fail_the_batch(batch: list[int], shared: int) -> list[int]:
    raise ValueError("a bug, not a lost worker")


def test_a_batch_the_cluster_lost_is_a_lost_worker_and_other_errors_pass_through() -> None:
    with pytest.raises(WorkerLost) as caught:
        list(run_batches(lose_the_batch, [[1]], 0, jobs=1, backend="threading"))
    message = str(caught.value)
    assert message.startswith("the Dask cluster lost a batch (KilledWorker: Attempted to run")
    assert "tcp://127.0.0.1:4000" in message
    assert "\n" not in message
    assert str(caught.value).endswith("run the same command again to resume")
    with pytest.raises(ValueError, match="a bug"):
        list(run_batches(fail_the_batch, [[1]], 0, jobs=1, backend="threading"))
