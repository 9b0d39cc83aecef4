"""Peer tools on the same WET files, for the benchmark table: zcat, fastwarc, datatrove and MinHash libraries.

    .venv/bin/python bench/peers.py --wet tests/fixtures/wet [--only zcat,fastwarc,datatrove,minhash] [--json out.json]

Each peer runs in its own virtualenv under ``.cache/bench-venvs/<name>`` (created and filled from the package
registry with pip on first use, reused afterwards): peers pin their own numpy, pandas, spaCy…, and none of that may
leak into the project's dependencies. Only the peers' public APIs are called, from small driver scripts written to a
temporary file and run with the peer venv's interpreter.

- ``zcat``: decompression alone, one process: the floor of any WET ingest.
- ``fastwarc``: a C++ WARC parser iterating every record and reading its body: the floor of a Python-driven reader.
- ``datatrove`` 0.10.1: WarcReader → Gopher repetition → Gopher quality → C4 → FineWeb quality → JSONL, then its
  four-step MinHash dedup (signature → buckets → cluster → filter), each step timed as its own process.
- ``minhash``: signatures per second of datasketch ``MinHash.bulk`` (project venv) and rensa (own venv) on the same
  word 5-gram shingles, against ours (``udfs.dedup.minhash``), text → signature.

A peer that fails to install or run reports ``{"error": ...}``; the others still run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import regex

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

VENV_ROOT = REPO_ROOT / ".cache" / "bench-venvs"
PEERS = ("zcat", "fastwarc", "datatrove", "minhash")
# What each peer venv gets. datatrove's [io] extra is what its WarcReader imports (warcio, cchardet, python-magic);
# spaCy is its English word tokenizer (spacy.blank("en"), no model download) used by the Gopher/FineWeb filters
# and by the MinHash shingler.
REQUIREMENTS: dict[str, list[str]] = {
    "fastwarc": ["fastwarc"],
    "datatrove": ["datatrove[processing,io]==0.10.1", "spacy"],
    "rensa": ["rensa"],
}
# Distributions whose installed versions go into the report (the pins above leave most of them floating).
REPORTED_DISTS: dict[str, list[str]] = {
    "fastwarc": ["fastwarc"],
    "datatrove": ["datatrove", "spacy", "warcio", "numpy", "xxhash"],
    "rensa": ["rensa"],
}
MB = 1e6  # MB/s in the decimal megabytes used by bench/ingest_throughput.py
PIP_TIMEOUT_S = 1800
CHILD_TIMEOUT_S = 3600


# ---------------------------------------------------------------------------------------------------------------
# Peer virtualenvs
# ---------------------------------------------------------------------------------------------------------------


def _base_python() -> str:
    """A Python 3.11 to create peer venvs with: datatrove 0.10.1 is benchmarked on the project's Python."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if found is None:
        raise RuntimeError("no Python 3.11 found to create the peer venvs with")
    return found


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def ensure_venv(name: str) -> tuple[Path, dict[str, Any]]:
    """The interpreter of peer venv ``name`` and its install info, creating and filling the venv on first use.

    A marker file written after a successful ``pip install`` records the requirement list: a venv whose install was
    interrupted (no marker) or whose requirements changed is topped up by pip, which is idempotent.
    """
    requirements = REQUIREMENTS[name]
    venv = VENV_ROOT / name
    python = venv / "bin" / "python"
    marker = venv / ".bench-installed.json"
    if marker.exists() and python.exists():
        info = json.loads(marker.read_text())
        if info.get("requirements") == requirements:
            return python, {**info, "reused": True}
    start = time.perf_counter()
    if not python.exists():
        VENV_ROOT.mkdir(parents=True, exist_ok=True)
        subprocess.run([_base_python(), "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", *requirements],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
    )
    if install.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(requirements)} failed:\n{_tail(install.stderr)}")
    info = {
        "requirements": requirements,
        "versions": _versions(python, REPORTED_DISTS[name]),
        "python": _run_text([str(python), "-c", "import platform; print(platform.python_version())"]),
        "install_s": round(time.perf_counter() - start, 1),
    }
    marker.write_text(json.dumps(info, indent=2))
    return python, {**info, "reused": False}


def _run_text(command: Sequence[str]) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def _versions(python: Path, dists: Sequence[str]) -> dict[str, str | None]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try:\n"
        "        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
    )
    return json.loads(_run_text([str(python), "-c", code, *dists]))


# ---------------------------------------------------------------------------------------------------------------
# Running a driver script in a peer venv
# ---------------------------------------------------------------------------------------------------------------

_MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")


def proc_stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the parenthesised command name (which may hold spaces): index i is field
    i + 3 of proc(5). None when the process has ended."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None


def session_process_stats(session: int, page_size: int) -> Iterator[tuple[int, int, float]]:
    """(pid, RSS bytes, CPU seconds so far) of every live process of one session, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = proc_stat_fields(entry.name)
        if fields is None:
            continue  # the process ended between listing and reading
        if int(fields[3]) == session:  # field 6: session id
            cpu = (int(fields[11]) + int(fields[12])) / ticks  # fields 14, 15: utime, stime
            yield int(entry.name), int(fields[21]) * page_size, cpu  # field 24: rss in pages


def session_processes(session: int, page_size: int) -> Iterator[tuple[int, int]]:
    """(pid, RSS bytes) of every live process of one session, from /proc (Linux)."""
    for pid, rss, _ in session_process_stats(session, page_size):
        yield pid, rss


class TreeRssSampler(threading.Thread):
    """Peak of the summed RSS of every process in one session, sampled from /proc every ``interval`` seconds.

    GNU time and getrusage give the largest single process, and miss pool workers that their parent (datatrove's
    forkserver) never waited for: with several workers, the sum over the process tree is the figure that matters.
    Linux only; elsewhere it reports nothing.
    """

    def __init__(self, session: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.session = session
        self.interval = interval
        self.peak_bytes = 0
        self._stop_event = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def sample(self) -> int:
        return sum(rss for _, rss in session_processes(self.session, self._page))

    def run(self) -> None:
        if not os.path.isdir("/proc"):
            return
        while not self._stop_event.is_set():
            self.peak_bytes = max(self.peak_bytes, self.sample())
            self._stop_event.wait(self.interval)

    def stop(self) -> float | None:
        self._stop_event.set()
        self.join()
        return round(self.peak_bytes / 2**20, 1) if self.peak_bytes else None


def run_driver(
    python: Path, script: str, config: dict[str, Any], log_path: Path | None = None
) -> tuple[dict[str, Any], float, dict[str, Any]]:
    """Run ``script`` with ``python``, passing ``config`` as a JSON file; returns (its JSON result, wall s, rss info).

    The driver writes its result to the file named by ``config["result"]``: peers log freely on stdout/stderr.
    Wall time is the whole subprocess (interpreter start and imports included, as a user pays them); peak RSS
    comes from GNU time when installed, else from getrusage, which only has the maximum over all children so far.
    """
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        script_path = Path(tmp) / "driver.py"
        script_path.write_text(textwrap.dedent(script))
        result_path = Path(tmp) / "result.json"
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps({**config, "result": str(result_path)}))
        time_path = Path(tmp) / "time.txt"
        command = [str(python), str(script_path), str(config_path)]
        gnu_time = Path("/usr/bin/time")
        if gnu_time.exists():
            command = [str(gnu_time), "-v", "-o", str(time_path), *command]
        # Peers must not try the network (nothing may be fetched at run time on these machines).
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        env.pop("PYTHONPATH", None)  # the project's modules must not shadow the peer's
        start = time.perf_counter()
        # Own session: on a time-out the whole group goes (datatrove leaves a manager and forkserver workers).
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
        )
        sampler = TreeRssSampler(proc.pid)
        sampler.start()
        try:
            stdout, stderr = proc.communicate(timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        finally:
            tree_peak = sampler.stop()
        wall = time.perf_counter() - start
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(f"$ {' '.join(command)}\n--- stdout\n{stdout}\n--- stderr\n{stderr}")
        if proc.returncode != 0 or not result_path.exists():
            raise RuntimeError(f"driver exited {proc.returncode}:\n{_tail(stderr or stdout)}")
        result = json.loads(result_path.read_text())
        rss: dict[str, Any]
        match = _MAX_RSS.search(time_path.read_text()) if time_path.exists() else None
        if match:
            rss = {"peak_rss_mb": round(int(match.group(1)) / 1024, 1), "rss_source": "/usr/bin/time -v"}
        else:
            kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            rss = {"peak_rss_mb": round(kb / 1024, 1), "rss_source": "getrusage(RUSAGE_CHILDREN), max so far"}
        rss["peak_tree_rss_mb"] = tree_peak
    return result, wall, rss


# ---------------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------------


def wet_files(paths: Iterable[str]) -> list[Path]:
    """Files named on the command line, and the ``*.wet.gz`` / ``*.wet`` files of directories, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.name.endswith((".wet.gz", ".wet")) and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(raw)
    return [p.resolve() for p in found]


def decompressed_bytes(path: Path) -> int:
    """Bytes of ``path`` once gunzipped (every member; stops at a corrupt or truncated tail, like zcat)."""
    total = 0
    with open(path, "rb") as handle:
        if handle.read(2) != b"\x1f\x8b":
            return path.stat().st_size
        handle.seek(0)
        decompressor = zlib.decompressobj(wbits=31)
        try:
            while chunk := handle.read(1 << 20):
                while chunk:
                    total += len(decompressor.decompress(chunk))
                    chunk = decompressor.unused_data
                    if decompressor.eof:
                        # Next gzip member (official WET files have one per record).
                        decompressor = zlib.decompressobj(wbits=31)
                        if chunk and not chunk.startswith(b"\x1f"):
                            return total  # trailing garbage, which gzip ignores too
        except zlib.error:
            pass
    return total


def wet_texts(files: Sequence[Path]) -> list[str]:
    """Texts of the usable conversion records, read with our own WET reader (the same documents for every peer)."""
    from udfs.warc import read_wet

    texts = []
    for path in files:
        with open(path, "rb") as handle:
            texts.extend(doc.text for doc in read_wet(handle, str(path)) if doc.reason is None and doc.text)
    return texts


# ---------------------------------------------------------------------------------------------------------------
# 1. zcat
# ---------------------------------------------------------------------------------------------------------------


def zcat_floor(files: Sequence[Path | str], repeat: int = 3) -> dict[str, Any]:
    """Wall seconds and decompressed MB/s of one ``zcat`` process over all files: no WET reader can beat this.

    ``seconds`` is the best of ``repeat`` runs writing to /dev/null (decompression alone, page cache warm, as for
    the other peers); one more run through a pipe counts the bytes and shows what handing them on costs.
    """
    zcat = shutil.which("zcat")
    if zcat is None:
        return {"error": "zcat not found"}
    command = [zcat, *map(str, files)]
    buffer = bytearray(1 << 20)
    total = 0
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        # Counting in this process instead of `| wc -c`: one fewer process; readinto copies without allocating.
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        while n := proc.stdout.readinto(buffer):
            total += n
        code = proc.wait()
        pipe_s = time.perf_counter() - start
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    seconds = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        seconds = min(seconds, time.perf_counter() - start)
    result: dict[str, Any] = {
        "seconds": round(seconds, 4),
        "decompressed_mb": round(total / MB, 3),
        "mb_per_s": round(total / MB / seconds, 1) if seconds else None,
        "pipe_s": round(pipe_s, 4),
        "pipe_mb_per_s": round(total / MB / pipe_s, 1) if pipe_s else None,
        "files": len(files),
        "repeat": repeat,
        "version": _run_text([zcat, "--version"]).splitlines()[0],
    }
    if code != 0:
        # A corrupt member in one file does not stop zcat on the others: a floor, not a failure.
        result["zcat_exit"] = code
        result["zcat_stderr"] = _tail(stderr, 5)
    return result


# ---------------------------------------------------------------------------------------------------------------
# 2. fastwarc
# ---------------------------------------------------------------------------------------------------------------

_FASTWARC_DRIVER = """
import json, sys, time
from fastwarc.warc import ArchiveIterator, WarcRecordType

config = json.load(open(sys.argv[1]))
best = None
for _ in range(config["repeat"]):
    records = body_bytes = 0
    errors = {}
    start = time.perf_counter()
    for path in config["files"]:
        try:
            # fastwarc 2 opens the path itself and sniffs gzip (stream_detect); WET conversion records carry no
            # HTTP head, so parse_http=False keeps it from looking for one.
            for record in ArchiveIterator(path, record_types=WarcRecordType.any_type, parse_http=False):
                records += 1
                body_bytes += len(record.reader.read())
        except Exception as exc:  # a corrupt sample file: keep what was read, say which file
            errors[path] = f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
seconds = best
json.dump({"seconds": seconds, "records": records, "body_bytes": body_bytes, "errors": errors},
          open(config["result"], "w"))
"""


def fastwarc_floor(files: Sequence[Path | str], repeat: int = 3) -> dict[str, Any]:
    """fastwarc over every record of the files, reading each body: seconds (best of ``repeat`` passes in one
    process), records, and MB/s of decompressed input (the same bytes as zcat's, so the two compare)."""
    try:
        python, install = ensure_venv("fastwarc")
        config = {"files": [str(f) for f in files], "repeat": repeat}
        result, wall, rss = run_driver(python, _FASTWARC_DRIVER, config)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    total = sum(decompressed_bytes(Path(f)) for f in files)
    seconds = result["seconds"]
    out: dict[str, Any] = {
        "seconds": round(seconds, 4),
        "wall_s": round(wall, 3),
        "records": result["records"],
        "decompressed_mb": round(total / MB, 3),
        "mb_per_s": round(total / MB / seconds, 1) if seconds else None,
        "body_mb": round(result["body_bytes"] / MB, 3),
        **rss,
        "versions": install["versions"],
        "install_s": 0.0 if install["reused"] else install["install_s"],
    }
    if result["errors"]:
        out["file_errors"] = result["errors"]
    return out


# ---------------------------------------------------------------------------------------------------------------
# 3. datatrove
# ---------------------------------------------------------------------------------------------------------------

_DATATROVE_DRIVER = """
import gzip, json, sys, time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import (
    MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature,
)
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.filters import (
    C4QualityFilter, FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter,
)
from datatrove.pipeline.readers import JsonlReader, WarcReader
from datatrove.pipeline.writers import JsonlWriter


def count_docs(folder):
    # Output documents are JSONL lines; counted after the clock stops.
    return sum(sum(1 for _ in gzip.open(p, "rt")) for p in sorted(Path(folder).glob("*.jsonl.gz")))


def build(step, root, config):
    \"\"\"(pipeline, tasks, folder whose documents are the step's output) of one step.\"\"\"
    minhash = MinhashConfig(
        n_grams=config["n_grams"], num_buckets=config["num_buckets"], hashes_per_bucket=config["hashes_per_bucket"]
    )
    tasks = config["tasks"]
    if step == "filter":
        # Datatrove's defaults of each filter (English); C4's terminal-punctuation rule stays on, as in our conf.
        return [
            WarcReader(str(root / "input")),
            GopherRepetitionFilter(),
            GopherQualityFilter(),
            C4QualityFilter(),
            FineWebQualityFilter(),
            JsonlWriter(str(root / "filtered")),
        ], tasks, root / "filtered"
    if step == "signature":
        return [
            JsonlReader(str(root / "filtered")), MinhashDedupSignature(str(root / "signatures"), config=minhash)
        ], tasks, None
    if step == "buckets":
        # One task per bucket, as datatrove requires.
        buckets = MinhashDedupBuckets(str(root / "signatures"), str(root / "buckets"), config=minhash)
        return [buckets], config["num_buckets"], None
    if step == "cluster":
        # Clustering is a single task in datatrove.
        return [MinhashDedupCluster(str(root / "buckets"), str(root / "remove_ids"), config=minhash)], 1, None
    if step == "dedup_filter":
        return [
            JsonlReader(str(root / "filtered")),
            MinhashDedupFilter(str(root / "remove_ids"), exclusion_writer=JsonlWriter(str(root / "removed"))),
            JsonlWriter(str(root / "deduped")),
        ], tasks, root / "deduped"
    raise SystemExit(f"unknown step {step}")


def main():
    config = json.load(open(sys.argv[1]))
    root, step, workers = Path(config["root"]), config["step"], config["workers"]
    pipeline, tasks, out_folder = build(step, root, config)

    def executor():
        # A fresh executor per attempt: with workers=1 datatrove swaps in a used copy of the pipeline per rank.
        # skip_completed stays True: the folder is new for every benchmark run, and it is how a retry skips the
        # tasks already done.
        return LocalPipelineExecutor(
            pipeline=pipeline, tasks=tasks, workers=min(workers, tasks), logging_dir=str(root / "logs" / step)
        )

    def task_log(rank):
        path = root / "logs" / step / "logs" / f"task_{rank:05d}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # A task that raises (datatrove's WarcReader on some malformed records) stops the whole executor. To still
    # time the rest, such a task is recorded as failed, marked complete so that datatrove skips it, and the run
    # resumed.
    failed = {}
    seconds = 0.0
    while True:
        start = time.perf_counter()
        try:
            executor().run()
            seconds += time.perf_counter() - start
            break
        except Exception as exc:
            seconds += time.perf_counter() - start
            probe = executor()
            broken = [r for r in probe.get_incomplete_ranks(range(tasks)) if "| ERROR" in task_log(r)]
            broken = [r for r in broken if r not in failed]
            if not broken:
                raise
            for rank in broken:
                marker = "Reading input file "
                inputs = [line.split(marker, 1)[1] for line in task_log(rank).splitlines() if marker in line]
                # The task's own log ends with its exception (with several workers, exc is only one of them).
                lines = [line for line in task_log(rank).splitlines() if line.strip()]
                failed[rank] = {
                    "input": inputs[-1].rsplit(", ", 1)[0] if inputs else None,  # drop datatrove's ", 1/1"
                    "error": (lines[-1] if lines else f"{type(exc).__name__}: {exc}")[:200],  # warcio quotes text
                }
                probe.mark_rank_as_completed(rank)
    result = {"seconds": seconds, "tasks": tasks}
    if failed:
        result["failed_tasks"] = failed
    if out_folder is not None:
        result["docs_out"] = count_docs(out_folder)
    if step == "filter":
        # Records the reader turned into documents, from datatrove's per-task stats (failed tasks have none).
        docs_in = 0
        for path in (root / "logs" / step / "stats").glob("*.json"):
            reader = next(s for s in json.load(open(path)) if "Warc" in s["name"])
            docs = reader["stats"].get("documents", 0)
            docs_in += docs["total"] if isinstance(docs, dict) else docs
        result["docs_in"] = docs_in
    if step == "cluster":
        # One uint32 document index per removed document.
        result["to_remove"] = sum(p.stat().st_size // 4 for p in (root / "remove_ids").glob("*.remove"))
    json.dump(result, open(config["result"], "w"))


# The guard matters: datatrove's worker pool uses forkserver, which imports __main__ in every worker.
if __name__ == "__main__":
    main()
"""

DATATROVE_STEPS = ("filter", "signature", "buckets", "cluster", "dedup_filter")


def datatrove_run(
    files: Sequence[Path | str],
    work_dir: Path | str,
    workers: int = 1,
    num_buckets: int = 14,
    hashes_per_bucket: int = 8,
    n_grams: int = 5,
) -> dict[str, Any]:
    """datatrove's FineWeb-style filters, then its 4-step MinHash dedup, on ``files``; per-step seconds and docs.

    MinHash parameters default to ours (conf/dedup.yaml names datatrove's 14 x 8 = 112 hashes, word 5-grams).
    Each step is its own process, as datatrove jobs are usually launched: ``wall_s`` includes interpreter start and
    imports, ``seconds`` is datatrove's ``executor.run()`` alone.
    """
    try:
        python, install = ensure_venv("datatrove")
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    root = Path(work_dir).resolve() / "datatrove"
    if root.exists():
        shutil.rmtree(root)  # only the folder this function owns: stale outputs would be read as input
    (root / "input").mkdir(parents=True)
    # WarcReader reads a folder and gives task i every tasks-th file: one link per input file, one task per file.
    for index, path in enumerate(files):
        (root / "input" / f"{index:05d}-{Path(path).name}").symlink_to(Path(path).resolve())
    config = {
        "root": str(root),
        "tasks": len(files),
        "workers": workers,
        "num_buckets": num_buckets,
        "hashes_per_bucket": hashes_per_bucket,
        "n_grams": n_grams,
    }
    steps: dict[str, Any] = {}
    out: dict[str, Any] = {
        "workers": workers,
        "minhash": {"n_grams": n_grams, "num_buckets": num_buckets, "hashes_per_bucket": hashes_per_bucket},
        "steps": steps,
        "versions": install["versions"],
        "install_s": 0.0 if install["reused"] else install["install_s"],
        "work_dir": str(root),
    }
    for step in DATATROVE_STEPS:
        try:
            result, wall, rss = run_driver(
                python, _DATATROVE_DRIVER, {**config, "step": step}, log_path=root / "driver-logs" / f"{step}.log"
            )
        except Exception as exc:
            steps[step] = {"error": f"{type(exc).__name__}: {exc}"}
            out["error"] = f"step {step} failed (later steps need its output)"
            return out
        steps[step] = {"seconds": round(result.pop("seconds"), 3), "wall_s": round(wall, 3), **result, **rss}
    out["seconds"] = round(sum(s["seconds"] for s in steps.values()), 3)
    out["wall_s"] = round(sum(s["wall_s"] for s in steps.values()), 3)
    out["docs_in"] = steps["filter"].get("docs_in")
    out["docs_after_filters"] = steps["filter"]["docs_out"]
    out["docs_out"] = steps["dedup_filter"]["docs_out"]
    out["peak_rss_mb"] = max(s.get("peak_rss_mb") or 0 for s in steps.values())
    out["peak_tree_rss_mb"] = max(s.get("peak_tree_rss_mb") or 0 for s in steps.values())
    return out


# ---------------------------------------------------------------------------------------------------------------
# 4. MinHash signatures: datasketch, rensa, ours
# ---------------------------------------------------------------------------------------------------------------

# The text key of our near-dedup (lowercase, punctuation and symbols removed, whitespace collapsed): Unicode
# categories P*/S* go, Z* and control characters separate words. `regex`, not `re`: only it has property classes.
_PUNCT_OR_SYMBOL = regex.compile(r"[\p{P}\p{S}]+")
_SEPARATORS = regex.compile(r"[\p{Z}\p{Cc}]+")


def word_shingles(text: str, n: int = 5) -> list[str]:
    """Word ``n``-grams of the normalized text; a document of 1..n-1 words is one shingle, as in ours."""
    words = [w for w in _SEPARATORS.split(_PUNCT_OR_SYMBOL.sub("", text.lower())) if w]
    if len(words) < n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


_RENSA_DRIVER = """
import json, sys, time
import rensa

config = json.load(open(sys.argv[1]))
docs = json.load(open(config["shingles"]))
num_perm, seed, repeat = config["num_perm"], config["seed"], config["repeat"]


def per_document(cls):
    # The classes' documented use: one object per document, update with its tokens, digest.
    for shingles in docs:
        m = cls(num_perm=num_perm, seed=seed)
        m.update(shingles)
        m.digest()


def batch(cls, method):
    # rensa's own bulk entry points (one call for all documents), the counterpart of datasketch's MinHash.bulk.
    getattr(cls, method)(docs, num_perm, seed)


variants = [
    ("RMinHash", lambda: per_document(rensa.RMinHash)),
    ("RMinHash.digest_matrix_from_token_sets", lambda: batch(rensa.RMinHash, "digest_matrix_from_token_sets")),
    ("CMinHash", lambda: per_document(rensa.CMinHash)),
    ("CMinHash.digests_from_token_sets", lambda: batch(rensa.CMinHash, "digests_from_token_sets")),
]
result = {}
for name, run in variants:
    try:
        best = best_cpu = None
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if best is None or wall < best:
                best, best_cpu = wall, cpu
        result[name] = {"seconds": best, "cpu_s": best_cpu}
    except Exception as exc:  # an API missing from this rensa version: report it, time the others
        result[name] = {"error": f"{type(exc).__name__}: {exc}"}
json.dump(result, open(config["result"], "w"))
"""


def _near_conf(num_perm: int, seed: int) -> tuple[Any, str]:
    """Our NearDedupConfig as conf/local.yaml resolves it, with the benchmark's num_perm and seed."""
    from udfs.dedup.config import NearDedupConfig

    try:
        from udfs.config import load_config

        conf, source = load_config(str(REPO_ROOT / "conf" / "local.yaml")).dedup.near, "conf/local.yaml"
    except Exception as exc:  # a conf being edited must not cost the whole benchmark
        conf, source = NearDedupConfig(), f"NearDedupConfig() defaults (conf failed: {exc})"
    return dataclasses.replace(conf, num_perm=num_perm, seed=seed), source


def _best_of(repeat: int, run: Any) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest of ``repeat`` runs; CPU above wall means the library used threads."""
    best, best_cpu = float("inf"), 0.0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best:
            best, best_cpu = wall, cpu
    return best, best_cpu


def _rate(docs: int, seconds: float | None) -> float | None:
    return round(docs / seconds, 1) if seconds else None


def minhash_peers(texts: list[str], num_perm: int = 112, seed: int = 42, repeat: int = 3) -> dict[str, Any]:
    """Documents per second of MinHash signatures: datasketch and rensa on the same shingles, and ours on the texts.

    The shingles (word 5-grams of our normalized text, every position, as ours hashes them) are made once here and
    handed to both peers, so the peers' rates are signature-only; ``with_shingling_docs_per_s`` adds the Python
    shingling time for a text → signature figure comparable with ours, which normalizes and shingles itself. Each
    timing is the best of ``repeat`` runs (the samples are small, the machine is shared).
    """
    import pandas as pd

    docs = len(texts)
    shingles: list[list[str]] = []

    def make_shingles() -> None:
        shingles[:] = [word_shingles(t) for t in texts]

    shingle_s, _ = _best_of(repeat, make_shingles)
    out: dict[str, Any] = {
        "docs": docs,
        "num_perm": num_perm,
        "seed": seed,
        "repeat": repeat,
        "peer_shingles": sum(map(len, shingles)),
        "python_shingling_s": round(shingle_s, 4),
    }

    # Ours: text → signature in one batch, as the Spark stage calls it: once with the conf as it is, once with
    # word 5-grams for every page. Without languages the conf gives CJK-looking pages character 5-grams (far more
    # shingles than the peers' word 5-grams of the same page); the second run hashes exactly the peers' shingles.
    try:
        from udfs.dedup.minhash import shingle_hashes, signatures

        conf, source = _near_conf(num_perm, seed)
        series = pd.Series(texts, dtype=object)
        variants = {
            "ours": conf,
            "ours_same_shingles": dataclasses.replace(
                conf, shingle=dataclasses.replace(conf.shingle, cjk_fallback=None)
            ),
        }
        for name, near in variants.items():

            def ours(near: Any = near) -> None:
                signatures(
                    shingle_hashes(series, None, near.shingle, near.text_key, near.seed), near.num_perm, near.seed
                )

            # Warm-up: the per-process Unicode class table (~50 ms) is paid once per executor, not per batch.
            ours()
            seconds, cpu = _best_of(repeat, ours)
            out[name] = {
                "seconds": round(seconds, 4),
                "cpu_s": round(cpu, 4),
                "docs_per_s": _rate(docs, seconds),
                "shingles": len(shingle_hashes(series, None, near.shingle, near.text_key, near.seed).hashes),
                "conf": source if name == "ours" else f"{source}, shingle.cjk_fallback=null",
            }
    except Exception as exc:
        out["ours"] = {"error": f"{type(exc).__name__}: {exc}"}

    peers: dict[str, dict[str, Any]] = {}
    # datasketch is a project dev dependency, so it runs in this process. MinHash.bulk takes bytes: the encoding is
    # part of what a datasketch user pays.
    try:
        from importlib.metadata import version

        from datasketch import MinHash

        seconds, cpu = _best_of(
            repeat,
            lambda: MinHash.bulk([[s.encode("utf-8") for s in doc] for doc in shingles], num_perm=num_perm, seed=seed),
        )
        peers["datasketch.MinHash.bulk"] = {"seconds": seconds, "cpu_s": cpu, "version": version("datasketch")}
    except Exception as exc:
        peers["datasketch.MinHash.bulk"] = {"error": f"{type(exc).__name__}: {exc}"}

    try:
        python, install = ensure_venv("rensa")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(shingles, handle)
        try:
            result, _, _ = run_driver(
                python, _RENSA_DRIVER, {"shingles": handle.name, "num_perm": num_perm, "seed": seed, "repeat": repeat}
            )
        finally:
            os.unlink(handle.name)
        for name, value in result.items():
            peers[f"rensa.{name}"] = {**value, "version": install["versions"].get("rensa")}
        out["rensa_install_s"] = 0.0 if install["reused"] else install["install_s"]
    except Exception as exc:
        peers["rensa"] = {"error": f"{type(exc).__name__}: {exc}"}

    ours_rate = out["ours"].get("docs_per_s")
    same_rate = out.get("ours_same_shingles", {}).get("docs_per_s")

    def ratio(ours: float | None, peer: float | None) -> float | None:
        return round(ours / peer, 2) if ours and peer else None

    out["peers"] = {}
    for name, peer in peers.items():
        if "error" in peer:
            out["peers"][name] = peer
            continue
        seconds = peer.pop("seconds")
        rate = _rate(docs, seconds)
        with_shingling = _rate(docs, seconds + shingle_s)
        out["peers"][name] = {
            "seconds": round(seconds, 4),
            "cpu_s": round(peer.pop("cpu_s"), 4),
            "docs_per_s": rate,
            "with_shingling_docs_per_s": with_shingling,
            "ours_over_peer": ratio(ours_rate, rate),
            "ours_over_peer_with_shingling": ratio(ours_rate, with_shingling),
            "ours_same_shingles_over_peer": ratio(same_rate, rate),
            "ours_same_shingles_over_peer_with_shingling": ratio(same_rate, with_shingling),
            **peer,
        }
    return out


# ---------------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(results: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str, str]] = []
    if "zcat" in results:
        r = results["zcat"]
        note = r.get("error") or f"{r['decompressed_mb']} MB out; through a pipe {r['pipe_mb_per_s']} MB/s"
        rows.append(("zcat", _fmt(r.get("seconds"), 4), f"{_fmt(r.get('mb_per_s'), 1)} MB/s", note))
    if "fastwarc" in results:
        r = results["fastwarc"]
        note = r.get("error") or f"{r['records']} records, wall {r['wall_s']:.2f} s"
        rows.append(("fastwarc", _fmt(r.get("seconds"), 4), f"{_fmt(r.get('mb_per_s'), 1)} MB/s", note))
    if "datatrove" in results:
        r = results["datatrove"]
        for step, s in r.get("steps", {}).items():
            note = s.get("error") or (
                f"wall {s['wall_s']:.2f} s, RSS {s.get('peak_rss_mb', '-')} MB (process tree "
                f"{s.get('peak_tree_rss_mb', '-')} MB)"
            )
            if s.get("failed_tasks"):
                note += f", {len(s['failed_tasks'])} task(s) failed (see JSON)"
            docs = f"{s.get('docs_in', '')}→{s['docs_out']} docs" if "docs_out" in s else ""
            rows.append((f"datatrove {step}", _fmt(s.get("seconds")), docs, note))
        if "seconds" in r:
            docs = f"{r['docs_in']}→{r['docs_after_filters']}→{r['docs_out']} docs"
            rows.append(("datatrove total", _fmt(r["seconds"]), docs, f"wall {r['wall_s']:.2f} s"))
        elif "error" in r:
            rows.append(("datatrove", "-", "-", r["error"]))
    if "minhash" in results:
        r = results["minhash"]
        if "error" in r:
            rows.append(("minhash", "-", "-", r["error"]))
        else:
            for name in ("ours", "ours_same_shingles"):
                if name not in r:
                    continue  # the second run is skipped when the first one failed
                ours = r[name]
                note = ours.get("error") or f"text → signature, {r['docs']} docs, {ours.get('shingles')} shingles"
                throughput = f"{_fmt(ours.get('docs_per_s'), 1)} docs/s"
                rows.append((f"minhash {name}", _fmt(ours.get("seconds"), 4), throughput, note))
            for name, s in r["peers"].items():
                if "error" in s:
                    rows.append((f"minhash {name}", "-", "-", s["error"]))
                    continue
                note = (
                    f"ours/peer {_fmt(s['ours_over_peer'], 2)} sig only, "
                    f"{_fmt(s['ours_over_peer_with_shingling'], 2)} + Python shingling; same shingles "
                    f"{_fmt(s['ours_same_shingles_over_peer'], 2)} / "
                    f"{_fmt(s['ours_same_shingles_over_peer_with_shingling'], 2)}"
                )
                rows.append((f"minhash {name}", _fmt(s["seconds"], 4), f"{_fmt(s['docs_per_s'], 1)} docs/s", note))
    widths = [max(len(row[i]) for row in [("peer", "seconds", "throughput", "notes"), *rows]) for i in range(3)]
    for row in [("peer", "seconds", "throughput", "notes"), *rows]:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        print(" | ".join([*cells, row[3].splitlines()[0] if row[3] else ""]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wet", nargs="+", required=True, help="WET files or directories of *.wet.gz / *.wet")
    parser.add_argument("--only", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}")
    parser.add_argument("--json", help="write all results to this JSON file")
    parser.add_argument("--work-dir", help="datatrove's working folder (default: a temporary folder, removed)")
    parser.add_argument("--workers", type=int, default=1, help="datatrove LocalPipelineExecutor workers")
    parser.add_argument("--num-buckets", type=int, default=14)
    parser.add_argument("--hashes-per-bucket", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="zcat, fastwarc, MinHash: best of this many runs")
    args = parser.parse_args(argv)

    only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(only) - set(PEERS))
    if unknown:
        parser.error(f"--only: unknown peer(s) {', '.join(unknown)} (known: {', '.join(PEERS)})")
    try:
        files = wet_files(args.wet)
    except FileNotFoundError as exc:
        parser.error(f"--wet: no such file or directory: {exc}")
    if not files:
        parser.error("--wet: no WET files found")
    results: dict[str, Any] = {
        "files": [str(f) for f in files],
        "compressed_mb": round(sum(f.stat().st_size for f in files) / MB, 3),
    }
    for peer in only:
        start = time.perf_counter()
        try:
            if peer == "zcat":
                results[peer] = zcat_floor(files, args.repeat)
            elif peer == "fastwarc":
                results[peer] = fastwarc_floor(files, args.repeat)
            elif peer == "datatrove":
                if args.work_dir:
                    results[peer] = datatrove_run(
                        files, args.work_dir, args.workers, args.num_buckets, args.hashes_per_bucket
                    )
                else:
                    with tempfile.TemporaryDirectory(prefix="bench-datatrove-") as tmp:
                        results[peer] = datatrove_run(
                            files, tmp, args.workers, args.num_buckets, args.hashes_per_bucket
                        )
                        results[peer]["work_dir"] = None  # removed with the temporary folder
            elif peer == "minhash":
                results[peer] = minhash_peers(
                    wet_texts(files), num_perm=args.num_buckets * args.hashes_per_bucket, repeat=args.repeat
                )
        except Exception as exc:  # one peer's failure must not cost the others
            results[peer] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"[{peer}] done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    print(f"{len(files)} WET files, {results['compressed_mb']} MB compressed")
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
