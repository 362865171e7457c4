"""A file name's ending, as ``os.path.splitext`` finds it, for the ``/``-separated relative
paths the walk, the plan and a rerun handle once or more per source.

``posixpath.splitext`` skips a name's leading dots one character at a time in Python; a run
over many sources called it once a source in each of several passes.
"""

from __future__ import annotations


def split_ending(path: str) -> tuple[str, str]:
    """``os.path.splitext(path)`` for a path separated by ``/``: the ending is from the last
    dot of the last part, unless every character before that dot in the part is a dot."""
    dot = path.rfind(".")
    start = path.rfind("/") + 1
    if dot > start and path[start:dot].lstrip("."):
        return path[:dot], path[dot:]
    return path, ""
