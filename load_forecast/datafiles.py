"""Where the bundled tables live and how they are read (every one carries ``references``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from grid_models.errors import InputError

DATA_DIR = Path(__file__).parent / "data"


def read_table(name_or_path: str | Path) -> pd.DataFrame:
    """Read a bundled CSV by file name (``"industries.csv"``) or any path.

    Raises
    ------
    InputError
        The file is missing or has no ``references`` column.
    """
    p = Path(name_or_path)
    if not p.is_absolute() and not p.exists():
        p = DATA_DIR / p
    if not p.is_file():
        raise InputError(f"{p}: no such data file", field=p.name)
    t = pd.read_csv(p, keep_default_na=False, na_values=[""])
    if "references" not in t.columns:
        raise InputError(f"{p}: every standard/policy table needs a 'references' column",
                         field=f"{p.name}.references")
    return t
