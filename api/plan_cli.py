"""``gridscheme plan`` and ``gridscheme demo``: one application from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEMO_NETWORK = Path(__file__).resolve().parent.parent / "grid_models" / "demo" / "demo_city_S.gpkg"


def add_plan_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``gridscheme plan``."""
    p.add_argument("--network", required=True, help="NET.gpkg or GeoJSON folder")
    p.add_argument("--lon", type=float, help="longitude (EPSG:4326, or EPSG:4490 with --crs)")
    p.add_argument("--lat", type=float, help="latitude")
    p.add_argument("--crs", default=None, choices=["EPSG:4326", "EPSG:4490"],
                   help="CRS of --lon/--lat (default EPSG:4326)")
    p.add_argument("--kva", type=float, help="requested transformer capacity (kVA)")
    p.add_argument("--tier", default=None,
                   help="特级|一级|二级|临时|普通 (or special/first/...; default 普通)")
    p.add_argument("--industry", default=None,
                   help="industry class (see 'gridscheme forecast industries'; default others)")
    p.add_argument("--name", default=None, help="customer name (default 客户 / Customer by --lang)")
    p.add_argument("--application", help="application JSON file (instead of the flags above)")
    p.add_argument("--policy", default="default", help="policy profile name, folder or YAML")
    p.add_argument("--top", type=int, default=None,
                   help="alternatives to return, 1-50 (default: the policy's topk_default)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--map", help="write an HTML map of the schemes here (offline, one file)")
    p.add_argument("--preview3d", help="write an HTML 3D preview of the schemes here")
    p.add_argument("--audience", default="customer", choices=["customer", "designer"],
                   help="map for the customer (only its own schemes) or a designer (also the "
                        "feeders involved and rejected candidates)")
    p.add_argument("--basemap", default="none",
                   help="none (roads only) | osm[:URL] | xyz:URL | xyz-gcj02:URL | "
                        "tianditu:KEY | gaode | tiles:FOLDER")
    p.add_argument("--lang", default="zh", choices=["zh", "en"])
    p.add_argument("--no-cache", action="store_true",
                   help="read, validate and compile the network afresh (default: reuse the "
                        "validated compiled view cached by the file's content hash)")


#: flags that describe the application (and so conflict with --application)
APPLICATION_FLAGS = ("lon", "lat", "kva", "crs", "tier", "industry", "name")


def _application(args: argparse.Namespace) -> dict:
    from api.inputs import read_json_object
    from grid_models.errors import ApplicationError

    given = [f for f in APPLICATION_FLAGS if getattr(args, f, None) is not None]
    if args.application:
        if given:
            raise ApplicationError(
                "--application and --" + ", --".join(given) + " were both given: the file holds "
                "the whole application; put those values in it, or drop --application",
                field="application")
        return read_json_object(args.application, "--application", "an application")
    missing = [f for f in ("lon", "lat", "kva") if getattr(args, f) is None]
    if missing:
        raise ApplicationError(f"missing --{', --'.join(missing)} (or give --application FILE)",
                               field=missing[0])
    name = args.name or ("Customer" if getattr(args, "lang", "zh") == "en" else "客户")
    return {"customer_name": name, "lon": args.lon, "lat": args.lat,
            "crs": args.crs or "EPSG:4326", "requested_kva": args.kva,
            "tier": args.tier or "普通", "industry": args.industry or "others"}


def _check_flags(args: argparse.Namespace) -> None:
    """Refuse what would otherwise be bent silently, before any work is done."""
    from api.inputs import output_file
    from grid_models.errors import InputError

    if args.top is not None and not 1 <= args.top <= 50:
        raise InputError(f"--top {args.top}: give a whole number from 1 to 50", field="--top")
    for flag in ("map", "preview3d"):
        if getattr(args, flag, None):
            output_file(getattr(args, flag), f"--{flag}")


def run_plan(args: argparse.Namespace) -> int:
    """Plan one application and print the ranked table or JSON."""
    from grid_models.cache import load_compiled
    from grid_models.policy import load_policy
    from scheme_engine.engine import Planner

    _check_flags(args)
    app = _application(args)
    views = bool(getattr(args, "map", None) or getattr(args, "preview3d", None))
    if views:
        from viz.maps import parse_basemap

        parse_basemap(getattr(args, "basemap", "none"))  # refuse a bad flag before planning
    policy = load_policy(args.policy)
    entry = load_compiled(args.network, policy, use_cache=not args.no_cache)
    planner = Planner(entry.compiled, policy)
    result = planner.plan(app, top_k=args.top)
    doc = result.model_dump(mode="json")
    if views:
        # maps draw the streets (and a designer's feeders) from the element tables
        from grid_models.io import read_network

        write_views(doc, read_network(args.network), args)
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=1))
    else:
        print(render_table(doc, args.lang))
        if args.map:
            print(("地图: " if args.lang == "zh" else "map: ") + args.map)
        if args.preview3d:
            print(("三维预览: " if args.lang == "zh" else "3D preview: ") + args.preview3d)
    return 0


def write_views(doc: dict, net, args: argparse.Namespace) -> None:
    """``--map`` and ``--preview3d``: roads from the network; feeders for a designer map."""
    if not (getattr(args, "map", None) or getattr(args, "preview3d", None)):
        return
    from viz.maps import parse_basemap, write_scheme_map
    from viz.network_layers import feeders_geojson, roads_geojson
    from viz.preview3d import write_preview3d

    basemap = parse_basemap(getattr(args, "basemap", "none"))
    roads = roads_geojson(net, doc)
    if args.map:
        extra = {}
        if getattr(args, "audience", "customer") == "designer":
            extra["feeders"] = feeders_geojson(net, doc)
        write_scheme_map(doc, args.map, args.lang, audience=getattr(args, "audience", "customer"),
                         basemap=basemap, roads=roads, **extra)
    if args.preview3d:
        write_preview3d(doc, args.preview3d, args.lang, roads=roads)


MODE_LABEL = {"single": ("单电源", "single source"), "dual_circuit": ("双回路", "dual circuit"),
              "dual_source": ("双电源", "dual source")}
KIND_LABEL = {"busbar": ("变电站新出间隔", "substation bay"), "rmu": ("环网柜", "RMU bay"),
              "switching_station": ("开闭所", "switching stn"), "tap": ("T接", "T-tap"),
              "existing": ("原接入点", "present conn."), "station": ("配电站", "MV/LV station")}
ROUTE_LABEL = {"street": ("沿道路", "street"), "shortcut": ("直连", "shortcut"),
               "fallback": ("直线估算", "straight*")}
REMEDY_LABEL = {"load_transfer": ("负荷转供", "load transfer"), "new_feeder": ("新出专线", "new feeder"),
                "new_substation": ("新建变电站", "new substation")}


def _w(text: str) -> int:
    """Display width: CJK characters take two terminal columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cell(text: object, width: int, right: bool = False) -> str:
    t = str(text)
    pad = " " * max(width - _w(t), 0)
    return pad + t if right else t + pad


def render_table(doc: dict, lang: str = "zh") -> str:
    """The ranked table shown to designers, in one language, columns aligned for CJK."""
    zh = lang == "zh"
    k = 0 if zh else 1
    cols = [("名次", "rank", 4, True), ("可行", "ok", 4, False), ("电压kV", "kV", 6, True),
            ("方式", "mode", 13, False), ("接入点", "connection", 28, False),
            ("路径m", "route_m", 8, True), ("路径", "route", 9, False),
            ("导线", "conductor", 14, False), ("压降%", "drop%", 6, True),
            ("负载率后", "load_after", 10, True), ("总投资万元", "cost_1e4CNY", 11, True),
            ("全流程工作日", "process_days", 13, True)]

    def row(values: list[object]) -> str:
        return " ".join(_cell(v, c[2], c[3]) for v, c in zip(values, cols, strict=True)).rstrip()

    dd = doc["design_demand"]
    lines = [f"{'设计需量' if zh else 'design demand'}: {dd['p_kw']:.0f} kW "
             f"(cos φ {dd['power_factor']:.2f}) — {dd['basis_zh' if zh else 'basis_en']}"]
    ct = doc.get("customer_transformers")
    if ct and ct.get("recommended"):
        rec = ct["recommended"]
        line = (f"{'变压器配置建议' if zh else 'customer transformers'}: {rec['config']} kVA, "
                f"{'核定容量' if zh else 'approved capacity'} {ct['approved_kva']:g} kVA")
        if ct.get("differs") and ct.get("reasons"):
            line += ("（" if zh else " (") + ("；" if zh else "; ").join(
                r["zh" if zh else "en"] for r in ct["reasons"]) + ("）" if zh else ")")
        lines.append(line)
    pu = doc.get("point_used")
    if pu and pu.get("source") != "point":
        lines.append(f"{'客户位置' if zh else 'customer location'}: {pu['lon']:.6f}, {pu['lat']:.6f} "
                     f"({pu['source']})" + ("" if not pu.get("notes") else " — " + "; ".join(pu["notes"])))
    lines.append(row([c[k] for c in cols]))
    marked = False
    for s in doc["schemes"]:
        cs = s["circuits"] or [None]
        d = s.get("duration_workdays") or {}
        for j, c in enumerate(cs):
            ok = ("是" if s["feasible"] else "否") if zh else ("yes" if s["feasible"] else "no")
            first = j == 0
            head = [s["rank"], ok, f"{s['voltage_kv']:g}",
                    MODE_LABEL.get(s["supply_mode"], (s["supply_mode"],) * 2)[k]] if first \
                else ["", "", "", ""]
            if c is None:
                rem = (s.get("remedy") or {}).get("type", "-")
                lines.append(row([*head, REMEDY_LABEL.get(rem, (rem, rem))[k], "", "", "", "", "",
                                  f"{s['cost_cny']['total'] / 1e4:.1f}", ""]))
                continue
            conn = c["connection"]
            kind = KIND_LABEL.get(conn["kind"], (conn["kind"],) * 2)[k]
            rc = ROUTE_LABEL.get(c.get("route_class", "street"), ("?", "?"))[k]
            days = ""
            if first and d.get("total_with_works") is not None:
                days = f"{d['total_with_works']:.0f}/{d.get('whole_process_target') or 0:.0f}"
                if not d.get("within_target", True):
                    days += "!"
            thermal = ((c.get("short_circuit") or {}).get("thermal") or {})
            mark = "†" if thermal.get("sized_by_thermal_withstand") else ""
            marked |= bool(mark)
            lines.append(row([*head, f"{kind} {conn['point_id']}",
                              f"{c['route_length_m']['total']:.0f}", rc, c["conductor"]["type"] + mark,
                              f"{c['voltage_drop_pct']:.2f}", f"{c['feeder_load_rate_after']:.2f}",
                              f"{s['cost_cny']['total'] / 1e4:.1f}" if first else "", days]))
        cap = s.get("capacity")
        if cap:
            lines.append("     " + (f"最大可接入 {cap['max_kva']:,.0f} kVA（受“{cap['label_zh']}”限制）"
                                    if zh else f"largest capacity here {cap['max_kva']:,.0f} kVA "
                                    f"(limited by {cap['label_en']})"))
        lines.append("     " + s["explanation"]["zh" if zh else "en"])
    if marked:
        lines.append("  † 导线截面由短路热稳定决定（非载流量）" if zh else
                     "  † conductor sized by short-circuit thermal withstand, not ampacity")
    for r in doc.get("rejected", [])[:5]:
        lines.append(f"  × {r['point_id']}: {r['label_zh' if zh else 'label_en']} "
                     f"{r['value']:.3g} / {r['limit']:.3g}")
    if any(c.get("route_class") == "fallback" for s in doc["schemes"] for c in s["circuits"]):
        lines.append("  " + ("直线估算：无道路可达，按直线×绕行系数估算，需现场勘测" if zh else
                             "straight*: no street path; straight line x detour factor, survey "
                             "the route on site"))
    if any(not (s.get("duration_workdays") or {}).get("within_target", True)
           for s in doc["schemes"]):
        lines.append("  " + ("!：全流程预计超出目标工作日" if zh else
                             "!: the whole process is expected to exceed its target"))
    lines.append(f"{'网络版本' if zh else 'network'} {doc['network_version']} "
                 f"{'策略' if zh else 'policy'} {doc['policy_id']} {doc['solve_ms']:.1f} ms")
    return "\n".join(lines)


def run_demo(args: argparse.Namespace) -> int:
    """Build, validate and summarise the demo city, then plan sample applications."""
    from tqdm import tqdm  # (here, not at the top: a plan shows no progress bar)

    from grid_models.io import read_network
    from grid_models.validation import validate
    from scheme_engine.engine import Planner
    from viz.scheme_map import write_scheme_map

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = tqdm(total=4, desc="demo", file=sys.stderr)
    net = read_network(DEMO_NETWORK)
    steps.update()
    report = validate(net)
    steps.update()
    planner = Planner(net)
    steps.update()
    s = net.summary()
    print(f"demo network {s['name']} ({s['version_id']}): {s['n_substations']} substations, "
          f"{s['n_feeders']} feeders, {s['n_nodes']} grid nodes, {s['segments_km']} km of line, "
          f"{s['n_roads']} road lines; validation: {len(report.errors)} errors, "
          f"{len(report.warnings)} warnings")
    b = net.geographic_bounds()
    nodes = net.nodes
    # A sample application next to a dist. transformer near the middle of the city.
    mid = nodes.geometry.distance(nodes.geometry.union_all().centroid).idxmin()
    from grid_models.crs import transformer

    tr = transformer(net.crs, "EPSG:4326")
    x, y = nodes.geometry.iloc[mid].x + 120, nodes.geometry.iloc[mid].y + 80
    lon, lat = tr.transform(x, y)
    app = {"customer_name": "示范数据中心", "lon": round(lon, 6), "lat": round(lat, 6),
           "requested_kva": 2500, "industry": "data_centre", "tier": "二级"}
    result = planner.plan(app)
    steps.update()
    steps.close()
    doc = result.model_dump(mode="json")
    (out / "demo_plan.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    from viz.network_layers import roads_geojson

    write_scheme_map(doc, out / "demo_map.html", roads=roads_geojson(net, doc))
    print(f"bounds lon {b[0]:.4f}..{b[2]:.4f} lat {b[1]:.4f}..{b[3]:.4f}")
    print(render_table(doc))
    print(f"wrote {out / 'demo_plan.json'} and {out / 'demo_map.html'}")
    return 0


def add_letter_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``gridscheme letter``."""
    p.add_argument("--plan", required=True, help="PLAN.json written by 'gridscheme plan --json'")
    p.add_argument("--scheme", type=int, default=1, help="rank of the scheme (default 1)")
    p.add_argument("--out", required=True, help="folder for the PDF and DOCX")
    p.add_argument("--lang", default="zh", choices=["zh", "en"])
    p.add_argument("--info", help="JSON with customer fields the application lacks: account_no, "
                                  "application_id, address, contact_name, contact_phone, "
                                  "sign_date, utility_name")


def _read_json(path: str, field: str) -> dict:
    from grid_models.errors import InputError

    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"--{field} {path}: cannot read it as UTF-8 JSON ({exc})",
                         field=field) from None
    if not isinstance(doc, dict):
        raise InputError(f"--{field} {path}: expected a JSON object", field=field)
    return doc


def run_letter(args: argparse.Namespace) -> int:
    """Write the reply letter (PDF + DOCX) of one scheme of a saved plan."""
    from grid_models.errors import InputError
    from viz.letter import write_letter

    doc = _read_json(args.plan, "plan")
    if not isinstance(doc.get("schemes"), list):
        raise InputError(f"--plan {args.plan}: not a plan (no 'schemes' list); write one with "
                         "'gridscheme plan ... --json > PLAN.json'", field="plan")
    info = _read_json(args.info, "info") if args.info else None
    files = write_letter(doc, args.scheme, args.out, args.lang, info=info)
    for kind, path in files.items():
        print(f"{kind}: {path}")
    return 0
