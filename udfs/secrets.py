"""Credentials never leave the run: recognised by key name and remembered by value, then scrubbed from everything
the run prints or writes.

A credential can reach a run through the conf (``spark.conf`` Hadoop keys such as ``fs.s3a.secret.key``), a
``--set`` argument, a URL's user:password part (an input, an endpoint, the manifest base), the environment
(``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AZURE_STORAGE_KEY``…) or the credential files the cloud SDKs
read (the AWS shared credentials file, a Google service-account key file). Redaction by key name alone misses a
value once it is copied elsewhere — into an error message, a log line, a path — so :class:`Redactor` also
remembers every such value and replaces it wherever it appears: the driver's stdout and stderr
(:func:`install_stream_redaction`), the manifest and the per-file table.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any, TextIO

MASK = "***"
MIN_SECRET_CHARS = 4
"""Shorter values ("", "1", "no") are not remembered: replacing them everywhere would garble ordinary text."""

# Key segments (split at . _ - and camelCase) that name a credential, and segment pairs that do:
# fs.s3a.secret.key, fs.s3a.session.token, fs.azure.account.key.<account>,
# google.cloud.auth.service.account.json.keyfile.contents, AWS_ACCESS_KEY_ID, AZURE_STORAGE_CONNECTION_STRING, ...
_SECRET_SEGMENTS = frozenset({"secret", "password", "passwd", "pwd", "token", "credential", "credentials", "keyfile",
                              "passphrase"})  # fmt: skip
_SECRET_PAIRS = frozenset({("access", "key"), ("account", "key"), ("api", "key"), ("private", "key"), ("sas", "key"),
                           ("secret", "key"), ("auth", "key"), ("storage", "key"),
                           ("connection", "string")})  # fmt: skip
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
# Environment variables whose names look like credentials but are not ("pwd" is the shell's working directory).
_NOT_SECRET_ENV = frozenset({"PWD", "OLDPWD"})
# Fields of a Google service-account key file and of an OAuth client file that are credentials.
_KEY_FILE_FIELDS = ("private_key", "private_key_id", "client_secret", "refresh_token")


def is_secret_key(key: str) -> bool:
    """Whether a setting named ``key`` holds a credential (its value is never written out)."""
    segments = [s for s in re.split(r"[._\-\s]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", key).lower()) if s]
    return bool(_SECRET_SEGMENTS.intersection(segments)) or any(pair in _SECRET_PAIRS for pair in pairwise(segments))


def redact_text(text: str) -> str:
    """``text`` with the user:password part of every URL in it replaced (``s3://AKIA:x@host`` → ``s3://***@host``)."""
    return _URL_USERINFO.sub(rf"\g<scheme>{MASK}@", text)


def userinfo_secrets(text: str) -> set[str]:
    """The user:password parts of the URLs in ``text``, whole and the password alone."""
    found: set[str] = set()
    for match in _URL_USERINFO.finditer(text):
        userinfo = match.group("userinfo")
        found.add(userinfo)
        found.add(userinfo.partition(":")[2])
    return found


def _strings(value: Any, key: str = "") -> Iterable[tuple[str, str]]:
    """``(key path, string)`` of every scalar in a nested conf mapping."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v, key)
    elif value is not None:
        yield key, str(value)


def conf_secrets(raw: Mapping[str, Any]) -> set[str]:
    """Values of credential-like keys anywhere in a conf mapping, and URL userinfo in any of its strings."""
    found: set[str] = set()
    for key, text in _strings(raw):
        if is_secret_key(key):
            found.add(text)
        found |= userinfo_secrets(text)
    return found


def argv_secrets(argv: Sequence[str]) -> set[str]:
    """Values of ``--set key=value`` arguments whose key names a credential, and URL userinfo in any argument —
    known before the conf is even parsed, so that its error messages are scrubbed too."""
    found: set[str] = set()
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and is_secret_key(key.replace('"', "")):
            found.add(value)
        found |= userinfo_secrets(arg)
    return found


def environment_secrets(environ: Mapping[str, str]) -> set[str]:
    """Values of credential-like environment variables, and the credentials in the files the cloud SDKs read
    (the AWS shared credentials file, a Google service-account key file named by GOOGLE_APPLICATION_CREDENTIALS)."""
    found = {value for name, value in environ.items() if is_secret_key(name) and name not in _NOT_SECRET_ENV}
    aws_file = environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.expanduser("~/.aws/credentials")
    parser = configparser.RawConfigParser()
    with contextlib.suppress(configparser.Error, OSError, UnicodeDecodeError):  # unreadable: nothing to remember
        parser.read(aws_file)
    for section in parser.sections():
        found |= {value for key, value in parser.items(section) if is_secret_key(key)}
    key_file = environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if key_file:
        try:
            with open(key_file, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            data = {}
        for field in _KEY_FILE_FIELDS:
            value = data.get(field) if isinstance(data, dict) else None
            if isinstance(value, str):
                found.add(value)
                # A PEM key is printed line by line in tracebacks and reprs: remember its long lines too.
                found |= {line for line in value.replace("\\n", "\n").splitlines() if len(line) >= 16}
    return found


class Redactor:
    """Replaces every remembered credential value, and every URL userinfo, in text and in JSON-like values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> Redactor:
        kept = {s for s in secrets if len(s) >= MIN_SECRET_CHARS and s != MASK} | set(self._secrets)
        self._secrets = sorted(kept, key=len, reverse=True)  # longest first: a secret containing another wins
        self._pattern = re.compile("|".join(map(re.escape, self._secrets))) if self._secrets else None
        return self

    def extended(self, secrets: Iterable[str]) -> Redactor:
        """A new redactor that knows these secrets as well (this one unchanged)."""
        return Redactor(self._secrets).add(secrets)

    def text(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return redact_text(text)

    def scrub(self, value: Any) -> Any:
        """``value`` (dicts, lists, strings, scalars) with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)) if isinstance(k, str) else k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.scrub(v) for v in value]
        return value


_ACTIVE = Redactor()


def active_redactor() -> Redactor:
    """The process's redactor: what the driver's streams pass through; writers of run files use it too."""
    return _ACTIVE


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what is written to it before passing it on (the driver's stdout/stderr)."""

    def __init__(self, target: TextIO, redactor: Redactor) -> None:
        super().__init__()
        self.target = target
        self.redactor = redactor

    def write(self, text: str) -> int:
        self.target.write(self.redactor.text(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")


def install_stream_redaction(argv: Sequence[str], environ: Mapping[str, str]) -> Redactor:
    """Make the process redactor know the credentials of ``argv`` and the environment, and route ``sys.stdout``
    and ``sys.stderr`` through it (call before logging is configured, so log handlers write through it too)."""
    import sys

    _ACTIVE.add(argv_secrets(argv) | environment_secrets(environ))
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout, _ACTIVE)
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr, _ACTIVE)
    return _ACTIVE
