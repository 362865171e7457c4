"""Composition blocks (sequence, one_of, some_of) and the pipeline runner and replayer.

Running a pipeline samples step by step, since a step's parameters may depend on the size the
previous step produced; applying goes through :mod:`augtool.media.image.transforms.fusion`,
which fuses runs of geometric steps into one resampling. Every step, fired or not, leaves a
record; replaying those records needs no recipe and no random numbers (``replay``), and applies
them the same way.

Blocks follow Albumentations: ``one_of`` picks one child, with the children's ``p`` as weights,
and applies it; ``some_of`` picks ``n`` distinct children, with the same weights, and applies them
in recipe order. A picked child is applied for sure (its ``p`` was spent on picking it), and a
child whose ``p`` is 0 is never picked.
``sequence`` applies each child with its own ``p``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from augtool.media.blocks import choose, fired_leaves
from augtool.media.image.transforms import kernels
from augtool.media.image.transforms.fusion import Applier, Reductions
from augtool.media.image.transforms.synthesis import Synthesis
from augtool.media.params import PROBABILITY, Param, Range
from augtool.media.transform import Transform

Record = dict[str, Any]


@dataclass
class Block:
    """A configured composition block."""

    kind: str
    p: float
    children: list[Step]
    n: list[int] | None = None
    config: dict[str, Any] = field(default_factory=dict)


Step = Transform | Block


@dataclass(frozen=True)
class BlockSpec:
    """The documented form of a block, for ``augtool transforms`` and the recipe checker."""

    name: str
    summary: str
    params: tuple[Param, ...]
    example: str
    family: ClassVar[str] = "composition"
    default_p: float = 1.0

    def all_params(self) -> tuple[Param, ...]:
        return self.params


_TRANSFORMS = Param("transforms", None, None, "the child steps (a list, like pipeline)")
_P = Param("p", PROBABILITY, 1.0, "probability that the block fires")

BLOCKS: dict[str, BlockSpec] = {
    spec.name: spec
    for spec in (
        BlockSpec(
            "sequence",
            "Apply the child steps in order, each with its own p.",
            (_TRANSFORMS, _P),
            "- sequence:\n    p: 0.5\n    transforms:\n      - hflip: {p: 1}\n      - rot90: {}",
        ),
        BlockSpec(
            "one_of",
            "Apply exactly one child, picked with the children's p as weights.",
            (_TRANSFORMS, _P),
            "- one_of:\n    p: 0.5\n    transforms:\n      - gaussian_noise: {std: [2, 8]}\n"
            "      - gaussian_blur: {sigma: [0.3, 1.2]}",
        ),
        BlockSpec(
            "some_of",
            "Apply n distinct children (n drawn from a range), picked with the children's p "
            "as weights, in recipe order.",
            (
                _TRANSFORMS,
                Param("n", Range(0, None, integer=True), [1, 2], "how many children to apply"),
                _P,
            ),
            "- some_of:\n    n: [1, 2]\n    transforms:\n      - hflip: {}\n"
            "      - invert: {}\n      - grayscale: {}",
        ),
    )
}


Locator = Callable[[list[Record]], Any]


@dataclass
class _Running:
    """One variant's run: where it is applied, its generator, the fired steps so far and, for
    the steps that read them, where the source's targets are after those steps."""

    applier: Applier
    rng: np.random.Generator
    located: Locator | None
    partner_targets: Sequence[Any] = ()
    fired: list[Record] = field(default_factory=list)

    def sample(self, step: Transform) -> dict[str, Any]:
        if not step.reads_targets:
            return step.sample(self.rng, self.applier.shape)
        targets = None if self.located is None else self.located(list(self.fired))
        return step.sample(self.rng, self.applier.shape, targets=targets)


def run(
    steps: list[Step],
    image: np.ndarray,
    rng: np.random.Generator,
    kernels_name: str = kernels.DEFAULT,
    reductions: Reductions | None = None,
    located: Locator | None = None,
    partners: Sequence[np.ndarray] = (),
    partner_targets: Sequence[Any] = (),
) -> tuple[np.ndarray, list[Record]]:
    """Sample and apply ``steps`` in order; return the new image and one record per step.
    ``kernels_name`` and ``reductions`` are the :class:`~fusion.Applier`'s. ``located`` says
    where the image's targets are after a list of fired step records (None: no targets); it is
    asked only by the steps whose draw depends on them (``Transform.reads_targets``).
    ``partners``: the images the synthesis steps take, in the order of :func:`partner_needs`
    (a sequence that may decode each one when it is first indexed), and ``partner_targets``
    their targets as read, for the steps that draw among a partner's objects."""
    applier = Applier(image, kernels_name, reductions, partners)
    running = _Running(applier, rng, located, partner_targets)
    records = []
    offset = 0
    for step in steps:
        count = step.partner_count if isinstance(step, Synthesis) else 0
        slots = list(range(offset, offset + count))
        records.append(_run_step(step, running, forced=False, slots=slots))
        offset += count
    return running.applier.image(), records


def partner_needs(steps: list[Step]) -> tuple[tuple[int, bool], ...]:
    """(partner count, same class) of each synthesis step of a pipeline, in order: the partners
    the plan picks for every variant (synthesis steps are top-level steps only)."""
    return tuple(
        (step.partner_count, bool(step.config["same_class"]))
        for step in steps
        if isinstance(step, Synthesis)
    )


def _run_step(
    step: Step, running: _Running, forced: bool, slots: list[int] | None = None
) -> Record:
    draw = float(running.rng.random())
    fired = forced or draw < step.p
    if isinstance(step, Transform):
        if not fired:
            return {"name": step.name, "fired": False, "params": {}}
        if isinstance(step, Synthesis):
            if slots is None:
                raise ValueError(f"{step.name} is a synthesis step: it cannot be in a block")
            applier = running.applier
            shapes = [applier.partner(slot).shape for slot in slots]
            if step.reads_partner_targets:
                theirs = [running.partner_targets[slot] for slot in slots]
                drawn = step.sample(running.rng, applier.shape, shapes, partner_targets=theirs)
            else:
                drawn = step.sample(running.rng, applier.shape, shapes)
            params = {**drawn, "partners": slots}
        else:
            params = running.sample(step)
        running.applier.feed(step.name, params)
        record = {"name": step.name, "fired": True, "params": params}
        running.fired.append(record)
        return record
    if not fired:
        return {"name": step.kind, "fired": False, "params": {}, "steps": []}
    chosen = choose(step, running.rng)
    forced_children = step.kind != "sequence"
    child_records = [_run_step(step.children[index], running, forced_children) for index in chosen]
    params = {} if step.kind == "sequence" else {"chosen": chosen}
    return {"name": step.kind, "fired": True, "params": params, "steps": child_records}


def replay(
    records: list[Record],
    image: np.ndarray,
    kernels_name: str = kernels.DEFAULT,
    reductions: Reductions | None = None,
    partners: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """Re-apply recorded steps: a pure function of the image, the records, the kernels and the
    partners' images (those the synthesis steps' records name by place)."""
    applier = Applier(image, kernels_name, reductions, partners)
    _feed(records, applier)
    return applier.image()


def _feed(records: list[Record], applier: Applier) -> None:
    for record in fired_leaves(records):
        applier.feed(record["name"], record["params"])


#: Border modes that copy image content (objects included) into the area they fill.
COPYING_BORDERS = ("reflect", "wrap")


def copying_border_steps(steps: list[Step]) -> list[tuple[str, str]]:
    """(name, border) of each step, blocks opened, that may fire (``p`` above 0, its blocks'
    too) with a border from :data:`COPYING_BORDERS`."""
    found: list[tuple[str, str]] = []
    for step in steps:
        if step.p <= 0:
            continue
        if isinstance(step, Block):
            found.extend(copying_border_steps(step.children))
        elif not isinstance(step, Synthesis) and step.config.get("border") in COPYING_BORDERS:
            found.append((step.name, step.config["border"]))
    return found
