"""Where WET files come from: local paths, globs, ``s3://`` objects and prefixes, and CC ``*.paths.gz`` manifests.

Resolution runs on the driver before Spark starts, so a missing path or an unreachable S3 endpoint fails fast with
a message that names it. Reading runs inside executors: each task opens its own file with boto3 (as cc-pyspark
does), streams it, and retries transient S3 errors (throttling, 5xx, connection resets) with jittered exponential
backoff — resuming a broken body with a ranged GET from the byte it had reached.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import gzip
import io
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from udfs.config import S3Config
from udfs.errors import InputError

MANIFEST_SUFFIXES = (".paths.gz", ".paths")
_WILDCARDS = "*?["


# The driver and the executors share one settings object: the validated ``s3`` conf section.
S3Settings = S3Config


def is_s3(path: str) -> bool:
    return path.startswith(("s3://", "s3a://", "s3n://"))


def split_s3(path: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key)."""
    rest = path.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InputError(f"{path}: no bucket in S3 URL")
    return bucket, key


_CLIENTS: dict[tuple[Any, ...], Any] = {}
_CLIENT_LOCK = threading.Lock()


def s3_client(settings: S3Settings, *, fail_fast: bool = False) -> Any:
    """One boto3 client per process and settings (clients are thread-safe; creating one costs ~50 ms)."""
    key = (settings, fail_fast)
    client = _CLIENTS.get(key)
    if client is None:
        with _CLIENT_LOCK:
            client = _CLIENTS.get(key)
            if client is None:
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
                client = boto3.session.Session().client(
                    "s3", endpoint_url=settings.endpoint_url, region_name=settings.region or "us-east-1", config=config
                )
                _CLIENTS[key] = client
    return client


# --------------------------------------------------------------------------------------------------------------
# Driver side: turn --input specs into a concrete, ordered list of files.
# --------------------------------------------------------------------------------------------------------------


def resolve_inputs(specs: Iterable[str], settings: S3Settings, manifest_base: str) -> list[str]:
    """Expand every input spec into file paths (sorted, de-duplicated, order of specs kept).

    Raises :class:`InputError` naming the spec when it matches nothing or its S3 endpoint cannot be reached.
    """
    files: list[str] = []
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        matched = _resolve_one(spec, settings, manifest_base)
        if not matched:
            raise InputError(f"input {spec!r} matched no files")
        files.extend(matched)
    seen: set[str] = set()
    unique = [f for f in files if not (f in seen or seen.add(f))]
    if not unique:
        raise InputError("no input given: pass --input with paths, globs, s3:// URLs or a wet.paths.gz manifest")
    return unique


def _resolve_one(spec: str, settings: S3Settings, manifest_base: str) -> list[str]:
    if spec.endswith(MANIFEST_SUFFIXES):
        return read_manifest(spec, settings, manifest_base)
    if is_s3(spec):
        return _list_s3(spec, settings)
    path = spec[len("file://") :] if spec.startswith("file://") else spec
    if any(c in path for c in _WILDCARDS):
        return sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
    if os.path.isdir(path):
        return sorted(
            os.path.join(root, name)
            for root, _, names in os.walk(path)
            for name in names
            if _looks_like_warc(name)
        )
    if os.path.isfile(path):
        return [path]
    raise InputError(f"input path does not exist: {path}")


def _looks_like_warc(name: str) -> bool:
    """Directory and prefix inputs take WARC/WET files only, not READMEs or Spark's _SUCCESS markers."""
    return not name.startswith((".", "_")) and (".warc" in name or ".wet" in name)


def _s3_call(settings: S3Settings, what: str, call: Callable[[Any], Any]) -> Any:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    endpoint = settings.endpoint_url or "AWS S3 (default endpoint)"
    rng = random.Random()
    try:
        for attempt in range(settings.max_attempts):
            try:
                return call(s3_client(settings, fail_fast=True))
            except ClientError as exc:
                # Throttling and 5xx on listings are retried like reads; an unreachable endpoint fails at once.
                if not is_transient(exc) or attempt + 1 >= settings.max_attempts:
                    raise
                time.sleep(backoff_seconds(attempt, settings, rng))
        raise AssertionError("unreachable")  # the loop either returns or raises
    except EndpointConnectionError as exc:
        raise InputError(f"S3 endpoint {endpoint} is unreachable while listing {what}: {exc}") from exc
    except NoCredentialsError as exc:
        raise InputError(f"no AWS credentials found for {what} (set s3.anonymous: true for public buckets)") from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "?")
        raise InputError(f"S3 error {code} on {what} at {endpoint}: {exc}") from exc
    except Exception as exc:  # connection refused/reset surfaces as several botocore/urllib3 types
        raise InputError(f"S3 endpoint {endpoint} failed for {what}: {type(exc).__name__}: {exc}") from exc


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
        keys = [k for k in keys if k.startswith(folder) and _looks_like_warc(k.rsplit("/", 1)[-1])]
    return [f"{scheme}://{bucket}/{k}" for k in sorted(keys)]


def read_manifest(spec: str, settings: S3Settings, base: str) -> list[str]:
    """Read a CC ``wet.paths.gz`` manifest; relative lines are resolved against ``base`` (e.g. ``s3://commoncrawl/``)."""
    if is_s3(spec):
        bucket, key = split_s3(spec)
        data = _s3_call(settings, spec, lambda c: c.get_object(Bucket=bucket, Key=key)["Body"].read())
    else:
        path = spec[len("file://") :] if spec.startswith("file://") else spec
        if not os.path.isfile(path):
            raise InputError(f"manifest does not exist: {path}")
        with open(path, "rb") as handle:
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
    transient_types: tuple[type[BaseException], ...] = (
        ConnectionClosedError,
        EndpointConnectionError,
        IncompleteReadError,
        ReadTimeoutError,
        ResponseStreamingError,
        ConnectionError,
        TimeoutError,
    )
    if isinstance(exc, transient_types):
        return True
    try:
        from urllib3.exceptions import HTTPError as Urllib3Error

        return isinstance(exc, Urllib3Error)
    except ImportError:  # pragma: no cover - urllib3 always ships with botocore
        return False


def backoff_seconds(attempt: int, settings: S3Settings, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(max, base * 2**attempt)]."""
    return rng.uniform(0, min(settings.backoff_max_seconds, settings.backoff_base_seconds * (2**attempt)))


class RetryingS3Stream(io.RawIOBase):
    """A readable stream over one S3 object that survives throttling and broken connections.

    On a transient error the object is requested again with ``Range: bytes=<position>-``, so a 1 GB file
    that loses its connection at 900 MB resumes there. ``attempts`` counts every GET issued.
    """

    def __init__(
        self,
        url: str,
        settings: S3Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.bucket, self.key = split_s3(url)
        self.settings = settings
        self.position = 0
        self.attempts = 0
        self.retries = 0
        self._sleep = sleep
        self._rng = random.Random(seed if seed is not None else hash((url, os.getpid(), time.time())))
        self._body: Any = None
        self._size: int | None = None  # the first GET happens on the first read, so failures keep the counters

    def readable(self) -> bool:
        return True

    def _retrying(self, operation: Callable[[], Any]) -> Any:
        failures = 0
        while True:
            try:
                return operation()
            except Exception as exc:
                if not is_transient(exc) or self.attempts >= self.settings.max_attempts:
                    raise
                failures += 1
                self.retries += 1
                self._close_body()
                self._sleep(backoff_seconds(failures - 1, self.settings, self._rng))

    def _request(self) -> None:
        """One GET from the current position (a ranged GET when resuming)."""
        self.attempts += 1
        if self._size is not None and self.position >= self._size:
            return
        extra = {"Range": f"bytes={self.position}-"} if self.position else {}
        response = s3_client(self.settings).get_object(Bucket=self.bucket, Key=self.key, **extra)
        if self._size is None:
            self._size = int(response.get("ContentLength", 0))
        self._body = response["Body"]

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")

        def read_chunk() -> int:
            if self._body is None:
                self._request()
                if self._body is None:
                    return 0
            data = self._body.read(len(view))
            if not data and self._size is not None and self.position < self._size:
                # The server closed the body early without an error: treat it as a broken connection.
                from botocore.exceptions import IncompleteReadError

                raise IncompleteReadError(actual_bytes=self.position, expected_bytes=self._size)
            view[: len(data)] = data
            return len(data)

        n = self._retrying(read_chunk)
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


def open_input(path: str, settings: S3Settings) -> BinaryIO:
    """Open a local file or S3 object as a raw binary stream (decompression is the WET reader's job)."""
    if is_s3(path):
        return RetryingS3Stream(path, settings)  # type: ignore[return-value]
    local = path[len("file://") :] if path.startswith("file://") else path
    return open(local, "rb")
