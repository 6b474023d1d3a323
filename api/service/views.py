"""What each role sees of a plan result, and the side-by-side comparison of schemes.

Customers see their own schemes: routes, connection points (the substation / bus section /
feeder / line each circuit connects to: the reply letter names them too), checks, costs and
times. They never see the rest of the network: :func:`for_viewer` drops the nearby rejected
candidates, the source-system ids of grid elements, and a remedy's details (which name other
feeders) in favour of a generic sentence. This is the one place that decides it.
"""

from __future__ import annotations

import copy
from typing import Any

from api.auth import Principal

# Presentation only: what a customer reads about a remedy (details stay with the utility).
_REMEDY_TEXT = {
    "load_transfer": ("需先由供电企业在电网侧转供部分负荷，再接入。",
                      "The utility first transfers some load on its network, then connects you."),
    "new_feeder": ("由变电站新出专线接入。", "A new dedicated feeder from a substation."),
    "new_substation": ("需新建或扩建35千伏及以上变电站（电网基建项目）。",
                       "A new or expanded 35 kV+ substation is needed (a grid project)."),
}


def for_viewer(doc: dict[str, Any], viewer: Principal) -> dict[str, Any]:
    """The plan result as ``viewer`` may see it (staff: unchanged; customers: redacted copy)."""
    if viewer.is_staff:
        return doc
    d = dict(doc)
    d["rejected"] = []
    d["schemes"] = [redact_scheme(s) for s in doc.get("schemes", [])]
    return d


def redact_scheme(s: dict[str, Any]) -> dict[str, Any]:
    """A scheme as a customer sees it."""
    s = copy.deepcopy(s)
    for c in s.get("circuits", []):
        conn = c.get("connection", {})
        conn["source_ref"] = ""
        if conn.get("line_source_ref") is not None:
            conn["line_source_ref"] = None
    rem = s.get("remedy")
    if rem:
        zh, en = _REMEDY_TEXT.get(str(rem.get("type")), ("需先完成电网侧工程。",
                                                         "Grid works are needed first."))
        s["remedy"] = {"type": rem.get("type"), "order": rem.get("order"), "zh": zh, "en": en}
        s["explanation"] = {"zh": zh, "en": en}
    return s


def _max(values: list[float]) -> float | None:
    return max(values) if values else None


# key, zh, en, unit, extractor
_ROWS: list[tuple[str, str, str, str, Any]] = [
    ("feasible", "可行", "feasible", "", lambda s: s["feasible"]),
    ("voltage_kv", "供电电压", "supply voltage", "kV", lambda s: s["voltage_kv"]),
    ("supply_mode", "供电方式", "supply mode", "", lambda s: s["supply_mode"]),
    ("connection_points", "接入点", "connection points", "",
     lambda s: [f"{c['connection']['kind']}:{c['connection']['point_id']}" for c in s["circuits"]]),
    ("route_length_m", "线路长度", "route length", "m",
     lambda s: round(sum(c["route_length_m"].get("total", 0.0) for c in s["circuits"]), 1)),
    ("cable_length_m", "电缆长度", "cable length", "m",
     lambda s: round(sum(c["route_length_m"].get("cable", 0.0) for c in s["circuits"]), 1)),
    ("overhead_length_m", "架空长度", "overhead length", "m",
     lambda s: round(sum(c["route_length_m"].get("overhead", 0.0) for c in s["circuits"]), 1)),
    ("conductors", "导线", "conductors", "", lambda s: [c["conductor"]["type"] for c in s["circuits"]]),
    ("voltage_drop_pct", "最大压降", "largest voltage drop", "%",
     lambda s: _max([c["voltage_drop_pct"] for c in s["circuits"]])),
    ("feeder_load_rate_after", "接入后馈线最高负载率", "highest feeder load rate after", "",
     lambda s: _max([c["feeder_load_rate_after"] for c in s["circuits"]])),
    ("cost_total_cny", "总投资", "total cost", "CNY", lambda s: s["cost_cny"].get("total")),
    ("cost_utility_cny", "供电企业投资", "utility's cost", "CNY", lambda s: s["cost_cny"].get("utility")),
    ("cost_customer_cny", "客户投资", "customer's cost", "CNY", lambda s: s["cost_cny"].get("customer")),
    ("utility_works_workdays", "外线工程工期", "utility works", "working days",
     lambda s: s["duration_workdays"].get("utility_works")),
    ("total_workdays", "全流程时间（含工程）", "whole process incl. works", "working days",
     lambda s: s["duration_workdays"].get("total_with_works")),
    ("within_target", "满足全流程时限", "within the whole-process target", "",
     lambda s: s["duration_workdays"].get("within_target")),
    ("binding_check", "最紧约束", "binding check", "",
     lambda s: next((f"{c_['label_en']}" for c in s["circuits"] for c_ in c["limits"]
                     if c_.get("binding")), None)),
    # short circuit (IEC 60909, scheme_engine/short_circuit.py): what the customer's
    # switchgear must break, and whether thermal withstand rather than ampacity sized a line
    ("short_circuit_customer_ka", "客户端最大短路电流", "largest fault current at the customer end",
     "kA", lambda s: _max([c["short_circuit"]["customer"]["ikss_max_ka"] for c in s["circuits"]
                           if c.get("short_circuit")])),
    ("switchgear_rating_ka", "客户开关设备额定开断电流", "customer switchgear breaking rating", "kA",
     lambda s: [(c.get("short_circuit") or {}).get("switchgear_rating_ka") for c in s["circuits"]]),
    ("conductor_sized_by_thermal_withstand", "导线截面由短路热稳定决定",
     "conductor sized by short-circuit thermal withstand", "",
     lambda s: [bool(((c.get("short_circuit") or {}).get("thermal") or {})
                     .get("sized_by_thermal_withstand")) for c in s["circuits"]]),
    ("flags", "提示", "flags", "", lambda s: s["flags"]),
    ("remedy", "前置措施", "remedy first", "", lambda s: (s.get("remedy") or {}).get("type")),
]


def compare(doc: dict[str, Any], ranks: list[int] | None = None) -> dict[str, Any]:
    """Side-by-side table of the schemes of one result (rows = criteria, columns = schemes)."""
    schemes = [s for s in doc.get("schemes", []) if ranks is None or s["rank"] in ranks]
    rows = []
    for key, zh, en, unit, fn in _ROWS:
        vals = []
        for s in schemes:
            try:
                vals.append(fn(s))
            except (KeyError, TypeError, ValueError):
                vals.append(None)
        rows.append({"key": key, "label_zh": zh, "label_en": en, "unit": unit, "values": vals})
    return {"ranks": [s["rank"] for s in schemes], "rows": rows,
            "explanations": [s.get("explanation", {}) for s in schemes]}
