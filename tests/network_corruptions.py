"""Corrupted copies of a network file, for the fuzz test of reading, validation and planning.

Each corruption takes a valid GeoPackage written by :func:`grid_models.io.write_network` and
writes a damaged copy: byte-level damage (truncation, flipped bytes, junk), structural damage
(a dropped layer or column) and value-level damage (NaN/inf/negative numbers, text in numeric
columns, null geometry, duplicate ids, a lying or undefined CRS, an unknown metric CRS, nothing
left to plan on). Value-level corruptions return the ``(layer, element id)`` they damaged so
that a test can check the report names it. Everything is driven by a ``numpy`` generator, so a
seed reproduces a case exactly.
"""

from __future__ import annotations

import shutil
import sqlite3
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

META = "network_info"


@dataclass(frozen=True)
class Damage:
    """What a corruption did: its name, and the element it damaged when there is one."""

    name: str
    layer: str = ""
    element_id: str = ""
    unreadable: bool = False  # byte-level damage: the file may not open at all


def read_layers(path: Path) -> dict[str, pd.DataFrame]:
    """Every layer of a GeoPackage as written (in the file's CRS)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, _ in pyogrio.list_layers(path):
            out[str(name)] = pyogrio.read_dataframe(path, layer=name)
    return out


def write_layers(layers: dict[str, pd.DataFrame], path: Path) -> None:
    """Write the layers to a new GeoPackage (empty geometric layers keep their type)."""
    if path.exists():
        path.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, t in layers.items():
            kw = {}
            if isinstance(t, gpd.GeoDataFrame):
                kw["geometry_type"] = "Unknown"
            pyogrio.write_dataframe(t, path, layer=name, driver="GPKG", **kw)


def _ids(t: pd.DataFrame) -> np.ndarray:
    return t["id"].astype(str).to_numpy()


def _pick(rng: np.random.Generator, t: pd.DataFrame) -> int:
    return int(rng.integers(len(t)))


# -- byte-level --------------------------------------------------------------------------

def truncate(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    data = src.read_bytes()
    cut = int(rng.integers(0, len(data)))
    dst.write_bytes(data[:cut])
    return Damage(f"truncated at {cut} of {len(data)} bytes", unreadable=True)


def flip_bytes(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    data = bytearray(src.read_bytes())
    n = int(rng.choice([1, 2, 4, 16, 64]))
    at = rng.integers(0, len(data), n)
    for i in at:
        data[i] ^= int(rng.integers(1, 256))
    dst.write_bytes(bytes(data))
    return Damage(f"{n} flipped bytes", unreadable=True)


def junk(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    dst.write_bytes(rng.integers(0, 256, int(rng.integers(0, 5000)), dtype=np.uint8).tobytes())
    return Damage("binary junk", unreadable=True)


# -- structural ---------------------------------------------------------------------------

REQUIRED = ("substations", "bus_sections", "feeders", "nodes", "segments")


def drop_layer(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    layers = read_layers(src)
    name = str(rng.choice([n for n in layers if n != META]))
    del layers[name]
    write_layers(layers, dst)
    return Damage(f"layer {name} dropped", layer=name)


def drop_column(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    layers = read_layers(src)
    name = str(rng.choice(list(REQUIRED)))
    t = layers[name]
    cols = [c for c in t.columns if c != "geometry"]
    col = str(rng.choice(cols))
    layers[name] = t.drop(columns=col)
    write_layers(layers, dst)
    return Damage(f"column {name}.{col} dropped", layer=name)


# -- values --------------------------------------------------------------------------------

NUMERIC = {
    "substations": ("hv_kv", "n_transformers", "transformer_mva"),
    "bus_sections": ("vn_kv", "bays_total", "bays_used"),
    "feeders": ("vn_kv", "rated_i_ka"),
    "nodes": ("vn_kv", "p_mw", "spare_bays"),
    "segments": ("length_km", "r_ohm_per_km", "x_ohm_per_km", "max_i_ka"),
}
#: Corruptions after which the network must be refused (the others may leave it valid: an
#: optional layer or column dropped, a byte flipped in unused space).
MUST_REFUSE = ("truncate", "junk", "nan", "inf", "-inf", "negative", "huge", "text_in_number",
               "null_geometry", "far_node", "duplicate_id", "unknown_kind", "crs_lie",
               "undefined_crs", "bad_metric_crs", "nothing_to_plan", "station_values",
               "wrong_geometry")


def _value(kind: str) -> Callable[[Path, Path, np.random.Generator], Damage]:
    """A corruption writing one bad number (``nan``, ``inf``, ``-inf`` or negative)."""

    def corrupt(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
        layers = read_layers(src)
        name = str(rng.choice(list(NUMERIC)))
        cols = [c for c in NUMERIC[name] if not (kind == "negative" and c == "p_mw")]
        col = str(rng.choice(cols))  # a negative p_mw is generation, not a defect
        t = layers[name]
        i = _pick(rng, t)
        t[col] = t[col].astype(float)
        old = float(t[col].iat[i])
        new = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf,
               "negative": -abs(old) - 1.0, "huge": float(rng.choice([1e30, 1e300]))}[kind]
        if kind == "nan" and col in ("p_mw", "spare_bays"):
            new = np.inf  # NaN means "not given" in optional columns: not a defect there
        t.iloc[i, t.columns.get_loc(col)] = new
        write_layers(layers, dst)
        return Damage(f"{name}.{col} = {new} at {_ids(t)[i]}", name, _ids(t)[i])

    return corrupt


def text_in_number(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    layers = read_layers(src)
    name = str(rng.choice(list(NUMERIC)))
    col = str(rng.choice(NUMERIC[name]))
    t = layers[name]
    i = _pick(rng, t)
    t[col] = t[col].astype(object)
    t.iloc[i, t.columns.get_loc(col)] = str(rng.choice(["abc", "1,5", "十", "--", "1e", "NaN%"]))
    write_layers(layers, dst)
    return Damage(f"text in {name}.{col} at {_ids(t)[i]}", name, _ids(t)[i])


def null_geometry(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    layers = read_layers(src)
    name = str(rng.choice(["substations", "nodes", "segments"]))
    t = layers[name]
    i = _pick(rng, t)
    geoms = np.asarray(t.geometry.values, dtype=object).copy()
    geoms[i] = None
    layers[name] = t.set_geometry(gpd.GeoSeries(geoms, crs=t.crs, index=t.index))
    write_layers(layers, dst)
    return Damage(f"null geometry at {name} {_ids(t)[i]}", name, _ids(t)[i])


def far_node(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    """A node at 1e30 (or NaN) coordinates."""
    layers = read_layers(src)
    t = layers["nodes"]
    i = _pick(rng, t)
    v = float(rng.choice([1e30, -1e30, np.nan, np.inf]))
    geoms = np.asarray(t.geometry.values, dtype=object).copy()
    geoms[i] = shapely.Point(v, v)
    layers["nodes"] = t.set_geometry(gpd.GeoSeries(geoms, crs=t.crs, index=t.index))
    write_layers(layers, dst)
    return Damage(f"node {_ids(t)[i]} at ({v}, {v})", "nodes", _ids(t)[i])


def wrong_geometry(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    """A node that is a line, a segment that is a point, a substation that is a polygon."""
    layers = read_layers(src)
    name = str(rng.choice(["nodes", "segments", "substations"]))
    t = layers[name]
    i = _pick(rng, t)
    geoms = np.asarray(t.geometry.values, dtype=object).copy()
    c = shapely.get_coordinates(geoms[i])[0]
    geoms[i] = {"nodes": shapely.LineString([c, c + 0.001]),
                "segments": shapely.Point(c),
                "substations": shapely.box(c[0], c[1], c[0] + 0.001, c[1] + 0.001)}[name]
    layers[name] = t.set_geometry(gpd.GeoSeries(geoms, crs=t.crs, index=t.index))
    write_layers(layers, dst)
    return Damage(f"{name} {_ids(t)[i]} has a {geoms[i].geom_type}", name, _ids(t)[i])


def duplicate_id(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    layers = read_layers(src)
    name = str(rng.choice(["nodes", "segments", "feeders", "bus_sections"]))
    t = layers[name]
    i, j = rng.choice(len(t), 2, replace=False)
    t.iloc[j, t.columns.get_loc("id")] = t["id"].iat[i]
    write_layers(layers, dst)
    return Damage(f"duplicate {name} id {t['id'].iat[i]}", name, str(t["id"].iat[i]))


def unknown_kind(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    layers = read_layers(src)
    name, col = [("nodes", "kind"), ("segments", "construction"),
                 ("switches", "kind")][int(rng.integers(3))]
    t = layers[name]
    i = _pick(rng, t)
    t.iloc[i, t.columns.get_loc(col)] = str(rng.choice(["tower", "", "CABLE ", "未知", "x" * 300]))
    write_layers(layers, dst)
    return Damage(f"unknown {name}.{col} at {_ids(t)[i]}", name, _ids(t)[i])


def crs_lie(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    """A layer whose declared CRS does not match its coordinates."""
    layers = read_layers(src)
    name = str(rng.choice(["nodes", "segments", "substations"]))
    t = layers[name]
    if rng.random() < 0.5:
        # Metres declared as EPSG:4326: projected coordinates labelled lon/lat.
        metric = t.to_crs("EPSG:4545")
        layers[name] = gpd.GeoDataFrame(pd.DataFrame(metric.drop(columns="geometry")),
                                        geometry=np.asarray(metric.geometry.values, dtype=object),
                                        crs="EPSG:4326")
        what = "metres declared as EPSG:4326"
    else:
        # Degrees declared in a projected CRS.
        layers[name] = t.set_crs("EPSG:4545", allow_override=True)
        what = "degrees declared as EPSG:4545"
    write_layers(layers, dst)
    return Damage(f"{name}: {what}", name, "*")


def undefined_crs(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    """A layer whose GeoPackage srs_id is 0 (undefined geographic) or -1 (undefined cartesian)."""
    shutil.copyfile(src, dst)
    name = str(rng.choice(["nodes", "segments", "substations", "roads"]))
    srs = int(rng.choice([0, -1]))
    with sqlite3.connect(dst) as con:
        con.execute("UPDATE gpkg_geometry_columns SET srs_id = ? WHERE table_name = ?", (srs, name))
        con.execute("UPDATE gpkg_contents SET srs_id = ? WHERE table_name = ?", (srs, name))
    return Damage(f"{name}: srs_id {srs}", name, "*")


def bad_metric_crs(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    shutil.copyfile(src, dst)
    value = str(rng.choice(["EPSG:999999", "not a crs", "EPSG:4326", ""]))
    with sqlite3.connect(dst) as con:
        con.execute(f"UPDATE {META} SET value = ? WHERE key = 'metric_crs'", (value,))
    return Damage(f"metric_crs = {value!r}", META, "metric_crs")


def nothing_to_plan(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    layers = read_layers(src)
    how = int(rng.integers(3))
    if how == 0:
        layers["segments"] = layers["segments"].iloc[:0]
        what = "no segments"
    elif how == 1:
        # Every segment out of service.
        layers["segments"]["in_service"] = False
        what = "every segment out of service"
    else:
        # An open switch on every segment leaving a busbar: nothing energised.
        nodes, seg = layers["nodes"], layers["segments"]
        bb = set(nodes.loc[nodes["kind"] == "busbar", "id"])
        first = seg[seg["from_node"].isin(bb) | seg["to_node"].isin(bb)]
        sw = layers["switches"]
        extra = gpd.GeoDataFrame({
            "id": [f"OPEN-{s}" for s in first["id"]], "node_a": first["from_node"].to_numpy(),
            "node_b": first["to_node"].to_numpy(), "segment_id": first["id"].to_numpy(),
            "kind": "sectionalizer", "closed": False, "source_ref": ""},
            geometry=shapely.get_point(first.geometry.values, 0), crs=sw.crs)
        sw["closed"] = False
        layers["switches"] = gpd.GeoDataFrame(pd.concat([sw, extra], ignore_index=True),
                                              geometry="geometry", crs=sw.crs)
        what = "all switches open"
    write_layers(layers, dst)
    return Damage(what, "segments", "*")


def station_values(src: Path, dst: Path, rng: np.random.Generator) -> Damage:
    """Zero transformer rating, zero busbar voltage, null impedance, a missing bus section,
    more bays used than exist."""
    layers = read_layers(src)
    how = int(rng.integers(5))
    if how == 0:
        t, col, v = layers["substations"], "transformer_mva", 0.0
    elif how == 1:
        t, col, v = layers["bus_sections"], "vn_kv", 0.0
    elif how == 2:
        t, col, v = layers["segments"], str(rng.choice(["r_ohm_per_km", "max_i_ka"])), None
    elif how == 3:
        t, col, v = layers["feeders"], "bus_section_id", "BS-MISSING"
    else:
        t, col, v = layers["bus_sections"], "bays_used", 999
    i = _pick(rng, t)
    if v is None:
        t[col] = t[col].astype(float)
        t.iloc[i, t.columns.get_loc(col)] = np.nan
        t.iloc[i, t.columns.get_loc("std_type")] = ""  # no standard type to fall back on
    else:
        t.iloc[i, t.columns.get_loc(col)] = v
    write_layers(layers, dst)
    name = {id(layers[k]): k for k in layers}[id(t)]
    return Damage(f"{name}.{col} = {v!r} at {_ids(t)[i]}", name, _ids(t)[i])


CORRUPTIONS: dict[str, Callable[[Path, Path, np.random.Generator], Damage]] = {
    "truncate": truncate, "flip_bytes": flip_bytes, "junk": junk,
    "drop_layer": drop_layer, "drop_column": drop_column,
    "nan": _value("nan"), "inf": _value("inf"), "-inf": _value("-inf"),
    "negative": _value("negative"), "huge": _value("huge"), "text_in_number": text_in_number,
    "wrong_geometry": wrong_geometry,
    "null_geometry": null_geometry, "far_node": far_node, "duplicate_id": duplicate_id,
    "unknown_kind": unknown_kind, "crs_lie": crs_lie, "undefined_crs": undefined_crs,
    "bad_metric_crs": bad_metric_crs, "nothing_to_plan": nothing_to_plan,
    "station_values": station_values,
}
