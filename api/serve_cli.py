"""``gridscheme serve`` and ``gridscheme token create|revoke|list``.

Nothing here imports the web stack at module level: the rest of the CLI works without the
``service`` extra installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from grid_models.errors import InputError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.service.settings import Settings
    from api.store import Database


def add_service_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``serve`` and ``token`` on the ``gridscheme`` parser."""
    sv = sub.add_parser("serve", help="start the HTTP service (FastAPI) with the demo network")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    _db_args(sv)
    sv.add_argument("--network", help="network file stored and activated at start when none is "
                                      "active (default: the bundled demo city)")
    sv.add_argument("--workers", type=int, default=1,
                    help="web server processes (each keeps its own warm planner; default 1)")
    sv.add_argument("--no-admin-token", action="store_true",
                    help="do not create and print an admin token")
    sv.add_argument("--log-level", default="warning",
                    choices=["critical", "error", "warning", "info", "debug"])
    sv.set_defaults(func=run_serve)

    tk = sub.add_parser("token", help="create, revoke or list API tokens")
    tsub = tk.add_subparsers(dest="token_command", required=True)
    c = tsub.add_parser("create", help="create a token (its secret is printed once)")
    c.add_argument("--role", required=True, choices=["admin", "designer", "customer"])
    c.add_argument("--principal", help="the customer's id (required for customer tokens)")
    c.add_argument("--name", default="", help="who holds it")
    c.add_argument("--json", action="store_true")
    _db_args(c)
    c.set_defaults(func=run_token_create)
    r = tsub.add_parser("revoke", help="revoke a token by id (t_...)")
    r.add_argument("token_id")
    _db_args(r)
    r.set_defaults(func=run_token_revoke)
    ls = tsub.add_parser("list", help="list tokens (never their secrets)")
    ls.add_argument("--json", action="store_true")
    _db_args(ls)
    ls.set_defaults(func=run_token_list)


def _db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database", help="database URL (default $GRIDSCHEME_DATABASE_URL, else "
                                      "SQLite in the data dir)")
    p.add_argument("--data-dir", help="data folder (default $GRIDSCHEME_DATA_DIR or "
                                      "~/.local/share/gridscheme)")


def _require_service_extra() -> None:
    try:
        import alembic  # noqa: F401
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise InputError(f"the service needs the 'service' extra ({exc.name} is missing): "
                         "pip install 'gridscheme[service]'", field="serve") from None


def _database(args: argparse.Namespace) -> tuple[Settings, Database]:
    _require_service_extra()
    from api.service.settings import Settings
    from api.store import Database

    s = Settings.from_env(args.database, args.data_dir)
    db = Database(s.database_url)
    try:
        db.migrate()
    except Exception as exc:
        raise InputError(f"--database: cannot open {db.display_url} ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})", field="database") from None
    return s, db


def run_token_create(args: argparse.Namespace) -> int:
    from api.auth import create_token

    _, db = _database(args)
    secret, info = create_token(db, args.role, args.principal, args.name)
    if args.json:
        print(json.dumps({"token": secret, "id": info.id, "role": info.role,
                          "principal": info.principal, "name": info.name}, ensure_ascii=False))
    else:
        print(f"token {info.id} ({info.role}, principal {info.principal}); shown once:")
        print(secret)
    return 0


def run_token_revoke(args: argparse.Namespace) -> int:
    from api.auth import revoke_token

    _, db = _database(args)
    if not revoke_token(db, args.token_id):
        raise InputError(f"token_id: no active token {args.token_id!r} (see 'gridscheme token "
                         "list')", field="token_id")
    print(f"revoked {args.token_id}")
    return 0


def run_token_list(args: argparse.Namespace) -> int:
    from api.auth import list_tokens

    _, db = _database(args)
    rows = list_tokens(db)
    if args.json:
        print(json.dumps([{"id": t.id, "role": t.role, "principal": t.principal, "name": t.name,
                           "created_at": t.created_at.isoformat(),
                           "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
                          for t in rows], ensure_ascii=False, indent=1))
        return 0
    print(f"{'id':<16} {'role':<9} {'principal':<28} {'created (UTC)':<20} state  name")
    for t in rows:
        state = "revoked" if t.revoked_at else "active"
        print(f"{t.id:<16} {t.role:<9} {t.principal[:28]:<28} "
              f"{t.created_at.strftime('%Y-%m-%d %H:%M:%S'):<20} {state:<6} {t.name}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Migrate, load the network, print a fresh admin token, then serve until interrupted."""
    from api.plan_cli import DEMO_NETWORK

    settings, db = _database(args)
    import uvicorn

    from api.auth import create_token
    from api.service import create_app

    network = Path(args.network) if args.network else DEMO_NETWORK
    if not network.exists():
        raise InputError(f"--network: {network} does not exist", field="network")
    settings.log_level = args.log_level
    app = create_app(settings, bootstrap_network=network)
    print(f"gridscheme service on http://{args.host}:{args.port} (docs /docs), database "
          f"{db.display_url}", flush=True)
    if not args.no_admin_token:
        secret, info = create_token(db, "admin", name="gridscheme serve")
        print(f"admin token {info.id} (shown once; revoke with 'gridscheme token revoke "
              f"{info.id}'):\n{secret}", flush=True)
    db.dispose()
    if args.workers > 1:
        return _serve_many(args, settings, app)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                            access_log=False, timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 2


def _serve_many(args: argparse.Namespace, settings: Settings, app: FastAPI) -> int:
    """Several uvicorn processes (``--workers N``); this process runs the one job worker."""
    import asyncio
    import os

    import uvicorn

    from api.jobs.worker import start_worker_process, stop_worker_process

    async def _bootstrap() -> None:  # migrate and load the network once, before forking
        async with app.router.lifespan_context(app):
            pass

    settings.worker = "off"
    asyncio.run(_bootstrap())
    os.environ.update({"GRIDSCHEME_DATABASE_URL": settings.database_url,
                       "GRIDSCHEME_DATA_DIR": str(settings.data_dir), "GRIDSCHEME_WORKER": "off"})
    worker = start_worker_process(settings.database_url, settings.data_dir,
                                  lease_s=settings.job_lease_s, chunk=settings.job_chunk,
                                  poll_s=settings.job_poll_s, log_level=settings.log_level)
    try:
        uvicorn.run("api.service.app:app_from_env", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level=args.log_level, access_log=False,
                    timeout_graceful_shutdown=10)
    finally:
        stop_worker_process(worker)
    return 0


if __name__ == "__main__":  # pragma: no cover
    from api.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
