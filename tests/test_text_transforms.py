"""Every text transform, through the same contract (registry-wide), and the properties the
issue asks of them: rates honoured on average, protected spans never changed, non-ASCII text
intact, replay from recorded parameters equal to the sampled run. Tokenisation is tested on
non-English text."""

from __future__ import annotations

import copy
import json
import pickle
import re
import statistics

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from augtool.media.text.tokens import detokenise, distance, split_words, tokenise
from augtool.media.text.transforms import FAMILIES, REGISTRY
from augtool.recipe.model import parse_recipe
from augtool.recipe.yaml_source import load

NAMES = sorted(REGISTRY)
SENTENCES = [
    "The quick delivery was great, but the refund for order 48213 is late. Please help!",
    "Je n'ai pas reçu le remboursement de ma commande 48213 🙁. Merci de vérifier.",
    "Die Rechnung für März ist doppelt; bitte korrigieren. Danke 👍🏽!",
    "Где моя посылка? Заказ 48213 до сих пор не пришёл.",
    "パスワードを忘れました。 リセットできますか？ 番号 48213",
    "مرحبا، طلبي رقم 48213 لم يصل بعد. شكرا",
    "My {device} will not connect to {network} since Monday 👨‍👩‍👧 ❤️",
]
NUMBER = re.compile(r"\d+")


def _build(name: str):
    cls = REGISTRY[name]
    config = {"p": 1.0}
    if name == "template_fill":
        config["slots"] = {"device": ["phone", "smart TV"], "network": ["the Wi-Fi"]}
    return cls(**config)


def _run(step, text: str, seed: int, protect=(NUMBER,)):
    rng = np.random.Generator(np.random.PCG64(seed))
    lead, tokens = tokenise(text, protect)
    params = step.sample(rng, tokens)
    return lead, tokens, params, step.apply(tokens, params)


@pytest.mark.parametrize("name", NAMES)
def test_each_transform_is_documented_and_its_example_is_a_recipe(name: str) -> None:
    cls = REGISTRY[name]
    assert cls.summary.endswith(".") and cls.family in FAMILIES
    assert all(param.help for param in cls.all_params())
    recipe = parse_recipe(load(f"version: 1\npipeline:\n  {cls.example}\n", "example.yaml"))
    assert recipe.medium == "text"
    assert yaml.safe_load(cls.example)[0].keys() == {name}


@pytest.mark.parametrize("name", NAMES)
def test_defaults_are_valid_and_pickle(name: str) -> None:
    step = REGISTRY[name]()
    again = pickle.loads(pickle.dumps(step))
    assert again.config == step.config
    assert json.loads(json.dumps(step.config)) == step.config


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("text", SENTENCES)
def test_params_are_json_and_replay_gives_the_same_text(name: str, text: str) -> None:
    step = _build(name)
    for seed in range(8):
        lead, tokens, params, out = _run(step, text, seed)
        recorded = json.loads(json.dumps(params))
        assert recorded == params  # plain JSON, no numpy types
        kept = copy.deepcopy(tokens)
        assert detokenise(lead, type(step).apply(tokens, recorded)) == detokenise(lead, out)
        assert tokens == kept  # the input is never edited in place


SHIFTING = (
    "sentence_shuffle",
    "random_insert",
    "punctuation_noise",
    "span_mask",
    "random_delete",
    "template_fill",
)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("text", SENTENCES)
def test_protected_spans_are_never_changed(name: str, text: str) -> None:
    step = _build(name)
    for seed in range(20):
        _, tokens, _, out = _run(step, text, seed)
        protected = [t[0] for t in tokens if t[2]]
        assert [t[0] for t in out if t[2]] == protected
        # ... and not moved, except by the steps that add, remove or reorder tokens
        if name not in SHIFTING:
            assert [i for i, t in enumerate(out) if t[2]] == [
                i for i, t in enumerate(tokens) if t[2]
            ]


@pytest.mark.parametrize("name", NAMES)
def test_non_ascii_text_stays_valid_and_untouched_where_not_edited(name: str) -> None:
    step = _build(name)
    for text in SENTENCES:
        for seed in range(10):
            lead, _, _, out = _run(step, text, seed, protect=())
            made = detokenise(lead, out)
            made.encode("utf-8")  # no lone surrogate, nothing cut in half
            for emoji in ("🙁", "👍🏽", "👨‍👩‍👧", "❤️"):
                if emoji in text and name != "span_mask":
                    assert emoji in made


@pytest.mark.parametrize(
    ("name", "measure"),
    [
        ("random_delete", "deleted"),
        ("synonym_replace", "replaced"),
        ("random_swap", "pairs"),
        ("char_typo", "letters"),
    ],
)
def test_rates_are_honoured_on_average(name: str, measure: str) -> None:
    rate = 0.2
    step = REGISTRY[name](rate=[rate, rate])
    text = " ".join(["good bad help need order price problem fast slow money"] * 2)
    shares = []
    for seed in range(400):
        _, tokens, params, out = _run(step, text, seed, protect=())
        words = len(tokens)
        if measure == "deleted":
            shares.append((words - len(out)) / words)
        elif measure == "replaced":
            shares.append(len(params["replace"]) / words)
        elif measure == "pairs":
            shares.append(len(params["pairs"]) / words)
        else:
            letters = sum(len(t[0]) for t in tokens)
            shares.append(len(params["edits"]) / letters)
    assert statistics.fmean(shares) == pytest.approx(rate, abs=0.02)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Café crème, s'il vous plaît!", ["Café", "crème", ",", "s'il", "vous", "plaît", "!"]),
        ("Größe: 42 🇩🇪 👍🏽", ["Größe", ":", "42", "🇩🇪", "👍🏽"]),
        ("नमस्ते दुनिया", ["नमस्ते", "दुनिया"]),
        ("Привет, мир", ["Привет", ",", "мир"]),
        ("東京へ行く。", ["東京へ行く", "。"]),
        ("👨‍👩‍👧 family", ["👨‍👩‍👧", "family"]),
    ],
)
def test_tokenisation_keeps_words_emoji_and_scripts_whole(text: str, words: list[str]) -> None:
    assert [text[a:b] for a, b in split_words(text)] == words


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_tokens_give_back_the_text_exactly(text: str) -> None:
    lead, tokens = tokenise(text)
    assert detokenise(lead, tokens) == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_the_ascii_fast_path_tokenises_as_the_general_one(text: str) -> None:
    never = re.compile("\x00(?!\x00)\x00")  # a protect pattern sends tokenise the long way
    assert tokenise(text) == tokenise(text, (never,))


def _table_distance(a: list[str], b: list[str]) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from("abcd"), max_size=90), st.lists(st.sampled_from("abcd"), max_size=90)
)
def test_token_distance_matches_the_textbook_table(a: list[str], b: list[str]) -> None:
    assert distance(a, b) == _table_distance(a, b)


def test_token_distance_of_a_long_row_is_quick() -> None:
    # max_token_distance measures every variant; a row of 40,000 words took minutes a variant.
    import time

    words = [f"w{i % 997}" for i in range(40_000)]
    edited = words[:100] + words[101:20_000] + ["new"] + words[20_000:]
    start = time.process_time()
    assert distance(words, edited) == 2
    assert time.process_time() - start < 10


def test_token_distance_is_levenshtein() -> None:
    assert distance(["a", "b", "c"], ["a", "c"]) == 1
    assert distance(["x"], []) == 1
    assert distance(["a", "b"], ["b", "a"]) == 2


def test_a_user_synonym_table_from_a_mapping_or_a_tsv_file(tmp_path, monkeypatch) -> None:
    (tmp_path / "syn.tsv").write_text("# mine\nparcel\tpackage,box\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    from_file = REGISTRY["synonym_replace"](rate=1.0, synonyms="syn.tsv")
    inline = REGISTRY["synonym_replace"](rate=1.0, synonyms={"Parcel": ["package", "box"]})
    assert (
        from_file.config["synonyms"] == inline.config["synonyms"] == {"parcel": ["package", "box"]}
    )
    for step in (from_file, inline):
        out = _run(step, "Parcel 123 lost, parcel 123 late", 3)[3]
        assert out[0][0] in ("Package", "Box")  # the case follows the word's
        assert [t[0] for t in out if t[2]] == ["123", "123"]
    from augtool.errors import ParamError

    (tmp_path / "bad.tsv").write_text("parcel package\n", encoding="utf-8")
    with pytest.raises(
        ParamError, match=re.escape("bad.tsv:1: expected 'word<TAB>synonym,synonym'")
    ):
        REGISTRY["synonym_replace"](synonyms="bad.tsv")
