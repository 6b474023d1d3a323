"""``gridscheme forecast ...``: print demand, forecast, headroom, parcel and PV numbers with
their basis (Chinese by default, ``--lang en``; ``--json`` for one JSON document).

An interface of :mod:`load_forecast`, so it lives in ``api/`` beside the other commands.
``api/cli.py`` calls :func:`add_forecast_arguments` on the ``forecast`` sub-parser and
:func:`run_forecast` with the parsed arguments; errors propagate as
:class:`~grid_models.errors.GridSchemeError` and end as exit code 2 there. Building the parser
imports nothing heavy; the commands (:mod:`api.forecast_commands`) load when one runs.
"""

from __future__ import annotations

import argparse

from load_forecast.constants import HEADROOM_RULES


def add_forecast_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``forecast`` sub-commands to ``parser`` (the ``forecast`` sub-parser)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document")
    common.add_argument("--lang", choices=["zh", "en"], default="zh",
                        help="language of the basis text (default zh)")
    sub = parser.add_subparsers(dest="forecast_command", required=True)

    d = sub.add_parser("demand", parents=[common], help="design demand of an application")
    d.add_argument("--kva", type=float, help="requested (for an increase: added) kVA")
    d.add_argument("--industry", required=True,
                   help="industry key or name, e.g. 数据中心 / data_centre (see 'forecast industries')")
    d.add_argument("--config", help="transformer configuration, e.g. 2x1000 or 2x1000+1x1000s")
    d.add_argument("--existing-kw", type=float, help="measured demand before a capacity increase")
    d.add_argument("--existing-kva", type=float, help="installed kVA before a capacity increase")
    d.add_argument("--year", type=int, help="year after energising (1 = first)")
    d.add_argument("--demand-factor", type=float, help="override the industry's demand factor")
    d.add_argument("--power-factor", type=float, help="override the industry's power factor")

    f = sub.add_parser("feeder", parents=[common],
                       help="forecast a feeder's or main transformer's annual peak")
    src = f.add_mutually_exclusive_group(required=True)
    src.add_argument("--peaks", help="annual peaks YEAR:MW,... e.g. 2019:4.1,2020:4.4")
    src.add_argument("--network", help="NET.gpkg or GeoJSON folder with load_history/load_curves")
    src.add_argument("--curve", help="CSV with columns timestamp,p_mw (15-min or hourly)")
    el = f.add_mutually_exclusive_group()
    el.add_argument("--feeder", help="feeder id (with --network)")
    el.add_argument("--substation", help="substation id (main transformers, with --network)")
    f.add_argument("--years", type=int, help="years ahead (default: forecast_settings.csv)")
    f.add_argument("--level", type=float, help="interval probability, e.g. 0.8 or 0.95")

    h = sub.add_parser("headroom", parents=[common],
                       help="feeder headroom for a customer: sum of peaks and coincident peak")
    hs = h.add_mutually_exclusive_group(required=True)
    hs.add_argument("--network", help="NET.gpkg (rating, curve and limit from the network)")
    hs.add_argument("--curve", help="CSV timestamp,p_mw of the feeder (needs --rating-mw)")
    hs.add_argument("--peak-mw", type=float, help="feeder peak only (needs --rating-mw)")
    h.add_argument("--feeder", help="feeder id (with --network)")
    h.add_argument("--rating-mw", type=float, help="feeder rating in MW")
    h.add_argument("--limit", type=float,
                   help="allowed load rate (default: policy load_rate_limits by connection mode, "
                        "or 1.0)")
    h.add_argument("--rule", choices=list(HEADROOM_RULES),
                   help="which peak the rules use (default: forecast_settings.csv)")
    h.add_argument("--industry", required=True, help="customer industry")
    h.add_argument("--kva", type=float, help="customer kVA (or --customer-mw)")
    h.add_argument("--config", help="transformer configuration")
    h.add_argument("--year", type=int, help="year after energising")
    h.add_argument("--customer-mw", type=float, help="customer peak in MW instead of --kva")

    p = sub.add_parser("parcel", parents=[common], help="peak of a park parcel by land use")
    p.add_argument("--land-use", required=True, help="M1/M2/M3/W/B/R/A/S/U/G or Chinese name")
    p.add_argument("--area", type=float, required=True, help="parcel land area in m²")
    p.add_argument("--plot-ratio", type=float, help="floor area / land area (容积率)")
    p.add_argument("--simultaneity", type=float, help="override simultaneity (同时率)")

    v = sub.add_parser("pv", parents=[common], help="PV export at the site's minimum load")
    v.add_argument("--kwp", type=float, required=True, help="PV capacity in kWp")
    v.add_argument("--min-load-kw", type=float, help="site's own minimum load in kW")
    v.add_argument("--site-peak-kw", type=float, help="site peak kW (with --site-profile)")
    v.add_argument("--site-profile", help="site industry or profile name")
    v.add_argument("--output-ratio", type=float, help="kW per kWp at clear-sky noon")
    v.add_argument("--feeder-min-mw", type=float, help="feeder minimum load in MW")

    sub.add_parser("industries", parents=[common], help="list industry classes and factors")
    sub.add_parser("land-uses", parents=[common], help="list land-use densities")


def run_forecast(args: argparse.Namespace) -> int:
    """Run one ``forecast`` sub-command; returns the exit code."""
    from api.forecast_commands import COMMANDS

    return COMMANDS[args.forecast_command](args)
