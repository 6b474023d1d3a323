"""Regenerate ``data/standard_types/pandapower_lines.csv`` from pandapower's own line types.

Imported pandapower grids name their lines by pandapower's standard types
(``149-AL1/24-ST1A 10.0``, ``NA2XS2Y 1x185 RM/25 12/20 kV``, ...). So that validation knows them
at every voltage without importing pandapower at run time, the catalogue is kept as data,
written by this script::

    python -m grid_models.pandapower_types            # rewrites the CSV
    python -m grid_models.pandapower_types --check    # exit 1 if the CSV is out of date

The catalogue only *names* known line types (for validation and for filling an imported
segment's missing values); the conductors offered for new lines stay those of
``conductors.csv``, which carry prices in the policy.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).parent / "data" / "standard_types" / "pandapower_lines.csv"
COLUMNS = ["name", "construction", "material", "cross_section_mm2", "vn_kv", "r_ohm_per_km",
           "x_ohm_per_km", "c_nf_per_km", "max_i_ka", "references"]

# pandapower's own source notes (pandapower/std_types.py, basic_line_std_types).
_CABLE_REF = ("Heuck, Elektrische Energieversorgung, Vieweg+Teubner 2013, p. 744; additional MV "
              "cables from Werth, Netzberechnung mit Erzeugungsprofilen")
_OVERHEAD_REF = ("Heuck, Elektrische Energieversorgung, Vieweg+Teubner 2013, p. 742f; 679/86 110 "
                 "from Flosdorff/Hilgarth, Elektrische Energieverteilung, Teubner 2005; c and x "
                 "estimated by pandapower for typical tower geometry")


def _vn_kv(name: str, rating: str) -> float:
    """Nominal voltage from the type name (``... 20.0``, ``12/20 kV``), else the rating class."""
    m = re.search(r"(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?) kV$", name)
    if m:
        return float(m.group(2))
    m = re.search(r" (\d+(?:\.\d+)?)$", name)
    if m:
        return float(m.group(1))
    return {"LV": 0.4}.get(str(rating), float("nan"))


def catalogue() -> pd.DataFrame:
    """pandapower's line standard types in the columns of ``conductors.csv``."""
    import pandapower as pp

    net = pp.create_empty_network()
    t = pp.available_std_types(net, "line")
    rows = []
    for name, r in t.iterrows():
        cable = str(r["type"]) == "cs"
        alpha = float(r.get("alpha", float("nan")))
        material = "Al" if abs(alpha - 4.03e-3) < 1e-5 else ("Cu" if abs(alpha - 3.93e-3) < 1e-5
                                                             else "")
        rows.append({
            "name": str(name), "construction": "cable" if cable else "overhead",
            "material": material, "cross_section_mm2": float(r["q_mm2"]),
            "vn_kv": _vn_kv(str(name), str(r.get("voltage_rating", ""))),
            "r_ohm_per_km": float(r["r_ohm_per_km"]), "x_ohm_per_km": float(r["x_ohm_per_km"]),
            "c_nf_per_km": float(r["c_nf_per_km"]), "max_i_ka": float(r["max_i_ka"]),
            "references": f"pandapower {pp.__version__} std_types (line): "
                          + (_CABLE_REF if cable else _OVERHEAD_REF)})
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["vn_kv", "construction", "name"],
                                                           kind="stable")


def main(argv: list[str] | None = None) -> int:
    """Write (or ``--check``) the catalogue CSV."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare instead of writing")
    args = p.parse_args(argv)
    new = catalogue()
    if args.check:
        old = pd.read_csv(OUT)
        same = old.drop(columns="references").equals(new.drop(columns="references")
                                                      .reset_index(drop=True))
        print("up to date" if same else f"{OUT} differs from pandapower's std_types")
        return 0 if same else 1
    new.to_csv(OUT, index=False)
    print(f"wrote {OUT} ({len(new)} line types)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
