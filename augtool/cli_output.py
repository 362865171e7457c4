"""What the command line prints besides results: progress, the run's summary line, the version.

Moved out of :mod:`augtool.cli` so that it stays a list of commands. Colour comes only from
rich's progress bar on a terminal, and rich leaves it out when ``NO_COLOR`` is set.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from typing import Any

import typer

from augtool import __version__
from augtool.errors import EXIT_FAILED


def version_text() -> str:
    """augtool's version and those of the libraries that decide the output bytes (the ones a
    manifest's header names), read from the installed distributions without importing them."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(*names: str) -> str | None:
        for name in names:
            try:
                return version(name)
            except PackageNotFoundError:
                continue
        return None

    lines = [f"augtool {__version__}"]
    lines += [f"numpy {installed('numpy')}", f"pillow {installed('pillow')}"]
    opencv = installed("opencv-python-headless", "opencv-python", "opencv-contrib-python")
    if opencv is not None:
        # cv2.__version__, which the manifest names, is the distribution's without its build
        lines.append(f"opencv {'.'.join(opencv.split('.')[:3])} (with kernels: opencv)")
    lines.append(f"python {platform.python_version()}")
    return "\n".join(lines)


class ProgressPrinter:
    """A rich progress bar on a terminal; otherwise a plain line every few seconds (CI logs)."""

    def __init__(self, every: float = 5.0, what: str = "expanding", unit: str = "sources") -> None:
        self.every = every
        self.what = what
        self.unit = unit
        self.last = time.monotonic()  # the first line comes after `every` seconds (or at the end)
        self.bar: Any = None
        self.task: Any = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            if self.task is None:
                self.bar.start()
                self.task = self.bar.add_task(self.what, total=total)
            self.bar.update(self.task, completed=done)
            return
        now = time.monotonic()
        if now - self.last >= self.every or done == total:
            self.last = now
            typer.echo(f"augtool: {done}/{total} {self.unit}", err=True)

    def close(self) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.stop()


def print_summary(summary: Any, verbose: bool = False) -> None:
    """The summary line (and, with ``verbose``, every count and every unlisted file)."""
    counts = summary.counts
    if summary.dry_run:
        typer.echo(
            f"Plan: {summary.sources} sources ({summary.layout}) -> "
            f"{summary.planned_outputs} files in {summary.output}; would make "
            f"{summary.activity['made']}, keep {summary.activity['kept']}, remove "
            f"{summary.activity['removed']}; nothing written (--dry-run)"
        )
    else:
        activity = summary.activity
        where = ""
        if summary.cluster is not None:
            scheduler = summary.cluster["scheduler"] or "a local cluster"
            workers = summary.cluster["workers"]
            where = f" on Dask ({scheduler}, {workers} worker{'s' if workers != 1 else ''})"
        typer.echo(
            f"{summary.output}: {counts.get('files', 0)} files "
            f"({counts.get('augmented', 0)} augmented, {counts.get('original', 0)} originals); "
            f"made {activity['made']}, kept {activity['kept']}, removed {activity['removed']}; "
            f"skipped inputs: {counts.get('skipped', 0)}; {summary.seconds:.1f} s{where}"
        )
    balance = getattr(summary, "balance", None)
    if balance is not None:
        # per class: examples (or instances) in its augmented split before -> after
        classes = balance["classes"]
        shown = (f"{name}: {c['before']} -> {c['after']}" for name, c in classes.items())
        unit = " (instances)" if balance.get("count") == "instances" else ""
        typer.echo(f"balance{unit}: " + ", ".join(shown))
    for item in summary.skipped:
        typer.echo(f"skipped {item['path']}: {item['reason']}")
    if verbose:
        typer.echo("counts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        for path in summary.unlisted:
            typer.echo(f"unlisted {path}")


def report_run(summary: Any, as_json: bool, quiet: bool, verbose: bool, strict: bool) -> None:
    """What expand and merge print after a run; exit 1 when the run failed."""
    failure = summary.failure(strict=strict)
    if as_json:
        found = summary.as_json()
        if failure is not None:
            found["error"] = {"message": failure, "exit_code": EXIT_FAILED}
        typer.echo(json.dumps(found, indent=2))
    elif not quiet:
        print_summary(summary, verbose)
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if summary.unlisted:
        count = len(summary.unlisted)
        typer.echo(
            f"warning: {summary.output}: {count} file{'s' if count != 1 else ''} augtool did not "
            f"make ({summary.unlisted[0]}{', …' if count > 1 else ''}): left in place, and "
            "validate manifest reports them",
            err=True,
        )
    if failure is not None:
        typer.echo(f"Error: {failure}", err=True)
        raise typer.Exit(EXIT_FAILED)
