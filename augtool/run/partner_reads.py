"""A task's partners in the worker: read and hashed once, decoded when a step first takes one.

The plan names each variant's partners (:mod:`augtool.run.partners`); here their bytes (and
their labels, for a labelled layout) are read and hashed (the hashes decide whether earlier
outputs still stand), decoded at most once per task and only when a synthesis step that fired
asks for them, and described in each output's line (``partners``, and ``soft_label`` for a
class-folder output).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augtool.layouts.base import AnnotationError, SourceLabels
from augtool.media.base import DecodeError
from augtool.run.partners import Partner

Record = dict[str, Any]
Reader = Callable[[Path, bool], bytes]


class PartnerUnreadable(Exception):
    """A partner could not be read; the message is the reason its source is skipped for."""


@dataclass(frozen=True)
class _Read:
    data: bytes
    ref: dict[str, str]  # path, sha256, and labels, labels_sha256 when it has labels
    labels: SourceLabels | None


class Partners:
    """The partners of one task's variants (``task.partners``), read and hashed."""

    def __init__(self, task: Any, ctx: Any, read: Reader, source: tuple[bytes, str]) -> None:
        self._task, self._ctx = task, ctx
        self._read: dict[str, _Read] = {}
        self._opened: dict[str, Any] = {}
        self.shas: dict[str, str] = {}
        for partner in {p.path: p for ps in task.partners for p in ps}.values():
            path = partner.path
            if path == task.source.path:
                data, sha = source
            else:
                data = _reading(read, Path(ctx.input_root) / path, partner.source.link, path)
                sha = hashlib.sha256(data).hexdigest()
            ref = {"path": path, "sha256": sha}
            labels = self._labels(partner, read, ref)
            self._read[path] = _Read(data, ref, labels)
            self.shas[path] = sha

    def _labels(self, partner: Partner, read: Reader, ref: dict[str, str]) -> SourceLabels | None:
        """The partner's labels as its own task reads them (its payload or label file; no
        objects for an image without a label file), and their hash into ``ref``."""
        if self._ctx.rules is None:
            return None
        annotation = partner.source.annotation
        if partner.payload is not None:
            labels = SourceLabels(f"{annotation}: {partner.path}", payload=partner.payload)
            sha = labels.payload_sha256
        elif annotation is not None:
            data = _reading(read, Path(self._ctx.input_root) / annotation, False, annotation)
            labels, sha = SourceLabels(annotation, data=data), hashlib.sha256(data).hexdigest()
        else:
            return SourceLabels(partner.path, data=b"")
        ref.update({"labels": str(annotation), "labels_sha256": str(sha)})
        return labels

    def planned(self) -> dict[str, list[dict[str, str]]]:
        """The ``partners`` field each variant's line must hold (by the variant's path; empty
        when the recipe has no synthesis step)."""
        if not self._task.partners:
            return {}
        return {
            path: [self._read[p.path].ref for p in partners]
            for path, partners in zip(self._task.variants, self._task.partners, strict=True)
        }

    def of(self, variant: int) -> Taken:
        """What variant ``variant`` takes (nothing when the recipe has no synthesis step)."""
        if not self._task.partners:
            return Taken((), [])
        partners = self._task.partners[variant]
        refs = [self._read[p.path].ref for p in partners]
        return Taken(_Opened(self, partners), refs, partners)

    def opened(self, partner: Partner) -> Any:
        """The partner decoded, with its labels (made once per task); raises ``DecodeError``
        naming it."""
        found = self._opened.get(partner.path)
        if found is None:
            from augtool.run.derive import open_source

            ctx, read = self._ctx, self._read[partner.path]
            try:
                found = open_source(
                    read.data, ctx.limits, ctx.kernels, read.labels, ctx.rules, partner.path
                )
            except (DecodeError, AnnotationError) as exc:
                raise DecodeError(f"its partner {partner.path}: {exc}") from None
            self._opened[partner.path] = found
        return found


def _reading(read: Reader, path: Path, follow: bool, name: str) -> bytes:
    try:
        return read(path, follow)
    except OSError as exc:
        raise PartnerUnreadable(f"cannot read its partner {name}: {exc.strerror or exc}") from None


class _Opened(Sequence[Any]):
    """A variant's partners, opened when a step first indexes one."""

    def __init__(self, owner: Partners, partners: Sequence[Partner]) -> None:
        self._owner, self._partners = owner, partners

    def __len__(self) -> int:
        return len(self._partners)

    def __getitem__(self, index: Any) -> Any:
        return self._owner.opened(self._partners[index])


@dataclass(frozen=True)
class Taken:
    """One variant's partners: opened (lazily), and their path and sha256."""

    opened: Sequence[Any]
    refs: list[dict[str, str]]
    partners: Sequence[Partner] = ()

    def fields(self, source: Any, steps: list[Record], medium: Any) -> Record:
        """The line's ``partners``, and ``soft_label`` when the source and its partners have
        classes (each class's share of the output, by the medium's ``shares`` hook)."""
        if not self.refs:
            return {}
        found: Record = {"partners": self.refs}
        shares = getattr(medium, "shares", None)
        classes = [source.label, *(p.source.label for p in self.partners)]
        if shares is not None and None not in classes:
            soft: dict[str, float] = {}
            for label, share in zip(classes, shares(steps, len(self.partners)), strict=True):
                soft[label] = soft.get(label, 0.0) + share
            found["soft_label"] = {k: round(v, 6) for k, v in sorted(soft.items())}
        return found


__all__ = ["PartnerUnreadable", "Partners", "Taken"]
