"""The orchestrator: read the manifest once, feed each record to the checks that look at it as
it streams by, then run the checks that need the whole listing, all into one report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from augtool.errors import UsageError
from augtool.media.registry import medium_of_recipe
from augtool.validate.checks import mapping
from augtool.validate.checks.completeness import Completeness, Tree, walk
from augtool.validate.checks.content import Content
from augtool.validate.checks.fixity import Fixity, SumsFile
from augtool.validate.checks.labels import ClassCounts
from augtool.validate.checks.leakage import Provenance
from augtool.validate.checks.paths import listed_path_safe
from augtool.validate.checks.reading import RecordForm, ValidatingReader
from augtool.validate.checks.recipe import check_recipe_hash
from augtool.validate.checks.recompute import Recomputation, Recompute, kernels_of
from augtool.validate.checks.sources import check_resources, check_sources
from augtool.validate.report import Findings, Report


def validate(
    manifest: Path,
    source: Path | None = None,
    recompute: Recompute | None = None,
    jobs: int = 1,
    content: bool = False,
) -> Report:
    """Run every check on the output that holds ``manifest``. Raises :class:`ManifestError` when
    the manifest cannot be read at all or is not an augtool manifest of a known version.
    ``content`` decodes every image output to compare its pHash with its source's."""
    manifest = Path(manifest)
    if recompute is not None and source is None:
        raise UsageError("{recompute} needs {source} (the folder the outputs were made from)")
    if source is not None and not source.is_dir():
        raise UsageError("{source} {path}: not a folder", path=source)
    reader = ValidatingReader(manifest)
    header = reader.header()
    kernels = kernels_of(manifest, header) if recompute is not None else None
    root = manifest.parent
    found = Findings()
    stream = _Stream(str(manifest), header, walk(root, manifest.name), found)
    if recompute is not None:
        stream.recomputation = Recomputation(header, found, root)
    if content:
        _check_medium(header)
        stream.content = Content(found)
    for number, record in reader.records():
        stream.record(number, record)
    stream.provenance.examples_seen()
    found.problems.extend(reader.problems)
    stream.completeness.finish()
    stream.fixity.run(root, jobs)
    stream.labels.run(root)
    check_recipe_hash(found, str(manifest), header)
    recipe = mapping(header.get("recipe"))
    # (The medium is looked up only when there are splits to compare: it loads every medium.)
    if (
        stream.provenance.splits_to_compare
        and mapping(recipe.get("splits")).get("on_leak") != "ignore"
    ):
        stream.provenance.near_duplicates(source, medium_of_recipe(recipe), jobs)
    stream.sums.check(root)
    report = Report(
        manifest=str(manifest),
        files=stream.form.files,
        bytes=stream.fixity.bytes,
        skipped=stream.form.skipped,
    )
    if stream.content is not None:
        report.content_checked = stream.content.run(root, source, jobs)
        report.content_not_judged = stream.content.not_judged
    if source is not None:
        sources = check_sources(found, header, stream.provenance.sources_seen, source, jobs)
        report.sources_checked = sources.checked
        check_resources(found, header, source)
        if stream.recomputation is not None:
            assert recompute is not None and kernels is not None
            recomputation = stream.recomputation
            report.recomputed = recomputation.run(reader, sources, source, recompute, kernels, jobs)
    report.problems = found.by_kind()
    return report


class _Stream:
    """The checks that see each record as the manifest streams by, in the order they run."""

    def __init__(self, manifest: str, header: dict[str, Any], tree: Tree, found: Findings) -> None:
        self.found = found
        self.sums = SumsFile(found)
        self.form = RecordForm(manifest, found)
        self.completeness = Completeness(tree, found)
        self.fixity = Fixity(found)
        self.provenance = Provenance(manifest, header, found)
        self.labels = ClassCounts(header, found)
        self.recomputation: Recomputation | None = None
        self.content: Content | None = None

    def record(self, number: int, record: dict[str, Any]) -> None:
        self.sums.take(record)
        path = record.get("path")
        if not listed_path_safe(self.found, path):
            return
        if not self.form.take(number, record, path):
            return
        size = self.completeness.locate(path)
        if size is not None:
            self.fixity.take(path, record["bytes"], size, record["sha256"])
        self.provenance.take(number, record)
        self.labels.take(path, record)
        if self.recomputation is not None:
            self.recomputation.take(number, record)
        if self.content is not None:
            self.content.take(record)


def _check_medium(header: dict[str, Any]) -> None:
    """``content`` compares images: refuse it for a manifest of another medium."""
    medium = medium_of_recipe(mapping(header.get("recipe")))
    if medium != "image":
        raise UsageError("{content}: compares images by pHash; this manifest is {medium}",
                         medium=medium)  # fmt: skip
