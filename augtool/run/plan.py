"""The plan: for every source, which files it yields, under which names, from which seeds.

The plan is made before any pixel is read, in path order, so that a run is a pure function of the
plan: workers may finish in any order and the outputs stay the same. A variant's seed is derived
from (recipe seed, source path, variant index) and nothing else, never from a worker or a job
order, which is what keeps ``--jobs 1`` and ``--jobs 8`` byte-identical.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from augtool.endings import split_ending
from augtool.errors import InputError
from augtool.layouts import registry
from augtool.layouts.discovery import Dataset, Source, StreamedSources
from augtool.media import registry as media
from augtool.run.partners import Partner, Pools, choose_partners, payload_reader

VARIANT_MARK = "__v"


@dataclass(frozen=True)
class Naming:
    """What every task of a plan shares to name and seed its outputs."""

    variants: int
    width: int  # digits of the variant index in names
    seed: int  # the recipe's
    output_format: str  # the recipe's output.format setting
    #: the layout whose per-image label files move along (its name, for the registry); None
    #: when the dataset has no such files
    label_layout: str | None = None
    medium: str = media.DEFAULT  # the recipe's medium: it names and encodes the outputs
    #: the layout's sources hold many examples each, and all the variants of a source's
    #: examples go into one output file (the medium makes ``variants`` of each example)
    packed: bool = False
    #: (partner count, same class) of each synthesis step of the recipe, in order: the
    #: partners every variant is given (see :mod:`augtool.run.partners`)
    partner_needs: tuple[tuple[int, bool], ...] = ()


@dataclass(frozen=True, slots=True)
class Task:
    """The work of one source: decode once, write the original and every variant.

    Output names, seeds and label names are derived on demand from the source and the plan's
    :class:`Naming`, not stored, and the fields are slots: a plan of many sources then costs
    little more than its sources.
    """

    source: Source
    naming: Naming
    original: str | None  # where the original goes, or None when originals are skipped
    encoder: str  # the medium's encoder the variants are written with (its output_format)
    #: what the layout gives this source's task of its labels besides a label file (opaque
    #: here; hashed into the outputs it labels)
    payload: Any = None
    #: its own variant count, when balancing gives each source one (None: ``variants``)
    count: int | None = None
    #: each variant's partners (the sources its synthesis steps take), in the steps' order
    partners: tuple[tuple[Partner, ...], ...] = ()

    @property
    def variant_count(self) -> int:
        """The variant files the task writes (one for a packed layout's source)."""
        if not self.source.augment:
            return 0
        if self.count is not None:
            return self.count
        return min(self.naming.variants, 1) if self.naming.packed else self.naming.variants

    @property
    def image_count(self) -> int:
        """The images the task writes (the original, when copied, and the variants), counted
        without naming them."""
        return self.variant_count + (self.original is not None)

    @property
    def variants(self) -> tuple[str, ...]:
        """The output path of variant i, at index i."""
        naming = self.naming
        return variant_paths(
            self.source.path, self.variant_count, naming.width, naming.output_format, naming.medium
        )

    @property
    def seeds(self) -> tuple[int, ...]:
        seed, path = self.naming.seed, self.source.path
        return tuple(variant_seed(seed, path, i) for i in range(self.variant_count))

    @property
    def labels(self) -> tuple[str, ...]:
        """For annotated layouts, the label file of each output (the original first when it is
        copied, then each variant): the source's label moved with the image, in its format."""
        return self._labels(self.variants)

    @property
    def names(self) -> tuple[str, ...]:
        """Every file the task writes."""
        variants = self.variants
        first = () if self.original is None else (self.original,)
        return (*first, *variants, *self._labels(variants))

    def _labels(self, variants: tuple[str, ...]) -> tuple[str, ...]:
        layout = self.naming.label_layout
        if layout is None or self.source.annotation is None:
            return ()
        label_path = registry.get(layout).label_path
        images = (self.original, *variants) if self.original is not None else variants
        return tuple(str(label_path(image)) for image in images)


def writes_the_same(records: Sequence[dict[str, Any]], task: Task) -> bool:
    """Whether an earlier run's records of the task's source name the files the task writes
    now, with the class and split it gives them now: what the stat cache's check, the worker
    and the dry run's forecast each ask before keeping them. A source that was skipped names
    none."""
    files = [record for record in records if record["type"] == "file"]
    label, split = task.source.label, task.source.split
    return not files or (
        {record["path"] for record in files} == set(task.names)
        and all(r.get("label") == label and r.get("split") == split for r in files)
    )


def variant_seed(recipe_seed: int, source_path: str, variant: int) -> int:
    """A 63-bit seed from the variant's identity alone."""
    key = f"augtool-variant\0{recipe_seed}\0{source_path}\0{variant}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") >> 1


def output_format(source_path: str, setting: str, medium: str = media.DEFAULT) -> tuple[str, str]:
    """The medium's encoder and file ending of a source's variants. The name decides, not the
    bytes: a variant's name is fixed by the plan, before anything is decoded."""
    return media.get(medium).output_format(source_path, setting)


def variant_paths(
    source_path: str,
    count: int,
    width: int,
    output_format_setting: str,
    medium: str = media.DEFAULT,
) -> tuple[str, ...]:
    """The output paths of variants 0 to ``count - 1`` (the stem and ending found once)."""
    if not count:
        return ()
    stem = split_ending(source_path)[0]
    ext = output_format(source_path, output_format_setting, medium)[1]
    return tuple([stem + suffix for suffix in _variant_suffixes(count, width, ext)])


@functools.lru_cache(maxsize=64)
def _variant_suffixes(count: int, width: int, ext: str) -> tuple[str, ...]:
    """What follows the stem in the names of variants 0 to ``count - 1`` (the same for every
    source with this ending: a rerun names every kept source's outputs)."""
    return tuple(f"{VARIANT_MARK}{i:0{width}d}{ext}" for i in range(count))


@dataclass(frozen=True)
class Plan(Sequence[Task]):
    """The tasks of a run, in path order, made on demand from the dataset's sources: a plan of a
    million sources holds what they hold (nothing, when they are streamed from the walk)."""

    sources: Collection[Source]  # in path order
    naming: Naming
    originals: str  # the recipe's output.originals setting
    layout: str | None = None  # the dataset's, for the registry
    state: Any = None  # what the layout keeps of the dataset (it makes each task's payload)
    #: each source's variant count when the recipe balances classes (a source left out: none)
    counts: Mapping[str, int] | None = None
    #: the sources synthesis steps pick partners among (the whole dataset's, also in a
    #: shard's plan); None when the recipe has no synthesis step
    pools: Pools | None = None
    #: the images the tasks write, counted as the plan was made (None: not yet)
    images: int | None = None

    def __len__(self) -> int:
        return len(self.sources)

    @overload
    def __getitem__(self, index: int) -> Task: ...
    @overload
    def __getitem__(self, index: slice) -> list[Task]: ...
    def __getitem__(self, index: int | slice) -> Task | list[Task]:
        sources = self.sources
        if not isinstance(sources, Sequence):
            # Streamed: the run only loops over its plan, so reading it whole here is rare.
            sources = tuple(sources)
        if isinstance(index, slice):
            return [self.task_of(source) for source in sources[index]]
        return self.task_of(sources[index])

    def __iter__(self) -> Iterator[Task]:
        return map(self.task_of, self.sources)

    def image_total(self) -> int:
        """The images the tasks write (their :attr:`Task.image_count` summed), counted from the
        sources without making the tasks, once."""
        if self.images is not None:
            return self.images
        return sum(map(self.images_of, self.sources))

    def images_of(self, source: Source) -> int:
        """The images the source's task writes (:attr:`Task.image_count`)."""
        naming, counts = self.naming, self.counts
        images = 0 if self.originals == "skip" else 1
        if not source.augment:
            return images
        if counts is not None:
            return images + counts.get(source.path, 0)
        return images + (min(naming.variants, 1) if naming.packed else naming.variants)

    def task_of(self, source: Source) -> Task:
        """The task of one of the plan's sources."""
        original = None if self.originals == "skip" else source.path
        encoder = output_format(source.path, self.naming.output_format, self.naming.medium)[0]
        payload = None
        if self.state is not None and self.layout is not None:
            payload = registry.get(self.layout).payload(self.state, source.path)
        count = None if self.counts is None else self.counts.get(source.path, 0)
        task = Task(source, self.naming, original, encoder, payload, count)
        if self.pools is None or not task.variant_count:
            return task
        partners = choose_partners(
            self.pools,
            source,
            self.naming.seed,
            self.naming.partner_needs,
            task.variant_count,
            payload_reader(self.layout, self.state),
        )
        return dataclasses.replace(task, partners=partners)


#: Pairs of clashing sources listed by name; the count says how many more there are.
CLASHES_SHOWN = 20
#: The longest file name, in bytes, that common file systems take (ext4, XFS, Btrfs, tmpfs,
#: APFS). A longer output name fails at every run alike, so it is refused before any write.
NAME_MAX = 255
#: A source's file name this short (in characters) cannot give an output name over
#: :data:`NAME_MAX` bytes: at most 4 bytes a character, and the variant mark, its number and
#: an ending add far less than 32.
_SURELY_SHORT = (NAME_MAX - 32) // 4


def make_plan(
    dataset: Dataset,
    variants: int,
    seed: int,
    output_format_setting: str,
    originals: str,
    medium: str = media.DEFAULT,
    counts: Mapping[str, int] | None = None,
    partner_needs: tuple[tuple[int, bool], ...] = (),
) -> Plan:
    """One task per source, in path order; refuses two sources that would write the same name.

    Two sources can only write the same name when the stem of one (its path without the
    ending) begins the path of the other: ``a.jpg`` and ``a.png`` (same variant names, same
    label file), or ``a.jpg`` and ``a__v00.jpg`` (an original named like a variant). In path
    order the later one's stem is then at least as long, and every path between the two begins
    with the earlier one's stem. So each source is checked only against the earlier sources whose
    stem begins its path, a window that stays a few entries long, instead of against every name
    of the plan held in memory.

    ``counts`` gives each source its own variant count (balancing) in place of ``variants``;
    ``partner_needs``, the partners each synthesis step takes (see :mod:`augtool.run.partners`).
    """
    if counts is not None:
        variants = max(counts.values(), default=0)
    width = max(2, len(str(max(variants - 1, 0))))
    layout = registry.get(dataset.layout)
    label_layout = dataset.layout if layout.label_files else None
    naming = Naming(
        variants,
        width,
        seed,
        output_format_setting,
        label_layout,
        medium,
        layout.packs_variants,
        partner_needs,
    )
    sources = dataset.sources
    # Streamed sources are in path order as walked; a layout's own may not be.
    if not isinstance(sources, StreamedSources) and any(
        a.path > b.path for a, b in itertools.pairwise(sources)
    ):
        sources = tuple(sorted(sources, key=lambda s: s.path))
    pools = None
    if partner_needs:
        pools = Pools.of(sources)
    plan = Plan(sources, naming, originals, dataset.layout, dataset.state, counts, pools)
    # (stem, source path, the source, its task's names once asked for): a task and its names
    # are made only when a later path begins with its stem, which most datasets never have
    window: list[tuple[str, str, Source, list[frozenset[str]]]] = []
    clashes: list[str] = []
    overlong: list[str] = []
    images, images_of = 0, plan.images_of
    for source in plan.sources:
        images += images_of(source)
        path = source.path
        if len(path) - path.rfind("/") > _SURELY_SHORT and (name := _overlong(plan, source)):
            overlong.append(f"{path!r} would write {name!r}")
        window = [entry for entry in window if path.startswith(entry[0])]
        if window:
            names = plan.task_of(source).names
            for _, owner, earlier, known in window:
                if not known:
                    known.append(frozenset(plan.task_of(earlier).names))
                shared = sorted(n for n in names if n in known[0])
                if shared:
                    clashes.append(f"{owner!r} and {path!r} would both write {shared[0]!r}")
        window.append((split_ending(path)[0], path, source, []))
    if clashes:
        raise InputError(clash_message(str(dataset.root), clashes))
    if overlong:
        more = f" (and {len(overlong) - 1} more)" if len(overlong) > 1 else ""
        raise InputError(
            f"{dataset.root}: {overlong[0]}, a file name longer than file systems take "
            f"({NAME_MAX} bytes){more}; rename the source"
        )
    return dataclasses.replace(plan, images=images)


def _overlong(plan: Plan, source: Source) -> str | None:
    """The first file the source's task writes whose name no common file system takes."""
    for name in plan.task_of(source).names:
        if len(name[name.rfind("/") + 1 :].encode("utf-8", "surrogateescape")) > NAME_MAX:
            return name
    return None


def clash_message(root: str, clashes: list[str]) -> str:
    """Every pair of sources that would write one name, so that one rename pass fixes them
    all: a line for one pair; else the count, then a line per pair (the first
    :data:`CLASHES_SHOWN`)."""
    if len(clashes) == 1:
        return f"{root}: {clashes[0]}; rename one of them"
    lines = [f"{root}: {len(clashes)} pairs of sources would write the same file:"]
    lines += [f"  {clash}; rename one of them" for clash in clashes[:CLASHES_SHOWN]]
    if len(clashes) > CLASHES_SHOWN:
        lines.append(f"  … and {len(clashes) - CLASHES_SHOWN} more")
    return "\n".join(lines)
