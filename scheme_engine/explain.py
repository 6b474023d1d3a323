"""Explanations in Chinese and English: why a scheme ranks where it does, what binds."""

from __future__ import annotations

from .checks import REGISTRY

KIND_ZH = {"busbar": "变电站新出间隔(专线)", "rmu": "环网柜备用间隔", "switching_station": "开闭所备用间隔",
           "tap": "架空线T接", "existing": "原接入点", "station": "配电站备用间隔"}
KIND_EN = {"busbar": "new bay at a substation (dedicated feeder)", "rmu": "spare bay of a ring-main unit",
           "switching_station": "spare bay of a switching station", "tap": "T-tap on an overhead line",
           "existing": "present connection point", "station": "spare bay of an MV/LV station"}
MODE_ZH = {"single": "单电源", "dual_circuit": "双回路", "dual_source": "双电源"}


def explain(rank: int, scheme_cost: float, next_cost: float | None, circuits: list[dict],
            binding: tuple[str, float], mode: str, voltage_kv: float) -> dict[str, str]:
    """Build the zh/en explanation of one ranked scheme.

    Parameters
    ----------
    circuits : list of dict
        Each with ``kind``, ``point_id``, ``feeder_id``, ``length_m``, ``conductor`` and
        optionally ``thermal`` (the short-circuit block's thermal part: when thermal withstand,
        not ampacity, sized the conductor the explanation says so).
    binding : (check name, utilisation)
        The check nearest its limit over the scheme's circuits.
    """
    name, util = binding
    zh_label, en_label = REGISTRY[name].label_zh, REGISTRY[name].label_en
    pts_zh = "；".join(f"{KIND_ZH[c['kind']]} {c['point_id']}"
                      + (f"（馈线 {c['feeder_id']}）" if c.get("feeder_id") else "")
                      + f"，路径 {c['length_m']:.0f} m，{c['conductor']}" + _thermal(c, "zh")
                      for c in circuits)
    pts_en = "; ".join(f"{KIND_EN[c['kind']]} {c['point_id']}"
                       + (f" (feeder {c['feeder_id']})" if c.get("feeder_id") else "")
                       + f", route {c['length_m']:.0f} m, {c['conductor']}" + _thermal(c, "en")
                       for c in circuits)
    wan = scheme_cost / 1e4
    zh = (f"第{rank}名：{voltage_kv:g} kV {MODE_ZH.get(mode, mode)}，{pts_zh}。"
          f"总投资 {wan:.1f} 万元。约束最紧的是“{zh_label}”（利用率 {util:.0%}）。")
    en = (f"Rank {rank}: {voltage_kv:g} kV {mode.replace('_', ' ')}, {pts_en}. "
          f"Total cost CNY {wan:.1f} x10^4. Binding constraint: {en_label} "
          f"(at {util:.0%} of its limit).")
    if next_cost is not None and next_cost > scheme_cost:
        d = (next_cost - scheme_cost) / 1e4
        zh += f"比下一方案节省 {d:.1f} 万元。"
        en += f" CNY {d:.1f} x10^4 cheaper than the next alternative."
    return {"zh": zh, "en": en}


def _thermal(circuit: dict, lang: str) -> str:
    """Why the conductor is larger than ampacity needs: short-circuit thermal withstand."""
    th = circuit.get("thermal") or {}
    if not th.get("sized_by_thermal_withstand"):
        return ""
    s_min, small = th.get("min_cross_section_mm2"), th.get("smaller_conductor_refused")
    if lang == "zh":
        return (f"（导线截面由短路热稳定决定而非载流量：接入点短路电流下最小截面 {s_min:g} mm²，"
                f"{small} 不满足）")
    return (f" (cross-section set by short-circuit thermal withstand, not ampacity: at least "
            f"{s_min:g} mm² for the fault level at the connection point; {small} fails)")
