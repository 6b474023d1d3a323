"""The reply letter (供电方案答复单) as a renderer-independent structure.

Every number comes from the scheme JSON; texts that are policy (requirements for the receiving
installation, property boundary, validity, charges, metering classes) come from
``viz/data/letter_*.csv`` with their references. Customer fields the engine does not carry
(户号, 申请编号, address, contact) come from the application, or from ``info`` given by the
caller, else they stay visibly blank (:data:`BLANK`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from ..datafiles import table, value
from ..labels import FIELDS, KINDS, MODES, Lang, flag_label, num, pick
from ..summary import binding_text, construction, extra_text, is_short_circuit, short_circuit_text

BLANK = "＿＿＿＿＿＿"

Cell = str | None  # None: a field to fill in by hand (rendered as BLANK)


@dataclass
class Block:
    """One block of a section: ``fields`` (label/value pairs), ``table`` or ``text``."""

    kind: str
    fields: list[tuple[str, Cell]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    text: str = ""
    small: bool = False


@dataclass
class Section:
    """A numbered section of the letter."""

    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Letter:
    """Everything a renderer needs."""

    lang: Lang
    title: str
    subtitle: str
    sections: list[Section]
    references: list[str]
    numbers: dict[str, str]


_NUMERALS = "一二三四五六七八九十"

_SECTION_TITLES = {
    "customer": ("客户及申请信息", "Customer and application"),
    "sources": ("供电电源、接入点及线路", "Supply sources, connection points and lines"),
    "capacity": ("核定容量、供电电压及供电方式", "Approved capacity, voltage and supply mode"),
    "metering": ("计量方案", "Metering"),
    "receiving": ("受电工程技术要求", "Requirements for the receiving installation"),
    "boundary": ("产权分界及投资界面", "Property boundary and investment split"),
    "charges": ("营业费用", "Charges"),
    "validity": ("办理时限及方案有效期", "Time limits and validity"),
    "notes": ("其他说明", "Notes"),
    "signature": ("签章", "Signatures"),
}

_STEPS = {"scheme_reply": ("供电方案答复", "scheme reply"),
          "design_review": ("设计审查", "design review"),
          "mid_check": ("中间检查", "mid-construction check"),
          "completion_check": ("竣工检验", "completion check"),
          "metering_energising": ("装表接电", "metering and energising")}

_TIERS_EN = {"特级": "special", "一级": "first", "二级": "second", "临时": "temporary",
             "普通": "ordinary"}

# Aliases under which an application (or the caller's ``info``) may carry the customer fields.
_ALIASES = {
    "account_no": ("account_no", "account_number", "huhao", "户号", "existing_customer_id"),
    "application_id": ("application_id", "application_no", "申请编号"),
    "address": ("address", "customer_address", "用电地址"),
    "category": ("electricity_category", "用电类别"),
    "contact": ("contact_name", "contact", "联系人"),
    "phone": ("contact_phone", "phone", "联系电话"),
    "sign_date": ("sign_date", "签订日期"),
    "utility": ("utility_name", "供电企业"),
    "fixed_ratio": ("fixed_ratio", "定量定比"),
}


def _z(lang: Lang, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _get(sources: list[dict], key: str) -> str | None:
    for src in sources:
        for alias in _ALIASES[key]:
            v = src.get(alias)
            if v not in (None, ""):
                return str(v)
    return None


def _money(v: Any, lang: Lang) -> str:
    x = num(v)
    if x is None:
        return "–"
    return f"{x / 1e4:,.2f} 万元" if lang == "zh" else f"CNY {x:,.0f}"


def _len(v: Any) -> str:
    x = num(v)
    return "–" if x is None else f"{x:,.0f} m"


def _kva(v: Any) -> str:
    x = num(v)
    return "–" if x is None else f"{x:,.0f} kVA"


def _kv(v: Any) -> str:
    x = num(v)
    return "–" if x is None else f"{x:g} kV"


def _industry(code: str | None, lang: Lang) -> str | None:
    if not code:
        return None
    try:
        from load_forecast.industries import get_industry

        ind = get_industry(code)
        return getattr(ind, "name_zh" if lang == "zh" else "name_en", None) or code
    except Exception:  # an unknown class is shown as given
        return code


def scheme_by_rank(result: dict, rank: int) -> dict:
    """The scheme of ``rank``; raises :class:`~grid_models.errors.InputError` naming the ranks."""
    from grid_models.errors import InputError

    schemes = result.get("schemes") or []
    for s in schemes:
        if s.get("rank") == rank:
            return s
    ranks = ", ".join(str(s.get("rank")) for s in schemes) or "none"
    raise InputError(f"--scheme {rank}: the plan has no scheme of that rank (ranks: {ranks})",
                     field="scheme")


def _important(scheme: dict, app: dict) -> bool:
    flags = set(scheme.get("flags") or [])
    if flags & {"emergency_source_required", "important_customer_mid_check"}:
        return True
    return str(app.get("tier") or scheme.get("tier") or "") in ("特级", "一级", "二级")


def _applies(cond: str, scheme: dict, app: dict) -> bool:
    load = app.get("load") or {}
    flags = set(scheme.get("flags") or [])
    return {
        "all": True,
        "dual": scheme.get("supply_mode") in ("dual_circuit", "dual_source"),
        "important": _important(scheme, app),
        "disturbing": bool(load.get("impact_load") or load.get("harmonic_load")
                           or "power_quality_assessment_required" in flags),
        "pv": (num(load.get("pv_export_kw")) or 0) > 0
        or "distributed_pv_documents_required" in flags,
        "ev": bool(load.get("ev_charging")) or "charging_facility_documents_required" in flags,
    }.get(cond, False)


def _ct_ratio(current_a: float) -> str:
    prim = [float(x) for x in value("letter_params.csv", "ct_primaries_a").split("|")]
    sec = float(value("letter_params.csv", "ct_secondary_a"))
    need = current_a / float(value("letter_params.csv", "ct_design_loading"))
    pick_a = next((p for p in prim if p >= need), prim[-1])
    return f"{pick_a:g}/{sec:g}"


def _metering_class(kva: float) -> dict[str, str]:
    for r in table("letter_metering.csv"):
        if float(r["min_kva"]) <= kva < float(r["max_kva"]):
            return r
    return table("letter_metering.csv")[-1]


def build_letter(result: dict, rank: int = 1, lang: Lang = "zh",
                 info: dict | None = None) -> Letter:
    """Assemble the letter for the scheme of ``rank``.

    Parameters
    ----------
    result : dict
        ``PlanResult`` document.
    rank : int
        Which scheme (``schemes[].rank``).
    lang : {"zh", "en"}
        Letter language (one language throughout).
    info : dict, optional
        Customer fields the application does not carry: ``account_no``, ``application_id``,
        ``address``, ``electricity_category``, ``contact_name``, ``contact_phone``,
        ``sign_date`` (ISO date), ``utility_name``. Blank when absent everywhere.
    """
    from grid_models.errors import InputError

    if lang not in ("zh", "en"):
        raise InputError(f"--lang must be zh or en, got {lang!r}", field="lang")
    s = scheme_by_rank(result, rank)
    app = result.get("application") or {}
    srcs = [info or {}, app]
    z = lambda zh, en: _z(lang, zh, en)  # noqa: E731
    kva = num(app.get("requested_kva")) or 0.0
    kv = num(s.get("voltage_kv")) or 0.0
    circuits = s.get("circuits") or []
    cost = s.get("cost_cny") or {}
    mode = s.get("supply_mode")
    refs: list[str] = []
    numbers: dict[str, str] = {"cost_total": _money(cost.get("total"), lang),
                               "voltage": _kv(kv), "capacity": _kva(kva)}

    def sec(key: str, blocks: list[Block]) -> Section:
        i = list(_SECTION_TITLES).index(key)
        zh_t, en_t = _SECTION_TITLES[key]
        title = f"{_NUMERALS[i]}、{zh_t}" if lang == "zh" else f"{i + 1}. {en_t}"
        return Section(title, blocks)

    sections: list[Section] = []

    # 1. Customer and application.
    category = _get(srcs, "category")
    if category is None and kva:
        two_part = kva >= float(value("letter_params.csv", "two_part_tariff_min_kva"))
        category = z("工商业用电（两部制）" if two_part else "工商业用电（单一制）",
                     "industrial & commercial, two-part tariff" if two_part
                     else "industrial & commercial, single-part tariff")
    tier = str(app.get("tier") or s.get("tier") or "")
    account = _get(srcs, "account_no")
    sections.append(sec("customer", [Block("fields", fields=[
        (z("户号", "Account no."), account),
        (z("申请编号", "Application no."), _get(srcs, "application_id")),
        (z("户名", "Customer"), str(app.get("customer_name") or "") or None),
        (z("用电地址", "Supply address"), _get(srcs, "address")),
        (z("用电类别", "Tariff category"), category),
        (z("行业分类", "Industry"), _industry(app.get("industry"), lang)),
        (z("拟定客户分级", "Proposed customer tier"), tier if lang == "zh" else _TIERS_EN.get(tier, tier)),
        (z("业务类型", "Request"), z("增容" if app.get("request_type") == "increase" else "新装",
                                     "capacity increase" if app.get("request_type") == "increase"
                                     else "new connection")),
        (z("供电电压", "Supply voltage"), _kv(kv)),
        (z("供电容量", "Supply capacity"), _kva(kva)),
        (z("联系人", "Contact"), _get(srcs, "contact")),
        (z("联系电话", "Phone"), _get(srcs, "phone")),
    ])]))

    # 2. Supply sources, one row per circuit.
    has_sc = any(c.get("short_circuit") is not None for c in circuits) or s.get("short_circuit")
    heads = [z("电源编号", "Source"), z("电源性质", "Role"), z("供电电压", "Voltage"),
             z("供电容量", "Capacity"), z("电源点信息", "Source point"),
             z("接入点", "Connection point"), z("线路", "Line")]
    if has_sc:
        heads.append(z("短路水平", "Short-circuit level"))
    rows: list[list[Cell]] = []
    for j, c in enumerate(circuits):
        conn = c.get("connection") or {}
        role = (z("主供", "main") if j == 0 else z("备用", "standby")) if mode == "dual_circuit" \
            else (z("主供（互为备用）", "main (mutual standby)") if mode == "dual_source"
                  else z("主供", "main"))
        where = [x for x in (
            f"{z('变电站', 'substation')} {conn['substation_id']}" if conn.get("substation_id") else "",
            f"{z('母线段', 'bus section')} {conn['bus_section_id']}" if conn.get("bus_section_id") else "",
            f"{z('馈线', 'feeder')} {conn['feeder_id']}" if conn.get("feeder_id") else "") if x]
        rl = c.get("route_length_m") or {}
        cond = c.get("conductor") or {}
        line = (f"{cond.get('type', '–')}，{z('电缆', 'cable') if construction(c) == 'cable' else z('架空', 'overhead')}"
                f"，{_len(rl.get('total'))}" if lang == "zh" else
                f"{cond.get('type', '–')}, {construction(c)}, {_len(rl.get('total'))}")
        if num(rl.get("cable")) and num(rl.get("overhead")):
            line += z(f"（电缆 {_len(rl['cable'])}，架空 {_len(rl['overhead'])}）",
                      f" (cable {_len(rl['cable'])}, overhead {_len(rl['overhead'])})")
        if c.get("route_fallback"):
            line += z("（直线估算，需现场勘查确定路径）", " (straight-line estimate: survey the route)")
        point = f"{pick(KINDS, conn.get('kind'), lang)} {conn.get('point_id', '')}"
        if conn.get("kind") == "tap" and conn.get("line_id"):
            d = num(conn.get("distance_from_start_m"))
            point += z(f"（线路 {conn['line_id']}" + (f"，距起点 {d:,.0f} m" if d is not None else "") + "）",
                       f" (line {conn['line_id']}" + (f", {d:,.0f} m from its start" if d is not None else "") + ")")
        row: list[Cell] = [str(j + 1), role, _kv(kv), _kva(kva), "，".join(where) if lang == "zh"
                           else ", ".join(where) or "–", point, line]
        if has_sc:
            sc_c = c.get("short_circuit", s.get("short_circuit"))
            row.append((short_circuit_text(sc_c, lang, brief=True) if is_short_circuit(sc_c)
                        else extra_text(sc_c, lang)) or "–")
        rows.append(row)
        numbers[f"length_{j + 1}"] = _len(rl.get("total"))
    if not circuits:
        no_circuit: list[Cell] = ["–", "–", _kv(kv), _kva(kva),
                                  z("需电网工程（见其他说明）", "grid project first (see notes)"), "–", "–"]
        rows.append(no_circuit + (["–"] if has_sc else []))
    sections.append(sec("sources", [Block("table", headers=heads, rows=rows)]))

    # 3. Approved capacity, voltage, supply mode.
    dd = result.get("design_demand") or {}
    # 核定容量: the engine's approved capacity and recommended transformers when it gives them
    # (customer_transformers), else the applied capacity as given
    ct = result.get("customer_transformers") or {}
    approved = num(ct.get("approved_kva"))
    rec = (ct.get("recommended") or {}).get("config")
    config = app.get("transformer_config") or (rec if approved is not None else None)
    cap_fields: list[tuple[str, Cell]] = [
        (z("核定供电容量", "Approved capacity"), _kva(approved if approved is not None else kva) + (
            f"（{config}）" if lang == "zh" and config else (f" ({config})" if config else ""))),
        (z("供电电压", "Supply voltage"), _kv(kv)),
        (z("供电方式", "Supply mode"), pick(MODES, mode, lang) + z(f"，{len(circuits)} 回进线", f", {len(circuits)} incoming circuit(s)")),
    ]
    if ct.get("differs") and ct.get("reasons"):
        cap_fields.append((z("变压器配置核定", "Transformer configuration"),
                           ("；" if lang == "zh" else "; ").join(
                               str(r.get("zh" if lang == "zh" else "en", "")) for r in ct["reasons"])))
    cap_fields += [
        (z("设计需量", "Design demand"), f"{num(dd.get('p_kw')) or 0:,.0f} kW, cos φ {num(dd.get('power_factor')) or 0:.2f}"),
    ]
    for j, c in enumerate(circuits):
        cap_fields.append((z(f"回路{j + 1} 电压降 / 接入后馈线负载率", f"Circuit {j + 1} voltage drop / feeder load after"),
                           f"{num(c.get('voltage_drop_pct')) or 0:.2f} % / {100 * (num(c.get('feeder_load_rate_after')) or 0):.1f} %"))
    cap_fields.append((z("最紧约束", "Binding check"), binding_text(s, lang)))
    for key, label in (("capacity", z("容量校核", "Capacity check")),
                       ("short_circuit", z("短路水平", "Short-circuit level"))):
        if s.get(key) is not None:
            cap_fields.append((label, extra_text(s[key], lang)))
    sections.append(sec("capacity", [Block("fields", fields=cap_fields)]))

    # 4. Metering: one metering point per incoming circuit.
    mc = _metering_class(kva)
    refs.append(mc["cite"])
    three_wire = kv <= float(value("letter_params.csv", "three_wire_max_kv"))
    i_a = kva / (math.sqrt(3) * kv) if kv else 0.0
    m_rows: list[list[Cell]] = []
    for j in range(max(len(circuits), 1)):
        wiring = (z("三相三线 3×100 V，3×1.5(6) A", "3-phase 3-wire 3×100 V, 3×1.5(6) A") if three_wire
                  else z("三相四线 3×57.7/100 V，3×1.5(6) A", "3-phase 4-wire 3×57.7/100 V, 3×1.5(6) A"))
        m_rows.append([str(j + 1), z("高供高计", "HV metering"), category or None,
                       _get(srcs, "fixed_ratio") or z("无", "none"),
                       z(f"{mc['device_class']}类；有功 {mc['meter_class_active']} 级，无功 {mc['meter_class_reactive']} 级",
                         f"class {mc['device_class']}; active {mc['meter_class_active']}, reactive {mc['meter_class_reactive']}"),
                       wiring, mc["ct_class"], _ct_ratio(i_a),
                       f"{kv:g}/0.1 kV, {mc['vt_class']}"])
    sections.append(sec("metering", [Block("table", headers=[
        z("计量点组号", "Point"), z("计量方式", "Mode"), z("电价类别", "Tariff"),
        z("定量定比", "Fixed ratio"), z("电能表精度", "Meter accuracy"),
        z("电能表规格及接线方式", "Meter rating and wiring"), z("电流互感器精度", "CT class"),
        z("电流互感器变比", "CT ratio"), z("电压互感器", "VT")], rows=m_rows)]))

    # 5. Requirements for the receiving installation (policy texts by condition).
    rec = []
    for r in table("letter_texts.csv"):
        if r["section"] == "receiving" and _applies(r["applies"], s, app):
            rec.append(Block("text", text=r["text_zh" if lang == "zh" else "text_en"]))
            refs.append(r["cite"])
    sc = s.get("short_circuit") or next((c.get("short_circuit") for c in circuits
                                         if c.get("short_circuit") is not None), None)
    if sc is not None:
        rec.append(Block("text", text=z("接入点短路水平：", "Short-circuit level at the point of supply: ")
                         + extra_text(sc, lang) + z("；受电设备的额定短路开断电流应不低于该值。",
                                                    "; the receiving switchgear's breaking rating shall not be below it.")))
    sections.append(sec("receiving", rec))

    # 6. Property boundary and investment split.
    b_rows: list[list[Cell]] = []
    for key, zh, en, payer in (("line", "新建线路", "new line", "utility"),
                               ("bays", "间隔", "bays", "utility"),
                               ("crossings", "跨越/穿越", "crossings", "utility"),
                               ("customer_line", "红线内线路", "line on the customer's property", "customer"),
                               ("customer_transformer", "客户变压器", "customer transformer", "customer"),
                               ("customer_switchgear", "客户开关设备", "customer switchgear", "customer")):
        if cost.get(key) is not None:
            b_rows.append([z(zh, en), z("供电企业", "utility") if payer == "utility" else z("客户", "customer"),
                           _money(cost[key], lang)])
    for key, zh, en in (("utility", "供电企业投资合计", "utility total"),
                        ("customer", "客户投资合计", "customer total"),
                        ("total", "总投资", "total")):
        b_rows.append([z(zh, en), "", _money(cost.get(key), lang)])
    numbers.update(cost_utility=_money(cost.get("utility"), lang),
                   cost_customer=_money(cost.get("customer"), lang))
    boundary_txt = [r for r in table("letter_texts.csv") if r["section"] == "boundary"]
    blocks = [Block("text", text=r["text_zh" if lang == "zh" else "text_en"]) for r in boundary_txt]
    refs += [r["cite"] for r in boundary_txt]
    blocks.append(Block("table", headers=[z("项目", "Item"), z("投资方", "Paid by"), z("金额", "Amount")],
                        rows=b_rows))
    sections.append(sec("boundary", blocks))

    # 7. Charges (营业费用) from the charge table.
    c_rows: list[list[Cell]] = []
    if mode in ("dual_circuit", "dual_source") and len(circuits) >= 2:
        standby = circuits[1]
        for r in table("letter_charges.csv"):
            if (r["applies"] == "dual" and abs(float(r["voltage_kv"]) - kv) < 1e-6
                    and r["construction"] in ("any", construction(standby))):
                price = float(r["unit_price_cny"])
                c_rows.append([z("高可靠性供电费", "High-reliability supply fee"),
                               f"{price:g} {z('元/kVA', 'CNY/kVA')}", _kva(kva),
                               _money(price * kva, lang),
                               r["basis_zh" if lang == "zh" else "basis_en"]])
                refs.append(r["cite"])
                break
    if not c_rows:
        c_rows.append([z("无", "none"), "–", "–", _money(0, lang), "–"])
    sections.append(sec("charges", [Block("table", headers=[
        z("费用名称", "Charge"), z("单价", "Unit price"), z("数量/容量", "Quantity"),
        z("应收金额", "Amount"), z("收费依据", "Basis")], rows=c_rows)]))

    # 8. Time limits and validity.
    durations = s.get("duration_workdays") or {}
    t_rows: list[list[Cell]] = []
    for step, lim in (durations.get("steps") or {}).items():
        limit = num((lim or {}).get("limit")) if isinstance(lim, dict) else num(lim)
        t_rows.append([pick(_STEPS, step, lang), "–" if limit is None else f"{limit:g}"])
    t_rows.append([z("供电企业配套工程施工（估算）", "utility works (estimate)"),
                   f"{num(durations.get('utility_works')) or 0:g}"])
    total, target = num(durations.get("total_with_works")), num(durations.get("whole_process_target"))
    t_rows.append([z("全流程合计 / 目标", "whole process / target"),
                   f"{total or 0:g} / {target or 0:g}" + (
                       z("（超出目标）", " (over target)") if total and target and total > target else "")])
    val = [r for r in table("letter_texts.csv") if r["section"] == "validity"]
    refs += [r["cite"] for r in val]
    sign = _get(srcs, "sign_date")
    valid_until = None
    if sign:
        try:
            valid_until = (dt.date.fromisoformat(sign)
                           + dt.timedelta(days=int(float(value("letter_params.csv", "validity_days"))))).isoformat()
        except ValueError:
            valid_until = None
    sections.append(sec("validity", [Block("text", text=r["text_zh" if lang == "zh" else "text_en"])
                                     for r in val]
                        + [Block("table", headers=[z("环节", "Step"), z("时限（工作日）", "Limit (working days)")],
                                 rows=t_rows),
                           Block("fields", fields=[(z("方案有效期至", "Valid until"), valid_until)])]))

    # 9. Notes: explanation, flags, remedy, provenance.
    notes = [Block("text", text=(s.get("explanation") or {}).get(lang, ""))]
    for f in s.get("flags") or []:
        notes.append(Block("text", text="• " + flag_label(f, lang)))
    if s.get("remedy"):
        r = s["remedy"]
        notes.append(Block("text", text=z("前置措施：", "Remedy first: ") + str(r.get(lang) or r.get("type", ""))))
    for key in ("route_class",):
        for j, c in enumerate(circuits):
            if c.get(key) is not None:
                notes.append(Block("text", text=f"{z('回路', 'Circuit')} {j + 1} {pick(FIELDS, 'class', lang)}: "
                                                 f"{extra_text(c[key], lang)}"))
    notes.append(Block("text", small=True, text=z(
        f"依据：网络版本 {result.get('network_version', '')}，策略 {result.get('policy_id', '')}，方案第 {rank} 名。",
        f"Basis: network version {result.get('network_version', '')}, policy {result.get('policy_id', '')}, scheme rank {rank}.")))
    sections.append(sec("notes", notes))

    # 10. Signatures.
    sections.append(sec("signature", [Block("fields", fields=[
        (z("供电企业（盖章）", "Utility (seal)"), _get(srcs, "utility")),
        (z("经办人", "Prepared by"), None),
        (z("审核人", "Approved by"), None),
        (z("签订日期", "Date signed"), sign),
        (z("客户签收", "Received by the customer"), None),
        (z("签收日期", "Date received"), None),
    ])]))
    # Citations (standard codes, language-neutral) once each, in order of first use; the data
    # files' ``references`` column keeps the provenance notes for developers.
    cites: list[str] = []
    for ref in refs:
        for c in str(ref).split(";"):
            if c.strip() and c.strip() not in cites:
                cites.append(c.strip())
    return Letter(lang=lang, title=z("供电方案答复单", "Supply Scheme Reply"),
                  subtitle=z("（高压客户）", "(high-voltage customer)"),
                  sections=sections, references=cites, numbers=numbers)
