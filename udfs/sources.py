"""Where WET files come from: local paths and globs, ``s3://`` objects and prefixes, ``http(s)://`` URLs, any Hadoop
filesystem (``gs://``, ``hdfs://``, ``abfs://``, ``s3a://``, ``file://``, …) and CC ``*.paths.gz`` manifests.

Resolution runs on the driver before Spark starts, so a missing path, an unreachable endpoint or a URL that answers
404 fails fast with a message that names it. A directory or prefix yields its WET files only (``*.wet.gz``,
``*.wet``; cc_net's ``*.warc.txt``), never the WARC (``*.warc.gz``) or WAT (``*.warc.wat.gz``) files beside them;
an explicit file or a glob takes what it names.

Reading happens inside executors. ``s3://`` objects (boto3, as cc-pyspark does) and ``http(s)://`` URLs (urllib3)
are streamed by :class:`RetryingStream`: one retry loop for both, retrying throttling, 429, 5xx and broken
connections with full-jitter exponential backoff (a server's ``Retry-After`` is the shortest wait) and resuming a
broken body with a ranged GET from the byte it had reached. ``s3a://`` and the other Hadoop schemes use the cluster's
Hadoop connectors, which only the JVM has: they are listed on the driver and read by Spark itself
(``jobs/stages/ingest.py``); :func:`is_hadoop` tells them apart.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import fnmatch
import glob
import gzip
import io
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from udfs.config import HttpConfig, S3Config
from udfs.errors import InputError

MANIFEST_SUFFIXES = (".paths.gz", ".paths")
# What a directory or prefix listing keeps. CC names WET files *.warc.wet.gz; *.wet is an uncompressed one;
# *.warc.txt is cc_net's name for its uncompressed WET sample (bundled in tests/fixtures/wet). WARC (*.warc.gz) and
# WAT (*.warc.wat.gz) files share CC's folders and prefixes and must not be read as WET.
WET_SUFFIXES = (".wet.gz", ".wet", ".warc.txt")
_WILDCARDS = "*?["

# The driver and the executors share one settings object per source: the validated ``s3`` and ``http`` conf sections.
S3Settings = S3Config
HttpSettings = HttpConfig

T = TypeVar("T")


@dataclass(frozen=True)
class SourceSettings:
    """Settings of every streamed source, shipped to the executors with the ingest function."""

    s3: S3Settings = field(default_factory=S3Settings)
    http: HttpSettings = field(default_factory=HttpSettings)

    @classmethod
    def of(cls, settings: SourceSettings | S3Settings) -> SourceSettings:
        """Accept the S3 settings alone (older callers, benchmarks): HTTP then uses its defaults."""
        return settings if isinstance(settings, SourceSettings) else cls(s3=settings)


class HadoopFiles(Protocol):
    """Lists and reads Hadoop filesystem paths on the driver (implemented with Spark's JVM in ``jobs/``)."""

    def list_wet(self, spec: str) -> list[str]:
        """Files of a path, directory (WET only) or glob; raises InputError naming ``spec``."""
        ...

    def read_bytes(self, path: str) -> bytes:
        """The whole content of one (small) file, e.g. a manifest."""
        ...


_URI_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")


def scheme_of(path: str) -> str | None:
    """``gs://b/k`` → ``gs``; ``file:/tmp/x`` (Hadoop's form) → ``file``; a plain path → None (Windows ``C:/`` too)."""
    match = _URI_SCHEME.match(path)
    return match.group(1).lower() if match else None


def is_s3(path: str) -> bool:
    """``s3://`` (and the retired ``s3n://``) are read with boto3; ``s3a://`` goes through Hadoop's S3A."""
    return scheme_of(path) in ("s3", "s3n")


def is_http(path: str) -> bool:
    return scheme_of(path) in ("http", "https")


def is_hadoop(path: str) -> bool:
    """Any other URL scheme (``gs``, ``hdfs``, ``abfs``, ``s3a``, ``file``, …) is a Hadoop filesystem's."""
    scheme = scheme_of(path)
    return scheme is not None and not is_s3(path) and not is_http(path)


def is_wet_name(name: str) -> bool:
    """Directory and prefix inputs take WET files only, not WARC, WAT, READMEs or Spark's ``_SUCCESS`` markers."""
    return not name.startswith((".", "_")) and name.endswith(WET_SUFFIXES)


def split_s3(path: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key)."""
    rest = path.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InputError(f"{path}: no bucket in S3 URL")
    return bucket, key


# --------------------------------------------------------------------------------------------------------------
# One retry loop for every streamed source.
# --------------------------------------------------------------------------------------------------------------


class RetryPolicy(Protocol):
    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float


def backoff_seconds(attempt: int, settings: RetryPolicy, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(max, base * 2**attempt)]."""
    return rng.uniform(0, min(settings.backoff_max_seconds, settings.backoff_base_seconds * (2**attempt)))


class Retries:
    """Counts requests and retries against ``policy.max_attempts`` and sleeps between them.

    ``attempts`` counts every request issued (the operation calls :meth:`count_attempt`), so a stream that resumes
    three times has made four attempts, whatever happened in between.
    """

    def __init__(self, policy: RetryPolicy, *, sleep: Callable[[float], None] = time.sleep,
                 seed: int | None = None) -> None:  # fmt: skip
        self.policy = policy
        self.attempts = 0
        self.retries = 0
        self.waits: list[float] = []
        self._sleep = sleep
        self._rng = random.Random(seed if seed is not None else hash((id(self), os.getpid(), time.time())))

    def count_attempt(self) -> None:
        self.attempts += 1

    def wait_seconds(self, failures: int, exc: BaseException) -> float:
        """The jittered backoff, or the server's ``Retry-After`` when longer (both capped by ``backoff_max``)."""
        jitter = backoff_seconds(failures, self.policy, self._rng)
        asked = getattr(exc, "retry_after", None)
        if asked is None:
            return jitter
        return max(jitter, min(float(asked), self.policy.backoff_max_seconds))

    def call(self, operation: Callable[[], T], transient: Callable[[BaseException], bool],
             on_retry: Callable[[], None] | None = None) -> T:  # fmt: skip
        failures = 0
        while True:
            try:
                return operation()
            except Exception as exc:
                if not transient(exc) or self.attempts >= self.policy.max_attempts:
                    raise
                self.retries += 1
                if on_retry is not None:
                    on_retry()
                wait = self.wait_seconds(failures, exc)
                failures += 1
                self.waits.append(wait)
                self._sleep(wait)


class IncompleteBody(ConnectionError):
    """The server ended a body before its announced length without an error: a broken connection all the same."""


class SourceReadError(Exception):
    """A remote file that could not be read after the retries. Deliberately not an ``OSError``: the WET reader takes
    those for a corrupt gzip stream, and a file the network lost is ``failed``, not ``corrupt``."""


class RetryingStream(io.RawIOBase):
    """A readable stream over one remote object that survives throttling and broken connections.

    On a transient error the object is requested again from the byte reached (``Range: bytes=<position>-``), so a
    1 GB file that loses its connection at 900 MB resumes there. Subclasses issue the request (:meth:`_open`) and
    say which errors are transient (:meth:`_transient`); the loop, the counters and the backoff are shared.
    """

    chunk_bytes = 1 << 16
    """Largest body read per call: the position advances chunk by chunk even when the reader above asks for 1 MB
    at a time, so a dropped connection costs at most one chunk again, not the whole read."""

    def __init__(self, url: str, policy: RetryPolicy, *, sleep: Callable[[float], None] = time.sleep,
                 seed: int | None = None) -> None:  # fmt: skip
        super().__init__()
        self.url = url
        self.position = 0
        self.size: int | None = None  # known after the first response; the first request happens on the first read
        self.retry_state = Retries(policy, sleep=sleep, seed=seed)
        self._body: Any = None

    @property
    def attempts(self) -> int:
        """Requests issued for this object (the first one included)."""
        return self.retry_state.attempts

    @property
    def retries(self) -> int:
        return self.retry_state.retries

    def readable(self) -> bool:
        return True

    def _open(self) -> Any:
        """Request the object from ``self.position``; set ``self.size`` on the first response; return the body
        (``read(n)``/``close()``)."""
        raise NotImplementedError

    def _transient(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")

        def read_chunk() -> int:
            if self._body is None:
                if self.size is not None and self.position >= self.size:
                    return 0
                self.retry_state.count_attempt()
                self._body = self._open()
            data = self._body.read(min(len(view), self.chunk_bytes))
            if not data and self.size is not None and self.position < self.size:
                raise IncompleteBody(f"{self.url}: body ended at byte {self.position} of {self.size}")
            view[: len(data)] = data
            return len(data)

        try:
            n = self.retry_state.call(read_chunk, self._transient, on_retry=self._close_body)
        except Exception as exc:
            raise SourceReadError(f"{self.url}: {type(exc).__name__}: {exc} (at byte {self.position}, "
                                  f"after {self.attempts} attempt(s))") from exc  # fmt: skip
        self.position += n
        return n

    def _close_body(self) -> None:
        if self._body is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may itself fail
                self._body.close()
            self._body = None

    def close(self) -> None:
        self._close_body()
        super().close()


# --------------------------------------------------------------------------------------------------------------
# S3 (boto3)
# --------------------------------------------------------------------------------------------------------------

_CLIENTS: dict[tuple[Any, ...], Any] = {}
_CLIENT_LOCK = threading.Lock()


def _cached_client(key: tuple[Any, ...], make: Callable[[], T]) -> T:
    """One client per process and key, made once even when several threads ask at the same time."""
    client = _CLIENTS.get(key)
    if client is None:
        with _CLIENT_LOCK:
            client = _CLIENTS.get(key)
            if client is None:
                client = _CLIENTS[key] = make()
    return client


def s3_client(settings: S3Settings, *, fail_fast: bool = False) -> Any:
    """One boto3 client per process and settings (clients are thread-safe; creating one costs ~50 ms)."""

    def make() -> Any:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        config = Config(
            connect_timeout=2 if fail_fast else settings.connect_timeout_seconds,
            read_timeout=settings.read_timeout_seconds,
            # Our own loop retries with backoff and resumes bodies; botocore's retries would hide the count.
            retries={"total_max_attempts": 1},
            signature_version=UNSIGNED if settings.anonymous else None,
            s3={"addressing_style": "path"} if settings.endpoint_url else None,
        )
        return boto3.session.Session().client(
            "s3", endpoint_url=settings.endpoint_url, region_name=settings.region or "us-east-1", config=config
        )

    return _cached_client(("s3", settings, fail_fast), make)


_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
    "502",
    "504",
}


def _is_transport_error(exc: BaseException) -> bool:
    """Broken connections and timeouts, from Python's socket layer or urllib3 (under botocore and ours)."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    from urllib3.exceptions import HTTPError as Urllib3Error

    return isinstance(exc, Urllib3Error)


def is_transient(exc: BaseException) -> bool:
    """Whether an S3 error is worth retrying (throttling, 5xx, timeouts, broken connections)."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        EndpointConnectionError,
        IncompleteReadError,
        ReadTimeoutError,
        ResponseStreamingError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in _TRANSIENT_CODES or status >= 500 or status == 429
    botocore_transient = (
        ConnectionClosedError,
        EndpointConnectionError,
        IncompleteReadError,
        ReadTimeoutError,
        ResponseStreamingError,
    )
    return isinstance(exc, botocore_transient) or _is_transport_error(exc)


class RetryingS3Stream(RetryingStream):
    """An S3 object read with boto3 GETs (ranged when resuming)."""

    def __init__(self, url: str, settings: S3Settings, *, sleep: Callable[[float], None] = time.sleep,
                 seed: int | None = None) -> None:  # fmt: skip
        super().__init__(url, settings, sleep=sleep, seed=seed)
        self.bucket, self.key = split_s3(url)
        self.settings = settings

    def _open(self) -> Any:
        extra = {"Range": f"bytes={self.position}-"} if self.position else {}
        response = s3_client(self.settings).get_object(Bucket=self.bucket, Key=self.key, **extra)
        if self.size is None:
            self.size = int(response.get("ContentLength", 0))
        return response["Body"]

    def _transient(self, exc: BaseException) -> bool:
        return is_transient(exc)


def _s3_call(settings: S3Settings, what: str, call: Callable[[Any], T]) -> T:
    """A driver-side S3 request: throttling and 5xx retried, an unreachable endpoint an InputError at once."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    endpoint = settings.endpoint_url or "AWS S3 (default endpoint)"
    retries = Retries(settings)

    def once() -> T:
        retries.count_attempt()
        return call(s3_client(settings, fail_fast=True))

    def transient(exc: BaseException) -> bool:  # on the driver an unreachable endpoint fails at once
        return isinstance(exc, ClientError) and is_transient(exc)

    try:
        return retries.call(once, transient)
    except EndpointConnectionError as exc:
        raise InputError(f"S3 endpoint {endpoint} is unreachable while listing {what}: {exc}") from exc
    except NoCredentialsError as exc:
        raise InputError(f"no AWS credentials found for {what} (set s3.anonymous: true for public buckets)") from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "?")
        raise InputError(f"S3 error {code} on {what} at {endpoint}: {exc}") from exc
    except Exception as exc:  # connection refused/reset surfaces as several botocore/urllib3 types
        raise InputError(f"S3 endpoint {endpoint} failed for {what}: {type(exc).__name__}: {exc}") from exc


def check_s3_endpoints(files: Iterable[str], settings: SourceSettings | S3Settings) -> None:
    """Before Spark: the S3 endpoint of every bucket the files name must answer. Files from a manifest are never
    listed, so a wrong or unreachable endpoint used to start Spark and retry every file; now it is one InputError.
    An error answer (403, 404) is the endpoint answering: each file's own read reports it."""
    from botocore.exceptions import ClientError

    s3 = SourceSettings.of(settings).s3
    for bucket in sorted({split_s3(path)[0] for path in files if is_s3(path)}):
        try:
            _s3_call(s3, f"bucket {bucket}", lambda client, name=bucket: client.head_bucket(Bucket=name))
        except InputError as exc:
            if not isinstance(exc.__cause__, ClientError):
                raise


# --------------------------------------------------------------------------------------------------------------
# HTTP(S) (urllib3, which ships with botocore)
# --------------------------------------------------------------------------------------------------------------

# 429 and 503 are how Common Crawl's HTTPS endpoint throttles; 501 and 505 will not change on a retry.
_TRANSIENT_HTTP_STATUS = {408, 425, 429, 500, 502, 503, 504}


class HttpStatusError(Exception):
    """A response other than 200/206, with the server's ``Retry-After`` (seconds) when it sent one."""

    def __init__(self, url: str, status: int, reason: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} {reason} for {url}")
        self.url = url
        self.status = status
        self.retry_after = retry_after


def is_transient_http(exc: BaseException) -> bool:
    """Whether an HTTP failure is worth retrying (429, 5xx but 501/505, timeouts, broken connections)."""
    if isinstance(exc, HttpStatusError):
        return exc.status in _TRANSIENT_HTTP_STATUS
    return _is_transport_error(exc)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: either delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def http_pool(settings: HttpSettings, *, fail_fast: bool = False) -> Any:
    """One urllib3 pool manager per process and settings (thread-safe, keeps connections alive)."""

    def make() -> Any:
        import urllib3

        connect = min(2.0, settings.connect_timeout_seconds) if fail_fast else settings.connect_timeout_seconds
        return urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect, read=settings.read_timeout_seconds),
            retries=False,  # our loop retries, counts and resumes
            # The bytes as stored: a .gz must not be un-gzipped by a Content-Encoding on the way.
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "identity"},
        )

    return _cached_client(("http", settings, fail_fast), make)


def _content_range(value: str | None) -> tuple[int, int | None]:
    """``bytes 200-999/1000`` → (200, 1000); ``bytes 200-999/*`` → (200, None)."""
    match = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value or "")
    if not match:
        raise ValueError(f"unexpected Content-Range {value!r}")
    total = match.group(2)
    return int(match.group(1)), None if total == "*" else int(total)


def _discard(response: Any) -> None:
    """Give a connection back to the pool only once its body is read: unread bytes would be taken for the next
    response's status line (an error page is small; a body cut short just closes the connection)."""
    try:
        response.drain_conn()
        response.release_conn()
    except Exception:
        response.close()


def http_get(url: str, settings: HttpSettings, start: int = 0, end: int | None = None, *,
             fail_fast: bool = False) -> Any:  # fmt: skip
    """One GET from byte ``start`` (to ``end``, inclusive); the streaming urllib3 response, or HttpStatusError."""
    pool = http_pool(settings, fail_fast=fail_fast)
    headers = dict(pool.headers)  # headers given to request() replace the pool's, not add to them
    if start or end is not None:
        headers["Range"] = f"bytes={start}-{'' if end is None else end}"
    parts = urlsplit(url)
    if "@" in parts.netloc:  # user:password in the URL: HTTP basic authentication, never sent as part of the URL
        userinfo, _, host = parts.netloc.rpartition("@")
        headers["Authorization"] = "Basic " + base64.b64encode(unquote(userinfo).encode("utf-8")).decode("ascii")
        url = urlunsplit(parts._replace(netloc=host))
    response = pool.request("GET", url, headers=headers, preload_content=False, decode_content=False, redirect=True)
    if response.status not in (200, 206):
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        reason = response.reason or ""
        _discard(response)
        raise HttpStatusError(url, response.status, reason, retry_after)
    return response


class RetryingHttpStream(RetryingStream):
    """An ``http(s)://`` URL read with urllib3 GETs (ranged when resuming). With ``fail_fast`` (the driver) a host
    that cannot be reached is not retried."""

    def __init__(self, url: str, settings: HttpSettings, *, sleep: Callable[[float], None] = time.sleep,
                 seed: int | None = None, fail_fast: bool = False) -> None:  # fmt: skip
        super().__init__(url, settings, sleep=sleep, seed=seed)
        self.settings = settings
        self.fail_fast = fail_fast

    def _open(self) -> Any:
        response = http_get(self.url, self.settings, self.position, fail_fast=self.fail_fast)
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != self.position:
                response.close()
                raise ValueError(f"{self.url}: asked for bytes from {self.position}, the server sent from {start}")
        else:
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
            if self.position:  # the server ignored the Range header: skip what was already read
                skip = self.position
                while skip:
                    dropped = response.read(min(skip, 1 << 20))
                    if not dropped:
                        raise IncompleteBody(f"{self.url}: body ended while skipping to byte {self.position}")
                    skip -= len(dropped)
        if self.size is None:
            self.size = total
        return response

    def _transient(self, exc: BaseException) -> bool:
        return _transient_on_driver(exc) if self.fail_fast else is_transient_http(exc)


def _transient_on_driver(exc: BaseException) -> bool:
    """On the driver a host that cannot be reached fails at once; throttling and broken bodies are retried."""
    from urllib3.exceptions import ConnectTimeoutError  # NewConnectionError (refused, DNS) is one too

    return is_transient_http(exc) and not isinstance(exc, ConnectTimeoutError)


def _read_http(url: str, settings: HttpSettings, what: str) -> bytes:
    """Read ``url`` (a manifest) on the driver with the executors' retries and resume; InputError if it fails."""
    stream = RetryingHttpStream(url, settings, fail_fast=True)
    try:
        return stream.read()
    except SourceReadError as exc:
        raise InputError(f"{what}: {exc}") from exc
    finally:
        stream.close()


def _check_http(url: str, settings: HttpSettings) -> list[str]:
    """A single WET URL must answer before Spark starts: a GET of its first byte, with the usual retries (cheap, and
    allowed where HEAD is not)."""
    if url.endswith("/"):
        raise InputError(f"input {url!r}: HTTP has no directory listing; give WET URLs or a wet.paths.gz manifest")
    retries = Retries(settings)

    def probe() -> None:
        retries.count_attempt()
        http_get(url, settings, 0, 0, fail_fast=True).close()  # a server ignoring Range would send it all: hang up

    try:
        retries.call(probe, _transient_on_driver)
    except Exception as exc:
        raise InputError(f"input {url!r}: {type(exc).__name__}: {exc} (after {retries.attempts} attempt(s))") from exc
    return [url]


# --------------------------------------------------------------------------------------------------------------
# Driver side: turn --input specs into a concrete, ordered list of files.
# --------------------------------------------------------------------------------------------------------------


def resolve_inputs(specs: Iterable[str], settings: SourceSettings | S3Settings, manifest_base: str,
                   hadoop: HadoopFiles | None = None) -> list[str]:  # fmt: skip
    """Expand every input spec into file paths (sorted within a spec, de-duplicated, order of specs kept).

    Hadoop URLs need ``hadoop`` (Spark's JVM lists them). Raises :class:`InputError` naming the spec when it matches
    nothing, its endpoint cannot be reached or its scheme has no filesystem.
    """
    sources = SourceSettings.of(settings)
    files: list[str] = []
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        matched = _resolve_one(spec, sources, manifest_base, hadoop)
        if not matched:
            raise InputError(f"input {spec!r} matched no files")
        files.extend(matched)
    # One read per file: a local file reached twice (a glob through a symlink loop, two names for one file) counts
    # once, under the first name it was listed by.
    seen: set[str] = set()
    unique = []
    for path in files:
        identity = _identity(path)
        if identity not in seen:
            seen.add(identity)
            unique.append(path)
    if not unique:
        raise InputError("no input given: pass --input with paths, globs, URLs or a wet.paths.gz manifest")
    return unique


def _local_glob(spec: str) -> list[str]:
    """Files matching a local glob, without those reached through a symlinked folder the wildcards crossed.

    ``glob`` follows such links, so a link back to a parent (a loop) made ``**`` list one file ~40 times under ever
    longer names; like ``os.walk`` for folder inputs, a wildcard never enters a linked folder. A folder the user
    named before the first wildcard may itself be a link.
    """
    named = os.path.dirname(spec[: min(spec.find(c) for c in _WILDCARDS if c in spec)]) or "."
    files = []
    for path in sorted(glob.glob(spec, recursive=True)):
        if not os.path.isfile(path):
            continue
        folder, crossed = named, os.path.relpath(os.path.dirname(path), named)
        parts = [] if crossed == "." else crossed.split(os.sep)
        linked = False
        for part in parts:
            folder = os.path.join(folder, part)
            linked = linked or os.path.islink(folder)
        if not linked:
            files.append(path)
    return files


def _identity(path: str) -> str:
    """What makes two inputs the same file: the resolved path of a local file, the URL of anything else."""
    return os.path.realpath(path) if "://" not in path and os.path.exists(path) else path


def _need_hadoop(spec: str, hadoop: HadoopFiles | None) -> HadoopFiles:
    if hadoop is None:
        raise InputError(f"input {spec!r}: {scheme_of(spec)}:// is read through Spark's Hadoop filesystems; "
                         "this entry point cannot list it")  # fmt: skip
    return hadoop


def _resolve_one(spec: str, sources: SourceSettings, manifest_base: str, hadoop: HadoopFiles | None) -> list[str]:
    if spec.endswith(MANIFEST_SUFFIXES):
        return read_manifest(spec, sources, manifest_base, hadoop)
    if is_s3(spec):
        return _list_s3(spec, sources.s3)
    if is_http(spec):
        return _check_http(spec, sources.http)
    if is_hadoop(spec):
        return _need_hadoop(spec, hadoop).list_wet(spec)
    if any(c in spec for c in _WILDCARDS):
        return _local_glob(spec)
    if os.path.isdir(spec):
        return sorted(
            os.path.join(root, name) for root, _, names in os.walk(spec) for name in names if is_wet_name(name)
        )
    if os.path.isfile(spec):
        return [spec]
    raise InputError(f"input path does not exist: {spec}")


def _list_s3(spec: str, settings: S3Settings) -> list[str]:
    scheme = spec.split("://", 1)[0]
    bucket, key = split_s3(spec)
    wildcard_at = min((key.find(c) for c in _WILDCARDS if c in key), default=-1)
    prefix = key if wildcard_at < 0 else key[:wildcard_at]

    def list_keys(client: Any) -> list[str]:
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    keys = _s3_call(settings, spec, list_keys)
    if wildcard_at >= 0:
        keys = [k for k in keys if fnmatch.fnmatchcase(k, key)]
    elif key in keys:
        keys = [key]  # an exact object: not every object sharing it as a prefix
    else:
        folder = key if key.endswith("/") or not key else key + "/"
        keys = [k for k in keys if k.startswith(folder) and is_wet_name(k.rsplit("/", 1)[-1])]
    return [f"{scheme}://{bucket}/{k}" for k in sorted(keys)]


def read_manifest(spec: str, settings: SourceSettings | S3Settings, base: str,
                  hadoop: HadoopFiles | None = None) -> list[str]:  # fmt: skip
    """Read a CC ``wet.paths.gz`` manifest; relative lines are resolved against ``base`` (``s3://commoncrawl/`` in
    AWS, ``https://data.commoncrawl.org/`` elsewhere)."""
    sources = SourceSettings.of(settings)
    if is_s3(spec):
        bucket, key = split_s3(spec)
        data = _s3_call(sources.s3, spec, lambda c: c.get_object(Bucket=bucket, Key=key)["Body"].read())
    elif is_http(spec):
        data = _read_http(spec, sources.http, f"manifest {spec!r}")
    elif is_hadoop(spec):
        data = _need_hadoop(spec, hadoop).read_bytes(spec)
    else:
        if not os.path.isfile(spec):
            raise InputError(f"manifest does not exist: {spec}")
        with open(spec, "rb") as handle:
            data = handle.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    base = base if base.endswith("/") else base + "/"
    paths = []
    for line in data.decode("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        absolute = "://" in line or line.startswith("/")
        paths.append(line if absolute else base + line)
    return paths


# --------------------------------------------------------------------------------------------------------------
# Executor side: open one file as a binary stream.
# --------------------------------------------------------------------------------------------------------------


class MemoryStream(io.RawIOBase):
    """A raw stream over bytes already in memory (a file Spark read), without copying them."""

    def __init__(self, data: Any) -> None:
        super().__init__()
        self._view = memoryview(data).cast("B")
        self._position = 0
        self.size = len(self._view)  # what the reader's byte accounting compares its consumption with

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        n = min(len(target), len(self._view) - self._position)
        target[:n] = self._view[self._position : self._position + n]
        self._position += n
        return n

    def close(self) -> None:
        self._view.release()
        super().close()


def open_input(path: str, settings: SourceSettings | S3Settings) -> BinaryIO:
    """Open a local file, S3 object or HTTP(S) URL as a raw binary stream (decompression is the WET reader's job)."""
    sources = SourceSettings.of(settings)
    if is_s3(path):
        return RetryingS3Stream(path, sources.s3)  # type: ignore[return-value]
    if is_http(path):
        return RetryingHttpStream(path, sources.http)  # type: ignore[return-value]
    if is_hadoop(path):  # Spark reads those (binaryFile); one that reaches here was not found when its shard ran
        raise FileNotFoundError(f"{path}: no such file on its Hadoop filesystem")
    return open(path, "rb")
