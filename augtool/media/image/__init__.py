"""The image medium: codecs, the transform registry, target movement."""
