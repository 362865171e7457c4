"""Word-level steps (EDA's four, and the span and template steps of intent data)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from augtool.errors import ParamError
from augtool.media.params import Choice, Param, Range
from augtool.media.text.synonyms import SynonymTable, table_of
from augtool.media.text.tokens import Tokens, is_word, make, respace, tokenise
from augtool.media.text.transforms.base import (
    RATE,
    Params,
    TextTransform,
    below,
    choose,
    draw_count,
    draw_rate,
    free_words,
    register,
    retext,
    with_case,
)


class Word:
    """One non-empty string without a line break."""

    form = "a non-empty string"
    json_schema: ClassVar[dict[str, Any]] = {
        "type": "string",
        "minLength": 1,
        "pattern": "^[^\\n]+$",
    }

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str) or not value or "\n" in value:
            raise ParamError(f"expected {self.form}, got {value!r}")
        return value


SYNONYMS = Param("synonyms", SynonymTable(), None, "the synonym table")


def _rate_param(default: list[float], what: str) -> Param:
    return Param("rate", RATE, default, f"share of the row's words {what} ([min, max])")


def _synonym_choices(tokens: Tokens, table: dict[str, list[str]]) -> list[int]:
    return [i for i in free_words(tokens) if tokens[i][0].lower() in table]


@register
class SynonymReplace(TextTransform):
    name = "synonym_replace"
    summary = "Replace words by a synonym from a table (never a protected span)."
    family = "word"
    params = (_rate_param([0.1, 0.3], "replaced"), SYNONYMS)
    example = "- synonym_replace: {rate: [0.1, 0.3]}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        table = table_of(self.config["synonyms"])
        rate = draw_rate(rng, self.config["rate"])
        candidates = _synonym_choices(tokens, table)
        count = draw_count(rng, rate, len(free_words(tokens)))
        replace = []
        for i in choose(rng, candidates, count):
            options = table[tokens[i][0].lower()]
            word = options[below(rng, len(options))]
            replace.append([i, with_case(word, tokens[i][0])])
        return {"rate": rate, "replace": replace}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        out = list(tokens)
        for i, word in params["replace"]:
            out[i] = retext(out[i], word)
        return out


@register
class RandomInsert(TextTransform):
    name = "random_insert"
    summary = "Insert a synonym of a random word of the row at a random place."
    family = "word"
    params = (_rate_param([0.05, 0.15], "inserted (as a count)"), SYNONYMS)
    example = "- random_insert: {rate: [0.05, 0.15]}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        table = table_of(self.config["synonyms"])
        rate = draw_rate(rng, self.config["rate"])
        candidates = _synonym_choices(tokens, table)
        count = draw_count(rng, rate, len(free_words(tokens))) if candidates else 0
        inserts = []
        size = len(tokens)
        for _ in range(count):
            source = candidates[below(rng, len(candidates))]
            options = table[tokens[source][0].lower()]
            word = options[below(rng, len(options))]
            inserts.append([below(rng, size + 1), word])
            size += 1
        return {"rate": rate, "insert": inserts}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        out = list(tokens)
        for at, word in params["insert"]:
            if at == len(out) and out:
                # At the end: the new word takes the row's closing space, the last one a blank.
                last = out[-1]
                out[-1] = respace(last, " ")
                out.append(make(word, last[1]))
            else:
                out.insert(at, make(word, " "))
        return out


@register
class RandomSwap(TextTransform):
    name = "random_swap"
    summary = "Swap the places of pairs of words (spacing stays where it was)."
    family = "word"
    params = (_rate_param([0.05, 0.15], "swapped (as a count of pairs)"),)
    example = "- random_swap: {rate: [0.05, 0.15]}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        rate = draw_rate(rng, self.config["rate"])
        words = free_words(tokens)
        pairs: list[list[int]] = []
        if len(words) >= 2:
            for _ in range(draw_count(rng, rate, len(words))):
                a = below(rng, len(words))
                b = (a + 1 + below(rng, len(words) - 1)) % len(words)
                pairs.append([words[a], words[b]])
        return {"rate": rate, "pairs": pairs}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        out = list(tokens)
        for a, b in params["pairs"]:
            out[a], out[b] = retext(out[a], out[b][0]), retext(out[b], out[a][0])
        return out


def delete_tokens(tokens: Tokens, positions: list[int]) -> Tokens:
    """``tokens`` without those at ``positions``; the row's closing space is kept."""
    gone = set(positions)
    out = [token for i, token in enumerate(tokens) if i not in gone]
    if out and tokens and len(tokens) - 1 in gone:
        last = out[-1]
        out[-1] = respace(last, tokens[-1][1])
    return out


@register
class RandomDelete(TextTransform):
    name = "random_delete"
    summary = "Delete each word with the given rate (one word is always left)."
    family = "word"
    params = (_rate_param([0.05, 0.15], "deleted"),)
    example = "- random_delete: {rate: [0.05, 0.15]}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        rate = draw_rate(rng, self.config["rate"])
        words = free_words(tokens)
        # Compared as Python floats: a NumPy comparison costs more than it saves on a row.
        drawn = rng.random(len(words)).tolist()
        positions = [i for i, draw in zip(words, drawn, strict=True) if draw < rate]
        # A row is never left without a word (positions are free words, so only when every
        # word is free and drawn).
        if positions and len(positions) == len(words) == sum(t[3] for t in tokens):
            positions = positions[1:]
        return {"rate": rate, "positions": positions}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        return delete_tokens(tokens, params["positions"])


@register
class SpanMask(TextTransform):
    name = "span_mask"
    summary = "Mask a span of words with one mask token, or delete it."
    family = "word"
    params = (
        Param("length", Range(1, 20, integer=True), [1, 3], "words in the span ([min, max])"),
        Param("mode", Choice(("mask", "delete")), "mask", "mask (one token) or delete"),
        Param("token", Word(), "[MASK]", "the mask token"),
    )
    example = "- span_mask: {length: [1, 3], mode: mask}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        lo, hi = self.config["length"]
        length = lo + below(rng, hi - lo + 1)
        length = min(length, max(len(tokens) - 1, 1))
        starts = [
            s
            for s in range(len(tokens) - length + 1)
            if not any(t[2] for t in tokens[s : s + length])
        ]
        start = starts[below(rng, len(starts))] if starts and len(tokens) > 1 else None
        mask = self.config["token"] if self.config["mode"] == "mask" else None
        return {"start": start, "length": length, "mask": mask}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        start = params["start"]
        if start is None:
            return list(tokens)
        end = start + params["length"]
        if params["mask"] is None:
            return delete_tokens(tokens, list(range(start, end)))
        masked = make(params["mask"], tokens[end - 1][1])
        return [*tokens[:start], masked, *tokens[end:]]


class Slots:
    """``{slot: [values]}``: the values each ``{slot}`` placeholder may take."""

    form = "a mapping slot: [values] (non-empty lists of one-line strings)"
    json_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
        },
    }

    def __call__(self, value: Any) -> dict[str, list[str]]:
        if not isinstance(value, dict) or not value:
            raise ParamError(f"expected {self.form}, got {value!r}")
        for slot, values in value.items():
            if (
                not isinstance(slot, str)
                or not isinstance(values, list)
                or not values
                or not all(isinstance(v, str) and v and "\n" not in v for v in values)
            ):
                raise ParamError(f"expected {self.form}; {slot!r} is not")
        return {str(k): list(v) for k, v in sorted(value.items())}


@register
class TemplateFill(TextTransform):
    name = "template_fill"
    summary = "Fill each {slot} placeholder with one of its values (intent templates)."
    family = "word"
    params = (Param("slots", Slots(), {"slot": ["value"]}, "the values of each slot"),)
    example = "- template_fill: {slots: {city: [Paris, Berlin], day: [Monday, Friday]}}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        slots = self.config["slots"]
        fills = []
        for i in range(len(tokens) - 2):
            name = tokens[i + 1][0]
            placeholder = tokens[i][0] == "{" and tokens[i + 2][0] == "}" and name in slots
            if placeholder and not any(t[2] for t in tokens[i : i + 3]):
                values = slots[name]
                fills.append([i, values[below(rng, len(values))]])
        return {"fills": fills}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        out = list(tokens)
        for at, value in reversed(params["fills"]):
            _, filled = tokenise(value)
            closing = out[at + 2][1]
            filled = [*filled[:-1], respace(filled[-1], closing)] if filled else []
            out[at : at + 3] = filled
        return out


ENDS = frozenset(".!?。！？")


@register
class SentenceShuffle(TextTransform):
    name = "sentence_shuffle"
    summary = "Shuffle the order of the row's sentences."
    family = "sentence"
    params = ()
    example = "- sentence_shuffle: {p: 0.3}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        count = len(sentences(tokens))
        order = [int(i) for i in rng.permutation(count)] if count > 1 else list(range(count))
        return {"order": order}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        parts = sentences(tokens)
        if len(parts) != len(params["order"]) or len(parts) < 2:
            return list(tokens)
        closing = tokens[-1][1]
        out: Tokens = []
        for n, index in enumerate(params["order"]):
            part = list(parts[index])
            last = part[-1]
            space = closing if n == len(parts) - 1 else (last[1] if last[1] else " ")
            part[-1] = respace(last, space)
            out.extend(part)
        return out


def sentences(tokens: Tokens) -> list[Tokens]:
    """The tokens cut after each sentence end (``.``, ``!``, ``?``…)."""
    parts: list[Tokens] = []
    current: Tokens = []
    for token in tokens:
        current.append(token)
        if token[0] and token[0][-1] in ENDS and not is_word(token):
            parts.append(current)
            current = []
    if current:
        parts.append(current)
    return parts


__all__ = [
    "RandomDelete",
    "RandomInsert",
    "RandomSwap",
    "SentenceShuffle",
    "SpanMask",
    "SynonymReplace",
    "TemplateFill",
    "delete_tokens",
    "sentences",
]
