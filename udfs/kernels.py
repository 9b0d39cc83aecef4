"""Compiled loops (numba) for the per-character and per-word work of the shard pass: the quality rules' word and
line split, Gopher's n-gram repetition and stop words, C4's line clean-up, language ID's input clean-up, dedup's
text key and MinHash signatures.

Why compiled: the profile of the fused pass (bench/document_pass_profile.py under py-spy) showed each of these as
a dozen whole-array numpy passes, or a regex and a Python loop per page or per line. One loop per document does the
same work in one pass over the batch's code points.

The kernels compile on first call in each Python worker (not at import: a few CPU-seconds for all of them), and
numba caches the machine code on disk, so later workers and runs on the node load it instead. The cache goes to
``NUMBA_CACHE_DIR``; when that is unset, to a folder of the node's temporary directory (numba refuses a cached
function it has nowhere to write). Semantics are those of the code they replaced, down to the hash functions and
the regexes' matching rules (tests/test_kernels.py checks each against its definition), so the scores are identical.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

# Read by numba when it is first imported, just below.
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "cc-refinery-numba"))

import numba.core.entrypoints
from numba import njit

# numba runs every installed package's ``numba_extensions`` hook before its first compile or cache load. These
# kernels use none, and awkward's hook (awkward comes with gigatoken, the token counter) imports all of awkward:
# 0.3 s more per Python worker. Marked as done, the hooks are skipped (a numba that renames the flag only costs the
# 0.3 s again).
numba.core.entrypoints._already_initialized = True


def _cache_writable() -> bool:
    """Whether numba can keep this module's machine code. For a source file it writes under ``NUMBA_CACHE_DIR``.
    For a module read from a zip (``--py-files`` on a cluster) numba picks the user's cache folder itself, which a
    container may not be allowed to create: then every worker compiles, uncached, instead of failing its task."""
    if ".zip" not in __file__:
        return True
    from numba.misc.appdirs import AppDirs

    folder = AppDirs(appname="numba", appauthor=False).user_cache_dir
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


_CACHE = _cache_writable()

_UINT64 = np.uint64


@njit(cache=_CACHE, nogil=True)
def split_words(
    points: np.ndarray,
    doc_offsets: np.ndarray,
    cjk_doc: np.ndarray,
    space: np.ndarray,
    cjk_char: np.ndarray,
    word_char: np.ndarray,
    letter: np.ndarray,
    word_mix: np.uint64,
    doc_mix: np.uint64,
    max_weighted: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per word of every document: (document, length, code, has a word character, has a letter).

    A word is a run of non-space characters; in a CJK document (``cjk_doc``) each Han/Kana character is a word of
    its own and ends the run before it. ``code`` is ``sum((point + 1) * word_mix ** min(offset, max_weighted))``
    over the word's characters, xor ``document * doc_mix`` (mod 2**64), so equal words of one document get equal
    codes and words of different documents never do. ``space`` covers the low code points (above it: not space).
    """
    total = len(points)
    doc_out = np.empty(total, dtype=np.int64)
    length_out = np.empty(total, dtype=np.int64)
    code_out = np.empty(total, dtype=np.uint64)
    real_out = np.empty(total, dtype=np.bool_)
    alpha_out = np.empty(total, dtype=np.bool_)
    space_size = len(space)
    one = _UINT64(1)
    words = 0
    for d in range(len(doc_offsets) - 1):
        is_cjk = cjk_doc[d]
        in_word = False
        weight = one
        for p in range(doc_offsets[d], doc_offsets[d + 1]):
            c = points[p]
            if c < space_size and space[c]:
                in_word = False
                continue
            own = is_cjk and cjk_char[c]
            if own or not in_word:
                doc_out[words] = d
                length_out[words] = 0
                code_out[words] = _UINT64(0)
                real_out[words] = own
                alpha_out[words] = own
                words += 1
                weight = one
            w = words - 1
            code_out[w] += (_UINT64(c) + one) * weight
            length_out[w] += 1
            if word_char[c]:
                real_out[w] = True
            if letter[c]:
                alpha_out[w] = True
            offset = length_out[w]
            if offset <= max_weighted:
                weight = weight * word_mix
            # A Han/Kana character of a CJK document is a word by itself: the next character starts another.
            in_word = not own
    for w in range(words):
        code_out[w] ^= _UINT64(doc_out[w]) * doc_mix
    return doc_out[:words], length_out[:words], code_out[:words], real_out[:words], alpha_out[:words]


@njit(cache=_CACHE, nogil=True)
def _slot(key: np.uint64, mask: int) -> int:
    # The n-gram hashes are products with an odd constant: their high bits are the mixed ones (32 of them).
    return np.int64((key * _UINT64(0x9E3779B97F4A7C15)) >> _UINT64(32)) & mask


@njit(cache=_CACHE, nogil=True)
def ngram_repetition(
    word_offsets: np.ndarray, length: np.ndarray, codes: np.ndarray, mix: np.uint64, top_sizes: int, max_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gopher's n-gram repetition numerators per document, for n = 2 .. ``max_size``.

    Returns ``top[n - 2, d]``: the most characters one repeated n-gram covers (occurrences x its characters) for
    n = 2 .. ``top_sizes + 1``, and ``dup[n - 2, d]``: the characters of the words covered by a second or later
    occurrence of any n-gram (each word counted once). N-grams compare by a polynomial hash over the word codes
    (``h(1) = code * mix + 1``, ``h(n) = h(n - 1) * mix + next code``). An n-gram can only occur twice if its
    (n - 1)-gram prefix does, so each size only looks at the survivors of the previous one.
    """
    n_docs = len(word_offsets) - 1
    top = np.zeros((max_size - 1, n_docs), dtype=np.float64)
    dup = np.zeros((max_size - 1, n_docs), dtype=np.float64)
    longest = 0
    for d in range(n_docs):
        longest = max(longest, word_offsets[d + 1] - word_offsets[d])
    capacity = 1
    while capacity < 2 * longest:
        capacity *= 2
    keys = np.empty(capacity, dtype=np.uint64)
    stamp = np.full(capacity, -1, dtype=np.int64)
    counts = np.empty(capacity, dtype=np.int64)
    first = np.empty(capacity, dtype=np.int64)
    hashes = np.empty(longest, dtype=np.uint64)
    candidates = np.empty(longest, dtype=np.int64)
    slots = np.empty(longest, dtype=np.int64)
    cumulative = np.zeros(longest + 1, dtype=np.int64)
    coverage = np.zeros(longest + 1, dtype=np.int64)
    one = _UINT64(1)
    generation = 0
    for d in range(n_docs):
        start = word_offsets[d]
        m = word_offsets[d + 1] - start
        if m < 2:
            continue
        for i in range(m):
            cumulative[i + 1] = cumulative[i] + length[start + i]
            hashes[i] = codes[start + i] * mix + one
        n_candidates = m - 1
        for i in range(n_candidates):
            candidates[i] = i
        for size in range(2, max_size + 1):
            kept = 0
            for k in range(n_candidates):
                i = candidates[k]
                if i + size <= m:
                    candidates[kept] = i
                    hashes[i] = hashes[i] * mix + codes[start + i + size - 1]
                    kept += 1
            n_candidates = kept
            if n_candidates == 0:
                break
            table = 1
            while table < 2 * n_candidates:
                table *= 2
            mask = table - 1
            generation += 1
            for k in range(n_candidates):
                i = candidates[k]
                key = hashes[i]
                slot = _slot(key, mask)
                while stamp[slot] == generation and keys[slot] != key:
                    slot = (slot + 1) & mask
                if stamp[slot] != generation:
                    stamp[slot] = generation
                    keys[slot] = key
                    counts[slot] = 0
                    first[slot] = i
                counts[slot] += 1
                slots[k] = slot
            row = size - 2
            if size <= top_sizes + 1:
                best = 0
                for k in range(n_candidates):
                    count = counts[slots[k]]
                    if count > 1:
                        i = candidates[k]
                        covered = count * (cumulative[i + size] - cumulative[i])
                        if covered > best:
                            best = covered
                top[row, d] = best
            else:
                any_repeat = False
                for k in range(n_candidates):
                    i = candidates[k]
                    if first[slots[k]] != i:
                        coverage[i] += 1
                        coverage[i + size] -= 1
                        any_repeat = True
                if any_repeat:
                    running = 0
                    chars = 0
                    for i in range(m):
                        running += coverage[i]
                        if running > 0:
                            chars += length[start + i]
                    dup[row, d] = chars
                    for i in range(m + 1):
                        coverage[i] = 0
            kept = 0
            for k in range(n_candidates):
                if counts[slots[k]] > 1:
                    candidates[kept] = candidates[k]
                    kept += 1
            n_candidates = kept
    return top, dup


@njit(cache=_CACHE, nogil=True)
def minhash_signatures(
    hashes: np.ndarray, doc: np.ndarray, n_docs: int, perm_a: np.ndarray, perm_b: np.ndarray
) -> np.ndarray:
    """(n_docs, permutations) uint32 MinHash signatures: per document and permutation ``i``, the least
    ``((perm_a[i] * h + perm_b[i]) mod 2**64) >> 32`` over the document's shingle hashes ``h``; all 0xFFFFFFFF for a
    document without shingles."""
    permutations = len(perm_a)
    out = np.full((n_docs, permutations), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    shift = _UINT64(32)
    for k in range(len(hashes)):
        h = hashes[k]
        row = out[doc[k]]
        for i in range(permutations):
            value = np.uint32((perm_a[i] * h + perm_b[i]) >> shift)
            if value < row[i]:
                row[i] = value
    return out


@njit(cache=_CACHE, nogil=True, inline="always")
def _strip(points: np.ndarray, start: int, end: int, space: np.ndarray) -> tuple[int, int]:
    """``points[start:end]`` without its leading and trailing white space (``str.strip``), as new bounds."""
    space_size = len(space)
    while start < end and points[start] < space_size and space[points[start]]:
        start += 1
    while end > start and points[end - 1] < space_size and space[points[end - 1]]:
        end -= 1
    return start, end


@njit(cache=_CACHE, nogil=True, inline="always")
def _equal_at(points: np.ndarray, at: int, literals: np.ndarray, low: int, high: int) -> bool:
    """Whether ``points[at:at + high - low]`` equals ``literals[low:high]`` (the caller checked the bounds)."""
    for t in range(high - low):  # noqa: SIM110 (a loop: numba compiles no generator expression inside all())
        if points[at + t] != literals[low + t]:
            return False
    return True


@njit(cache=_CACHE, nogil=True)
def split_lines(
    points: np.ndarray, doc_offsets: np.ndarray, separator: np.ndarray, space: np.ndarray, mix: np.uint64,
    doc_mix: np.uint64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per non-empty piece of every document cut at ``separator`` and stripped of white space (what
    ``[p.strip() for p in text.split(separator) if p.strip()]`` keeps): (document, start, end, key).

    ``start``/``end`` index ``points``; ``key`` is a polynomial hash of the piece's code points xor ``document *
    doc_mix``, so equal pieces of one document get equal keys and pieces of different documents never do.
    """
    width = len(separator)
    capacity = len(points) // max(width, 1) + len(doc_offsets)
    doc_out = np.empty(capacity, dtype=np.int64)
    start_out = np.empty(capacity, dtype=np.int64)
    end_out = np.empty(capacity, dtype=np.int64)
    key_out = np.empty(capacity, dtype=np.uint64)
    first = separator[0]
    pieces = 0
    for d in range(len(doc_offsets) - 1):
        doc_end = doc_offsets[d + 1]
        piece_start = doc_offsets[d]
        while True:
            found = -1
            j = piece_start
            while j + width <= doc_end:
                if points[j] == first and _equal_at(points, j, separator, 0, width):
                    found = j
                    break
                j += 1
            a, b = _strip(points, piece_start, found if found >= 0 else doc_end, space)
            if b > a:
                key = _UINT64(b - a)
                for p in range(a, b):
                    key = key * mix + _UINT64(points[p]) + _UINT64(1)
                doc_out[pieces] = d
                start_out[pieces] = a
                end_out[pieces] = b
                key_out[pieces] = key ^ (_UINT64(d) * doc_mix)
                pieces += 1
            if found < 0:
                break
            piece_start = found + width
    return doc_out[:pieces], start_out[:pieces], end_out[:pieces], key_out[:pieces]


@njit(cache=_CACHE, nogil=True)
def _has_affix(points: np.ndarray, start: int, end: int, affixes: np.ndarray, offsets: np.ndarray, low: int,
               high: int, at_end: bool) -> bool:
    """Whether ``points[start:end]`` starts (``at_end`` false) or ends with one of the affixes ``low`` to ``high``,
    each ``affixes[offsets[a]:offsets[a + 1]]``."""
    for a in range(low, high):
        width = offsets[a + 1] - offsets[a]
        if width <= end - start and _equal_at(points, end - width if at_end else start, affixes, offsets[a],
                                              offsets[a + 1]):
            return True
    return False


@njit(cache=_CACHE, nogil=True)
def pieces_with_affix(
    points: np.ndarray, starts: np.ndarray, ends: np.ndarray, group: np.ndarray, affixes: np.ndarray,
    affix_offsets: np.ndarray, group_offsets: np.ndarray, at_end: bool,
) -> np.ndarray:
    """Per piece ``points[starts[i]:ends[i]]``: does it start (``at_end`` false) or end with one of the affixes of
    its group (``group[i]``: affixes ``group_offsets[g]`` to ``group_offsets[g + 1]``, each
    ``affixes[affix_offsets[a]:affix_offsets[a + 1]]``) — ``str.startswith``/``endswith`` with a tuple."""
    out = np.zeros(len(starts), dtype=np.bool_)
    for i in range(len(starts)):
        g = group[i]
        out[i] = _has_affix(points, starts[i], ends[i], affixes, affix_offsets, group_offsets[g],
                            group_offsets[g + 1], at_end)
    return out


@njit(cache=_CACHE, nogil=True)
def _has_words(points: np.ndarray, start: int, end: int, cjk: bool, floor: int, space: np.ndarray,
               cjk_char: np.ndarray, word_char: np.ndarray) -> bool:
    """At least ``floor`` words in ``points[start:end]``: white-space tokens, or in a CJK document Han/Kana
    characters plus runs of other non-space characters holding a word character (``real_word_pattern(True)``)."""
    space_size = len(space)
    words = 0
    in_run = False
    run_counted = False
    for p in range(start, end):
        c = points[p]
        if c < space_size and space[c]:
            in_run = False
            continue
        if cjk and cjk_char[c]:
            words += 1
            in_run = False
        else:
            if not in_run:
                in_run = True
                run_counted = False
                if not cjk:
                    words += 1
            if cjk and not run_counted and word_char[c]:
                words += 1
                run_counted = True
        if words >= floor:
            return True
    return words >= floor


@njit(cache=_CACHE, nogil=True)
def _holds_any(lowered: np.ndarray, start: int, end: int, literals: np.ndarray, offsets: np.ndarray,
               first_char: np.ndarray) -> bool:
    """Does ``lowered[start:end]`` contain one of the literals (``first_char``: a literal starts with this one)."""
    first_size = len(first_char)
    for p in range(start, end):
        c = lowered[p]
        if c >= first_size or not first_char[c]:
            continue
        for a in range(len(offsets) - 1):
            width = offsets[a + 1] - offsets[a]
            if width <= end - p and _equal_at(lowered, p, literals, offsets[a], offsets[a + 1]):
                return True
    return False


@njit(cache=_CACHE, nogil=True)
def _count_words(points: np.ndarray, start: int, end: int, cjk: bool, space: np.ndarray,
                 cjk_char: np.ndarray) -> int:
    """Matches of ``udfs.quality.text.word_pattern(cjk)`` in ``points[start:end]``: white-space tokens, or in a CJK
    document each Han/Kana character and each run of other non-space characters."""
    space_size = len(space)
    words = 0
    in_run = False
    for p in range(start, end):
        c = points[p]
        if c < space_size and space[c]:
            in_run = False
        elif cjk and cjk_char[c]:
            words += 1
            in_run = False
        elif not in_run:
            words += 1
            in_run = True
    return words


@njit(cache=_CACHE, nogil=True)
def _is_stop(c: int) -> bool:
    return c == 0x2E or c == 0x21 or c == 0x3F  # . ! ?


@njit(cache=_CACHE, nogil=True)
def _is_closer(c: int) -> bool:
    return c == 0x22 or c == 0x27 or c == 0x201D or c == 0x2019 or c == 0x29 or c == 0x5D  # " ' ” ’ ) ]


@njit(cache=_CACHE, nogil=True)
def _is_cjk_stop(c: int) -> bool:
    return c == 0x3002 or c == 0xFF01 or c == 0xFF1F  # 。！？


@njit(cache=_CACHE, nogil=True)
def _is_cjk_closer(c: int) -> bool:
    return c == 0x201D or c == 0x300D or c == 0x300F or c == 0x2019 or c == 0xFF09  # ”」』’）


@njit(cache=_CACHE, nogil=True)
def _sentence_ends(points: np.ndarray, start: int, end: int, cjk: bool, space: np.ndarray) -> int:
    """Matches of ``udfs.quality.text.sentence_end_pattern(cjk)`` in one line ``points[start:end]`` (its end is
    followed by a line break or the end of the text, which the pattern's look-ahead accepts): a run of . ! ? with
    its closing quotes and brackets, followed by white space; in CJK documents also every run of 。！？ with its
    closers."""
    space_size = len(space)
    count = 0
    p = start
    while p < end:
        c = points[p]
        if _is_stop(c):
            q = p
            while q < end and _is_stop(points[q]):
                q += 1
            r = q
            while r < end and _is_closer(points[r]):
                r += 1
            if r == end or (points[r] < space_size and space[points[r]]):
                count += 1
                p = r
            else:
                p = q  # no shorter run or fewer closers is followed by white space either
        elif cjk and _is_cjk_stop(c):
            q = p
            while q < end and _is_cjk_stop(points[q]):
                q += 1
            while q < end and _is_cjk_closer(points[q]):
                q += 1
            count += 1
            p = q
        else:
            p += 1
    return count


@njit(cache=_CACHE, nogil=True)
def c4_filter_lines(
    points: np.ndarray, doc_offsets: np.ndarray, cjk_doc: np.ndarray, floor: np.ndarray, check_terminal: bool,
    terminal: np.ndarray, terminal_offsets: np.ndarray, terminal_groups: np.ndarray, ellipsis: np.ndarray,
    ellipsis_offsets: np.ndarray, lowered: np.ndarray, lowered_ok: np.ndarray, literals: np.ndarray,
    literal_offsets: np.ndarray, first_char: np.ndarray, policy_doc: np.ndarray, policy_line: np.ndarray,
    space: np.ndarray, cjk_char: np.ndarray, word_char: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """C4's line clean-up of every document: (kept text's code points, their offsets per document, lines removed,
    words and sentence ends in the kept text).

    Per line (cut at "\\n", stripped): an empty line is kept; another is removed when it does not end in its
    document's terminal punctuation (``terminal`` group 0, or 1 for CJK) or ends in an ellipsis (when
    ``check_terminal``), when it holds a policy literal, or when it has fewer than ``floor`` words. Literals are
    looked for in ``lowered`` (the lower-cased points, position for position) for documents where ``lowered_ok``;
    for the others the caller found the lines (``policy_doc``/``policy_line`` pairs, in order). The kept lines are
    joined with "\\n", runs of three or more line breaks become two, and the result is stripped: what
    ``filter_lines`` in ``udfs.quality.c4`` does with strings.
    """
    n_docs = len(doc_offsets) - 1
    out = np.empty(len(points), dtype=np.uint32)
    out_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    removed = np.zeros(n_docs, dtype=np.int64)
    kept_words = np.zeros(n_docs, dtype=np.int64)
    sentences = np.zeros(n_docs, dtype=np.int64)
    n_ellipsis = len(ellipsis_offsets) - 1
    marked = 0
    written = 0
    for d in range(n_docs):
        end_of_doc = doc_offsets[d + 1]
        group = 1 if cjk_doc[d] else 0
        low, high = terminal_groups[group], terminal_groups[group + 1]
        line_start = doc_offsets[d]
        line = 0
        blank_lines = 0
        any_line = False
        while True:
            line_end = line_start
            while line_end < end_of_doc and points[line_end] != 10:
                line_end += 1
            a, b = _strip(points, line_start, line_end, space)
            policy_hit = False
            while marked < len(policy_doc) and policy_doc[marked] == d and policy_line[marked] == line:
                policy_hit = True
                marked += 1
            if a == b:
                blank_lines += 1
            else:
                keep = True
                if check_terminal:
                    keep = _has_affix(points, a, b, terminal, terminal_offsets, low, high, True) and not (
                        _has_affix(points, a, b, ellipsis, ellipsis_offsets, 0, n_ellipsis, True)
                    )
                if keep and policy_hit:
                    keep = False
                if keep and lowered_ok[d] and len(literal_offsets) > 1:
                    keep = not _holds_any(lowered, a, b, literals, literal_offsets, first_char)
                if keep and floor[d] > 0:
                    keep = _has_words(points, a, b, cjk_doc[d], floor[d], space, cjk_char, word_char)
                if keep:
                    if any_line:
                        for _ in range(min(1 + blank_lines, 2)):
                            out[written] = 10
                            written += 1
                    for p in range(a, b):
                        out[written] = points[p]
                        written += 1
                    kept_words[d] += _count_words(points, a, b, cjk_doc[d], space, cjk_char)
                    sentences[d] += _sentence_ends(points, a, b, cjk_doc[d], space)
                    any_line = True
                    blank_lines = 0
                else:
                    removed[d] += 1
            line += 1
            if line_end >= end_of_doc:
                break
            line_start = line_end + 1
        out_offsets[d + 1] = written
    return out[:written], out_offsets, removed, kept_words, sentences


@njit(cache=_CACHE, nogil=True)
def _url_head_end(points: np.ndarray, p: int, end: int) -> int:
    """End of ``https?://`` or ``www.`` at ``p`` (-1: neither)."""
    c = points[p]
    if c == 0x68 and p + 7 <= end and points[p + 1] == 0x74 and points[p + 2] == 0x74 and points[p + 3] == 0x70:
        j = p + 5 if points[p + 4] == 0x73 else p + 4  # "https" or "http"; no "://" after "https" fails either way
        if j + 3 <= end and points[j] == 0x3A and points[j + 1] == 0x2F and points[j + 2] == 0x2F:
            return j + 3
    elif c == 0x77 and p + 4 <= end and points[p + 1] == 0x77 and points[p + 2] == 0x77 and points[p + 3] == 0x2E:
        return p + 4
    return -1


@njit(cache=_CACHE, nogil=True)
def _noise_end(points: np.ndarray, p: int, end: int, space: np.ndarray, word_char: np.ndarray,
               digit: np.ndarray) -> int:
    """Where the match of ``udfs.langid._NOISE_NO_EMAIL`` starting at ``p`` ends (``p``: none): a URL
    (``https?://\\S+``, ``www\\.\\S+``), a tag (``<[^>]{1,200}>``), an entity (``&\\w+;``) or a run of digits and
    underscores (``[\\d_]+``). The alternatives start with different characters, so one is tried at each position."""
    space_size = len(space)
    c = points[p]
    rest = _url_head_end(points, p, end) if c == 0x68 or c == 0x77 else -1
    if rest >= 0:  # \S+ after the URL's head: at least one non-space character
        q = rest
        while q < end and not (points[q] < space_size and space[points[q]]):
            q += 1
        return q if q > rest else p
    if c == 0x3C:  # <[^>]{1,200}>
        q = p + 1
        while q < end and q <= p + 201 and points[q] != 0x3E:
            q += 1
        if q < end and points[q] == 0x3E and p + 2 <= q <= p + 201:
            return q + 1
        return p
    if c == 0x26:  # &\w+;
        q = p + 1
        while q < end and word_char[points[q]]:
            q += 1
        if q > p + 1 and q < end and points[q] == 0x3B:
            return q + 1
        return p
    if c == 0x5F or digit[c]:  # [\d_]+
        q = p + 1
        while q < end and (points[q] == 0x5F or digit[points[q]]):
            q += 1
        return q
    return p


@njit(cache=_CACHE, nogil=True)
def clean_for_langid(
    points: np.ndarray, doc_offsets: np.ndarray, max_chars: int, space: np.ndarray, word_char: np.ndarray,
    digit: np.ndarray, letter: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``udfs.langid.clean_for_langid`` of every text given by its head (``points``, ``doc_offsets``) for texts
    without "@": noise replaced by a space, white-space runs made one space, stripped, cut to ``max_chars``.
    Returns the cleaned texts' code points, their offsets, and whether each has a letter."""
    n_docs = len(doc_offsets) - 1
    out = np.empty(len(points), dtype=np.uint32)
    out_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    has_letter = np.zeros(n_docs, dtype=np.bool_)
    space_size = len(space)
    written = 0
    for d in range(n_docs):
        start = written
        end = doc_offsets[d + 1]
        p = doc_offsets[d]
        pending_space = False
        while p < end and written - start < max_chars:
            c = points[p]
            # Only these characters can start noise (most characters are none of them: no call).
            if c == 0x68 or c == 0x77 or c == 0x3C or c == 0x26 or c == 0x5F or digit[c]:
                q = _noise_end(points, p, end, space, word_char, digit)
                if q > p:
                    pending_space = True
                    p = q
                    continue
            if c < space_size and space[c]:
                pending_space = True
            else:
                if pending_space and written > start:
                    out[written] = 32
                    written += 1
                    if written - start >= max_chars:
                        break
                pending_space = False
                out[written] = c
                written += 1
                if letter[c]:
                    has_letter[d] = True
            p += 1
        out_offsets[d + 1] = written
    return out[:written], out_offsets, has_letter


@njit(cache=_CACHE, nogil=True)
def count_whole_words(
    points: np.ndarray, doc_offsets: np.ndarray, docs: np.ndarray, word_char: np.ndarray, fold: np.ndarray,
    words: np.ndarray, word_offsets: np.ndarray,
) -> np.ndarray:
    """Per document of ``docs``: matches of ``\\b(?:w1|w2|...)\\b`` ignoring case, with ``re``'s semantics.

    ``fold[c]`` has bit ``k`` set when code point ``c`` matches the ``k``-th distinct character of the words
    case-insensitively; a word is the bits of its characters (``words[word_offsets[i]:word_offsets[i + 1]]``). At
    each position that starts a word (no word character before it) the words are tried in order; the first whose
    characters all match and that is not followed by a word character counts, and the search goes on after it.
    """
    fold_size = len(fold)
    counts = np.zeros(len(docs), dtype=np.int64)
    for k in range(len(docs)):
        d = docs[k]
        start, end = doc_offsets[d], doc_offsets[d + 1]
        p = start
        while p < end:
            c = points[p]
            if c >= fold_size or fold[c] == 0 or (p > start and word_char[points[p - 1]]):
                p += 1
                continue
            matched = 0
            for w in range(len(word_offsets) - 1):
                low, high = word_offsets[w], word_offsets[w + 1]
                size = high - low
                if p + size > end:
                    continue
                same = True
                for t in range(size):
                    q = points[p + t]
                    if q >= fold_size or (fold[q] & words[low + t]) == 0:
                        same = False
                        break
                if same and (p + size == end or not word_char[points[p + size]]):
                    matched = size
                    break
            if matched:
                counts[k] += 1
                p += matched
            else:
                p += 1
    return counts


@njit(cache=_CACHE, nogil=True)
def dedup_normalize(
    chars: np.ndarray, doc_offsets: np.ndarray, classes: np.ndarray, strip_punctuation: bool, strip_digits: bool,
    collapse_whitespace: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dedup's text key of every document (``chars`` already lower-cased when the key says so): white space
    (class bit 1) becomes " ", punctuation and symbols (bit 2) and digits (bit 4) are dropped when asked, and runs of
    spaces become one, none at either end, when ``collapse_whitespace``. Returns the characters and each
    document's start and end in them."""
    n_docs = len(doc_offsets) - 1
    out = np.empty(len(chars), dtype=np.uint32)
    starts = np.zeros(n_docs, dtype=np.int64)
    ends = np.zeros(n_docs, dtype=np.int64)
    written = 0
    for d in range(n_docs):
        starts[d] = written
        pending_space = False
        for p in range(doc_offsets[d], doc_offsets[d + 1]):
            kind = classes[p]
            if (kind & 2 and strip_punctuation) or (kind & 4 and strip_digits):
                continue
            if kind & 1:
                if collapse_whitespace:
                    pending_space = written > starts[d]
                    continue
                out[written] = 32
                written += 1
                continue
            if pending_space:
                out[written] = 32
                written += 1
                pending_space = False
            out[written] = chars[p]
            written += 1
        ends[d] = written
    return out[:written], starts, ends


@njit(cache=_CACHE, nogil=True)
def token_hashes(points: np.ndarray, doc_offsets: np.ndarray, word_char: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ``\\w+`` token of every text (``points`` already lower-cased), as 64-bit hashes of its code points, and
    the offsets of each text's tokens. Hashes equal the hash of the same string wherever it comes from."""
    out = np.empty(len(points), dtype=np.uint64)
    out_offsets = np.zeros(len(doc_offsets), dtype=np.int64)
    tokens = 0
    for d in range(len(doc_offsets) - 1):
        key = _UINT64(0)
        in_token = False
        for p in range(doc_offsets[d], doc_offsets[d + 1]):
            c = points[p]
            if word_char[c]:
                key = key * _UINT64(0x9E3779B97F4A7C15) + _UINT64(c) + _UINT64(1)
                in_token = True
            elif in_token:
                out[tokens] = key
                tokens += 1
                key = _UINT64(0)
                in_token = False
        if in_token:
            out[tokens] = key
            tokens += 1
        out_offsets[d + 1] = tokens
    return out[:tokens], out_offsets


@njit(cache=_CACHE, nogil=True)
def count_listed_tokens(
    tokens: np.ndarray, token_offsets: np.ndarray, lists: np.ndarray, keys: np.ndarray, values: np.ndarray,
    table_offsets: np.ndarray, vocabulary_offsets: np.ndarray, phrase_words: np.ndarray, phrase_offsets: np.ndarray,
    list_phrases: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per text: how many of its tokens are single-word entries of its list, and per phrase of the list whether all
    its words occur in the text (the caller counts those phrases' matches).

    List ``l`` (``lists[d]`` for text ``d``) is an open-addressing table of token hashes,
    ``keys``/``values[table_offsets[l]:table_offsets[l + 1]]`` (a power of two, probed like :func:`_slot`): a value
    has bit 0 set for a single-word entry and holds (the word's number + 1) << 1 for a phrase word (numbers
    ``vocabulary_offsets[l]`` on); 0 marks an empty slot. Phrases ``list_phrases[l]:list_phrases[l + 1]`` are the
    numbers of their words, ``phrase_words[phrase_offsets[i]:phrase_offsets[i + 1]]``."""
    n_docs = len(token_offsets) - 1
    hits = np.zeros(n_docs, dtype=np.int64)
    candidates = np.zeros((n_docs, len(phrase_offsets) - 1), dtype=np.bool_)
    seen = np.zeros(vocabulary_offsets[-1], dtype=np.bool_)
    for d in range(n_docs):
        number = lists[d]
        base = table_offsets[number]
        mask = table_offsets[number + 1] - base - 1
        for t in range(token_offsets[d], token_offsets[d + 1]):
            key = tokens[t]
            slot = _slot(key, mask)
            while values[base + slot] != 0 and keys[base + slot] != key:
                slot = (slot + 1) & mask
            value = values[base + slot]
            if value & 1:
                hits[d] += 1
            if value >> 1:
                seen[(value >> 1) - 1] = True
        for phrase in range(list_phrases[number], list_phrases[number + 1]):
            every = True
            for w in range(phrase_offsets[phrase], phrase_offsets[phrase + 1]):
                if not seen[phrase_words[w]]:
                    every = False
                    break
            candidates[d, phrase] = every
        seen[vocabulary_offsets[number] : vocabulary_offsets[number + 1]] = False
    return hits, candidates
