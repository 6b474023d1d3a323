"""Deterministic synthetic city generator: a street grid with obstacles and a 10 kV network.

``synth_city(scale, seed)`` builds a :class:`~grid_models.network.Network` around Wuhai
(lon 106.82, lat 39.67) in EPSG:4545 (CGCS2000 3° Gauss-Krüger, CM 108°E). Every tunable number
lives in ``data/synth_profiles.csv`` (one row per parameter, one column per scale, with
``references``); conductor data come from ``data/standard_types`` and road classes from the
default policy. The same scale and seed always give the same ``version_id``.

What is built, stage by stage:

1. **Streets.** A rectilinear lattice: an urban core of 100-200 m blocks (arterials every N
   lines and on the core's edge, secondary every M lines, local streets between) and a sparse
   ring of rural roads (overhead area) around it; arterials run on as rural roads. One road
   line per street edge between intersections, with survey vertices every few metres and a
   slight bow, so lines share vertices exactly at intersections.
2. **Obstacles.** A meandering north-south river (forbidden): streets crossing it are dropped
   except on through rows (arterial and rural rows), which become bridges, and the river
   polygon is cut at each bridge so the bridge roads stay clear of every forbidden piece. A
   railway corridor (costly) and a protected zone (forbidden, its inner streets dropped).
   Only the largest connected piece of the street network is kept.
3. **Substations.** 110/10 kV in the core, 35/10 kV in the rural ring, each sitting just off an
   intersection, with 10 kV bus sections (one busbar node each), some 110 kV ones with a 35 kV
   bus section, some with every bay in use.
4. **Feeder plan.** The street network is split among substations by shortest road distance.
   Feeders end at the boundary between two service areas and are tied there in groups:
   cable single rings (2 feeders, 1 tie), cable dual rings (2 + 2 feeders), overhead 1/2/3-tie
   groups (2/3/4 feeders, every pair tied) and a few overhead radials.
5. **Feeders.** Each trunk follows the shortest street path from its substation. Cable trunks
   get an RMU every 200-400 m (sometimes a switching station), branches down side streets from
   corner RMUs, and transformers in the blocks; overhead trunks get a pole every <= 50 m,
   branches down side roads and pole-mounted transformer taps. Segment geometry follows the
   street vertices, so geometry length equals ``length_km``. Ties are cables/lines along the
   streets between feeder ends with an open tie switch; outlet breakers and overhead
   sectionalisers are closed switches on segments. Python only plans each feeder (its street
   path and the arc lengths of its nodes); geometry, transformers and bays are then made for
   all feeders at once with numpy, because numpy's per-call overhead (~5-10 µs here) times
   thousands of feeders was what made L slow.
6. **Loads.** Feeder load rates are drawn (most 20-60 %, some hot, a few new) and capped so
   the linear voltage drop stays under the profile's limit; the main transformer rating is
   chosen to suit the load, and a bus section loaded beyond its share of the units (sections
   >= units) has its ordinary feeders scaled down. Loads are spread over the transformers.
7. **Load history and curves.** Annual peaks with growth and noise (with a gap and an outlier
   on purpose), and typical-day 15-minute curves for some feeders.
8. **Supply areas.** The urban core is supply-area class B, the rural ring around it D.

Sizes with seed 1 on a 2-core machine (time includes ``Network.from_layers``):
S 2.2k grid nodes, 3.5k road vertices, ~1 s; M 19k nodes, 43k road vertices, ~3.5 s;
L 98k nodes, 309k road vertices, ~17-20 s, peak RSS ~0.47 GB.

The bundled demo ``grid_models/demo/demo_city_S.gpkg`` is ``synth_city("S", seed=1)`` written
with :func:`grid_models.io.write_network`; ``tests/test_synth.py`` fails when it is stale
(regenerate it after changing the generator or the S column of the profile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from .errors import InputError, UnknownTypeError
from .forest import depths as forest_depths
from .forest import levels as forest_levels
from .network import Network
from .policy import DATA_DIR, load_policy, load_standard_types

PROFILE_PATH = DATA_DIR / "synth_profiles.csv"
SCALES = ("S", "M", "L")
CRS = "EPSG:4545"
ROAD_CLASSES = ("arterial", "secondary", "local", "rural")
ARTERIAL, SECONDARY, LOCAL, RURAL = range(4)
# Lattice directions: 0 east, 1 north, 2 west, 3 south (opposite = (d + 2) % 4).
_EPS_M = 0.05  # a street vertex this close to a node is dropped from the segment geometry

KIND_NAMES = ("busbar", "rmu", "switching_station", "pole", "dist_transformer")
K_BUSBAR, K_RMU, K_SWST, K_POLE, K_DT = range(5)
_STAGES = ("streets and obstacles", "substations", "feeder plan", "feeders", "loads",
           "history and curves", "tables")


# --------------------------------------------------------------------------------------------
# profile
@dataclass(frozen=True)
class SynthProfile:
    """Generator parameters of one scale, read from ``data/synth_profiles.csv``.

    Attributes
    ----------
    scale : str
        ``"S"``, ``"M"`` or ``"L"``.
    values : dict of str to str
        Raw cell text by parameter key; lists are ``|``-separated.
    """

    scale: str
    values: dict[str, str]

    def _raw(self, key: str) -> str:
        try:
            return self.values[key]
        except KeyError:
            raise UnknownTypeError(f"synth profile has no parameter {key!r}; known: "
                                   f"{', '.join(sorted(self.values))}", field=key) from None

    def num(self, key: str) -> float:
        """A scalar parameter as float."""
        return float(self._raw(key))

    def count(self, key: str) -> int:
        """A scalar parameter as int."""
        return int(round(float(self._raw(key))))

    def nums(self, key: str) -> np.ndarray:
        """A ``|``-separated list parameter as a float array."""
        return np.array([float(v) for v in self._raw(key).split("|")])

    def texts(self, key: str) -> list[str]:
        """A ``|``-separated list parameter as strings."""
        return [v.strip() for v in self._raw(key).split("|")]

    def text(self, key: str) -> str:
        """A parameter as text."""
        return self._raw(key).strip()


def load_synth_profile(scale: str, path: str | Path | None = None) -> SynthProfile:
    """Read the generator parameters of ``scale``.

    Parameters
    ----------
    scale : str
        One of ``"S"``, ``"M"``, ``"L"``.
    path : path-like, optional
        Another profile table with the same layout (default: the bundled one).

    Raises
    ------
    UnknownTypeError
        ``scale`` is not a column of the table.
    """
    t = pd.read_csv(path or PROFILE_PATH, dtype=str, keep_default_na=False)
    if "references" not in t.columns:
        raise InputError(f"{path or PROFILE_PATH}: the synth profile needs a 'references' column",
                         field="references")
    if scale not in t.columns or scale in ("key", "unit", "description", "references"):
        raise UnknownTypeError(f"unknown synthetic city scale {scale!r}; valid scales: "
                               f"{', '.join(SCALES)}", field="scale")
    return SynthProfile(scale, dict(zip(t["key"], t[scale], strict=True)))


# --------------------------------------------------------------------------------------------
# streets
@dataclass
class _Streets:
    vxy: np.ndarray  # (nv, 2) intersection coordinates
    vcore: np.ndarray  # bool: inside the urban core
    nbr: np.ndarray  # (nv, 4) neighbour intersection per direction, -1 none
    nedge: np.ndarray  # (nv, 4) edge id per direction, -1 none
    eu: np.ndarray
    ev: np.ndarray
    elen: np.ndarray  # polyline length (m)
    ecls: np.ndarray  # index into ROAD_CLASSES
    ebridge: np.ndarray
    ehoriz: np.ndarray
    eline: np.ndarray  # lattice line number (row for horizontal, column for vertical)
    estart: np.ndarray  # first coordinate of the edge in ``coords``
    ecount: np.ndarray  # coordinates of the edge (both intersections included)
    coords: np.ndarray  # (sum ecount, 2), each edge from eu to ev
    cflag: np.ndarray  # per coordinate: NEAR_NODE bit (close to an obstacle)
    core_box: tuple[float, float, float, float]
    outer_box: tuple[float, float, float, float]
    obstacles: list[tuple[str, str, str, object]] = field(default_factory=list)  # kind, crossing, name, geom
    obstacle_union: object = None

    @property
    def n_road_vertices(self) -> int:
        """Unique road vertices (intersections plus survey vertices)."""
        return int(len(self.vxy) + (self.ecount - 2).sum())

    def path_xy(self, verts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates along a path of intersections.

        Returns the coordinates, the index of each intersection in them and the coordinates'
        obstacle flags.
        """
        verts = np.asarray(verts, dtype=np.int64)
        a, b = verts[:-1], verts[1:]
        d = np.argmax(self.nbr[a] == b[:, None], axis=1)
        e = self.nedge[a, d]
        fwd = self.eu[e] == a
        cnt = self.ecount[e]
        off = np.repeat(np.cumsum(cnt) - cnt, cnt)
        k = np.arange(int(cnt.sum())) - off
        st = np.repeat(self.estart[e], cnt)
        idx = np.where(np.repeat(fwd, cnt), st + k, st + np.repeat(cnt, cnt) - 1 - k)
        idx = idx[(k > 0) | (off == 0)]
        vpos = np.concatenate([[0], np.cumsum(cnt - 1)])
        return self.coords[idx], vpos, self.cflag[idx]


def _lines(rng: np.random.Generator, n_core: int, bmin: float, bmax: float, n_rural: int,
           rmin: float, rmax: float) -> tuple[np.ndarray, int, int]:
    core = np.concatenate([[0.0], np.cumsum(rng.uniform(bmin, bmax, n_core))])
    west = -np.cumsum(rng.uniform(rmin, rmax, n_rural))[::-1]
    east = core[-1] + np.cumsum(rng.uniform(rmin, rmax, n_rural))
    lines = np.concatenate([west, core, east]) - core[-1] / 2
    return lines, n_rural, n_rural + n_core


def _line_classes(n: int, c0: int, c1: int, art: int, sec: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(n)
    k = idx - c0
    core = (idx >= c0) & (idx <= c1)
    cls = np.full(n, LOCAL)
    cls[core & (k % sec == 0)] = SECONDARY
    # The core's edge lines are arterials too: a ring road bounds the built-up area.
    cls[core & ((k % art == 0) | (idx == c1))] = ARTERIAL
    through = ~core | (cls == ARTERIAL)
    cls[~core] = RURAL
    return cls, through


def _build_streets(rng: np.random.Generator, P: SynthProfile, origin: tuple[float, float]
                   ) -> _Streets:
    x0, y0 = origin
    X, cx0, cx1 = _lines(rng, P.count("core_blocks_x"), P.num("block_min_m"), P.num("block_max_m"),
                         P.count("rural_lines_per_side"), P.num("rural_spacing_min_m"),
                         P.num("rural_spacing_max_m"))
    Y, cy0, cy1 = _lines(rng, P.count("core_blocks_y"), P.num("block_min_m"), P.num("block_max_m"),
                         P.count("rural_lines_per_side"), P.num("rural_spacing_min_m"),
                         P.num("rural_spacing_max_m"))
    X, Y = X + x0, Y + y0
    nx, ny = len(X), len(Y)
    jit = P.num("intersection_jitter_m")
    gx = X[None, :] + rng.uniform(-jit, jit, (ny, nx))
    gy = Y[:, None] + rng.uniform(-jit, jit, (ny, nx))
    pxy = np.round(np.column_stack([gx.ravel(), gy.ravel()]), 2)  # lattice id = j * nx + i
    art, sec = P.count("arterial_every_blocks"), P.count("secondary_every_blocks")
    clsx, thx = _line_classes(nx, cx0, cx1, art, sec)
    clsy, thy = _line_classes(ny, cy0, cy1, art, sec)

    hj, hi = (a.ravel() for a in np.meshgrid(np.arange(ny), np.arange(nx - 1), indexing="ij"))
    h_core = (hj >= cy0) & (hj <= cy1) & (hi >= cx0) & (hi < cx1)
    vj, vi = (a.ravel() for a in np.meshgrid(np.arange(ny - 1), np.arange(nx), indexing="ij"))
    v_core = (vi >= cx0) & (vi <= cx1) & (vj >= cy0) & (vj < cy1)
    eu = np.concatenate([hj * nx + hi, vj * nx + vi])
    ev = np.concatenate([hj * nx + hi + 1, (vj + 1) * nx + vi])
    ecls = np.concatenate([np.where(h_core, clsy[hj], RURAL), np.where(v_core, clsx[vi], RURAL)])
    through = np.concatenate([thy[hj], thx[vi]])
    present = np.concatenate([h_core, v_core]) | through
    horiz = np.concatenate([np.ones(len(hi), bool), np.zeros(len(vi), bool)])
    eline = np.concatenate([hj, vi])
    edir = np.where(horiz, 0, 1)

    # --- obstacles
    width, height = X[-1] - X[0], Y[-1] - Y[0]
    bow = P.num("road_bow_max_m")
    ys = np.arange(Y[0] - 500, Y[-1] + 500, 20.0)
    phase = rng.uniform(0, 2 * np.pi)
    xr = X[0] + P.num("river_x_frac") * width
    xs = xr + P.num("river_amplitude_m") * np.sin(2 * np.pi * (ys - y0) / P.num("river_wavelength_m")
                                                   + phase)
    river_w = rng.uniform(P.num("river_width_min_m"), P.num("river_width_max_m"))
    river = shapely.buffer(shapely.linestrings(np.column_stack([xs, ys])), river_w / 2,
                           cap_style="flat")
    rail_line = shapely.linestrings([(X[0] - 200, Y[0] + P.num("rail_y_frac_west") * height),
                                     (X[-1] + 200, Y[0] + P.num("rail_y_frac_east") * height)])
    rail = shapely.buffer(rail_line, P.num("rail_width_m") / 2, cap_style="flat")
    zone = _protected_zone(rng, P, X, Y, (cx0, cx1, cy0, cy1), river, rail)

    chords = shapely.linestrings(np.stack([pxy[eu], pxy[ev]], axis=1))
    river_b = shapely.buffer(river, bow + 1)
    zone_b = shapely.buffer(zone, bow + 1)
    shapely.prepare(river_b)
    shapely.prepare(zone_b)
    hit_river = shapely.intersects(river_b, chords)
    bridge = hit_river & horiz & through
    keep = present & ~(hit_river & ~bridge) & ~shapely.intersects(zone_b, chords)

    # --- keep the largest connected piece
    ke = np.flatnonzero(keep)
    g = coo_matrix((np.ones(len(ke)), (eu[ke], ev[ke])), shape=(nx * ny, nx * ny))
    _, lab = connected_components(g, directed=False)
    deg = np.bincount(np.concatenate([eu[ke], ev[ke]]), minlength=nx * ny)
    sizes = np.bincount(lab[deg > 0])
    big = int(np.argmax(sizes))
    ke = ke[lab[eu[ke]] == big]
    used = np.zeros(nx * ny, bool)
    used[eu[ke]] = used[ev[ke]] = True
    new_id = np.full(nx * ny, -1, np.int64)
    new_id[used] = np.arange(int(used.sum()))
    lat = np.flatnonzero(used)
    vxy = pxy[lat]
    li, lj = lat % nx, lat // nx
    vcore = (li >= cx0) & (li <= cx1) & (lj >= cy0) & (lj <= cy1)
    eu, ev = new_id[eu[ke]], new_id[ev[ke]]
    ecls, bridge, horiz, eline, edir = ecls[ke], bridge[ke], horiz[ke], eline[ke], edir[ke]
    ne, nv = len(eu), len(vxy)
    nbr = np.full((nv, 4), -1, np.int64)
    nedge = np.full((nv, 4), -1, np.int64)
    nbr[eu, edir], nedge[eu, edir] = ev, np.arange(ne)
    nbr[ev, edir + 2], nedge[ev, edir + 2] = eu, np.arange(ne)

    # --- street vertices: every few metres with a slight bow (bridges straight)
    pu, pv = vxy[eu], vxy[ev]
    chord = np.hypot(*(pv - pu).T)
    n_int = np.maximum(np.round(chord / P.num("road_vertex_spacing_m")).astype(np.int64) - 1, 0)
    amp = np.where(bridge, 0.0, rng.uniform(-bow, bow, ne))
    cnt = n_int + 2
    e_of = np.repeat(np.arange(ne), cnt)
    k = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    t = k / np.repeat(n_int + 1, cnt)
    dvec = (pv - pu) / chord[:, None]
    normal = np.column_stack([-dvec[:, 1], dvec[:, 0]])
    coords = (pu[e_of] + t[:, None] * (pv - pu)[e_of]
              + normal[e_of] * (amp[e_of] * np.sin(np.pi * t))[:, None])
    coords = np.round(coords, 2)
    coords[k == 0] = pu[e_of[k == 0]]
    coords[k == cnt[e_of] - 1] = pv[e_of[k == cnt[e_of] - 1]]
    piece = np.hypot(*np.diff(coords, axis=0).T)
    same = e_of[1:] == e_of[:-1]
    elen = np.bincount(e_of[1:][same], weights=piece[same], minlength=ne)
    estart = np.cumsum(cnt) - cnt

    # --- river cut at every bridge so that bridges cross no forbidden piece
    gap = P.num("bridge_gap_half_width_m")
    if bridge.any():
        cuts = shapely.union_all(shapely.buffer(
            shapely.linestrings(np.stack([pu[bridge], pv[bridge]], axis=1)), gap))
        pieces = shapely.get_parts(shapely.difference(river, cuts))
    else:
        pieces = np.array([river])
    pieces = [p for p in pieces if shapely.area(p) > 10.0]
    obstacles: list[tuple[str, str, str, object]] = [
        ("river", "forbidden", f"River reach {i + 1}", p) for i, p in enumerate(pieces)]
    obstacles.append(("rail", "costly", "Railway", rail))
    obstacles.append(("protected", "forbidden", "Protected zone", zone))
    # obstacle flags of every street coordinate: a node on the street between two coordinates
    # (at most 1.5 spacings apart) is near an obstacle only if one of them is flagged
    union = shapely.union_all([river, rail, zone])
    slack = 0.75 * 1.5 * P.num("road_vertex_spacing_m") + 1.0
    g = shapely.buffer(union, P.num("node_clearance_m") + slack)
    shapely.prepare(g)
    cflag = np.where(shapely.contains_xy(g, coords[:, 0], coords[:, 1]), NEAR_NODE, 0).astype(np.int8)
    core_box = (float(X[cx0]), float(Y[cy0]), float(X[cx1]), float(Y[cy1]))
    outer_box = (float(X[0]), float(Y[0]), float(X[-1]), float(Y[-1]))
    return _Streets(vxy=vxy, vcore=vcore, nbr=nbr, nedge=nedge, eu=eu, ev=ev, elen=elen,
                    ecls=ecls, ebridge=bridge, ehoriz=horiz, eline=eline, estart=estart,
                    ecount=cnt, coords=coords, cflag=cflag, core_box=core_box,
                    outer_box=outer_box, obstacles=obstacles, obstacle_union=union)


def _protected_zone(rng: np.random.Generator, P: SynthProfile, X: np.ndarray, Y: np.ndarray,
                    core: tuple[int, int, int, int], river: object, rail: object) -> object:
    cx0, cx1, cy0, cy1 = core
    k = P.count("protected_blocks")
    inset = P.num("protected_inset_m")
    best, best_d = None, -1.0
    for _ in range(300):  # rejection sampling of a handful of candidates, not network elements
        i0 = int(rng.integers(cx0 + 1, max(cx0 + 2, cx1 - k)))
        j0 = int(rng.integers(cy0 + 1, max(cy0 + 2, cy1 - k)))
        rect = shapely.box(X[i0] + inset, Y[j0] + inset, X[i0 + k] - inset, Y[j0 + k] - inset)
        d = min(float(shapely.distance(rect, river)) / P.num("protected_river_clearance_m"),
                float(shapely.distance(rect, rail)) / P.num("protected_rail_clearance_m"))
        if d > best_d:
            best, best_d = rect, d
        if d >= 1.0:
            break
    return best


# --------------------------------------------------------------------------------------------
# substations
@dataclass
class _Subs:
    acc: np.ndarray  # access intersection
    xy: np.ndarray  # yard point
    hv: np.ndarray
    n_tr: np.ndarray
    full: np.ndarray
    rural: np.ndarray
    sec_sub: np.ndarray  # per bus section
    sec_vn: np.ndarray
    sec_bays: np.ndarray
    sec_target: np.ndarray
    sec_max: np.ndarray
    sec_used: np.ndarray
    sec_no: np.ndarray  # 1-based number within the substation
    sec_xy: np.ndarray
    sub_secs: list[np.ndarray]  # 10 kV sections of each substation

    def cap(self, s: int) -> int:
        c = self.sub_secs[s]
        return int((self.sec_max[c] - self.sec_used[c]).sum())

    def rem(self, s: int) -> int:
        c = self.sub_secs[s]
        return int((self.sec_target[c] - self.sec_used[c]).sum())

    def take(self, rng: np.random.Generator, s: int, k: int) -> list[int]:
        """Occupy k bays of substation s, on distinct sections where possible."""
        out: list[int] = []
        for _ in range(k):
            c = self.sub_secs[s]
            room = self.sec_max[c] - self.sec_used[c]
            pref = (self.sec_target[c] - self.sec_used[c]).astype(float) + rng.uniform(0, 0.1, len(c))
            pref[np.isin(c, out)] -= 100.0  # distinct bus sections first (dual rings, N-1)
            pref[room <= 0] = -np.inf
            j = int(c[int(np.argmax(pref))])
            self.sec_used[j] += 1
            out.append(j)
        return out


def _place_substations(rng: np.random.Generator, P: SynthProfile, R: _Streets) -> _Subs:
    n110, n35 = P.count("n_substations_110kv"), P.count("n_substations_35kv")
    deg = (R.nbr >= 0).sum(axis=1)
    bridge_v = np.zeros(len(R.vxy), bool)
    bridge_v[R.eu[R.ebridge]] = bridge_v[R.ev[R.ebridge]] = True
    block = shapely.buffer(R.obstacle_union, P.num("substation_clearance_m"))
    shapely.prepare(block)
    ok = (deg >= 3) & ~bridge_v & ~shapely.contains_xy(block, R.vxy[:, 0], R.vxy[:, 1])
    cx0, cy0, cx1, cy1 = R.core_box
    ox0, oy0, ox1, oy1 = R.outer_box
    chosen: list[int] = []

    def pick(target: np.ndarray, cand: np.ndarray, min_sep: float) -> int:
        tree = cKDTree(R.vxy[cand])
        _, loc = tree.query(target, k=min(64, len(cand)))
        loc = np.atleast_1d(loc)
        for j in loc:
            v = int(cand[j])
            if v in chosen:
                continue
            if not chosen or np.min(np.hypot(*(R.vxy[chosen] - R.vxy[v]).T)) >= min_sep:
                return v
        return int(next(cand[j] for j in loc if int(cand[j]) not in chosen))

    core_c = np.flatnonzero(ok & R.vcore)
    cj, sep = P.num("substation_cell_jitter"), P.num("substation_min_separation")
    if n110:
        r = max(1, int(math.floor(math.sqrt(n110))))
        c = int(math.ceil(n110 / r))
        cells = np.sort(rng.permutation(r * c)[:n110])
        cw, ch = (cx1 - cx0) / c, (cy1 - cy0) / r
        for cell in cells:
            tx = cx0 + (cell % c + 0.5 + rng.uniform(-cj, cj)) * cw
            ty = cy0 + (cell // c + 0.5 + rng.uniform(-cj, cj)) * ch
            chosen.append(pick(np.array([tx, ty]), core_c, sep * min(cw, ch)))
    mg = P.num("substation_rural_margin_m")
    far = ((R.vxy[:, 0] < cx0 - mg) | (R.vxy[:, 0] > cx1 + mg)
           | (R.vxy[:, 1] < cy0 - mg) | (R.vxy[:, 1] > cy1 + mg))
    rural_c = np.flatnonzero(ok & far)
    if n35:
        phase = rng.uniform(0, 2 * np.pi)
        mx, my = (cx0 + cx1) / 2, (cy0 + cy1) / 2
        hx = ((cx1 - cx0) / 2 + (ox1 - ox0) / 2) / 2
        hy = ((cy1 - cy0) / 2 + (oy1 - oy0) / 2) / 2
        for k in range(n35):
            th = phase + 2 * np.pi * k / n35
            cth, sth = math.cos(th), math.sin(th)
            m = max(abs(cth), abs(sth))
            chosen.append(pick(np.array([mx + hx * cth / m, my + hy * sth / m]), rural_c,
                               sep * min(hx, hy) * 2 * math.pi / max(n35, 1)))
    acc = np.array(chosen, dtype=np.int64)
    n = len(acc)
    hv = np.array([110.0] * n110 + [35.0] * n35)

    # yard diagonally off the access intersection, into a block that exists
    off = P.num("substation_offset_m") / math.sqrt(2)
    xy = np.empty((n, 2))
    for s in range(n):
        quads = [(sx, sy) for sx in (1, -1) for sy in (1, -1)
                 if R.nbr[acc[s], 0 if sx > 0 else 2] >= 0 and R.nbr[acc[s], 1 if sy > 0 else 3] >= 0]
        sx, sy = quads[int(rng.integers(len(quads)))] if quads else (1, 1)
        xy[s] = R.vxy[acc[s]] + np.array([sx, sy]) * off
    xy = np.round(xy, 2)

    n_tr = np.where(hv > 100, rng.choice(P.nums("sub110_n_transformers").astype(int), n),
                    P.count("sub35_n_transformers"))
    has35 = np.zeros(n, bool)
    if n110:
        k35 = max(1, int(round(P.num("frac_110kv_with_35kv_bus") * n110)))
        has35[rng.choice(n110, k35, replace=False)] = True
    # bays per 10 kV section first; the full substations are then the 110 kV ones with the
    # fewest bays (64 busy feeders would overload 3 x 50 MVA; a full 35 kV one, 16 feeders on
    # <= 40 MVA, would push its feeders' load rates below the ordinary range)
    sec_bays: list[np.ndarray] = []
    for s in range(n):
        if hv[s] > 100:
            # one bus section per main transformer, or one more (never fewer: each section
            # must have a unit behind it when the bus couplers are open)
            n_tr[s] = min(n_tr[s], P.count("sub110_sections_max"))
            n_sec = int(np.clip(n_tr[s] + rng.integers(0, 2), P.count("sub110_sections_min"),
                                P.count("sub110_sections_max")))
            sec_bays.append(rng.integers(P.count("sub110_bays_min"), P.count("sub110_bays_max") + 1,
                                         n_sec))
        else:
            sec_bays.append(np.full(P.count("sub35_sections"), P.count("sub35_bays")))
    n_full = max(1, int(round(P.num("frac_full_substations") * n)))
    pool = np.arange(n110) if n110 >= n_full else np.arange(n)
    tot = np.array([sec_bays[s].sum() for s in pool]) + rng.uniform(0, 0.5, len(pool))
    full = np.zeros(n, bool)
    full[pool[np.argsort(tot)[:n_full]]] = True
    rows: list[tuple[int, float, int, int, int, int]] = []  # sub, vn, bays, target, max, used
    for s in range(n):
        fmin, fmax = ((P.num("bay_fill_min"), P.num("bay_fill_max")) if hv[s] > 100 else
                      (P.num("bay_fill_35kv_min"), P.num("bay_fill_35kv_max")))
        for b in sec_bays[s]:
            if full[s]:
                rows.append((s, 10.0, int(b), int(b), int(b), 0))
            else:
                tgt = int(np.clip(round(b * rng.uniform(fmin, fmax)), 1, b - 1))
                rows.append((s, 10.0, int(b), tgt, int(b) - 1, 0))
        if has35[s]:
            b = int(rng.integers(P.count("kv35_bays_min"), P.count("kv35_bays_max") + 1))
            spare = 0 if full[s] else min(b, int(rng.integers(P.count("kv35_spare_min"),
                                                              P.count("kv35_spare_max") + 1)))
            # 35 kV customer lines are not modelled: the used bays carry no feeder here.
            rows.append((s, 35.0, b, 0, 0, b - spare))
    arr = np.array(rows, dtype=float)
    sec_sub = arr[:, 0].astype(np.int64)
    sec_no = np.zeros(len(rows), np.int64)
    for s in range(n):
        of_sub = np.flatnonzero(sec_sub == s)
        sec_no[of_sub] = np.arange(1, len(of_sub) + 1)
    sp = P.num("section_spacing_m")
    n_in = np.bincount(sec_sub, minlength=n)
    sec_xy = np.round(xy[sec_sub] + np.column_stack(
        [(sec_no - 1 - (n_in[sec_sub] - 1) / 2) * sp, np.zeros(len(rows))]), 2)
    sec_vn = arr[:, 1]
    sub_secs = [np.flatnonzero((sec_sub == s) & (sec_vn == 10.0)) for s in range(n)]
    return _Subs(acc=acc, xy=xy, hv=hv, n_tr=n_tr.astype(np.int64), full=full,
                 rural=~R.vcore[acc], sec_sub=sec_sub, sec_vn=sec_vn,
                 sec_bays=arr[:, 2].astype(np.int64), sec_target=arr[:, 3].astype(np.int64),
                 sec_max=arr[:, 4].astype(np.int64), sec_used=arr[:, 5].astype(np.int64),
                 sec_no=sec_no, sec_xy=sec_xy, sub_secs=sub_secs)


# --------------------------------------------------------------------------------------------
# feeder plan
@dataclass
class _Plan:
    sub: int
    sec: int
    end: int  # road intersection where the trunk ends
    cable: bool
    mode: str
    shift: float = 0.0  # the end node sits this far before the end intersection


def _plan_feeders(rng: np.random.Generator, P: SynthProfile, R: _Streets, S: _Subs,
                  label: np.ndarray, dist: np.ndarray
                  ) -> tuple[list[_Plan], list[tuple[int, int, np.ndarray]]]:
    nv = len(R.vxy)
    block = shapely.buffer(R.obstacle_union, P.num("end_clearance_m"))
    shapely.prepare(block)
    bridge_v = np.zeros(nv, bool)
    bridge_v[R.eu[R.ebridge]] = bridge_v[R.ev[R.ebridge]] = True
    end_ok = ~shapely.contains_xy(block, R.vxy[:, 0], R.vxy[:, 1]) & ~bridge_v
    end_ok[S.acc] = False
    used = np.zeros(nv, bool)
    d_own = dist[label, np.arange(nv)]

    # boundary edges between service areas, both orientations, split into urban and rural
    # and sorted by the length of the two feeders they would end; picks favour short ones.
    lu, lv = label[R.eu], label[R.ev]
    cand = np.flatnonzero((lu != lv) & end_ok[R.eu] & end_ok[R.ev] & ~R.ebridge)
    cost = d_own[R.eu[cand]] + d_own[R.ev[cand]]
    cand = cand[np.argsort(cost + rng.uniform(0, 1, len(cand)), kind="stable")]
    pools: dict[int, dict[tuple[int, bool], list[tuple[int, int]]]] = {}
    for e in cand:
        a, b, u, v = int(lu[e]), int(lv[e]), int(R.eu[e]), int(R.ev[e])
        ru = bool(R.ecls[e] == RURAL)
        pools.setdefault(a, {}).setdefault((b, ru), []).append((u, v))
        pools.setdefault(b, {}).setdefault((a, ru), []).append((v, u))
    inner: dict[int, list[tuple[int, int]]] = {}
    radial: dict[int, list[int]] = {}
    for s in range(len(S.acc)):
        area = label == s
        if not area.any():
            continue
        q = np.quantile(d_own[area], P.num("inner_tie_min_quantile"))
        ie = np.flatnonzero((lu == s) & (lv == s) & end_ok[R.eu] & end_ok[R.ev] & ~R.ebridge
                            & (d_own[R.eu] >= q))
        ie = ie[rng.permutation(len(ie))]
        inner[s] = [(int(R.eu[e]), int(R.ev[e])) for e in ie]
        rv = np.flatnonzero(area & end_ok & (d_own >= P.num("radial_end_min_frac") * d_own[area].max()))
        radial[s] = [int(v) for v in rv[rng.permutation(len(rv))]]

    bias = P.num("tie_place_bias")

    def pop(lst: list[tuple[int, int]], near: bool = False) -> tuple[int, int] | None:
        while lst:
            # near: a front-biased pick from a list sorted by feeder length
            i = int(len(lst) * rng.random() ** bias) if near else len(lst) - 1
            u, v = lst.pop(i)
            if not used[u] and not used[v]:
                return u, v
        return None

    def ext(u: int, v: int) -> tuple[int, int]:
        """Intersections continuing the street u -> v straight on beyond u and beyond v."""
        d = int(np.flatnonzero(R.nbr[u] == v)[0])
        a, b = int(R.nbr[u, (d + 2) % 4]), int(R.nbr[v, d])
        ok_a = a >= 0 and end_ok[a] and not used[a]
        ok_b = b >= 0 and end_ok[b] and not used[b]
        return (a if ok_a else -1), (b if ok_b else -1)

    plans: list[_Plan] = []
    ties: list[tuple[int, int, np.ndarray]] = []
    rural_w = np.array([P.num("w_rural_1tie"), P.num("w_rural_2tie"), P.num("w_rural_3tie")])
    p_dual, p_radial = P.num("p_urban_dual_ring"), P.num("p_rural_radial")
    shift = P.num("dual_ring_shift_m")
    p_own_zone = P.num("p_tie_in_own_zone")
    w_floor = P.num("partner_weight_floor")

    def add(s: int, sec: int, end: int, cable: bool, mode: str, sh: float = 0.0) -> int:
        plans.append(_Plan(s, sec, end, cable, mode, sh))
        used[end] = True
        return len(plans) - 1

    def tie_all(members: list[int], chain: list[int]) -> None:
        # every pair of the group is tied, along the street between their end intersections
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                ties.append((members[i], members[j], np.array(chain[i:j + 1])))

    order = list(rng.permutation(np.flatnonzero(S.full))) + \
        list(rng.permutation(np.flatnonzero(~S.full)))
    for s in (int(x) for x in order):
        while True:
            limit = S.rem(s) if S.full[s] else min(S.cap(s), max(S.rem(s), 0))
            if limit <= 0:
                break
            # a few overhead radials from rural substations
            if S.rural[s] and rng.random() < p_radial and radial.get(s):
                v = radial[s].pop()
                if not used[v]:
                    add(s, S.take(rng, s, 1)[0], v, False, "overhead_radial")
                continue
            # partners that still want feeders; drafting others would push them past their
            # targets (and their transformers past their ratings). A full substation takes
            # any partner with a free bay, as its own bays must all be used.
            mine = pools.get(s, {})
            nbrs = sorted({n for (n, _) in mine if S.cap(n) > 0 and S.rem(n) > 0})
            if not nbrs and S.full[s]:
                nbrs = sorted({n for (n, _) in mine if S.cap(n) > 0})
            edge = None
            own_rural = bool(S.rural[s]) if rng.random() < p_own_zone else not S.rural[s]
            while nbrs and edge is None:
                w = np.array([max(S.rem(n), 0) + w_floor for n in nbrs])
                n = nbrs[int(rng.choice(len(nbrs), p=w / w.sum()))]
                edge = (pop(mine.get((n, own_rural), []), True)
                        or pop(mine.get((n, not own_rural), []), True))
                if edge is None:
                    nbrs.remove(n)
            cap_s = S.rem(s) if S.full[s] else S.cap(s)
            if edge is None:
                # no neighbour left: a pair inside the own area, or a radial
                e2 = pop(inner.get(s, [])) if cap_s >= 2 else None
                if e2 is not None:
                    u, v = e2
                    k = int(np.flatnonzero(R.nbr[u] == v)[0])
                    rural = R.ecls[R.nedge[u, k]] == RURAL
                    mode = "overhead_multi_1tie" if rural else "cable_single_ring"
                    a, b = S.take(rng, s, 2)
                    fa = add(s, a, u, not rural, mode)
                    fb = add(s, b, v, not rural, mode)
                    ties.append((fa, fb, np.array([u, v])))
                    continue
                pool = radial.get(s, [])
                while pool and used[pool[-1]]:
                    pool.pop()
                if pool:
                    v = pool.pop()
                elif S.full[s]:
                    # every bay of a full substation must be used: reuse a far intersection
                    area = np.flatnonzero(label == s)
                    v = int(area[np.argmax(d_own[area])])
                else:
                    break
                add(s, S.take(rng, s, 1)[0], v, False, "overhead_radial")
                continue
            u, v = edge
            k = int(np.flatnonzero(R.nbr[u] == v)[0])
            rural = R.ecls[R.nedge[u, k]] == RURAL
            cap_n = S.cap(n)
            if not rural:
                dual_ok = (cap_s >= 2 and cap_n >= 2 and len(S.sub_secs[s]) >= 2
                           and len(S.sub_secs[n]) >= 2)
                if dual_ok and rng.random() < p_dual:
                    a1, a2 = S.take(rng, s, 2)
                    b1, b2 = S.take(rng, n, 2)
                    fa1 = add(s, a1, u, True, "cable_dual_ring")
                    fa2 = add(s, a2, u, True, "cable_dual_ring", shift)
                    fb1 = add(n, b1, v, True, "cable_dual_ring")
                    fb2 = add(n, b2, v, True, "cable_dual_ring", shift)
                    ties.append((fa1, fb1, np.array([u, v])))
                    ties.append((fa2, fb2, np.array([u, v])))
                else:
                    fa = add(s, S.take(rng, s, 1)[0], u, True, "cable_single_ring")
                    fb = add(n, S.take(rng, n, 1)[0], v, True, "cable_single_ring")
                    ties.append((fa, fb, np.array([u, v])))
                continue
            kind = int(rng.choice(3, p=rural_w / rural_w.sum()))
            pa, nb = ext(u, v)
            if kind == 2 and not (pa >= 0 and nb >= 0 and cap_s >= 2 and cap_n >= 2):
                kind = 1
            if kind == 1:
                if pa >= 0 and cap_s >= 2:
                    chain, subs_ = [pa, u, v], [s, s, n]
                elif nb >= 0 and cap_n >= 2:
                    chain, subs_ = [u, v, nb], [s, n, n]
                else:
                    kind = 0
            if kind == 0:
                chain, subs_ = [u, v], [s, n]
            elif kind == 2:
                chain, subs_ = [pa, u, v, nb], [s, s, n, n]
            mode = ("overhead_multi_1tie", "overhead_multi_2tie", "overhead_multi_3tie")[kind]
            secs = {x: S.take(rng, x, subs_.count(x)) for x in dict.fromkeys(subs_)}
            members = [add(x, secs[x].pop(0), c, False, mode) for x, c in zip(subs_, chain, strict=True)]
            tie_all(members, chain)
    return plans, ties


# --------------------------------------------------------------------------------------------
# feeders: per-feeder Python plans paths and node positions along them (arc lengths); the
# geometry, transformer drops and bays are then made once for all feeders, vectorised.
NEAR_NODE = 1  # bit of _Streets.cflag


def _arc(xy: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])


def _flag_at(s: np.ndarray, flag: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Obstacle flags of positions ``t`` on a polyline: either neighbouring vertex's flags."""
    i = np.clip(np.searchsorted(s, t, "right") - 1, 0, len(s) - 2)
    return flag[i] | flag[i + 1]


def _poles(A: np.ndarray, sp: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pole arcs: one at every intersection arc ``A`` and evenly <= ``sp`` apart between."""
    dA = np.diff(A)
    n = np.maximum(1, np.ceil(dA / sp - 1e-9)).astype(np.int64)
    k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    arcs = np.concatenate([np.repeat(A[:-1], n) + k * np.repeat(dA / n, n), [A[-1]]])
    is_v = np.concatenate([k == 0, [True]])
    vidx = np.concatenate([np.repeat(np.arange(len(dA)), n), [len(dA)]])
    return arcs, is_v, vidx


def _walk(pred: np.ndarray, src: int, dst: int) -> np.ndarray:
    out = [dst]
    cur = dst
    while cur != src:  # one step per path intersection
        cur = int(pred[cur])
        if cur < 0:
            raise RuntimeError(f"street intersection {dst} not reached from {src}")
        out.append(cur)
    return np.array(out[::-1], dtype=np.int64)


class _Planner:
    """Plans feeder trunks and branches as jobs: a polyline, node arcs along it, a root node.

    Node and segment indices are handed out while planning (so that branches can name their
    root and switches their segment); coordinates come later from :meth:`realise`.
    """

    def __init__(self, rng: np.random.Generator, P: SynthProfile, R: _Streets, S: _Subs,
                 std_names: list[str]) -> None:
        self.rng, self.P, self.R, self.S = rng, P, R, S
        self.std = {n: i for i, n in enumerate(std_names)}
        self.drop_block = shapely.buffer(R.obstacle_union, P.num("drop_clearance_m"))
        shapely.prepare(self.drop_block)
        nb = len(S.sec_sub)
        self.n_nodes, self.n_segs = nb, 0
        self.kind: list[np.ndarray] = [np.full(nb, K_BUSBAR, np.int8)]
        self.feeder: list[np.ndarray] = [np.full(nb, -1, np.int64)]
        self.dropok: list[np.ndarray] = [np.zeros(nb, bool)]
        self.force: list[np.ndarray] = [np.zeros(nb, bool)]
        self.jobs: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int]] = []
        self.switches: list[tuple[int, int, int, str, bool]] = []

    def job(self, xy: np.ndarray, s: np.ndarray, t: np.ndarray, root: int, fi: int, std: int,
            kind: np.ndarray | int, dropok: np.ndarray, force: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
        n = len(t) - 1
        nodes = np.arange(self.n_nodes, self.n_nodes + n)
        segs = np.arange(self.n_segs, self.n_segs + n)
        self.n_nodes += n
        self.n_segs += n
        self.kind.append(np.broadcast_to(np.asarray(kind, np.int8), (n,)).copy())
        self.feeder.append(np.full(n, fi, np.int64))
        self.dropok.append(np.asarray(dropok, bool))
        self.force.append(np.zeros(n, bool) if force is None else force)
        self.jobs.append((xy, s, t, root, fi, std))
        return nodes, segs

    def trunk(self, f: _Plan, path: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        pxy, vpos, pfl = self.R.path_xy(path)
        xy = np.vstack([self.S.sec_xy[f.sec], pxy])
        return xy, _arc(xy), np.concatenate([[0], pfl]).astype(np.int8), vpos + 1

    def side_walk(self, path: np.ndarray, k: int, on_trunk: set[int], taken: set[int],
                  max_m: float) -> list[int] | None:
        """Intersections of a branch leaving the trunk at ``path[k]`` down a side street."""
        R, rng = self.R, self.rng
        v, prev = int(path[k]), int(path[k - 1])
        d_in = int(np.flatnonzero(R.nbr[prev] == v)[0])
        dirs = [d for d in ((d_in + 1) % 4, (d_in + 3) % 4)
                if R.nbr[v, d] >= 0 and int(R.nbr[v, d]) not in on_trunk]
        if not dirs:
            return None
        d = dirs[int(rng.integers(len(dirs)))]
        verts, cur, length = [v], v, 0.0
        for _ in range(int(rng.integers(1, self.P.count("branch_edges_max") + 1))):
            nb, e = int(R.nbr[cur, d]), int(R.nedge[cur, d])
            if nb < 0 or nb in on_trunk or nb in taken or R.ebridge[e]:
                break
            if length + R.elen[e] > max_m and len(verts) > 1:
                break
            verts.append(nb)
            length += float(R.elen[e])
            cur = nb
        if len(verts) < 2:
            return None
        taken.update(verts[1:])
        return verts

    def rmu_arcs(self, length: float, end_t: float) -> np.ndarray:
        """RMU positions every 200-400 m along a cable, short of ``end_t``."""
        P = self.P
        rmin, rmax = P.num("rmu_spacing_min_m"), P.num("rmu_spacing_max_m")
        t = np.cumsum(self.rng.uniform(rmin, rmax, int(length // rmin) + 2))
        return t[t < end_t - P.num("rmu_end_gap_min_m")]

    def corners(self, path: np.ndarray, s: np.ndarray, fl: np.ndarray, vpos: np.ndarray,
                end_t: float, p: float, max_m: float) -> dict[int, list[int]]:
        """Intersections of the trunk where a branch leaves, with the branch's intersections."""
        ks = np.arange(2, len(path) - 1)
        ks = ks[(self.rng.random(len(ks)) < p) & (s[vpos[ks]] < end_t - 1.0)
                & ((fl[vpos[ks]] & NEAR_NODE) == 0)]
        on_trunk = set(int(v) for v in path)
        taken: set[int] = set()
        out = {}
        for k in ks:
            w = self.side_walk(path, int(k), on_trunk, taken, max_m)
            if w is not None:
                out[int(k)] = w
        return out

    def cable(self, fi: int, f: _Plan, path: np.ndarray, trunk: str, bb: int) -> int:
        P, rng, R = self.P, self.rng, self.R
        xy, s, fl, vpos = self.trunk(f, path)
        end_t = s[-1] - f.shift
        walks = self.corners(path, s, fl, vpos, end_t - P.num("rmu_end_gap_min_m"),
                             P.num("p_cable_branch_per_corner"), P.num("cable_branch_max_m"))
        corner_t = s[vpos[np.array(sorted(walks), dtype=np.int64)]]
        t = self.rmu_arcs(s[-1], end_t)
        t = t[(_flag_at(s, fl, t) & NEAR_NODE) == 0]
        if len(corner_t) and len(t):
            t = t[np.min(np.abs(t[:, None] - corner_t[None, :]), axis=1) >= P.num("rmu_min_gap_m")]
        t = np.concatenate([np.sort(np.concatenate([t, corner_t])), [end_t]])
        is_corner = np.isin(t, corner_t)
        kind = np.full(len(t), K_RMU, np.int8)
        inner = np.flatnonzero(~is_corner[:-1])
        if len(inner) and rng.random() < P.num("p_switching_station"):
            kind[int(inner[rng.integers(len(inner))])] = K_SWST
        nodes, segs = self.job(xy, s, np.concatenate([[0.0], t]), bb, fi, self.std[trunk], kind,
                               np.ones(len(t), bool))
        self.switches.append((bb, int(nodes[0]), int(segs[0]), "breaker", True))
        b_std = self.std[P.text("cable_branch_type")]
        for root, k in zip(nodes[is_corner], sorted(walks), strict=True):
            bxy, _, bfl = R.path_xy(np.array(walks[k]))
            bs = _arc(bxy)
            bt = np.concatenate([self.rmu_arcs(bs[-1], bs[-1]), [bs[-1]]])
            bf = _flag_at(bs, bfl, bt)
            keep = ((bf & NEAR_NODE) == 0) | (bt == bs[-1])
            self.job(bxy, bs, np.concatenate([[0.0], bt[keep]]), int(root), fi, b_std, K_RMU,
                     np.ones(int(keep.sum()), bool))
        return int(nodes[-1])

    def overhead(self, fi: int, f: _Plan, path: np.ndarray, bb: int, n_ties: int) -> int:
        P, R = self.P, self.R
        sp = P.num("pole_spacing_m")
        xy, s, fl, vpos = self.trunk(f, path)
        arcs, is_v, vidx = _poles(s[vpos], sp)
        af = _flag_at(s, fl, arcs)
        keep = (af & NEAR_NODE) == 0
        keep[-1] = True
        arcs, is_v, vidx, af = arcs[keep], is_v[keep], vidx[keep], af[keep]
        dropok = np.ones(len(arcs), bool)
        dropok[0] = False  # no transformer on the first pole by the substation yard
        nodes, segs = self.job(xy, s, np.concatenate([[0.0], arcs]), bb, fi,
                               self.std[P.text("overhead_trunk_type")], K_POLE, dropok)
        frm = np.concatenate([[bb], nodes[:-1]])
        self.switches.append((bb, int(nodes[0]), int(segs[0]), "breaker", True))
        # sectionalisers split the trunk into one section per tie plus one
        n_sec = n_ties + 1 if n_ties else 2
        for k in range(1, n_sec):
            j = int(round(len(segs) * k / n_sec))
            if 1 <= j < len(segs):
                self.switches.append((int(frm[j]), int(nodes[j]), int(segs[j]), "sectionalizer",
                                      True))
        pole_at = {int(vidx[i]): int(nodes[i]) for i in np.flatnonzero(is_v)}
        walks = self.corners(path, s, fl, vpos, s[-1], P.num("p_branch_per_corner"),
                             P.num("branch_max_m"))
        b_std = self.std[P.text("overhead_branch_type")]
        for k in sorted(walks):
            if k not in pole_at:
                continue
            bxy, bv, bfl = R.path_xy(np.array(walks[k]))
            bs = _arc(bxy)
            barcs, _, _ = _poles(bs[bv], sp)
            bf = _flag_at(bs, bfl, barcs)
            bkeep = (bf & NEAR_NODE) == 0
            bkeep[0] = bkeep[-1] = True
            barcs, bf = barcs[bkeep], bf[bkeep]
            force = np.zeros(len(barcs) - 1, bool)
            force[-1] = True  # a branch exists to feed something at its end
            self.job(bxy, bs, barcs, pole_at[k], fi, b_std, K_POLE, np.ones(len(barcs) - 1, bool),
                     force)
        return int(nodes[-1])

    # -- geometry for every job at once ------------------------------------------------------
    def realise(self, sec_xy: np.ndarray) -> dict[str, Any]:
        # arrays by name, except ``seg_coords``/``seg_counts``: lists of pieces that ``ties``
        # extends and ``_finish_arrays`` concatenates
        P, rng = self.P, self.rng
        xys = [j[0] for j in self.jobs]
        ss = [j[1] for j in self.jobs]
        ts = [j[2] for j in self.jobs]
        nj = len(self.jobs)
        npt = np.array([len(x) for x in xys], np.int64)
        ntt = np.array([len(t) for t in ts], np.int64)
        span = np.array([s[-1] for s in ss]) + 1000.0
        off = np.concatenate([[0.0], np.cumsum(span)[:-1]])
        X = np.vstack(xys)
        Sg = np.concatenate(ss) + np.repeat(off, npt)
        T = np.concatenate(ts) + np.repeat(off, ntt)
        jt = np.repeat(np.arange(nj), ntt)
        kt = np.arange(len(T)) - np.repeat(np.cumsum(ntt) - ntt, ntt)
        first = np.repeat(np.cumsum(ntt - 1) - (ntt - 1), ntt) + len(sec_xy)
        roots = np.array([j[3] for j in self.jobs], np.int64)
        node_t = np.where(kt == 0, roots[jt], first + kt - 1)
        pts = np.round(np.column_stack([np.interp(T, Sg, X[:, 0]), np.interp(T, Sg, X[:, 1])]), 2)
        n_plan = self.n_nodes
        node_xy = np.empty((n_plan, 2))
        node_xy[:len(sec_xy)] = sec_xy
        node_xy[node_t[kt > 0]] = pts[kt > 0]
        # tangent of the street at every node (for the transformers beside it)
        pstart = np.cumsum(npt) - npt
        i = np.clip(np.searchsorted(Sg, T, "right") - 1, pstart[jt], pstart[jt] + npt[jt] - 2)
        d = X[i + 1] - X[i]
        tang = np.zeros((n_plan, 2))
        tang[node_t[kt > 0]] = (d / np.maximum(np.hypot(*d.T), 1e-9)[:, None])[kt > 0]
        # segments between consecutive node arcs of a job, street vertices kept in between
        pair = np.flatnonzero(kt[1:] > 0)
        ta, tb = T[pair], T[pair + 1]
        lo = np.searchsorted(Sg, ta + _EPS_M, "right")
        hi = np.searchsorted(Sg, tb - _EPS_M, "left")
        counts = np.maximum(hi - lo, 0) + 2
        seg = np.repeat(np.arange(len(pair)), counts)
        pos = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        coords = np.empty((len(pos), 2))
        fst, lst = pos == 0, pos == counts[seg] - 1
        mid = ~fst & ~lst
        coords[fst] = node_xy[node_t[pair]]
        coords[lst] = node_xy[node_t[pair + 1]]
        coords[mid] = X[(lo[seg] + pos - 1)[mid]]
        seg_from, seg_to = node_t[pair], node_t[pair + 1]
        seg_feeder = np.repeat(np.array([j[4] for j in self.jobs], np.int64), ntt - 1)
        seg_std = np.repeat(np.array([j[5] for j in self.jobs], np.int64), ntt - 1)

        # transformers: beside RMUs (1-3, a switching station 3-6) and on some poles
        kind = np.concatenate(self.kind)
        feeder = np.concatenate(self.feeder)
        dropok = np.concatenate(self.dropok)
        force = np.concatenate(self.force)
        is_rmu = (kind == K_RMU) | (kind == K_SWST)
        ch, wts = P.nums("dt_per_rmu").astype(np.int64), P.nums("dt_per_rmu_weights")
        n_dt = np.where(is_rmu, rng.choice(ch, n_plan, p=wts / wts.sum()), 0)
        sw = kind == K_SWST
        n_dt[sw] = rng.integers(P.count("switching_station_dt_min"),
                                P.count("switching_station_dt_max") + 1, int(sw.sum()))
        pole = kind == K_POLE
        n_dt[pole] = (force[pole] | (rng.random(int(pole.sum())) < P.num("p_tap_per_pole")))
        n_dt[~dropok] = 0
        side0 = rng.choice([-1.0, 1.0], n_plan)

        def place(n_each: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Transformers beside their roots: alternating sides, spread along the street."""
            root = np.repeat(np.arange(n_plan), n_each)
            j = np.arange(len(root)) - np.repeat(np.cumsum(n_each) - n_each, n_each)
            side = side0[root] * np.where(j % 2 == 0, 1.0, -1.0)
            on_pole = kind[root] == K_POLE
            dist = np.where(on_pole, rng.uniform(P.num("tap_offset_min_m"),
                                                 P.num("tap_offset_max_m"), len(root)),
                            rng.uniform(P.num("dt_offset_min_m"), P.num("dt_offset_max_m"),
                                        len(root)))
            along = (j - (n_each[root] - 1) / 2) * P.num("dt_spread_m")
            tg = tang[root]
            nrm = np.column_stack([-tg[:, 1], tg[:, 0]])
            xy = np.round(node_xy[root] + nrm * (side * dist)[:, None] + tg * along[:, None], 2)
            # a drop never enters an obstacle (exact test, all drops at once)
            ok = ~shapely.intersects(self.drop_block, shapely.linestrings(
                np.stack([node_xy[root], xy], axis=1))) if len(root) else np.zeros(0, bool)
            return root[ok], xy[ok]

        root, dt_xy = place(n_dt)
        need = P.count("min_dt_per_feeder")
        have = np.bincount(feeder[root], minlength=int(feeder.max()) + 1)
        short = np.flatnonzero(have < need)
        if len(short):  # the few feeders short of transformers: try their other nodes
            got = np.zeros(n_plan, bool)
            got[root] = True
            cand = np.isin(feeder, short) & dropok & (is_rmu | (pole & ~got))
            r2, x2 = place(cand.astype(np.int64))
            perm = rng.permutation(len(r2))
            r2, x2 = r2[perm], x2[perm]
            order = np.argsort(feeder[r2], kind="stable")
            r2, x2 = r2[order], x2[order]
            rank = np.arange(len(r2)) - np.searchsorted(feeder[r2], feeder[r2])
            sel = rank < (need - have[feeder[r2]])
            root = np.concatenate([root, r2[sel]])
            dt_xy = np.vstack([dt_xy, x2[sel]])
            o = np.argsort(root, kind="stable")
            root, dt_xy = root[o], dt_xy[o]
        on_pole = kind[root] == K_POLE
        dt = np.arange(n_plan, n_plan + len(root))
        drop_std = np.where(on_pole, self.std[P.text("overhead_tap_type")],
                            self.std[P.text("cable_drop_type")])
        a = {
            "node_xy": np.vstack([node_xy, dt_xy]),
            "node_kind": np.concatenate([kind, np.full(len(dt), K_DT, np.int8)]),
            "node_feeder": np.concatenate([feeder, feeder[root]]),
            "seg_from": np.concatenate([seg_from, root]),
            "seg_to": np.concatenate([seg_to, dt]),
            "seg_feeder": np.concatenate([seg_feeder, feeder[root]]),
            "seg_std": np.concatenate([seg_std, drop_std]),
            "seg_coords": [coords, np.stack([node_xy[root], dt_xy], axis=1).reshape(-1, 2)],
            "seg_counts": [counts, np.full(len(dt), 2, np.int64)],
        }
        return a

    def ties(self, a: dict, plans: list[_Plan], ties: list[tuple[int, int, np.ndarray]],
             f_end: np.ndarray, f_trunk: list[str]) -> None:
        """Tie segments along the streets between feeder ends, cut by open tie switches."""
        R, P = self.R, self.P
        nxy = a["node_xy"]
        n0 = len(a["seg_from"])
        frm, to, std, co, cn = [], [], [], [], []
        for k, (fa, fb, chain) in enumerate(ties):  # one street path per tie
            cxy, _, _ = R.path_xy(chain)
            pa, pb = nxy[f_end[fa]], nxy[f_end[fb]]
            parts = [pa[None]] if np.hypot(*(pa - cxy[0])) > 0.005 else []
            parts.append(cxy)
            if np.hypot(*(pb - cxy[-1])) > 0.005:
                parts.append(pb[None])
            c = np.vstack(parts)
            frm.append(f_end[fa])
            to.append(f_end[fb])
            st = f_trunk[fa] if plans[fa].cable else P.text("overhead_trunk_type")
            std.append(self.std[st])
            co.append(c)
            cn.append(len(c))
            self.switches.append((int(f_end[fa]), int(f_end[fb]), n0 + k, "tie", False))
        if ties:
            a["seg_from"] = np.concatenate([a["seg_from"], np.array(frm, np.int64)])
            a["seg_to"] = np.concatenate([a["seg_to"], np.array(to, np.int64)])
            a["seg_feeder"] = np.concatenate([a["seg_feeder"], np.full(len(ties), -1, np.int64)])
            a["seg_std"] = np.concatenate([a["seg_std"], np.array(std, np.int64)])
            a["seg_coords"].append(np.vstack(co))
            a["seg_counts"].append(np.array(cn, np.int64))
        # bus couplers between neighbouring 10 kV sections, normally open (no segment)
        for sec in self.S.sub_secs:
            for x, y in zip(sec[:-1], sec[1:], strict=True):
                self.switches.append((int(x), int(y), -1, "breaker", False))


def _finish_arrays(a: dict, switches: list[tuple[int, int, int, str, bool]], P: SynthProfile,
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Segment lengths, tree pointers, RMU bays from the finished topology, switch arrays."""
    a["seg_coords"] = np.concatenate(a["seg_coords"])
    a["seg_counts"] = np.concatenate(a["seg_counts"])
    cnt = a["seg_counts"]
    seg_of = np.repeat(np.arange(len(cnt)), cnt)
    piece = np.hypot(*np.diff(a["seg_coords"], axis=0).T)
    same = seg_of[1:] == seg_of[:-1]
    a["seg_len_m"] = np.bincount(seg_of[1:][same], weights=piece[same], minlength=len(cnt))
    n = len(a["node_kind"])
    tree = a["seg_feeder"] >= 0  # tie segments (feeder -1) are cut by their open switch
    parent = np.full(n, -1, np.int64)
    pseg = np.full(n, -1, np.int64)
    parent[a["seg_to"][tree]] = a["seg_from"][tree]
    pseg[a["seg_to"][tree]] = np.flatnonzero(tree)
    a["parent"], a["pseg"] = parent, pseg
    a["sw_a"] = np.array([x[0] for x in switches], np.int64)
    a["sw_b"] = np.array([x[1] for x in switches], np.int64)
    a["sw_seg"] = np.array([x[2] for x in switches], np.int64)
    a["sw_kind"] = np.array([x[3] for x in switches], dtype=object)
    a["sw_closed"] = np.array([x[4] for x in switches], bool)
    # bays in use at an RMU or switching station: every cable on it, the tie cable included
    used = np.bincount(np.concatenate([a["seg_from"], a["seg_to"]]), minlength=n)
    kind = a["node_kind"]
    sw = kind == K_SWST
    lo = np.where(sw, P.count("switching_station_bays_min"), P.count("rmu_bays_min"))
    hi = np.where(sw, P.count("switching_station_bays_max"),
                  np.minimum(P.count("rmu_bays_max"), used + P.count("rmu_spare_max")))
    lo = np.maximum(lo, used)
    total = np.where(hi >= lo, lo + np.floor(rng.random(n) * (np.maximum(hi, lo) - lo + 1)), used)
    has = (kind == K_RMU) | sw
    a["node_bays"] = np.where(has, total, 0).astype(np.int64)
    a["node_spare"] = np.where(has, total - used, 0).astype(np.int64)
    return a


# --------------------------------------------------------------------------------------------
# main entry
def synth_city(scale: str = "S", seed: int = 1, progress: bool = False) -> Network:
    """Generate a deterministic synthetic city network.

    Parameters
    ----------
    scale : {"S", "M", "L"}
        S ≈ 2k grid nodes (the bundled demo), M ≈ 20k, L ≈ 100k grid nodes and ≥ 200k road
        graph vertices. Parameters per scale are in ``grid_models/data/synth_profiles.csv``.
    seed : int
        Random seed (>= 0); the same scale and seed give the same ``version_id``.
    progress : bool
        Show a tqdm progress bar over the generation stages.

    Returns
    -------
    Network
        Held in EPSG:4545, ``meta`` ``name = "synth-<scale>-<seed>"`` and
        ``geometry_source = "surveyed"``.

    Raises
    ------
    UnknownTypeError
        ``scale`` is not S, M or L.
    InputError
        ``seed`` is not a non-negative integer.

    Examples
    --------
    >>> net = synth_city("S", seed=1)  # doctest: +SKIP
    >>> net.meta["name"]  # doctest: +SKIP
    'synth-S-1'
    """
    if not isinstance(scale, str) or scale not in SCALES:
        raise UnknownTypeError(f"unknown synthetic city scale {scale!r}; valid scales: "
                               f"{', '.join(SCALES)}", field="scale")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}", field="seed")
    from tqdm.auto import tqdm

    P = load_synth_profile(scale)
    policy = load_policy("default")
    known = set(policy.table("road_classes")["road_class"])
    missing = [c for c in ROAD_CLASSES if c not in known]
    if missing:
        raise UnknownTypeError(f"road class(es) {missing} are not in the default policy's "
                               f"road_classes table; known: {sorted(known)}", field="road_class")
    std = load_standard_types()
    cond = std.conductors.set_index("name")
    rngs = [np.random.default_rng(s) for s in
            np.random.SeedSequence([int(seed), SCALES.index(scale)]).spawn(len(_STAGES))]
    bar = tqdm(total=len(_STAGES), desc=f"synth {scale}", disable=not progress)

    bar.set_postfix_str(_STAGES[0])

    def step(i: int) -> None:  # stage i is done; show the one that starts
        bar.update(1)
        bar.set_postfix_str(_STAGES[i + 1] if i + 1 < len(_STAGES) else "done")

    tr = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    origin = tr.transform(P.num("center_lon"), P.num("center_lat"))
    R = _build_streets(rngs[0], P, (float(origin[0]), float(origin[1])))
    step(0)
    S = _place_substations(rngs[1], P, R)
    step(1)

    nv = len(R.vxy)
    g = coo_matrix((R.elen, (R.eu, R.ev)), shape=(nv, nv)).tocsr()
    dist, pred = dijkstra(g, directed=False, indices=S.acc, return_predecessors=True)
    label = np.argmin(dist, axis=0)
    plans, ties = _plan_feeders(rngs[2], P, R, S, label, dist)
    step(2)

    # feeders ordered by substation and bus section, so ids read naturally
    order = sorted(range(len(plans)), key=lambda i: (plans[i].sub, plans[i].sec, i))
    pos = np.empty(len(plans), np.int64)
    pos[order] = np.arange(len(plans))
    plans = [plans[i] for i in order]
    ties = [(int(pos[a]), int(pos[b]), c) for a, b, c in ties]
    n_ties = np.bincount(np.array([t[0] for t in ties] + [t[1] for t in ties], dtype=np.int64),
                         minlength=len(plans))

    std_names = list(cond.index)
    rng = rngs[3]
    pl = _Planner(rng, P, R, S, std_names)
    trunk_choice = P.texts("cable_trunk_types")
    tw = P.nums("cable_trunk_weights")
    f_trunk: list[str] = []
    f_end = np.empty(len(plans), np.int64)
    for fi, f in enumerate(plans):  # per feeder: plan its paths; geometry comes in one go
        path = _walk(pred[f.sub], int(S.acc[f.sub]), f.end)
        if f.cable:
            trunk = trunk_choice[int(rng.choice(len(trunk_choice), p=tw / tw.sum()))]
            f_end[fi] = pl.cable(fi, f, path, trunk, f.sec)
        else:
            trunk = P.text("overhead_trunk_type")
            f_end[fi] = pl.overhead(fi, f, path, f.sec, int(n_ties[fi]))
        f_trunk.append(trunk)
    arrays = pl.realise(S.sec_xy)
    pl.ties(arrays, plans, ties, f_end, f_trunk)
    net_arrays = _finish_arrays(arrays, pl.switches, P, rng)
    step(3)

    loads = _loads(rngs[4], P, S, plans, f_trunk, cond, net_arrays)
    step(4)
    hist, curves = _history_curves(rngs[5], P, loads)
    step(5)
    net = _tables(P, scale, seed, R, S, plans, f_trunk, cond, std_names, net_arrays, loads,
                  hist, curves, std.transformers, len(S.sec_sub))
    step(6)
    bar.close()
    return net


# --------------------------------------------------------------------------------------------
# loads
def _linear_drop_pct(parent: np.ndarray, seg_r_ohm: np.ndarray, seg_x_ohm: np.ndarray,
                    pseg: np.ndarray, p_mw: np.ndarray, q_mvar: np.ndarray,
                    vn_kv: float = 10.0) -> np.ndarray:
    """Linear voltage drop ``Σ (P·R + Q·X) / U²`` in % from the root of a radial forest.

    Parameters
    ----------
    parent : ndarray of int
        Parent node of each node (-1 for roots).
    seg_r_ohm, seg_x_ohm : ndarray
        Resistance and reactance of every segment (ohm).
    pseg : ndarray of int
        Segment joining each node to its parent (-1 for roots).
    p_mw, q_mvar : ndarray
        Load at each node.
    vn_kv : float
        Nominal line-to-line voltage.

    Returns
    -------
    ndarray
        Drop at every node in percent of ``vn_kv``.
    """
    levels = forest_levels(forest_depths(parent))
    pd_, qd = p_mw.astype(float).copy(), q_mvar.astype(float).copy()
    for lv in reversed(levels[1:]):
        np.add.at(pd_, parent[lv], pd_[lv])
        np.add.at(qd, parent[lv], qd[lv])
    drop = np.zeros(len(parent))
    for lv in levels[1:]:
        s = pseg[lv]
        drop[lv] = drop[parent[lv]] + (pd_[lv] * seg_r_ohm[s] + qd[lv] * seg_x_ohm[s]) / vn_kv**2 * 100
    return drop


@dataclass
class _Loads:
    p: np.ndarray
    q: np.ndarray
    rated_kva: np.ndarray
    customer: np.ndarray
    f_peak: np.ndarray
    f_pf: np.ndarray
    f_rated_i: np.ndarray
    f_customers: np.ndarray
    s_peak: np.ndarray
    s_pf: np.ndarray
    s_mva: np.ndarray
    vm: np.ndarray


def _loads(rng: np.random.Generator, P: SynthProfile, S: _Subs, plans: list[_Plan],
           f_trunk: list[str], cond: pd.DataFrame, A: dict[str, np.ndarray]) -> _Loads:
    nf, ns = len(plans), len(S.acc)
    node_f = A["node_feeder"]
    is_dt = A["node_kind"] == K_DT
    dt = np.flatnonzero(is_dt)
    w = rng.uniform(P.num("dt_weight_min"), P.num("dt_weight_max"), len(dt))
    wsum = np.bincount(node_f[dt], weights=w, minlength=nf)
    w = w / wsum[node_f[dt]]
    pf = rng.uniform(P.num("feeder_pf_min"), P.num("feeder_pf_max"), nf)
    tan = np.tan(np.arccos(pf))
    rated_i = cond.loc[f_trunk, "max_i_ka"].to_numpy(float)
    vn = 10.0
    cap_mw = math.sqrt(3) * vn * rated_i * pf  # load rate 1.0

    seg_len_km = A["seg_len_m"] / 1000
    r = cond["r_ohm_per_km"].to_numpy(float)[A["seg_std"]] * seg_len_km
    x = cond["x_ohm_per_km"].to_numpy(float)[A["seg_std"]] * seg_len_km
    p1 = np.zeros(len(node_f))
    p1[dt] = w
    q1 = p1 * tan[np.maximum(node_f, 0)]
    d1 = _linear_drop_pct(A["parent"], r, x, A["pseg"], p1, q1, vn)
    drop_per_mw = np.zeros(nf)
    m = node_f >= 0
    np.maximum.at(drop_per_mw, node_f[m], d1[m])
    feasible = P.num("vdrop_max_pct") / np.maximum(drop_per_mw, 1e-9) / cap_mw

    # feeder load rates: ordinary, hot (near / above the N-1 limit) and new (nearly empty)
    n_hot = max(1, int(round(P.num("frac_hot_feeders") * nf)))
    n_new = max(1, int(round(P.num("frac_new_feeders") * nf)))
    klass = np.zeros(nf, np.int8)  # 0 ordinary, 1 hot, 2 new
    hot_pool = np.flatnonzero(feasible >= P.num("hot_rate_max"))
    if len(hot_pool) < n_hot:
        hot_pool = np.argsort(-feasible)[:n_hot]
    hot = rng.choice(hot_pool, min(n_hot, len(hot_pool)), replace=False)
    klass[hot] = 1
    rest = np.flatnonzero(klass == 0)
    klass[rng.choice(rest, min(n_new, len(rest)), replace=False)] = 2
    rate = np.where(klass == 1, rng.uniform(P.num("hot_rate_min"), P.num("hot_rate_max"), nf),
                    np.where(klass == 2, rng.uniform(P.num("new_rate_min"), P.num("new_rate_max"), nf),
                             rng.uniform(P.num("normal_rate_min"), P.num("normal_rate_max"), nf)))
    rate = np.minimum(rate, feasible)
    peak = rate * cap_mw

    # substations: pick the transformer rating nearest a target load rate, then rebalance
    f_sub = np.array([f.sub for f in plans], np.int64)
    coinc = rng.uniform(P.num("coincidence_min"), P.num("coincidence_max"), ns)
    s_pf = rng.uniform(P.num("substation_pf_min"), P.num("substation_pf_max"), ns)
    s_mva = np.zeros(ns)
    lo_r, hi_r = P.num("substation_rate_min"), P.num("substation_rate_max")
    t_lo, t_hi = P.num("substation_rate_target_min"), P.num("substation_rate_target_max")
    margin, min_share = P.num("substation_rate_margin"), P.num("rebalance_min_ordinary_share")
    n_tr = S.n_tr
    f_sec = np.array([f.sec for f in plans], np.int64)
    ordinary_max = np.minimum(P.num("normal_rate_max"), feasible) * cap_mw

    def rescale(fs: np.ndarray, want: float) -> None:
        """Scale the peaks of feeders ``fs`` to sum ``want``, ordinary feeders first so that
        the hot and the new ones keep their character; nobody passes its voltage limit."""
        ordinary = fs[klass[fs] == 0]
        fixed = peak[fs].sum() - peak[ordinary].sum()
        if len(ordinary) and want - fixed > min_share * peak[ordinary].sum():
            peak[ordinary] = np.minimum(peak[ordinary] * (want - fixed) / peak[ordinary].sum(),
                                        ordinary_max[ordinary])
        elif peak[fs].sum() > 0:
            peak[fs] = np.minimum(peak[fs] * want / peak[fs].sum(), feasible[fs] * cap_mw[fs])

    for s in range(ns):  # one pass per substation (tens), vectorised over its feeders
        fs = np.flatnonzero(f_sub == s)
        if not len(fs):
            continue
        opts = P.nums("sub110_transformer_mva" if S.hv[s] > 100 else "sub35_transformer_mva")
        to_mw = s_pf[s] / coinc[s]  # substation MVA -> sum of feeder peaks
        target = rng.uniform(t_lo, t_hi)
        s_mva[s] = opts[int(np.argmin(np.abs(peak[fs].sum() / to_mw / (n_tr[s] * opts) - target)))]
        cap = n_tr[s] * s_mva[s]
        if peak[fs].sum() / to_mw / cap < lo_r + margin:
            rescale(fs, (lo_r + margin) * cap * to_mw)
        # a bus section carries at most its share of the transformers (sections >= units)
        secs = S.sub_secs[s]
        for k in secs:
            fk = fs[f_sec[fs] == k]
            if len(fk) and peak[fk].sum() / to_mw > (hi_r - margin) * cap / len(secs):
                rescale(fk, (hi_r - margin) * cap / len(secs) * to_mw)

    # spread over the transformers
    p = np.zeros(len(node_f))
    p[dt] = np.round(peak[node_f[dt]] * w, 5)
    q = np.round(p * tan[np.maximum(node_f, 0)], 5)
    sizes = P.nums("dt_sizes_kva")
    util = rng.uniform(P.num("dt_util_min"), P.num("dt_util_max"), len(dt))
    need = p[dt] * 1000 / pf[node_f[dt]] / util
    rated = np.zeros(len(node_f))
    rated[dt] = sizes[np.minimum(np.searchsorted(sizes, need), len(sizes) - 1)]
    f_peak = np.bincount(node_f[dt], weights=p[dt], minlength=nf)

    customer = np.full(len(node_f), "", dtype=object)
    n_c = max(1, int(round(P.num("frac_hv_customers") * len(dt))))
    cust_nodes = np.sort(rng.choice(dt, min(n_c, len(dt)), replace=False))
    customer[cust_nodes] = [f"C{i:06d}" for i in range(1, len(cust_nodes) + 1)]
    n_dt_f = np.bincount(node_f[dt], minlength=nf)
    extra = np.floor(rng.random(nf) * (P.num("customers_extra_per_dt_max") * n_dt_f + 1))
    f_customers = np.clip(n_dt_f + extra, P.count("customers_min"), P.count("customers_max"))

    s_peak = np.round(coinc * np.bincount(f_sub, weights=f_peak, minlength=ns), 4)
    vm = np.round(rng.uniform(P.num("vm_pu_min"), P.num("vm_pu_max"), len(S.sec_sub)), 3)
    return _Loads(p=p, q=q, rated_kva=rated, customer=customer, f_peak=f_peak, f_pf=np.round(pf, 3),
                  f_rated_i=rated_i, f_customers=f_customers.astype(np.int64), s_peak=s_peak,
                  s_pf=np.round(s_pf, 3), s_mva=s_mva, vm=vm)


# --------------------------------------------------------------------------------------------
# history and curves
def _history_curves(rng: np.random.Generator, P: SynthProfile, L: _Loads
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    nf, ns = len(L.f_peak), len(L.s_peak)
    ids = [f"F{i + 1:04d}" for i in range(nf)] + [f"SS{i + 1:02d}" for i in range(ns)]
    peak = np.concatenate([L.f_peak, L.s_peak])
    n_el = len(ids)
    ny = rng.integers(P.count("history_years_min"), P.count("history_years_max") + 1, n_el)
    el = np.repeat(np.arange(n_el), ny)
    age = np.repeat(ny, ny) - 1 - (np.arange(len(el)) - np.repeat(np.cumsum(ny) - ny, ny))
    growth = rng.uniform(P.num("history_growth_min"), P.num("history_growth_max"), n_el)
    noise = np.where(age == 0, 0.0, rng.normal(0, P.num("history_noise_sd"), len(el)))
    val = peak[el] / (1 + growth[el]) ** age * (1 + noise)
    keep = np.ones(len(el), bool)
    # on purpose: a missing year and an outlier year in a few series (forecast robustness)
    n_gap = max(1, int(round(P.num("history_frac_gap") * n_el)))
    n_out = max(1, int(round(P.num("history_frac_outlier") * n_el)))
    picks = rng.choice(n_el, min(n_el, n_gap + n_out), replace=False)
    row_start = np.cumsum(ny) - ny
    for j, e in enumerate(picks):  # a handful of series
        k = int(row_start[e] + rng.integers(1, ny[e] - 1))  # never the first nor the last year
        if j < n_gap:
            keep[k] = False
        else:
            val[k] *= P.num("history_outlier_factor")
    year = P.count("history_end_year") - age
    val = np.where(age == 0, peak[el], np.round(val, 4))
    hist = pd.DataFrame({"element_id": np.array(ids, dtype=object)[el][keep],
                         "year": year[keep].astype(np.int64), "peak_mw": val[keep]})

    n_c = max(1, int(round(P.num("curves_frac_feeders") * nf)))
    fsel = np.sort(rng.choice(nf, min(n_c, nf), replace=False))
    step_min = P.count("curve_step_min")
    n_pts = 24 * 60 // step_min
    h = np.arange(n_pts) * step_min / 60

    def bump(key: str) -> np.ndarray:
        base, amp, hour, width = P.nums(key)
        return base + amp * np.exp(-0.5 * ((h - hour) / width) ** 2)

    shapes = np.vstack([bump("curve_industrial"), bump("curve_commercial"),
                        bump("curve_residential_morning") + bump("curve_residential_evening")])
    sw = P.nums("curve_shape_weights")
    kind = rng.choice(3, len(fsel), p=sw / sw.sum())
    prof = shapes[kind] * (1 + rng.normal(0, P.num("curve_noise_sd"), (len(fsel), n_pts)))
    prof = prof / prof.max(axis=1, keepdims=True)
    vals = np.round(prof * L.f_peak[fsel][:, None], 5)
    vals[np.arange(len(fsel)), np.argmax(prof, axis=1)] = L.f_peak[fsel]
    date, tz = P.text("curve_date"), P.text("curve_utc_offset")
    stamps = [f"{date}T{int(m // 60):02d}:{int(m % 60):02d}:00{tz}"
              for m in np.arange(n_pts) * step_min]
    curves = pd.DataFrame({
        "element_id": np.repeat(np.array(ids, dtype=object)[fsel], n_pts),
        "timestamp": np.tile(np.array(stamps, dtype=object), len(fsel)),
        "p_mw": vals.ravel()})
    return hist, curves


# --------------------------------------------------------------------------------------------
# tables
def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _tables(P: SynthProfile, scale: str, seed: int, R: _Streets, S: _Subs, plans: list[_Plan],
            f_trunk: list[str], cond: pd.DataFrame, std_names: list[str],
            A: dict[str, np.ndarray], L: _Loads, hist: pd.DataFrame, curves: pd.DataFrame,
            transformers: pd.DataFrame, n_sec: int) -> Network:
    ns, nf = len(S.acc), len(plans)
    ss_ids = np.array([f"SS{i + 1:02d}" for i in range(ns)], dtype=object)
    sec_ids = np.array([f"{ss_ids[s]}-B{k}" for s, k in zip(S.sec_sub, S.sec_no, strict=True)],
                       dtype=object)
    f_ids = _ids("F", nf, 4)
    vk = np.full(ns, np.nan)
    for s in range(ns):  # look up the main transformer's standard type (tens of substations)
        hit = transformers[np.isclose(transformers["hv_kv"], S.hv[s])
                           & np.isclose(transformers["sn_mva"], L.s_mva[s])]
        if len(hit):
            vk[s] = float(hit["vk_percent"].iloc[0])
    substations = gpd.GeoDataFrame({
        "id": ss_ids, "name": [f"{i} {h:.0f}/10 kV" for i, h in zip(ss_ids, S.hv, strict=True)],
        "hv_kv": S.hv, "n_transformers": S.n_tr, "transformer_mva": L.s_mva,
        "peak_mw": L.s_peak, "power_factor": L.s_pf, "vk_percent": vk, "source_ref": ""},
        geometry=shapely.points(S.xy), crs=CRS)
    bays_used = S.sec_used.copy()
    bus_sections = gpd.GeoDataFrame({
        "id": sec_ids, "substation_id": ss_ids[S.sec_sub], "vn_kv": S.sec_vn,
        "bays_total": S.sec_bays, "bays_used": bays_used, "vm_pu": L.vm, "source_ref": ""},
        geometry=shapely.points(S.sec_xy), crs=CRS)
    f_sec = np.array([f.sec for f in plans], np.int64)
    feeders = pd.DataFrame({
        "id": f_ids,
        "name": [f"{sec_ids[k]} {fid}" for k, fid in zip(f_sec, f_ids, strict=True)],
        "substation_id": ss_ids[S.sec_sub[f_sec]], "bus_section_id": sec_ids[f_sec],
        "vn_kv": 10.0, "conductor_type": f_trunk, "rated_i_ka": L.f_rated_i,
        "peak_mw": L.f_peak, "power_factor": L.f_pf,
        "connection_mode": [f.mode for f in plans], "n_customers": L.f_customers,
        "source_ref": ""})

    n_nodes = len(A["node_kind"])
    node_ids = np.concatenate([np.array([f"{s}-BB" for s in sec_ids], dtype=object),
                               _ids("N", n_nodes - n_sec, 6)])
    nf_idx = A["node_feeder"]
    node_fid = np.where(nf_idx >= 0, f_ids[np.maximum(nf_idx, 0)], "")
    node_bs = np.full(n_nodes, "", dtype=object)
    node_bs[:n_sec] = sec_ids
    node_vn = np.full(n_nodes, 10.0)
    node_vn[:n_sec] = S.sec_vn
    nodes = gpd.GeoDataFrame({
        "id": node_ids, "kind": np.array(KIND_NAMES, dtype=object)[A["node_kind"]],
        "feeder_id": node_fid, "bus_section_id": node_bs, "vn_kv": node_vn,
        "bays_total": A["node_bays"], "spare_bays": A["node_spare"], "p_mw": L.p,
        "q_mvar": L.q, "rated_kva": L.rated_kva, "customer_id": L.customer, "source_ref": ""},
        geometry=shapely.points(A["node_xy"]), crs=CRS)

    n_segs = len(A["seg_from"])
    seg_ids = _ids("L", n_segs, 6)
    st = A["seg_std"]
    c = cond.reset_index()
    sf = A["seg_feeder"]
    segments = gpd.GeoDataFrame({
        "id": seg_ids, "from_node": node_ids[A["seg_from"]], "to_node": node_ids[A["seg_to"]],
        "feeder_id": np.where(sf >= 0, f_ids[np.maximum(sf, 0)], ""),
        "std_type": np.array(std_names, dtype=object)[st],
        "construction": c["construction"].to_numpy(object)[st],
        "length_km": A["seg_len_m"] / 1000,
        "r_ohm_per_km": c["r_ohm_per_km"].to_numpy(float)[st],
        "x_ohm_per_km": c["x_ohm_per_km"].to_numpy(float)[st],
        "c_nf_per_km": c["c_nf_per_km"].to_numpy(float)[st],
        "max_i_ka": c["max_i_ka"].to_numpy(float)[st], "in_service": True, "source_ref": ""},
        geometry=shapely.linestrings(A["seg_coords"],
                                     indices=np.repeat(np.arange(n_segs), A["seg_counts"])),
        crs=CRS)

    n_sw = len(A["sw_a"])
    switches = gpd.GeoDataFrame({
        "id": _ids("SW", n_sw, 5), "node_a": node_ids[A["sw_a"]], "node_b": node_ids[A["sw_b"]],
        "segment_id": np.where(A["sw_seg"] >= 0, seg_ids[np.maximum(A["sw_seg"], 0)], ""),
        "kind": A["sw_kind"], "closed": A["sw_closed"], "source_ref": ""},
        geometry=shapely.points(A["node_xy"][A["sw_a"]]), crs=CRS)

    ne = len(R.eu)
    line_tag = np.where(R.ehoriz, "E-W", "N-S")
    roads = gpd.GeoDataFrame({
        "id": _ids("R", ne, 6), "road_class": np.array(ROAD_CLASSES, dtype=object)[R.ecls],
        "name": [f"{t} road {k}" for t, k in zip(line_tag, R.eline, strict=True)],
        "source_ref": ""},
        geometry=shapely.linestrings(R.coords, indices=np.repeat(np.arange(ne), R.ecount)),
        crs=CRS)
    ob = R.obstacles
    obstacles = gpd.GeoDataFrame({
        "id": _ids("OB", len(ob), 2), "kind": [o[0] for o in ob], "crossing": [o[1] for o in ob],
        "crossing_cost_cny": np.nan, "name": [o[2] for o in ob]},
        geometry=[o[3] for o in ob], crs=CRS)
    # Supply-area classes (供电区域): the urban core is class B, the overhead ring around it D
    # (a rural area), padded so that customers just outside the streets fall inside too.
    cx0, cy0, cx1, cy1 = R.core_box
    ox0, oy0, ox1, oy1 = R.outer_box
    pad = 1000.0
    core = shapely.box(cx0, cy0, cx1, cy1)
    ring = shapely.difference(shapely.box(ox0 - pad, oy0 - pad, ox1 + pad, oy1 + pad), core)
    supply_areas = gpd.GeoDataFrame({
        "id": ["SA1", "SA2"], "class": ["B", "D"], "name": ["urban core", "rural ring"],
        "source_ref": ""}, geometry=[core, ring], crs=CRS)
    layers = {"substations": substations, "bus_sections": bus_sections, "feeders": feeders,
              "nodes": nodes, "segments": segments, "switches": switches, "roads": roads,
              "obstacles": obstacles, "supply_areas": supply_areas, "load_history": hist,
              "load_curves": curves}
    meta = {"name": f"synth-{scale}-{seed}", "geometry_source": "surveyed",
            "generator": "grid_models.synth", "scale": scale, "seed": str(seed),
            "road_vertices": str(R.n_road_vertices)}
    return Network.from_layers(layers, crs=CRS, meta=meta)
