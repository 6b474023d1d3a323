"""Dispatch for ``gridscheme network import``: pandapower grids and road files → :class:`Network`.

``--from pandapower`` imports a pandapower JSON net (optionally with ``--roads``); ``--from osm``
and ``--from geojson`` (any GDAL line layer: GeoJSON, Shapefile, GeoPackage) make a roads-only
network, whose grid layers are empty, for routing studies and for adding a grid later.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from .errors import InputError, NetworkFormatError
from .import_roads import read_roads
from .network import Network
from .policy import Policy, load_policy
from .schema import REQUIRED_LAYERS, empty_layer

#: Source formats accepted by :func:`import_network`.
FORMATS = ("pandapower", "osm", "geojson")


def import_network(source: str | Path, fmt: str, roads: str | Path | None = None,
                   crs: str | None = None, name: str | None = None, *,
                   layer: str | None = None, station_bays: int | str | None = None,
                   policy: Policy | None = None) -> tuple[Network, list[str]]:
    """Import a network from a foreign source.

    Parameters
    ----------
    source : path
        pandapower JSON (``fmt="pandapower"``), ``.osm.pbf``/``.osm`` (``"osm"``), or a GDAL
        line layer such as GeoJSON, Shapefile or GeoPackage (``"geojson"``).
    fmt : str
        One of :data:`FORMATS`.
    roads : path, optional
        A road file to add (any format :func:`grid_models.import_roads.read_roads` reads).
        With a road source, its lines are added to the source's.
    crs : str, optional
        CRS of the source coordinates when a file does not declare one.
    name : str, optional
        Network name (default: the source file's stem).
    layer : str, optional
        Layer to read from a multi-layer road file (a GeoPackage holding roads among other
        layers, e.g. a network GeoPackage's ``roads``): the source of ``--from geojson``, or
        the ``roads`` file of a pandapower import.
    station_bays : int or "default", optional
        pandapower only: declare cable-network MV/LV stations switchable connection points
        with this many spare bays (``"default"``: the policy's
        ``import_assumed_station_spare_bays``); ``None``: none assumed.
    policy : Policy, optional
        Source of ``"default"`` (default: the bundled ``default`` profile).

    Returns
    -------
    network : Network
        In a metric CRS (chosen for the area unless the source is projected).
    notes : list of str
        What the import did, assumed or dropped, for the user.

    Raises
    ------
    InputError
        ``fmt`` is unknown, or the source does not match it.
    NetworkFormatError, CRSError
        From the readers.
    """
    kind = str(fmt).strip().lower()
    if kind not in FORMATS:
        raise InputError(f"unknown import format {fmt!r}; valid formats: {', '.join(FORMATS)}",
                         field="from")
    src = Path(source)
    if not src.exists():
        raise NetworkFormatError(f"{src}: no such file", field="source")
    net_name = name or _stem(src)
    notes: list[str] = []
    if kind == "pandapower":
        # Imported lazily: pandapower is an optional extra and slow to import.
        from .import_pandapower import network_from_pandapower, read_pandapower_json

        if station_bays == "default":
            pol = policy or load_policy()
            station_bays = int(pol.param("import_assumed_station_spare_bays"))
        pp_net = read_pandapower_json(src)
        got = network_from_pandapower(pp_net, crs=crs, name=net_name,
                                      station_bays=None if station_bays is None
                                      else int(station_bays))
        if isinstance(got, tuple):  # (Network, notes) if the importer reports notes
            net, pp_notes = got
            notes += [str(n) for n in pp_notes]
        else:
            net = got
        # The pandapower importer records what it dropped or assumed in meta.
        notes += [f"pandapower: {k} = {v}" for k, v in net.meta.items()
                  if k not in ("name", "source") and not k.startswith("_")]
        if roads is None:
            return net, notes
        road_gdf = _read_roads_noted(roads, crs, notes, layer)
        if net.meta.get("geometry_source") == "schematic":
            notes.append("the grid's coordinates are schematic: the roads will not line up "
                         "with it, and routes along them mean little")
        if len(net.layers["roads"]):
            notes.append(f"replaced the {len(net.layers['roads'])} road line(s) of the source "
                         f"with those of {roads}")
        with_roads = {**net.layers, "roads": road_gdf}
        return Network.from_layers(with_roads, crs=net.crs, meta=net.meta), notes

    # Roads-only network.
    if kind == "osm" and not _is_osm(src):
        raise InputError(f"{src}: --from osm reads .osm.pbf or .osm files; use --from geojson "
                         "for GeoJSON, Shapefile or GeoPackage layers", field="source")
    if station_bays is not None:
        raise InputError("--assume-station-bays applies to --from pandapower imports only",
                         field="assume_station_bays")
    road_gdf = _read_roads_noted(src, crs, notes, layer)
    if roads is not None:
        extra = _read_roads_noted(roads, crs, notes)
        extra = extra.to_crs(road_gdf.crs)
        road_gdf = gpd.GeoDataFrame(pd.concat([road_gdf, extra], ignore_index=True),
                                    geometry="geometry", crs=road_gdf.crs)
        if road_gdf["id"].duplicated().any():
            road_gdf["id"] = [f"road{i}" for i in range(len(road_gdf))]
            notes.append("road ids of the two road files overlap; renumbered them road0...")
    layers: dict[str, pd.DataFrame] = {n: empty_layer(n) for n in REQUIRED_LAYERS}
    layers["roads"] = road_gdf
    net = Network.from_layers(layers, meta={"name": net_name, "geometry_source": "surveyed",
                                            "roads_source": str(src)})
    notes.append(f"roads-only network: no grid elements; metric CRS {net.crs.to_string()}")
    return net, notes


def _read_roads_noted(path: str | Path, crs: str | None, notes: list[str],
                      layer: str | None = None) -> gpd.GeoDataFrame:
    gdf, report = read_roads(path, crs=crs, layer=layer)
    notes.extend(report.render().splitlines())
    return gdf


def _is_osm(p: Path) -> bool:
    n = p.name.lower()
    return n.endswith((".osm.pbf", ".pbf", ".osm", ".osm.xml"))


def _stem(p: Path) -> str:
    n = p.name
    for suffix in (".osm.pbf", ".osm.xml"):
        if n.lower().endswith(suffix):
            return n[: -len(suffix)]
    return p.stem
