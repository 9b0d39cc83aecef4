"""Streaming reader for WET files (WARC ``conversion`` records), robust to the corruption seen in the wild.

A WET file is read record by record from a binary stream: the headers line by line, the body as exactly
``Content-Length`` bytes. Nothing larger than one record (capped by ``max_record_bytes``) is ever held in memory,
so a 1 GB WET file streams in constant memory.

Every conversion record becomes one :class:`WetDocument`. A record that cannot be used is still returned, with a
``reason`` (``ingest:<rule>``) and whatever text it had, so the pipeline can write it to ``rejected/``: nothing is
dropped silently. Metadata records (``warcinfo``, and any non-conversion type) are not documents; they are counted
in :class:`FileStats` instead (a repeated ``warcinfo`` is counted as ``duplicate_warcinfo``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urlsplit

GZIP_MAGIC = b"\x1f\x8b"
_VERSION_PREFIX = b"WARC/"
_CRAWL_IN_PATH = re.compile(r"CC-MAIN-\d{4}-\d{2}")
_RECORD_ID = re.compile(r"<?(?:urn:uuid:)?([^<>\s]+)>?")
_RECORD_START_IN_BODY = re.compile(rb"(?:^|\n)(WARC/1\.\d(?:\r?\n|$))")

# Reasons a record is rejected at ingest. Kept as constants so tests and reports name them the same way.
REASON_MISSING_URI = "ingest:missing_target_uri"
REASON_MISSING_ID = "ingest:missing_record_id"
REASON_BAD_LENGTH = "ingest:bad_content_length"
REASON_TRUNCATED = "ingest:truncated_record"
REASON_TRUNCATED_HEADER = "ingest:truncated_header"
REASON_HEADERLESS = "ingest:headerless_fragment"
REASON_TOO_LARGE = "ingest:record_too_large"
REASON_INVALID_UTF8 = "ingest:invalid_utf8"
REASON_EMPTY = "ingest:empty_text"
REASON_CORRUPT_GZIP = "ingest:corrupt_gzip"
NO_WET_RECORDS = "no_wet_records"
"""File status when a file holds no conversion record (garbage, an empty file, WARC or WAT given as WET)."""
INGEST_REASONS = (
    REASON_MISSING_URI,
    REASON_MISSING_ID,
    REASON_BAD_LENGTH,
    REASON_TRUNCATED,
    REASON_TRUNCATED_HEADER,
    REASON_HEADERLESS,
    REASON_TOO_LARGE,
    REASON_INVALID_UTF8,
    REASON_EMPTY,
    REASON_CORRUPT_GZIP,
)


@dataclass(frozen=True)
class ReaderLimits:
    """Limits of the WET reader (``ingest.*`` in conf)."""

    max_record_bytes: int = 64 * 1024 * 1024
    """A record body larger than this is rejected (its first ``max_record_bytes`` kept as text); protects memory."""
    max_invalid_utf8_ratio: float = 0.01
    """A body whose share of undecodable bytes (as U+FFFD per character) exceeds this is rejected."""


@dataclass
class WetDocument:
    """One conversion record (or an unusable fragment) of a WET file."""

    id: str
    url: str | None
    domain: str | None
    crawl: str | None
    date: str | None
    cc_lang: str | None
    text: str
    source_file: str
    record_offset: int
    length: int
    reason: str | None = None
    span: int = 0
    """Bytes of the decompressed stream framed into this row: from its version line (or a fragment's first line)
    to the end of what was read for it, including body bytes read past (``max_record_bytes``)."""


@dataclass
class FileStats:
    """What reading one file found, apart from the documents themselves."""

    source_file: str
    documents: int = 0
    warcinfo_records: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    bytes_read: int = 0
    status: str = "ok"
    """``ok``, ``corrupt`` (a broken gzip stream), ``no_wet_records`` (no conversion record at all) or, from the
    caller, ``failed`` (could not be read)."""
    error: str | None = None
    conversion_records: int = 0
    """Records framed as conversion (or untyped) records, well formed or not."""
    other_types: set[str] = field(default_factory=set)
    """``WARC-Type`` values of the other records met (response, request, metadata… in WARC/WAT files)."""
    records_framed: int = 0
    """Records framed: version lines met plus headerless fragments. Each becomes one row or is skipped."""
    records_skipped: int = 0
    """Framed records that became no row: warcinfo and other record types, a metadata record cut short."""
    bytes_in_rows: int = 0
    """Decompressed bytes framed into rows (the sum of the rows' ``span``)."""
    bytes_outside_rows: int = 0
    """Decompressed bytes in no row: blank separator lines between records and the records skipped."""
    compressed_bytes_read: int | None = None
    """Bytes taken from the raw (possibly compressed) input; None when the reader was given a decompressed stream."""
    compressed_size: int | None = None
    """Size of the raw input when the source knows it (local file, object store, bytes Spark read)."""

    def bytes_accounted(self) -> bool:
        """Every decompressed byte read is in one row or outside rows, every framed record is a row or skipped,
        and a file read to its end (status ``ok``/``no_wet_records``) was consumed to its last raw byte."""
        read_to_end = self.status not in ("ok", NO_WET_RECORDS) or self.compressed_size is None or (
            self.compressed_bytes_read == self.compressed_size
        )
        return (
            self.bytes_in_rows + self.bytes_outside_rows == self.bytes_read
            and self.records_framed == self.documents + self.records_skipped
            and read_to_end
        )

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


class CountingStream(io.RawIOBase):
    """A raw stream that counts the bytes taken from ``raw``: how much of a (compressed) file the reader consumed."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.count += n or 0
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


def raw_size(raw: BinaryIO) -> int | None:
    """Size of a raw input when its source knows it: ``size`` of object-store and in-memory streams, else the file's
    size on disk."""
    size = getattr(raw, "size", None)
    if isinstance(size, int):
        return size
    try:
        return os.fstat(raw.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None


def open_maybe_gzip(raw: BinaryIO) -> BinaryIO:
    """Wrap ``raw`` in a streaming decompressor when it starts with the gzip magic number.

    ``gzip.GzipFile`` reads multi-member files (official CC: one member per record) and single-stream gzip alike.
    """
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return io.BufferedReader(_Read1(gzip.GzipFile(fileobj=buffered, mode="rb")), buffer_size=1 << 20)
    return buffered


class _Read1(io.RawIOBase):
    """Raw view of a decompressor that hands out data as soon as it is inflated (``read1``).

    A plain ``BufferedReader`` over ``GzipFile`` asks for a full buffer and loses what it had inflated when a
    truncated stream raises ``EOFError``; reading through ``read1`` delivers every complete record first.
    """

    def __init__(self, source: gzip.GzipFile) -> None:
        super().__init__()
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._source.close()
        super().close()


def domain_of(url: str | None) -> str | None:
    """Lower-case host of ``url`` without port and without a leading ``www.``."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def crawl_from_path(path: str) -> str | None:
    """The ``CC-MAIN-YYYY-WW`` crawl name found in a path, if any."""
    match = _CRAWL_IN_PATH.search(path)
    return match.group(0) if match else None


def record_uuid(record_id: str) -> str:
    """``<urn:uuid:abc>`` → ``abc``: the stable document id."""
    match = _RECORD_ID.fullmatch(record_id.strip())
    return match.group(1) if match else record_id.strip()


def synthetic_id(source_file: str, offset: int) -> str:
    """A stable id for a fragment without ``WARC-Record-ID``, derived from where it was found.

    Only the file's base name counts (CC names are unique across crawls), so the id is the same whether the file
    is read from local disk or from S3.
    """
    name = source_file.rstrip("/").rsplit("/", 1)[-1]
    return "nohdr-" + hashlib.sha1(f"{name}@{offset}".encode()).hexdigest()[:32]


class _Tracked:
    """A line/byte reader over the decompressed stream that counts offsets and can push bytes back.

    Push-back lets the reader re-frame a record whose ``Content-Length`` is wrong without seeking.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.offset = 0
        self._pushed = b""

    def readline(self) -> bytes:
        if self._pushed:
            cut = self._pushed.find(b"\n") + 1
            if cut:
                line, self._pushed = self._pushed[:cut], self._pushed[cut:]
            else:
                line, self._pushed = self._pushed + self.stream.readline(), b""
        else:
            line = self.stream.readline()
        self.offset += len(line)
        return line

    def read(self, n: int) -> bytes:
        head, self._pushed = self._pushed[:n], self._pushed[n:]
        data = head + self.stream.read(n - len(head)) if len(head) < n else head
        self.offset += len(data)
        return data

    def unread(self, data: bytes) -> None:
        self._pushed = data + self._pushed
        self.offset -= len(data)


def _parse_headers(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw in lines:
        name, sep, value = raw.decode("utf-8", errors="replace").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _decode(body: bytes) -> tuple[str, float]:
    """UTF-8 decode with replacement; returns the text and the share of replacement characters."""
    text = body.decode("utf-8", errors="replace")
    if not text:
        return text, 0.0
    bad = text.count("\ufffd")
    return text, bad / len(text)


class WetReader:
    """Iterates the documents of one WET stream; ``stats`` holds the file-level counts once iteration ends."""

    def __init__(self, stream: BinaryIO, source_file: str, limits: ReaderLimits | None = None) -> None:
        self._stream = _Tracked(stream)
        self.source_file = source_file
        self.limits = limits or ReaderLimits()
        self.stats = FileStats(source_file=source_file)
        self._crawl = crawl_from_path(source_file)
        self._seen_warcinfo = False
        # The headerless fragment being collected: its lines (capped), first offset and size in the stream.
        self._in_fragment = False
        self._fragment_lines: list[bytes] = []
        self._fragment_offset = 0
        self._fragment_bytes = 0

    def __iter__(self) -> Iterator[WetDocument]:
        try:
            for doc in self._records():
                self.stats.documents += 1
                self.stats.bytes_in_rows += doc.span
                yield doc
        except (EOFError, OSError, zlib.error) as exc:
            # A truncated or corrupt gzip stream: everything before it was returned; what was in progress (a
            # conversion record, a fragment) is returned too, so its bytes stay in a row. The file is marked so the
            # manifest shows it.
            self.stats.status = "corrupt"
            self.stats.error = f"{type(exc).__name__}: {exc}"
            for doc in self._cut_short():
                self.stats.documents += 1
                self.stats.bytes_in_rows += doc.span
                yield doc
        finally:
            self.stats.bytes_read = self._stream.offset
            if self.counting is not None:
                self.stats.compressed_bytes_read = self.counting.count
                self.stats.compressed_size = raw_size(self.counting.raw)
        if self.stats.status == "ok" and not self.stats.conversion_records:
            # Nothing to read is not "ok": random bytes, an empty file, or a WARC/WAT file given as WET.
            self.stats.status = NO_WET_RECORDS
            kinds = sorted(self.stats.other_types)
            self.stats.error = (
                f"no WET conversion records; record types found: {', '.join(kinds)} (a WARC or WAT file?)"
                if kinds else "no WARC records at all"
            )

    _pending: WetDocument | None = None
    _record_start: int | None = None
    counting: CountingStream | None = None

    def _cut_short(self) -> Iterator[WetDocument]:
        """After a decompression error: the conversion record or fragment being read, with its bytes so far; a
        metadata record being read is counted as skipped."""
        offset = self._stream.offset
        if self._pending is not None:
            doc, self._pending = self._pending, None
            doc.reason = REASON_CORRUPT_GZIP
            doc.span = offset - doc.record_offset
            yield doc
        elif self._record_start is not None:
            self.stats.records_skipped += 1
            self.stats.bytes_outside_rows += offset - self._record_start
        if self._in_fragment:
            yield self._fragment()

    def _records(self) -> Iterator[WetDocument]:
        stream = self._stream
        while True:
            line_offset = stream.offset
            line = stream.readline()
            if not line:
                break
            if not line.startswith(_VERSION_PREFIX):
                # Bytes outside any record: either the blank separator lines after a body (normal) or a fragment of
                # a record whose header is missing (a file that starts mid-record, or garbage after a bad length).
                if self._in_fragment or line.strip():
                    if not self._in_fragment:
                        self._in_fragment, self._fragment_offset, self._fragment_bytes = True, line_offset, 0
                    # Garbage can be a whole file: keep max_record_bytes of it, as for any record.
                    if self._fragment_bytes < self.limits.max_record_bytes:
                        self._fragment_lines.append(line[: self.limits.max_record_bytes - self._fragment_bytes])
                    self._fragment_bytes += len(line)
                else:
                    self.stats.bytes_outside_rows += len(line)
                continue
            if self._in_fragment:
                yield self._fragment()
            self.stats.records_framed += 1
            self._record_start = line_offset
            rows = 0
            for doc in self._record(line_offset):
                doc.span = stream.offset - line_offset
                rows += 1
                yield doc
            self._record_start = None
            if not rows:
                self.stats.records_skipped += 1
                self.stats.bytes_outside_rows += stream.offset - line_offset
        if self._in_fragment:
            yield self._fragment()

    def _fragment(self) -> WetDocument:
        """The headerless fragment collected so far, as one row (and the collection reset)."""
        body = b"".join(self._fragment_lines)
        offset, span = self._fragment_offset, self._fragment_bytes
        self._fragment_lines, self._in_fragment = [], False
        self.stats.records_framed += 1
        text, _ = _decode(body)
        return WetDocument(
            id=synthetic_id(self.source_file, offset),
            url=None,
            domain=None,
            crawl=self._crawl,
            date=None,
            cc_lang=None,
            text=text.strip(),
            source_file=self.source_file,
            record_offset=offset,
            length=len(body),
            reason=REASON_HEADERLESS,
            span=span,
        )

    def _record(self, offset: int) -> Iterator[WetDocument]:
        stream = self._stream
        header_lines: list[bytes] = []
        while True:
            line = stream.readline()
            if not line:
                # EOF inside the header block: a truncated record.
                headers = _parse_headers(header_lines)
                if headers.get("warc-type", "conversion") == "conversion":
                    yield self._document(headers, b"", offset, REASON_TRUNCATED_HEADER)
                else:
                    self.stats.skip("truncated_header")
                return
            if line in (b"\r\n", b"\n"):
                break
            header_lines.append(line)
        headers = _parse_headers(header_lines)
        warc_type = headers.get("warc-type", "").lower()

        if warc_type == "conversion" or not warc_type:
            self.stats.conversion_records += 1
        elif warc_type != "warcinfo":  # every WARC, WAT and WET file starts with one
            self.stats.other_types.add(warc_type)
        length_text = headers.get("content-length", "")
        # ASCII digits only: str.isdigit() also takes "²" (then int() raised and the rest of the file was lost)
        # and full-width digits.
        length = int(length_text) if length_text.isascii() and length_text.isdigit() else -1
        if length < 0:
            # No usable length: the body runs to the next record start. It stays this record's (one record, one
            # row), kept up to max_record_bytes, and the record is rejected for its header.
            body, _ = self._read_to_next_record(self.limits.max_record_bytes)
            if warc_type == "conversion" or not warc_type:
                yield self._document(headers, body, offset, REASON_BAD_LENGTH)
            else:
                self.stats.skip("bad_content_length")
            return

        if warc_type == "conversion":
            to_keep = min(length, self.limits.max_record_bytes)
            self._pending = self._document(headers, b"", offset, REASON_TRUNCATED)
            body = stream.read(to_keep)
            reason: str | None = None
            if len(body) < to_keep:
                reason = REASON_TRUNCATED
            elif length > to_keep:
                self._discard(length - to_keep)
                reason = REASON_TOO_LARGE
            elif not self._at_record_start():
                body, complete = self._reframe(body, self.limits.max_record_bytes)
                reason = None if complete else REASON_TOO_LARGE
            self._pending = None
            yield self._document(headers, body, offset, reason)
            return

        # Metadata records are read past, never held: their bodies are small (warcinfo) or irrelevant here.
        body = stream.read(min(length, 1 << 16))
        self._discard(length - len(body))
        if len(body) == length and not self._at_record_start():
            body, _ = self._reframe(body, 1 << 16)
        if warc_type == "warcinfo":
            if self._seen_warcinfo:
                self.stats.skip("duplicate_warcinfo")
            else:
                self._seen_warcinfo = True
                self.stats.warcinfo_records += 1
                is_part_of = _parse_headers(body.splitlines()).get("ispartof")
                if is_part_of:
                    self._crawl = is_part_of
        else:
            self.stats.skip(f"{warc_type or 'untyped'}_record")

    def _at_record_start(self) -> bool:
        """Whether the stream, past blank separator lines, is at the next record or at EOF (a well-framed body)."""
        seen: list[bytes] = []
        try:
            while True:
                line = self._stream.readline()
                seen.append(line)
                if not line:
                    return True
                if line.strip():
                    return line.startswith(_VERSION_PREFIX)
        finally:
            self._stream.unread(b"".join(seen))

    def _reframe(self, body: bytes, limit: int) -> tuple[bytes, bool]:
        """Fix a body whose ``Content-Length`` is wrong (some tools write it in characters, not bytes); returns the
        body and whether it is complete.

        Only called when the bytes after the declared body are not a record start. If the body swallowed the next
        record's version line, cut it there and push the rest back; otherwise extend it to the next version line,
        keeping at most ``limit`` bytes (a record whose successor lost its version line would otherwise grow without
        bound) and reading past the rest.
        """
        self.stats.skip("reframed_content_length")
        swallowed = _RECORD_START_IN_BODY.search(body)
        if swallowed:
            self._stream.unread(body[swallowed.start(1) :])
            return body[: swallowed.start(1)].rstrip(b"\r\n"), True
        rest, rest_size = self._read_to_next_record(limit - len(body))
        return (body + rest).rstrip(b"\r\n"), len(body) + rest_size <= limit

    def _read_to_next_record(self, limit: int) -> tuple[bytes, int]:
        """The lines up to the next record's version line (or EOF), without trailing line breaks, at most ``limit``
        bytes of them kept and the rest read past; and the size of all of them."""
        kept: list[bytes] = []
        size = 0
        while True:
            line = self._stream.readline()
            if not line or line.startswith(_VERSION_PREFIX):
                self._stream.unread(line)
                break
            if size < limit:
                kept.append(line[: limit - size])
            size += len(line)
        return b"".join(kept).rstrip(b"\r\n"), size

    def _discard(self, n: int) -> None:
        while n > 0:
            chunk = self._stream.read(min(n, 1 << 20))
            if not chunk:
                return
            n -= len(chunk)

    def _document(self, headers: dict[str, str], body: bytes, offset: int, reason: str | None) -> WetDocument:
        text, bad_ratio = _decode(body)
        # WARC/1.0 writers such as jwarc wrap the URI in angle brackets.
        url = headers.get("warc-target-uri", "").strip("<>") or None
        raw_id = headers.get("warc-record-id")
        if reason is None:
            if not url:
                reason = REASON_MISSING_URI
            elif not raw_id:
                reason = REASON_MISSING_ID
            elif bad_ratio > self.limits.max_invalid_utf8_ratio:
                reason = REASON_INVALID_UTF8
            elif not text.strip():
                reason = REASON_EMPTY
        return WetDocument(
            id=record_uuid(raw_id) if raw_id else synthetic_id(self.source_file, offset),
            url=url,
            domain=domain_of(url),
            crawl=self._crawl,
            date=headers.get("warc-date") or None,
            cc_lang=headers.get("warc-identified-content-language") or None,
            text=text,
            source_file=self.source_file,
            record_offset=offset,
            length=len(body),
            reason=reason,
        )


def read_wet(stream: BinaryIO, source_file: str, limits: ReaderLimits | None = None) -> WetReader:
    """A :class:`WetReader` over a raw (possibly gzip-compressed) binary stream; its stats count the raw bytes
    consumed too."""
    counting = CountingStream(stream)
    reader = WetReader(open_maybe_gzip(counting), source_file, limits)  # type: ignore[arg-type]
    reader.counting = counting
    return reader
