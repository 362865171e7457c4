"""Ctrl-C from the command's first line: one line on stderr and exit 130, never a traceback.

Real subprocesses: signal handlers and exit codes belong to the process. What runs before
augtool's first line (the interpreter's start-up, ``site``, the console script's ``import re``)
is Python's; everything from :func:`augtool.entry.main` on is tested here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomllib

from augtool.errors import INTERRUPTED

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ["expand", str(ROOT / "configs" / "quickstart.yaml"), "--dry-run", "-j", "1"]

# A Ctrl-C exactly while ``module`` is being imported (the import system asks every finder on
# sys.meta_path first), then the command as ``python -m augtool`` runs it.
DURING_IMPORT = """\
import os, runpy, signal, sys

module = sys.argv[1]

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv = ["augtool", *sys.argv[2:]]
runpy.run_module("augtool", run_name="__main__", alter_sys=True)
"""

# The entry point, split where its handlers are in place, to say so on the pipe argv[1].
ANNOUNCED = """\
import os, sys
from augtool import entry
entry.install()
os.write(int(sys.argv[1]), b"!")
os.close(int(sys.argv[1]))
sys.argv = ["augtool", *sys.argv[2:]]
entry.run()
"""


def test_the_command_and_python_m_start_at_the_entry_point() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"augtool": "augtool.entry:main"}
    assert "from augtool.entry import main" in (ROOT / "augtool" / "__main__.py").read_text()


@pytest.mark.parametrize(
    "module",
    [
        "typer",
        "typer.main",
        "augtool.cli",
        "augtool.api",
        "augtool.run.executors.interrupts",
        "augtool.run.engine",
        "numpy",
        "PIL",
    ],
)
def test_ctrl_c_during_the_imports_is_one_line_and_130(tmp_path: Path, module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", DURING_IMPORT, module, *COMMAND, "-o", str(tmp_path / "out")],
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 130, done.stderr.decode()
    assert done.stderr.decode() == f"{INTERRUPTED}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("delay_ms", [0, 10, 30, 60, 120])
def test_ctrl_c_early_in_expand_is_one_line_and_130(tmp_path: Path, delay_ms: int) -> None:
    read, write = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-c", ANNOUNCED, str(write), *COMMAND, "-o", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(write,),
        cwd=tmp_path,
    )
    os.close(write)
    try:
        assert os.read(read, 1) == b"!", "the entry point did not start"
        time.sleep(delay_ms / 1000)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=120)
    finally:
        os.close(read)
        if child.poll() is None:
            child.kill()
            child.communicate()
    lines = stderr.decode().splitlines()
    # A run that finished before the signal came is fine too; this machine may be that fast.
    assert (child.returncode, len(lines)) in ((130, 1), (0, 0)), stderr.decode()
    if child.returncode == 130:
        assert lines == [INTERRUPTED]


# The command interrupted while a thread it does not own is stuck (as loky's manager thread,
# writing to workers that were killed): Python would join that thread at exit, for ever.
STUCK_THREAD = """\
import sys, threading
from augtool import entry

def run():
    threading.Thread(target=threading.Event().wait, name="stuck").start()
    sys.exit(130)

entry.run = run
entry.STRAGGLER_SECONDS = 0.5
entry.main()
"""


def test_an_interrupted_command_exits_without_a_stuck_thread() -> None:
    # Without the exit, the child never ends and the timeout fails the test.
    child = subprocess.run([sys.executable, "-c", STUCK_THREAD], capture_output=True, timeout=60)
    assert child.returncode == 130, child.stderr
