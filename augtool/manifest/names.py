"""The names of the files an augtool output holds besides the data it lists."""

from __future__ import annotations

MANIFEST_NAME = "manifest.jsonl"
SUMS_NAME = "SHA256SUMS"
RUN_NAME = "run.json"
CROISSANT_NAME = "croissant.json"
#: Files in an output folder that the manifest does not list, by contract.
CONTRACT_FILES = (MANIFEST_NAME, SUMS_NAME, RUN_NAME, CROISSANT_NAME)

# The run's state: hidden files at the output's root. Loaders look for data in folders (a
# folder at the root is a class to torchvision's ImageFolder, which lists every sub-folder,
# hidden ones too), never in files there, where the manifest already lies.
#: The lock a run holds on its output (kept: removing a lock file others may open is a race).
LOCK_NAME = ".augtool-lock"
#: The finished tasks of the run in progress (gone once its manifest is written).
JOURNAL_NAME = ".augtool-journal.jsonl"
#: The recipe and input of the run in progress (gone once its manifest is written).
RUN_STATE_NAME = ".augtool-run-state.json"
#: Each file's stat after the last complete run, so a rerun need not hash it.
STAT_CACHE_NAME = ".augtool-stat-cache.jsonl"
#: Each image source's perceptual hash, so a rerun's near-duplicate check decodes only new ones.
PHASH_CACHE_NAME = ".augtool-phash-cache.jsonl"
STATE_FILES = (LOCK_NAME, JOURNAL_NAME, RUN_STATE_NAME, STAT_CACHE_NAME, PHASH_CACHE_NAME)
#: The folder where earlier augtool versions kept the same files (each name here is the state
#: file's there): read when the root holds none, and removed by the next run.
STATE_DIR = ".augtool"
LEGACY_STATE_NAMES = {
    LOCK_NAME: "lock",
    JOURNAL_NAME: "journal.jsonl",
    RUN_STATE_NAME: "run-state.json",
    STAT_CACHE_NAME: "stat-cache.jsonl",
}
