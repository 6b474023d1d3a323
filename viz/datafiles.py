"""The viz package's own data tables (display classes, 3D dimensions, letter texts).

Each CSV under ``viz/data`` carries a ``references`` column, like the policy tables. A utility
can point ``GRIDSCHEME_VIZ_DATA`` at a folder holding its own versions of any of these files
(same names and columns): they replace the bundled ones.
"""

from __future__ import annotations

import csv
import math
import os
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def data_path(name: str) -> Path:
    """Path of a viz data file, preferring the folder in ``GRIDSCHEME_VIZ_DATA``."""
    override = os.environ.get("GRIDSCHEME_VIZ_DATA")
    if override and (Path(override) / name).is_file():
        return Path(override) / name
    return DATA_DIR / name


@lru_cache(maxsize=32)
def _read(path: str) -> tuple[dict[str, str], ...]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = tuple(csv.DictReader(fh))
    if rows and "references" not in rows[0]:
        from grid_models.errors import InputError

        raise InputError(f"{path}: every viz data table needs a 'references' column",
                         field="references")
    return rows


def table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of ``viz/data/<name>`` as dicts of strings."""
    return _read(str(data_path(name)))


def keyed(name: str, key: str = "key") -> dict[str, dict[str, str]]:
    """Rows of a table indexed by ``key``."""
    return {r[key]: r for r in table(name)}


def value(name: str, key: str) -> str:
    """The ``value`` column of row ``key`` of a key/value table."""
    return keyed(name)[key]["value"]


def classes(layer: str) -> list[tuple[float, float, str, str, str]]:
    """Display classes of a layer: (lower, upper, colour, label_zh, label_en)."""
    out = []
    for r in table("map_classes.csv"):
        if r["layer"] == layer:
            out.append((float(r["lower"]), float(r["upper"]), r["colour"], r["label_zh"],
                        r["label_en"]))
    return out


def class_colour(layer: str, v: float | None) -> str:
    """Colour of value ``v`` in a layer's classes (grey when unknown)."""
    if v is None or not math.isfinite(v):
        return "#999999"
    for lo, hi, colour, _, _ in classes(layer):
        if lo <= v < hi:
            return colour
    return "#999999"
