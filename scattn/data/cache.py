"""A checksummed cache of generated arrays: one ``.npz`` file per set of generation parameters.

Generated data sets (cluttered digits, colour-cue digits) are stored under
:func:`scattn.runtime.data_dir` and read back next time. The file's name encodes
every generation parameter, and the file holds those parameters and a SHA-256 of
its arrays and parameters: a file that is truncated, altered, of other shapes, made
with other parameters (copied or renamed by hand) or unreadable for any other reason is
noticed and rebuilt, with a warning. Writes are
atomic (:func:`scattn.runtime.atomic_write`), so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ..runtime import atomic_write

Spec = Mapping[str, tuple[tuple[int, ...], type]]  # array name -> (shape, dtype)


def digest(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over each array's name, dtype, shape and bytes (in sorted name order)."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        if key == "sha256":
            continue
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _params_array(params: Mapping) -> np.ndarray:
    return np.array(json.dumps(dict(params), sort_keys=True, default=str))


def load(path: Path, spec: Spec, params: Mapping) -> dict[str, np.ndarray] | None:
    """The arrays stored at ``path``, or None when missing, unreadable, misshapen, altered or
    made with other generation ``params``.

    Whatever reading a file raises (a damaged zip header alone can raise OSError, ValueError,
    KeyError, BadZipFile, NotImplementedError, MemoryError...), it means one thing: rebuild it.
    """
    try:
        if not path.exists():
            return None
        # Our own file object: np.load leaves the file it opened open when the zip cannot be parsed.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in (*spec, "params")}
            expected_digest = str(stored["sha256"])
    except Exception as err:  # any failure to read means the same: rebuild the file
        warnings.warn(f"cache file {path} could not be read ({type(err).__name__}: {err}); rebuilding it",
                      stacklevel=3)
        return None
    if str(arrays["params"]) != str(_params_array(params)):
        warnings.warn(f"cache file {path} was made with other parameters ({arrays['params']}, "
                      f"expected {_params_array(params)}); rebuilding it", stacklevel=3)
        return None
    for key, (shape, dtype) in spec.items():
        if arrays[key].shape != tuple(shape) or arrays[key].dtype != dtype:
            warnings.warn(
                f"cache file {path} holds {key} of shape {arrays[key].shape} and dtype "
                f"{arrays[key].dtype}, expected {tuple(shape)} and {np.dtype(dtype)}; rebuilding it",
                stacklevel=3,
            )
            return None
    if digest(arrays) != expected_digest:
        warnings.warn(f"cache file {path} fails its checksum; rebuilding it", stacklevel=3)
        return None
    del arrays["params"]
    return arrays


def save(path: Path, arrays: Mapping[str, np.ndarray], params: Mapping) -> None:
    """Store ``arrays`` and ``params`` with their checksum; a read-only or full disk costs the
    cache, not the data."""
    stored = {**arrays, "params": _params_array(params)}
    try:
        atomic_write(path, lambda f: np.savez(f, sha256=np.array(digest(stored)), **stored))
    except OSError as err:
        warnings.warn(f"could not cache {path.name} at {path.parent} ({err}); continuing without", stacklevel=3)


def cached(path: Path, spec: Spec, build: Callable[[], dict[str, np.ndarray]], params: Mapping) -> dict:
    """The arrays at ``path`` if they are sound and made with ``params``, else ``build()``'s,
    stored for next time."""
    arrays = load(path, spec, params)
    if arrays is None:
        arrays = build()
        save(path, arrays, params)
    return arrays


__all__ = ["cached", "digest", "load", "save"]
