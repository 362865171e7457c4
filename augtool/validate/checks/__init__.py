"""The checks of ``validate manifest``, one module per family, each feeding one
:class:`~augtool.validate.report.Findings`:

- :mod:`.reading`: the manifest parses (footer, header, record types) and each record is well
  formed and listed once, in path order;
- :mod:`.paths`: recorded paths are safe to look up, judged on their text alone;
- :mod:`.completeness`: what is listed against what one walk of the output found;
- :mod:`.fixity`: sizes, sha256 and SHA256SUMS;
- :mod:`.recipe`: the header's recipe hash;
- :mod:`.leakage`: splits and the provenance of each source;
- :mod:`.sources`: with ``--source``, the sources still hash as recorded;
- :mod:`.recompute`: with ``--recompute``, outputs re-derived through :mod:`augtool.run.derive`.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: a sha256 as the manifest records it
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
