"""augtool: expand image datasets offline, reproducibly, with a manifest of provenance hashes.

The command line's operations, as a library (reference: ``docs/api.md``)::

    import augtool

    summary = augtool.expand("configs/quickstart.yaml", "samples/photos", "out/photos", jobs=2)
    report = augtool.validate_manifest("out/photos/manifest.jsonl", source="samples/photos")
    assert report.ok, report.problem_lines()

The functions and result types are imported on first use, so that ``import augtool`` (and
``augtool --help``) stays fast; the error classes are small and imported here.
"""

from __future__ import annotations

import importlib

from augtool.errors import (
    AugtoolError,
    InputError,
    ManifestError,
    OutputError,
    ParamError,
    RecipeError,
    UsageError,
    WriteError,
)

# Not typing's: importing typing would be most of `import augtool`'s cost.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from augtool.api import (
        describe_transforms,
        expand,
        load_recipe,
        make_report,
        merge,
        preview_recipe,
        validate_manifest,
        validate_recipe,
    )
    from augtool.preview import Preview
    from augtool.recipe import Recipe
    from augtool.report import DatasetReport
    from augtool.run.summary import Summary
    from augtool.validate import Report

__version__ = "0.2.0.dev2"

#: Public name -> the module that defines it, imported when the name is first looked up.
_LAZY = {
    "describe_transforms": "augtool.api",
    "expand": "augtool.api",
    "load_recipe": "augtool.api",
    "make_report": "augtool.api",
    "merge": "augtool.api",
    "preview_recipe": "augtool.api",
    "validate_manifest": "augtool.api",
    "validate_recipe": "augtool.api",
    "DatasetReport": "augtool.report",
    "Preview": "augtool.preview",
    "Recipe": "augtool.recipe",
    "Report": "augtool.validate",
    "Summary": "augtool.run.summary",
}

__all__ = [
    "AugtoolError",
    "DatasetReport",
    "InputError",
    "ManifestError",
    "OutputError",
    "ParamError",
    "Preview",
    "Recipe",
    "RecipeError",
    "Report",
    "Summary",
    "UsageError",
    "WriteError",
    "__version__",
    "describe_transforms",
    "expand",
    "load_recipe",
    "make_report",
    "merge",
    "preview_recipe",
    "validate_manifest",
    "validate_recipe",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'augtool' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
