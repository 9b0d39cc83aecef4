"""Heuristic quality filters (C4, Gopher, FineWeb, URL, bad words, Chinese and Japanese rules): the rule registry is
conf/quality.yaml, read by ``udfs.quality.config``; ``udfs.quality.rules`` tags a batch."""
