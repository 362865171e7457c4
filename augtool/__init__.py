"""augtool: expand image datasets offline, reproducibly, with a manifest of provenance hashes."""

__version__ = "0.1.0"

__all__ = ["__version__"]
