"""Deduplication logic: configuration, text keys, MinHash signatures and LSH bands, pair verification, the keep
policy and the distributed connected components (the Spark wiring and removal tables are jobs/stages/dedup.py)."""
