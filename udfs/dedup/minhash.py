"""MinHash signatures and LSH band hashes for a whole batch of documents at once, in numpy.

Pipeline for one batch (no Python loop over shingles or permutations):

1. every text is lower-cased (pandas), then the batch is concatenated into one array of code points;
   punctuation / digits are dropped and whitespace runs collapsed by masks over that array (the Unicode category
   of each *distinct* code point of the batch is looked up once);
2. shingles are substrings of that array: ``n`` consecutive characters (zh/ja/ko) or ``n`` consecutive words
   (space-separated scripts). Each is hashed in O(1) from prefix sums of a polynomial rolling hash modulo 2**64
   (``sum c_t * B**t``, shifted back by ``B**-i``; ``B`` is odd, hence invertible), then whitened with the
   splitmix64 finalizer and cut to 32 bits;
3. the ``num_perm`` permutations ``(a*h + b) mod 2**64 >> 32`` (multiply-shift hashing) are one broadcast over a
   chunk of shingles × permutations, and the per-document minimum is a segmented ``np.minimum.reduceat``;
4. each band of ``rows`` signature values is folded into a 64-bit bucket hash (random odd multipliers, summed
   modulo 2**64, whitened again).

Everything derives from ``seed``: executors and later runs that share an index compute identical values.
Polynomial hashing modulo 2**64 is known to collide on long Thue–Morse-like strings; shingles are short, so this
does not matter here.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
import pandas as pd

from udfs.dedup.config import NearDedupConfig, ShingleConfig, TextKeyConfig
from udfs.scripts import CJK_OTHER_RANGES, SCRIPT_RANGES, in_ranges

# Characters per slice of a batch in batch_band_hashes (~60 bytes of temporaries per character: ~250 MB).
_MAX_BATCH_CHARS = 4_000_000

# Han, Kana, Hangul and the CJK characters of no one script (udfs.scripts: the one table of script ranges).
_CJK_RANGES = SCRIPT_RANGES["han"] + SCRIPT_RANGES["kana"] + SCRIPT_RANGES["hangul"] + CJK_OTHER_RANGES


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer: a bijection on uint64 that spreads every input bit over the output."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class HashFunctions:
    """All random constants, derived from one seed."""

    base: np.uint64
    base_inverse: np.uint64
    perm_a: np.ndarray  # (num_perm,) odd uint64
    perm_b: np.ndarray  # (num_perm,) uint64
    band_multipliers: np.ndarray  # (rows,) odd uint64

    @staticmethod
    @lru_cache(maxsize=16)
    def from_seed(seed: int, num_perm: int, rows: int) -> HashFunctions:
        rng = np.random.default_rng(seed)
        base = int(rng.integers(1 << 20, 1 << 62)) | 1
        perm_a = rng.integers(0, 1 << 63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        perm_b = rng.integers(0, 1 << 64, size=num_perm, dtype=np.uint64)
        multipliers = rng.integers(0, 1 << 63, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        return HashFunctions(
            base=np.uint64(base),
            base_inverse=np.uint64(pow(base, -1, 1 << 64)),
            perm_a=perm_a,
            perm_b=perm_b,
            band_multipliers=multipliers,
        )


# ---------------------------------------------------------------------------------------------------------------
# Text → code points
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class CodePoints:
    """A batch of normalized texts as one code-point array; document ``i`` is ``chars[starts[i]:ends[i]]``."""

    chars: np.ndarray  # uint32
    starts: np.ndarray  # int64
    ends: np.ndarray  # int64

    @property
    def doc_of_char(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.starts)), self.ends - self.starts)


_SPACE, _PUNCT, _DIGIT = 1, 2, 4


def _classes(code_points: np.ndarray) -> np.ndarray:
    """Class bits (space / punctuation-or-symbol / digit) of each code point, from its Unicode category."""
    out = np.zeros(len(code_points), dtype=np.uint8)
    for i, c in enumerate(code_points.tolist()):
        category = unicodedata.category(chr(c))
        if category[0] == "Z" or category == "Cc":
            out[i] = _SPACE
        elif category[0] in "PS":
            out[i] = _PUNCT
        elif category[0] == "N":
            out[i] = _DIGIT
    return out


@lru_cache(maxsize=1)
def _bmp_classes() -> np.ndarray:
    """Class bits of the whole Basic Multilingual Plane, built once per process (~50 ms)."""
    return _classes(np.arange(0x10000, dtype=np.uint32))


def _category_classes(chars: np.ndarray) -> np.ndarray:
    """Class bits (space / punctuation-or-symbol / digit) per code point: a table lookup, astral planes looked up
    apart."""
    classes = _bmp_classes()[np.minimum(chars, 0xFFFF)]
    astral = chars > 0xFFFF
    if astral.any():
        unique, inverse = np.unique(chars[astral], return_inverse=True)
        classes[astral] = _classes(unique)[inverse]
    return classes


def normalized_code_points(texts: pd.Series, text_key: TextKeyConfig) -> CodePoints:
    """Normalize a batch of texts per ``text_key`` into a :class:`CodePoints` (every whitespace becomes a space)."""
    texts = texts.fillna("").astype(str)
    if text_key.lowercase:
        texts = texts.str.lower()
    counts = texts.str.len().to_numpy(dtype=np.int64)
    joined = "".join(texts.tolist())
    chars = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if len(chars) == 0:
        return CodePoints(chars, np.zeros(len(counts), dtype=np.int64), np.zeros(len(counts), dtype=np.int64))
    from udfs.kernels import dedup_normalize

    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    chars, starts, ends = dedup_normalize(chars, offsets, _category_classes(chars), text_key.strip_punctuation,
                                          text_key.strip_digits, text_key.collapse_whitespace)
    return CodePoints(chars, starts, ends)


def normalized_texts(texts: pd.Series, text_key: TextKeyConfig) -> list[str]:
    """Each text normalized per ``text_key``, as a string: the one normalization of dedup (Unicode categories and
    whitespace, not the ASCII-only classes of Java regexes)."""
    points = normalized_code_points(texts, text_key)
    data = points.chars.tobytes()
    return [
        data[4 * start : 4 * end].decode("utf-32-le", "surrogatepass")
        for start, end in zip(points.starts.tolist(), points.ends.tolist(), strict=True)
    ]


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def exact_keys(texts: pd.Series, text_key: TextKeyConfig) -> list[bytes]:
    """SHA-256 (32 bytes) of each text normalized per ``text_key``: the exact-dedup key, the same function in the
    sharded pass and the one-pass stage (an empty text has a key too: all empty pages are one another's copies)."""
    return [_sha256(text) for text in normalized_texts(texts, text_key)]


def paragraph_keys(lines: pd.DataFrame, text_key: TextKeyConfig, min_chars: int) -> pd.DataFrame:
    """Paragraph dedup's keys: ``lines`` (``id``, ``pos``, ``line``) → (``id``, ``pos``, ``_key``), the SHA-256 of
    each line normalized per ``text_key``, for the lines that can be removed: not empty once normalized and at least
    ``min_chars`` long."""
    normalized = normalized_texts(lines["line"], text_key)
    keep = np.fromiter((len(t) > 0 and len(t) >= min_chars for t in normalized), dtype=bool, count=len(normalized))
    return pd.DataFrame({
        "id": lines["id"].to_numpy()[keep],
        "pos": lines["pos"].to_numpy()[keep],
        "_key": [_sha256(t) for t, k in zip(normalized, keep.tolist(), strict=True) if k],
    })


def cjk_share(points: CodePoints) -> np.ndarray:
    """Share of non-space characters of each document that are Han, Kana or Hangul."""
    chars = points.chars
    cjk = in_ranges(chars, _CJK_RANGES)
    doc = points.doc_of_char
    n_docs = len(points.starts)
    non_space = np.bincount(doc, weights=(chars != 32), minlength=n_docs)
    cjk_count = np.bincount(doc, weights=cjk, minlength=n_docs)
    return np.divide(cjk_count, non_space, out=np.zeros(n_docs), where=non_space > 0)


# ---------------------------------------------------------------------------------------------------------------
# Shingles
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Shingles:
    """32-bit shingle hashes of a batch, grouped by document: ``hashes[offsets[i]:offsets[i+1]]`` is doc ``i``."""

    hashes: np.ndarray  # uint64 holding 32-bit values
    doc: np.ndarray  # int64, non-decreasing
    n_docs: int

    @property
    def offsets(self) -> np.ndarray:
        return np.searchsorted(self.doc, np.arange(self.n_docs + 1)).astype(np.int64)

    def sets(self) -> list[np.ndarray]:
        """Distinct shingle hashes per document (sorted)."""
        offsets = self.offsets
        return [sorted_unique(self.hashes[offsets[i] : offsets[i + 1]]) for i in range(self.n_docs)]


def _substring_hashes(
    prefix: np.ndarray, inverse_powers: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Hash of ``chars[start:end]``: ``sum c_t B**t`` over the span times ``B**-start``, i.e. ``sum c_t B**(t-start)``,
    which depends on the characters only, not on where the span sits in the batch."""
    with np.errstate(over="ignore"):
        raw = (prefix[end] - prefix[start]) * inverse_powers[start]
    return _splitmix64(raw) >> np.uint64(32)


def _char_spans(points: CodePoints, docs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spans of every character n-gram of ``docs``; a shorter non-empty document is one span."""
    starts, ends = points.starts[docs], points.ends[docs]
    lengths = ends - starts
    counts = np.where(lengths >= n, lengths - n + 1, (lengths > 0).astype(np.int64))
    owner = np.repeat(docs, counts)
    first = np.repeat(starts, counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    span_start = first + within
    span_end = np.minimum(span_start + n, np.repeat(ends, counts))
    return owner, span_start, span_end


def _word_spans(
    points: CodePoints, docs: np.ndarray, n: int, doc_of_char: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spans of every word n-gram of ``docs`` (words = maximal runs of non-space characters)."""
    selected = np.zeros(len(points.starts), dtype=bool)
    selected[docs] = True
    chars = points.chars
    word = chars != 32
    begins = word.copy()
    begins[1:] &= ~word[:-1] | (doc_of_char[1:] != doc_of_char[:-1])
    finishes = word.copy()
    finishes[:-1] &= ~word[1:] | (doc_of_char[1:] != doc_of_char[:-1])
    word_start = np.flatnonzero(begins & selected[doc_of_char])
    word_end = np.flatnonzero(finishes & selected[doc_of_char]) + 1
    word_doc = doc_of_char[word_start]
    words_per_doc = np.bincount(word_doc, minlength=len(points.starts))
    # n-gram k spans words k .. k+n-1 when they belong to one document.
    if len(word_start) >= n:
        last = np.arange(n - 1, len(word_start))
        same = word_doc[last] == word_doc[last - (n - 1)]
        gram_start = word_start[last - (n - 1)][same]
        gram_end = word_end[last][same]
        gram_doc = word_doc[last][same]
    else:
        gram_start = gram_end = gram_doc = np.zeros(0, dtype=np.int64)
    # Documents with 1..n-1 words become one shingle: all their words.
    short = np.flatnonzero(selected & (words_per_doc > 0) & (words_per_doc < n))
    if len(short):
        first_word = np.searchsorted(word_doc, short, side="left")
        last_word = np.searchsorted(word_doc, short, side="right") - 1
        gram_start = np.concatenate([gram_start, word_start[first_word]])
        gram_end = np.concatenate([gram_end, word_end[last_word]])
        gram_doc = np.concatenate([gram_doc, short])
    return gram_doc, gram_start, gram_end


def shingle_hashes(
    texts: pd.Series, langs: pd.Series | None, shingle: ShingleConfig, text_key: TextKeyConfig, seed: int
) -> Shingles:
    """Hash every shingle of every document of the batch (see module docstring)."""
    points = normalized_code_points(texts, text_key)
    n_docs = len(points.starts)
    functions = HashFunctions.from_seed(seed, 1, 1)
    chars = points.chars.astype(np.uint64) + np.uint64(1)  # +1: a NUL character still changes the hash
    with np.errstate(over="ignore"):
        powers = np.full(len(chars) + 1, functions.base, dtype=np.uint64)
        powers[0] = 1
        np.cumprod(powers, out=powers)
        prefix = np.empty(len(chars) + 1, dtype=np.uint64)
        prefix[0] = 0
        np.cumsum(chars * powers[:-1], out=prefix[1:])
        inverse_powers = powers  # reused in place: B**t is not needed any more
        inverse_powers.fill(functions.base_inverse)
        inverse_powers[0] = 1
        np.cumprod(inverse_powers, out=inverse_powers)

    lang_values = (
        pd.Series([None] * n_docs, dtype=object) if langs is None else langs.reset_index(drop=True).astype(object)
    )
    lang_values = lang_values.where(lang_values.notna(), None)
    if shingle.cjk_fallback is not None:
        unknown = lang_values.isna().to_numpy()
        if unknown.any():
            mostly_cjk = cjk_share(points) >= shingle.min_cjk_share
            lang_values = lang_values.mask(pd.Series(unknown & mostly_cjk), shingle.cjk_fallback)
    rules = lang_values.map(lambda lang: shingle.rule_for(lang))

    doc_of_char = points.doc_of_char
    owners, span_starts, span_ends = [], [], []
    for rule in set(rules):
        docs = np.flatnonzero((rules == rule).to_numpy())
        if rule.unit == "char":
            owner, start, end = _char_spans(points, docs, rule.n)
        else:
            owner, start, end = _word_spans(points, docs, rule.n, doc_of_char)
        owners.append(owner)
        span_starts.append(start)
        span_ends.append(end)
    if not owners:
        return Shingles(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), n_docs)
    owner = np.concatenate(owners).astype(np.int64)
    start = np.concatenate(span_starts).astype(np.int64)
    end = np.concatenate(span_ends).astype(np.int64)
    order = np.argsort(owner, kind="stable")
    hashes = _substring_hashes(prefix, inverse_powers, start[order], end[order])
    return Shingles(hashes, owner[order], n_docs)


# ---------------------------------------------------------------------------------------------------------------
# Signatures and bands
# ---------------------------------------------------------------------------------------------------------------


def signatures(shingles: Shingles, num_perm: int, seed: int) -> np.ndarray:
    """(n_docs, num_perm) uint32 MinHash signatures; a document without shingles gets all 0xFFFFFFFF.

    Permutation ``i`` of a 32-bit shingle hash ``h`` is ``((a_i * h + b_i) mod 2**64) >> 32`` with random 64-bit
    ``a_i`` (odd) and ``b_i``: the multiply-shift family, universal for 32-bit outputs and three operations per cell
    (a Mersenne-prime modulus costs five more), in one compiled loop (:func:`udfs.kernels.minhash_signatures`).
    """
    from udfs.kernels import minhash_signatures

    functions = HashFunctions.from_seed(seed, num_perm, 1)
    return minhash_signatures(shingles.hashes, shingles.doc, shingles.n_docs, functions.perm_a, functions.perm_b)


def band_hashes(signature: np.ndarray, bands: int, rows: int, seed: int) -> np.ndarray:
    """(n_docs, bands) int64 bucket hashes, one per band of ``rows`` consecutive signature values."""
    multipliers = HashFunctions.from_seed(seed, 1, rows).band_multipliers
    grouped = signature[:, : bands * rows].reshape(len(signature), bands, rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        folded = (grouped * multipliers[None, None, :]).sum(axis=2, dtype=np.uint64)
    return _splitmix64(folded).view(np.int64)


@dataclass
class BandHashes:
    hashes: np.ndarray
    """(n_docs, bands) int64 bucket hashes."""
    has_shingles: np.ndarray
    """(n_docs,) bool: false for documents empty after normalization (their row is meaningless)."""
    sketches: list[bytes | None]
    """Bottom-k sketch of each document (packed sorted uint32, None without shingles): the compact stand-in for
    the text when candidate pairs are verified without it (see :func:`sketch_similarity`)."""


def _slices(lengths: np.ndarray, max_chars: int) -> list[slice]:
    """Consecutive runs of documents of at most ``max_chars`` characters in all (a longer document alone)."""
    bounds, total = [0], 0
    for i, length in enumerate(lengths.tolist()):
        if total and total + length > max_chars:
            bounds.append(i)
            total = 0
        total += length
    bounds.append(len(lengths))
    return [slice(a, b) for a, b in pairwise(bounds) if b > a]


def batch_band_hashes(
    texts: pd.Series,
    langs: pd.Series | None,
    conf: NearDedupConfig,
    max_chars: int = _MAX_BATCH_CHARS,
    sketch_size: int = 0,
) -> BandHashes:
    """The pure batch function behind the Spark stage: texts (+ languages, may be None) → LSH bucket hashes.

    The batch is worked through in slices of about ``max_chars`` characters: the temporaries take ~60 bytes per
    character, so an Arrow batch of long pages does not blow up a Python worker. ``sketch_size`` > 0 also returns
    each document's bottom-k sketch.
    """
    bands, rows = conf.lsh_params()
    texts = texts.reset_index(drop=True)
    langs = None if langs is None else langs.reset_index(drop=True)
    hashes = np.zeros((len(texts), bands), dtype=np.int64)
    has_shingles = np.zeros(len(texts), dtype=bool)
    sketches: list[bytes | None] = [None] * len(texts)
    for part in _slices(texts.fillna("").str.len().to_numpy(), max_chars):
        shingles = shingle_hashes(
            texts[part], None if langs is None else langs[part], conf.shingle, conf.text_key, conf.seed
        )
        signature = signatures(shingles, conf.num_perm, conf.seed)
        hashes[part] = band_hashes(signature, bands, rows, conf.seed)
        has_shingles[part] = np.bincount(shingles.doc, minlength=shingles.n_docs) > 0
        if sketch_size:
            sketches[part] = bottom_k_sketches(shingles, sketch_size)
    return BandHashes(hashes, has_shingles, sketches)


def band_rows(batch: pd.DataFrame, conf: NearDedupConfig) -> pd.DataFrame:
    """(``id``, ``band``, ``bucket``) of every document of ``batch`` (``id``, ``text``, ``lang``; ``lang`` may be
    all null) with at least one shingle: the rows the LSH buckets are grouped from."""
    bands, _ = conf.lsh_params()
    result = batch_band_hashes(batch["text"], batch["lang"], conf)
    keep = result.has_shingles
    ids = batch["id"].to_numpy()[keep]
    return pd.DataFrame(
        {
            "id": np.repeat(ids, bands),
            "band": np.tile(np.arange(bands, dtype=np.int32), len(ids)),
            "bucket": result.hashes[keep].reshape(-1),
        }
    )


def verified_text_pairs(pairs: pd.DataFrame, conf: NearDedupConfig) -> pd.DataFrame:
    """The candidate pairs (``src``, ``dst``, ``src_text``, ``dst_text``, ``lang``) whose shingle Jaccard reaches
    :meth:`NearDedupConfig.verify_cutoff`, as (``src``, ``dst``). A pair missing a text (a document of the band
    index) is kept on the LSH evidence alone."""
    known = (pairs["src_text"].notna() & pairs["dst_text"].notna()).to_numpy()
    keep = ~known
    if known.any():
        part = pairs.loc[known]
        similarity = pair_jaccard(part["src_text"], part["dst_text"], part["lang"], conf)
        keep[np.flatnonzero(known)] = similarity >= conf.verify_cutoff()
    return pairs.loc[keep, ["src", "dst"]]


def verified_sketch_pairs(pairs: pd.DataFrame, conf: NearDedupConfig) -> pd.DataFrame:
    """The candidate pairs (``src``, ``dst``, ``src_sig``, ``dst_sig``) whose bottom-k sketches give a Jaccard that
    reaches :meth:`NearDedupConfig.verify_cutoff`, as (``src``, ``dst``): the text-free check of the sharded
    pipeline. A pair missing a sketch (a document of the band index) is kept on the LSH evidence alone."""
    similarity = sketch_similarity(pairs["src_sig"].tolist(), pairs["dst_sig"].tolist(), conf.verify_sketch_size)
    keep = np.isnan(similarity) | (similarity >= conf.verify_cutoff())
    return pairs.loc[keep, ["src", "dst"]]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: ``np.unique`` without its overhead (numpy 2's ``unique`` of a large integer
    array measured ~10× slower than a stable sort and a mask, which is what the sketches and shingle sets need)."""
    ordered = np.sort(values, kind="stable")
    if len(ordered) < 2:
        return ordered
    distinct = np.empty(len(ordered), dtype=bool)
    distinct[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=distinct[1:])
    return ordered[distinct]


def bottom_k_sketches(shingles: Shingles, k: int) -> list[bytes | None]:
    """The ``k`` smallest distinct shingle hashes of each document, sorted and packed as uint32 (None: no shingle).

    One sort of (document, hash) keys for the whole batch; a document's rank of a hash is its position minus the
    position of the document's first key.
    """
    keys = sorted_unique((shingles.doc.astype(np.uint64) << np.uint64(32)) | shingles.hashes.astype(np.uint64))
    docs = (keys >> np.uint64(32)).astype(np.int64)
    values = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    first = np.searchsorted(docs, np.arange(shingles.n_docs))
    rank = np.arange(len(keys)) - first[docs]
    keep = rank < k
    docs, values = docs[keep], values[keep]
    bounds = np.searchsorted(docs, np.arange(shingles.n_docs + 1))
    return [values[bounds[i] : bounds[i + 1]].tobytes() if bounds[i + 1] > bounds[i] else None
            for i in range(shingles.n_docs)]


def sketch_similarity(left: list[bytes | None], right: list[bytes | None], k: int) -> np.ndarray:
    """Jaccard of each (left, right) pair from their bottom-k sketches (NaN where one is missing).

    The ``k`` smallest hashes of the union of the two sketches are a uniform sample of the union of the two sets;
    the share of them found in both sketches estimates the Jaccard, exactly when both sets have at most ``k``.
    """
    out = np.full(len(left), np.nan)
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        if a is None or b is None:
            continue
        first, second = np.frombuffer(a, dtype=np.uint32), np.frombuffer(b, dtype=np.uint32)
        union = sorted_unique(np.concatenate([first, second]))[:k]
        both = np.isin(union, first, assume_unique=True) & np.isin(union, second, assume_unique=True)
        out[i] = both.sum() / len(union) if len(union) else 1.0
    return out


def jaccard(left: np.ndarray, right: np.ndarray) -> float:
    """Jaccard similarity of two sorted arrays of distinct hashes (two empty sets: 1.0)."""
    union = len(left) + len(right)
    if union == 0:
        return 1.0
    common = len(np.intersect1d(left, right, assume_unique=True))
    return common / (union - common)


def pair_jaccard(
    left_texts: pd.Series, right_texts: pd.Series, langs: pd.Series | None, conf: NearDedupConfig
) -> np.ndarray:
    """True Jaccard of the shingle sets of each (left, right) pair; both sides use the left document's language."""
    n = len(left_texts)
    texts = pd.concat([left_texts.reset_index(drop=True), right_texts.reset_index(drop=True)], ignore_index=True)
    both_langs = None if langs is None else pd.concat([langs.reset_index(drop=True)] * 2, ignore_index=True)
    sets = shingle_hashes(texts, both_langs, conf.shingle, conf.text_key, conf.seed).sets()
    return np.array([jaccard(sets[i], sets[n + i]) for i in range(n)], dtype=np.float64)
