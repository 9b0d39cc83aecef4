"""Pure tests of udfs/dedup: config, LSH parameters, normalization, shingles, signatures, band hashes."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from datasketch.lsh import _optimal_param

from udfs.dedup.config import DedupConfig, NearDedupConfig, ShingleConfig, TextKeyConfig
from udfs.dedup.lsh import collision_probability, optimal_bands_rows
from udfs.dedup.minhash import (
    CodePoints,
    band_hashes,
    batch_band_hashes,
    jaccard,
    normalized_code_points,
    pair_jaccard,
    paragraph_keys,
    shingle_hashes,
    signatures,
)
from udfs.errors import ConfigError

WORD5 = ShingleConfig()
STRIP = TextKeyConfig(strip_punctuation=True)


def _texts(points: CodePoints) -> list[str]:
    return [points.chars[s:e].tobytes().decode("utf-32-le") for s, e in zip(points.starts, points.ends, strict=True)]


# -- config ------------------------------------------------------------------------------------------------------


def test_config_defaults_and_yaml_agree() -> None:
    from udfs.config import load_config

    conf = load_config("conf/defaults.yaml").dedup
    assert conf.near.threshold == 0.75 and conf.near.num_perm == 112
    assert conf.near.lsh_params() == (16, 7)  # false negatives weighted 0.9
    assert conf.near.shingle.rule_for("zh").unit == "char" and conf.near.shingle.rule_for("en").unit == "word"
    assert conf.near.verify is True and conf.near.enabled is True
    assert conf.paragraphs.enabled is False and conf.keep == "first" and conf.keep_per_cluster == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"keep": "newest"}, "dedup.keep: expected one of first, longest, quality"),
        ({"keep_per_cluster": 0}, "dedup.keep_per_cluster: must be >= 1"),
        ({"threshold": 0.8}, "dedup.threshold: unknown key"),
        ({"near": {"threshold": 1.0}}, "dedup.near.threshold: must be within (0, 1)"),
        ({"near": {"bands": 4}}, "dedup.near.bands: give both bands and rows"),
        ({"near": {"bands": 20, "rows": 10, "num_perm": 128}}, "dedup.near.bands: bands*rows = 200 exceeds"),
        ({"near": {"num_perm": "many"}}, "dedup.near.num_perm: expected an integer"),
        ({"near": {"shingle": {"default": {"unit": "token"}}}}, "dedup.near.shingle.default.unit: expected one of"),
        ({"near": {"shingle": {"cjk_fallback": "th"}}}, "dedup.near.shingle.cjk_fallback: 'th' is not a key"),
        ({"paragraphs": {"max_documents": 0}}, "dedup.paragraphs.max_documents: must be >= 1"),
    ],
)
def test_config_errors_name_the_dotted_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        DedupConfig.from_dict(data, "dedup")
    assert str(error.value).startswith(message)


def test_explicit_bands_rows_are_used() -> None:
    assert NearDedupConfig(num_perm=112, bands=14, rows=8).lsh_params() == (14, 8)


# -- LSH parameters ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.5, 128), (0.7, 128), (0.75, 112), (0.8, 256), (0.9, 64)])
def test_optimal_bands_rows_match_datasketch(threshold: float, num_perm: int) -> None:
    assert optimal_bands_rows(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_weights_move_the_choice() -> None:
    # Penalizing false negatives buys recall with more bands of fewer rows.
    assert optimal_bands_rows(0.75, 112) == (11, 10)
    assert optimal_bands_rows(0.75, 112, 0.1, 0.9) == (16, 7)


def test_collision_probability_closed_form() -> None:
    assert collision_probability(1.0, 11, 10) == pytest.approx(1.0)
    assert collision_probability(0.0, 11, 10) == pytest.approx(0.0)
    assert collision_probability(0.5, 2, 1) == pytest.approx(0.75)


# -- normalization and shingles ----------------------------------------------------------------------------------


def test_normalization_per_text_key() -> None:
    texts = pd.Series(["  Hello,\tWorld!  42 times ", "", None, "中文，标点。"])
    assert _texts(normalized_code_points(texts, TextKeyConfig())) == ["hello, world! 42 times", "", "", "中文，标点。"]
    assert _texts(normalized_code_points(texts, STRIP)) == ["hello world 42 times", "", "", "中文标点"]
    assert _texts(normalized_code_points(texts, TextKeyConfig(strip_digits=True, lowercase=False))) == [
        "Hello, World! times",
        "",
        "",
        "中文，标点。",
    ]


def test_paragraph_keys_use_unicode_whitespace_and_skip_short_lines() -> None:
    """Paragraph dedup keys come from the one normalization: a no-break or ideographic space is whitespace (Java's
    ASCII-only ``\\s`` was not); lines empty once normalized, or shorter than ``min_chars``, get no key."""
    lines = pd.DataFrame({
        "id": ["a", "a", "b", "b", "c"],
        "pos": [0, 1, 0, 1, 0],
        "line": ["Call 555-0100\u00a0 now", "  \t ", "call 555-0100 NOW", "ok", "CALL\u3000555-0100 now!"],
    })
    keys = paragraph_keys(lines, TextKeyConfig(strip_digits=True), min_chars=3)
    assert list(zip(keys["id"], keys["pos"], strict=True)) == [("a", 0), ("b", 0), ("c", 0)]
    assert keys["_key"][0] == keys["_key"][1] != keys["_key"][2]  # "!" is kept: punctuation is not stripped here
    assert keys["_key"][0] == hashlib.sha256(b"call - now").digest()


def test_shingle_counts_word_char_and_short_docs() -> None:
    texts = pd.Series(["a b c d e f", "a b c", "一二三四五六七", "一二", "", "a b c d e f"])
    langs = pd.Series(["en", "en", "zh", "zh", "en", "fr"])
    shingles = shingle_hashes(texts, langs, WORD5, STRIP, seed=1)
    # 6 words → 2 word 5-grams; 3 words → 1 shingle (the whole doc); 7 chars → 3 char 5-grams; 2 chars → 1; empty → 0
    assert np.diff(shingles.offsets).tolist() == [2, 1, 3, 1, 0, 2]
    sets = shingles.sets()
    assert np.array_equal(sets[0], sets[5])  # same text, same rule → same shingles whatever the language code


def test_cjk_fallback_for_documents_without_language() -> None:
    texts = pd.Series(["一二三四五六七", "一二三四五六七"])
    with_lang = shingle_hashes(texts, pd.Series(["zh", None]), WORD5, STRIP, seed=1)
    assert np.diff(with_lang.offsets).tolist() == [3, 3]
    no_fallback = ShingleConfig(cjk_fallback=None)
    without = shingle_hashes(texts, pd.Series(["zh", None]), no_fallback, STRIP, seed=1)
    assert np.diff(without.offsets).tolist() == [3, 1]  # one "word" of 7 characters


def test_shingle_jaccard_matches_python_sets() -> None:
    left = "the cat sat on the mat and the dog sat on the log today"
    right = "the cat sat on the mat and the dog sat on a log today"

    def grams(text: str) -> set[tuple[str, ...]]:
        words = text.split()
        return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}

    expected = len(grams(left) & grams(right)) / len(grams(left) | grams(right))
    assert expected == pytest.approx(7 / 13)
    result = pair_jaccard(pd.Series([left]), pd.Series([right]), None, NearDedupConfig())
    assert result.tolist() == pytest.approx([7 / 13])


def test_jaccard_of_hash_sets() -> None:
    assert jaccard(np.array([1, 2, 3], dtype=np.uint64), np.array([2, 3, 4], dtype=np.uint64)) == 0.5
    assert jaccard(np.array([], dtype=np.uint64), np.array([], dtype=np.uint64)) == 1.0


# -- signatures and bands ----------------------------------------------------------------------------------------


def _random_pair(rng: np.random.Generator, shared: int, own: int) -> pd.Series:
    vocabulary = np.array([f"w{i}" for i in range(50_000)])
    common = list(rng.choice(vocabulary, shared))
    return pd.Series(
        [" ".join(common + list(rng.choice(vocabulary, own))), " ".join(common + list(rng.choice(vocabulary, own)))]
    )


def test_signature_agreement_estimates_jaccard() -> None:
    rng = np.random.default_rng(3)
    errors = []
    for seed in range(10):
        texts = _random_pair(rng, 600, 200)
        shingles = shingle_hashes(texts, None, WORD5, STRIP, seed)
        sets = shingles.sets()
        true = jaccard(sets[0], sets[1])
        signature = signatures(shingles, 256, seed)
        errors.append(float((signature[0] == signature[1]).mean()) - true)
    # true J ≈ 0.6; one estimate's standard error is sqrt(J(1-J)/256) ≈ 0.031, the mean of 10 ≈ 0.01
    assert abs(np.mean(errors)) < 0.03
    assert np.std(errors) < 0.06


def test_signature_of_a_document_does_not_depend_on_its_batch() -> None:
    conf = NearDedupConfig()
    doc = "one two three four five six seven eight nine ten " * 20
    alone = batch_band_hashes(pd.Series([doc]), pd.Series(["en"]), conf).hashes[0]
    others = pd.Series(["x " * 3000, doc, "中文文本测试一下" * 30, ""])
    in_batch = batch_band_hashes(others, pd.Series([None, "en", "zh", "en"]), conf)
    assert np.array_equal(in_batch.hashes[1], alone)
    assert in_batch.has_shingles.tolist() == [True, True, True, False]
    # Worked through in slices of at most 100 characters (one document each): same result.
    sliced = batch_band_hashes(others, pd.Series([None, "en", "zh", "en"]), conf, max_chars=100)
    assert np.array_equal(sliced.hashes, in_batch.hashes)
    assert sliced.has_shingles.tolist() == in_batch.has_shingles.tolist()


def test_identical_texts_share_every_band_and_different_texts_none() -> None:
    conf = NearDedupConfig()
    texts = pd.Series(["Same words, in the same order here.", "same words in the same order here", "other text"])
    hashes = batch_band_hashes(texts, None, conf).hashes
    assert hashes.shape == (3, 16)  # 16 bands x 7 rows: the defaults
    assert np.array_equal(hashes[0], hashes[1])  # equal after lower-casing and stripping punctuation
    assert not np.isin(hashes[2], hashes[0]).any()


def test_band_hashes_depend_on_every_row_of_the_band() -> None:
    signature = np.zeros((2, 8), dtype=np.uint32)
    signature[1, 3] = 1  # one row of band 0 (rows 0..3) differs
    hashes = band_hashes(signature, bands=2, rows=4, seed=5)
    assert hashes[0, 0] != hashes[1, 0] and hashes[0, 1] == hashes[1, 1]


def test_seed_changes_the_hash_functions() -> None:
    texts = pd.Series(["alpha beta gamma delta epsilon zeta eta theta"])
    one = batch_band_hashes(texts, None, NearDedupConfig(seed=1)).hashes
    two = batch_band_hashes(texts, None, NearDedupConfig(seed=2)).hashes
    assert not np.array_equal(one, two)
