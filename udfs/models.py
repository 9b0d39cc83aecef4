"""Lazy, per-process loading of heavy native models (fastText, KenLM, tokenizers), and where the bundled ones are.

C objects such as a fastText model do not pickle, so they are never broadcast: each Python worker
loads a model the first time a batch needs it and keeps it for the life of the worker. The cache is
keyed by (kind, path) so two stages that use the same file share one copy.
"""

from __future__ import annotations

import hashlib
import os
import pkgutil
import tempfile
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


LID_MODEL_NAME = "lid.176.ftz"


def bundled_lid_model_path() -> str:
    """Path of the ``lid.176.ftz`` shipped in this package (``udfs/resources/``), as a file fastText can open.

    Installed from the wheel or run from the repository it is a plain file. Imported from the ``--py-files`` code
    zip it is not, so its bytes are copied once per machine to a temporary folder (named after their SHA-256, so
    a later build never reads a stale copy) and that copy is returned.
    """
    package_dir = os.path.dirname(os.path.abspath(__file__))
    on_disk = os.path.join(package_dir, "resources", LID_MODEL_NAME)
    if os.path.isfile(on_disk):
        return on_disk
    try:
        data = pkgutil.get_data("udfs", f"resources/{LID_MODEL_NAME}")
    except OSError:
        data = None
    if not data:
        raise FileNotFoundError(
            f"{LID_MODEL_NAME} not found in the udfs package ({on_disk}); set langid.model_path "
            "(e.g. models/lid.176.bin shipped with --archives models.tar.gz#models)"
        )
    return _extracted_copy(data, LID_MODEL_NAME)


def _extracted_copy(data: bytes, name: str) -> str:
    """``data`` written to ``<tmp>/cc-refinery-models/<sha256>/<name>``; the rename makes concurrent workers safe."""
    digest = hashlib.sha256(data).hexdigest()
    folder = os.path.join(tempfile.gettempdir(), "cc-refinery-models", digest)
    target = os.path.join(folder, name)
    if os.path.isfile(target) and os.path.getsize(target) == len(data):
        return target
    os.makedirs(folder, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(partial, target)
    return target
