"""LSH banding parameters: choose (bands, rows) for a Jaccard threshold from the S-curve.

Two documents of Jaccard similarity ``s`` share at least one of ``b`` bands of ``r`` MinHash rows with probability
``1 - (1 - s**r)**b``. Pairs below the threshold that collide are false positives, pairs above it that never collide
are false negatives; like datasketch's ``MinHashLSH`` we pick the (b, r) with ``b*r <= num_perm`` that minimizes
the weighted sum of both areas under the curve, integrated numerically (here: trapezoids on a fixed grid, all
(b, r) at once).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_GRID_POINTS = 2001


def collision_probability(similarity: float | np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Probability that two documents of Jaccard ``similarity`` share at least one band."""
    s = np.asarray(similarity, dtype=np.float64)
    return 1.0 - (1.0 - s**rows) ** bands


def _area(low: float, high: float, bands: np.ndarray, rows: np.ndarray, above: bool) -> np.ndarray:
    grid = np.linspace(low, high, _GRID_POINTS)
    curve = 1.0 - (1.0 - grid[None, :] ** rows[:, None]) ** bands[:, None]
    values = 1.0 - curve if above else curve
    # The trapezoid rule written out: np.trapezoid is numpy>=2 only and np.trapz is gone from numpy 2.4, while the
    # Spark 3.5 line runs numpy 1.26. Same operation order as numpy's, so the areas are bit-identical to it.
    return np.add.reduce(np.diff(grid) * (values[:, 1:] + values[:, :-1]) / 2.0, axis=1)


def lsh_errors(threshold: float, bands: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive area on [0, threshold], false-negative area on [threshold, 1]) for each (bands, rows)."""
    bands = np.asarray(bands, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.float64)
    return _area(0.0, threshold, bands, rows, above=False), _area(threshold, 1.0, bands, rows, above=True)


@lru_cache(maxsize=64)
def optimal_bands_rows(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """The (bands, rows) with ``bands * rows <= num_perm`` minimizing the weighted FP + FN areas (remembered: every
    batch of a shard asks, and the search integrates over every (bands, rows) pair)."""
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)])
    fp, fn = lsh_errors(threshold, pairs[:, 0], pairs[:, 1])
    error = false_positive_weight * fp + false_negative_weight * fn
    # Ties (rare) go to the fewer permutations used, then fewer bands: deterministic.
    order = np.lexsort((pairs[:, 0], pairs[:, 0] * pairs[:, 1], np.round(error, 12)))
    best = pairs[order[0]]
    return int(best[0]), int(best[1])
