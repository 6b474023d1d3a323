"""Vectorised helpers for radial forests given as parent arrays (``-1`` = root)."""

from __future__ import annotations

import numpy as np


def depths(parent: np.ndarray) -> np.ndarray:
    """Depth of every node by pointer jumping (vectorised list ranking, log(depth) steps)."""
    d = (parent >= 0).astype(np.int64)  # steps from i to anc[i]
    anc = parent.copy()
    while True:
        act = np.flatnonzero(anc >= 0)
        if act.size == 0:
            return d
        a = anc[act]
        d_a, anc_a = d[a].copy(), anc[a].copy()  # simultaneous update
        d[act] += d_a
        anc[act] = anc_a


def levels(depth: np.ndarray) -> list[np.ndarray]:
    """Node indices grouped by depth (``levels[0]`` = roots); negative depths are left out."""
    order = np.argsort(depth, kind="stable")
    dsorted = depth[order]
    top = int(depth.max()) if depth.size else -1
    bounds = np.searchsorted(dsorted, np.arange(0, top + 2))
    return [order[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]
