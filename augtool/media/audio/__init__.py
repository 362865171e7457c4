"""The audio medium: WAV (and, with ``augtool[audio]``, FLAC/OGG) clips, their transforms and
codecs. Registered in :data:`augtool.media.registry.BUILTIN`; see ``docs/audio.md``."""
