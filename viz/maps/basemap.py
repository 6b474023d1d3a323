"""Basemap choice for the maps: none (default), OSM-style XYZ, Tianditu, Gaode, local tiles.

No basemap is the default because utility intranets have no internet; a roads layer passed by
the caller then gives orientation. Any other basemap is the user's explicit choice. Tiles drawn
in GCJ-02 (Gaode, or an XYZ URL declared ``gcj02``) shift every overlay with
:func:`viz.maps.gcj02.wgs84_to_gcj02` so routes sit on the streets of the tiles.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import folium

from grid_models.errors import InputError

BasemapKind = Literal["none", "osm", "xyz", "tianditu", "gaode", "tiles"]

OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TIANDITU_URL = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")
GAODE_URL = ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
             "&x={x}&y={y}&z={z}")
_KEY = re.compile(r"^[A-Za-z0-9]{8,64}$")


@dataclass(frozen=True)
class Basemap:
    """A basemap choice.

    Parameters
    ----------
    kind : {"none", "osm", "xyz", "tianditu", "gaode", "tiles"}
        ``osm``: OpenStreetMap's tile server or ``url``; ``xyz``: any ``{z}/{x}/{y}`` URL
        (``gcj02=True`` if it is drawn in GCJ-02); ``tianditu``: 天地图 vector + labels with
        the user's ``key``; ``gaode``: AutoNavi road map (GCJ-02); ``tiles``: a local folder
        ``{z}/{x}/{y}.png`` (``url`` is the folder).
    """

    kind: BasemapKind = "none"
    url: str | None = None
    key: str | None = None
    gcj02: bool = False
    attribution: str | None = None

    @property
    def shifts_to_gcj02(self) -> bool:
        """Whether overlays must be shifted to GCJ-02 to match the tiles."""
        return self.kind == "gaode" or (self.kind == "xyz" and self.gcj02)


def parse_basemap(spec: str | None) -> Basemap:
    """Parse ``none | osm[:URL] | xyz:URL | xyz-gcj02:URL | tianditu:KEY | gaode | tiles:DIR``.

    Raises
    ------
    InputError
        Naming ``--basemap`` and the valid forms.
    """
    valid = ("none, osm, osm:URL, xyz:URL, xyz-gcj02:URL, tianditu:KEY, gaode, tiles:FOLDER")
    if not spec or spec == "none":
        return Basemap()
    kind, _, arg = spec.partition(":")
    if kind == "osm":
        return Basemap("osm", url=arg or None)
    if kind in ("xyz", "xyz-gcj02") and arg:
        if "{z}" not in arg or "{x}" not in arg or "{y}" not in arg:
            raise InputError(f"--basemap {spec!r}: an XYZ URL needs {{z}}, {{x}} and {{y}}",
                             field="basemap")
        return Basemap("xyz", url=arg, gcj02=kind == "xyz-gcj02")
    if kind == "tianditu":
        if not _KEY.match(arg):
            raise InputError(f"--basemap tianditu:KEY: the key must be 8-64 letters or digits "
                             f"(got {arg!r})", field="basemap")
        return Basemap("tianditu", key=arg)
    if kind == "gaode" and not arg:
        return Basemap("gaode")
    if kind == "tiles" and arg:
        if not Path(arg).is_dir():
            raise InputError(f"--basemap tiles:{arg}: not a folder of {{z}}/{{x}}/{{y}}.png tiles",
                             field="basemap")
        return Basemap("tiles", url=arg)
    raise InputError(f"--basemap {spec!r} is not valid; use one of: {valid}", field="basemap")


def local_tile_extent(folder: Path) -> tuple[int, int, list[list[float]]] | None:
    """Zoom range and lat/lon bounds of a ``{z}/{x}/{y}.png`` folder (no requests outside it)."""
    import math

    zs = sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    if not zs:
        return None
    zmax = zs[-1]
    xs = [int(p.name) for p in (folder / str(zmax)).iterdir() if p.name.isdigit()]
    ys = [int(f.stem) for x in xs for f in (folder / str(zmax) / str(x)).glob("*.png")
          if f.stem.isdigit()]
    if not xs or not ys:
        return None
    n = 2.0 ** zmax

    def lat(y: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))

    bounds = [[lat(max(ys) + 1), min(xs) / n * 360 - 180], [lat(min(ys)), (max(xs) + 1) / n * 360 - 180]]
    return zs[0], zmax, bounds


def add_basemap(m: folium.Map, basemap: Basemap, lang: str, html_dir: Path | None) -> None:
    """Add the basemap's tile layer(s) to ``m`` (nothing for ``none``)."""
    if basemap.kind == "none":
        return
    name = "底图" if lang == "zh" else "Basemap"
    if basemap.kind in ("osm", "xyz"):
        url = basemap.url or OSM_URL
        attr = basemap.attribution or ("© OpenStreetMap contributors" if basemap.kind == "osm"
                                       else "tiles")
        folium.TileLayer(url, attr=attr, name=name, max_zoom=19).add_to(m)
    elif basemap.kind == "tianditu":
        for layer, lname in (("vec", name), ("cva", name + (" 注记" if lang == "zh" else " labels"))):
            folium.TileLayer(TIANDITU_URL.replace("{layer}", layer).replace("{key}", basemap.key or ""),
                             attr="© 天地图 Tianditu", name=lname, subdomains="01234567",
                             max_zoom=18, overlay=layer == "cva").add_to(m)
    elif basemap.kind == "gaode":
        folium.TileLayer(GAODE_URL, attr="© 高德地图 AutoNavi", name=name, subdomains="1234",
                         max_zoom=18).add_to(m)
    elif basemap.kind == "tiles":
        folder = Path(basemap.url or ".").resolve()
        if html_dir is not None:
            rel = os.path.relpath(folder, html_dir.resolve()).replace(os.sep, "/")
            url = rel + "/{z}/{x}/{y}.png"
        else:
            url = folder.as_uri() + "/{z}/{x}/{y}.png"
        extent = local_tile_extent(folder)
        opts: dict = {"max_zoom": 19}
        if extent:
            # Only request tiles that exist: a missing file is a console error per tile.
            opts.update(min_native_zoom=extent[0], max_native_zoom=extent[1], bounds=extent[2],
                        min_zoom=extent[0])
        folium.TileLayer(url, attr=basemap.attribution or "local tiles", name=name,
                         **opts).add_to(m)
