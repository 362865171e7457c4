"""What a medium (image, audio, text) provides to the medium-blind core.

The engine, plan, worker, :mod:`augtool.run.derive` and validate never import a medium's
package: they ask :mod:`augtool.media.registry` for the recipe's medium and call the
:class:`Medium` methods below. A medium owns its codecs, its transform registry (leaves and
blocks, in families), how steps are sampled and replayed (with its kernels and caches passed in,
never ambient), how targets move, the library versions that decide its bytes, and how an
output is named and encoded.

Decoded content, step objects, caches and targets are the medium's own types: the core only
hands them back to the same medium.

Optional hooks, asked with ``getattr`` (a medium without them is treated as images are):

- ``recipe_fields() -> (input_fields, output_fields)``: the medium's own ``input``/``output``
  recipe fields (``Param`` tuples) beside the common ones (path, layout, follow_links;
  path, originals, strip_metadata); ``core_settings(input, output) -> (extra_input,
  extra_output)`` then names what the core hands back to the medium by the keys it passes on
  (``max_pixels`` to :meth:`Medium.decode`, ``quality`` to :meth:`Medium.encoder_settings`),
  kept out of the normalised recipe;
- ``tile(decoded, content) -> uint8 array (h, w, 3)``: the picture a preview tile shows of
  ``content`` (None: the source) when the content is not a picture itself, and
  ``sample_step(step, rng, decoded, resources=None)``: a step's parameters for a preview sweep.
- ``original_encoder(decoded, quality)``: the encoder settings of an original written with
  ``output.originals: normalize`` (a medium without it cannot normalize: the recipe is
  refused); ``loader_trouble(decoded)``: a few words when a source copied as it is holds what
  common loaders mishandle (one warning per run), else None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

Record = dict[str, Any]


class DecodeError(Exception):
    """A source a medium cannot decode (within the recipe's limits); the message is the reason
    ``expand`` skips it for."""


class EncodeError(Exception):
    """A variant a medium cannot encode in the output format; the source is skipped."""


@runtime_checkable
class Medium(Protocol):
    """The interface every medium implements (see ``docs/architecture.md``)."""

    #: the registry name (``image``); recipes without steps of another medium are ``image``
    name: str
    #: the ``kernels`` a recipe gets when it names none (never written into the normalised
    #: recipe, so it does not change the recipe's hash)
    default_kernels: str

    # -- the recipe: which steps it may name ----------------------------------------------
    def transforms(self) -> Mapping[str, Any]:
        """Leaf transform classes by name; each has ``family``, ``summary``, ``example``,
        ``all_params()`` and is built from its recipe parameters (``cls(**config)``)."""
        ...

    def blocks(self) -> Mapping[str, Any]:
        """Composition block specs by name (``one_of`` …), described like transforms."""
        ...

    def families(self) -> tuple[str, ...]:
        """The family names, in the order ``augtool transforms`` lists them."""
        ...

    def make_block(
        self, kind: str, p: float, children: list[Any], n: Any, config: dict[str, Any]
    ) -> Any:
        """A configured block of ``kind`` around ``children`` (steps of this medium)."""
        ...

    #: the ``kernels`` names a recipe may choose (the first is :attr:`default_kernels`)
    kernel_names: tuple[str, ...]

    def kernels_missing(self, kernels: str) -> tuple[str, str] | None:
        """(the library, its install hint) when ``kernels`` needs a library that is not
        installed; None when it can be used."""
        ...

    # -- what decides the bytes -------------------------------------------------------------
    def versions(self, kernels: str) -> dict[str, str]:
        """The library versions its output bytes depend on (the manifest header's
        ``libraries``), for ``kernels``."""
        ...

    def output_format(self, source_path: str, setting: str) -> tuple[str, str]:
        """The encoder name and file ending of a source's variants for the recipe's
        ``output.format`` setting, from the source's name alone (before any decode)."""
        ...

    def encoder_settings(
        self, encoder: str, quality: int, decoded: Any, same_format: bool
    ) -> dict[str, Any]:
        """The exact encoder settings recorded with each variant, so a replay re-encodes; the
        decoded source and ``output.format: same`` may decide some (a lossless source)."""
        ...

    # -- the derive path (called by :mod:`augtool.run.derive`) ------------------------------
    def decode(self, data: bytes, formats: Sequence[str], max_pixels: int | None) -> Any:
        """A source's bytes decoded within the limits; raises :class:`DecodeError`. A medium
        that keeps more than 8 bits per sample takes a ``bit_depth`` keyword too, passed only
        when a recipe sets ``output.bit_depth`` to other than 8."""
        ...

    def decoded_facts(self, decoded: Any) -> dict[str, Any]:
        """What an augmented record says of how its source was decoded."""
        ...

    def size(self, decoded: Any, content: Any = None) -> list[int]:
        """The size recorded for a variant (``content``) or, when None, the decoded source."""
        ...

    def new_cache(self) -> Any:
        """A fresh cache the variants of one source share (it never changes a byte)."""
        ...

    def check_kernels(self, kernels: str) -> str:
        """``kernels`` itself, once usable (its library loaded); raises ``ValueError``."""
        ...

    def run(
        self,
        steps: Sequence[Any],
        decoded: Any,
        seed: int,
        kernels: str,
        cache: Any,
        targets: Any = None,
        resources: Any = None,
    ) -> tuple[Any, list[Record]]:
        """Sample ``steps`` from ``seed`` and apply them: (the new content, or None when
        nothing changed, and the plain-JSON step records). ``targets`` are the source's
        (None without labels), for the steps whose draw depends on where they are;
        ``resources`` (:class:`augtool.run.resources.Resources`) the files the steps that
        declare ``resources`` read, passed only when the recipe has such steps (a medium
        without them need not take the keyword)."""
        ...

    def replay(
        self, records: list[Record], decoded: Any, kernels: str, cache: Any, resources: Any = None
    ) -> Any:
        """Re-apply recorded steps (reading ``resources`` as :meth:`run` does): the new
        content, or None when nothing changed."""
        ...

    def kept_metadata(self, decoded: Any) -> Any:
        """The metadata every variant carries when metadata is kept, or None; raises
        :class:`EncodeError` when it cannot be written back."""
        ...

    def encode(self, decoded: Any, content: Any, encoder: dict[str, Any], metadata: Any) -> bytes:
        """``content`` (None: the decoded source as it is) encoded with ``encoder`` settings
        and ``metadata`` (None: stripped); raises :class:`EncodeError`."""
        ...

    # -- targets (labels that move with the content) ---------------------------------------
    def move_targets(self, records: list[Record], targets: Any, kernels: str) -> Any:
        """``targets`` moved through the step ``records``."""
        ...

    def filter_targets(
        self,
        targets: Any,
        rules: tuple[float, float],
        records: list[Record],
        min_box_side: float | None,
    ) -> tuple[Any, list[Any]]:
        """(kept, dropped) objects by the recipe's ``targets`` rules after the steps
        ``records``; ``min_box_side``: the layout's (COCO's) least box side after a move."""
        ...

    def copying_steps(self, steps: Sequence[Any]) -> list[tuple[str, str]]:
        """(name, border) of each step that may fire and copies content across the border,
        where copies of objects appear with no label (a warning for box layouts)."""
        ...

    def mirrored(self, records: list[Record]) -> bool:
        """Whether the steps mirror left and right (flip pairs then swap)."""
        ...

    # -- optional hooks (looked up with getattr; a medium without them is not asked) ----------
    # decode_file(data, limits, name) -> decoded: used instead of decode when present; a
    #     medium whose sources' format and reading rules come from their name (its ending) and
    #     the recipe (``limits.settings``) has it.
    # example_keys(decoded, content=None) -> list[str] | None: the keys (16 hex digits of a
    #     sha256) of the examples a source (content None) or a variant holds, recorded as the
    #     file line's ``examples`` so that validate finds an example in two splits.
    # fingerprint(path) -> int | None, with the attributes fingerprint_kind (what the cache of
    #     fingerprints is keyed by), fingerprint_name (a pair's message) and fingerprint_bits
    #     (the distance within which two sources pair): a source's 64-bit fingerprint for the
    #     near-duplicate check across splits (augtool.run.leak); a medium without it is not
    #     checked. A fingerprint is 64 bits unless the medium says fingerprint_width.
    # example_fingerprints(path, settings) -> list[(row, fingerprint | None, split | None)] | None:
    #     instead of fingerprint, for a medium whose sources hold many examples (a text table):
    #     each example's 1-based row, fingerprint and own split (None: the source's), read with
    #     the run's recipe_settings; the check then pairs examples, not files, and caches none.
    #     With it, examples_name_splits(settings) -> bool: whether an example may name its own
    #     split (else a dataset of one split is not fingerprinted).


__all__ = ["DecodeError", "EncodeError", "Medium", "Record"]
