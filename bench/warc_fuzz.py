"""Fuzz the WET reader with many mutated real WET files and summarise what the cases were and what they found.

    .venv/bin/python bench/warc_fuzz.py [--cases 100000] [--seed 0]

The mutations and the properties checked are those of ``tests/warc_fuzz.py`` (the default test run checks 1,000
cases, ``-m slow`` 100,000). Writes ``bench/results/warc_fuzz-<date>.json``: cases run, seconds, the files' statuses,
the rows' reasons, the mutation steps used, and the first property failure (hypothesis shrinks it) if any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.warc_fuzz import Case, check_reader, wet_cases  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / f"warc_fuzz-{date.today()}.json"))
    args = parser.parse_args()

    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    totals = Counter()
    failure: str | None = None

    @seed(args.seed)
    @settings(max_examples=args.cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(wet_cases())
    def run(case: Case) -> None:
        docs, stats = check_reader(case)
        totals["cases"] += 1
        totals["input_bytes"] += len(case.data)
        totals["rows"] += len(docs)
        totals["bytes_read"] += stats.bytes_read
        statuses[stats.status] += 1
        reasons.update(doc.reason or "kept" for doc in docs)
        steps.update(re.sub(r"\d+", "N", step) for step in case.steps[1:])

    started = time.time()
    try:
        run()
    except Exception as exc:  # a property failed: hypothesis has shrunk it to a minimal case
        failure = f"{type(exc).__name__}: {exc}"
    seconds = time.time() - started
    result = {
        "cases_requested": args.cases,
        "cases_run": totals["cases"],
        "seconds": round(seconds, 1),
        "failure": failure,
        "input_mb": round(totals["input_bytes"] / 1e6, 1),
        "rows": totals["rows"],
        "file_statuses": dict(statuses.most_common()),
        "row_reasons": dict(reasons.most_common()),
        "mutation_steps": dict(steps.most_common()),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
