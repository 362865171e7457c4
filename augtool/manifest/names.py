"""The names of the files an augtool output holds besides the data it lists."""

from __future__ import annotations

MANIFEST_NAME = "manifest.jsonl"
SUMS_NAME = "SHA256SUMS"
RUN_NAME = "run.json"
STATE_DIR = ".augtool"
#: Files in an output folder that the manifest does not list, by contract.
CONTRACT_FILES = (MANIFEST_NAME, SUMS_NAME, RUN_NAME)
