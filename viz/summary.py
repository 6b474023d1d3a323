"""Defensive reading of a ``PlanResult`` document for display.

The map, the 3D preview and the letter all read the engine's JSON through these helpers, so a
field the engine adds later (``short_circuit``, ``capacity``, ``route_class`` ...) shows up in
every view at once, and a field that is missing shows as "–" instead of raising.
"""

from __future__ import annotations

from typing import Any

from .labels import (
    FIELDS,
    KINDS,
    MODES,
    VALUES,
    Lang,
    check_value,
    flag_label,
    metres,
    money,
    num,
    pct,
    pick,
    t,
)

EXTRA_FIELDS = ("short_circuit", "capacity", "route_class")


def customer_point(result: dict) -> tuple[float, float] | None:
    """The point the engine used for the customer (lon, lat in EPSG:4326).

    Preference: an explicit field of the result (``point_used`` / ``customer_point``, as the
    engine may add), the first vertex of the first route (every route starts there), the
    application's ``lon``/``lat``, the parcel's centroid.
    """
    for key in ("point_used", "customer_point", "location_used"):
        p = result.get(key) or (result.get("application") or {}).get(key)
        xy = _lonlat(p)
        if xy:
            return xy
    for s in result.get("schemes") or []:
        for c in s.get("circuits") or []:
            coords = ((c.get("route") or {}).get("coordinates")) or []
            if coords and _lonlat(coords[0]):
                return _lonlat(coords[0])
    app = result.get("application") or {}
    if num(app.get("lon")) is not None and num(app.get("lat")) is not None:
        return float(app["lon"]), float(app["lat"])
    rings = parcel_rings(result)
    if rings:
        from shapely.geometry import Polygon

        c = Polygon(rings[0], rings[1:]).centroid
        return float(c.x), float(c.y)
    return None


def _lonlat(p: Any) -> tuple[float, float] | None:
    if isinstance(p, dict):
        if p.get("type") == "Point":
            p = p.get("coordinates")
        else:
            p = [p.get("lon"), p.get("lat")]
    if isinstance(p, list | tuple) and len(p) >= 2:
        x, y = num(p[0]), num(p[1])
        if x is not None and y is not None:
            return x, y
    return None


def parcel_rings(result: dict) -> list[list[list[float]]] | None:
    """The application's parcel rings ([[lon, lat], ...] per ring), or None."""
    parcel = (result.get("application") or {}).get("parcel")
    if isinstance(parcel, dict):  # a GeoJSON Polygon
        parcel = parcel.get("coordinates")
    if not parcel or not isinstance(parcel, list):
        return None
    rings = [[[float(x), float(y)] for x, y, *_ in ring] for ring in parcel if len(ring) >= 3]
    return rings or None


def customer_name(result: dict, lang: Lang) -> str:
    """The customer's name as given (raw text: escape it for its context)."""
    name = (result.get("application") or {}).get("customer_name")
    return str(name) if name else t("customer", lang)


def binding_check(scheme: dict) -> dict | None:
    """The check marked binding on any circuit, else the one closest to its limit."""
    best, best_u = None, -1.0
    for c in scheme.get("circuits") or []:
        for lim in c.get("limits") or []:
            if lim.get("binding"):
                return lim
            v, li = num(lim.get("value")), num(lim.get("limit"))
            if v is not None and li and li < 1e8 and abs(v) / li > best_u:
                best, best_u = lim, abs(v) / li
    return best


def binding_text(scheme: dict, lang: Lang) -> str:
    """``label value / limit`` of the binding check, in ``lang``."""
    b = binding_check(scheme)
    if not b:
        return "–"
    label = b.get("label_zh" if lang == "zh" else "label_en") or b.get("name", "")
    unit = b.get("unit", "")
    return f"{label} {check_value(b.get('value'), unit)} / {check_value(b.get('limit'), unit)}"


def extra_text(value: Any, lang: Lang) -> str:
    """A field the engine may add (number, dict or list), formatted in ``lang``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if isinstance(value, int | float):
        v = num(value)
        return "–" if v is None else f"{v:.4g}"
    if isinstance(value, str):
        if value in VALUES:
            return pick(VALUES, value, lang)
        return pick({}, value, lang) if value.isidentifier() and lang == "zh" else value
    if isinstance(value, list):
        return "；".join(extra_text(v, lang) for v in value) if lang == "zh" else \
            "; ".join(extra_text(v, lang) for v in value)
    if isinstance(value, dict):
        if is_short_circuit(value):
            return short_circuit_text(value, lang)
        if "max_kva" in value:  # a scheme's largest capacity and the check that stops it
            label = value.get("label_zh" if lang == "zh" else "label_en") or value.get("binding")
            kva = num(value.get("max_kva"))
            amount = "–" if kva is None else f"{kva:,.0f} kVA"
            return f"{amount}（受“{label}”限制）" if lang == "zh" else f"{amount} (limited by {label})"
        other = "label_en" if lang == "zh" else "label_zh"
        parts = []
        for k, v in value.items():
            if k == other or (k in ("name", "binding") and ("label_zh" in value)):
                continue  # one language per page; the label says what the name does
            label = pick(FIELDS, k, lang) if k in FIELDS else (k if lang == "en" else f"其他（{k}）")
            unit = _unit_of(k)
            txt = extra_text(v, lang)
            parts.append(f"{label} {txt}{(' ' + unit) if unit and txt not in ('', '–') else ''}")
        return ("，" if lang == "zh" else ", ").join(parts)
    return str(value)


def is_short_circuit(value: Any) -> bool:
    """Whether ``value`` is a circuit's ``short_circuit`` block."""
    return isinstance(value, dict) and "connection" in value and "customer" in value \
        and "standard" in value


def short_circuit_text(sc: dict, lang: Lang, brief: bool = False) -> str:
    """A circuit's ``short_circuit`` block in one line: I''k max / min at the connection point
    and the customer end, the switchgear rating and the thermal minimum cross-section
    (``brief``: the maximum levels and the rating only, for a table cell)."""
    zh = lang == "zh"

    def ka(v: Any) -> str:
        x = num(v)
        return "–" if x is None else f"{x:.1f}"

    con, cus = sc.get("connection") or {}, sc.get("customer") or {}
    if brief:
        r = num(sc.get("switchgear_rating_ka"))
        rt = "–" if r is None else f"{r:g} kA"
        return (f"I''k 最大 {ka(con.get('ikss_max_ka'))} kA（接入点）/ {ka(cus.get('ikss_max_ka'))} kA"
                f"（客户端）；开关设备 {rt}" if zh else
                f"I''k max {ka(con.get('ikss_max_ka'))} kA (connection) / "
                f"{ka(cus.get('ikss_max_ka'))} kA (customer end); switchgear {rt}")
    sk = num(con.get("sk_max_mva"))
    parts = [(f"接入点 I''k 最大 {ka(con.get('ikss_max_ka'))} kA / 最小 {ka(con.get('ikss_min_ka'))} kA"
              if zh else f"connection point I''k max {ka(con.get('ikss_max_ka'))} kA / min "
              f"{ka(con.get('ikss_min_ka'))} kA") + (f" ({sk:,.0f} MVA)" if sk is not None else ""),
             (f"客户端 最大 {ka(cus.get('ikss_max_ka'))} kA / 最小 {ka(cus.get('ikss_min_ka'))} kA"
              if zh else f"customer end max {ka(cus.get('ikss_max_ka'))} kA / min "
              f"{ka(cus.get('ikss_min_ka'))} kA")]
    rating = num(sc.get("switchgear_rating_ka"))
    if "switchgear_rating_ka" in sc:
        parts.append((f"开关设备额定短路开断电流 {rating:g} kA" if zh else
                      f"switchgear breaking rating {rating:g} kA") if rating is not None else
                     ("无标准开断电流满足" if zh else "no standard breaking rating suffices"))
    s_min = num((sc.get("thermal") or {}).get("min_cross_section_mm2"))
    if s_min is not None:
        parts.append(f"热稳定最小截面 {s_min:.0f} mm²" if zh else
                     f"thermal minimum cross-section {s_min:.0f} mm²")
    if (sc.get("assumptions") or {}).get("source_defaults_used"):
        parts.append("上级系统短路容量取默认值" if zh else "upstream fault level: policy default")
    std = sc.get("standard")
    return ("；".join(parts) + (f"（{std}）" if std else "")) if zh else \
        ("; ".join(parts) + (f" ({std})" if std else ""))


def _unit_of(key: str) -> str:
    for suffix, unit in (("_ka", "kA"), ("_mva", "MVA"), ("_kva", "kVA"), ("_kv", "kV"),
                         ("_m", "m"), ("_pct", "%")):
        if key.endswith(suffix):
            return unit
    return ""


def route_length(circuit: dict) -> float | None:
    """Total route length in metres."""
    return num((circuit.get("route_length_m") or {}).get("total"))


def construction(circuit: dict) -> str:
    """``cable`` or ``overhead`` (the conductor's construction; the longer part if mixed)."""
    rl = circuit.get("route_length_m") or {}
    cab, ovh = num(rl.get("cable")) or 0.0, num(rl.get("overhead")) or 0.0
    kind = ((circuit.get("conductor") or {}).get("construction") or "").lower()
    if kind in ("cable", "overhead"):
        return kind
    return "overhead" if ovh > cab else "cable"


def scheme_title(scheme: dict, lang: Lang) -> str:
    """``方案 1`` / ``Scheme 1``."""
    return f"{t('scheme', lang)} {scheme.get('rank', '?')}"


def connection_text(circuit: dict, lang: Lang) -> str:
    """``kind point (feeder …)`` in ``lang``."""
    conn = circuit.get("connection") or {}
    s = f"{pick(KINDS, conn.get('kind'), lang)} {conn.get('point_id', '')}"
    if conn.get("feeder_id"):
        s += f"（{t('feeder', lang)} {conn['feeder_id']}）" if lang == "zh" else \
            f" ({t('feeder', lang).lower()} {conn['feeder_id']})"
    return s


def length_text(circuit: dict, lang: Lang) -> str:
    """Total length with its cable/overhead split."""
    rl = circuit.get("route_length_m") or {}
    parts = []
    for key, label in (("cable", "cable"), ("overhead", "overhead")):
        v = num(rl.get(key))
        if v:
            parts.append(f"{t(label, lang)} {metres(v, lang)}")
    tail = f"（{'，'.join(parts)}）" if lang == "zh" else f" ({', '.join(parts)})"
    return metres(rl.get("total"), lang) + (tail if parts else "")


def process_text(scheme: dict, lang: Lang) -> str:
    """Whole-process working days against the target."""
    d = scheme.get("duration_workdays") or {}
    total, target = num(d.get("total_with_works")), num(d.get("whole_process_target"))
    if total is None:
        return "–"
    s = f"{total:.0f}"
    if target is not None:
        state = t("within_target" if total <= target else "over_target", lang)
        s += f"（{t('target', lang)} {target:.0f}，{state}）" if lang == "zh" else \
            f" ({t('target', lang)} {target:.0f}, {state})"
    return s


def circuit_rows(scheme: dict, circuit: dict, lang: Lang) -> list[tuple[str, str]]:
    """Label/value rows describing one circuit (for a route's popup)."""
    cost = scheme.get("cost_cny") or {}
    cond = circuit.get("conductor") or {}
    d = scheme.get("duration_workdays") or {}
    rows = [
        (t("connection", lang), connection_text(circuit, lang)),
        (t("conductor", lang), f"{cond.get('type', '–')}（{t(construction(circuit), lang)}）"
         if lang == "zh" else f"{cond.get('type', '–')} ({t(construction(circuit), lang)})"),
        (t("length", lang), length_text(circuit, lang)),
        (t("cost_total", lang), money(cost.get("total"), lang)),
        (t("cost_utility", lang), money(cost.get("utility"), lang)),
        (t("cost_customer", lang), money(cost.get("customer"), lang)),
        (t("works_days", lang), _days(d.get("utility_works"))),
        (t("process_days", lang), process_text(scheme, lang)),
        (t("voltage_drop", lang), pct(circuit.get("voltage_drop_pct"), is_ratio=False)),
        (t("load_rate_after", lang), pct(circuit.get("feeder_load_rate_after"))),
        (t("binding", lang), binding_text(scheme, lang)),
    ]
    if circuit.get("route_fallback"):
        rows.append((t("flags", lang), t("fallback_route", lang)))
    for key in EXTRA_FIELDS:
        val = circuit.get(key, scheme.get(key))
        if val is not None:
            rows.append((t(key, lang), extra_text(val, lang)))
    return rows


def _days(v: Any) -> str:
    x = num(v)
    return "–" if x is None else f"{x:.0f}"


def comparison_rows(result: dict, lang: Lang) -> tuple[list[str], list[tuple[str, list[list[str]]]]]:
    """The comparison table: column titles (one per scheme) and rows of (label, cells).

    Each cell is a list of text lines (one per circuit where it applies), raw text: the
    renderer escapes every line for its context.
    """
    schemes = result.get("schemes") or []
    heads = [scheme_title(s, lang) for s in schemes]

    def each(fn: Any) -> list[list[str]]:
        out = []
        for s in schemes:
            v = fn(s)
            out.append(v if isinstance(v, list) else [v])
        return out

    def circuits(s: dict, fn: Any) -> list[str]:
        return [fn(c) for c in s.get("circuits") or []] or ["–"]

    def cost(key: str) -> Any:
        return lambda s: money((s.get("cost_cny") or {}).get(key), lang)

    rows: list[tuple[str, list[list[str]]]] = [
        (t("feasible", lang), each(lambda s: t("yes" if s.get("feasible") else "no", lang))),
        (t("voltage", lang), each(lambda s: f"{num(s.get('voltage_kv')) or 0:g} kV")),
        (t("mode", lang), each(lambda s: pick(MODES, s.get("supply_mode"), lang))),
        (t("connection", lang), each(lambda s: circuits(s, lambda c: connection_text(c, lang)))),
        (t("length", lang), each(lambda s: circuits(s, lambda c: length_text(c, lang)))),
        (t("cost_total", lang), each(cost("total"))),
        (t("cost_utility", lang), each(cost("utility"))),
        (t("cost_customer", lang), each(cost("customer"))),
        (t("works_days", lang),
         each(lambda s: _days((s.get("duration_workdays") or {}).get("utility_works")))),
        (t("process_days", lang), each(lambda s: process_text(s, lang))),
        (t("voltage_drop", lang), each(lambda s: circuits(
            s, lambda c: pct(c.get("voltage_drop_pct"), is_ratio=False)))),
        (t("load_rate_after", lang), each(lambda s: circuits(
            s, lambda c: pct(c.get("feeder_load_rate_after"))))),
        (t("binding", lang), each(lambda s: binding_text(s, lang))),
    ]
    for key in EXTRA_FIELDS:
        if any(s.get(key) is not None
               or any(c.get(key) is not None for c in s.get("circuits") or [])
               for s in schemes):
            rows.append((t(key, lang), each(
                lambda s, k=key: [extra_text(s[k], lang)] if s.get(k) is not None else circuits(
                    s, lambda cc, k=k: extra_text(cc.get(k), lang) or "–"))))
    rows.append((t("remedy", lang), each(lambda s: _remedy(s, lang))))
    rows.append((t("flags", lang), each(
        lambda s: [flag_label(f, lang) for f in s.get("flags") or []] or ["–"])))
    return heads, rows


def _remedy(scheme: dict, lang: Lang) -> str:
    from .labels import REMEDIES

    r = scheme.get("remedy")
    if not r:
        return "–"
    return pick(REMEDIES, r.get("type"), lang)
