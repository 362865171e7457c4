"""The bounded pool: every result once, never more than the window ahead of the caller, and a
lost worker reported as a one-line error."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import expand, write_images

from augtool.errors import EXIT_FAILED
from augtool.run.executors import WorkerLost, stop_workers
from augtool.run.executors.base import MAX_TASKS_PER_BATCH, batch_sizes, guided_batches
from augtool.run.executors.local import run_batches


def double(batch: list[int], shared: int) -> list[int]:
    return [shared * x for x in batch]


def die_on_three(batch: list[int], shared: int) -> list[int]:
    if 3 in batch:
        os.kill(os.getpid(), signal.SIGKILL)
    return batch


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_every_result_comes_back_once(backend: str) -> None:
    batches = [list(range(i, i + 3)) for i in range(0, 60, 3)]
    found = list(run_batches(double, batches, 2, jobs=2, backend=backend))
    assert sorted(found) == [2 * x for x in range(60)]


@pytest.mark.parametrize("window", [1, 2, 4])
def test_never_more_than_the_window_ahead_of_a_slow_caller(window: int) -> None:
    pulled = 0
    lock = threading.Lock()

    def batches() -> Iterator[list[int]]:
        nonlocal pulled
        for i in range(40):
            with lock:
                pulled += 1
            yield [i]

    taken = 0
    ahead = []
    for _ in run_batches(double, batches(), 1, jobs=2, backend="threading", window=window):
        taken += 1  # one item a batch: a result taken is a batch taken
        time.sleep(0.002)  # a caller slower than the workers
        with lock:
            ahead.append(pulled - taken)
    assert taken == 40
    # The batch pulled to replace the one just taken is the only one allowed past the window.
    assert max(ahead) <= window


def test_a_worker_killed_mid_batch_is_a_one_line_error_with_exit_1() -> None:
    batches = [[i] for i in range(8)]
    with pytest.raises(WorkerLost) as caught:
        list(run_batches(die_on_three, batches, 0, jobs=2, backend="loky"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("a worker process died (")
    assert "SIGKILL" in message
    assert "run the same command again to resume" in message
    assert caught.value.exit_code == EXIT_FAILED
    # The pool comes back for the next run.
    assert sorted(run_batches(double, batches, 1, jobs=2, backend="loky")) == list(range(8))


class InterruptedSubmit(ThreadPoolExecutor):
    """An executor whose submit is interrupted (SIGINT to this process) half-way, as loky's is
    while it starts a worker process."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        # To the main thread itself: sent to the process, the signal can be taken by another
        # thread (one an earlier test left), whose handler may run only after the block.
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        time.sleep(0.01)  # where the interrupt would land without the hold
        future = super().submit(fn, *args, **kwargs)
        self.submitted += 1
        return future


def test_an_interrupt_waits_until_the_submit_is_done() -> None:
    executor = InterruptedSubmit()
    with pytest.raises(KeyboardInterrupt):
        list(run_batches(double, [[1], [2]], 1, jobs=1, backend="threading", executor=executor))
    assert executor.submitted == 1  # the first submit finished; the interrupt came after it
    executor.shutdown(wait=True)


def test_a_held_sigterm_goes_to_its_handler_after_the_block() -> None:
    from augtool.run.executors.interrupts import interrupts_held as _interrupts_held

    seen: list[tuple[int, float]] = []
    previous = signal.signal(signal.SIGTERM, lambda n, f: seen.append((n, time.monotonic())))
    try:
        with _interrupts_held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.01)
            inside = time.monotonic()
            assert seen == []
        assert [n for n, _ in seen] == [signal.SIGTERM]
        assert seen[0][1] > inside
    finally:
        signal.signal(signal.SIGTERM, previous)


def slow(batch: list[int], shared: int) -> list[int]:
    time.sleep(0.3)
    return batch


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def test_a_loky_run_stopped_midway_leaves_no_worker_behind() -> None:
    """What an interrupted run does: leave the loop, then kill the pool. loky's shutdown sets
    an exception on every future still pending without minding cancelled ones, so a run that
    cancelled them first killed loky's manager thread, left its workers running and hung at
    exit (seen in CI)."""
    from processes import alive, children_of

    results = run_batches(slow, [[i] for i in range(16)], 0, jobs=2, backend="loky", window=16)
    next(results)  # batches are running, others wait in loky's queue
    workers = {pid for pid in children_of(os.getpid()) if "LokyProcess" in cmdline(pid)}
    assert len(workers) == 2
    with pytest.raises(KeyboardInterrupt):
        results.throw(KeyboardInterrupt)
    stop_workers()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)], "workers outlived the stopped run"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_python_drops_is_noted_once_and_not_printed(
    signum: int, capsys: pytest.CaptureFixture[str]
) -> None:
    from processes import drop_an_interrupt

    from augtool.run.executors.interrupts import interrupts_stop_the_run, raise_if_interrupted

    before = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    with interrupts_stop_the_run():
        raise_if_interrupted()  # nothing came yet
        drop_an_interrupt(signum)
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    assert capsys.readouterr().err == ""
    assert {n: signal.getsignal(n) for n in before} == before


@pytest.mark.parametrize(("tasks", "workers"), [(1, 2), (7, 2), (200, 2), (2000, 2), (5000, 8)])
def test_batches_are_large_while_much_is_left_and_single_at_the_end(
    tasks: int, workers: int
) -> None:
    sizes = list(batch_sizes(tasks, workers))
    assert sum(sizes) == tasks
    assert all(1 <= size <= MAX_TASKS_PER_BATCH for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    # The last batch of each worker is one task: the workers finish together.
    assert sizes[-min(workers, len(sizes)) :] == [1] * min(workers, len(sizes))
    if tasks >= 2000:
        # A large run: most of it in the largest batches, a few round trips.
        assert sizes[0] == MAX_TASKS_PER_BATCH
        assert len(sizes) < tasks / 10


def test_guided_batches_hand_out_every_item_once_in_order() -> None:
    batches = list(guided_batches(iter(range(500)), 500, 2))
    assert [x for batch in batches for x in batch] == list(range(500))
    assert [len(batch) for batch in batches] == list(batch_sizes(500, 2))


def test_a_pool_run_sends_few_large_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import augtool.run.engine

    source = write_images(tmp_path / "in", {f"img_{i:03d}.jpg": i for i in range(400)}, (16, 16))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("version: 1\nseed: 1\nvariants: 1\npipeline:\n  - hflip: {p: 0.5}\n")
    real = augtool.run.engine.process_tasks
    sizes: list[int] = []

    def counting(batch: list[Any], shared: Any) -> Any:
        sizes.append(len(batch))
        return real(batch, shared)

    monkeypatch.setattr(augtool.run.engine, "process_tasks", counting)
    out = expand(recipe, source, tmp_path / "out", "--jobs", "2", "--backend", "threading")
    assert sorted(sizes, reverse=True) == list(batch_sizes(400, 2))
    assert len(sizes) < 400 / 4 / 2  # half the round trips of batches of 4, or fewer
    assert len(list(out.glob("img_*"))) == 400 * 2  # each source's variant and original
