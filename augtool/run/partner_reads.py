"""A task's partners in the worker: read and hashed once, decoded when a step first takes one.

The plan names each variant's partners (:mod:`augtool.run.partners`); here their bytes are read
and hashed (the hashes decide whether earlier outputs still stand), decoded at most once per
task and only when a synthesis step that fired asks for their pixels, and described in each
output's line (``partners``, and ``soft_label`` for a class-folder output).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augtool.media.base import DecodeError
from augtool.run.partners import Partner

Record = dict[str, Any]
Reader = Callable[[Path, bool], bytes]


class PartnerUnreadable(Exception):
    """A partner could not be read; the message is the reason its source is skipped for."""


class Partners:
    """The partners of one task's variants (``task.partners``), read and hashed."""

    def __init__(self, task: Any, ctx: Any, read: Reader, source: tuple[bytes, str]) -> None:
        self._task, self._ctx = task, ctx
        self._data: dict[str, bytes] = {}
        self.shas: dict[str, str] = {}
        self._decoded: dict[str, Any] = {}
        for partner in dict.fromkeys(p for ps in task.partners for p in ps):
            if partner.path == task.source.path:
                data, sha = source
            else:
                try:
                    data = read(Path(ctx.input_root) / partner.path, partner.link)
                except OSError as exc:
                    raise PartnerUnreadable(
                        f"cannot read its partner {partner.path}: {exc.strerror or exc}"
                    ) from None
                sha = hashlib.sha256(data).hexdigest()
            self._data[partner.path], self.shas[partner.path] = data, sha

    def planned(self) -> dict[str, list[dict[str, str]]]:
        """The ``partners`` field each variant's line must hold (by the variant's path; empty
        when the recipe has no synthesis step)."""
        if not self._task.partners:
            return {}
        return {
            path: self._refs(partners)
            for path, partners in zip(self._task.variants, self._task.partners, strict=True)
        }

    def _refs(self, partners: Sequence[Partner]) -> list[dict[str, str]]:
        return [{"path": p.path, "sha256": self.shas[p.path]} for p in partners]

    def of(self, variant: int) -> Taken:
        """What variant ``variant`` takes (nothing when the recipe has no synthesis step)."""
        if not self._task.partners:
            return Taken((), [])
        partners = self._task.partners[variant]
        return Taken(_Decodes(self, partners), self._refs(partners), partners)

    def decoded(self, partner: Partner) -> Any:
        """The partner's decode (made once per task); raises ``DecodeError`` naming it."""
        found = self._decoded.get(partner.path)
        if found is None:
            from augtool.run.derive import open_source

            ctx = self._ctx
            try:
                opened = open_source(
                    self._data[partner.path], ctx.limits, ctx.kernels, name=partner.path
                )
            except DecodeError as exc:
                raise DecodeError(f"its partner {partner.path}: {exc}") from None
            found = self._decoded[partner.path] = opened.decoded
        return found


class _Decodes(Sequence[Any]):
    """A variant's partners' decodes, made when a step first indexes one."""

    def __init__(self, owner: Partners, partners: Sequence[Partner]) -> None:
        self._owner, self._partners = owner, partners

    def __len__(self) -> int:
        return len(self._partners)

    def __getitem__(self, index: Any) -> Any:
        return self._owner.decoded(self._partners[index])


@dataclass(frozen=True)
class Taken:
    """One variant's partners: their decodes (lazy), and their path and sha256."""

    decoded: Sequence[Any]
    refs: list[dict[str, str]]
    partners: Sequence[Partner] = ()

    def fields(self, source: Any, steps: list[Record], medium: Any) -> Record:
        """The line's ``partners``, and ``soft_label`` when the source and its partners have
        classes (each class's share of the output, by the medium's ``shares`` hook)."""
        if not self.refs:
            return {}
        found: Record = {"partners": self.refs}
        shares = getattr(medium, "shares", None)
        classes = [source.label, *(p.label for p in self.partners)]
        if shares is not None and None not in classes:
            soft: dict[str, float] = {}
            for label, share in zip(classes, shares(steps, len(self.partners)), strict=True):
                soft[label] = soft.get(label, 0.0) + share
            found["soft_label"] = {k: round(v, 6) for k, v in sorted(soft.items())}
        return found


__all__ = ["PartnerUnreadable", "Partners", "Taken"]
