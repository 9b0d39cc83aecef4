"""Fuzzing the WET reader: mutations of real WET bytes and the properties the reader keeps on any input.

Used by ``tests/test_warc_fuzz.py`` (about 1,000 cases in the default run, 100,000 behind ``-m slow``) and by
``bench/warc_fuzz.py`` (any number of cases, with a summary of what was generated and found).

A case starts from one of the real WET fixtures (tests/fixtures/wet), cut into its records, and applies up to four
record-level mutations (duplicate, swap, drop, header edits — a bad ``Content-Length``, a lost version line, another
``WARC-Type``, bytes that are not UTF-8 —, random bytes inserted, bit flips, truncation), is written plain, as one
gzip member per record (as Common Crawl does) or as one gzip stream, and may then be damaged as bytes (bit flips,
truncation, a member duplicated or two swapped).

Properties checked on every case (:func:`check_reader`):

1. no exception escapes the reader, and it ends within ``TIME_LIMIT_SECONDS``;
2. every decompressed byte it read is in exactly one row (rows' spans do not overlap) or counted outside rows, and
   every framed record is a row or a skipped record — :meth:`udfs.warc.FileStats.bytes_accounted`, recomputed here
   from the rows;
3. the reader read everything there was: all bytes of a plain input, and for a compressed input whose file status is
   ``ok``, every byte a gzip decoder gets from it and every compressed byte;
4. no row holds more than ``max_record_bytes`` of body; a row without a reason has a URL and an id, and its text is
   found in the input where the row says it is;
5. a reason is always one of the reader's (``udfs.warc.INGEST_REASONS``).
"""

from __future__ import annotations

import gzip
import io
import random
import signal
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from udfs.warc import GZIP_MAGIC, INGEST_REASONS, FileStats, ReaderLimits, WetDocument, read_wet

WET_FIXTURES = Path(__file__).parent / "fixtures" / "wet"
TIME_LIMIT_SECONDS = 10.0
"""A case that takes longer is a hang (the largest case reads in milliseconds)."""
LIMITS = ReaderLimits(max_record_bytes=4096, max_invalid_utf8_ratio=0.01)
"""A small record cap, so that the capping paths run on fixture-sized records."""
MAX_RECORDS_PER_BASE = 8
BAD_LENGTHS = ["-5", "abc", "²", "１２", "", " 12", "1e3", "99999999999999999999", "0", "7", "1000000"]


def decompress_all(data: bytes) -> tuple[bytes, bool]:
    """What a gzip decoder gets from ``data`` (every member, in order), and whether it reached the end cleanly.
    Plain data is returned as it is."""
    if not data.startswith(GZIP_MAGIC):
        return data, True
    out: list[bytes] = []
    rest = data
    while rest:
        if len(rest) > 3 and rest[3] & 0xE0:
            # Reserved header flag bits: RFC 1952 says to refuse the member, Python's gzip reader (the WET reader's)
            # ignores them. The data is still checked by its CRC, so reading it is right; zlib would refuse.
            rest = rest[:3] + bytes([rest[3] & 0x1F]) + rest[4:]
        decoder = zlib.decompressobj(wbits=31)
        try:
            out.append(decoder.decompress(rest))
        except zlib.error:
            return b"".join(out), False
        if not decoder.eof:
            return b"".join(out), False
        rest = decoder.unused_data.lstrip(b"\x00")  # zero padding between members is allowed (gzip's reader skips it)
        if rest and not rest.startswith(GZIP_MAGIC):
            return b"".join(out), False
    return b"".join(out), True


def split_records(data: bytes) -> list[bytes]:
    """The input cut before each version line (``WARC/1.``) at a line start; bytes before the first one, if any, are
    the first piece."""
    starts = [0] + [i + 1 for i in range(len(data) - 8) if data[i] == 0x0A and data[i + 1 : i + 8] == b"WARC/1."]
    if data.startswith(b"WARC/1."):
        starts = starts[1:] if starts[1:2] == [0] else starts
    starts = sorted(set(starts))
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True) if data[a:b]]


@cache
def bases() -> tuple[tuple[str, tuple[bytes, ...]], ...]:
    """The fixture files, decompressed and cut into (at most ``MAX_RECORDS_PER_BASE``) records."""
    found = []
    for path in sorted(WET_FIXTURES.iterdir()):
        if path.suffix not in (".gz", ".txt"):
            continue
        plain, _ = decompress_all(path.read_bytes())
        found.append((path.name, tuple(split_records(plain)[:MAX_RECORDS_PER_BASE])))
    return tuple(found)


def edit_header(record: bytes, choice: int, value: str) -> bytes:
    """One header edit of a record (``choice`` picks which)."""
    head, sep, body = record.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = record.partition(b"\n\n")
    lines = head.split(b"\n")
    kind = choice % 6
    if kind == 0:  # a Content-Length that is not a usable number (or is wrong)
        lines = [b"Content-Length: " + value.encode() + b"\r" if line.lower().startswith(b"content-length:") else line
                 for line in lines]  # fmt: skip
    elif kind == 1:  # no Content-Length at all
        lines = [line for line in lines if not line.lower().startswith(b"content-length:")]
    elif kind == 2:  # the version line lost: the record becomes a headerless fragment
        lines = lines[1:]
    elif kind == 3:  # another record type (a WARC or WAT file's)
        lines = [b"WARC-Type: " + [b"response", b"metadata", b"request", b"warcinfo"][choice % 4] + b"\r"
                 if line.lower().startswith(b"warc-type:") else line for line in lines]  # fmt: skip
    elif kind == 4:  # a header line that is not UTF-8, and one without a colon
        lines.insert(min(1, len(lines)), b"\xff\xfe\x80 junk \xc3\r")
    else:  # no id, no URI
        lines = [line for line in lines if not line.lower().startswith((b"warc-record-id:", b"warc-target-uri:"))]
    return b"\n".join(lines) + sep + body


def flip_bits(data: bytes, positions: list[int]) -> bytes:
    if not data:
        return data
    mutable = bytearray(data)
    for position in positions:
        mutable[position % len(mutable)] ^= 1 << (position % 8)
    return bytes(mutable)


class Case:
    """One fuzz input and how it was made (shown when a property fails; not a dataclass, so that a failure report
    shows the steps, not the bytes)."""

    def __init__(self, data: bytes, steps: list[str]) -> None:
        self.data = data
        self.steps = steps

    def __repr__(self) -> str:  # the bytes are too long to show; the steps rebuild them
        return f"Case({len(self.data)} bytes: {' → '.join(self.steps)})"


@st.composite
def wet_cases(draw: Callable[..., Any]) -> Case:
    name, base = draw(st.sampled_from(bases()))
    records = list(base)
    steps = [f"base {name} ({len(records)} pieces)"]
    for _ in range(draw(st.integers(0, 4))):
        if not records:
            break
        op = draw(st.sampled_from(["duplicate", "swap", "drop", "header", "header", "insert", "flip", "truncate"]))
        i = draw(st.integers(0, len(records) - 1))
        j = draw(st.integers(0, len(records) - 1))
        if op == "duplicate":
            records.insert(j, records[i])
        elif op == "swap":
            records[i], records[j] = records[j], records[i]
        elif op == "drop" and len(records) > 1:
            records.pop(i)
        elif op == "header":
            choice = draw(st.integers(0, 11))
            records[i] = edit_header(records[i], choice, draw(st.sampled_from(BAD_LENGTHS)))
            op = f"header edit {choice % 6}"
        elif op == "insert":
            junk = draw(st.binary(min_size=1, max_size=64))
            at = draw(st.integers(0, len(records[i])))
            records[i] = records[i][:at] + junk + records[i][at:]
        elif op == "flip":
            records[i] = flip_bits(records[i], draw(st.lists(st.integers(0, 1 << 20), min_size=1, max_size=8)))
        elif op == "truncate":
            records[i] = records[i][: draw(st.integers(0, len(records[i])))]
        steps.append(f"{op} record {i}" + (f"/{j}" if op in ("duplicate", "swap") else ""))
    framing = draw(st.sampled_from(["plain", "members", "members", "stream"]))
    steps.append(framing)
    if framing == "plain":
        pieces = records
    elif framing == "members":
        pieces = [gzip.compress(r, mtime=0) for r in records]
    else:
        pieces = [gzip.compress(b"".join(records), mtime=0)]
    if framing == "members" and len(pieces) > 1 and draw(st.booleans()):
        i = draw(st.integers(0, len(pieces) - 1))
        j = draw(st.integers(0, len(pieces) - 1))
        if draw(st.booleans()):
            pieces.insert(j, pieces[i])
            steps.append(f"member {i} duplicated at {j}")
        else:
            pieces[i], pieces[j] = pieces[j], pieces[i]
            steps.append(f"members {i}/{j} swapped")
    data = b"".join(pieces)
    damage = draw(st.sampled_from(["none", "none", "flip", "truncate", "garbage"]))
    if damage == "flip":
        data = flip_bits(data, draw(st.lists(st.integers(0, 1 << 22), min_size=1, max_size=4)))
    elif damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "garbage":
        data = data + draw(st.binary(min_size=1, max_size=256))
    if damage != "none":
        steps.append(f"bytes: {damage}")
    return Case(data, steps)


def random_garbage_case(rng: random.Random) -> Case:
    """Bytes with no WET structure at all, plain or gzip-wrapped (the reader must say so, not keep them as text)."""
    data = rng.randbytes(rng.randint(0, 20_000))
    if rng.random() < 0.5:
        return Case(gzip.compress(data, mtime=0), ["random bytes, gzip"])
    return Case(data, ["random bytes"])


class ReaderTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM; main thread only)."""

    def expired(signum: int, frame: Any) -> None:
        raise ReaderTimeout(f"reader still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read_case(data: bytes, limits: ReaderLimits = LIMITS) -> tuple[list[WetDocument], FileStats]:
    """Read ``data`` as a local file would be (a file object with a size); properties 1 and 2 hold or this raises."""
    reader = read_wet(_SizedBytes(data), "CC-MAIN-2024-22/fuzz.warc.wet.gz", limits)  # type: ignore[arg-type]
    with time_limit(TIME_LIMIT_SECONDS):
        docs = list(reader)
    return docs, reader.stats


class _SizedBytes(io.BytesIO):
    """In-memory bytes that report their size like a file on disk."""

    @property
    def size(self) -> int:
        return len(self.getbuffer())


def check_reader(case: Case, limits: ReaderLimits = LIMITS) -> tuple[list[WetDocument], FileStats]:
    """Read ``case`` and assert every property in the module docstring; returns what was read."""
    where = " → ".join(case.steps)
    docs, stats = read_case(case.data, limits)
    plain, clean = decompress_all(case.data)

    # 2: every byte read in one row or outside rows; rows do not overlap; records framed = rows + skipped.
    assert stats.bytes_accounted(), f"{where}: accounting {stats}"
    assert sum(d.span for d in docs) == stats.bytes_in_rows, where
    end = 0
    for doc in docs:
        assert doc.record_offset >= end and doc.span >= 0, f"{where}: rows overlap at {doc.record_offset}"
        end = doc.record_offset + doc.span
    assert end <= stats.bytes_read, where
    assert stats.documents == len(docs), where

    # 3: read to the end.
    if not case.data.startswith(GZIP_MAGIC):
        assert stats.bytes_read == len(case.data), f"{where}: read {stats.bytes_read} of {len(case.data)} bytes"
        assert stats.status != "corrupt", where
    elif stats.status in ("ok", "no_wet_records"):
        assert clean, f"{where}: status {stats.status} on a stream a gzip decoder rejects"
        assert stats.bytes_read == len(plain), f"{where}: read {stats.bytes_read} of {len(plain)} bytes"
        assert stats.compressed_bytes_read == len(case.data), where
    else:
        # (gzip's reader hands out a damaged member's data before its checksum fails, so it may give more than
        # the decoder above, which drops the member.)
        assert stats.status == "corrupt" and stats.error, where

    # 4 and 5: rows are capped, reasons are the reader's, a good row is what the input says.
    for doc in docs:
        assert doc.length <= limits.max_record_bytes, f"{where}: a row of {doc.length} bytes"
        assert doc.reason is None or doc.reason in INGEST_REASONS, f"{where}: reason {doc.reason}"
        if doc.reason is None:
            assert doc.url and doc.id, where
            if clean and "\ufffd" not in doc.text:  # (a damaged gzip stream decodes differently, see above)
                raw = plain[doc.record_offset : doc.record_offset + doc.span]
                assert doc.text.encode() in raw, f"{where}: text of {doc.id} not in its span"
    return docs, stats
