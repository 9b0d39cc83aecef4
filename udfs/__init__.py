"""Text logic of cc-refinery as vectorized functions over pandas/Arrow batches.

Nothing in this package imports pyspark: every function here is importable and testable on a laptop
without Java. Heavy native models (fastText, KenLM, tokenizers) are loaded lazily through
:mod:`udfs.models`, once per Python worker, never at import time.
"""
