"""Display labels (zh/en) and number formats shared by the map, the 3D preview and the letter.

One language per page: every label a page shows comes from :func:`t` in the page's language,
so an English page never shows 万元/客户 and a Chinese page never shows ``dual_circuit``.
Unknown codes (a flag or field the engine adds later) are shown through :func:`code_label`,
which wraps the code in the page language instead of guessing a translation.
"""

from __future__ import annotations

import math
from typing import Any, Literal

Lang = Literal["zh", "en"]

LABELS: dict[str, tuple[str, str]] = {
    # page furniture
    "title_map": ("供电方案比选图", "Supply-scheme comparison map"),
    "title_3d": ("供电方案三维预览", "Supply-scheme 3D preview"),
    "scheme": ("方案", "Scheme"),
    "rank": ("名次", "Rank"),
    "comparison": ("方案比较", "Comparison"),
    "legend": ("图例", "Legend"),
    "customer": ("客户", "Customer"),
    "customer_site": ("客户用电地址", "Customer site"),
    "parcel": ("用电地块", "Customer parcel"),
    "point_used": ("计算采用的接入起点", "Point used by the engine"),
    "requested": ("申请容量", "Requested capacity"),
    "tier": ("客户分级", "Customer tier"),
    "feasible": ("可行", "Feasible"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "voltage": ("供电电压", "Supply voltage"),
    "mode": ("供电方式", "Supply mode"),
    "connection": ("接入点", "Connection point"),
    "circuit": ("回路", "Circuit"),
    "feeder": ("馈线", "Feeder"),
    "substation": ("变电站", "Substation"),
    "bus_section": ("母线段", "Bus section"),
    "conductor": ("导线/电缆", "Conductor"),
    "length": ("线路长度", "Route length"),
    "of_which_cable": ("其中电缆", "of which cable"),
    "of_which_overhead": ("其中架空", "of which overhead"),
    "cost_total": ("总投资", "Total cost"),
    "cost_utility": ("供电企业投资", "Utility invests"),
    "cost_customer": ("客户投资", "Customer invests"),
    "cost_circuit": ("本回路投资", "This circuit's cost"),
    "works_days": ("施工工期（工作日）", "Construction (working days)"),
    "process_days": ("全流程（工作日）", "Whole process (working days)"),
    "target": ("目标", "target"),
    "within_target": ("在时限内", "within target"),
    "over_target": ("超出时限", "over target"),
    "voltage_drop": ("电压降", "Voltage drop"),
    "load_rate_before": ("接入前负载率", "Load rate before"),
    "load_rate_after": ("接入后负载率", "Load rate after"),
    "binding": ("最紧约束", "Binding check"),
    "flags": ("提示", "Notes"),
    "short_circuit": ("短路水平", "Short-circuit level"),
    "capacity": ("容量", "Capacity"),
    "route_class": ("路径类别", "Route class"),
    "remedy": ("前置措施", "Remedy first"),
    "explanation": ("说明", "Explanation"),
    "fallback_route": ("直线估算路径（无道路路径）", "Straight-line estimate (no road path)"),
    "new_equipment": ("新建设备", "New equipment"),
    "roads": ("道路", "Roads"),
    "basemap": ("底图", "Basemap"),
    "feeders_layer": ("相关馈线（接入后负载率）", "Feeders involved (load rate after)"),
    "heatmap_layer": ("可开放容量", "Available capacity"),
    "headroom": ("可开放容量", "Headroom"),
    "rejected_candidate": ("有未采用的候选接入点", "carries a rejected candidate"),
    "no_scheme": ("无可行方案", "No feasible scheme"),
    "not_given": ("（未提供）", "(not given)"),
    "switch_scheme": ("切换方案", "Switch scheme"),
    "reset_view": ("复位视角", "Reset view"),
    "pole": ("电杆", "Pole"),
    "trench": ("电缆沟/排管", "Cable trench / duct"),
    "customer_substation": ("客户配电室", "Customer substation"),
    "webgl_missing": ("此浏览器不支持 WebGL，无法显示三维预览。",
                      "This browser has no WebGL: the 3D preview cannot be shown."),
    # construction
    "cable": ("电缆", "cable"),
    "overhead": ("架空", "overhead"),
    # units
    "unit_m": ("米", "m"),
    "unit_days": ("个工作日", "working days"),
    "unit_kva": ("kVA", "kVA"),
    "unit_kv": ("kV", "kV"),
}

MODES: dict[str, tuple[str, str]] = {
    "single": ("单电源", "single source"),
    "dual_circuit": ("双回路", "dual circuit"),
    "dual_source": ("双电源", "dual source"),
}

KINDS: dict[str, tuple[str, str]] = {
    "busbar": ("变电站新出间隔", "new substation bay"),
    "rmu": ("环网柜备用间隔", "spare ring-main-unit bay"),
    "switching_station": ("开闭所备用间隔", "spare switching-station bay"),
    "tap": ("架空线T接", "T-tap on an overhead line"),
    "existing": ("原接入点", "present connection point"),
    "station": ("配电站备用间隔", "spare MV/LV-station bay"),
}

EQUIPMENT: dict[str, tuple[str, str]] = {
    "line": ("新建线路", "new line"),
    "bay": ("新建间隔", "new bay"),
    "customer_transformer": ("客户变压器", "customer transformer"),
    "tap_switch": ("T接开关", "tap switch"),
    "emergency_source": ("应急电源", "emergency source"),
    "new_substation_35kv": ("新建35千伏变电站", "new 35 kV substation"),
}

REMEDIES: dict[str, tuple[str, str]] = {
    "load_transfer": ("负荷转供", "load transfer"),
    "new_feeder": ("新出专线", "new dedicated feeder"),
    "new_substation": ("新建/扩建变电站", "new or expanded substation"),
}

# Code values of string fields shown as they are (``route_class``).
VALUES: dict[str, tuple[str, str]] = {
    "street": ("沿道路", "along streets"),
    "shortcut": ("直连捷径", "shortcut across open land"),
    "fallback": ("直线估算", "straight-line estimate"),
}

FLAGS: dict[str, tuple[str, str]] = {
    "power_quality_assessment_required": ("需开展电能质量评估", "power-quality assessment required"),
    "distributed_pv_documents_required": ("需提交分布式光伏资料", "distributed-PV documents required"),
    "charging_facility_documents_required": ("需提交充电设施资料", "charging-facility documents required"),
    "emergency_source_required": ("需配置自备应急电源", "emergency source required"),
    "important_customer_mid_check": ("重要客户需中间检查", "important customer: mid-construction check"),
    "route_fallback_straight_line": ("路径为直线估算（无道路路径）", "route is a straight-line estimate"),
    "whole_process_target_exceeded": ("超出全流程时限目标", "whole-process target exceeded"),
    "feeder_above_screening_load_rate": ("馈线负载率高于筛选值", "feeder above the screening load rate"),
    "grid_project_required": ("需电网基建项目", "grid project required"),
}
FLAG_PREFIXES: dict[str, tuple[str, str]] = {
    "pv_reverse_flow_on_": ("光伏向馈线反送电：{}", "PV reverse flow on feeder {}"),
}

# Keys of the short-circuit / capacity blocks the engine is adding (read when present).
FIELDS: dict[str, tuple[str, str]] = {
    "ik3_ka": ("三相短路电流", "three-phase short-circuit current"),
    "ik_ka": ("短路电流", "short-circuit current"),
    "ikss_ka": ("初始短路电流", "initial short-circuit current"),
    "ik_max_ka": ("最大短路电流", "maximum short-circuit current"),
    "ik_min_ka": ("最小短路电流", "minimum short-circuit current"),
    "ip_ka": ("短路冲击电流", "peak short-circuit current"),
    "sk_mva": ("短路容量", "short-circuit power"),
    "switchgear_rating_ka": ("开关设备额定短路开断电流", "switchgear breaking rating"),
    "rated_breaking_ka": ("开关设备额定短路开断电流", "switchgear breaking rating"),
    "breaking_ka": ("开断电流", "breaking current"),
    "passed": ("校核", "check"),
    "headroom_mva": ("剩余容量", "headroom"),
    "headroom_kva": ("剩余容量", "headroom"),
    "available_kva": ("可开放容量", "available capacity"),
    "approved_kva": ("核定容量", "approved capacity"),
    "class": ("类别", "class"),
}


def t(key: str, lang: Lang) -> str:
    """The label ``key`` in ``lang`` (KeyError names a missing label: a bug, not input)."""
    zh, en = LABELS[key]
    return zh if lang == "zh" else en


def pick(table: dict[str, tuple[str, str]], code: str | None, lang: Lang) -> str:
    """Translate ``code`` through ``table``; unknown codes through :func:`code_label`."""
    if code is None:
        return ""
    hit = table.get(str(code))
    if hit:
        return hit[0] if lang == "zh" else hit[1]
    return code_label(str(code), lang)


def code_label(code: str, lang: Lang) -> str:
    """An unknown engine code shown in the page language (``其他（code）`` / ``code``)."""
    return f"其他（{code}）" if lang == "zh" else code.replace("_", " ")


def flag_label(flag: str, lang: Lang) -> str:
    """A scheme flag in ``lang`` (prefix flags such as ``pv_reverse_flow_on_<feeder>``)."""
    if flag in FLAGS:
        return pick(FLAGS, flag, lang)
    for prefix, (zh, en) in FLAG_PREFIXES.items():
        if flag.startswith(prefix):
            return (zh if lang == "zh" else en).format(flag[len(prefix):])
    return code_label(flag, lang)


def num(value: Any) -> float | None:
    """A finite float or None (defensive read of an optional numeric field)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def money(cny: Any, lang: Lang) -> str:
    """Money for a page: 万元 in zh, CNY thousands/millions in en."""
    v = num(cny)
    if v is None:
        return "–"
    if lang == "zh":
        return f"{v / 1e4:,.1f} 万元"
    return f"CNY {v / 1e6:,.2f} M" if abs(v) >= 1e6 else f"CNY {v / 1e3:,.0f} k"


def metres(m: Any, lang: Lang) -> str:
    """A length in metres (km above 10 km)."""
    v = num(m)
    if v is None:
        return "–"
    if v >= 10000:
        return f"{v / 1000:,.1f} km"
    return f"{v:,.0f} m"


def pct(ratio_or_pct: Any, is_ratio: bool = True) -> str:
    """A percentage from a ratio (0.52 → 52.0 %) or from a value already in percent."""
    v = num(ratio_or_pct)
    if v is None:
        return "–"
    return f"{v * 100:.1f} %" if is_ratio else f"{v:.2f} %"


def check_value(value: Any, unit: str) -> str:
    """A check's value in its unit (ratios as percent)."""
    v = num(value)
    if v is None:
        return "–"
    if unit == "ratio":
        return f"{v * 100:.1f} %"
    if unit == "%":
        return f"{v:.2f} %"
    if unit == "count":
        return f"{v:.0f}"
    if v >= 1e8:  # the engine's "no limit" sentinel
        return "∞"
    return f"{v:.3g} {unit}"
