"""Backtest of the load_forecast peak forecaster: accuracy (MAPE) and interval coverage.

Not a test: it reports numbers, with no pass/fail threshold. Run::

    .venv/bin/python benchmarks/forecast_backtest.py [--quick]

and read ``benchmarks/results/forecast_backtest.md`` (also printed) and ``.json``.

Series (all ship with installed packages; nothing is downloaded):

1. **Measured**: pmdarima ``load_taylor`` -- half-hourly electricity demand of England and
   Wales, 5 June - 27 August 2000 (Taylor 2003). Aggregated to 84 daily peaks; rolling origin
   from day 42, one step at a time; forecasts 1..7 and 1..28 days ahead with
   :func:`load_forecast.forecast_peaks` (weekly season, so Holt-Winters), the same without a
   season, and a seasonal-naive baseline (same weekday last week, interval from its past
   errors).
2. **SimBench aggregate profiles** (2016, 15-min; standard profiles derived from measurements,
   *not* raw measurements): daily peaks of ``mv_urban``, ``mv_comm``, ``hv_urban``; rolling
   origin every 14 days from day 91.
3. **Synthetic annual peaks** (known truth; calibration of the annual-peak path of
   :func:`load_forecast.feeder_forecast` that the engine uses): linear growth 0-8 %/year of
   the first peak, multiplicative weather noise (3 % SD), 5 % chance per year of a recording
   error (x1.4); histories of 2, 4, 6, 10 and 15 years; forecasts 1..5 years ahead.
4. The same with **load transfers** (persistent level shifts), which no method can foresee.

No multi-year measured feeder series ships offline, so parts 3 and 4 are synthetic by
necessity. The report ends with computed flags: every row whose interval coverage misses
its nominal level by more than 5 points.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load_forecast import feeder_forecast, forecast_peaks, load_settings  # noqa: E402

OUT_DIR = ROOT / "benchmarks" / "results"
LEVELS = (0.8, 0.95)


def _score(rows: list[dict]) -> dict[str, float]:
    """MAPE, coverage per level and mean relative interval width over forecast rows."""
    t = pd.DataFrame(rows)
    out = {"n_forecasts": int(len(t)),
           "mape_pct": float(100 * np.mean(np.abs(t["point"] - t["actual"]) / t["actual"]))}
    for lvl in LEVELS:
        k = f"{lvl:g}"
        inside = (t[f"lo_{k}"] <= t["actual"]) & (t["actual"] <= t[f"hi_{k}"])
        out[f"coverage_{int(lvl * 100)}"] = float(inside.mean())
        out[f"width_{int(lvl * 100)}_pct"] = float(
            100 * np.mean((t[f"hi_{k}"] - t[f"lo_{k}"]) / t["actual"]))
    return out


def _rolling(peaks: np.ndarray, first_origin: int, step: int, horizon: int,
             method: str) -> list[dict]:
    """One row per (origin, lead) with point, intervals and actual."""
    rows = []
    st = load_settings()
    for origin in range(first_origin, len(peaks) - 1, step):
        h = min(horizon, len(peaks) - origin)
        hist = peaks[:origin]
        preds = {}
        if method == "seasonal_naive":
            preds = {lvl: _seasonal_naive(hist, h, lvl) for lvl in LEVELS}
        else:
            f = forecast_peaks(hist, h, seasonal_periods=7 if method == "ours_weekly" else None,
                               level=LEVELS[0], settings=st)
            preds = {lvl: (f.point, *f.interval(lvl)) for lvl in LEVELS}
        for lead in range(h):
            row = {"origin": origin, "lead": lead + 1, "actual": float(peaks[origin + lead]),
                   "point": float(preds[LEVELS[0]][0][lead])}
            for lvl in LEVELS:
                row[f"lo_{lvl:g}"] = float(preds[lvl][1][lead])
                row[f"hi_{lvl:g}"] = float(preds[lvl][2][lead])
            rows.append(row)
    return rows


def _seasonal_naive(hist: np.ndarray, h: int, level: float) -> tuple[np.ndarray, ...]:
    from scipy import stats

    m = 7
    point = np.array([hist[len(hist) - m + (i % m)] for i in range(h)])
    err = hist[m:] - hist[:-m]
    sd = float(np.std(err, ddof=1))
    k = np.floor(np.arange(h) / m) + 1  # Hyndman FPP3: sd x sqrt(k) for seasonal naive
    z = stats.norm.ppf(0.5 + level / 2)
    return point, point - z * sd * np.sqrt(k), point + z * sd * np.sqrt(k)


def _by_horizon(rows: list[dict], horizons: tuple[int, ...]) -> dict[str, dict[str, float]]:
    return {f"leads_1_{h}": _score([r for r in rows if r["lead"] <= h]) for h in horizons}


def taylor() -> dict[str, object]:
    from pmdarima.datasets import load_taylor

    y = load_taylor(as_series=True).to_numpy(float)
    idx = pd.date_range("2000-06-05", periods=len(y), freq="30min")
    daily = pd.Series(y, index=idx).resample("D").max().to_numpy(float)
    res = {"series": "pmdarima load_taylor (England & Wales, 2000-06-05..2000-08-27, MW)",
           "daily_peaks": int(len(daily)), "first_origin_day": 42, "origin_step_days": 1}
    for method in ("ours_weekly", "ours_no_season", "seasonal_naive"):
        t0 = time.perf_counter()
        rows = _rolling(daily, 42, 1, 28, method)
        res[method] = _by_horizon(rows, (7, 28))
        res[method]["seconds"] = round(time.perf_counter() - t0, 1)
    return res


def simbench(quick: bool) -> dict[str, object]:
    import simbench

    path = (Path(simbench.__file__).parent / "networks" / "1-complete_data-mixed-all-0-sw"
            / "LoadProfile.csv")
    cols = ["mv_urban_pload"] if quick else ["mv_urban_pload", "mv_comm_pload", "hv_urban_pload"]
    t = pd.read_csv(path, sep=";", usecols=["time", *cols])
    t.index = pd.to_datetime(t.pop("time"), format="%d.%m.%Y %H:%M")
    out: dict[str, object] = {"series": "SimBench 1-complete_data-mixed-all-0-sw LoadProfile "
                              "(2016, 15-min, standard profiles, not raw measurements)",
                              "first_origin_day": 91, "origin_step_days": 14}
    for method in ("ours_weekly", "seasonal_naive"):
        rows: list[dict] = []
        t0 = time.perf_counter()
        for c in cols:
            daily = t[c].resample("D").max().to_numpy(float)
            rows += _rolling(daily, 91, 14, 28, method)
        out[method] = _by_horizon(rows, (7, 28))
        out[method]["seconds"] = round(time.perf_counter() - t0, 1)
    out["profiles"] = cols
    return out


MODELS = {
    "linear": "peak_y = P0 (1 + g t) (1 + e), e ~ N(0, 0.03); g ~ U(0, 0.08); P0 ~ U(2, 8) MW; "
              "each past year 5 % chance of a x1.4 recording error; horizon 5 years",
    "shifts": "as linear, plus load transfers: each year 10 % chance of a level shift "
              "N(0, 0.15) x P0 that persists (unforecastable by design)",
}


def synthetic_annual(n_series: int, model: str = "linear", seed: int = 7,
                     lengths: tuple[int, ...] = (2, 4, 6, 10, 15)) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    horizon = 5
    result: dict[str, object] = {"model": MODELS[model], "series_per_length": n_series}
    for length in lengths:
        rows = []
        methods: dict[str, int] = {}
        t0 = time.perf_counter()
        for _ in range(n_series):
            p0, g = rng.uniform(2, 8), rng.uniform(0, 0.08)
            t = np.arange(length + horizon)
            shifts = 0.0
            if model == "shifts":
                jumps = np.where(rng.random(len(t)) < 0.1, rng.normal(0, 0.15, len(t)), 0.0)
                shifts = np.cumsum(jumps)
            truth = p0 * np.maximum(1 + g * t + shifts, 0.1) * (1 + rng.normal(0, 0.03, len(t)))
            hist = truth[:length].copy()
            hist[rng.random(length) < 0.05] *= 1.4
            years = 2010 + t
            preds = {}
            for lvl in LEVELS:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f = feeder_forecast(dict(zip(years[:length].tolist(), hist.tolist(),
                                                 strict=True)), horizon, level=lvl)
                preds[lvl] = f
            methods[preds[LEVELS[0]].method] = methods.get(preds[LEVELS[0]].method, 0) + 1
            for lead in range(horizon):
                row = {"lead": lead + 1, "actual": float(truth[length + lead]),
                       "point": float(preds[LEVELS[0]].point_mw[lead])}
                for lvl in LEVELS:
                    row[f"lo_{lvl:g}"] = float(preds[lvl].lower_mw[lead])
                    row[f"hi_{lvl:g}"] = float(preds[lvl].upper_mw[lead])
                rows.append(row)
        score = _by_horizon(rows, (1, 5))
        score["methods"] = methods
        score["seconds"] = round(time.perf_counter() - t0, 1)
        result[f"history_{length}y"] = score
    return result


def _table(title: str, block: dict[str, object], methods: tuple[str, ...],
           horizons: tuple[str, ...]) -> list[str]:
    lines = [f"### {title}", "", "| method | leads | n | MAPE % | cover 80 % | cover 95 % | "
             "width 80 % | width 95 % |", "|---|---|---|---|---|---|---|---|"]
    for m in methods:
        for hz in horizons:
            s = block[m][hz]  # type: ignore[index]
            lines.append(f"| {m} | {hz.replace('leads_', '').replace('_', '..')} | "
                         f"{s['n_forecasts']} | {s['mape_pct']:.2f} | {s['coverage_80']:.0%} | "
                         f"{s['coverage_95']:.0%} | {s['width_80_pct']:.1f} % | "
                         f"{s['width_95_pct']:.1f} % |")
    lines.append("")
    return lines


def render(report: dict[str, object]) -> str:
    """Markdown report."""
    lines = ["# load_forecast backtest", "",
             f"Generated {report['generated']} in {report['seconds']} s "
             f"({'quick' if report['quick'] else 'full'} run). MAPE: mean absolute percentage "
             "error of the point forecast; cover: share of actuals inside the prediction "
             "interval (nominal 80 % / 95 %); width: mean interval width as % of the actual.",
             ""]
    tay = report["taylor"]
    lines.append(f"## 1. Measured: {tay['series']}")  # type: ignore[index]
    lines.append("")
    lines += _table("daily peaks, rolling origin (1 day)", tay,  # type: ignore[arg-type]
                    ("ours_weekly", "ours_no_season", "seasonal_naive"),
                    ("leads_1_7", "leads_1_28"))
    sb = report["simbench"]
    lines.append(f"## 2. {sb['series']}: {', '.join(sb['profiles'])}")  # type: ignore[index]
    lines.append("")
    lines += _table("daily peaks, rolling origin (14 days)", sb,  # type: ignore[arg-type]
                    ("ours_weekly", "seasonal_naive"), ("leads_1_7", "leads_1_28"))
    for key, title in (("synthetic_annual", "3. Synthetic annual peaks, linear growth"),
                       ("synthetic_shifts", "4. Synthetic annual peaks with load transfers")):
        syn = report[key]
        lines += [f"## {title} (feeder_forecast, the engine's path)", "",
                  f"Model: {syn['model']}.", "",  # type: ignore[index]
                  "| history | methods | leads | n | MAPE % | cover 80 % | cover 95 % | "
                  "width 80 % | width 95 % |", "|---|---|---|---|---|---|---|---|---|"]
        for k, s in syn.items():  # type: ignore[union-attr]
            if not k.startswith("history_"):
                continue
            meth = ", ".join(f"{m} {n}" for m, n in s["methods"].items())
            for hz in ("leads_1_1", "leads_1_5"):
                v = s[hz]
                lines.append(f"| {k.replace('history_', '')} | {meth} | "
                             f"{hz.replace('leads_', '').replace('_', '..')} | "
                             f"{v['n_forecasts']} | {v['mape_pct']:.2f} | {v['coverage_80']:.0%} "
                             f"| {v['coverage_95']:.0%} | {v['width_80_pct']:.1f} % | "
                             f"{v['width_95_pct']:.1f} % |")
        lines.append("")
    lines += ["## Flags (computed, not judged by hand)", ""]
    lines += [f"- {f}" for f in _flags(report)] or ["- none"]
    lines.append("")
    return "\n".join(lines)


def _flags(report: dict[str, object]) -> list[str]:
    """Rows whose coverage misses the nominal level by more than 5 points, either way."""
    out = []

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict) and "coverage_95" in node:
            for lvl in (80, 95):
                c = node[f"coverage_{lvl}"]
                if c < lvl / 100 - 0.05:
                    out.append(f"{prefix}: {lvl} % interval under-covers ({c:.0%})")
                elif c > min(lvl / 100 + 0.05, 0.995):
                    out.append(f"{prefix}: {lvl} % interval wider than needed ({c:.0%})")
            return
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}/{k}" if prefix else k, v)

    for section in ("taylor", "simbench", "synthetic_annual", "synthetic_shifts"):
        walk(section, report[section])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer series (smoke run)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    report: dict[str, object] = {"generated": time.strftime("%Y-%m-%d %H:%M"),
                                 "quick": args.quick}
    report["taylor"] = taylor()
    report["simbench"] = simbench(args.quick)
    n = 40 if args.quick else 200
    report["synthetic_annual"] = synthetic_annual(n)
    report["synthetic_shifts"] = synthetic_annual(n // 2, "shifts", seed=3, lengths=(6, 10, 15))
    report["seconds"] = round(time.perf_counter() - t0, 1)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    md = render(report)
    (OUT_DIR / "forecast_backtest.md").write_text(md, encoding="utf-8")
    (OUT_DIR / "forecast_backtest.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
