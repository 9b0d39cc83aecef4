"""The compiled loops of udfs/kernels.py against plain-Python statements of what they compute, on seeded random
inputs small enough to brute-force (short vocabularies, so n-grams repeat and overlap)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from udfs.kernels import minhash_signatures, ngram_repetition, split_words
from udfs.quality.text import _SPACE_TABLE, NGRAM_MIX
from udfs.scripts import cjk_table, letter_table, word_char_table

TOP_SIZES, MAX_SIZE = 3, 10


def repetition_by_brute_force(words: list[str]) -> tuple[list[float], list[float]]:
    """Gopher's numerators for one document, straight from the definition (n-grams as tuples of words)."""
    top, dup = [0.0] * (MAX_SIZE - 1), [0.0] * (MAX_SIZE - 1)
    for size in range(2, MAX_SIZE + 1):
        grams = [tuple(words[i : i + size]) for i in range(len(words) - size + 1)]
        counts = Counter(grams)
        if size <= TOP_SIZES + 1:
            top[size - 2] = max((c * sum(map(len, g)) for g, c in counts.items() if c > 1), default=0)
        else:
            seen: set[tuple[str, ...]] = set()
            covered = [False] * len(words)
            for i, gram in enumerate(grams):
                if gram in seen:
                    covered[i : i + size] = [True] * size
                seen.add(gram)
            dup[size - 2] = sum(len(w) for w, c in zip(words, covered, strict=True) if c)
    return top, dup


def test_ngram_repetition_matches_the_definition() -> None:
    rng = np.random.default_rng(7)
    vocabulary = ["a", "bb", "ccc", "dd", "e"]
    documents = [[vocabulary[k] for k in rng.integers(0, size, length)]
                 for size, length in [(2, 40), (3, 25), (5, 60), (1, 12), (4, 1), (5, 0), (2, 11)]]
    texts = [" ".join(words) for words in documents]
    offsets = np.concatenate(([0], np.cumsum([len(t) for t in texts])))
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    doc, length, codes, _, _ = split_words(points, offsets, np.zeros(len(texts), dtype=bool), _SPACE_TABLE,
                                           cjk_table(), word_char_table(), letter_table(), np.uint64(31),
                                           np.uint64(0xBF58476D1CE4E5B9), 4096)
    word_offsets = np.concatenate(([0], np.cumsum(np.bincount(doc, minlength=len(texts)))))
    top, dup = ngram_repetition(word_offsets, length, codes, NGRAM_MIX, TOP_SIZES, MAX_SIZE)
    for d, words in enumerate(documents):
        expected_top, expected_dup = repetition_by_brute_force(words)
        assert top[:, d].tolist() == expected_top
        assert dup[:, d].tolist() == expected_dup


def test_split_words_cjk_characters_are_words_and_other_runs_are_one() -> None:
    texts = ["ab  c\td", "长江abc很长 x"]
    offsets = np.concatenate(([0], np.cumsum([len(t) for t in texts])))
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    doc, length, codes, real, alpha = split_words(points, offsets, np.array([False, True]), _SPACE_TABLE,
                                                  cjk_table(), word_char_table(), letter_table(),
                                                  np.uint64(31), np.uint64(7), 4096)
    assert doc.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert length.tolist() == [2, 1, 1, 1, 1, 3, 1, 1, 1]
    assert real.all() and alpha.all()
    assert codes[3] == codes[7] and codes[3] != codes[4]  # 长 twice in document 1: one code


def test_minhash_signatures_are_the_least_permuted_hash_per_document() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 1 << 32, 50, dtype=np.uint64)
    doc = np.sort(rng.integers(0, 4, 50)).astype(np.int64)  # document 4 has no shingles
    a = rng.integers(0, 1 << 63, 16, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 1 << 63, 16, dtype=np.uint64)
    out = minhash_signatures(hashes, doc, 5, a, b)
    permuted = ((hashes[:, None] * a[None, :] + b[None, :]) >> np.uint64(32)).astype(np.uint32)
    for d in range(4):
        assert out[d].tolist() == permuted[doc == d].min(axis=0).tolist()
    assert out[4].tolist() == [0xFFFFFFFF] * 16


def test_kept_lines_count_words_and_sentence_ends_as_the_patterns_do() -> None:
    """The C4 loop's counts on the kept text against the regexes that define them, on pages with CJK and Latin
    punctuation, closers, ellipses and runs that are not sentence ends."""
    from udfs.quality.c4 import keep_lines
    from udfs.quality.config import QualityConfig
    from udfs.quality.text import sentence_end_pattern, word_pattern

    pages = [
        "First sentence here. Second one!) And a third?\nWhy.. not?! \"Quoted.\" end",
        "长江很长。黄河也长！”真的吗？？」\n河流 abc. def!x 城市。",
        "No end here\n\n\nA list: one, two... three… four.",
        "Mixed.) then.x and (this). [that.]\t tab.",
        "",
    ]
    cjk = np.array([False, True, False, True, False])
    kept = keep_lines(pages, cjk, np.zeros(len(pages), dtype=np.int64), QualityConfig().families["c4"])
    flags = cjk.tolist()
    assert kept.words.tolist() == [len(word_pattern(c).findall(t)) for t, c in zip(kept.texts, flags, strict=True)]
    assert kept.sentences.tolist() == [
        len(sentence_end_pattern(c).findall(t)) for t, c in zip(kept.texts, flags, strict=True)
    ]
    assert kept.sentences.sum() > 0 and kept.removed.sum() > 0


def test_langid_cleaning_loop_matches_the_regex() -> None:
    """The compiled clean-up of langid's input against the regex form (``clean_for_langid``) on URLs, tags,
    entities, digits in several scripts, white space and cut-offs, and a page with "@" (the regex path)."""
    import re

    from udfs.langid import clean_batch_for_langid, clean_for_langid

    texts = [
        "see https://x.y/z and http:// and https:/ no www. www.a.b <b>bold</b> <> <" + "x" * 300 + "> &amp; &; &a b",
        "12_3 ٣٤ _ a hhttp://a httpss://b http://\tx www.\nq <a\nb>c &nbsp;d",
        "<" + "y" * 199 + ">z <" + "y" * 200 + ">w",
        " lead  trail ", "", "1234 5678", "write to x@y.z or visit www.example.org today",
        "ab cd " * 500, "é" * 1999 + " x", "² ³ ½ 2²",
    ]
    for max_chars in (2000, 150, 5, 1):
        cleaned, has_letter = clean_batch_for_langid(texts, max_chars)
        assert cleaned == [clean_for_langid(t, max_chars) for t in texts]
        assert has_letter.tolist() == [re.search(r"[^\W\d_]", t) is not None for t in cleaned]


def test_stop_word_loop_matches_the_case_insensitive_whole_word_regex() -> None:
    """Gopher's stop-word count in the compiled loop against ``stop_word_pattern``: word boundaries in any script,
    and the characters ``re`` matches ignoring case besides the plain upper case (Kelvin sign, long s, dotless and
    dotted i)."""
    from types import SimpleNamespace

    from udfs.quality.gopher_quality import _folded_words, count_stop_words, stop_word_pattern
    from udfs.quality.text import BatchPoints

    pages = ["The THE tHe the, (the) theé éthe the_ _the the2 wıth WİTH with", "ſo K haveK have KS", "and-that that's",
             "", "the"]
    docs = SimpleNamespace(page=pages, points=BatchPoints.of(pages))
    for words in [("the", "be", "to", "of", "and", "that", "have", "with"), ("a", "an", "and"), ("k", "so", "s")]:
        assert _folded_words(words) is not None
        expected = [len(stop_word_pattern(words).findall(page)) for page in pages]
        assert count_stop_words(docs, list(range(len(pages))), words) == expected
    assert _folded_words(("x-y",)) is None  # a non-word character: the regex counts it


def test_dedup_text_key_matches_its_definition_by_unicode_category() -> None:
    """Dedup's normalization (udfs.dedup.minhash) against the definition by category: Z* and Cc are white space,
    P* and S* punctuation and symbols, N* digits; astral characters (an emoji, a Han extension) included."""
    import unicodedata

    import pandas as pd

    from udfs.dedup.config import TextKeyConfig
    from udfs.dedup.minhash import normalized_texts

    texts = ["  Hello,\tWorld!  ", "a , b\u3000\u3000c ٣ 4x", "\U0001F600 smile \U00020000 ok.", "", "   ", "MiXeD"]

    def by_category(text: str, key: TextKeyConfig) -> str:
        out = []
        for ch in text.lower() if key.lowercase else text:
            category = unicodedata.category(ch)
            if category[0] == "Z" or category == "Cc":
                out.append(" ")
            elif not ((category[0] in "PS" and key.strip_punctuation) or (category[0] == "N" and key.strip_digits)):
                out.append(ch)
        spaced = "".join(out)
        return " ".join(part for part in spaced.split(" ") if part) if key.collapse_whitespace else spaced

    for key in (TextKeyConfig(), TextKeyConfig(strip_punctuation=True), TextKeyConfig(strip_digits=True),
                TextKeyConfig(lowercase=False, collapse_whitespace=False, strip_punctuation=True)):
        assert normalized_texts(pd.Series(texts), key) == [by_category(t, key) for t in texts]


def test_bad_word_loop_counts_as_count_badwords() -> None:
    """Bad words by token hashes (single words) and phrase candidates (all words present, then the phrase's regex)
    against count_badwords, the one-text form, in English (phrases), Spanish and French (words only), a language
    without a list (NaN) and Chinese (substrings, the regex path)."""
    from udfs.quality.badwords import badword_ratios, count_badwords

    texts = ["Fuck this shit, FUCK! two girls one cup, 2 girls 1 cup; girls one two cup", "plain clean text here",
             "mierda MIERDA mierdas", "merde alors", "nothing at all", "他妈的 傻逼 妈妈的",
             "Ass-hole ass hole asshole"]
    langs = ["en", "en", "es", "fr", "xx", "zh", "en"]
    words = np.array([len(t.split()) or 1 for t in texts])
    ratios = badword_ratios(texts, langs, words, ("zh", "ja"), True, {"zh": ("妈妈的",)})["badwords_ratio"]
    expected = [count_badwords(t, lang, lang in ("zh", "ja"), True, ("妈妈的",) if lang == "zh" else ()) / n
                for t, lang, n in zip(texts, langs, words, strict=True)]
    assert np.array_equal(ratios, np.array(expected), equal_nan=True)
    assert ratios[0] > 0 and ratios[1] == 0 and np.isnan(ratios[4])
