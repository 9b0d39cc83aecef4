"""Driver-side progress of a phase: units (shards) and files done / total, records/s, MB/s and an ETA.

A live bar (one ``\\r``-rewritten line) when stdout is a terminal; otherwise a plain line every
``run.progress_seconds`` and one per committed unit, so EMR/Dataproc step logs read as a timeline.
Figures come from the commit markers of finished shards, never from accumulators.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Progress of one phase; thread-safe (shards commit from several driver threads)."""

    def __init__(self, phase: str, units: int, files: int, every_seconds: float = 30.0,
                 stream: TextIO | None = None, live: bool | None = None) -> None:
        self.phase = phase
        self.units_total, self.files_total = units, files
        self.units_done = self.files_done = self.units_skipped = 0
        self.records = 0
        self.bytes = 0
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.every_seconds = every_seconds
        self.started = time.time()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Progress:
        self._ticker = threading.Thread(target=self._tick, name=f"progress-{self.phase}", daemon=True)
        self._ticker.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        self.emit(final=True)

    def skipped(self, files: int) -> None:
        """A unit committed by an earlier run (resume): counted as done, not in the rates."""
        with self._lock:
            self.units_done += 1
            self.units_skipped += 1
            self.files_done += files

    def done(self, files: int, records: int = 0, n_bytes: int = 0) -> None:
        with self._lock:
            self.units_done += 1
            self.files_done += files
            self.records += records
            self.bytes += n_bytes
        self.emit()

    def line(self) -> str:
        with self._lock:
            elapsed = max(time.time() - self.started, 1e-9)
            worked = self.units_done - self.units_skipped
            left = self.units_total - self.units_done
            eta = "?" if worked == 0 else _duration(elapsed / worked * left)
            return (
                f"[{self.phase}] {self.units_done}/{self.units_total} shards, {self.files_done}/{self.files_total} "
                f"files | {self.records / elapsed:,.0f} records/s, {self.bytes / elapsed / 1e6:.2f} MB/s | "
                f"elapsed {_duration(elapsed)}, ETA {eta}"
            )

    def emit(self, final: bool = False) -> None:
        text = self.line()
        if self.live:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _tick(self) -> None:
        interval = 1.0 if self.live else self.every_seconds
        while not self._stop.wait(interval):
            self.emit()
