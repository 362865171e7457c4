"""The text medium: CSV, JSONL and plain-text datasets, word- and character-level transforms
(the names nlpaug and EDA users know), protected spans and quality rails. Registered in
:data:`augtool.media.registry.BUILTIN`; see ``docs/text.md``."""
