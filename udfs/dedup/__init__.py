"""Deduplication logic: configuration, text keys, MinHash signatures (the Spark wiring is jobs/stages/dedup.py)."""
