"""The partners an output's line names (``partners``), had again for ``validate --recompute``:
each read from ``--source``, checked against its recorded sha256 (its labels too), and opened
once, with its labels, as ``expand`` opened it."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from augtool.validate.checks.paths import unsafe_reason


class PartnerTrouble(Exception):
    """A partner a line names cannot be had as recorded; the message says why."""


class PartnerSources:
    """The partners the lines of one source name (cached by path and sha256)."""

    def __init__(self, source_root: str, limits: Any, kernels: str, rules: Any) -> None:
        self._root, self._limits, self._kernels, self._rules = source_root, limits, kernels, rules
        self._opened: dict[tuple[str, str], Any] = {}

    def opened(self, refs: list[dict[str, str]], payloads: list[Any] | None) -> list[Any]:
        """Each partner of ``refs`` opened; ``payloads``: what their tasks carry of their
        labels (a payload layout's), in the same order."""
        found = []
        for index, ref in enumerate(refs):
            payload = None if payloads is None else payloads[index]
            key = (str(ref.get("path")), str(ref.get("sha256")).lower())
            if key not in self._opened:
                self._opened[key] = self._open(ref, payload)
            found.append(self._opened[key])
        return found

    def _open(self, ref: dict[str, str], payload: Any) -> Any:
        from augtool.layouts.base import AnnotationError
        from augtool.media.base import DecodeError
        from augtool.run.derive import open_source

        path = str(ref.get("path"))
        data = self._read(path, str(ref.get("sha256")), f"its partner {path}")
        labels = None if self._rules is None else self._labels(ref, path, payload)
        try:
            return open_source(data, self._limits, self._kernels, labels, self._rules, path)
        except (DecodeError, AnnotationError) as exc:
            raise PartnerTrouble(f"cannot open its partner {path}: {exc}") from None

    def _labels(self, ref: dict[str, str], path: str, payload: Any) -> Any:
        from augtool.layouts.base import SourceLabels

        where = ref.get("labels")
        if where is None:
            return SourceLabels(path, data=b"")  # an image without labels: no objects
        if payload is not None:
            labels = SourceLabels(f"{where}: {path}", payload=payload)
            if labels.payload_sha256 != ref.get("labels_sha256"):
                raise PartnerTrouble(
                    f"its partner {path}'s labels in {where} are not the recorded ones"
                )
            return labels
        data = self._read(where, str(ref.get("labels_sha256")), f"its partner's labels {where}")
        return SourceLabels(where, data=data)

    def _read(self, path: str, sha: str, what: str) -> bytes:
        from augtool.validate.checks.recompute import read_no_follow

        if unsafe_reason(path) is not None:
            raise PartnerTrouble(f"{what}: the path is unsafe")
        try:
            data = read_no_follow(os.path.join(self._root, path))
        except OSError as exc:
            raise PartnerTrouble(f"cannot read {what} ({exc.strerror or exc})") from None
        if hashlib.sha256(data).hexdigest() != sha.lower():
            raise PartnerTrouble(f"{what}'s sha256 is not the recorded one")
        return data


__all__ = ["PartnerSources", "PartnerTrouble"]
