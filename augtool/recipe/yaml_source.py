"""Read a recipe's YAML into plain values while remembering where each value was written.

The safe loader alone loses positions and quietly accepts duplicate keys and aliases. We compose
the node tree ourselves so that every later error can name the file, line and column, and refuse
anchors and aliases outright (they are the vector of YAML "billion laughs" bombs, and a recipe has
no need of them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from augtool.errors import RecipeError

Path = tuple[str | int, ...]


@dataclass
class Located:
    """A YAML document as plain Python values, with the position of every node."""

    file: str
    value: Any
    value_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def error(self, path: Path, message: str, at_key: bool = False) -> RecipeError:
        """A RecipeError pointing at the node under ``path`` (or at its key)."""
        marks = self.key_marks if at_key else self.value_marks
        probe = path
        while probe not in marks and probe:
            probe = probe[:-1]
        line, column = marks.get(probe, (None, None))
        return RecipeError(self.file, message, line, column)


def load(text: str, file: str) -> Located:
    """Parse ``text`` (the contents of ``file``) into a :class:`Located` document."""
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                raise RecipeError(
                    file,
                    "YAML anchors and aliases (&name, *name) are not allowed in a recipe",
                    mark.line + 1,
                    mark.column + 1,
                )
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        problem, line, column = yaml_problem(exc, text)
        raise RecipeError(file, f"invalid YAML: {problem}", line, column) from None
    doc = Located(file, None)
    if node is None:
        raise RecipeError(file, "the recipe is empty; expected a mapping with 'version: 1'", 1, 1)
    doc.value = _convert(node, (), doc, yaml.constructor.SafeConstructor())
    return doc


def yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[str, int | None, int | None]:
    """What PyYAML found wrong in ``text``, and the line and column (from 1) where: one line,
    where its own message spans several (the context, a snippet, a caret)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            return problem, None, None
        return problem, mark.line + 1, mark.column + 1
    if isinstance(exc, yaml.reader.ReaderError):
        # A character YAML does not allow (a control character): PyYAML gives only its index.
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        line, column = _line_column(text, exc.position)
        return f"unacceptable character #x{code:04x}: {exc.reason}", line, column
    return " ".join(str(exc).split()), None, None


def _line_column(text: str, index: int) -> tuple[int, int]:
    # The sentinel keeps the empty last line when ``index`` is just after a line break;
    # splitlines breaks where YAML does (\n, \r, \r\n, \x85, \u2028, \u2029): the others it
    # knows are characters YAML refuses, so none can come before ``index``.
    lines = (text[:index] + "x").splitlines()
    return len(lines), len(lines[-1])


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _convert(
    node: yaml.Node, path: Path, doc: Located, constructor: yaml.constructor.SafeConstructor
) -> Any:
    doc.value_marks[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line, column = _mark(key_node)
                raise RecipeError(doc.file, "a mapping key must be a plain name", line, column)
            key = constructor.construct_object(key_node)
            if not isinstance(key, str):
                line, column = _mark(key_node)
                raise RecipeError(doc.file, f"a key must be a name, got {key!r}", line, column)
            if key in out:
                line, column = _mark(key_node)
                first_line = doc.key_marks[(*path, key)][0]
                raise RecipeError(
                    doc.file,
                    f"duplicate key {key!r} (first given on line {first_line})",
                    line,
                    column,
                )
            doc.key_marks[(*path, key)] = _mark(key_node)
            out[key] = _convert(value_node, (*path, key), doc, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), doc, constructor) for i, item in enumerate(node.value)]
    try:
        return constructor.construct_object(node)
    except yaml.constructor.ConstructorError as exc:
        line, column = _mark(node)
        raise RecipeError(doc.file, f"invalid value: {exc.problem}", line, column) from None
