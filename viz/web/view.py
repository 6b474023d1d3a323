"""What the web page shows of one plan result, formatted in one language.

The page (``viz/web/static/app.js``) draws the map and the comparison from this JSON and sets
every text with ``textContent``; formatting (money in 万元, lengths, percentages, binding
check, flags) stays here, shared with the folium map, the 3D preview and the letter, so the
four views of a scheme always say the same thing.
"""

from __future__ import annotations

from typing import Any

from ..labels import EQUIPMENT, KINDS, Lang, check_value, money, num, pick, t
from ..maps.scheme_map import rank_colours
from ..summary import (
    circuit_rows,
    comparison_rows,
    construction,
    customer_name,
    customer_point,
    parcel_rings,
    route_length,
    scheme_title,
)

_TIERS_EN = {"特级": "special", "一级": "first", "二级": "second", "临时": "temporary",
             "普通": "ordinary"}


def _equipment_text(e: dict, lang: Lang) -> str:
    parts = [pick(EQUIPMENT, e.get("item"), lang)]
    if e.get("type"):
        parts.append(str(e["type"]))
    if e.get("kind"):
        parts.append(pick(KINDS, e["kind"], lang))
    if num(e.get("length_m")) is not None:
        parts.append(f"{num(e['length_m']):,.0f} m")
    if num(e.get("kva")) is not None:
        parts.append(f"{num(e['kva']):,.0f} kVA")
    return " ".join(parts)


def _facts(result: dict, lang: Lang) -> list[list[str]]:
    app = result.get("application") or {}
    dd = result.get("design_demand") or {}
    facts: list[list[str]] = []
    kva = num(app.get("requested_kva"))
    facts.append([t("requested", lang), "–" if kva is None else f"{kva:,.0f} kVA"])
    if app.get("tier"):
        tier = str(app["tier"])
        facts.append([t("tier", lang), tier if lang == "zh" else _TIERS_EN.get(tier, tier)])
    if num(dd.get("p_kw")) is not None:
        facts.append(["设计需量" if lang == "zh" else "Design demand", f"{num(dd['p_kw']):,.0f} kW"])
    return facts


def _circuit(s: dict, c: dict, j: int, n: int, lang: Lang, designer: bool) -> dict[str, Any]:
    title = scheme_title(s, lang)
    conn = c.get("connection") or {}
    head = f"{title} · {t('circuit', lang)} {j + 1}/{n}"
    point_lines = [f"{pick(KINDS, conn.get('kind'), lang)} {conn.get('point_id', '')}"]
    if designer:
        for key, label in (("substation_id", "substation"), ("bus_section_id", "bus_section"),
                           ("feeder_id", "feeder")):
            if conn.get(key):
                point_lines.append(f"{t(label, lang)}: {conn[key]}")
    for e in s.get("equipment") or []:
        if conn.get("point_id") is not None and e.get("at") == conn.get("point_id"):
            point_lines.append(f"{t('new_equipment', lang)}: {_equipment_text(e, lang)}")
    lon, lat = num(conn.get("lon")), num(conn.get("lat"))
    return {
        "index": j,
        "route": c.get("route"),
        "construction": construction(c),
        "fallback": bool(c.get("route_fallback")),
        "title": head,
        "rows": [list(r) for r in circuit_rows(s, c, lang)],
        "tooltip": f"{head}: {(c.get('conductor') or {}).get('type', '')} "
                   f"{route_length(c) or 0:,.0f} m",
        "point": None if lon is None or lat is None else [lon, lat],
        "point_kind": str(conn.get("kind") or ""),
        "point_lines": point_lines,
    }


def _rejected(result: dict, lang: Lang) -> list[str]:
    units = {lim.get("name"): lim.get("unit", "") for sc in result.get("schemes") or []
             for c in sc.get("circuits") or [] for lim in c.get("limits") or []}
    out = []
    for r in (result.get("rejected") or [])[:12]:
        unit = units.get(r.get("binding"), "")
        line = str(r.get("point_id", ""))
        if r.get("feeder_id"):
            line += f" ({r['feeder_id']})"
        line += (f": {r.get('label_zh' if lang == 'zh' else 'label_en', '')} "
                 f"{check_value(r.get('value'), unit)} / {check_value(r.get('limit'), unit)}")
        out.append(line)
    return out


def page_view(result: dict, lang: Lang = "zh", designer: bool = False) -> dict[str, Any]:
    """The web page's view of a ``PlanResult`` document (JSON-able, raw text).

    Parameters
    ----------
    result : dict
        ``PlanResult`` document, already reduced to what the viewer may see.
    lang : {"zh", "en"}
        Language of every text.
    designer : bool
        Add what only staff see: the grid ids at connection points and the rejected
        candidates (customers' results carry none of them anyway).

    Returns
    -------
    dict
        ``customer`` (name, facts, point, parcel rings), ``schemes`` (rank, title, colour,
        feasible, cost, explanation, circuits with route geometry and popup rows, equipment at
        the customer), ``comparison`` (``heads`` and ``rows`` of ``label``/``cells``, each cell a
        list of lines) and, for designers, ``rejected`` lines.
    """
    from grid_models.errors import InputError

    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}", field="lang")
    schemes = result.get("schemes") or []
    colours = rank_colours(len(schemes))
    heads, rows = comparison_rows(result, lang)
    out_schemes = []
    for i, s in enumerate(schemes):
        circuits = s.get("circuits") or []
        cost = s.get("cost_cny") or {}
        out_schemes.append({
            "rank": s.get("rank", i + 1),
            "title": scheme_title(s, lang),
            "colour": colours[i],
            "feasible": bool(s.get("feasible", True)),
            "cost": money(cost.get("total"), lang),
            "explanation": str((s.get("explanation") or {}).get(lang, "")),
            "circuits": [_circuit(s, c, j, len(circuits), lang, designer)
                         for j, c in enumerate(circuits)],
            "at_customer": [_equipment_text(e, lang) for e in s.get("equipment") or []
                            if e.get("item") in ("emergency_source", "customer_transformer")],
        })
    point = customer_point(result)
    view: dict[str, Any] = {
        "lang": lang,
        "network_version": result.get("network_version"),
        "policy_id": result.get("policy_id"),
        "customer": {"name": customer_name(result, lang), "facts": _facts(result, lang),
                     "point": list(point) if point else None,
                     "parcel": parcel_rings(result)},
        "schemes": out_schemes,
        "comparison": {"heads": heads,
                       "rows": [{"label": label, "cells": cells} for label, cells in rows]},
        "empty": t("no_scheme", lang) if not schemes else None,
    }
    if designer:
        view["rejected"] = _rejected(result, lang)
    return view
