"""Static configuration of the web page: UI texts in both languages, form choices and colours.

UI texts live in ``viz/web/ui_text.csv`` (``key,zh,en``; every key needs both languages, a
test checks it and that every key the page uses exists). Form choices come from the data the
engine itself reads: customer tiers from the policy's ``tiers`` table, industries from
``load_forecast/data/industries.csv``; colours from ``viz/data`` (``map_styles.csv``,
``map_classes.csv``), so the page, the folium map and the 3D preview agree.
"""

from __future__ import annotations

import csv
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
UI_TEXT = WEB_DIR / "ui_text.csv"


@lru_cache(maxsize=1)
def ui_texts() -> dict[str, dict[str, str]]:
    """``{"zh": {key: text}, "en": {key: text}}`` from ``ui_text.csv``.

    Raises
    ------
    InputError
        A key is repeated or lacks a text in either language.
    """
    from grid_models.errors import InputError

    out: dict[str, dict[str, str]] = {"zh": {}, "en": {}}
    with open(UI_TEXT, encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            key = (row.get("key") or "").strip()
            if not key or key in out["zh"] or not row.get("zh") or not row.get("en"):
                raise InputError(f"{UI_TEXT.name} line {i}: key {key!r} is empty, repeated or "
                                 "lacks its zh/en text", field="key")
            out["zh"][key], out["en"][key] = row["zh"], row["en"]
    return out


def page_config(tiers: Any | None = None) -> dict[str, Any]:
    """What the page needs before anyone signs in (no data of any customer or of the grid).

    Parameters
    ----------
    tiers : pandas.DataFrame, optional
        The policy's ``tiers`` table (columns ``tier`` and ``en``); default the bundled
        default policy's.

    Returns
    -------
    dict
        ``text`` (UI texts by language), ``tiers`` and ``industries`` (``value``, ``zh``,
        ``en``), ``rank_colours``, ``classes`` (display classes of the designer layers).
    """
    from load_forecast.industries import industry_table

    from ..datafiles import classes, value

    if tiers is None:
        from grid_models.policy import load_policy

        tiers = load_policy("default").table("tiers")
    ind = industry_table()
    return {
        "text": ui_texts(),
        "tiers": [{"value": str(r.tier), "zh": str(r.tier), "en": str(r.en)}
                  for r in tiers.itertuples(index=False)],
        "industries": [{"value": str(k), "zh": str(z), "en": str(e)} for k, z, e in
                       zip(ind["industry"], ind["name_zh"], ind["name_en"], strict=True)],
        "rank_colours": value("map_styles.csv", "rank_colours").split("|"),
        # JSON has no infinity: an open class bound is null
        "classes": {layer: [{"lower": _finite(lo), "upper": _finite(hi), "colour": c, "zh": z,
                             "en": e}
                            for lo, hi, c, z, e in classes(layer)]
                    for layer in ("feeder_load_rate", "capacity_headroom_mva")},
    }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
