"""The recipe's licence keys in ``input:`` (docs/governance.md): a default licence for the
sources, and the rules on them. Each is left out of the normalised recipe unless set, so
recipes without them keep their sha256."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from augtool.errors import ParamError
from augtool.media.params import Bool, Param


@dataclass(frozen=True)
class Licence:
    """An SPDX licence id (``CC-BY-4.0``), or nothing."""

    @property
    def json_schema(self) -> dict[str, Any]:
        return {"type": ["string", "null"], "minLength": 1}

    @property
    def form(self) -> str:
        return "an SPDX licence id such as CC-BY-4.0"

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return value


@dataclass(frozen=True)
class Licences:
    """A list of SPDX licence ids, or nothing (every licence allowed)."""

    @property
    def json_schema(self) -> dict[str, Any]:
        return {"type": ["array", "null"], "items": {"type": "string", "minLength": 1}}

    @property
    def form(self) -> str:
        return "a list of SPDX licence ids"

    def __call__(self, value: Any) -> list[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return [Licence()(item) for item in value]


LICENCE_FIELDS = (
    Param("licence", Licence(), None, "the licence of sources no LICENSES sidecar names"),
    Param("require_licence", Bool(), False, "refuse sources without a licence (exit 2)"),
    Param("allow_licences", Licences(), None, "refuse sources with any other licence"),
)
#: the keys left out of the normalised recipe while at their default
DEFAULTS = {param.name: param.default for param in LICENCE_FIELDS}
