"""The throughput and memory table of issue 9: our pipeline at 1× and 2× input, local[1] vs local[2], a baseline
revision and peers, all on the same generated WET files in one invocation.

    .venv/bin/python bench/run.py --mb 10 --repeats 3 [--baseline f77eb1e] [--peers] [--memory-4x]

Figures are medians of ``--repeats`` runs (after ``--warmup`` untimed runs of each variant), and every speed is a
ratio or a marginal rate between runs of the same command on the same machine (these machines are noisy; absolute
seconds are not comparable across days):

- marginal MB/s per core = (MB at 2× − MB at 1×) / (seconds at 2× − seconds at 1×) / cores, in total and per phase
  (``phase_seconds`` of ``_manifest.json``); CPU-hours per TB = 10^6 / (that rate) / 3600;
- fixed cost = seconds at 1× − MB at 1× / marginal MB/s (what a run costs before its first byte);
- 2× ratio = seconds at 2× / seconds at 1×; local[2] speed-up = seconds at local[1] / seconds at local[2] (2× input);
- peak RSS of the JVM and of the largest Python worker, sampled from /proc over the run's process tree;
- ``--memory-4x``: 4× too, at local[2] and local[1]: the 1× → 4× marginal rates and local[2] speed-up (three times
  the signal of 2× − 1×) and what bounds that speed-up (cores busy at each core count, their marginal CPU);
- ``--baseline REV``: the same command from a git worktree of REV (e.g. the last commit before sharding);
- ``--peers``: bench/peers.py on the 1× files (zcat and fastwarc as the ingest floor, datatrove's filters and
  MinHash dedup, datasketch and rensa signatures on the same shingles).

Writes ``bench/results/<date>.json`` and ``bench/results/<date>.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CACHE = REPO / ".cache" / "bench"
PAGE = os.sysconf("SC_PAGE_SIZE")


class ProcessTreeMemory(threading.Thread):
    """Peak RSS of the JVM and of the largest Python worker in one process session, from /proc."""

    def __init__(self, session: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.session, self.interval = session, interval
        self.jvm_peak = self.worker_peak = self.workers_sum_peak = 0
        # Last CPU seconds seen per process (a process's final fraction of a sampling interval is missed).
        self.cpu: dict[int, tuple[str, float]] = {}
        # CPU of the JVM's reaped children: without Hadoop's native library the local file system forks `chmod`
        # for every file and folder a write creates (hundreds per run), processes too short-lived to be sampled.
        self.jvm_children: dict[int, float] = {}
        self._stop_event = threading.Event()

    def sample(self) -> None:
        from bench.peers import session_process_stats

        workers_sum = 0
        # Read before listing: a reading counts only while the pyspark daemon (the JVM's other child) is listed
        # after it, so it never holds the daemon's CPU, which the JVM reaps with its workers' when the run ends.
        children = {pid: reaped_children_cpu(pid) for pid, (kind, _) in self.cpu.items() if kind == "jvm"}
        daemon_alive = False
        for pid, rss, cpu in session_process_stats(self.session, PAGE):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if pid == self.session:
                kind = "driver"  # the pipeline's own Python process leads the session
            elif b"java" in command.split(b"\0")[0]:
                self.jvm_peak = max(self.jvm_peak, rss)
                kind = "jvm"
            else:  # pyspark.daemon and the workers it forks
                daemon_alive = daemon_alive or b"pyspark.daemon" in command
                workers_sum += rss
                self.worker_peak = max(self.worker_peak, rss)
                kind = "python_workers"
            self.cpu[pid] = (kind, cpu)
        if daemon_alive:
            self.jvm_children.update({pid: seconds for pid, seconds in children.items() if seconds is not None})
        self.workers_sum_peak = max(self.workers_sum_peak, workers_sum)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> dict[str, float]:
        self._stop_event.set()
        self.join()
        cpu = {kind: 0.0 for kind in ("jvm", "python_workers", "driver")}
        for kind, seconds in self.cpu.values():
            cpu[kind] += seconds
        cpu["jvm"] += sum(self.jvm_children.values())
        return {"jvm_peak_mb": round(self.jvm_peak / 2**20), "python_worker_peak_mb": round(self.worker_peak / 2**20),
                "python_workers_sum_peak_mb": round(self.workers_sum_peak / 2**20),
                "cpu_seconds": {kind: round(seconds, 1) for kind, seconds in cpu.items()}}


def reaped_children_cpu(pid: int) -> float | None:
    """CPU seconds of the children ``pid`` has waited for (``cutime`` + ``cstime`` of /proc/PID/stat)."""
    from bench.peers import proc_stat_fields

    fields = proc_stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # fields 16, 17


def corpus(mb: float, files: int) -> tuple[Path, float]:
    """Generated WET files of ``mb`` MB of text (cached), and their exact text MB."""
    from bench.corpus import build_corpus

    folder = CACHE / f"corpus-{mb:g}mb-{files}f"
    summary_file = folder / "summary.json"
    if not summary_file.exists():
        summary = build_corpus(folder, mb, files)
        summary_file.write_text(json.dumps({"text_mb": sum(summary.bytes_by_lang.values()) / 1e6}))
    return folder, float(json.loads(summary_file.read_text())["text_mb"])


def pipeline_run(repo: Path, inputs: Path, cores: int, label: str, sharded: bool = True,
                 conf: str = "local.yaml") -> dict[str, Any]:
    """One run of the pipeline CLI (local mode) in its own session: wall seconds, manifest phases, memory, CPU."""
    output = CACHE / "out" / label
    args = [sys.executable, "-m", "jobs.pipeline", "--conf", conf, "--input", str(inputs), "--output", str(output),
            "--set", "output.mode=overwrite", "--set", f"spark.master=local[{cores}]"]
    if sharded:
        args += ["--set", f"run.concurrent_shards={cores}"]
    # PYTHONPATH: the Python workers must import the code of ``repo`` (a baseline worktree), not the installed one.
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1", PYTHONUNBUFFERED="1",
               PYTHONPATH=str(repo))
    log = CACHE / "logs" / f"{label}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("w") as handle:
        process = subprocess.Popen(args, cwd=repo, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        memory = ProcessTreeMemory(process.pid)
        memory.start()
        try:
            code = process.wait(timeout=3600)
        finally:
            peaks = memory.stop()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"{label}: exit {code}; see {log}")
    manifest = json.loads((output / "_manifest.json").read_text())
    return {"seconds": round(seconds, 1), "phase_seconds": manifest.get("phase_seconds", {}),
            "records": manifest["totals"]["records_read"], "kept": manifest["totals"]["kept"], **peaks}


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = {"runs": runs, "seconds": statistics.median(r["seconds"] for r in runs)}
    phases = {name for r in runs for name in r["phase_seconds"]}
    out["phase_seconds"] = {p: statistics.median(r["phase_seconds"].get(p, 0.0) for r in runs) for p in sorted(phases)}
    for key in ("jvm_peak_mb", "python_worker_peak_mb", "python_workers_sum_peak_mb"):
        out[key] = max(r[key] for r in runs)
    out["cpu_seconds"] = {kind: statistics.median(r["cpu_seconds"][kind] for r in runs)
                          for kind in runs[0]["cpu_seconds"]}
    out["cpu_total"] = statistics.median(sum(r["cpu_seconds"].values()) for r in runs)
    return out


def marginal(mb1: float, mb2: float, t1: float, t2: float, cores: int) -> float | None:
    """MB/s per core of the second MB-worth over the first; None when the 2× run was not slower (noise)."""
    return round((mb2 - mb1) / (t2 - t1) / cores, 3) if t2 > t1 else None


def cpu_hours_per_tb(rate: float | None) -> int | None:
    """CPU-hours per TB of text at ``rate`` MB per core-second (or per CPU-second)."""
    return round(1e6 / rate / 3600) if rate else None


def phase_marginals(mb_low: float, mb_high: float, low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    """Marginal MB/s per core (2 cores) of each phase between a smaller and a larger run's medians."""
    return {phase: marginal(mb_low, mb_high, low["phase_seconds"].get(phase, 0), seconds, 2)
            for phase, seconds in high["phase_seconds"].items()}


def four_x_figures(mb1: float, mb4: float, by_case: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The 1× → 4× figures (medians of both sizes at local[2] and local[1]), and what bounds the local[2] speed-up.

    On a whole run the speed-up is capped by the fixed cost (about the same seconds at local[1] and local[2]). On the
    marginal work (4× − 1×) it is exactly ``cores busy at local[2] / cores busy at local[1] × marginal CPU-seconds at
    local[1] / at local[2]``: local[1] already keeps more than one core busy (the JVM's Arrow, Parquet and shuffle
    work runs beside the one Python task), which a second task slot cannot add again."""
    r1, r4, r1_single, r4_single = (by_case[c] for c in ("1x", "4x", "1x_local1", "4x_local1"))
    rate = marginal(mb1, mb4, r1["seconds"], r4["seconds"], 2)
    added, added_single = r4["seconds"] - r1["seconds"], r4_single["seconds"] - r1_single["seconds"]
    cpu_added, cpu_added_single = r4["cpu_total"] - r1["cpu_total"], r4_single["cpu_total"] - r1_single["cpu_total"]
    return {
        "t4": r4["seconds"], "t4_local1": r4_single["seconds"],
        "ratio_4x": round(r4["seconds"] / r1["seconds"], 3),
        "marginal_mb_s_core_4x": rate,
        "cpu_h_per_tb_4x": cpu_hours_per_tb(rate),
        "marginal_mb_per_cpu_s_4x": marginal(mb1, mb4, r1["cpu_total"], r4["cpu_total"], 1),
        "speedup_local2_4x": round(r4_single["seconds"] / r4["seconds"], 3),
        "speedup_local2_marginal_4x": round(added_single / added, 3) if added > 0 else None,
        "cores_busy_marginal_4x": round(cpu_added / added, 2) if added > 0 else None,
        "cores_busy_marginal_local1_4x": round(cpu_added_single / added_single, 2) if added_single > 0 else None,
        "marginal_cpu_local1_over_local2_4x": round(cpu_added_single / cpu_added, 3) if cpu_added > 0 else None,
        "marginal_by_phase_4x": phase_marginals(mb1, mb4, r1, r4),
    }


def baseline_worktree(revision: str) -> Path:
    folder = CACHE / f"baseline-{revision}"
    if not folder.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(folder), revision], cwd=REPO, check=True,
                       capture_output=True)
    return folder


# (row name, key of the results, format) of the table, in order; the 4× rows when --memory-4x ran.
ROWS = [
    ("seconds at 1× (local[2])", "t1", "{}"),
    ("seconds at 2× (local[2])", "t2", "{}"),
    ("2× data / 1× time ratio", "ratio_2x", "{:.2f}"),
    ("marginal MB/s per core, whole run", "marginal_mb_s_core", "{}"),
    ("CPU-hours per TB", "cpu_h_per_tb", "{:,.0f}"),
    ("fixed cost of a run (s)", "fixed_seconds", "{:.1f}"),
    ("local[2] speed-up over local[1] (2× input)", "speedup_local2", "{:.2f}"),
    ("local[2] speed-up over local[1], marginal (2× − 1× seconds)", "speedup_local2_marginal", "{:.2f}"),
    ("marginal MB per CPU-second (all processes)", "marginal_mb_per_cpu_s", "{}"),
    ("CPU-hours per TB, from CPU seconds", "cpu_h_per_tb_from_cpu", "{:,.0f}"),
    ("fixed CPU-seconds of a run", "fixed_cpu_seconds", "{:.1f}"),
    ("cores busy in the local[1] run (CPU s / wall s)", "cores_busy_local1", "{:.2f}"),
]
ROWS_4X = [
    ("seconds at 4× (local[2])", "t4", "{}"),
    ("seconds at 4× (local[1])", "t4_local1", "{}"),
    ("4× data / 1× time ratio", "ratio_4x", "{:.2f}"),
    ("marginal MB/s per core, 1× → 4×", "marginal_mb_s_core_4x", "{}"),
    ("CPU-hours per TB, 1× → 4×", "cpu_h_per_tb_4x", "{:,.0f}"),
    ("marginal MB per CPU-second, 1× → 4×", "marginal_mb_per_cpu_s_4x", "{}"),
    ("local[2] speed-up over local[1] (4× input)", "speedup_local2_4x", "{:.2f}"),
    ("local[2] speed-up over local[1], marginal (4× − 1× seconds)", "speedup_local2_marginal_4x", "{:.2f}"),
    ("… cores busy on that marginal work, local[2]", "cores_busy_marginal_4x", "{:.2f}"),
    ("… cores busy on that marginal work, local[1]", "cores_busy_marginal_local1_4x", "{:.2f}"),
    ("… marginal CPU-seconds, local[1] / local[2]", "marginal_cpu_local1_over_local2_4x", "{:.3f}"),
]


def table(results: dict[str, Any]) -> str:
    ours = results["ours"]
    lines = [f"# cc-refinery benchmark, {results['date']}", "",
             f"`{results['command']}` — corpus {results['mb1']:.1f} MB (1×) and {results['mb2']:.1f} MB (2×) of "
             f"text, {results['files']} + {2 * results['files']} WET files; medians of {results['repeats']}"
             + (f" (baseline: {results['baseline_repeats']})" if "baseline" in results else "") + ".", "",
             "| figure | ours | baseline |", "|---|---|---|"]
    base = results.get("baseline", {})

    def row(name: str, key: str, fmt: str) -> None:
        value = ours.get(key)
        other = base.get(key)
        lines.append(f"| {name} | {fmt.format(value) if value is not None else 'n/a'} | "
                     f"{fmt.format(other) if other is not None else '–'} |")

    for name, key, fmt in ROWS:
        row(name, key, fmt)
    for size in ("1x", "2x"):
        cpu = ours.get(f"cpu_{size}")
        if cpu:
            lines.append(f"| CPU seconds at {size}: JVM / Python workers / driver | "
                         f"{cpu['jvm']} / {cpu['python_workers']} / {cpu['driver']} | – |")
    if "marginal_mb_s_core_4x" in ours:  # 4× runs repeated at local[2] and local[1]
        for name, key, fmt in ROWS_4X:
            row(name, key, fmt)
    elif four := ours.get("raw", {}).get("4x"):  # results of the single 4× run of older versions of this script
        rate = marginal(results["mb1"], results["mb4"], ours["t1"], four["seconds"], 2)
        lines.append(f"| marginal MB/s per core, 1× → 4× (one 4× run; less noisy) | {rate} | – |")
    if four := ours.get("raw", {}).get("4x"):
        rates = phase_marginals(results["mb1"], results["mb4"], ours["raw"]["1x"], four)
        for phase, rate in rates.items():
            low, high = (ours["raw"][size]["phase_seconds"].get(phase, 0.0) for size in ("1x", "4x"))
            other = base.get("marginal_by_phase_4x", {}).get(phase)
            lines.append(f"| … phase `{phase}`: seconds at 1× → 4×, marginal MB/s per core | {low:.1f} → "
                         f"{high:.1f}, {rate} | {other if other is not None else '–'} |")
    lines += ["", "| peak memory (MB) | 1× | 2× | 4× |", "|---|---|---|---|"]
    for key, name in (("jvm_peak_mb", "JVM"), ("python_worker_peak_mb", "largest Python worker")):
        lines.append(f"| {name} | " + " | ".join(str(ours["memory"].get(size, {}).get(key, "–"))
                                                for size in ("1x", "2x", "4x")) + " |")
    peers = results.get("peers")
    if peers:
        lines += ["", "| peer (1× files) | figure | ours / peer |", "|---|---|---|"]
        for name, value in peers.get("rows", []):
            lines.append(f"| {name} | {value[0]} | {value[1]} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=10.0, help="MB of text at 1× (2× and 4× are derived)")
    parser.add_argument("--files", type=int, default=4, help="WET files at 1× (twice as many at 2×)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed 1× runs of each variant before the timed ones")
    parser.add_argument("--baseline", default=None, help="git revision to compare with (run from a worktree)")
    parser.add_argument("--baseline-repeats", type=int, default=None, help="repeats for the baseline (default: same)")
    parser.add_argument("--peers", action="store_true", help="also run bench/peers.py on the 1× files")
    parser.add_argument("--memory-4x", action="store_true",
                        help="also 4× at local[2] and local[1], repeated: the memory row and the 1× → 4× figures")
    parser.add_argument("--conf", default="local.yaml", help="the pipeline's --conf for every run of ours")
    parser.add_argument("--table", metavar="JSON", help="only re-render the Markdown table of a results file")
    parser.add_argument("--name", help="results file name under bench/results/ (default: the date)")
    args = parser.parse_args(argv)
    if args.table:
        results = json.loads(Path(args.table).read_text())
        for tag in ("ours", "baseline"):  # the 1× → 4× figures again, from the medians kept under "raw"
            raw = results.get(tag, {}).get("raw", {})
            if "4x_local1" in raw:
                results[tag].update(four_x_figures(results["mb1"], results["mb4"], raw))
        if "peers" in results:  # a run without --peers has none
            results["peers"]["rows"] = peer_rows_from(results["peers"], results["ours"])
        Path(args.table).with_suffix(".md").write_text(table(results))
        print(table(results))
        return 0

    one, mb1 = corpus(args.mb, args.files)
    two, mb2 = corpus(2 * args.mb, 2 * args.files)
    results: dict[str, Any] = {"date": date.today().isoformat(), "command": " ".join(["bench/run.py", *sys.argv[1:]]),
                               "mb1": mb1, "mb2": mb2, "files": args.files, "repeats": args.repeats}

    # Every run of ours and of the baseline, in turns: each repeat runs every (size, cores) case of ours and then
    # the same case of the baseline, so a slow spell of this shared machine hits both alike and the ratios between
    # them hold even when absolute seconds drift by 20 % from one minute to the next.
    variants = [("ours", REPO, True, args.repeats)]
    if args.baseline:
        repeats = args.baseline_repeats or args.repeats
        variants.append((f"baseline-{args.baseline}", baseline_worktree(args.baseline), False, repeats))
        results["baseline_repeats"] = repeats
    cases = [("1x", one, 2), ("2x", two, 2), ("2x_local1", two, 1), ("1x_local1", one, 1)]
    if args.memory_4x:
        # 4× at local[2] and local[1], repeated like the rest: three times the 1× input as signal for the marginal
        # rates, where 2× − 1× gives a few seconds against a second or so of run-to-run noise.
        four, results["mb4"] = corpus(4 * args.mb, 4 * args.files)
        cases += [("4x", four, 2), ("4x_local1", four, 1)]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {tag: {case: [] for case, _, _ in cases}
                                                        for tag, _, _, _ in variants}
    # One untimed run of each variant first: a revision's first run on this machine compiles its numba kernels
    # (the cache is keyed by source path, so a fresh baseline worktree compiles too) and may write the JVM's class
    # archive, seconds of CPU that are no part of the steady cost (seen: a 28.8 s first run among 23.7 s ones).
    for tag, repo, sharded, _ in variants:
        for _ in range(args.warmup):
            pipeline_run(repo, one, 2, f"{tag}-warmup", sharded, args.conf)
    for i in range(max(repeats for *_, repeats in variants)):
        for case, files, cores in cases:
            for tag, repo, sharded, repeats in variants:
                if i < repeats:
                    label = f"{tag}-{case.replace('_', '-')}-{i}"
                    runs[tag][case].append(pipeline_run(repo, files, cores, label, sharded, args.conf))

    def measure(tag: str) -> dict[str, Any]:
        by_case = {case: medians(runs[tag][case]) for case, _, _ in cases}
        r1, r2, r2_single, r1_single = (by_case[case] for case in ("1x", "2x", "2x_local1", "1x_local1"))
        rate = marginal(mb1, mb2, r1["seconds"], r2["seconds"], 2)
        # The same from CPU seconds (all processes of the run: driver, JVM, Python workers): what a run costs on
        # any number of cores, and less affected by other load on the machine than wall seconds (waits do not count).
        cpu_rate = marginal(mb1, mb2, r1["cpu_total"], r2["cpu_total"], 1)
        out = {
            "t1": r1["seconds"], "t2": r2["seconds"], "t2_local1": r2_single["seconds"],
            "ratio_2x": round(r2["seconds"] / r1["seconds"], 3),
            "marginal_mb_s_core": rate,
            "cpu_h_per_tb": cpu_hours_per_tb(rate),
            "fixed_seconds": round(r1["seconds"] - mb1 / (rate * 2), 1) if rate else None,
            "speedup_local2": round(r2_single["seconds"] / r2["seconds"], 3),
            # The same on the work the second MB-worth adds (2× − 1×), where the fixed cost of a run (serial: JVM
            # start, planning, the driver's small jobs) cancels out.
            "speedup_local2_marginal": round((r2_single["seconds"] - r1_single["seconds"])
                                             / (r2["seconds"] - r1["seconds"]), 3) if r2["seconds"] > r1["seconds"]
            else None,
            "t1_local1": r1_single["seconds"],
            "cpu_1x": r1["cpu_seconds"], "cpu_2x": r2["cpu_seconds"],
            "marginal_mb_per_cpu_s": cpu_rate,
            "cpu_h_per_tb_from_cpu": cpu_hours_per_tb(cpu_rate),
            "fixed_cpu_seconds": round(r1["cpu_total"] - mb1 / cpu_rate, 1) if cpu_rate else None,
            # Cores busy in the local[1] run: above 1, the JVM (Parquet, Arrow) works beside the one Python task,
            # which caps what a second task slot can add.
            "cores_busy_local1": round(r2_single["cpu_total"] / r2_single["seconds"], 2),
            "marginal_by_phase": phase_marginals(mb1, mb2, r1, r2),
            "memory": {"1x": {k: r1[k] for k in ("jvm_peak_mb", "python_worker_peak_mb")},
                       "2x": {k: r2[k] for k in ("jvm_peak_mb", "python_worker_peak_mb")}},
            "raw": by_case,
        }
        if "4x" in by_case:
            out.update(four_x_figures(mb1, results["mb4"], by_case))
            out["memory"]["4x"] = {k: by_case["4x"][k] for k in ("jvm_peak_mb", "python_worker_peak_mb")}
        return out

    results["ours"] = measure("ours")
    if args.baseline:
        results["baseline"] = measure(f"baseline-{args.baseline}")
        results["baseline"]["revision"] = args.baseline
    if args.peers:
        results["peers"] = peer_rows(one, mb1, results["ours"])
    folder = REPO / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    name = args.name or results["date"]
    (folder / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = table(results)
    (folder / f"{name}.md").write_text(text)
    print(text)
    return 0


def peer_rows(files: Path, mb: float, ours: dict[str, Any]) -> dict[str, Any]:
    """bench/peers.py on the 1× files; rows of (peer, its figure, ours / peer)."""
    from bench import peers

    wet = peers.wet_files([str(files)])
    out: dict[str, Any] = {"zcat": peers.zcat_floor(wet), "fastwarc": peers.fastwarc_floor(wet)}
    out["datatrove"] = peers.datatrove_run(wet, CACHE / "peers-work")
    out["minhash"] = peers.minhash_peers(peers.wet_texts(wet))
    out["rows"] = peer_rows_from(out, ours)
    return out


def peer_rows_from(out: dict[str, Any], ours: dict[str, Any]) -> list[tuple[str, tuple[Any, Any]]]:
    ours_seconds = ours["t1"]
    rows = []
    for name in ("zcat", "fastwarc"):
        rate = out[name].get("mb_per_s")
        if rate:
            rows.append((f"{name} (ingest floor, MB/s on one core)", (rate, "—")))
    datatrove = out["datatrove"]
    if "error" not in datatrove:
        wall = datatrove.get("wall_s")
        if wall:
            # Per core: datatrove ran on one core, ours on two; > 1 means ours does more per core.
            rows.append(("datatrove filters + MinHash dedup, wall s on 1 core (ours: core-s at 1×)",
                         (round(wall, 1), f"{wall / (ours_seconds * 2):.2f}")))
            ours_cpu = sum(ours.get("cpu_1x", {}).values())
            if ours_cpu:
                # The same by CPU: datatrove's one process keeps its core busy; ours leaves cores idle between jobs.
                rows.append(("datatrove filters + MinHash dedup, wall s on 1 core (ours: CPU-s, all processes, 1×)",
                             (round(wall, 1), f"{wall / ours_cpu:.2f}")))
    minhash = out["minhash"]
    for name in ("ours", "ours_same_shingles"):
        if "docs_per_s" in minhash.get(name, {}):
            rows.append((f"MinHash signatures, {name}, docs/s", (minhash[name]["docs_per_s"], "—")))
    for name, value in minhash.get("peers", {}).items():
        if "docs_per_s" in value:
            figure = (value["docs_per_s"], f"{value.get('ours_same_shingles_over_peer')} on the same shingles; "
                      f"{value.get('ours_same_shingles_over_peer_with_shingling')} with their Python shingling")
            rows.append((f"MinHash signatures, {name}, docs/s", figure))
    return rows


if __name__ == "__main__":
    sys.exit(main())
