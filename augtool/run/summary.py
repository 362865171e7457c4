"""What a run did: the summary ``expand`` returns (and prints with ``--json``), counted as
tasks finish, and ``run.json``, its copy with timing and machine facts."""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augtool.atomic import write_atomic
from augtool.manifest import RUN_NAME
from augtool.run.journal import TaskResult
from augtool.run.owned import roles_of


@dataclass
class Summary:
    """What a run did (or, with ``dry_run``, would do)."""

    input: str
    output: str
    layout: str
    sources: int
    planned_outputs: int
    counts: Counter[str] = field(default_factory=Counter)
    #: made, kept and removed files: how this run got there (not part of the manifest).
    activity: Counter[str] = field(default_factory=Counter)
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False
    #: ``--backend dask``: the scheduler (``None``: a local cluster) and how many workers ran
    #: batches; stays ``None`` when no batch went to a cluster (a small job, a no-op rerun).
    cluster: dict[str, Any] | None = None
    #: files in the output that augtool did not make (left in place; validate reports them)
    unlisted: list[str] = field(default_factory=list)
    #: what the run did but may not be what was meant (a flip pair naming no class)
    warnings: list[str] = field(default_factory=list)
    #: sources whose black and white were inferred from their data: path -> [low, high]
    ranges: dict[str, list[float]] = field(default_factory=dict)
    #: input files the run looked at: its sources and those skipped when the input was read
    inputs: int = 0
    #: originals copied as they are that common loaders mishandle: path -> what
    troubles: dict[str, str] = field(default_factory=dict)
    #: per-class counts before and after, when the recipe balances classes
    balance: dict[str, Any] | None = None
    #: outputs a ``copy_paste`` fired in ("fired") and those it pasted nothing in ("empty")
    pastes: Counter[str] = field(default_factory=Counter)
    #: the audio outputs clipped at full scale ("outputs") and the highest peak among them
    clips: dict[str, float] = field(default_factory=dict)

    def failure(self, strict: bool = False) -> str | None:
        """Why the run counts as failed though it ran (exit 1), or ``None``: every input was
        skipped (the output holds nothing), or, with ``strict``, any input was. Names the
        first skipped input and its reason."""
        skips = self.counts.get("skipped", 0)
        if not skips:
            return None
        first = self.skipped[0]
        more = f" (and {skips - 1} more)" if skips > 1 else ""
        why = f"{first['path']}: {first['reason']}{more}"
        if self.inputs and skips >= self.inputs:
            return f"every input was skipped ({skips} of {self.inputs}); {why}"
        if strict:
            return f"--strict: {skips} input{'s' if skips != 1 else ''} skipped; {why}"
        return None

    def as_json(self) -> dict[str, Any]:
        """The summary as plain JSON (what ``expand --json`` prints): paths, layout, planned and
        written counts, files made, kept and removed, skipped inputs with their reasons."""
        found = {
            "input": self.input,
            "output": self.output,
            "layout": self.layout,
            "sources": self.sources,
            "planned_outputs": self.planned_outputs,
            "counts": dict(sorted(self.counts.items())),
            "made": self.activity["made"],
            "kept": self.activity["kept"],
            "removed": self.activity["removed"],
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
            "unlisted": self.unlisted,
            "warnings": self.warnings,
        }
        if self.cluster is not None:
            found["cluster"] = self.cluster
        if self.balance is not None:
            found["balance"] = self.balance
        return found

    def add(self, result: TaskResult) -> None:
        """Count a finished task's records: written files by role, skipped inputs with their
        reasons, and whether its files were made or kept."""
        files = 0
        roles: list[str] = []
        for record in result.records:
            if record["type"] == "skipped":
                self.counts["skipped"] += 1
                self.skipped.append({"path": record["path"], "reason": record["reason"]})
            else:
                files += 1
                roles.append(record["role"])
                scaled = (record.get("decoded") or {}).get("range")
                if scaled is not None:
                    self.ranges[record["source"]["path"]] = scaled
                steps = record.get("steps")
                if steps:
                    self._count_pastes(steps)
                    self._count_clips(steps)
        if files:  # counted once a task (a rerun adds up every source's)
            self.counts["files"] += files
            self.counts.update(roles)
            self.activity["kept" if result.kept else "made"] += files
        self.troubles.update(result.troubles)

    def add_kept(self, files: int, roles: str) -> None:
        """Count a kept task's files, known by role only (:mod:`augtool.run.owned`)."""
        self.counts["files"] += files
        for role, count in roles_of(roles):
            self.counts[role] += count
        self.activity["kept"] += files

    def _count_clips(self, steps: Any) -> None:
        """An audio variant's last record, ``clip``, fired: samples beyond full scale were
        clipped when it was written."""
        last = steps[-1] if steps else {}
        if last.get("name") == "clip" and last.get("fired"):
            self.clips["outputs"] = self.clips.get("outputs", 0) + 1
            self.clips["peak"] = max(self.clips.get("peak", 0.0), float(last["params"]["peak"]))

    def warn_of_clipping(self) -> None:
        """One warning counting the audio outputs clipped at full scale, so that clipping is
        never silent (each one's ``clip`` record counts its samples)."""
        if not self.clips:
            return
        outputs, peak = int(self.clips["outputs"]), self.clips["peak"]
        self.warnings.append(
            f"{outputs} of the {self.counts['augmented']} augmented outputs were clipped at full "
            f"scale (peak {peak:.3g}, {20 * math.log10(peak):+.1f} dBFS); their 'clip' records "
            "count the samples cut: lower the gain or add a normalize step"
        )

    def _count_pastes(self, steps: Any) -> None:
        for step in steps:
            if step.get("name") == "copy_paste" and step.get("fired"):
                self.pastes["fired"] += 1
                self.pastes["empty"] += not step["params"].get("objects")

    def warn_of_empty_pastes(self) -> None:
        """One warning when ``copy_paste`` fired but found no object to paste: the partners'
        labels have no outlines (box-only labels are never pasted), so those outputs hold
        only their source's objects."""
        empty, fired = self.pastes["empty"], self.pastes["fired"]
        if not empty:
            return
        self.warnings.append(
            f"copy_paste pasted nothing in {empty} of the {fired} outputs it fired in: their "
            "partners have no object with an outline (a polygon); box-only labels are never "
            "pasted"
        )

    def warn_of_ranges(self) -> None:
        """One warning naming the sources whose black and white came from their data."""
        if not self.ranges:
            return
        named = [f"{path} ({low:g}-{high:g})" for path, (low, high) in sorted(self.ranges.items())]
        more = f" and {len(named) - 10} more" if len(named) > 10 else ""
        self.warnings.append(
            f"{len(named)} high-bit-depth source(s) were scaled to 8 bits by the range of their "
            f"data, which their format does not state: {', '.join(named[:10])}{more}"
        )

    def warn_of_loaders(self) -> None:
        """One warning naming (a few of) the originals copied as they are in a mode that
        common loaders mishandle, with their count and the setting that fixes them."""
        if not self.troubles:
            return
        named = [f"{path} ({what})" for path, what in sorted(self.troubles.items())]
        more = f" and {len(named) - 5} more" if len(named) > 5 else ""
        self.warnings.append(
            f"{len(named)} original(s) were copied as they are in a mode that common loaders "
            f"mishandle (PIL's convert('RGB') in torchvision's loader): {', '.join(named[:5])}"
            f"{more}; output.originals: normalize writes them as L, RGB or RGBA"
        )


def write_run_json(output_root: Path, summary: Summary, jobs: int, backend: str) -> None:
    """Timing and machine facts, outside the determinism contract (never in the manifest)."""
    info = {**summary.as_json(), "jobs": jobs, "backend": backend, "cpus": os.cpu_count()}
    info.pop("skipped")
    with contextlib.suppress(OSError):
        write_atomic(output_root / RUN_NAME, (json.dumps(info, indent=2) + "\n").encode())
