"""The ``gridscheme`` command line: network, forecast and planning commands.

Every user-facing failure ends as one paragraph on stderr and a non-zero exit code, never a
traceback (set ``GRIDSCHEME_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from grid_models.errors import GridSchemeError, NetworkValidationError

EXIT_INPUT = 2
EXIT_INVALID = 3
EXIT_BUG = 1


def _cmd_network_validate(args: argparse.Namespace) -> int:
    from grid_models.validation import validate_path

    report = validate_path(args.path)
    if args.json:
        print(json.dumps({"ok": report.ok, "problems": [p.__dict__ for p in report.problems]},
                         ensure_ascii=False, indent=1))
    else:
        print(report.render(limit=None if args.all else 200))
    return 0 if report.ok else EXIT_INVALID


def _cmd_network_info(args: argparse.Namespace) -> int:
    from grid_models.io import read_network

    net = read_network(args.path)
    s = net.summary()
    if args.json:
        print(json.dumps(s, ensure_ascii=False, indent=1))
    else:
        for k, v in s.items():
            print(f"{k:>16}: {v}")
    return 0


def _cmd_network_import(args: argparse.Namespace) -> int:
    from grid_models.importers import import_network
    from grid_models.io import write_network

    net, notes = import_network(args.source, fmt=args.from_, roads=args.roads, crs=args.crs,
                                name=args.name, layer=args.layer,
                                station_bays=args.assume_station_bays)
    for line in notes:
        print(line)
    write_network(net, args.out)
    print(f"wrote {args.out} (version {net.version_id})")
    return 0


def _station_bays(value: str) -> int | str:
    if value == "default":
        return value
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of bays") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n} bays: give 0 or more")
    return n


def _cmd_network_synth(args: argparse.Namespace) -> int:
    from grid_models.io import write_network
    from grid_models.synth import synth_city

    net = synth_city(args.scale, seed=args.seed, progress=not args.quiet)
    write_network(net, args.out)
    s = net.summary()
    print(f"wrote {args.out}: {s['n_nodes']} grid nodes, {s['n_segments']} segments, "
          f"{s['n_roads']} road lines, version {s['version_id']}")
    return 0


def _cmd_forecast(args: argparse.Namespace) -> int:
    from api.forecast_cli import run_forecast

    return run_forecast(args)


def _cmd_plan(args: argparse.Namespace) -> int:
    from api.plan_cli import run_plan

    return run_plan(args)


def _cmd_letter(args: argparse.Namespace) -> int:
    from api.plan_cli import run_letter

    return run_letter(args)


def _cmd_demo(args: argparse.Namespace) -> int:
    from api.plan_cli import run_demo

    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to keep ``--help`` and the README in step)."""
    p = argparse.ArgumentParser(
        prog="gridscheme",
        description="Supply schemes (供电方案) for high-voltage connection applications.")
    sub = p.add_subparsers(dest="command", required=True)

    net = sub.add_parser("network", help="import, validate, inspect or synthesise networks")
    nsub = net.add_subparsers(dest="network_command", required=True)
    v = nsub.add_parser("validate", help="report every problem of a network file")
    v.add_argument("path", help="NET.gpkg or a GeoJSON folder")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument("--all", action="store_true", help="list every problem (default: first 200)")
    v.set_defaults(func=_cmd_network_validate)
    i = nsub.add_parser("info", help="summarise a network file")
    i.add_argument("path")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=_cmd_network_info)
    im = nsub.add_parser("import", help="import a pandapower net, OSM roads or GeoJSON")
    im.add_argument("source", help="pandapower JSON, .osm/.osm.pbf, GeoJSON/Shapefile/GeoPackage")
    im.add_argument("--from", dest="from_", required=True, choices=["pandapower", "osm", "geojson"])
    im.add_argument("--roads", help="road lines to add (OSM or any line layer)")
    im.add_argument("--crs", help="CRS of the source coordinates when the file does not say")
    im.add_argument("--name", help="network name")
    im.add_argument("--layer", help="layer of a multi-layer road file (GeoPackage): the "
                    "--from geojson source, or the --roads file")
    im.add_argument("--assume-station-bays", nargs="?", const="default", type=_station_bays,
                    metavar="N", help="pandapower: declare cable-network MV/LV stations "
                    "connection points with N spare bays (no N: the policy default)")
    im.add_argument("--out", required=True, help="output NET.gpkg (or a folder for GeoJSON)")
    im.set_defaults(func=_cmd_network_import)
    sy = nsub.add_parser("synth", help="generate a synthetic city (deterministic by seed)")
    sy.add_argument("--scale", choices=["S", "M", "L"], default="S")
    sy.add_argument("--seed", type=int, default=1)
    sy.add_argument("--out", required=True)
    sy.add_argument("--quiet", action="store_true", help="no progress bar")
    sy.set_defaults(func=_cmd_network_synth)

    fc = sub.add_parser("forecast", help="design demand, feeder forecasts, headroom, parcels")
    from api.forecast_cli import add_forecast_arguments

    add_forecast_arguments(fc)
    fc.set_defaults(func=_cmd_forecast)

    pl = sub.add_parser("plan", help="ranked supply schemes for one application")
    from api.plan_cli import add_plan_arguments

    add_plan_arguments(pl)
    pl.set_defaults(func=_cmd_plan)

    lt = sub.add_parser("letter", help="reply letter (供电方案答复单) of a saved plan, PDF + DOCX")
    from api.plan_cli import add_letter_arguments

    add_letter_arguments(lt)
    lt.set_defaults(func=_cmd_letter)

    dm = sub.add_parser("demo", help="plan a sample application on the bundled demo network")
    dm.add_argument("--out", default="out", help="folder for the map and JSON")
    dm.set_defaults(func=_cmd_demo)

    from api.park_cli import add_park_commands

    add_park_commands(sub)  # park plan, park run-many

    from api.serve_cli import add_service_commands

    add_service_commands(sub)  # serve, token
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gridscheme`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return int(func(args) or 0)
    except NetworkValidationError as exc:
        print(f"gridscheme: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except GridSchemeError as exc:
        if os.environ.get("GRIDSCHEME_DEBUG"):
            raise
        print(f"gridscheme: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("gridscheme: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `gridscheme ... | head`: the reader went away; not an error of ours.
        sys.stderr.close()
        return 0
    except MemoryError:
        print("gridscheme: error: out of memory (the input is too large for this machine)",
              file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:  # a bug of ours: one paragraph, never a traceback by default
        if os.environ.get("GRIDSCHEME_DEBUG"):
            raise
        print(f"gridscheme: internal error ({type(exc).__name__}: {str(exc)[:300]}); this is a "
              "bug, please report it with the output of GRIDSCHEME_DEBUG=1", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
