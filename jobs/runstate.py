"""What makes a run resumable and exclusive: its identity (inputs + conf), commit markers and the output lock.

Layout inside ``<output>``::

    _lock                      who writes here now (run id, host, pid, heartbeat); removed when the run ends
    _run.json                  the run's identity: input list digest, the conf that decides content, stages
    _stage/shards/shard=N/     phase 1 of shard N: every row of its files, with dedup keys (staged, not final)
    _stage/markers/shard-N.json      phase 1 of shard N committed (its records, bytes, files)
    _stage/removals/           phase 2: (row address, stage, reason, duplicate_of) of what the global steps remove
    _stage/markers/global.json       phase 2 committed (removal counts per shard, computed perplexity cut-offs)
    _stage/markers/final-N.json      shard N finalized: documents/shard=N and rejected/shard=N are complete
    documents/ rejected/ stats/ reports/ _manifest.json

A marker is written only after the data it vouches for is fully written, and data without its marker is deleted
and redone on resume, so a run killed at any moment (driver and JVM included) resumes to the same output. Markers
and the lock are small files written through :class:`jobs.filesystem.OutputFiles`, so the same protocol works on
local disks, HDFS and object stores (``s3://``, ``gs://``), where nothing needs a rename.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from jobs.filesystem import OutputFiles, local_path
from udfs.config import PipelineConfig
from udfs.errors import ConfigError

LOCK = "_lock"
RUN_FILE = "_run.json"
STAGE_DIR = "_stage"

# Conf keys that change how a run goes, not what it writes: a resumed run may differ in them.
OPERATIONAL_KEYS = (
    "output.mode",
    "output.lock_stale_seconds",
    "output.manifest_max_inputs",
    "run.concurrent_shards",
    "run.progress_seconds",
    "run.fail_on_failed_inputs",
    "spark.",
    "s3.max_attempts",
    "s3.backoff_",
    "s3.connect_timeout_seconds",
    "s3.read_timeout_seconds",
    "http.",
)


class OutputBusy(ConfigError):
    """Another live run holds the output's lock."""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (lists stay values)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= flatten(item, f"{prefix}{key}.")
        return out
    return {prefix.rstrip("."): value}


def run_identity(conf: PipelineConfig, files: list[str], stages: list[str]) -> dict[str, Any]:
    """What must be equal for a resumed run to produce the output an uninterrupted one would."""
    content_conf = {
        key: value
        for key, value in flatten(json.loads(json.dumps(conf.redacted(), default=str))).items()
        if not key.startswith(OPERATIONAL_KEYS)
    }
    digest = hashlib.sha256("\n".join(files).encode("utf-8")).hexdigest()
    return {"inputs": {"count": len(files), "sha256": digest}, "stages": list(stages), "conf": content_conf}


def identity_changes(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """Human-readable differences between two identities (empty: same run)."""
    changes = []
    if stored.get("inputs") != wanted["inputs"]:
        before, after = stored.get("inputs", {}), wanted["inputs"]
        changes.append(f"inputs ({before.get('count')} files, sha256 {str(before.get('sha256'))[:12]} → "
                       f"{after['count']} files, sha256 {after['sha256'][:12]})")
    if stored.get("stages") != wanted["stages"]:
        changes.append(f"stages ({','.join(stored.get('stages', []))} → {','.join(wanted['stages'])})")
    old_conf, new_conf = stored.get("conf", {}), wanted["conf"]
    for key in sorted(set(old_conf) | set(new_conf)):
        if old_conf.get(key) != new_conf.get(key):
            changes.append(f"{key} ({old_conf.get(key)!r} → {new_conf.get(key)!r})")
    return changes


@dataclass
class OutputLock:
    """One writer per output: ``_lock`` holds the owner and a heartbeat the driver refreshes.

    Taking it: a lock that is absent, or stale (this host's process is gone, or no heartbeat for
    ``stale_seconds``), is (re)written with our token, then read back after a short pause; if another run's token
    is there, that run won the race and we refuse. Locally the first write is an exclusive create, so two runs
    starting together cannot both pass.
    """

    files: OutputFiles
    stale_seconds: float
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    settle_seconds: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _content(self) -> str:
        now = time.time()
        return json.dumps({"token": self.token, "host": socket.gethostname(), "pid": os.getpid(), "heartbeat": now})

    def acquire(self) -> None:
        current = self.files.read_json(LOCK)
        if current is not None and not self._stale(current):
            raise OutputBusy(
                f"output {self.files.root} is being written by another run (host {current.get('host')}, pid "
                f"{current.get('pid')}, last heartbeat {time.time() - float(current.get('heartbeat', 0)):.0f} s ago);"
                f" wait for it to end, or remove {self.files.path(LOCK)} if that run is known to be dead"
            )
        local = local_path(self.files.path(LOCK))
        if local is not None and current is None:
            os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
            try:
                descriptor = os.open(local, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                raise OutputBusy(f"output {self.files.root} is being written by another run (it took the lock "
                                 "just now)") from None
            with os.fdopen(descriptor, "w") as handle:
                handle.write(self._content())
        else:
            self.files.write(LOCK, self._content())
        if self.settle_seconds:
            time.sleep(self.settle_seconds)
        found = self.files.read_json(LOCK)
        if found is None or found.get("token") != self.token:
            raise OutputBusy(f"output {self.files.root} was taken by another run starting at the same time")
        self._thread = threading.Thread(target=self._beat, name="cc-refinery-lock", daemon=True)
        self._thread.start()

    def _stale(self, current: dict[str, Any]) -> bool:
        if current.get("host") == socket.gethostname():
            pid = int(current.get("pid", 0))
            if pid == os.getpid():
                return False  # another run of this very process (a thread, or a test) holds it
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
            return False
        return time.time() - float(current.get("heartbeat", 0)) > self.stale_seconds

    def _beat(self) -> None:
        interval = max(1.0, min(30.0, self.stale_seconds / 4))
        while not self._stop.wait(interval):
            try:
                self.files.write(LOCK, self._content())
            except Exception:  # a missed heartbeat is retried next interval; the run itself goes on
                continue

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        found = self.files.read_json(LOCK)
        if found is not None and found.get("token") == self.token:
            self.files.remove(LOCK)


def prepare_output(files: OutputFiles, mode: str, identity: dict[str, Any]) -> bool:
    """Make the output ready for this run, per ``output.mode``; returns True when resuming an earlier run.

    Called with the lock held, so nothing is deleted while another run writes. ``error`` refuses a non-empty
    output, ``overwrite`` clears it, ``resume`` keeps it when its ``_run.json`` matches ``identity`` and refuses
    (naming what changed) when it does not.
    """
    entries = [name for name in files.entries() if name != LOCK]
    stored = files.read_json(RUN_FILE) if RUN_FILE in entries else None
    if mode == "resume" and stored is not None:
        changes = identity_changes(stored, identity)
        if changes:
            raise ConfigError(
                f"output.mode=resume: {files.root} holds a run of other inputs or conf; changed: {'; '.join(changes)}"
                " (use --set output.mode=overwrite to start over, or another --output)"
            )
        return True
    if entries and mode == "error":
        raise ConfigError(f"output.mode: output folder {files.root} is not empty (use --set output.mode=overwrite "
                          "or resume)")
    if entries and mode == "resume":
        raise ConfigError(f"output.mode=resume: {files.root} is not empty but holds no {RUN_FILE} of a resumable run "
                          "(use --set output.mode=overwrite to replace it)")
    for name in entries:
        files.remove(name)
    files.write_json(RUN_FILE, identity)
    return False
