"""What an expand run was asked to do, as the engine and the writes after its tasks share it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from augtool.layouts import registry
from augtool.layouts.discovery import Dataset
from augtool.recipe import Recipe
from augtool.run.balance import Balanced
from augtool.run.hf_metadata import metadata_names
from augtool.run.licences import Licences, notice_names
from augtool.run.plan import Plan
from augtool.run.resources import Resources
from augtool.run.shards import Shard

#: Told (tasks done, tasks in all) as a run goes.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Job:
    """A planned run: the recipe, the dataset, the plan and where it runs."""

    recipe: Recipe
    dataset: Dataset
    tasks: Plan
    input_root: Path
    output_root: Path
    jobs: int
    backend: str
    progress: Progress | None
    balanced: Balanced | None = None  # each source's variants, when the recipe balances
    licences: Licences = dataclasses.field(
        default_factory=Licences
    )  # each source's licence and author, where known
    #: each image source's pHash (16 hex digits), written into its image lines
    source_hashes: dict[str, str] = dataclasses.field(default_factory=dict)
    shard: Shard | None = None  # the slice of the sources this run makes (None: all)
    resources: Resources | None = None  # the files the steps read besides the sources

    @property
    def resource_files(self) -> dict[str, str] | None:
        """The resource files' hashes: outputs made with others are not kept."""
        return None if self.resources is None else self.resources.files

    @property
    def shard_json(self) -> dict[str, int] | None:
        return None if self.shard is None else self.shard.as_json()

    @property
    def input_abs(self) -> str:
        return str(self.input_root.resolve())

    @property
    def hf_names(self) -> list[str]:
        """The Hugging Face metadata files the run writes (``output.hf_metadata``)."""
        return metadata_names(self.dataset, bool(self.recipe.output.get("hf_metadata")))

    def own_names(self) -> list[str]:
        """The files the run writes of the dataset as a whole (few, whatever its size)."""
        return [*dataset_files(self.dataset), *notice_names(self.licences), *self.hf_names]

    def planned_names(self) -> Iterator[str]:
        """Every file the run writes: the dataset's own, then each task's."""
        yield from self.own_names()
        for task in self.tasks:
            yield from task.names


def dataset_files(dataset: Dataset) -> list[str]:
    """The files of the dataset as a whole that the run writes: those copied as they are, and
    those its layout derives from the image lines."""
    derived = registry.get(dataset.layout).derived_names(dataset.state)
    return [*dataset.extra_files, *derived]
