"""Reading and writing networks: one GeoPackage per network, or a folder of GeoJSON files.

A GeoPackage holds one layer per element type plus a ``network_info`` attribute table
(key/value metadata). The GeoJSON form is a folder with ``<layer>.geojson`` per layer (RFC 7946:
always EPSG:4326) and ``network_info.json``. Files are written to a temporary name and
renamed, so an interrupted write never leaves a half-written network behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from .crs import WGS84, parse_crs, require_crs
from .errors import GridSchemeError, NetworkFormatError
from .network import Network
from .schema import LAYERS, REQUIRED_LAYERS, empty_layer

META_LAYER = "network_info"
try:  # Arrow reading halves GeoPackage read time on large networks (benchmarks)
    import pyarrow  # noqa: F401

    _ARROW = True
except ImportError:  # pragma: no cover - pyarrow is a core dependency
    _ARROW = False


def read_network(path: str | os.PathLike, strict: bool = True) -> Network:
    """Read a network from a GeoPackage (``.gpkg``) or a GeoJSON folder.

    Parameters
    ----------
    path : path-like
        ``NET.gpkg`` or a folder holding ``nodes.geojson`` etc.
    strict : bool
        Raise on missing required columns (default) or keep going so that validation can
        report every problem together.

    Returns
    -------
    Network

    Raises
    ------
    NetworkFormatError
        The file does not exist, is truncated or corrupt, or lacks required layers.
    CRSError
        A geometric layer has no CRS.
    """
    p = Path(path)
    if not p.exists():
        raise NetworkFormatError(f"{p}: no such file or folder", field="path")
    if p.is_dir():
        return _read_geojson_dir(p, strict)
    if p.suffix.lower() != ".gpkg":
        raise NetworkFormatError(
            f"{p}: unsupported network format '{p.suffix}'; use a GeoPackage (.gpkg) or a "
            "folder of GeoJSON layers (import other formats with 'gridscheme network import')",
            field="path")
    try:
        available = {name for name, _ in pyogrio.list_layers(p)}
    except Exception as exc:
        raise NetworkFormatError(
            f"{p}: cannot be read as a GeoPackage ({_short(exc)}); the file may be truncated "
            "or not a GeoPackage", field="path") from exc
    layers: dict[str, pd.DataFrame] = {}
    meta: dict[str, str] = {}
    for name in available:
        if name == META_LAYER:
            meta = _read_meta(p)
            continue
        if name not in LAYERS:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = pyogrio.read_dataframe(p, layer=name, use_arrow=_ARROW)
        except Exception as exc:
            raise NetworkFormatError(f"{p}: layer '{name}' cannot be read ({_short(exc)}); "
                                     "the file may be truncated", field=name) from exc
        if LAYERS[name]["geometry"]:
            if isinstance(t, gpd.GeoDataFrame):
                if len(t):
                    require_crs(t.crs, name)
            else:
                t = gpd.GeoDataFrame(t, geometry=gpd.GeoSeries([None] * len(t)), crs=WGS84)
        elif isinstance(t, gpd.GeoDataFrame):
            t = pd.DataFrame(t.drop(columns="geometry"))
        layers[name] = t
    crs = meta.pop("metric_crs", None)
    return _assemble(p, layers, crs, meta, strict)


def _assemble(p: Path, layers: dict[str, pd.DataFrame], crs: object, meta: dict[str, str],
              strict: bool) -> Network:
    """``Network.from_layers`` on what was read; anything unforeseen names the file."""
    try:
        return Network.from_layers(layers, crs=crs, meta=meta, strict=strict)
    except NetworkFormatError as exc:  # e.g. a required layer is missing: name the file
        raise NetworkFormatError(f"{p}: {exc}", field=exc.field) from exc
    except GridSchemeError:
        raise
    except Exception as exc:  # corrupt content no check foresaw: still the file's fault
        raise NetworkFormatError(
            f"{p}: cannot be read as a network ({type(exc).__name__}: {_short(exc)}); the "
            "file may be corrupt; run 'gridscheme network validate' on it", field="path") from exc


def write_network(net: Network, path: str | os.PathLike, crs: object = "EPSG:4326") -> Path:
    """Write ``net`` to a GeoPackage or, when ``path`` has no ``.gpkg`` suffix, a GeoJSON folder.

    Geometry is written in ``crs`` (EPSG:4326 by default, EPSG:4490 for CGCS2000). GeoJSON is
    always EPSG:4326. The write is atomic: a temporary file is renamed into place.
    """
    p = Path(path)
    out_crs = parse_crs(crs, "crs")
    meta = {**{k: v for k, v in net.meta.items() if not k.startswith("_")},
            "metric_crs": net.crs.to_string()}
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix.lower() == ".gpkg":
        fd, tmp = tempfile.mkstemp(suffix=".gpkg", dir=p.parent)
        os.close(fd)
        os.unlink(tmp)
        try:
            for name, t in net.layers.items():
                _write_layer(t, tmp, name, out_crs, "GPKG")
            meta_df = pd.DataFrame({"key": list(meta), "value": [str(v) for v in meta.values()]})
            pyogrio.write_dataframe(meta_df, tmp, layer=META_LAYER, driver="GPKG")
            os.replace(tmp, p)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return p
    tmpdir = Path(tempfile.mkdtemp(dir=p.parent, prefix=".tmp-"))
    try:
        for name, t in net.layers.items():
            if len(t):  # an absent file reads back as an empty layer
                _write_layer(t, tmpdir / f"{name}.geojson", name, WGS84, "GeoJSON")
        (tmpdir / f"{META_LAYER}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
        if p.exists():
            shutil.rmtree(p)
        os.replace(tmpdir, p)
    finally:
        if tmpdir.exists():
            shutil.rmtree(tmpdir)
    return p


def _write_layer(t: pd.DataFrame, target: object, name: str, out_crs: object, driver: str) -> None:
    if LAYERS[name]["geometry"]:
        gdf = t.to_crs(out_crs) if len(t) else t.set_crs(out_crs, allow_override=True)
        pyogrio.write_dataframe(gdf, target, layer=name, driver=driver,
                                geometry_type=_geometry_type(name))
    else:
        pyogrio.write_dataframe(pd.DataFrame(t), target, layer=name, driver=driver)


def _geometry_type(name: str) -> str:
    g = LAYERS[name]["geometry"]
    return "Unknown" if g == "Polygon" else g  # obstacles may be Polygon or MultiPolygon


def _read_meta(p: Path) -> dict[str, str]:
    try:
        t = pyogrio.read_dataframe(p, layer=META_LAYER, read_geometry=False)
        return {str(k): str(v) for k, v in zip(t["key"], t["value"], strict=True)}
    except Exception as exc:
        raise NetworkFormatError(f"{p}: layer '{META_LAYER}' is unreadable ({_short(exc)}); "
                                 "it must hold key/value text columns", field=META_LAYER) from exc


def _read_geojson_dir(p: Path, strict: bool) -> Network:
    layers: dict[str, pd.DataFrame] = {}
    for name in LAYERS:
        f = p / f"{name}.geojson"
        if not f.exists():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = pyogrio.read_dataframe(f)
        except Exception as exc:
            raise NetworkFormatError(f"{f}: not valid GeoJSON ({_short(exc)})", field=name) from exc
        if LAYERS[name]["geometry"]:
            if not isinstance(t, gpd.GeoDataFrame):
                t = gpd.GeoDataFrame(t, geometry=gpd.GeoSeries([None] * len(t)))
            # RFC 7946: GeoJSON coordinates are WGS 84 longitude/latitude.
            if t.crs is None:
                t = t.set_crs(WGS84)
        elif isinstance(t, gpd.GeoDataFrame):
            t = pd.DataFrame(t.drop(columns="geometry"))
        layers[name] = t
    meta_f = p / f"{META_LAYER}.json"
    try:
        meta = json.loads(meta_f.read_text(encoding="utf-8")) if meta_f.exists() else {}
    except (OSError, ValueError) as exc:
        raise NetworkFormatError(f"{meta_f}: not valid JSON ({_short(exc)}); it holds the "
                                 "network's key/value metadata", field=META_LAYER) from exc
    if not isinstance(meta, dict):
        raise NetworkFormatError(f"{meta_f}: must be a JSON object of key/value metadata",
                                 field=META_LAYER)
    if meta_f.exists():
        # Our own writer leaves empty layers out; a foreign folder must have them all.
        for name in REQUIRED_LAYERS:
            layers.setdefault(name, empty_layer(name, WGS84))
    crs = meta.pop("metric_crs", None)
    return _assemble(p, layers, crs, meta, strict)


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
