"""Property test of the WET reader over mutated real WET files (issue 11): no exception, no hang, every byte in one
row or counted outside rows, rows capped. The mutations and properties are in tests/warc_fuzz.py;
``bench/warc_fuzz.py`` runs the same with 100,000 cases and a summary."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings

from tests.warc_fuzz import Case, check_reader, random_garbage_case, wet_cases

# derandomize: the default run checks the same 1,000 cases every time (a failure reproduces); the slow run explores.
FUZZ_SETTINGS = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}


@settings(max_examples=1000, derandomize=True, **FUZZ_SETTINGS)
@given(wet_cases())
def test_reader_properties_on_mutated_wet(case: Case) -> None:
    check_reader(case)


@pytest.mark.slow
@settings(max_examples=100_000, **FUZZ_SETTINGS)
@given(wet_cases())
def test_reader_properties_on_mutated_wet_100k(case: Case) -> None:
    check_reader(case)


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_are_no_wet_records_and_capped(seed: int) -> None:
    docs, stats = check_reader(random_garbage_case(random.Random(seed)))
    assert stats.status in ("no_wet_records", "corrupt")
    assert all(doc.reason == "ingest:headerless_fragment" for doc in docs)
