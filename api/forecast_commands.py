"""The ``gridscheme forecast`` sub-commands (imported only when one runs; see
:mod:`api.forecast_cli` for the arguments)."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grid_models.errors import InputError, UnknownTypeError
from load_forecast.demand import DemandRequest, DesignDemand, design_demand
from load_forecast.industries import industry_table
from load_forecast.parcels import land_use_table, parcel_demand
from load_forecast.settings import load_settings

if TYPE_CHECKING:  # geopandas is slow to import; the CLI loads it only with --network
    from grid_models.network import Network

T = {
    "demand": ("设计需求", "Design demand"),
    "feeder": ("年最大负荷预测", "Annual peak forecast"),
    "headroom": ("可开放容量", "Headroom"),
    "parcel": ("地块负荷估算", "Parcel demand"),
    "pv": ("光伏上网", "PV export"),
    "basis": ("依据", "Basis"),
    "notes": ("提示", "Notes"),
    "year": ("年份", "year"),
    "point": ("预测", "point"),
    "lower": ("下限", "lower"),
    "upper": ("上限", "upper"),
    "rate": ("负载率", "load rate"),
}


def _t(key: str, lang: str) -> str:
    zh, en = T[key]
    return zh if lang == "zh" else en


# ---------------------------------------------------------------------------------------------
def _emit(args: argparse.Namespace, doc: dict[str, object], lines: list[str]) -> int:
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=1, default=_jsonable))
    else:
        print("\n".join(lines))
    return 0


def _jsonable(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _notes(notes: object, lang: str) -> list[str]:
    ns = list(notes)  # type: ignore[call-overload]
    return [f"{_t('notes', lang)}{_colon(lang)}" + n.text(lang) for n in ns]


def _demand_from_args(args: argparse.Namespace) -> DesignDemand:
    return design_demand(DemandRequest(
        industry=args.industry, kva=args.kva, transformer_config=args.config,
        existing_kw=getattr(args, "existing_kw", None),
        existing_kva=getattr(args, "existing_kva", None), year=args.year,
        demand_factor=getattr(args, "demand_factor", None),
        power_factor=getattr(args, "power_factor", None)))


def _demand(args: argparse.Namespace) -> int:
    d = _demand_from_args(args)
    lang = args.lang
    ind = d.industry
    name = ind.name_zh if lang == "zh" else ind.name_en
    by_year = d.peak_kw_by_year(len(ind.ramp))
    if lang == "zh":
        lines = [f"{_t('demand', lang)}：{name}（{ind.key}）",
                 f"  运行容量 {d.in_service_kva:g} kVA，备用 {d.standby_kva:g} kVA",
                 f"  需用系数 {d.demand_factor:g}，功率因数 {d.power_factor:g}",
                 f"  新增设计负荷 {d.added_peak_kw:.0f} kW / {d.added_peak_kvar:.0f} kvar",
                 f"  {'第 ' + str(d.year) + ' 年' if d.year else '达产后'}负荷 {d.peak_kw:.0f} kW"
                 f"（{d.peak_kva:.0f} kVA）",
                 "  逐年：" + "，".join(f"第{i + 1}年 {v:.0f} kW" for i, v in enumerate(by_year))]
    else:
        lines = [f"{_t('demand', lang)}: {name} ({ind.key})",
                 f"  in service {d.in_service_kva:g} kVA, standby {d.standby_kva:g} kVA",
                 f"  demand factor {d.demand_factor:g}, power factor {d.power_factor:g}",
                 f"  added design demand {d.added_peak_kw:.0f} kW / {d.added_peak_kvar:.0f} kvar",
                 f"  demand {'in year ' + str(d.year) if d.year else 'after ramp-up'}: "
                 f"{d.peak_kw:.0f} kW ({d.peak_kva:.0f} kVA)",
                 "  by year: " + ", ".join(f"y{i + 1} {v:.0f} kW" for i, v in enumerate(by_year))]
    lines.append(f"{_t('basis', lang)}{_colon(lang)}{d.basis(lang)}")
    lines += _notes(d.notes, lang)
    return _emit(args, d.to_dict(), lines)


def _parse_peaks(text: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        parts = item.split(":")
        if len(parts) != 2:
            raise InputError(f"--peaks: {item!r} is not YEAR:MW; write e.g. "
                             "2019:4.1,2020:4.4,2021:4.6", field="--peaks")
        try:
            year, mw = int(parts[0]), float(parts[1])
        except ValueError:
            raise InputError(f"--peaks: {item!r} is not YEAR:MW with a whole year and a number",
                             field="--peaks") from None
        if year in out:
            raise InputError(f"--peaks: year {year} given twice", field="--peaks")
        out[year] = mw
    if not out:
        raise InputError("--peaks is empty; write e.g. 2019:4.1,2020:4.4,2021:4.6",
                         field="--peaks")
    return out


def _read_curve(path: str) -> pd.Series:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--curve {p}: no such file", field="--curve")
    try:
        t = pd.read_csv(p)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"--curve {p}: not a CSV ({exc})", field="--curve") from None
    if not {"timestamp", "p_mw"} <= set(t.columns):
        raise InputError(f"--curve {p}: needs columns timestamp,p_mw; has {list(t.columns)}",
                         field="--curve")
    ts = pd.to_datetime(t["timestamp"], errors="coerce", format="mixed")
    if ts.isna().any():
        raise InputError(f"--curve {p}: timestamp {t['timestamp'][ts.isna()].iloc[0]!r} is not "
                         "ISO 8601", field="--curve")
    return pd.Series(pd.to_numeric(t["p_mw"], errors="coerce").to_numpy(float),
                     index=pd.DatetimeIndex(ts), name="p_mw")


def _element(net: Network, args: argparse.Namespace) -> tuple[str, str, pd.Series]:
    if args.feeder:
        table, eid, kind = net.feeders, args.feeder, "feeder"
    elif getattr(args, "substation", None):
        table, eid, kind = net.substations, args.substation, "substation"
    else:
        raise InputError("--network needs --feeder ID (or --substation ID)", field="--feeder")
    hit = table[table["id"] == str(eid)]
    if hit.empty:
        ids = table["id"].astype(str).tolist()
        raise UnknownTypeError(f"{kind} {eid!r} not in the network; known: "
                               f"{', '.join(ids[:20])}{' ...' if len(ids) > 20 else ''}",
                               field=f"--{kind}")
    return kind, str(eid), hit.iloc[0]


def _rating_mw(kind: str, row: pd.Series) -> float | None:
    pf = float(row.get("power_factor", 0.95) or 0.95)
    if kind == "feeder":
        val = math.sqrt(3) * float(row["vn_kv"]) * float(row["rated_i_ka"]) * pf
    else:
        val = float(row["n_transformers"]) * float(row["transformer_mva"]) * pf
    return val if math.isfinite(val) and val > 0 else None


def _network_series(net: Network, eid: str) -> tuple[object, str]:
    hist = net.load_history[net.load_history["element_id"].astype(str) == eid]
    if len(hist):
        return hist[["year", "peak_mw"]], "load_history"
    curves = net.load_curves[net.load_curves["element_id"].astype(str) == eid]
    if len(curves):
        return curves[["timestamp", "p_mw"]], "load_curves"
    raise InputError(f"{eid}: the network has no load_history or load_curves rows for it; give "
                     "--peaks YEAR:MW,... instead", field="load_history")


def _feeder(args: argparse.Namespace) -> int:
    from grid_models.io import read_network
    from load_forecast.forecast import feeder_forecast

    lang = args.lang
    rating = None
    if args.network:
        net = read_network(args.network)
        kind, eid, row = _element(net, args)
        series, source = _network_series(net, eid)
        rating = _rating_mw(kind, row)
    elif args.curve:
        series, eid, source = _read_curve(args.curve), Path(args.curve).stem, "curve"
    else:
        series, eid, source = _parse_peaks(args.peaks), "peaks", "peaks"
    f = feeder_forecast(series, args.years, level=args.level, element_id=eid)
    doc = f.to_dict()
    doc["input"] = source
    lines = [f"{eid} {_t('feeder', lang)} ({f.level:.0%})",
             f"  {_t('year', lang):>6} {_t('point', lang):>9} {_t('lower', lang):>9} "
             f"{_t('upper', lang):>9}" + (f" {_t('rate', lang):>9}" if rating else "")]
    for i, y in enumerate(f.years):
        line = f"  {y:>6d} {f.point_mw[i]:>9.3f} {f.lower_mw[i]:>9.3f} {f.upper_mw[i]:>9.3f}"
        if rating:
            line += f" {f.point_mw[i] / rating:>9.1%}"
        lines.append(line)
    if rating:
        doc["rating_mw"] = rating
        doc["load_rate_point"] = [float(v / rating) for v in f.point_mw]
        lines.append(("  额定 " if lang == "zh" else "  rating ") + f"{rating:.3f} MW")
    lines.append(f"{_t('basis', lang)}{_colon(lang)}{f.basis(lang)}")
    lines += _notes(f.notes, lang)
    return _emit(args, doc, lines)


def _policy_limit(kind_row: pd.Series) -> tuple[float, str]:
    from grid_models.policy import load_policy

    t = load_policy("default").table("load_rate_limits")
    hit = t[t["connection_mode"] == str(kind_row.get("connection_mode", ""))]
    if hit.empty:
        return 1.0, "no policy limit for this connection mode: 1.0"
    return float(hit["max_load_rate"].iloc[0]), (f"policy load_rate_limits "
                                                 f"{kind_row['connection_mode']}")


def _headroom(args: argparse.Namespace) -> int:
    from load_forecast.headroom import coincident_headroom

    lang = args.lang
    limit_src = "--limit"
    if args.network:
        from grid_models.io import read_network

        net = read_network(args.network)
        if not args.feeder:
            raise InputError("--network needs --feeder ID", field="--feeder")
        kind, eid, row = _element(net, args)
        curves = net.load_curves[net.load_curves["element_id"].astype(str) == eid]
        if len(curves):
            ts = pd.to_datetime(curves["timestamp"], errors="coerce", format="mixed")
            curve: pd.Series | float = pd.Series(curves["p_mw"].to_numpy(float), index=pd.DatetimeIndex(ts))
        else:
            curve = _feeder_peak(net, eid, row)
        rating = args.rating_mw if args.rating_mw is not None else _rating_mw(kind, row)
        if rating is None:
            raise InputError(f"feeder {eid}: no usable vn_kv/rated_i_ka; give --rating-mw",
                             field="--rating-mw")
        if args.limit is None:
            limit, limit_src = _policy_limit(row)
        else:
            limit = args.limit
    else:
        if args.rating_mw is None:
            raise InputError("--rating-mw is needed with --curve or --peak-mw", field="--rating-mw")
        curve = _read_curve(args.curve) if args.curve else args.peak_mw
        rating = args.rating_mw
        limit = 1.0 if args.limit is None else args.limit
        if args.limit is None:
            limit_src = "default 1.0"
    if args.customer_mw is not None:
        cust_mw, industry, demand_doc = args.customer_mw, args.industry, None
    else:
        d = design_demand(DemandRequest(industry=args.industry, kva=args.kva,
                                        transformer_config=args.config, year=args.year))
        cust_mw, industry, demand_doc = d.added_peak_kw * d.ramp_factor / 1000.0, d.industry.key, d
    hr = coincident_headroom(curve, industry, cust_mw, rating, limit, rule=args.rule)
    doc = hr.to_dict()
    doc["limit_source"] = limit_src
    if demand_doc is not None:
        doc["demand"] = demand_doc.to_dict()
    lines = [f"{_t('headroom', lang)}",
             f"  {'峰值相加' if lang == 'zh' else 'sum of peaks'}: {hr.sum_of_peaks_mw:.3f} MW, "
             f"{'余量' if lang == 'zh' else 'headroom'} {hr.headroom_sum_of_peaks_mw:.3f} MW",
             f"  {'同时峰值' if lang == 'zh' else 'coincident'}: {hr.coincident_peak_mw:.3f} MW, "
             f"{'余量' if lang == 'zh' else 'headroom'} {hr.headroom_coincident_mw:.3f} MW",
             f"  {'采用' if lang == 'zh' else 'used'} ({hr.rule}): {hr.used_headroom_mw:.3f} MW, "
             f"{_t('rate', lang)} {hr.load_rate_after:.1%} (limit {hr.limit:g}: {limit_src})",
             f"{_t('basis', lang)}{_colon(lang)}{hr.basis(lang)}"]
    if demand_doc is not None:
        lines.append(f"{_t('basis', lang)}{_colon(lang)}{demand_doc.basis(lang)}")
    lines += _notes(hr.notes, lang)
    return _emit(args, doc, lines)


def _feeder_peak(net: Network, eid: str, row: pd.Series) -> float:
    peak = float(row.get("peak_mw", float("nan")))
    if math.isfinite(peak):
        return peak
    hist = net.load_history[net.load_history["element_id"].astype(str) == eid]
    if len(hist):
        return float(hist.sort_values("year")["peak_mw"].iloc[-1])
    return float(net.nodes.loc[net.nodes["feeder_id"].astype(str) == eid, "p_mw"].sum())


def _parcel(args: argparse.Namespace) -> int:
    p = parcel_demand(args.land_use, args.area, args.plot_ratio, simultaneity=args.simultaneity)
    lang = args.lang
    lo, ty, hi = p.peak_kw
    lines = [f"{_t('parcel', lang)}{_colon(lang)}{p.name_zh if lang == 'zh' else p.name_en} ({p.land_use})",
             f"  {ty:.0f} kW ({lo:.0f}-{hi:.0f}), {p.peak_kva_typical:.0f} kVA",
             f"{_t('basis', lang)}{_colon(lang)}{p.basis(lang)}"]
    lines += _notes(p.notes, lang)
    return _emit(args, p.to_dict(), lines)


def _pv(args: argparse.Namespace) -> int:
    from load_forecast.generation import pv_export

    r = pv_export(args.kwp, args.min_load_kw, site_peak_kw=args.site_peak_kw,
                  site_profile=args.site_profile, output_ratio=args.output_ratio,
                  feeder_min_load_mw=args.feeder_min_mw)
    lang = args.lang
    lines = [f"{_t('pv', lang)}{_colon(lang)}{r.export_kw:.0f} kW @ {r.time}",
             f"{_t('basis', lang)}{_colon(lang)}{r.basis(lang)}"]
    lines += _notes(r.notes, lang)
    return _emit(args, r.to_dict(), lines)


def _industries(args: argparse.Namespace) -> int:
    t = industry_table()
    cols = ["industry", "name_zh", "name_en", "demand_factor", "demand_factor_low",
            "demand_factor_high", "power_factor", "ramp_y1", "ramp_y2", "ramp_y3", "ramp_y4",
            "ramp_y5", "profile", "references"]
    doc = {"industries": t[cols].to_dict(orient="records"),
           "settings": asdict(load_settings())}
    lines = [f"{r.industry:<26}{r.name_zh:<10} Kd {r.demand_factor:<5g} "
             f"({r.demand_factor_low:g}-{r.demand_factor_high:g}) pf {r.power_factor:<5g} ramp "
             f"{r.ramp_y1:g}/{r.ramp_y2:g}/{r.ramp_y3:g}/{r.ramp_y4:g}/{r.ramp_y5:g}"
             for r in t.itertuples(index=False)]
    return _emit(args, doc, lines)


def _land_uses(args: argparse.Namespace) -> int:
    t = land_use_table()
    doc = {"land_uses": t.drop(columns=["aliases"]).astype(object).where(t.notna(), None)
           .to_dict(orient="records")}
    lines = [f"{r.land_use:<4}{r.name_zh:<16} land {r.land_w_per_m2_low:g}-{r.land_w_per_m2_high:g}"
             f" W/m², floor {r.floor_w_per_m2_low:g}-{r.floor_w_per_m2_high:g} W/m², "
             f"simultaneity {r.simultaneity:g}" for r in t.itertuples(index=False)]
    return _emit(args, doc, lines)


def _colon(lang: str) -> str:
    return "：" if lang == "zh" else ": "


COMMANDS = {"demand": _demand, "feeder": _feeder, "headroom": _headroom, "parcel": _parcel,
            "pv": _pv, "industries": _industries, "land-uses": _land_uses}
