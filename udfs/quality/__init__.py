"""Heuristic quality filters (C4, Gopher, FineWeb, URL, bad words, Chinese rules)."""
