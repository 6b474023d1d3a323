"""Columns of the standard-type frames as numpy arrays, read once per frame.

The conductor tables of a level (``rules.conductors_for``) are built once per planner and read
by every application: a pandas column look-up costs ~10 µs, and a plan made ~15 of them. The
arrays are kept per frame (by identity, dropped when the frame is) and read-only, so a caller
cannot change what the next application reads.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

_MEMO: dict[int, tuple[weakref.ref[pd.DataFrame], dict[tuple[str, Any], np.ndarray]]] = {}


def column(frame: pd.DataFrame, name: str, dtype: Any = float) -> np.ndarray:
    """``frame[name].to_numpy(dtype)``, computed once per frame (read-only).

    The frame must not be changed in place afterwards (the standard-type frames never are).
    """
    key = id(frame)
    hit = _MEMO.get(key)
    if hit is None or hit[0]() is not frame:
        hit = (weakref.ref(frame, _forget(key)), {})
        _MEMO[key] = hit
    cols = hit[1]
    arr = cols.get((name, dtype))
    if arr is None:
        arr = frame[name].to_numpy(dtype)
        arr.flags.writeable = False
        cols[(name, dtype)] = arr
    return arr


def _forget(key: int) -> Callable[[weakref.ref[pd.DataFrame]], None]:
    def drop(_ref: weakref.ref[pd.DataFrame]) -> None:
        _MEMO.pop(key, None)

    return drop
