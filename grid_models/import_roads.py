"""Road lines from OpenStreetMap or any GIS line layer → the ``roads`` layer.

Sources:

- ``.osm.pbf``: read with pyrosm (``network_type="all"``), so footways and service roads are
  available to the policy's ``path``/``local`` classes.
- ``.osm`` XML: a small streaming reader of nodes and ways (osmnx is not a dependency). Clipped
  extracts reference nodes outside the clip; a way is cut at its missing nodes and the runs of
  two or more present nodes are kept (the part inside the clip is still a usable street).
- GeoJSON, Shapefile, GeoPackage and anything else GDAL reads, through pyogrio.

Road classes come from the policy table ``road_classes.csv``: its ``osm_highway`` column lists
the OSM ``highway`` values (``|``-separated) of each class. OSM ways whose ``highway`` value no
class lists (``proposed``, ``corridor``, ``elevator``, ``trail``, ...) are dropped: the policy
decides which ways a cable may follow. A foreign layer is mapped through its class-like column
(``road_class``, ``class``, ``highway``, ``fclass`` or ``type``) whose values may be class names
or OSM tags; anything unmatched gets the schema's default class (``local``), and the report
says how many did.

The result stays in the source CRS; :meth:`grid_models.network.Network.from_layers` reprojects
it. A layer without CRS is refused, except GeoJSON, which is WGS 84 by RFC 7946.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from .crs import WGS84, is_undefined, parse_crs
from .errors import CRSError, InputError, NetworkFormatError
from .schema import LAYERS

#: Columns of a foreign layer that may hold the road class, in order of preference.
CLASS_COLUMNS = ("road_class", "class", "highway", "fclass", "type")
#: Columns that may hold a source id, in order of preference.
ID_COLUMNS = ("id", "osm_id", "fid", "objectid", "gid")
DEFAULT_CLASS: str = next(c.default for c in LAYERS["roads"]["columns"] if c.name == "road_class")

_LINE_TYPES = (1, 2)  # shapely type ids of LineString and LinearRing


@dataclass
class RoadImportReport:
    """What :func:`read_roads` did.

    Attributes
    ----------
    source : str
        The file read.
    n_lines : int
        Road lines kept (after exploding multi-part lines).
    n_default_class : int
        Lines that got the default class because nothing mapped them.
    class_counts : dict of str to int
        Lines per road class.
    source_crs : str
        CRS of the output (the source's, or the one passed because the source had none).
    notes : list of str
        Anything dropped, assumed or guessed.
    """

    source: str = ""
    n_lines: int = 0
    n_default_class: int = 0
    class_counts: dict[str, int] = field(default_factory=dict)
    source_crs: str = ""
    notes: list[str] = field(default_factory=list)
    #: False when the layer has no class column at all (one note says so, nothing more).
    has_class_column: bool = True

    def render(self) -> str:
        """A few lines for the command line."""
        classes = ", ".join(f"{k} {v}" for k, v in self.class_counts.items()) or "none"
        lines = [
            f"roads: {self.n_lines} line(s) read from {self.source} (CRS {self.source_crs}); "
            f"classes: {classes}",
        ]
        if self.has_class_column:
            lines.append(f"roads: {self.n_default_class} line(s) got the default class "
                         f"'{DEFAULT_CLASS}' (no class value matched the policy's road_classes)")
        lines += [f"roads: {n}" for n in self.notes]
        return "\n".join(lines)


def read_roads(path: str | Path, crs: object | None = None, layer: str | None = None,
               road_classes: pd.DataFrame | None = None,
               ) -> tuple[gpd.GeoDataFrame, RoadImportReport]:
    """Read road lines and map them to the policy's road classes.

    Parameters
    ----------
    path : str or path
        ``.osm.pbf``, ``.osm`` XML, or a GDAL line layer (GeoJSON, Shapefile, GeoPackage...).
    crs : CRS-like, optional
        CRS of the coordinates when the file does not declare one (a Shapefile without
        ``.prj``). A CRS the file declares wins; the report notes the disagreement.
    layer : str, optional
        Layer of a multi-layer file (GeoPackage); default: the only layer, or ``roads``.
    road_classes : DataFrame, optional
        The policy table ``road_classes`` (columns ``road_class``, ``osm_highway``);
        default: that of the ``default`` policy.

    Returns
    -------
    roads : geopandas.GeoDataFrame
        Columns ``id``, ``road_class``, ``name``, ``source_ref``, ``source_class`` (the raw
        value that was mapped) and LineString geometry, in the source CRS.
    report : RoadImportReport

    Raises
    ------
    NetworkFormatError
        The file is missing, unreadable, or holds no usable road line.
    CRSError
        The layer has no CRS and ``crs`` was not given.
    """
    p = Path(path)
    if not p.exists():
        raise NetworkFormatError(f"{p}: no such road file", field="roads")
    if road_classes is None:
        from .policy import load_policy

        road_classes = load_policy().table("road_classes")
    lookup, osm_tags = _class_lookup(road_classes)
    report = RoadImportReport(source=str(p))
    name = p.name.lower()
    if layer is not None and name.endswith((".pbf", ".osm", ".osm.xml")):
        raise InputError(f"{p}: an OSM file has no layers to choose; --layer applies to GIS "
                         "files such as a GeoPackage", field="layer")
    if name.endswith(".osm.pbf") or name.endswith(".pbf"):
        raw = _read_pbf(p, osm_tags, report)
    elif name.endswith(".osm") or name.endswith(".osm.xml"):
        raw = _read_osm_xml(p, osm_tags, report)
    else:
        raw = _read_ogr(p, layer, crs, lookup, report)
    roads = _finish(raw, lookup, report, p)
    if not name.endswith((".pbf", ".osm", ".osm.xml")):
        # OSM ways share nodes at junctions by construction; other tools' layers often don't.
        _note_unnoded(roads, report)
    report.source_crs = roads.crs.to_string() if roads.crs is not None else ""
    return roads, report


# -- class mapping ----------------------------------------------------------------------
def _class_lookup(table: pd.DataFrame) -> tuple[dict[str, str], set[str]]:
    """Map lower-case class names and OSM tags to road classes."""
    if "road_class" not in table.columns:
        raise NetworkFormatError("policy table road_classes lacks the 'road_class' column",
                                 field="road_classes.road_class")
    lookup: dict[str, str] = {}
    osm_tags: set[str] = set()
    tags = table["osm_highway"] if "osm_highway" in table.columns else [""] * len(table)
    for cls, tag_list in zip(table["road_class"].astype(str), tags, strict=True):
        lookup.setdefault(cls.strip().lower(), cls)
        if isinstance(tag_list, str):
            for tag in tag_list.split("|"):
                tag = tag.strip().lower()
                if tag:
                    lookup.setdefault(tag, cls)
                    osm_tags.add(tag)
    if DEFAULT_CLASS not in set(table["road_class"].astype(str)):
        raise NetworkFormatError(
            f"policy table road_classes lacks the default class '{DEFAULT_CLASS}' that "
            "unmatched roads get", field="road_classes.road_class")
    return lookup, osm_tags


def _map_value(value: object, lookup: dict[str, str]) -> str | None:
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    if v in lookup:
        return lookup[v]
    # Multi-valued OSM tags ("primary;secondary") and Geofabrik's "track_grade3" spellings.
    v = re.sub(r"_grade\d+$", "", v.split(";")[0].strip())
    return lookup.get(v)


# -- readers ------------------------------------------------------------------------------
def _read_pbf(p: Path, osm_tags: set[str], report: RoadImportReport) -> gpd.GeoDataFrame:
    try:
        import pyrosm
    except ImportError as exc:  # an optional extra (gridscheme[osm])
        raise NetworkFormatError(f"{p}: reading .osm.pbf needs pyrosm (pip install "
                                 "'gridscheme[osm]')", field="roads") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ways = pyrosm.OSM(str(p)).get_network(network_type="all")
    except Exception as exc:
        raise NetworkFormatError(f"{p}: cannot be read as an OSM PBF extract ({_short(exc)})",
                                 field="roads") from exc
    if ways is None or len(ways) == 0:
        raise NetworkFormatError(f"{p}: the extract holds no highway ways", field="roads")
    hw = ways["highway"].astype(str).str.strip().str.lower()
    ways = ways.assign(
        source_ref="osm:way/" + ways["id"].astype(str),
        source_class=hw,
        name=ways["name"] if "name" in ways.columns else "",
    )
    return _keep_osm_tags(ways, osm_tags, report, p)


def _keep_osm_tags(ways: gpd.GeoDataFrame, osm_tags: set[str], report: RoadImportReport,
                   p: Path) -> gpd.GeoDataFrame:
    first = ways["source_class"].str.split(";").str[0].str.strip()
    keep = ways["source_class"].isin(osm_tags) | first.isin(osm_tags)
    if not keep.all():
        dropped = ways.loc[~keep, "source_class"].value_counts()
        listed = ", ".join(f"{k} {v}" for k, v in dropped.head(12).items())
        report.notes.append(f"dropped {int((~keep).sum())} OSM way(s) whose highway value no "
                            f"road class lists: {listed}")
    ways = ways.loc[keep]
    if len(ways) == 0:
        raise NetworkFormatError(f"{p}: no way carries a highway value listed in the policy's "
                                 f"road_classes ({', '.join(sorted(osm_tags))})", field="roads")
    return gpd.GeoDataFrame(ways[["source_ref", "source_class", "name"]],
                            geometry=ways.geometry.values, crs=ways.crs or WGS84)


def _read_osm_xml(p: Path, osm_tags: set[str], report: RoadImportReport) -> gpd.GeoDataFrame:
    """Stream nodes and highway ways out of an OSM XML file."""
    node_xy: dict[str, tuple[float, float]] = {}
    ways: list[tuple[str, list[str], dict[str, str]]] = []
    try:
        for _, el in ET.iterparse(str(p), events=("end",)):
            if el.tag == "node":
                node_xy[el.get("id", "")] = (float(el.get("lon", "nan")),
                                             float(el.get("lat", "nan")))
                el.clear()
            elif el.tag == "way":
                tags = {t.get("k", ""): t.get("v", "") for t in el.iter("tag")}
                if "highway" in tags and tags.get("area") != "yes":
                    ways.append((el.get("id", ""), [n.get("ref", "") for n in el.iter("nd")],
                                 tags))
                el.clear()
            elif el.tag == "relation":
                el.clear()
    except (ET.ParseError, ValueError) as exc:
        raise NetworkFormatError(f"{p}: not valid OSM XML ({_short(exc)})", field="roads") from exc
    geoms: list[shapely.LineString] = []
    refs: list[str] = []
    classes: list[str] = []
    names: list[str] = []
    n_cut = 0
    for wid, nds, tags in ways:
        runs: list[list[tuple[float, float]]] = [[]]
        for ref in nds:
            xy = node_xy.get(ref)
            if xy is None:
                runs.append([])
            else:
                runs[-1].append(xy)
        kept = [r for r in runs if len(r) >= 2]
        if len(runs) > 1:
            n_cut += 1
        for r in kept:
            geoms.append(shapely.LineString(r))
            refs.append(f"osm:way/{wid}")
            classes.append(tags["highway"].strip().lower())
            names.append(tags.get("name", ""))
    if n_cut:
        report.notes.append(f"{n_cut} way(s) reference nodes missing from the file (a clipped "
                            "extract); kept their parts between missing nodes")
    if not geoms:
        raise NetworkFormatError(f"{p}: the file holds no highway way with two known nodes",
                                 field="roads")
    ways_df = gpd.GeoDataFrame({"source_ref": refs, "source_class": classes, "name": names},
                               geometry=geoms, crs=WGS84)
    return _keep_osm_tags(ways_df, osm_tags, report, p)


def _read_ogr(p: Path, layer: str | None, crs: object | None, lookup: dict[str, str],
              report: RoadImportReport) -> gpd.GeoDataFrame:
    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(p)]
    except Exception as exc:
        raise NetworkFormatError(f"{p}: cannot be read as a GIS layer ({_short(exc)}); road "
                                 "files are .osm.pbf, .osm, GeoJSON, Shapefile or GeoPackage",
                                 field="roads") from exc
    if layer is None and len(layers) > 1:
        if "roads" not in layers:
            raise NetworkFormatError(f"{p} holds several layers ({', '.join(layers)}); name the "
                                     "road layer (--layer NAME)", field="layer")
        layer = "roads"
    if layer is not None and layer not in layers:
        raise NetworkFormatError(f"{p}: no layer {layer!r}; layers: {', '.join(layers)}",
                                 field="layer")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = pyogrio.read_dataframe(p, layer=layer)
    except Exception as exc:
        raise NetworkFormatError(f"{p}: layer cannot be read ({_short(exc)})",
                                 field="roads") from exc
    if not isinstance(t, gpd.GeoDataFrame):
        raise NetworkFormatError(f"{p}: the layer has no geometry; roads are line features",
                                 field="roads")
    t = _settle_crs(t, p, crs, report)
    cols = {str(c).lower(): c for c in t.columns if c != t.geometry.name}
    source_class = pd.Series([""] * len(t), index=t.index, dtype=object)
    best, best_hits = None, 0
    for cand in CLASS_COLUMNS:
        if cand in cols:
            values = t[cols[cand]]
            hits = int(values.map(lambda v: _map_value(v, lookup) is not None).sum())
            if best is None or hits > best_hits:
                best, best_hits = cols[cand], hits
    if best is None:
        report.has_class_column = False
        report.notes.append(f"no road class column (looked for {', '.join(CLASS_COLUMNS)}); "
                            f"every line gets the default class '{DEFAULT_CLASS}'")
    else:
        source_class = t[best].map(lambda v: "" if v is None or v is pd.NA or
                                   (isinstance(v, float) and np.isnan(v)) else str(v))
        report.notes.append(f"road classes read from column '{best}'")
    id_col = next((cols[c] for c in ID_COLUMNS if c in cols), None)
    ref = (t[id_col].map(_ref_str) if id_col is not None
           else pd.Series(np.arange(len(t)).astype(str), index=t.index))
    name_col = cols.get("name")
    names = t[name_col].fillna("").astype(str) if name_col is not None else ""
    return gpd.GeoDataFrame({"source_ref": ref.values, "source_class": source_class.values,
                             "name": names if isinstance(names, str) else names.values},
                            geometry=t.geometry.values, crs=t.crs)


def _settle_crs(t: gpd.GeoDataFrame, p: Path, crs: object | None,
                report: RoadImportReport) -> gpd.GeoDataFrame:
    given = parse_crs(crs, "--crs") if crs is not None else None
    if t.crs is not None and is_undefined(t.crs):
        if given is None:
            raise CRSError(f"{p}: the road layer declares an undefined CRS ({t.crs.name!r}); "
                           "pass --crs (e.g. --crs EPSG:4326, EPSG:4490 or a projected code)",
                           field="roads.crs")
        report.notes.append(f"the layer declares an undefined CRS; using --crs {given.to_string()}")
        return t.set_crs(given, allow_override=True)
    if t.crs is None:
        if p.suffix.lower() in (".geojson", ".json", ".geojsonl", ".geojsons"):
            # RFC 7946: GeoJSON coordinates are WGS 84 longitude/latitude.
            report.notes.append("GeoJSON without a crs member: EPSG:4326 (RFC 7946)")
            return t.set_crs(given or WGS84)
        if given is None:
            raise CRSError(
                f"{p}: the road layer has no coordinate reference system"
                + (" (the .prj file beside the .shp is missing)" if p.suffix.lower() == ".shp"
                   else "")
                + "; add a .prj (or a CRS in the file) or pass --crs (e.g. --crs EPSG:4326, "
                "EPSG:4490 or a projected code)", field="roads.crs")
        report.notes.append(f"the layer declares no CRS; using --crs {given.to_string()}")
        return t.set_crs(given)
    if given is not None and not CRS.from_user_input(t.crs).equals(given):
        report.notes.append(f"the file declares {CRS.from_user_input(t.crs).to_string()}; kept "
                            f"it and ignored --crs {given.to_string()}")
    return t


def _finish(raw: gpd.GeoDataFrame, lookup: dict[str, str], report: RoadImportReport,
            p: Path) -> gpd.GeoDataFrame:
    """Explode to LineStrings, drop non-lines and empties, map classes, number ids."""
    geoms = shapely.force_2d(np.asarray(raw.geometry.values, dtype=object))
    n_null = int((shapely.is_missing(geoms) | shapely.is_empty(geoms)).sum())
    parts, row = shapely.get_parts(geoms, return_index=True)
    types = shapely.get_type_id(parts)
    is_line = np.isin(types, _LINE_TYPES)
    if not is_line.all():
        found = Counter(shapely.get_type_id(parts[~is_line]).tolist())
        names = {0: "Point", 3: "Polygon", 4: "MultiPoint"}
        listed = ", ".join(f"{names.get(k, k)} {v}" for k, v in found.items())
        if not is_line.any():
            raise NetworkFormatError(f"{p}: holds no line geometry ({listed}); roads are "
                                     "LineString or MultiLineString features", field="roads")
        report.notes.append(f"dropped {int((~is_line).sum())} non-line part(s): {listed}")
    parts, row = parts[is_line], row[is_line]
    # LinearRings (closed ways read by some drivers) become plain LineStrings.
    parts = shapely.linestrings(shapely.get_coordinates(parts),
                                indices=np.repeat(np.arange(len(parts)),
                                                  shapely.get_num_coordinates(parts)))
    ok = shapely.length(parts) > 0
    if (~ok).any() or n_null:
        report.notes.append(f"dropped {int((~ok).sum()) + n_null} empty or zero-length line(s)")
    parts, row = parts[ok], row[ok]
    if len(parts) == 0:
        raise NetworkFormatError(f"{p}: no road line of non-zero length", field="roads")
    src = raw.iloc[row]
    source_class = src["source_class"].astype(str).to_numpy()
    mapped = pd.Series(source_class).map(lambda v: _map_value(v, lookup))
    default = mapped.isna().to_numpy()
    road_class = mapped.fillna(DEFAULT_CLASS).to_numpy()
    ref = src["source_ref"].astype(str).to_numpy()
    # Ids are the source ids, suffixed where a source feature became several lines.
    dup = pd.Series(ref).duplicated(keep=False).to_numpy()
    part_no = pd.Series(ref).groupby(ref).cumcount().to_numpy()
    ids = np.where(dup, pd.Series(ref).str.cat(part_no.astype(str), sep="#").to_numpy(), ref)
    if pd.Series(ids).duplicated().any():  # a source id already carrying '#k': number anew
        ids = np.array([f"road{i}" for i in range(len(ids))], dtype=object)
    out = gpd.GeoDataFrame({
        "id": ids,
        "road_class": road_class,
        "name": src["name"].fillna("").astype(str).to_numpy(),
        "source_ref": ref,
        "source_class": source_class,
    }, geometry=parts, crs=raw.crs)
    report.n_lines = len(out)
    report.n_default_class = int(default.sum())
    report.class_counts = {str(k): int(v) for k, v in
                           out["road_class"].value_counts().sort_index().items()}
    if report.n_default_class and report.has_class_column:
        unmatched = Counter(source_class[default].tolist())
        listed = ", ".join(f"{k or '(empty)'} {v}" for k, v in unmatched.most_common(12))
        report.notes.append(f"unmatched class values: {listed}")
    return out


def _note_unnoded(roads: gpd.GeoDataFrame, report: RoadImportReport) -> None:
    """Report pairs of line segments that cross or touch without a shared vertex.

    Vertices are snapped as the road graph snaps them (``road_snap_grid_m``); candidate pairs
    come from an STRtree of the segments' boxes and are tested with orientation signs in
    numpy: about 0.5 s per 100,000 segments, paid once at import.
    """
    from .policy import load_policy

    coords, part = shapely.get_coordinates(roads.geometry.values, return_index=True)
    if len(coords) < 4:
        return
    geographic = roads.crs is not None and CRS.from_user_input(roads.crs).is_geographic
    cell = load_policy().param("road_snap_grid_m")
    if geographic:
        cell /= 111_320.0  # metres per degree of latitude; longitude cells are only smaller
    q = np.round(coords / cell).astype(np.int64)
    q -= q.min(axis=0)
    _, vid = np.unique(q[:, 0] * (int(q[:, 1].max()) + 1) + q[:, 1], return_inverse=True)
    vid = vid.ravel()
    same = part[1:] == part[:-1]
    a, b = vid[:-1][same], vid[1:][same]
    pa, pb = coords[:-1][same], coords[1:][same]
    nz = a != b
    a, b, pa, pb = a[nz], b[nz], pa[nz], pb[nz]
    if len(a) < 2:
        return
    segs = shapely.linestrings(np.stack([pa, pb], axis=1))
    i, j = shapely.STRtree(segs).query(segs)
    keep = (i < j) & (a[i] != a[j]) & (a[i] != b[j]) & (b[i] != a[j]) & (b[i] != b[j])
    i, j = i[keep], j[keep]

    def side(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        # Sign of r against the line p->q; within half a cell of the line counts as on it.
        d = q - p
        cross = d[:, 0] * (r[:, 1] - p[:, 1]) - d[:, 1] * (r[:, 0] - p[:, 0])
        return np.where(np.abs(cross) <= 0.5 * cell * np.hypot(d[:, 0], d[:, 1]), 0,
                        np.sign(cross))

    s1, s2 = side(pa[j], pb[j], pa[i]), side(pa[j], pb[j], pb[i])
    s3, s4 = side(pa[i], pb[i], pa[j]), side(pa[i], pb[i], pb[j])
    # Collinear pairs (all signs zero) overlap, since their boxes do.
    loose = (s1 * s2 <= 0) & (s3 * s4 <= 0)
    if loose.any():
        k = int(np.flatnonzero(loose)[0])
        x, y = shapely.get_coordinates(shapely.point_on_surface(
            shapely.intersection(segs[i[k]], segs[j[k]])))[0]
        report.notes.append(
            f"{int(loose.sum())} pair(s) of line segments cross or meet without a shared vertex "
            f"(first at {x:.7g}, {y:.7g}): the road graph joins lines only at shared "
            "vertices, so routes cannot turn there; if these are junctions, split the lines "
            "there (e.g. GRASS v.clean tool=break) and import again")


def _ref_str(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
